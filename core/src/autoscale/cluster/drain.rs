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
use crate::disruption::PodDisruptionBudget;
use crate::model::{NodeId, NodeStatus, ReplicaId, ReplicaState, ServiceId};
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

/// `cluster-autoscaler.kubernetes.io/safe-to-evict`: `"false"` keeps a
/// pod's node, `"true"` lets the Cluster Autoscaler move a pod its other
/// rules would keep (here: a `kube-system` pod without a budget).
pub const SAFE_TO_EVICT: &str = "cluster-autoscaler.kubernetes.io/safe-to-evict";

/// `cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes`: the
/// comma-separated names of a pod's local volumes whose loss is fine.
pub const SAFE_TO_EVICT_LOCAL_VOLUMES: &str =
    "cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes";

/// `karpenter.sh/do-not-disrupt: "true"`: Karpenter never voluntarily
/// disrupts the pod's node.
pub const DO_NOT_DISRUPT: &str = "karpenter.sh/do-not-disrupt";

/// Which node autoscaler's eviction rules a removal is judged by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DrainRules {
    /// The Cluster Autoscaler's drainability rules (FAQ "What types of
    /// pods can prevent CA from removing a node?";
    /// `simulator/drainability/rules/{safetoevict,notsafetoevict,system,pdb}`):
    /// `safe-to-evict: "false"` blocks, a `kube-system` pod without a
    /// matching PDB blocks unless `skip_nodes_with_system_pods` is false or
    /// it is `safe-to-evict: "true"`.
    ClusterAutoscaler {
        /// `--skip-nodes-with-system-pods` (default true).
        skip_nodes_with_system_pods: bool,
        /// `--skip-nodes-with-local-storage` (default true): a pod with a
        /// local-storage volume (`hostPath`, `emptyDir` not in memory) not
        /// listed in `safe-to-evict-local-volumes` keeps its node.
        skip_nodes_with_local_storage: bool,
    },
    /// Karpenter's (Disruption concepts page, "Pod-Level Controls"): a pod
    /// annotated `karpenter.sh/do-not-disrupt: "true"` blocks.
    Karpenter,
}

/// Why a node cannot be removed: the first pod on it that may not be evicted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Blocker {
    /// A pod no controller owns (`NotReplicated`): nothing would recreate it.
    NotReplicated,
    /// `safe-to-evict: "false"` (upstream's `NotSafeToEvictAnnotation`).
    NotSafeToEvict,
    /// A `kube-system` pod no PDB covers (`UnmovableKubeSystemPod`).
    UnmovableKubeSystemPod,
    /// A local-storage volume not marked safe to lose
    /// (`LocalStorageRequested`); the volume's name.
    LocalStorage(String),
    /// `karpenter.sh/do-not-disrupt: "true"`.
    DoNotDisrupt,
    /// Moving the node's pods would take a PDB below its budget
    /// (`NotEnoughPdb`); the budget's name.
    NotEnoughPdb(String),
}

impl Blocker {
    /// Upstream's wording, for reasons and tests.
    pub fn as_str(&self) -> String {
        match self {
            Blocker::NotReplicated => "a pod without a controller".into(),
            Blocker::NotSafeToEvict => format!("a pod with {SAFE_TO_EVICT}=false"),
            Blocker::UnmovableKubeSystemPod => "a kube-system pod without a PDB".into(),
            Blocker::LocalStorage(v) => format!("a pod with local storage (volume {v})"),
            Blocker::DoNotDisrupt => format!("a pod with {DO_NOT_DISRUPT}=true"),
            Blocker::NotEnoughPdb(n) => format!("not enough disruptions left in PDB {n}"),
        }
    }
}

/// The replicas a removal would have to move off each of `nodes` — the
/// starting and ready ones (terminating ones leave anyway) — and the first
/// pod rule under `rules` that keeps the node (see [`DrainRules`],
/// [`Blocker`]). Budgets are not checked here: [`PdbTracker`] does that
/// across the nodes of one scan.
pub(crate) fn movable(
    input: &ScanInput<'_>,
    nodes: &[usize],
    rules: DrainRules,
) -> Vec<(Vec<ReplicaId>, Option<Blocker>)> {
    let slot: HashMap<u32, usize> = nodes
        .iter()
        .enumerate()
        .map(|(k, &i)| (i as u32, k))
        .collect();
    let mut out = vec![(Vec::new(), None); nodes.len()];
    for (r, st) in input.observed.replicas.iter().enumerate() {
        let Some(n) = st.node else { continue };
        let Some(&k) = slot.get(&n.0) else { continue };
        if !st.state.is_active() {
            continue;
        }
        let Some(spec) = input.desired.services.get(st.service.0 as usize) else {
            continue;
        };
        let blocker = pod_blocker(spec, input.pdbs, rules);
        if let Some(b) = blocker {
            if out[k].1.is_none() {
                out[k].1 = Some(b);
            }
        } else if matches!(st.state, ReplicaState::Starting | ReplicaState::Ready) {
            out[k].0.push(ReplicaId(r as u32));
        }
    }
    out
}

/// The rule under `rules` that keeps a pod of `spec` where it is, if any.
pub fn pod_blocker(
    spec: &crate::model::ServiceSpec,
    pdbs: &[PodDisruptionBudget],
    rules: DrainRules,
) -> Option<Blocker> {
    // A Job's pods are evicted like any other controller's (upstream's
    // `ReplicatedRule` accepts every controller kind): the Job controller
    // replaces them.
    let meta = &spec.meta;
    let annotation = |k: &str| meta.annotations.get(k).map(String::as_str);
    match rules {
        DrainRules::ClusterAutoscaler {
            skip_nodes_with_system_pods,
            skip_nodes_with_local_storage,
        } => {
            let safe = annotation(SAFE_TO_EVICT);
            if safe == Some("true") {
                return None;
            }
            if spec.controller == crate::model::Controller::None {
                return Some(Blocker::NotReplicated);
            }
            if safe == Some("false") {
                return Some(Blocker::NotSafeToEvict);
            }
            if skip_nodes_with_system_pods
                && meta.namespace == "kube-system"
                && !pdbs
                    .iter()
                    .any(|p| p.selects(&meta.namespace, &meta.labels))
            {
                return Some(Blocker::UnmovableKubeSystemPod);
            }
            if skip_nodes_with_local_storage {
                // `HasBlockingLocalStorage`: a local volume whose name the
                // safe-to-evict-local-volumes annotation does not list.
                let safe: Vec<&str> = annotation(SAFE_TO_EVICT_LOCAL_VOLUMES)
                    .map(|v| v.split(',').map(str::trim).collect())
                    .unwrap_or_default();
                if let Some(v) = spec
                    .volumes
                    .iter()
                    .find(|v| v.is_local_storage() && !safe.contains(&v.name.as_str()))
                {
                    return Some(Blocker::LocalStorage(v.name.clone()));
                }
            }
            None
        }
        DrainRules::Karpenter => {
            (annotation(DO_NOT_DISRUPT) == Some("true")).then_some(Blocker::DoNotDisrupt)
        }
    }
}

/// Upstream's `RemainingPdbTracker` (`core/scaledown/pdb/basic.go`): each
/// budget's `disruptionsAllowed` at the start of a scan, less the pods of
/// the nodes already chosen for removal in it, so two removals never spend
/// the same disruption.
#[derive(Clone, Debug)]
pub struct PdbTracker<'a> {
    pdbs: &'a [PodDisruptionBudget],
    remaining: Vec<u32>,
}

impl<'a> PdbTracker<'a> {
    /// The budgets of `input` with their status in its cluster.
    pub fn new(input: &ScanInput<'a>) -> PdbTracker<'a> {
        PdbTracker {
            pdbs: input.pdbs,
            remaining: input
                .pdbs
                .iter()
                .map(|p| {
                    p.status_in(input.desired, input.observed)
                        .disruptions_allowed
                })
                .collect(),
        }
    }

    /// `CanRemovePods`: `Err(name)` of the first budget whose remaining
    /// disruptions are fewer than the `replicas` it selects.
    pub fn can_remove(&self, input: &ScanInput<'_>, replicas: &[ReplicaId]) -> Result<(), String> {
        for (p, &left) in self.pdbs.iter().zip(&self.remaining) {
            let n = self.selected(p, input, replicas);
            if n > left {
                return Err(p.name.clone());
            }
        }
        Ok(())
    }

    /// `RemovePods`: spends one disruption per selected replica.
    pub fn remove(&mut self, input: &ScanInput<'_>, replicas: &[ReplicaId]) {
        for k in 0..self.pdbs.len() {
            let n = self.selected(&self.pdbs[k], input, replicas);
            self.remaining[k] = self.remaining[k].saturating_sub(n);
        }
    }

    fn selected(
        &self,
        p: &PodDisruptionBudget,
        input: &ScanInput<'_>,
        replicas: &[ReplicaId],
    ) -> u32 {
        replicas
            .iter()
            .filter(|r| {
                let s = input.observed.replicas[r.0 as usize].service;
                let meta = &input.desired.services[s.0 as usize].meta;
                p.selects(&meta.namespace, &meta.labels)
            })
            .count() as u32
    }
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
            let claims = observed.storage.claims_of(spec, Some(r));
            let req = Request::of(service, spec, &claims);
            let view = ClusterView {
                storage: &observed.storage,
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
