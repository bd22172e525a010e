//! Blue/green: the new (green) revision comes up at full size beside the
//! old (blue) one, traffic switches at once, and blue goes after a delay.
//!
//! Key decision: traffic is all-or-nothing ([`Split::canary_weight`] is 0
//! before the switch and 100 after), and blue keeps its full size until
//! `scaleDownDelaySeconds` after the switch (and after a successful
//! post-promotion analysis), so an abort can switch back instantly to
//! pods that are still there. An abort never touches blue.
//!
//! Sources: Argo Rollouts docs, "BlueGreen Deployment Strategy"
//! (`autoPromotionEnabled`, `autoPromotionSeconds`, `scaleDownDelaySeconds`
//! default 30 s, `prePromotionAnalysis`, `postPromotionAnalysis`;
//! argoproj.github.io/argo-rollouts/features/bluegreen) and "Scaledown New
//! Replicaset on Aborted Rollout" (`abortScaleDownDelaySeconds`, default 30 s).

use super::analysis::{AnalysisRun, AnalysisSpec, RevisionMetrics, RunState};
use super::{Phase, Split, earliest};
use crate::time::{SimDuration, SimTime};

/// `strategy.blueGreen`.
#[derive(Clone, Debug, PartialEq)]
pub struct BlueGreenSpec {
    /// `autoPromotionEnabled` (default true); false waits for [`promote`].
    pub auto_promotion: bool,
    /// `autoPromotionSeconds`: promote this long after green is available.
    pub auto_promotion_after: SimDuration,
    /// `scaleDownDelaySeconds` (default 30 s).
    pub scale_down_delay: SimDuration,
    /// `abortScaleDownDelaySeconds` (default 30 s; `None` keeps green up).
    pub abort_scale_down_delay: Option<SimDuration>,
    /// Analysis of green before the switch (on whatever preview traffic
    /// the world sends it; with none every measurement is inconclusive).
    pub pre_promotion_analysis: Option<AnalysisSpec>,
    /// Analysis of green after the switch; a failure switches back to blue.
    pub post_promotion_analysis: Option<AnalysisSpec>,
}

impl Default for BlueGreenSpec {
    fn default() -> Self {
        BlueGreenSpec {
            auto_promotion: true,
            auto_promotion_after: SimDuration::ZERO,
            scale_down_delay: SimDuration::from_secs(30),
            abort_scale_down_delay: Some(SimDuration::from_secs(30)),
            pre_promotion_analysis: None,
            post_promotion_analysis: None,
        }
    }
}

/// Where the blue/green rollout is, beyond its [`Phase`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlueGreenStatus {
    /// Where the rollout is.
    pub phase: Phase,
    /// When green first had every pod available.
    pub green_available_at: Option<SimTime>,
    /// When traffic switched to green.
    pub switched_at: Option<SimTime>,
    /// When blue may go (switch + delay, after post-promotion analysis).
    pub blue_down_at: Option<SimTime>,
    /// The analysis running now (pre- or post-promotion).
    pub analysis: Option<AnalysisRun>,
    /// When the rollout aborted.
    pub aborted_at: Option<SimTime>,
    promoted: bool,
}

/// A blue/green rollout just introduced (green not yet created).
pub fn start() -> BlueGreenStatus {
    BlueGreenStatus {
        phase: Phase::Progressing,
        green_available_at: None,
        switched_at: None,
        blue_down_at: None,
        analysis: None,
        aborted_at: None,
        promoted: false,
    }
}

/// `kubectl argo rollouts promote` (needed when `autoPromotionEnabled` is false).
pub fn promote(st: &mut BlueGreenStatus) {
    st.promoted = true;
}

fn abort(st: &mut BlueGreenStatus, now: SimTime) {
    st.phase = Phase::Aborted;
    st.aborted_at = Some(now);
    st.analysis = None;
    st.switched_at = None;
}

/// One sync at `now`: `green_available` pods of green are available and
/// `green_metrics` cover the analysis interval that ends now.
pub fn sync(
    spec: &BlueGreenSpec,
    replicas: u32,
    st: &mut BlueGreenStatus,
    green_available: u32,
    green_metrics: &RevisionMetrics,
    now: SimTime,
) -> Split {
    let out = |stable, green, weight, st: &BlueGreenStatus, wake| Split {
        stable_replicas: stable,
        canary_replicas: green,
        canary_weight: weight,
        phase: st.phase,
        wake_at: wake,
    };
    if st.phase == Phase::Aborted {
        let at = st.aborted_at.unwrap_or(now);
        return match spec.abort_scale_down_delay {
            Some(d) if now >= at + d => out(replicas, 0, 0, st, None),
            Some(d) => out(replicas, replicas, 0, st, Some(at + d)),
            None => out(replicas, replicas, 0, st, None),
        };
    }
    if st.switched_at.is_none() {
        if green_available < replicas {
            return out(replicas, replicas, 0, st, None);
        }
        let ready_at = *st.green_available_at.get_or_insert(now);
        let mut wake = None;
        if let Some(a) = &spec.pre_promotion_analysis {
            let run = st
                .analysis
                .get_or_insert_with(|| AnalysisRun::start(a, ready_at));
            match run.step(a, now, green_metrics) {
                RunState::Failed => {
                    abort(st, now);
                    return sync(spec, replicas, st, green_available, green_metrics, now);
                }
                RunState::Running => {
                    let next = run.next_at;
                    return out(replicas, replicas, 0, st, Some(next));
                }
                RunState::Successful => {}
            }
        }
        let promote_at = ready_at + spec.auto_promotion_after;
        let go = if spec.auto_promotion {
            now >= promote_at
        } else {
            st.promoted
        };
        if !go {
            if spec.auto_promotion {
                wake = Some(promote_at);
            } else {
                st.phase = Phase::Paused;
            }
            return out(replicas, replicas, 0, st, wake);
        }
        st.phase = Phase::Progressing;
        st.switched_at = Some(now);
        st.analysis = spec
            .post_promotion_analysis
            .as_ref()
            .map(|a| AnalysisRun::start(a, now));
        if st.analysis.is_none() {
            st.blue_down_at = Some(now + spec.scale_down_delay);
        }
    }
    // Switched: green takes all traffic; post-promotion analysis may still abort.
    let mut wake = None;
    if let (Some(a), Some(run)) = (&spec.post_promotion_analysis, st.analysis.as_mut()) {
        match run.step(a, now, green_metrics) {
            RunState::Failed => {
                abort(st, now);
                return sync(spec, replicas, st, green_available, green_metrics, now);
            }
            RunState::Running => wake = Some(run.next_at),
            RunState::Successful => {
                st.analysis = None;
                st.blue_down_at = Some(now + spec.scale_down_delay);
            }
        }
    }
    match st.blue_down_at {
        Some(at) if now >= at => {
            st.phase = Phase::Healthy;
            out(0, replicas, 100, st, None)
        }
        at => out(replicas, replicas, 100, st, earliest(wake, at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: u64) -> SimTime {
        SimTime(SimDuration::from_secs(secs).0)
    }

    fn good() -> RevisionMetrics {
        RevisionMetrics {
            requests: 1000,
            errors: 0,
            p99: Some(SimDuration::from_millis(50)),
        }
    }

    #[test]
    fn switches_at_once_and_scales_blue_down_after_the_delay() {
        // (autoPromotionSeconds, switch at)
        for (after, switch) in [(0, 20), (10, 30)] {
            let spec = BlueGreenSpec {
                auto_promotion_after: SimDuration::from_secs(after),
                ..BlueGreenSpec::default()
            };
            let mut st = start();
            // Green comes up at full size beside blue; no traffic yet.
            let out = sync(&spec, 4, &mut st, 3, &good(), t(10));
            assert_eq!(
                (out.stable_replicas, out.canary_replicas, out.canary_weight),
                (4, 4, 0)
            );
            // All 4 green pods available at 20 s.
            let out = sync(&spec, 4, &mut st, 4, &good(), t(20));
            if after > 0 {
                assert_eq!((out.canary_weight, out.wake_at), (0, Some(t(switch))));
            }
            let out = sync(&spec, 4, &mut st, 4, &good(), t(switch));
            // Switched: all traffic to green, blue kept for scaleDownDelaySeconds 30.
            assert_eq!((out.canary_weight, out.stable_replicas), (100, 4));
            assert_eq!(out.wake_at, Some(t(switch + 30)));
            let out = sync(&spec, 4, &mut st, 4, &good(), t(switch + 30));
            assert_eq!(
                (out.phase, out.stable_replicas, out.canary_weight),
                (Phase::Healthy, 0, 100)
            );
        }
    }

    #[test]
    fn failed_post_promotion_analysis_switches_back_to_blue() {
        let spec = BlueGreenSpec {
            post_promotion_analysis: Some(AnalysisSpec {
                interval: SimDuration::from_secs(10),
                max_error_rate: Some(0.05),
                ..AnalysisSpec::default()
            }),
            ..BlueGreenSpec::default()
        };
        let bad = RevisionMetrics {
            requests: 100,
            errors: 20, // 20% > 5%
            p99: None,
        };
        let mut st = start();
        let out = sync(&spec, 3, &mut st, 3, &bad, t(0));
        assert_eq!((out.canary_weight, out.wake_at), (100, Some(t(10))));
        // First measurement fails: traffic back on blue, which never left.
        let out = sync(&spec, 3, &mut st, 3, &bad, t(10));
        assert_eq!(
            (out.phase, out.canary_weight, out.stable_replicas),
            (Phase::Aborted, 0, 3)
        );
        // Green goes after abortScaleDownDelaySeconds 30.
        assert_eq!(out.wake_at, Some(t(40)));
        let out = sync(&spec, 3, &mut st, 3, &bad, t(40));
        assert_eq!((out.canary_replicas, out.stable_replicas), (0, 3));
    }

    #[test]
    fn failed_pre_promotion_analysis_never_switches() {
        let spec = BlueGreenSpec {
            pre_promotion_analysis: Some(AnalysisSpec {
                max_p99: Some(SimDuration::from_millis(100)),
                ..AnalysisSpec::default()
            }),
            ..BlueGreenSpec::default()
        };
        let slow = RevisionMetrics {
            requests: 100,
            errors: 0,
            p99: Some(SimDuration::from_millis(300)),
        };
        let mut st = start();
        let out = sync(&spec, 2, &mut st, 2, &slow, t(0));
        assert_eq!((out.canary_weight, out.wake_at), (0, Some(t(30))));
        let out = sync(&spec, 2, &mut st, 2, &slow, t(30));
        assert_eq!(
            (out.phase, out.canary_weight, out.stable_replicas),
            (Phase::Aborted, 0, 2)
        );
    }
}
