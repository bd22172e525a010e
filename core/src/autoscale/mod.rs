//! Autoscaling: desired replica counts from metrics and history.
//!
//! Key decision: an autoscaler is a plain struct behind one [`Autoscale`]
//! trait, called on its own sync period with a [`ScaleInput`]: the current
//! `spec.replicas`, one [`PodSample`] per replica with the metrics the
//! pipeline scraped (possibly stale or missing), and per-service totals.
//! The worlds (simulator, live backend) build the input; the autoscaler
//! never sees how the numbers were made, so the Kubernetes HPA here is the
//! same code whether the replicas are simulated or real containers.
//! Node autoscalers (the Cluster Autoscaler, Karpenter-style
//! consolidation) change node group sizes instead, behind their own
//! [`cluster::NodeAutoscale`] trait.

pub mod cluster;
pub mod hpa;
pub mod knative;
pub mod predictive;
pub mod replay;
pub mod spec;
pub mod step;
pub mod target_tracking;

use crate::time::{SimDuration, SimTime};

/// A replica's phase as Kubernetes' HPA sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodPhase {
    /// Not yet running (unscheduled, pulling, starting).
    Pending,
    /// Containers running.
    Running,
    /// Crashed.
    Failed,
    /// Being deleted (has a deletion timestamp).
    Deleting,
}

/// One replica at a sync.
#[derive(Clone, Debug, PartialEq)]
pub struct PodSample {
    /// Phase.
    pub phase: PodPhase,
    /// When its containers started, if they have.
    pub start_time: Option<SimTime>,
    /// The Ready condition: `(ready, last transition time)`; `None` before
    /// the kubelet reported one.
    pub ready: Option<(bool, SimTime)>,
    /// Per metric of the autoscaler's spec, in spec order: this replica's
    /// value in milli-units (CPU in millicores, memory in bytes × 1000,
    /// `requests_per_second` 12.5 as 12500), or `None` if missing. Object
    /// and external metrics are in [`ScaleInput::values`] instead.
    pub values: Vec<Option<i64>>,
    /// When the values were measured (end of the scrape window).
    pub metric_time: SimTime,
    /// The replica's requests per resource metric, in spec order, in the
    /// same milli-units (0 for non-resource metrics).
    pub requests: Vec<i64>,
}

/// What an autoscaler sees at one sync.
#[derive(Clone, Debug, PartialEq)]
pub struct ScaleInput<'a> {
    /// Now.
    pub now: SimTime,
    /// The target's `spec.replicas`.
    pub spec_replicas: u32,
    /// Every replica of the target (any phase).
    pub pods: &'a [PodSample],
    /// Per metric in spec order, the object/external value in milli-units
    /// (`None` for per-pod metrics or when missing).
    pub values: &'a [Option<i64>],
    /// The metrics pipeline's averaging window (metrics-server: 30 s in the
    /// kubelet summary API; used by the CPU initialisation rule).
    pub metric_window: SimDuration,
}

/// A recommendation with the reason a user would want to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recommendation {
    /// Desired replicas.
    pub replicas: u32,
    /// Why (`"cpu resource utilization (percentage of request) above target"` …).
    pub reason: String,
}

/// An autoscaler: desired replicas for one target from metrics and history.
pub trait Autoscale: Send {
    /// The name the registry knows it by.
    fn name(&self) -> &'static str;
    /// How often it is called.
    fn sync_period(&self) -> SimDuration;
    /// The recommendation at `input.now`; the caller sets `spec.replicas` to
    /// it. Stateful autoscalers record what they need for the next call.
    fn recommend(&mut self, input: &ScaleInput<'_>) -> Recommendation;
}

/// The current value of metric `k` in the units of its target: a percent of
/// requests for utilisation targets (Σ usage · 100 / Σ requests over running
/// replicas with a sample), the per-replica mean for average-value targets,
/// the value itself for object/external value targets. `None` without data.
pub fn current_value(spec: &hpa::MetricSpec, k: usize, input: &ScaleInput<'_>) -> Option<f64> {
    use hpa::{MetricSource, MetricTarget};
    let running = || {
        input
            .pods
            .iter()
            .filter(|p| p.phase == PodPhase::Running)
            .filter_map(move |p| p.values.get(k).copied().flatten().map(|v| (p, v)))
    };
    match (&spec.source, spec.target) {
        (MetricSource::Resource(_), MetricTarget::Utilization(_)) => {
            let (mut used, mut req) = (0i64, 0i64);
            for (p, v) in running() {
                used += v;
                req += p.requests.get(k).copied().unwrap_or(0);
            }
            (req > 0).then(|| used as f64 * 100.0 / req as f64)
        }
        (MetricSource::Resource(_) | MetricSource::Pods(_), _) => {
            let (mut sum, mut n) = (0i64, 0i64);
            for (_, v) in running() {
                sum += v;
                n += 1;
            }
            (n > 0).then(|| sum as f64 / n as f64)
        }
        (_, MetricTarget::AverageValue(_)) => {
            let active = input
                .pods
                .iter()
                .filter(|p| matches!(p.phase, PodPhase::Pending | PodPhase::Running))
                .count();
            let v = input.values.get(k).copied().flatten()?;
            (active > 0).then(|| v as f64 / active as f64)
        }
        _ => input.values.get(k).copied().flatten().map(|v| v as f64),
    }
}

/// The target of `spec` in the units of [`current_value`].
pub fn target_value(spec: &hpa::MetricSpec) -> f64 {
    match spec.target {
        hpa::MetricTarget::Utilization(u) => f64::from(u),
        hpa::MetricTarget::AverageValue(v) | hpa::MetricTarget::Value(v) => v as f64,
    }
}

/// Replicas that are running and ready.
pub fn ready_replicas(input: &ScaleInput<'_>) -> u32 {
    input
        .pods
        .iter()
        .filter(|p| p.phase == PodPhase::Running && p.ready.is_some_and(|r| r.0))
        .count() as u32
}
