//! Scenario files on disk: read one, apply `--set` overrides and a seed,
//! and resolve the files it names relative to its folder.
//!
//! Key decision: this is the simulator's only contact with the filesystem
//! on the way in — `orkestra-core` parses text through the `Files` seam,
//! and this module supplies the real folder behind it, so the command line
//! and the benches load scenarios exactly the same way.

use std::fs;
use std::path::{Path, PathBuf};

use orkestra_core::scenario::{self, Files, InputError, Scenario};

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

/// Loads and validates the scenario at `path` with overrides and seed;
/// the scenario and its text after the overrides.
pub fn load(
    path: &Path,
    sets: &[String],
    seed: Option<u64>,
) -> Result<(Scenario, String), InputError> {
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
