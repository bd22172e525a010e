//! Balancer topology, service discovery, retries, outlier ejection, request
//! keys and node speed (issue 6), each against a closed form or a hand
//! calculation stated beside it.

mod common;

use orkestra_core::results::Summary;
use orkestra_core::scenario;
use orkestra_core::testing::NoFiles;
use orkestra_simulator::simulate;

/// `replicas` single-slot replicas (exponential service, mean 1 ms) on
/// nodes of speed `speed`, Poisson arrivals at `rate`/s for `duration`,
/// with `extra` lines appended to the service table.
fn run(replicas: u32, speed: f64, rate: f64, duration: &str, extra: &str, seed: u64) -> Summary {
    let text = format!(
        r#"
name = "discovery"
[simulation]
duration = "{duration}"
sampleInterval = "1000s"
[pools.p]
count = {replicas}
cpu = "1"
memory = "1Gi"
speed = {speed}
[services.s]
replicas = {replicas}
concurrency = 1
requests = {{ cpu = "1", memory = "1Gi" }}
serviceTime = {{ dist = "exponential", mean = "1ms" }}
traffic = {{ model = "constant", rate = {rate} }}
{extra}
"#
    );
    let s = scenario::parse(&text, "discovery.toml", &NoFiles, &[], Some(seed))
        .unwrap_or_else(|e| panic!("{e}"));
    simulate(&s)
}

#[test]
fn a_node_twice_as_fast_halves_service_times_m_m_1() {
    // One replica on a node of speed 2: service rate μ = 2/ms; arrivals
    // λ = 1/ms; M/M/1 mean sojourn T = 1/(μ − λ) = 1 ms (at speed 1 the same
    // load would saturate it). 400 s at 1000/s = 400k requests.
    let s = run(1, 2.0, 1000.0, "400s", "", 1);
    let t_ms = s.services[0].latency_s.mean * 1000.0;
    assert!((t_ms - 1.0).abs() < 0.03, "T = {t_ms} ms, M/M/1 says 1 ms");
}

#[test]
fn one_hot_key_sends_every_request_to_one_replica_m_m_1() {
    // Ring hash with a single distinct key: all traffic lands on one of the
    // 20 replicas. Total λ = 0.5/ms against μ = 1/ms there: M/M/1 with
    // ρ = 0.5, T = 1/(1 − 0.5) = 2 ms — where random balancing over 20
    // replicas (ρ = 0.025 each) would give 1/(1 − 0.025) = 1.026 ms.
    // 800 s at 500/s = 400k requests.
    let keyed = "balancer = \"ring-hash\"\nbalancing = { keys = { distribution = \"uniform\", count = 1 } }";
    let s = run(20, 1.0, 500.0, "800s", keyed, 1);
    let t_ms = s.services[0].latency_s.mean * 1000.0;
    assert!((t_ms - 2.0).abs() < 0.1, "T = {t_ms} ms, M/M/1 says 2 ms");
    // With 10,000 Zipf keys the load spreads again: far below 2 ms.
    let zipf = "balancer = \"ring-hash\"\nbalancing = { keys = { distribution = \"zipf\", count = 10000, exponent = 0.8 } }";
    let s = run(20, 1.0, 500.0, "100s", zipf, 1);
    assert!(s.services[0].latency_s.mean * 1000.0 < 1.3);
}

#[test]
fn client_side_balancers_with_their_own_counters_lose_to_one_shared_balancer() {
    // n = 20, λ = 0.9 per replica (18/ms in total), 200 s = 3.6M requests.
    // One shared least-request balancer sees every outstanding request
    // (JSQ: T ≈ 1.46 ms at this load, see tests/balancing.rs). Twenty
    // client-side balancers each see only their own ~1/20 of the requests,
    // so each picks nearly blind to the others' load: herding onto the
    // same "idle" replicas pushes T towards random balancing's M/M/1
    // 1/(1 − 0.9) = 10 ms. Measured (seed 1): shared 1.465 ms, 20 clients
    // 4.674 ms.
    let shared = run(20, 1.0, 18_000.0, "200s", "balancer = \"least-request\"", 1);
    let clients = run(
        20,
        1.0,
        18_000.0,
        "200s",
        "balancer = \"least-request\"\nbalancing = { clients = 20 }",
        1,
    );
    let (a, b) = (
        shared.services[0].latency_s.mean * 1000.0,
        clients.services[0].latency_s.mean * 1000.0,
    );
    eprintln!("least-request: shared T = {a:.3} ms, 20 clients T = {b:.3} ms");
    assert!(a < 2.0, "shared least-request T = {a} ms");
    assert!(b > 1.5 * a, "20 clients T = {b} ms vs shared {a} ms");
}

/// 10 replicas, 175 req/s of 10 ms requests (17.5% CPU each), an HPA at
/// 50% CPU with no scale-down window: it scales 10 → ceil(10 × 17.5/50) =
/// ceil(3.5) = 4 in one step (default policy: −100% per 15 s), deleting six
/// replicas at once. With a discovery delay d the random balancer keeps all
/// ten endpoints for d more seconds, so 6/10 of the requests in that window
/// go to replicas that are gone.
fn scale_down(balancing: &str) -> Summary {
    let text = format!(
        r#"
name = "discovery-delay"
[simulation]
duration = "120s"
[pools.p]
count = 10
cpu = "1"
memory = "1Gi"
[services.s]
replicas = 10
concurrency = 1
balancer = "random"
requests = {{ cpu = "1", memory = "1Gi" }}
limits = {{ cpu = "1", memory = "1Gi" }}
serviceTime = {{ dist = "constant", value = "10ms" }}
traffic = {{ model = "constant", rate = 175 }}
balancing = {balancing}
[services.s.autoscaler]
kind = "hpa"
minReplicas = 1
maxReplicas = 10
metrics = [
  {{ type = "Resource", resource = {{ name = "cpu", target = {{ type = "Utilization", averageUtilization = 50 }} }} }},
]
[services.s.autoscaler.behavior.scaleDown]
stabilizationWindowSeconds = 0
"#
    );
    let s = scenario::parse(&text, "discovery-delay.toml", &NoFiles, &[], Some(1))
        .unwrap_or_else(|e| panic!("{e}"));
    let out = simulate(&s);
    let svc = &out.services[0];
    assert_eq!(svc.replicas.desired, 4);
    assert_eq!(svc.autoscaling.as_ref().unwrap().scaling_actions, 1);
    out
}

#[test]
fn stale_endpoints_fail_and_retries_within_their_budget_recover_them() {
    // No delay: the balancer forgets deleted replicas at once; nothing fails.
    let none = scale_down("{ discoveryDelay = \"0s\" }");
    assert_eq!(none.services[0].requests.failed, 0);
    // d = 2 s: expected failures λ·d·6/10 = 175 × 2 × 0.6 = 210 (binomial
    // over ~350 requests, sd √(350·0.6·0.4) = 9.2; allow ±4 sd = 37).
    let stale = scale_down("{ discoveryDelay = \"2s\" }");
    let failed = stale.services[0].requests.failed as f64;
    assert!(
        (failed - 210.0).abs() < 37.0,
        "failed {failed}, expected 210"
    );
    // Two retries, each to a random endpoint: a request fails only if all
    // three attempts hit gone replicas, 0.6³ = 0.216 → 350 × 0.216 = 75.6
    // failures (sd 7.7); retries 350 × (0.6 + 0.36) = 336 (sd ≈ 15). The
    // default budget (20% of ~2,000 requests per 10 s + 10/s × 10 s ≥ 500)
    // allows them all.
    let retried = scale_down("{ discoveryDelay = \"2s\", retries = 2 }");
    let r = &retried.services[0].requests;
    assert!((r.failed as f64 - 75.6).abs() < 31.0, "failed {}", r.failed);
    assert!(
        (r.retries as f64 - 336.0).abs() < 60.0,
        "retries {}",
        r.retries
    );
    // A budget of 10 retries/s and no ratio allows 10 × 10 s = 100 retries
    // per window: exactly 100 of the ~336 wanted within the 2 s window.
    let tight = scale_down(
        "{ discoveryDelay = \"2s\", retries = 2, retryBudget = { retryRatio = 0.0, minRetriesPerSecond = 10 } }",
    );
    assert_eq!(tight.services[0].requests.retries, 100);
    eprintln!(
        "stale endpoints: failed {} (no retries), {} with {} retries, {} with a tight budget ({} retries)",
        failed,
        r.failed,
        r.retries,
        tight.services[0].requests.failed,
        tight.services[0].requests.retries
    );
}

#[test]
fn outlier_ejection_routes_around_stragglers_that_shed_load() {
    // 20 replicas, ~10% of them 20× slower, each queue capped at 5: under
    // round robin a straggler (effective μ = 0.05/ms against its 1/20 share
    // of λ = 10/ms = 0.5/ms) is overloaded and answers 503 most of the
    // time. Envoy-style ejection (5 consecutive failures) takes it out of
    // rotation, so far fewer requests are rejected. Measured (seed 1):
    // 54,117 rejected without ejection, 226 with it (4 ejections).
    let base = "balancer = \"round-robin\"\nqueueLimit = 5\nstragglers = { fraction = 0.1, slowdown = 20 }";
    let plain = run(20, 1.0, 10_000.0, "60s", base, 1);
    let ejecting = run(
        20,
        1.0,
        10_000.0,
        "60s",
        &format!("{base}\nbalancing = {{ outlierDetection = {{}} }}"),
        1,
    );
    let (a, b) = (&plain.services[0], &ejecting.services[0]);
    eprintln!(
        "rejected: plain {} ejecting {} (ejections {})",
        a.requests.rejected, b.requests.rejected, b.ejections
    );
    assert_eq!(a.ejections, 0);
    assert!(b.ejections > 0);
    assert!(b.requests.rejected * 2 < a.requests.rejected);
}
