//! Validated fault specifications.
//!
//! Key decision: every target is resolved at load time into dense ids
//! (nodes, services) or zone names the topology knows, so a fault that
//! reaches the world can no longer name something that does not exist;
//! the scenario loader (`scenario/faults.rs`) rejects unknown targets,
//! zero durations and impossible windows with the field named.

use rand::Rng;
use rand_distr::{Distribution, Weibull};

use crate::dist::DurationDist;
use crate::model::{NodeId, ServiceId};
use crate::time::{SimDuration, SimTime};

/// Everything `[[faults]]` and `[stochastic.POOL]` declare.
#[derive(Clone, Debug, Default)]
pub struct FaultsSpec {
    /// Scheduled faults, in file order.
    pub scheduled: Vec<Fault>,
    /// Stochastic failure processes, in name order.
    pub stochastic: Vec<FailureProcess>,
    /// `live = …` of scheduled faults, by fault name (`faults[i]`); absent: [`LiveAction::Kill`].
    pub live_actions: std::collections::BTreeMap<String, LiveAction>,
}

/// How live mode carries out a node crash, zone outage or container crash
/// (`live = …`; the simulator models each as a crash). Whatever the
/// action, a node's heartbeats stop for the fault's length.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LiveAction {
    /// `docker kill` (SIGKILL): requests in flight are lost.
    #[default]
    Kill,
    /// `docker stop`: SIGTERM, the workload drains, SIGKILL after 5 s.
    Stop,
    /// `docker pause` (cgroup freezer) until the end: connections hang.
    Pause,
    /// Detached from the run's network until the end: connections are refused.
    Disconnect,
    /// The host's engine itself is stopped with the hosts file's `stop`
    /// command (its containers stop with it) and started with `start` at the end.
    StopEngine,
}

impl FaultsSpec {
    /// Whether the scenario injects nothing.
    pub fn is_empty(&self) -> bool {
        self.scheduled.is_empty() && self.stochastic.is_empty()
    }
}

/// One scheduled fault: `kind` from `at` for `duration`.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// Where it was declared (`faults[2]`, `stochastic.web/web-r1`), for events and logs.
    pub name: String,
    /// Start.
    pub at: SimTime,
    /// Length; `None` lasts to the end of the run (a node that never comes back).
    pub duration: Option<SimDuration>,
    /// What breaks.
    pub kind: FaultKind,
}

impl Fault {
    /// The end instant, if it ends.
    pub fn end(&self) -> Option<SimTime> {
        self.duration.map(|d| self.at + d)
    }
}

/// What breaks, with its resolved target.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    /// The nodes stop (replicas lost, heartbeats stop); they reboot empty at the end.
    NodeCrash {
        /// Nodes that crash.
        nodes: Vec<NodeId>,
    },
    /// Every node of a zone crashes at once, and its links go down.
    ZoneOutage {
        /// The zone.
        zone: String,
        /// Its nodes.
        nodes: Vec<NodeId>,
    },
    /// Links between every zone of `a` and every zone of `b` are cut.
    Partition {
        /// One side.
        a: Vec<String>,
        /// The other side.
        b: Vec<String>,
    },
    /// Links between every zone of `a` and every zone of `b` get slower and lossier.
    LinkDegrade {
        /// One side.
        a: Vec<String>,
        /// The other side.
        b: Vec<String>,
        /// Added one-way latency.
        latency: SimDuration,
        /// Added loss probability in [0, 1].
        loss: f64,
    },
    /// The nodes run work at `speed` × their normal rate (service times ÷ speed).
    SlowNode {
        /// Slow nodes.
        nodes: Vec<NodeId>,
        /// Speed factor in (0, 1].
        speed: f64,
    },
    /// Each replica of the service crashes as a Poisson process of `rate` per second.
    ContainerCrash {
        /// The service.
        service: ServiceId,
        /// Crashes per second per replica.
        rate: f64,
    },
    /// Replicas whose memory use passes the limit are killed (OOMKilled).
    OomKill {
        /// The service.
        service: ServiceId,
        /// Memory use as a function of in-flight requests.
        memory: super::MemoryModel,
    },
    /// New replicas of the service cannot pull their image (ErrImagePull / ImagePullBackOff).
    ImagePullFailure {
        /// The service.
        service: ServiceId,
    },
    /// The control plane (replica controller, scheduler, node lifecycle, autoscalers) stops acting.
    ControlPlanePause,
    /// The nodes are drained as `kubectl drain` does: cordoned, and each pod
    /// evicted through the eviction API (PodDisruptionBudgets honoured; a
    /// refused eviction is retried every 5 s); uncordoned at the end.
    NodeDrain {
        /// Drained nodes.
        nodes: Vec<NodeId>,
    },
    /// Nodes a node autoscaler adds to the group never register (a cloud
    /// that accepts the request but never delivers the instance, or a
    /// bootstrap that fails): they stay booting until the autoscaler gives
    /// up on them (`--max-node-provision-time`, Karpenter's registration TTL).
    ProvisionFailure {
        /// The node group (index into the scenario's node groups).
        group: u32,
    },
}

impl FaultKind {
    /// The scenario spelling of the kind.
    pub fn as_str(&self) -> &'static str {
        match self {
            FaultKind::NodeCrash { .. } => "node-crash",
            FaultKind::ZoneOutage { .. } => "zone-outage",
            FaultKind::Partition { .. } => "partition",
            FaultKind::LinkDegrade { .. } => "link-degrade",
            FaultKind::SlowNode { .. } => "slow-node",
            FaultKind::ContainerCrash { .. } => "container-crash",
            FaultKind::OomKill { .. } => "oom-kill",
            FaultKind::ImagePullFailure { .. } => "image-pull-failure",
            FaultKind::ControlPlanePause => "control-plane-pause",
            FaultKind::ProvisionFailure { .. } => "provision-failure",
            FaultKind::NodeDrain { .. } => "node-drain",
        }
    }
}

/// A distribution of times to failure or to repair.
#[derive(Clone, Debug)]
pub enum Lifetime {
    /// Exponential or lognormal, sampled by [`DurationDist`].
    Dist(DurationDist),
    /// Weibull with shape `k` and scale `λ` seconds (characteristic life):
    /// `P(T > t) = exp(−(t/λ)^k)`; `k < 1` infant mortality, `k > 1` wear-out.
    Weibull {
        /// Shape `k` > 0.
        shape: f64,
        /// Scale `λ` in seconds.
        scale_s: f64,
        /// Sampler.
        dist: Weibull<f64>,
    },
}

impl Lifetime {
    /// Weibull with `shape` > 0 and `scale` > 0.
    pub fn weibull(scale: SimDuration, shape: f64) -> Result<Lifetime, String> {
        if scale.0 == 0 {
            return Err("scale must be greater than zero".into());
        }
        if !(shape.is_finite() && shape > 0.0) {
            return Err(format!("shape must be > 0 (got {shape})"));
        }
        let scale_s = scale.as_secs_f64();
        let dist = Weibull::new(scale_s, shape).map_err(|e| e.to_string())?;
        Ok(Lifetime::Weibull {
            shape,
            scale_s,
            dist,
        })
    }

    /// One draw, at least one nanosecond (so a process always moves forward).
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> SimDuration {
        let d = match self {
            Lifetime::Dist(d) => d.sample(rng),
            Lifetime::Weibull { dist, .. } => SimDuration::from_secs_f64(dist.sample(rng)),
        };
        SimDuration(d.0.max(1))
    }
}

/// What one failure of a stochastic process takes down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureScope {
    /// Each node fails on its own.
    Node,
    /// A rack fails with all its nodes.
    Rack,
    /// The pool's zone fails with all its nodes (every pool in it).
    Zone,
}

/// `[stochastic.POOL]`: alternating up (time to failure) and down (time to
/// repair) periods for each unit of the pool, independent between units.
#[derive(Clone, Debug)]
pub struct FailureProcess {
    /// The pool.
    pub pool: String,
    /// What fails together.
    pub scope: FailureScope,
    /// The units: each a name (node, rack or zone) and the nodes it takes down.
    pub units: Vec<(String, Vec<NodeId>)>,
    /// Time to failure, from the start or from the last repair.
    pub ttf: Lifetime,
    /// Time to repair.
    pub ttr: Lifetime,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    #[test]
    fn weibull_median_matches_closed_form() {
        // Median of Weibull(λ, k) = λ·(ln 2)^(1/k); λ = 100 s, k = 2 → 83.26 s.
        let w = Lifetime::weibull(SimDuration::from_secs(100), 2.0).unwrap();
        let mut rng = stream(7, "test");
        let mut xs: Vec<f64> = (0..20_001)
            .map(|_| w.sample(&mut rng).as_secs_f64())
            .collect();
        xs.sort_by(f64::total_cmp);
        let median = xs[10_000];
        let want = 100.0 * 2f64.ln().sqrt();
        // Sample median of 20k draws: standard error ≈ 0.4 s here; allow 2 s.
        assert!((median - want).abs() < 2.0, "median {median} vs {want}");
    }

    #[test]
    fn bad_weibull_is_rejected() {
        assert!(Lifetime::weibull(SimDuration::ZERO, 1.0).is_err());
        assert!(Lifetime::weibull(SimDuration::from_secs(1), 0.0).is_err());
        assert!(Lifetime::weibull(SimDuration::from_secs(1), f64::NAN).is_err());
    }
}
