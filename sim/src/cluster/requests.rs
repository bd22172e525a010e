//! The request path: arrivals, dispatch to a replica, service, completion
//! and timeouts; the endpoint lists the routers pick from are kept in
//! [`endpoints`].
//!
//! Key decision: this is the hot path, so its state is flat — per service a
//! [`ServiceRequests`], per replica a 16-byte [`Serving`] whose queue lives
//! in the shared [`Waiting`] slab — and a request is one `u64` (its arrival
//! time, tagged with its balancer client) carried by its events. Which
//! client, key, endpoint and retry a request gets is the core's `Router`'s
//! answer, and a central queue's slots are the core's `SlotPool`
//! ([`balancing`]); the optional subsystems are consulted through one
//! `Option` (faults, topology) or one emptiness test (rollouts) each.

use std::collections::VecDeque;

use orkestra_core::autoscale::spec::AutoscalerSpec;
use orkestra_core::balance::Router;
use orkestra_core::metrics::{ServiceMetrics, SloTracker};
use orkestra_core::model::{DesiredState, ObservedCluster, ReplicaId, ReplicaState, ServiceSpec};
use orkestra_core::rng::{StreamRng, names, stream};
use orkestra_core::scenario::Scenario;
use orkestra_core::time::{SimDuration, SimTime};
use orkestra_core::traffic::Arrivals;

mod balancing;
mod endpoints;

use super::faults::Faults;
use super::{Event, Simulation};
use crate::waiting::{Queue, Waiting};
use balancing::{CLIENT_SHIFT, Front, Placed, Replicas, tag, untag};

/// Request-serving state of one replica (beside its `ReplicaStatus`).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Serving {
    /// Requests in service.
    pub(super) busy: u32,
    /// Arrival times (ns) of waiting requests, oldest first, in [`Waiting`].
    pub(super) queue: Queue,
}

/// The request state of one service.
pub(super) struct ServiceRequests {
    arrivals: Arrivals,
    traffic_rng: StreamRng,
    pub(super) service_rng: StreamRng,
    /// How requests reach the replicas: a router over the endpoints as the
    /// balancers know them (with a discovery delay, replicas that left stay
    /// listed until the change arrives), or a central queue's slots.
    front: Front,
    /// Endpoint changes on their way: (due ns, replica, added).
    discovery: VecDeque<(u64, u32, bool)>,
    pub(super) metrics: ServiceMetrics,
    pub(super) busy: u32,
    pub(super) queued: u32,
    pub(super) ready: u32,
    /// Requests held at the activator (arrival ns) while no replica is ready;
    /// only for services that scale to zero.
    held: VecDeque<u64>,
    /// Scale to zero: requests wait at the activator instead of failing.
    activator: bool,
    /// ∫ needed replicas dt (offered work ÷ concurrency).
    pub(super) needed_seconds: f64,
}

impl ServiceRequests {
    /// The oldest held request that has not timed out by `now` (ns); those
    /// that have are counted as they are met.
    fn next_held(&mut self, now: u64, timeout: Option<SimDuration>) -> Option<u64> {
        while let Some(a) = self.held.pop_front() {
            if timeout.is_some_and(|t| now - a >= t.0) {
                self.metrics.timed_out();
                continue;
            }
            return Some(a);
        }
        None
    }

    /// Requests waiting for a replica: at the balancer (central-queue
    /// mode) or held by the activator.
    #[inline]
    fn waiting(&self) -> u32 {
        self.front.waiting() + self.held.len() as u32
    }

    /// Requests in flight: in service, queued at replicas, waiting for one.
    #[inline]
    pub(super) fn in_flight(&self) -> u32 {
        self.busy + self.queued + self.waiting()
    }

    /// Requests queued at replicas or waiting for one.
    pub(super) fn queue_length(&self) -> u32 {
        self.queued + self.waiting()
    }

    /// Outlier ejections over the service's balancers.
    pub(super) fn ejections(&mut self) -> u64 {
        self.front.router().map_or(0, |r| r.ejections())
    }

    /// Drops the requests waiting for a replica whose deadline has passed
    /// by `now` (ns), counting them timed out, so that what waits is still
    /// in flight. Those are met lazily otherwise, when a replica is free.
    pub(super) fn expire_waiting(&mut self, now: u64, timeout: Option<SimDuration>) {
        let Some(t) = timeout else { return };
        let expired = |a: u64| now - a >= t.0;
        // Both FIFOs are in arrival order: the expired ones are in front.
        while self.held.front().is_some_and(|&a| expired(a)) {
            self.held.pop_front();
            self.metrics.timed_out();
        }
        if let Front::Central(pool) = &mut self.front {
            for _ in 0..pool.drop_front_while(|&a| expired(a)) {
                self.metrics.timed_out();
            }
        }
    }
}

/// Central-queue and activator waiters: a request that arrived at `a` (ns)
/// still waits at `now` unless `timeout` passed; those that did are
/// counted in `expired`.
fn still_waiting(
    now: u64,
    timeout: Option<SimDuration>,
    expired: &mut u32,
) -> impl FnMut(&u64) -> bool + '_ {
    move |&a| {
        let gone = timeout.is_some_and(|t| now - a >= t.0);
        *expired += u32::from(gone);
        !gone
    }
}

/// Central-queue mode: whether a free slot of replica `r` may serve — its
/// replica is Ready, alive and has fewer than `concurrency` in service.
fn slot_usable<'x>(
    observed: &'x ObservedCluster,
    serving: &'x [Serving],
    faults: Option<&'x Faults>,
    concurrency: u32,
) -> impl Fn(ReplicaId) -> bool + 'x {
    move |r| {
        observed.replicas[r.0 as usize].state == ReplicaState::Ready
            && serving[r.0 as usize].busy < concurrency
            && !faults.is_some_and(|f| f.is_dead(r.0))
    }
}

/// Per-replica service-time factors: stragglers and node speeds.
pub(super) struct Factors {
    /// Per replica id, its service-time multiplier; empty unless some
    /// service has stragglers (then every replica has an entry).
    slow: Vec<f32>,
    /// `stragglers`.
    rng: StreamRng,
    /// Some node is faster or slower than nominal: `slow` holds every
    /// replica's factor, divided by its node's speed at bind.
    speeds: bool,
}

impl Factors {
    /// Replica `id` of `spec` was created: draw whether it straggles.
    fn created(&mut self, id: u32, spec: &ServiceSpec) {
        if spec.stragglers.fraction > 0.0 || !self.slow.is_empty() || self.speeds {
            // Every replica gets an entry once any service has stragglers.
            self.slow.resize(id as usize, 1.0);
            let st = spec.stragglers;
            let slow =
                st.fraction > 0.0 && rand::RngExt::random::<f64>(&mut self.rng) < st.fraction;
            self.slow.push(if slow { st.slowdown as f32 } else { 1.0 });
        }
    }

    /// Replica `r` was bound to a node of `speed`.
    pub(super) fn bound(&mut self, r: u32, speed: f64) {
        if self.speeds {
            self.slow[r as usize] = (f64::from(self.slow[r as usize]) / speed) as f32;
        }
    }

    /// Replica `r` runs `speed` times as fast (a slowed node at its start).
    pub(super) fn divide(&mut self, r: u32, speed: f64) {
        if let Some(x) = self.slow.get_mut(r as usize) {
            *x = (f64::from(*x) / speed) as f32;
        }
    }

    /// Replica `r`'s node went from speed `old` to `speed`.
    pub(super) fn rescale(&mut self, r: usize, old: f64, speed: f64) {
        if let Some(x) = self.slow.get_mut(r) {
            *x = (f64::from(*x) * old / speed) as f32;
        }
    }

    /// `work` as replica `r` does it.
    #[inline]
    fn apply(&self, r: u32, work: SimDuration) -> SimDuration {
        match self.slow.get(r as usize) {
            Some(&f) if f != 1.0 => SimDuration((work.0 as f64 * f64::from(f)).round() as u64),
            _ => work,
        }
    }
}

/// The request path's state.
pub(super) struct Requests {
    pub(super) services: Vec<ServiceRequests>,
    pub(super) serving: Vec<Serving>,
    pub(super) waiting: Waiting,
    /// Masks a request tag to its arrival time (all ones unless some
    /// service has client-side balancers).
    time_mask: u64,
    pub(super) factors: Factors,
    /// Replicas killed at the end of their termination grace period: the
    /// requests they were serving (count, kill instant in ns), whose
    /// completion events are dropped. Sparse: most runs kill none.
    pub(super) grace_orphans: std::collections::HashMap<u32, (u32, u64)>,
}

impl Requests {
    pub(super) fn new(scenario: &Scenario) -> Requests {
        let seed = scenario.seed;
        let horizon = SimTime::ZERO + scenario.duration;
        let services = scenario
            .desired
            .services
            .iter()
            .zip(&scenario.traffic)
            .zip(scenario.autoscalers.iter().zip(&scenario.slos))
            .map(|((s, t), (a, slo))| ServiceRequests {
                arrivals: Arrivals::new(t.clone(), horizon),
                traffic_rng: stream(seed, &format!("{}/{}", names::TRAFFIC, s.name)),
                service_rng: stream(seed, &format!("{}/{}", names::SERVICE, s.name)),
                front: Front::new(s, seed),
                discovery: Default::default(),
                metrics: {
                    let mut m = ServiceMetrics::default();
                    m.slo = slo.map(|o| SloTracker::new(o.latency, o.percentile));
                    m
                },
                busy: 0,
                queued: 0,
                ready: 0,
                held: Default::default(),
                activator: matches!(a, Some(AutoscalerSpec::Knative(_))),
                needed_seconds: 0.0,
            })
            .collect();
        let clients = scenario
            .desired
            .services
            .iter()
            .any(|s| s.balancing.clients > 1);
        Requests {
            services,
            serving: Vec::new(),
            waiting: Waiting::new(),
            time_mask: if clients {
                (1 << CLIENT_SHIFT) - 1
            } else {
                u64::MAX
            },
            factors: Factors {
                slow: Vec::new(),
                rng: stream(seed, "stragglers"),
                speeds: scenario.nodes.iter().any(|n| n.speed != 1.0)
                    || scenario.node_groups.iter().any(|g| g.template.speed != 1.0)
                    || Faults::slows_nodes(scenario),
            },
            grace_orphans: Default::default(),
        }
    }

    /// Sizes the per-replica arrays for `replicas` replicas, and each
    /// router's endpoint list for its service's desired count.
    pub(super) fn reserve(&mut self, replicas: usize, services: &[ServiceSpec]) {
        self.serving.reserve_exact(replicas);
        for (svc, spec) in self.services.iter_mut().zip(services) {
            if let Some(router) = svc.front.router() {
                router.reserve(spec.replicas as usize);
            }
        }
    }

    /// Replica `id` of `spec` was created.
    pub(super) fn add_replica(&mut self, id: u32, spec: &ServiceSpec) {
        self.serving.push(Serving::default());
        self.factors.created(id, spec);
    }

    /// A request tag's arrival time (ns) and balancer client.
    #[inline]
    pub(super) fn untag(&self, tagged: u64) -> (u64, usize) {
        untag(self.time_mask, tagged)
    }

    /// Replica `r` of service `s` dies at `now`: its queued requests and
    /// those in service are lost (counted failed; the router that sent the
    /// queued ones — `new`, a rollout's new revision's, or the service's —
    /// hears of them now). Returns (lost, of which in service).
    pub(super) fn lose_all(
        &mut self,
        r: u32,
        s: usize,
        now: SimTime,
        new: Option<&mut Router>,
    ) -> (u64, u32) {
        let mask = self.time_mask;
        let svc = &mut self.services[s];
        let mut router = new.or(svc.front.router());
        let mut lost = 0u64;
        // Queued requests: lost at once.
        while let Some(tagged) = self.waiting.pop_front(&mut self.serving[r as usize].queue) {
            let (a, c) = untag(mask, tagged);
            svc.queued -= 1;
            svc.metrics.failed();
            if let Some(router) = router.as_deref_mut() {
                router.feedback(c, ReplicaId(r), SimDuration(now.0 - a), false);
            }
            lost += 1;
        }
        // In service: lost now; their completion events become orphans.
        let busy = std::mem::take(&mut self.serving[r as usize].busy);
        svc.busy -= busy;
        svc.metrics.busy.set(now, f64::from(svc.busy));
        for _ in 0..busy {
            svc.metrics.failed();
        }
        lost += u64::from(busy);
        (lost, busy)
    }
}

/// Whether traffic held at the activator should wake the autoscaler now:
/// only while the service is scaled to zero.
fn svc_needs_poke(desired: &DesiredState, s: usize) -> bool {
    desired.services[s].replicas == 0
}

impl Simulation<'_> {
    #[inline]
    pub(super) fn schedule_next_arrival(&mut self, s: usize) {
        let svc = &mut self.req.services[s];
        if let Some(t) = svc.arrivals.next(&mut svc.traffic_rng) {
            self.engine.schedule(
                t.max(self.engine.now()),
                Event::Arrival { service: s as u32 },
            );
        }
    }

    #[inline]
    pub(super) fn on_arrival(&mut self, s: usize) {
        self.schedule_next_arrival(s);
        let now = self.engine.now();
        self.req.services[s].metrics.arrival();
        if let Some(p) = &mut self.pipeline {
            p.arrival(s);
        }
        self.dispatch(s, now.0);
    }

    /// Sends a request of service `s` that arrived at `arrival` (ns) to a
    /// replica: a central queue's free slot, or one the service's router
    /// picks — or, in a split rollout, the new revision's.
    #[inline]
    fn dispatch(&mut self, s: usize, arrival: u64) {
        if let Front::Central(_) = self.req.services[s].front {
            self.dispatch_central(s, arrival);
            return;
        }
        let new = !self.rollouts.is_empty() && self.rollouts.takes(s);
        self.dispatch_balanced(s, arrival, new);
    }

    /// Routes a request of `s` through the service's router, or (`new`)
    /// its rollout's new revision's: the replica serves it, queues it, or
    /// it fails after its retries.
    #[inline]
    fn dispatch_balanced(&mut self, s: usize, arrival: u64, new: bool) {
        let now = self.engine.now();
        let scenario = self.scenario;
        let spec = &scenario.desired.services[s];
        let svc = &mut self.req.services[s];
        let router = if new {
            self.rollouts.router(s)
        } else {
            svc.front.router()
        };
        let Some(router) = router else { return };
        let mut a = router.route(now);
        let tagged = tag(arrival, a.client);
        let mut world = Replicas {
            serving: &self.req.serving,
            observed: &self.observed,
            faults: self.faults.as_deref(),
            net: self.net.as_deref_mut(),
        };
        let (placed, retries) = balancing::place(router, &mut a, now, spec, &mut world);
        for _ in 0..retries {
            svc.metrics.retried();
        }
        match placed {
            Placed::Start(r) => {
                self.start_service(r, tagged, s);
                self.load_changed(r, s);
            }
            Placed::Queue(r) => {
                self.enqueue(r, s, tagged, arrival);
                self.load_changed(r, s);
            }
            Placed::Failed => svc.metrics.failed(),
            Placed::Rejected => svc.metrics.rejected(false),
            // The new revision has no activator: no endpoint turns it away.
            Placed::NoEndpoint if new => svc.metrics.rejected(true),
            Placed::NoEndpoint => self.no_endpoint(s, arrival),
        }
    }

    /// Central-queue mode: a free slot serves the request, or it waits at
    /// the balancer for one.
    fn dispatch_central(&mut self, s: usize, arrival: u64) {
        match self.take_slot(s) {
            Some(r) => {
                self.start_service(r, arrival, s);
                self.load_changed(r, s);
            }
            None => {
                if let Front::Central(pool) = &mut self.req.services[s].front {
                    pool.wait(arrival);
                }
                self.service_load(s);
            }
        }
    }

    /// A request of `s` found no endpoint at all: held at the activator
    /// until a replica is ready (a cold start), or rejected.
    fn no_endpoint(&mut self, s: usize, arrival: u64) {
        let svc = &mut self.req.services[s];
        if svc.activator {
            svc.held.push_back(arrival);
            self.service_load(s);
            if svc_needs_poke(&self.desired, s) {
                self.engine
                    .schedule(self.engine.now(), Event::Poke { service: s as u32 });
            }
        } else {
            svc.metrics.rejected(true);
        }
    }

    /// Queues request `tagged` (arrived at `arrival`) of `s` on replica `r`,
    /// with its timeout.
    fn enqueue(&mut self, r: u32, s: usize, tagged: u64, arrival: u64) {
        self.req
            .waiting
            .push_back(&mut self.req.serving[r as usize].queue, tagged);
        self.req.services[s].queued += 1;
        if let Some(t) = self.scenario.desired.services[s].timeout {
            let now = self.engine.now();
            self.engine.schedule(
                SimTime(arrival + t.0).max(now),
                Event::Timeout { replica: r },
            );
        }
    }

    /// Central-queue mode: a free slot of a ready replica of `s`, if any.
    fn take_slot(&mut self, s: usize) -> Option<u32> {
        let concurrency = self.scenario.desired.services[s].concurrency;
        let usable = slot_usable(
            &self.observed,
            &self.req.serving,
            self.faults.as_deref(),
            concurrency,
        );
        match &mut self.req.services[s].front {
            Front::Central(pool) => pool.take(usable).map(|r| r.0),
            Front::Balanced(_) => None,
        }
    }

    /// Puts a request (tagged with its arrival and client) into service on `r`.
    #[inline]
    fn start_service(&mut self, r: u32, tagged: u64, s: usize) {
        let now = self.engine.now();
        let (arrival, _) = self.req.untag(tagged);
        let spec = &self.scenario.desired.services[s];
        let svc = &mut self.req.services[s];
        self.req.serving[r as usize].busy += 1;
        svc.busy += 1;
        svc.metrics.busy.set(now, f64::from(svc.busy));
        svc.metrics.started_service(SimDuration(now.0 - arrival));
        let mut work = spec.service_time.sample(&mut svc.service_rng);
        work = self.req.factors.apply(r, work);
        if !self.rollouts.is_empty() {
            work = self.rollouts.work(s, r, work, &mut svc.service_rng);
        }
        self.engine.schedule(
            now + work,
            Event::Completion {
                replica: r,
                arrival: tagged,
            },
        );
    }

    #[inline]
    pub(super) fn on_completion(&mut self, r: u32, tagged: u64) {
        if self.faults.is_some() && self.orphan(r, tagged) {
            return; // lost when its replica died
        }
        if !self.req.grace_orphans.is_empty() && self.grace_orphan(r, tagged) {
            return; // lost when its grace period ended
        }
        let now = self.engine.now();
        let (arrival, c) = self.req.untag(tagged);
        let s = self.observed.replicas[r as usize].service.0 as usize;
        let scenario = self.scenario;
        let spec = &scenario.desired.services[s];
        let mut latency = SimDuration(now.0 - arrival);
        // With a topology: the round trip to the replica's zone, and a
        // response lost on a cut link (or, in central-queue mode, a loss).
        let mut lost = false;
        if let Some(net) = &mut self.net {
            let node = self.observed.replicas[r as usize].node;
            let central = matches!(self.req.services[s].front, Front::Central(_));
            let (round_trip, cut) = net.complete(node, central);
            latency.0 += round_trip;
            lost = cut;
        }
        let mut ok = !lost && spec.timeout.is_none_or(|t| latency <= t);
        // The new revision of a rollout may fail it (`errorRate`).
        let error =
            (!self.rollouts.is_empty() && self.rollouts.completed(s, r, latency, ok)) || lost;
        let svc = &mut self.req.services[s];
        if error {
            svc.metrics.failed();
            ok = false;
        } else if ok {
            svc.metrics.ok(latency);
            if let Some(p) = &mut self.pipeline {
                p.completion(s, r, latency);
            }
        } else {
            svc.metrics.timed_out();
        }
        if let Some(router) = self.router_of(s, r) {
            router.complete(c, ReplicaId(r), latency, ok, now);
        }
        let svc = &mut self.req.services[s];
        svc.busy -= 1;
        svc.metrics.busy.set(now, f64::from(svc.busy));
        self.req.serving[r as usize].busy -= 1;
        if let Front::Central(pool) = &mut svc.front
            && self.observed.replicas[r as usize].state == ReplicaState::Ready
        {
            // The freed slot serves the oldest request waiting at the
            // balancer, or becomes free.
            let mut expired = 0;
            let next = pool.reuse(
                ReplicaId(r),
                still_waiting(now.0, spec.timeout, &mut expired),
            );
            for _ in 0..expired {
                svc.metrics.timed_out();
            }
            if let Some(a) = next {
                self.start_service(r, a, s);
            }
            self.load_changed(r, s);
            self.service_load(s);
            return;
        }
        self.serve_next(r, s);
    }

    /// Replica `r` of `s` has a free slot: it serves its oldest live
    /// waiting request, or goes if it is terminating and idle.
    #[inline]
    fn serve_next(&mut self, r: u32, s: usize) {
        let now = self.engine.now();
        let timeout = self.scenario.desired.services[s].timeout;
        while let Some(tagged) = self
            .req
            .waiting
            .pop_front(&mut self.req.serving[r as usize].queue)
        {
            let (a, c) = self.req.untag(tagged);
            let svc = &mut self.req.services[s];
            svc.queued -= 1;
            if timeout.is_some_and(|t| now.0 - a >= t.0) {
                svc.metrics.timed_out();
                if let Some(router) = self.router_of(s, r) {
                    router.feedback(c, ReplicaId(r), SimDuration(now.0 - a), false);
                }
                continue;
            }
            self.start_service(r, tagged, s);
            self.load_changed(r, s);
            return;
        }
        self.load_changed(r, s);
        self.finish_if_idle(r);
    }

    pub(super) fn on_timeout(&mut self, r: u32) {
        let now = self.engine.now().0;
        let s = self.observed.replicas[r as usize].service.0 as usize;
        let Some(t) = self.scenario.desired.services[s].timeout else {
            return;
        };
        while let Some(tagged) = self.req.waiting.front(&self.req.serving[r as usize].queue) {
            let (a, c) = self.req.untag(tagged);
            if now - a < t.0 {
                break;
            }
            self.req
                .waiting
                .pop_front(&mut self.req.serving[r as usize].queue);
            let svc = &mut self.req.services[s];
            svc.queued -= 1;
            svc.metrics.timed_out();
            if let Some(router) = self.router_of(s, r) {
                router.complete(c, ReplicaId(r), SimDuration(now - a), false, SimTime(now));
            }
        }
        self.load_changed(r, s);
        self.finish_if_idle(r);
    }

    /// The router that routed requests to replica `r` of `s`: its
    /// rollout's new revision's (split routing), or the service's; none in
    /// central-queue mode.
    #[inline]
    pub(super) fn router_of(&mut self, s: usize, r: u32) -> Option<&mut Router> {
        if let Some(router) = self.rollouts.split_router(s, r) {
            return Some(router);
        }
        self.req.services[s].front.router()
    }

    /// Replica `r` of `s` became ready: its slots and the requests waiting
    /// for a replica (at the balancer in central-queue mode, at the
    /// activator after a cold start) are served, oldest first.
    pub(super) fn serve_held(&mut self, r: u32, s: usize) {
        let now = self.engine.now();
        let spec = &self.scenario.desired.services[s];
        let (concurrency, timeout) = (spec.concurrency, spec.timeout);
        if let Front::Central(pool) = &mut self.req.services[s].front {
            // Its slots join the pool; waiting requests take them, oldest first.
            pool.add(ReplicaId(r), concurrency);
            loop {
                let usable = slot_usable(
                    &self.observed,
                    &self.req.serving,
                    self.faults.as_deref(),
                    concurrency,
                );
                let svc = &mut self.req.services[s];
                let Front::Central(pool) = &mut svc.front else {
                    break;
                };
                let mut expired = 0;
                let paired = pool.pair(usable, still_waiting(now.0, timeout, &mut expired));
                for _ in 0..expired {
                    svc.metrics.timed_out();
                }
                let Some((slot, a)) = paired else { break };
                self.start_service(slot.0, a, s);
                self.load_changed(slot.0, s);
            }
            self.service_load(s);
            return;
        }
        self.release_held(s);
        self.service_load(s);
    }

    /// Cold start over: the activator releases what it held, oldest first.
    /// Each request is released once per call: one that finds no endpoint
    /// the balancers know yet (a discovery delay) is held again, and
    /// released by the endpoint change that reaches them.
    pub(super) fn release_held(&mut self, s: usize) {
        let now = self.engine.now().0;
        let timeout = self.scenario.desired.services[s].timeout;
        for _ in 0..self.req.services[s].held.len() {
            let Some(a) = self.req.services[s].next_held(now, timeout) else {
                break;
            };
            self.dispatch(s, a);
        }
    }

    /// Tells the metrics pipeline (and the OOM model) that replica `r` of
    /// service `s` changed load.
    #[inline]
    pub(super) fn load_changed(&mut self, r: u32, s: usize) {
        let sv = self.req.serving[r as usize];
        if let Some(f) = &self.faults {
            f.check_oom(r, s, sv.busy + sv.queue.len(), &mut self.engine);
        }
        if let Some(p) = &mut self.pipeline {
            p.replica_load(
                self.engine.now(),
                s,
                r,
                sv.busy,
                sv.busy + sv.queue.len(),
                self.req.services[s].in_flight(),
            );
        }
    }

    /// The service-wide in-flight count of `s` changed without a replica.
    pub(super) fn service_load(&mut self, s: usize) {
        if let Some(p) = &mut self.pipeline {
            p.service_load(self.engine.now(), s, self.req.services[s].in_flight());
        }
    }
}
