//! Outlier ejection: a balancer decorator that stops sending to endpoints
//! that keep failing (Envoy's outlier detection, `consecutive_5xx`).
//!
//! Key decision: ejection wraps any [`Balance`] instead of living in each
//! policy: the wrapped balancer is simply told a shorter endpoint list
//! (`on_endpoints`) while hosts are ejected, so every policy, in both
//! worlds, gains ejection unchanged. Semantics follow Envoy's
//! `envoy.config.cluster.v3.OutlierDetection` defaults: a host is ejected at
//! once when it reaches `consecutive_5xx` (5) consecutive failures; it stays
//! out for `base_ejection_time` (30 s) × the number of times it was ejected,
//! at most `max_ejection_time` (300 s), and returns at the first sweep
//! (every `interval`, 10 s) after that; at most `max_ejection_percent` (10%)
//! of hosts are ejected at once, but always at least one; each sweep that
//! finds a host in and healthy lowers its ejection multiplier by one. If
//! fewer than half the hosts remain (Envoy's `healthy_panic_threshold`,
//! 50%), requests go to all hosts, ejected or not ("panic mode").
//! Failures are whatever the world reports with `ok = false`: connection
//! failures to stale endpoints, rejections (503) and timeouts (504).

use rand::Rng;

use crate::ids::ReplicaId;
use crate::time::{SimDuration, SimTime};

use super::Balance;

/// Outlier detection settings (Envoy names and defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OutlierSpec {
    /// Consecutive failures that eject a host (default 5).
    pub consecutive_5xx: u32,
    /// Time between sweeps that return hosts (default 10 s).
    pub interval: SimDuration,
    /// Ejection time per ejection so far (default 30 s).
    pub base_ejection_time: SimDuration,
    /// Longest ejection (default 300 s).
    pub max_ejection_time: SimDuration,
    /// Most hosts ejected at once, percent (default 10; at least one host).
    pub max_ejection_percent: u32,
}

impl Default for OutlierSpec {
    fn default() -> Self {
        OutlierSpec {
            consecutive_5xx: 5,
            interval: SimDuration::from_secs(10),
            base_ejection_time: SimDuration::from_secs(30),
            max_ejection_time: SimDuration::from_secs(300),
            max_ejection_percent: 10,
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Host {
    consecutive: u32,
    /// Ejections so far (the multiplier), lowered by healthy sweeps.
    ejections: u32,
    /// Ejected until this instant (ns), if ejected.
    until: Option<u64>,
}

/// A balancer with outlier ejection in front.
pub struct Ejecting {
    inner: Box<dyn Balance>,
    spec: OutlierSpec,
    hosts: Vec<Host>,
    /// The world's endpoint list.
    all: Vec<ReplicaId>,
    /// The endpoints not ejected, and their positions in `all`.
    visible: Vec<ReplicaId>,
    position: Vec<u32>,
    ejected: usize,
    now: u64,
    next_sweep: u64,
    total: u64,
}

impl Ejecting {
    /// Wraps `inner`.
    pub fn new(inner: Box<dyn Balance>, spec: OutlierSpec) -> Self {
        Ejecting {
            inner,
            spec,
            hosts: Vec::new(),
            all: Vec::new(),
            visible: Vec::new(),
            position: Vec::new(),
            ejected: 0,
            now: 0,
            next_sweep: spec.interval.0,
            total: 0,
        }
    }

    fn host(&mut self, r: ReplicaId) -> &mut Host {
        super::slot(&mut self.hosts, r, Host::default())
    }

    fn is_ejected(&self, r: ReplicaId) -> bool {
        self.hosts
            .get(r.0 as usize)
            .is_some_and(|h| h.until.is_some())
    }

    /// Recomputes the visible list and tells the wrapped balancer.
    fn rebuild(&mut self) {
        self.visible.clear();
        self.position.clear();
        self.ejected = 0;
        for (i, &r) in self.all.iter().enumerate() {
            if self.is_ejected(r) {
                self.ejected += 1;
            } else {
                self.visible.push(r);
                self.position.push(i as u32);
            }
        }
        if self.panic() {
            self.inner.on_endpoints(&self.all);
        } else {
            self.inner.on_endpoints(&self.visible);
        }
    }

    /// Fewer than half the hosts visible: route to all (Envoy panic mode).
    fn panic(&self) -> bool {
        self.ejected > 0 && self.visible.len() * 2 < self.all.len()
    }

    /// The sweep due at `at` (ns).
    fn sweep(&mut self, at: u64) {
        let mut changed = false;
        for &r in &self.all {
            let Some(h) = self.hosts.get_mut(r.0 as usize) else {
                continue;
            };
            match h.until {
                Some(until) if until <= at => {
                    h.until = None;
                    h.consecutive = 0;
                    changed = true;
                }
                None if h.ejections > 0 => h.ejections -= 1,
                _ => {}
            }
        }
        if changed {
            self.rebuild();
        }
    }

    fn fail(&mut self, r: ReplicaId) {
        let (base, max, limit) = (
            self.spec.base_ejection_time.0,
            self.spec.max_ejection_time.0,
            self.spec.consecutive_5xx,
        );
        let pct = self.spec.max_ejection_percent as usize;
        let (ejected, hosts) = (self.ejected, self.all.len());
        let now = self.now;
        let present = self.all.contains(&r);
        let h = self.host(r);
        h.consecutive += 1;
        if h.until.is_some() || h.consecutive < limit || !present {
            return;
        }
        // Envoy: no ejection once ejected/hosts ≥ max_ejection_percent, unless none is out.
        if ejected > 0 && ejected * 100 >= pct * hosts {
            return;
        }
        h.ejections += 1;
        h.until = Some(now + (base.saturating_mul(u64::from(h.ejections))).min(max.max(base)));
        h.consecutive = 0;
        self.total += 1;
        self.rebuild();
    }
}

impl Balance for Ejecting {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    #[inline]
    fn pick(&mut self, endpoints: &[ReplicaId], rng: &mut dyn Rng) -> Option<usize> {
        self.pick_keyed(endpoints, None, rng)
    }

    #[inline]
    fn pick_keyed(
        &mut self,
        endpoints: &[ReplicaId],
        key: Option<u64>,
        rng: &mut dyn Rng,
    ) -> Option<usize> {
        if self.ejected == 0 || self.panic() {
            return self.inner.pick_keyed(endpoints, key, rng);
        }
        let i = self.inner.pick_keyed(&self.visible, key, rng)?;
        Some(self.position[i] as usize)
    }

    fn on_start(&mut self, replica: ReplicaId) {
        self.inner.on_start(replica);
    }

    fn on_complete(&mut self, replica: ReplicaId, latency: SimDuration, ok: bool) {
        self.inner.on_complete(replica, latency, ok);
        if ok {
            if let Some(h) = self.hosts.get_mut(replica.0 as usize) {
                h.consecutive = 0;
            }
        } else {
            self.fail(replica);
        }
    }

    fn on_endpoints(&mut self, endpoints: &[ReplicaId]) {
        self.all.clear();
        self.all.extend_from_slice(endpoints);
        self.rebuild();
    }

    fn on_time(&mut self, now: SimTime) {
        self.now = now.0;
        while self.now >= self.next_sweep {
            let at = self.next_sweep;
            self.next_sweep += self.spec.interval.0.max(1);
            self.sweep(at);
        }
        self.inner.on_time(now);
    }

    fn on_weight(&mut self, replica: ReplicaId, weight: u32) {
        self.inner.on_weight(replica, weight);
    }

    fn ejections(&self) -> u64 {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::RoundRobin;
    use crate::balance::tests::ids;
    use crate::rng::stream;

    fn fail_n(b: &mut Ejecting, r: u32, n: u32) {
        for _ in 0..n {
            b.on_start(ReplicaId(r));
            b.on_complete(ReplicaId(r), SimDuration::ZERO, false);
        }
    }

    #[test]
    fn five_consecutive_failures_eject_for_thirty_seconds() {
        let mut b = Ejecting::new(Box::new(RoundRobin::default()), OutlierSpec::default());
        let mut rng = stream(0, "t");
        let eps = ids(10);
        b.on_endpoints(&eps);
        // Four failures, then a success: the count restarts (consecutive only).
        fail_n(&mut b, 3, 4);
        b.on_complete(ReplicaId(3), SimDuration::ZERO, true);
        fail_n(&mut b, 3, 4);
        assert_eq!(b.ejections(), 0);
        fail_n(&mut b, 3, 1); // the fifth in a row
        assert_eq!(b.ejections(), 1);
        // 10 hosts, 1 out: round robin over the other nine never returns 3.
        let picks: Vec<_> = (0..18)
            .map(|_| eps[b.pick(&eps, &mut rng).unwrap()])
            .collect();
        assert!(!picks.contains(&ReplicaId(3)));
        // Ejected at t = 0 for 30 s × 1; sweeps at 10, 20, 30 s: back at the 30 s sweep.
        b.on_time(SimTime(29_000_000_000));
        assert!(!(0..10).any(|_| eps[b.pick(&eps, &mut rng).unwrap()] == ReplicaId(3)));
        b.on_time(SimTime(30_000_000_000));
        assert!((0..10).any(|_| eps[b.pick(&eps, &mut rng).unwrap()] == ReplicaId(3)));
    }

    #[test]
    fn second_ejection_lasts_twice_as_long_and_percent_caps_ejections() {
        let mut b = Ejecting::new(Box::new(RoundRobin::default()), OutlierSpec::default());
        let eps = ids(10);
        b.on_endpoints(&eps);
        fail_n(&mut b, 1, 5);
        // 1 of 10 out = 10% ≥ max_ejection_percent 10: host 2 stays in.
        fail_n(&mut b, 2, 5);
        assert_eq!(b.ejections(), 1);
        // Host 1 back at the 30 s sweep; ejected again at 31 s: 2 × 30 = 60 s,
        // until 91 s — still out at the 90 s sweep, back at the 100 s sweep.
        b.on_time(SimTime(30_000_000_000));
        b.on_time(SimTime(31_000_000_000));
        fail_n(&mut b, 1, 5);
        assert_eq!(b.ejections(), 2);
        b.on_time(SimTime(90_000_000_000));
        assert!(b.is_ejected(ReplicaId(1)));
        b.on_time(SimTime(100_000_000_000));
        assert!(!b.is_ejected(ReplicaId(1)));
    }

    #[test]
    fn panic_mode_routes_to_all_when_most_hosts_are_out() {
        // One host of one ejected: 0 visible < 50% → every host gets traffic.
        let mut b = Ejecting::new(Box::new(RoundRobin::default()), OutlierSpec::default());
        let mut rng = stream(0, "t");
        let eps = ids(1);
        b.on_endpoints(&eps);
        fail_n(&mut b, 0, 5);
        assert_eq!(b.ejections(), 1);
        assert_eq!(b.pick(&eps, &mut rng), Some(0));
    }
}
