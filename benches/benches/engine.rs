//! Engine throughput: the pending-event set against a hand-written
//! `BinaryHeap` loop, on a minimal M/M/c model and with a million pending events.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use orkestra_benches::{Hold, mmc_binary_heap, mmc_engine};

const EVENTS: u64 = 1_000_000;

fn mmc(c: &mut Criterion) {
    let mut g = c.benchmark_group("simulate M/M/c (c=8, rho=0.9) events");
    g.throughput(Throughput::Elements(EVENTS));
    g.bench_function("orkestra engine (radix heap)", |b| {
        b.iter(|| mmc_engine(8, 0.9, black_box(EVENTS), 1))
    });
    g.bench_function("baseline: hand-written BinaryHeap loop", |b| {
        b.iter(|| mmc_binary_heap(8, 0.9, black_box(EVENTS), 1))
    });
    g.finish();
}

fn million_pending(c: &mut Criterion) {
    const STEPS: u64 = 1_000_000;
    let mut g = c.benchmark_group("hold events with 1,000,000 pending");
    g.throughput(Throughput::Elements(STEPS));
    g.sample_size(20);
    {
        let pending = 1_000_000usize;
        let mut h = Hold::new(1);
        let mut q = h.engine_queue(pending);
        g.bench_with_input(
            BenchmarkId::new("orkestra engine (radix heap)", pending),
            &pending,
            |b, _| b.iter(|| h.run_engine(&mut q, STEPS)),
        );
        let mut h = Hold::new(1);
        let (mut q, mut seq) = h.heap(pending);
        g.bench_with_input(
            BenchmarkId::new("baseline: BinaryHeap", pending),
            &pending,
            |b, _| b.iter(|| h.run_heap(&mut q, &mut seq, STEPS)),
        );
    }
    g.finish();
}

criterion_group!(benches, mmc, million_pending);
criterion_main!(benches);
