//! The terminal summary `sim run` prints after a run, one function per
//! section, and the latency format the other tables share.
//!
//! Key decision: the summary is built from `summary.json`'s data and the
//! run's timing only, so it says exactly what the results folder says.

use std::fmt::Write as _;

use orkestra_core::results::{
    ClusterSummary, FaultsSummary, JobSetSummary, ServiceSummary, Summary,
};

use crate::run::RunReport;

/// The terminal summary printed after a run.
pub fn render_summary(r: &RunReport) -> String {
    let s = &r.summary;
    let mut o = String::new();
    header(&mut o, s);
    if !s.services.is_empty() {
        service_table(&mut o, &s.services);
    }
    for svc in &s.services {
        service_notes(&mut o, svc);
    }
    cluster(&mut o, &s.cluster);
    for j in &s.jobs {
        job_set(&mut o, j);
    }
    if let Some(f) = &s.faults {
        faults(&mut o, f);
    }
    timing(&mut o, r);
    let _ = writeln!(o, "results: {}", r.out.display());
    o
}

/// Scenario, seed, simulated time, hash, and the overrides if any.
fn header(o: &mut String, s: &Summary) {
    let _ = writeln!(
        o,
        "scenario {}  seed {}  simulated {:.0}s  hash {}",
        s.scenario, s.seed, s.duration_s, s.scenario_hash
    );
    if !s.overrides.is_empty() {
        let _ = writeln!(o, "overrides: {}", s.overrides.join(" "));
    }
}

/// One row per service: requests by outcome, latency, utilisation, replicas.
fn service_table(o: &mut String, services: &[ServiceSummary]) {
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "{:<12} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>6} {:>9}",
        "service",
        "requests",
        "ok",
        "rejected",
        "timeout",
        "mean",
        "p50",
        "p90",
        "p99",
        "max",
        "util",
        "replicas"
    );
    for svc in services {
        let l = &svc.latency_s;
        let _ = writeln!(
            o,
            "{:<12} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>5.1}% {:>9}",
            svc.name,
            svc.requests.total,
            svc.requests.ok,
            svc.requests.rejected,
            svc.requests.timed_out,
            fmt_latency(l.mean),
            fmt_latency(l.p50),
            fmt_latency(l.p90),
            fmt_latency(l.p99),
            fmt_latency(l.max),
            svc.utilisation * 100.0,
            format!("{:.1}", svc.replicas.ready_mean),
        );
    }
}

/// A service's rollout, autoscaling and SLO lines, each when it has one.
fn service_notes(o: &mut String, svc: &ServiceSummary) {
    if let Some(r) = &svc.rollout {
        let _ = writeln!(
            o,
            "{}: rollout {} {} after {:.0}s (from {:.0}s), {} rollbacks, max weight {}%, availability {:.4}% ({} of {} requests failed)",
            svc.name,
            r.strategy,
            r.outcome,
            r.duration_s,
            r.started_s,
            r.rollbacks,
            r.max_weight,
            r.availability * 100.0,
            r.failed,
            r.requests
        );
    }
    if let Some(a) = &svc.autoscaling {
        let _ = writeln!(
            o,
            "{}: autoscaler {}, {} scaling actions, {:.0} replica-seconds ({:.1}x the work's need)",
            svc.name,
            a.autoscaler,
            a.scaling_actions,
            svc.replicas.replica_seconds,
            a.over_provisioning
        );
    }
    if let Some(slo) = &svc.slo {
        let recovery = match (slo.first_violation_s, slo.recovery_s) {
            (Some(t), Some(r)) => format!(", first at {t:.0}s, met again {r:.0}s later"),
            (Some(t), None) => format!(", first at {t:.0}s, never met again"),
            _ => String::new(),
        };
        let _ = writeln!(
            o,
            "{}: SLO p{} <= {}: {} of {} minutes violated{recovery}; {:.2}% of requests over target or failed",
            svc.name,
            slo.percentile,
            fmt_latency(slo.latency_s),
            slo.violation_minutes,
            slo.minutes,
            slo.over_target_fraction * 100.0
        );
    }
}

/// Allocation, packing and (with a node autoscaler) the node count and cost.
fn cluster(o: &mut String, c: &ClusterSummary) {
    let _ = writeln!(o);
    let gpu = if c.gpu_allocatable_milli > 0 {
        format!(", gpu allocated {:.1}%", c.gpu_allocated_mean * 100.0)
    } else {
        String::new()
    };
    let _ = writeln!(
        o,
        "cluster: {} nodes in {} zones, cpu allocated {:.1}%, memory allocated {:.1}%{gpu}, {} pending at end",
        c.nodes,
        c.zones,
        c.cpu_allocated_mean * 100.0,
        c.memory_allocated_mean * 100.0,
        c.pending_at_end
    );
    let _ = writeln!(
        o,
        "packing: {:.1} nodes in use, lower bound {:.1} (gap {:.1}%); stranded cpu {:.1}%, memory {:.1}%, gpu {:.1}%; {} unschedulable attempts",
        c.nodes_in_use_mean,
        c.nodes_lower_bound_mean,
        c.packing_gap_mean * 100.0,
        c.stranded_cpu_mean * 100.0,
        c.stranded_memory_mean * 100.0,
        c.stranded_gpu_mean * 100.0,
        c.unschedulable_attempts
    );
    if let Some(n) = &c.node_autoscaling {
        let _ = writeln!(
            o,
            "nodes ({}): {} to {} (mean {:.1}), {} at end; {} scale-ups (+{} nodes), {} scale-downs ({} replacements), {} removed; {:.2} node-hours, cost {:.2}",
            n.autoscaler,
            n.nodes_min,
            n.nodes_max,
            n.nodes_mean,
            c.nodes,
            n.scale_ups,
            n.nodes_added,
            n.scale_downs,
            n.replacements,
            n.nodes_removed,
            c.node_hours,
            c.cost
        );
    }
}

/// One job set's pods by state at the end and their pending time.
fn job_set(o: &mut String, j: &JobSetSummary) {
    let _ = writeln!(
        o,
        "jobs {} ({}): {} jobs, {} pods: {} completed, {} running and {} pending at end; pending mean {}, p99 {}",
        j.name,
        j.source,
        j.jobs,
        j.pods,
        j.completed,
        j.running_at_end,
        j.pending_at_end,
        fmt_latency(j.pending_time_s.mean),
        fmt_latency(j.pending_time_s.p99),
    );
    if j.disrupted > 0 {
        let _ = writeln!(
            o,
            "  {} pods disrupted (drained, preempted or lost), {} replaced by the Job controller, {} jobs failed (backoffLimit)",
            j.disrupted, j.replaced, j.failed_jobs
        );
    }
}

/// Availability per service under faults, then the first ten faults.
fn faults(o: &mut String, f: &FaultsSummary) {
    let _ = writeln!(o);
    for a in &f.availability {
        let _ = writeln!(
            o,
            "{}: availability {:.4}% ({} requests lost to faults)",
            a.service,
            a.availability * 100.0,
            a.lost
        );
    }
    let secs = |x: Option<f64>| x.map_or_else(|| "-".to_string(), |x| format!("{x:.0}s"));
    for rec in f.faults.iter().take(10) {
        let _ = writeln!(
            o,
            "fault {} ({}) at {:.0}s: detected {}, recovered {}, {} containers killed, {} requests lost",
            rec.name,
            rec.kind,
            rec.start_s,
            secs(rec.time_to_detect_s),
            secs(rec.time_to_recover_s),
            rec.containers_killed,
            rec.lost_requests
        );
    }
    if f.faults.len() > 10 {
        let _ = writeln!(o, "… {} more faults in summary.json", f.faults.len() - 10);
    }
}

/// Wall time: the engine's speed, or a live run's speed-up.
fn timing(o: &mut String, r: &RunReport) {
    let (s, t) = (&r.summary, &r.timing);
    if s.mode == "live" {
        let _ = writeln!(
            o,
            "live: {:.0}s of scenario time in {:.1}s wall (speed {:.1}×)",
            s.duration_s, t.wall_time_s, t.speedup
        );
    } else {
        let _ = writeln!(
            o,
            "engine: {} events in {:.2}s wall = {:.2}M events/s; simulated/wall = {:.0}×",
            s.events,
            t.wall_time_s,
            t.events_per_s / 1e6,
            t.speedup
        );
    }
}

/// A duration in seconds as the tables show it: `0s`, `1.23s`, `4.5ms`, `67µs`.
pub(crate) fn fmt_latency(s: f64) -> String {
    if s == 0.0 {
        "0s".to_string()
    } else if s >= 1.0 {
        format!("{s:.2}s")
    } else if s >= 1e-3 {
        format!("{:.1}ms", s * 1e3)
    } else {
        format!("{:.0}µs", s * 1e6)
    }
}
