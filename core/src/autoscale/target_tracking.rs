//! AWS target tracking (Application Auto Scaling, as ECS services use it).
//!
//! Key decision: target tracking is modelled as AWS documents its
//! mechanics (Application Auto Scaling user guide, "Target tracking scaling
//! policies"): the policy owns two CloudWatch alarms on one-minute
//! datapoints — scale out when 3 consecutive datapoints are above the
//! target, scale in when 15 consecutive datapoints are below 90% of it —
//! and then sets capacity proportionally, `⌈capacity × metric / target⌉`.
//! Cooldowns: after a scale out, further scale outs within
//! `scaleOutCooldown` only happen if they raise capacity beyond what the
//! previous one set, and scale in waits for both cooldowns.

use std::collections::VecDeque;

use super::hpa::MetricSpec;
use super::{Autoscale, Recommendation, ScaleInput, current_value, target_value};
use crate::time::{SimDuration, SimTime};

/// A target tracking policy.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetTrackingSpec {
    /// The metric and its target value.
    pub metric: MetricSpec,
    /// Minimum capacity.
    pub min_replicas: u32,
    /// Maximum capacity.
    pub max_replicas: u32,
    /// `ScaleOutCooldown` (ECS default 300 s).
    pub scale_out_cooldown: SimDuration,
    /// `ScaleInCooldown` (ECS default 300 s).
    pub scale_in_cooldown: SimDuration,
    /// `DisableScaleIn`.
    pub disable_scale_in: bool,
}

/// Datapoints above target that trigger a scale out (the high alarm: 3 of 3 minutes).
pub const SCALE_OUT_DATAPOINTS: usize = 3;
/// Datapoints below the low threshold that trigger a scale in (15 of 15 minutes).
pub const SCALE_IN_DATAPOINTS: usize = 15;
/// The low alarm's threshold as a fraction of the target.
pub const SCALE_IN_THRESHOLD: f64 = 0.9;

/// The policy's state.
#[derive(Clone, Debug)]
pub struct TargetTracking {
    spec: TargetTrackingSpec,
    points: VecDeque<f64>,
    last_out: Option<(SimTime, u32)>,
    last_in: Option<SimTime>,
}

impl TargetTracking {
    /// A policy with no history.
    pub fn new(spec: TargetTrackingSpec) -> TargetTracking {
        TargetTracking {
            spec,
            points: VecDeque::new(),
            last_out: None,
            last_in: None,
        }
    }
}

impl Autoscale for TargetTracking {
    fn name(&self) -> &'static str {
        "target-tracking"
    }

    /// One-minute datapoints, as CloudWatch's standard resolution.
    fn sync_period(&self) -> SimDuration {
        SimDuration::from_secs(60)
    }

    fn recommend(&mut self, input: &ScaleInput<'_>) -> Recommendation {
        let (now, cur) = (input.now, input.spec_replicas);
        let s = &self.spec;
        let keep = |replicas, reason: &str| Recommendation {
            replicas,
            reason: reason.to_string(),
        };
        let Some(m) = current_value(&s.metric, 0, input) else {
            // Missing data: alarms go to INSUFFICIENT_DATA, nothing changes.
            return keep(
                cur.clamp(s.min_replicas, s.max_replicas),
                "insufficient data",
            );
        };
        self.points.push_back(m);
        while self.points.len() > SCALE_IN_DATAPOINTS {
            self.points.pop_front();
        }
        let target = target_value(&s.metric);
        let proportional =
            ((f64::from(cur) * m / target).ceil() as u32).clamp(s.min_replicas, s.max_replicas);
        let last = |n: usize| self.points.iter().rev().take(n);
        let high = self.points.len() >= SCALE_OUT_DATAPOINTS
            && last(SCALE_OUT_DATAPOINTS).all(|&p| p > target);
        let low = self.points.len() >= SCALE_IN_DATAPOINTS
            && last(SCALE_IN_DATAPOINTS).all(|&p| p < target * SCALE_IN_THRESHOLD);
        let in_out_cooldown = |t: SimTime| now < t + s.scale_out_cooldown;
        if high && proportional > cur {
            if let Some((t, set)) = self.last_out
                && in_out_cooldown(t)
                && proportional <= set
            {
                return keep(cur, "scale-out cooldown");
            }
            self.last_out = Some((now, proportional));
            return keep(
                proportional,
                "high alarm: metric above target for 3 datapoints",
            );
        }
        if low && !s.disable_scale_in && proportional < cur {
            if self.last_out.is_some_and(|(t, _)| in_out_cooldown(t))
                || self.last_in.is_some_and(|t| now < t + s.scale_in_cooldown)
            {
                return keep(cur, "scale-in cooldown");
            }
            self.last_in = Some(now);
            return keep(
                proportional,
                "low alarm: metric below 90% of target for 15 datapoints",
            );
        }
        keep(cur.clamp(s.min_replicas, s.max_replicas), "no alarm")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autoscale::hpa::{MetricSource, MetricTarget, ResourceMetric};
    use crate::autoscale::{PodPhase, PodSample};

    fn spec() -> TargetTrackingSpec {
        TargetTrackingSpec {
            metric: MetricSpec {
                source: MetricSource::Resource(ResourceMetric::Cpu),
                target: MetricTarget::Utilization(50),
            },
            min_replicas: 1,
            max_replicas: 20,
            scale_out_cooldown: SimDuration::from_secs(300),
            scale_in_cooldown: SimDuration::from_secs(300),
            disable_scale_in: false,
        }
    }

    fn at(p: &mut TargetTracking, minute: u64, replicas: u32, usage: i64) -> u32 {
        let pods: Vec<PodSample> = (0..replicas)
            .map(|_| PodSample {
                phase: PodPhase::Running,
                start_time: Some(SimTime::ZERO),
                ready: Some((true, SimTime::ZERO)),
                values: vec![Some(usage)],
                metric_time: SimTime::ZERO,
                requests: vec![1000],
            })
            .collect();
        p.recommend(&ScaleInput {
            now: SimTime(minute * 60 * 1_000_000_000),
            spec_replicas: replicas,
            pods: &pods,
            values: &[],
            metric_window: SimDuration::from_secs(60),
        })
        .replicas
    }

    #[test]
    fn scales_out_after_three_high_datapoints_proportionally() {
        let mut p = TargetTracking::new(spec());
        // 4 replicas at 80% of request, target 50%: minutes 0 and 1 are high but the alarm
        // needs 3 datapoints.
        assert_eq!(at(&mut p, 0, 4, 800), 4);
        assert_eq!(at(&mut p, 1, 4, 800), 4);
        // Minute 2: third high datapoint → ⌈4 · 80 / 50⌉ = ⌈6.4⌉ = 7.
        assert_eq!(at(&mut p, 2, 4, 800), 7);
        // Minute 3, 7 replicas still at 80% (→ ⌈11.2⌉ = 12 > 7 set at minute 2): larger than
        // the cooldown's capacity, so it proceeds.
        assert_eq!(at(&mut p, 3, 7, 800), 12);
        // Minute 4 at exactly 50%: not above the target, so the high alarm is not in alarm.
        assert_eq!(at(&mut p, 4, 12, 500), 12);
        // Minute 5 at 55% (→ ⌈13.2⌉ = 14): the alarm needs 3 high datapoints again (minute 4
        // was not high) → 12.
        assert_eq!(at(&mut p, 5, 12, 550), 12);
    }

    #[test]
    fn scales_in_after_fifteen_low_datapoints_and_cooldowns() {
        let mut p = TargetTracking::new(spec());
        // 10 replicas at 40% (< 45% = 90% of target): minutes 0..13 are not enough.
        for m in 0..14 {
            assert_eq!(at(&mut p, m, 10, 400), 10, "minute {m}");
        }
        // Minute 14: 15th low datapoint → ⌈10 · 40 / 50⌉ = 8.
        assert_eq!(at(&mut p, 14, 10, 400), 8);
        // Minute 15: still low (8 at 40% → ⌈6.4⌉ = 7) but inside the 300 s scale-in cooldown.
        assert_eq!(at(&mut p, 15, 8, 400), 8);
        // Minute 19 (5 minutes after minute 14): the cooldown is over → 7.
        assert_eq!(at(&mut p, 19, 8, 400), 7);
        // At 46% (above 45%) the low alarm is not in alarm: no scale in.
        let mut q = TargetTracking::new(spec());
        for m in 0..20 {
            assert_eq!(at(&mut q, m, 10, 460), 10);
        }
    }
}
