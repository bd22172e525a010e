//! Service discovery on the request path: the endpoint lists the routers
//! pick from, as replicas become ready and leave.
//!
//! Key decision: the ready counts change at once (they are the control
//! plane's view), while the routers learn a change after the service's
//! `discoveryDelay` (one `Discover` event per change, applied in order);
//! replicas ready at the start are known from the start. A split rollout's
//! new-revision replicas go to its own router; central-queue mode keeps no
//! endpoint list (its slots come and go with readiness instead).

use orkestra_core::model::ReplicaId;
use orkestra_core::time::{SimDuration, SimTime};

use super::super::{Event, Simulation};

impl Simulation<'_> {
    /// Replica `r` of service `s` became ready: it joins the endpoints
    /// (after the discovery delay) and the ready counts rise now.
    pub(in crate::cluster) fn join_endpoints(&mut self, r: u32, s: usize) {
        let now = self.engine.now();
        let concurrency = self.scenario.desired.services[s].concurrency;
        self.endpoint_change(s, r, true);
        let svc = &mut self.req.services[s];
        svc.ready += 1;
        svc.metrics.started += 1;
        svc.metrics.ready.set(now, f64::from(svc.ready));
        svc.metrics
            .slots
            .set(now, f64::from(svc.ready * concurrency));
    }

    /// Ready replica `r` of service `s` stops being an endpoint (deleted,
    /// or dead with its node): the balancers learn it (after the discovery
    /// delay) and the ready counts drop now.
    pub(in crate::cluster) fn leave_endpoints(&mut self, r: u32, s: usize) {
        let now = self.engine.now();
        let concurrency = self.scenario.desired.services[s].concurrency;
        self.endpoint_change(s, r, false);
        let svc = &mut self.req.services[s];
        svc.ready -= 1;
        svc.metrics.ready.set(now, f64::from(svc.ready));
        svc.metrics
            .slots
            .set(now, f64::from(svc.ready * concurrency));
    }

    /// Replica `r` of service `s` became ready (`added`) or left: the
    /// balancers learn it now, or after the discovery delay.
    fn endpoint_change(&mut self, s: usize, r: u32, added: bool) {
        let delay = self.scenario.desired.services[s].balancing.discovery_delay;
        // Replicas ready at the start (a warm start) are known from the start.
        if delay == SimDuration::ZERO || self.engine.now() == SimTime::ZERO {
            self.apply_endpoint_change(s, r, added);
            self.announce_endpoints(s);
            return;
        }
        let due = self.engine.now() + delay;
        self.req.services[s].discovery.push_back((due.0, r, added));
        self.engine
            .schedule(due, Event::Discover { service: s as u32 });
    }

    fn apply_endpoint_change(&mut self, s: usize, r: u32, added: bool) {
        let (spec, observed) = (&self.scenario.desired.services[s], &self.observed);
        // Asked only by weighted policies.
        let weight = || {
            let node = observed.replicas[r as usize]
                .node
                .expect("a ready replica is bound");
            let n = &observed.nodes[node.0 as usize].spec;
            spec.balancing
                .weights
                .weight(spec.limits.cpu_milli, n.speed, &n.pool)
        };
        if !self.rollouts.is_empty() && self.rollouts.endpoint(s, r, added, weight) {
            return;
        }
        // Central-queue mode keeps no endpoint list: slots come and go.
        let Some(router) = self.req.services[s].front.router() else {
            return;
        };
        if added {
            router.add(ReplicaId(r), weight);
        } else {
            router.remove(ReplicaId(r));
        }
    }

    fn announce_endpoints(&mut self, s: usize) {
        if let Some(router) = self.req.services[s].front.router() {
            router.announce();
        }
    }

    /// Endpoint changes whose propagation delay has passed reach the balancers.
    pub(in crate::cluster) fn on_discover(&mut self, s: usize) {
        let now = self.engine.now().0;
        let mut changed = false;
        while let Some(&(due, r, added)) = self.req.services[s].discovery.front() {
            if due > now {
                break;
            }
            self.req.services[s].discovery.pop_front();
            self.apply_endpoint_change(s, r, added);
            changed = true;
        }
        if changed {
            self.announce_endpoints(s);
            if !self.req.services[s].held.is_empty() {
                // Requests the activator held while the balancers knew no
                // endpoint go now.
                self.release_held(s);
                self.service_load(s);
            }
        }
    }
}
