//! The balancing policies as a typed value: what a scenario's `balancer`
//! name resolves to at load time.
//!
//! Key decision: the scenario loader turns the name into a [`Routing`] once
//! (through the registry, which keeps the names, descriptions and the
//! "did you mean" error), and everything past the loader matches on the
//! enum: no world compares a policy name. `CentralQueue` is a routing mode,
//! not a policy — no balancer picks; the world hands the oldest waiting
//! request to the next free slot ([`SlotPool`](super::SlotPool)).

use super::{
    Balance, BalancingSpec, Ejecting, Jsq, LeastRequest, Maglev, P2c, Random, RingHash, RoundRobin,
    SmoothWeighted, peak_ewma,
};

/// A request-level balancing policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Policy {
    /// Each endpoint in turn.
    RoundRobin,
    /// A uniformly random endpoint.
    Random,
    /// Fewest outstanding requests over all endpoints.
    LeastRequest,
    /// Power of d choices on outstanding requests.
    P2c,
    /// Power of d choices on peak-EWMA latency × load.
    PeakEwma,
    /// Join the shortest queue.
    Jsq,
    /// nginx smooth weighted round robin.
    WeightedRoundRobin,
    /// Consistent hashing on a ring.
    RingHash,
    /// Maglev lookup table.
    Maglev,
}

/// How a service's requests reach its replicas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Routing {
    /// A balancer (or one per client) picks a replica for each request;
    /// the replica queues what it cannot start.
    Balanced(Policy),
    /// Requests wait at the balancer until a replica has a free slot,
    /// oldest first (HAProxy `maxconn` + queue).
    CentralQueue,
}

impl Default for Routing {
    fn default() -> Routing {
        Routing::Balanced(Policy::RoundRobin)
    }
}

impl Policy {
    /// The name scenarios and the registry use.
    pub const fn name(self) -> &'static str {
        match self {
            Policy::RoundRobin => "round-robin",
            Policy::Random => "random",
            Policy::LeastRequest => "least-request",
            Policy::P2c => "p2c",
            Policy::PeakEwma => "peak-ewma",
            Policy::Jsq => "jsq",
            Policy::WeightedRoundRobin => "weighted-round-robin",
            Policy::RingHash => "ring-hash",
            Policy::Maglev => "maglev",
        }
    }

    /// Whether per-replica weights matter (worlds call `on_weight` only then).
    pub const fn weighted(self) -> bool {
        matches!(self, Policy::WeightedRoundRobin)
    }

    /// Whether `choices` (the d of power-of-d choices) applies.
    pub const fn has_choices(self) -> bool {
        matches!(self, Policy::P2c | Policy::PeakEwma)
    }

    /// Whether the policy maps request keys to endpoints.
    pub const fn hashes_keys(self) -> bool {
        matches!(self, Policy::RingHash | Policy::Maglev)
    }

    /// A fresh instance with the policy's defaults.
    pub fn fresh(self) -> Box<dyn Balance> {
        match self {
            Policy::RoundRobin => Box::new(RoundRobin::default()),
            Policy::Random => Box::new(Random),
            Policy::LeastRequest => Box::new(LeastRequest::default()),
            Policy::P2c => Box::new(P2c::default()),
            Policy::PeakEwma => Box::new(peak_ewma::balancer()),
            Policy::Jsq => Box::new(Jsq::default()),
            Policy::WeightedRoundRobin => Box::new(SmoothWeighted::new()),
            Policy::RingHash => Box::new(RingHash::new()),
            Policy::Maglev => Box::new(Maglev::default()),
        }
    }

    /// One balancer instance with `spec`'s settings: `choices` for the
    /// power-of-d policies, wrapped in outlier ejection when configured.
    pub fn build(self, spec: &BalancingSpec) -> Box<dyn Balance> {
        let inner: Box<dyn Balance> = match (self, spec.choices) {
            (Policy::P2c, Some(d)) => Box::new(P2c::new(d)),
            (Policy::PeakEwma, Some(d)) => Box::new(P2c::with_load(
                peak_ewma::PeakEwma::default(),
                d,
                "peak-ewma",
            )),
            _ => self.fresh(),
        };
        match spec.outlier {
            Some(o) => Box::new(Ejecting::new(inner, o)),
            None => inner,
        }
    }
}

impl Routing {
    /// The name scenarios and the registry use.
    pub const fn name(self) -> &'static str {
        match self {
            Routing::Balanced(p) => p.name(),
            Routing::CentralQueue => "central-queue",
        }
    }

    /// The policy, unless central-queue mode.
    pub const fn policy(self) -> Option<Policy> {
        match self {
            Routing::Balanced(p) => Some(p),
            Routing::CentralQueue => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::OutlierSpec;
    use crate::ids::ReplicaId;
    use crate::rng::stream;

    #[test]
    fn choices_reach_p2c_and_outlier_detection_wraps_any_policy() {
        let spec = BalancingSpec {
            choices: Some(3),
            outlier: Some(OutlierSpec::default()),
            ..Default::default()
        };
        let mut b = Policy::P2c.build(&spec);
        assert_eq!(b.name(), "p2c");
        // With d = 3 of 3 endpoints, every pick is the global minimum:
        // load 2 on 0 and 1, 0 on 2 → always 2.
        let eps = [ReplicaId(0), ReplicaId(1), ReplicaId(2)];
        b.on_endpoints(&eps);
        for r in [0, 0, 1, 1] {
            b.on_start(ReplicaId(r));
        }
        let mut rng = stream(5, "t");
        assert!((0..50).all(|_| b.pick(&eps, &mut rng) == Some(2)));
    }

    #[test]
    fn only_the_setting_owners_claim_their_settings() {
        let all = [
            Policy::RoundRobin,
            Policy::Random,
            Policy::LeastRequest,
            Policy::P2c,
            Policy::PeakEwma,
            Policy::Jsq,
            Policy::WeightedRoundRobin,
            Policy::RingHash,
            Policy::Maglev,
        ];
        let names = |f: fn(Policy) -> bool| -> Vec<&str> {
            all.iter().filter(|p| f(**p)).map(|p| p.name()).collect()
        };
        assert_eq!(names(Policy::weighted), ["weighted-round-robin"]);
        assert_eq!(names(Policy::has_choices), ["p2c", "peak-ewma"]);
        assert_eq!(names(Policy::hashes_keys), ["ring-hash", "maglev"]);
        for p in all {
            assert_eq!(p.fresh().name(), p.name());
        }
        assert_eq!(Routing::CentralQueue.policy(), None);
        assert_eq!(Routing::default().name(), "round-robin");
    }
}
