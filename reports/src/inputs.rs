//! Which results folders a report covers, and how they group.
//!
//! Key decision: a report is given folders, each either a results folder or
//! a folder of them (a `sim sweep` or `sim compare` folder); runs group by
//! their `--set` overrides and world (sim or live), so the seeds of one
//! sweep combination form one group without reading `sweep.csv`. A group's
//! label is what its overrides change against the overrides every run shares
//! (`hpa / swarm-spread`). Mixing scenarios is refused unless forced: their
//! figures would share axes without meaning the same thing.

use std::cmp::Ordering;
use std::fs;
use std::path::{Path, PathBuf};

use orkestra_core::results::files;

use crate::{ReadError, ReportError, Results};

/// Runs with the same overrides and world: the seeds of one configuration.
#[derive(Clone, Debug)]
pub struct Group {
    /// Short label (`hpa / swarm-spread`, `spike (live)`).
    pub label: String,
    /// The overrides that set it apart, `path=value`.
    pub differs: Vec<String>,
    /// Ran on Docker engines.
    pub live: bool,
    /// Its runs, in seed order.
    pub runs: Vec<Results>,
}

/// Compares names with digit runs as numbers (`seed2` < `seed10`).
pub fn natural(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, _) => return Ordering::Less,
            (_, None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let (na, nb) = (trim_zeros(&a[..da]), trim_zeros(&b[..db]));
                let o = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
                if o != Ordering::Equal {
                    return o;
                }
                (a, b) = (&a[da..], &b[db..]);
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                (a, b) = (&a[1..], &b[1..]);
            }
        }
    }
}

fn trim_zeros(d: &[u8]) -> &[u8] {
    let z = d.iter().take_while(|c| **c == b'0').count();
    &d[z.min(d.len().saturating_sub(1))..]
}

/// Opens every results folder named, or found one level inside a named folder.
pub fn collect(dirs: &[PathBuf], force: bool) -> Result<Vec<Results>, ReportError> {
    let mut runs: Vec<Results> = Vec::new();
    for dir in dirs {
        if !dir.is_dir() {
            return Err(ReportError::Read(ReadError::Missing(dir.clone())));
        }
        if dir.join(files::SUMMARY).is_file() {
            runs.push(Results::open(dir)?);
            continue;
        }
        let io = |source| ReportError::Io {
            path: dir.clone(),
            source,
        };
        let mut inner: Vec<PathBuf> = Vec::new();
        for entry in fs::read_dir(dir).map_err(io)? {
            let p = entry.map_err(io)?.path();
            if p.join(files::SUMMARY).is_file() {
                inner.push(p);
            }
        }
        if inner.is_empty() {
            // Neither a results folder nor a folder of them: say what is missing.
            return Err(ReportError::Read(
                Results::open(dir).expect_err("no summary.json"),
            ));
        }
        inner.sort_by(|a, b| natural(&name(a), &name(b)));
        for p in inner {
            runs.push(Results::open(&p)?);
        }
    }
    let mut seen: Vec<PathBuf> = Vec::new();
    runs.retain(|r| {
        let key = fs::canonicalize(&r.dir).unwrap_or_else(|_| r.dir.clone());
        let fresh = !seen.contains(&key);
        seen.push(key);
        fresh
    });
    if !force {
        let first = &runs[0];
        if let Some(other) = runs
            .iter()
            .find(|r| r.summary.scenario != first.summary.scenario)
        {
            return Err(ReportError::Mixed {
                a: (first.summary.scenario.clone(), first.dir.clone()),
                b: (other.summary.scenario.clone(), other.dir.clone()),
            });
        }
    }
    Ok(runs)
}

fn name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Groups runs by (overrides, world), in order of first appearance.
pub fn group(runs: Vec<Results>) -> Vec<Group> {
    let shared: Vec<String> = runs
        .first()
        .map(|r| {
            r.summary
                .overrides
                .iter()
                .filter(|o| runs.iter().all(|s| s.summary.overrides.contains(o)))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let scenarios = {
        let mut s: Vec<&str> = runs.iter().map(|r| r.summary.scenario.as_str()).collect();
        s.sort_unstable();
        s.dedup();
        s.len()
    };
    let mut groups: Vec<Group> = Vec::new();
    for r in runs {
        let differs: Vec<String> = r
            .summary
            .overrides
            .iter()
            .filter(|o| !shared.contains(o))
            .cloned()
            .collect();
        let live = r.summary.mode == "live";
        let scenario = r.summary.scenario.clone();
        match groups.iter_mut().find(|g| {
            g.differs == differs && g.live == live && g.runs[0].summary.scenario == scenario
        }) {
            Some(g) => g.runs.push(r),
            None => {
                let mut parts: Vec<String> = differs
                    .iter()
                    .map(|o| o.split_once('=').map_or(o.as_str(), |(_, v)| v).to_string())
                    .collect();
                if parts.is_empty() || scenarios > 1 {
                    parts.insert(0, scenario);
                }
                let mut label = parts.join(" / ");
                if live {
                    label.push_str(" (live)");
                }
                groups.push(Group {
                    label,
                    differs,
                    live,
                    runs: vec![r],
                });
            }
        }
    }
    for g in &mut groups {
        g.runs.sort_by_key(|r| r.summary.seed);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_counts_digits() {
        // Table of (a, b, order).
        let cases = [
            ("seed2", "seed10", Ordering::Less),
            ("hpa_seed10", "hpa_seed9", Ordering::Greater),
            ("a", "b", Ordering::Less),
            ("x007", "x7", Ordering::Equal),
            ("hpa", "hpa_seed1", Ordering::Less),
        ];
        for (a, b, want) in cases {
            assert_eq!(natural(a, b), want, "{a} vs {b}");
        }
    }
}
