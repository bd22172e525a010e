//! Load balancing against queueing theory (issue 6).
//!
//! The model: n replicas of `concurrency = 1`, exponential service of mean
//! 1 ms (μ = 1 per ms), Poisson arrivals at λ·n·μ in total. Times below are
//! in units of 1/μ = 1 ms.
//!
//! Sample sizes and standard errors: each test states its request count and
//! the spread of the relative error of the mean sojourn time measured over
//! seeds 1–5 (`spread_over_seeds`, ignored by default: `cargo test -p
//! orkestra-simulator --test balancing -- --ignored --nocapture`). Each test runs
//! seed 1: the assertion is deterministic, the sizes make it robust.

mod common;

use common::queueing_scenario;
use orkestra_simulator::simulate;

/// Mean sojourn time (ms) of `requests` requests over `n` replicas at load `lambda`.
fn mean_sojourn_ms(balancer: &str, n: u32, lambda: f64, requests: u64, seed: u64) -> f64 {
    let s = simulate(&queueing_scenario(n, 1, lambda, requests, balancer, seed));
    let svc = &s.services[0];
    assert!(
        svc.requests.ok as f64 > requests as f64 * 0.99,
        "{:?}",
        svc.requests
    );
    svc.latency_s.mean * 1000.0
}

/// Mitzenmacher's supermarket model with d = 2 ("The Power of Two Choices in
/// Randomized Load Balancing", IEEE TPDS 2001, Theorem 3 / Corollary): in the
/// n → ∞ fixed point the fraction of queues with at least i requests is
/// s_i = λ^(2^i − 1), so by Little's law the expected time in system is
/// T = (1/λ) Σ_{i≥1} s_i = Σ_{i≥1} λ^(2^i − 2) (units of 1/μ).
/// At λ = 0.9: 1 + 0.81 + 0.9^6 (0.531441) + 0.9^14 (0.228768) + 0.9^30
/// (0.042391) + 0.9^62 (0.001455) + 0.9^126 (0.0000017) = 2.614057.
fn supermarket_d2(lambda: f64) -> f64 {
    (1..40)
        .map(|i| lambda.powi((1i32 << i.min(30)) - 2))
        .take_while(|t| *t > 1e-15)
        .sum()
}

#[test]
fn supermarket_fixed_point_at_ninety_percent_is_2_6141() {
    assert!(
        (supermarket_d2(0.9) - 2.614057).abs() < 1e-6,
        "{}",
        supermarket_d2(0.9)
    );
    // λ = 0.5: 1 + 0.25 + 0.5^6 (0.015625) + 0.5^14 (0.000061) + … = 1.265686.
    assert!(
        (supermarket_d2(0.5) - 1.265686).abs() < 1e-6,
        "{}",
        supermarket_d2(0.5)
    );
}

#[test]
#[ignore = "measures the standard errors quoted above; slow"]
fn spread_over_seeds() {
    for (b, n, lambda, requests, want) in [
        ("random", 100, 0.9, REQ_RANDOM, 10.0),
        ("p2c", 100, 0.9, REQ_P2C, supermarket_d2(0.9)),
        ("p2c", 1000, 0.9, REQ_P2C, supermarket_d2(0.9)),
    ] {
        let errs: Vec<f64> = (1..=5)
            .map(|seed| mean_sojourn_ms(b, n, lambda, requests, seed) / want - 1.0)
            .collect();
        let mean = errs.iter().sum::<f64>() / errs.len() as f64;
        let sd = (errs.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / 4.0).sqrt();
        eprintln!("{b}: relative errors {errs:?}, mean {mean:.4}, sd {sd:.4}");
    }
}

// Random, n = 100, λ = 0.9: over seeds 1–5 with 4 M requests the relative
// error had sd 1.26% (mean −0.33%); with 16 M it is ≈ 0.63%, so 3% ≈ 4.8 sd.
const REQ_RANDOM: u64 = 16_000_000;
// P2C, λ = 0.9, 2 M requests over seeds 1–5: n = 100 sat +1.38% above the
// n → ∞ fixed point (the finite-n excess) with sd 0.37%; n = 1000 at −0.09%,
// sd 0.53%. With 4 M: sd ≈ 0.26% / 0.37%, so the 3% bound is 6 sd beyond the
// n = 100 bias and 8 sd at n = 1000.
const REQ_P2C: u64 = 4_000_000;

#[test]
fn random_balancing_is_mm1_per_replica() {
    // Random splitting of a Poisson stream gives each replica Poisson λ·μ
    // arrivals: M/M/1, T = 1/(μ − λμ) = 1/(1 − 0.9) = 10 ms.
    let got = mean_sojourn_ms("random", 100, 0.9, REQ_RANDOM, 1);
    let rel = got / 10.0 - 1.0;
    eprintln!(
        "random n = 100 λ = 0.9: T = {got:.4} ms, M/M/1 10 ms, error {:.2}%",
        rel * 100.0
    );
    assert!(rel.abs() < 0.03, "T = {got:.4} ms vs 10 ms");
}

fn p2c_case(n: u32) {
    let want = supermarket_d2(0.9);
    let got = mean_sojourn_ms("p2c", n, 0.9, REQ_P2C, 1);
    let rel = got / want - 1.0;
    eprintln!(
        "p2c n = {n} λ = 0.9: T = {got:.4} ms, supermarket {want:.4}, error {:.2}%",
        rel * 100.0
    );
    assert!(rel.abs() < 0.03, "n = {n}: T = {got:.4} vs {want:.4}");
}

#[test]
fn p2c_with_100_replicas_is_within_3_percent_of_the_supermarket_fixed_point() {
    p2c_case(100);
}

#[test]
fn p2c_with_1000_replicas_is_within_3_percent_of_the_supermarket_fixed_point() {
    p2c_case(1000);
}

#[test]
fn every_balancer_runs_by_name_and_load_awareness_pays() {
    // n = 20, λ = 0.9, 400k requests each (a smoke test with an ordering,
    // not a theory check). Random is M/M/1: T = 10 ms. The hashing
    // balancers get no key from the simulator yet, so they hash a random
    // one: Maglev's even table makes that random splitting (±15%, sd ≈ 3%
    // here), but Envoy's ring of ceil(1024/20) = 52 points per replica
    // gives shares with sd ≈ 1/√52 = 14% of 1/n, and any replica with more
    // than 1/0.9 = 1.11 × its share is overloaded at λ = 0.9: measured
    // 65 ms, worse than random. The load-aware ones must beat random by far
    // (< 5 ms), and JSQ (full information) must not lose to P2C.
    // Measured (seed 1): round-robin 5.50, random 9.84, least-request 1.46,
    // p2c 2.80, peak-ewma 2.81, jsq 1.46, weighted-round-robin 5.50,
    // ring-hash 65.2, maglev 10.07 ms.
    let mut t = std::collections::BTreeMap::new();
    for e in orkestra_core::registry::BALANCERS {
        let got = mean_sojourn_ms(e.name, 20, 0.9, 400_000, 1);
        eprintln!("{:>22}: T = {got:.3} ms", e.name);
        t.insert(e.name, got);
    }
    for b in ["random", "maglev"] {
        assert!((t[b] / 10.0 - 1.0).abs() < 0.15, "{b}: {}", t[b]);
    }
    assert!(t["ring-hash"] > t["random"], "ring-hash {}", t["ring-hash"]);
    for b in ["least-request", "jsq", "p2c", "peak-ewma"] {
        assert!(t[b] < 5.0, "{b}: {} ms", t[b]);
    }
    assert!(
        t["jsq"] <= t["p2c"] * 1.02,
        "jsq {} p2c {}",
        t["jsq"],
        t["p2c"]
    );
}

/// scenarios/balancing.toml under every balancer, seeds 1–3: the table the
/// README quotes (`cargo test -p orkestra-simulator --test balancing
/// stragglers -- --nocapture`).
#[test]
fn balancers_under_stragglers_and_a_spike_over_three_seeds() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("scenarios/balancing.toml");
    let names = [
        "round-robin",
        "random",
        "weighted-round-robin",
        "ring-hash",
        "maglev",
        "least-request",
        "jsq",
        "p2c",
        "peak-ewma",
        "central-queue",
    ];
    // (name, p50, p99, p999 in ms, failed requests) as means over seeds.
    let mut rows: Vec<(&str, f64, f64, f64, f64)> = Vec::new();
    for name in names {
        let (mut p50, mut p99, mut p999, mut failed) = (0.0, 0.0, 0.0, 0.0);
        for seed in 1..=3u64 {
            let sets = [format!("services.api.balancer={name}")];
            let (scenario, _) = orkestra_simulator::load(&path, &sets, Some(seed)).unwrap();
            let s = orkestra_simulator::simulate(&scenario);
            let api = &s.services[0];
            p50 += api.latency_s.p50 * 1000.0 / 3.0;
            p99 += api.latency_s.p99 * 1000.0 / 3.0;
            p999 += api.latency_s.p999 * 1000.0 / 3.0;
            failed += (api.requests.rejected + api.requests.timed_out) as f64 / 3.0;
        }
        rows.push((name, p50, p99, p999, failed));
    }
    println!("\n| balancer | p50 | p99 | p999 | failed requests |");
    println!("|---|---|---|---|---|");
    for (n, p50, p99, p999, f) in &rows {
        println!("| {n} | {p50:.1} ms | {p99:.1} ms | {p999:.1} ms | {f:.0} |");
    }
    let get = |n: &str| *rows.iter().find(|r| r.0 == n).unwrap();
    let (rr, p2c, lr, cq) = (
        get("round-robin"),
        get("p2c"),
        get("least-request"),
        get("central-queue"),
    );
    // Load-blind round robin keeps sending stragglers a 1/20 share they cannot serve in a
    // spike (5× slower: 20 req/s each against 75 req/s offered), so their queues fill and
    // time out; P2C and least-request route around them.
    assert!(p2c.2 < rr.2 / 2.0, "p99 p2c {p2c:?} rr {rr:?}");
    assert!(p2c.4 < rr.4, "failed p2c {p2c:?} rr {rr:?}");
    assert!(lr.2 <= p2c.2 * 1.5, "least-request {lr:?} p2c {p2c:?}");
    // One queue in front of every slot never leaves a request behind a straggler's backlog.
    assert!(cq.4 <= p2c.4, "central-queue {cq:?} p2c {p2c:?}");
}
