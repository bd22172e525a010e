//! `weighted-round-robin`: nginx's smooth weighted round robin
//! (`ngx_http_upstream_get_peer`, nginx commit 52327e0627f4, 2012).
//!
//! Key decision: on every pick each endpoint's current weight grows by its
//! weight, the largest (first on ties) is chosen and loses the total, so
//! weights 5, 1, 1 give a a b a c a a — interleaved, never a burst. The
//! sequence is periodic with period Σw/gcd, so it is computed once per
//! endpoint set (when n × period ≤ 4 M steps) and a pick is one array read;
//! otherwise the nginx loop runs per pick (O(n)). Weights are per
//! [`ReplicaId`] (default 1, all equal unless configured); when the endpoint
//! list changes, the state is rebuilt, as nginx does on reconfiguration, and
//! the cursor is kept modulo the new period so no endpoint is favoured.

use rand::Rng;

use crate::ids::ReplicaId;

use super::Balance;

/// The largest n × period precomputed.
const CYCLE_BUDGET: u64 = 1 << 22;

/// Smooth weighted round robin.
#[derive(Clone, Debug, Default)]
pub struct SmoothWeighted {
    /// Weight by replica id; 0 means unset (weight 1).
    weights: Vec<u32>,
    /// The endpoint list the state below was built for.
    cached: Vec<ReplicaId>,
    /// `cached` was announced and not built for yet.
    dirty: bool,
    /// Weights and current weights by position (the live loop).
    by_position: Vec<i64>,
    current: Vec<i64>,
    /// One period of picks by position, if precomputed.
    cycle: Vec<u32>,
    cursor: usize,
}

impl SmoothWeighted {
    /// Equal weights unless set with [`SmoothWeighted::with_weights`].
    pub fn new() -> Self {
        SmoothWeighted::default()
    }

    /// With `weights` for some replicas (the rest weigh 1; zero counts as 1).
    pub fn with_weights(weights: &[(ReplicaId, u32)]) -> Self {
        let mut b = SmoothWeighted::default();
        for &(r, w) in weights {
            *super::slot(&mut b.weights, r, 0) = w;
        }
        b
    }

    fn weight(&self, r: ReplicaId) -> i64 {
        i64::from(self.weights.get(r.0 as usize).copied().unwrap_or(0).max(1))
    }

    /// One step of nginx's loop over `current`; returns the chosen position.
    fn step(weights: &[i64], current: &mut [i64]) -> usize {
        let (mut best, mut best_current, mut total) = (0, i64::MIN, 0);
        for (i, (c, &w)) in current.iter_mut().zip(weights).enumerate() {
            *c += w;
            total += w;
            if *c > best_current {
                (best, best_current) = (i, *c);
            }
        }
        current[best] -= total;
        best
    }

    fn rebuild(&mut self, endpoints: &[ReplicaId]) {
        self.cached.clear();
        self.cached.extend_from_slice(endpoints);
        let weights: Vec<i64> = endpoints.iter().map(|&e| self.weight(e)).collect();
        self.current = vec![0; endpoints.len()];
        let g = weights.iter().fold(0, |g, &w| gcd(g, w));
        let period = weights.iter().sum::<i64>() / g.max(1);
        self.cycle.clear();
        if weights.iter().all(|&w| w == weights[0]) {
            // Equal weights: every round returns all current weights to
            // zero and takes positions in order (first maximum), i.e. plain
            // round robin; skip the O(n²) simulation of it.
            self.cycle.extend(0..endpoints.len() as u32);
            self.cursor %= self.cycle.len().max(1);
        } else if (period as u64).saturating_mul(endpoints.len() as u64) <= CYCLE_BUDGET {
            let mut current = vec![0; endpoints.len()];
            self.cycle
                .extend((0..period).map(|_| Self::step(&weights, &mut current) as u32));
            self.cursor %= self.cycle.len();
        }
        self.by_position = weights;
    }
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl Balance for SmoothWeighted {
    fn name(&self) -> &'static str {
        "weighted-round-robin"
    }

    fn on_weight(&mut self, replica: ReplicaId, weight: u32) {
        *super::slot(&mut self.weights, replica, 0) = weight;
        self.dirty = true;
    }

    fn on_endpoints(&mut self, endpoints: &[ReplicaId]) {
        // Built at the next pick, so a burst of changes (replicas starting
        // one by one) costs one build.
        self.cached.clear();
        self.cached.extend_from_slice(endpoints);
        self.dirty = true;
    }

    #[inline]
    fn pick(&mut self, endpoints: &[ReplicaId], _rng: &mut dyn Rng) -> Option<usize> {
        if endpoints.is_empty() {
            return None;
        }
        if self.dirty || super::stale(&self.cached, endpoints) {
            self.rebuild(endpoints);
            self.dirty = false;
        }
        if self.cycle.is_empty() {
            return Some(Self::step(&self.by_position, &mut self.current));
        }
        let i = self.cycle[self.cursor] as usize;
        self.cursor += 1;
        if self.cursor == self.cycle.len() {
            self.cursor = 0;
        }
        Some(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::tests::ids;
    use crate::rng::stream;

    #[test]
    fn weights_5_1_1_give_nginxs_documented_sequence() {
        // nginx (commit 52327e0627f4): {a, a, b, a, c, a, a}. Worked:
        // current 5,1,1→a −2,1,1 | 3,2,2→a −4,2,2 | 1,3,3→b 1,−4,3 |
        // 6,−3,4→a −1,−3,4 | 4,−2,5→c 4,−2,−2 | 9,−1,−1→a 2,−1,−1 | 7,0,0→a 0,0,0.
        let mut b = SmoothWeighted::with_weights(&[(ReplicaId(0), 5)]);
        let mut rng = stream(9, "t");
        let eps = ids(3);
        let picks: String = (0..14)
            .map(|_| (b'a' + b.pick(&eps, &mut rng).unwrap() as u8) as char)
            .collect();
        assert_eq!(picks, "aabacaaaabacaa");
        assert_eq!(b.pick(&[], &mut rng), None);
    }

    #[test]
    fn weights_announced_by_the_world_take_effect_at_the_next_pick() {
        // The same 5, 1, 1 through on_weight (as worlds announce them):
        // the same nginx sequence a a b a c a a.
        let mut b = SmoothWeighted::new();
        let mut rng = stream(9, "t");
        let eps = ids(3);
        b.on_weight(ReplicaId(0), 5);
        b.on_endpoints(&eps);
        let picks: String = (0..7)
            .map(|_| (b'a' + b.pick(&eps, &mut rng).unwrap() as u8) as char)
            .collect();
        assert_eq!(picks, "aabacaa");
    }

    #[test]
    fn honours_weights_exactly_over_a_period_and_by_replica_id() {
        // Weights 3, 2, 1 on replicas 10, 20, 30 listed in reverse: a period
        // of 6 picks has exactly 3, 2, 1 of each, and the live loop (forced
        // by a period past the budget) agrees with the precomputed cycle.
        let w = [(ReplicaId(10), 3), (ReplicaId(20), 2), (ReplicaId(30), 1)];
        let eps = [ReplicaId(30), ReplicaId(20), ReplicaId(10)];
        let mut b = SmoothWeighted::with_weights(&w);
        let mut rng = stream(10, "t");
        let mut counts = [0; 3];
        for _ in 0..6 {
            counts[b.pick(&eps, &mut rng).unwrap()] += 1;
        }
        assert_eq!(counts, [1, 2, 3]);
        let mut live = SmoothWeighted::with_weights(&w);
        live.rebuild(&eps);
        live.cycle.clear();
        let mut b = SmoothWeighted::with_weights(&w);
        for _ in 0..60 {
            assert_eq!(live.pick(&eps, &mut rng), b.pick(&eps, &mut rng));
        }
    }

    #[test]
    fn the_equal_weight_shortcut_is_what_nginxs_loop_does() {
        // 7 endpoints all of weight 3: two rounds of the loop pick 0..7 twice.
        let weights = [3i64; 7];
        let mut current = [0i64; 7];
        let seq: Vec<usize> = (0..14)
            .map(|_| SmoothWeighted::step(&weights, &mut current))
            .collect();
        let want: Vec<usize> = (0..7).chain(0..7).collect();
        assert_eq!(seq, want);
        let w: Vec<_> = (0..7).map(|i| (ReplicaId(i), 3)).collect();
        let mut b = SmoothWeighted::with_weights(&w);
        b.rebuild(&ids(7));
        assert_eq!(b.cycle, (0..7).collect::<Vec<u32>>());
    }

    #[test]
    fn equal_weights_are_round_robin_and_survive_churn() {
        let mut b = SmoothWeighted::new();
        let mut rng = stream(11, "t");
        let eps = ids(3);
        let picks: Vec<_> = (0..6).map(|_| b.pick(&eps, &mut rng).unwrap()).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2]);
        // Replica 1 leaves: the cursor (0 after 6 picks) carries over; the
        // two left alternate.
        let eps = [ReplicaId(0), ReplicaId(2)];
        let picks: Vec<_> = (0..4).map(|_| b.pick(&eps, &mut rng).unwrap()).collect();
        assert_eq!(picks, [0, 1, 0, 1]);
    }
}
