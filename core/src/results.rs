//! The results folder: the contract between running and reporting.
//!
//! Key decision: both worlds write the same files through these types and
//! writers, and `reports/` reads only them. Everything in `summary.json`,
//! `timeseries.csv` and `events.csv` is a function of (scenario, seed,
//! version): wall-clock facts go to `timing.json` alone, so the other files
//! are byte-identical between runs. Writers take any `io::Write`; opening
//! files is the caller's business.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

/// Version of the results format; bump when a field changes meaning.
/// Format 2: per-node allocation moved from `timeseries.csv` (`node:NAME`
/// rows) to the optional `nodes.csv`.
pub const FORMAT: u32 = 2;

/// File names inside a results folder.
pub mod files {
    /// Deterministic run summary.
    pub const SUMMARY: &str = "summary.json";
    /// Wall-clock facts of the run.
    pub const TIMING: &str = "timing.json";
    /// Long-form samples.
    pub const TIMESERIES: &str = "timeseries.csv";
    /// What happened, when.
    pub const EVENTS: &str = "events.csv";
    /// Per-node allocation samples (only with `simulation.nodeMetrics`).
    pub const NODES: &str = "nodes.csv";
    /// `sim compare`: one row per placement policy.
    pub const COMPARISON: &str = "comparison.csv";
    /// The effective scenario (after `--set`).
    pub const SCENARIO: &str = "scenario.toml";
}

/// Requests by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCounts {
    /// Arrived.
    pub total: u64,
    /// Served within the timeout.
    pub ok: u64,
    /// Turned away (queue full or no ready replica).
    pub rejected: u64,
    /// Of `rejected`, those that found no ready replica.
    pub rejected_no_endpoint: u64,
    /// Gave up waiting (deadline passed in queue or in service).
    pub timed_out: u64,
    /// Failed: the last attempt went to an endpoint that was gone (a
    /// balancer's view not yet updated by service discovery).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failed: u64,
    /// Retry attempts made (each retry of a request counts once).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retries: u64,
    /// Arrived but without an outcome when the run ended: in service,
    /// queued at a replica, waiting at the balancer (central-queue mode) or
    /// held by the activator. `ok + rejected + timed_out + failed +
    /// in_flight_at_end = total`.
    #[serde(default)]
    pub in_flight_at_end: u64,
}

impl RequestCounts {
    /// Requests with an outcome, plus those still in flight: equals
    /// `total` when every request is accounted for.
    pub fn accounted(&self) -> u64 {
        self.ok + self.rejected + self.timed_out + self.failed + self.in_flight_at_end
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Latency of successful requests, in seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyStats {
    /// Exact mean.
    pub mean: f64,
    /// Median (HDR histogram, 3 significant digits).
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest.
    pub max: f64,
}

/// Quantiles at which [`ServiceSummary::latency_quantiles_s`] samples the
/// latency distribution: every percent from 0 (the fastest request) to 99,
/// then the tail at 99.5, 99.9, 99.95, 99.99 % and 1 (the slowest). Enough
/// for a latency CDF on a log axis without a histogram file.
pub const LATENCY_QUANTILES: [f64; 105] = {
    let mut q = [0.0; 105];
    let mut i = 0;
    while i < 100 {
        q[i] = i as f64 / 100.0;
        i += 1;
    }
    q[100] = 0.995;
    q[101] = 0.999;
    q[102] = 0.9995;
    q[103] = 0.9999;
    q[104] = 1.0;
    q
};

/// Replica counts over the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplicaStats {
    /// Desired at the end.
    pub desired: u32,
    /// Fewest ready at once.
    pub ready_min: u32,
    /// Most ready at once.
    pub ready_max: u32,
    /// Time-weighted mean ready.
    pub ready_mean: f64,
    /// ∫ ready dt: the cost in replica-seconds.
    pub replica_seconds: f64,
    /// Replicas that became ready during the run (warm-started ones included).
    pub started: u64,
}

/// One service's results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceSummary {
    /// Service name.
    pub name: String,
    /// Requests by outcome.
    pub requests: RequestCounts,
    /// Latency of `ok` requests.
    pub latency_s: LatencyStats,
    /// Latency of `ok` requests at each of [`LATENCY_QUANTILES`], seconds
    /// (HDR histogram, 3 significant digits); empty when none succeeded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latency_quantiles_s: Vec<f64>,
    /// Mean time from arrival to start of service, over served requests.
    pub wait_mean_s: f64,
    /// Busy slot-time ÷ ready slot-time (slots = ready replicas × concurrency).
    pub utilisation: f64,
    /// Replica statistics.
    pub replicas: ReplicaStats,
    /// Autoscaling outcome, when the service has an autoscaler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<AutoscalingSummary>,
    /// Latency objective outcome, when the service declares one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<SloSummary>,
    /// Hosts ejected by outlier detection, over all balancer clients.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ejections: u64,
    /// Rollout outcome, when the service has a `[services.NAME.rollout]`
    /// that started during the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutSummary>,
}

/// What a rollout did and what its users saw while it ran.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RolloutSummary {
    /// `rollingUpdate`, `recreate`, `canary` or `blueGreen`.
    pub strategy: String,
    /// `complete`, `rolled-back`, `aborted` or `in-progress` (at the end).
    pub outcome: String,
    /// When it started (the scenario's `at`), seconds.
    pub started_s: f64,
    /// From the start until the losing revision's last pod went (or the
    /// end of the run when it did not finish), seconds.
    pub duration_s: f64,
    /// Whether it finished before the end of the run.
    pub finished: bool,
    /// Rollbacks (Deployment `progressDeadlineAbort`) and aborts (canary,
    /// blue/green).
    pub rollbacks: u64,
    /// Highest percent of requests routed to the new revision (canary,
    /// blue/green; 0 for a Deployment, which routes by pod count).
    pub max_weight: u8,
    /// New-revision pods that crash-looped (`crashOnStart`).
    pub crash_loops: u64,
    /// Their restarts (kubelet CrashLoopBackOff: 10 s doubling to 5 min)
    /// until they were deleted or the run ended.
    pub restarts: u64,
    /// Requests that ended (served, failed, rejected, timed out) while it ran.
    pub requests: u64,
    /// Requests served within the timeout while it ran.
    pub ok: u64,
    /// Requests failed, rejected or timed out while it ran.
    pub failed: u64,
    /// `ok ÷ requests` while it ran (1 with no requests).
    pub availability: f64,
}

/// What an autoscaler did and what it cost.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AutoscalingSummary {
    /// The autoscaler's name.
    pub autoscaler: String,
    /// Changes of the desired replica count.
    pub scaling_actions: u64,
    /// ∫ needed replicas dt, where needed = offered work ÷ concurrency
    /// (arrivals × mean service time ÷ concurrency, per sample interval).
    pub needed_replica_seconds: f64,
    /// Ready replica-seconds ÷ needed replica-seconds (1 = no slack).
    pub over_provisioning: f64,
}

/// Latency objective results.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SloSummary {
    /// Target latency, seconds.
    pub latency_s: f64,
    /// Percentile that must stay under it.
    pub percentile: f64,
    /// Whole minutes evaluated.
    pub minutes: u64,
    /// Minutes whose percentile latency exceeded the target, or whose failed
    /// requests alone exceeded the allowed share (100 − percentile)%.
    pub violation_minutes: u64,
    /// Requests that failed or took longer than the target ÷ all requests.
    pub over_target_fraction: f64,
    /// Start of the first violating minute, seconds.
    pub first_violation_s: Option<f64>,
    /// From the start of the first violating minute to the start of the
    /// first minute after it that met the objective, seconds.
    pub recovery_s: Option<f64>,
}

/// Cluster-wide results.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterSummary {
    /// Nodes existing at the end (all of them without a node autoscaler).
    pub nodes: u32,
    /// Zones of those nodes.
    pub zones: u32,
    /// Σ allocatable CPU, millicores.
    pub cpu_allocatable_milli: u64,
    /// Σ allocatable memory, bytes.
    pub memory_allocatable_bytes: u64,
    /// Time-weighted mean of allocated ÷ allocatable CPU.
    pub cpu_allocated_mean: f64,
    /// Time-weighted mean of allocated ÷ allocatable memory.
    pub memory_allocated_mean: f64,
    /// Replicas that were never placed by the end.
    pub pending_at_end: u32,
    /// Time from creation to bind of every placed replica, seconds.
    #[serde(default)]
    pub pending_time_s: LatencyStats,
    /// Time-weighted mean of nodes holding at least one replica.
    #[serde(default)]
    pub nodes_in_use_mean: f64,
    /// Failed placement attempts per node-rejection reason (`Insufficient cpu` …):
    /// each attempt counts once for every reason some node gave.
    #[serde(default)]
    pub unschedulable: std::collections::BTreeMap<String, u64>,
    /// Failed placement attempts (each once, whatever its reasons). A
    /// replica that failed is retried only after a node change that may
    /// let it fit (see `orkestra_core::queue`).
    #[serde(default)]
    pub unschedulable_attempts: u64,
    /// Σ allocatable GPUs, thousandths.
    #[serde(default)]
    pub gpu_allocatable_milli: u64,
    /// Time-weighted mean of allocated ÷ allocatable GPU (0 without GPUs).
    #[serde(default)]
    pub gpu_allocated_mean: f64,
    /// Time-weighted mean of stranded ÷ allocatable CPU: free CPU on nodes
    /// where no request shape of the scenario fits (see
    /// `orkestra_core::capacity`).
    #[serde(default)]
    pub stranded_cpu_mean: f64,
    /// The same for memory.
    #[serde(default)]
    pub stranded_memory_mean: f64,
    /// The same for GPUs.
    #[serde(default)]
    pub stranded_gpu_mean: f64,
    /// Time-weighted mean of a lower bound on the nodes needed to hold the
    /// bound requests (largest nodes first, per resource; see `orkestra_core::capacity`).
    #[serde(default)]
    pub nodes_lower_bound_mean: f64,
    /// Time-weighted mean of (nodes in use − lower bound) ÷ lower bound,
    /// over the time the bound is positive.
    #[serde(default)]
    pub packing_gap_mean: f64,
    /// Σ over every node of the hours it existed (from time zero or its
    /// scale-up to its removal or the end).
    #[serde(default)]
    pub node_hours: f64,
    /// Σ over every node of its pool's `costPerHour` × the hours it existed.
    #[serde(default)]
    pub cost: f64,
    /// What the node autoscaler did, when the scenario has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_autoscaling: Option<NodeAutoscalingSummary>,
}

/// What a node autoscaler did and what the nodes cost.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeAutoscalingSummary {
    /// `cluster-autoscaler` or `karpenter`.
    pub autoscaler: String,
    /// Scale-up decisions (each adds one or more nodes to one group).
    pub scale_ups: u64,
    /// Nodes added (scale-ups and replacements).
    pub nodes_added: u64,
    /// Scale-down decisions: nodes chosen for removal (replacements included).
    pub scale_downs: u64,
    /// Of those, Karpenter replacements by a cheaper node.
    pub replacements: u64,
    /// Nodes gone by the end (drained and removed).
    pub nodes_removed: u64,
    /// Fewest nodes existing at once (booting and draining ones included).
    pub nodes_min: u32,
    /// Most nodes existing at once.
    pub nodes_max: u32,
    /// Time-weighted mean of the nodes existing.
    pub nodes_mean: f64,
    /// Per node group (autoscaled pool), in name order.
    pub groups: Vec<NodeGroupSummary>,
}

/// One node group's nodes and cost.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeGroupSummary {
    /// Group (pool) name.
    pub name: String,
    /// Its `min`.
    pub min: u32,
    /// Its `max`.
    pub max: u32,
    /// Nodes at the start.
    pub nodes_initial: u32,
    /// Nodes existing at the end.
    pub nodes_at_end: u32,
    /// Most nodes existing at once.
    pub nodes_max: u32,
    /// Nodes added.
    pub nodes_added: u64,
    /// Nodes removed.
    pub nodes_removed: u64,
    /// Σ hours its nodes existed.
    pub node_hours: f64,
    /// Σ `costPerHour` × hours.
    pub cost: f64,
}

/// How a job trace was read: what was used and what was skipped, and why.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceReport {
    /// Data rows in the file.
    pub rows: u64,
    /// Rows that became jobs.
    pub used: u64,
    /// Of `used`, pods created before the window that were still alive at
    /// its start (they arrive at time zero with their remaining lifetime).
    pub alive_at_start: u64,
    /// Skipped: no deletion time.
    pub skipped_no_deletion: u64,
    /// Skipped: deletion time not after creation time.
    pub skipped_non_positive_duration: u64,
    /// Skipped: phase not in `phases`.
    pub skipped_phase: u64,
    /// Skipped: outside the window (gone before it starts, or created at or after its end).
    pub skipped_outside_window: u64,
    /// Skipped: beyond `limit`.
    pub skipped_over_limit: u64,
    /// Used rows per `pod_phase`.
    pub phases: std::collections::BTreeMap<String, u64>,
}

/// One job set's results.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JobSetSummary {
    /// Job set name.
    pub name: String,
    /// Where its jobs came from: `arrivals`, `poisson` or `trace`.
    pub source: String,
    /// Jobs that arrived.
    pub jobs: u64,
    /// Pods created (`count` per job, and each replacement).
    pub pods: u64,
    /// Pods bound to a node (started).
    pub started: u64,
    /// Pods that ran their whole duration.
    pub completed: u64,
    /// Pods still running at the end.
    pub running_at_end: u64,
    /// Pods never bound by the end.
    pub pending_at_end: u64,
    /// Pods that ended before their duration: deleted by a drain or a
    /// preemption, or lost with their node.
    #[serde(default)]
    pub disrupted: u64,
    /// Pods the Job controller created for disrupted ones (in `pods` too).
    #[serde(default)]
    pub replaced: u64,
    /// Jobs failed: more disrupted pods than their `backoffLimit`.
    #[serde(default)]
    pub failed_jobs: u64,
    /// Creation → bind of the pods that were bound, seconds.
    pub pending_time_s: LatencyStats,
    /// For traces: rows used and skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<TraceReport>,
}

/// `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Results format version.
    pub format: u32,
    /// Orkestra version.
    pub version: String,
    /// `sim` or `live`.
    pub mode: String,
    /// Scenario name.
    pub scenario: String,
    /// Scenario path as given.
    pub source: String,
    /// FNV-1a 64 of the effective scenario and the files it read.
    pub scenario_hash: String,
    /// `--set` overrides applied.
    pub overrides: Vec<String>,
    /// Seed of all random streams.
    pub seed: u64,
    /// Simulated (or live) time covered, seconds.
    pub duration_s: f64,
    /// Events processed.
    pub events: u64,
    /// Per service, in name order.
    pub services: Vec<ServiceSummary>,
    /// Cluster-wide.
    pub cluster: ClusterSummary,
    /// Per job set, in name order.
    #[serde(default)]
    pub jobs: Vec<JobSetSummary>,
    /// Faults injected and how the cluster coped (only when the scenario
    /// has `[[faults]]` or `[stochastic.POOL]`, so other runs keep their bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<FaultsSummary>,
}

/// What faults did to a run: availability per service and one record per
/// fault start.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultsSummary {
    /// Per service, in name order.
    pub availability: Vec<ServiceAvailability>,
    /// Per fault start, in time order.
    pub faults: Vec<FaultRecord>,
}

/// Availability of one service over the run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceAvailability {
    /// Service name.
    pub service: String,
    /// Requests served successfully ÷ requests arrived (1 without arrivals).
    pub availability: f64,
    /// Requests lost on replicas that were dead (in flight or queued when
    /// they died, or sent to them before their endpoints were removed).
    pub lost: u64,
}

/// One fault (one start edge of the plan) and the cluster's reaction.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultRecord {
    /// Where it was declared (`faults[0]`, `stochastic.web/web-1`).
    pub name: String,
    /// Its kind (`node-crash`, `zone-outage`, …).
    pub kind: String,
    /// Start, seconds.
    pub start_s: f64,
    /// End, seconds (`None`: lasted to the end of the run).
    #[serde(default)]
    pub end_s: Option<f64>,
    /// Start → the first node NotReady (node faults only).
    #[serde(default)]
    pub time_to_detect_s: Option<f64>,
    /// Start → every service back at its desired number of serving
    /// replicas (`None`: not by the end of the run).
    #[serde(default)]
    pub time_to_recover_s: Option<f64>,
    /// Requests in flight or queued on replicas that this fault killed.
    pub lost_requests: u64,
    /// Containers killed (replicas on crashed nodes, container crashes, OOM kills).
    pub containers_killed: u64,
}

/// `timing.json`: the only machine-dependent file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Wall-clock seconds the run took.
    pub wall_time_s: f64,
    /// Events per wall-clock second.
    pub events_per_s: f64,
    /// Simulated seconds per wall-clock second.
    pub speedup: f64,
}

/// Where a run's rows go: files for `sim run`, nowhere for tests and benchmarks.
pub trait Output {
    /// One `timeseries.csv` row.
    fn sample(&mut self, time_s: f64, scope: &str, name: &str, value: f64) -> io::Result<()>;
    /// One `events.csv` row.
    fn event(&mut self, time_s: f64, kind: &str, subject: &str, detail: &str) -> io::Result<()>;
    /// One `nodes.csv` row: a node's allocated ÷ allocatable per resource
    /// (0 for a resource it does not have). Only called when the scenario
    /// sets `simulation.nodeMetrics`; discarded by default.
    fn node_sample(&mut self, _time_s: f64, _node: &str, _fractions: [f64; 3]) -> io::Result<()> {
        Ok(())
    }
}

/// Discards everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NullOutput;

impl Output for NullOutput {
    fn sample(&mut self, _: f64, _: &str, _: &str, _: f64) -> io::Result<()> {
        Ok(())
    }
    fn event(&mut self, _: f64, _: &str, _: &str, _: &str) -> io::Result<()> {
        Ok(())
    }
}

/// Writes `timeseries.csv` rows: `time_s,scope,name,value`.
pub struct TimeseriesWriter<W: Write> {
    out: csv::Writer<W>,
    buf: String,
}

impl<W: Write> TimeseriesWriter<W> {
    /// Writes the header to `w`.
    pub fn new(w: W) -> io::Result<Self> {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(["time_s", "scope", "name", "value"])?;
        Ok(TimeseriesWriter {
            out,
            buf: String::new(),
        })
    }

    /// One sample. `scope` is `service:NAME`, `node:NAME` or `cluster`.
    pub fn row(&mut self, time_s: f64, scope: &str, name: &str, value: f64) -> io::Result<()> {
        use std::fmt::Write as _;
        self.buf.clear();
        let _ = write!(self.buf, "{time_s}");
        let t_end = self.buf.len();
        let _ = write!(self.buf, "{value}");
        let (t, v) = self.buf.split_at(t_end);
        self.out.write_record([t, scope, name, v])?;
        Ok(())
    }

    /// Flushes and returns the writer.
    pub fn finish(self) -> io::Result<W> {
        self.out.into_inner().map_err(|e| e.into_error())
    }
}

/// Writes `nodes.csv` rows: `time_s,node,cpu,memory,gpu`.
pub struct NodesWriter<W: Write> {
    out: csv::Writer<W>,
}

impl<W: Write> NodesWriter<W> {
    /// Writes the header to `w`.
    pub fn new(w: W) -> io::Result<Self> {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(["time_s", "node", "cpu", "memory", "gpu"])?;
        Ok(NodesWriter { out })
    }

    /// One node's allocated fractions (cpu, memory, gpu) at `time_s`.
    pub fn row(&mut self, time_s: f64, node: &str, f: [f64; 3]) -> io::Result<()> {
        self.out.write_record([
            time_s.to_string().as_str(),
            node,
            f[0].to_string().as_str(),
            f[1].to_string().as_str(),
            f[2].to_string().as_str(),
        ])?;
        Ok(())
    }

    /// Flushes and returns the writer.
    pub fn finish(self) -> io::Result<W> {
        self.out.into_inner().map_err(|e| e.into_error())
    }
}

/// Writes `events.csv` rows: `time_s,kind,subject,detail`.
pub struct EventsWriter<W: Write> {
    out: csv::Writer<W>,
}

impl<W: Write> EventsWriter<W> {
    /// Writes the header to `w`.
    pub fn new(w: W) -> io::Result<Self> {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(["time_s", "kind", "subject", "detail"])?;
        Ok(EventsWriter { out })
    }

    /// One event, e.g. `(12.5, "ready", "web-3", "node=pool-a-1")`.
    pub fn row(&mut self, time_s: f64, kind: &str, subject: &str, detail: &str) -> io::Result<()> {
        self.out
            .write_record([time_s.to_string().as_str(), kind, subject, detail])?;
        Ok(())
    }

    /// Flushes and returns the writer.
    pub fn finish(self) -> io::Result<W> {
        self.out.into_inner().map_err(|e| e.into_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_are_long_form_and_quoted_when_needed() {
        let mut ts = TimeseriesWriter::new(Vec::new()).unwrap();
        ts.row(1.0, "service:web", "arrivals", 120.0).unwrap();
        ts.row(1.5, "node:a-0", "cpu_allocated", 0.25).unwrap();
        let text = String::from_utf8(ts.finish().unwrap()).unwrap();
        assert_eq!(
            text,
            "time_s,scope,name,value\n1,service:web,arrivals,120\n1.5,node:a-0,cpu_allocated,0.25\n"
        );
        let mut ev = EventsWriter::new(Vec::new()).unwrap();
        ev.row(
            0.0,
            "unschedulable",
            "web-3",
            "0/2 nodes are available: 1 Insufficient cpu, 1 Insufficient memory.",
        )
        .unwrap();
        let text = String::from_utf8(ev.finish().unwrap()).unwrap();
        assert!(
            text.ends_with(
                "\"0/2 nodes are available: 1 Insufficient cpu, 1 Insufficient memory.\"\n"
            ),
            "{text}"
        );
        let mut nodes = NodesWriter::new(Vec::new()).unwrap();
        nodes.row(2.0, "a-0", [0.25, 0.5, 0.0]).unwrap();
        let text = String::from_utf8(nodes.finish().unwrap()).unwrap();
        assert_eq!(text, "time_s,node,cpu,memory,gpu\n2,a-0,0.25,0.5,0\n");
    }
}
