//! Karpenter-style provisioning and disruption.
//!
//! Key decision: Karpenter has no utilization threshold and no unneeded
//! timer; it removes nodes as soon as removing them (or swapping them for
//! a cheaper one) keeps every replica placeable, once they have been
//! stable for `consolidateAfter`. This is Karpenter's Disruption
//! controller ("Disruption" concepts page, karpenter.sh v1; the methods in
//! kubernetes-sigs/karpenter `pkg/controllers/disruption`) over the
//! scenario's node groups taken as one NodePool: expiration (`expireAfter`,
//! forceful), then consolidation — empty nodes, multi-node, single-node —
//! each decision held for the 15-second re-validation and bounded by the
//! NodePool's disruption budgets (`nodes`, default 10%).

use rand::Rng;

use super::drain::{DrainRules, DrainSim, PdbTracker, movable};
use super::estimator::estimate;
use super::{Expander, NodeAction, NodeAutoscale, NodeLife, PendingGroup, ScanInput, scale_up};
use crate::intstr::IntOrPercent;
use crate::model::{NodeId, ReplicaId, Resources};
use crate::time::{SimDuration, SimTime};

/// Non-empty nodes simulated per scan at most: Orkestra's bound on the
/// work of one scan (Karpenter bounds single-node consolidation by a
/// 3-minute timeout instead).
const CANDIDATES_PER_SCAN: usize = 30;

/// Multi-node consolidation considers at most this many candidates
/// (`MultiNodeConsolidation`'s `maxParallel` of 100).
const MULTI_NODE_MAX: usize = 100;

/// Karpenter's registration TTL (the NodeClaim liveness controller): a
/// launched node that has not registered after this long is deleted.
pub const REGISTRATION_TTL: SimDuration = SimDuration::from_secs(15 * 60);

/// Karpenter's `consolidationTTL`: a consolidation decision is carried out
/// only if it still holds this long after it was made.
pub const CONSOLIDATION_TTL: SimDuration = SimDuration::from_secs(15);

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
    /// `disruption.budgets[].nodes`: at most this many of the NodePool's
    /// nodes (a percentage rounded up) are disrupted at once, the most
    /// restrictive budget winning, less the nodes already being deleted or
    /// not ready. Default one budget of `10%` (Karpenter's default when
    /// none is given); schedules and reasons are not modelled.
    pub budgets: Vec<IntOrPercent>,
    /// `template.spec.expireAfter`: a node this old is disrupted, forcefully
    /// (budgets do not hold it back; PodDisruptionBudgets still slow its
    /// drain). Default 720h, as `karpenter.sh/v1`; `None` is `Never`.
    pub expire_after: Option<SimDuration>,
    /// How long a consolidation decision is held before it is re-validated
    /// and carried out (Karpenter's 15 s; zero acts at once).
    pub validation: SimDuration,
}

impl Default for KarpenterConfig {
    fn default() -> KarpenterConfig {
        KarpenterConfig {
            scan_interval: SimDuration::from_secs(1),
            consolidation_policy: ConsolidationPolicy::default(),
            consolidate_after: SimDuration::ZERO,
            max_nodes_total: 0,
            budgets: vec![IntOrPercent::Percent(10)],
            expire_after: Some(SimDuration::from_secs(720 * 3600)),
            validation: CONSOLIDATION_TTL,
        }
    }
}

/// Karpenter-style node autoscaling.
///
/// Reproduced: provisioning for pending replicas that fit no ready or
/// booting node, choosing the group whose new nodes cost least per replica
/// (the `price` expander over the binpacking estimate: Karpenter launches
/// the cheapest instance type that fits); expiration (`expireAfter`: nodes
/// that old are removed, not held by budgets); consolidation with
/// `consolidationPolicy` and `consolidateAfter` (measured from the last
/// change of a node's replicas seen by a scan), in Karpenter's order —
/// empty nodes (as many as the budget allows), then multi-node
/// consolidation (the longest prefix, by disruption cost, of up to 100
/// candidates whose replicas all fit the other nodes, or fit them plus one
/// new node of a group cheaper than the nodes it replaces, found by binary
/// search as `firstNConsolidationOption`), then single-node consolidation
/// (each candidate in order: delete, or replace by one cheaper node); every
/// decision held `validation` (15 s) and carried out only if it is still
/// valid then; the NodePool's disruption budgets; a replaced node cordoned
/// at once and drained only when its replacement is ready; one
/// consolidation at a time (no new one while a node is draining).
/// Honoured: `karpenter.sh/do-not-disrupt` pods and PodDisruptionBudgets
/// (a node whose pods a budget would not let go is no candidate); Job pods
/// move like any other (the Job controller replaces them). Group `min` is
/// honoured by consolidation although NodePools have none.
///
/// Not reproduced: instance-type flexibility and spot-to-spot rules, drift,
/// budget schedules and reasons, `terminationGracePeriod`, and disruption
/// cost beyond the replica count (upstream weighs pod deletion cost and
/// priority, and node age).
#[derive(Clone, Debug)]
pub struct Karpenter {
    config: KarpenterConfig,
    /// Per node: (allocated, replicas) at the last scan and since when.
    stable: Vec<(Resources, u32, SimTime)>,
    /// The consolidation decision waiting for its re-validation, and when
    /// it was made.
    held: Option<(SimTime, Command)>,
}

/// A consolidation decision.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Command {
    /// Remove these empty nodes.
    Empty(Vec<usize>),
    /// Remove these nodes: their replicas fit the other nodes.
    Delete(Vec<usize>),
    /// Remove these nodes for one new node of this group.
    Replace(Vec<usize>, usize),
}

impl Command {
    fn nodes(&self) -> &[usize] {
        match self {
            Command::Empty(n) | Command::Delete(n) | Command::Replace(n, _) => n,
        }
    }
}

impl Karpenter {
    /// A fresh autoscaler.
    pub fn new(config: KarpenterConfig) -> Karpenter {
        Karpenter {
            config,
            stable: Vec::new(),
            held: None,
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

    /// Disruptions the budgets allow now (`GetAllowedDisruptions`): per
    /// budget its `nodes` of the NodePool's node count (percentages rounded
    /// up), the smallest, less the nodes being deleted (draining) or not
    /// ready (booting).
    pub fn allowed_disruptions(&self, input: &ScanInput<'_>) -> u32 {
        let pool = input
            .nodes
            .iter()
            .filter(|n| n.group.is_some() && n.life != NodeLife::Removed);
        let (mut total, mut busy) = (0u32, 0u32);
        for n in pool {
            total += 1;
            if n.life != NodeLife::Ready {
                busy += 1;
            }
        }
        let budget = self
            .config
            .budgets
            .iter()
            .map(|b| b.scaled(total, true))
            .min()
            .unwrap_or(u32::MAX);
        budget.saturating_sub(busy)
    }

    /// The cheapest group (strictly cheaper than `cost`, with room) one new
    /// node of which takes every replica of `rest`.
    fn replacement(&self, input: &ScanInput<'_>, rest: &[ReplicaId], cost: f64) -> Option<usize> {
        let mut pending: Vec<PendingGroup> = Vec::new();
        for r in rest {
            let service = input.observed.replicas[r.0 as usize].service;
            let stateful = input.desired.services[service.0 as usize]
                .stateful
                .is_some();
            match pending
                .iter_mut()
                .find(|p| p.service == service && !stateful)
            {
                Some(p) => p.count += 1,
                None => pending.push(PendingGroup {
                    service,
                    count: 1,
                    replica: stateful.then_some(*r),
                }),
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
            let e = estimate(group, &pending, input.desired, &input.observed.storage, 1);
            if e.pods as usize == rest.len() {
                best = Some(h);
            }
        }
        best
    }

    /// Whether removing all of `nodes` keeps each group at or above its `min`.
    fn above_min(input: &ScanInput<'_>, nodes: &[usize]) -> bool {
        let mut sizes = input.group_sizes();
        for &i in nodes {
            let g = input.nodes[i].group.unwrap_or(0) as usize;
            if sizes[g] <= input.groups[g].min {
                return false;
            }
            sizes[g] -= 1;
        }
        true
    }

    /// What removing all of `nodes` (with the replicas `moves` lists for
    /// each) would take: `Delete` when every replica fits the other ready
    /// nodes, `Replace` when the rest fits one new node of a group cheaper
    /// than all of them together, else `None`.
    fn option(
        &self,
        input: &ScanInput<'_>,
        nodes: &[usize],
        moves: &[&[ReplicaId]],
    ) -> Option<Command> {
        let mut sim = DrainSim::new(input);
        for &i in nodes {
            sim.excluded[i] = true;
        }
        let mut rest = Vec::new();
        for (&i, replicas) in nodes.iter().zip(moves) {
            rest.extend(sim.simulate(i, replicas));
            sim.commit();
        }
        if rest.is_empty() {
            return Some(Command::Delete(nodes.to_vec()));
        }
        let cost: f64 = nodes
            .iter()
            .map(|&i| input.groups[input.nodes[i].group.unwrap_or(0) as usize].cost_per_hour)
            .sum();
        self.replacement(input, &rest, cost)
            .map(|h| Command::Replace(nodes.to_vec(), h))
    }

    /// The consolidation decision of this scan, if any, under `allowed`
    /// disruptions.
    fn consolidate(&self, input: &ScanInput<'_>, allowed: u32) -> Option<Command> {
        let now = input.now;
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
        // Empty nodes: as many as the budget allows, each group above `min`.
        let mut sizes = input.group_sizes();
        let mut empty = Vec::new();
        for (k, &i) in candidates.iter().enumerate() {
            let g = input.nodes[i].group.unwrap_or(0) as usize;
            if empty.len() < allowed as usize
                && moves[k].0.is_empty()
                && moves[k].1.is_none()
                && sizes[g] > input.groups[g].min
            {
                sizes[g] -= 1;
                empty.push(i);
            }
        }
        if !empty.is_empty() {
            return Some(Command::Empty(empty));
        }
        if self.config.consolidation_policy == ConsolidationPolicy::WhenEmpty {
            return None;
        }
        let budgets = PdbTracker::new(input);
        let mut order: Vec<usize> = (0..candidates.len())
            .filter(|&k| moves[k].1.is_none() && !moves[k].0.is_empty())
            .filter(|&k| budgets.can_remove(input, &moves[k].0).is_ok())
            .filter(|&k| Self::above_min(input, &[candidates[k]]))
            .collect();
        // Least disruptive first: fewer replicas, then the older node id.
        order.sort_by_key(|&k| (moves[k].0.len(), candidates[k]));
        // Multi-node: the longest feasible prefix (binary search, as
        // upstream), its nodes' pods within every PDB together.
        let max = order.len().min(MULTI_NODE_MAX).min(allowed as usize);
        let prefix = |n: usize| {
            let nodes: Vec<usize> = order[..n].iter().map(|&k| candidates[k]).collect();
            let lists: Vec<&[ReplicaId]> =
                order[..n].iter().map(|&k| moves[k].0.as_slice()).collect();
            let all: Vec<ReplicaId> = lists.iter().flat_map(|l| l.iter().copied()).collect();
            if !Self::above_min(input, &nodes) || budgets.can_remove(input, &all).is_err() {
                return None;
            }
            self.option(input, &nodes, &lists)
        };
        let (mut lo, mut hi, mut best) = (1usize, max, None);
        while lo <= hi {
            let mid = (lo + hi) / 2;
            match prefix(mid) {
                Some(c) => {
                    best = Some(c);
                    lo = mid + 1;
                }
                None => hi = mid - 1,
            }
        }
        if best.is_some() {
            return best;
        }
        // Single-node: every candidate in order, the first that works.
        if allowed == 0 {
            return None;
        }
        for &k in order.iter().take(CANDIDATES_PER_SCAN) {
            if let Some(c) = self.option(input, &[candidates[k]], &[moves[k].0.as_slice()]) {
                return Some(c);
            }
        }
        None
    }

    /// Whether `cmd`, made earlier, still holds: its nodes still
    /// candidates with the same outcome, within the budgets.
    fn still_valid(&self, input: &ScanInput<'_>, cmd: &Command, allowed: u32) -> bool {
        let nodes = cmd.nodes();
        if nodes.len() > allowed as usize
            || !nodes.iter().all(|&i| {
                input
                    .nodes
                    .get(i)
                    .is_some_and(|n| n.life == NodeLife::Ready)
            })
            || !Self::above_min(input, nodes)
        {
            return false;
        }
        let moves = movable(input, nodes, DrainRules::Karpenter);
        if moves.iter().any(|m| m.1.is_some()) {
            return false;
        }
        match cmd {
            Command::Empty(_) => moves.iter().all(|m| m.0.is_empty()),
            Command::Delete(_) | Command::Replace(..) => {
                let lists: Vec<&[ReplicaId]> = moves.iter().map(|m| m.0.as_slice()).collect();
                let all: Vec<ReplicaId> = lists.iter().flat_map(|l| l.iter().copied()).collect();
                PdbTracker::new(input).can_remove(input, &all).is_ok()
                    && self.option(input, nodes, &lists).as_ref() == Some(cmd)
            }
        }
    }

    /// The node actions of `cmd`.
    fn actions(input: &ScanInput<'_>, cmd: Command) -> Vec<NodeAction> {
        match cmd {
            Command::Empty(nodes) => nodes
                .into_iter()
                .map(|i| NodeAction::Remove {
                    node: NodeId(i as u32),
                    reason: "consolidation: empty".into(),
                })
                .collect(),
            Command::Delete(nodes) => {
                let n = nodes.len();
                let replicas: u32 = nodes
                    .iter()
                    .map(|&i| input.observed.nodes[i].replicas)
                    .sum();
                // Replicas may have left since the decision (its 15 s wait).
                let reason = if replicas == 0 {
                    "consolidation: empty".to_string()
                } else if n == 1 {
                    format!("consolidation: delete; its {replicas} replicas fit on other nodes")
                } else {
                    format!(
                        "consolidation: multi-node delete of {n} nodes; their {replicas} replicas fit on other nodes"
                    )
                };
                nodes
                    .into_iter()
                    .map(|i| NodeAction::Remove {
                        node: NodeId(i as u32),
                        reason: reason.clone(),
                    })
                    .collect()
            }
            Command::Replace(nodes, h) => {
                let cost: f64 = nodes
                    .iter()
                    .map(|&i| {
                        input.groups[input.nodes[i].group.unwrap_or(0) as usize].cost_per_hour
                    })
                    .sum();
                let group = &input.groups[h];
                let what = match nodes.len() {
                    1 => String::new(),
                    n => format!(" {n} nodes"),
                };
                let reason = format!(
                    "consolidation: replace{what} by a cheaper {} node ({}/h < {cost}/h)",
                    group.name, group.cost_per_hour
                );
                vec![NodeAction::Replace {
                    nodes: nodes.into_iter().map(|i| NodeId(i as u32)).collect(),
                    group: h as u32,
                    reason,
                }]
            }
        }
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
        let now = input.now;
        // Liveness: a node not registered within the registration TTL is
        // deleted (its pods are provisioned for again).
        let dead: Vec<NodeAction> = input
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| {
                n.group.is_some()
                    && n.life == NodeLife::Booting
                    && now >= n.created + REGISTRATION_TTL
            })
            .map(|(i, n)| NodeAction::Remove {
                node: NodeId(i as u32),
                reason: format!(
                    "not registered {} after launch (registration TTL {REGISTRATION_TTL})",
                    now - n.created
                ),
            })
            .collect();
        if !dead.is_empty() {
            return dead;
        }
        if let Some(up) = scale_up(
            input,
            &Expander::Price.into(),
            self.config.max_nodes_total,
            &[],
            rng,
        ) {
            return vec![up];
        }
        // Expiration: forceful, before and regardless of consolidation.
        if let Some(ttl) = self.config.expire_after {
            let expired: Vec<NodeAction> = input
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| {
                    n.group.is_some()
                        && matches!(n.life, NodeLife::Ready | NodeLife::Booting)
                        && now >= n.created + ttl
                })
                .map(|(i, n)| NodeAction::Remove {
                    node: NodeId(i as u32),
                    reason: format!("expired: lived {} (expireAfter {ttl})", now - n.created),
                })
                .collect();
            if !expired.is_empty() {
                self.held = None;
                return expired;
            }
        }
        if input.nodes.iter().any(|n| n.life == NodeLife::Draining) {
            return Vec::new();
        }
        let allowed = self.allowed_disruptions(input);
        if let Some((at, cmd)) = self.held.take() {
            if now < at + self.config.validation {
                self.held = Some((at, cmd));
                return Vec::new();
            }
            if self.still_valid(input, &cmd, allowed) {
                return Self::actions(input, cmd);
            }
        }
        let Some(cmd) = self.consolidate(input, allowed) else {
            return Vec::new();
        };
        if self.config.validation == SimDuration::ZERO {
            return Self::actions(input, cmd);
        }
        self.held = Some((now, cmd));
        Vec::new()
    }
}
