//! Batch jobs during a run: each job set's stream of arrivals, the
//! duration of each job pod not yet bound, and the counts of the summary.
//!
//! Key decision: a job's pods are ordinary pending replicas of the job's
//! shape (a service of kind `Job`), created and scheduled like any other
//! (`cluster/control.rs`); this file only keeps what is particular to jobs
//! — when the next one arrives, how long each pod runs once bound, and
//! which set a shape belongs to.

use std::collections::HashMap;

use orkestra_core::jobs::{Job, JobStream};
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
    pending_time: Durations,
}

/// Every job set of the run.
pub(super) struct Jobs<'a> {
    sets: Vec<JobRuntime<'a>>,
    /// Job set of each job shape (by service index; `None` for services).
    shape_set: Vec<Option<u32>>,
    /// Duration of each job pod not yet bound.
    duration: HashMap<u32, SimDuration>,
}

impl<'a> Jobs<'a> {
    pub(super) fn new(scenario: &'a Scenario) -> Jobs<'a> {
        let horizon = SimTime::ZERO + scenario.duration;
        let mut shape_set = vec![None; scenario.desired.services.len()];
        for (k, set) in scenario.jobs.iter().enumerate() {
            for shape in &set.shapes {
                shape_set[shape.0 as usize] = Some(k as u32);
            }
        }
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
                pending_time: Durations::default(),
            })
            .collect();
        Jobs {
            sets,
            shape_set,
            duration: HashMap::new(),
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

    /// Pod `r` of a job was created; it runs `duration` once bound.
    pub(super) fn pod_created(&mut self, r: u32, duration: SimDuration) {
        self.duration.insert(r, duration);
    }

    /// A job of set `k` with `count` pods arrived.
    pub(super) fn arrived(&mut self, k: usize, count: u32) {
        let rt = &mut self.sets[k];
        rt.jobs += 1;
        rt.pods += u64::from(count);
        rt.pending += u64::from(count);
    }

    /// Job pod `r` of shape `shape` was bound after `pending`: how long it runs.
    pub(super) fn bound(&mut self, shape: ServiceId, r: u32, pending: SimDuration) -> SimDuration {
        let set = &mut self.sets[self.shape_set[shape.0 as usize].expect("job shape") as usize];
        set.started += 1;
        set.pending -= 1;
        set.pending_time.record(pending);
        self.duration.remove(&r).expect("job pod duration")
    }

    /// A job pod of shape `shape` ran its duration.
    pub(super) fn completed(&mut self, shape: ServiceId) {
        let k = self.shape_set[shape.0 as usize].expect("job shape");
        self.sets[k as usize].completed += 1;
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
                running_at_end: rt.started - rt.completed,
                pending_at_end: rt.pending,
                pending_time_s: rt.pending_time.stats(),
                trace: set.trace.clone(),
            })
            .collect()
    }
}
