//! `sim run` and `sim check`: load, simulate, write the results folder.
//!
//! Key decision: nothing is written until the scenario has been validated
//! completely, and results are written into a sibling `*.partial` folder
//! that is renamed into place only when every file is complete — so a bad
//! input or a failed run never leaves a half-written results folder, and an
//! existing folder is replaced only with `--force`.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use orkestra_core::results::{EventsWriter, NodesWriter, Summary, TimeseriesWriter, Timing, files};
use orkestra_core::scenario::{self, Files, InputError, Scenario};
use orkestra_core::time::SimTime;

use crate::cluster::Simulation;
use orkestra_core::results::Output;

/// Exit codes of the `sim` command.
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// The scenario or a file it names is invalid.
    pub const INPUT: i32 = 1;
    /// Bad command line (clap's own code).
    pub const USAGE: i32 = 2;
    /// The results folder exists and `--force` was not given.
    pub const EXISTS: i32 = 3;
    /// Writing results failed.
    pub const IO: i32 = 4;
    /// Live mode failed: engine unreachable, bad hosts file, image build, Docker error.
    pub const LIVE: i32 = 5;
}

/// A failure of `sim`, with the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Invalid input.
    #[error("{0}")]
    Input(#[from] InputError),
    /// Refusing to overwrite.
    #[error(
        "results folder '{0}' already exists; pass --force to replace it, or --out to choose another folder"
    )]
    Exists(PathBuf),
    /// Live mode failed (everything it started has been removed).
    #[error("live: {0}")]
    Live(String),
    /// An I/O failure while writing results.
    #[error("{path}: {source}")]
    Io {
        /// What was being written.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

impl RunError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Input(_) => exit::INPUT,
            RunError::Exists(_) => exit::EXISTS,
            RunError::Io { .. } => exit::IO,
            RunError::Live(_) => exit::LIVE,
        }
    }
}

/// Reads files relative to the scenario's folder.
pub struct FsFiles {
    base: PathBuf,
}

impl FsFiles {
    /// Files relative to the folder containing `scenario`.
    pub fn for_scenario(scenario: &Path) -> FsFiles {
        FsFiles {
            base: scenario.parent().map(Path::to_path_buf).unwrap_or_default(),
        }
    }

    fn resolve(&self, path: &str) -> PathBuf {
        let p = Path::new(path);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base.join(p)
        }
    }
}

impl Files for FsFiles {
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        fs::read(self.resolve(path)).map_err(|e| e.to_string())
    }
    fn display(&self, path: &str) -> String {
        self.resolve(path).display().to_string()
    }
}

/// Loads and validates the scenario at `path` with overrides and seed.
pub fn load(
    path: &Path,
    sets: &[String],
    seed: Option<u64>,
) -> Result<(Scenario, String), RunError> {
    let shown = path.display().to_string();
    let text = fs::read_to_string(path).map_err(|e| InputError {
        file: shown.clone(),
        line: 0,
        column: 0,
        path: String::new(),
        message: format!("cannot read scenario: {e}"),
    })?;
    let text = scenario::apply_overrides(&text, &shown, sets)?;
    let files = FsFiles::for_scenario(path);
    let mut s = scenario::parse(&text, &shown, &files, sets, seed)?;
    s.source = shown;
    Ok((s, text))
}

/// What `sim run` was asked to do.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Scenario file.
    pub scenario: PathBuf,
    /// Results folder (default `results/<name>-seed<seed>`).
    pub out: Option<PathBuf>,
    /// Seed override.
    pub seed: Option<u64>,
    /// `--set` overrides.
    pub sets: Vec<String>,
    /// Replace an existing results folder.
    pub force: bool,
    /// Draw a progress bar on stderr (when it is a terminal and the run is long).
    pub progress: bool,
    /// Run on Docker engines instead of simulating.
    pub live: Option<orkestra_backends::live::LiveOptions>,
}

/// A finished run.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// Where the results are.
    pub out: PathBuf,
    /// `summary.json`.
    pub summary: Summary,
    /// `timing.json`.
    pub timing: Timing,
}

struct FileOutput {
    timeseries: TimeseriesWriter<BufWriter<fs::File>>,
    events: EventsWriter<BufWriter<fs::File>>,
    nodes: Option<NodesWriter<BufWriter<fs::File>>>,
}

impl Output for FileOutput {
    fn sample(&mut self, time_s: f64, scope: &str, name: &str, value: f64) -> io::Result<()> {
        self.timeseries.row(time_s, scope, name, value)
    }
    fn event(&mut self, time_s: f64, kind: &str, subject: &str, detail: &str) -> io::Result<()> {
        self.events.row(time_s, kind, subject, detail)
    }
    fn node_sample(&mut self, time_s: f64, node: &str, fractions: [f64; 3]) -> io::Result<()> {
        match &mut self.nodes {
            Some(w) => w.row(time_s, node, fractions),
            None => Ok(()),
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> RunError + '_ {
    move |source| RunError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn create(path: &Path) -> Result<BufWriter<fs::File>, RunError> {
    Ok(BufWriter::with_capacity(
        1 << 16,
        fs::File::create(path).map_err(io_err(path))?,
    ))
}

/// Runs a scenario and writes its results folder.
pub fn run(opts: &RunOptions) -> Result<RunReport, RunError> {
    let (scenario, text) = load(&opts.scenario, &opts.sets, opts.seed)?;
    if opts.live.is_some()
        && let Some(set) = scenario.jobs.first()
    {
        return Err(RunError::Input(InputError {
            file: scenario.source.clone(),
            line: 0,
            column: 0,
            path: format!("jobs.{}", set.name),
            message: "batch jobs are simulated only; live mode cannot run them yet".into(),
        }));
    }
    if opts.live.is_some() && scenario.node_autoscaler.is_some() {
        return Err(RunError::Input(InputError {
            file: scenario.source.clone(),
            line: 0,
            column: 0,
            path: "clusterAutoscaler".into(),
            message: "node autoscaling is simulated only; live mode cannot add or remove hosts"
                .into(),
        }));
    }
    let out = opts.out.clone().unwrap_or_else(|| {
        let suffix = if opts.live.is_some() { "-live" } else { "" };
        PathBuf::from("results").join(format!("{}-seed{}{suffix}", scenario.name, scenario.seed))
    });
    if out.exists() && !opts.force {
        return Err(RunError::Exists(out));
    }
    let partial = PathBuf::from(format!("{}.partial", out.display()));
    if partial.exists() {
        fs::remove_dir_all(&partial).map_err(io_err(&partial))?;
    }
    fs::create_dir_all(&partial).map_err(io_err(&partial))?;
    let result = write_run(&scenario, &text, &partial, opts);
    let (summary, timing) = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = fs::remove_dir_all(&partial);
            return Err(e);
        }
    };
    if out.exists() {
        fs::remove_dir_all(&out).map_err(io_err(&out))?;
    }
    fs::rename(&partial, &out).map_err(io_err(&out))?;
    Ok(RunReport {
        out,
        summary,
        timing,
    })
}

fn write_run(
    scenario: &Scenario,
    text: &str,
    dir: &Path,
    opts: &RunOptions,
) -> Result<(Summary, Timing), RunError> {
    fs::write(dir.join(files::SCENARIO), text).map_err(io_err(&dir.join(files::SCENARIO)))?;
    let ts_path = dir.join(files::TIMESERIES);
    let ev_path = dir.join(files::EVENTS);
    let nodes_path = dir.join(files::NODES);
    let nodes = if scenario.node_metrics {
        Some(NodesWriter::new(create(&nodes_path)?).map_err(io_err(&nodes_path))?)
    } else {
        None
    };
    let mut output = FileOutput {
        timeseries: TimeseriesWriter::new(create(&ts_path)?).map_err(io_err(&ts_path))?,
        events: EventsWriter::new(create(&ev_path)?).map_err(io_err(&ev_path))?,
        nodes,
    };
    let started = Instant::now();
    let summary = match &opts.live {
        None => {
            let mut bar = Progress::new(opts.progress, scenario.duration.as_secs_f64());
            let summary = Simulation::new(scenario, &mut output)
                .run(&mut |t| bar.update(t, started))
                .map_err(io_err(dir))?;
            bar.finish();
            summary
        }
        Some(live) => run_live(scenario, live, &mut output)?,
    };
    let wall = started.elapsed().as_secs_f64().max(1e-9);
    output
        .timeseries
        .finish()
        .and_then(|mut w| w.flush())
        .map_err(io_err(&ts_path))?;
    output
        .events
        .finish()
        .and_then(|mut w| w.flush())
        .map_err(io_err(&ev_path))?;
    if let Some(nodes) = output.nodes {
        nodes
            .finish()
            .and_then(|mut w| w.flush())
            .map_err(io_err(&nodes_path))?;
    }
    let timing = Timing {
        wall_time_s: wall,
        events_per_s: summary.events as f64 / wall,
        speedup: summary.duration_s / wall,
    };
    write_json(&dir.join(files::SUMMARY), &summary)?;
    write_json(&dir.join(files::TIMING), &timing)?;
    Ok((summary, timing))
}

fn run_live(
    scenario: &Scenario,
    live: &orkestra_backends::live::LiveOptions,
    out: &mut dyn Output,
) -> Result<Summary, RunError> {
    let rt = tokio::runtime::Runtime::new()
        .map_err(|e| RunError::Live(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(orkestra_backends::live::run(
        std::sync::Arc::new(scenario.clone()),
        live,
        out,
        shutdown_signal(),
    ))
    .map_err(|e| match e {
        orkestra_backends::live::LiveRunError::Hosts(
            orkestra_backends::hosts::HostError::File(e),
        ) => RunError::Input(e),
        e => RunError::Live(e.to_string()),
    })
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
pub async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let term = async {
        match term.as_mut() {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), RunError> {
    let mut text =
        serde_json::to_string_pretty(value).map_err(|e| io_err(path)(io::Error::other(e)))?;
    text.push('\n');
    fs::write(path, text).map_err(io_err(path))
}

/// A progress bar that appears only for runs longer than two seconds, and
/// only when stderr is a terminal (indicatif hides it otherwise).
struct Progress {
    enabled: bool,
    bar: Option<indicatif::ProgressBar>,
    total_ms: u64,
}

impl Progress {
    fn new(enabled: bool, total_s: f64) -> Progress {
        Progress {
            enabled,
            bar: None,
            total_ms: (total_s * 1000.0) as u64,
        }
    }

    fn update(&mut self, t: SimTime, started: Instant) {
        if !self.enabled {
            return;
        }
        if self.bar.is_none() && started.elapsed() > Duration::from_secs(2) {
            let bar = indicatif::ProgressBar::new(self.total_ms);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} simulated {msg} [{bar:40}] {percent}% eta {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            self.bar = Some(bar);
        }
        if let Some(bar) = &self.bar {
            bar.set_position((t.as_secs_f64() * 1000.0) as u64);
            bar.set_message(format!("{:.0}s", t.as_secs_f64()));
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// The terminal summary printed after a run.
pub fn render_summary(r: &RunReport) -> String {
    use std::fmt::Write as _;
    let s = &r.summary;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "scenario {}  seed {}  simulated {:.0}s  hash {}",
        s.scenario, s.seed, s.duration_s, s.scenario_hash
    );
    if !s.overrides.is_empty() {
        let _ = writeln!(o, "overrides: {}", s.overrides.join(" "));
    }
    if !s.services.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "{:<12} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>6} {:>9}",
            "service",
            "requests",
            "ok",
            "rejected",
            "timeout",
            "mean",
            "p50",
            "p90",
            "p99",
            "max",
            "util",
            "replicas"
        );
        for svc in &s.services {
            let l = &svc.latency_s;
            let _ = writeln!(
                o,
                "{:<12} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>5.1}% {:>9}",
                svc.name,
                svc.requests.total,
                svc.requests.ok,
                svc.requests.rejected,
                svc.requests.timed_out,
                fmt_latency(l.mean),
                fmt_latency(l.p50),
                fmt_latency(l.p90),
                fmt_latency(l.p99),
                fmt_latency(l.max),
                svc.utilisation * 100.0,
                format!("{:.1}", svc.replicas.ready_mean),
            );
        }
    }
    for svc in &s.services {
        if let Some(r) = &svc.rollout {
            let _ = writeln!(
                o,
                "{}: rollout {} {} after {:.0}s (from {:.0}s), {} rollbacks, max weight {}%, availability {:.4}% ({} of {} requests failed)",
                svc.name,
                r.strategy,
                r.outcome,
                r.duration_s,
                r.started_s,
                r.rollbacks,
                r.max_weight,
                r.availability * 100.0,
                r.failed,
                r.requests
            );
        }
        if let Some(a) = &svc.autoscaling {
            let _ = writeln!(
                o,
                "{}: autoscaler {}, {} scaling actions, {:.0} replica-seconds ({:.1}x the work's need)",
                svc.name,
                a.autoscaler,
                a.scaling_actions,
                svc.replicas.replica_seconds,
                a.over_provisioning
            );
        }
        if let Some(slo) = &svc.slo {
            let recovery = match (slo.first_violation_s, slo.recovery_s) {
                (Some(t), Some(r)) => format!(", first at {t:.0}s, met again {r:.0}s later"),
                (Some(t), None) => format!(", first at {t:.0}s, never met again"),
                _ => String::new(),
            };
            let _ = writeln!(
                o,
                "{}: SLO p{} <= {}: {} of {} minutes violated{recovery}; {:.2}% of requests over target or failed",
                svc.name,
                slo.percentile,
                fmt_latency(slo.latency_s),
                slo.violation_minutes,
                slo.minutes,
                slo.over_target_fraction * 100.0
            );
        }
    }
    let c = &s.cluster;
    let _ = writeln!(o);
    let gpu = if c.gpu_allocatable_milli > 0 {
        format!(", gpu allocated {:.1}%", c.gpu_allocated_mean * 100.0)
    } else {
        String::new()
    };
    let _ = writeln!(
        o,
        "cluster: {} nodes in {} zones, cpu allocated {:.1}%, memory allocated {:.1}%{gpu}, {} pending at end",
        c.nodes,
        c.zones,
        c.cpu_allocated_mean * 100.0,
        c.memory_allocated_mean * 100.0,
        c.pending_at_end
    );
    let _ = writeln!(
        o,
        "packing: {:.1} nodes in use, lower bound {:.1} (gap {:.1}%); stranded cpu {:.1}%, memory {:.1}%, gpu {:.1}%; {} unschedulable attempts",
        c.nodes_in_use_mean,
        c.nodes_lower_bound_mean,
        c.packing_gap_mean * 100.0,
        c.stranded_cpu_mean * 100.0,
        c.stranded_memory_mean * 100.0,
        c.stranded_gpu_mean * 100.0,
        c.unschedulable_attempts
    );
    if let Some(n) = &c.node_autoscaling {
        let _ = writeln!(
            o,
            "nodes ({}): {} to {} (mean {:.1}), {} at end; {} scale-ups (+{} nodes), {} scale-downs ({} replacements), {} removed; {:.2} node-hours, cost {:.2}",
            n.autoscaler,
            n.nodes_min,
            n.nodes_max,
            n.nodes_mean,
            c.nodes,
            n.scale_ups,
            n.nodes_added,
            n.scale_downs,
            n.replacements,
            n.nodes_removed,
            c.node_hours,
            c.cost
        );
    }
    for j in &s.jobs {
        let _ = writeln!(
            o,
            "jobs {} ({}): {} jobs, {} pods: {} completed, {} running and {} pending at end; pending mean {}, p99 {}",
            j.name,
            j.source,
            j.jobs,
            j.pods,
            j.completed,
            j.running_at_end,
            j.pending_at_end,
            fmt_latency(j.pending_time_s.mean),
            fmt_latency(j.pending_time_s.p99),
        );
    }
    if let Some(f) = &s.faults {
        let _ = writeln!(o);
        for a in &f.availability {
            let _ = writeln!(
                o,
                "{}: availability {:.4}% ({} requests lost to faults)",
                a.service,
                a.availability * 100.0,
                a.lost
            );
        }
        let secs = |x: Option<f64>| x.map_or_else(|| "-".to_string(), |x| format!("{x:.0}s"));
        for rec in f.faults.iter().take(10) {
            let _ = writeln!(
                o,
                "fault {} ({}) at {:.0}s: detected {}, recovered {}, {} containers killed, {} requests lost",
                rec.name,
                rec.kind,
                rec.start_s,
                secs(rec.time_to_detect_s),
                secs(rec.time_to_recover_s),
                rec.containers_killed,
                rec.lost_requests
            );
        }
        if f.faults.len() > 10 {
            let _ = writeln!(o, "… {} more faults in summary.json", f.faults.len() - 10);
        }
    }
    let t = &r.timing;
    if s.mode == "live" {
        let _ = writeln!(
            o,
            "live: {:.0}s of scenario time in {:.1}s wall (speed {:.1}×)",
            s.duration_s, t.wall_time_s, t.speedup
        );
    } else {
        let _ = writeln!(
            o,
            "engine: {} events in {:.2}s wall = {:.2}M events/s; simulated/wall = {:.0}×",
            s.events,
            t.wall_time_s,
            t.events_per_s / 1e6,
            t.speedup
        );
    }
    let _ = writeln!(o, "results: {}", r.out.display());
    o
}

/// `sim check`'s lines about the job sets: arrivals, shapes, and what a
/// trace reader used and skipped.
pub fn describe_jobs(s: &Scenario) -> String {
    use orkestra_core::jobs::JobSource;
    use std::fmt::Write as _;
    let mut o = String::new();
    for set in &s.jobs {
        let what = match &set.source {
            JobSource::List(list) => format!(
                "{} jobs, {} pods",
                list.len(),
                list.iter().map(|a| u64::from(a.count)).sum::<u64>()
            ),
            JobSource::Poisson { rate, count, .. } => {
                format!("Poisson, {rate} jobs/s of {count} pods")
            }
        };
        let _ = writeln!(
            o,
            "jobs {} ({}): {what} in {} request shapes",
            set.name,
            set.source_name(),
            set.shapes.len()
        );
        if let Some(r) = &set.trace {
            let phases: Vec<String> = r.phases.iter().map(|(p, n)| format!("{n} {p}")).collect();
            let _ = writeln!(
                o,
                "  trace: {} rows, {} used ({}; {} alive at the window's start); skipped: {} without deletion time, {} with a non-positive duration, {} in other phases, {} outside the window, {} over the limit",
                r.rows,
                r.used,
                phases.join(", "),
                r.alive_at_start,
                r.skipped_no_deletion,
                r.skipped_non_positive_duration,
                r.skipped_phase,
                r.skipped_outside_window,
                r.skipped_over_limit
            );
        }
    }
    o
}

pub(crate) fn fmt_latency(s: f64) -> String {
    if s == 0.0 {
        "0s".to_string()
    } else if s >= 1.0 {
        format!("{s:.2}s")
    } else if s >= 1e-3 {
        format!("{:.1}ms", s * 1e3)
    } else {
        format!("{:.0}µs", s * 1e6)
    }
}

/// `sim place`: the cluster after the scenario's initial replicas are
/// placed, and the explanation of placing one more replica of `service`.
pub fn explain_placement(
    scenario: &Scenario,
    service: Option<&str>,
) -> Result<orkestra_core::placement::Explanation, String> {
    use orkestra_core::model::NodeStatus;
    use orkestra_core::model::ServiceId;
    use orkestra_core::placement::{
        Batch, ClusterView, NodeAlloc, Request, explain, place_initial_with,
    };
    use orkestra_core::rng::{names, stream};
    let s = match service {
        Some(name) => scenario
            .desired
            .services
            .iter()
            .position(|s| s.name == name)
            .ok_or_else(|| {
                let names: Vec<&str> = scenario
                    .desired
                    .services
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect();
                format!("no service '{name}'; choose from: {}", names.join(", "))
            })?,
        None => 0,
    };
    let mut policy =
        orkestra_core::registry::placer(&scenario.placement).map_err(|e| e.to_string())?;
    let mut rng = stream(scenario.seed, &format!("{}/placement", names::POLICY));
    let nodes = scenario
        .nodes
        .iter()
        .map(|n| NodeStatus::new(n.clone()))
        .collect();
    let observed = place_initial_with(
        scenario.queue,
        &scenario.desired,
        nodes,
        policy.as_mut(),
        &mut rng,
    )
    .observed;
    let allocs: Vec<NodeAlloc> = observed.nodes.iter().map(NodeAlloc::of).collect();
    let spec = &scenario.desired.services[s];
    let request = Request {
        service: ServiceId(s as u32),
        resources: spec.requests,
        constraints: &spec.placement,
    };
    let batch = Batch::new();
    let view = ClusterView {
        nodes: &observed.nodes,
        allocs: &allocs,
        batch: &batch,
        changes: &observed.changes,
    };
    Ok(explain(policy.as_mut(), &request, &view, &mut rng))
}

/// The `sim place` table: the policy's filters, then one row per node with
/// either its raw (0–100) and weighted score per score plugin and the total
/// (feasible nodes) or every failing filter with kube-scheduler's reason
/// (infeasible nodes); `*` marks the chosen node.
pub fn render_explanation(e: &orkestra_core::placement::Explanation) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let _ = writeln!(o, "policy {}", e.policy);
    if let Some(first) = e.nodes.first() {
        let names: Vec<&str> = first.filters.iter().map(|(f, _)| f.as_str()).collect();
        let _ = writeln!(o, "filters: {}", names.join(", "));
    }
    let feasible =
        |n: &orkestra_core::placement::NodeVerdict| n.filters.iter().all(|f| f.1.is_none());
    // Score columns as the first feasible node has them (a profile scores every feasible node
    // with the same plugins, in order).
    let columns: Vec<&str> = e
        .nodes
        .iter()
        .find(|n| feasible(n))
        .map(|n| n.scores.iter().map(|(p, _, _)| p.as_str()).collect())
        .unwrap_or_default();
    let cells: Vec<Vec<String>> = e
        .nodes
        .iter()
        .map(|n| {
            n.scores
                .iter()
                .map(|(_, raw, w)| format!("{raw} ({w})"))
                .collect()
        })
        .collect();
    let width = |k: usize| {
        cells
            .iter()
            .filter_map(|c| c.get(k))
            .map(|c| c.chars().count())
            .chain([columns[k].chars().count()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..columns.len()).map(width).collect();
    let node_w = e
        .nodes
        .iter()
        .map(|n| n.node.chars().count())
        .chain(["node".len()])
        .max()
        .unwrap_or(4);
    let mut header = format!("  {:<node_w$}", "node");
    if columns.is_empty() {
        header.push_str("  verdict");
    } else {
        let _ = writeln!(o, "scores: raw 0-100 (weighted)");
        for (c, w) in columns.iter().zip(&widths) {
            let _ = write!(header, "  {c:>w$}");
        }
        header.push_str("  total");
    }
    let _ = writeln!(o, "{header}");
    for (n, row) in e.nodes.iter().zip(&cells) {
        let mark = if e.chosen.as_deref() == Some(n.node.as_str()) {
            "*"
        } else {
            " "
        };
        let _ = write!(o, "{mark} {:<node_w$}", n.node);
        if !feasible(n) {
            let failed: Vec<String> = n
                .filters
                .iter()
                .filter_map(|(f, r)| r.as_ref().map(|r| format!("{f}: {r}")))
                .collect();
            let _ = writeln!(o, "  {}", failed.join("; "));
        } else if columns.is_empty() {
            let _ = writeln!(o, "  feasible");
        } else {
            for (c, w) in row.iter().zip(&widths) {
                let _ = write!(o, "  {c:>w$}");
            }
            let _ = writeln!(o, "  {}", n.total);
        }
    }
    let _ = writeln!(
        o,
        "chosen: {}",
        e.chosen.as_deref().unwrap_or("none (unschedulable)")
    );
    o
}
