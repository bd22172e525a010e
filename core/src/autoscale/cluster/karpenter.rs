//! Karpenter-style provisioning and consolidation.
//!
//! Key decision: Karpenter has no utilization threshold and no unneeded
//! timer; it removes a node as soon as removing it (or swapping it for a
//! cheaper one) keeps every replica placeable, once the node has been
//! stable for `consolidateAfter`. This is the consolidation part of
//! Karpenter's Disruption controller ("Disruption" concepts page,
//! aws/karpenter-provider-aws) over the scenario's node groups: empty-node
//! consolidation first, then single-node consolidation by deletion or
//! replacement, one action at a time.

use rand::Rng;

use super::drain::{DrainRules, DrainSim, PdbTracker, movable};
use super::estimator::estimate;
use super::{Expander, NodeAction, NodeAutoscale, NodeLife, PendingGroup, ScanInput, scale_up};
use crate::model::{NodeId, ReplicaId, Resources};
use crate::time::{SimDuration, SimTime};

/// Non-empty nodes simulated per scan at most: Orkestra's bound on the
/// work of one scan (Karpenter bounds single-node consolidation by a
/// 3-minute timeout instead).
const CANDIDATES_PER_SCAN: usize = 30;

/// `disruption.consolidationPolicy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConsolidationPolicy {
    /// Only nodes without replicas are removed.
    WhenEmpty,
    /// Empty nodes, and nodes whose replicas fit elsewhere or on a cheaper
    /// node (Karpenter's default).
    #[default]
    WhenEmptyOrUnderutilized,
}

impl ConsolidationPolicy {
    /// Karpenter's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsolidationPolicy::WhenEmpty => "WhenEmpty",
            ConsolidationPolicy::WhenEmptyOrUnderutilized => "WhenEmptyOrUnderutilized",
        }
    }
}

/// Karpenter's settings that matter here.
#[derive(Clone, Debug, PartialEq)]
pub struct KarpenterConfig {
    /// How often pending replicas and consolidation are looked at (default
    /// 1 s: Karpenter's `BATCH_IDLE_DURATION`, the quiet time after which a
    /// batch of pending pods is provisioned for).
    pub scan_interval: SimDuration,
    /// `disruption.consolidationPolicy` (default `WhenEmptyOrUnderutilized`).
    pub consolidation_policy: ConsolidationPolicy,
    /// `disruption.consolidateAfter`: a node whose replicas have not changed
    /// for this long may be consolidated. Required upstream (no default in
    /// `karpenter.sh/v1`); Orkestra defaults to 0 s, consolidating at once,
    /// as `WhenUnderutilized` did in `v1beta1`, where the two could not be
    /// combined.
    pub consolidate_after: SimDuration,
    /// Nodes of all pools together; 0 is no limit (a stand-in for a
    /// NodePool's `limits`).
    pub max_nodes_total: u32,
}

impl Default for KarpenterConfig {
    fn default() -> KarpenterConfig {
        KarpenterConfig {
            scan_interval: SimDuration::from_secs(1),
            consolidation_policy: ConsolidationPolicy::default(),
            consolidate_after: SimDuration::ZERO,
            max_nodes_total: 0,
        }
    }
}

/// Karpenter-style node autoscaling.
///
/// Reproduced: provisioning for pending replicas that fit no ready or
/// booting node, choosing the group whose new nodes cost least per replica
/// (the `price` expander over the binpacking estimate: Karpenter launches
/// the cheapest instance type that fits); consolidation with
/// `consolidationPolicy` and `consolidateAfter` (measured from the last
/// change of a node's replicas seen by a scan): empty nodes deleted
/// together, then single-node consolidation in order of disruption cost
/// (fewer replicas first) — *deletion* when every replica fits on the other
/// nodes' free capacity, else *replacement* when the replicas that do not
/// fit would all fit one new node of a strictly cheaper group; the node is
/// cordoned at once and drained only when its replacement is ready; one
/// disruption at a time (no new one while a node is draining).
///
/// Not reproduced: multi-node consolidation, instance-type flexibility and
/// spot-to-spot rules, disruption budgets (`nodes: 10%`), `expireAfter`
/// and drift, the 15-second re-validation of a consolidation decision.
/// Honoured: `karpenter.sh/do-not-disrupt` pods and PodDisruptionBudgets
/// (a node whose pods a budget would not let go is no candidate), and, as
/// in the Cluster Autoscaler, nodes running Job pods are kept. Group `min` is
/// honoured although NodePools have none.
#[derive(Clone, Debug)]
pub struct Karpenter {
    config: KarpenterConfig,
    /// Per node: (allocated, replicas) at the last scan and since when.
    stable: Vec<(Resources, u32, SimTime)>,
}

impl Karpenter {
    /// A fresh autoscaler.
    pub fn new(config: KarpenterConfig) -> Karpenter {
        Karpenter {
            config,
            stable: Vec::new(),
        }
    }

    /// Records each node's replicas; a change restarts its stable time.
    fn observe(&mut self, input: &ScanInput<'_>) {
        let now = input.now;
        for (i, n) in input.observed.nodes.iter().enumerate() {
            let key = (n.allocated, n.replicas);
            match self.stable.get_mut(i) {
                Some(s) if (s.0, s.1) == key => {}
                Some(s) => *s = (key.0, key.1, now),
                None => self.stable.push((key.0, key.1, now)),
            }
        }
    }

    /// The cheapest group (strictly cheaper than `cost`, with room) one new
    /// node of which takes every replica of `rest`.
    fn replacement(&self, input: &ScanInput<'_>, rest: &[ReplicaId], cost: f64) -> Option<usize> {
        let mut pending: Vec<PendingGroup> = Vec::new();
        for r in rest {
            let service = input.observed.replicas[r.0 as usize].service;
            match pending.iter_mut().find(|p| p.service == service) {
                Some(p) => p.count += 1,
                None => pending.push(PendingGroup { service, count: 1 }),
            }
        }
        let sizes = input.group_sizes();
        let total_room =
            self.config.max_nodes_total == 0 || input.cluster_size() < self.config.max_nodes_total;
        let mut best: Option<usize> = None;
        for (h, group) in input.groups.iter().enumerate() {
            if group.cost_per_hour >= cost || sizes[h] >= group.max || !total_room {
                continue;
            }
            if best.is_some_and(|b| input.groups[b].cost_per_hour <= group.cost_per_hour) {
                continue;
            }
            let e = estimate(group, &pending, input.desired, 1);
            if e.pods as usize == rest.len() {
                best = Some(h);
            }
        }
        best
    }
}

impl NodeAutoscale for Karpenter {
    fn name(&self) -> &'static str {
        "karpenter"
    }

    fn scan_interval(&self) -> SimDuration {
        self.config.scan_interval
    }

    fn scan(&mut self, input: &ScanInput<'_>, rng: &mut dyn Rng) -> Vec<NodeAction> {
        self.observe(input);
        if let Some(up) = scale_up(
            input,
            &Expander::Price.into(),
            self.config.max_nodes_total,
            rng,
        ) {
            return vec![up];
        }
        if input.nodes.iter().any(|n| n.life == NodeLife::Draining) {
            return Vec::new();
        }
        let now = input.now;
        let mut sizes = input.group_sizes();
        let candidates: Vec<usize> = (0..input.observed.nodes.len())
            .filter(|&i| {
                input
                    .nodes
                    .get(i)
                    .is_some_and(|n| n.group.is_some() && n.life == NodeLife::Ready)
                    && now >= self.stable[i].2 + self.config.consolidate_after
            })
            .collect();
        let moves = movable(input, &candidates, DrainRules::Karpenter);
        let budgets = PdbTracker::new(input);
        // Empty-node consolidation: every empty node at once.
        let mut actions = Vec::new();
        for (k, &i) in candidates.iter().enumerate() {
            let g = input.nodes[i].group.unwrap_or(0) as usize;
            if moves[k].0.is_empty() && moves[k].1.is_none() && sizes[g] > input.groups[g].min {
                sizes[g] -= 1;
                actions.push(NodeAction::Remove {
                    node: NodeId(i as u32),
                    reason: "consolidation: empty".into(),
                });
            }
        }
        if !actions.is_empty() || self.config.consolidation_policy == ConsolidationPolicy::WhenEmpty
        {
            return actions;
        }
        // Single-node consolidation, least disruptive (fewest replicas) first.
        let mut order: Vec<usize> = (0..candidates.len())
            .filter(|&k| moves[k].1.is_none() && !moves[k].0.is_empty())
            .filter(|&k| budgets.can_remove(input, &moves[k].0).is_ok())
            .filter(|&k| {
                let g = input.nodes[candidates[k]].group.unwrap_or(0) as usize;
                sizes[g] > input.groups[g].min
            })
            .collect();
        order.sort_by_key(|&k| (moves[k].0.len(), candidates[k]));
        let mut sim = DrainSim::new(input);
        for &k in order.iter().take(CANDIDATES_PER_SCAN) {
            let i = candidates[k];
            let replicas = &moves[k].0;
            let rest = sim.simulate(i, replicas);
            if rest.is_empty() {
                return vec![NodeAction::Remove {
                    node: NodeId(i as u32),
                    reason: format!(
                        "consolidation: delete; its {} replicas fit on other nodes",
                        replicas.len()
                    ),
                }];
            }
            let g = input.nodes[i].group.unwrap_or(0) as usize;
            let cost = input.groups[g].cost_per_hour;
            if let Some(h) = self.replacement(input, &rest, cost) {
                return vec![NodeAction::Replace {
                    node: NodeId(i as u32),
                    group: h as u32,
                    reason: format!(
                        "consolidation: replace by a cheaper {} node ({}/h < {cost}/h); {} of its {} replicas fit on other nodes",
                        input.groups[h].name,
                        input.groups[h].cost_per_hour,
                        replicas.len() - rest.len(),
                        replicas.len()
                    ),
                }];
            }
            sim.rollback(i);
        }
        Vec::new()
    }
}
