//! Driving one service's rollout from a world: the part of the glue between
//! a world (the simulator, the live backend) and the rollout controllers
//! that does not depend on the world.
//!
//! Key decision: a world keeps one [`Driver`] per service with a
//! `[services.NAME.rollout]` and owns only what is its own — which pods
//! exist (it passes them as [`PodView`]s), how a pod is created, drained
//! and deleted, and how a request is routed. The driver holds the
//! controller's objects (Deployment and ReplicaSets, canary or blue/green
//! status), turns each sync's answer into pods wanted per template
//! ([`Driver::want`]) and a traffic weight ([`Driver::weight`]), counts the
//! new revision's requests for analysis ([`Window`]) and writes the
//! `events.csv` rows both worlds share (`rollout-start`, `rollout-scale`,
//! `rollout-analysis`, `rollout-pause`, `rollout-promote`, `rollout-abort`,
//! `rollout-done`). The world's loop is:
//!
//! ```text
//! if !driver.started() { rows.push(driver.start(base, &pods, now)) }
//! loop { let (changed, wake) = driver.sync_once(&pods, now, &mut rows);
//!        if !changed { schedule(wake); break } scale pods to driver.want }
//! if let Some(row) = driver.check_done(&pods, now) { rows.push(row) }
//! ```
//!
//! Templates: 0 is the scenario's, [`NEW`] is `newRevision`.

use super::analysis::{self, AnalysisRun};
use super::bluegreen::{self, BlueGreenStatus};
use super::canary::{self, CanaryObserved, CanaryStatus};
use super::deployment::{self, Deployment, DeploymentAction, PodView};
use super::{Phase, RevisionMetrics, RolloutSpec, RolloutStrategy, Split, TemplateId};
use crate::health::backoff::CrashLoopBackOff;
use crate::results::{RequestCounts, RolloutSummary};
use crate::time::{SimDuration, SimTime};

/// The template id of `newRevision`.
pub const NEW: TemplateId = 1;

/// An `events.csv` row: kind and detail (the subject is the service).
pub type Row = (&'static str, String);

/// A controller's own state (its API objects).
#[derive(Clone, Debug)]
enum Ctl {
    Deployment(Deployment),
    Canary(CanaryStatus),
    BlueGreen(BlueGreenStatus),
}

/// The new revision's requests over the current analysis window.
#[derive(Clone, Debug, Default)]
pub struct Window {
    requests: u64,
    errors: u64,
    /// Latencies (ns) of its successful requests, for the p99.
    latencies: Vec<u64>,
}

impl Window {
    /// One request of the new revision ended: served (`ok`, after `latency_ns`) or failed.
    pub fn record(&mut self, latency_ns: u64, ok: bool) {
        self.requests += 1;
        if ok {
            self.latencies.push(latency_ns);
        } else {
            self.errors += 1;
        }
    }

    /// The window's metrics: counts and the nearest-rank p99.
    pub fn metrics(&mut self) -> RevisionMetrics {
        let p99 = (!self.latencies.is_empty()).then(|| {
            self.latencies.sort_unstable();
            // Nearest rank: the ceil(0.99 n)-th smallest.
            let rank = (self.latencies.len() * 99).div_ceil(100).max(1);
            SimDuration(self.latencies[rank - 1])
        });
        RevisionMetrics {
            requests: self.requests,
            errors: self.errors,
            p99,
        }
    }
}

/// One service's rollout as a world drives it.
#[derive(Clone, Debug)]
pub struct Driver {
    /// The scenario's rollout.
    pub spec: RolloutSpec,
    ctl: Option<Ctl>,
    /// The service's replicas the controller rolls (its desired count at `at`).
    pub base: u32,
    /// Pods wanted per template.
    pub want: [u32; 2],
    /// The template of pods the replica controller creates (the winner,
    /// once the rollout is done).
    pub current: TemplateId,
    /// Percent of requests routed to the new revision (canary, blue/green).
    pub weight: u8,
    /// The new revision's requests since the last analysis.
    pub window: Window,
    phase: Phase,
    /// When it started.
    pub started_at: Option<SimTime>,
    /// When the losing revision's last pod went.
    pub finished_at: Option<SimTime>,
    /// `in-progress`, `complete`, `rolled-back` or `aborted`.
    pub outcome: &'static str,
    /// Rollbacks and aborts.
    pub rollbacks: u64,
    /// Highest weight routed to the new revision.
    pub max_weight: u8,
}

impl Driver {
    /// The rollout `spec` of a service that runs `replicas` before it starts.
    pub fn new(spec: RolloutSpec, replicas: u32) -> Driver {
        Driver {
            spec,
            ctl: None,
            base: replicas,
            want: [replicas, 0],
            current: 0,
            weight: 0,
            window: Window::default(),
            phase: Phase::Progressing,
            started_at: None,
            finished_at: None,
            outcome: "in-progress",
            rollbacks: 0,
            max_weight: 0,
        }
    }

    /// Canary and blue/green route by weight to a second endpoint list; a
    /// Deployment routes to both templates through the service's one list.
    pub fn split(&self) -> bool {
        !matches!(self.spec.strategy, RolloutStrategy::Deployment(_))
    }

    /// Whether it has started.
    pub fn started(&self) -> bool {
        self.ctl.is_some()
    }

    /// Started and not finished.
    pub fn active(&self) -> bool {
        self.ctl.is_some() && self.finished_at.is_none()
    }

    /// `rollingUpdate`, `recreate`, `canary` or `blueGreen`.
    pub fn strategy_name(&self) -> &'static str {
        match &self.spec.strategy {
            RolloutStrategy::Deployment(c) => match c.strategy {
                deployment::Strategy::RollingUpdate { .. } => "rollingUpdate",
                deployment::Strategy::Recreate => "recreate",
            },
            RolloutStrategy::Canary(_) => "canary",
            RolloutStrategy::BlueGreen(_) => "blueGreen",
        }
    }

    /// Starts the rollout at `now` over the service's `base` replicas (all
    /// of template 0, seen as `pods`): the `rollout-start` row.
    pub fn start(&mut self, base: u32, pods: &[PodView], now: SimTime) -> Row {
        self.base = base;
        self.started_at = Some(now);
        self.ctl = Some(match &self.spec.strategy {
            RolloutStrategy::Deployment(c) => {
                // Adopt the running pods as revision 1, then roll to the new template.
                let mut d = Deployment::new(c.clone(), base, 0, now);
                deployment::sync(&mut d, pods, now);
                d.set_template(NEW, now);
                Ctl::Deployment(d)
            }
            RolloutStrategy::Canary(_) => Ctl::Canary(canary::start(now)),
            RolloutStrategy::BlueGreen(_) => Ctl::BlueGreen(bluegreen::start()),
        });
        (
            "rollout-start",
            format!("strategy={} replicas={base}", self.strategy_name()),
        )
    }

    /// One controller sync over the service's non-terminating `pods`:
    /// (pods wanted changed, wake at). Rows go to `rows`; when the counts
    /// changed the world scales to [`Driver::want`] and calls again.
    pub fn sync_once(
        &mut self,
        pods: &[PodView],
        now: SimTime,
        rows: &mut Vec<Row>,
    ) -> (bool, Option<SimTime>) {
        let available = pods
            .iter()
            .filter(|p| p.template == NEW && p.ready_since.is_some())
            .count() as u32;
        let before = self.want;
        let mut events: Vec<Row> = Vec::new();
        let wake = match (self.ctl.as_mut().expect("started"), &self.spec.strategy) {
            (Ctl::Deployment(d), _) => {
                d.replicas = self.base;
                let out = deployment::sync(d, pods, now);
                for a in &out.actions {
                    if let DeploymentAction::Scale { template, replicas } = *a {
                        self.want[template as usize] = replicas;
                    }
                }
                if let Some(t) = out.rolled_back_to {
                    self.rollbacks += 1;
                    self.outcome = "rolled-back";
                    events.push((
                        "rollout-abort",
                        format!("reason=ProgressDeadlineExceeded rollback-to=template{t}"),
                    ));
                }
                out.wake_at
            }
            (Ctl::Canary(st), RolloutStrategy::Canary(spec)) => {
                let due = analysis_due(&[st.background.as_ref(), st.inline.as_ref()], now);
                let started = (st.background.is_some(), st.inline.is_some());
                let m = self.window.metrics();
                let obs = CanaryObserved {
                    canary_available: available,
                    canary_metrics: m,
                };
                let split = canary::sync(spec, self.base, st, &obs, now);
                let new_run =
                    (!started.0 && st.background.is_some()) || (!started.1 && st.inline.is_some());
                if due && let Some(a) = &spec.analysis {
                    events.push(("rollout-analysis", verdict(a, &m)));
                }
                if due || new_run {
                    self.window = Window::default();
                }
                self.apply_split(&split, &mut events)
            }
            (Ctl::BlueGreen(st), RolloutStrategy::BlueGreen(spec)) => {
                let due = analysis_due(&[st.analysis.as_ref()], now);
                let started = st.analysis.is_some();
                let m = self.window.metrics();
                let switched = st.switched_at.is_some();
                let split = bluegreen::sync(spec, self.base, st, available, &m, now);
                if due {
                    let a = if switched {
                        &spec.post_promotion_analysis
                    } else {
                        &spec.pre_promotion_analysis
                    };
                    if let Some(a) = a {
                        events.push(("rollout-analysis", verdict(a, &m)));
                    }
                }
                if due || (!started && st.analysis.is_some()) {
                    self.window = Window::default();
                }
                self.apply_split(&split, &mut events)
            }
            _ => unreachable!("controller matches its strategy"),
        };
        let after = self.want;
        for t in 0..2 {
            if before[t] != after[t] {
                events.push((
                    "rollout-scale",
                    format!("template={t} from={} to={}", before[t], after[t]),
                ));
            }
        }
        rows.extend(events);
        (before != after, wake)
    }

    /// Marks the rollout done once the losing revision has no pods left:
    /// the `rollout-done` row.
    pub fn check_done(&mut self, pods: &[PodView], now: SimTime) -> Option<Row> {
        let (done, outcome) = match self.ctl.as_ref()? {
            Ctl::Deployment(d) => {
                let t = d.template;
                let done = d.complete() && pods.iter().all(|p| p.template == t);
                (done, if t == NEW { "complete" } else { "rolled-back" })
            }
            Ctl::Canary(_) | Ctl::BlueGreen(_) => match self.phase {
                Phase::Healthy => (pods.iter().all(|p| p.template == NEW), "complete"),
                Phase::Aborted => (
                    self.want[NEW as usize] == 0 && pods.iter().all(|p| p.template != NEW),
                    "aborted",
                ),
                _ => (false, ""),
            },
        };
        if !done || self.finished_at.is_some() {
            return None;
        }
        self.current = if outcome == "complete" { NEW } else { 0 };
        self.finished_at = Some(now);
        self.outcome = outcome;
        let took = now - self.started_at.expect("started");
        Some((
            "rollout-done",
            format!("outcome={outcome} duration_s={}", took.as_secs_f64()),
        ))
    }

    /// Takes a canary or blue/green answer: counts, weight, phase events.
    fn apply_split(&mut self, split: &Split, events: &mut Vec<Row>) -> Option<SimTime> {
        self.want = [split.stable_replicas, split.canary_replicas];
        if split.canary_weight != self.weight {
            events.push((
                "rollout-scale",
                format!("weight from={} to={}", self.weight, split.canary_weight),
            ));
            self.weight = split.canary_weight;
            self.max_weight = self.max_weight.max(self.weight);
        }
        if split.phase != self.phase {
            match split.phase {
                Phase::Healthy => events.push(("rollout-promote", "weight=100".to_string())),
                Phase::Aborted => {
                    self.rollbacks += 1;
                    events.push(("rollout-abort", "reason=analysis weight=0".to_string()));
                }
                Phase::Paused => events.push(("rollout-pause", String::new())),
                Phase::Progressing => {}
            }
            self.phase = split.phase;
        }
        split.wake_at
    }

    /// The summary at `end`, given the service's request counts when it
    /// started (`a`) and when it finished or now (`b`), and the restarts of
    /// its crash-looping pods (`crash_loops` pods, `restarts` restarts).
    pub fn summary(
        &self,
        a: RequestCounts,
        b: RequestCounts,
        end: SimTime,
        crash_loops: u64,
        restarts: u64,
    ) -> Option<RolloutSummary> {
        let start = self.started_at?;
        let until = self.finished_at.unwrap_or(end);
        let ok = b.ok - a.ok;
        let failed =
            (b.failed - a.failed) + (b.rejected - a.rejected) + (b.timed_out - a.timed_out);
        // Outcomes while it ran (a request that arrived before and ended
        // during it counts: availability is what users saw meanwhile).
        let total = ok + failed;
        Some(RolloutSummary {
            strategy: self.strategy_name().to_string(),
            outcome: self.outcome.to_string(),
            started_s: start.as_secs_f64(),
            duration_s: (until - start).as_secs_f64(),
            finished: self.finished_at.is_some(),
            rollbacks: self.rollbacks,
            max_weight: self.max_weight,
            crash_loops,
            restarts,
            requests: total,
            ok,
            failed,
            availability: if total > 0 {
                ok as f64 / total as f64
            } else {
                1.0
            },
        })
    }
}

/// Restarts of a container that exits as it starts, first at `first`,
/// before `until`: the kubelet's CrashLoopBackOff (10 s doubling to 5 min)
/// from the core's `CrashLoopBackOff`.
pub fn restarts(first: SimTime, until: SimTime) -> u64 {
    let mut b = CrashLoopBackOff::new();
    let mut exit = first;
    let mut n = 0;
    loop {
        let restart = b.on_exit(exit);
        if restart >= until {
            return n;
        }
        n += 1;
        exit = restart;
    }
}

/// Whether some analysis run measures at `now`.
fn analysis_due(runs: &[Option<&AnalysisRun>], now: SimTime) -> bool {
    runs.iter().flatten().any(|r| now >= r.next_at)
}

/// A `rollout-analysis` row's detail.
fn verdict(a: &analysis::AnalysisSpec, m: &RevisionMetrics) -> String {
    let p99 = m
        .p99
        .map_or("-".to_string(), |p| p.as_secs_f64().to_string());
    format!(
        "result={:?} requests={} errors={} p99_s={p99}",
        analysis::measure(a, m),
        m.requests,
        m.errors
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollout::NewRevision;
    use crate::rollout::deployment::DeploymentConfig;

    fn pods(old: u32, new: u32, now: SimTime) -> Vec<PodView> {
        let p = |template| PodView {
            template,
            ready_since: Some(now),
        };
        (0..old)
            .map(|_| p(0))
            .chain((0..new).map(|_| p(NEW)))
            .collect()
    }

    #[test]
    fn a_rolling_update_driven_to_the_end_reports_complete() {
        // 4 replicas, 25%/25%: surge ceil(1) = 1, unavailable floor(1) = 1.
        let spec = RolloutSpec {
            at: SimDuration::ZERO,
            strategy: RolloutStrategy::Deployment(DeploymentConfig::default()),
            new_revision: NewRevision::default(),
        };
        let mut d = Driver::new(spec, 4);
        let t = SimTime::ZERO;
        let mut rows = vec![d.start(4, &pods(4, 0, t), t)];
        // A world where every wanted pod is ready at once.
        let mut have = [4, 0];
        for _ in 0..32 {
            let (changed, _) = d.sync_once(&pods(have[0], have[1], t), t, &mut rows);
            if !changed {
                break;
            }
            // Never more than 4 + 1 pods, never fewer than 4 - 1 available.
            assert!(d.want[0] + d.want[1] <= 5, "{:?}", d.want);
            have = d.want;
        }
        assert_eq!(have, [0, 4]);
        let done = d.check_done(&pods(0, 4, t), t).expect("done");
        assert_eq!(done.0, "rollout-done");
        assert_eq!((d.outcome, d.current), ("complete", NEW));
        assert_eq!(rows[0].1, "strategy=rollingUpdate replicas=4");
        // Steps: new 0→1, old 4→3, new 1→2, ... each a rollout-scale row.
        assert!(rows.iter().filter(|r| r.0 == "rollout-scale").count() >= 2);
        // Done once only.
        assert_eq!(d.check_done(&pods(0, 4, t), t), None);
    }
}
