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

use super::hpa::{Hpa, MetricSource, ResourceMetric};
use super::{Autoscale, PodPhase, PodSample, ScaleInput};
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
    /// Why.
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
    let spec = autoscaler_from_toml(spec_text, spec_file)?;
    let (hpa_spec, config) = match spec {
        super::spec::AutoscalerSpec::Hpa(s, c) => (s, c),
        _ => {
            return Err(err(
                spec_file,
                1,
                "kind",
                "sim hpa replays kind \"hpa\" only".into(),
            ));
        }
    };
    // Which columns each metric reads: (value column, request column).
    let columns: Vec<(String, Option<String>)> = hpa_spec
        .metrics
        .iter()
        .map(|m| match &m.source {
            MetricSource::Resource(ResourceMetric::Cpu) => {
                ("cpu".to_string(), Some("cpu_request".to_string()))
            }
            MetricSource::Resource(ResourceMetric::Memory) => {
                ("memory".to_string(), Some("memory_request".to_string()))
            }
            MetricSource::Pods(n) | MetricSource::Object(n) | MetricSource::External(n) => {
                (n.clone(), None)
            }
        })
        .collect();
    let per_pod: Vec<bool> = hpa_spec
        .metrics
        .iter()
        .map(|m| matches!(m.source, MetricSource::Resource(_) | MetricSource::Pods(_)))
        .collect();
    let mut hpa = Hpa::with_config(hpa_spec, config);
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(csv_text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| err(csv_file, 1, "header", e.to_string()))?
        .clone();
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
    let (c_time, c_replicas, c_ready) = (need("time")?, need("replicas")?, need("ready")?);
    need("pod")?;
    let mut metric_cols = Vec::new();
    for (value, request) in &columns {
        metric_cols.push((need(value)?, request.as_deref().map(need).transpose()?));
    }
    let (c_phase, c_started, c_ready_since) = (
        index.get("phase").copied(),
        index.get("started").copied(),
        index.get("ready_since").copied(),
    );
    let mut rows = Vec::new();
    let mut pods: Vec<PodSample> = Vec::new();
    let mut values: Vec<Option<i64>> = vec![None; columns.len()];
    let mut current: Option<(f64, u32)> = None;
    let flush = |hpa: &mut Hpa,
                 t: f64,
                 replicas: u32,
                 pods: &mut Vec<PodSample>,
                 values: &mut Vec<Option<i64>>,
                 rows: &mut Vec<ReplayRow>| {
        let input = ScaleInput {
            now: at(t),
            spec_replicas: replicas,
            pods,
            values,
            metric_window: SimDuration::from_secs(30),
        };
        let r = hpa.recommend(&input);
        rows.push(ReplayRow {
            time_s: t,
            replicas,
            pods: pods.len(),
            recommendation: r.replicas,
            reason: r.reason,
        });
        pods.clear();
        values.iter_mut().for_each(|v| *v = None);
    };
    for (k, rec) in reader.records().enumerate() {
        let line = k + 2;
        let rec = rec.map_err(|e| err(csv_file, line, "row", e.to_string()))?;
        let cell = |i: usize| rec.get(i).unwrap_or("");
        let num = |i: usize, what: &str| -> Result<Option<f64>, InputError> {
            let c = cell(i);
            if c.is_empty() {
                return Ok(None);
            }
            c.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(Some)
                .ok_or_else(|| err(csv_file, line, what, format!("'{c}' is not a number")))
        };
        let t = num(c_time, "time")?
            .filter(|t| *t >= 0.0)
            .ok_or_else(|| err(csv_file, line, "time", "needs a time ≥ 0 in seconds".into()))?;
        let replicas = num(c_replicas, "replicas")?
            .filter(|r| *r >= 0.0 && r.fract() == 0.0)
            .ok_or_else(|| {
                err(
                    csv_file,
                    line,
                    "replicas",
                    "needs a whole number ≥ 0".into(),
                )
            })? as u32;
        match current {
            Some((ct, _)) if t < ct => {
                return Err(err(
                    csv_file,
                    line,
                    "time",
                    format!("times must not decrease ({t} after {ct})"),
                ));
            }
            Some((ct, cr)) if t > ct => {
                flush(&mut hpa, ct, cr, &mut pods, &mut values, &mut rows);
            }
            _ => {}
        }
        current = Some((t, replicas));
        let ready = match cell(c_ready) {
            "true" | "True" | "1" => true,
            "false" | "False" | "0" => false,
            other => {
                return Err(err(
                    csv_file,
                    line,
                    "ready",
                    format!("'{other}' is not true or false"),
                ));
            }
        };
        let phase = match c_phase.map(cell).unwrap_or("") {
            "" | "Running" => PodPhase::Running,
            "Pending" => PodPhase::Pending,
            "Failed" => PodPhase::Failed,
            "Deleting" => PodPhase::Deleting,
            other => {
                return Err(err(
                    csv_file,
                    line,
                    "phase",
                    format!(
                        "unknown phase '{other}'; choose from: Running, Pending, Failed, Deleting"
                    ),
                ));
            }
        };
        let started = match c_started {
            Some(i) => num(i, "started")?,
            None => None,
        };
        let ready_since = match c_ready_since {
            Some(i) => num(i, "ready_since")?,
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
        for (m, (vc, rc)) in metric_cols.iter().enumerate() {
            let v = num(*vc, &columns[m].0)?;
            // Pods and Object metrics arrive as plain numbers: store milli-units.
            let milli = |x: f64| (x * 1000.0).round() as i64;
            if per_pod[m] {
                sample.values.push(v.map(milli));
                sample.requests.push(match rc {
                    Some(i) => num(*i, columns[m].1.as_deref().unwrap_or(""))?.map_or(0, milli),
                    None => 0,
                });
            } else {
                sample.values.push(None);
                sample.requests.push(0);
                if values[m].is_none() {
                    values[m] = v.map(milli);
                }
            }
        }
        pods.push(sample);
    }
    if let Some((ct, cr)) = current {
        flush(&mut hpa, ct, cr, &mut pods, &mut values, &mut rows);
    }
    Ok(rows)
}

/// The replay as a table.
pub fn render(rows: &[ReplayRow]) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{:>9}  {:>8}  {:>4}  {:>11}  reason",
        "time_s", "replicas", "pods", "recommended"
    );
    for r in rows {
        let _ = writeln!(
            o,
            "{:>9.1}  {:>8}  {:>4}  {:>11}  {}",
            r.time_s, r.replicas, r.pods, r.recommendation, r.reason
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
        // t=0: 2 pods at 900m of 1000m → 90% → 1.8 → ⌈3.6⌉ = 4 (limit max(2+4, 2·2) = 6).
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
        assert!(render(&rows).contains("recommended"));
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
