//! `sim run`: load, simulate (or run live), write the results folder.
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

use orkestra_core::results::{
    EventsWriter, NodesWriter, Output, Summary, TimeseriesWriter, Timing, files,
};
use orkestra_core::scenario::{InputError, Scenario};
use orkestra_core::time::SimTime;
use orkestra_simulator::{Simulation, load};

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
        Some(live) => crate::live::run_live(scenario, live, &mut output)?,
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
