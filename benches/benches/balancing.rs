//! One balancing decision: "pick an endpoint among 10, 100 and 1,000".
//!
//! Every registered balancer, with a realistic state behind the pick: each
//! endpoint has 0–3 requests in flight and (for peak-ewma) a measured
//! latency; the hashing balancers hash a random key. The endpoint list is
//! announced once with `on_endpoints`, as worlds do on every change, so the
//! cost of rebuilding a cycle, ring or table on churn is not in these
//! figures.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
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
        for n in [10u32, 100, 1000] {
            let mut rng = stream(2, "bench-balance");
            let eps: Vec<ReplicaId> = (0..n).map(ReplicaId).collect();
            let mut b = (e.make)();
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

criterion_group!(benches, pick);
criterion_main!(benches);
