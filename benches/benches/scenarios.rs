//! Scenarios end to end (load once, simulate without writing files), plus
//! the memory cost of a running replica measured with a counting allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use orkestra_core::scenario::{self, Scenario};
use orkestra_core::testing::NoFiles;
use orkestra_simulator::cluster::bytes_per_replica;
use orkestra_simulator::load;
use orkestra_simulator::{NullOutput, Simulation, simulate};

/// Counts live heap bytes and their peak.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn repo_scenario(name: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("scenarios")
        .join(name);
    load(&path, &[], None).unwrap_or_else(|e| panic!("{e}")).0
}

/// `replicas` single-slot replicas, 100 per node, kept ~90% busy so most
/// have a request in service (one pending completion event each).
fn many_replicas(replicas: u32) -> Scenario {
    let nodes = replicas / 100;
    let rate = f64::from(replicas) * 0.9 * 10.0; // μ = 10/s per replica
    let text = format!(
        r#"name = "memory"
[simulation]
duration = "2s"
sampleInterval = "1h"
[pools.p]
count = {nodes}
cpu = "100"
memory = "100Gi"
[services.s]
replicas = {replicas}
balancer = "round-robin"
requests = {{ cpu = "1", memory = "1Gi" }}
serviceTime = {{ dist = "exponential", mean = "100ms" }}
[services.s.traffic]
model = "constant"
rate = {rate}
"#
    );
    scenario::parse(&text, "memory.toml", &NoFiles, &[], Some(1)).expect("valid")
}

/// Heap bytes above what was live before: (peak over the run, largest live
/// amount seen in the second half of the run, i.e. in steady state).
fn heap(s: &Scenario) -> (usize, usize) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let mut steady = 0usize;
    let half = s.duration.0 / 2;
    let mut out = NullOutput;
    let summary = Simulation::new(s, &mut out)
        .run(&mut |t| {
            if t.0 >= half {
                steady = steady.max(LIVE.load(Ordering::Relaxed));
            }
        })
        .expect("no output errors");
    black_box(summary);
    (PEAK.load(Ordering::Relaxed) - before, steady - before)
}

fn memory_report() {
    // Difference of two sizes cancels fixed costs (histograms, buffers).
    let (small, large) = (50_000u32, 150_000u32);
    let a = heap(&many_replicas(small));
    let b = heap(&many_replicas(large));
    let n = f64::from(large - small);
    eprintln!(
        "memory per running replica (Δ over {small}→{large} replicas, 100 per node, ~90% busy): \
         steady state {:.0} bytes, peak {:.0} bytes; static layout {} bytes (status + serving state + endpoint slot + one pending event); target ≤ 128",
        (b.1 - a.1) as f64 / n,
        (b.0 - a.0) as f64 / n,
        bytes_per_replica()
    );
}

fn end_to_end(c: &mut Criterion) {
    memory_report();
    let mut g = c.benchmark_group("simulate a scenario end to end (events)");
    g.sample_size(10);
    for name in ["spike.toml", "steady.toml"] {
        let s = repo_scenario(name);
        let events = simulate(&s).events;
        g.throughput(Throughput::Elements(events));
        g.bench_function(name, |b| b.iter(|| simulate(black_box(&s))));
    }
    g.finish();
}

criterion_group!(benches, end_to_end);
criterion_main!(benches);
