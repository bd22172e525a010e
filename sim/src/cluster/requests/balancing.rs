//! The request path's use of the core's routing: how a service's requests
//! reach its replicas ([`Front`]: a [`Router`] or a central queue's
//! [`SlotPool`]), and one attempt loop that places a request through a
//! router — the service's own or a rollout's new revision's.
//!
//! Key decision: the core's [`Router`] owns the client balancers, keys,
//! retry budget and endpoint list, and [`SlotPool`] the central queue; this
//! file only says what an attempt found on the simulated replica (gone,
//! free slot, full queue, queue) and turns the router's answer into what
//! the request path does. A request's client travels with it in its
//! arrival time's high bits ([`tag`]), so a queued request remembers whose
//! counters its completion updates without any per-request allocation.

use orkestra_core::balance::{Attempt, Outcome, Router, Routing, SlotPool};
use orkestra_core::model::{ObservedCluster, ReplicaState, ServiceSpec};
use orkestra_core::time::{SimDuration, SimTime};

use super::Serving;
use crate::cluster::faults::Faults;
use crate::cluster::topology::Net;

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

/// A request tag's arrival time (ns) and client, with `mask` the run's
/// arrival-time mask.
#[inline]
pub(in crate::cluster) fn untag(mask: u64, tagged: u64) -> (u64, usize) {
    let arrival = tagged & mask;
    (arrival, ((tagged ^ arrival) >> CLIENT_SHIFT) as usize)
}

/// How a service's requests reach its replicas.
pub(in crate::cluster) enum Front {
    /// A balancer (or one per client) picks a replica for each request.
    Balanced(Router),
    /// Requests (their arrival times) wait at the balancer for a free slot.
    Central(SlotPool<u64>),
}

impl Front {
    /// The front of service `s` in a run with `seed`.
    pub(in crate::cluster) fn new(s: &ServiceSpec, seed: u64) -> Front {
        match s.routing {
            Routing::Balanced(p) => {
                Front::Balanced(Router::new(p, &s.balancing, seed, &s.name, ""))
            }
            Routing::CentralQueue => Front::Central(SlotPool::new()),
        }
    }

    /// The router, unless central-queue mode.
    #[inline]
    pub(in crate::cluster) fn router(&mut self) -> Option<&mut Router> {
        match self {
            Front::Balanced(r) => Some(r),
            Front::Central(_) => None,
        }
    }

    /// Requests waiting at the balancer (central-queue mode), including
    /// any that timed out and have not been met yet.
    #[inline]
    pub(in crate::cluster) fn waiting(&self) -> u32 {
        match self {
            Front::Balanced(_) => 0,
            Front::Central(pool) => pool.waiting() as u32,
        }
    }
}

/// What the replicas look like to an attempt.
pub(in crate::cluster) struct Replicas<'w> {
    pub(in crate::cluster) serving: &'w [Serving],
    pub(in crate::cluster) observed: &'w ObservedCluster,
    pub(in crate::cluster) faults: Option<&'w Faults>,
    pub(in crate::cluster) net: Option<&'w mut Net>,
}

/// Where a request ended up.
pub(in crate::cluster) enum Placed {
    /// The router has no endpoint at all.
    NoEndpoint,
    /// A free slot of this replica serves it.
    Start(u32),
    /// It waits in this replica's queue.
    Queue(u32),
    /// Its last attempt found the replica gone (refused, cut off, lost).
    Failed,
    /// Its last attempt found the replica's queue full (503).
    Rejected,
}

/// Places request attempt `a` at `now` through `router` on the replicas
/// of `spec`: picks, and retries refused or rejected attempts within the
/// router's budget. Returns where it ended up and how many retries it took.
#[inline]
pub(in crate::cluster) fn place(
    router: &mut Router,
    a: &mut Attempt,
    now: SimTime,
    spec: &ServiceSpec,
    world: &mut Replicas,
) -> (Placed, u32) {
    let mut retries = 0;
    while let Some(r) = router.pick(a, now) {
        let serving = &world.serving[r.0 as usize];
        let status = &world.observed.replicas[r.0 as usize];
        // Gone, or (with a topology) cut off or lost on the way.
        let gone = status.state != ReplicaState::Ready
            || world.faults.is_some_and(|f| f.is_dead(r.0))
            || world.net.as_mut().is_some_and(|n| n.drops(status.node));
        if !gone && serving.busy < spec.concurrency {
            return (Placed::Start(r.0), retries);
        }
        if !gone
            && spec
                .queue_limit
                .is_none_or(|limit| serving.queue.len() < limit)
        {
            return (Placed::Queue(r.0), retries);
        }
        // Connection refused (the replica is gone; the balancer's view is
        // stale; or its link is cut or lost the request) or 503 (its queue
        // is full). Started and failed at once, so load counts stay paired.
        router.feedback(a.client, r, SimDuration::ZERO, false);
        if router.outcome(a, true, now) == Outcome::Retry {
            retries += 1;
            continue;
        }
        return (
            if gone {
                Placed::Failed
            } else {
                Placed::Rejected
            },
            retries,
        );
    }
    (Placed::NoEndpoint, retries)
}
