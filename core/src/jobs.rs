//! Batch jobs: sets of pods that arrive, run for a duration once bound, and
//! leave.
//!
//! Key decision: a job's pods are ordinary replicas of a *job shape* — a
//! [`ServiceSpec`](crate::model::ServiceSpec) of kind
//! [`ServiceKind::Job`](crate::model::ServiceKind::Job), one per distinct
//! (requests, priority) of a job set — so placement, the scheduling queue,
//! metrics and `sim place` treat them like any replica; a world keeps
//! nothing per pod but its duration until it is bound. A job's pods are
//! placed one by one (no gang scheduling), and each runs `duration` from
//! its own bind: time spent pending does not count. Arrivals are either a
//! list known when the scenario loads (inline, or read from a trace) or a
//! Poisson process drawn lazily from the run's `jobs/<set>` stream.

use std::borrow::Cow;

use crate::dist::DurationDist;
use crate::model::ServiceId;
use crate::results::TraceReport;
use crate::rng::{StreamRng, names, stream};
use crate::time::{SimDuration, SimTime};
use crate::traffic::{Arrivals, RateModel};

/// One job: `count` pods of one shape arriving together.
#[derive(Clone, Debug, PartialEq)]
pub struct JobArrival {
    /// When it arrives.
    pub at: SimTime,
    /// How long each of its pods runs once bound.
    pub duration: SimDuration,
    /// Its pods' shape.
    pub shape: ServiceId,
    /// Pods (≥ 1).
    pub count: u32,
    /// Its name in `events.csv` (`job=…` on each pod's `create` row): the
    /// trace's pod name, or `<set>-<index>`.
    pub name: String,
}

/// Where a job set's jobs come from.
#[derive(Clone, Debug)]
pub enum JobSource {
    /// Known arrivals in time order (ties in the order given): inline
    /// `arrivals` or a trace.
    List(Vec<JobArrival>),
    /// A Poisson process of `rate` jobs/s over the whole run.
    Poisson {
        /// Jobs per second.
        rate: f64,
        /// Duration of each job (drawn once per job).
        duration: DurationDist,
        /// The pods' shape.
        shape: ServiceId,
        /// Pods per job.
        count: u32,
    },
}

/// A `[jobs.NAME]` table, resolved.
#[derive(Clone, Debug)]
pub struct JobSet {
    /// Its name.
    pub name: String,
    /// Its arrivals.
    pub source: JobSource,
    /// Its shapes (indices into the desired state's services).
    pub shapes: Vec<ServiceId>,
    /// For a trace: what was read and skipped.
    pub trace: Option<TraceReport>,
    /// `spec.backoffLimit` of every job: pod failures (a disrupted pod is a
    /// failed one) a job survives; one more fails it (Kubernetes' default 6).
    pub backoff_limit: u32,
}

/// Kubernetes' default `spec.backoffLimit` (batch/v1 Job).
pub const DEFAULT_BACKOFF_LIMIT: u32 = 6;

/// The Job controller's delay before it replaces a job's `failures`-th
/// failed pod (`failures` ≥ 1): 10 s doubled per earlier failure, capped
/// at six minutes (Kubernetes documentation, Jobs, "Pod backoff failure
/// policy": "an exponential back-off delay (10s, 20s, 40s ...) capped at
/// six minutes").
pub fn pod_failure_backoff(failures: u32) -> SimDuration {
    let cap = SimDuration::from_secs(360);
    let exp = failures.saturating_sub(1).min(6);
    SimDuration::from_secs(10u64 << exp).min(cap)
}

impl JobSet {
    /// `arrivals`, `poisson` or `trace`.
    pub fn source_name(&self) -> &'static str {
        match (&self.source, &self.trace) {
            (JobSource::Poisson { .. }, _) => "poisson",
            (JobSource::List(_), Some(_)) => "trace",
            (JobSource::List(_), None) => "arrivals",
        }
    }
}

/// One job as it arrives.
#[derive(Clone, Debug, PartialEq)]
pub struct Job<'a> {
    /// When.
    pub at: SimTime,
    /// Each pod's duration once bound.
    pub duration: SimDuration,
    /// The pods' shape.
    pub shape: ServiceId,
    /// Pods.
    pub count: u32,
    /// Name for events.
    pub name: Cow<'a, str>,
}

/// The successive jobs of one set during one run.
#[derive(Clone, Debug)]
pub struct JobStream {
    next: u64,
    poisson: Option<(Arrivals, StreamRng, StreamRng)>,
    horizon: SimTime,
}

impl JobStream {
    /// The jobs of `set` arriving before `horizon` in the run with `seed`.
    /// A Poisson set draws arrival times from stream `jobs/<set>` and
    /// durations from `jobs/<set>/duration`.
    pub fn new(set: &JobSet, seed: u64, horizon: SimTime) -> JobStream {
        let poisson = match &set.source {
            JobSource::Poisson { rate, .. } => Some((
                Arrivals::new(RateModel::Constant(*rate), horizon),
                stream(seed, &format!("{}/{}", names::JOBS, set.name)),
                stream(seed, &format!("{}/{}/duration", names::JOBS, set.name)),
            )),
            JobSource::List(_) => None,
        };
        JobStream {
            next: 0,
            poisson,
            horizon,
        }
    }

    /// The next job, or `None` when no more arrive before the horizon.
    pub fn next<'a>(&mut self, set: &'a JobSet) -> Option<Job<'a>> {
        let i = self.next;
        self.next += 1;
        match (&set.source, &mut self.poisson) {
            (JobSource::List(list), _) => {
                let a = list.get(i as usize).filter(|a| a.at < self.horizon)?;
                Some(Job {
                    at: a.at,
                    duration: a.duration,
                    shape: a.shape,
                    count: a.count,
                    name: Cow::Borrowed(&a.name),
                })
            }
            (
                JobSource::Poisson {
                    duration,
                    shape,
                    count,
                    ..
                },
                Some((arrivals, times, durations)),
            ) => {
                let at = arrivals.next(times)?;
                Some(Job {
                    at,
                    duration: duration.sample(durations),
                    shape: *shape,
                    count: *count,
                    name: Cow::Owned(format!("{}-{i}", set.name)),
                })
            }
            (JobSource::Poisson { .. }, None) => unreachable!("built for this set"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_stop_at_the_horizon_and_poisson_sets_are_reproducible() {
        let arrival = |s: u64, name: &str| JobArrival {
            at: SimTime(s * 1_000_000_000),
            duration: SimDuration::from_secs(5),
            shape: ServiceId(0),
            count: 2,
            name: name.to_string(),
        };
        let set = JobSet {
            name: "b".into(),
            source: JobSource::List(vec![arrival(1, "x"), arrival(9, "y"), arrival(10, "z")]),
            shapes: vec![ServiceId(0)],
            trace: None,
            backoff_limit: DEFAULT_BACKOFF_LIMIT,
        };
        // Horizon 10 s: the arrival at exactly 10 s is not in the run.
        let mut s = JobStream::new(&set, 1, SimTime(10_000_000_000));
        assert_eq!(s.next(&set).unwrap().name, "x");
        assert_eq!(s.next(&set).unwrap().name, "y");
        assert_eq!(s.next(&set), None);
        let poisson = JobSet {
            name: "p".into(),
            source: JobSource::Poisson {
                rate: 2.0,
                duration: DurationDist::constant(SimDuration::from_secs(3)),
                shape: ServiceId(1),
                count: 1,
            },
            shapes: vec![ServiceId(1)],
            trace: None,
            backoff_limit: DEFAULT_BACKOFF_LIMIT,
        };
        let run = |seed| {
            let mut s = JobStream::new(&poisson, seed, SimTime(1_000_000_000_000));
            let mut v = Vec::new();
            while let Some(j) = s.next(&poisson) {
                v.push(j.at);
            }
            v
        };
        let a = run(1);
        assert_eq!(a, run(1));
        assert_ne!(a, run(2));
        // 2 jobs/s over 1000 s: 2000 expected, sd √2000 ≈ 45.
        assert!((a.len() as f64 - 2000.0).abs() < 5.0 * 45.0, "{}", a.len());
    }

    #[test]
    fn replacement_backoff_doubles_from_ten_seconds_to_six_minutes() {
        // The documented sequence 10s, 20s, 40s, … capped at 6 min:
        // 10·2⁵ = 320 s, then 640 s → 360 s.
        let secs: Vec<u64> = (1..=8)
            .map(|k| pod_failure_backoff(k).as_secs_f64() as u64)
            .collect();
        assert_eq!(secs, [10, 20, 40, 80, 160, 320, 360, 360]);
        assert_eq!(pod_failure_backoff(u32::MAX), SimDuration::from_secs(360));
    }
}
