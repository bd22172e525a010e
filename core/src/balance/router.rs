//! Request routing around a balancing policy: the one piece of glue both
//! worlds drive for every request.
//!
//! Key decision: everything between "a request arrived" and "this replica
//! serves it" that is not the policy itself lives here once — the
//! client-side balancer set and its random-stream names, choosing a client,
//! drawing the request key and re-hashing it on retry, the retry budget,
//! the endpoint list and its weights, and the feedback that drives outlier
//! ejection. The simulator and the live proxy call [`Router::route`], then
//! [`Router::pick`] per attempt and [`Router::outcome`] on a failure; they
//! only move events or bytes. Stream names are part of the contract (runs
//! are reproducible from them): client 0 draws from
//! `policy/balance/<service><tag>`, client `c` from `…/client<c>`, the
//! choice of client from `…/clients` and keys from `…/keys`; `tag` is `""`
//! for a service and `"/new"` for a rollout's new revision.

use rand::RngExt;

use super::{Balance, BalancingSpec, Keys, Policy, RetryBudget};
use crate::ids::ReplicaId;
use crate::rng::{StreamRng, names, stream};
use crate::time::{SimDuration, SimTime};

/// What a retry adds to a request key: a keyed request that is retried
/// hashes elsewhere (Envoy's hash balancers try another host on retry).
const REHASH: u64 = 0x9e37_79b9_7f4a_7c15;

/// One balancer instance: the shared one, or one client-side balancer.
struct Client {
    balancer: Box<dyn Balance>,
    rng: StreamRng,
    /// Retry budget, when the service retries.
    budget: Option<RetryBudget>,
}

/// One request on its way: which client balancer handles it, its key and
/// which attempt this is (0 the first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The client balancer (0 unless client-side balancing).
    pub client: usize,
    key: Option<u64>,
    /// Retries so far.
    pub number: u32,
}

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Pick again (a retry was spent from the budget).
    Retry,
    /// Give up: the request fails with this attempt's error.
    Done,
}

/// A service's balancers (one, or one per client), its endpoint list as
/// they know it, request keys and retry budgets.
pub struct Router {
    clients: Vec<Client>,
    client_rng: StreamRng,
    keys: Option<(Keys, StreamRng)>,
    retries: u32,
    weighted: bool,
    /// Endpoints as the balancers know them, in the order they were announced.
    endpoints: Vec<ReplicaId>,
}

impl Router {
    /// The router of `service` (`tag` `""`, or `"/new"` for a rollout's new
    /// revision) with `policy` and `spec`'s settings, its streams from `seed`.
    pub fn new(
        policy: Policy,
        spec: &BalancingSpec,
        seed: u64,
        service: &str,
        tag: &str,
    ) -> Router {
        let base = format!("{}/balance/{service}{tag}", names::POLICY);
        let clients = (0..spec.clients.max(1))
            .map(|c| Client {
                balancer: policy.build(spec),
                // Client 0 keeps the shared balancer's stream name.
                rng: match c {
                    0 => stream(seed, &base),
                    c => stream(seed, &format!("{base}/client{c}")),
                },
                budget: (spec.retries > 0).then(|| RetryBudget::new(spec.retry_budget)),
            })
            .collect();
        Router {
            clients,
            client_rng: stream(seed, &format!("{base}/clients")),
            keys: spec
                .keys
                .map(|k| (Keys::new(k), stream(seed, &format!("{base}/keys")))),
            retries: spec.retries,
            weighted: policy.weighted(),
            endpoints: Vec::new(),
        }
    }

    /// Balancer instances (1 unless client-side balancing).
    pub fn clients(&self) -> usize {
        self.clients.len()
    }

    /// Endpoints as the balancers know them.
    #[inline]
    pub fn endpoints(&self) -> &[ReplicaId] {
        &self.endpoints
    }

    /// Room for `n` more endpoints without growing (a world that knows
    /// how many replicas will be ready sizes the list once).
    pub fn reserve(&mut self, n: usize) {
        self.endpoints.reserve_exact(n);
    }

    /// `r` joins the endpoints with `weight()` (asked only of weighted
    /// policies); the balancers learn it at the next [`Router::announce`].
    pub fn add(&mut self, r: ReplicaId, weight: impl FnOnce() -> u32) {
        if self.weighted {
            let w = weight();
            for c in &mut self.clients {
                c.balancer.on_weight(r, w);
            }
        }
        self.endpoints.push(r);
    }

    /// `r` leaves the endpoints (announced at the next [`Router::announce`]).
    pub fn remove(&mut self, r: ReplicaId) {
        self.endpoints.retain(|&e| e != r);
    }

    /// The balancers learn the current endpoint list.
    pub fn announce(&mut self) {
        for c in &mut self.clients {
            c.balancer.on_endpoints(&self.endpoints);
        }
    }

    /// The endpoint list becomes `eps` (replica, weight), announced.
    pub fn replace(&mut self, eps: impl IntoIterator<Item = (ReplicaId, u32)>) {
        self.endpoints.clear();
        for (r, w) in eps {
            self.add(r, || w);
        }
        self.announce();
    }

    /// A new request at `now`: its client balancer (drawn at random when
    /// there are several) and key; it earns its client's retry budget.
    #[inline]
    pub fn route(&mut self, now: SimTime) -> Attempt {
        let client = if self.clients.len() > 1 {
            self.client_rng.random_range(0..self.clients.len())
        } else {
            0
        };
        let key = self.keys.as_mut().map(|(k, rng)| k.next(rng));
        if let Some(b) = &mut self.clients[client].budget {
            b.deposit(now);
        }
        Attempt {
            client,
            key,
            number: 0,
        }
    }

    /// The endpoint for attempt `a` at `now`, counted as started on it
    /// (`on_start`); `None` when there is no endpoint.
    #[inline]
    pub fn pick(&mut self, a: &Attempt, now: SimTime) -> Option<ReplicaId> {
        let client = &mut self.clients[a.client];
        client.balancer.on_time(now);
        let key = a
            .key
            .map(|k| k.wrapping_add(u64::from(a.number).wrapping_mul(REHASH)));
        let i = client
            .balancer
            .pick_keyed(&self.endpoints, key, &mut client.rng)?;
        let r = self.endpoints[i];
        client.balancer.on_start(r);
        Some(r)
    }

    /// A request `client` sent to `r` finished at `now` after `latency`
    /// (`ok` false for errors, rejections and timeouts).
    #[inline]
    pub fn complete(
        &mut self,
        client: usize,
        r: ReplicaId,
        latency: SimDuration,
        ok: bool,
        now: SimTime,
    ) {
        let b = &mut self.clients[client].balancer;
        b.on_time(now);
        b.on_complete(r, latency, ok);
    }

    /// As [`Router::complete`], without moving the balancers' clock: for a
    /// world that learns of the outcome between clock ticks (a request lost
    /// with its replica, refused at once, or expired in its queue).
    #[inline]
    pub fn feedback(&mut self, client: usize, r: ReplicaId, latency: SimDuration, ok: bool) {
        self.clients[client].balancer.on_complete(r, latency, ok);
    }

    /// Attempt `a` failed at `now`; `retriable` if its error may be retried
    /// (refused, or rejected by a full queue). A retry is allowed while
    /// attempts remain and the client's budget has a token; then `a` is the
    /// next attempt.
    #[inline]
    pub fn outcome(&mut self, a: &mut Attempt, retriable: bool, now: SimTime) -> Outcome {
        let retry = retriable
            && a.number < self.retries
            && self.clients[a.client]
                .budget
                .as_mut()
                .is_some_and(|b| b.try_withdraw(now));
        if retry {
            a.number += 1;
            Outcome::Retry
        } else {
            Outcome::Done
        }
    }

    /// Hosts ejected by outlier detection so far, over all clients.
    pub fn ejections(&self) -> u64 {
        self.clients.iter().map(|c| c.balancer.ejections()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::{KeyDist, RetryBudgetSpec, RingHash};

    fn ids(n: u32) -> impl Iterator<Item = (ReplicaId, u32)> {
        (0..n).map(|i| (ReplicaId(i), 1))
    }

    #[test]
    fn one_client_draws_from_the_services_stream_and_not_from_clients() {
        // `random` with one client picks exactly what Random picks on
        // stream policy/balance/web; a second router on the same seed with
        // a "/new" tag draws from policy/balance/web/new.
        let spec = BalancingSpec::default();
        let mut router = Router::new(Policy::Random, &spec, 7, "web", "");
        let mut new = Router::new(Policy::Random, &spec, 7, "web", "/new");
        router.replace(ids(10));
        new.replace(ids(10));
        let (mut rng, mut rng_new) = (
            stream(7, "policy/balance/web"),
            stream(7, "policy/balance/web/new"),
        );
        let eps: Vec<_> = ids(10).map(|(r, _)| r).collect();
        for t in 0..100 {
            let a = router.route(SimTime(t));
            assert_eq!(a.client, 0);
            let want = eps[rng.random_range(0..10)];
            assert_eq!(router.pick(&a, SimTime(t)), Some(want));
            let a = new.route(SimTime(t));
            assert_eq!(
                new.pick(&a, SimTime(t)),
                Some(eps[rng_new.random_range(0..10)])
            );
        }
    }

    #[test]
    fn clients_are_drawn_from_their_stream_and_keep_their_own_counters() {
        let spec = BalancingSpec {
            clients: 3,
            ..Default::default()
        };
        let mut router = Router::new(Policy::RoundRobin, &spec, 1, "api", "");
        router.replace(ids(4));
        let mut draws = stream(1, "policy/balance/api/clients");
        let mut cursor = [0usize; 3];
        for _ in 0..60 {
            let a = router.route(SimTime::ZERO);
            assert_eq!(a.client, draws.random_range(0..3));
            // Round robin per client: each client's own cursor.
            let got = router.pick(&a, SimTime::ZERO).unwrap();
            assert_eq!(got, ReplicaId((cursor[a.client] % 4) as u32));
            cursor[a.client] += 1;
        }
        assert_eq!(router.clients(), 3);
    }

    #[test]
    fn a_retried_key_rehashes_by_the_golden_ratio_step() {
        let keys = KeyDist::Uniform { count: 1000 };
        let spec = BalancingSpec {
            keys: Some(keys),
            retries: 3,
            ..Default::default()
        };
        let mut router = Router::new(Policy::RingHash, &spec, 4, "kv", "");
        router.replace(ids(8));
        let eps: Vec<_> = ids(8).map(|(r, _)| r).collect();
        let mut ring = RingHash::new();
        ring.on_endpoints(&eps);
        let mut key_rng = stream(4, "policy/balance/kv/keys");
        let mut pick_rng = stream(4, "policy/balance/kv");
        // 20 requests × 3 retries = 60, within the default budget's floor
        // of minRetriesPerSecond 10 × ttl 10 s = 100 tokens.
        for t in 1..=20u64 {
            let now = SimTime(t);
            let key = Keys::new(keys).next(&mut key_rng);
            let mut a = router.route(now);
            for n in 0..3u64 {
                let k = key.wrapping_add(n.wrapping_mul(REHASH));
                let want = ring
                    .pick_keyed(&eps, Some(k), &mut pick_rng)
                    .map(|i| eps[i]);
                assert_eq!(router.pick(&a, now), want, "attempt {n}");
                assert_eq!(router.outcome(&mut a, true, now), Outcome::Retry);
            }
        }
    }

    #[test]
    fn retries_stop_at_the_limit_the_budget_and_non_retriable_errors() {
        // retries = 2 with a budget of 1 retry/s over a 10 s window
        // (min_per_sec 1 × ttl 10 = 10 tokens, ratio 0): the first request
        // may retry twice, then Done.
        let spec = BalancingSpec {
            retries: 2,
            retry_budget: RetryBudgetSpec {
                ratio: 0.0,
                min_per_sec: 1.0,
                ttl: SimDuration::from_secs(10),
            },
            ..Default::default()
        };
        let mut router = Router::new(Policy::RoundRobin, &spec, 1, "s", "");
        router.replace(ids(2));
        let now = SimTime(1);
        let mut a = router.route(now);
        assert_eq!(router.outcome(&mut a, false, now), Outcome::Done);
        assert_eq!(a.number, 0);
        assert_eq!(router.outcome(&mut a, true, now), Outcome::Retry);
        assert_eq!(router.outcome(&mut a, true, now), Outcome::Retry);
        assert_eq!(router.outcome(&mut a, true, now), Outcome::Done);
        assert_eq!(a.number, 2);
        // 10 tokens in the window: 2 spent above, 8 more requests retry
        // once each, the next one is out of budget.
        for _ in 0..8 {
            let mut a = router.route(now);
            assert_eq!(router.outcome(&mut a, true, now), Outcome::Retry);
        }
        let mut a = router.route(now);
        assert_eq!(router.outcome(&mut a, true, now), Outcome::Done);
        // Without retries configured there is no budget at all.
        let mut none = Router::new(Policy::RoundRobin, &BalancingSpec::default(), 1, "s", "");
        let mut a = none.route(now);
        assert_eq!(none.outcome(&mut a, true, now), Outcome::Done);
    }

    #[test]
    fn weights_reach_weighted_policies_only() {
        // Weights 3:1 under smooth weighted round robin: 3 of every 4 picks
        // go to replica 0.
        let spec = BalancingSpec::default();
        let mut wrr = Router::new(Policy::WeightedRoundRobin, &spec, 1, "w", "");
        wrr.add(ReplicaId(0), || 3);
        wrr.add(ReplicaId(1), || 1);
        wrr.announce();
        let zeros = (0..400)
            .filter(|_| {
                let a = wrr.route(SimTime::ZERO);
                wrr.pick(&a, SimTime::ZERO) == Some(ReplicaId(0))
            })
            .count();
        assert_eq!(zeros, 300);
        let mut rr = Router::new(Policy::RoundRobin, &spec, 1, "w", "");
        rr.add(ReplicaId(0), || unreachable!("round robin has no weights"));
        rr.remove(ReplicaId(0));
        assert!(rr.endpoints().is_empty());
        let a = rr.route(SimTime::ZERO);
        assert_eq!(rr.pick(&a, SimTime::ZERO), None);
    }

    #[test]
    fn failures_fed_back_eject_a_host() {
        // Outlier detection with consecutive5xx = 3: the third consecutive
        // failure of replica 1 ejects it (Envoy ejects on the failure that
        // reaches the limit), and picks then go to 0 and 2 only.
        let spec = BalancingSpec {
            outlier: Some(crate::balance::OutlierSpec {
                consecutive_5xx: 3,
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut router = Router::new(Policy::RoundRobin, &spec, 1, "o", "");
        router.replace(ids(3));
        router.feedback(0, ReplicaId(1), SimDuration::ZERO, false);
        router.complete(0, ReplicaId(1), SimDuration(5), false, SimTime(1));
        assert_eq!(router.ejections(), 0);
        router.feedback(0, ReplicaId(1), SimDuration::ZERO, false);
        assert_eq!(router.ejections(), 1);
        for t in 2..20 {
            let a = router.route(SimTime(t));
            assert_ne!(router.pick(&a, SimTime(t)), Some(ReplicaId(1)));
        }
    }
}
