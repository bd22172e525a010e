use orkestra_core::rng::stream;

use super::*;

fn parse(args: &str) -> Result<WorkloadConfig, String> {
    let args: Vec<String> = args.split_whitespace().map(String::from).collect();
    parse_args(&args)
}

fn samples(d: &DurationDist) -> Vec<u64> {
    let mut rng = stream(3, "test");
    (0..1000).map(|_| d.sample(&mut rng).0).collect()
}

#[test]
fn defaults() {
    let cfg = parse("").unwrap();
    assert_eq!(cfg.bind.to_string(), "0.0.0.0:8080");
    assert_eq!((cfg.concurrency, cfg.queue_limit, cfg.seed), (1, None, 0));
    assert_eq!(cfg.work, Work::Sleep);
    assert_eq!(samples(&cfg.service_time)[0], 10_000_000);
}

#[test]
fn every_flag() {
    let cfg = parse(
        "--listen 127.0.0.1:9000 --concurrency 4 --queue-limit=0 --work cpu --seed 42 \
         --dist lognormal --mean 40ms --p99 0.25",
    )
    .unwrap();
    assert_eq!(cfg.bind.to_string(), "127.0.0.1:9000");
    assert_eq!(
        (cfg.concurrency, cfg.queue_limit, cfg.seed),
        (4, Some(0), 42)
    );
    assert_eq!(cfg.work, Work::Cpu);
    let expected = DurationDist::lognormal_mean_p99(
        SimDuration::from_millis(40),
        SimDuration::from_millis(250),
    )
    .unwrap();
    assert_eq!(samples(&cfg.service_time), samples(&expected));
    assert!(parse("--listen [::1]:80").is_ok());
}

#[test]
fn each_family_builds_with_the_core_constructors() {
    let ms = SimDuration::from_millis;
    let cases = [
        (
            "--dist constant --value 0.5",
            DurationDist::constant(ms(500)),
        ),
        (
            "--dist exponential --mean 0.1",
            DurationDist::exponential(ms(100)).unwrap(),
        ),
        (
            "--dist lognormal --mean 0.1 --sigma 0.5",
            DurationDist::lognormal_mean_sigma(ms(100), 0.5).unwrap(),
        ),
        (
            "--dist gamma --mean 100ms --shape 2",
            DurationDist::gamma(ms(100), 2.0).unwrap(),
        ),
        (
            "--dist pareto --mean 0.1 --shape 3.5",
            DurationDist::pareto(ms(100), 3.5).unwrap(),
        ),
    ];
    for (args, expected) in cases {
        let cfg = parse(args).unwrap();
        assert_eq!(samples(&cfg.service_time), samples(&expected), "{args}");
    }
}

#[test]
fn bad_flags_are_explained_in_one_line() {
    for (args, needle) in [
        ("--bogus 1", "unknown argument \"--bogus\""),
        ("--listen localhost:80", "no host names"),
        ("--listen", "--listen needs a value"),
        ("--concurrency 0", "at least 1"),
        ("--concurrency -1", "non-negative integer"),
        ("--seed 1 --seed 2", "--seed given twice"),
        ("--work gpu", "cpu or sleep"),
        ("--dist normal", "--dist wants"),
        ("--dist gamma --dist pareto", "--dist given twice"),
        ("--mean 0.1", "--mean does not apply to --dist constant"),
        ("--dist exponential", "--dist exponential needs --mean"),
        (
            "--dist exponential --mean 0",
            "mean must be greater than zero",
        ),
        (
            "--dist exponential --mean 0.1 --shape 2",
            "--shape does not apply",
        ),
        ("--dist lognormal --mean 0.1", "needs --p99 or --sigma"),
        (
            "--dist lognormal --mean 0.1 --p99 0.2 --sigma 1",
            "not both",
        ),
        (
            "--dist lognormal --mean 0.1 --p99 0.05",
            "larger than the mean",
        ),
        ("--dist gamma --mean 0.1", "--dist gamma needs --shape"),
        (
            "--dist pareto --mean 0.1 --shape 1",
            "--dist pareto: shape must be > 1",
        ),
        ("--dist constant --value -1", "non-negative duration"),
        ("--dist constant --value soon", "--value:"),
        (
            "--dist gamma --mean 0.1 --shape inf",
            "--shape wants a number",
        ),
    ] {
        let err = parse(args).map(|_| ()).unwrap_err();
        assert!(err.contains(needle), "{args}: {err}");
        assert!(!err.contains('\n'), "{args}: {err}");
    }
}

#[test]
fn to_args_round_trips() {
    let ms = SimDuration::from_millis;
    for dist in [
        DurationDist::constant(SimDuration(1_234_567_891)),
        DurationDist::exponential(ms(40)).unwrap(),
        DurationDist::lognormal_mean_p99(ms(40), ms(250)).unwrap(),
        DurationDist::gamma(ms(40), 2.5).unwrap(),
        DurationDist::pareto(ms(40), 1.7).unwrap(),
    ] {
        let cfg = WorkloadConfig {
            service_time: dist,
            work: Work::Cpu,
            concurrency: 3,
            queue_limit: Some(5),
            seed: 9,
            bind: "127.0.0.1:8081".parse().unwrap(),
            error_rate: 0.0,
            slowdown: 1.0,
        };
        let args = to_args(&cfg).unwrap();
        let back = parse_args(&args).unwrap();
        assert_eq!(to_args(&back).unwrap(), args);
        assert_eq!(
            (back.concurrency, back.queue_limit, back.seed),
            (3, Some(5), 9)
        );
        assert_eq!((back.work, back.bind), (cfg.work, cfg.bind));
        let (a, b) = (samples(&cfg.service_time), samples(&back.service_time));
        let worst = a.iter().zip(&b).map(|(x, y)| x.abs_diff(*y)).max().unwrap();
        assert!(worst <= 1, "{args:?}: samples differ by up to {worst} ns");
    }
    let empirical = DurationDist::empirical(vec![SimDuration(1)]).unwrap();
    assert!(DistArgs::from_dist(&empirical).is_err());
}

#[test]
fn durations_print_exactly() {
    assert_eq!(secs(SimDuration::from_millis(40)), "0.04");
    assert_eq!(secs(SimDuration(1_000_000_001)), "1.000000001");
    assert_eq!(secs(SimDuration::from_secs(3)), "3");
    assert_eq!(secs(SimDuration::ZERO), "0");
}
