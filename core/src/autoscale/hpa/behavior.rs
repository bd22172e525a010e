//! The controller's normalisation of a proposal (upstream
//! `pkg/controller/podautoscaler/horizontal.go`): the stored
//! recommendations and scale events, stabilisation, the scale-up and
//! scale-down limits, and the condition reasons each step reports.
//!
//! Every function here is a free function over plain data, named as its
//! upstream counterpart in snake_case, with `now` passed in where upstream
//! reads `time.Now()`. Upstream's cutoffs compare `t.Before(now − w)` or
//! `t.After(now − w)`; here they are written `t + w < now` and `t + w > now`,
//! the same comparisons kept exact at the start of simulated time.

use super::{HpaBehavior, PolicyKind, ScalingRules, SelectPolicy};
use crate::time::{SimDuration, SimTime};

/// upstream `timestampedRecommendation`: an unstabilised recommendation as
/// the controller stores it, one list per HPA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimestampedRecommendation {
    /// `recommendation`: the replica count proposed by the metrics.
    pub recommendation: u32,
    /// `timestamp`: when it was proposed.
    pub timestamp: SimTime,
}

/// upstream `timestampedScaleEvent`: one rescale in one direction, kept
/// only for an HPA with `behavior` (`storeScaleEvent`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimestampedScaleEvent {
    /// `replicaChange`: the absolute change (non-negative, as upstream).
    pub replica_change: u32,
    /// `timestamp`: when the rescale happened.
    pub timestamp: SimTime,
    /// `outdated`: older than the longest policy period, free for reuse.
    pub outdated: bool,
}

/// A reason of an HPA status condition, as upstream spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConditionReason {
    /// AbleToScale: the scale subresource was read.
    SucceededGetScale,
    /// AbleToScale: the target was rescaled.
    SucceededRescale,
    /// AbleToScale: the stabilised recommendation is the proposal.
    ReadyForNewScale,
    /// AbleToScale: a lower recent recommendation held a scale-up back.
    ScaleUpStabilized,
    /// AbleToScale: a higher recent recommendation held a scale-down back.
    ScaleDownStabilized,
    /// ScalingActive: a replica count was computed from a metric.
    ValidMetricFound,
    /// ScalingActive: the target has zero replicas.
    ScalingDisabled,
    /// ScalingActive: a Resource metric failed.
    FailedGetResourceMetric,
    /// ScalingActive: a Pods metric failed.
    FailedGetPodsMetric,
    /// ScalingActive: an Object metric failed.
    FailedGetObjectMetric,
    /// ScalingActive: an External metric failed.
    FailedGetExternalMetric,
    /// ScalingLimited: no limit applied.
    DesiredWithinRange,
    /// ScalingLimited: the scale-up rate limit applied.
    ScaleUpLimit,
    /// ScalingLimited: the scale-down rate limit applied.
    ScaleDownLimit,
    /// ScalingLimited: `maxReplicas` applied.
    TooManyReplicas,
    /// ScalingLimited: `minReplicas` applied.
    TooFewReplicas,
}

impl ConditionReason {
    /// The reason as upstream writes it in the condition.
    pub fn as_str(self) -> &'static str {
        use ConditionReason::*;
        match self {
            SucceededGetScale => "SucceededGetScale",
            SucceededRescale => "SucceededRescale",
            ReadyForNewScale => "ReadyForNewScale",
            ScaleUpStabilized => "ScaleUpStabilized",
            ScaleDownStabilized => "ScaleDownStabilized",
            ValidMetricFound => "ValidMetricFound",
            ScalingDisabled => "ScalingDisabled",
            FailedGetResourceMetric => "FailedGetResourceMetric",
            FailedGetPodsMetric => "FailedGetPodsMetric",
            FailedGetObjectMetric => "FailedGetObjectMetric",
            FailedGetExternalMetric => "FailedGetExternalMetric",
            DesiredWithinRange => "DesiredWithinRange",
            ScaleUpLimit => "ScaleUpLimit",
            ScaleDownLimit => "ScaleDownLimit",
            TooManyReplicas => "TooManyReplicas",
            TooFewReplicas => "TooFewReplicas",
        }
    }

    /// Upstream's message for the normalisation reasons (empty for the others,
    /// whose messages carry run-time detail upstream).
    pub fn message(self) -> &'static str {
        use ConditionReason::*;
        match self {
            ReadyForNewScale => "recommended size matches current size",
            ScaleUpStabilized => {
                "recent recommendations were lower than current one, applying the lowest recent recommendation"
            }
            ScaleDownStabilized => {
                "recent recommendations were higher than current one, applying the highest recent recommendation"
            }
            DesiredWithinRange => "the desired count is within the acceptable range",
            ScaleUpLimit => {
                "the desired replica count is increasing faster than the maximum scale rate"
            }
            ScaleDownLimit => {
                "the desired replica count is decreasing faster than the maximum scale rate"
            }
            TooManyReplicas => "the desired replica count is more than the maximum replica count",
            TooFewReplicas => "the desired replica count is less than the minimum replica count",
            _ => "",
        }
    }
}

/// One status condition: its status (`True`/`False`) and reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Condition {
    /// `status == True`.
    pub status: bool,
    /// `reason`.
    pub reason: ConditionReason,
}

/// The arguments of the behavior path (upstream `NormalizationArg`, without
/// the key: the history is passed separately).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NormalizationArg<'a> {
    /// `ScaleUpBehavior`.
    pub scale_up_behavior: &'a ScalingRules,
    /// `ScaleDownBehavior` (its window already filled from the flag).
    pub scale_down_behavior: &'a ScalingRules,
    /// `MinReplicas`.
    pub min_replicas: u32,
    /// `MaxReplicas`.
    pub max_replicas: u32,
    /// `CurrentReplicas`.
    pub current_replicas: u32,
    /// `DesiredReplicas`.
    pub desired_replicas: u32,
}

/// What a normalisation decided: the replicas and the two conditions it sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Normalized {
    /// The normalised desired replicas.
    pub replicas: u32,
    /// The AbleToScale reason (status True): `ReadyForNewScale`,
    /// `ScaleUpStabilized` or `ScaleDownStabilized`.
    pub able_to_scale: ConditionReason,
    /// ScalingLimited: True when a limit changed the stabilised count.
    pub scaling_limited: Condition,
}

/// upstream `getReplicasChangePerPeriod`: the replicas changed by the events
/// after `now − period`.
pub fn get_replicas_change_per_period(
    period: SimDuration,
    scale_events: &[TimestampedScaleEvent],
    now: SimTime,
) -> i64 {
    scale_events
        .iter()
        .filter(|e| e.timestamp + period > now)
        .map(|e| i64::from(e.replica_change))
        .sum()
}

/// upstream `calculateScaleUpLimit`: `max(2 · current, 4)`, the no-behavior
/// path's scale-up limit (`scaleUpLimitFactor`, `scaleUpLimitMinimum`).
pub fn calculate_scale_up_limit(current_replicas: u32) -> u32 {
    (2.0 * f64::from(current_replicas)).max(4.0) as u32
}

/// The replicas at the start of `period` as upstream reconstructs them.
fn period_start_replicas(
    current: u32,
    up: &[TimestampedScaleEvent],
    down: &[TimestampedScaleEvent],
    period: SimDuration,
    now: SimTime,
) -> i64 {
    i64::from(current) - get_replicas_change_per_period(period, up, now)
        + get_replicas_change_per_period(period, down, now)
}

/// upstream `calculateScaleUpLimitWithScalingRules`: the most replicas the
/// scale-up policies allow now (Percent rounded up, as upstream).
pub fn calculate_scale_up_limit_with_scaling_rules(
    current_replicas: u32,
    scale_up_events: &[TimestampedScaleEvent],
    scale_down_events: &[TimestampedScaleEvent],
    scaling_rules: &ScalingRules,
    now: SimTime,
) -> i64 {
    let (mut result, pick): (i64, fn(i64, i64) -> i64) = match scaling_rules.select {
        SelectPolicy::Disabled => return i64::from(current_replicas),
        SelectPolicy::Min => (i64::from(i32::MAX), i64::min),
        SelectPolicy::Max => (i64::from(i32::MIN), i64::max),
    };
    for p in &scaling_rules.policies {
        let start = period_start_replicas(
            current_replicas,
            scale_up_events,
            scale_down_events,
            p.period,
            now,
        );
        let proposed = match p.kind {
            PolicyKind::Pods => start + i64::from(p.value),
            PolicyKind::Percent => {
                (start as f64 * (1.0 + f64::from(p.value) / 100.0)).ceil() as i64
            }
        };
        result = pick(result, proposed);
    }
    result
}

/// upstream `calculateScaleDownLimitWithBehaviors`: the fewest replicas the
/// scale-down policies allow now (Percent truncated, as upstream's int32
/// conversion).
pub fn calculate_scale_down_limit_with_behaviors(
    current_replicas: u32,
    scale_up_events: &[TimestampedScaleEvent],
    scale_down_events: &[TimestampedScaleEvent],
    scaling_rules: &ScalingRules,
    now: SimTime,
) -> i64 {
    let (mut result, pick): (i64, fn(i64, i64) -> i64) = match scaling_rules.select {
        SelectPolicy::Disabled => return i64::from(current_replicas),
        SelectPolicy::Min => (i64::from(i32::MIN), i64::max),
        SelectPolicy::Max => (i64::from(i32::MAX), i64::min),
    };
    for p in &scaling_rules.policies {
        let start = period_start_replicas(
            current_replicas,
            scale_up_events,
            scale_down_events,
            p.period,
            now,
        );
        let proposed = match p.kind {
            PolicyKind::Pods => start - i64::from(p.value),
            PolicyKind::Percent => (start as f64 * (1.0 - f64::from(p.value) / 100.0)) as i64,
        };
        result = pick(result, proposed);
    }
    result
}

/// upstream `convertDesiredReplicasWithRules`: the no-behavior path's
/// limits, `minReplicas`, and the smaller of `maxReplicas` and
/// [`calculate_scale_up_limit`].
pub fn convert_desired_replicas_with_rules(
    current_replicas: u32,
    desired_replicas: u32,
    hpa_min_replicas: u32,
    hpa_max_replicas: u32,
) -> (u32, ConditionReason) {
    let scale_up_limit = calculate_scale_up_limit(current_replicas);
    let (maximum_allowed, reason) = if hpa_max_replicas > scale_up_limit {
        (scale_up_limit, ConditionReason::ScaleUpLimit)
    } else {
        (hpa_max_replicas, ConditionReason::TooManyReplicas)
    };
    if desired_replicas < hpa_min_replicas {
        (hpa_min_replicas, ConditionReason::TooFewReplicas)
    } else if desired_replicas > maximum_allowed {
        (maximum_allowed, reason)
    } else {
        (desired_replicas, ConditionReason::DesiredWithinRange)
    }
}

/// upstream `convertDesiredReplicasWithBehaviorRate`: the behavior path's
/// limits, the policies' rate (never past the current count in the wrong
/// direction) and min/max replicas.
pub fn convert_desired_replicas_with_behavior_rate(
    args: &NormalizationArg<'_>,
    scale_up_events: &[TimestampedScaleEvent],
    scale_down_events: &[TimestampedScaleEvent],
    now: SimTime,
) -> (u32, ConditionReason) {
    let current = i64::from(args.current_replicas);
    let desired = i64::from(args.desired_replicas);
    if desired > current {
        let limit = calculate_scale_up_limit_with_scaling_rules(
            args.current_replicas,
            scale_up_events,
            scale_down_events,
            args.scale_up_behavior,
            now,
        )
        .max(current);
        let max = i64::from(args.max_replicas);
        let (allowed, reason) = if max > limit {
            (limit, ConditionReason::ScaleUpLimit)
        } else {
            (max, ConditionReason::TooManyReplicas)
        };
        if desired > allowed {
            return (allowed as u32, reason);
        }
    } else if desired < current {
        let limit = calculate_scale_down_limit_with_behaviors(
            args.current_replicas,
            scale_up_events,
            scale_down_events,
            args.scale_down_behavior,
            now,
        )
        .min(current);
        let min = i64::from(args.min_replicas);
        let (allowed, reason) = if min < limit {
            (limit, ConditionReason::ScaleDownLimit)
        } else {
            (min, ConditionReason::TooFewReplicas)
        };
        if desired < allowed {
            return (allowed as u32, reason);
        }
    }
    (args.desired_replicas, ConditionReason::DesiredWithinRange)
}

/// upstream `stabilizeRecommendation` (the no-behavior path): stores
/// `desired` (over the last sample older than the window, if any) and
/// returns the largest recommendation not older than `window`
/// (`--horizontal-pod-autoscaler-downscale-stabilization`). A sample exactly
/// `window` old still counts, as upstream's `Before(cutoff)` test has it.
pub fn stabilize_recommendation(
    recommendations: &mut Vec<TimestampedRecommendation>,
    window: SimDuration,
    prenormalized_desired_replicas: u32,
    now: SimTime,
) -> u32 {
    let mut max = prenormalized_desired_replicas;
    let mut old = None;
    for (i, rec) in recommendations.iter().enumerate() {
        if rec.timestamp + window < now {
            old = Some(i);
        } else if rec.recommendation > max {
            max = rec.recommendation;
        }
    }
    let stored = TimestampedRecommendation {
        recommendation: prenormalized_desired_replicas,
        timestamp: now,
    };
    match old {
        Some(i) => recommendations[i] = stored,
        None => recommendations.push(stored),
    }
    max
}

/// upstream `stabilizeRecommendationWithBehaviors`: the current count moved
/// to within [lowest recommendation of the scale-up window, highest of the
/// scale-down window]; stores `args.desired_replicas` over a sample older
/// than both windows. The reason is `ScaleUpStabilized` when desired ≥
/// current, else `ScaleDownStabilized` (used only if the count changed).
pub fn stabilize_recommendation_with_behaviors(
    recommendations: &mut Vec<TimestampedRecommendation>,
    args: &NormalizationArg<'_>,
    now: SimTime,
) -> (u32, ConditionReason) {
    let up_window = args.scale_up_behavior.stabilization_window;
    let down_window = args.scale_down_behavior.stabilization_window;
    let (mut up, mut down) = (args.desired_replicas, args.desired_replicas);
    let mut old = None;
    for (i, rec) in recommendations.iter().enumerate() {
        if rec.timestamp + up_window > now {
            up = up.min(rec.recommendation);
        }
        if rec.timestamp + down_window > now {
            down = down.max(rec.recommendation);
        }
        if rec.timestamp + up_window < now && rec.timestamp + down_window < now {
            old = Some(i);
        }
    }
    let recommendation = args.current_replicas.max(up).min(down);
    let stored = TimestampedRecommendation {
        recommendation: args.desired_replicas,
        timestamp: now,
    };
    match old {
        Some(i) => recommendations[i] = stored,
        None => recommendations.push(stored),
    }
    let reason = if args.desired_replicas >= args.current_replicas {
        ConditionReason::ScaleUpStabilized
    } else {
        ConditionReason::ScaleDownStabilized
    };
    (recommendation, reason)
}

/// upstream `normalizeDesiredReplicas`, the path of an HPA without
/// `behavior`: [`stabilize_recommendation`] over the downscale window, then
/// [`convert_desired_replicas_with_rules`].
pub fn normalize_desired_replicas(
    recommendations: &mut Vec<TimestampedRecommendation>,
    downscale_stabilization_window: SimDuration,
    current_replicas: u32,
    prenormalized_desired_replicas: u32,
    min_replicas: u32,
    max_replicas: u32,
    now: SimTime,
) -> Normalized {
    let stabilized = stabilize_recommendation(
        recommendations,
        downscale_stabilization_window,
        prenormalized_desired_replicas,
        now,
    );
    let able_to_scale = if stabilized != prenormalized_desired_replicas {
        ConditionReason::ScaleDownStabilized
    } else {
        ConditionReason::ReadyForNewScale
    };
    let (replicas, reason) = convert_desired_replicas_with_rules(
        current_replicas,
        stabilized,
        min_replicas,
        max_replicas,
    );
    Normalized {
        replicas,
        able_to_scale,
        scaling_limited: Condition {
            status: replicas != stabilized,
            reason,
        },
    }
}

/// upstream `normalizeDesiredReplicasWithBehaviors`, the path of an HPA with
/// `behavior`: [`stabilize_recommendation_with_behaviors`], then
/// [`convert_desired_replicas_with_behavior_rate`].
pub fn normalize_desired_replicas_with_behaviors(
    recommendations: &mut Vec<TimestampedRecommendation>,
    scale_up_events: &[TimestampedScaleEvent],
    scale_down_events: &[TimestampedScaleEvent],
    args: &NormalizationArg<'_>,
    now: SimTime,
) -> Normalized {
    let (stabilized, why) = stabilize_recommendation_with_behaviors(recommendations, args, now);
    let able_to_scale = if stabilized != args.desired_replicas {
        why
    } else {
        ConditionReason::ReadyForNewScale
    };
    let limited = NormalizationArg {
        desired_replicas: stabilized,
        ..*args
    };
    let (replicas, reason) = convert_desired_replicas_with_behavior_rate(
        &limited,
        scale_up_events,
        scale_down_events,
        now,
    );
    Normalized {
        replicas,
        able_to_scale,
        scaling_limited: Condition {
            status: replicas != stabilized,
            reason,
        },
    }
}

/// upstream `getLongestPolicyPeriod`.
pub fn get_longest_policy_period(scaling_rules: &ScalingRules) -> SimDuration {
    scaling_rules
        .policies
        .iter()
        .map(|p| p.period)
        .max()
        .unwrap_or(SimDuration::ZERO)
}

/// upstream `markScaleEventsOutdated`: events older than `now −
/// longest_policy_period` are marked for reuse.
pub fn mark_scale_events_outdated(
    scale_events: &mut [TimestampedScaleEvent],
    longest_policy_period: SimDuration,
    now: SimTime,
) {
    for e in scale_events {
        if e.timestamp + longest_policy_period < now {
            e.outdated = true;
        }
    }
}

/// upstream `storeScaleEvent`: nothing without `behavior`; otherwise the
/// rescale from `prev_replicas` to `new_replicas` is stored in its
/// direction's list, over the last outdated event if there is one.
pub fn store_scale_event(
    behavior: Option<&HpaBehavior>,
    scale_up_events: &mut Vec<TimestampedScaleEvent>,
    scale_down_events: &mut Vec<TimestampedScaleEvent>,
    prev_replicas: u32,
    new_replicas: u32,
    now: SimTime,
) {
    let Some(behavior) = behavior else { return };
    let (events, rules, change) = if new_replicas > prev_replicas {
        (
            scale_up_events,
            &behavior.scale_up,
            new_replicas - prev_replicas,
        )
    } else {
        (
            scale_down_events,
            &behavior.scale_down,
            prev_replicas - new_replicas,
        )
    };
    mark_scale_events_outdated(events, get_longest_policy_period(rules), now);
    let event = TimestampedScaleEvent {
        replica_change: change,
        timestamp: now,
        outdated: false,
    };
    match events.iter().rposition(|e| e.outdated) {
        Some(i) => events[i] = event,
        None => events.push(event),
    }
}
