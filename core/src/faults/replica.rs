//! Per-replica fault processes the world drives: container crashes and
//! out-of-memory kills.
//!
//! Key decision: these depend on replicas the fault plan cannot know in
//! advance (they are created by controllers), so the world draws a
//! replica's next crash when the replica starts, from the fault stream
//! `failures/container/<service>` — never from a traffic stream — and
//! checks memory on each request start with a pure comparison.
//!
//! Memory model: `use = base + perRequest × in-flight`; the kernel OOM
//! killer fires when a cgroup's usage passes its `memory.max`, which is the
//! container's memory limit (Kubernetes docs, "Assign Memory Resources to
//! Containers": a container that exceeds its limit is terminated, reason
//! OOMKilled). Crashes of one replica are a Poisson process: the time to the
//! next is exponential with mean `1/rate`.

use rand::Rng;
use rand_distr::{Distribution, Exp};

use crate::time::{SimDuration, SimTime};

/// Memory use of a replica as a function of its in-flight requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryModel {
    /// Bytes used when idle.
    pub base: u64,
    /// Bytes per request in flight (queued requests held by the replica included).
    pub per_request: u64,
    /// The container's memory limit in bytes.
    pub limit: u64,
}

impl MemoryModel {
    /// Bytes in use with `in_flight` requests.
    pub fn usage(&self, in_flight: u32) -> u64 {
        self.base
            .saturating_add(self.per_request.saturating_mul(u64::from(in_flight)))
    }

    /// Whether a replica with `in_flight` requests is over its limit (killed).
    pub fn oom(&self, in_flight: u32) -> bool {
        self.usage(in_flight) > self.limit
    }

    /// The most requests in flight that stay within the limit (`u32::MAX`
    /// when requests use no memory; `None` when even idle is over).
    pub fn max_in_flight(&self) -> Option<u32> {
        if self.base > self.limit {
            return None;
        }
        if self.per_request == 0 {
            return Some(u32::MAX);
        }
        Some(((self.limit - self.base) / self.per_request).min(u64::from(u32::MAX)) as u32)
    }
}

/// When a replica started at `started` crashes next, for a Poisson crash
/// process of `rate` per second (None when the rate is not positive).
pub fn next_container_crash<R: Rng + ?Sized>(
    rate: f64,
    started: SimTime,
    rng: &mut R,
) -> Option<SimTime> {
    let exp = Exp::new(rate)
        .ok()
        .filter(|_| rate > 0.0 && rate.is_finite())?;
    Some(started + SimDuration(SimDuration::from_secs_f64(exp.sample(rng)).0.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    #[test]
    fn oom_threshold() {
        // base 100Mi, 10Mi per request, limit 256Mi: (256-100)/10 = 15.6 → 15 fit.
        let m = MemoryModel {
            base: 100 << 20,
            per_request: 10 << 20,
            limit: 256 << 20,
        };
        let cases = [(0, false), (15, false), (16, true)];
        for (in_flight, killed) in cases {
            assert_eq!(m.oom(in_flight), killed, "{in_flight} in flight");
        }
        assert_eq!(m.max_in_flight(), Some(15));
        assert_eq!(m.usage(16), (100 + 160) << 20);
        let over = MemoryModel {
            base: 300 << 20,
            ..m
        };
        assert_eq!(over.max_in_flight(), None);
    }

    #[test]
    fn crash_times_have_the_stated_mean() {
        // rate 0.01/s → mean 100 s after the start; 20k draws, s.e. 0.7 s.
        let mut rng = stream(3, "failures/container/web");
        let n = 20_000;
        let start = SimTime(5_000_000_000);
        let sum: f64 = (0..n)
            .map(|_| (next_container_crash(0.01, start, &mut rng).unwrap() - start).as_secs_f64())
            .sum();
        let mean = sum / f64::from(n);
        assert!((mean - 100.0).abs() < 3.0, "mean {mean}");
        assert_eq!(next_container_crash(0.0, start, &mut rng), None);
    }
}
