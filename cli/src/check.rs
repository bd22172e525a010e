//! `sim check`: what a valid scenario holds, in a few lines, without running it.
//!
//! Key decision: the lines are computed from the resolved scenario only
//! (nodes, desired state, job sets, node groups), so they describe what a
//! run would simulate, not the file's spelling of it.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use orkestra_core::jobs::JobSource;
use orkestra_core::scenario::Scenario;

/// `sim check`'s report on a scenario that loaded: the `ok:` line, the job
/// sets, and the node autoscaler's groups.
pub fn render_check(s: &Scenario) -> String {
    let mut o = String::new();
    // Services come first in the desired state, one traffic model each; job shapes follow.
    let replicas: u32 = s.desired.services.iter().map(|s| s.replicas).sum();
    let zones: BTreeSet<_> = s.nodes.iter().map(|n| &n.zone).collect();
    let _ = writeln!(
        o,
        "ok: {} — {} nodes in {} zones, {} services, {} replicas, {} simulated, seed {}",
        s.name,
        s.nodes.len(),
        zones.len(),
        s.traffic.len(),
        replicas,
        s.duration,
        s.seed
    );
    o.push_str(&describe_jobs(s));
    if let Some(a) = &s.node_autoscaler {
        let groups: Vec<String> = s
            .node_groups
            .iter()
            .map(|g| {
                format!(
                    "{} ({}..{} nodes, boot {})",
                    g.name, g.min, g.max, g.boot_delay
                )
            })
            .collect();
        let _ = writeln!(o, "node autoscaler {}: {}", a.kind(), groups.join(", "));
    }
    o
}

/// `sim check`'s lines about the job sets: arrivals, shapes, and what a
/// trace reader used and skipped.
fn describe_jobs(s: &Scenario) -> String {
    let mut o = String::new();
    for set in &s.jobs {
        let what = match &set.source {
            JobSource::List(list) => format!(
                "{} jobs, {} pods",
                list.len(),
                list.iter().map(|a| u64::from(a.count)).sum::<u64>()
            ),
            JobSource::Poisson { rate, count, .. } => {
                format!("Poisson, {rate} jobs/s of {count} pods")
            }
        };
        let _ = writeln!(
            o,
            "jobs {} ({}): {what} in {} request shapes",
            set.name,
            set.source_name(),
            set.shapes.len()
        );
        if let Some(r) = &set.trace {
            let phases: Vec<String> = r.phases.iter().map(|(p, n)| format!("{n} {p}")).collect();
            let _ = writeln!(
                o,
                "  trace: {} rows, {} used ({}; {} alive at the window's start); skipped: {} without deletion time, {} with a non-positive duration, {} in other phases, {} outside the window, {} over the limit",
                r.rows,
                r.used,
                phases.join(", "),
                r.alive_at_start,
                r.skipped_no_deletion,
                r.skipped_non_positive_duration,
                r.skipped_phase,
                r.skipped_outside_window,
                r.skipped_over_limit
            );
        }
    }
    o
}
