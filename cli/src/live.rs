//! Live mode's wiring into the command: `sim run --live` on an async
//! runtime, and the `sim live` housekeeping subcommands.
//!
//! Key decision: tokio and the Docker backend are reached only from here —
//! the simulator library links neither — and each entry point starts its
//! own runtime, so a simulated run never creates one.

use std::fmt::Display;

use orkestra_core::results::{Output, Summary};
use orkestra_core::scenario::Scenario;

use crate::run::{RunError, exit};

/// Runs `scenario` on the Docker engines of `live`, writing rows to `out`.
pub(crate) fn run_live(
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

/// `sim live down`: removes every container and network Orkestra labelled
/// on the hosts (`None`: the local engine); the exit code.
pub fn down(hosts: Option<&str>) -> i32 {
    housekeeping(|rt| {
        rt.block_on(orkestra_backends::live::down(hosts))
            .map(|removed| {
                for (host, c, n) in removed {
                    println!("{host}: removed {c} containers and {n} networks");
                }
            })
    })
}

/// `sim live image`: (re)builds the workload image and copies it to every
/// host (`None`: the local engine); the exit code.
pub fn image(hosts: Option<&str>) -> i32 {
    housekeeping(|rt| {
        rt.block_on(orkestra_backends::live::build_image(hosts))
            .map(|tag| println!("built {tag}"))
    })
}

/// Runs `task` on a fresh runtime and maps its outcome to an exit code,
/// printing the error.
fn housekeeping<E: Display>(task: impl FnOnce(&tokio::runtime::Runtime) -> Result<(), E>) -> i32 {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sim: live: cannot start the async runtime: {e}");
            return exit::LIVE;
        }
    };
    match task(&rt) {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("sim: live: {e}");
            exit::LIVE
        }
    }
}
