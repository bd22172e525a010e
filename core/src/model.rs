//! The cluster vocabulary: resources, nodes, services, replicas and the
//! observed view of a cluster.
//!
//! Key decision: every entity is addressed by a dense integer id (`NodeId`,
//! `ServiceId`, `ReplicaId`) that indexes a `Vec`, so the simulator can hold
//! 100k replicas in flat arrays and the live backend can map container ids
//! onto the same indices. Names live beside the ids for output only.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::dist::DurationDist;
use crate::time::{SimDuration, SimTime};

pub use crate::ids::{NodeId, ReplicaId, ServiceId};

mod constraints;
mod resources;

pub use constraints::*;
pub use resources::*;

/// A machine that runs replicas.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeSpec {
    /// Unique name, `<pool>-<index>` for pooled nodes.
    pub name: String,
    /// The pool the node came from.
    pub pool: String,
    /// Failure/topology zone.
    pub zone: String,
    /// Labels for selectors. The simulator adds `kubernetes.io/hostname`
    /// (the node name) and `topology.kubernetes.io/zone` (the zone).
    pub labels: BTreeMap<String, String>,
    /// Taints: replicas must tolerate them (NoSchedule, NoExecute) or are
    /// steered away (PreferNoSchedule).
    pub taints: Vec<Taint>,
    /// What the machine has.
    pub capacity: Resources,
    /// What replicas may request (capacity minus system reservations).
    pub allocatable: Resources,
    /// Relative speed (1 is nominal): service times on this node are divided
    /// by it (simulator; live nodes are as fast as they are).
    pub speed: f64,
    /// Its CSINode: CSI drivers and their volume limits (`None`: no CSINode
    /// object, so in-tree volumes are not migrated and nothing is limited).
    pub csi: Option<crate::storage::CsiNode>,
}

/// What a replica does for each request in live mode (the simulator only
/// needs the duration).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Work {
    /// Burn CPU for the request's service time, so CPU metrics see real load.
    #[default]
    Cpu,
    /// Sleep for the service time (I/O-bound work).
    Sleep,
}

/// What a [`ServiceSpec`] describes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ServiceKind {
    /// A long-running service: the replica controller keeps `replicas` of
    /// it, and it receives request traffic.
    #[default]
    Service,
    /// One request shape of a batch job set: its replicas (pods) are created
    /// by job arrivals and leave when their job's duration has run out. The
    /// replica controller never creates or deletes them and they get no
    /// traffic; `replicas` is 0 and ignored.
    Job,
}

/// A fraction of a service's replicas that serve every request slower:
/// stragglers (a noisy neighbour, a slow disk), so that load-aware
/// balancers have something to win.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stragglers {
    /// Probability that a new replica is a straggler (0 ≤ fraction < 1).
    pub fraction: f64,
    /// Its service times are multiplied by this (≥ 1).
    pub slowdown: f64,
}

impl Default for Stragglers {
    fn default() -> Stragglers {
        Stragglers {
            fraction: 0.0,
            slowdown: 1.0,
        }
    }
}

/// How a service's replicas behave and what they need.
#[derive(Clone, Debug)]
pub struct ServiceSpec {
    /// Unique name (a DNS label; `SET.K` for the shapes of job set `SET`).
    pub name: String,
    /// A service, or one request shape of a batch job set.
    pub kind: ServiceKind,
    /// Desired number of replicas.
    pub replicas: u32,
    /// Resources each replica requests from the scheduler.
    pub requests: Resources,
    /// Resources each replica may use at most (enforced in live mode).
    pub limits: Resources,
    /// Requests one replica serves at once; more wait in its FIFO queue.
    pub concurrency: u32,
    /// Requests that may wait beyond `concurrency`; `None` is unbounded.
    pub queue_limit: Option<u32>,
    /// A request not finished this long after it arrived counts as timed out.
    pub timeout: Option<SimDuration>,
    /// Work per request.
    pub service_time: DurationDist,
    /// From bind to ready: image pull + container start + readiness.
    pub start_delay: DurationDist,
    /// How requests reach the replicas: a balancing policy, or central-queue
    /// mode (the scenario's `balancer` name, resolved).
    pub routing: crate::balance::Routing,
    /// What the live workload does per request.
    pub work: Work,
    /// Scheduling constraints and priority.
    pub placement: Constraints,
    /// Slow replicas (simulator only).
    pub stragglers: Stragglers,
    /// Balancing beyond the policy name: choices, weights, topology,
    /// discovery delay, retries, outlier ejection, request keys.
    pub balancing: crate::balance::BalancingSpec,
    /// A new revision and how it is rolled out (`None`: one revision).
    pub rollout: Option<crate::rollout::RolloutSpec>,
    /// The pod template's metadata: namespace, labels, annotations.
    pub meta: PodMeta,
    /// What owns the pods: a ReplicaSet, or nothing (bare pods).
    pub controller: Controller,
    /// The pod template's volumes (what the node autoscalers' drain rules
    /// look at: local storage; what the volume plugins look at: claims).
    pub volumes: Vec<Volume>,
    /// The StatefulSet's own fields, when [`ServiceSpec::controller`] is
    /// [`Controller::StatefulSet`].
    pub stateful: Option<Box<crate::stateful::StatefulSetSpec>>,
    /// `terminationGracePeriodSeconds`: a deleted replica finishes what it
    /// serves for at most this long, then is killed and the requests it
    /// still holds fail (Kubernetes' default 30 s).
    pub termination_grace_period: SimDuration,
}

/// What owns a service's pods (`metadata.ownerReferences`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Controller {
    /// A Deployment's ReplicaSet: deleted pods are replaced.
    #[default]
    ReplicaSet,
    /// None (pods created directly, `kind: Pod`): created once, never
    /// replaced, and the Cluster Autoscaler keeps their nodes.
    None,
    /// A StatefulSet: pods with stable ordinals and their own claims
    /// ([`ServiceSpec::stateful`]).
    StatefulSet,
}

/// One of a pod's `volumes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Volume {
    /// `name`, unique in the pod.
    pub name: String,
    /// Where its data lives.
    pub source: VolumeSource,
}

/// A volume's source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VolumeSource {
    /// `emptyDir`; `memory` for `medium: Memory` (tmpfs).
    EmptyDir {
        /// `medium: Memory`.
        memory: bool,
    },
    /// `hostPath`.
    HostPath {
        /// `path` on the node.
        path: String,
    },
    /// `persistentVolumeClaim`: the claim named `claim` in the pod's namespace.
    PersistentVolumeClaim {
        /// `claimName`.
        claim: String,
        /// `readOnly`.
        read_only: bool,
    },
    /// An inline in-tree disk (`gcePersistentDisk`, `awsElasticBlockStore`,
    /// `rbd`, `iscsi`).
    Disk(crate::storage::InlineDisk),
    /// A StatefulSet's `volumeClaimTemplates` entry: each pod's own claim
    /// `<template>-<set>-<ordinal>`.
    ClaimTemplate {
        /// The template's name.
        template: String,
    },
}

impl Volume {
    /// Upstream's `isLocalVolume` (cluster-autoscaler
    /// `utils/drain/drain.go`): a `hostPath`, or an `emptyDir` not in memory.
    pub fn is_local_storage(&self) -> bool {
        match &self.source {
            VolumeSource::EmptyDir { memory } => !memory,
            VolumeSource::HostPath { .. } => true,
            VolumeSource::PersistentVolumeClaim { .. }
            | VolumeSource::Disk(_)
            | VolumeSource::ClaimTemplate { .. } => false,
        }
    }

    /// The claim a `persistentVolumeClaim` volume names, or the template
    /// a StatefulSet's claim volume comes from: a claim-backed volume.
    pub fn claim_name(&self) -> Option<&str> {
        match &self.source {
            VolumeSource::PersistentVolumeClaim { claim, .. } => Some(claim),
            VolumeSource::ClaimTemplate { template } => Some(template),
            _ => None,
        }
    }
}

/// Kubernetes' default `terminationGracePeriodSeconds` (30 s).
pub const DEFAULT_TERMINATION_GRACE_PERIOD: SimDuration = SimDuration::from_secs(30);

/// A pod template's `metadata`: what selectors, budgets and the node
/// autoscalers' eviction rules look at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodMeta {
    /// `metadata.namespace` (`default` unless given).
    pub namespace: String,
    /// `metadata.labels`.
    pub labels: crate::labels::Labels,
    /// `metadata.annotations` (e.g. `cluster-autoscaler.kubernetes.io/safe-to-evict`).
    pub annotations: crate::labels::Labels,
}

impl Default for PodMeta {
    fn default() -> PodMeta {
        PodMeta {
            namespace: "default".to_string(),
            labels: Default::default(),
            annotations: Default::default(),
        }
    }
}

/// Where a replica is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReplicaState {
    /// Created, not yet bound to a node.
    Pending,
    /// Bound to a node; the container is being pulled, started and probed.
    Starting,
    /// Serving requests.
    Ready,
    /// Leaving: no new requests; finishes what it has, then frees its node.
    Terminating,
    /// Gone for good after terminating; kept for its history.
    Terminated,
    /// Crashed or could not start.
    Failed,
}

impl ReplicaState {
    /// Lower-case name for output files.
    pub fn as_str(self) -> &'static str {
        match self {
            ReplicaState::Pending => "pending",
            ReplicaState::Starting => "starting",
            ReplicaState::Ready => "ready",
            ReplicaState::Terminating => "terminating",
            ReplicaState::Terminated => "terminated",
            ReplicaState::Failed => "failed",
        }
    }

    /// Counts towards the desired replica count (not leaving, not dead).
    pub fn is_active(self) -> bool {
        matches!(
            self,
            ReplicaState::Pending | ReplicaState::Starting | ReplicaState::Ready
        )
    }
}

/// What is known of one replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplicaStatus {
    /// Which service it belongs to.
    pub service: ServiceId,
    /// Where it runs, once bound.
    pub node: Option<NodeId>,
    /// Its lifecycle state.
    pub state: ReplicaState,
    /// When it entered `state`.
    pub since: SimTime,
}

/// What is known of one node.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeStatus {
    /// Its specification, shared with the scenario's copy (a node's spec
    /// never changes while it runs; tests that edit one use
    /// [`NodeStatus::spec_mut`]).
    pub spec: Arc<NodeSpec>,
    /// Sum of the requests of the replicas bound to it and not yet gone.
    pub allocated: Resources,
    /// The same sum with Kubernetes' non-zero defaults for replicas that
    /// request nothing ([`Resources::non_zero`]); resource scoring uses it.
    pub non_zero_allocated: Resources,
    /// Replicas bound to it and not yet gone.
    pub replicas: u32,
    /// Of those, how many per service (kube's `NodeInfo.Pods`, reduced to
    /// counts), unsorted; a node runs few distinct services.
    pub services: Vec<(ServiceId, u32)>,
    /// Accepts new replicas.
    pub ready: bool,
}

impl NodeStatus {
    /// An empty, ready node. Pass an `Arc` to share a spec that is kept
    /// elsewhere (the scenario's nodes); a `NodeSpec` is wrapped.
    pub fn new(spec: impl Into<Arc<NodeSpec>>) -> NodeStatus {
        NodeStatus {
            spec: spec.into(),
            allocated: Resources::ZERO,
            non_zero_allocated: Resources::ZERO,
            replicas: 0,
            services: Vec::new(),
            ready: true,
        }
    }

    /// A replica of `service` requesting `requests` is bound here.
    pub fn add(&mut self, service: ServiceId, requests: Resources) {
        self.allocated += requests;
        self.non_zero_allocated += requests.non_zero();
        self.replicas += 1;
        match self.services.iter_mut().find(|(s, _)| *s == service) {
            Some((_, n)) => *n += 1,
            None => self.services.push((service, 1)),
        }
    }

    /// A replica of `service` requesting `requests` left.
    pub fn remove(&mut self, service: ServiceId, requests: Resources) {
        self.allocated -= requests;
        self.non_zero_allocated -= requests.non_zero();
        self.replicas -= 1;
        if let Some(i) = self.services.iter().position(|(s, _)| *s == service) {
            self.services[i].1 -= 1;
            if self.services[i].1 == 0 {
                self.services.swap_remove(i);
            }
        }
    }

    /// Replicas of `service` bound here.
    pub fn count(&self, service: ServiceId) -> u32 {
        self.services
            .iter()
            .find(|(s, _)| *s == service)
            .map_or(0, |(_, n)| *n)
    }

    /// The spec, for editing (copied first if it is shared).
    pub fn spec_mut(&mut self) -> &mut NodeSpec {
        Arc::make_mut(&mut self.spec)
    }

    /// The value of label `key`.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.spec.labels.get(key).map(String::as_str)
    }
}

/// Which nodes changed, in order, so that placement policies can keep
/// per-node caches (scores, indexes) up to date without rescanning every
/// node on every decision.
///
/// Key decision: positions are absolute (`base + index`) and the log is
/// cut when it grows past a bound; a reader that has fallen behind the cut
/// sees [`ChangeLog::since`] return `None` and rebuilds. Each log has an
/// `epoch` unique in the process, so a cache built for one cluster is never
/// applied to another.
#[derive(Debug)]
pub struct ChangeLog {
    epoch: u64,
    base: u64,
    nodes: Vec<NodeId>,
}

impl Clone for ChangeLog {
    /// A clone describes a cluster that will diverge: it gets a new epoch.
    fn clone(&self) -> ChangeLog {
        ChangeLog::new()
    }
}

impl Default for ChangeLog {
    fn default() -> ChangeLog {
        ChangeLog::new()
    }
}

impl ChangeLog {
    const MAX: usize = 1 << 14;

    /// An empty log with a fresh epoch.
    pub fn new() -> ChangeLog {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(1);
        ChangeLog {
            epoch: NEXT.fetch_add(1, Ordering::Relaxed),
            base: 0,
            nodes: Vec::new(),
        }
    }

    /// Identifies this log (and the cluster it describes).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Absolute position after the last change.
    pub fn end(&self) -> u64 {
        self.base + self.nodes.len() as u64
    }

    /// Records that `node`'s status changed.
    pub fn push(&mut self, node: NodeId) {
        if self.nodes.len() >= Self::MAX {
            self.base += self.nodes.len() as u64;
            self.nodes.clear();
        }
        self.nodes.push(node);
    }

    /// The nodes changed from absolute position `from` on, or `None` if
    /// that part of the log was cut (the reader must rebuild).
    pub fn since(&self, from: u64) -> Option<&[NodeId]> {
        if from < self.base || from > self.end() {
            return None;
        }
        Some(&self.nodes[(from - self.base) as usize..])
    }
}

/// The observed state of the cluster that controllers reconcile against.
///
/// The simulator keeps one up to date incrementally; the live backend builds
/// one from the Docker engines on each tick.
#[derive(Clone, Debug, Default)]
pub struct ObservedCluster {
    /// Nodes by [`NodeId`].
    pub nodes: Vec<NodeStatus>,
    /// Replicas by [`ReplicaId`].
    pub replicas: Vec<ReplicaStatus>,
    /// Nodes whose status changed; whoever mutates `nodes` records it here
    /// (use [`ObservedCluster::bind`], [`ObservedCluster::unbind`],
    /// [`ObservedCluster::set_ready`]).
    pub changes: ChangeLog,
    /// Storage objects, their bindings and what each node holds.
    pub storage: crate::storage::Storage,
}

impl ObservedCluster {
    /// A replica of `service` requesting `requests` is bound to `node`.
    pub fn bind(&mut self, node: NodeId, service: ServiceId, requests: Resources) {
        self.nodes[node.0 as usize].add(service, requests);
        self.changes.push(node);
    }

    /// A replica of `service` requesting `requests` left `node`.
    pub fn unbind(&mut self, node: NodeId, service: ServiceId, requests: Resources) {
        self.nodes[node.0 as usize].remove(service, requests);
        self.changes.push(node);
    }

    /// `node` starts or stops accepting replicas.
    pub fn set_ready(&mut self, node: NodeId, ready: bool) {
        self.nodes[node.0 as usize].ready = ready;
        self.changes.push(node);
    }

    /// Ids and statuses of the replicas of one service.
    pub fn replicas_of(
        &self,
        service: ServiceId,
    ) -> impl Iterator<Item = (ReplicaId, &ReplicaStatus)> {
        self.replicas
            .iter()
            .enumerate()
            .filter(move |(_, r)| r.service == service)
            .map(|(i, r)| (ReplicaId(i as u32), r))
    }
}

/// The state the user asked for.
#[derive(Clone, Debug, Default)]
pub struct DesiredState {
    /// Services by [`ServiceId`].
    pub services: Vec<ServiceSpec>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_add_and_subtract_by_name_and_stay_compact() {
        let foo = ResourceName::named("example.com/foo");
        let bar = ResourceName::named("example.com/bar");
        assert_eq!(foo, ResourceName::named("example.com/foo"));
        let a = Resources::new(100, 0).with(foo, 2);
        let b = Resources::new(0, 5).with(bar, 3).with(foo, 1);
        let mut s = a + b;
        // foo 2 + 1, bar 0 + 3, cpu 100 + 0, memory 0 + 5.
        assert_eq!(
            (s.get(foo), s.get(bar), s.cpu_milli, s.memory_bytes),
            (3, 3, 100, 5)
        );
        assert_eq!(s.scalars(), &[(bar, 3), (foo, 3)]);
        s -= b;
        // bar drops out at 0, so the amount is `a` again.
        assert_eq!(s, a);
        // cpu, memory, gpu, ephemeral (4 × 8) + pods (4) + padding + one pointer.
        assert_eq!(std::mem::size_of::<Resources>(), 48);
        // A shortfall in a scalar resource comes after the inline ones.
        let cap = Resources::new(1000, 1000).with(foo, 2);
        assert_eq!(
            Resources::new(1, 1)
                .with(foo, 3)
                .first_shortfall(&Resources::ZERO, &cap),
            Some(foo)
        );
        assert_eq!(
            Resources::new(1, 1)
                .with(bar, 1)
                .first_shortfall(&Resources::ZERO, &cap),
            Some(bar)
        );
    }

    #[test]
    fn shortfall_names_the_first_exhausted_resource() {
        let cap = Resources::new(4000, 8 << 30);
        let used = Resources::new(3500, 1 << 30);
        // cpu: 3500 + 500 = 4000 ≤ 4000 fits; memory 1Gi + 1Gi ≤ 8Gi fits.
        assert_eq!(
            Resources::new(500, 1 << 30).first_shortfall(&used, &cap),
            None
        );
        // cpu: 3500 + 501 = 4001 > 4000.
        assert_eq!(
            Resources::new(501, 0).first_shortfall(&used, &cap),
            Some(ResourceName::Cpu)
        );
        // memory: 1Gi + 7Gi + 1 byte > 8Gi.
        assert_eq!(
            Resources::new(0, (7 << 30) + 1).first_shortfall(&used, &cap),
            Some(ResourceName::Memory)
        );
    }
}
