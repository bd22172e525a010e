//! Named, independent random streams derived from one run seed.
//!
//! Key decision: every consumer of randomness (the traffic of each service,
//! its service times, start-up delays, balancer choices, placement, failures)
//! draws from its own stream, seeded from `(run seed, stream name)`. Adding a
//! failure or a service therefore never reshuffles the traffic of another.
//! The generator is xoshiro256++ from `rand_xoshiro`, whose output is fixed
//! by its algorithm (unlike `rand::rngs::SmallRng`, which may change between
//! versions), so result files stay reproducible across upgrades.

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// The generator every stream uses.
pub type StreamRng = Xoshiro256PlusPlus;

/// Stream names used across the project, so they are spelled once.
pub mod names {
    /// Arrival times of a service's requests (suffix `/<service>`).
    pub const TRAFFIC: &str = "traffic";
    /// Per-request work of a service (suffix `/<service>`; a rollout's
    /// `newRevision.errorRate` draws `/<service>/errors`).
    pub const SERVICE: &str = "service";
    /// Start-up delays of replicas.
    pub const STARTUP: &str = "startup";
    /// Policy decisions: placement and balancing (suffix `/balance/<service>`;
    /// a rollout's revision choice `/rollout/<service>` and its new
    /// revision's balancer `/balance/<service>/new`).
    pub const POLICY: &str = "policy";
    /// Fault injection.
    pub const FAILURES: &str = "failures";
    /// Poisson job arrivals (suffix `/<job set>`; durations `/<job set>/duration`).
    pub const JOBS: &str = "jobs";
    /// Requests lost on a lossy link between zones (`[topology]`, `link-degrade`).
    pub const TOPOLOGY_LOSS: &str = "topology/loss";
}

/// 64-bit FNV-1a: a stable, dependency-free hash for stream names and scenario text.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// SplitMix64 finaliser: spreads nearby seeds far apart.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The stream called `name` of the run with seed `seed`.
pub fn stream(seed: u64, name: &str) -> StreamRng {
    StreamRng::seed_from_u64(mix(seed ^ mix(fnv1a64(name.as_bytes()))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a1 = stream(1, "traffic/web").next_u64();
        let a2 = stream(1, "traffic/web").next_u64();
        let b = stream(1, "service/web").next_u64();
        let c = stream(2, "traffic/web").next_u64();
        assert_eq!(a1, a2);
        assert_ne!(a1, b);
        assert_ne!(a1, c);
    }

    #[test]
    fn fnv_matches_published_vectors() {
        // FNV-1a 64 test vectors from the reference implementation (isthe.com/chongo/tech/comp/fnv).
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }
}
