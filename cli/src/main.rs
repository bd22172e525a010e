//! The `sim` command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use orkestra_sim::run::{self, RunOptions, exit};

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
    Run {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Results folder [default: results/<scenario>-seed<seed>].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Seed of all random streams (overrides simulation.seed).
        #[arg(long)]
        seed: Option<u64>,
        /// Override a field: dotted.path=value (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
        /// Replace the results folder if it exists.
        #[arg(long)]
        force: bool,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
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
    },
    /// Run a scenario over the cross product of --vary values × seeds, in parallel.
    #[command(after_help = EXAMPLES)]
    Sweep {
        /// Scenario file (TOML).
        scenario: PathBuf,
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
        /// Override a field in every run: dotted.path=value (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
        /// Replace a folder that holds a different sweep.
        #[arg(long)]
        force: bool,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
        /// Render the sweep's report into <out>/report after it.
        #[arg(long)]
        report: bool,
    },
    /// Render index.html and PNG figures from results folders (runs, sweeps, comparisons).
    #[command(after_help = EXAMPLES)]
    Report {
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
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Run a scenario under several placement policies and compare them in one table.
    #[command(after_help = EXAMPLES)]
    Compare {
        /// Scenario file (TOML).
        scenario: PathBuf,
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
        /// Seed of all random streams (overrides simulation.seed).
        #[arg(long)]
        seed: Option<u64>,
        /// Override a field in every run: dotted.path=value (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
        /// Replace the comparison folder if it exists.
        #[arg(long)]
        force: bool,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
        /// Runs at once [default: 1].
        #[arg(long, default_value_t = 1)]
        jobs: usize,
    },
    /// Explain where one more replica of a service would go, node by node.
    Place {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Service to place one more replica of [default: the first].
        #[arg(long)]
        service: Option<String>,
        /// Override a field: dotted.path=value (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
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
    Hpa {
        /// The HPA spec (TOML).
        spec: PathBuf,
        /// The recorded metrics (CSV).
        data: PathBuf,
    },
    /// Validate a scenario without running it.
    Check {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Override a field: dotted.path=value (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run {
            scenario,
            out,
            seed,
            sets,
            force,
            quiet,
            live,
            hosts,
            speed,
            report,
        } => {
            if !(speed.is_finite() && speed > 0.0) {
                eprintln!("sim: --speed must be a number greater than zero (got {speed})");
                return ExitCode::from(exit::USAGE as u8);
            }
            let live = live.then(|| orkestra_backends::live::LiveOptions {
                hosts,
                speed,
                ..Default::default()
            });
            let opts = RunOptions {
                scenario,
                out,
                seed,
                sets,
                force,
                progress: !quiet,
                live,
            };
            finish(run::run(&opts), quiet, report, run::render_summary, |r| {
                &r.out
            })
        }
        Command::Compare {
            scenario,
            placement,
            out,
            seed,
            sets,
            force,
            quiet,
            jobs,
        } => {
            let opts = orkestra_sim::compare::CompareOptions {
                scenario,
                policies: placement,
                out,
                seed,
                sets,
                force,
                progress: !quiet,
                jobs,
            };
            match orkestra_sim::compare::compare(&opts) {
                Ok(c) => {
                    if !quiet {
                        print!("{}", orkestra_sim::compare::render_comparison(&c));
                    }
                    exit::OK
                }
                Err(e) => {
                    eprintln!("sim: {e}");
                    e.exit_code()
                }
            }
        }
        Command::Sweep {
            scenario,
            vary,
            seeds,
            jobs,
            out,
            sets,
            force,
            quiet,
            report,
        } => {
            let jobs = jobs.unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
            });
            if jobs == 0 {
                eprintln!("sim: --jobs must be at least 1");
                return ExitCode::from(exit::USAGE as u8);
            }
            let opts = orkestra_sim::sweep::SweepOptions {
                scenario,
                vary,
                seeds,
                jobs,
                out,
                sets,
                force,
                progress: !quiet,
            };
            finish(
                orkestra_sim::sweep::sweep(&opts),
                quiet,
                report,
                orkestra_sim::sweep::render_sweep,
                |r| &r.out,
            )
        }
        Command::Report {
            dirs,
            out,
            force,
            criterion,
            quiet,
        } => report_command(dirs, out, force, criterion, quiet),
        Command::Live(cmd) => live_command(cmd),
        Command::List(ListCommand::Policies) => {
            println!("placement (scheduler.policy):");
            for e in orkestra_core::registry::PLACERS {
                println!("  {:<26} {}", e.name, e.about);
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
            exit::OK
        }
        Command::Place {
            scenario,
            service,
            sets,
            json,
        } => match run::load(&scenario, &sets, None) {
            Ok((s, _)) => match run::explain_placement(&s, service.as_deref()) {
                Ok(e) if json => {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&e).expect("serialisable")
                    );
                    exit::OK
                }
                Ok(e) => {
                    print!("{}", run::render_explanation(&e));
                    exit::OK
                }
                Err(m) => {
                    eprintln!("sim: place: {m}");
                    exit::INPUT
                }
            },
            Err(e) => {
                eprintln!("sim: {e}");
                e.exit_code()
            }
        },
        Command::Hpa { spec, data } => {
            let read = |p: &PathBuf| {
                std::fs::read_to_string(p).map_err(|e| format!("{}: cannot read: {e}", p.display()))
            };
            match (read(&spec), read(&data)) {
                (Ok(s), Ok(d)) => match orkestra_core::autoscale::replay::replay(
                    &s,
                    &spec.display().to_string(),
                    &d,
                    &data.display().to_string(),
                ) {
                    Ok(rows) => {
                        print!("{}", orkestra_core::autoscale::replay::render(&rows));
                        exit::OK
                    }
                    Err(e) => {
                        eprintln!("sim: {e}");
                        exit::INPUT
                    }
                },
                (Err(m), _) | (_, Err(m)) => {
                    eprintln!("sim: {m}");
                    exit::INPUT
                }
            }
        }
        Command::Check { scenario, sets } => match run::load(&scenario, &sets, None) {
            Ok((s, _)) => {
                // Services come first in the desired state, one traffic model each; job shapes follow.
                let replicas: u32 = s.desired.services.iter().map(|s| s.replicas).sum();
                let zones: std::collections::BTreeSet<_> =
                    s.nodes.iter().map(|n| &n.zone).collect();
                println!(
                    "ok: {} — {} nodes in {} zones, {} services, {} replicas, {} simulated, seed {}",
                    s.name,
                    s.nodes.len(),
                    zones.len(),
                    s.traffic.len(),
                    replicas,
                    s.duration,
                    s.seed
                );
                print!("{}", run::describe_jobs(&s));
                if let Some(a) = &s.node_autoscaler {
                    let groups: Vec<String> = s
                        .node_groups
                        .iter()
                        .map(|g| {
                            format!(
                                "{} ({}..{} nodes, boot {})",
                                g.name, g.min, g.max, g.boot_delay
                            )
                        })
                        .collect();
                    println!("node autoscaler {}: {}", a.kind(), groups.join(", "));
                }
                exit::OK
            }
            Err(e) => {
                eprintln!("sim: {e}");
                e.exit_code()
            }
        },
    };
    ExitCode::from(code as u8)
}

/// `sim report` (and `--report` after a run or sweep).
/// Ends `run` and `sweep`: prints the summary (unless `quiet`), renders the
/// report into `<out>/report` when asked, or prints the error; the exit code.
fn finish<T>(
    result: Result<T, run::RunError>,
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
                report_command(
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

fn report_command(
    dirs: Vec<PathBuf>,
    out: Option<PathBuf>,
    force: bool,
    criterion: Option<PathBuf>,
    quiet: bool,
) -> i32 {
    use orkestra_reports::{ReportError, ReportOptions};
    let out = out.unwrap_or_else(|| match dirs.as_slice() {
        [one] => one.join("report"),
        _ => PathBuf::from("report"),
    });
    let criterion = criterion.or_else(|| {
        let d = PathBuf::from("target").join("criterion");
        d.is_dir().then_some(d)
    });
    let opts = ReportOptions {
        inputs: dirs,
        out,
        force,
        criterion,
    };
    match orkestra_reports::render_report(&opts) {
        Ok(r) => {
            if !quiet {
                println!(
                    "report: {} ({} figures from {} runs in {} configurations)",
                    r.index.display(),
                    r.figures.len(),
                    r.runs,
                    r.groups
                );
            }
            exit::OK
        }
        Err(e) => {
            eprintln!("sim: report: {e}");
            match e {
                ReportError::Io { .. } | ReportError::Draw(_) => exit::IO,
                _ => exit::INPUT,
            }
        }
    }
}

fn live_command(cmd: LiveCommand) -> i32 {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sim: live: cannot start the async runtime: {e}");
            return exit::LIVE;
        }
    };
    let result = match cmd {
        LiveCommand::Down { hosts } => rt
            .block_on(orkestra_backends::live::down(hosts.as_deref()))
            .map(|removed| {
                for (host, c, n) in removed {
                    println!("{host}: removed {c} containers and {n} networks");
                }
            }),
        LiveCommand::Image { hosts } => rt
            .block_on(orkestra_backends::live::build_image(hosts.as_deref()))
            .map(|tag| println!("built {tag}")),
    };
    match result {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("sim: live: {e}");
            exit::LIVE
        }
    }
}
