//! The balancing glue of the request path: which balancer instance (the
//! shared one, or one of the client-side balancers) handles a request, the
//! request's key and its re-hash on retry, the retry budget — and the
//! central queue's pool of free request slots.
//!
//! Key decision: the request path (`cluster/requests.rs`) only asks this
//! file "which client, which key" when a request starts, "which endpoint"
//! per attempt and "may it retry" after a refused attempt; it never touches
//! a balancer's stream or a budget itself. A request's client travels with
//! it in its arrival time's high bits ([`tag`], [`Requests::untag`]), so a
//! queued request remembers whose counters its completion updates without
//! any per-request allocation.
//!
//! [`Requests::untag`]: super::Requests::untag

use orkestra_core::balance::{Balance, Keys, Policy, RetryBudget};
use orkestra_core::model::{ReplicaId, ServiceSpec};
use orkestra_core::rng::{StreamRng, names, stream};
use orkestra_core::time::SimTime;

/// Arrival times of requests handled by client-side balancers carry the
/// client's index above this bit (runs with them are shorter than 2^48 ns,
/// as the scenario loader checks), so a queued request remembers whose
/// counters its completion updates without any per-request allocation.
pub(in crate::cluster) const CLIENT_SHIFT: u32 = 48;

/// A request's tag: its arrival time (ns) and its client.
#[inline]
pub(in crate::cluster) fn tag(arrival: u64, client: usize) -> u64 {
    arrival | ((client as u64) << CLIENT_SHIFT)
}

/// A balancer instance for `s`. Central-queue mode never asks it to pick;
/// it only receives feedback, so round robin stands in there.
pub(in crate::cluster) fn balancer_for(s: &ServiceSpec) -> Box<dyn Balance> {
    s.routing
        .policy()
        .unwrap_or(Policy::RoundRobin)
        .build(&s.balancing)
}

/// One balancer instance: the shared one, or one client-side balancer.
struct Client {
    balancer: Box<dyn Balance>,
    rng: StreamRng,
    /// Retry budget, when the service retries.
    budget: Option<RetryBudget>,
}

/// A service's balancer instances (one unless client-side balancing), how
/// a request picks one, and request keys.
pub(in crate::cluster) struct Clients {
    clients: Vec<Client>,
    /// Picks the client of each request (client-side balancing only).
    client_rng: StreamRng,
    /// Request keys (hashing balancers with a key distribution).
    keys: Option<(Keys, StreamRng)>,
}

impl Clients {
    /// The balancers of service `s` in a run with `seed`.
    pub(in crate::cluster) fn new(seed: u64, s: &ServiceSpec) -> Clients {
        Clients {
            clients: (0..s.balancing.clients.max(1))
                .map(|c| {
                    // Client 0 keeps the shared balancer's stream name.
                    let name = match c {
                        0 => format!("{}/balance/{}", names::POLICY, s.name),
                        c => format!("{}/balance/{}/client{c}", names::POLICY, s.name),
                    };
                    Client {
                        balancer: balancer_for(s),
                        rng: stream(seed, &name),
                        budget: (s.balancing.retries > 0)
                            .then(|| RetryBudget::new(s.balancing.retry_budget)),
                    }
                })
                .collect(),
            client_rng: stream(
                seed,
                &format!("{}/balance/{}/clients", names::POLICY, s.name),
            ),
            keys: s.balancing.keys.map(|k| {
                let name = format!("{}/balance/{}/keys", names::POLICY, s.name);
                (Keys::new(k), stream(seed, &name))
            }),
        }
    }

    /// A request starts at `now`: the client that handles it (a client-side
    /// one at random) and its key; the client's balancer sees the time and
    /// its retry budget the request.
    #[inline]
    pub(in crate::cluster) fn begin(&mut self, now: SimTime) -> (usize, Option<u64>) {
        let c = if self.clients.len() > 1 {
            rand::RngExt::random_range(&mut self.client_rng, 0..self.clients.len())
        } else {
            0
        };
        let key = self.keys.as_mut().map(|(k, rng)| k.next(rng));
        let client = &mut self.clients[c];
        client.balancer.on_time(now);
        if let Some(b) = &mut client.budget {
            b.deposit(now);
        }
        (c, key)
    }

    /// Attempt `attempt` (0 first) of a request with `key` on client `c`:
    /// the index in `endpoints` of the replica its balancer picks.
    #[inline]
    pub(in crate::cluster) fn pick(
        &mut self,
        c: usize,
        key: Option<u64>,
        attempt: u32,
        endpoints: &[ReplicaId],
    ) -> Option<usize> {
        // A retry of a keyed request rehashes (Envoy's hash balancers
        // try another host on retry).
        let k = key.map(|k| k.wrapping_add(u64::from(attempt) * 0x9e37_79b9_7f4a_7c15));
        let client = &mut self.clients[c];
        client.balancer.pick_keyed(endpoints, k, &mut client.rng)
    }

    /// After refused attempt `attempt` on client `c`: whether the request
    /// is retried (`retries` allows it and the budget pays for it).
    #[inline]
    pub(in crate::cluster) fn may_retry(
        &mut self,
        c: usize,
        attempt: u32,
        retries: u32,
        now: SimTime,
    ) -> bool {
        attempt < retries
            && self.clients[c]
                .budget
                .as_mut()
                .is_some_and(|b| b.try_withdraw(now))
    }

    /// Client `c`'s balancer.
    #[inline]
    pub(in crate::cluster) fn balancer(&mut self, c: usize) -> &mut dyn Balance {
        self.clients[c].balancer.as_mut()
    }

    /// Every balancer learns the endpoint list.
    pub(in crate::cluster) fn on_endpoints(&mut self, endpoints: &[ReplicaId]) {
        for c in &mut self.clients {
            c.balancer.on_endpoints(endpoints);
        }
    }

    /// Every balancer learns replica `r`'s weight.
    pub(in crate::cluster) fn on_weight(&mut self, r: ReplicaId, weight: u32) {
        for c in &mut self.clients {
            c.balancer.on_weight(r, weight);
        }
    }

    /// Outlier ejections over every balancer.
    pub(in crate::cluster) fn ejections(&self) -> u64 {
        self.clients.iter().map(|c| c.balancer.ejections()).sum()
    }
}

/// Central-queue mode: one entry per free request slot (replica id);
/// entries of replicas that left are dropped when met.
#[derive(Default)]
pub(in crate::cluster) struct FreeSlots(Vec<u32>);

impl FreeSlots {
    /// A slot of replica `r` is free.
    #[inline]
    pub(in crate::cluster) fn push(&mut self, r: u32) {
        self.0.push(r);
    }

    /// The most recently freed slot whose replica is still `usable`;
    /// slots of replicas that are not are dropped on the way.
    #[inline]
    pub(in crate::cluster) fn take(&mut self, usable: impl Fn(u32) -> bool) -> Option<u32> {
        while let Some(r) = self.0.pop() {
            if usable(r) {
                return Some(r);
            }
        }
        None
    }
}
