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
///
/// Key decision: the resources nearly every pod asks for (cpu, memory,
/// ephemeral storage, the GPU thousandths of the Alibaba trace) and a
/// node's `pods` are inline, so the value stays `Copy` and 48 bytes; the
/// rarer ones (`hugepages-<size>`, extended resources such as
/// `example.com/foo`) and a multi-container pod's own non-zero view live in
/// an interned side list ([`Extra`]) that is absent (one null pointer) for
/// everything else. Placement of cpu/memory-only pods therefore never
/// allocates, locks or looks anything up in a map.
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
    /// `ephemeral-storage` in bytes.
    pub ephemeral_bytes: u64,
    /// `pods`: on a node's capacity and allocatable, the pods it accepts
    /// (`0`: the node does not say, Kubernetes' default
    /// [`DEFAULT_MAX_PODS`] applies, see [`Resources::max_pods`]). A pod's
    /// requests leave it 0: every pod counts as one (upstream's
    /// `AllowedPodNumber`).
    pub pods: u32,
    extra: Extra,
}

/// Pods a node accepts when it does not say: the kubelet's default `maxPods`.
pub const DEFAULT_MAX_PODS: u32 = 110;

/// The resources fit checks compare, by name (for messages and for policies that weigh one resource).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceName {
    /// CPU.
    Cpu,
    /// Memory.
    Memory,
    /// GPUs (`nvidia.com/gpu`).
    Gpu,
    /// `ephemeral-storage`.
    EphemeralStorage,
    /// `pods` (allocatable only; fit counts the pods on the node).
    Pods,
    /// Any other name: `hugepages-<size>` (bytes) or an extended resource
    /// (`example.com/foo`, a count). Build it with [`ResourceName::named`].
    Scalar(&'static str),
}

impl ResourceName {
    /// The Kubernetes name of the resource.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceName::Cpu => "cpu",
            ResourceName::Memory => "memory",
            ResourceName::Gpu => "nvidia.com/gpu",
            ResourceName::EphemeralStorage => "ephemeral-storage",
            ResourceName::Pods => "pods",
            ResourceName::Scalar(name) => name,
        }
    }

    /// The resource called `name` as Kubernetes spells it; names other than
    /// the well-known ones are interned once per process.
    pub fn named(name: &str) -> ResourceName {
        match name {
            "cpu" => ResourceName::Cpu,
            "memory" => ResourceName::Memory,
            "nvidia.com/gpu" => ResourceName::Gpu,
            "ephemeral-storage" => ResourceName::EphemeralStorage,
            "pods" => ResourceName::Pods,
            _ => ResourceName::Scalar(intern_name(name)),
        }
    }

    /// `hugepages-<size>` (upstream's `IsHugePageResourceName`).
    pub fn is_hugepages(self) -> bool {
        self.as_str().starts_with("hugepages-")
    }

    /// An extended resource (upstream's `IsExtendedResourceName`): a
    /// domain-qualified name outside `kubernetes.io/`, not a quota's
    /// `requests.` prefix. `nvidia.com/gpu` is one.
    pub fn is_extended(self) -> bool {
        let n = self.as_str();
        n.contains('/') && !n.contains("kubernetes.io/") && !n.starts_with("requests.")
    }

    /// A scalar resource as upstream's `framework.Resource` keeps them in
    /// `ScalarResources` (`IsScalarResourceName`: extended, hugepages, …):
    /// everything but cpu, memory, ephemeral-storage and pods.
    pub fn is_scalar(self) -> bool {
        matches!(self, ResourceName::Gpu | ResourceName::Scalar(_))
    }
}

/// The names interned so far (each leaked once; a scenario names a few).
fn intern_name(name: &str) -> &'static str {
    use std::collections::BTreeSet;
    use std::sync::Mutex;
    static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&n) = names.get(name) {
        return n;
    }
    let n: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.insert(n);
    n
}

/// The rare part of a [`Resources`]: scalar resources other than the GPU
/// thousandths, and a pod's own non-zero cpu/memory when its containers
/// make it differ from the plain rule of [`Resources::non_zero`].
///
/// Key decision: hash-consed. Every distinct value is stored once for the
/// life of the process and a `Resources` holds a pointer to it, so the
/// amount stays `Copy` and compares by pointer-sized reads; the table only
/// grows with the distinct amounts a run's pods and nodes produce (sums of
/// a few extended resources on each node).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Extra(Option<&'static ExtraData>);

#[derive(Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Clone)]
struct ExtraData {
    /// Sorted by name, no zero amounts.
    scalars: Vec<(ResourceName, u64)>,
    /// A pod's own non-zero (cpu millis, memory bytes).
    non_zero: Option<(u64, u64)>,
}

impl Extra {
    fn of(data: ExtraData) -> Extra {
        use std::collections::BTreeSet;
        use std::sync::Mutex;
        static TABLE: Mutex<BTreeSet<&'static ExtraData>> = Mutex::new(BTreeSet::new());
        if data.scalars.is_empty() && data.non_zero.is_none() {
            return Extra(None);
        }
        let mut table = TABLE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&d) = table.get(&data) {
            return Extra(Some(d));
        }
        let d: &'static ExtraData = Box::leak(Box::new(data));
        table.insert(d);
        Extra(Some(d))
    }

    fn scalars(self) -> &'static [(ResourceName, u64)] {
        self.0.map_or(&[], |d| &d.scalars)
    }

    fn non_zero(self) -> Option<(u64, u64)> {
        self.0.and_then(|d| d.non_zero)
    }

    fn get(self, r: ResourceName) -> u64 {
        let s = self.scalars();
        s.binary_search_by(|(n, _)| n.cmp(&r)).map_or(0, |i| s[i].1)
    }

    /// Scalars combined name by name with `f`; no non-zero view (a sum is
    /// not a pod).
    fn zip(self, o: Extra, f: impl Fn(u64, u64) -> u64) -> Extra {
        if self.0.is_none() && o.0.is_none() {
            return Extra(None);
        }
        let (a, b) = (self.scalars(), o.scalars());
        let mut out = Vec::with_capacity(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        loop {
            let (name, x, y) = match (a.get(i), b.get(j)) {
                (None, None) => break,
                (Some(&(n, x)), None) => {
                    i += 1;
                    (n, x, 0)
                }
                (None, Some(&(m, y))) => {
                    j += 1;
                    (m, 0, y)
                }
                (Some(&(n, x)), Some(&(m, y))) => match n.cmp(&m) {
                    std::cmp::Ordering::Less => {
                        i += 1;
                        (n, x, 0)
                    }
                    std::cmp::Ordering::Greater => {
                        j += 1;
                        (m, 0, y)
                    }
                    std::cmp::Ordering::Equal => {
                        i += 1;
                        j += 1;
                        (n, x, y)
                    }
                },
            };
            let v = f(x, y);
            if v > 0 {
                out.push((name, v));
            }
        }
        Extra::of(ExtraData {
            scalars: out,
            non_zero: None,
        })
    }
}

impl Resources {
    /// Nothing.
    pub const ZERO: Resources = Resources {
        cpu_milli: 0,
        memory_bytes: 0,
        gpu_milli: 0,
        ephemeral_bytes: 0,
        pods: 0,
        extra: Extra(None),
    };

    /// Builds an amount from millicores and bytes.
    pub const fn new(cpu_milli: u64, memory_bytes: u64) -> Resources {
        Resources {
            cpu_milli,
            memory_bytes,
            gpu_milli: 0,
            ephemeral_bytes: 0,
            pods: 0,
            extra: Extra(None),
        }
    }

    /// The same amount with `gpu_milli` thousandths of a GPU.
    pub const fn with_gpu(self, gpu_milli: u64) -> Resources {
        Resources { gpu_milli, ..self }
    }

    /// The same amount with `amount` of `r` (in the units of [`Resources::get`]).
    pub fn with(self, r: ResourceName, amount: u64) -> Resources {
        let mut out = self;
        match r {
            ResourceName::Cpu => out.cpu_milli = amount,
            ResourceName::Memory => out.memory_bytes = amount,
            ResourceName::Gpu => out.gpu_milli = amount,
            ResourceName::EphemeralStorage => out.ephemeral_bytes = amount,
            ResourceName::Pods => out.pods = u32::try_from(amount).unwrap_or(u32::MAX),
            ResourceName::Scalar(_) => {
                let mut data = self.extra.0.cloned().unwrap_or_default();
                match data.scalars.binary_search_by(|(n, _)| n.cmp(&r)) {
                    Ok(i) if amount == 0 => {
                        data.scalars.remove(i);
                    }
                    Ok(i) => data.scalars[i].1 = amount,
                    Err(_) if amount == 0 => {}
                    Err(i) => data.scalars.insert(i, (r, amount)),
                }
                out.extra = Extra::of(data);
            }
        }
        out
    }

    /// The same pod amount whose scoring view ([`Resources::non_zero`]) has
    /// `cpu_milli` and `memory_bytes` instead of the plain rule's: what a
    /// pod whose containers leave some requests out (or set them to an
    /// explicit 0) scores with ([`crate::pod::effective_requests`] sets it
    /// only when it differs). Sums drop it.
    pub fn with_non_zero(self, cpu_milli: u64, memory_bytes: u64) -> Resources {
        let plain = self.plain_non_zero();
        let mut data = self.extra.0.cloned().unwrap_or_default();
        data.non_zero =
            ((cpu_milli, memory_bytes) != (plain.0, plain.1)).then_some((cpu_milli, memory_bytes));
        Resources {
            extra: Extra::of(data),
            ..self
        }
    }

    /// The pods a node with this allocatable accepts ([`DEFAULT_MAX_PODS`] when it does not say).
    pub fn max_pods(&self) -> u32 {
        if self.pods == 0 {
            DEFAULT_MAX_PODS
        } else {
            self.pods
        }
    }

    /// The resources other than cpu, memory, ephemeral-storage, pods and
    /// the GPU thousandths (`hugepages-*`, extended), by name, non-zero.
    pub fn scalars(&self) -> &'static [(ResourceName, u64)] {
        self.extra.scalars()
    }

    /// Every non-zero amount, by name in [`ResourceName`] order (pods last
    /// among the inline ones, then the scalars by name).
    pub fn iter(&self) -> impl Iterator<Item = (ResourceName, u64)> + '_ {
        [
            (ResourceName::Cpu, self.cpu_milli),
            (ResourceName::Memory, self.memory_bytes),
            (ResourceName::Gpu, self.gpu_milli),
            (ResourceName::EphemeralStorage, self.ephemeral_bytes),
            (ResourceName::Pods, u64::from(self.pods)),
        ]
        .into_iter()
        .chain(self.scalars().iter().copied())
        .filter(|&(_, v)| v > 0)
    }

    /// The first resource for which `used + self` exceeds `capacity`, if
    /// any, in upstream's `fitsRequest` order: cpu, memory,
    /// ephemeral-storage, then the scalar resources (the GPU first, then
    /// by name; Go iterates a map there). A resource the pod does not
    /// request is never short, even on an overcommitted node. The pod
    /// count is the caller's ([`crate::placement::fits`]).
    pub fn first_shortfall(&self, used: &Resources, capacity: &Resources) -> Option<ResourceName> {
        let short = |req: u64, used: u64, cap: u64| req > 0 && used.saturating_add(req) > cap;
        if short(self.cpu_milli, used.cpu_milli, capacity.cpu_milli) {
            Some(ResourceName::Cpu)
        } else if short(self.memory_bytes, used.memory_bytes, capacity.memory_bytes) {
            Some(ResourceName::Memory)
        } else if short(
            self.ephemeral_bytes,
            used.ephemeral_bytes,
            capacity.ephemeral_bytes,
        ) {
            Some(ResourceName::EphemeralStorage)
        } else if short(self.gpu_milli, used.gpu_milli, capacity.gpu_milli) {
            Some(ResourceName::Gpu)
        } else if self.extra.0.is_none() {
            None
        } else {
            self.scalars()
                .iter()
                .find(|&&(r, q)| short(q, used.extra.get(r), capacity.extra.get(r)))
                .map(|&(r, _)| r)
        }
    }

    /// Every resource for which `used + self` exceeds `capacity`, in the
    /// order of [`Resources::first_shortfall`], skipping the extended
    /// resources `ignored` says to (upstream's `IgnoredResources` and
    /// `IgnoredResourceGroups`).
    pub fn shortfalls(
        &self,
        used: &Resources,
        capacity: &Resources,
        ignored: &dyn Fn(ResourceName) -> bool,
    ) -> Vec<ResourceName> {
        let mut out = Vec::new();
        let mut check = |r: ResourceName, req: u64, used: u64, cap: u64| {
            let skip = r.is_extended() && ignored(r);
            if !skip && req > 0 && used.saturating_add(req) > cap {
                out.push(r);
            }
        };
        check(
            ResourceName::Cpu,
            self.cpu_milli,
            used.cpu_milli,
            capacity.cpu_milli,
        );
        check(
            ResourceName::Memory,
            self.memory_bytes,
            used.memory_bytes,
            capacity.memory_bytes,
        );
        check(
            ResourceName::EphemeralStorage,
            self.ephemeral_bytes,
            used.ephemeral_bytes,
            capacity.ephemeral_bytes,
        );
        check(
            ResourceName::Gpu,
            self.gpu_milli,
            used.gpu_milli,
            capacity.gpu_milli,
        );
        for &(r, q) in self.scalars() {
            check(r, q, used.extra.get(r), capacity.extra.get(r));
        }
        out
    }

    /// The plain non-zero rule on the pod's totals.
    fn plain_non_zero(&self) -> (u64, u64) {
        (
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
    }

    /// Kubernetes' scoring view of a request: a container asking for no CPU
    /// counts as 100m and one asking for no memory as 200Mi
    /// (`DefaultMilliCPURequest`, `DefaultMemoryRequest` in
    /// `pkg/scheduler/util/pod_resources.go`), so empty pods still spread.
    /// For a pod built from containers the defaults were applied per
    /// container ([`Resources::with_non_zero`]); otherwise the pod is one
    /// container and a zero stands for a missing request. Other resources
    /// are as requested.
    pub fn non_zero(self) -> Resources {
        let (cpu_milli, memory_bytes) = self
            .extra
            .non_zero()
            .unwrap_or_else(|| self.plain_non_zero());
        Resources {
            cpu_milli,
            memory_bytes,
            ..self
        }
    }

    /// The amount of one resource (`pods`: the node's stated count, 0 if it does not say).
    pub fn get(&self, r: ResourceName) -> u64 {
        match r {
            ResourceName::Cpu => self.cpu_milli,
            ResourceName::Memory => self.memory_bytes,
            ResourceName::Gpu => self.gpu_milli,
            ResourceName::EphemeralStorage => self.ephemeral_bytes,
            ResourceName::Pods => u64::from(self.pods),
            ResourceName::Scalar(_) => self.extra.get(r),
        }
    }
}

impl Add for Resources {
    type Output = Resources;
    fn add(self, o: Resources) -> Resources {
        Resources {
            cpu_milli: self.cpu_milli.saturating_add(o.cpu_milli),
            memory_bytes: self.memory_bytes.saturating_add(o.memory_bytes),
            gpu_milli: self.gpu_milli.saturating_add(o.gpu_milli),
            ephemeral_bytes: self.ephemeral_bytes.saturating_add(o.ephemeral_bytes),
            pods: self.pods.saturating_add(o.pods),
            extra: self.extra.zip(o.extra, u64::saturating_add),
        }
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
                && self.ephemeral_bytes >= o.ephemeral_bytes
        );
        self.cpu_milli = self.cpu_milli.saturating_sub(o.cpu_milli);
        self.memory_bytes = self.memory_bytes.saturating_sub(o.memory_bytes);
        self.gpu_milli = self.gpu_milli.saturating_sub(o.gpu_milli);
        self.ephemeral_bytes = self.ephemeral_bytes.saturating_sub(o.ephemeral_bytes);
        self.pods = self.pods.saturating_sub(o.pods);
        self.extra = self.extra.zip(o.extra, u64::saturating_sub);
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

/// A `topologySpreadConstraints` entry.
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
    /// The pods it counts: the replica's own service unless a
    /// `labelSelector` was given (merged with `matchLabelKeys`).
    pub selector: PodSelector,
    /// `matchLabelKeys`: keys whose values, taken from the replica's own
    /// labels, were added to the selector (kept for display).
    pub match_label_keys: Vec<String>,
    /// `nodeAffinityPolicy` (default `Honor`).
    pub node_affinity_policy: NodeInclusionPolicy,
    /// `nodeTaintsPolicy` (default `Ignore`).
    pub node_taints_policy: NodeInclusionPolicy,
}

/// `nodeAffinityPolicy` / `nodeTaintsPolicy` of a spread constraint: whether
/// nodes the replica could not go to (by node affinity, or by untolerated
/// `NoSchedule`/`NoExecute` taints) still count when skew is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeInclusionPolicy {
    /// Only nodes passing the check count.
    Honor,
    /// Every node counts.
    Ignore,
}

/// Which pods a spread constraint or a pod affinity term counts.
///
/// A service's pods all carry its template's namespace and labels, so a
/// selector picks whole services; which ones is settled once, when the
/// scenario is resolved ([`PodSet::resolve`]), and a decision only sums
/// [`crate::placement::ClusterView::count`] over them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum PodSelector {
    /// The replica's own service (a scenario constraint without
    /// `labelSelector`; the cached path of the default profile).
    #[default]
    Own,
    /// An explicit selector and the services it picks.
    Pods(Box<PodSet>),
}

/// An explicit `labelSelector` (with the namespaces it looks in) and the
/// services whose pods it selects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodSet {
    /// The selector; `None` is a nil selector, which matches no pod.
    pub selector: Option<crate::labels::LabelSelector>,
    /// Namespaces whose pods may match (a spread constraint: the replica's
    /// own; an affinity term: its `namespaces`, or the replica's own when
    /// empty and there is no `namespace_selector`); `all_namespaces`
    /// overrides, and [`resolve_pod_selectors_in`] adds the namespaces
    /// `namespace_selector` picks.
    pub namespaces: Vec<String>,
    /// An empty `namespaceSelector`: pods of every namespace.
    pub all_namespaces: bool,
    /// A non-empty `namespaceSelector` over the namespaces' labels
    /// (`AffinityTerm.Matches`: a pod matches when its namespace is listed
    /// *or* selected); `None` when absent or empty (`all_namespaces`).
    pub namespace_selector: Option<crate::labels::LabelSelector>,
    /// The services whose pods match, ascending (set by [`PodSet::resolve`]).
    pub services: Vec<ServiceId>,
    /// Whether the replica's own service is among them (`selfMatchNum`).
    pub self_match: bool,
}

impl PodSet {
    /// Whether pods with `meta` are selected.
    pub fn selects(&self, meta: &PodMeta) -> bool {
        (self.all_namespaces || self.namespaces.contains(&meta.namespace))
            && self
                .selector
                .as_ref()
                .is_some_and(|s| s.matches(&meta.labels))
    }

    /// Fills `services` and `self_match` from every service's pod metadata
    /// (`metas[s]` for service `s`), for a constraint of service `own`.
    pub fn resolve(&mut self, own: ServiceId, metas: &[&PodMeta]) {
        self.services = (0..metas.len())
            .filter(|&s| self.selects(metas[s]))
            .map(|s| ServiceId(s as u32))
            .collect();
        self.self_match = self.services.contains(&own);
    }
}

/// [`resolve_pod_selectors_in`] where every namespace carries only its
/// `kubernetes.io/metadata.name` label.
pub fn resolve_pod_selectors(specs: &mut [ServiceSpec]) {
    resolve_pod_selectors_in(specs, &BTreeMap::new());
}

/// The label every namespace carries with its own name
/// (`kubernetes.io/metadata.name`, set by the API server since 1.22).
pub const LABEL_NAMESPACE_NAME: &str = "kubernetes.io/metadata.name";

/// A namespace's labels: `declared` (a scenario's `[namespaces.NAME]`),
/// with `kubernetes.io/metadata.name` set to its name, as the API server
/// sets it whatever the object says.
pub fn namespace_labels(
    name: &str,
    declared: Option<&crate::labels::Labels>,
) -> crate::labels::Labels {
    let mut l = declared.cloned().unwrap_or_default();
    l.insert(LABEL_NAMESPACE_NAME.to_string(), name.to_string());
    l
}

/// Settles which services every explicit selector picks ([`PodSet::resolve`]),
/// given every service of a desired state (`specs[s]` is service `s`) and
/// the labels of declared namespaces (`namespaces`; any other namespace
/// carries only [`LABEL_NAMESPACE_NAME`]), and hands each service the terms
/// of others that select it (InterPodAffinity's symmetric half). A
/// `namespaceSelector` is settled first: the namespaces of the pods that
/// exist (every service's) whose labels it matches join the term's list.
pub fn resolve_pod_selectors_in(
    specs: &mut [ServiceSpec],
    namespaces: &BTreeMap<String, crate::labels::Labels>,
) {
    let mut known: Vec<&String> = specs.iter().map(|s| &s.meta.namespace).collect();
    known.extend(namespaces.keys());
    known.sort();
    known.dedup();
    let ns_labels: Vec<(String, crate::labels::Labels)> = known
        .into_iter()
        .map(|n| (n.clone(), namespace_labels(n, namespaces.get(n))))
        .collect();
    let add_selected = |p: &mut PodSet| {
        if let Some(sel) = &p.namespace_selector {
            for (n, l) in &ns_labels {
                if sel.matches(l) && !p.namespaces.contains(n) {
                    p.namespaces.push(n.clone());
                }
            }
        }
    };
    for spec in specs.iter_mut() {
        for sc in &mut spec.placement.spread {
            if let PodSelector::Pods(p) = &mut sc.selector {
                add_selected(p);
            }
        }
        if let Some(pa) = &mut spec.placement.pod_affinity {
            for t in &mut pa.terms {
                add_selected(&mut t.pods);
            }
        }
    }
    let metas: Vec<PodMeta> = specs.iter().map(|s| s.meta.clone()).collect();
    let refs: Vec<&PodMeta> = metas.iter().collect();
    let mut existing: Vec<Vec<ExistingTerm>> = vec![Vec::new(); specs.len()];
    for (i, spec) in specs.iter_mut().enumerate() {
        let own = ServiceId(i as u32);
        for sc in &mut spec.placement.spread {
            if let PodSelector::Pods(p) = &mut sc.selector {
                p.resolve(own, &refs);
            }
        }
        if let Some(pa) = &mut spec.placement.pod_affinity {
            for t in &mut pa.terms {
                t.pods.resolve(own, &refs);
                for &s in &t.pods.services {
                    existing[s.0 as usize].push(ExistingTerm {
                        service: own,
                        topology_key: t.topology_key.clone(),
                        anti: t.anti,
                        required: t.required,
                        weight: t.weight,
                    });
                }
            }
        }
    }
    for (spec, ex) in specs.iter_mut().zip(existing) {
        if ex.is_empty() {
            continue;
        }
        spec.placement
            .pod_affinity
            .get_or_insert_with(Default::default)
            .existing = ex;
    }
}

impl PodSelector {
    /// Replicas it selects on node `i` of `view`, for a replica of `own`.
    pub fn count(&self, view: &crate::placement::ClusterView<'_>, i: usize, own: ServiceId) -> u32 {
        match self {
            PodSelector::Own => view.count(i, own),
            PodSelector::Pods(p) => p.services.iter().map(|&s| view.count(i, s)).sum(),
        }
    }

    /// Whether the incoming replica matches it itself (`selfMatchNum` = 1).
    pub fn self_match(&self) -> bool {
        match self {
            PodSelector::Own => true,
            PodSelector::Pods(p) => p.self_match,
        }
    }
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
    /// Pod affinity and anti-affinity with explicit selectors: the
    /// replica's own terms and the terms of other services that select it
    /// (`None`: neither; the replica costs `InterPodAffinity` nothing).
    pub pod_affinity: Option<Box<PodAffinity>>,
}

impl Constraints {
    /// Whether where other replicas run matters to this replica's placement
    /// (spreading, pod affinity or anti-affinity, in either direction).
    pub fn depends_on_pods(&self) -> bool {
        !self.spread.is_empty() || self.anti_affinity.is_some() || self.pod_affinity.is_some()
    }
}

/// One `podAffinity` or `podAntiAffinity` term with an explicit selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodAffinityTerm {
    /// The pods it is about.
    pub pods: PodSet,
    /// Node label whose domains it speaks of.
    pub topology_key: String,
    /// Anti-affinity (`true`) or affinity.
    pub anti: bool,
    /// `required…` (a filter) or `preferred…` (a score with `weight`).
    pub required: bool,
    /// Weight of the preferred form (1..=100; 0 when required).
    pub weight: i32,
}

/// Another service's term that selects this replica: InterPodAffinity's
/// symmetric half (existing pods' required anti-affinity filters; their
/// preferred terms, and their required affinity with
/// `hardPodAffinityWeight`, score).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExistingTerm {
    /// The service whose replicas carry the term.
    pub service: ServiceId,
    /// Its topology key.
    pub topology_key: String,
    /// Anti-affinity or affinity.
    pub anti: bool,
    /// Required or preferred.
    pub required: bool,
    /// Weight of the preferred form (0 when required).
    pub weight: i32,
}

/// A replica's pod affinity as `InterPodAffinity` reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodAffinity {
    /// The replica's own terms, in the order written (affinity, then anti-affinity).
    pub terms: Vec<PodAffinityTerm>,
    /// Terms of services (its own included) whose selector picks this replica.
    pub existing: Vec<ExistingTerm>,
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
    /// What owns the pods: a ReplicaSet, or nothing (bare pods).
    pub controller: Controller,
    /// The pod template's volumes (what the node autoscalers' drain rules
    /// look at: local storage).
    pub volumes: Vec<Volume>,
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
}

impl Volume {
    /// Upstream's `isLocalVolume` (cluster-autoscaler
    /// `utils/drain/drain.go`): a `hostPath`, or an `emptyDir` not in memory.
    pub fn is_local_storage(&self) -> bool {
        match &self.source {
            VolumeSource::EmptyDir { memory } => !memory,
            VolumeSource::HostPath { .. } => true,
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
