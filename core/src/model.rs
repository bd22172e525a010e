//! The cluster vocabulary: resources, nodes, services, replicas and the
//! observed view of a cluster.
//!
//! Key decision: every entity is addressed by a dense integer id (`NodeId`,
//! `ServiceId`, `ReplicaId`) that indexes a `Vec`, so the simulator can hold
//! 100k replicas in flat arrays and the live backend can map container ids
//! onto the same indices. Names live beside the ids for output only.

use std::collections::BTreeMap;
use std::ops::{Add, AddAssign, SubAssign};

use crate::dist::DurationDist;
use crate::time::{SimDuration, SimTime};

pub use crate::ids::{NodeId, ReplicaId, ServiceId};

/// An amount of each schedulable resource, in exact integer units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Resources {
    /// CPU in millicores (`1` core = `1000`).
    pub cpu_milli: u64,
    /// Memory in bytes.
    pub memory_bytes: u64,
    /// GPUs in thousandths (`nvidia.com/gpu` × 1000; 500 is half a GPU, as
    /// GPU-sharing pods in the Alibaba trace request), an extended resource:
    /// summed per node (which device a share lands on is not modelled),
    /// never defaulted by [`Resources::non_zero`], never overcommitted.
    pub gpu_milli: u64,
}

/// The resources fit checks compare, by name (for messages and for policies that weigh one resource).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceName {
    /// CPU.
    Cpu,
    /// Memory.
    Memory,
    /// GPUs (`nvidia.com/gpu`).
    Gpu,
}

impl ResourceName {
    /// The Kubernetes name of the resource.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceName::Cpu => "cpu",
            ResourceName::Memory => "memory",
            ResourceName::Gpu => "nvidia.com/gpu",
        }
    }
}

impl Resources {
    /// Nothing.
    pub const ZERO: Resources = Resources {
        cpu_milli: 0,
        memory_bytes: 0,
        gpu_milli: 0,
    };

    /// Builds an amount from millicores and bytes.
    pub const fn new(cpu_milli: u64, memory_bytes: u64) -> Resources {
        Resources {
            cpu_milli,
            memory_bytes,
            gpu_milli: 0,
        }
    }

    /// The same amount with `gpu_milli` thousandths of a GPU.
    pub const fn with_gpu(self, gpu_milli: u64) -> Resources {
        Resources { gpu_milli, ..self }
    }

    /// The first resource for which `used + self` exceeds `capacity`, if any.
    pub fn first_shortfall(&self, used: &Resources, capacity: &Resources) -> Option<ResourceName> {
        if used.cpu_milli.saturating_add(self.cpu_milli) > capacity.cpu_milli {
            Some(ResourceName::Cpu)
        } else if used.memory_bytes.saturating_add(self.memory_bytes) > capacity.memory_bytes {
            Some(ResourceName::Memory)
        } else if used.gpu_milli.saturating_add(self.gpu_milli) > capacity.gpu_milli {
            Some(ResourceName::Gpu)
        } else {
            None
        }
    }

    /// Kubernetes' scoring view of a request: a container asking for no CPU
    /// counts as 100m and one asking for no memory as 200Mi
    /// (`DefaultMilliCPURequest`, `DefaultMemoryRequest` in
    /// `pkg/scheduler/util/pod_resources.go`), so empty pods still spread.
    pub fn non_zero(self) -> Resources {
        Resources::new(
            if self.cpu_milli == 0 {
                100
            } else {
                self.cpu_milli
            },
            if self.memory_bytes == 0 {
                200 << 20
            } else {
                self.memory_bytes
            },
        )
        .with_gpu(self.gpu_milli)
    }

    /// The amount of one resource.
    pub fn get(&self, r: ResourceName) -> u64 {
        match r {
            ResourceName::Cpu => self.cpu_milli,
            ResourceName::Memory => self.memory_bytes,
            ResourceName::Gpu => self.gpu_milli,
        }
    }
}

impl Add for Resources {
    type Output = Resources;
    fn add(self, o: Resources) -> Resources {
        Resources::new(
            self.cpu_milli.saturating_add(o.cpu_milli),
            self.memory_bytes.saturating_add(o.memory_bytes),
        )
        .with_gpu(self.gpu_milli.saturating_add(o.gpu_milli))
    }
}

impl AddAssign for Resources {
    fn add_assign(&mut self, o: Resources) {
        *self = *self + o;
    }
}

impl SubAssign for Resources {
    fn sub_assign(&mut self, o: Resources) {
        debug_assert!(
            self.cpu_milli >= o.cpu_milli
                && self.memory_bytes >= o.memory_bytes
                && self.gpu_milli >= o.gpu_milli
        );
        self.cpu_milli = self.cpu_milli.saturating_sub(o.cpu_milli);
        self.memory_bytes = self.memory_bytes.saturating_sub(o.memory_bytes);
        self.gpu_milli = self.gpu_milli.saturating_sub(o.gpu_milli);
    }
}

/// Well-known label: the node's name (`kubernetes.io/hostname`).
pub const LABEL_HOSTNAME: &str = "kubernetes.io/hostname";
/// Well-known label: the node's zone (`topology.kubernetes.io/zone`).
pub const LABEL_ZONE: &str = "topology.kubernetes.io/zone";

/// What a taint does to replicas that do not tolerate it (Kubernetes'
/// `TaintEffect`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaintEffect {
    /// Not scheduled here.
    NoSchedule,
    /// Scheduled here only if nothing better (TaintToleration scoring).
    PreferNoSchedule,
    /// Not scheduled here, and evicted if already running.
    NoExecute,
}

impl TaintEffect {
    /// The Kubernetes spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TaintEffect::NoSchedule => "NoSchedule",
            TaintEffect::PreferNoSchedule => "PreferNoSchedule",
            TaintEffect::NoExecute => "NoExecute",
        }
    }
}

/// A node taint (`key=value:effect`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Taint {
    /// Taint key.
    pub key: String,
    /// Taint value (may be empty).
    pub value: String,
    /// Effect.
    pub effect: TaintEffect,
}

/// A toleration (Kubernetes `v1.Toleration`, without `tolerationSeconds`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Toleration {
    /// Key to match; empty with `Exists` matches every key.
    pub key: String,
    /// `Exists` ignores the value; `Equal` compares it.
    pub exists: bool,
    /// Value for `Equal`.
    pub value: String,
    /// Effect to match; `None` matches every effect.
    pub effect: Option<TaintEffect>,
}

impl Toleration {
    /// Kubernetes' `Toleration.ToleratesTaint`.
    pub fn tolerates(&self, taint: &Taint) -> bool {
        if self.effect.is_some_and(|e| e != taint.effect) {
            return false;
        }
        if !self.key.is_empty() && self.key != taint.key {
            return false;
        }
        if self.exists {
            return true;
        }
        // Equal (an empty key needs Exists, as upstream).
        !self.key.is_empty() && self.value == taint.value
    }
}

/// A node selector requirement's operator (`NodeSelectorOperator`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectorOp {
    /// Label value is one of `values`.
    In,
    /// Label missing or value not one of `values`.
    NotIn,
    /// Label present.
    Exists,
    /// Label absent.
    DoesNotExist,
    /// Label value, as an integer, greater than the single value.
    Gt,
    /// Label value, as an integer, less than the single value.
    Lt,
}

/// One `matchExpressions` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectorRequirement {
    /// Label key.
    pub key: String,
    /// Operator.
    pub op: SelectorOp,
    /// Values (one for Gt/Lt, none for Exists/DoesNotExist).
    pub values: Vec<String>,
}

impl SelectorRequirement {
    /// Whether `labels` satisfy the requirement (apimachinery `labels.Requirement.Matches`).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let v = labels.get(&self.key);
        match self.op {
            SelectorOp::In => v.is_some_and(|v| self.values.iter().any(|x| x == v)),
            SelectorOp::NotIn => v.is_none_or(|v| !self.values.iter().any(|x| x == v)),
            SelectorOp::Exists => v.is_some(),
            SelectorOp::DoesNotExist => v.is_none(),
            SelectorOp::Gt | SelectorOp::Lt => {
                let (Some(v), Some(x)) = (v, self.values.first()) else {
                    return false;
                };
                match (v.parse::<i64>(), x.parse::<i64>()) {
                    (Ok(v), Ok(x)) if self.op == SelectorOp::Gt => v > x,
                    (Ok(v), Ok(x)) => v < x,
                    _ => false,
                }
            }
        }
    }
}

/// A node selector term: all requirements must match (an empty term matches nothing, as upstream).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SelectorTerm {
    /// `matchExpressions`.
    pub requirements: Vec<SelectorRequirement>,
}

impl SelectorTerm {
    /// Whether `labels` satisfy every requirement of a non-empty term.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        !self.requirements.is_empty() && self.requirements.iter().all(|r| r.matches(labels))
    }
}

/// What to do when a topology spread constraint cannot be met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhenUnsatisfiable {
    /// A filter: nodes that would break `maxSkew` are infeasible.
    DoNotSchedule,
    /// A score: prefer nodes that reduce skew.
    ScheduleAnyway,
}

/// A `topologySpreadConstraints` entry; its selector is the replica's own service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpreadConstraint {
    /// `maxSkew` (≥ 1).
    pub max_skew: u32,
    /// Node label that defines the domains.
    pub topology_key: String,
    /// Filter or score.
    pub when_unsatisfiable: WhenUnsatisfiable,
    /// `minDomains` (DoNotSchedule only).
    pub min_domains: Option<u32>,
}

/// Simple inter-replica anti-affinity against the replica's own service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AntiAffinity {
    /// Node label whose domains may hold one replica each (`kubernetes.io/hostname` for one per node).
    pub topology_key: String,
    /// `required…` (a filter) or `preferred…` (a score with this weight).
    pub required: bool,
    /// Weight for the preferred form (1..=100).
    pub weight: i32,
}

/// Where a service's replicas may and should go: Kubernetes' pod spec
/// scheduling fields, with the label selectors of spreading and
/// anti-affinity fixed to the replica's own service.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Constraints {
    /// `nodeSelector`: labels a node must have.
    pub node_selector: BTreeMap<String, String>,
    /// `requiredDuringSchedulingIgnoredDuringExecution` node affinity: any term matches.
    pub required_terms: Vec<SelectorTerm>,
    /// `preferredDuringSchedulingIgnoredDuringExecution`: `(weight 1..=100, term)`.
    pub preferred_terms: Vec<(i32, SelectorTerm)>,
    /// Tolerations.
    pub tolerations: Vec<Toleration>,
    /// `topologySpreadConstraints`; empty means the scheduler's defaults apply.
    pub spread: Vec<SpreadConstraint>,
    /// Anti-affinity to the service's own replicas.
    pub anti_affinity: Option<AntiAffinity>,
    /// `priority`: pending replicas with higher priority are placed first.
    pub priority: i32,
    /// A batch job pod: owned by a Job, not selected by a Service or
    /// ReplicaSet, so kube-scheduler's system default topology spreading
    /// (`PodTopologySpread` with `defaultingType: System`) does not apply.
    pub batch: bool,
    /// `preemptionPolicy`: whether a pod that does not fit may preempt
    /// lower-priority pods (from its PriorityClass).
    pub preemption_policy: crate::priority::PreemptionPolicy,
}

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
}

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
    /// Its specification.
    pub spec: NodeSpec,
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
    /// An empty, ready node.
    pub fn new(spec: NodeSpec) -> NodeStatus {
        NodeStatus {
            spec,
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
