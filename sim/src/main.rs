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
        } => {
            let opts = RunOptions {
                scenario,
                out,
                seed,
                sets,
                force,
                progress: !quiet,
            };
            match run::run(&opts) {
                Ok(report) => {
                    if !quiet {
                        print!("{}", run::render_summary(&report));
                    }
                    exit::OK
                }
                Err(e) => {
                    eprintln!("sim: {e}");
                    e.exit_code()
                }
            }
        }
        Command::Check { scenario, sets } => match run::load(&scenario, &sets, None) {
            Ok((s, _)) => {
                let replicas: u32 = s.desired.services.iter().map(|s| s.replicas).sum();
                let zones: std::collections::BTreeSet<_> =
                    s.nodes.iter().map(|n| &n.zone).collect();
                println!(
                    "ok: {} — {} nodes in {} zones, {} services, {} replicas, {} simulated, seed {}",
                    s.name,
                    s.nodes.len(),
                    zones.len(),
                    s.desired.services.len(),
                    replicas,
                    s.duration,
                    s.seed
                );
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
