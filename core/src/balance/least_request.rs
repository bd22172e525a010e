//! `least-request`: a full scan for the fewest outstanding requests.
//!
//! Key decision: scan every endpoint (O(n) per pick) and break ties
//! uniformly at random with one draw (count the minima, then take the j-th),
//! as Envoy's `LEAST_REQUEST` does when `choice_count` covers all hosts and
//! as NGINX's `least_conn` does (which then round-robins ties). Outstanding
//! counts are kept per [`ReplicaId`], so they survive endpoint churn.

use rand::{Rng, RngExt};

use crate::ids::ReplicaId;
use crate::time::SimDuration;

use super::{Balance, Outstanding};

/// Least outstanding requests over all endpoints, ties at random.
#[derive(Clone, Debug)]
pub struct LeastRequest {
    load: Outstanding,
    name: &'static str,
}

impl Default for LeastRequest {
    fn default() -> Self {
        LeastRequest::named("least-request")
    }
}

impl LeastRequest {
    pub(crate) fn named(name: &'static str) -> Self {
        LeastRequest {
            load: Outstanding::default(),
            name,
        }
    }

    /// Outstanding requests of `replica` as this balancer counts them.
    pub fn outstanding(&self, replica: ReplicaId) -> u32 {
        self.load.get(replica)
    }
}

impl Balance for LeastRequest {
    fn name(&self) -> &'static str {
        self.name
    }

    fn pick(&mut self, endpoints: &[ReplicaId], rng: &mut dyn Rng) -> Option<usize> {
        if endpoints.is_empty() {
            return None;
        }
        let mut min = u32::MAX;
        let mut ties = 0u32;
        for &e in endpoints {
            let c = self.load.get(e);
            if c < min {
                min = c;
                ties = 1;
            } else if c == min {
                ties += 1;
            }
        }
        let mut j = if ties > 1 {
            rng.random_range(0..ties)
        } else {
            0
        };
        for (i, &e) in endpoints.iter().enumerate() {
            if self.load.get(e) == min {
                if j == 0 {
                    return Some(i);
                }
                j -= 1;
            }
        }
        unreachable!("a minimum exists")
    }

    fn on_start(&mut self, replica: ReplicaId) {
        self.load.start(replica);
    }

    fn on_complete(&mut self, replica: ReplicaId, _latency: SimDuration, _ok: bool) {
        self.load.complete(replica);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::tests::ids;
    use crate::rng::stream;

    #[test]
    fn always_picks_a_minimum_and_spreads_ties() {
        // Random loads 0..4 over 20 endpoints, 2000 rounds: the pick's count
        // equals the minimum every time.
        let mut rng = stream(3, "t");
        let eps = ids(20);
        for _ in 0..2000 {
            let mut b = LeastRequest::default();
            for &e in &eps {
                for _ in 0..rng.random_range(0..4) {
                    b.on_start(e);
                }
            }
            let i = b.pick(&eps, &mut rng).unwrap();
            let min = eps.iter().map(|&e| b.outstanding(e)).min().unwrap();
            assert_eq!(b.outstanding(eps[i]), min);
        }
        // All tied at zero: 40k picks over 4 endpoints, 10000 ± 87 (sd) each; allow 5 sd.
        let mut b = LeastRequest::default();
        let eps = ids(4);
        let mut counts = [0u32; 4];
        for _ in 0..40_000 {
            counts[b.pick(&eps, &mut rng).unwrap()] += 1;
        }
        assert!(
            counts.iter().all(|&c| c.abs_diff(10_000) < 435),
            "{counts:?}"
        );
        assert_eq!(b.pick(&[], &mut rng), None);
    }

    #[test]
    fn load_follows_the_replica_when_the_list_reorders() {
        // Replica 5 has 2 in flight, replica 9 none: 9 wins wherever it sits.
        let mut b = LeastRequest::default();
        let mut rng = stream(4, "t");
        b.on_start(ReplicaId(5));
        b.on_start(ReplicaId(5));
        let eps = [ReplicaId(5), ReplicaId(9)];
        assert_eq!(b.pick(&eps, &mut rng), Some(1));
        let eps = [ReplicaId(9), ReplicaId(5)];
        assert_eq!(b.pick(&eps, &mut rng), Some(0));
    }
}
