//! The Benchmarks section: Criterion's saved estimates, linked when present.
//!
//! Key decision: the report only reads what `cargo bench` left in
//! Criterion's output folder (`<dir>/<group>/<bench>/new/estimates.json`,
//! the layout Criterion documents for its saved baselines) and links each
//! benchmark's folder (its `report/index.html` when Criterion drew one). No
//! benchmark is run, and a missing folder only leaves the section out.

use std::fs;
use std::path::{Path, PathBuf};

use crate::html::{esc, fmt_seconds, table};

/// Benchmarks found under `dir` (depth ≤ 4), in path order.
fn find(dir: &Path) -> Vec<(String, PathBuf, f64)> {
    fn walk(base: &Path, dir: &Path, depth: usize, out: &mut Vec<(String, PathBuf, f64)>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        let mut subs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        subs.sort();
        for p in subs {
            let est = p.join("new").join("estimates.json");
            if let Some(mean) = fs::read_to_string(&est)
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .and_then(|v| v.pointer("/mean/point_estimate").and_then(|m| m.as_f64()))
            {
                let name = p.strip_prefix(base).unwrap_or(&p).display().to_string();
                out.push((name, p.clone(), mean));
            } else if depth > 0 && p.file_name().is_some_and(|n| n != "report") {
                walk(base, &p, depth - 1, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, 4, &mut out);
    out
}

/// The section's HTML, or `None` when `dir` holds no saved estimate.
pub fn section(dir: &Path) -> Option<String> {
    let found = find(dir);
    if found.is_empty() {
        return None;
    }
    let head: Vec<String> = ["benchmark", "mean time per iteration"]
        .map(String::from)
        .to_vec();
    let rows: Vec<Vec<(String, &'static str)>> = found
        .iter()
        .map(|(name, path, ns)| {
            let report = path.join("report").join("index.html");
            let target = if report.is_file() {
                report
            } else {
                path.clone()
            };
            vec![
                (
                    format!(
                        "<a href=\"{}\">{}</a>",
                        esc(&target.display().to_string()),
                        esc(name)
                    ),
                    "l",
                ),
                (esc(&fmt_seconds(ns / 1e9)), ""),
            ]
        })
        .collect();
    Some(format!(
        "<p>Criterion results found in <code>{}</code> (from the last <code>cargo bench</code>).</p>\n{}",
        esc(&dir.display().to_string()),
        table(&head, &rows)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_estimates_are_listed_and_linked() {
        let d = std::env::temp_dir().join(format!("orkestra-bench-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        let b = d.join("sweep").join("jobs 1").join("new");
        fs::create_dir_all(&b).unwrap();
        // 2.5e6 ns = 2.50 ms per iteration.
        fs::write(
            b.join("estimates.json"),
            r#"{"mean":{"point_estimate":2500000.0}}"#,
        )
        .unwrap();
        let html = section(&d).unwrap();
        assert!(html.contains(">sweep/jobs 1</a>"), "{html}");
        assert!(html.contains("<td>2.5ms</td>"), "{html}");
        assert!(section(&d.join("nothing")).is_none());
        let _ = fs::remove_dir_all(&d);
    }
}
