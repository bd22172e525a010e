//! One balancing decision: "pick an endpoint among 10, 100 and 1,000".
//!
//! Every registered balancer, with a realistic state behind the pick: each
//! endpoint has 0–3 requests in flight and (for peak-ewma) a measured
//! latency; the hashing balancers hash a random key. The endpoint list is
//! announced once with `on_endpoints`, as worlds do on every change, so the
//! cost of rebuilding a cycle, ring or table on churn is not in these
//! figures.
//!
//! And the balancing layer's share of a whole run: spike.toml end to end
//! (its round-robin balancer), beside the same number of requests pushed
//! through the layer's calls alone (the core `Router`'s `route`, `pick`
//! and `complete` with the run's mean endpoint count), and spike.toml under other balancers, each as a ratio of events/s
//! against the round-robin run measured in the same process.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use orkestra_core::balance::{Policy, Router};
use orkestra_core::model::ReplicaId;
use orkestra_core::registry::BALANCERS;
use orkestra_core::rng::stream;
use orkestra_core::time::{SimDuration, SimTime};
use rand::RngExt;

fn pick(c: &mut Criterion) {
    let mut g = c.benchmark_group("pick one endpoint");
    g.throughput(Throughput::Elements(1));
    g.warm_up_time(Duration::from_millis(300));
    g.measurement_time(Duration::from_secs(1));
    g.sample_size(30);
    for e in BALANCERS {
        // Central-queue mode has no policy that picks.
        let Some(policy) = e.routing.policy() else {
            continue;
        };
        for n in [10u32, 100, 1000] {
            let mut rng = stream(2, "bench-balance");
            let eps: Vec<ReplicaId> = (0..n).map(ReplicaId).collect();
            let mut b = policy.fresh();
            b.on_endpoints(&eps);
            b.on_time(SimTime(1_000_000_000));
            for &r in &eps {
                b.on_complete(r, SimDuration(rng.random_range(500_000..2_000_000)), true);
                for _ in 0..rng.random_range(0..4) {
                    b.on_start(r);
                }
            }
            g.bench_with_input(BenchmarkId::new(e.name, n), &eps, |bench, eps| {
                bench.iter(|| black_box(b.pick(black_box(eps), &mut rng)))
            });
        }
    }
    g.finish();
}

/// Fastest of `n` timed runs of `f`, seconds.
fn best_of(n: usize, mut f: impl FnMut()) -> f64 {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn layer_on_spike(_c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/spike.toml");
    let load = |sets: &[String]| {
        orkestra_sim::run::load(&path, sets, None)
            .unwrap_or_else(|e| panic!("{e}"))
            .0
    };
    let base = load(&[]);
    let summary = orkestra_sim::simulate(&base);
    let (events, requests) = (summary.events, summary.services[0].requests.total);
    let endpoints = summary.services[0].replicas.ready_mean.round() as u32;
    let run_s = best_of(3, || {
        black_box(orkestra_sim::simulate(&base));
    });
    // The layer alone: what dispatch and completion ask of the balancer per request.
    let eps: Vec<ReplicaId> = (0..endpoints).map(ReplicaId).collect();
    let layer_s = best_of(3, || {
        let spec = orkestra_core::balance::BalancingSpec::default();
        let mut router = Router::new(Policy::RoundRobin, &spec, 1, "layer", "");
        router.replace(eps.iter().map(|&r| (r, 1)));
        for i in 0..requests {
            let now = SimTime(i * 1000);
            let a = router.route(now);
            let r = router.pick(black_box(&a), now).unwrap();
            router.complete(a.client, r, SimDuration(500), true, SimTime(i * 1000 + 500));
        }
        black_box(&router);
    });
    println!(
        "spike.toml (round-robin): {events} events in {run_s:.3} s = {:.2} M events/s; \
         its {requests} requests through the balancing layer alone ({endpoints} endpoints): \
         {layer_s:.4} s = {:.1}% of the run (target ≤ 10%)",
        events as f64 / run_s / 1e6,
        100.0 * layer_s / run_s
    );
    for name in [
        "random",
        "p2c",
        "peak-ewma",
        "least-request",
        "weighted-round-robin",
    ] {
        let s = load(&[format!("services.web.balancer={name}")]);
        let ev = orkestra_sim::simulate(&s).events;
        let t = best_of(3, || {
            black_box(orkestra_sim::simulate(&s));
        });
        println!(
            "spike.toml ({name}): {:.2} M events/s = {:.3} × round-robin's",
            ev as f64 / t / 1e6,
            (ev as f64 / t) / (events as f64 / run_s)
        );
    }
}

criterion_group!(benches, pick, layer_on_spike);
criterion_main!(benches);
