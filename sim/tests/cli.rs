//! The `sim` command end to end: determinism, the results folder contract,
//! and one clear line for every kind of bad input.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sim(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run sim")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A fresh, empty scratch folder for one test.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("orkestra-cli-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every file of a results folder except the wall-clock one, by name.
fn deterministic_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap() != "timing.json")
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

const SHORT: &str = "simulation.duration=90s";

#[test]
fn same_seed_gives_byte_identical_results_and_different_seeds_differ() {
    let d = scratch("determinism");
    let spike = repo().join("scenarios/spike.toml");
    let spike = spike.to_str().unwrap();
    for (out, seed) in [("a", "3"), ("b", "3"), ("c", "4")] {
        let o = sim(
            &[
                "run", spike, "--seed", seed, "--set", SHORT, "--out", out, "--quiet",
            ],
            &d,
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let a = deterministic_files(&d.join("a"));
    let b = deterministic_files(&d.join("b"));
    let c = deterministic_files(&d.join("c"));
    let names: Vec<_> = a.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "events.csv",
            "scenario.toml",
            "summary.json",
            "timeseries.csv"
        ]
    );
    assert!(a == b, "same seed, different bytes");
    assert_ne!(a[3], c[3], "timeseries identical across seeds");
    assert_ne!(a[2], c[2], "summary identical across seeds");
    let summary: serde_json::Value = serde_json::from_slice(&a[2].1).unwrap();
    assert_eq!(summary["seed"], 3);
    assert_eq!(summary["overrides"][0], SHORT);
    assert_eq!(summary["duration_s"], 90.0);
    assert!(d.join("a/timing.json").exists());
}

#[test]
fn results_folders_are_never_overwritten_without_force() {
    let d = scratch("force");
    let steady = repo().join("scenarios/steady.toml");
    let steady = steady.to_str().unwrap();
    let args = ["run", steady, "--set", "simulation.duration=5s", "--quiet"];
    let o = sim(&args, &d);
    assert!(o.status.success(), "{}", stderr(&o));
    // The default folder name carries scenario and seed.
    let out = d.join("results/steady-seed1");
    fs::write(out.join("notes.txt"), "mine").unwrap();
    let o = sim(&args, &d);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains("already exists; pass --force"),
        "{}",
        stderr(&o)
    );
    assert_eq!(fs::read_to_string(out.join("notes.txt")).unwrap(), "mine");
    let mut forced = args.to_vec();
    forced.push("--force");
    let o = sim(&forced, &d);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!out.join("notes.txt").exists());
    assert!(out.join("summary.json").exists());
}

#[test]
fn the_terminal_summary_reports_outcomes_latency_and_engine_speed() {
    let d = scratch("summary");
    let steady = repo().join("scenarios/steady.toml");
    let o = sim(
        &[
            "run",
            steady.to_str().unwrap(),
            "--set",
            "simulation.duration=20s",
            "--out",
            "r",
        ],
        &d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "requests",
        "ok",
        "rejected",
        "timeout",
        "p50",
        "p99",
        "util",
        "events/s",
        "simulated/wall",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
}

#[test]
fn check_accepts_the_shipped_scenarios() {
    for s in ["spike", "steady"] {
        let path = repo().join(format!("scenarios/{s}.toml"));
        let o = sim(&["check", path.to_str().unwrap()], &repo());
        assert!(o.status.success(), "{s}: {}", stderr(&o));
        assert!(String::from_utf8_lossy(&o.stdout).starts_with("ok: "));
    }
}

#[test]
fn help_shows_examples() {
    let o = sim(&["--help"], &repo());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("sim run scenarios/spike.toml"), "{text}");
    assert!(text.contains("Exit codes"), "{text}");
}

const BASE: &str = r#"name = "bad"

[simulation]
duration = "10s"

[pools.a]
count = 2
cpu = "2"
memory = "4Gi"

[services.web]
replicas = 2
requests = { cpu = "500m", memory = "512Mi" }
serviceTime = { dist = "exponential", mean = "10ms" }

[services.web.traffic]
model = "constant"
rate = 100
"#;

/// Writes a variant of BASE (with `from` replaced by `to`) plus extra files,
/// runs it, and checks the error contract: exit 1, one `sim:` line that
/// contains `want`, no panic, no results folder.
fn assert_bad(name: &str, from: &str, to: &str, extra: &[(&str, &str)], want: &str) {
    let d = scratch(name);
    assert!(BASE.contains(from), "{from}");
    fs::write(d.join("s.toml"), BASE.replacen(from, to, 1)).unwrap();
    for (f, text) in extra {
        fs::write(d.join(f), text).unwrap();
    }
    let o = sim(&["run", "s.toml", "--out", "out"], &d);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{name}: {err}");
    assert!(!err.contains("panicked"), "{name}: {err}");
    assert_eq!(err.lines().count(), 1, "{name}: one line expected: {err}");
    assert!(err.starts_with("sim: "), "{name}: {err}");
    assert!(err.contains(want), "{name}:\n  got:  {err}  want: {want}");
    assert!(
        !d.join("out").exists() && !d.join("out.partial").exists(),
        "{name}: results folder left behind"
    );
}

#[test]
fn unknown_field() {
    assert_bad(
        "unknown",
        "count = 2",
        "count = 2\nzonez = \"a\"",
        &[],
        "s.toml:8:1: pools.a.zonez: unknown field `zonez`, expected one of",
    );
}

#[test]
fn wrong_type() {
    assert_bad(
        "type",
        "replicas = 2",
        "replicas = 2.5",
        &[],
        "s.toml:12:12: services.web.replicas: invalid type: floating point `2.5`, expected u32",
    );
}

#[test]
fn zero_rate() {
    assert_bad(
        "zero",
        "rate = 100",
        "rate = 0",
        &[],
        "s.toml:18:8: services.web.traffic.rate: rate must be greater than zero (got 0)",
    );
}

#[test]
fn negative_rate() {
    assert_bad(
        "negative",
        "rate = 100",
        "rate = -3.5",
        &[],
        "s.toml:18:8: services.web.traffic.rate: rate must be greater than zero (got -3.5)",
    );
}

#[test]
fn unparseable_quantity() {
    assert_bad(
        "quantity",
        "memory = \"4Gi\"",
        "memory = \"4 GB\"",
        &[],
        "s.toml:9:10: pools.a.memory: '4 GB' is not a valid quantity: unknown suffix ' GB'",
    );
}

const TRACE: &str = "model = \"constant\"\nrate = 100";
const TRACE_TO: &str = "model = \"trace\"\nfile = \"rates.csv\"";

#[test]
fn missing_trace_file() {
    assert_bad(
        "missing-trace",
        TRACE,
        TRACE_TO,
        &[],
        "s.toml:18:8: services.web.traffic.file: cannot read 'rates.csv': No such file or directory",
    );
}

#[test]
fn malformed_trace_row() {
    assert_bad(
        "malformed-trace",
        TRACE,
        TRACE_TO,
        &[("rates.csv", "time,rate\n0,100\n30,120\n60,1O0\n")],
        "rates.csv:4:4: services.web.traffic.file: row 4, column 'rate': '1O0' is not a number",
    );
}

#[test]
fn replicas_that_cannot_fit() {
    // 2 nodes × 2 cpu / 500m = 8 replicas fit by cpu; 4Gi / 512Mi = 8 per node by memory.
    assert_bad(
        "fit",
        "replicas = 2",
        "replicas = 9",
        &[],
        "s.toml:12:12: services.web.replicas: 9 replicas requesting 500m cpu and 512Mi memory each do not fit the cluster: only 8 could be placed (0/2 nodes are available: 2 Insufficient cpu.)",
    );
}

#[test]
fn bad_override() {
    let d = scratch("override");
    fs::write(d.join("s.toml"), BASE).unwrap();
    let o = sim(
        &[
            "run",
            "s.toml",
            "--set",
            "services.web.replicas=many",
            "--out",
            "out",
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o)
            .contains("--set services.web.replicas=many: services.web.replicas: invalid type"),
        "{}",
        stderr(&o)
    );
    assert!(!d.join("out").exists());
}

#[test]
fn missing_scenario_file() {
    let d = scratch("nofile");
    let o = sim(&["run", "nope.toml"], &d);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("sim: nope.toml: cannot read scenario: No such file"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn worldcup98_trace_scenario_runs_when_the_shared_data_is_present() {
    let trace =
        repo().join("../shared/data/worldcup98-requests-per-minute/wc98_requests_per_minute.csv");
    if !trace.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is missing in CI",
            trace.display()
        );
        eprintln!(
            "SKIP: ../shared is absent ({}); worldcup98.toml not run",
            trace.display()
        );
        return;
    }
    let d = scratch("worldcup");
    let s = repo().join("scenarios/worldcup98.toml");
    let o = sim(
        &[
            "run",
            s.to_str().unwrap(),
            "--set",
            "simulation.duration=2m",
            "--out",
            "r",
            "--quiet",
        ],
        &d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("r/summary.json")).unwrap()).unwrap();
    // 1998-07-12 00:00–02:00 at 60× compression: 120 trace minutes in 120 s. A minute
    // with count c has rate c/60 req/s and lasts 1 simulated second, so it brings c/60
    // requests: expected = Σc/60, with Poisson noise √expected.
    let text = fs::read_to_string(&trace).unwrap();
    let expected: f64 = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(','))
        .filter(|(t, _)| *t >= "1998-07-12 00:00:00" && *t < "1998-07-12 02:00:00")
        .map(|(_, c)| c.parse::<f64>().unwrap())
        .sum::<f64>()
        / 60.0;
    let got = summary["services"][0]["requests"]["total"]
        .as_f64()
        .unwrap();
    assert!(
        (got - expected).abs() < 5.0 * expected.sqrt(),
        "requests {got}, expected {expected:.0}"
    );
}

#[test]
fn place_explains_every_node_and_list_names_every_policy() {
    let steady = repo().join("scenarios/steady.toml");
    let o = sim(
        &[
            "place",
            steady.to_str().unwrap(),
            "--set",
            "scheduler.policy=kubernetes-default",
            "--json",
        ],
        &repo(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let e: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(e["policy"], "kubernetes-default");
    assert_eq!(e["nodes"].as_array().unwrap().len(), 10);
    // Ten 1-cpu/1Gi replicas spread one per node (allocatable 3900m, 15.5Gi); one more:
    // LeastAllocated cpu (3900 − 2000)·100/3900 = 48, memory (15.5 − 2)/15.5 → 87: (48 + 87)/2 = 67.
    // BalancedAllocation: |2000/3900 − 2/15.5|/2 = 0.192 → (1 − 0.192)·100 = 80.
    // PodTopologySpread (system defaults): one api replica on every node, one zone, so
    // every node has the same raw score r and normalises to 100·(r + r − r)/r = 100,
    // weight 2. Total 67 + 80 + 200 = 347.
    let n0 = &e["nodes"][0];
    assert_eq!(n0["scores"][0][1], 67);
    assert_eq!(n0["scores"][1][1], 80);
    assert_eq!(
        n0["scores"][2],
        serde_json::json!(["PodTopologySpread", 100, 200])
    );
    assert_eq!(n0["total"], 347);
    assert!(e["chosen"].as_str().unwrap().starts_with("pool-"));
    let o = sim(
        &["place", steady.to_str().unwrap(), "--service", "nope"],
        &repo(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no service 'nope'; choose from: api"),
        "{}",
        stderr(&o)
    );
    let o = sim(&["list", "policies"], &repo());
    let text = String::from_utf8_lossy(&o.stdout);
    for name in [
        "first-fit",
        "kubernetes-default",
        "gke-optimize-utilization",
        "nomad-binpack",
        "ecs-binpack",
        "round-robin",
    ] {
        assert!(text.contains(name), "{name} missing from\n{text}");
    }
}

#[test]
fn every_placement_policy_runs_the_spike_and_places_every_replica() {
    let spike = repo().join("scenarios/spike.toml");
    let d = scratch("policies");
    for e in orkestra_core::registry::PLACERS {
        let set = format!("scheduler.policy={}", e.name);
        let out = format!("r-{}", e.name);
        let o = sim(
            &[
                "run",
                spike.to_str().unwrap(),
                "--set",
                &set,
                "--set",
                SHORT,
                "--out",
                &out,
                "--quiet",
            ],
            &d,
        );
        assert!(o.status.success(), "{}: {}", e.name, stderr(&o));
        let s: serde_json::Value =
            serde_json::from_slice(&fs::read(d.join(&out).join("summary.json")).unwrap()).unwrap();
        assert_eq!(s["cluster"]["pending_at_end"], 0, "{}", e.name);
        assert_eq!(s["services"][0]["replicas"]["ready_max"], 20, "{}", e.name);
    }
    // Packing and spreading differ where they should: first-fit fills pool zone-a first (events name
    // the nodes), least-allocated spreads over all 20 nodes.
    let nodes_used = |policy: &str| {
        let ev = fs::read_to_string(d.join(format!("r-{policy}/events.csv"))).unwrap();
        ev.lines()
            .filter(|l| l.contains(",bind,"))
            .filter_map(|l| l.rsplit("node=").next())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    };
    // 20 replicas × 500m on 3900m nodes: first fit puts 7 per node → 3 nodes; least-allocated → 20.
    assert_eq!(nodes_used("first-fit"), 3);
    assert_eq!(nodes_used("least-allocated"), 20);
}

#[test]
fn cluster_scheduling_metrics_are_reported() {
    let steady = repo().join("scenarios/steady.toml");
    let d = scratch("cluster-metrics");
    let o = sim(
        &[
            "run",
            steady.to_str().unwrap(),
            "--set",
            "simulation.duration=10s",
            "--set",
            "simulation.warmStart=false",
            "--out",
            "r",
            "--quiet",
        ],
        &d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let s: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("r/summary.json")).unwrap()).unwrap();
    // 10 replicas of 1 cpu on nodes with 3900m allocatable: first fit puts 3 per node → 4 nodes.
    assert_eq!(s["cluster"]["nodes_in_use_mean"], 4.0);
    // All bound at time zero by the first reconcile: no pending time.
    assert_eq!(s["cluster"]["pending_time_s"]["max"], 0.0);
    let ts = fs::read_to_string(d.join("r/timeseries.csv")).unwrap();
    assert!(
        ts.contains("\n1,cluster,nodes_in_use,4\n"),
        "{}",
        &ts[..ts.len().min(2000)]
    );
    assert!(ts.contains("\n1,cluster,pending_replicas,0\n"));
    // cpu allocated: 10 × 1000m of 10 × 3900m = 0.2564…
    assert!(ts.contains("\n1,cluster,cpu_allocated,0.2564"));
}
