//! Node autoscaling: the Kubernetes Cluster Autoscaler and Karpenter-style
//! consolidation, deciding when node groups grow and which nodes go.
//!
//! Key decision: a node autoscaler is a plain struct behind one
//! [`NodeAutoscale`] trait, called every scan interval with a [`ScanInput`]
//! — the node groups, each node's group and lifecycle ([`NodeInfo`]: booting,
//! ready, draining, removed), the observed cluster and the desired state —
//! and answering with [`NodeAction`]s (add nodes to a group, remove a node,
//! replace a node) that the world applies its own way. Every fit question
//! (does a pending replica fit a new node of this group, do a node's
//! replicas fit elsewhere) is asked of the core's hard filters
//! ([`crate::sched::hard::HardFilters`]: taints, node selector and affinity,
//! resources, required anti-affinity, `DoNotSchedule` spreading), so the
//! autoscaler never adds a node that the scheduler would refuse to use.
//! The decisions are built from pure functions ([`pending_groups`],
//! [`estimator::estimate`], [`expander::best_option`],
//! [`drain::utilization`]); the autoscalers keep only the history the
//! upstream controllers keep (when a node became unneeded, when the last
//! scale-up was).
//!
//! Sources: Cluster Autoscaler's FAQ ("How does scale-up work?", "How does
//! scale-down work?", "What are Expanders?", "What are the parameters to
//! CA?") and code (`estimator/binpacking_estimator.go`,
//! `estimator/decreasing_pod_orderer.go`, `expander/{random,mostpods,waste,
//! price}`, `simulator/utilization`) in kubernetes/autoscaler; Karpenter's
//! "Disruption" concepts page (aws/karpenter-provider-aws). What each part
//! reproduces and leaves out is stated in [`ClusterAutoscaler`] and
//! [`Karpenter`].

mod cluster_autoscaler;
pub mod drain;
pub mod estimator;
pub mod expander;
mod karpenter;

#[cfg(test)]
mod tests;

use rand::Rng;

pub use cluster_autoscaler::{
    Backoff, ClusterAutoscaler, ClusterAutoscalerConfig, NODE_GROUP_BACKOFF_RESET, next_backoff,
};
pub use expander::{Expander, ExpanderChain, GroupPattern, PriorityTier};
pub use karpenter::{ConsolidationPolicy, Karpenter, KarpenterConfig};

use crate::model::{
    DesiredState, LABEL_HOSTNAME, NodeId, NodeSpec, ObservedCluster, ReplicaState, ServiceId,
};
use crate::time::{SimDuration, SimTime};

/// A set of identical nodes the autoscaler may grow and shrink: an
/// autoscaled pool of the scenario (upstream's node group, Karpenter's
/// NodePool reduced to one instance type).
#[derive(Clone, Debug, PartialEq)]
pub struct NodeGroup {
    /// Group (pool) name; its nodes are `<name>-<index>`.
    pub name: String,
    /// What every node of the group looks like: capacity, allocatable,
    /// zone, labels (with `topology.kubernetes.io/zone`) and taints. The
    /// name is the group's; [`NodeGroup::node_spec`] names a node.
    pub template: NodeSpec,
    /// Fewest nodes: scale-down stops here.
    pub min: u32,
    /// Most nodes: scale-up stops here.
    pub max: u32,
    /// From the scale-up decision to the node accepting replicas.
    pub boot_delay: SimDuration,
    /// What one node costs per hour of existence (any currency).
    pub cost_per_hour: f64,
}

impl NodeGroup {
    /// The spec of the group's node number `index`: `<name>-<index>`, with
    /// its `kubernetes.io/hostname` label.
    pub fn node_spec(&self, index: u32) -> NodeSpec {
        let mut spec = self.template.clone();
        spec.name = format!("{}-{index}", self.name);
        spec.labels
            .insert(LABEL_HOSTNAME.to_string(), spec.name.clone());
        spec
    }
}

/// Where a node is in its life, as the world reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeLife {
    /// Added by a scale-up; not accepting replicas until its boot delay passed.
    Booting,
    /// Accepting replicas.
    Ready,
    /// Cordoned: its replicas are being deleted (or it waits for its
    /// replacement to be ready); it goes once empty.
    Draining,
    /// Gone. Kept so that node ids stay stable; never reused.
    Removed,
}

impl NodeLife {
    /// Lower-case name for output.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeLife::Booting => "booting",
            NodeLife::Ready => "ready",
            NodeLife::Draining => "draining",
            NodeLife::Removed => "removed",
        }
    }

    /// Counts towards its group's size (booting or ready): a draining node
    /// has already been taken off the target size, as upstream's
    /// `DeleteNodes` decreases it when deletion starts.
    pub fn counts(self) -> bool {
        matches!(self, NodeLife::Booting | NodeLife::Ready)
    }
}

/// One node as the autoscaler sees it, beside its [`crate::model::NodeStatus`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    /// Index into [`ScanInput::groups`]; `None` for a node of a pool that
    /// is not autoscaled (never added or removed).
    pub group: Option<u32>,
    /// Lifecycle.
    pub life: NodeLife,
    /// When it was added (0 for the scenario's initial nodes): Karpenter's
    /// `expireAfter` counts from here.
    pub created: SimTime,
}

/// What a node autoscaler sees at one scan.
#[derive(Clone, Copy, Debug)]
pub struct ScanInput<'a> {
    /// Now.
    pub now: SimTime,
    /// The autoscaled node groups.
    pub groups: &'a [NodeGroup],
    /// Per node, aligned with `observed.nodes`.
    pub nodes: &'a [NodeInfo],
    /// The cluster: nodes (with allocations) and replicas.
    pub observed: &'a ObservedCluster,
    /// Requests and constraints of every service.
    pub desired: &'a DesiredState,
    /// The PodDisruptionBudgets every removal honours.
    pub pdbs: &'a [crate::disruption::PodDisruptionBudget],
}

impl ScanInput<'_> {
    /// Nodes of group `g` that count towards its size (booting or ready).
    pub fn group_size(&self, g: usize) -> u32 {
        self.nodes
            .iter()
            .filter(|n| n.group == Some(g as u32) && n.life.counts())
            .count() as u32
    }

    /// Per group, the nodes that count towards its size.
    pub fn group_sizes(&self) -> Vec<u32> {
        let mut sizes = vec![0u32; self.groups.len()];
        for n in self.nodes {
            if let Some(g) = n.group
                && n.life.counts()
            {
                sizes[g as usize] += 1;
            }
        }
        sizes
    }

    /// Nodes of every pool that count towards the cluster's size.
    pub fn cluster_size(&self) -> u32 {
        self.nodes.iter().filter(|n| n.life.counts()).count() as u32
    }
}

/// What a node autoscaler asks the world to do.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeAction {
    /// Add `count` nodes to group `group`; they boot for its boot delay.
    ScaleUp {
        /// Index into the groups.
        group: u32,
        /// Nodes to add (≥ 1).
        count: u32,
        /// Pending replicas the estimate placed on them.
        pods: u32,
        /// Why, for `events.csv`.
        reason: String,
    },
    /// Cordon `node`, delete its replicas (their services' controllers
    /// recreate them and the scheduler places them elsewhere) and remove the
    /// node once it is empty.
    Remove {
        /// The node.
        node: NodeId,
        /// Why, for `events.csv`.
        reason: String,
    },
    /// Karpenter's replace: cordon `nodes`, add one node of the cheaper
    /// group `group`, and drain and remove `nodes` once that node is ready.
    Replace {
        /// The nodes replaced (several for multi-node consolidation).
        nodes: Vec<NodeId>,
        /// The group of its replacement.
        group: u32,
        /// Why, for `events.csv`.
        reason: String,
    },
}

/// A node autoscaler: node group sizes from pending replicas and node use.
pub trait NodeAutoscale: Send {
    /// The name scenarios use (`kind`).
    fn name(&self) -> &'static str;
    /// How often [`NodeAutoscale::scan`] is called.
    fn scan_interval(&self) -> SimDuration;
    /// The actions at `input.now`. Stateful: records what it needs for the
    /// next scan (unneeded timers, the last scale-up).
    fn scan(&mut self, input: &ScanInput<'_>, rng: &mut dyn Rng) -> Vec<NodeAction>;
}

/// A node autoscaler as a scenario declares it.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeAutoscalerSpec {
    /// Kubernetes' Cluster Autoscaler.
    ClusterAutoscaler(ClusterAutoscalerConfig),
    /// Karpenter-style provisioning and consolidation.
    Karpenter(KarpenterConfig),
}

impl NodeAutoscalerSpec {
    /// A fresh autoscaler.
    pub fn build(&self) -> Box<dyn NodeAutoscale> {
        match self {
            NodeAutoscalerSpec::ClusterAutoscaler(c) => Box::new(ClusterAutoscaler::new(c.clone())),
            NodeAutoscalerSpec::Karpenter(c) => Box::new(Karpenter::new(c.clone())),
        }
    }

    /// The `kind` a scenario writes.
    pub fn kind(&self) -> &'static str {
        match self {
            NodeAutoscalerSpec::ClusterAutoscaler(_) => "cluster-autoscaler",
            NodeAutoscalerSpec::Karpenter(_) => "karpenter",
        }
    }
}

/// Node autoscaler kinds with one-line descriptions, for `sim list policies`.
pub const NODE_AUTOSCALERS: &[(&str, &str)] = &[
    (
        "cluster-autoscaler",
        "Kubernetes Cluster Autoscaler: binpacking estimate per node group, an expander picks the group; removes nodes under 50% requested for 10 min whose replicas fit elsewhere",
    ),
    (
        "karpenter",
        "Karpenter-style: cheapest group per pending replica; consolidation deletes empty nodes and nodes whose replicas fit elsewhere, replaces a node by a cheaper one",
    ),
];

/// The pending replicas of one service: identical pods (upstream's
/// `PodEquivalenceGroup`), so the estimator answers for all of them at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingGroup {
    /// Their service (or job shape).
    pub service: ServiceId,
    /// How many are pending and not yet placed in this scan's simulation.
    pub count: u32,
    /// The one replica of the group, for a StatefulSet's pods: each has
    /// its own claims, so each is a group of its own.
    pub replica: Option<crate::model::ReplicaId>,
}

/// Every service's pending (unbound) replicas, in service order. All of
/// them count: a world schedules every new replica at the instant it is
/// created, so a replica still pending when the autoscaler looks has
/// failed to fit (upstream acts on pods the scheduler marked unschedulable).
pub fn pending_groups(observed: &ObservedCluster, desired: &DesiredState) -> Vec<PendingGroup> {
    let mut counts = vec![0u32; desired.services.len()];
    let mut own = Vec::new();
    for (i, r) in observed.replicas.iter().enumerate() {
        if r.state != ReplicaState::Pending {
            continue;
        }
        let s = r.service.0 as usize;
        if desired
            .services
            .get(s)
            .is_some_and(|d| d.stateful.is_some())
        {
            own.push(PendingGroup {
                service: r.service,
                count: 1,
                replica: Some(crate::model::ReplicaId(i as u32)),
            });
        } else if let Some(c) = counts.get_mut(s) {
            *c += 1;
        }
    }
    let mut out: Vec<PendingGroup> = counts
        .into_iter()
        .enumerate()
        .filter(|&(_, c)| c > 0)
        .map(|(s, count)| PendingGroup {
            service: ServiceId(s as u32),
            count,
            replica: None,
        })
        .collect();
    out.extend(own);
    out.sort_by_key(|p| (p.service, p.replica));
    out
}

/// Scale-up shared by both autoscalers: drop the pending replicas that fit
/// a ready or booting node (upstream's `FilterOutSchedulable` with upcoming
/// nodes in the snapshot), estimate for every group with room how many new
/// nodes the rest need, and let `expander` choose. `None` when nothing is
/// pending, every pending replica already has a place, or no group can help.
pub(crate) fn scale_up(
    input: &ScanInput<'_>,
    expander: &ExpanderChain,
    max_nodes_total: u32,
    backed_off: &[bool],
    rng: &mut dyn Rng,
) -> Option<NodeAction> {
    let mut pending = pending_groups(input.observed, input.desired);
    if pending.is_empty() {
        return None;
    }
    estimator::filter_out_schedulable(input, &mut pending);
    pending.retain(|p| p.count > 0);
    if pending.is_empty() {
        return None;
    }
    let sizes = input.group_sizes();
    let total_room = if max_nodes_total == 0 {
        u32::MAX
    } else {
        max_nodes_total.saturating_sub(input.cluster_size())
    };
    let mut options = Vec::new();
    for (g, group) in input.groups.iter().enumerate() {
        let limit = group.max.saturating_sub(sizes[g]).min(total_room);
        if limit == 0 || backed_off.get(g).copied().unwrap_or(false) {
            continue;
        }
        let e = estimator::estimate(
            group,
            &pending,
            input.desired,
            &input.observed.storage,
            limit,
        );
        if e.nodes > 0 {
            options.push(expander::ExpansionOption {
                group: g,
                nodes: e.nodes,
                pods: e.pods,
                requested: e.requested,
            });
        }
    }
    let best = expander::best_option(expander, &options, input.groups, rng)?;
    let o = &options[best];
    let total: u32 = pending.iter().map(|p| p.count).sum();
    Some(NodeAction::ScaleUp {
        group: o.group as u32,
        count: o.nodes,
        pods: o.pods,
        reason: format!(
            "{} of {total} pending replicas fit {} new node(s); expander {}",
            o.pods, o.nodes, expander
        ),
    })
}
