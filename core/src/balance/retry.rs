//! Retry budgets: how many retries a client may add on top of its requests.
//!
//! Key decision: a time-windowed token budget, as Finagle's `RetryBudget`
//! and Linkerd's service-profile `retryBudget` define it (`retryRatio` 0.2,
//! `minRetriesPerSecond` 10, `ttl` 10 s): over the last `ttl`, retries may
//! be at most `ratio` × requests plus `min_per_sec` × `ttl`. It needs no
//! per-request state (unlike Envoy's concurrency budget, which must know
//! which in-flight requests are retries), so a simulator can keep one per
//! balancer client at O(1) per request. The window slides in ten slices of
//! `ttl / 10`, like Finagle's `WindowedAdder`.

use crate::time::{SimDuration, SimTime};

/// Slices per window.
const SLICES: usize = 10;

/// The configured budget.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryBudgetSpec {
    /// Retries allowed per request over the window (Linkerd `retryRatio`, default 0.2).
    pub ratio: f64,
    /// Retries always allowed per second (Linkerd `minRetriesPerSecond`, default 10).
    pub min_per_sec: f64,
    /// Length of the window (Linkerd `ttl`, default 10 s).
    pub ttl: SimDuration,
}

impl Default for RetryBudgetSpec {
    fn default() -> Self {
        RetryBudgetSpec {
            ratio: 0.2,
            min_per_sec: 10.0,
            ttl: SimDuration::from_secs(10),
        }
    }
}

/// A retry budget's running state.
#[derive(Clone, Debug)]
pub struct RetryBudget {
    spec: RetryBudgetSpec,
    slice_ns: u64,
    /// Slice index (time / slice) of `requests[cursor]`.
    current: u64,
    cursor: usize,
    requests: [u64; SLICES],
    retries: [u64; SLICES],
    /// Sums over the window.
    total_requests: u64,
    total_retries: u64,
}

impl RetryBudget {
    /// An empty budget.
    pub fn new(spec: RetryBudgetSpec) -> Self {
        RetryBudget {
            spec,
            slice_ns: (spec.ttl.0 / SLICES as u64).max(1),
            current: 0,
            cursor: 0,
            requests: [0; SLICES],
            retries: [0; SLICES],
            total_requests: 0,
            total_retries: 0,
        }
    }

    /// Drops the slices that left the window at `now`.
    fn advance(&mut self, now: SimTime) {
        let slice = now.0 / self.slice_ns;
        if slice <= self.current {
            return;
        }
        let steps = (slice - self.current).min(SLICES as u64);
        for _ in 0..steps {
            self.cursor = (self.cursor + 1) % SLICES;
            self.total_requests -= self.requests[self.cursor];
            self.total_retries -= self.retries[self.cursor];
            self.requests[self.cursor] = 0;
            self.retries[self.cursor] = 0;
        }
        self.current = slice;
    }

    /// A first attempt was sent at `now`: it earns `ratio` of a retry.
    #[inline]
    pub fn deposit(&mut self, now: SimTime) {
        self.advance(now);
        self.requests[self.cursor] += 1;
        self.total_requests += 1;
    }

    /// Asks for one retry at `now`; true (and counted) when the budget has room.
    pub fn try_withdraw(&mut self, now: SimTime) -> bool {
        self.advance(now);
        let allowance = self.spec.ratio * self.total_requests as f64
            + self.spec.min_per_sec * self.spec.ttl.as_secs_f64();
        if (self.total_retries + 1) as f64 <= allowance {
            self.retries[self.cursor] += 1;
            self.total_retries += 1;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_ratio_of_requests_plus_the_floor() {
        // ratio 0.2, floor 1/s over a 10 s window: 100 requests at t = 0
        // allow 0.2·100 + 1·10 = 30 retries, the 31st is refused.
        let mut b = RetryBudget::new(RetryBudgetSpec {
            ratio: 0.2,
            min_per_sec: 1.0,
            ttl: SimDuration::from_secs(10),
        });
        let t = SimTime::ZERO;
        for _ in 0..100 {
            b.deposit(t);
        }
        let granted = (0..40).filter(|_| b.try_withdraw(t)).count();
        assert_eq!(granted, 30);
    }

    #[test]
    fn the_window_forgets_old_requests_and_retries() {
        // No floor: 50 requests at t = 0 earn 0.2·50 = 10 retries; all taken.
        // At t = 10.5 s the slice of t = 0 has left the 10 s window: nothing
        // earned, nothing allowed; 10 new requests earn 2 again.
        let mut b = RetryBudget::new(RetryBudgetSpec {
            ratio: 0.2,
            min_per_sec: 0.0,
            ttl: SimDuration::from_secs(10),
        });
        for _ in 0..50 {
            b.deposit(SimTime::ZERO);
        }
        assert_eq!(
            (0..20).filter(|_| b.try_withdraw(SimTime::ZERO)).count(),
            10
        );
        let later = SimTime(10_500_000_000);
        assert!(!b.try_withdraw(later));
        for _ in 0..10 {
            b.deposit(later);
        }
        assert_eq!((0..5).filter(|_| b.try_withdraw(later)).count(), 2);
    }
}
