//! The request path of a rollout: which revision serves a request, and
//! how the new revision behaves (`newRevision`).
//!
//! Key decision: every hook is a no-op unless the replica carries template
//! 1, so services without a rollout pay one branch on an empty side array
//! (checked by the caller in `cluster.rs`). Split routing (canary,
//! blue/green) is Argo Rollouts' traffic-routing model: each request goes to
//! the new revision with probability weight/100 (stream
//! `policy/rollout/<svc>`), then to a replica of that revision chosen by its
//! own balancer.

use orkestra_core::balance::Balance;
use orkestra_core::model::{ReplicaId, ReplicaState};
use orkestra_core::time::{SimDuration, SimTime};

use super::super::{Event, Simulation};
use super::NEW;

impl Simulation<'_> {
    /// The template of a pod of service `s` the replica controller creates.
    pub(in crate::cluster) fn default_template(&self, s: usize) -> u8 {
        self.rollouts
            .get(s)
            .and_then(Option::as_ref)
            .map_or(0, |rt| rt.driver.current as u8)
    }

    /// Replica `r` belongs to the new revision of a rollout.
    #[inline]
    fn is_new(&self, r: u32) -> bool {
        self.template.get(r as usize) == Some(&(NEW as u8))
    }

    /// Replica `r` was bound: false when it is of a `crashOnStart` revision
    /// (it crash-loops and never becomes ready).
    pub(in crate::cluster) fn rollout_starts(&mut self, r: u32) -> bool {
        if !self.is_new(r) {
            return true;
        }
        let s = self.observed.replicas[r as usize].service.0 as usize;
        let Some(rt) = self.rollouts[s].as_mut() else {
            return true;
        };
        if !rt.driver.spec.new_revision.crash_on_start {
            return true;
        }
        rt.crash_loops += 1;
        rt.crashed.push((r, self.engine.now()));
        let name = self.replica_name(r);
        self.emit_event("crash-loop", &name, "newRevision.crashOnStart");
        false
    }

    /// The service time of a request on replica `r` of service `s`, given
    /// the service's draw `work`: `newRevision` may replace or slow it.
    #[inline]
    pub(in crate::cluster) fn rollout_work(
        &mut self,
        s: usize,
        r: u32,
        work: SimDuration,
    ) -> SimDuration {
        if !self.is_new(r) {
            return work;
        }
        let Some(rt) = self.rollouts[s].as_ref() else {
            return work;
        };
        let n = &rt.driver.spec.new_revision;
        let base = match &n.service_time {
            Some(d) => d.sample(&mut self.services[s].service_rng),
            None => work,
        };
        SimDuration((base.0 as f64 * n.slowdown).round() as u64)
    }

    /// A request on replica `r` of `s` ended after `latency` (`ok`: within
    /// the timeout): true when the new revision fails it (`errorRate`).
    /// Counts the new revision's window metrics.
    #[inline]
    pub(in crate::cluster) fn rollout_completed(
        &mut self,
        s: usize,
        r: u32,
        latency: SimDuration,
        ok: bool,
    ) -> bool {
        if !self.is_new(r) {
            return false;
        }
        let Some(rt) = self.rollouts[s].as_mut() else {
            return false;
        };
        let rate = rt.driver.spec.new_revision.error_rate;
        let error = ok && rate > 0.0 && rand::RngExt::random::<f64>(&mut rt.error_rng) < rate;
        rt.driver.window.record(latency.0, ok && !error);
        error
    }

    /// The balancer that routed requests to replica `r` of `s` from client `c`.
    #[inline]
    pub(in crate::cluster) fn balancer_of(
        &mut self,
        s: usize,
        c: usize,
        r: u32,
    ) -> &mut dyn Balance {
        if self.is_new(r)
            && let Some(rt) = self.rollouts[s].as_mut()
            && rt.driver.split()
        {
            return rt.balancer.as_mut();
        }
        self.services[s].clients[c].balancer.as_mut()
    }

    /// Split routing: a new-revision replica's endpoint change goes to the
    /// new revision's list (true), not the service's.
    pub(in crate::cluster) fn rollout_endpoint(&mut self, s: usize, r: u32, added: bool) -> bool {
        if !self.is_new(r) {
            return false;
        }
        let Some(rt) = self.rollouts[s].as_mut().filter(|rt| rt.driver.split()) else {
            return false;
        };
        if added {
            rt.endpoints.push(ReplicaId(r));
        } else {
            rt.endpoints.retain(|e| e.0 != r);
        }
        rt.balancer.on_endpoints(&rt.endpoints);
        true
    }

    /// Split routing: sends the request that arrived at `arrival` to the new
    /// revision with probability weight/100; true when it took it.
    pub(in crate::cluster) fn route_to_new(&mut self, s: usize, arrival: u64) -> bool {
        let now = self.engine.now();
        let scenario = self.scenario;
        let spec = &scenario.desired.services[s];
        let Some(rt) = self.rollouts[s].as_mut().filter(|rt| rt.driver.split()) else {
            return false;
        };
        if !orkestra_core::rollout::routes_to_new(rt.driver.weight, &mut rt.route_rng) {
            return false;
        }
        rt.balancer.on_time(now);
        let Some(i) = rt.balancer.pick(&rt.endpoints, &mut rt.balance_rng) else {
            self.services[s].metrics.rejected(true);
            return true;
        };
        let r = rt.endpoints[i];
        rt.balancer.on_start(r);
        let status = &self.observed.replicas[r.0 as usize];
        if status.state != ReplicaState::Ready
            || self.net.as_mut().is_some_and(|n| n.drops(status.node))
        {
            // Gone, the list not yet updated (a discovery delay), or cut
            // off or lost on the way: refused.
            rt.balancer.on_complete(r, SimDuration::ZERO, false);
            self.services[s].metrics.failed();
            return true;
        }
        let serving = &mut self.serving[r.0 as usize];
        if serving.busy < spec.concurrency {
            self.start_service(r.0, arrival, s);
        } else if spec
            .queue_limit
            .is_some_and(|limit| serving.queue.len() >= limit)
        {
            rt.balancer.on_complete(r, SimDuration::ZERO, false);
            self.services[s].metrics.rejected(false);
            return true;
        } else {
            self.waiting.push_back(&mut serving.queue, arrival);
            self.services[s].queued += 1;
            if let Some(t) = spec.timeout {
                self.engine.schedule(
                    SimTime(arrival + t.0).max(now),
                    Event::Timeout { replica: r.0 },
                );
            }
        }
        self.load_changed(r.0, s);
        true
    }
}
