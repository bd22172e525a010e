//! Kubernetes' Horizontal Pod Autoscaler (autoscaling/v2), exactly.
//!
//! Key decision: this is a transcription of upstream's replica calculator
//! and controller (`pkg/controller/podautoscaler/replica_calculator.go`,
//! `horizontal.go`, defaults in `pkg/apis/autoscaling/v2/defaults.go`), with
//! upstream's integer and float operations in upstream's order, so a spec
//! copied from a cluster recommends what that cluster's HPA would:
//! utilisation is an integer percent of requests, ratios within the
//! tolerance (0.1, inclusive) keep the current count, missing and
//! not-yet-ready replicas are filled in pessimistically before scaling, and
//! the proposal is then normalised by one of upstream's two paths. Every
//! step is a public function under its upstream name (`group_pods`,
//! `normalize_desired_replicas`, …) over plain data ([`TimestampedRecommendation`],
//! [`TimestampedScaleEvent`]), so an outside caller can replay upstream's
//! own test tables against them (`upstream_*_tests.rs`).
//!
//! # An HPA without `behavior`
//!
//! A real cluster runs the controller's *no-behavior path* for it, not the
//! API-default rules written out:
//! - `SetDefaults_HorizontalPodAutoscalerBehavior` in
//!   `pkg/apis/autoscaling/v2/defaults.go` fills `scaleUp`/`scaleDown` only
//!   `if obj.Spec.Behavior != nil`; an object created without `behavior` (and
//!   every `autoscaling/v1` object, which has no such field) is stored with
//!   `behavior` nil, and reads back without it.
//! - `reconcileAutoscaler` in `pkg/controller/podautoscaler/horizontal.go`
//!   branches on `hpa.Spec.Behavior == nil`: `normalizeDesiredReplicas`
//!   (downscale stabilisation over the recommendations of the last
//!   `--horizontal-pod-autoscaler-downscale-stabilization`, default 5 min,
//!   then `convertDesiredReplicasWithRules`: at most `max(2 · current, 4)`
//!   per sync via `calculateScaleUpLimit`, and min/max) versus
//!   `normalizeDesiredReplicasWithBehaviors`; and `storeScaleEvent` returns
//!   at once for a nil behavior, so no scale events are kept.
//!
//! So [`HpaSpec::behavior`] is `None` for such an HPA and [`Hpa`] takes
//! [`normalize_desired_replicas`]; `behavior = {}` in a scenario is an
//! explicit behavior at the defaults and takes the other path. Both paths
//! start from upstream's `recordInitialRecommendation`: the first sync
//! stores the current count as a recommendation, so a new HPA does not
//! scale down within its first stabilisation window.
//!
//! The controller's conditions (AbleToScale, ScalingActive, ScalingLimited)
//! are kept as upstream sets them and returned by [`Hpa::sync`] with the
//! reasons upstream names them ([`ConditionReason`]).
//!
//! The spec and its validation live in `spec`, the replica calculator in
//! `replicas`, normalisation in `behavior`; this module holds the
//! controller and its sync.

use super::{Autoscale, Recommendation, ScaleInput};
use crate::time::{SimDuration, SimTime};

mod behavior;
mod replicas;
mod spec;

pub use behavior::{
    Condition, ConditionReason, NormalizationArg, Normalized, TimestampedRecommendation,
    TimestampedScaleEvent, calculate_scale_down_limit_with_behaviors, calculate_scale_up_limit,
    calculate_scale_up_limit_with_scaling_rules, convert_desired_replicas_with_behavior_rate,
    convert_desired_replicas_with_rules, get_longest_policy_period, get_replicas_change_per_period,
    mark_scale_events_outdated, normalize_desired_replicas,
    normalize_desired_replicas_with_behaviors, stabilize_recommendation,
    stabilize_recommendation_with_behaviors, store_scale_event,
};
pub use replicas::{
    MetricError, MetricReplicas, PodGroups, ReplicaCalculator, Tolerances, get_metric_usage_ratio,
    get_resource_utilization_ratio, group_pods,
};
pub use spec::{
    HpaBehavior, HpaConfig, HpaSpec, MetricSource, MetricSpec, MetricTarget, PolicyKind,
    ResourceMetric, ScalingPolicy, ScalingRules, SelectPolicy,
};

/// What the controller keeps between syncs for one HPA (upstream's
/// `recommendations`, `scaleUpEvents` and `scaleDownEvents` maps, for one
/// key). Plain data: a caller may build it and hand it to [`Hpa::history_mut`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HpaHistory {
    /// Unstabilised recommendations.
    pub recommendations: Vec<TimestampedRecommendation>,
    /// Scale-up events (only with `behavior`).
    pub scale_up_events: Vec<TimestampedScaleEvent>,
    /// Scale-down events (only with `behavior`).
    pub scale_down_events: Vec<TimestampedScaleEvent>,
}

/// The three status conditions, `None` until the controller first sets one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HpaConditions {
    /// `AbleToScale`.
    pub able_to_scale: Option<Condition>,
    /// `ScalingActive`.
    pub scaling_active: Option<Condition>,
    /// `ScalingLimited`.
    pub scaling_limited: Option<Condition>,
}

/// One sync's outcome (upstream's status after `reconcileAutoscaler`).
#[derive(Clone, Debug, PartialEq)]
pub struct HpaStatus {
    /// `status.desiredReplicas`: the count the target is set to.
    pub desired_replicas: u32,
    /// The largest metric proposal before normalisation (`None` when no
    /// metric was computed: zero, below min, above max, or failed).
    pub metric_desired_replicas: Option<u32>,
    /// Per metric of the spec, what it proposed and measured, or why not
    /// (empty when the metrics were not computed).
    pub metrics: Vec<Result<MetricReplicas, MetricError>>,
    /// The conditions after the sync.
    pub conditions: HpaConditions,
    /// upstream's `rescaleReason` (or why nothing was computed).
    pub reason: String,
}

/// The Horizontal Pod Autoscaler controller for one target.
#[derive(Clone, Debug)]
pub struct Hpa {
    spec: HpaSpec,
    config: HpaConfig,
    history: HpaHistory,
    conditions: HpaConditions,
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
            history: HpaHistory::default(),
            conditions: HpaConditions::default(),
        }
    }

    /// The spec.
    pub fn spec(&self) -> &HpaSpec {
        &self.spec
    }

    /// The stored recommendations and scale events.
    pub fn history(&self) -> &HpaHistory {
        &self.history
    }

    /// The stored recommendations and scale events, to seed or edit.
    pub fn history_mut(&mut self) -> &mut HpaHistory {
        &mut self.history
    }

    /// The conditions as of the last sync.
    pub fn conditions(&self) -> HpaConditions {
        self.conditions
    }

    /// The replica calculator with this controller's flags.
    pub fn calculator(&self) -> ReplicaCalculator {
        ReplicaCalculator::new(&self.config)
    }

    /// The tolerances: `behavior.scaleUp/Down.tolerance` (Kubernetes 1.33)
    /// over the `--horizontal-pod-autoscaler-tolerance` flag.
    pub fn tolerances(&self) -> Tolerances {
        let flag = self.config.tolerance;
        match &self.spec.behavior {
            Some(b) => Tolerances {
                scale_down: b.scale_down.tolerance.unwrap_or(flag),
                scale_up: b.scale_up.tolerance.unwrap_or(flag),
            },
            None => Tolerances::both(flag),
        }
    }

    /// One metric's proposal and what it measured (upstream
    /// `computeReplicasForMetric`).
    pub fn metric_replicas(
        &self,
        k: usize,
        input: &ScaleInput<'_>,
    ) -> Result<MetricReplicas, MetricError> {
        self.calculator()
            .compute(&self.spec.metrics[k], k, input, self.tolerances())
    }

    /// upstream `computeReplicasForMetrics`: the largest proposal, and the
    /// first failure's reason when every metric failed or some failed and
    /// the rest would scale down.
    fn replicas_for_metrics(
        &self,
        input: &ScaleInput<'_>,
        metrics: &mut Vec<Result<MetricReplicas, MetricError>>,
    ) -> Result<(u32, String), (ConditionReason, String)> {
        let (mut best, mut name, mut first_err, mut invalid) = (0u32, String::new(), None, 0);
        for (k, m) in self.spec.metrics.iter().enumerate() {
            let r = self.metric_replicas(k, input);
            match &r {
                Ok(p) => {
                    if best == 0 || p.replicas > best {
                        best = p.replicas;
                        name = describe(m);
                    }
                }
                Err(e) => {
                    if first_err.is_none() {
                        first_err = Some((failed_reason(&m.source), e.0.clone()));
                    }
                    invalid += 1;
                }
            }
            metrics.push(r);
        }
        if invalid >= self.spec.metrics.len() || (invalid > 0 && best < input.spec_replicas) {
            let (reason, e) =
                first_err.unwrap_or((ConditionReason::FailedGetResourceMetric, String::new()));
            return Err((
                reason,
                format!(
                    "invalid metrics ({invalid} invalid out of {}), first error is: {e}",
                    self.spec.metrics.len()
                ),
            ));
        }
        Ok((best, name))
    }

    /// upstream `reconcileAutoscaler` for one sync: the new count and status.
    pub fn sync(&mut self, input: &ScaleInput<'_>) -> HpaStatus {
        let (now, current) = (input.now, input.spec_replicas);
        let set = |c: &mut Option<Condition>, status: bool, reason| {
            *c = Some(Condition { status, reason });
        };
        let mut conds = self.conditions;
        set(
            &mut conds.able_to_scale,
            true,
            ConditionReason::SucceededGetScale,
        );
        // upstream recordInitialRecommendation
        if self.history.recommendations.is_empty() {
            self.history
                .recommendations
                .push(TimestampedRecommendation {
                    recommendation: current,
                    timestamp: now,
                });
        }
        let (min, max) = (self.spec.min_replicas, self.spec.max_replicas);
        let mut metrics = Vec::new();
        let mut metric_desired = None;
        let (desired, reason) = if current == 0 && min != 0 {
            set(
                &mut conds.scaling_active,
                false,
                ConditionReason::ScalingDisabled,
            );
            (
                0,
                "scaling is disabled since the replica count of the target is zero".to_string(),
            )
        } else if current > max {
            (
                max,
                "Current number of replicas above Spec.MaxReplicas".into(),
            )
        } else if current < min {
            (
                min,
                "Current number of replicas below Spec.MinReplicas".into(),
            )
        } else {
            match self.replicas_for_metrics(input, &mut metrics) {
                Err((why, e)) => {
                    set(&mut conds.scaling_active, false, why);
                    self.conditions = conds;
                    return HpaStatus {
                        desired_replicas: current,
                        metric_desired_replicas: None,
                        metrics,
                        conditions: conds,
                        reason: format!("failed to compute desired replicas: {e}"),
                    };
                }
                Ok((proposal, metric)) => {
                    set(
                        &mut conds.scaling_active,
                        true,
                        ConditionReason::ValidMetricFound,
                    );
                    metric_desired = Some(proposal);
                    let reason = match proposal.cmp(&current) {
                        std::cmp::Ordering::Greater => format!("{metric} above target"),
                        std::cmp::Ordering::Less => "All metrics below target".to_string(),
                        std::cmp::Ordering::Equal => format!("{metric} within tolerance"),
                    };
                    let n = self.normalize(now, current, proposal);
                    set(&mut conds.able_to_scale, true, n.able_to_scale);
                    conds.scaling_limited = Some(n.scaling_limited);
                    (n.replicas, reason)
                }
            }
        };
        if desired != current {
            set(
                &mut conds.able_to_scale,
                true,
                ConditionReason::SucceededRescale,
            );
            let h = &mut self.history;
            store_scale_event(
                self.spec.behavior.as_ref(),
                &mut h.scale_up_events,
                &mut h.scale_down_events,
                current,
                desired,
                now,
            );
        }
        self.conditions = conds;
        HpaStatus {
            desired_replicas: desired,
            metric_desired_replicas: metric_desired,
            metrics,
            conditions: conds,
            reason,
        }
    }

    /// The path upstream takes on `hpa.Spec.Behavior == nil`.
    fn normalize(&mut self, now: SimTime, current: u32, proposal: u32) -> Normalized {
        let (min, max) = (self.spec.min_replicas, self.spec.max_replicas);
        let h = &mut self.history;
        match &self.spec.behavior {
            None => normalize_desired_replicas(
                &mut h.recommendations,
                self.config.downscale_stabilization,
                current,
                proposal,
                min,
                max,
                now,
            ),
            Some(b) => {
                let args = NormalizationArg {
                    scale_up_behavior: &b.scale_up,
                    scale_down_behavior: &b.scale_down,
                    min_replicas: min,
                    max_replicas: max,
                    current_replicas: current,
                    desired_replicas: proposal,
                };
                normalize_desired_replicas_with_behaviors(
                    &mut h.recommendations,
                    &h.scale_up_events,
                    &h.scale_down_events,
                    &args,
                    now,
                )
            }
        }
    }
}

/// upstream's `metricNameProposal` for a metric.
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

/// The ScalingActive reason upstream sets when a metric of `source` fails.
fn failed_reason(source: &MetricSource) -> ConditionReason {
    match source {
        MetricSource::Resource(_) => ConditionReason::FailedGetResourceMetric,
        MetricSource::Pods(_) => ConditionReason::FailedGetPodsMetric,
        MetricSource::Object(_) => ConditionReason::FailedGetObjectMetric,
        MetricSource::External(_) => ConditionReason::FailedGetExternalMetric,
    }
}

/// A one-line summary of a sync's measurements and conditions, for
/// recommendations' reasons and `sim hpa`.
pub fn status_line(status: &HpaStatus) -> String {
    let mut s = status.reason.clone();
    for m in status.metrics.iter().flatten() {
        match m.utilization {
            Some(u) => s.push_str(&format!("; utilization {u}%")),
            None => s.push_str(&format!("; usage {}m", m.usage)),
        }
    }
    let c = &status.conditions;
    for (name, cond) in [
        ("AbleToScale", c.able_to_scale),
        ("ScalingActive", c.scaling_active),
        ("ScalingLimited", c.scaling_limited),
    ] {
        if let Some(cond) = cond {
            s.push_str(&format!(
                "; {name}={} {}",
                if cond.status { "True" } else { "False" },
                cond.reason.as_str()
            ));
        }
    }
    s
}

impl Autoscale for Hpa {
    fn name(&self) -> &'static str {
        "hpa"
    }

    fn sync_period(&self) -> SimDuration {
        self.config.sync_period
    }

    fn recommend(&mut self, input: &ScaleInput<'_>) -> Recommendation {
        let status = self.sync(input);
        Recommendation {
            replicas: status.desired_replicas,
            reason: status_line(&status),
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod upstream_horizontal_tests;
#[cfg(test)]
mod upstream_replica_calculator_tests;
