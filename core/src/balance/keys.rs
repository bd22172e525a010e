//! Request keys for the hashing balancers: which user, session or object a
//! request is about, drawn from a configured distribution.
//!
//! Key decision: a key is a rank 1..=count drawn from the distribution and
//! hashed (SplitMix64) before it reaches `pick_keyed`, so popular keys are
//! spread over the ring like real hashed user ids are, and a Zipf exponent
//! controls how hot the hottest keys are (Breslau et al., "Web caching and
//! Zipf-like distributions", INFOCOM 1999: web request popularity follows
//! Zipf with exponent ≈ 0.64–0.83). Zipf sampling is rand_distr's
//! rejection-inversion sampler (Hörmann & Derflinger 1996): O(1) per key.

use rand::{Rng, RngExt};
use rand_distr::{Distribution, Zipf};

/// A key distribution.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KeyDist {
    /// Every key equally likely.
    Uniform {
        /// Distinct keys.
        count: u64,
    },
    /// Key of rank k has probability ∝ k^(−exponent).
    Zipf {
        /// Distinct keys.
        count: u64,
        /// Exponent s > 0.
        exponent: f64,
    },
}

/// A sampler of hashed request keys.
#[derive(Clone, Debug)]
pub struct Keys {
    dist: KeyDist,
    zipf: Option<Zipf<f64>>,
}

impl Keys {
    /// A sampler for `dist` (counts ≥ 1 and exponents > 0, as validated).
    pub fn new(dist: KeyDist) -> Keys {
        let zipf = match dist {
            KeyDist::Zipf { count, exponent } => {
                Some(Zipf::new(count.max(1) as f64, exponent).expect("validated Zipf parameters"))
            }
            KeyDist::Uniform { .. } => None,
        };
        Keys { dist, zipf }
    }

    /// The rank (1-based) of the next key.
    pub fn rank(&self, rng: &mut dyn Rng) -> u64 {
        match (self.dist, &self.zipf) {
            (KeyDist::Uniform { count }, _) => rng.random_range(1..=count.max(1)),
            (_, Some(z)) => z.sample(rng) as u64,
            _ => unreachable!("a Zipf sampler exists for Zipf keys"),
        }
    }

    /// The next key, hashed.
    #[inline]
    pub fn next(&self, rng: &mut dyn Rng) -> u64 {
        super::mix64(self.rank(rng))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    #[test]
    fn zipf_rank_one_has_its_harmonic_share() {
        // Zipf s = 1 over 100 keys: P(rank 1) = 1 / H_100 = 1 / 5.18738 = 0.19278.
        // 100k draws: sd √(n p (1−p)) = 124.7, i.e. ±0.0037 at 3 sd.
        let keys = Keys::new(KeyDist::Zipf {
            count: 100,
            exponent: 1.0,
        });
        let mut rng = stream(3, "t");
        let n = 100_000;
        let ones = (0..n).filter(|_| keys.rank(&mut rng) == 1).count();
        let p = ones as f64 / n as f64;
        assert!((p - 0.19278).abs() < 0.0037, "P(rank 1) = {p}");
    }

    #[test]
    fn uniform_keys_stay_in_range_and_hash_deterministically() {
        let keys = Keys::new(KeyDist::Uniform { count: 5 });
        let mut rng = stream(1, "t");
        assert!((0..1000).all(|_| (1..=5).contains(&keys.rank(&mut rng))));
        let (mut a, mut b) = (stream(9, "k"), stream(9, "k"));
        assert_eq!(keys.next(&mut a), keys.next(&mut b));
    }
}
