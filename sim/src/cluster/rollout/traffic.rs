//! The request path of a rollout: which revision serves a request, and
//! how the new revision behaves (`newRevision`).
//!
//! Key decision: every hook is a no-op unless the replica carries template
//! 1, so services without a rollout pay one branch on an empty side array
//! (checked by the caller in `cluster/requests.rs`). Split routing (canary,
//! blue/green) is Argo Rollouts' traffic-routing model: each request goes to
//! the new revision with probability weight/100 (stream
//! `policy/rollout/<svc>`), then to a replica of that revision chosen by its
//! own balancer.

use orkestra_core::balance::Balance;
use orkestra_core::model::ReplicaId;
use orkestra_core::rng::StreamRng;
use orkestra_core::time::{SimDuration, SimTime};

use super::{NEW, Rollouts};

/// Where split routing sends a request.
pub(in crate::cluster) enum Route {
    /// To the stable revision: the service's own balancers.
    Stable,
    /// To the new revision, which has no endpoint.
    NoEndpoint,
    /// To this replica of the new revision (its balancer saw it start).
    To(ReplicaId),
}

impl Rollouts {
    /// A replica of service `s` was created (ids are appended): it gets
    /// the template the controllers create now.
    pub(in crate::cluster) fn created(&mut self, s: usize) {
        if !self.is_empty() {
            let t = self.default_template(s);
            self.template.push(t);
        }
    }

    /// Replica `r` has template `t` (created by a rollout's scaling).
    pub(in crate::cluster) fn set_template(&mut self, r: u32, t: u8) {
        self.template[r as usize] = t;
    }

    /// The template of a pod of service `s` the replica controller creates.
    fn default_template(&self, s: usize) -> u8 {
        self.services
            .get(s)
            .and_then(Option::as_ref)
            .map_or(0, |rt| rt.driver.current as u8)
    }

    /// Replica `r` belongs to the new revision of a rollout.
    #[inline]
    fn is_new(&self, r: u32) -> bool {
        self.template.get(r as usize) == Some(&(NEW as u8))
    }

    /// Replica `r` of `s` was bound at `now`: false when it is of a
    /// `crashOnStart` revision (it crash-loops and never becomes ready).
    pub(in crate::cluster) fn starts(&mut self, r: u32, s: usize, now: SimTime) -> bool {
        if !self.is_new(r) {
            return true;
        }
        let Some(rt) = self.services[s].as_mut() else {
            return true;
        };
        if !rt.driver.spec.new_revision.crash_on_start {
            return true;
        }
        rt.crash_loops += 1;
        rt.crashed.push((r, now));
        false
    }

    /// The service time of a request on replica `r` of service `s`, given
    /// the service's draw `work`: `newRevision` may replace it (drawn from
    /// the service's `rng`) or slow it.
    #[inline]
    pub(in crate::cluster) fn work(
        &self,
        s: usize,
        r: u32,
        work: SimDuration,
        rng: &mut StreamRng,
    ) -> SimDuration {
        if !self.is_new(r) {
            return work;
        }
        let Some(rt) = self.services[s].as_ref() else {
            return work;
        };
        let n = &rt.driver.spec.new_revision;
        let base = match &n.service_time {
            Some(d) => d.sample(rng),
            None => work,
        };
        SimDuration((base.0 as f64 * n.slowdown).round() as u64)
    }

    /// A request on replica `r` of `s` ended after `latency` (`ok`: within
    /// the timeout): true when the new revision fails it (`errorRate`).
    /// Counts the new revision's window metrics.
    #[inline]
    pub(in crate::cluster) fn completed(
        &mut self,
        s: usize,
        r: u32,
        latency: SimDuration,
        ok: bool,
    ) -> bool {
        if !self.is_new(r) {
            return false;
        }
        let Some(rt) = self.services[s].as_mut() else {
            return false;
        };
        let rate = rt.driver.spec.new_revision.error_rate;
        let error = ok && rate > 0.0 && rand::RngExt::random::<f64>(&mut rt.error_rng) < rate;
        rt.driver.window.record(latency.0, ok && !error);
        error
    }

    /// The new revision's balancer, when it routed requests to replica `r`
    /// of `s` (split routing).
    #[inline]
    pub(in crate::cluster) fn split_balancer(
        &mut self,
        s: usize,
        r: u32,
    ) -> Option<&mut dyn Balance> {
        if self.is_new(r)
            && let Some(rt) = self.services[s].as_mut()
            && rt.driver.split()
        {
            return Some(rt.balancer.as_mut());
        }
        None
    }

    /// Split routing: a new-revision replica's endpoint change goes to the
    /// new revision's list (true), not the service's.
    pub(in crate::cluster) fn endpoint(&mut self, s: usize, r: u32, added: bool) -> bool {
        if !self.is_new(r) {
            return false;
        }
        let Some(rt) = self.services[s].as_mut().filter(|rt| rt.driver.split()) else {
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

    /// Split routing at `now`: the new revision takes a request of `s`
    /// with probability weight/100, then its balancer picks a replica.
    pub(in crate::cluster) fn route(&mut self, s: usize, now: SimTime) -> Route {
        let Some(rt) = self.services[s].as_mut().filter(|rt| rt.driver.split()) else {
            return Route::Stable;
        };
        if !orkestra_core::rollout::routes_to_new(rt.driver.weight, &mut rt.route_rng) {
            return Route::Stable;
        }
        rt.balancer.on_time(now);
        let Some(i) = rt.balancer.pick(&rt.endpoints, &mut rt.balance_rng) else {
            return Route::NoEndpoint;
        };
        let r = rt.endpoints[i];
        rt.balancer.on_start(r);
        Route::To(r)
    }

    /// A request routed to new-revision replica `r` of `s` was refused there.
    pub(in crate::cluster) fn refused(&mut self, s: usize, r: ReplicaId) {
        if let Some(rt) = self.services[s].as_mut() {
            rt.balancer.on_complete(r, SimDuration::ZERO, false);
        }
    }
}
