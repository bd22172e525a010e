//! `sim sweep`: a scenario over the cross product of variations × seeds, in parallel.
//!
//! Key decision: a sweep is a list of ordinary `sim run`s, each with extra
//! `--set path=value` overrides and a seed, each written to its own results
//! folder `<out>/<values>_seed<n>/` through `run::run` (so each appears only
//! complete, via `.partial` and a rename). Runs share nothing and are
//! single-threaded and deterministic, so a rayon pool of `--jobs` threads
//! changes only the wall time. `sweep.csv` is rebuilt from the run folders
//! in plan order after every sweep, never appended as runs finish. A
//! finished run is recognised by its summary (same scenario hash and seed),
//! so running the same sweep again resumes it; `sweep.json` records the plan
//! and a different plan in the same folder is refused without `--force`.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use orkestra_core::results::{ServiceSummary, Summary, files};
use orkestra_core::scenario::{InputError, SweepSpec, Vary, sweep_spec};
use orkestra_simulator::load;
use serde::{Deserialize, Serialize};

use crate::compare::COLUMNS;
use crate::run::{RunError, RunOptions, run};

/// The plan file of a sweep folder.
pub const MANIFEST: &str = "sweep.json";
/// The table of a sweep folder: one row per run.
pub const TABLE: &str = "sweep.csv";

/// What `sim sweep` was asked to do.
#[derive(Clone, Debug, Default)]
pub struct SweepOptions {
    /// Scenario file.
    pub scenario: PathBuf,
    /// `--vary path=a,b,c` arguments (replace the scenario's `[sweep]` dimensions).
    pub vary: Vec<String>,
    /// Seeds per combination (replaces `[sweep] seeds`; default 1).
    pub seeds: Option<u32>,
    /// Runs at once (at least 1).
    pub jobs: usize,
    /// Folder of the sweep (default `results/<name>-sweep`).
    pub out: Option<PathBuf>,
    /// `--set` overrides applied to every run.
    pub sets: Vec<String>,
    /// Replace a folder holding a different sweep.
    pub force: bool,
    /// One progress bar for the whole sweep.
    pub progress: bool,
}

/// One run of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedRun {
    /// Folder name inside the sweep folder.
    pub name: String,
    /// One value per dimension.
    pub values: Vec<String>,
    /// Its seed.
    pub seed: u64,
    /// Every override it runs with (the sweep's `--set`s, then one per dimension).
    pub sets: Vec<String>,
    /// Scenario hash its summary must carry.
    pub hash: String,
}

/// `sweep.json`: what the folder holds the runs of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Manifest {
    scenario: String,
    dimensions: Vec<(String, Vec<String>)>,
    runs: Vec<PlannedRun>,
}

/// A finished sweep.
#[derive(Clone, Debug)]
pub struct SweepResult {
    /// The sweep folder.
    pub out: PathBuf,
    /// Dimensions in order.
    pub vary: Vec<Vary>,
    /// Every run of the plan with its summary, in plan order.
    pub runs: Vec<(PlannedRun, Summary)>,
    /// Runs simulated now (the others were finished before).
    pub ran: usize,
}

fn bad(file: String, message: String) -> RunError {
    RunError::Input(InputError {
        file,
        line: 0,
        column: 0,
        path: String::new(),
        message,
    })
}

/// Folder-safe spelling of a value.
fn slug(v: &str) -> String {
    v.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The dimensions, seeds and every run, validated (each combination is
/// loaded once, so a bad value fails before anything runs).
pub fn plan(opts: &SweepOptions) -> Result<(String, Vec<Vary>, Vec<PlannedRun>), RunError> {
    let (base, text) = load(&opts.scenario, &opts.sets, None)?;
    let table = sweep_spec(&text, &base.source)?;
    let vary: Vec<Vary> = if opts.vary.is_empty() {
        table.as_ref().map(|t| t.vary.clone()).unwrap_or_default()
    } else {
        opts.vary
            .iter()
            .map(|a| Vary::parse(a))
            .collect::<Result<_, _>>()?
    };
    for (i, v) in vary.iter().enumerate() {
        if vary[..i].iter().any(|w| w.path == v.path) {
            return Err(bad(
                format!("--vary {}", v.path),
                "this path is varied twice".into(),
            ));
        }
    }
    let seeds = match opts.seeds {
        Some(0) => return Err(bad("--seeds".into(), "must be at least 1".into())),
        Some(n) => n,
        None => table.as_ref().map_or(1, |t: &SweepSpec| t.seeds),
    };
    if vary.is_empty() && seeds == 1 {
        return Err(bad(
            opts.scenario.display().to_string(),
            "nothing to sweep: give --vary path=a,b,c or --seeds N, or a [sweep] table".into(),
        ));
    }
    // Cross product, first dimension slowest; seeds fastest.
    let mut combos: Vec<Vec<usize>> = vec![Vec::new()];
    for v in &vary {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                (0..v.values.len()).map(move |i| {
                    let mut c = c.clone();
                    c.push(i);
                    c
                })
            })
            .collect();
    }
    let mut runs = Vec::new();
    for combo in combos {
        let mut sets = opts.sets.clone();
        let values: Vec<String> = combo
            .iter()
            .zip(&vary)
            .map(|(&i, v)| {
                sets.push(v.set(i));
                v.values[i].clone()
            })
            .collect();
        let (s, _) = load(&opts.scenario, &sets, None).map_err(|e| as_vary(e, &vary))?;
        for k in 0..u64::from(seeds) {
            let seed = base.seed + k;
            let mut name: Vec<String> = values.iter().map(|v| slug(v)).collect();
            name.push(format!("seed{seed}"));
            let name = name.join("_");
            if runs.iter().any(|r: &PlannedRun| r.name == name) {
                return Err(bad(
                    "--vary".into(),
                    format!(
                        "two runs would share the folder '{name}'; use values that differ in letters or digits"
                    ),
                ));
            }
            runs.push(PlannedRun {
                name,
                values: values.clone(),
                seed,
                sets: sets.clone(),
                hash: s.hash.clone(),
            });
        }
    }
    Ok((base.name, vary, runs))
}

/// An error about a `--set` that a dimension added names the `--vary` instead.
fn as_vary(mut e: InputError, vary: &[Vary]) -> RunError {
    if let Some(set) = e.file.strip_prefix("--set ")
        && let Some(v) = vary
            .iter()
            .find(|v| set.starts_with(&format!("{}=", v.path)))
    {
        e.file = format!("--vary {}={}", v.path, v.values.join(","));
    }
    RunError::Input(e)
}

/// Whether `dir` holds the finished run `r`.
fn finished(dir: &Path, r: &PlannedRun) -> Option<Summary> {
    let text = fs::read_to_string(dir.join(&r.name).join(files::SUMMARY)).ok()?;
    let s: Summary = serde_json::from_str(&text).ok()?;
    (s.scenario_hash == r.hash && s.seed == r.seed && s.overrides == r.sets).then_some(s)
}

/// Runs `runs` on a pool of `jobs` threads with one progress bar; summaries in input order.
pub(crate) fn run_parallel(
    runs: &[RunOptions],
    jobs: usize,
    progress: bool,
) -> Result<Vec<Summary>, RunError> {
    use rayon::prelude::*;
    let bar = if progress && !runs.is_empty() {
        let bar = indicatif::ProgressBar::new(runs.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} runs {pos}/{len} [{bar:40}] {percent}% elapsed {elapsed} eta {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(|e| RunError::Io {
            path: PathBuf::from("--jobs"),
            source: std::io::Error::other(e),
        })?;
    let out = pool.install(|| {
        runs.par_iter()
            .map(|o| {
                let r = run(o).map(|r| r.summary);
                bar.inc(1);
                r
            })
            .collect::<Result<Vec<_>, _>>()
    });
    bar.finish_and_clear();
    out
}

/// Plans, runs what is not finished yet, and rebuilds `sweep.csv`.
pub fn sweep(opts: &SweepOptions) -> Result<SweepResult, RunError> {
    let (scenario, vary, runs) = plan(opts)?;
    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(format!("{scenario}-sweep")));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RunError::Io { path, source }
    };
    let manifest = Manifest {
        scenario,
        dimensions: vary
            .iter()
            .map(|v| (v.path.clone(), v.values.clone()))
            .collect(),
        runs: runs.clone(),
    };
    let manifest_path = out.join(MANIFEST);
    if out.exists() {
        let same = fs::read_to_string(&manifest_path)
            .ok()
            .and_then(|t| serde_json::from_str::<Manifest>(&t).ok())
            .is_some_and(|m| m == manifest);
        if opts.force && !same {
            fs::remove_dir_all(&out).map_err(io(&out))?;
        } else if !same {
            return Err(RunError::Exists(out));
        }
    }
    fs::create_dir_all(&out).map_err(io(&out))?;
    let mut text = serde_json::to_string_pretty(&manifest).expect("serialisable");
    text.push('\n');
    fs::write(&manifest_path, text).map_err(io(&manifest_path))?;
    // Runs cut short by an interruption left `<name>.partial`; none of them is a result.
    for r in &runs {
        let partial = out.join(format!("{}.partial", r.name));
        if partial.exists() {
            fs::remove_dir_all(&partial).map_err(io(&partial))?;
        }
    }
    let todo: Vec<RunOptions> = runs
        .iter()
        .filter(|r| finished(&out, r).is_none())
        .map(|r| RunOptions {
            scenario: opts.scenario.clone(),
            out: Some(out.join(&r.name)),
            seed: Some(r.seed),
            sets: r.sets.clone(),
            force: true, // a folder here that is not this run is stale
            progress: false,
            live: None,
        })
        .collect();
    run_parallel(&todo, opts.jobs, opts.progress)?;
    let mut done = Vec::new();
    for r in runs {
        let s = finished(&out, &r).ok_or_else(|| RunError::Io {
            path: out.join(&r.name),
            source: std::io::Error::other("run folder missing after the sweep"),
        })?;
        done.push((r, s));
    }
    let table = out.join(TABLE);
    let tmp = out.join(format!("{TABLE}.partial"));
    fs::write(&tmp, sweep_csv(&vary, &done)).map_err(io(&tmp))?;
    fs::rename(&tmp, &table).map_err(io(&table))?;
    Ok(SweepResult {
        out,
        vary,
        runs: done,
        ran: todo.len(),
    })
}

/// Per-service columns of `sweep.csv`, after `<service>.`.
/// A per-service column: name and value.
type ServiceColumn = (&'static str, fn(&ServiceSummary) -> String);

const SERVICE_COLUMNS: &[ServiceColumn] = &[
    ("requests", |s| s.requests.total.to_string()),
    ("failed", |s| {
        (s.requests.rejected + s.requests.timed_out).to_string()
    }),
    ("latency_p50_s", |s| s.latency_s.p50.to_string()),
    ("latency_p99_s", |s| s.latency_s.p99.to_string()),
    ("ready_mean", |s| s.replicas.ready_mean.to_string()),
    ("replica_seconds", |s| {
        s.replicas.replica_seconds.to_string()
    }),
    ("slo_violation_minutes", |s| {
        s.slo
            .as_ref()
            .map_or(String::new(), |x| x.violation_minutes.to_string())
    }),
];

/// `sweep.csv`: run, one column per dimension (its path), seed, then the
/// services' and the cluster's key metrics at full precision.
pub fn sweep_csv(vary: &[Vary], runs: &[(PlannedRun, Summary)]) -> String {
    let mut o = String::from("run");
    for v in vary {
        let _ = write!(o, ",{}", v.path);
    }
    o.push_str(",seed");
    let services: Vec<String> = runs
        .first()
        .map(|(_, s)| s.services.iter().map(|x| x.name.clone()).collect())
        .unwrap_or_default();
    for s in &services {
        for (c, _) in SERVICE_COLUMNS {
            let _ = write!(o, ",{s}.{c}");
        }
    }
    for (_, name, _) in COLUMNS {
        let _ = write!(o, ",{name}");
    }
    o.push_str(",node_hours,cost\n");
    for (r, s) in runs {
        o.push_str(&r.name);
        for v in &r.values {
            let _ = write!(o, ",{}", csv_field(v));
        }
        let _ = write!(o, ",{}", r.seed);
        for name in &services {
            let svc = s.services.iter().find(|x| &x.name == name);
            for (_, f) in SERVICE_COLUMNS {
                let _ = write!(o, ",{}", svc.map(f).unwrap_or_default());
            }
        }
        for (_, _, value) in COLUMNS {
            let _ = write!(o, ",{}", value(s).csv());
        }
        let _ = writeln!(o, ",{},{}", s.cluster.node_hours, s.cluster.cost);
    }
    o
}

fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

/// The terminal lines after a sweep.
pub fn render_sweep(r: &SweepResult) -> String {
    let mut o = String::new();
    let dims: Vec<String> = r
        .vary
        .iter()
        .map(|v| format!("{} ({})", v.path, v.values.len()))
        .collect();
    let seeds = r
        .runs
        .iter()
        .filter(|(p, _)| p.values == r.runs[0].0.values)
        .count();
    let _ = writeln!(
        o,
        "sweep: {} runs = {} × {seeds} seed{}; {} run now, {} already finished",
        r.runs.len(),
        if dims.is_empty() {
            "1 combination".to_string()
        } else {
            dims.join(" × ")
        },
        if seeds == 1 { "" } else { "s" },
        r.ran,
        r.runs.len() - r.ran
    );
    let _ = writeln!(o, "table: {}", r.out.join(TABLE).display());
    let _ = writeln!(o, "results: {}", r.out.display());
    o
}
