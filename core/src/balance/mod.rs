//! The balancing seam: choosing a ready replica for each request.
//!
//! Key decision: a balancer sees only the current endpoint list (ready
//! replicas, in a stable order) and learns about load through feedback hooks
//! (`on_start`, `on_complete`), after tower's `balance` and Envoy's load
//! balancers. It never looks inside the world, so the simulator and the live
//! proxy drive the very same struct. Randomness comes in as an argument, and
//! so does time (`on_time`), for the balancers that decay what they learnt.
//! Per-endpoint state is keyed by [`ReplicaId`] (a dense vector indexed by
//! replica id, grown on demand), never by position in the list, because the
//! list changes as replicas come and go.
//!
//! One file per policy: `least_request` (full scan), `jsq`, `p2c` (power of
//! d choices over a [`Load`]), `peak_ewma` (Finagle/Linkerd), `wrr` (nginx
//! smooth weighted round robin), `ring_hash` (Karger et al., Envoy defaults)
//! and `maglev` (Eisenbud et al.). The hashing balancers take a request key
//! through [`Balance::pick_keyed`], drawn by worlds from a configured key
//! distribution (`keys`: uniform or Zipf); without one they hash a random
//! key, as Envoy does for a request without one. Around the policies:
//! `outlier` (Envoy outlier ejection, a decorator over any policy), `retry`
//! (Linkerd/Finagle retry budgets), `spec` (a service's balancing
//! configuration), `policy` (the typed [`Routing`] a scenario's balancer
//! name resolves to, and the constructor), `router` (the per-request glue
//! both worlds drive: clients, keys, retries, endpoint list) and `slots`
//! (central-queue mode's free slots and waiting requests).

use rand::{Rng, RngExt};

use crate::ids::ReplicaId;
use crate::time::{SimDuration, SimTime};

pub mod jsq;
pub mod keys;
pub mod least_request;
pub mod load;
pub mod maglev;
pub mod outlier;
pub mod p2c;
pub mod peak_ewma;
pub mod policy;
pub mod retry;
pub mod ring_hash;
pub mod router;
pub mod slots;
pub mod spec;
pub mod wrr;

pub use jsq::Jsq;
pub use keys::{KeyDist, Keys};
pub use least_request::LeastRequest;
pub use load::{Load, Outstanding};
pub use maglev::Maglev;
pub use outlier::{Ejecting, OutlierSpec};
pub use p2c::P2c;
pub use peak_ewma::PeakEwma;
pub use policy::{Policy, Routing};
pub use retry::{RetryBudget, RetryBudgetSpec};
pub use ring_hash::RingHash;
pub use router::{Attempt, Outcome, Router};
pub use slots::SlotPool;
pub use spec::{BalancingSpec, Weights};
pub use wrr::SmoothWeighted;

/// A request-level load-balancing policy.
pub trait Balance: Send {
    /// The name the registry knows it by.
    fn name(&self) -> &'static str;

    /// Picks an index into `endpoints`, or `None` when there is none.
    fn pick(&mut self, endpoints: &[ReplicaId], rng: &mut dyn Rng) -> Option<usize>;

    /// A request was sent to `replica`.
    fn on_start(&mut self, _replica: ReplicaId) {}

    /// A request sent to `replica` finished after `latency`; `ok` is false for
    /// rejections and timeouts.
    fn on_complete(&mut self, _replica: ReplicaId, _latency: SimDuration, _ok: bool) {}

    /// Picks for a request that carries `key` (a hash of, say, a user id or
    /// a header), for the balancers that map keys to endpoints (`ring-hash`,
    /// `maglev`). The others ignore the key; `None` is the same as `pick`.
    fn pick_keyed(
        &mut self,
        endpoints: &[ReplicaId],
        _key: Option<u64>,
        rng: &mut dyn Rng,
    ) -> Option<usize> {
        self.pick(endpoints, rng)
    }

    /// The endpoint list is now `endpoints`. Worlds call this on every
    /// change, before the next pick, as Envoy's host-set update callbacks
    /// and tower's discovery do; the balancers that precompute per list
    /// (`weighted-round-robin`'s cycle, `ring-hash`'s ring, `maglev`'s
    /// table) rebuild here, so a pick never compares lists. They also
    /// rebuild if a pick sees a list of another length, and debug builds
    /// check that the list is the one announced.
    fn on_endpoints(&mut self, _endpoints: &[ReplicaId]) {}

    /// The time is now `now` (the world's clock: simulated, or wall time
    /// since the proxy started). Called before `pick` and `on_complete` by
    /// worlds whose balancers may decay estimates over time (`peak-ewma`).
    fn on_time(&mut self, _now: SimTime) {}

    /// `replica`'s weight is now `weight` (worlds call this before the
    /// `on_endpoints` that adds it; Envoy's per-host load-balancing weight).
    /// Only `weighted-round-robin` uses weights.
    fn on_weight(&mut self, _replica: ReplicaId, _weight: u32) {}

    /// Hosts ejected so far by outlier detection ([`Ejecting`]); zero for
    /// balancers without it.
    fn ejections(&self) -> u64 {
        0
    }
}

/// A SplitMix64 finaliser: a cheap, well-mixed 64-bit hash of a key or of a
/// replica id, so the hashing balancers place the same replica at the same
/// ring points on every run (no OS randomness, no process seed).
#[inline]
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Whether a balancer that precomputed for `cached` must rebuild for
/// `endpoints` (announced through `on_endpoints`, so only the length is
/// checked in release builds).
#[inline]
pub(crate) fn stale(cached: &[ReplicaId], endpoints: &[ReplicaId]) -> bool {
    if cached.len() != endpoints.len() {
        return true;
    }
    debug_assert!(
        cached == endpoints,
        "the endpoint list changed without on_endpoints"
    );
    false
}

/// Grows a per-replica vector so `id` indexes it.
#[inline]
pub(crate) fn slot<T: Clone>(v: &mut Vec<T>, id: ReplicaId, fill: T) -> &mut T {
    let i = id.0 as usize;
    if i >= v.len() {
        v.resize(i + 1, fill);
    }
    &mut v[i]
}

/// Round robin: endpoints in turn (Envoy's `ROUND_ROBIN` with equal weights).
///
/// When the endpoint list changes the cursor is kept modulo the new length,
/// as Envoy and kube-proxy do, so no endpoint is favoured systematically.
#[derive(Clone, Debug, Default)]
pub struct RoundRobin {
    next: usize,
}

impl Balance for RoundRobin {
    fn name(&self) -> &'static str {
        "round-robin"
    }

    #[inline]
    fn pick(&mut self, endpoints: &[ReplicaId], _rng: &mut dyn Rng) -> Option<usize> {
        if endpoints.is_empty() {
            return None;
        }
        if self.next >= endpoints.len() {
            self.next %= endpoints.len();
        }
        let i = self.next;
        self.next += 1;
        Some(i)
    }
}

/// Uniform random choice (Envoy's `RANDOM`); with Poisson arrivals each
/// replica sees a Poisson stream of rate λ/n, which is what makes M/M/1
/// theory apply.
#[derive(Clone, Debug, Default)]
pub struct Random;

impl Balance for Random {
    fn name(&self) -> &'static str {
        "random"
    }

    #[inline]
    fn pick(&mut self, endpoints: &[ReplicaId], rng: &mut dyn Rng) -> Option<usize> {
        if endpoints.is_empty() {
            None
        } else {
            Some(rng.random_range(0..endpoints.len()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    pub(crate) fn ids(n: u32) -> Vec<ReplicaId> {
        (0..n).map(ReplicaId).collect()
    }

    #[test]
    fn round_robin_visits_each_endpoint_once_per_cycle() {
        let mut rr = RoundRobin::default();
        let mut rng = stream(0, "t");
        let eps = ids(3);
        let picks: Vec<_> = (0..6).map(|_| rr.pick(&eps, &mut rng).unwrap()).collect();
        assert_eq!(picks, vec![0, 1, 2, 0, 1, 2]);
        // Endpoint set shrinks to 2: the cursor (3 after 6 picks) is taken modulo 2 = 1
        // and keeps cycling in range.
        let eps = ids(2);
        let picks: Vec<_> = (0..4).map(|_| rr.pick(&eps, &mut rng).unwrap()).collect();
        assert_eq!(picks, vec![1, 0, 1, 0]);
        assert_eq!(rr.pick(&[], &mut rng), None);
    }

    #[test]
    fn random_is_roughly_uniform() {
        // 40k picks over 4 endpoints: expected 10000 each, sd √(40000·¼·¾) = 87; allow 5 sd.
        let mut b = Random;
        let mut rng = stream(1, "t");
        let eps = ids(4);
        let mut counts = [0u32; 4];
        for _ in 0..40_000 {
            counts[b.pick(&eps, &mut rng).unwrap()] += 1;
        }
        for c in counts {
            assert!((c as i64 - 10_000).abs() < 435, "{counts:?}");
        }
        assert_eq!(b.pick(&[], &mut rng), None);
    }
}
