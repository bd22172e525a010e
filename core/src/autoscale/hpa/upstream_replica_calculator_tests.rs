//! Upstream's `pkg/controller/podautoscaler/replica_calculator_test.go`
//! replayed against [`ReplicaCalculator`] and [`group_pods`].
//!
//! Source: kubernetes/kubernetes `replica_calculator_test.go`, the
//! `autoscaling/v2`, per-container-levels version (the one whose
//! `TestReplicaCalcMissingMetricsScaleDownTargetOver100` goes with the
//! `fallbackUtilization := max(100, targetUtilization)` of
//! `replica_calculator.go`, Kubernetes 1.33+). The search index serves it
//! without its commit (index id 112302491); the cases it shares with commit
//! 5f3bc7cdab9b2544f0389b9a83c88fa15b793b7a (the `autoscaling/v2beta2`
//! version) carry the same numbers. The calculator transcribes the
//! matching `replica_calculator.go` (index id 4233727116, with `Tolerances`
//! and `calculatePodRequestsFromContainers`).
//!
//! The fixture as upstream builds it: every pod has two containers, each
//! requesting `requests[i]` and using `levels[i]`, so a pod's request and
//! usage are twice the listed values; pods without a `podStartTime` have a
//! zero start time (long ago), their Ready condition has a zero transition
//! time and their metrics a zero timestamp and a one-minute window;
//! `coolCPUCreationTime` is 3 minutes ago and `hotCPUCreationTime` now; the
//! flags are `defaultTestingTolerance` 0.1, `defaultTestingCPUInitializationPeriod`
//! 2 min and `defaultTestingDelayOfInitialReadinessStatus` 10 s.
//!
//! Not expressible here, and why:
//! - `TestReplicaCalcDisjointResourcesMetrics`, `TestReplicaCalcSuperfluousMetrics`:
//!   samples for pods outside the selector; a [`PodSample`] list holds one
//!   sample per listed pod.
//! - the `…Container…` variants (`TestReplicaCalcContainerScaleUp`,
//!   `…ScaleUpContainerHotCpuLessScale`, `…MissingContainerMetric…`,
//!   `…ContainerIgnoresFailedPods`, `…ContainerIgnoresDeletionPods`,
//!   `…ContainerScaleDown`, `…ContainerExcludeUnreadyPods`,
//!   `…ContainerExcludeUnscheduledPods`, `…ContainerIgnoreHotCpuPods`,
//!   `…ContainerIgnoresFailedPods`, `…IgnoresDeletionPods_StillRunning`):
//!   `ContainerResource` metrics; the spec model has Resource metrics of
//!   the whole pod only.
//! - `TestCalculatePodRequests`: a pod's request per container (the pod
//!   model's containers belong to the `res` part of issue 15); the sample
//!   carries the pod's total.
//! - `TestGroupPods`' Ready condition `Unknown` does not occur (the sample's
//!   readiness is a bool); its `PodSucceeded` pods are written Running (the
//!   phase model has no Succeeded, and groupPods treats both alike).

use super::*;
use crate::autoscale::{PodPhase, PodSample, ScaleInput};
use crate::time::{SimDuration, SimTime};

const NS: u64 = 1_000_000_000;
/// "Now": far from time zero, so a zero start time is long ago.
const NOW: SimTime = SimTime(100_000 * NS);

fn ago(secs: u64) -> SimTime {
    SimTime(NOW.0 - secs * NS)
}

fn calc() -> ReplicaCalculator {
    ReplicaCalculator {
        cpu_initialization_period: SimDuration::from_secs(120),
        delay_of_initial_readiness_status: SimDuration::from_secs(10),
    }
}

/// `podStartTime` entries.
#[derive(Clone, Copy)]
enum Start {
    /// Not set: the zero time.
    Zero,
    /// `coolCPUCreationTime()`: 3 minutes ago.
    Cool,
    /// `hotCPUCreationTime()`: now.
    Hot,
}

/// One `replicaCalcTestCase`'s pods.
#[derive(Default)]
struct Fixture {
    current: u32,
    readiness: Vec<bool>,
    start: Vec<Start>,
    phase: Vec<PodPhase>,
    deleting: Vec<bool>,
    /// Per container, millicores (×2 per pod).
    requests: Vec<i64>,
    /// Per container (×2 per pod) for resources; per pod for custom metrics.
    levels: Vec<i64>,
    /// Levels are a resource's (two containers) rather than a pod metric's.
    resource: bool,
}

impl Fixture {
    fn pods(&self) -> Vec<PodSample> {
        let n = (self.current as usize).max(self.phase.len());
        let per_pod = if self.resource { 2 } else { 1 };
        (0..n)
            .map(|i| {
                let start = match self.start.get(i).copied().unwrap_or(Start::Zero) {
                    Start::Zero => SimTime::ZERO,
                    Start::Cool => ago(180),
                    Start::Hot => NOW,
                };
                let mut phase = self.phase.get(i).copied().unwrap_or(PodPhase::Running);
                if self.deleting.get(i).copied().unwrap_or(false) {
                    phase = PodPhase::Deleting;
                }
                PodSample {
                    phase,
                    start_time: Some(start),
                    ready: Some((
                        self.readiness.get(i).copied().unwrap_or(true),
                        SimTime::ZERO,
                    )),
                    values: vec![self.levels.get(i).map(|l| l * per_pod)],
                    metric_time: SimTime::ZERO,
                    requests: vec![self.requests.get(i).map_or(0, |r| r * 2)],
                }
            })
            .collect()
    }
}

fn input<'a>(current: u32, pods: &'a [PodSample], values: &'a [Option<i64>]) -> ScaleInput<'a> {
    ScaleInput {
        now: NOW,
        spec_replicas: current,
        pods,
        values,
        metric_window: SimDuration::from_secs(60),
    }
}

const TOL: Tolerances = Tolerances {
    scale_down: 0.1,
    scale_up: 0.1,
};

/// Runs a resource case: `(replicas, utilization, raw value)` or an error.
fn resource(f: &Fixture, target: i32) -> Result<(u32, i32, i64), String> {
    let pods = f.pods();
    calc()
        .get_resource_replicas(
            f.current,
            target,
            ResourceMetric::Cpu,
            TOL,
            &input(f.current, &pods, &[]),
            0,
        )
        .map(|m| (m.replicas, m.utilization.expect("utilization"), m.usage))
        .map_err(|e| e.0)
}

fn one() -> Vec<i64> {
    vec![1000; 7]
}

use PodPhase::{Failed, Pending, Running};

/// The Resource (cpu Utilization) cases: name, fixture, target,
/// (expectedReplicas, expectedUtilization, expectedValue).
#[test]
fn resource_utilization_cases() {
    type Case = (&'static str, Fixture, i32, (u32, i32, i64));
    let cases: Vec<Case> = vec![
        (
            "TestReplicaCalcScaleUp",
            Fixture {
                current: 3,
                levels: vec![300, 500, 700],
                ..Default::default()
            },
            30,
            (5, 50, 2 * 500),
        ),
        (
            "TestReplicaCalcScaleUpUnreadyLessScale",
            Fixture {
                current: 3,
                readiness: vec![false, true, true],
                levels: vec![300, 500, 700],
                ..Default::default()
            },
            30,
            (4, 60, 2 * 600),
        ),
        (
            "TestReplicaCalcScaleUpHotCpuLessScale",
            Fixture {
                current: 3,
                start: vec![Start::Hot, Start::Cool, Start::Cool],
                levels: vec![300, 500, 700],
                ..Default::default()
            },
            30,
            (4, 60, 2 * 600),
        ),
        (
            "TestReplicaCalcScaleUpUnreadyNoScale",
            Fixture {
                current: 3,
                readiness: vec![true, false, false],
                levels: vec![400, 500, 700],
                ..Default::default()
            },
            30,
            (3, 40, 2 * 400),
        ),
        (
            "TestReplicaCalcScaleHotCpuNoScale",
            Fixture {
                current: 3,
                readiness: vec![true, false, false],
                start: vec![Start::Cool, Start::Hot, Start::Hot],
                levels: vec![400, 500, 700],
                ..Default::default()
            },
            30,
            (3, 40, 2 * 400),
        ),
        (
            "TestReplicaCalcScaleUpIgnoresFailedPods",
            Fixture {
                current: 2,
                readiness: vec![true, true, false, false],
                phase: vec![Running, Running, Failed, Failed],
                levels: vec![500, 700],
                ..Default::default()
            },
            30,
            (4, 60, 2 * 600),
        ),
        (
            "TestReplicaCalcScaleUpIgnoresDeletionPods",
            Fixture {
                current: 2,
                readiness: vec![true, true, false, false],
                phase: vec![Running; 4],
                deleting: vec![false, false, true, true],
                levels: vec![500, 700],
                ..Default::default()
            },
            30,
            (4, 60, 2 * 600),
        ),
        (
            "TestReplicaCalcScaleDown",
            Fixture {
                current: 5,
                levels: vec![100, 300, 500, 250, 250],
                ..Default::default()
            },
            50,
            (3, 28, 2 * 280),
        ),
        (
            "TestReplicaCalcScaleDownExcludeUnreadyPods",
            Fixture {
                current: 5,
                readiness: vec![true, true, true, false, false],
                levels: vec![100, 300, 500, 250, 250],
                ..Default::default()
            },
            50,
            (2, 30, 2 * 300),
        ),
        (
            "TestReplicaCalcScaleDownExcludeUnscheduledPods",
            Fixture {
                current: 5,
                readiness: vec![true, false, false, false, false],
                phase: vec![Running, Pending, Pending, Pending, Pending],
                levels: vec![100],
                ..Default::default()
            },
            50,
            (1, 10, 2 * 100),
        ),
        (
            "TestReplicaCalcScaleDownIgnoreHotCpuPods",
            Fixture {
                current: 5,
                start: vec![
                    Start::Cool,
                    Start::Cool,
                    Start::Cool,
                    Start::Hot,
                    Start::Hot,
                ],
                levels: vec![100, 300, 500, 250, 250],
                ..Default::default()
            },
            50,
            (2, 30, 2 * 300),
        ),
        (
            "TestReplicaCalcScaleDownIgnoresFailedPods",
            Fixture {
                current: 5,
                readiness: vec![true, true, true, true, true, false, false],
                phase: vec![Running, Running, Running, Running, Running, Failed, Failed],
                levels: vec![100, 300, 500, 250, 250],
                ..Default::default()
            },
            50,
            (3, 28, 2 * 280),
        ),
        (
            "TestReplicaCalcScaleDownIgnoresDeletionPods",
            Fixture {
                current: 5,
                readiness: vec![true, true, true, true, true, false, false],
                phase: vec![Running; 7],
                deleting: vec![false, false, false, false, false, true, true],
                levels: vec![100, 300, 500, 250, 250],
                ..Default::default()
            },
            50,
            (3, 28, 2 * 280),
        ),
        (
            // Requests 0.9, 1.0, 1.1: 2·3060 / 2·3000 = 102% → 1.02 within 0.1 → 3.
            "TestReplicaCalcTolerance",
            Fixture {
                current: 3,
                requests: vec![900, 1000, 1100],
                levels: vec![1010, 1030, 1020],
                ..Default::default()
            },
            100,
            (3, 102, 2 * 1020),
        ),
        (
            // 990/4000 = 24% → missing pods at 100% of 2000: 4990/8000 = 62% → ⌈0.62·4⌉ = 3.
            "TestReplicaCalcMissingMetrics",
            Fixture {
                current: 4,
                levels: vec![400, 95],
                ..Default::default()
            },
            100,
            (3, 24, 495),
        ),
        (
            // Usage ratio exactly 1: no fill-in, the same ratio is within the tolerance.
            "TestReplicaCalcMissingMetricsNoChangeEq",
            Fixture {
                current: 2,
                levels: vec![1000],
                ..Default::default()
            },
            100,
            (2, 100, 2 * 1000),
        ),
        (
            // 1.9, the missing pod at 0: 95% → within → 2.
            "TestReplicaCalcMissingMetricsNoChangeGt",
            Fixture {
                current: 2,
                levels: vec![1900],
                ..Default::default()
            },
            100,
            (2, 190, 2 * 1900),
        ),
        (
            // 0.6, the missing pod at 100%: 80% → ⌈0.8·2⌉ = 2.
            "TestReplicaCalcMissingMetricsNoChangeLt",
            Fixture {
                current: 2,
                levels: vec![600],
                ..Default::default()
            },
            100,
            (2, 60, 2 * 600),
        ),
        (
            // 0.9 with the missing pod at 100%: 1.44 reverses the direction → 3.
            "TestReplicaCalcMissingMetricsUnreadyChange",
            Fixture {
                current: 3,
                readiness: vec![false, true, true],
                levels: vec![100, 450],
                ..Default::default()
            },
            50,
            (3, 45, 2 * 450),
        ),
        (
            "TestReplicaCalcMissingMetricsHotCpuNoChange",
            Fixture {
                current: 3,
                start: vec![Start::Hot, Start::Cool, Start::Cool],
                levels: vec![100, 450],
                ..Default::default()
            },
            50,
            (3, 45, 2 * 450),
        ),
        (
            // 4.0 with the unready and the missing pod at 0: 4000/6000 = 66% → ⌈1.32·3⌉ = 4.
            "TestReplicaCalcMissingMetricsUnreadyScaleUp",
            Fixture {
                current: 3,
                readiness: vec![false, true, true],
                levels: vec![100, 2000],
                ..Default::default()
            },
            50,
            (4, 200, 2 * 2000),
        ),
        (
            "TestReplicaCalcMissingMetricsHotCpuScaleUp",
            Fixture {
                current: 3,
                readiness: vec![false, true, true],
                start: vec![Start::Hot, Start::Cool, Start::Cool],
                levels: vec![100, 2000],
                ..Default::default()
            },
            50,
            (4, 200, 2 * 2000),
        ),
        (
            "TestReplicaCalcMissingMetricsUnreadyScaleDown",
            Fixture {
                current: 4,
                readiness: vec![false, true, true, true],
                levels: vec![100, 100, 100],
                ..Default::default()
            },
            50,
            (3, 10, 2 * 100),
        ),
        (
            // The missing pod at max(100, 300)% of 4000 = 12000: 12400/10000 = 124% → ⌈0.413·3⌉ = 2.
            "TestReplicaCalcMissingMetricsScaleDownTargetOver100",
            Fixture {
                current: 4,
                readiness: vec![false, true, true, true],
                requests: vec![1000, 1000, 2000, 2000],
                levels: vec![200, 100, 100],
                ..Default::default()
            },
            300,
            (2, 6, 2 * 100),
        ),
        (
            // ⌈0.8·3⌉ = 3 > 2 while scaling down: the pod count would reverse it → 2.
            "TestReplicaCalcDuringRollingUpdateWithMaxSurge",
            Fixture {
                current: 2,
                phase: vec![Running; 3],
                levels: vec![100, 100],
                ..Default::default()
            },
            50,
            (2, 10, 2 * 100),
        ),
    ];
    for (name, mut f, target, want) in cases {
        f.resource = true;
        if f.requests.is_empty() {
            f.requests = one();
        }
        assert_eq!(resource(&f, target), Ok(want), "{name}");
    }
}

#[test]
fn resource_errors() {
    let f = Fixture {
        current: 4,
        requests: one(),
        resource: true,
        ..Default::default()
    };
    assert_eq!(
        resource(&f, 100),
        Err(
            "unable to get metrics for resource cpu: no metrics returned from resource metrics API"
                .into()
        ),
        "TestReplicaCalcEmptyMetrics"
    );
    let f = Fixture {
        current: 1,
        levels: vec![200],
        resource: true,
        ..Default::default()
    };
    let e = resource(&f, 100).unwrap_err();
    assert!(
        e.contains("missing request for"),
        "TestReplicaCalcEmptyCPURequest: {e}"
    );
}

/// `TestReplicaCalcComputedToleranceAlgImplementation`: 10 pods at 150m
/// with requests around 300m (±100, ±10, ±2, ±1, 0, 0): utilization 50%;
/// target ⌊(1/(2·0.9) + 0.01)·100⌋ = 56 → 50/56 = 0.893, just outside the
/// tolerance → ⌈8.93⌉ = 9 (upstream's finalPods ⌈0.884·10⌉ = 9); target
/// ⌊(1/(2·0.9) + 0.004)·100⌋ = 55 → 0.909, inside → 10.
#[test]
fn computed_tolerance_alg_implementation() {
    let requests = vec![400, 200, 310, 290, 302, 298, 301, 299, 300, 300];
    let f = Fixture {
        current: 10,
        requests,
        levels: vec![150; 10],
        resource: true,
        ..Default::default()
    };
    let target = |t: f64| ((1.0 / (2.0 * (1.0 - 0.1)) + t) * 100.0) as i32;
    assert_eq!(target(0.01), 56);
    assert_eq!(resource(&f, target(0.01)), Ok((9, 50, 2 * 150)));
    assert_eq!(target(0.004), 55);
    assert_eq!(resource(&f, target(0.004)), Ok((10, 50, 2 * 150)));
}

/// The Pods-metric (`podMetric`) cases: `GetMetricReplicas`, levels per pod.
#[test]
fn pods_metric_cases() {
    let cases: Vec<(&str, Fixture, i64, (u32, i64))> = vec![
        (
            "TestReplicaCalcScaleUpCM",
            Fixture {
                current: 3,
                levels: vec![20000, 10000, 30000],
                ..Default::default()
            },
            15000,
            (4, 20000),
        ),
        (
            // Readiness does not matter for a non-cpu metric: all three count.
            "TestReplicaCalcScaleUpCMUnreadyHotCpuNoLessScale",
            Fixture {
                current: 3,
                readiness: vec![true, true, false],
                start: vec![Start::Cool, Start::Cool, Start::Hot],
                levels: vec![50000, 10000, 30000],
                ..Default::default()
            },
            15000,
            (6, 30000),
        ),
        (
            "TestReplicaCalcScaleUpCMUnreadyHotCpuScaleWouldScaleDown",
            Fixture {
                current: 3,
                readiness: vec![false, true, false],
                start: vec![Start::Hot, Start::Cool, Start::Hot],
                levels: vec![50000, 15000, 30000],
                ..Default::default()
            },
            15000,
            (7, 31666),
        ),
        (
            "TestReplicaCalcScaleUpCMExternal (podMetric upstream)",
            Fixture {
                current: 1,
                levels: vec![8600],
                ..Default::default()
            },
            4400,
            (2, 8600),
        ),
        (
            "TestReplicaCalcScaleUpCMExternalNoLabels",
            Fixture {
                current: 1,
                levels: vec![8600],
                ..Default::default()
            },
            4400,
            (2, 8600),
        ),
        (
            "TestReplicaCalcScaleDownCM",
            Fixture {
                current: 5,
                levels: vec![12000; 5],
                ..Default::default()
            },
            20000,
            (3, 12000),
        ),
        (
            "TestReplicaCalcToleranceCM",
            Fixture {
                current: 3,
                levels: vec![20000, 21000, 21000],
                ..Default::default()
            },
            20000,
            (3, 20666),
        ),
        (
            // Ratio exactly 1 with two missing pods: nothing filled in → 5.
            "TestPlainMetricReplicaCalcMissingMetricsNoChangeEq",
            Fixture {
                current: 5,
                levels: vec![20000, 19000, 21000],
                ..Default::default()
            },
            20000,
            (5, 20000),
        ),
        (
            // 0.588, the missing pod at the target: 0.725 → ⌈2.18⌉ = 3 > 2 → 2.
            "TestReplicaCalcDuringRollingUpdateWithMaxSurgeCM",
            Fixture {
                current: 2,
                phase: vec![Running; 3],
                levels: vec![10000, 10000],
                ..Default::default()
            },
            17000,
            (2, 10000),
        ),
    ];
    for (name, f, target, want) in cases {
        let pods = f.pods();
        let got = calc()
            .get_metric_replicas(
                f.current,
                target,
                "qps",
                TOL,
                &input(f.current, &pods, &[]),
                0,
            )
            .map(|m| (m.replicas, m.usage));
        assert_eq!(got, Ok(want), "{name}");
    }
}

/// Object and External metrics: Value targets (`GetObjectMetricReplicas`,
/// `GetExternalMetricReplicas`) against ready pods, AverageValue targets
/// (`GetObjectPerPodMetricReplicas`, `GetExternalPerPodMetricReplicas`)
/// against the replica count the test passes.
#[test]
fn object_and_external_cases() {
    // (name, current, readiness, value, Value target, per-pod target, (replicas, usage))
    type Case<'a> = (
        &'a str,
        u32,
        Vec<bool>,
        i64,
        Option<i64>,
        Option<i64>,
        (u32, i64),
    );
    let cases: Vec<Case<'_>> = vec![
        (
            "TestReplicaCalcScaleUpCMObject",
            3,
            vec![],
            20000,
            Some(15000),
            None,
            (4, 20000),
        ),
        (
            // 5 × 1 ready pod (15 if unready pods counted).
            "TestReplicaCalcScaleUpCMObjectIgnoresUnreadyPods",
            3,
            vec![false, true, false],
            50000,
            Some(10000),
            None,
            (5, 50000),
        ),
        (
            "TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods",
            3,
            vec![false, true, false],
            8600,
            Some(4400),
            None,
            (2, 8600),
        ),
        (
            "TestReplicaCalcScaleDownCMObject",
            5,
            vec![],
            12000,
            Some(20000),
            None,
            (3, 12000),
        ),
        (
            "TestReplicaCalcScaleDownCMExternal",
            5,
            vec![],
            8600,
            Some(14334),
            None,
            (3, 8600),
        ),
        (
            "TestReplicaCalcToleranceCMObject",
            3,
            vec![],
            20666,
            Some(20000),
            None,
            (3, 20666),
        ),
        (
            "TestReplicaCalcToleranceCMExternal",
            3,
            vec![],
            8600,
            Some(8888),
            None,
            (3, 8600),
        ),
        (
            "TestReplicaCalcScaleUpCMPerPodObject",
            3,
            vec![],
            20000,
            None,
            Some(5000),
            (4, 6667),
        ),
        (
            "TestReplicaCalcScaleDownPerPodCMObject",
            5,
            vec![],
            6000,
            None,
            Some(2000),
            (3, 1200),
        ),
        (
            "TestReplicaCalcTolerancePerPodCMObject",
            4,
            vec![],
            20166,
            None,
            Some(5000),
            (4, 5042),
        ),
        (
            "TestReplicaCalcScaleUpPerPodCMExternal",
            3,
            vec![],
            8600,
            None,
            Some(2150),
            (4, 2867),
        ),
        (
            "TestReplicaCalcScaleDownPerPodCMExternal",
            5,
            vec![],
            8600,
            None,
            Some(2867),
            (3, 1720),
        ),
        (
            "TestReplicaCalcTolerancePerPodCMExternal",
            3,
            vec![],
            8600,
            None,
            Some(2900),
            (3, 2867),
        ),
    ];
    for (name, current, readiness, value, target, per_pod, want) in cases {
        let f = Fixture {
            current,
            readiness,
            ..Default::default()
        };
        let pods = f.pods();
        let values = [Some(value)];
        let inp = input(current, &pods, &values);
        let got = match (target, per_pod) {
            (Some(t), _) => calc().get_object_metric_replicas(current, t, "qps", TOL, &inp, 0),
            (_, Some(t)) => {
                calc().get_object_per_pod_metric_replicas(current, t, "qps", TOL, &inp, 0)
            }
            _ => unreachable!(),
        };
        assert_eq!(got.map(|m| (m.replicas, m.usage)), Ok(want), "{name}");
    }
}

/// `TestGroupPods`: (name, pods, resource is cpu, metric window,
/// (ready count, unready, missing, ignored)).
#[test]
fn group_pods_cases() {
    let pod = |start: Option<SimTime>, ready: Option<(bool, SimTime)>, value: bool, at: SimTime| {
        PodSample {
            phase: PodPhase::Running,
            start_time: start,
            ready,
            values: vec![value.then_some(1)],
            metric_time: at,
            requests: vec![0],
        }
    };
    let with_phase = |phase, value: bool| PodSample {
        phase,
        ..pod(None, None, value, NOW)
    };
    let m = |s| SimDuration::from_secs(s);
    type Want = (usize, Vec<usize>, Vec<usize>, Vec<usize>);
    let cases: Vec<(&str, Vec<PodSample>, bool, SimDuration, Want)> = vec![
        ("void", vec![], true, m(60), (0, vec![], vec![], vec![])),
        (
            "count in a ready pod - memory",
            vec![pod(None, None, true, NOW)],
            false,
            m(60),
            (1, vec![], vec![], vec![]),
        ),
        (
            "unready a pod without ready condition - CPU",
            vec![pod(Some(NOW), None, true, NOW)],
            true,
            m(60),
            (0, vec![0], vec![], vec![]),
        ),
        (
            // Metric at now, window 30 s, ready 30 s ago: not before transition + window.
            "count in a ready pod with fresh metrics during initialization period - CPU",
            vec![pod(Some(ago(60)), Some((true, ago(30))), true, NOW)],
            true,
            m(30),
            (1, vec![], vec![], vec![]),
        ),
        (
            "unready a ready pod without fresh metrics during initialization period - CPU",
            vec![pod(Some(ago(60)), Some((true, ago(30))), true, NOW)],
            true,
            m(60),
            (0, vec![0], vec![], vec![]),
        ),
        (
            // Started 10 min ago (past 2 min), unready since 9m54s ago: start + 10 s is after it.
            "unready an unready pod during initialization period - CPU",
            vec![pod(Some(ago(600)), Some((false, ago(594))), true, NOW)],
            true,
            m(60),
            (0, vec![0], vec![], vec![]),
        ),
        (
            "count in a ready pod without fresh metrics after initialization period - CPU",
            vec![pod(Some(ago(180)), Some((true, ago(180))), true, ago(120))],
            true,
            m(60),
            (1, vec![], vec![], vec![]),
        ),
        (
            "count in an unready pod that was ready after initialization period - CPU",
            vec![pod(Some(ago(600)), Some((false, ago(540))), true, NOW)],
            true,
            m(60),
            (1, vec![], vec![], vec![]),
        ),
        (
            // Transition exactly start + 10 s: not After it → counted (the boundary).
            "unready pod that has never been ready after initialization period - CPU",
            vec![pod(Some(ago(600)), Some((false, ago(590))), true, NOW)],
            true,
            m(60),
            (1, vec![], vec![], vec![]),
        ),
        (
            "a missing pod",
            vec![pod(Some(ago(180)), None, false, NOW)],
            true,
            m(60),
            (0, vec![], vec![0], vec![]),
        ),
        (
            "several pods",
            vec![
                pod(Some(NOW), None, true, NOW),
                pod(Some(ago(180)), Some((true, ago(180))), true, NOW),
                pod(Some(ago(180)), None, false, NOW),
            ],
            true,
            m(60),
            (1, vec![0], vec![2], vec![]),
        ),
        (
            "pending pods are unreadied",
            vec![with_phase(PodPhase::Pending, false)],
            true,
            m(60),
            (0, vec![0], vec![], vec![]),
        ),
        (
            "ignore pods with deletion timestamps",
            vec![with_phase(PodPhase::Deleting, true)],
            true,
            m(60),
            (0, vec![], vec![], vec![0]),
        ),
        (
            "ignore pods in a failed state",
            vec![with_phase(PodPhase::Failed, true)],
            true,
            m(60),
            (0, vec![], vec![], vec![0]),
        ),
    ];
    for (name, pods, cpu, window, (ready, unready, missing, ignored)) in cases {
        let g = group_pods(&pods, 0, cpu, NOW, window, m(120), m(10));
        assert_eq!(
            g,
            PodGroups {
                ready_pod_count: ready,
                unready_pods: unready,
                missing_pods: missing,
                ignored_pods: ignored,
            },
            "{name}"
        );
    }
}
