//! `sim report` (and `--report` after a run or sweep): the command's defaults
//! and messages around `orkestra_reports::render_report`.
//!
//! Key decision: the report crate knows nothing of the command line; the
//! default folders, the link to Criterion's output and the exit codes are
//! decided here.

use std::path::PathBuf;

use orkestra_reports::{ReportError, ReportOptions};

use crate::run::exit;

/// Renders the report of the results folders `dirs` into `out` (default
/// `RESULTS_DIR/report` for one folder, else `./report`), linking
/// `criterion` (default `target/criterion` when it exists); prints a line
/// unless `quiet`, or the error; the exit code.
pub fn report(
    dirs: Vec<PathBuf>,
    out: Option<PathBuf>,
    force: bool,
    criterion: Option<PathBuf>,
    quiet: bool,
) -> i32 {
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
