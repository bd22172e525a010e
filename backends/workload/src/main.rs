//! `orkestra-workload [FLAGS]`: serves a service model until SIGTERM or SIGINT.
//!
//! Bad flags print one line on stderr and exit 2; a bind failure exits 1.

use std::process::ExitCode;

use orkestra_workload::{cli, parse_args, serve};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{}", cli::USAGE);
        return ExitCode::SUCCESS;
    }
    let cfg = match parse_args(&args) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("orkestra-workload: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("orkestra-workload: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let listener = TcpListener::bind(cfg.bind)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", cfg.bind))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        eprintln!("orkestra-workload: listening on {addr}");
        let stop = shutdown_signal().map_err(|e| format!("cannot handle signals: {e}"))?;
        serve(cfg, listener, stop).await.map_err(|e| e.to_string())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("orkestra-workload: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on the first SIGTERM (how containers are stopped) or SIGINT.
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        eprintln!("orkestra-workload: shutting down");
    })
}
