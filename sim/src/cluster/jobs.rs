//! Batch jobs during a run: each job set's stream of arrivals, each job's
//! pods and failures, and the counts of the summary.
//!
//! Key decision: a job's pods are ordinary pending replicas of the job's
//! shape (a service of kind `Job`), created and scheduled like any other
//! (`cluster/control.rs`); this file only keeps what is particular to jobs
//! — when the next one arrives, how long each pod runs once bound, which
//! job a pod belongs to, and the Job controller's answer to a pod that
//! ends before its duration (deleted by a drain or a preemption, evicted
//! from a lost node): as Kubernetes' Job controller, a replacement after
//! the pod-failure back-off, until the job has failed more than its
//! `backoffLimit` and fails, its other pods deleted.

use std::collections::HashMap;

use orkestra_core::jobs::{Job, JobStream, pod_failure_backoff};
use orkestra_core::metrics::Durations;
use orkestra_core::model::ServiceId;
use orkestra_core::results::JobSetSummary;
use orkestra_core::scenario::Scenario;
use orkestra_core::time::{SimDuration, SimTime};

use super::Event;
use crate::engine::Engine;

/// A job set during the run.
struct JobRuntime<'a> {
    stream: JobStream,
    /// The next job, scheduled as a `JobArrival` event.
    next: Option<Job<'a>>,
    jobs: u64,
    pods: u64,
    started: u64,
    completed: u64,
    pending: u64,
    running: u64,
    disrupted: u64,
    replaced: u64,
    failed_jobs: u64,
    pending_time: Durations,
}

/// One job that arrived.
struct JobRecord {
    set: u32,
    shape: ServiceId,
    /// Each pod's duration once bound.
    duration: SimDuration,
    /// Its name for events.
    name: String,
    /// Pods that ended before their duration.
    failures: u32,
    /// More failures than `backoffLimit`: no more pods.
    failed: bool,
    /// Its pods not yet ended.
    active: Vec<u32>,
}

/// What the Job controller does about a pod that ended early.
pub(super) enum JobLoss {
    /// Nothing (not a job pod, or its job has failed already).
    None,
    /// Create a replacement for job `job` after `after`.
    Replace { job: u32, after: SimDuration },
    /// Job `job` failed (its failures passed `backoffLimit`): delete `others`.
    Failed {
        job: u32,
        failures: u32,
        others: Vec<u32>,
    },
}

/// Every job set of the run.
pub(super) struct Jobs<'a> {
    sets: Vec<JobRuntime<'a>>,
    /// Every job that arrived, in arrival order.
    records: Vec<JobRecord>,
    /// The job of each job pod not yet ended.
    pod_job: HashMap<u32, u32>,
}

impl<'a> Jobs<'a> {
    pub(super) fn new(scenario: &'a Scenario) -> Jobs<'a> {
        let horizon = SimTime::ZERO + scenario.duration;
        let sets = scenario
            .jobs
            .iter()
            .map(|set| JobRuntime {
                stream: JobStream::new(set, scenario.seed, horizon),
                next: None,
                jobs: 0,
                pods: 0,
                started: 0,
                completed: 0,
                pending: 0,
                running: 0,
                disrupted: 0,
                replaced: 0,
                failed_jobs: 0,
                pending_time: Durations::default(),
            })
            .collect();
        Jobs {
            sets,
            records: Vec::new(),
            pod_job: HashMap::new(),
        }
    }

    /// Job sets.
    pub(super) fn len(&self) -> usize {
        self.sets.len()
    }

    /// Schedules the next job of set `k`, if one arrives before the end.
    pub(super) fn schedule_next(
        &mut self,
        k: usize,
        scenario: &'a Scenario,
        engine: &mut Engine<Event>,
    ) {
        let rt = &mut self.sets[k];
        rt.next = rt.stream.next(&scenario.jobs[k]);
        if let Some(job) = &rt.next {
            let at = job.at.max(engine.now());
            engine.schedule(at, Event::JobArrival { set: k as u32 });
        }
    }

    /// The job of set `k` whose arrival is due.
    pub(super) fn take_next(&mut self, k: usize) -> Option<Job<'a>> {
        self.sets[k].next.take()
    }

    /// Job `job` of set `k` arrived: its record, before its pods.
    pub(super) fn arrived(&mut self, k: usize, job: &Job<'_>) -> u32 {
        let rt = &mut self.sets[k];
        rt.jobs += 1;
        self.records.push(JobRecord {
            set: k as u32,
            shape: job.shape,
            duration: job.duration,
            name: job.name.to_string(),
            failures: 0,
            failed: false,
            active: Vec::new(),
        });
        (self.records.len() - 1) as u32
    }

    /// The shape of job `j`'s pods and the job's name; `None` once the job
    /// has failed.
    pub(super) fn template(&self, j: u32) -> Option<(ServiceId, &str)> {
        let rec = &self.records[j as usize];
        (!rec.failed).then_some((rec.shape, rec.name.as_str()))
    }

    /// Pod `r` of job `j` was created (`replacement`: for one that ended early).
    pub(super) fn pod_created(&mut self, j: u32, r: u32, replacement: bool) {
        let rec = &mut self.records[j as usize];
        rec.active.push(r);
        let rt = &mut self.sets[rec.set as usize];
        rt.pods += 1;
        rt.pending += 1;
        if replacement {
            rt.replaced += 1;
        }
        self.pod_job.insert(r, j);
    }

    /// Whether replica `r` is a job pod that has not ended.
    pub(super) fn is_active(&self, r: u32) -> bool {
        self.pod_job.contains_key(&r)
    }

    /// Job pod `r` was bound after `pending`: how long it runs.
    pub(super) fn bound(&mut self, r: u32, pending: SimDuration) -> SimDuration {
        let rec = &self.records[self.pod_job[&r] as usize];
        let set = &mut self.sets[rec.set as usize];
        set.started += 1;
        set.pending -= 1;
        set.running += 1;
        set.pending_time.record(pending);
        rec.duration
    }

    /// Job pod `r` ran its duration.
    pub(super) fn completed(&mut self, r: u32) {
        let Some(j) = self.pod_job.remove(&r) else {
            return;
        };
        let rec = &mut self.records[j as usize];
        rec.active.retain(|&p| p != r);
        let set = &mut self.sets[rec.set as usize];
        set.completed += 1;
        set.running -= 1;
    }

    /// Job pod `r` ended before its duration (`bound`: after it was
    /// bound): the Job controller counts a failure against the job's
    /// `backoffLimit` (a disrupted pod is a failed one unless a
    /// podFailurePolicy says otherwise, which scenarios cannot) and
    /// replaces the pod after the back-off, or fails the job.
    pub(super) fn lost(&mut self, r: u32, bound: bool, scenario: &Scenario) -> JobLoss {
        let Some(j) = self.pod_job.remove(&r) else {
            return JobLoss::None;
        };
        let rec = &mut self.records[j as usize];
        rec.active.retain(|&p| p != r);
        let set = &mut self.sets[rec.set as usize];
        if bound {
            set.running -= 1;
        } else {
            set.pending -= 1;
        }
        set.disrupted += 1;
        if rec.failed {
            return JobLoss::None;
        }
        rec.failures += 1;
        if rec.failures > scenario.jobs[rec.set as usize].backoff_limit {
            rec.failed = true;
            set.failed_jobs += 1;
            return JobLoss::Failed {
                job: j,
                failures: rec.failures,
                others: rec.active.clone(),
            };
        }
        JobLoss::Replace {
            job: j,
            after: pod_failure_backoff(rec.failures),
        }
    }

    /// Job `j`'s name for events.
    pub(super) fn name(&self, j: u32) -> &str {
        &self.records[j as usize].name
    }

    /// The `jobs` section of the summary.
    pub(super) fn summary(&self, scenario: &Scenario) -> Vec<JobSetSummary> {
        scenario
            .jobs
            .iter()
            .zip(&self.sets)
            .map(|(set, rt)| JobSetSummary {
                name: set.name.clone(),
                source: set.source_name().to_string(),
                jobs: rt.jobs,
                pods: rt.pods,
                started: rt.started,
                completed: rt.completed,
                running_at_end: rt.running,
                pending_at_end: rt.pending,
                disrupted: rt.disrupted,
                replaced: rt.replaced,
                failed_jobs: rt.failed_jobs,
                pending_time_s: rt.pending_time.stats(),
                trace: set.trace.clone(),
            })
            .collect()
    }
}
