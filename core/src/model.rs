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

/// Index of a node in [`ObservedCluster::nodes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

/// Index of a service in the desired state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceId(pub u32);

/// Index of a replica in [`ObservedCluster::replicas`]; never reused within a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReplicaId(pub u32);

/// An amount of each schedulable resource, in exact integer units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Resources {
    /// CPU in millicores (`1` core = `1000`).
    pub cpu_milli: u64,
    /// Memory in bytes.
    pub memory_bytes: u64,
}

/// The resources [`Resources::fits_within`] compares, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceName {
    /// CPU.
    Cpu,
    /// Memory.
    Memory,
}

impl ResourceName {
    /// The Kubernetes name of the resource.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceName::Cpu => "cpu",
            ResourceName::Memory => "memory",
        }
    }
}

impl Resources {
    /// Nothing.
    pub const ZERO: Resources = Resources {
        cpu_milli: 0,
        memory_bytes: 0,
    };

    /// Builds an amount from millicores and bytes.
    pub const fn new(cpu_milli: u64, memory_bytes: u64) -> Resources {
        Resources {
            cpu_milli,
            memory_bytes,
        }
    }

    /// The first resource for which `used + self` exceeds `capacity`, if any.
    pub fn first_shortfall(&self, used: &Resources, capacity: &Resources) -> Option<ResourceName> {
        if used.cpu_milli.saturating_add(self.cpu_milli) > capacity.cpu_milli {
            Some(ResourceName::Cpu)
        } else if used.memory_bytes.saturating_add(self.memory_bytes) > capacity.memory_bytes {
            Some(ResourceName::Memory)
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
    }

    /// The amount of one resource.
    pub fn get(&self, r: ResourceName) -> u64 {
        match r {
            ResourceName::Cpu => self.cpu_milli,
            ResourceName::Memory => self.memory_bytes,
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
    }
}

impl AddAssign for Resources {
    fn add_assign(&mut self, o: Resources) {
        *self = *self + o;
    }
}

impl SubAssign for Resources {
    fn sub_assign(&mut self, o: Resources) {
        debug_assert!(self.cpu_milli >= o.cpu_milli && self.memory_bytes >= o.memory_bytes);
        self.cpu_milli = self.cpu_milli.saturating_sub(o.cpu_milli);
        self.memory_bytes = self.memory_bytes.saturating_sub(o.memory_bytes);
    }
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
    /// Labels for selectors.
    pub labels: BTreeMap<String, String>,
    /// What the machine has.
    pub capacity: Resources,
    /// What replicas may request (capacity minus system reservations).
    pub allocatable: Resources,
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

/// How a service's replicas behave and what they need.
#[derive(Clone, Debug)]
pub struct ServiceSpec {
    /// Unique name (a DNS label).
    pub name: String,
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
    /// Name of the balancing policy in front of the replicas.
    pub balancer: String,
    /// What the live workload does per request.
    pub work: Work,
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
            ready: true,
        }
    }

    /// A replica requesting `requests` is bound here.
    pub fn add(&mut self, requests: Resources) {
        self.allocated += requests;
        self.non_zero_allocated += requests.non_zero();
        self.replicas += 1;
    }

    /// A replica requesting `requests` left.
    pub fn remove(&mut self, requests: Resources) {
        self.allocated -= requests;
        self.non_zero_allocated -= requests.non_zero();
        self.replicas -= 1;
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
}

impl ObservedCluster {
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
