//! `sim place`: where one more replica of a service would go, node by node,
//! and the table that shows it.
//!
//! Key decision: the explanation comes from the policy itself
//! (`orkestra_core::placement::explain`) on the cluster as the scenario's
//! initial placement leaves it, drawn from the same seeded stream a run
//! uses, so `sim place` shows the decision a run would make.

use std::fmt::Write as _;

use orkestra_core::scenario::Scenario;

/// `sim place`: the cluster after the scenario's initial replicas are
/// placed, and the explanation of placing one more replica of `service`.
pub fn explain_placement(
    scenario: &Scenario,
    service: Option<&str>,
) -> Result<orkestra_core::placement::Explanation, String> {
    use orkestra_core::model::NodeStatus;
    use orkestra_core::model::ServiceId;
    use orkestra_core::placement::{
        Batch, ClusterView, NodeAlloc, Request, explain, place_initial_with_storage,
    };
    use orkestra_core::rng::{names, stream};
    let s = match service {
        Some(name) => scenario
            .desired
            .services
            .iter()
            .position(|s| s.name == name)
            .ok_or_else(|| {
                let names: Vec<&str> = scenario
                    .desired
                    .services
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect();
                format!("no service '{name}'; choose from: {}", names.join(", "))
            })?,
        None => 0,
    };
    let mut policy = scenario.placer();
    let mut rng = stream(scenario.seed, &format!("{}/placement", names::POLICY));
    let nodes = scenario
        .nodes
        .iter()
        .map(|n| NodeStatus::new(n.clone()))
        .collect();
    let observed = place_initial_with_storage(
        scenario.queue,
        &scenario.desired,
        nodes,
        scenario.storage.clone(),
        policy.as_mut(),
        &mut rng,
    )
    .observed;
    let allocs: Vec<NodeAlloc> = observed.nodes.iter().map(NodeAlloc::of).collect();
    let spec = &scenario.desired.services[s];
    let claims = observed.storage.claims_of(spec, None);
    let request = Request::of(ServiceId(s as u32), spec, &claims);
    let batch = Batch::new();
    let view = ClusterView {
        storage: &observed.storage,
        nodes: &observed.nodes,
        allocs: &allocs,
        batch: &batch,
        changes: &observed.changes,
    };
    let mut e = explain(policy.as_mut(), &request, &view, &mut rng);
    if e.chosen.is_none() && policy.preempts() {
        e.preemption = Some(preemption(scenario, &observed, &request));
    }
    Ok(e)
}

/// What DefaultPreemption does for `request` (a pending replica that fits
/// no node) on the cluster `observed`, as a run would do it: the same
/// budgets, job pods never victims, the offset from `policy/preemption`.
/// Victims are named as in `events.csv` (`SERVICE-ID`).
fn preemption(
    scenario: &Scenario,
    observed: &orkestra_core::model::ObservedCluster,
    request: &orkestra_core::placement::Request<'_>,
) -> orkestra_core::placement::PreemptionVerdict {
    use orkestra_core::model::{ReplicaId, ServiceKind};
    use orkestra_core::placement::PreemptionVerdict;
    use orkestra_core::rng::{names, stream};
    use orkestra_core::sched::preemption::{Cluster, Preemptor, budgets, get_offset, preempt};
    let cluster = Cluster {
        desired: &scenario.desired,
        observed,
    };
    let eligible = |v: ReplicaId| {
        let s = observed.replicas[v.0 as usize].service;
        scenario.desired.services[s.0 as usize].kind == ServiceKind::Service
    };
    let preemptor = Preemptor {
        request: *request,
        priority: request.constraints.priority,
        eligible: &eligible,
    };
    let pdbs = budgets(&cluster, &scenario.pod_disruption_budgets);
    let mut rng = stream(scenario.seed, &format!("{}/preemption", names::POLICY));
    let name = |v: ReplicaId| {
        let s = observed.replicas[v.0 as usize].service;
        format!("{}-{}", scenario.desired.services[s.0 as usize].name, v.0)
    };
    match preempt(
        &cluster,
        &preemptor,
        request.constraints.preemption_policy,
        None,
        &pdbs,
        &Default::default(),
        &mut |n| get_offset(&mut rng, n),
        &|_| false,
    ) {
        Ok(p) => PreemptionVerdict {
            node: Some(
                observed.nodes[p.nominated_node.0 as usize]
                    .spec
                    .name
                    .clone(),
            ),
            victims: p.candidate.victims.iter().map(|&v| name(v)).collect(),
            pdb_violations: p.candidate.num_pdb_violations,
            reasons: Vec::new(),
        },
        Err(why) => PreemptionVerdict {
            reasons: why
                .iter()
                .map(|(n, r)| match observed.nodes.get(n.0 as usize) {
                    Some(node) => format!("{}: {r}", node.spec.name),
                    None => r.to_string(),
                })
                .collect(),
            ..Default::default()
        },
    }
}

/// The `sim place` table: the policy's filters, then one row per node with
/// either its raw (0–100) and weighted score per score plugin and the total
/// (feasible nodes) or every failing filter with kube-scheduler's reason
/// (infeasible nodes); `*` marks the chosen node.
pub fn render_explanation(e: &orkestra_core::placement::Explanation) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "policy {}", e.policy);
    if let Some(first) = e.nodes.first() {
        let names: Vec<&str> = first.filters.iter().map(|(f, _)| f.as_str()).collect();
        let _ = writeln!(o, "filters: {}", names.join(", "));
    }
    let feasible =
        |n: &orkestra_core::placement::NodeVerdict| n.filters.iter().all(|f| f.1.is_none());
    // Score columns as the first feasible node has them (a profile scores every feasible node
    // with the same plugins, in order).
    let columns: Vec<&str> = e
        .nodes
        .iter()
        .find(|n| feasible(n))
        .map(|n| n.scores.iter().map(|(p, _, _)| p.as_str()).collect())
        .unwrap_or_default();
    let cells: Vec<Vec<String>> = e
        .nodes
        .iter()
        .map(|n| {
            n.scores
                .iter()
                .map(|(_, raw, w)| format!("{raw} ({w})"))
                .collect()
        })
        .collect();
    let width = |k: usize| {
        cells
            .iter()
            .filter_map(|c| c.get(k))
            .map(|c| c.chars().count())
            .chain([columns[k].chars().count()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..columns.len()).map(width).collect();
    let node_w = e
        .nodes
        .iter()
        .map(|n| n.node.chars().count())
        .chain(["node".len()])
        .max()
        .unwrap_or(4);
    let mut header = format!("  {:<node_w$}", "node");
    if columns.is_empty() {
        header.push_str("  verdict");
    } else {
        let _ = writeln!(o, "scores: raw 0-100 (weighted)");
        for (c, w) in columns.iter().zip(&widths) {
            let _ = write!(header, "  {c:>w$}");
        }
        header.push_str("  total");
    }
    let _ = writeln!(o, "{header}");
    for (n, row) in e.nodes.iter().zip(&cells) {
        let mark = if e.chosen.as_deref() == Some(n.node.as_str()) {
            "*"
        } else {
            " "
        };
        let _ = write!(o, "{mark} {:<node_w$}", n.node);
        if !feasible(n) {
            let failed: Vec<String> = n
                .filters
                .iter()
                .filter_map(|(f, r)| r.as_ref().map(|r| format!("{f}: {r}")))
                .collect();
            let _ = writeln!(o, "  {}", failed.join("; "));
        } else if columns.is_empty() {
            let _ = writeln!(o, "  feasible");
        } else {
            for (c, w) in row.iter().zip(&widths) {
                let _ = write!(o, "  {c:>w$}");
            }
            let _ = writeln!(o, "  {}", n.total);
        }
    }
    let _ = writeln!(
        o,
        "chosen: {}",
        e.chosen.as_deref().unwrap_or("none (unschedulable)")
    );
    if let Some(p) = &e.preemption {
        match &p.node {
            Some(node) => {
                let _ = writeln!(
                    o,
                    "preemption: nominate {node}, evict {} ({} PDB violation{})",
                    p.victims.join(", "),
                    p.pdb_violations,
                    if p.pdb_violations == 1 { "" } else { "s" }
                );
            }
            None => {
                let _ = writeln!(o, "preemption: not helpful: {}", p.reasons.join("; "));
            }
        }
    }
    o
}
