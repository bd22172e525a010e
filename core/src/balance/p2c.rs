//! `p2c`: the power of d choices (Mitzenmacher 2001; Envoy `LEAST_REQUEST`,
//! tower's `balance::p2c`).
//!
//! Key decision: draw d *distinct* endpoints uniformly at random and send to
//! the one with the smallest [`Load`] (ties to the first drawn, itself
//! random), so a pick is O(d), never O(n), and never goes to the more loaded
//! of the samples. Generic over the load measure: outstanding requests here
//! (`p2c`), peak-EWMA cost for `peak-ewma`. d = 2 by default, Envoy's
//! `choice_count`; d ≥ n degenerates to a full scan of all endpoints.

use rand::{Rng, RngExt};

use crate::ids::ReplicaId;
use crate::time::{SimDuration, SimTime};

use super::{Balance, Load, Outstanding};

/// Power of d choices over a load measure.
#[derive(Clone, Debug)]
pub struct P2c<L: Load = Outstanding> {
    load: L,
    d: usize,
    name: &'static str,
}

impl Default for P2c<Outstanding> {
    fn default() -> Self {
        P2c::new(2)
    }
}

impl P2c<Outstanding> {
    /// `p2c` with `d` choices on outstanding requests (d is at least 1).
    pub fn new(d: usize) -> Self {
        P2c::with_load(Outstanding::default(), d, "p2c")
    }
}

impl<L: Load> P2c<L> {
    /// Power of `d` choices over `load`, registered as `name`.
    pub fn with_load(load: L, d: usize, name: &'static str) -> Self {
        P2c {
            load,
            d: d.max(1),
            name,
        }
    }

    /// The load measure, e.g. to read what it has learnt.
    pub fn load_mut(&mut self) -> &mut L {
        &mut self.load
    }

    /// The number of choices.
    pub fn choices(&self) -> usize {
        self.d
    }
}

impl<L: Load> Balance for P2c<L> {
    fn name(&self) -> &'static str {
        self.name
    }

    #[inline]
    fn pick(&mut self, endpoints: &[ReplicaId], rng: &mut dyn Rng) -> Option<usize> {
        let n = endpoints.len();
        match n {
            0 => return None,
            1 => return Some(0),
            _ => {}
        }
        if self.d == 2 {
            // Two distinct indices: j is drawn from the n − 1 others.
            let a = rng.random_range(0..n);
            let mut b = rng.random_range(0..n - 1);
            if b >= a {
                b += 1;
            }
            let (la, lb) = (self.load.load(endpoints[a]), self.load.load(endpoints[b]));
            return Some(if lb < la { b } else { a });
        }
        if self.d >= n {
            let mut best = 0;
            let mut best_load = f64::INFINITY;
            for (i, &e) in endpoints.iter().enumerate() {
                let l = self.load.load(e);
                if l < best_load {
                    (best, best_load) = (i, l);
                }
            }
            return Some(best);
        }
        // d distinct of n by rejection (d < n, and d is small in practice).
        let mut chosen = [usize::MAX; 16];
        let mut extra = Vec::new();
        let mut best = usize::MAX;
        let mut best_load = f64::INFINITY;
        for k in 0..self.d {
            let i = loop {
                let i = rng.random_range(0..n);
                let seen = chosen[..k.min(16)].contains(&i) || extra.contains(&i);
                if !seen {
                    break i;
                }
            };
            if k < 16 {
                chosen[k] = i;
            } else {
                extra.push(i);
            }
            let l = self.load.load(endpoints[i]);
            if l < best_load || best == usize::MAX {
                (best, best_load) = (i, l);
            }
        }
        Some(best)
    }

    fn on_start(&mut self, replica: ReplicaId) {
        self.load.on_start(replica);
    }

    fn on_complete(&mut self, replica: ReplicaId, latency: SimDuration, ok: bool) {
        self.load.on_complete(replica, latency, ok);
    }

    fn on_time(&mut self, now: SimTime) {
        self.load.on_time(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::tests::ids;
    use crate::rng::stream;

    /// Records which endpoints a pick looked at, to check the rule itself.
    struct Spy {
        loads: Vec<f64>,
        seen: Vec<ReplicaId>,
    }

    impl Load for Spy {
        fn load(&mut self, r: ReplicaId) -> f64 {
            self.seen.push(r);
            self.loads[r.0 as usize]
        }
        fn on_start(&mut self, _: ReplicaId) {}
        fn on_complete(&mut self, _: ReplicaId, _: SimDuration, _: bool) {}
    }

    #[test]
    fn never_picks_the_more_loaded_of_its_samples() {
        // Property over 10k random cases: n in 2..50, loads in 0..5 (many
        // ties), d in {2, 3, 5}: the samples are distinct, there are d of
        // them (or n when d ≥ n), and the pick's load is their minimum.
        let mut rng = stream(6, "t");
        for case in 0..10_000 {
            let n = rng.random_range(2..50u32);
            let d = [2, 3, 5][case % 3];
            let loads = (0..n)
                .map(|_| f64::from(rng.random_range(0..5u32)))
                .collect();
            let mut b = P2c::with_load(
                Spy {
                    loads,
                    seen: vec![],
                },
                d,
                "p2c",
            );
            let eps = ids(n);
            let i = b.pick(&eps, &mut rng).unwrap();
            let spy = b.load_mut();
            let mut seen = spy.seen.clone();
            assert!(seen.contains(&eps[i]));
            let min = seen
                .iter()
                .map(|r| spy.loads[r.0 as usize])
                .fold(f64::INFINITY, f64::min);
            assert_eq!(
                spy.loads[i], min,
                "case {case}: picked a more loaded sample"
            );
            seen.sort();
            seen.dedup();
            assert_eq!(
                seen.len(),
                d.min(n as usize),
                "case {case}: samples not distinct"
            );
        }
    }

    #[test]
    fn counts_outstanding_and_prefers_the_idle_endpoint() {
        // Two endpoints: both are always sampled, so the idle one wins.
        let mut b = P2c::default();
        let mut rng = stream(7, "t");
        let eps = [ReplicaId(4), ReplicaId(8)];
        b.on_start(ReplicaId(4));
        for _ in 0..100 {
            assert_eq!(b.pick(&eps, &mut rng), Some(1));
        }
        b.on_complete(ReplicaId(4), SimDuration::ZERO, true);
        b.on_start(ReplicaId(8));
        assert_eq!(b.pick(&eps, &mut rng), Some(0));
        assert_eq!(b.pick(&eps[..1], &mut rng), Some(0));
        assert_eq!(b.pick(&[], &mut rng), None);
    }
}
