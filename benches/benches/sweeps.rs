//! Sweeps and reports: "how many runs per second does a sweep do with 1 and
//! 2 jobs" (the ratio should be close to 2 on two cores: runs share
//! nothing) and "how long does a report of 100 runs take to render".
//!
//! Sweep runs are spike.toml shortened to five simulated minutes with the
//! spike from the first minute (about 0.3 s of CPU each, so the run, not the
//! per-run file handling, dominates); the 100 folders of the report are
//! one-minute runs made once in setup.

use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use orkestra_reports::{ReportOptions, render_report};
use orkestra_sim::sweep::{SweepOptions, sweep};

fn spike() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("scenarios")
        .join("spike.toml")
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("orkestra-bench-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    d
}

/// `policies` placement policies × `seeds` seeds of spike.toml with `sets`.
fn options(out: &Path, policies: &str, seeds: u32, jobs: usize, sets: &[&str]) -> SweepOptions {
    SweepOptions {
        scenario: spike(),
        vary: vec![format!("scheduler.policy={policies}")],
        seeds: Some(seeds),
        jobs,
        out: Some(out.to_path_buf()),
        sets: sets.iter().map(|s| s.to_string()).collect(),
        force: true,
        progress: false,
    }
}

/// Eight runs (2 policies × 4 seeds) from scratch.
fn sweep_once(out: &Path, jobs: usize) -> Duration {
    let _ = fs::remove_dir_all(out);
    let t = Instant::now();
    let sets = ["simulation.duration=5m", "services.web.traffic.start=60s"];
    let r = sweep(&options(out, "first-fit,swarm-spread", 4, jobs, &sets)).expect("sweep");
    assert_eq!(r.ran, 8);
    t.elapsed()
}

fn sweeps(c: &mut Criterion) {
    let out = scratch("sweep");
    // The ratio, measured directly: median of three sweeps per job count.
    let median = |jobs| {
        let mut t: Vec<f64> = (0..3)
            .map(|_| sweep_once(&out, jobs).as_secs_f64())
            .collect();
        t.sort_by(f64::total_cmp);
        8.0 / t[1]
    };
    let (one, two) = (median(1), median(2));
    println!(
        "sweep of 8 five-minute spike runs: {one:.2} runs/s with 1 job, {two:.2} runs/s with 2 jobs, ratio {:.2}",
        two / one
    );
    let mut g = c.benchmark_group("sweep of 8 five-minute spike runs");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(30));
    g.throughput(Throughput::Elements(8));
    for jobs in [1usize, 2] {
        g.bench_with_input(BenchmarkId::new("jobs", jobs), &jobs, |b, &jobs| {
            b.iter(|| black_box(sweep_once(&out, jobs)))
        });
    }
    g.finish();
    let _ = fs::remove_dir_all(&out);
}

fn reports(c: &mut Criterion) {
    // 100 results folders: 5 policies × 20 seeds, made once.
    let runs = scratch("hundred");
    let policies = "first-fit,swarm-spread,swarm-binpack,tetris,kubernetes-default";
    let r = sweep(&options(
        &runs,
        policies,
        20,
        2,
        &["simulation.duration=1m"],
    ))
    .expect("sweep");
    assert_eq!(r.runs.len(), 100);
    let out = scratch("report");
    let opts = ReportOptions {
        inputs: vec![runs.clone()],
        out: out.clone(),
        force: false,
        criterion: None,
    };
    let mut g = c.benchmark_group("report");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(100));
    g.bench_function("render the report of 100 runs", |b| {
        b.iter(|| black_box(render_report(&opts).expect("report")))
    });
    g.finish();
    let _ = fs::remove_dir_all(&runs);
    let _ = fs::remove_dir_all(&out);
}

criterion_group!(benches, sweeps, reports);
criterion_main!(benches);
