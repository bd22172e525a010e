//! `sim compare`: one scenario under several placement policies, side by side.
//!
//! Key decision: each policy's run is an ordinary `sim run` with the
//! override `scheduler.policy=NAME` (recorded in its summary like any
//! `--set`), written to `<out>/<policy>/`; the table is built from those
//! summaries only, so it says exactly what the results folders say. Every
//! policy's scenario is validated before the first run starts, the whole
//! set is written to `<out>.partial` and renamed into place when complete,
//! and an existing folder is replaced only with `--force`.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use orkestra_core::results::{Summary, files};
use orkestra_core::scenario::InputError;

use orkestra_simulator::load;

use crate::run::{RunError, RunOptions};

/// What `sim compare` was asked to do.
#[derive(Clone, Debug, Default)]
pub struct CompareOptions {
    /// Scenario file.
    pub scenario: PathBuf,
    /// Placement policies, in table order.
    pub policies: Vec<String>,
    /// Folder of the comparison (default `results/<name>-seed<seed>-compare`).
    pub out: Option<PathBuf>,
    /// Seed override.
    pub seed: Option<u64>,
    /// `--set` overrides, applied to every run.
    pub sets: Vec<String>,
    /// Replace an existing folder.
    pub force: bool,
    /// One progress bar for the whole comparison.
    pub progress: bool,
    /// Runs at once (0 or 1: one after the other).
    pub jobs: usize,
}

/// A finished comparison.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// Where the results are.
    pub out: PathBuf,
    /// Each policy's summary, in the order asked.
    pub runs: Vec<(String, Summary)>,
}

/// The table's columns: terminal header, CSV header, value.
pub(crate) type Column = (&'static str, &'static str, fn(&Summary) -> Cell);

/// A value and how to show it.
pub(crate) enum Cell {
    Seconds(f64),
    Fraction(f64),
    Mean(f64),
    Count(u64),
}

impl Cell {
    fn show(&self) -> String {
        match *self {
            Cell::Seconds(s) => crate::summary::fmt_latency(s),
            Cell::Fraction(x) => format!("{:.1}%", x * 100.0),
            Cell::Mean(x) => format!("{x:.1}"),
            Cell::Count(n) => n.to_string(),
        }
    }

    pub(crate) fn csv(&self) -> String {
        match *self {
            Cell::Seconds(x) | Cell::Fraction(x) | Cell::Mean(x) => x.to_string(),
            Cell::Count(n) => n.to_string(),
        }
    }
}

/// Every column after `policy` (also the cluster columns of `sweep.csv`).
pub(crate) const COLUMNS: &[Column] = &[
    ("pend_mean", "pending_mean_s", |s| {
        Cell::Seconds(s.cluster.pending_time_s.mean)
    }),
    ("pend_p50", "pending_p50_s", |s| {
        Cell::Seconds(s.cluster.pending_time_s.p50)
    }),
    ("pend_p99", "pending_p99_s", |s| {
        Cell::Seconds(s.cluster.pending_time_s.p99)
    }),
    ("pend_end", "pending_at_end", |s| {
        Cell::Count(u64::from(s.cluster.pending_at_end))
    }),
    ("cpu", "cpu_allocated", |s| {
        Cell::Fraction(s.cluster.cpu_allocated_mean)
    }),
    ("mem", "memory_allocated", |s| {
        Cell::Fraction(s.cluster.memory_allocated_mean)
    }),
    ("gpu", "gpu_allocated", |s| {
        Cell::Fraction(s.cluster.gpu_allocated_mean)
    }),
    ("nodes", "nodes_in_use", |s| {
        Cell::Mean(s.cluster.nodes_in_use_mean)
    }),
    ("nodes_lb", "nodes_lower_bound", |s| {
        Cell::Mean(s.cluster.nodes_lower_bound_mean)
    }),
    ("pack_gap", "packing_gap", |s| {
        Cell::Fraction(s.cluster.packing_gap_mean)
    }),
    ("unsched", "unschedulable_attempts", |s| {
        Cell::Count(s.cluster.unschedulable_attempts)
    }),
    ("strand_cpu", "stranded_cpu", |s| {
        Cell::Fraction(s.cluster.stranded_cpu_mean)
    }),
    ("strand_mem", "stranded_memory", |s| {
        Cell::Fraction(s.cluster.stranded_memory_mean)
    }),
    ("strand_gpu", "stranded_gpu", |s| {
        Cell::Fraction(s.cluster.stranded_gpu_mean)
    }),
];

fn bad_policy(message: String) -> RunError {
    RunError::Input(InputError {
        file: "--placement".to_string(),
        line: 0,
        column: 0,
        path: String::new(),
        message,
    })
}

fn with_policy(sets: &[String], policy: &str) -> Vec<String> {
    let mut sets = sets.to_vec();
    sets.push(format!("scheduler.policy={policy}"));
    sets
}

/// Runs the scenario once per policy and writes the comparison folder.
pub fn compare(opts: &CompareOptions) -> Result<Comparison, RunError> {
    if opts.policies.is_empty() {
        return Err(bad_policy("name at least one placement policy".into()));
    }
    for (i, p) in opts.policies.iter().enumerate() {
        orkestra_core::registry::placer(p).map_err(|e| bad_policy(e.to_string()))?;
        if opts.policies[..i].contains(p) {
            return Err(bad_policy(format!("'{p}' is listed twice")));
        }
    }
    // Validate every policy's scenario (the fit check depends on the policy) before running any.
    let mut first = None;
    for p in &opts.policies {
        let (s, _) = load(&opts.scenario, &with_policy(&opts.sets, p), opts.seed)?;
        first.get_or_insert(s);
    }
    let scenario = first.expect("at least one policy");
    let out = opts.out.clone().unwrap_or_else(|| {
        PathBuf::from("results").join(format!("{}-seed{}-compare", scenario.name, scenario.seed))
    });
    if out.exists() && !opts.force {
        return Err(RunError::Exists(out));
    }
    let partial = PathBuf::from(format!("{}.partial", out.display()));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RunError::Io { path, source }
    };
    if partial.exists() {
        fs::remove_dir_all(&partial).map_err(io(&partial))?;
    }
    fs::create_dir_all(&partial).map_err(io(&partial))?;
    let result = run_all(opts, &partial);
    let runs = match result {
        Ok(runs) => runs,
        Err(e) => {
            let _ = fs::remove_dir_all(&partial);
            return Err(e);
        }
    };
    if out.exists() {
        fs::remove_dir_all(&out).map_err(io(&out))?;
    }
    fs::rename(&partial, &out).map_err(io(&out))?;
    Ok(Comparison { out, runs })
}

fn run_all(opts: &CompareOptions, dir: &Path) -> Result<Vec<(String, Summary)>, RunError> {
    let runs: Vec<RunOptions> = opts
        .policies
        .iter()
        .map(|p| RunOptions {
            scenario: opts.scenario.clone(),
            out: Some(dir.join(p)),
            seed: opts.seed,
            sets: with_policy(&opts.sets, p),
            force: false,
            progress: false,
            live: None,
        })
        .collect();
    let summaries = crate::sweep::run_parallel(&runs, opts.jobs, opts.progress)?;
    let runs: Vec<(String, Summary)> = opts.policies.iter().cloned().zip(summaries).collect();
    let path = dir.join(files::COMPARISON);
    fs::write(&path, comparison_csv(&runs)).map_err(|source| RunError::Io { path, source })?;
    Ok(runs)
}

/// `comparison.csv`: one row per policy, full precision.
pub fn comparison_csv(runs: &[(String, Summary)]) -> String {
    let mut o = String::from("policy");
    for (_, name, _) in COLUMNS {
        o.push(',');
        o.push_str(name);
    }
    o.push('\n');
    for (policy, s) in runs {
        o.push_str(policy);
        for (_, _, value) in COLUMNS {
            o.push(',');
            o.push_str(&value(s).csv());
        }
        o.push('\n');
    }
    o
}

/// The terminal table.
pub fn render_comparison(c: &Comparison) -> String {
    let mut o = String::new();
    if let Some((_, s)) = c.runs.first() {
        let _ = writeln!(
            o,
            "scenario {}  seed {}  simulated {:.0}s  {} placement policies",
            s.scenario,
            s.seed,
            s.duration_s,
            c.runs.len()
        );
        let _ = writeln!(o);
    }
    let width = c
        .runs
        .iter()
        .map(|(p, _)| p.len())
        .max()
        .unwrap_or(0)
        .max("policy".len());
    let _ = write!(o, "{:<width$}", "policy");
    for (head, _, _) in COLUMNS {
        let _ = write!(o, " {head:>10}");
    }
    let _ = writeln!(o);
    for (policy, s) in &c.runs {
        let _ = write!(o, "{policy:<width$}");
        for (_, _, value) in COLUMNS {
            let _ = write!(o, " {:>10}", value(s).show());
        }
        let _ = writeln!(o);
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "pend_*: creation to bind of the replicas that were bound (pend_end were never bound); cpu/mem/gpu: \
         allocated / allocatable, time-weighted; nodes: nodes in use; nodes_lb: lower bound on the nodes the \
         bound requests need; pack_gap: (nodes - nodes_lb) / nodes_lb; unsched: failed placement attempts; \
         strand_*: free capacity on nodes where no request shape fits."
    );
    let _ = writeln!(o, "results: {}", c.out.display());
    o
}
