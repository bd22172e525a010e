//! Scheduling decisions and batch packing.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use orkestra_core::model::{
    LABEL_HOSTNAME, LABEL_ZONE, NodeSpec, NodeStatus, Resources, ServiceId,
};
use orkestra_core::packing::{bfd, ffd};
use orkestra_core::placement::{Place, Request, Snapshot};
use orkestra_core::registry::placer;
use orkestra_core::rng::stream;
use orkestra_core::sched::Sampling;
use orkestra_core::sched::policies::kubernetes_default_sampled;
use rand::Rng;

/// The replica every decision places: 500m / 1Gi of service 0.
const PLACED: Resources = Resources::new(500, 1 << 30);

/// `n` 8-cpu/32Gi nodes in three zones, each already holding one replica
/// of another service (1) with a random share of the node; one node in a
/// hundred also holds 1–3 replicas of the placed service (0), so its
/// topology spread score matters.
fn cluster(n: usize) -> Snapshot {
    let mut rng = stream(1, "bench-cluster");
    let r = Resources::new(8000, 32 << 30);
    let nodes: Vec<NodeStatus> = (0..n)
        .map(|i| {
            let (name, zone) = (format!("n{i}"), format!("z{}", i % 3));
            NodeStatus::new(NodeSpec {
                csi: Some(Default::default()),
                labels: [
                    (LABEL_HOSTNAME.to_string(), name.clone()),
                    (LABEL_ZONE.to_string(), zone.clone()),
                ]
                .into(),
                name,
                pool: "p".into(),
                zone,
                taints: vec![],
                capacity: r,
                allocatable: r,
                speed: 1.0,
            })
        })
        .collect();
    let mut snap = Snapshot::new(nodes);
    for i in 0..n {
        let used = Resources::new(
            u64::from(rng.next_u32() % 6000),
            u64::from(rng.next_u32()) % (24 << 30),
        );
        snap.bind(i, ServiceId(1), used);
        if rng.next_u32().is_multiple_of(100) {
            for _ in 0..1 + rng.next_u32() % 3 {
                snap.bind(i, ServiceId(0), PLACED);
            }
        }
    }
    snap
}

fn decisions(c: &mut Criterion) {
    let mut g = c.benchmark_group("kubernetes-default decisions");
    g.throughput(Throughput::Elements(1));
    // The plain full scan takes ~20 ms a decision at 100k nodes.
    g.sample_size(20);
    for n in [1_000usize, 10_000, 100_000] {
        let mut snap = cluster(n);
        let req = Request::plain(PLACED);
        let mut rng = stream(2, "bench");
        let variants: [(&str, Box<dyn Place>); 3] = [
            (
                "plain full scan (baseline)",
                Box::new(kubernetes_default_sampled(Sampling::All)),
            ),
            ("cached full scan", placer("kubernetes-default").unwrap()),
            (
                "plain adaptive sampling",
                Box::new(kubernetes_default_sampled(Sampling::Adaptive)),
            ),
        ];
        for (label, mut p) in variants {
            // A steady state as in the simulator: each decision binds its
            // replica, and the replica bound 64 decisions earlier leaves, so
            // every decision sees two changed nodes.
            let mut live = std::collections::VecDeque::new();
            g.bench_with_input(BenchmarkId::new(label, n), &n, |b, _| {
                b.iter(|| {
                    let node = p.place(&req, &snap.view(), &mut rng).unwrap().0 as usize;
                    snap.bind(node, req.service, req.resources);
                    live.push_back(node);
                    if live.len() > 64 {
                        let old = live.pop_front().unwrap();
                        snap.unbind(old, req.service, req.resources);
                    }
                    black_box(node)
                })
            });
            while let Some(old) = live.pop_front() {
                snap.unbind(old, req.service, req.resources);
            }
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
