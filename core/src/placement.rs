//! The placement seam: choosing a node for each pending replica.
//!
//! Key decision: a placement policy sees the nodes and their current
//! allocation and answers with a node *or the reasons every node was
//! rejected* (`0/20 nodes are available: 20 Insufficient cpu.`, as
//! kube-scheduler words it), so pending replicas can be explained. The batch
//! driver [`schedule`] owns the bookkeeping of what it has just bound, so
//! policies stay stateless functions of their inputs. First fit is the
//! foundation's policy; the kube-scheduler-style framework plugs in here.

use std::collections::BTreeMap;
use std::fmt;

use rand::Rng;

use crate::action::Action;
use crate::model::{
    DesiredState, NodeId, NodeStatus, ObservedCluster, ReplicaId, ReplicaState, ReplicaStatus,
    ResourceName, Resources, ServiceId,
};
use crate::time::SimTime;

/// Why one node cannot take a replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FilterReason {
    /// Requests plus allocated exceed allocatable for this resource.
    Insufficient(ResourceName),
    /// The node does not accept replicas.
    NotReady,
}

impl fmt::Display for FilterReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterReason::Insufficient(r) => write!(f, "Insufficient {}", r.as_str()),
            FilterReason::NotReady => write!(f, "node(s) were not ready"),
        }
    }
}

/// No node can take a replica, with a count of nodes per reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Unschedulable {
    /// Nodes considered.
    pub nodes: u32,
    /// How many nodes were rejected for each reason.
    pub reasons: BTreeMap<FilterReason, u32>,
}

impl Unschedulable {
    /// Counts one more rejected node.
    pub fn add(&mut self, reason: FilterReason) {
        self.nodes += 1;
        *self.reasons.entry(reason).or_default() += 1;
    }
}

impl fmt::Display for Unschedulable {
    /// Formats like kube-scheduler's FitError: `0/3 nodes are available: 3 Insufficient cpu.`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0/{} nodes are available", self.nodes)?;
        let mut sep = ": ";
        for (reason, n) in &self.reasons {
            write!(f, "{sep}{n} {reason}")?;
            sep = ", ";
        }
        write!(f, ".")
    }
}

/// What is bound to a node during a scheduling batch: the node's allocation
/// plus the binds the batch has made so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeAlloc {
    /// Sum of requests.
    pub requested: Resources,
    /// Sum of requests with Kubernetes' non-zero defaults.
    pub non_zero: Resources,
}

impl NodeAlloc {
    /// The allocation of `node` as observed.
    pub fn of(node: &NodeStatus) -> NodeAlloc {
        NodeAlloc {
            requested: node.allocated,
            non_zero: node.non_zero_allocated,
        }
    }

    /// Adds a replica's requests.
    pub fn add(&mut self, requests: Resources) {
        self.requested += requests;
        self.non_zero += requests.non_zero();
    }
}

/// Why a policy would or would not choose each node: for `sim place`.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Explanation {
    /// The policy.
    pub policy: String,
    /// One row per node, in node order.
    pub nodes: Vec<NodeVerdict>,
    /// The node the policy chose, if any.
    pub chosen: Option<String>,
}

/// One node's verdicts.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct NodeVerdict {
    /// Node name.
    pub node: String,
    /// `(filter, None if passed else the reason)`.
    pub filters: Vec<(String, Option<String>)>,
    /// `(score plugin, raw 0..100, weighted)` for feasible nodes.
    pub scores: Vec<(String, i64, i64)>,
    /// Sum of weighted scores.
    pub total: i64,
}

/// A placement policy: pick a node for one replica's requests.
pub trait Place: Send {
    /// The name the registry knows it by.
    fn name(&self) -> &'static str;

    /// Picks a node for `request`, given each node's status and its current
    /// allocation (`allocated[i]` for `nodes[i]`, including binds made
    /// earlier in the same batch).
    fn place(
        &mut self,
        request: &Resources,
        nodes: &[NodeStatus],
        allocated: &[NodeAlloc],
        rng: &mut dyn Rng,
    ) -> Result<NodeId, Unschedulable>;

    /// Every node's filter verdicts and scores for `request`. The default
    /// explains the resource-fit filter only (policies without scores).
    fn explain(
        &self,
        request: &Resources,
        nodes: &[NodeStatus],
        allocated: &[NodeAlloc],
    ) -> Vec<NodeVerdict> {
        nodes
            .iter()
            .zip(allocated)
            .map(|(n, a)| NodeVerdict {
                node: n.spec.name.clone(),
                filters: vec![(
                    "NodeResourcesFit".into(),
                    fits(request, n, a).err().map(|r| r.to_string()),
                )],
                scores: vec![],
                total: 0,
            })
            .collect()
    }
}

/// Explains a decision: every node's verdicts, then the policy's choice.
pub fn explain(
    policy: &mut dyn Place,
    request: &Resources,
    nodes: &[NodeStatus],
    allocated: &[NodeAlloc],
    rng: &mut dyn Rng,
) -> Explanation {
    let rows = policy.explain(request, nodes, allocated);
    let chosen = policy
        .place(request, nodes, allocated, rng)
        .ok()
        .map(|id| nodes[id.0 as usize].spec.name.clone());
    Explanation {
        policy: policy.name().to_string(),
        nodes: rows,
        chosen,
    }
}

/// Checks one node: the kube-scheduler NodeResourcesFit filter, reduced to cpu and memory.
pub fn fits(
    request: &Resources,
    node: &NodeStatus,
    allocated: &NodeAlloc,
) -> Result<(), FilterReason> {
    if !node.ready {
        return Err(FilterReason::NotReady);
    }
    match request.first_shortfall(&allocated.requested, &node.spec.allocatable) {
        Some(r) => Err(FilterReason::Insufficient(r)),
        None => Ok(()),
    }
}

/// First fit: the first node, in node order, with room for the replica.
#[derive(Clone, Copy, Debug, Default)]
pub struct FirstFit;

impl Place for FirstFit {
    fn name(&self) -> &'static str {
        "first-fit"
    }

    fn place(
        &mut self,
        request: &Resources,
        nodes: &[NodeStatus],
        allocated: &[NodeAlloc],
        _rng: &mut dyn Rng,
    ) -> Result<NodeId, Unschedulable> {
        let mut why = Unschedulable::default();
        for (i, node) in nodes.iter().enumerate() {
            match fits(request, node, &allocated[i]) {
                Ok(()) => return Ok(NodeId(i as u32)),
                Err(reason) => why.add(reason),
            }
        }
        Err(why)
    }
}

/// Places every pending replica in id order, returning a `Bind` or an
/// `Unschedulable` action for each.
pub fn schedule(
    desired: &DesiredState,
    observed: &ObservedCluster,
    policy: &mut dyn Place,
    rng: &mut dyn Rng,
) -> Vec<Action> {
    let mut allocated: Vec<NodeAlloc> = observed.nodes.iter().map(NodeAlloc::of).collect();
    let mut actions = Vec::new();
    for (i, r) in observed.replicas.iter().enumerate() {
        if r.state != ReplicaState::Pending {
            continue;
        }
        let replica = ReplicaId(i as u32);
        let request = desired.services[r.service.0 as usize].requests;
        match policy.place(&request, &observed.nodes, &allocated, rng) {
            Ok(node) => {
                allocated[node.0 as usize].add(request);
                actions.push(Action::Bind { replica, node });
            }
            Err(why) => actions.push(Action::Unschedulable { replica, why }),
        }
    }
    actions
}

/// The outcome of placing a whole desired state on empty nodes.
#[derive(Clone, Debug)]
pub struct InitialPlacement {
    /// The cluster after the binds (bound replicas `Starting`, others `Pending`).
    pub observed: ObservedCluster,
    /// Replicas placed, per service.
    pub placed: Vec<u32>,
    /// Why the first replica of each service that could not be placed was not.
    pub first_failure: Vec<Option<Unschedulable>>,
}

/// A dry run of the first reconcile: every replica of `desired` placed on
/// `nodes` (empty) in id order with `policy`. Used to reject scenarios whose
/// replicas cannot fit, and by `sim place` to show the cluster it explains.
pub fn place_initial(
    desired: &DesiredState,
    nodes: Vec<NodeStatus>,
    policy: &mut dyn Place,
    rng: &mut dyn Rng,
) -> InitialPlacement {
    let mut observed = ObservedCluster {
        nodes,
        replicas: desired
            .services
            .iter()
            .enumerate()
            .flat_map(|(i, s)| {
                std::iter::repeat_n(
                    ReplicaStatus {
                        service: ServiceId(i as u32),
                        node: None,
                        state: ReplicaState::Pending,
                        since: SimTime::ZERO,
                    },
                    s.replicas as usize,
                )
            })
            .collect(),
    };
    let n = desired.services.len();
    let (mut placed, mut first_failure) = (vec![0u32; n], vec![None; n]);
    for a in schedule(desired, &observed, policy, rng) {
        match a {
            Action::Bind { replica, node } => {
                let r = &mut observed.replicas[replica.0 as usize];
                let s = r.service.0 as usize;
                r.node = Some(node);
                r.state = ReplicaState::Starting;
                observed.nodes[node.0 as usize].add(desired.services[s].requests);
                placed[s] += 1;
            }
            Action::Unschedulable { replica, why } => {
                let s = observed.replicas[replica.0 as usize].service.0 as usize;
                first_failure[s].get_or_insert(why);
            }
            _ => {}
        }
    }
    InitialPlacement {
        observed,
        placed,
        first_failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ReplicaStatus, ServiceId, ServiceSpec};
    use crate::rng::stream;
    use crate::testing::{node, service};
    use crate::time::SimTime;

    #[test]
    fn first_fit_takes_the_first_node_with_room() {
        let nodes = vec![
            node("a").cpu("1").mem("1Gi").status(),
            node("b").cpu("4").mem("8Gi").status(),
        ];
        let allocated = vec![
            NodeAlloc::default(),
            NodeAlloc {
                requested: Resources::new(3000, 0),
                non_zero: Resources::new(3000, 200 << 20),
            },
        ];
        let mut rng = stream(0, "t");
        // 500m fits a (0 + 500 ≤ 1000).
        assert_eq!(
            FirstFit.place(&Resources::new(500, 0), &nodes, &allocated, &mut rng),
            Ok(NodeId(0))
        );
        // 1000m fits a exactly (0 + 1000 ≤ 1000).
        assert_eq!(
            FirstFit.place(&Resources::new(1000, 0), &nodes, &allocated, &mut rng),
            Ok(NodeId(0))
        );
        // 1001m: a has 1000, b has 4000 − 3000 = 1000 left: nowhere.
        let err = FirstFit
            .place(&Resources::new(1001, 0), &nodes, &allocated, &mut rng)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "0/2 nodes are available: 2 Insufficient cpu."
        );
    }

    #[test]
    fn batch_scheduling_accounts_for_its_own_binds() {
        let desired = DesiredState {
            services: vec![ServiceSpec {
                requests: Resources::new(600, 1 << 30),
                ..service("web")
            }],
        };
        let pending = ReplicaStatus {
            service: ServiceId(0),
            node: None,
            state: ReplicaState::Pending,
            since: SimTime(0),
        };
        let mut not_ready = node("c").cpu("8").mem("8Gi").status();
        not_ready.ready = false;
        let observed = ObservedCluster {
            nodes: vec![
                node("a").cpu("1").mem("8Gi").status(),
                node("b").cpu("1").mem("1Gi").status(),
                not_ready,
            ],
            replicas: vec![pending; 3],
        };
        let actions = schedule(&desired, &observed, &mut FirstFit, &mut stream(0, "t"));
        // a: 600m of 1000m; b: 600m of 1000m; third: a (1200 > 1000 cpu), b (cpu), c not ready.
        assert_eq!(
            actions[0],
            Action::Bind {
                replica: ReplicaId(0),
                node: NodeId(0)
            }
        );
        assert_eq!(
            actions[1],
            Action::Bind {
                replica: ReplicaId(1),
                node: NodeId(1)
            }
        );
        let Action::Unschedulable { why, .. } = &actions[2] else {
            panic!("{actions:?}")
        };
        assert_eq!(
            why.to_string(),
            "0/3 nodes are available: 2 Insufficient cpu, 1 node(s) were not ready."
        );
    }
}
