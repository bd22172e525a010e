//! The rows of a results folder, read into series for plotting.
//!
//! Key decision: the long `timeseries.csv` (`time_s,scope,name,value`) is
//! read into one series per (scope, name) in a `BTreeMap`, so figures ask
//! for `("service:web", "latency_p99_s")` without knowing which world wrote
//! the file, and iteration order (services, then `cluster`) is fixed.
//! `nodes.csv` becomes a node × time grid of allocated fractions. A row
//! that does not parse is an error naming file and line, never a panic.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use orkestra_core::results::files;

use crate::{ReadError, Results};

/// `(time_s, value)` points in file order.
pub type Series = Vec<(f64, f64)>;

/// One `events.csv` row.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Seconds since the start.
    pub time_s: f64,
    /// `scale`, `node-add`, `ready`, …
    pub kind: String,
    /// Replica, service or node.
    pub subject: String,
    /// Free text.
    pub detail: String,
}

/// What an event marks on the time-series figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mark {
    /// A replica count or node count decision: `scale`, `node-add`,
    /// `node-drain`, `node-remove`.
    Scaling,
    /// Something broke: a kind naming a fault, crash, failure, kill,
    /// outage or partition.
    Fault,
}

impl Event {
    /// Whether the figures mark this event, and how.
    pub fn mark(&self) -> Option<Mark> {
        let k = self.kind.as_str();
        if matches!(k, "scale" | "node-add" | "node-drain" | "node-remove") {
            return Some(Mark::Scaling);
        }
        ["fault", "crash", "fail", "kill", "outage", "partition"]
            .iter()
            .any(|w| k.contains(w))
            .then_some(Mark::Fault)
    }
}

/// Allocated fractions per node over time (`nodes.csv`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeGrid {
    /// Sample times, ascending.
    pub times: Vec<f64>,
    /// Node names in order of first appearance.
    pub nodes: Vec<String>,
    /// `cpu[node][time]`; NaN where the node did not exist.
    pub cpu: Vec<Vec<f64>>,
}

/// A results folder with its rows read.
#[derive(Clone, Debug)]
pub struct RunData {
    /// The folder and its summary.
    pub results: Results,
    /// Series by (scope, name).
    pub series: BTreeMap<(String, String), Series>,
    /// Every event, in file order.
    pub events: Vec<Event>,
    /// `nodes.csv`, when the run wrote it.
    pub nodes: Option<NodeGrid>,
}

impl RunData {
    /// Reads the rows of an opened results folder.
    pub fn read(results: Results) -> Result<RunData, ReadError> {
        let mut series: BTreeMap<(String, String), Series> = BTreeMap::new();
        for_rows(&results.file(files::TIMESERIES), 4, |r, at| {
            let t = num(&r[0], at)?;
            let v = num(&r[3], at)?;
            match series.get_mut(&(r[1].clone(), r[2].clone())) {
                Some(s) => s.push((t, v)),
                None => {
                    series.insert((r[1].clone(), r[2].clone()), vec![(t, v)]);
                }
            }
            Ok(())
        })?;
        let mut events = Vec::new();
        for_rows(&results.file(files::EVENTS), 4, |r, at| {
            events.push(Event {
                time_s: num(&r[0], at)?,
                kind: r[1].clone(),
                subject: r[2].clone(),
                detail: r[3].clone(),
            });
            Ok(())
        })?;
        let nodes_path = results.file(files::NODES);
        let nodes = if nodes_path.is_file() {
            Some(read_nodes(&nodes_path)?)
        } else {
            None
        };
        Ok(RunData {
            results,
            series,
            events,
            nodes,
        })
    }

    /// One series, empty when the run did not record it.
    pub fn get(&self, scope: &str, name: &str) -> &[(f64, f64)] {
        self.series
            .get(&(scope.to_string(), name.to_string()))
            .map_or(&[], Vec::as_slice)
    }

    /// The sample interval, seconds (the first gap between two samples, 1 if unknown).
    pub fn interval_s(&self) -> f64 {
        self.get("cluster", "nodes")
            .windows(2)
            .map(|w| w[1].0 - w[0].0)
            .find(|d| *d > 0.0)
            .unwrap_or(1.0)
    }
}

fn read_nodes(path: &Path) -> Result<NodeGrid, ReadError> {
    let mut grid = NodeGrid::default();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut rows: Vec<(usize, usize, f64)> = Vec::new();
    for_rows(path, 5, |r, at| {
        let t = num(&r[0], at)?;
        if grid.times.last() != Some(&t) {
            grid.times.push(t);
        }
        let n = match index.get(&r[1]) {
            Some(&n) => n,
            None => {
                grid.nodes.push(r[1].clone());
                index.insert(r[1].clone(), grid.nodes.len() - 1);
                grid.nodes.len() - 1
            }
        };
        rows.push((n, grid.times.len() - 1, num(&r[2], at)?));
        Ok(())
    })?;
    grid.cpu = vec![vec![f64::NAN; grid.times.len()]; grid.nodes.len()];
    for (n, t, v) in rows {
        grid.cpu[n][t] = v;
    }
    Ok(grid)
}

fn num(s: &str, at: &dyn Fn(String) -> ReadError) -> Result<f64, ReadError> {
    s.parse().map_err(|_| at(format!("'{s}' is not a number")))
}

/// Calls `row` for every record of the CSV at `path` after its header,
/// checking each has `width` fields; errors name the file and line.
fn for_rows(
    path: &Path,
    width: usize,
    mut row: impl FnMut(&[String], &dyn Fn(String) -> ReadError) -> Result<(), ReadError>,
) -> Result<(), ReadError> {
    let bad = |line: u64, message: String| ReadError::BadRow(PathBuf::from(path), line, message);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_path(path)
        .map_err(|e| bad(0, e.to_string()))?;
    let mut fields: Vec<String> = Vec::with_capacity(width);
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            bad(line, e.to_string())
        })?;
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != width {
            return Err(bad(
                line,
                format!("expected {width} fields, found {}", record.len()),
            ));
        }
        fields.clear();
        fields.extend(record.iter().map(str::to_string));
        row(&fields, &|m| bad(line, m))?;
    }
    Ok(())
}
