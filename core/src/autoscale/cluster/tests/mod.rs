//! Scans of both node autoscalers over small hand-built clusters, with the
//! expected decisions worked out in comments.

mod cluster_autoscaler;
mod karpenter;

use super::*;
use crate::model::{LABEL_HOSTNAME, NodeStatus, ReplicaStatus, Resources, ServiceSpec};
use crate::rng::{StreamRng, stream};
use crate::testing::{node, service};

pub(super) const GI: u64 = 1 << 30;

/// A node group of identical `cpu`/`mem` nodes costing `cost` per hour.
pub(super) fn group(name: &str, cpu: &str, mem: &str, min: u32, max: u32, cost: f64) -> NodeGroup {
    let mut template = node(name).cpu(cpu).mem(mem).spec();
    template.labels.remove(LABEL_HOSTNAME);
    NodeGroup {
        name: name.into(),
        template,
        min,
        max,
        boot_delay: SimDuration::from_secs(60),
        cost_per_hour: cost,
    }
}

/// A world: groups, nodes with their lifecycle, replicas and services.
pub(super) struct World {
    pub(super) groups: Vec<NodeGroup>,
    pub(super) nodes: Vec<NodeInfo>,
    pub(super) observed: ObservedCluster,
    pub(super) desired: DesiredState,
    pub(super) pdbs: Vec<crate::disruption::PodDisruptionBudget>,
    rng: StreamRng,
}

impl World {
    /// Services requesting `requests` (cpu milli, memory bytes) each.
    pub(super) fn new(groups: Vec<NodeGroup>, requests: &[(u64, u64)]) -> World {
        World {
            groups,
            nodes: Vec::new(),
            observed: ObservedCluster::default(),
            desired: DesiredState {
                services: requests
                    .iter()
                    .enumerate()
                    .map(|(i, &(c, m))| ServiceSpec {
                        requests: Resources::new(c, m),
                        ..service(&format!("s{i}"))
                    })
                    .collect(),
            },
            pdbs: Vec::new(),
            rng: stream(7, "t"),
        }
    }

    /// Adds a node of group `g` in state `life`; returns its index.
    pub(super) fn add(&mut self, g: usize, life: NodeLife) -> usize {
        let k = self
            .nodes
            .iter()
            .filter(|n| n.group == Some(g as u32))
            .count();
        let mut status = NodeStatus::new(self.groups[g].node_spec(k as u32));
        status.ready = life == NodeLife::Ready;
        self.observed.nodes.push(status);
        self.nodes.push(NodeInfo {
            group: Some(g as u32),
            life,
            created: SimTime::ZERO,
        });
        self.nodes.len() - 1
    }

    /// Binds `n` ready replicas of service `s` to node `i`.
    pub(super) fn bind(&mut self, i: usize, s: u32, n: u32) {
        for _ in 0..n {
            self.observed.replicas.push(ReplicaStatus {
                service: ServiceId(s),
                node: Some(NodeId(i as u32)),
                state: ReplicaState::Ready,
                since: SimTime::ZERO,
            });
            let req = self.desired.services[s as usize].requests;
            self.observed.bind(NodeId(i as u32), ServiceId(s), req);
        }
    }

    /// Removes one replica of service `s` from node `i`.
    pub(super) fn unbind(&mut self, i: usize, s: u32) {
        let k = self
            .observed
            .replicas
            .iter()
            .position(|r| {
                r.node == Some(NodeId(i as u32))
                    && r.service == ServiceId(s)
                    && r.state == ReplicaState::Ready
            })
            .expect("a replica to remove");
        self.observed.replicas[k].state = ReplicaState::Terminated;
        let req = self.desired.services[s as usize].requests;
        self.observed.unbind(NodeId(i as u32), ServiceId(s), req);
    }

    /// Adds `n` pending replicas of service `s`.
    pub(super) fn pend(&mut self, s: u32, n: u32) {
        for _ in 0..n {
            self.observed.replicas.push(ReplicaStatus {
                service: ServiceId(s),
                node: None,
                state: ReplicaState::Pending,
                since: SimTime::ZERO,
            });
        }
    }

    /// Deletes every pending replica.
    pub(super) fn clear_pending(&mut self) {
        for r in &mut self.observed.replicas {
            if r.state == ReplicaState::Pending {
                r.state = ReplicaState::Terminated;
            }
        }
    }

    /// One scan of `scaler` at `secs`.
    pub(super) fn scan(&mut self, scaler: &mut dyn NodeAutoscale, secs: u64) -> Vec<NodeAction> {
        let input = ScanInput {
            now: SimTime(secs * 1_000_000_000),
            groups: &self.groups,
            nodes: &self.nodes,
            observed: &self.observed,
            desired: &self.desired,
            pdbs: &self.pdbs,
        };
        scaler.scan(&input, &mut self.rng)
    }
}

/// The `(group, count, pods)` of a scale-up, the node of a removal.
pub(super) fn summary(actions: &[NodeAction]) -> Vec<String> {
    actions
        .iter()
        .map(|a| match a {
            NodeAction::ScaleUp {
                group, count, pods, ..
            } => format!("up g{group} +{count} ({pods} pods)"),
            NodeAction::Remove { node, .. } => format!("remove {}", node.0),
            NodeAction::Replace { nodes, group, .. } => {
                let ids: Vec<String> = nodes.iter().map(|n| n.0.to_string()).collect();
                format!("replace {} by g{group}", ids.join("+"))
            }
        })
        .collect()
}
