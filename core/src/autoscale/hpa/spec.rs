//! The HPA's API objects (`autoscaling/v2` `spec.metrics`, `spec.behavior`,
//! min and max replicas), the controller flags it reads, and the API
//! server's validation of a spec.

use crate::time::SimDuration;

/// Which resource a `Resource` metric reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceMetric {
    /// CPU usage (millicores).
    Cpu,
    /// Memory working set (bytes).
    Memory,
}

impl ResourceMetric {
    /// The Kubernetes name.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceMetric::Cpu => "cpu",
            ResourceMetric::Memory => "memory",
        }
    }
}

/// Where a metric comes from (`MetricSpec.type`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetricSource {
    /// `Resource`: per-pod usage of a resource.
    Resource(ResourceMetric),
    /// `Pods`: a per-pod custom metric, e.g. `requests_per_second`.
    Pods(String),
    /// `Object`: one value describing another object, e.g. an ingress's request rate.
    Object(String),
    /// `External`: one value from outside the cluster, e.g. a queue's length.
    External(String),
}

/// The target of a metric (`MetricTarget`), values in milli-units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricTarget {
    /// `averageUtilization`: percent of requests (Resource only).
    Utilization(i32),
    /// `averageValue`: per replica.
    AverageValue(i64),
    /// `value`: the whole (Object/External only).
    Value(i64),
}

/// One entry of `spec.metrics`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricSpec {
    /// Source.
    pub source: MetricSource,
    /// Target.
    pub target: MetricTarget,
}

/// `HPAScalingPolicyType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyKind {
    /// At most `value` replicas per period.
    Pods,
    /// At most `value` percent of the replicas at the period's start.
    Percent,
}

/// `HPAScalingPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScalingPolicy {
    /// Pods or Percent.
    pub kind: PolicyKind,
    /// Amount (> 0).
    pub value: i32,
    /// `periodSeconds` (1..=1800).
    pub period: SimDuration,
}

/// `selectPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectPolicy {
    /// The policy allowing the largest change (default).
    Max,
    /// The policy allowing the smallest change.
    Min,
    /// No scaling in this direction.
    Disabled,
}

/// `HPAScalingRules` for one direction.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingRules {
    /// `stabilizationWindowSeconds`.
    pub stabilization_window: SimDuration,
    /// `selectPolicy`.
    pub select: SelectPolicy,
    /// `policies`.
    pub policies: Vec<ScalingPolicy>,
    /// `tolerance` (Kubernetes 1.33 `HPAConfigurableTolerance`); `None` uses
    /// the controller's `--horizontal-pod-autoscaler-tolerance` (0.1).
    pub tolerance: Option<f64>,
}

impl ScalingRules {
    /// Upstream default for scale up: no stabilisation; the larger of +4
    /// pods or +100% per 15 s.
    pub fn default_up() -> ScalingRules {
        ScalingRules {
            stabilization_window: SimDuration::ZERO,
            select: SelectPolicy::Max,
            policies: vec![
                ScalingPolicy {
                    kind: PolicyKind::Pods,
                    value: 4,
                    period: SimDuration::from_secs(15),
                },
                ScalingPolicy {
                    kind: PolicyKind::Percent,
                    value: 100,
                    period: SimDuration::from_secs(15),
                },
            ],
            tolerance: None,
        }
    }

    /// Upstream default for scale down: −100% per 15 s; the stabilisation
    /// window upstream leaves unset (`defaultHPAScaleDownRules`) and the
    /// controller fills from `--horizontal-pod-autoscaler-downscale-stabilization`
    /// (`maybeInitScaleDownStabilizationWindow`), here its default 300 s.
    pub fn default_down() -> ScalingRules {
        ScalingRules {
            stabilization_window: SimDuration::from_secs(300),
            select: SelectPolicy::Max,
            policies: vec![ScalingPolicy {
                kind: PolicyKind::Percent,
                value: 100,
                period: SimDuration::from_secs(15),
            }],
            tolerance: None,
        }
    }
}

/// `spec.behavior` (`HorizontalPodAutoscalerBehavior`) with both
/// directions filled in as the API server's defaulting fills them
/// (`GenerateHPAScaleUpRules` / `GenerateHPAScaleDownRules` in
/// `pkg/apis/autoscaling/v2/defaults.go`).
#[derive(Clone, Debug, PartialEq)]
pub struct HpaBehavior {
    /// `behavior.scaleUp`.
    pub scale_up: ScalingRules,
    /// `behavior.scaleDown`.
    pub scale_down: ScalingRules,
}

impl Default for HpaBehavior {
    /// A `behavior: {}` written out: both directions at the API defaults.
    fn default() -> HpaBehavior {
        HpaBehavior {
            scale_up: ScalingRules::default_up(),
            scale_down: ScalingRules::default_down(),
        }
    }
}

/// An HPA's spec: `minReplicas`, `maxReplicas`, `metrics`, `behavior`.
#[derive(Clone, Debug, PartialEq)]
pub struct HpaSpec {
    /// `minReplicas` (≥ 1).
    pub min_replicas: u32,
    /// `maxReplicas` (≥ min).
    pub max_replicas: u32,
    /// `metrics` (at least one).
    pub metrics: Vec<MetricSpec>,
    /// `behavior`; `None` when the object has none, which makes the
    /// controller take its no-behavior path (`normalizeDesiredReplicas`),
    /// not the API-default rules (see the module documentation).
    pub behavior: Option<HpaBehavior>,
}

/// The kube-controller-manager flags the HPA reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HpaConfig {
    /// `--horizontal-pod-autoscaler-sync-period` (15 s).
    pub sync_period: SimDuration,
    /// `--horizontal-pod-autoscaler-tolerance` (0.1).
    pub tolerance: f64,
    /// `--horizontal-pod-autoscaler-cpu-initialization-period` (5 min).
    pub cpu_initialization_period: SimDuration,
    /// `--horizontal-pod-autoscaler-initial-readiness-delay` (30 s).
    pub initial_readiness_delay: SimDuration,
    /// `--horizontal-pod-autoscaler-downscale-stabilization` (5 min): the
    /// window of the no-behavior path, and of a `behavior.scaleDown` without
    /// `stabilizationWindowSeconds`.
    pub downscale_stabilization: SimDuration,
}

impl Default for HpaConfig {
    fn default() -> HpaConfig {
        HpaConfig {
            sync_period: SimDuration::from_secs(15),
            tolerance: 0.1,
            cpu_initialization_period: SimDuration::from_secs(300),
            initial_readiness_delay: SimDuration::from_secs(30),
            downscale_stabilization: SimDuration::from_secs(300),
        }
    }
}

impl HpaSpec {
    /// Checks the spec as the API server's validation does; the error names the field.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let err = |f: &str, m: String| Err((f.to_string(), m));
        if self.min_replicas == 0 {
            return err(
                "minReplicas",
                "must be at least 1 (scale to zero needs the alpha HPAScaleToZero gate; use the knative autoscaler)".into(),
            );
        }
        if self.max_replicas < self.min_replicas {
            return err(
                "maxReplicas",
                format!(
                    "{} is below minReplicas {}",
                    self.max_replicas, self.min_replicas
                ),
            );
        }
        if self.metrics.is_empty() {
            return err("metrics", "needs at least one metric".into());
        }
        for (k, m) in self.metrics.iter().enumerate() {
            let ok = match (&m.source, m.target) {
                (MetricSource::Resource(_), MetricTarget::Utilization(u)) => u > 0,
                (_, MetricTarget::Utilization(_)) => {
                    return err(
                        &format!("metrics[{k}].target"),
                        "averageUtilization applies to Resource metrics only".into(),
                    );
                }
                (MetricSource::Resource(_) | MetricSource::Pods(_), MetricTarget::Value(_)) => {
                    return err(
                        &format!("metrics[{k}].target"),
                        "value applies to Object and External metrics only; use averageValue"
                            .into(),
                    );
                }
                (_, MetricTarget::AverageValue(v) | MetricTarget::Value(v)) => v > 0,
            };
            if !ok {
                return err(
                    &format!("metrics[{k}].target"),
                    "must be greater than 0".into(),
                );
            }
        }
        let Some(behavior) = &self.behavior else {
            return Ok(());
        };
        for (dir, rules) in [
            ("scaleUp", &behavior.scale_up),
            ("scaleDown", &behavior.scale_down),
        ] {
            if rules.stabilization_window > SimDuration::from_secs(3600) {
                return err(
                    &format!("behavior.{dir}.stabilizationWindowSeconds"),
                    "must be at most 3600".into(),
                );
            }
            if rules.policies.is_empty() && rules.select != SelectPolicy::Disabled {
                return err(
                    &format!("behavior.{dir}.policies"),
                    "needs at least one policy".into(),
                );
            }
            for (k, p) in rules.policies.iter().enumerate() {
                if p.value <= 0 {
                    return err(
                        &format!("behavior.{dir}.policies[{k}].value"),
                        "must be greater than 0".into(),
                    );
                }
                if p.period == SimDuration::ZERO || p.period > SimDuration::from_secs(1800) {
                    return err(
                        &format!("behavior.{dir}.policies[{k}].periodSeconds"),
                        "must be between 1 and 1800".into(),
                    );
                }
            }
            if let Some(t) = rules.tolerance
                && !(0.0..1.0).contains(&t)
            {
                return err(
                    &format!("behavior.{dir}.tolerance"),
                    "must be at least 0 and below 1".into(),
                );
            }
        }
        Ok(())
    }
}
