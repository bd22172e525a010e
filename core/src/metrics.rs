//! Request and replica metrics, recorded the same way by both worlds.
//!
//! Key decision: latency percentiles come from HDR histograms (3 significant
//! digits, i.e. within 0.1%), never from a sorted vector of every request, so
//! memory stays constant over millions of requests; means come from exact
//! integer sums, so closed-form checks are not blurred by bucketing.

use hdrhistogram::Histogram;

use crate::results::{LatencyStats, ReplicaStats, RequestCounts, ServiceSummary};
use crate::time::{SimDuration, SimTime};

/// A time-weighted integral of a piecewise-constant quantity.
#[derive(Clone, Debug, Default)]
pub struct Integral {
    value: f64,
    since: SimTime,
    area: f64,
    min: Option<f64>,
    max: f64,
}

impl Integral {
    /// The quantity changes to `value` at `now`.
    pub fn set(&mut self, now: SimTime, value: f64) {
        self.advance(now);
        self.value = value;
    }

    /// Accounts for the current value up to `now`. Extremes count only
    /// values held for a positive time, so a burst of changes at one instant
    /// (replicas starting one by one at time zero) does not show as a dip.
    fn advance(&mut self, now: SimTime) {
        let dt = now.saturating_since(self.since);
        if dt.0 > 0 {
            self.area += self.value * dt.as_secs_f64();
            self.min = Some(self.min.map_or(self.value, |m| m.min(self.value)));
            self.max = self.max.max(self.value);
        }
        self.since = now;
    }

    /// Adds `x` value·seconds measured elsewhere (live mode adds busy time
    /// scraped from the workloads' counters).
    pub fn add_area(&mut self, x: f64) {
        self.area += x;
    }

    /// The current value.
    pub fn value(&self) -> f64 {
        self.value
    }

    /// ∫ value dt from zero to `now`, in value·seconds.
    pub fn area(&mut self, now: SimTime) -> f64 {
        self.advance(now);
        self.area
    }

    /// Smallest value held for a positive time (0 if none; call `area` first to include the present).
    pub fn min(&self) -> f64 {
        self.min.unwrap_or(0.0)
    }

    /// Largest value held for a positive time.
    pub fn max(&self) -> f64 {
        self.max
    }
}

/// Recorded durations: exact mean, HDR percentiles.
#[derive(Clone, Debug)]
pub struct Durations {
    hist: Histogram<u64>,
    sum_ns: u128,
}

impl Default for Durations {
    fn default() -> Self {
        Durations {
            hist: histogram(),
            sum_ns: 0,
        }
    }
}

impl Durations {
    /// Records one duration.
    pub fn record(&mut self, d: SimDuration) {
        let _ = self.hist.record(d.0);
        self.sum_ns += u128::from(d.0);
    }

    /// Mean, percentiles and maximum in seconds (zeros when empty).
    pub fn stats(&self) -> LatencyStats {
        duration_stats(&self.hist, self.sum_ns)
    }
}

/// Scheduling metrics of a whole cluster (capacity over time is
/// [`crate::capacity::Capacity`]'s business).
#[derive(Clone, Debug, Default)]
pub struct ClusterMetrics {
    pending: Durations,
    unschedulable: std::collections::BTreeMap<String, u64>,
    attempts: u64,
}

impl ClusterMetrics {
    /// A replica was bound after waiting `pending` since its creation.
    pub fn bound(&mut self, pending: SimDuration) {
        self.pending.record(pending);
    }

    /// A placement attempt failed.
    pub fn unschedulable(&mut self, why: &crate::fit::Unschedulable) {
        self.attempts += 1;
        for reason in why.reasons.keys() {
            *self.unschedulable.entry(reason.to_string()).or_default() += 1;
        }
    }

    /// Fills the scheduling fields of a cluster summary.
    pub fn fill(&self, c: &mut crate::results::ClusterSummary) {
        c.pending_time_s = self.pending.stats();
        c.unschedulable = self.unschedulable.clone();
        c.unschedulable_attempts = self.attempts;
    }
}

/// What happened in one sampling interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IntervalStats {
    /// Requests that arrived.
    pub arrivals: u64,
    /// Requests that finished successfully.
    pub completions: u64,
    /// Median latency of those, seconds (`None` without completions).
    pub p50_s: Option<f64>,
    /// 99th percentile latency, seconds.
    pub p99_s: Option<f64>,
}

/// Per-minute evaluation of a latency objective.
#[derive(Clone, Debug)]
pub struct SloTracker {
    latency_ns: u64,
    percentile: f64,
    minute_end: SimTime,
    hist: Histogram<u64>,
    failed_in_minute: u64,
    over: u64,
    total: u64,
    minutes: u64,
    violations: u64,
    first_violation: Option<SimTime>,
    recovered: Option<SimTime>,
}

/// Length of an SLO evaluation window.
pub const SLO_MINUTE: SimDuration = SimDuration::from_secs(60);

impl SloTracker {
    /// Tracks `percentile` of requests within `latency`.
    pub fn new(latency: SimDuration, percentile: f64) -> SloTracker {
        SloTracker {
            latency_ns: latency.0,
            percentile,
            minute_end: SimTime::ZERO + SLO_MINUTE,
            hist: histogram(),
            failed_in_minute: 0,
            over: 0,
            total: 0,
            minutes: 0,
            violations: 0,
            first_violation: None,
            recovered: None,
        }
    }

    fn ok(&mut self, latency: SimDuration) {
        self.total += 1;
        if latency.0 > self.latency_ns {
            self.over += 1;
        }
        let _ = self.hist.record(latency.0);
    }

    fn failed(&mut self) {
        self.total += 1;
        self.over += 1;
        self.failed_in_minute += 1;
    }

    /// Closes every whole minute that ended by `now`.
    pub fn roll(&mut self, now: SimTime) {
        while now >= self.minute_end {
            let start = SimTime(self.minute_end.0 - SLO_MINUTE.0);
            let n = self.hist.len() + self.failed_in_minute;
            let allowed = (1.0 - self.percentile / 100.0) * n as f64;
            let slow = !self.hist.is_empty()
                && self.hist.value_at_quantile(self.percentile / 100.0) > self.latency_ns;
            let violated = slow || self.failed_in_minute as f64 > allowed;
            self.minutes += 1;
            if violated {
                self.violations += 1;
                self.first_violation.get_or_insert(start);
            } else if self.first_violation.is_some() && self.recovered.is_none() {
                self.recovered = Some(start);
            }
            self.hist.reset();
            self.failed_in_minute = 0;
            self.minute_end += SLO_MINUTE;
        }
    }

    /// The results so far.
    pub fn summary(&self) -> crate::results::SloSummary {
        crate::results::SloSummary {
            latency_s: secs(self.latency_ns),
            percentile: self.percentile,
            minutes: self.minutes,
            violation_minutes: self.violations,
            over_target_fraction: if self.total > 0 {
                self.over as f64 / self.total as f64
            } else {
                0.0
            },
            first_violation_s: self.first_violation.map(|t| t.as_secs_f64()),
            recovery_s: match (self.first_violation, self.recovered) {
                (Some(a), Some(b)) => Some(b.saturating_since(a).as_secs_f64()),
                _ => None,
            },
        }
    }
}

/// Metrics of one service.
#[derive(Clone, Debug)]
pub struct ServiceMetrics {
    counts: RequestCounts,
    latency: Histogram<u64>,
    latency_sum_ns: u128,
    wait_sum_ns: u128,
    waits: u64,
    interval: Histogram<u64>,
    interval_arrivals: u64,
    /// Ready replicas over time.
    pub ready: Integral,
    /// Busy request slots over time (requests in service).
    pub busy: Integral,
    /// Ready × concurrency over time: the slots that could have been busy.
    pub slots: Integral,
    /// Replicas that became ready.
    pub started: u64,
    /// Latency objective, when declared.
    pub slo: Option<SloTracker>,
}

fn histogram() -> Histogram<u64> {
    Histogram::new(3).expect("3 significant digits is valid")
}

fn secs(ns: u64) -> f64 {
    SimDuration(ns).as_secs_f64()
}

/// Mean (exact, from the ns sum) and percentiles (HDR) of recorded durations, in seconds.
fn duration_stats(h: &Histogram<u64>, sum_ns: u128) -> LatencyStats {
    let n = h.len();
    if n == 0 {
        return LatencyStats::default();
    }
    let q = |p: f64| secs(h.value_at_quantile(p));
    LatencyStats {
        mean: sum_ns as f64 / n as f64 / 1e9,
        p50: q(0.5),
        p90: q(0.9),
        p99: q(0.99),
        p999: q(0.999),
        max: secs(h.max()),
    }
}

impl Default for ServiceMetrics {
    fn default() -> Self {
        ServiceMetrics {
            counts: RequestCounts::default(),
            latency: histogram(),
            latency_sum_ns: 0,
            wait_sum_ns: 0,
            waits: 0,
            interval: histogram(),
            interval_arrivals: 0,
            ready: Integral::default(),
            busy: Integral::default(),
            slots: Integral::default(),
            started: 0,
            slo: None,
        }
    }
}

impl ServiceMetrics {
    /// A request arrived.
    #[inline]
    pub fn arrival(&mut self) {
        self.counts.total += 1;
        self.interval_arrivals += 1;
    }

    /// A request was turned away: its replica's queue was full, or there was
    /// no ready replica at all (`no_endpoint`).
    #[inline]
    pub fn rejected(&mut self, no_endpoint: bool) {
        if let Some(s) = &mut self.slo {
            s.failed();
        }
        self.counts.rejected += 1;
        if no_endpoint {
            self.counts.rejected_no_endpoint += 1;
        }
    }

    /// A request entered service after waiting `wait` in a queue.
    #[inline]
    pub fn started_service(&mut self, wait: SimDuration) {
        self.wait_sum_ns += u128::from(wait.0);
        self.waits += 1;
    }

    /// A request finished successfully after `latency` (arrival to completion).
    #[inline]
    pub fn ok(&mut self, latency: SimDuration) {
        self.counts.ok += 1;
        self.latency_sum_ns += u128::from(latency.0);
        let _ = self.latency.record(latency.0);
        let _ = self.interval.record(latency.0);
        if let Some(s) = &mut self.slo {
            s.ok(latency);
        }
    }

    /// A request passed its deadline (in a queue or in service).
    #[inline]
    pub fn timed_out(&mut self) {
        if let Some(s) = &mut self.slo {
            s.failed();
        }
        self.counts.timed_out += 1;
    }

    /// A request failed: its last attempt found its endpoint gone.
    #[inline]
    pub fn failed(&mut self) {
        if let Some(s) = &mut self.slo {
            s.failed();
        }
        self.counts.failed += 1;
    }

    /// A failed attempt is retried.
    #[inline]
    pub fn retried(&mut self) {
        self.counts.retries += 1;
    }

    /// Requests by outcome so far.
    pub fn counts(&self) -> crate::results::RequestCounts {
        self.counts
    }

    /// Requests finished successfully so far.
    pub fn ok_count(&self) -> u64 {
        self.counts.ok
    }

    /// Ends the current sampling interval and returns its statistics.
    pub fn take_interval(&mut self) -> IntervalStats {
        let n = self.interval.len();
        let stats = IntervalStats {
            arrivals: self.interval_arrivals,
            completions: n,
            p50_s: (n > 0).then(|| secs(self.interval.value_at_quantile(0.5))),
            p99_s: (n > 0).then(|| secs(self.interval.value_at_quantile(0.99))),
        };
        self.interval.reset();
        self.interval_arrivals = 0;
        stats
    }

    /// The service's summary at the end of a run.
    pub fn summary(&mut self, name: &str, desired: u32, now: SimTime) -> ServiceSummary {
        let latency = duration_stats(&self.latency, self.latency_sum_ns);
        let slot_seconds = self.slots.area(now);
        let replica_seconds = self.ready.area(now);
        ServiceSummary {
            name: name.to_string(),
            requests: self.counts,
            latency_s: latency,
            latency_quantiles_s: if self.latency.is_empty() {
                Vec::new()
            } else {
                crate::results::LATENCY_QUANTILES
                    .iter()
                    .map(|&q| secs(self.latency.value_at_quantile(q)))
                    .collect()
            },
            wait_mean_s: if self.waits > 0 {
                self.wait_sum_ns as f64 / self.waits as f64 / 1e9
            } else {
                0.0
            },
            utilisation: if slot_seconds > 0.0 {
                self.busy.area(now) / slot_seconds
            } else {
                0.0
            },
            replicas: ReplicaStats {
                desired,
                ready_min: self.ready.min() as u32,
                ready_max: self.ready.max() as u32,
                ready_mean: replica_seconds / now.as_secs_f64().max(f64::MIN_POSITIVE),
                replica_seconds,
                started: self.started,
            },
            autoscaling: None,
            ejections: 0,
            rollout: None,
            slo: self.slo.as_mut().map(|s| {
                s.roll(now);
                s.summary()
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integral_is_time_weighted() {
        let mut i = Integral::default();
        i.set(SimTime(0), 1.0); // replaced at the same instant: not an extreme
        i.set(SimTime(0), 2.0);
        i.set(SimTime(3_000_000_000), 4.0); // 2 × 3 s = 6
        // + 4 × 1 s = 10 value·s at t = 4 s.
        assert_eq!(i.area(SimTime(4_000_000_000)), 10.0);
        assert_eq!((i.min(), i.max()), (2.0, 4.0));
    }

    #[test]
    fn summary_means_are_exact_and_percentiles_within_a_tenth_of_a_percent() {
        let mut m = ServiceMetrics::default();
        for ms in 1..=1000u64 {
            m.arrival();
            m.ok(SimDuration::from_millis(ms));
        }
        m.arrival();
        m.rejected(false);
        let s = m.summary("web", 1, SimTime(1_000_000_000));
        // mean of 1..=1000 ms = 500.5 ms, exactly.
        assert_eq!(s.latency_s.mean, 0.5005);
        assert_eq!(s.requests.total, 1001);
        assert_eq!(s.requests.rejected, 1);
        // p99 of 1..=1000 ms is 990 ms; HDR keeps 3 significant digits.
        assert!(
            (s.latency_s.p99 - 0.990).abs() / 0.990 < 1e-3,
            "{}",
            s.latency_s.p99
        );
        assert!((s.latency_s.max - 1.0).abs() < 1e-3);
        // The CDF samples: quantile q of 1..=1000 ms is ceil(1000 q) ms (1 ms at q = 0), within
        // HDR's 3 significant digits: index 50 = p50 = 500 ms, 101 = p99.9 = 999 ms, 104 = max.
        let q = &s.latency_quantiles_s;
        assert_eq!(q.len(), crate::results::LATENCY_QUANTILES.len());
        for (i, want) in [(0, 0.001), (50, 0.5), (99, 0.99), (101, 0.999), (104, 1.0)] {
            assert!((q[i] - want).abs() / want < 1e-3, "q[{i}] = {}", q[i]);
        }
        assert!(q.windows(2).all(|w| w[0] <= w[1]), "non-decreasing");
        assert!(
            ServiceMetrics::default()
                .summary("idle", 1, SimTime(1))
                .latency_quantiles_s
                .is_empty()
        );
    }

    #[test]
    fn slo_minutes_and_recovery() {
        // Objective: p99 ≤ 100 ms. Minute 0: 100 requests at 50 ms → met. Minute 1: 100 at
        // 50 ms + 2 at 500 ms → p99 of 102 = the 101st value = 500 ms → violated. Minute 2:
        // 200 at 50 ms and 1 rejected: 1 failure ≤ 1% of 201 = 2.01 allowed, p99 50 ms → met.
        let mut m = ServiceMetrics {
            slo: Some(SloTracker::new(SimDuration::from_millis(100), 99.0)),
            ..Default::default()
        };
        let ms = SimDuration::from_millis;
        for _ in 0..100 {
            m.ok(ms(50));
        }
        m.slo.as_mut().unwrap().roll(SimTime(60_000_000_000));
        for _ in 0..100 {
            m.ok(ms(50));
        }
        m.ok(ms(500));
        m.ok(ms(500));
        m.slo.as_mut().unwrap().roll(SimTime(120_000_000_000));
        for _ in 0..200 {
            m.ok(ms(50));
        }
        m.rejected(false);
        let s = m.summary("web", 1, SimTime(180_000_000_000));
        let slo = s.slo.unwrap();
        assert_eq!((slo.minutes, slo.violation_minutes), (3, 1));
        // Over target: 2 slow + 1 rejected of 403.
        assert!((slo.over_target_fraction - 3.0 / 403.0).abs() < 1e-12);
        assert_eq!(slo.first_violation_s, Some(60.0));
        // Violation began at 60 s; the first good minute after it began at 120 s.
        assert_eq!(slo.recovery_s, Some(60.0));
    }

    #[test]
    fn intervals_reset() {
        let mut m = ServiceMetrics::default();
        m.arrival();
        m.ok(SimDuration::from_millis(5));
        let a = m.take_interval();
        assert_eq!((a.arrivals, a.completions), (1, 1));
        assert!((a.p50_s.unwrap() - 0.005).abs() < 1e-5);
        let b = m.take_interval();
        assert_eq!((b.arrivals, b.completions, b.p50_s), (0, 0, None));
    }
}
