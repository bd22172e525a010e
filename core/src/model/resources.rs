//! Resources: the inline common case (cpu, memory, ephemeral storage, GPU
//! thousandths, pods) and the interned side list for every other name.

use std::ops::{Add, AddAssign, SubAssign};

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
