//! Reports: results folders in, a self-contained `index.html` and PNG figures out.
//!
//! Key decision: reports know results folders only — `summary.json`,
//! `timeseries.csv`, `events.csv`, `nodes.csv` as defined in
//! `orkestra_core::results` — never simulator internals, so simulated and
//! live runs render alike and overlay on the same axes. Figures are drawn
//! with plotters (`figures`), seeds of one configuration are compared by
//! mean and 95% t interval (`stats`), and the page is plain HTML with the
//! SVG inlined (`html`), deterministic for the same inputs.
#![warn(missing_docs)]

pub mod bench;
mod compare;
pub mod data;
pub mod figures;
pub mod html;
pub mod inputs;
pub mod report;
pub mod stats;

pub use report::{Report, render_report};

use std::fs;
use std::path::{Path, PathBuf};

use orkestra_core::results::{FORMAT, Summary, files};

/// Why a folder cannot be read as results.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A file is missing: not a results folder, or an unfinished one.
    #[error(
        "{0}: not a results folder (no {1}) nor a folder of them; results folders are written by `sim run`, `sim sweep` and `sim compare`"
    )]
    NotResults(PathBuf, &'static str),
    /// `summary.json` does not parse as this version's summary.
    #[error("{0}: {1}")]
    BadSummary(PathBuf, String),
    /// Written by an incompatible version.
    #[error("{0}: results format {1}, this version reads format {FORMAT}")]
    Format(PathBuf, u32),
    /// The folder does not exist.
    #[error("{0}: no such folder")]
    Missing(PathBuf),
    /// A CSV row that does not parse.
    #[error("{0}:{1}: {2}")]
    BadRow(PathBuf, u64, String),
}

/// Why a report cannot be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// No folder was named.
    #[error("name at least one results folder")]
    NoInputs,
    /// An input is not (or does not hold) a readable results folder.
    #[error("{0}")]
    Read(#[from] ReadError),
    /// Runs of different scenarios, without `--force`.
    #[error(
        "{} is scenario '{}' but {} is scenario '{}'; a report compares runs of one scenario (pass --force to mix them)",
        a.1.display(), a.0, b.1.display(), b.0
    )]
    Mixed {
        /// A scenario and a folder of it.
        a: (String, PathBuf),
        /// Another scenario and a folder of it.
        b: (String, PathBuf),
    },
    /// Writing the report failed.
    #[error("{path}: {source}")]
    Io {
        /// What was being written or read.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Plotting failed.
    #[error("drawing a figure: {0}")]
    Draw(String),
}

/// What to report on and where.
#[derive(Clone, Debug, Default)]
pub struct ReportOptions {
    /// Results folders, or folders of them (sweeps, comparisons).
    pub inputs: Vec<PathBuf>,
    /// Folder for `index.html` and the PNG files (created if missing).
    pub out: PathBuf,
    /// Allow runs of different scenarios in one report.
    pub force: bool,
    /// Criterion's output folder, linked from the page when it holds results.
    pub criterion: Option<PathBuf>,
}

/// A results folder, validated.
#[derive(Clone, Debug)]
pub struct Results {
    /// Its path.
    pub dir: PathBuf,
    /// Its `summary.json`.
    pub summary: Summary,
}

impl Results {
    /// Opens and validates the results folder `dir`.
    pub fn open(dir: &Path) -> Result<Results, ReadError> {
        for f in [files::SUMMARY, files::TIMESERIES, files::EVENTS] {
            if !dir.join(f).is_file() {
                return Err(ReadError::NotResults(dir.to_path_buf(), f));
            }
        }
        let path = dir.join(files::SUMMARY);
        let text = fs::read_to_string(&path)
            .map_err(|e| ReadError::BadSummary(path.clone(), e.to_string()))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| ReadError::BadSummary(path.clone(), e.to_string()))?;
        let format = value.get("format").and_then(|f| f.as_u64()).unwrap_or(0) as u32;
        if format != FORMAT {
            return Err(ReadError::Format(path, format));
        }
        let summary: Summary = serde_json::from_value(value)
            .map_err(|e| ReadError::BadSummary(path.clone(), e.to_string()))?;
        Ok(Results {
            dir: dir.to_path_buf(),
            summary,
        })
    }

    /// Path of one of its files.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("orkestra-reports-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_folder_without_results_is_refused_by_name() {
        let d = scratch("empty");
        let err = Results::open(&d).unwrap_err().to_string();
        assert!(
            err.ends_with(
                "not a results folder (no summary.json) nor a folder of them; results folders are written by `sim run`, `sim sweep` and `sim compare`"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_foreign_format_is_refused() {
        let d = scratch("format");
        for f in [files::TIMESERIES, files::EVENTS] {
            fs::write(d.join(f), "").unwrap();
        }
        fs::write(d.join(files::SUMMARY), r#"{"format": 99}"#).unwrap();
        let err = Results::open(&d).unwrap_err().to_string();
        assert!(
            err.contains(&format!(
                "results format 99, this version reads format {FORMAT}"
            )),
            "{err}"
        );
        fs::write(d.join(files::SUMMARY), "{").unwrap();
        assert!(matches!(Results::open(&d), Err(ReadError::BadSummary(..))));
    }
}
