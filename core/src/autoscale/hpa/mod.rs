//! Kubernetes' Horizontal Pod Autoscaler (autoscaling/v2), exactly.
//!
//! Key decision: this is a transcription of upstream's replica calculator
//! and controller (`pkg/controller/podautoscaler/replica_calculator.go`,
//! `horizontal.go`, defaults in `pkg/apis/autoscaling/v2/defaults.go`), with
//! upstream's integer and float operations in upstream's order, so a spec
//! copied from a cluster recommends what that cluster's HPA would:
//! utilisation is an integer percent of requests, ratios within the
//! tolerance (0.1) keep the current count, missing and not-yet-ready
//! replicas are filled in pessimistically before scaling, behaviour policies
//! limit the rate (Percent up rounds up, Percent down truncates), and the
//! stabilisation windows (0 s up, 300 s down) smooth recommendations.
//!
//! The spec and its validation live in `spec`, the replica calculator in
//! `replicas`, stabilisation and rate limits in `behavior`; this module
//! holds the controller and its sync.

use super::{Autoscale, Recommendation, ScaleInput};
use crate::time::{SimDuration, SimTime};

mod behavior;
mod replicas;
mod spec;

pub use replicas::MetricError;
pub use spec::{
    HpaConfig, HpaSpec, MetricSource, MetricSpec, MetricTarget, PolicyKind, ResourceMetric,
    ScalingPolicy, ScalingRules, SelectPolicy,
};

/// The Horizontal Pod Autoscaler controller for one target.
#[derive(Clone, Debug)]
pub struct Hpa {
    spec: HpaSpec,
    config: HpaConfig,
    /// Unstabilised recommendations `(time, replicas)`.
    recommendations: Vec<(SimTime, u32)>,
    /// Scale events `(time, change)`.
    up_events: Vec<(SimTime, u32)>,
    down_events: Vec<(SimTime, u32)>,
}

impl Hpa {
    /// An HPA with the controller's default flags.
    pub fn new(spec: HpaSpec) -> Hpa {
        Hpa::with_config(spec, HpaConfig::default())
    }

    /// An HPA with explicit controller flags.
    pub fn with_config(spec: HpaSpec, config: HpaConfig) -> Hpa {
        Hpa {
            spec,
            config,
            recommendations: Vec::new(),
            up_events: Vec::new(),
            down_events: Vec::new(),
        }
    }

    /// The spec.
    pub fn spec(&self) -> &HpaSpec {
        &self.spec
    }

    /// upstream `computeReplicasForMetrics`: the largest proposal; no
    /// scaling when every metric failed, or when some failed and the rest
    /// would scale down.
    fn replicas_for_metrics(&self, input: &ScaleInput<'_>) -> Result<(u32, String), String> {
        let (mut best, mut reason, mut invalid, mut last_err) = (0u32, String::new(), 0, None);
        for k in 0..self.spec.metrics.len() {
            match self.metric_replicas(k, input) {
                Ok(r) => {
                    if r > best || reason.is_empty() {
                        best = best.max(r);
                        reason = describe(&self.spec.metrics[k]);
                    }
                }
                Err(e) => {
                    invalid += 1;
                    last_err = Some(e.0);
                }
            }
        }
        if invalid >= self.spec.metrics.len() || (invalid > 0 && best < input.spec_replicas) {
            return Err(last_err.unwrap_or_default());
        }
        Ok((best, reason))
    }
}

fn describe(m: &MetricSpec) -> String {
    match &m.source {
        MetricSource::Resource(r) => match m.target {
            MetricTarget::Utilization(_) => {
                format!(
                    "{} resource utilization (percentage of request)",
                    r.as_str()
                )
            }
            _ => format!("{} resource", r.as_str()),
        },
        MetricSource::Pods(n) => format!("pods metric {n}"),
        MetricSource::Object(n) => format!("object metric {n}"),
        MetricSource::External(n) => format!("external metric {n}"),
    }
}

impl Autoscale for Hpa {
    fn name(&self) -> &'static str {
        "hpa"
    }

    fn sync_period(&self) -> SimDuration {
        self.config.sync_period
    }

    /// upstream `reconcileAutoscaler` for one sync.
    fn recommend(&mut self, input: &ScaleInput<'_>) -> Recommendation {
        let (now, current) = (input.now, input.spec_replicas);
        let (desired, reason) = if current == 0 {
            (
                0,
                "scaling is disabled since the replica count of the target is zero".to_string(),
            )
        } else if current > self.spec.max_replicas {
            (
                self.spec.max_replicas,
                "current number of replicas above maxReplicas".to_string(),
            )
        } else if current < self.spec.min_replicas {
            (
                self.spec.min_replicas,
                "current number of replicas below minReplicas".to_string(),
            )
        } else {
            match self.replicas_for_metrics(input) {
                Err(e) => (current, format!("failed to compute desired replicas: {e}")),
                Ok((proposal, metric)) => {
                    let stabilized = self.stabilize(now, current, proposal);
                    let (d, limit) = self.rate_limit(now, current, stabilized);
                    let dir = match proposal.cmp(&current) {
                        std::cmp::Ordering::Greater => "above target",
                        std::cmp::Ordering::Less => "below target",
                        std::cmp::Ordering::Equal => "within tolerance",
                    };
                    (
                        d,
                        format!(
                            "{metric} {dir}; proposal {proposal}, stabilized {stabilized}, {limit}"
                        ),
                    )
                }
            }
        };
        if desired != current {
            self.store_event(now, current, desired);
        }
        Recommendation {
            replicas: desired,
            reason,
        }
    }
}

#[cfg(test)]
mod tests;
