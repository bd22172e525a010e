//! Scheduling decisions and batch packing.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use orkestra_core::model::{NodeSpec, NodeStatus, Resources};
use orkestra_core::packing::{bfd, ffd};
use orkestra_core::placement::{NodeAlloc, Place};
use orkestra_core::rng::stream;
use orkestra_core::sched::Sampling;
use orkestra_core::sched::policies::kubernetes_default_sampled;
use rand::Rng;

/// `n` 8-cpu/32Gi nodes, each already holding a random share of requests.
fn cluster(n: usize) -> (Vec<NodeStatus>, Vec<NodeAlloc>) {
    let mut rng = stream(1, "bench-cluster");
    let r = Resources::new(8000, 32 << 30);
    let nodes: Vec<NodeStatus> = (0..n)
        .map(|i| {
            NodeStatus::new(NodeSpec {
                name: format!("n{i}"),
                pool: "p".into(),
                zone: format!("z{}", i % 3),
                labels: Default::default(),
                capacity: r,
                allocatable: r,
            })
        })
        .collect();
    let allocs = (0..n)
        .map(|_| {
            let mut a = NodeAlloc::default();
            a.add(Resources::new(
                u64::from(rng.next_u32() % 6000),
                u64::from(rng.next_u32()) % (24 << 30),
            ));
            a
        })
        .collect();
    (nodes, allocs)
}

fn decisions(c: &mut Criterion) {
    let mut g = c.benchmark_group("schedule one replica with kubernetes-default (decisions)");
    g.throughput(Throughput::Elements(1));
    for n in [1_000usize, 10_000, 100_000] {
        let (nodes, allocs) = cluster(n);
        let req = Resources::new(500, 1 << 30);
        let mut rng = stream(2, "bench");
        for (label, sampling) in [
            ("full scan", Sampling::All),
            ("adaptive sampling", Sampling::Adaptive),
        ] {
            let mut p = kubernetes_default_sampled(sampling);
            g.bench_with_input(BenchmarkId::new(label, n), &n, |b, _| {
                b.iter(|| black_box(p.place(&req, &nodes, &allocs, &mut rng).unwrap()))
            });
        }
    }
    g.finish();
}

fn packing(c: &mut Criterion) {
    let mut g = c.benchmark_group("pack 100,000 items (items)");
    let mut rng = stream(3, "bench-pack");
    let items: Vec<u64> = (0..100_000)
        .map(|_| 20 + u64::from(rng.next_u32() % 81))
        .collect();
    g.throughput(Throughput::Elements(items.len() as u64));
    g.sample_size(20);
    g.bench_function("FFD, capacity 150, sizes 20..100", |b| {
        b.iter(|| black_box(ffd(&items, 150).bins))
    });
    g.bench_function("BFD, capacity 150, sizes 20..100", |b| {
        b.iter(|| black_box(bfd(&items, 150).bins))
    });
    g.finish();
}

criterion_group!(benches, decisions, packing);
criterion_main!(benches);
