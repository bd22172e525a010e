//! Would a node's replicas fit elsewhere: node utilization, the replicas a
//! removal moves, and the drain simulation both node autoscalers share.
//!
//! Key decision: `DrainSim` places each replica of a node to be removed
//! on the first other ready node that passes the core's hard filters,
//! against a scratch copy of every node's allocation that keeps the moves
//! of the nodes already chosen for removal in the same scan (upstream
//! memorises them as hints), so two removals never count on the same free
//! space, and a node that received replicas is no candidate itself.

use std::collections::HashMap;

use super::{NodeLife, ScanInput};
use crate::model::{NodeId, NodeStatus, ReplicaId, ReplicaState, ServiceId, ServiceKind};
use crate::placement::{Batch, ClusterView, NodeAlloc, Request};
use crate::sched::hard::HardFilters;

/// Upstream's node utilization (`simulator/utilization`): requested ÷
/// allocatable per resource, the larger of cpu and memory; on a node with
/// GPUs, the GPU fraction alone. A resource the node lacks counts as 0.
pub fn utilization(node: &NodeStatus) -> f64 {
    let frac = |a: u64, b: u64| if b > 0 { a as f64 / b as f64 } else { 0.0 };
    let (req, cap) = (&node.allocated, &node.spec.allocatable);
    if cap.gpu_milli > 0 {
        return frac(req.gpu_milli, cap.gpu_milli);
    }
    frac(req.cpu_milli, cap.cpu_milli).max(frac(req.memory_bytes, cap.memory_bytes))
}

/// The replicas a removal would have to move off each of `nodes`: the
/// starting and ready ones (terminating ones leave anyway), and whether a
/// job pod runs there (a job pod is not recreated by a controller when
/// deleted, so its node is not removable: upstream keeps nodes with pods
/// "not backed by a controller object").
pub(crate) fn movable(input: &ScanInput<'_>, nodes: &[usize]) -> Vec<(Vec<ReplicaId>, bool)> {
    let slot: HashMap<u32, usize> = nodes
        .iter()
        .enumerate()
        .map(|(k, &i)| (i as u32, k))
        .collect();
    let mut out = vec![(Vec::new(), false); nodes.len()];
    for (r, st) in input.observed.replicas.iter().enumerate() {
        let Some(n) = st.node else { continue };
        let Some(&k) = slot.get(&n.0) else { continue };
        if !st.state.is_active() {
            continue;
        }
        let job = input
            .desired
            .services
            .get(st.service.0 as usize)
            .is_none_or(|s| s.kind == ServiceKind::Job);
        if job {
            out[k].1 = true;
        } else if matches!(st.state, ReplicaState::Starting | ReplicaState::Ready) {
            out[k].0.push(ReplicaId(r as u32));
        }
    }
    out
}

/// Where the replicas of nodes to be removed would go: a scratch copy of
/// every node's allocation that keeps the moves of earlier candidates
/// (upstream memorises them as hints), so two nodes never count on the
/// same free space. Destinations are ready nodes that are neither being
/// removed nor the candidate itself.
pub(crate) struct DrainSim<'a> {
    input: &'a ScanInput<'a>,
    allocs: Vec<NodeAlloc>,
    batch: Batch,
    committed: Vec<(NodeId, ServiceId)>,
    tentative: Vec<(usize, NodeAlloc, ServiceId)>,
    /// Being removed (or being simulated).
    pub(crate) excluded: Vec<bool>,
    /// Took replicas in a committed simulation: its own load is now higher
    /// than observed, so it is no candidate itself.
    pub(crate) receiving: Vec<bool>,
    hard: HardFilters,
}

impl<'a> DrainSim<'a> {
    /// A simulation over `input`'s cluster as observed.
    pub(crate) fn new(input: &'a ScanInput<'a>) -> DrainSim<'a> {
        let n = input.observed.nodes.len();
        DrainSim {
            input,
            allocs: input.observed.nodes.iter().map(NodeAlloc::of).collect(),
            batch: Batch::new(),
            committed: Vec::new(),
            tentative: Vec::new(),
            excluded: vec![false; n],
            receiving: vec![false; n],
            hard: HardFilters::default(),
        }
    }

    fn ready(&self, j: usize) -> bool {
        self.input
            .nodes
            .get(j)
            .is_none_or(|n| n.life == NodeLife::Ready)
    }

    /// Places each of `replicas` (bound to `node`) on the first other node
    /// that passes the hard filters; returns those that fit nowhere. The
    /// moves stay tentative until [`DrainSim::commit`] or [`DrainSim::rollback`].
    pub(crate) fn simulate(&mut self, node: usize, replicas: &[ReplicaId]) -> Vec<ReplicaId> {
        let (observed, desired) = (self.input.observed, self.input.desired);
        self.excluded[node] = true;
        let mut unplaced = Vec::new();
        for &r in replicas {
            let service = observed.replicas[r.0 as usize].service;
            let spec = &desired.services[service.0 as usize];
            let req = Request {
                service,
                resources: spec.requests,
                constraints: &spec.placement,
            };
            let view = ClusterView {
                nodes: &observed.nodes,
                allocs: &self.allocs,
                batch: &self.batch,
                changes: &observed.changes,
            };
            self.hard.prepare(&req, &view);
            let dest = (0..observed.nodes.len()).find(|&j| {
                !self.excluded[j] && self.ready(j) && self.hard.check(&req, &view, j).is_ok()
            });
            match dest {
                Some(j) => {
                    self.tentative.push((j, self.allocs[j], service));
                    self.allocs[j].add(spec.requests);
                    self.batch.bind(NodeId(j as u32), service);
                }
                None => unplaced.push(r),
            }
        }
        unplaced
    }

    /// Keeps the tentative moves: `node` goes, its destinations receive.
    pub(crate) fn commit(&mut self) {
        for (j, _, s) in self.tentative.drain(..) {
            self.receiving[j] = true;
            self.committed.push((NodeId(j as u32), s));
        }
    }

    /// Undoes the tentative moves: `node` stays and may receive again.
    pub(crate) fn rollback(&mut self, node: usize) {
        self.excluded[node] = false;
        if self.tentative.is_empty() {
            return;
        }
        while let Some((j, old, _)) = self.tentative.pop() {
            self.allocs[j] = old;
        }
        self.batch = Batch::new();
        for &(n, s) in &self.committed {
            self.batch.bind(n, s);
        }
    }
}
