//! An autoscaler as a scenario declares it, and the metrics both worlds can
//! provide.
//!
//! Key decision: one [`AutoscalerSpec`] enum names every autoscaler a
//! scenario may choose; the worlds build the autoscaler from it and collect
//! exactly the metrics its spec lists ([`AutoscalerSpec::metrics`]), so a
//! metric a world cannot measure is rejected when the scenario is read,
//! not discovered mid-run.

use super::Autoscale;
use super::hpa::{Hpa, HpaConfig, HpaSpec, MetricSource, MetricSpec};
use super::knative::{Kpa, KpaSpec};
use super::predictive::{Predictive, PredictiveSpec};
use super::step::{StepScaling, StepScalingSpec};
use super::target_tracking::{TargetTracking, TargetTrackingSpec};

/// Per-replica (`Pods`) metrics the simulator and the live proxy measure.
pub const POD_METRICS: &[(&str, &str)] = &[
    (
        "requests_per_second",
        "requests completed per second by the replica over the scrape window",
    ),
    (
        "in_flight",
        "requests in service or queued at the replica, averaged over the scrape window",
    ),
];

/// Service-level (`Object`/`External`) metrics.
pub const SERVICE_METRICS: &[(&str, &str)] = &[
    (
        "requests_per_second",
        "requests arriving at the service per second over the scrape window",
    ),
    (
        "in_flight",
        "requests in service or waiting anywhere in the service, averaged over the scrape window",
    ),
    (
        "latency_p99_ms",
        "99th percentile latency of the scrape window, milliseconds",
    ),
];

/// Checks a metric's name against what the worlds provide.
pub fn check_metric(m: &MetricSpec) -> Result<(), String> {
    let (name, list) = match &m.source {
        MetricSource::Resource(_) => return Ok(()),
        MetricSource::Pods(n) => (n, POD_METRICS),
        MetricSource::Object(n) | MetricSource::External(n) => (n, SERVICE_METRICS),
    };
    if list.iter().any(|(k, _)| k == name) {
        Ok(())
    } else {
        let names: Vec<&str> = list.iter().map(|(k, _)| *k).collect();
        Err(format!(
            "unknown metric '{name}'; choose from: {}",
            names.join(", ")
        ))
    }
}

/// Every autoscaler a scenario can name.
#[derive(Clone, Debug, PartialEq)]
pub enum AutoscalerSpec {
    /// Kubernetes' HPA.
    Hpa(HpaSpec, HpaConfig),
    /// AWS target tracking.
    TargetTracking(TargetTrackingSpec),
    /// AWS step scaling.
    Step(StepScalingSpec),
    /// Holt–Winters predictive.
    Predictive(PredictiveSpec),
    /// Knative KPA.
    Knative(KpaSpec),
}

impl AutoscalerSpec {
    /// The metrics to collect, in the order the autoscaler reads them.
    pub fn metrics(&self) -> Vec<MetricSpec> {
        match self {
            AutoscalerSpec::Hpa(s, _) => s.metrics.clone(),
            AutoscalerSpec::TargetTracking(s) => vec![s.metric.clone()],
            AutoscalerSpec::Step(s) => vec![s.metric.clone()],
            AutoscalerSpec::Predictive(s) => vec![s.metric.clone()],
            AutoscalerSpec::Knative(_) => vec![MetricSpec {
                source: MetricSource::Object("in_flight".into()),
                target: super::hpa::MetricTarget::Value(1),
            }],
        }
    }

    /// `(min, max)` replicas; `max` 0 means unbounded.
    pub fn bounds(&self) -> (u32, u32) {
        match self {
            AutoscalerSpec::Hpa(s, _) => (s.min_replicas, s.max_replicas),
            AutoscalerSpec::TargetTracking(s) => (s.min_replicas, s.max_replicas),
            AutoscalerSpec::Step(s) => (s.min_replicas, s.max_replicas),
            AutoscalerSpec::Predictive(s) => (s.min_replicas, s.max_replicas),
            AutoscalerSpec::Knative(s) => (s.min_replicas, s.max_replicas),
        }
    }

    /// A fresh autoscaler.
    pub fn build(&self) -> Box<dyn Autoscale> {
        match self {
            AutoscalerSpec::Hpa(s, c) => Box::new(Hpa::with_config(s.clone(), *c)),
            AutoscalerSpec::TargetTracking(s) => Box::new(TargetTracking::new(s.clone())),
            AutoscalerSpec::Step(s) => Box::new(StepScaling::new(s.clone())),
            AutoscalerSpec::Predictive(s) => Box::new(Predictive::new(s.clone())),
            AutoscalerSpec::Knative(s) => Box::new(Kpa::new(s.clone())),
        }
    }
}

/// Autoscaler kinds with one-line descriptions, for `sim list policies`.
pub const AUTOSCALERS: &[(&str, &str)] = &[
    (
        "hpa",
        "Kubernetes HorizontalPodAutoscaler (autoscaling/v2): replica calculator, behavior policies, stabilisation",
    ),
    (
        "target-tracking",
        "AWS target tracking: 3×1 min high alarm, 15×1 min low alarm, proportional capacity, cooldowns",
    ),
    (
        "step",
        "AWS step scaling: an alarm's breach size selects a step adjustment, cooldowns",
    ),
    (
        "predictive",
        "Holt-Winters forecast of the load one start-up delay ahead, decreases stabilised",
    ),
    (
        "knative",
        "Knative KPA: concurrency target, 60 s stable / 6 s panic windows, scale to zero",
    ),
];

/// One replica's scraped per-pod values, in milli-units: CPU usage
/// (millicores), memory (bytes), completed requests per second, in-flight
/// requests. Both worlds fill it the same way.
pub type PodValues = [i64; 4];

/// Service-level scraped values, in milli-units: arriving requests per
/// second, in-flight requests, p99 latency in milliseconds.
pub type ServiceValues = [Option<i64>; 3];

/// The phase the HPA sees for a replica state; `None` for replicas gone for good.
pub fn pod_phase(state: crate::model::ReplicaState) -> Option<super::PodPhase> {
    use super::PodPhase;
    use crate::model::ReplicaState;
    Some(match state {
        ReplicaState::Pending | ReplicaState::Starting => PodPhase::Pending,
        ReplicaState::Ready => PodPhase::Running,
        ReplicaState::Terminating => PodPhase::Deleting,
        ReplicaState::Failed => PodPhase::Failed,
        ReplicaState::Terminated => return None,
    })
}

/// The sample of one replica in `state` since `since`, with `requests`, and
/// the values of its last scrape at `at` (if it has been scraped), for the
/// autoscaler that reads `metrics`. `None` for replicas gone for good.
pub fn pod_sample(
    metrics: &[MetricSpec],
    state: crate::model::ReplicaState,
    since: crate::time::SimTime,
    requests: crate::model::Resources,
    values: Option<PodValues>,
    at: crate::time::SimTime,
) -> Option<super::PodSample> {
    use super::hpa::ResourceMetric;
    let phase = pod_phase(state)?;
    let running = phase == super::PodPhase::Running;
    let pick = |m: &MetricSpec| -> Option<i64> {
        let v = values?;
        match &m.source {
            MetricSource::Resource(ResourceMetric::Cpu) => Some(v[0]),
            MetricSource::Resource(ResourceMetric::Memory) => Some(v[1]),
            MetricSource::Pods(n) if n == "requests_per_second" => Some(v[2]),
            MetricSource::Pods(n) if n == "in_flight" => Some(v[3]),
            _ => None,
        }
    };
    let request = |m: &MetricSpec| match &m.source {
        MetricSource::Resource(ResourceMetric::Cpu) => requests.cpu_milli as i64,
        MetricSource::Resource(ResourceMetric::Memory) => requests.memory_bytes as i64,
        _ => 0,
    };
    Some(super::PodSample {
        phase,
        start_time: running.then_some(since),
        ready: running.then_some((true, since)),
        values: metrics.iter().map(pick).collect(),
        metric_time: at,
        requests: metrics.iter().map(request).collect(),
    })
}

/// The value of an Object/External metric from the service-level scrape;
/// `None` for per-pod metrics.
pub fn service_value(m: &MetricSpec, v: &ServiceValues) -> Option<i64> {
    match &m.source {
        MetricSource::Object(n) | MetricSource::External(n) => match n.as_str() {
            "requests_per_second" => v[0],
            "in_flight" => v[1],
            "latency_p99_ms" => v[2],
            _ => None,
        },
        _ => None,
    }
}
