//! `sim hpa`: replay an HPA spec against recorded metrics, sync by sync.
//!
//! Key decision: the replay feeds the recorded observations to the same
//! [`Hpa`] the simulator and live mode run, in time order, keeping its
//! history (stabilisation window, scale events) between syncs. The recorded
//! `replicas` column is what the cluster had at each sync, so the
//! recommendations show what this spec would have asked for at each moment
//! — the dry run before changing a production HPA.
//!
//! The CSV has one row per pod per sync: `time` (seconds), `replicas`
//! (`spec.replicas` at that sync), `pod`, `ready` (`true`/`false`),
//! optional `phase` (`Running` default, `Pending`, `Failed`, `Deleting`),
//! `started` and `ready_since` (seconds; default: long before), and one
//! column per metric of the spec: `cpu` and `cpu_request` (millicores),
//! `memory` and `memory_request` (bytes), a Pods metric's name (its value
//! per pod), an Object/External metric's name (the value, read from the
//! sync's first row). An empty cell is a missing metric.

use std::collections::HashMap;

use super::hpa::{
    ConditionReason, Hpa, HpaConfig, HpaSpec, MetricSource, ResourceMetric, status_line,
};
use super::{PodPhase, PodSample, ScaleInput};
use crate::scenario::InputError;
use crate::scenario::autoscaler_from_toml;
use crate::time::{SimDuration, SimTime};

/// One sync's outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplayRow {
    /// Sync time, seconds.
    pub time_s: f64,
    /// Replicas the cluster had.
    pub replicas: u32,
    /// Pods in the data at that sync.
    pub pods: usize,
    /// The recommendation.
    pub recommendation: u32,
    /// The current utilization (percent of requests) of the first
    /// Utilization metric that could be computed.
    pub utilization: Option<i32>,
    /// The ScalingLimited reason when the condition is True (a limit
    /// changed the count), e.g. `ScaleUpLimit`, `TooFewReplicas`.
    pub limited: Option<ConditionReason>,
    /// The AbleToScale reason after the sync (`SucceededRescale`,
    /// `ScaleDownStabilized`, …).
    pub able_to_scale: Option<ConditionReason>,
    /// Why, with each metric's measurement and the conditions.
    pub reason: String,
}

/// Data times are shifted by this much, so that pods without `started` or
/// `ready_since` count as started and ready an hour before the first sync
/// (past the HPA's CPU initialisation period).
const OFFSET_S: f64 = 3600.0;

fn at(t: f64) -> SimTime {
    SimTime::from_secs_f64((t + OFFSET_S).max(0.0))
}

fn err(file: &str, line: usize, path: &str, message: String) -> InputError {
    InputError {
        file: file.to_string(),
        line,
        column: 1,
        path: path.to_string(),
        message,
    }
}

/// Replays `spec_text` (an autoscaler table with `kind = "hpa"`) against `csv_text`.
pub fn replay(
    spec_text: &str,
    spec_file: &str,
    csv_text: &str,
    csv_file: &str,
) -> Result<Vec<ReplayRow>, InputError> {
    let (hpa_spec, config) = hpa_of(spec_text, spec_file)?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(csv_text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| err(csv_file, 1, "header", e.to_string()))?
        .clone();
    let columns = Columns::find(&headers, &hpa_spec, csv_file)?;
    let mut hpa = Hpa::with_config(hpa_spec, config);
    let mut sync = Gathered::new(columns.metrics.len());
    let mut rows = Vec::new();
    let mut current: Option<(f64, u32)> = None;
    for (k, rec) in reader.records().enumerate() {
        let line = k + 2;
        let rec = rec.map_err(|e| err(csv_file, line, "row", e.to_string()))?;
        let row = Row {
            rec: &rec,
            line,
            file: csv_file,
        };
        let (t, replicas) = row.time_and_replicas(&columns)?;
        match current {
            Some((ct, _)) if t < ct => {
                return Err(err(
                    csv_file,
                    line,
                    "time",
                    format!("times must not decrease ({t} after {ct})"),
                ));
            }
            Some((ct, cr)) if t > ct => rows.push(sync.flush(&mut hpa, ct, cr)),
            _ => {}
        }
        current = Some((t, replicas));
        row.add_pod(&columns, t, &mut sync)?;
    }
    if let Some((ct, cr)) = current {
        rows.push(sync.flush(&mut hpa, ct, cr));
    }
    Ok(rows)
}

/// The HPA spec and controller flags of an autoscaler table, which must be
/// `kind = "hpa"`.
fn hpa_of(spec_text: &str, spec_file: &str) -> Result<(HpaSpec, HpaConfig), InputError> {
    match autoscaler_from_toml(spec_text, spec_file)? {
        super::spec::AutoscalerSpec::Hpa(s, c) => Ok((s, c)),
        _ => Err(err(
            spec_file,
            1,
            "kind",
            "sim hpa replays kind \"hpa\" only".into(),
        )),
    }
}

/// Where one metric of the spec is read.
struct MetricColumns {
    /// The value column's name and index.
    name: String,
    value: usize,
    /// The request column's name and index (Resource metrics).
    request: Option<(String, usize)>,
    /// A per-pod metric (Resource, Pods) rather than one value per sync.
    per_pod: bool,
}

/// The CSV's column indices.
struct Columns {
    time: usize,
    replicas: usize,
    ready: usize,
    phase: Option<usize>,
    started: Option<usize>,
    ready_since: Option<usize>,
    metrics: Vec<MetricColumns>,
}

impl Columns {
    /// Finds the columns `spec` reads; a missing one is an error on line 1.
    fn find(
        headers: &csv::StringRecord,
        spec: &HpaSpec,
        csv_file: &str,
    ) -> Result<Columns, InputError> {
        let index: HashMap<&str, usize> = headers.iter().enumerate().map(|(i, h)| (h, i)).collect();
        let need = |name: &str| {
            index.get(name).copied().ok_or_else(|| {
                err(
                    csv_file,
                    1,
                    name,
                    format!(
                        "missing column '{name}' (have: {})",
                        headers.iter().collect::<Vec<_>>().join(", ")
                    ),
                )
            })
        };
        let (time, replicas, ready) = (need("time")?, need("replicas")?, need("ready")?);
        need("pod")?;
        let mut metrics = Vec::new();
        for m in &spec.metrics {
            // Which columns each metric reads: value column, request column.
            let (name, request) = match &m.source {
                MetricSource::Resource(ResourceMetric::Cpu) => ("cpu", Some("cpu_request")),
                MetricSource::Resource(ResourceMetric::Memory) => {
                    ("memory", Some("memory_request"))
                }
                MetricSource::Pods(n) | MetricSource::Object(n) | MetricSource::External(n) => {
                    (n.as_str(), None)
                }
            };
            metrics.push(MetricColumns {
                name: name.to_string(),
                value: need(name)?,
                request: match request {
                    Some(r) => Some((r.to_string(), need(r)?)),
                    None => None,
                },
                per_pod: matches!(m.source, MetricSource::Resource(_) | MetricSource::Pods(_)),
            });
        }
        Ok(Columns {
            time,
            replicas,
            ready,
            phase: index.get("phase").copied(),
            started: index.get("started").copied(),
            ready_since: index.get("ready_since").copied(),
            metrics,
        })
    }
}

/// The pods and per-sync values gathered for the sync being read.
struct Gathered {
    pods: Vec<PodSample>,
    values: Vec<Option<i64>>,
}

impl Gathered {
    fn new(metrics: usize) -> Gathered {
        Gathered {
            pods: Vec::new(),
            values: vec![None; metrics],
        }
    }

    /// Runs the HPA's sync at `t` with `replicas` over what was gathered,
    /// and starts the next sync empty.
    fn flush(&mut self, hpa: &mut Hpa, t: f64, replicas: u32) -> ReplayRow {
        let input = ScaleInput {
            now: at(t),
            spec_replicas: replicas,
            pods: &self.pods,
            values: &self.values,
            metric_window: SimDuration::from_secs(30),
        };
        let status = hpa.sync(&input);
        let c = status.conditions;
        let row = ReplayRow {
            time_s: t,
            replicas,
            pods: self.pods.len(),
            recommendation: status.desired_replicas,
            utilization: status.metrics.iter().flatten().find_map(|m| m.utilization),
            limited: c.scaling_limited.filter(|l| l.status).map(|l| l.reason),
            able_to_scale: c.able_to_scale.map(|a| a.reason),
            reason: status_line(&status),
        };
        self.pods.clear();
        self.values.iter_mut().for_each(|v| *v = None);
        row
    }
}

/// One CSV record and where it is, for its cells and their errors.
struct Row<'r> {
    rec: &'r csv::StringRecord,
    line: usize,
    file: &'r str,
}

impl Row<'_> {
    fn cell(&self, i: usize) -> &str {
        self.rec.get(i).unwrap_or("")
    }

    /// Column `i` as a finite number; `None` when empty.
    fn num(&self, i: usize, what: &str) -> Result<Option<f64>, InputError> {
        let c = self.cell(i);
        if c.is_empty() {
            return Ok(None);
        }
        c.parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Some)
            .ok_or_else(|| err(self.file, self.line, what, format!("'{c}' is not a number")))
    }

    /// The row's sync: its time and the replicas the cluster had.
    fn time_and_replicas(&self, cols: &Columns) -> Result<(f64, u32), InputError> {
        let t = self
            .num(cols.time, "time")?
            .filter(|t| *t >= 0.0)
            .ok_or_else(|| {
                err(
                    self.file,
                    self.line,
                    "time",
                    "needs a time ≥ 0 in seconds".into(),
                )
            })?;
        let replicas = self
            .num(cols.replicas, "replicas")?
            .filter(|r| *r >= 0.0 && r.fract() == 0.0)
            .ok_or_else(|| {
                err(
                    self.file,
                    self.line,
                    "replicas",
                    "needs a whole number ≥ 0".into(),
                )
            })? as u32;
        Ok((t, replicas))
    }

    /// Adds the row's pod (sampled at `t`) to `sync`, and its per-sync
    /// values where the sync has none yet.
    fn add_pod(&self, cols: &Columns, t: f64, sync: &mut Gathered) -> Result<(), InputError> {
        let ready = match self.cell(cols.ready) {
            "true" | "True" | "1" => true,
            "false" | "False" | "0" => false,
            other => {
                return Err(err(
                    self.file,
                    self.line,
                    "ready",
                    format!("'{other}' is not true or false"),
                ));
            }
        };
        let phase = match cols.phase.map(|i| self.cell(i)).unwrap_or("") {
            "" | "Running" => PodPhase::Running,
            "Pending" => PodPhase::Pending,
            "Failed" => PodPhase::Failed,
            "Deleting" => PodPhase::Deleting,
            other => {
                return Err(err(
                    self.file,
                    self.line,
                    "phase",
                    format!(
                        "unknown phase '{other}'; choose from: Running, Pending, Failed, Deleting"
                    ),
                ));
            }
        };
        let started = match cols.started {
            Some(i) => self.num(i, "started")?,
            None => None,
        };
        let ready_since = match cols.ready_since {
            Some(i) => self.num(i, "ready_since")?,
            None => None,
        };
        let mut sample = PodSample {
            phase,
            start_time: Some(started.map_or(SimTime::ZERO, at)),
            ready: Some((ready, ready_since.map_or(SimTime::ZERO, at))),
            values: Vec::new(),
            metric_time: at(t),
            requests: Vec::new(),
        };
        for (m, mc) in cols.metrics.iter().enumerate() {
            let v = self.num(mc.value, &mc.name)?;
            // Pods and Object metrics arrive as plain numbers: store milli-units.
            let milli = |x: f64| (x * 1000.0).round() as i64;
            if mc.per_pod {
                sample.values.push(v.map(milli));
                sample.requests.push(match &mc.request {
                    Some((name, i)) => self.num(*i, name)?.map_or(0, milli),
                    None => 0,
                });
            } else {
                sample.values.push(None);
                sample.requests.push(0);
                if sync.values[m].is_none() {
                    sync.values[m] = v.map(milli);
                }
            }
        }
        sync.pods.push(sample);
        Ok(())
    }
}

/// The replay as a table.
pub fn render(rows: &[ReplayRow]) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{:>9}  {:>8}  {:>4}  {:>11}  {:>5}  {:<19}  {:<16}  reason",
        "time_s", "replicas", "pods", "recommended", "util%", "able_to_scale", "limited"
    );
    let name = |c: Option<ConditionReason>| c.map_or("-", ConditionReason::as_str);
    for r in rows {
        let util = r.utilization.map_or("-".to_string(), |u| u.to_string());
        let _ = writeln!(
            o,
            "{:>9.1}  {:>8}  {:>4}  {:>11}  {:>5}  {:<19}  {:<16}  {}",
            r.time_s,
            r.replicas,
            r.pods,
            r.recommendation,
            util,
            name(r.able_to_scale),
            name(r.limited),
            r.reason
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"
kind = "hpa"
minReplicas = 1
maxReplicas = 10
metrics = [{ type = "Resource", resource = { name = "cpu", target = { type = "Utilization", averageUtilization = 50 } } }]
"#;

    #[test]
    fn replays_syncs_in_order_with_history() {
        // t=0: 2 pods at 900m of 1000m → 90% → 1.8 → ⌈3.6⌉ = 4 (no behavior: limit max(2·2, 4) = 4).
        // t=15: 4 pods at 100m → 10% → 0.2 → ⌈0.8⌉ = 1, but the 300 s window holds the 4 → 4.
        let csv = "time,replicas,pod,ready,cpu,cpu_request\n\
                   0,2,a,true,900,1000\n0,2,b,true,900,1000\n\
                   15,4,a,true,100,1000\n15,4,b,true,100,1000\n15,4,c,true,100,1000\n15,4,d,true,100,1000\n";
        let rows = replay(SPEC, "hpa.toml", csv, "m.csv").unwrap();
        let got: Vec<(u32, u32)> = rows
            .iter()
            .map(|r| (r.replicas, r.recommendation))
            .collect();
        assert_eq!(got, vec![(2, 4), (4, 4)]);
        // Utilization 1800·100/2000 = 90%, then 400·100/4000 = 10%; the second sync is held
        // by the window (no behavior: the no-behavior path's 5 min downscale stabilisation).
        let util: Vec<Option<i32>> = rows.iter().map(|r| r.utilization).collect();
        assert_eq!(util, vec![Some(90), Some(10)]);
        assert_eq!(
            rows[0].able_to_scale,
            Some(ConditionReason::SucceededRescale)
        );
        assert_eq!(rows[0].limited, None);
        assert_eq!(
            rows[1].able_to_scale,
            Some(ConditionReason::ScaleDownStabilized)
        );
        let text = render(&rows);
        assert!(text.contains("recommended"), "{text}");
        assert!(text.contains("ScaleDownStabilized"), "{text}");
    }

    #[test]
    fn bad_rows_name_the_line_and_column() {
        let e = replay(
            SPEC,
            "hpa.toml",
            "time,replicas,pod,ready\n0,1,a,true\n",
            "m.csv",
        )
        .unwrap_err();
        assert_eq!((e.line, e.path.as_str()), (1, "cpu"));
        let e = replay(
            SPEC,
            "hpa.toml",
            "time,replicas,pod,ready,cpu,cpu_request\n5,1,a,true,1,1\n0,1,a,maybe,1,1\n",
            "m.csv",
        )
        .unwrap_err();
        assert_eq!((e.line, e.path.as_str()), (3, "time"));
        let e = replay(
            SPEC,
            "hpa.toml",
            "time,replicas,pod,ready,cpu,cpu_request\n0,1,a,maybe,1,1\n",
            "m.csv",
        )
        .unwrap_err();
        assert_eq!((e.line, e.path.as_str()), (2, "ready"));
        let e = replay(
            &crate::testing::edit(SPEC, "maxReplicas = 10", "maxReplicas = 0"),
            "hpa.toml",
            "",
            "m.csv",
        )
        .unwrap_err();
        assert_eq!(e.path, "autoscaler.maxReplicas");
    }
}
