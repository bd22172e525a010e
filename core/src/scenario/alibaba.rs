//! Reader of Alibaba's cluster-trace-gpu-v2023 ("openb") pod and node lists.
//!
//! Key decision: the trace is read into plain pods and nodes with every
//! value checked row by row, so a bad row is reported at its CSV line and
//! column; what the scenario does with them (window, time scale, shapes)
//! is decided by the caller's options, and every row that is not used is
//! counted by reason in a [`TraceReport`] instead of vanishing.
//!
//! Pods (`name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,
//! pod_phase,creation_time,deletion_time,scheduled_time`):
//! - requests: `cpu_milli` millicores, `memory_mib` × 2^20 bytes, and GPUs
//!   `num_gpu` × `gpu_milli` thousandths, where a `gpu_milli` of 0 means
//!   whole GPUs. In the trace a GPU-sharing pod has `num_gpu` = 1 and
//!   `gpu_milli` < 1000 (its share of one GPU), and a multi-GPU pod has
//!   `gpu_milli` = 1000 per GPU, so an 8-GPU pod requests 8000.
//! - lifetime: arrival at `creation_time`, duration `deletion_time` −
//!   `creation_time`. Rows without a deletion time, or whose deletion is
//!   not after their creation, are skipped and counted.
//! - phases: every phase is taken unless `phases` says otherwise. A
//!   `Failed` pod ran (it has a `scheduled_time`) until it failed, so its
//!   lifetime is real occupancy. A `Pending` pod was never scheduled in
//!   the real cluster; its lifetime is how long it asked for resources
//!   before it was withdrawn, replayed as if it ran that long once placed —
//!   it is demand the scheduler saw, which is what placement experiments
//!   compare. `Running` pods end at the trace's end (their deletion time).
//!   Used rows are counted per phase.
//! - `gpu_spec` (allowed GPU models, `|`-separated) becomes a required
//!   node affinity on the `gpu-model` label; `qos` and `scheduled_time`
//!   are not used.
//!
//! Nodes (`sn,cpu_milli,memory_mib,gpu,model`): name `sn`, capacity
//! `cpu_milli`, `memory_mib` × 2^20, `gpu` × 1000, and label `gpu-model` =
//! `model` when it is not empty.

use super::InputError;
use super::traces::{csv_error, field_offset, open_csv};
use crate::model::Resources;
use crate::results::TraceReport;
use crate::time::{SimDuration, SimTime};

/// The node label carrying a node's GPU model.
pub const LABEL_GPU_MODEL: &str = "gpu-model";

/// Which pods to take and how to map trace time to simulated time.
#[derive(Clone, Debug)]
pub(crate) struct PodOptions {
    /// Trace second at which the run starts.
    pub start_s: f64,
    /// Pods created at or after this trace second are not taken.
    pub end_s: Option<f64>,
    /// Simulated seconds per trace second, for arrivals.
    pub time_scale: f64,
    /// Simulated seconds per trace second, for durations.
    pub duration_scale: f64,
    /// At most this many pods, the earliest by arrival.
    pub limit: Option<u64>,
    /// Only these phases (`None`: all).
    pub phases: Option<Vec<String>>,
}

/// One pod of the trace, mapped to the run.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Pod {
    pub name: String,
    pub at: SimTime,
    pub duration: SimDuration,
    pub requests: Resources,
    /// Allowed GPU models (empty: any).
    pub gpu_models: Vec<String>,
}

/// One node of the trace.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TraceNode {
    pub name: String,
    pub capacity: Resources,
    pub model: String,
}

/// A row being read: located errors for its fields.
struct Row<'a> {
    file: &'a str,
    bytes: &'a [u8],
    what: &'a str,
    record: &'a csv::StringRecord,
    pos: Option<csv::Position>,
}

impl Row<'_> {
    fn err(&self, col: usize, name: &str, msg: String) -> InputError {
        let row = self.pos.as_ref().map_or(0, |p| p.line());
        csv_error(
            self.file,
            self.bytes,
            self.pos.as_ref(),
            field_offset(self.record, col),
            self.what,
            format!("row {row}, column '{name}': {msg}"),
        )
    }

    fn text(&self, col: usize) -> &str {
        self.record.get(col).unwrap_or("")
    }

    fn int(&self, col: usize, name: &str) -> Result<u64, InputError> {
        let v = self.text(col);
        v.parse::<u64>()
            .map_err(|_| self.err(col, name, format!("'{v}' is not a non-negative integer")))
    }

    /// Seconds: empty is `None`.
    fn secs(&self, col: usize, name: &str) -> Result<Option<f64>, InputError> {
        let v = self.text(col);
        if v.is_empty() {
            return Ok(None);
        }
        v.parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x >= 0.0)
            .map(Some)
            .ok_or_else(|| {
                self.err(
                    col,
                    name,
                    format!("'{v}' is not a non-negative number of seconds"),
                )
            })
    }
}

/// Reads every record of `bytes` with the `columns` found by name, calling `each`.
fn read_rows(
    bytes: &[u8],
    file: &str,
    columns: &[&str],
    what: &str,
    mut each: impl FnMut(&Row<'_>, &[usize]) -> Result<(), InputError>,
) -> Result<u64, InputError> {
    let (mut reader, idx) = open_csv(bytes, file, columns, what)?;
    let mut record = csv::StringRecord::new();
    let mut rows = 0;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(csv_error(
                    file,
                    bytes,
                    e.position(),
                    None,
                    what,
                    format!("malformed row: {e}"),
                ));
            }
        }
        rows += 1;
        let row = Row {
            file,
            bytes,
            what,
            record: &record,
            pos: record.position().cloned(),
        };
        each(&row, &idx)?;
    }
    Ok(rows)
}

/// Reads an `openb_pod_list_*.csv` file: the pods to replay, in arrival
/// order (ties in file order), and what was skipped.
pub(crate) fn read_pods(
    bytes: &[u8],
    file: &str,
    o: &PodOptions,
    what: &str,
) -> Result<(Vec<Pod>, TraceReport), InputError> {
    const COLUMNS: [&str; 8] = [
        "name",
        "cpu_milli",
        "memory_mib",
        "num_gpu",
        "gpu_milli",
        "gpu_spec",
        "pod_phase",
        "creation_time",
    ];
    let mut columns = COLUMNS.to_vec();
    columns.push("deletion_time");
    let mut report = TraceReport::default();
    // (pod, phase, alive at start)
    let mut pods: Vec<(Pod, String, bool)> = Vec::new();
    report.rows = read_rows(bytes, file, &columns, what, |row, idx| {
        let cpu = row.int(idx[1], "cpu_milli")?;
        let memory = row
            .int(idx[2], "memory_mib")?
            .checked_mul(1 << 20)
            .ok_or_else(|| row.err(idx[2], "memory_mib", "too large".into()))?;
        let num_gpu = row.int(idx[3], "num_gpu")?;
        let gpu_milli = row.int(idx[4], "gpu_milli")?;
        if gpu_milli > 1000 {
            return Err(row.err(
                idx[4],
                "gpu_milli",
                format!("{gpu_milli} is more than one GPU (1000)"),
            ));
        }
        if num_gpu == 0 && gpu_milli > 0 {
            return Err(row.err(
                idx[4],
                "gpu_milli",
                format!("{gpu_milli} thousandths of a GPU with num_gpu 0"),
            ));
        }
        let per_gpu = if gpu_milli == 0 { 1000 } else { gpu_milli };
        let gpu = num_gpu
            .checked_mul(per_gpu)
            .ok_or_else(|| row.err(idx[3], "num_gpu", "too large".into()))?;
        let created = row
            .secs(idx[7], "creation_time")?
            .ok_or_else(|| row.err(idx[7], "creation_time", "missing".into()))?;
        let Some(deleted) = row.secs(idx[8], "deletion_time")? else {
            report.skipped_no_deletion += 1;
            return Ok(());
        };
        if deleted <= created {
            report.skipped_non_positive_duration += 1;
            return Ok(());
        }
        let phase = row.text(idx[6]);
        if let Some(phases) = &o.phases
            && !phases.iter().any(|p| p == phase)
        {
            report.skipped_phase += 1;
            return Ok(());
        }
        if deleted <= o.start_s || o.end_s.is_some_and(|end| created >= end) {
            report.skipped_outside_window += 1;
            return Ok(());
        }
        let alive = created < o.start_s;
        let (at, duration) = if alive {
            (0.0, (deleted - o.start_s) * o.duration_scale)
        } else {
            (
                (created - o.start_s) * o.time_scale,
                (deleted - created) * o.duration_scale,
            )
        };
        let spec = row.text(idx[5]);
        let pod = Pod {
            name: row.text(idx[0]).to_string(),
            at: SimTime::from_secs_f64(at),
            duration: SimDuration::from_secs_f64(duration),
            requests: Resources::new(cpu, memory).with_gpu(gpu),
            gpu_models: spec
                .split('|')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        };
        pods.push((pod, phase.to_string(), alive));
        Ok(())
    })?;
    // Stable: pods arriving at the same instant keep their file order.
    pods.sort_by_key(|p| p.0.at);
    if let Some(limit) = o.limit
        && pods.len() as u64 > limit
    {
        report.skipped_over_limit = pods.len() as u64 - limit;
        pods.truncate(limit as usize);
    }
    report.used = pods.len() as u64;
    for (_, phase, alive) in &pods {
        *report.phases.entry(phase.clone()).or_default() += 1;
        report.alive_at_start += u64::from(*alive);
    }
    Ok((pods.into_iter().map(|p| p.0).collect(), report))
}

/// Reads an `openb_node_list_*.csv` file.
pub(crate) fn read_nodes(
    bytes: &[u8],
    file: &str,
    what: &str,
) -> Result<Vec<TraceNode>, InputError> {
    let mut nodes = Vec::new();
    read_rows(
        bytes,
        file,
        &["sn", "cpu_milli", "memory_mib", "gpu", "model"],
        what,
        |row, idx| {
            let name = row.text(idx[0]);
            if name.is_empty() {
                return Err(row.err(idx[0], "sn", "empty node name".into()));
            }
            let cpu = row.int(idx[1], "cpu_milli")?;
            let memory = row
                .int(idx[2], "memory_mib")?
                .checked_mul(1 << 20)
                .ok_or_else(|| row.err(idx[2], "memory_mib", "too large".into()))?;
            let gpu = row
                .int(idx[3], "gpu")?
                .checked_mul(1000)
                .ok_or_else(|| row.err(idx[3], "gpu", "too large".into()))?;
            nodes.push(TraceNode {
                name: name.to_string(),
                capacity: Resources::new(cpu, memory).with_gpu(gpu),
                model: row.text(idx[4]).to_string(),
            });
            Ok(())
        },
    )?;
    if nodes.is_empty() {
        return Err(InputError {
            file: file.to_string(),
            line: 1,
            column: 1,
            path: what.to_string(),
            message: "the node list has no rows".into(),
        });
    }
    Ok(nodes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n";

    fn opts() -> PodOptions {
        PodOptions {
            start_s: 0.0,
            end_s: None,
            time_scale: 1.0,
            duration_scale: 1.0,
            limit: None,
            phases: None,
        }
    }

    #[test]
    fn pods_map_requests_gpus_and_lifetimes() {
        let csv = format!(
            "{HEADER}\
             p0,12000,16384,1,1000,,LS,Running,0,100,0\n\
             p1,6000,12288,1,460,,LS,Running,50,80,50\n\
             p2,4000,1024,8,1000,V100M16|V100M32,BE,Failed,20,30,20\n\
             p3,1000,0,0,0,,BE,Pending,10,,\n\
             p4,1000,512,0,0,,BE,Pending,40,40,\n"
        );
        let (pods, report) = read_pods(csv.as_bytes(), "p.csv", &opts(), "jobs.x.trace").unwrap();
        // Arrival order: p0 (0 s), p2 (20 s), p1 (50 s); p3 has no deletion, p4 lives 0 s.
        let names: Vec<&str> = pods.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["p0", "p2", "p1"]);
        // p0: one whole GPU; 16384 MiB = 16 GiB; lives 100 s.
        assert_eq!(
            pods[0].requests,
            Resources::new(12000, 16 << 30).with_gpu(1000)
        );
        assert_eq!(pods[0].duration, SimDuration::from_secs(100));
        // p2: 8 GPUs × 1000; models from gpu_spec.
        assert_eq!(pods[1].requests.gpu_milli, 8000);
        assert_eq!(pods[1].gpu_models, ["V100M16", "V100M32"]);
        // p1: a 460/1000 share of one GPU, 30 s.
        assert_eq!(pods[2].requests.gpu_milli, 460);
        assert_eq!(pods[2].duration, SimDuration::from_secs(30));
        assert_eq!(
            (
                report.rows,
                report.used,
                report.skipped_no_deletion,
                report.skipped_non_positive_duration
            ),
            (5, 3, 1, 1)
        );
        assert_eq!(report.phases.get("Running"), Some(&2));
        assert_eq!(report.phases.get("Failed"), Some(&1));
    }

    #[test]
    fn window_scales_phases_and_limit() {
        let csv = format!(
            "{HEADER}\
             a,1000,1,0,0,,LS,Running,0,1000,0\n\
             b,1000,1,0,0,,LS,Running,50,60,50\n\
             c,1000,1,0,0,,LS,Failed,200,400,200\n\
             d,1000,1,0,0,,LS,Pending,300,310,\n\
             e,1000,1,0,0,,LS,Running,600,700,600\n"
        );
        let o = PodOptions {
            start_s: 100.0,
            end_s: Some(500.0),
            time_scale: 0.1,
            duration_scale: 0.5,
            limit: None,
            phases: Some(vec!["Running".into(), "Failed".into()]),
        };
        let (pods, report) = read_pods(csv.as_bytes(), "p.csv", &o, "x").unwrap();
        // a: alive at 100 s: arrives at 0 with (1000 − 100) × 0.5 = 450 s left.
        // b: gone at 60 s < 100: outside. c: (200 − 100) × 0.1 = 10 s, lives 200 × 0.5 = 100 s.
        // d: Pending: not in phases. e: created at 600 ≥ 500: outside.
        let got: Vec<(&str, f64, f64)> = pods
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.at.as_secs_f64(),
                    p.duration.as_secs_f64(),
                )
            })
            .collect();
        assert_eq!(got, [("a", 0.0, 450.0), ("c", 10.0, 100.0)]);
        assert_eq!(
            (
                report.alive_at_start,
                report.skipped_outside_window,
                report.skipped_phase
            ),
            (1, 2, 1)
        );
        let limited = PodOptions {
            limit: Some(1),
            ..o
        };
        let (pods, report) = read_pods(csv.as_bytes(), "p.csv", &limited, "x").unwrap();
        // The earliest arrival is kept: a (alive at the start, arriving at 0).
        assert_eq!(pods[0].name, "a");
        assert_eq!(
            (
                report.used,
                report.skipped_over_limit,
                report.alive_at_start
            ),
            (1, 1, 1)
        );
        // Two pods alive at the start, limit 1: only the kept one counts as alive.
        let two =
            format!("{HEADER}a,1,1,0,0,,LS,Running,0,1000,0\nb,1,1,0,0,,LS,Running,10,1000,10\n");
        let (_, report) = read_pods(two.as_bytes(), "p.csv", &limited, "x").unwrap();
        assert_eq!((report.used, report.alive_at_start), (1, 1));
    }

    #[test]
    fn bad_rows_name_file_line_column_and_field() {
        let csv = format!(
            "{HEADER}p0,12000,16384,1,1000,,LS,Running,0,100,0\np1,6O00,1,0,0,,LS,Running,0,1,0\n"
        );
        let e = read_pods(csv.as_bytes(), "p.csv", &opts(), "jobs.x.trace.file").unwrap_err();
        assert_eq!(
            e.to_string(),
            "p.csv:3:4: jobs.x.trace.file: row 3, column 'cpu_milli': '6O00' is not a non-negative integer"
        );
        // "p1,600,1,1," is 11 characters: gpu_milli starts in column 12.
        let csv = format!("{HEADER}p1,600,1,1,1200,,LS,Running,0,1,0\n");
        let e = read_pods(csv.as_bytes(), "p.csv", &opts(), "x").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("p.csv:2:12: x: row 2, column 'gpu_milli': 1200 is more than one GPU"),
            "{e}"
        );
        let e = read_nodes(b"sn,cpu_milli,memory_mib,gpu\n", "n.csv", "pools.a.nodes").unwrap_err();
        assert!(e.to_string().contains("no column 'model'"), "{e}");
        let e = read_nodes(
            b"sn,cpu_milli,memory_mib,gpu,model\nn0,32000,-1,0,\n",
            "n.csv",
            "x",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "n.csv:2:10: x: row 2, column 'memory_mib': '-1' is not a non-negative integer"
        );
    }

    #[test]
    fn nodes_carry_capacity_and_gpu_model() {
        let n = read_nodes(
            b"sn,cpu_milli,memory_mib,gpu,model\nn0,32000,262144,0,\nn1,96000,393216,8,G2\n",
            "n.csv",
            "x",
        )
        .unwrap();
        assert_eq!(n[0].capacity, Resources::new(32000, 256 << 30));
        assert_eq!(
            n[1].capacity,
            Resources::new(96000, 384 << 30).with_gpu(8000)
        );
        assert_eq!((n[0].model.as_str(), n[1].model.as_str()), ("", "G2"));
    }
}
