//! Kubernetes' Cluster Autoscaler: scale-up through the estimator and an
//! expander, scale-down of nodes that stay unneeded.
//!
//! Key decision: one scan does what upstream's `StaticAutoscaler.RunOnce`
//! does every `--scan-interval`: try a scale-up; if none was made, update
//! which nodes are unneeded (requested ÷ allocatable below the threshold
//! and every replica placeable elsewhere, simulated with the hard filters
//! against a scratch copy of the allocations that remembers where earlier
//! candidates' replicas went), and remove those unneeded long enough once
//! the cool-down after a scale-up is over.

use std::collections::BTreeMap;

use rand::Rng;

use super::drain::{DrainRules, DrainSim, PdbTracker, movable, utilization};
use super::{ExpanderChain, NodeAction, NodeAutoscale, NodeLife, ScanInput, scale_up};
use crate::model::NodeId;
use crate::time::{SimDuration, SimTime};

/// The Cluster Autoscaler's flags that matter here, with upstream's
/// defaults (the FAQ's "What are the parameters to CA?" table).
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterAutoscalerConfig {
    /// `--expander` (default `random`, the FAQ's "What are Expanders?"),
    /// one expander or a chain, with the priority expander's tiers.
    pub expander: ExpanderChain,
    /// `--scan-interval`: how often the cluster is re-evaluated (10 s).
    pub scan_interval: SimDuration,
    /// `--scale-down-utilization-threshold`: a node whose requested ÷
    /// allocatable (the larger of cpu and memory; GPU alone on GPU nodes)
    /// is below this may be removed (0.5).
    pub scale_down_utilization_threshold: f64,
    /// `--scale-down-unneeded-time`: how long a node must stay unneeded (10 min).
    pub scale_down_unneeded_time: SimDuration,
    /// `--scale-down-delay-after-add`: no removal this long after a scale-up (10 min).
    pub scale_down_delay_after_add: SimDuration,
    /// `--max-nodes-total`: nodes of all pools together; 0 is no limit (0).
    pub max_nodes_total: u32,
    /// `--max-empty-bulk-delete`: empty nodes removed at once (10).
    pub max_empty_bulk_delete: u32,
    /// `--scale-down-non-empty-candidates-count`: non-empty nodes simulated
    /// per scan (30).
    pub scale_down_non_empty_candidates_count: u32,
    /// `--skip-nodes-with-system-pods`: a node running a `kube-system` pod
    /// that no PodDisruptionBudget covers is not removed (true).
    pub skip_nodes_with_system_pods: bool,
    /// `--skip-nodes-with-local-storage`: a node running a pod with a
    /// `hostPath` or disk `emptyDir` volume (not listed in
    /// `safe-to-evict-local-volumes`) is not removed (true).
    pub skip_nodes_with_local_storage: bool,
    /// `--scale-down-unready-time`: how long an unready node must stay
    /// unneeded before it is removed (20 min; ready ones wait
    /// `scale_down_unneeded_time`).
    pub scale_down_unready_time: SimDuration,
    /// `--ok-total-unready-count` (3) and `--max-total-unready-percentage`
    /// (45): with more unready nodes than both, the cluster is unhealthy
    /// and the autoscaler does nothing.
    pub ok_total_unready_count: u32,
    /// See `ok_total_unready_count`.
    pub max_total_unready_percentage: f64,
    /// `--max-graceful-termination-sec`: a drained pod's grace period is
    /// capped at this (600 s).
    pub max_graceful_termination: SimDuration,
    /// `--max-node-provision-time`: a node still not registered this long
    /// after it was requested is deleted and its scale-up counted failed
    /// (15 min).
    pub max_node_provision_time: SimDuration,
    /// `--initial-node-group-backoff-duration`: a group whose scale-up
    /// failed is not grown for this long (5 min) …
    pub initial_node_group_backoff: SimDuration,
    /// … doubled at each failure within `--node-group-backoff-reset-timeout`
    /// (3 h) of the last one, up to `--max-node-group-backoff-duration` (30 min).
    pub max_node_group_backoff: SimDuration,
}

/// `--node-group-backoff-reset-timeout`: a failure this long after the
/// last one starts the back-off again from its initial duration (3 h).
pub const NODE_GROUP_BACKOFF_RESET: SimDuration = SimDuration::from_secs(3 * 3600);

impl Default for ClusterAutoscalerConfig {
    fn default() -> ClusterAutoscalerConfig {
        ClusterAutoscalerConfig {
            expander: ExpanderChain::default(),
            scan_interval: SimDuration::from_secs(10),
            scale_down_utilization_threshold: 0.5,
            scale_down_unneeded_time: SimDuration::from_secs(600),
            scale_down_delay_after_add: SimDuration::from_secs(600),
            max_nodes_total: 0,
            max_empty_bulk_delete: 10,
            scale_down_non_empty_candidates_count: 30,
            skip_nodes_with_system_pods: true,
            skip_nodes_with_local_storage: true,
            scale_down_unready_time: SimDuration::from_secs(20 * 60),
            ok_total_unready_count: 3,
            max_total_unready_percentage: 45.0,
            max_graceful_termination: SimDuration::from_secs(600),
            max_node_provision_time: SimDuration::from_secs(15 * 60),
            initial_node_group_backoff: SimDuration::from_secs(5 * 60),
            max_node_group_backoff: SimDuration::from_secs(30 * 60),
        }
    }
}

/// A node found unneeded in one scan.
#[derive(Clone, Debug, PartialEq)]
struct Unneeded {
    node: usize,
    empty: bool,
    utilization: f64,
    moved: usize,
}

/// Kubernetes' Cluster Autoscaler (kubernetes/autoscaler
/// `cluster-autoscaler`), reduced to what a simulated cluster has.
///
/// Reproduced: the scan loop (scale-up first; scale-down only in a scan
/// without scale-up), pending replicas that fit a ready or booting node are
/// not scaled for, the binpacking estimator per group with its limits
/// (group `max`, `--max-nodes-total`), the five expanders and their
/// chains, one group grown per scan; the unneeded test (utilization below
/// the threshold, every movable replica placeable elsewhere — Job pods
/// included, which the Job controller replaces),
/// the pod rules that keep a node (`safe-to-evict`, `kube-system` pods
/// without a PDB under `--skip-nodes-with-system-pods`, see
/// [`DrainRules`]) and PodDisruptionBudgets, whose remaining disruptions
/// are spent by each node found unneeded in a scan (`RemainingPdbTracker`),
/// the unneeded timer reset when a node stops qualifying, the cool-down
/// after a scale-up, group `min`, empty nodes removed in bulk (up to
/// `--max-empty-bulk-delete`), at most one non-empty node drained at a
/// time (`--max-drain-parallelism` 1), candidates kept from scan to scan
/// first and non-empty ones simulated at most
/// `--scale-down-non-empty-candidates-count` per scan.
///
/// Not reproduced: local-storage volumes (the model has no volumes yet), pods without a controller,
/// DaemonSets, unready-node handling (`--scale-down-unready-time`,
/// `--max-total-unready-percentage`), balancing similar groups,
/// `--scale-down-delay-after-failure` (a drain here never fails), the
/// `grpc` expander, resource limits (`--cores-total`, `--memory-total`);
/// `--scale-down-delay-after-delete` is the scan interval, its default.
#[derive(Clone, Debug)]
pub struct ClusterAutoscaler {
    config: ClusterAutoscalerConfig,
    /// Node → since when it has been unneeded without a break.
    unneeded: BTreeMap<u32, SimTime>,
    last_scale_up: Option<SimTime>,
    /// Per group with a failed scale-up: its back-off (duration, until,
    /// last failure), as upstream's `exponentialBackoff`.
    backoff: BTreeMap<u32, Backoff>,
}

/// One node group's back-off after failed scale-ups.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// The last back-off's length.
    pub duration: SimDuration,
    /// Not grown before this.
    pub until: SimTime,
    /// When the last scale-up failed.
    pub last_failure: SimTime,
}

/// Upstream's `exponentialBackoff.Backoff` (`utils/backoff/exponential_backoff.go`):
/// the initial duration, or twice the previous one (capped) when the
/// previous failure is less than the reset timeout ago.
pub fn next_backoff(
    previous: Option<Backoff>,
    now: SimTime,
    initial: SimDuration,
    max: SimDuration,
) -> Backoff {
    let duration = match previous {
        Some(b) if now < b.last_failure + NODE_GROUP_BACKOFF_RESET => {
            SimDuration(b.duration.0.saturating_mul(2)).min(max)
        }
        _ => initial,
    };
    Backoff {
        duration,
        until: now + duration,
        last_failure: now,
    }
}

impl ClusterAutoscaler {
    /// A fresh autoscaler.
    pub fn new(config: ClusterAutoscalerConfig) -> ClusterAutoscaler {
        ClusterAutoscaler {
            config,
            unneeded: BTreeMap::new(),
            last_scale_up: None,
            backoff: BTreeMap::new(),
        }
    }

    /// The back-off of each group whose scale-up failed, by group index.
    pub fn backoff(&self) -> &BTreeMap<u32, Backoff> {
        &self.backoff
    }

    /// `ClusterStateRegistry.IsClusterHealthy`: unhealthy when the unready
    /// nodes (registered — not booting, not removed — and not ready) are
    /// more than `--ok-total-unready-count` and more than
    /// `--max-total-unready-percentage` of the registered nodes.
    pub fn cluster_healthy(&self, input: &ScanInput<'_>) -> bool {
        let (mut total, mut unready) = (0u32, 0u32);
        for (i, n) in input.observed.nodes.iter().enumerate() {
            let life = input.nodes.get(i).map_or(NodeLife::Ready, |n| n.life);
            if matches!(life, NodeLife::Booting | NodeLife::Removed) {
                continue;
            }
            total += 1;
            if !n.ready && life == NodeLife::Ready {
                unready += 1;
            }
        }
        let pct = self.config.max_total_unready_percentage / 100.0;
        !(unready > self.config.ok_total_unready_count
            && f64::from(unready) > pct * f64::from(total))
    }

    /// Nodes still booting `--max-node-provision-time` after they were
    /// added: upstream's `removeOldUnregisteredNodes`, with each group's
    /// failed scale-up backed off (once per scan).
    fn remove_unregistered(&mut self, input: &ScanInput<'_>) -> Vec<NodeAction> {
        let now = input.now;
        let ttl = self.config.max_node_provision_time;
        let mut actions = Vec::new();
        let mut failed = std::collections::BTreeSet::new();
        for (i, n) in input.nodes.iter().enumerate() {
            let Some(g) = n.group else { continue };
            if n.life != NodeLife::Booting || now < n.created + ttl {
                continue;
            }
            if failed.insert(g) {
                let b = next_backoff(
                    self.backoff.get(&g).copied(),
                    now,
                    self.config.initial_node_group_backoff,
                    self.config.max_node_group_backoff,
                );
                self.backoff.insert(g, b);
            }
            let until = self.backoff[&g].until;
            actions.push(NodeAction::Remove {
                node: NodeId(i as u32),
                reason: format!(
                    "not registered {} after it was requested (max-node-provision-time {ttl}): scale-up failed, group backed off until {until}",
                    now - n.created
                ),
            });
        }
        actions
    }

    /// Since when each unneeded node has been unneeded, by node id.
    pub fn unneeded_since(&self) -> &BTreeMap<u32, SimTime> {
        &self.unneeded
    }

    /// The nodes unneeded now (see the type's documentation), in the
    /// order found: empty ones, then those already unneeded, then the rest.
    fn unneeded_nodes(&self, input: &ScanInput<'_>) -> Vec<Unneeded> {
        let threshold = self.config.scale_down_utilization_threshold;
        let candidates: Vec<(usize, f64)> = input
            .observed
            .nodes
            .iter()
            .enumerate()
            .filter(|&(i, _)| {
                input
                    .nodes
                    .get(i)
                    .is_some_and(|n| n.group.is_some() && n.life == NodeLife::Ready)
            })
            .map(|(i, n)| (i, utilization(n)))
            .filter(|&(_, u)| u < threshold)
            .collect();
        let ids: Vec<usize> = candidates.iter().map(|c| c.0).collect();
        let rules = DrainRules::ClusterAutoscaler {
            skip_nodes_with_system_pods: self.config.skip_nodes_with_system_pods,
            skip_nodes_with_local_storage: self.config.skip_nodes_with_local_storage,
        };
        let moves = movable(input, &ids, rules);
        let mut order: Vec<usize> = (0..candidates.len())
            .filter(|&k| moves[k].1.is_none())
            .collect();
        let mut budgets = PdbTracker::new(input);
        order.sort_by_key(|&k| {
            let (i, _) = candidates[k];
            (
                !moves[k].0.is_empty(),
                !self.unneeded.contains_key(&(i as u32)),
                i,
            )
        });
        let mut sim = DrainSim::new(input);
        let mut found = Vec::new();
        let mut simulated = 0u32;
        for k in order {
            let (i, u) = candidates[k];
            let replicas = &moves[k].0;
            if sim.receiving[i] {
                continue;
            }
            if !replicas.is_empty() {
                if simulated >= self.config.scale_down_non_empty_candidates_count {
                    continue;
                }
                simulated += 1;
            }
            if budgets.can_remove(input, replicas).is_err() {
                continue;
            }
            if sim.simulate(i, replicas).is_empty() {
                sim.commit();
                budgets.remove(input, replicas);
                found.push(Unneeded {
                    node: i,
                    empty: replicas.is_empty(),
                    utilization: u,
                    moved: replicas.len(),
                });
            } else {
                sim.rollback(i);
            }
        }
        found
    }
}

impl NodeAutoscale for ClusterAutoscaler {
    fn name(&self) -> &'static str {
        "cluster-autoscaler"
    }

    fn scan_interval(&self) -> SimDuration {
        self.config.scan_interval
    }

    fn scan(&mut self, input: &ScanInput<'_>, rng: &mut dyn Rng) -> Vec<NodeAction> {
        let now = input.now;
        if !self.cluster_healthy(input) {
            return Vec::new(); // upstream: "Cluster is not ready for autoscaling"
        }
        let removed = self.remove_unregistered(input);
        if !removed.is_empty() {
            return removed; // upstream's RunOnce returns after removing them
        }
        let backed_off: Vec<bool> = (0..input.groups.len() as u32)
            .map(|g| self.backoff.get(&g).is_some_and(|b| now < b.until))
            .collect();
        if let Some(up) = scale_up(
            input,
            &self.config.expander,
            self.config.max_nodes_total,
            &backed_off,
            rng,
        ) {
            self.last_scale_up = Some(now);
            return vec![up];
        }
        let found = self.unneeded_nodes(input);
        let previous = std::mem::take(&mut self.unneeded);
        for u in &found {
            let id = u.node as u32;
            self.unneeded
                .insert(id, previous.get(&id).copied().unwrap_or(now));
        }
        if self
            .last_scale_up
            .is_some_and(|t| now < t + self.config.scale_down_delay_after_add)
        {
            return Vec::new();
        }
        let draining = input
            .nodes
            .iter()
            .enumerate()
            .any(|(i, n)| n.life == NodeLife::Draining && input.observed.nodes[i].replicas > 0);
        let mut sizes = input.group_sizes();
        let (mut empties, mut non_empty) = (0u32, 0u32);
        let mut actions = Vec::new();
        for u in &found {
            let since = self.unneeded[&(u.node as u32)];
            // Upstream's unneeded.go: unready nodes wait the unready time.
            let wait = if input.observed.nodes[u.node].ready {
                self.config.scale_down_unneeded_time
            } else {
                self.config.scale_down_unready_time
            };
            if now < since + wait {
                continue;
            }
            let Some(g) = input.nodes[u.node].group.map(|g| g as usize) else {
                continue;
            };
            if sizes[g] <= input.groups[g].min {
                continue;
            }
            if u.empty {
                if empties >= self.config.max_empty_bulk_delete {
                    continue;
                }
                empties += 1;
            } else {
                if draining || non_empty >= 1 {
                    continue;
                }
                non_empty += 1;
            }
            sizes[g] -= 1;
            let unneeded_for = (now - since).as_secs_f64();
            let reason = if u.empty {
                format!("empty, unneeded for {unneeded_for}s")
            } else {
                format!(
                    "utilization {:.3} below {} for {unneeded_for}s; its {} replicas fit elsewhere",
                    u.utilization, self.config.scale_down_utilization_threshold, u.moved
                )
            };
            actions.push(NodeAction::Remove {
                node: NodeId(u.node as u32),
                reason,
            });
        }
        for a in &actions {
            if let NodeAction::Remove { node, .. } = a {
                self.unneeded.remove(&node.0);
            }
        }
        actions
    }
}
