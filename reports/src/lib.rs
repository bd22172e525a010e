//! Reading results folders, the input of every report.
//!
//! Key decision: reports know results folders only — `summary.json`,
//! `timeseries.csv`, `events.csv` as defined in `orkestra_core::results` —
//! never simulator internals, so simulated and live runs render alike. This
//! crate starts with the reader and its validation; the plot renderer
//! (plotters: figures, `index.html`, comparisons across runs) builds on it.
#![warn(missing_docs)]

use std::fs;
use std::path::{Path, PathBuf};

use orkestra_core::results::{FORMAT, Summary, files};

/// Why a folder cannot be read as results.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A file is missing: not a results folder, or an unfinished one.
    #[error("{0}: not a results folder (no {1}); results folders are written by `sim run`")]
    NotResults(PathBuf, &'static str),
    /// `summary.json` does not parse as this version's summary.
    #[error("{0}: {1}")]
    BadSummary(PathBuf, String),
    /// Written by an incompatible version.
    #[error("{0}: results format {1}, this version reads format {FORMAT}")]
    Format(PathBuf, u32),
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
                "not a results folder (no summary.json); results folders are written by `sim run`"
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
