//! The `sim` command: its command line, and one function per subcommand
//! that hands the parsed arguments to the `orkestra_sim` library.
//!
//! Key decision: arguments several subcommands share (the scenario file,
//! `--set`, `--seed`, `--quiet`) are defined once and flattened in, so
//! their help reads the same everywhere; everything past parsing and the
//! exit code lives in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use orkestra_sim::run::{self, RunError, RunOptions, exit};
use orkestra_sim::{check, compare, live, place, report, summary, sweep};

const EXAMPLES: &str = "\
Examples:
  sim run scenarios/spike.toml
  sim run scenarios/spike.toml --seed 7 --out results/spike-7
  sim run scenarios/spike.toml --set services.web.replicas=30 --set simulation.duration=5m
  sim check scenarios/steady.toml
  sim hpa scenarios/hpa/web-hpa.toml scenarios/hpa/web-metrics.csv
  sim compare scenarios/alibaba-gpu.toml --placement kubernetes-default,gke-optimize-utilization,ecs-binpack
  sim sweep scenarios/spike.toml --vary services.web.autoscaler.kind=hpa,predictive,target-tracking \
      --vary scheduler.policy=kubernetes-default,swarm-spread --seeds 5 --jobs 2 --report
  sim report results/spike-sweep --out results/spike-report
  sim run scenarios/spike.toml --report

Exit codes: 0 success, 1 invalid scenario or input file, 2 bad command line,
3 results folder exists (use --force), 4 could not write results.";

/// Orkestra's cluster simulator: run container-orchestration scenarios
/// deterministically from a seed.
#[derive(Parser)]
#[command(name = "sim", version, about, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The scenario file, first argument of every subcommand that reads one.
#[derive(Args)]
struct ScenarioArg {
    /// Scenario file (TOML).
    scenario: PathBuf,
}

/// `--set` overrides; `sweep` and `compare` reword the help to "in every run".
#[derive(Args)]
struct SetArgs {
    /// Override a field: dotted.path=value (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    sets: Vec<String>,
}

/// The help of `--set` where it applies to every run of several (no final
/// full stop: clap drops it from doc comments, not from `help`).
const SET_EVERY_RUN: &str = "Override a field in every run: dotted.path=value (repeatable)";

/// `--seed`.
#[derive(Args)]
struct SeedArg {
    /// Seed of all random streams (overrides simulation.seed).
    #[arg(long)]
    seed: Option<u64>,
}

/// `--quiet`.
#[derive(Args)]
struct QuietArg {
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Subcommand)]
enum ListCommand {
    /// Placement policies, presets and balancers with a one-line description each.
    Policies,
}

#[derive(Subcommand)]
enum LiveCommand {
    /// Remove every container and network Orkestra labelled on the hosts, and nothing else.
    Down {
        /// Hosts file [default: the local engine].
        #[arg(long)]
        hosts: Option<String>,
    },
    /// (Re)build the workload image and copy it to every host.
    Image {
        /// Hosts file [default: the local engine].
        #[arg(long)]
        hosts: Option<String>,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a scenario and write its results folder.
    #[command(after_help = EXAMPLES)]
    Run(RunArgs),
    /// Run a scenario over the cross product of --vary values × seeds, in parallel.
    #[command(after_help = EXAMPLES, mut_arg("sets", |a| a.help(SET_EVERY_RUN)))]
    Sweep(SweepArgs),
    /// Render index.html and PNG figures from results folders (runs, sweeps, comparisons).
    #[command(after_help = EXAMPLES)]
    Report(ReportArgs),
    /// Run a scenario under several placement policies and compare them in one table.
    #[command(after_help = EXAMPLES, mut_arg("sets", |a| a.help(SET_EVERY_RUN)))]
    Compare(CompareArgs),
    /// Explain where one more replica of a service would go, node by node.
    Place(PlaceArgs),
    /// List registered policies and presets.
    #[command(subcommand)]
    List(ListCommand),
    /// Live-mode housekeeping.
    #[command(subcommand)]
    Live(LiveCommand),
    /// Replay an HPA spec against recorded metrics and print its recommendation at each sync.
    #[command(
        after_help = "SPEC holds the fields of a [services.NAME.autoscaler] table (kind = \"hpa\")\n\
at the top level. DATA has one row per pod per sync: time,replicas,pod,ready and one column\n\
per metric (cpu and cpu_request in millicores, a Pods or Object metric by its name);\n\
optional phase, started, ready_since. See scenarios/README.md."
    )]
    Hpa(HpaArgs),
    /// Validate a scenario without running it.
    Check(CheckArgs),
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    scenario: ScenarioArg,
    /// Results folder [default: results/<scenario>-seed<seed>].
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    seed: SeedArg,
    #[command(flatten)]
    sets: SetArgs,
    /// Replace the results folder if it exists.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    quiet: QuietArg,
    /// Run on real Docker engines instead of simulating.
    #[arg(long)]
    live: bool,
    /// Hosts file listing Docker engines (live mode) [default: the local engine].
    #[arg(long, requires = "live")]
    hosts: Option<String>,
    /// Play the scenario K times faster (live mode): shapes compress, rates do not.
    #[arg(long, requires = "live", default_value_t = 1.0)]
    speed: f64,
    /// Render the run's report into <out>/report after it.
    #[arg(long)]
    report: bool,
}

#[derive(Args)]
struct SweepArgs {
    #[command(flatten)]
    scenario: ScenarioArg,
    /// Vary a field: dotted.path=a,b,c (repeatable; replaces the scenario's [sweep] table).
    #[arg(long = "vary", value_name = "PATH=A,B,...")]
    vary: Vec<String>,
    /// Seeds per combination: the scenario's seed, seed+1, ... [default: [sweep] seeds or 1].
    #[arg(long)]
    seeds: Option<u32>,
    /// Runs at once [default: the number of cores]; results do not depend on it.
    #[arg(long)]
    jobs: Option<usize>,
    /// Folder of the sweep: one results folder per run, sweep.json and sweep.csv
    /// [default: results/<scenario>-sweep]. Running the same sweep again resumes it.
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    sets: SetArgs,
    /// Replace a folder that holds a different sweep.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    quiet: QuietArg,
    /// Render the sweep's report into <out>/report after it.
    #[arg(long)]
    report: bool,
}

#[derive(Args)]
struct ReportArgs {
    /// Results folders, or folders of them (a sweep or comparison).
    #[arg(required = true, value_name = "RESULTS_DIR")]
    dirs: Vec<PathBuf>,
    /// Folder of the report [default: RESULTS_DIR/report for one folder, else ./report].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Allow runs of different scenarios in one report.
    #[arg(long)]
    force: bool,
    /// Criterion's output folder to link [default: target/criterion when it exists].
    #[arg(long)]
    criterion: Option<PathBuf>,
    #[command(flatten)]
    quiet: QuietArg,
}

#[derive(Args)]
struct CompareArgs {
    #[command(flatten)]
    scenario: ScenarioArg,
    /// Placement policies to compare, comma-separated or repeated (see `sim list policies`).
    #[arg(
        long,
        value_delimiter = ',',
        required = true,
        value_name = "POLICY,..."
    )]
    placement: Vec<String>,
    /// Folder of the comparison: one results folder per policy and comparison.csv
    /// [default: results/<scenario>-seed<seed>-compare].
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    seed: SeedArg,
    #[command(flatten)]
    sets: SetArgs,
    /// Replace the comparison folder if it exists.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    quiet: QuietArg,
    /// Runs at once [default: 1].
    #[arg(long, default_value_t = 1)]
    jobs: usize,
}

#[derive(Args)]
struct PlaceArgs {
    #[command(flatten)]
    scenario: ScenarioArg,
    /// Service to place one more replica of [default: the first].
    #[arg(long)]
    service: Option<String>,
    #[command(flatten)]
    sets: SetArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct HpaArgs {
    /// The HPA spec (TOML).
    spec: PathBuf,
    /// The recorded metrics (CSV).
    data: PathBuf,
}

#[derive(Args)]
struct CheckArgs {
    #[command(flatten)]
    scenario: ScenarioArg,
    #[command(flatten)]
    sets: SetArgs,
}

fn main() -> ExitCode {
    let code = match Cli::parse().command {
        Command::Run(a) => run_command(a),
        Command::Compare(a) => compare_command(a),
        Command::Sweep(a) => sweep_command(a),
        Command::Report(a) => report::report(a.dirs, a.out, a.force, a.criterion, a.quiet.quiet),
        Command::Live(LiveCommand::Down { hosts }) => live::down(hosts.as_deref()),
        Command::Live(LiveCommand::Image { hosts }) => live::image(hosts.as_deref()),
        Command::List(ListCommand::Policies) => list_policies(),
        Command::Place(a) => place_command(a),
        Command::Hpa(a) => hpa_command(a),
        Command::Check(a) => check_command(a),
    };
    ExitCode::from(code as u8)
}

/// `sim run`: simulate (or run live) into a results folder.
fn run_command(a: RunArgs) -> i32 {
    if !(a.speed.is_finite() && a.speed > 0.0) {
        eprintln!(
            "sim: --speed must be a number greater than zero (got {})",
            a.speed
        );
        return exit::USAGE;
    }
    let live = a.live.then(|| orkestra_backends::live::LiveOptions {
        hosts: a.hosts,
        speed: a.speed,
        ..Default::default()
    });
    let opts = RunOptions {
        scenario: a.scenario.scenario,
        out: a.out,
        seed: a.seed.seed,
        sets: a.sets.sets,
        force: a.force,
        progress: !a.quiet.quiet,
        live,
    };
    finish(
        run::run(&opts),
        a.quiet.quiet,
        a.report,
        summary::render_summary,
        |r| &r.out,
    )
}

/// `sim compare`: one run per placement policy and the table of them.
fn compare_command(a: CompareArgs) -> i32 {
    let quiet = a.quiet.quiet;
    let opts = compare::CompareOptions {
        scenario: a.scenario.scenario,
        policies: a.placement,
        out: a.out,
        seed: a.seed.seed,
        sets: a.sets.sets,
        force: a.force,
        progress: !quiet,
        jobs: a.jobs,
    };
    match compare::compare(&opts) {
        Ok(c) => {
            if !quiet {
                print!("{}", compare::render_comparison(&c));
            }
            exit::OK
        }
        Err(e) => {
            eprintln!("sim: {e}");
            e.exit_code()
        }
    }
}

/// `sim sweep`: the cross product of variations × seeds on `--jobs` threads.
fn sweep_command(a: SweepArgs) -> i32 {
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
    if jobs == 0 {
        eprintln!("sim: --jobs must be at least 1");
        return exit::USAGE;
    }
    let opts = sweep::SweepOptions {
        scenario: a.scenario.scenario,
        vary: a.vary,
        seeds: a.seeds,
        jobs,
        out: a.out,
        sets: a.sets.sets,
        force: a.force,
        progress: !a.quiet.quiet,
    };
    finish(
        sweep::sweep(&opts),
        a.quiet.quiet,
        a.report,
        sweep::render_sweep,
        |r| &r.out,
    )
}

/// Ends `run` and `sweep`: prints the summary (unless `quiet`), renders the
/// report into `<out>/report` when asked, or prints the error; the exit code.
fn finish<T>(
    result: Result<T, RunError>,
    quiet: bool,
    report: bool,
    render: impl Fn(&T) -> String,
    out: impl Fn(&T) -> &PathBuf,
) -> i32 {
    match result {
        Ok(r) => {
            if !quiet {
                print!("{}", render(&r));
            }
            if report {
                let out = out(&r);
                report::report(
                    vec![out.clone()],
                    Some(out.join("report")),
                    false,
                    None,
                    quiet,
                )
            } else {
                exit::OK
            }
        }
        Err(e) => {
            eprintln!("sim: {e}");
            e.exit_code()
        }
    }
}

/// `sim list policies`: every registered placer, balancer and autoscaler.
fn list_policies() -> i32 {
    println!("placement (scheduler.policy):");
    for e in orkestra_core::registry::PLACERS {
        println!("  {:<26} {}", e.name, e.about);
        if let Some(p) = orkestra_core::sched::config::SchedulerProfile::preset(e.name) {
            // A Kubernetes profile: what `[scheduler]` fields start from.
            println!("  {:<26}   {}", "", p.describe());
        }
    }
    println!("balancers (services.NAME.balancer):");
    for e in orkestra_core::registry::BALANCERS {
        println!("  {:<26} {}", e.name, e.about);
    }
    println!("autoscalers (services.NAME.autoscaler.kind):");
    for (name, about) in orkestra_core::autoscale::spec::AUTOSCALERS {
        println!("  {name:<26} {about}");
    }
    println!("node autoscalers (clusterAutoscaler.kind):");
    for (name, about) in orkestra_core::autoscale::cluster::NODE_AUTOSCALERS {
        println!("  {name:<26} {about}");
    }
    println!("whole-cluster presets (preset):");
    for p in orkestra_core::presets::cluster_presets() {
        println!("  {:<26} {}", p.name, p.about);
        println!("  {:<26}   {}", "", p.describe());
    }
    exit::OK
}

/// `sim place`: the placement explanation as a table or JSON.
fn place_command(a: PlaceArgs) -> i32 {
    let s = match orkestra_simulator::load(&a.scenario.scenario, &a.sets.sets, None) {
        Ok((s, _)) => s,
        Err(e) => return input_error(e),
    };
    match place::explain_placement(&s, a.service.as_deref()) {
        Ok(e) if a.json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&e).expect("serialisable")
            );
            exit::OK
        }
        Ok(e) => {
            print!("{}", place::render_explanation(&e));
            exit::OK
        }
        Err(m) => {
            eprintln!("sim: place: {m}");
            exit::INPUT
        }
    }
}

/// `sim hpa`: an HPA spec replayed against recorded metrics.
fn hpa_command(a: HpaArgs) -> i32 {
    let read = |p: &PathBuf| {
        std::fs::read_to_string(p).map_err(|e| format!("{}: cannot read: {e}", p.display()))
    };
    let (spec, data) = match (read(&a.spec), read(&a.data)) {
        (Ok(s), Ok(d)) => (s, d),
        (Err(m), _) | (_, Err(m)) => {
            eprintln!("sim: {m}");
            return exit::INPUT;
        }
    };
    match orkestra_core::autoscale::replay::replay(
        &spec,
        &a.spec.display().to_string(),
        &data,
        &a.data.display().to_string(),
    ) {
        Ok(rows) => {
            print!("{}", orkestra_core::autoscale::replay::render(&rows));
            exit::OK
        }
        Err(e) => {
            eprintln!("sim: {e}");
            exit::INPUT
        }
    }
}

/// `sim check`: validate and describe a scenario.
fn check_command(a: CheckArgs) -> i32 {
    match orkestra_simulator::load(&a.scenario.scenario, &a.sets.sets, None) {
        Ok((s, _)) => {
            print!("{}", check::render_check(&s));
            exit::OK
        }
        Err(e) => input_error(e),
    }
}

/// Prints a scenario that failed to load; its exit code.
fn input_error(e: orkestra_core::scenario::InputError) -> i32 {
    let e = RunError::Input(e);
    eprintln!("sim: {e}");
    e.exit_code()
}
