//! The request path of a rollout: which revision serves a request, and
//! how the new revision behaves (`newRevision`).
//!
//! Key decision: every hook is a no-op unless the replica carries template
//! 1, so services without a rollout pay one branch on an empty side array
//! (checked by the caller in `cluster/requests.rs`). Split routing (canary,
//! blue/green) is Argo Rollouts' traffic-routing model: each request goes to
//! the new revision with probability weight/100 (stream
//! `policy/rollout/<svc>`), then to a replica of that revision chosen by its
//! own router, through the same attempt loop as the service's requests.

use orkestra_core::balance::Router;
use orkestra_core::model::ReplicaId;
use orkestra_core::rng::StreamRng;
use orkestra_core::time::{SimDuration, SimTime};

use super::{NEW, Rollouts};

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

    /// The new revision's router, when it routed requests to replica `r`
    /// of `s` (split routing).
    #[inline]
    pub(in crate::cluster) fn split_router(&mut self, s: usize, r: u32) -> Option<&mut Router> {
        if self.is_new(r)
            && let Some(rt) = self.services[s].as_mut()
            && rt.driver.split()
        {
            return rt.router.as_mut();
        }
        None
    }

    /// Split routing: a new-revision replica's endpoint change goes to the
    /// new revision's router (true, announced at once), not the service's;
    /// `weight` is its weight, asked only by weighted policies.
    pub(in crate::cluster) fn endpoint(
        &mut self,
        s: usize,
        r: u32,
        added: bool,
        weight: impl FnOnce() -> u32,
    ) -> bool {
        if !self.is_new(r) {
            return false;
        }
        let Some(router) = self.services[s]
            .as_mut()
            .filter(|rt| rt.driver.split())
            .and_then(|rt| rt.router.as_mut())
        else {
            return false;
        };
        if added {
            router.add(ReplicaId(r), weight);
        } else {
            router.remove(ReplicaId(r));
        }
        router.announce();
        true
    }

    /// Split routing: whether the new revision takes a request of `s`
    /// (with probability weight/100).
    #[inline]
    pub(in crate::cluster) fn takes(&mut self, s: usize) -> bool {
        let Some(rt) = self.services[s].as_mut().filter(|rt| rt.driver.split()) else {
            return false;
        };
        orkestra_core::rollout::routes_to_new(rt.driver.weight, &mut rt.route_rng)
    }

    /// The new revision's router of `s`.
    #[inline]
    pub(in crate::cluster) fn router(&mut self, s: usize) -> Option<&mut Router> {
        self.services[s].as_mut()?.router.as_mut()
    }
}
