//! Analysis of a revision's error rate and p99 latency against thresholds,
//! shared by the canary and blue/green controllers.
//!
//! Key decision: the world measures and the core judges. Every `interval` the
//! world hands in [`RevisionMetrics`] of the new revision over the interval
//! that just ended; [`measure`] turns them into one Argo Rollouts
//! measurement (`Successful`, `Failed`, or `Inconclusive` when fewer than
//! `minRequests` requests were seen), and [`AnalysisRun`] counts them like an
//! Argo `AnalysisRun`: it fails once failed measurements exceed
//! `failureLimit` (Argo's default 0: the first failure fails the run) and, for
//! a run with a `count`, succeeds after `count` conclusive measurements
//! (Argo docs, "Analysis & Progressive Delivery": `interval`, `count`,
//! `failureLimit`, `successCondition`, inconclusive results;
//! argoproj.github.io/argo-rollouts/features/analysis).

use crate::time::{SimDuration, SimTime};

/// Thresholds and cadence of an analysis (the `successCondition`s of an
/// Argo AnalysisTemplate reduced to the two metrics the worlds measure).
#[derive(Clone, Debug, PartialEq)]
pub struct AnalysisSpec {
    /// Time between measurements; also the window each measurement covers.
    pub interval: SimDuration,
    /// A measurement fails when errors / requests is above this.
    pub max_error_rate: Option<f64>,
    /// A measurement fails when the p99 latency is above this.
    pub max_p99: Option<SimDuration>,
    /// Fewer requests than this in a window make the measurement inconclusive.
    pub min_requests: u64,
    /// Failed measurements tolerated; one more fails the run (Argo default 0).
    pub failure_limit: u32,
    /// Conclusive measurements after which a blocking run succeeds (default 1).
    pub count: u32,
}

impl Default for AnalysisSpec {
    fn default() -> Self {
        AnalysisSpec {
            interval: SimDuration::from_secs(30),
            max_error_rate: None,
            max_p99: None,
            min_requests: 1,
            failure_limit: 0,
            count: 1,
        }
    }
}

/// What the world measured of one revision over the last interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RevisionMetrics {
    /// Requests that completed or failed in the window.
    pub requests: u64,
    /// Of those, the ones that failed (errors and timeouts).
    pub errors: u64,
    /// 99th percentile latency of the window's requests, if any completed.
    pub p99: Option<SimDuration>,
}

/// One measurement's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measurement {
    /// Every threshold met.
    Successful,
    /// A threshold exceeded.
    Failed,
    /// Too few requests to judge.
    Inconclusive,
}

/// Judges one window of metrics against `spec`.
pub fn measure(spec: &AnalysisSpec, m: &RevisionMetrics) -> Measurement {
    if m.requests == 0 || m.requests < spec.min_requests {
        return Measurement::Inconclusive;
    }
    let rate = m.errors as f64 / m.requests as f64;
    let bad_rate = spec.max_error_rate.is_some_and(|max| rate > max);
    let bad_p99 = matches!((spec.max_p99, m.p99), (Some(max), Some(p)) if p > max);
    if bad_rate || bad_p99 {
        Measurement::Failed
    } else {
        Measurement::Successful
    }
}

/// Outcome of an [`AnalysisRun`] so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    /// Still measuring.
    Running,
    /// `count` conclusive measurements without too many failures.
    Successful,
    /// More than `failureLimit` failed measurements.
    Failed,
}

/// A running analysis: when it measures next and what it has seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnalysisRun {
    /// When the next measurement is due.
    pub next_at: SimTime,
    /// Failed measurements so far.
    pub failures: u32,
    /// Successful measurements so far.
    pub successes: u32,
}

impl AnalysisRun {
    /// A run started at `now`: its first measurement covers `[now, now + interval)`.
    pub fn start(spec: &AnalysisSpec, now: SimTime) -> AnalysisRun {
        AnalysisRun {
            next_at: now + spec.interval,
            failures: 0,
            successes: 0,
        }
    }

    /// Takes the measurement if it is due at `now` (metrics cover the interval
    /// that just ended) and says where the run stands.
    pub fn step(&mut self, spec: &AnalysisSpec, now: SimTime, m: &RevisionMetrics) -> RunState {
        if now >= self.next_at {
            match measure(spec, m) {
                Measurement::Successful => self.successes += 1,
                Measurement::Failed => self.failures += 1,
                Measurement::Inconclusive => {}
            }
            self.next_at = now + spec.interval;
        }
        if self.failures > spec.failure_limit {
            RunState::Failed
        } else if self.successes + self.failures >= spec.count.max(1) {
            RunState::Successful
        } else {
            RunState::Running
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measurements_against_thresholds() {
        let spec = AnalysisSpec {
            max_error_rate: Some(0.05),
            max_p99: Some(SimDuration::from_millis(500)),
            min_requests: 20,
            ..AnalysisSpec::default()
        };
        let ms = SimDuration::from_millis;
        // (requests, errors, p99, verdict)
        let cases = [
            (100, 5, Some(ms(100)), Measurement::Successful), // 5/100 = 0.05, not above 0.05
            (100, 6, Some(ms(100)), Measurement::Failed),     // 0.06 > 0.05
            (100, 0, Some(ms(501)), Measurement::Failed),     // p99 501 ms > 500 ms
            (19, 19, Some(ms(900)), Measurement::Inconclusive), // 19 < minRequests 20
            (0, 0, None, Measurement::Inconclusive),
        ];
        for (requests, errors, p99, want) in cases {
            let m = RevisionMetrics {
                requests,
                errors,
                p99,
            };
            assert_eq!(measure(&spec, &m), want, "{m:?}");
        }
    }

    #[test]
    fn run_fails_after_failure_limit_and_succeeds_after_count() {
        let spec = AnalysisSpec {
            max_error_rate: Some(0.1),
            failure_limit: 1,
            count: 3,
            ..AnalysisSpec::default()
        };
        let bad = RevisionMetrics {
            requests: 10,
            errors: 5,
            p99: None,
        };
        let good = RevisionMetrics {
            requests: 10,
            errors: 0,
            p99: None,
        };
        let t = |s| SimTime(SimDuration::from_secs(s).0);
        let mut run = AnalysisRun::start(&spec, t(0));
        // Not due before 30 s: nothing counted.
        assert_eq!(run.step(&spec, t(10), &bad), RunState::Running);
        // 1 failure ≤ failureLimit 1: still running.
        assert_eq!(run.step(&spec, t(30), &bad), RunState::Running);
        assert_eq!(run.step(&spec, t(60), &good), RunState::Running);
        // 1 failure + 2 successes = count 3 conclusive: successful.
        assert_eq!(run.step(&spec, t(90), &good), RunState::Successful);
        let mut run = AnalysisRun::start(&spec, t(0));
        run.step(&spec, t(30), &bad);
        // 2 failures > failureLimit 1: failed.
        assert_eq!(run.step(&spec, t(60), &bad), RunState::Failed);
    }
}
