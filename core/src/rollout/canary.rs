//! Argo Rollouts-style canary: `setWeight`, `pause` (timed or indefinite) and
//! `analysis` steps, background analysis of the canary's error rate and p99,
//! and automatic abort back to the stable revision.
//!
//! Key decision: the canary is Argo's canary *with traffic routing*: the
//! weight is the share of requests the balancer sends to the canary (see
//! [`Split::canary_weight`]), the stable revision keeps all its replicas, and
//! the canary runs `ceil(weight × replicas / 100)` of them (Argo's
//! `setCanaryScale` default "matchTrafficWeight"). A new weight is routed
//! only once that many canary pods are available, so traffic never goes to
//! pods that are not there. Analysis is checked before any step advances in
//! the same sync, so a failing measurement during step k's pause aborts the
//! rollout before the weight of step k+1 is ever routed.
//!
//! Sources: Argo Rollouts docs, "Canary" (steps, pause with and without
//! duration, promotion after the last step;
//! argoproj.github.io/argo-rollouts/features/canary), "Analysis &
//! Progressive Delivery" (background analysis started with the rollout,
//! inline `analysis` steps, abort on a failed run), "Scaledown New Replicaset
//! on Aborted Rollout" (`abortScaleDownDelaySeconds`, default 30 s, 0 keeps
//! the canary up), and `progressDeadlineAbort`.

use super::analysis::{AnalysisRun, AnalysisSpec, RevisionMetrics, RunState};
use super::{Phase, Split, earliest};
use crate::time::{SimDuration, SimTime};

/// One entry of `strategy.canary.steps`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CanaryStep {
    /// `setWeight: N` (percent, 0..=100).
    SetWeight(u8),
    /// `pause: {duration}`; `None` waits for [`promote`].
    Pause(Option<SimDuration>),
    /// `analysis`: block until one analysis run with the spec's thresholds
    /// succeeds (abort if it fails).
    Analysis,
}

/// `strategy.canary`.
#[derive(Clone, Debug, PartialEq)]
pub struct CanarySpec {
    /// The steps, in order.
    pub steps: Vec<CanaryStep>,
    /// Thresholds of inline analysis steps and of the background analysis,
    /// which runs from the first routed weight until promotion.
    pub analysis: Option<AnalysisSpec>,
    /// `abortScaleDownDelaySeconds` (default 30 s; `None`, written 0, keeps
    /// the canary's pods after an abort).
    pub abort_scale_down_delay: Option<SimDuration>,
    /// `progressDeadlineSeconds`: how long a step may wait for canary pods.
    pub progress_deadline: SimDuration,
    /// `progressDeadlineAbort`: abort when that deadline passes (default false).
    pub progress_deadline_abort: bool,
}

impl CanarySpec {
    /// A spec with these steps and Argo's defaults for the rest.
    pub fn new(steps: Vec<CanaryStep>) -> CanarySpec {
        CanarySpec {
            steps,
            analysis: None,
            abort_scale_down_delay: Some(SimDuration::from_secs(30)),
            progress_deadline: SimDuration::from_secs(600),
            progress_deadline_abort: false,
        }
    }
}

/// `Rollout.status` of a canary in progress; the world keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanaryStatus {
    /// `currentStepIndex`.
    pub step: usize,
    /// When the current step began.
    pub step_started: SimTime,
    /// The weight routed to the canary now.
    pub weight: u8,
    /// Canary pods wanted now.
    pub canary_replicas: u32,
    /// Where the rollout is.
    pub phase: Phase,
    /// The background analysis, once started.
    pub background: Option<AnalysisRun>,
    /// The run of the current `analysis` step.
    pub inline: Option<AnalysisRun>,
    /// When the rollout aborted.
    pub aborted_at: Option<SimTime>,
    /// An indefinite pause was promoted.
    promoted: bool,
}

/// What the world observes for a sync.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CanaryObserved {
    /// Available pods of the canary (new) revision.
    pub canary_available: u32,
    /// The canary's metrics over the analysis interval that ends now.
    pub canary_metrics: RevisionMetrics,
}

/// A canary introduced at `now`, at step 0 with weight 0.
pub fn start(now: SimTime) -> CanaryStatus {
    CanaryStatus {
        step: 0,
        step_started: now,
        weight: 0,
        canary_replicas: 0,
        phase: Phase::Progressing,
        background: None,
        inline: None,
        aborted_at: None,
        promoted: false,
    }
}

/// `kubectl argo rollouts promote`: end an indefinite pause.
pub fn promote(status: &mut CanaryStatus) {
    status.promoted = true;
}

/// `kubectl argo rollouts abort`, also taken on a failed analysis: all
/// traffic back to stable at once.
pub fn abort(status: &mut CanaryStatus, now: SimTime) {
    if status.phase != Phase::Aborted {
        status.phase = Phase::Aborted;
        status.weight = 0;
        status.aborted_at = Some(now);
        status.background = None;
        status.inline = None;
    }
}

/// Canary pods for `weight` percent of `replicas`: `ceil(weight × replicas / 100)`.
pub fn canary_replicas(weight: u8, replicas: u32) -> u32 {
    (u64::from(weight) * u64::from(replicas)).div_ceil(100) as u32
}

/// One sync of the canary controller at `now` for a service of `replicas`.
pub fn sync(
    spec: &CanarySpec,
    replicas: u32,
    st: &mut CanaryStatus,
    obs: &CanaryObserved,
    now: SimTime,
) -> Split {
    let mut wake = None;
    // Background analysis first: a failure aborts before any step advances.
    if st.phase != Phase::Aborted
        && st.phase != Phase::Healthy
        && let (Some(a), Some(run)) = (&spec.analysis, st.background.as_mut())
    {
        if run.step(a, now, &obs.canary_metrics) == RunState::Failed {
            abort(st, now);
        } else {
            wake = Some(run.next_at);
        }
    }
    if st.phase == Phase::Aborted {
        let aborted = st.aborted_at.unwrap_or(now);
        if let Some(delay) = spec.abort_scale_down_delay {
            if now >= aborted + delay {
                st.canary_replicas = 0;
            } else {
                wake = Some(aborted + delay);
            }
        }
        return split(replicas, st, wake);
    }
    while st.step < spec.steps.len() && st.phase != Phase::Aborted {
        match spec.steps[st.step] {
            CanaryStep::SetWeight(w) => {
                st.canary_replicas = canary_replicas(w, replicas);
                if obs.canary_available < st.canary_replicas {
                    if spec.progress_deadline_abort
                        && now >= st.step_started + spec.progress_deadline
                    {
                        abort(st, now);
                        return sync(spec, replicas, st, obs, now);
                    }
                    if spec.progress_deadline_abort {
                        wake = earliest(wake, Some(st.step_started + spec.progress_deadline));
                    }
                    break;
                }
                st.weight = w;
                if w > 0
                    && st.background.is_none()
                    && let Some(a) = &spec.analysis
                {
                    let run = AnalysisRun::start(a, now);
                    wake = earliest(wake, Some(run.next_at));
                    st.background = Some(run);
                }
            }
            CanaryStep::Pause(Some(d)) => {
                if now < st.step_started + d {
                    wake = earliest(wake, Some(st.step_started + d));
                    break;
                }
            }
            CanaryStep::Pause(None) => {
                if !st.promoted {
                    st.phase = Phase::Paused;
                    break;
                }
                st.promoted = false;
                st.phase = Phase::Progressing;
            }
            CanaryStep::Analysis => {
                let Some(a) = &spec.analysis else {
                    // Nothing to measure: the step passes (validation requires
                    // thresholds when a scenario has analysis steps).
                    st.step += 1;
                    continue;
                };
                let run = st.inline.get_or_insert_with(|| AnalysisRun::start(a, now));
                match run.step(a, now, &obs.canary_metrics) {
                    RunState::Failed => {
                        abort(st, now);
                        return sync(spec, replicas, st, obs, now);
                    }
                    RunState::Running => {
                        wake = earliest(wake, Some(run.next_at));
                        break;
                    }
                    RunState::Successful => st.inline = None,
                }
            }
        }
        st.step += 1;
        st.step_started = now;
    }
    if st.step >= spec.steps.len() {
        // Promotion: the canary is scaled to full size, takes all traffic
        // once available, and becomes the stable revision.
        st.canary_replicas = replicas;
        if obs.canary_available >= replicas {
            st.weight = 100;
            st.phase = Phase::Healthy;
            st.background = None;
            return split(0, st, None);
        }
    }
    split(replicas, st, wake)
}

fn split(stable: u32, st: &CanaryStatus, wake_at: Option<SimTime>) -> Split {
    Split {
        stable_replicas: stable,
        canary_replicas: st.canary_replicas,
        canary_weight: st.weight,
        phase: st.phase,
        wake_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> SimDuration {
        SimDuration::from_secs(secs)
    }

    /// Runs a canary of 10 replicas against a world that serves 100 requests/s
    /// in total, `weight`% of them by the canary, whose error rate and p99 at a
    /// given weight come from `canary`. Canary pods are available as soon as
    /// asked for. Returns the final status and the highest weight routed.
    fn run(spec: &CanarySpec, canary: impl Fn(u8) -> (f64, u64)) -> (CanaryStatus, u8, Split) {
        let mut st = start(SimTime::ZERO);
        let mut now = SimTime::ZERO;
        let mut max_weight = 0;
        let mut last_weight = 0u8;
        let mut since = SimTime::ZERO;
        let mut available = 0;
        for _ in 0..1000 {
            // Metrics of the canary since the last sync, at the weight routed then.
            let secs = (now - since).as_secs_f64();
            let requests = (100.0 * secs * f64::from(last_weight) / 100.0) as u64;
            let (rate, p99_ms) = canary(last_weight);
            let obs = CanaryObserved {
                canary_available: available,
                canary_metrics: RevisionMetrics {
                    requests,
                    errors: (requests as f64 * rate) as u64,
                    p99: Some(SimDuration::from_millis(p99_ms)),
                },
            };
            let out = sync(spec, 10, &mut st, &obs, now);
            max_weight = max_weight.max(out.canary_weight);
            (last_weight, since) = (out.canary_weight, now);
            if out.canary_replicas != available {
                // The world brings the canary to the asked size at once; sync again.
                available = out.canary_replicas;
                continue;
            }
            match out.wake_at {
                Some(t) if t > now => now = t,
                Some(_) => {}
                None => return (st, max_weight, out),
            }
        }
        panic!("canary never settled");
    }

    fn spec() -> CanarySpec {
        use CanaryStep::*;
        let mut spec = CanarySpec::new(vec![
            SetWeight(10),
            Pause(Some(s(60))),
            SetWeight(30),
            Pause(Some(s(60))),
            SetWeight(60),
            Pause(Some(s(60))),
        ]);
        spec.analysis = Some(AnalysisSpec {
            interval: s(30),
            max_error_rate: Some(0.05),
            max_p99: Some(SimDuration::from_millis(500)),
            min_requests: 50,
            ..AnalysisSpec::default()
        });
        spec
    }

    #[test]
    fn bad_canary_is_rolled_back_before_passing_the_failing_step() {
        // (name, canary error rate and p99 at a weight, step of the abort, max weight)
        type Behaviour = fn(u8) -> (f64, u64);
        let cases: [(&str, Behaviour, usize, u8); 4] = [
            // 20% errors from the start: the first measurement, 30 s into the
            // pause after setWeight 10 (300 requests, 60 errors > 5%), fails.
            ("errors", |_| (0.2, 100), 1, 10),
            // Slow from the start: p99 900 ms > 500 ms at the first measurement.
            ("slow", |_| (0.0, 900), 1, 10),
            // Breaks under load only: fine at 10%, 10% errors from weight 30, so
            // the pause after setWeight 30 (step 3) fails; 60 is never routed.
            (
                "overload",
                |w| (if w >= 30 { 0.1 } else { 0.0 }, 100),
                3,
                30,
            ),
            // Slow only at 60%: the last pause (step 5) fails.
            (
                "slow-at-60",
                |w| (0.0, if w >= 60 { 700 } else { 100 }),
                5,
                60,
            ),
        ];
        for (name, behaviour, step, max) in cases {
            let (st, max_weight, out) = run(&spec(), behaviour);
            assert_eq!(st.phase, Phase::Aborted, "{name}");
            assert_eq!(st.step, step, "{name}: aborted at step");
            assert_eq!(max_weight, max, "{name}: highest weight routed");
            // After abortScaleDownDelaySeconds: no canary traffic or pods, stable full.
            assert_eq!(
                (out.canary_weight, out.canary_replicas, out.stable_replicas),
                (0, 0, 10),
                "{name}"
            );
        }
    }

    #[test]
    fn good_canary_is_promoted() {
        let (st, max_weight, out) = run(&spec(), |_| (0.01, 100));
        assert_eq!(st.phase, Phase::Healthy);
        assert_eq!(max_weight, 100);
        assert_eq!((out.stable_replicas, out.canary_replicas), (0, 10));
    }

    #[test]
    fn canary_replicas_follow_the_weight_rounding_up() {
        // ceil(weight × replicas / 100)
        let cases = [
            (10, 10, 1),
            (15, 10, 2),
            (1, 5, 1),
            (0, 5, 0),
            (100, 7, 7),
            (33, 3, 1),
        ];
        for (w, r, want) in cases {
            assert_eq!(canary_replicas(w, r), want, "{w}% of {r}"); // e.g. 15% of 10 = 1.5 → 2
        }
    }

    #[test]
    fn indefinite_pause_waits_for_promotion() {
        let spec = CanarySpec::new(vec![CanaryStep::SetWeight(20), CanaryStep::Pause(None)]);
        let mut st = start(SimTime::ZERO);
        let obs = CanaryObserved {
            canary_available: 2, // ceil(20% of 10) = 2
            ..CanaryObserved::default()
        };
        let out = sync(&spec, 10, &mut st, &obs, SimTime::ZERO);
        assert_eq!(
            (out.phase, out.canary_weight, out.wake_at),
            (Phase::Paused, 20, None)
        );
        promote(&mut st);
        let obs = CanaryObserved {
            canary_available: 10,
            ..obs
        };
        let out = sync(&spec, 10, &mut st, &obs, SimTime(1));
        assert_eq!((out.phase, out.canary_weight), (Phase::Healthy, 100));
    }

    #[test]
    fn crashing_canary_aborts_at_the_progress_deadline() {
        let mut spec = CanarySpec::new(vec![CanaryStep::SetWeight(20)]);
        spec.progress_deadline = s(120);
        spec.progress_deadline_abort = true;
        let mut st = start(SimTime::ZERO);
        let none = CanaryObserved::default();
        let out = sync(&spec, 10, &mut st, &none, SimTime::ZERO);
        // Waiting for 2 canary pods that never come; weight stays 0.
        assert_eq!((out.canary_weight, out.canary_replicas), (0, 2));
        assert_eq!(out.wake_at, Some(SimTime(s(120).0)));
        let out = sync(&spec, 10, &mut st, &none, SimTime(s(120).0));
        assert_eq!(
            (out.phase, out.canary_weight, out.stable_replicas),
            (Phase::Aborted, 0, 10)
        );
    }
}
