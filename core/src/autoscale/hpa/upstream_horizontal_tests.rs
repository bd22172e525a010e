//! Upstream's normalisation, limit and stabilisation tests of
//! `pkg/controller/podautoscaler/horizontal_test.go`, replayed against the
//! public functions of `behavior.rs` and [`Hpa::sync`].
//!
//! Source: kubernetes/kubernetes `pkg/controller/podautoscaler/horizontal_test.go`
//! at commit 4e62298c1bd12c8b9b9c7337aa7fd07a8b9c37a8 (`TestConvertDesiredReplicasWithRules`,
//! `TestCalculateScaleUpLimitWithScalingRules`, `TestCalculateScaleDownLimitWithBehaviors`,
//! `TestNormalizeDesiredReplicas`, `TestScalingWithRules` — the table of
//! `convertDesiredReplicasWithBehaviorRate` —, `TestStoreScaleEvents`,
//! `TestNormalizeDesiredReplicasWithBehavior` — the table of
//! `stabilizeRecommendationWithBehaviors` —, `TestScaleUpOneMetricEmpty`,
//! `TestNoScaleDownOneMetricEmpty`). The functions follow the later
//! `horizontal.go` (autoscaling/v2, absolute `replicaChange`, both event
//! lists passed to both limit functions; index id 315539203, commit not
//! exposed by the index). At 4e62298 the limit functions took only their
//! own direction's events; every case below has events in one direction
//! only, so both versions give upstream's numbers.
//!
//! Upstream's `time.Now()` is `NOW` here; events built by
//! `generateEventsUniformDistribution(events, periodSeconds)` sit at the
//! centres of `len(events)` equal segments of the last `periodSeconds`
//! (for 3 events over 120 s: 100, 60 and 20 s ago; for 4: 105, 75, 45, 15).
//! An event exactly one period old is outside the period here, as it is
//! upstream (created a moment before the test's own `time.Now()`).

use super::*;
use crate::autoscale::{PodPhase, PodSample, ScaleInput};
use crate::time::{SimDuration, SimTime};

const NS: u64 = 1_000_000_000;
const NOW: SimTime = SimTime(100_000 * NS);

fn ago(secs: u64) -> SimTime {
    SimTime(NOW.0 - secs * NS)
}

fn secs(s: u64) -> SimDuration {
    SimDuration::from_secs(s)
}

/// upstream `generateEventsUniformDistribution`.
fn uniform(raw: &[u32], period_seconds: u64) -> Vec<TimestampedScaleEvent> {
    let seg = period_seconds as f64 / raw.len() as f64;
    raw.iter()
        .enumerate()
        .map(|(i, &c)| {
            let back = (period_seconds as f64 - seg * (i + 1) as f64 + seg / 2.0) as u64;
            TimestampedScaleEvent {
                replica_change: c,
                timestamp: ago(back),
                outdated: false,
            }
        })
        .collect()
}

/// upstream `generateScalingRules(pods, podsPeriod, percent, percentPeriod, stabilizationWindow)`.
fn generate(
    pods: i32,
    pods_period: u64,
    percent: i32,
    percent_period: u64,
    window: u64,
) -> ScalingRules {
    let mut policies = Vec::new();
    if pods != 0 {
        policies.push(ScalingPolicy {
            kind: PolicyKind::Pods,
            value: pods,
            period: secs(pods_period),
        });
    }
    if percent != 0 {
        policies.push(ScalingPolicy {
            kind: PolicyKind::Percent,
            value: percent,
            period: secs(percent_period),
        });
    }
    ScalingRules {
        stabilization_window: secs(window),
        select: SelectPolicy::Max,
        policies,
        tolerance: None,
    }
}

use ConditionReason::*;

#[test]
fn convert_desired_replicas_with_rules_table() {
    // (current, desired, min, max, expected, condition, annotation)
    let cases = [
        (
            5,
            7,
            3,
            8,
            7,
            DesiredWithinRange,
            "prenormalized desired replicas within range",
        ),
        (
            3,
            1,
            2,
            8,
            2,
            TooFewReplicas,
            "prenormalized desired replicas < minReplicas",
        ),
        (
            1,
            0,
            0,
            10,
            0,
            DesiredWithinRange,
            "prenormalized desired zeroed replicas within range",
        ),
        (
            20,
            1000,
            1,
            10,
            10,
            TooManyReplicas,
            "maxReplicas is the limit because maxReplicas < scaleUpLimit",
        ),
        (
            3,
            1000,
            1,
            2000,
            calculate_scale_up_limit(3),
            ScaleUpLimit,
            "scaleUpLimit is the limit because scaleUpLimit < maxReplicas",
        ),
    ];
    for (current, desired, min, max, want, cond, name) in cases {
        assert_eq!(
            convert_desired_replicas_with_rules(current, desired, min, max),
            (want, cond),
            "{name}"
        );
    }
    // calculateScaleUpLimit: max(2·current, 4).
    assert_eq!(calculate_scale_up_limit(3), 6);
    assert_eq!(calculate_scale_up_limit(1), 4);
    assert_eq!(calculate_scale_up_limit(0), 4);
}

#[test]
fn calculate_scale_up_and_down_limits_with_min_policy() {
    let rules = ScalingRules {
        stabilization_window: secs(300),
        select: SelectPolicy::Min,
        policies: vec![
            ScalingPolicy {
                kind: PolicyKind::Pods,
                value: 2,
                period: secs(60),
            },
            ScalingPolicy {
                kind: PolicyKind::Percent,
                value: 50,
                period: secs(60),
            },
        ],
        tolerance: None,
    };
    // Up from 1: min(1 + 2, ⌈1.5⌉) = 2.
    assert_eq!(
        calculate_scale_up_limit_with_scaling_rules(1, &[], &[], &rules, NOW),
        2,
        "TestCalculateScaleUpLimitWithScalingRules"
    );
    // Down from 5 (Min selects the largest remaining count): max(5 − 2, ⌊2.5⌋) = 3.
    assert_eq!(
        calculate_scale_down_limit_with_behaviors(5, &[], &[], &rules, NOW),
        3,
        "TestCalculateScaleDownLimitWithBehaviors"
    );
}

#[test]
fn normalize_desired_replicas_table() {
    // TestNormalizeDesiredReplicas (stabilizeRecommendation, 5 min window):
    // (name, [(recommendation, seconds ago)], desired, expected, log length).
    type Case = (&'static str, &'static [(u32, u64)], u32, u32, usize);
    let cases: [Case; 5] = [
        ("empty log", &[], 5, 5, 1),
        ("stabilize", &[(4, 120), (5, 60)], 3, 5, 3),
        ("no stabilize", &[(1, 120), (2, 60)], 3, 3, 3),
        (
            "no stabilize - old recommendations",
            &[(10, 600), (9, 540)],
            3,
            3,
            2,
        ),
        (
            "stabilize - old recommendations",
            &[(10, 600), (4, 60), (5, 120), (9, 540)],
            3,
            5,
            4,
        ),
    ];
    for (name, recs, desired, want, len) in cases {
        let mut log: Vec<TimestampedRecommendation> = recs
            .iter()
            .map(|&(r, s)| TimestampedRecommendation {
                recommendation: r,
                timestamp: ago(s),
            })
            .collect();
        assert_eq!(
            stabilize_recommendation(&mut log, secs(300), desired, NOW),
            want,
            "{name}"
        );
        assert_eq!(log.len(), len, "{name}");
    }
}

/// `TestScalingWithRules`: (name, up events, down events, min, max, scaleUp
/// rules, scaleDown rules, current, desired, expected, condition).
#[test]
fn convert_desired_replicas_with_behavior_rate_table() {
    type Case = (
        &'static str,
        Vec<TimestampedScaleEvent>,
        Vec<TimestampedScaleEvent>,
        u32,
        u32,
        Option<ScalingRules>,
        Option<ScalingRules>,
        u32,
        u32,
        u32,
        ConditionReason,
    );
    let e = Vec::new;
    let cases: Vec<Case> = vec![
        (
            "prenormalized desired replicas within range",
            e(),
            e(),
            3,
            8,
            None,
            None,
            5,
            7,
            7,
            DesiredWithinRange,
        ),
        (
            "prenormalized desired replicas < minReplicas",
            e(),
            e(),
            2,
            8,
            None,
            None,
            3,
            1,
            2,
            TooFewReplicas,
        ),
        (
            "prenormalized desired replicas within range when minReplicas is 0",
            e(),
            e(),
            0,
            10,
            None,
            None,
            1,
            0,
            0,
            DesiredWithinRange,
        ),
        (
            "maxReplicas is the limit because maxReplicas < scaleUpLimit",
            e(),
            e(),
            1,
            10,
            None,
            None,
            20,
            1000,
            10,
            TooManyReplicas,
        ),
        (
            "desired replica count is more than the maximum replica count",
            e(),
            e(),
            100,
            150,
            None,
            None,
            100,
            1000,
            150,
            TooManyReplicas,
        ),
        (
            "scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies",
            e(),
            e(),
            1,
            2000,
            Some(generate(0, 0, 1, 60, 0)),
            None,
            3,
            1000,
            4,
            ScaleUpLimit,
        ),
        (
            // Skipped upstream (testThis); 1000 − 20 = 980 by hand.
            "scaleDownLimit is the limit because scaleDownLimit > minReplicas with user defined policies",
            e(),
            e(),
            3,
            2000,
            None,
            Some(generate(20, 60, 0, 0, 0)),
            1000,
            3,
            980,
            ScaleDownLimit,
        ),
        (
            "scaleUp with default behavior",
            e(),
            e(),
            1,
            1000,
            None,
            None,
            10,
            50,
            20,
            ScaleUpLimit,
        ),
        (
            "scaleUp with pods policy larger than percent policy",
            e(),
            e(),
            1,
            1000,
            Some(generate(100, 60, 100, 60, 0)),
            None,
            10,
            500,
            110,
            ScaleUpLimit,
        ),
        (
            "scaleUp with percent policy larger than pods policy",
            e(),
            e(),
            1,
            1000,
            Some(generate(2, 60, 100, 60, 0)),
            None,
            10,
            500,
            20,
            ScaleUpLimit,
        ),
        (
            "scaleUp with spec MaxReplicas limitation with large pod policy",
            e(),
            e(),
            1,
            1000,
            Some(generate(100, 60, 0, 0, 0)),
            None,
            10,
            50,
            50,
            DesiredWithinRange,
        ),
        (
            "scaleUp with spec MaxReplicas limitation with large percent policy",
            e(),
            e(),
            1,
            1000,
            Some(generate(10000, 60, 0, 0, 0)),
            None,
            10,
            50,
            50,
            DesiredWithinRange,
        ),
        (
            "scaleUp with pod policy limitation",
            e(),
            e(),
            1,
            1000,
            Some(generate(30, 60, 0, 0, 0)),
            None,
            10,
            50,
            40,
            ScaleUpLimit,
        ),
        (
            "scaleUp with percent policy limitation",
            e(),
            e(),
            1,
            1000,
            Some(generate(0, 0, 200, 60, 0)),
            None,
            10,
            50,
            30,
            ScaleUpLimit,
        ),
        (
            "scaleDown with percent policy larger than pod policy",
            e(),
            e(),
            1,
            1000,
            None,
            Some(generate(20, 60, 1, 60, 300)),
            100,
            2,
            80,
            ScaleDownLimit,
        ),
        (
            "scaleDown with pod policy larger than percent policy",
            e(),
            e(),
            1,
            1000,
            None,
            Some(generate(2, 60, 1, 60, 300)),
            100,
            2,
            98,
            ScaleDownLimit,
        ),
        (
            "scaleDown with spec MinReplicas=nil limitation with large pod policy",
            e(),
            e(),
            1,
            1000,
            None,
            Some(generate(100, 60, 0, 0, 300)),
            10,
            0,
            1,
            TooFewReplicas,
        ),
        (
            "scaleDown with spec MinReplicas limitation with large pod policy",
            e(),
            e(),
            1,
            1000,
            None,
            Some(generate(100, 60, 0, 0, 300)),
            10,
            0,
            1,
            TooFewReplicas,
        ),
        (
            "scaleDown with spec MinReplicas limitation with large percent policy",
            e(),
            e(),
            5,
            1000,
            None,
            Some(generate(0, 0, 100, 60, 300)),
            10,
            2,
            5,
            TooFewReplicas,
        ),
        (
            "scaleDown with pod policy limitation",
            e(),
            e(),
            1,
            1000,
            None,
            Some(generate(5, 60, 0, 0, 300)),
            10,
            2,
            5,
            ScaleDownLimit,
        ),
        (
            "scaleDown with percent policy limitation",
            e(),
            e(),
            1,
            1000,
            None,
            Some(generate(0, 0, 50, 60, 300)),
            10,
            5,
            5,
            DesiredWithinRange,
        ),
        (
            "scaleUp with spec MaxReplicas limitation with large pod policy and events",
            uniform(&[1, 5, 9], 120),
            e(),
            1,
            200,
            Some(generate(300, 60, 0, 0, 0)),
            None,
            100,
            500,
            200,
            TooManyReplicas,
        ),
        (
            "scaleUp with spec MaxReplicas limitation with large percent policy and events",
            uniform(&[1, 5, 9], 120),
            e(),
            1,
            200,
            Some(generate(0, 0, 10000, 60, 0)),
            None,
            100,
            500,
            200,
            TooManyReplicas,
        ),
        (
            // 100 − 15 + 5 = 90 < 100: held at the current count.
            "scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent scale up events",
            uniform(&[1, 5, 9], 120),
            e(),
            1,
            1000,
            Some(generate(5, 120, 0, 0, 0)),
            None,
            100,
            500,
            100,
            ScaleUpLimit,
        ),
        (
            "scaleUp with pod policy and previous scale up events",
            uniform(&[1, 5, 9], 120),
            e(),
            1,
            1000,
            Some(generate(150, 120, 0, 0, 0)),
            None,
            100,
            500,
            235,
            ScaleUpLimit,
        ),
        (
            "scaleUp with percent policy and previous scale up events",
            uniform(&[1, 5, 9], 120),
            e(),
            1,
            1000,
            Some(generate(0, 0, 200, 120, 0)),
            None,
            100,
            500,
            255,
            ScaleUpLimit,
        ),
        (
            "scaleDown with default policy and previous events",
            e(),
            uniform(&[1, 5, 9], 120),
            1,
            1000,
            None,
            None,
            10,
            5,
            5,
            DesiredWithinRange,
        ),
        (
            "scaleDown with spec MinReplicas=nil limitation with large pod policy and previous events",
            e(),
            uniform(&[1, 5, 9], 120),
            1,
            1000,
            None,
            Some(generate(115, 120, 0, 0, 300)),
            100,
            0,
            1,
            TooFewReplicas,
        ),
        (
            "scaleDown with spec MinReplicas limitation with large pod policy and previous events",
            e(),
            uniform(&[1, 5, 9], 120),
            5,
            1000,
            None,
            Some(generate(130, 120, 0, 0, 300)),
            100,
            0,
            5,
            TooFewReplicas,
        ),
        (
            "scaleDown with spec MinReplicas limitation with large percent policy and previous events",
            e(),
            uniform(&[1, 5, 9], 120),
            5,
            1000,
            None,
            Some(generate(0, 0, 100, 120, 300)),
            100,
            2,
            5,
            TooFewReplicas,
        ),
        (
            // 100 + 15 − 5 = 110 > 100: held at the current count.
            "scaleDown with pod policy limitation and previous events",
            e(),
            uniform(&[1, 5, 9], 120),
            1,
            1000,
            None,
            Some(generate(5, 120, 0, 0, 300)),
            100,
            2,
            100,
            ScaleDownLimit,
        ),
        (
            // (100 + 12) − 50% = 56.
            "scaleDown with percent policy limitation and previous events",
            e(),
            uniform(&[2, 4, 6], 120),
            1,
            1000,
            None,
            Some(generate(0, 0, 50, 120, 300)),
            100,
            0,
            56,
            ScaleDownLimit,
        ),
        (
            "scaleDown with previous events preventing further scale down",
            e(),
            uniform(&[10, 10, 10], 120),
            1,
            1000,
            None,
            Some(generate(0, 0, 10, 120, 300)),
            100,
            0,
            100,
            ScaleDownLimit,
        ),
        (
            // (10 + 30) − 1000% = −360 < 5: the metric's 5 stands.
            "scaleDown with with previous events still allowing more scale down",
            e(),
            uniform(&[10, 10, 10], 120),
            1,
            1000,
            None,
            Some(generate(0, 0, 1000, 120, 300)),
            10,
            5,
            5,
            DesiredWithinRange,
        ),
        (
            "check 'outdated' flag for events for one behavior for up",
            uniform(&[8, 12, 9, 11], 120),
            e(),
            1,
            1000,
            Some(generate(1000, 60, 0, 0, 0)),
            None,
            100,
            200,
            200,
            DesiredWithinRange,
        ),
        (
            "check that events were not marked 'outdated' for two different policies in the behavior for up",
            uniform(&[8, 12, 9, 11], 120),
            e(),
            1,
            1000,
            Some(generate(1000, 120, 100, 60, 0)),
            None,
            100,
            200,
            200,
            DesiredWithinRange,
        ),
        (
            "check that events were marked 'outdated' for two different policies in the behavior for up",
            uniform(&[8, 12, 9, 11], 120),
            e(),
            1,
            1000,
            Some(generate(1000, 30, 100, 60, 0)),
            None,
            100,
            200,
            200,
            DesiredWithinRange,
        ),
        (
            "check 'outdated' flag for events for one behavior for down",
            e(),
            uniform(&[8, 12, 9, 11], 120),
            1,
            1000,
            None,
            Some(generate(1000, 60, 0, 0, 300)),
            100,
            5,
            5,
            DesiredWithinRange,
        ),
        (
            "check that events were not marked 'outdated' for two different policies in the behavior for down",
            e(),
            uniform(&[8, 12, 9, 11], 120),
            1,
            1000,
            None,
            Some(generate(1000, 120, 100, 60, 300)),
            100,
            5,
            5,
            DesiredWithinRange,
        ),
        (
            "check that events were marked 'outdated' for two different policies in the behavior for down",
            e(),
            uniform(&[8, 12, 9, 11], 120),
            1,
            1000,
            None,
            Some(generate(1000, 30, 100, 60, 300)),
            100,
            5,
            5,
            DesiredWithinRange,
        ),
    ];
    for (name, up_events, down_events, min, max, up, down, current, desired, want, cond) in cases {
        // GenerateHPAScaleUpRules / GenerateHPAScaleDownRules of nil: the API defaults.
        let up = up.unwrap_or_else(ScalingRules::default_up);
        let down = down.unwrap_or_else(ScalingRules::default_down);
        let args = NormalizationArg {
            scale_up_behavior: &up,
            scale_down_behavior: &down,
            min_replicas: min,
            max_replicas: max,
            current_replicas: current,
            desired_replicas: desired,
        };
        assert_eq!(
            convert_desired_replicas_with_behavior_rate(&args, &up_events, &down_events, NOW),
            (want, cond),
            "{name}"
        );
    }
}

/// `TestStoreScaleEvents`: the change over the last 60 s before storing,
/// then the stored list (change, outdated) after a rescale by 5, both
/// directions.
#[test]
fn store_scale_events_table() {
    let ev = |c: u32, s: u64| TimestampedScaleEvent {
        replica_change: c,
        timestamp: ago(s),
        outdated: false,
    };
    type Case = (
        &'static str,
        Vec<TimestampedScaleEvent>,
        Vec<(u32, bool)>,
        Option<ScalingRules>,
        i64,
    );
    let cases: Vec<Case> = vec![
        (
            "empty entries with default behavior",
            vec![],
            vec![],
            None,
            0,
        ),
        (
            "empty entries with two-policy-behavior",
            vec![],
            vec![(5, false)],
            Some(generate(10, 60, 100, 60, 0)),
            0,
        ),
        (
            "one outdated entry to be kept untouched without behavior",
            vec![ev(7, 61)],
            vec![(7, false)],
            None,
            0,
        ),
        (
            "one outdated entry to be replaced with behavior",
            vec![ev(7, 61)],
            vec![(5, false)],
            Some(generate(10, 60, 100, 60, 0)),
            0,
        ),
        (
            "one actual entry to be not touched with behavior",
            vec![ev(7, 58)],
            vec![(7, false), (5, false)],
            Some(generate(10, 60, 100, 60, 0)),
            7,
        ),
        (
            "two entries, one of them to be replaced",
            vec![ev(7, 61), ev(6, 59)],
            vec![(5, false), (6, false)],
            Some(generate(10, 60, 0, 0, 0)),
            6,
        ),
        (
            "replace one entry, use policies with different periods",
            vec![ev(8, 29), ev(6, 59), ev(7, 61), ev(9, 61)],
            vec![(8, false), (6, false), (7, true), (5, false)],
            Some(generate(10, 60, 100, 30, 0)),
            14,
        ),
        (
            "two entries, both actual",
            vec![ev(7, 58), ev(6, 59)],
            vec![(7, false), (6, false), (5, false)],
            Some(generate(10, 120, 100, 30, 0)),
            13,
        ),
    ];
    for (name, prev, want, rules, change) in cases {
        for up in [true, false] {
            assert_eq!(
                get_replicas_change_per_period(secs(60), &prev, NOW),
                change,
                "{name}"
            );
            // Upstream sets only the tested direction; the other is unused.
            let behavior = rules.clone().map(|r| {
                let mut b = HpaBehavior::default();
                if up {
                    b.scale_up = r;
                } else {
                    b.scale_down = r;
                }
                b
            });
            let (mut ups, mut downs) = (Vec::new(), Vec::new());
            let to = if up { 15 } else { 5 };
            if up {
                ups = prev.clone();
            } else {
                downs = prev.clone();
            }
            store_scale_event(behavior.as_ref(), &mut ups, &mut downs, 10, to, NOW);
            let got: Vec<(u32, bool)> = (if up { &ups } else { &downs })
                .iter()
                .map(|e| (e.replica_change, e.outdated))
                .collect();
            assert_eq!(got, want, "{name} (up: {up})");
        }
    }
}

/// `TestNormalizeDesiredReplicasWithBehavior` (the table of
/// `stabilizeRecommendationWithBehaviors`): (name, [(recommendation,
/// seconds ago)], current, desired, expected, stored recommendations, up
/// window, down window). Windows left out in a case are 0 there.
#[test]
fn stabilize_recommendation_with_behaviors_table() {
    type Case = (
        &'static str,
        Vec<(u32, u64)>,
        u32,
        u32,
        u32,
        Vec<u32>,
        u64,
        u64,
    );
    let cases: Vec<Case> = vec![
        (
            "empty recommendations for scaling down",
            vec![],
            100,
            5,
            5,
            vec![5],
            0,
            0,
        ),
        (
            "simple scale down stabilization",
            vec![(4, 120), (5, 60)],
            100,
            3,
            5,
            vec![4, 5, 3],
            0,
            180,
        ),
        (
            "simple scale up stabilization",
            vec![(4, 120), (5, 60)],
            1,
            7,
            4,
            vec![4, 5, 7],
            300,
            0,
        ),
        (
            "no scale down stabilization",
            vec![(1, 120), (2, 60)],
            100,
            3,
            3,
            vec![1, 2, 3],
            300,
            0,
        ),
        (
            "no scale up stabilization",
            vec![(4, 120), (5, 60)],
            1,
            3,
            3,
            vec![4, 5, 3],
            0,
            300,
        ),
        (
            "no scale down stabilization, reuse recommendation element",
            vec![(10, 600), (9, 540)],
            100,
            3,
            3,
            vec![10, 3],
            0,
            0,
        ),
        (
            "no scale up stabilization, reuse recommendation element",
            vec![(10, 600), (9, 540)],
            1,
            100,
            100,
            vec![10, 100],
            0,
            0,
        ),
        (
            "scale down stabilization, reuse one of obsolete recommendation element",
            vec![(10, 600), (4, 60), (5, 120), (9, 540)],
            100,
            3,
            5,
            vec![10, 4, 5, 3],
            0,
            180,
        ),
        (
            "scale up stabilization, reuse one of obsolete recommendation element",
            vec![(10, 6000), (6, 60), (5, 120), (9, 180)],
            1,
            100,
            5,
            vec![100, 6, 5, 9],
            300,
            0,
        ),
    ];
    for (name, recs, current, desired, want, stored, up_w, down_w) in cases {
        let mut log: Vec<TimestampedRecommendation> = recs
            .iter()
            .map(|&(r, s)| TimestampedRecommendation {
                recommendation: r,
                timestamp: ago(s),
            })
            .collect();
        let up = ScalingRules {
            stabilization_window: secs(up_w),
            ..ScalingRules::default_up()
        };
        let down = ScalingRules {
            stabilization_window: secs(down_w),
            ..ScalingRules::default_down()
        };
        let args = NormalizationArg {
            scale_up_behavior: &up,
            scale_down_behavior: &down,
            min_replicas: 1,
            max_replicas: 1000,
            current_replicas: current,
            desired_replicas: desired,
        };
        let (got, _) = stabilize_recommendation_with_behaviors(&mut log, &args, NOW);
        assert_eq!(got, want, "{name}");
        let kept: Vec<u32> = log.iter().map(|r| r.recommendation).collect();
        assert_eq!(kept, stored, "{name}");
    }
}

/// Pods at `levels` millicores of 1000m, ready long before `NOW`, plus a
/// failing External metric.
fn cpu_and_broken_external(
    target: i32,
    min: u32,
    max: u32,
    levels: &[i64],
) -> (Hpa, Vec<PodSample>) {
    let spec = HpaSpec {
        min_replicas: min,
        max_replicas: max,
        metrics: vec![
            MetricSpec {
                source: MetricSource::Resource(ResourceMetric::Cpu),
                target: MetricTarget::Utilization(target),
            },
            MetricSpec {
                source: MetricSource::External("qps".into()),
                target: MetricTarget::Value(100),
            },
        ],
        behavior: None,
    };
    let pods = levels
        .iter()
        .map(|&l| PodSample {
            phase: PodPhase::Running,
            start_time: Some(SimTime::ZERO),
            ready: Some((true, SimTime::ZERO)),
            values: vec![Some(l), None],
            metric_time: NOW,
            requests: vec![1000, 0],
        })
        .collect();
    (Hpa::new(spec), pods)
}

fn sync_at(hpa: &mut Hpa, pods: &[PodSample]) -> HpaStatus {
    hpa.sync(&ScaleInput {
        now: NOW,
        spec_replicas: pods.len() as u32,
        pods,
        values: &[None, None],
        metric_window: secs(30),
    })
}

/// `TestScaleUpOneMetricEmpty`: 3 pods at 300, 400, 500 of 1000m, target
/// 30%: 1200·100/3000 = 40% → ⌈1.33·3⌉ = 4; the External metric fails, but
/// a failed metric blocks only a scale-down → 4. No behavior: the initial
/// recommendation 3 does not hold back a scale-up; the limit is
/// min(max(2·3, 4), maxReplicas 6) → within range.
#[test]
fn scale_up_one_metric_empty() {
    let (mut hpa, pods) = cpu_and_broken_external(30, 2, 6, &[300, 400, 500]);
    let s = sync_at(&mut hpa, &pods);
    assert_eq!(s.desired_replicas, 4);
    assert_eq!(s.metrics[0].as_ref().map(|m| m.utilization), Ok(Some(40)));
    assert!(s.metrics[1].is_err());
    let c = s.conditions;
    assert_eq!(c.able_to_scale.map(|c| c.reason), Some(SucceededRescale));
    assert_eq!(c.scaling_active.map(|c| c.reason), Some(ValidMetricFound));
    assert_eq!(
        c.scaling_limited,
        Some(Condition {
            status: false,
            reason: DesiredWithinRange
        })
    );
}

/// `TestNoScaleDownOneMetricEmpty`: 5 pods at 100, 300, 500, 250, 250,
/// target 50%: 28% → 3 < 5 while the External metric fails → no scaling,
/// ScalingActive False with the failed metric's reason
/// (`computeReplicasForMetrics` returns −1, `reconcileAutoscaler` stops).
#[test]
fn no_scale_down_one_metric_empty() {
    let (mut hpa, pods) = cpu_and_broken_external(50, 2, 6, &[100, 300, 500, 250, 250]);
    let s = sync_at(&mut hpa, &pods);
    assert_eq!(s.desired_replicas, 5);
    assert_eq!(
        s.conditions.scaling_active,
        Some(Condition {
            status: false,
            reason: FailedGetExternalMetric
        })
    );
    assert_eq!(s.metric_desired_replicas, None);
}
