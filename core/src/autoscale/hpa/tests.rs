//! HPA cases with the expected counts worked from the upstream rules
//! (`replica_calculator.go`, `horizontal.go`).

use super::*;
use crate::autoscale::{PodPhase, PodSample};

const S: u64 = 1_000_000_000;

fn t(secs: u64) -> SimTime {
    SimTime(secs * S)
}

/// A running pod, ready since long ago, with one metric value and a request.
fn pod(value: Option<i64>, request: i64) -> PodSample {
    PodSample {
        phase: PodPhase::Running,
        start_time: Some(t(0)),
        ready: Some((true, t(1))),
        values: vec![value],
        metric_time: t(1000),
        requests: vec![request],
    }
}

fn pending() -> PodSample {
    PodSample {
        phase: PodPhase::Pending,
        start_time: None,
        ready: None,
        values: vec![None],
        metric_time: t(1000),
        requests: vec![1000],
    }
}

fn cpu(target: i32, min: u32, max: u32) -> HpaSpec {
    HpaSpec {
        min_replicas: min,
        max_replicas: max,
        metrics: vec![MetricSpec {
            source: MetricSource::Resource(ResourceMetric::Cpu),
            target: MetricTarget::Utilization(target),
        }],
        behavior: Some(HpaBehavior::default()),
    }
}

/// [`cpu`] with `behavior.scaleUp` replaced.
fn with_up(spec: HpaSpec, up: ScalingRules) -> HpaSpec {
    let mut b = spec.behavior.clone().unwrap_or_default();
    b.scale_up = up;
    HpaSpec {
        behavior: Some(b),
        ..spec
    }
}

/// [`cpu`] with `behavior.scaleDown` replaced.
fn with_down(spec: HpaSpec, down: ScalingRules) -> HpaSpec {
    let mut b = spec.behavior.clone().unwrap_or_default();
    b.scale_down = down;
    HpaSpec {
        behavior: Some(b),
        ..spec
    }
}

fn input<'a>(now: SimTime, replicas: u32, pods: &'a [PodSample]) -> ScaleInput<'a> {
    ScaleInput {
        now,
        spec_replicas: replicas,
        pods,
        values: &[],
        metric_window: SimDuration::from_secs(30),
    }
}

/// One metric's proposal (no behaviour, no history).
fn proposal(spec: &HpaSpec, replicas: u32, pods: &[PodSample]) -> Result<u32, MetricError> {
    Hpa::new(spec.clone())
        .metric_replicas(0, &input(t(1000), replicas, pods))
        .map(|m| m.replicas)
}

#[test]
fn utilization_arithmetic_and_tolerance() {
    let spec = cpu(50, 1, 100);
    let cases: &[(&str, &[i64], u32)] = &[
        // 3 × 900m of 1000m: 2700·100/3000 = 90% → 90/50 = 1.8 → ⌈1.8·3⌉ = ⌈5.4⌉ = 6.
        ("scale up", &[900, 900, 900], 6),
        // 3 × 550m: 55% → 1.1 = 1 + tolerance → within the band → stays 3.
        ("tolerance boundary", &[550, 550, 550], 3),
        // 3 × 560m: 56% → 1.12 → ⌈3.36⌉ = 4.
        ("just past tolerance", &[560, 560, 560], 4),
        // 3 × 450m: 45% → 0.9 = 1 − tolerance → within → 3.
        ("lower boundary", &[450, 450, 450], 3),
        // 200 + 200 + 101 = 501m of 3000m: 501·100/3000 = 16.7 → integer 16 → 0.32 → ⌈0.96⌉ = 1.
        ("integer percent truncates", &[200, 200, 101], 1),
        // 3 × 100m: 10% → 0.2 → ⌈0.6⌉ = 1.
        ("scale down", &[100, 100, 100], 1),
    ];
    for (name, usage, want) in cases {
        let pods: Vec<PodSample> = usage.iter().map(|&u| pod(Some(u), 1000)).collect();
        assert_eq!(proposal(&spec, 3, &pods), Ok(*want), "{name}");
    }
}

#[test]
fn missing_and_unready_pods_are_filled_in_pessimistically() {
    let spec = cpu(50, 1, 100);
    // Scale down with a missing pod: 3 × 100m → 10% → 0.2 < 1, so the missing pod is assumed at
    // 100% of its request: (300 + 1000)·100/4000 = 32% → 0.64 → ⌈0.64·4⌉ = ⌈2.56⌉ = 3
    // (without the rule: ⌈0.2·3⌉ = 1).
    let pods = [
        pod(Some(100), 1000),
        pod(Some(100), 1000),
        pod(Some(100), 1000),
        pod(None, 1000),
    ];
    assert_eq!(proposal(&spec, 4, &pods), Ok(3));
    // Scale up with two missing pods: 2 × 900m → 90% → 1.8 > 1, so missing pods count as 0:
    // 1800·100/4000 = 45% → 0.9 < 1: the fill-in reverses the direction → keep 4.
    let pods = [
        pod(Some(900), 1000),
        pod(Some(900), 1000),
        pod(None, 1000),
        pod(None, 1000),
    ];
    assert_eq!(proposal(&spec, 4, &pods), Ok(4));
    // Scale up with a pending pod, target 80%: 2 × 1000m → 100% → 1.25 > 1 with an unready pod,
    // which counts as 0: 2000·100/3000 = 66% → 0.825 < 1 → reversed → keep 3.
    let spec80 = cpu(80, 1, 100);
    let pods = [pod(Some(1000), 1000), pod(Some(1000), 1000), pending()];
    assert_eq!(proposal(&spec80, 3, &pods), Ok(3));
    // Same with target 50%: 100% → 2.0; with the pending pod at 0: 66% → 1.32 → ⌈1.32·3⌉ = 4.
    assert_eq!(proposal(&spec, 3, &pods), Ok(4));
    // Scale down ignores a pending pod entirely: 2 × 100m → 10% → 0.2, no missing pods and not
    // scaling up → ⌈0.2·2 ready⌉ = 1.
    let pods = [pod(Some(100), 1000), pod(Some(100), 1000), pending()];
    assert_eq!(proposal(&spec, 3, &pods), Ok(1));
}

#[test]
fn cpu_initialization_period_and_readiness_delay() {
    let spec = cpu(50, 1, 100);
    let now = t(1000);
    let young = |ready_since: u64, ready: bool| PodSample {
        phase: PodPhase::Running,
        start_time: Some(t(1000 - 60)),
        ready: Some((ready, t(ready_since))),
        values: vec![Some(1000)],
        metric_time: now,
        requests: vec![1000],
    };
    // Started 60 s ago (< 5 min), ready for 50 s: the 30 s metric window fits after the
    // transition (now ≥ transition + 30 s) → counted. Two such pods at 100% → 2.0 → ⌈4⌉ = 4.
    let pods = [young(950, true), young(950, true)];
    assert_eq!(proposal(&spec, 2, &pods), Ok(4));
    // One became ready only 10 s ago: now < transition + 30 s → unready. Ready pod at 100%
    // → 2.0 > 1 with an unready pod at 0 → 50% → 1.0 within tolerance → keep 2.
    let pods = [young(950, true), young(990, true)];
    assert_eq!(proposal(&spec, 2, &pods), Ok(2));
    // Old pods (started at 0, past the 5 min period): unready and never ready (transition at
    // 10 s < start + 30 s) → ignored; ready-before-then-unready (transition at 500 s) → counted.
    let old = |transition: u64| PodSample {
        phase: PodPhase::Running,
        start_time: Some(t(0)),
        ready: Some((false, t(transition))),
        values: vec![Some(1000)],
        metric_time: now,
        requests: vec![1000],
    };
    // [ready 100%, never-ready]: 2.0 > 1 with one unready at 0 → 50% → within → keep 2.
    assert_eq!(proposal(&spec, 2, &[pod(Some(1000), 1000), old(10)]), Ok(2));
    // [ready 100%, was-ready]: both counted at 100% → 2.0 → ⌈2·2⌉ = 4.
    assert_eq!(
        proposal(&spec, 2, &[pod(Some(1000), 1000), old(500)]),
        Ok(4)
    );
}

#[test]
fn value_metrics_per_pod_object_and_external() {
    // Pods metric requests_per_second, averageValue 10 (10000 milli): 12 + 15 + 9 = 36 rps over
    // 3 pods = 12 → 1.2 → ⌈3.6⌉ = 4.
    let spec = HpaSpec {
        metrics: vec![MetricSpec {
            source: MetricSource::Pods("requests_per_second".into()),
            target: MetricTarget::AverageValue(10_000),
        }],
        ..cpu(50, 1, 100)
    };
    let pods = [
        pod(Some(12_000), 0),
        pod(Some(15_000), 0),
        pod(Some(9_000), 0),
    ];
    assert_eq!(proposal(&spec, 3, &pods), Ok(4));
    // Object value 300 rps against value 100: ratio 3 → ⌈3 · 2 ready pods⌉ = 6.
    let obj = HpaSpec {
        metrics: vec![MetricSpec {
            source: MetricSource::Object("ingress_rps".into()),
            target: MetricTarget::Value(100_000),
        }],
        ..cpu(50, 1, 100)
    };
    let two = [pod(None, 0), pod(None, 0)];
    let values = [Some(300_000)];
    let hpa = Hpa::new(obj);
    let inp = ScaleInput {
        values: &values,
        ..input(t(1000), 2, &two)
    };
    assert_eq!(hpa.metric_replicas(0, &inp).map(|m| m.replicas), Ok(6));
    // External queue length 30 against averageValue 5 with 3 pods: 30/(5·3) = 2 → ⌈30/5⌉ = 6;
    // at 16: 16/15 = 1.067 within tolerance → the 3 active pods.
    let ext = Hpa::new(HpaSpec {
        metrics: vec![MetricSpec {
            source: MetricSource::External("queue".into()),
            target: MetricTarget::AverageValue(5_000),
        }],
        ..cpu(50, 1, 100)
    });
    let three = [pod(None, 0), pod(None, 0), pod(None, 0)];
    for (v, want) in [(30_000, 6), (16_000, 3)] {
        let values = [Some(v)];
        let inp = ScaleInput {
            values: &values,
            ..input(t(1000), 3, &three)
        };
        assert_eq!(
            ext.metric_replicas(0, &inp).map(|m| m.replicas),
            Ok(want),
            "queue {v}"
        );
    }
}

#[test]
fn default_behavior_limits_scale_up_rate() {
    // Demand for 100 replicas (usage 10 cores per pod at 50% of 1 core → 20.0).
    let mut hpa = Hpa::new(cpu(50, 1, 100));
    let run = |hpa: &mut Hpa, now: u64, n: u32| {
        let pods: Vec<PodSample> = (0..n).map(|_| pod(Some(10_000), 1000)).collect();
        hpa.recommend(&input(t(now), n, &pods)).replicas
    };
    // t=0, 1 replica: limit max(1 + 4, ⌈1 · 2⌉) = 5.
    assert_eq!(run(&mut hpa, 0, 1), 5);
    // t=10, 5 replicas: the +4 at t=0 is inside the 15 s period → period start 5 − 4 = 1 →
    // limit 5 again → stays 5.
    assert_eq!(run(&mut hpa, 10, 5), 5);
    // t=15: the event at t=0 is not after the cutoff 15 − 15 = 0 → start 5 → max(9, 10) = 10.
    assert_eq!(run(&mut hpa, 15, 5), 10);
    // t=30: start 10 → max(14, 20) = 20.
    assert_eq!(run(&mut hpa, 30, 10), 20);
    // t=45: start 20 → max(24, 40) = 40; t=60: 80; t=75: min(160, max 100) = 100.
    assert_eq!(run(&mut hpa, 45, 20), 40);
    assert_eq!(run(&mut hpa, 60, 40), 80);
    assert_eq!(run(&mut hpa, 75, 80), 100);
}

#[test]
fn downscale_stabilization_window_holds_the_highest_recent_recommendation() {
    let mut hpa = Hpa::new(cpu(50, 1, 100));
    let run = |hpa: &mut Hpa, now: u64, n: u32, usage: i64| {
        let pods: Vec<PodSample> = (0..n).map(|_| pod(Some(usage), 1000)).collect();
        hpa.recommend(&input(t(now), n, &pods)).replicas
    };
    // t=0: 10 pods at 50% → within tolerance → recommendation 10 recorded.
    assert_eq!(run(&mut hpa, 0, 10, 500), 10);
    // t=15 … 285: 10 pods at 10% → proposal ⌈0.2 · 10⌉ = 2, but the window (300 s) still holds
    // the 10 from t=0 → max(2, 10) = 10.
    for now in (15..=285).step_by(15) {
        assert_eq!(run(&mut hpa, now, 10, 100), 10, "t={now}");
    }
    // t=300: the cutoff is 300 − 300 = 0 and a sample must be strictly after it, so the t=0
    // sample drops out → every recommendation in the window is 2 → 2; rate: −100% per 15 s
    // allows 0, min 1 → 2.
    assert_eq!(run(&mut hpa, 300, 10, 100), 2);
}

#[test]
fn scaling_policies_select_and_round_by_direction() {
    let rules = |select, policies: Vec<ScalingPolicy>| ScalingRules {
        stabilization_window: SimDuration::ZERO,
        select,
        policies,
        tolerance: None,
    };
    let p = |kind, value, secs| ScalingPolicy {
        kind,
        value,
        period: SimDuration::from_secs(secs),
    };
    // Scale up 10 → 30 wanted, policies Pods 4 and Percent 50: Max picks max(14, 15) = 15,
    // Min picks min(14, 15) = 14; Disabled keeps 10.
    for (select, want) in [
        (SelectPolicy::Max, 15),
        (SelectPolicy::Min, 14),
        (SelectPolicy::Disabled, 10),
    ] {
        let mut hpa = Hpa::new(with_up(
            cpu(50, 1, 100),
            rules(
                select,
                vec![p(PolicyKind::Pods, 4, 60), p(PolicyKind::Percent, 50, 60)],
            ),
        ));
        // 10 pods at 150% → 3.0 → 30.
        let pods: Vec<PodSample> = (0..10).map(|_| pod(Some(1500), 1000)).collect();
        assert_eq!(
            hpa.recommend(&input(t(100), 10, &pods)).replicas,
            want,
            "{select:?}"
        );
    }
    // Percent up rounds up: 3 replicas +10% → ⌈3.3⌉ = 4 (a truncation would never grow).
    let mut hpa = Hpa::new(with_up(
        cpu(50, 1, 100),
        rules(SelectPolicy::Max, vec![p(PolicyKind::Percent, 10, 60)]),
    ));
    let pods: Vec<PodSample> = (0..3).map(|_| pod(Some(1500), 1000)).collect();
    assert_eq!(hpa.recommend(&input(t(100), 3, &pods)).replicas, 4);
    // Percent down truncates: 15 replicas −10% → 13.5 → 13; a second sync within the 60 s
    // period starts from 13 + 2 = 15 again → still 13.
    let mut hpa = Hpa::new(with_down(
        cpu(50, 1, 100),
        rules(SelectPolicy::Max, vec![p(PolicyKind::Percent, 10, 60)]),
    ));
    let low = |n: u32| (0..n).map(|_| pod(Some(100), 1000)).collect::<Vec<_>>();
    assert_eq!(hpa.recommend(&input(t(100), 15, &low(15))).replicas, 13);
    assert_eq!(hpa.recommend(&input(t(130), 13, &low(13))).replicas, 13);
    // After the period: 13 · 0.9 = 11.7 → 11.
    assert_eq!(hpa.recommend(&input(t(161), 13, &low(13))).replicas, 11);
}

#[test]
fn min_max_and_invalid_metrics() {
    let mut hpa = Hpa::new(cpu(50, 2, 10));
    let pods: Vec<PodSample> = (0..12).map(|_| pod(Some(500), 1000)).collect();
    // Above max: straight to max, whatever the metrics.
    assert_eq!(hpa.recommend(&input(t(0), 12, &pods)).replicas, 10);
    // Below min: straight to min.
    assert_eq!(hpa.recommend(&input(t(15), 1, &pods[..1])).replicas, 2);
    // Zero replicas: scaling disabled.
    assert_eq!(hpa.recommend(&input(t(30), 0, &[])).replicas, 0);
    // No metrics at all: keep the count.
    let none: Vec<PodSample> = (0..4).map(|_| pod(None, 1000)).collect();
    let r = hpa.recommend(&input(t(45), 4, &none));
    assert_eq!(r.replicas, 4, "{}", r.reason);
    assert!(r.reason.contains("failed"), "{}", r.reason);
    // A pod without a cpu request: utilisation cannot be computed.
    assert!(proposal(&cpu(50, 1, 10), 1, &[pod(Some(100), 0)]).is_err());
}

#[test]
fn bad_specs_name_the_field() {
    let bad = |f: &dyn Fn(&mut HpaSpec)| {
        let mut s = cpu(50, 1, 10);
        f(&mut s);
        s.validate().unwrap_err().0
    };
    assert_eq!(bad(&|s| s.min_replicas = 0), "minReplicas");
    assert_eq!(bad(&|s| s.max_replicas = 0), "maxReplicas");
    assert_eq!(
        bad(&|s| s.metrics[0].target = MetricTarget::Utilization(0)),
        "metrics[0].target"
    );
    assert_eq!(bad(&|s| s.metrics.clear()), "metrics");
    assert_eq!(
        bad(&|s| s.behavior.as_mut().unwrap().scale_up.policies[0].period = SimDuration::ZERO),
        "behavior.scaleUp.policies[0].periodSeconds"
    );
    assert_eq!(
        bad(&|s| s.behavior.as_mut().unwrap().scale_down.policies[0].value = 0),
        "behavior.scaleDown.policies[0].value"
    );
    assert!(cpu(50, 1, 10).validate().is_ok());
}

/// The same spec without `behavior`: the controller's no-behavior path.
fn cpu_no_behavior(target: i32, min: u32, max: u32) -> HpaSpec {
    HpaSpec {
        behavior: None,
        ..cpu(target, min, max)
    }
}

#[test]
fn no_behavior_path_limits_each_sync_to_twice_the_count() {
    // Demand for 100 replicas; each sync may reach max(2 · current, 4)
    // (calculateScaleUpLimit), with no memory of earlier scale-ups.
    let mut hpa = Hpa::new(cpu_no_behavior(50, 1, 100));
    let run = |hpa: &mut Hpa, now: u64, n: u32| {
        let pods: Vec<PodSample> = (0..n).map(|_| pod(Some(10_000), 1000)).collect();
        hpa.sync(&input(t(now), n, &pods))
    };
    // t=0, 1 replica: max(2, 4) = 4 (the default behavior allows 5: max(1 + 4, 2)).
    let s = run(&mut hpa, 0, 1);
    assert_eq!(s.desired_replicas, 4);
    assert_eq!(
        s.conditions.scaling_limited,
        Some(Condition {
            status: true,
            reason: ConditionReason::ScaleUpLimit
        })
    );
    // Utilization 10000·100/1000 = 1000%.
    assert_eq!(s.metrics[0].as_ref().unwrap().utilization, Some(1000));
    // t=10, within the 15 s the default behavior would count: still 2 · 4 = 8.
    assert_eq!(run(&mut hpa, 10, 4).desired_replicas, 8);
    assert_eq!(run(&mut hpa, 25, 8).desired_replicas, 16);
    // 2 · 64 = 128 > maxReplicas 100: TooManyReplicas.
    let s = run(&mut hpa, 40, 64);
    assert_eq!(s.desired_replicas, 100);
    assert_eq!(
        s.conditions.scaling_limited.map(|c| c.reason),
        Some(ConditionReason::TooManyReplicas)
    );
    // No scale events are stored without behavior (storeScaleEvent returns).
    assert!(hpa.history().scale_up_events.is_empty());
}

#[test]
fn no_behavior_path_holds_the_initial_count_for_the_downscale_window() {
    let mut hpa = Hpa::new(cpu_no_behavior(50, 1, 100));
    let run = |hpa: &mut Hpa, now: u64| {
        let pods: Vec<PodSample> = (0..10).map(|_| pod(Some(100), 1000)).collect();
        hpa.sync(&input(t(now), 10, &pods))
    };
    // t=0: 10% → proposal ⌈0.2 · 10⌉ = 2, but recordInitialRecommendation stored the
    // current 10 at t=0 → stabilised 10, AbleToScale ScaleDownStabilized.
    let s = run(&mut hpa, 0);
    assert_eq!(s.desired_replicas, 10);
    assert_eq!(
        s.conditions.able_to_scale.map(|c| c.reason),
        Some(ConditionReason::ScaleDownStabilized)
    );
    // t=300: the t=0 sample is exactly 5 min old, not Before(now − 5 min) → still counts.
    assert_eq!(run(&mut hpa, 300).desired_replicas, 10);
    // t=315: it is older → every sample in the window is 2 → no scale-down rate limit → 2.
    let s = run(&mut hpa, 315);
    assert_eq!(s.desired_replicas, 2);
    assert_eq!(
        s.conditions.able_to_scale.map(|c| c.reason),
        Some(ConditionReason::SucceededRescale)
    );
    // The same with behavior: the window excludes a sample exactly its length old,
    // so the default behavior already drops at t=300 (−100% per 15 s allows it).
    let mut with = Hpa::new(cpu(50, 1, 100));
    assert_eq!(run(&mut with, 0).desired_replicas, 10);
    assert_eq!(run(&mut with, 300).desired_replicas, 2);
}
