//! `[services.NAME.autoscaler]` and `[services.NAME.slo]`: the file shape and
//! its conversion into [`AutoscalerSpec`].
//!
//! Key decision: the HPA fields are spelled as in a HorizontalPodAutoscaler
//! manifest (`minReplicas`, `metrics[].resource.target.averageUtilization`,
//! `behavior.scaleDown.policies[].periodSeconds` …) so a user can paste
//! their HPA's YAML as TOML; the other kinds reuse the same `metrics` list
//! and add their own fields. One flat table with a `kind` keeps
//! `deny_unknown_fields` working; fields that do not apply to the chosen
//! kind are rejected by name.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::schema::{Dur, Positive};
use super::{Ctx, InputError};
use crate::autoscale::hpa::{
    HpaConfig, HpaSpec, MetricSource, MetricSpec, MetricTarget, PolicyKind, ResourceMetric,
    ScalingPolicy, ScalingRules, SelectPolicy,
};
use crate::autoscale::knative::KpaSpec;
use crate::autoscale::predictive::PredictiveSpec;
use crate::autoscale::spec::{AutoscalerSpec, check_metric};
use crate::autoscale::step::{AdjustmentType, StepAdjustment, StepPolicy, StepScalingSpec};
use crate::autoscale::target_tracking::TargetTrackingSpec;
use crate::quantity::parse_cpu_millis;
use crate::time::SimDuration;

/// The autoscaler table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AutoscalerFile {
    /// `hpa`, `target-tracking`, `step`, `predictive` or `knative`.
    pub kind: Spanned<String>,
    /// Minimum replicas.
    pub min_replicas: Option<Spanned<i64>>,
    /// Maximum replicas.
    pub max_replicas: Option<Spanned<i64>>,
    /// Metrics (HPA: any number; target tracking and predictive: exactly one).
    #[serde(default)]
    pub metrics: Vec<Spanned<MetricFile>>,
    /// HPA `behavior`.
    pub behavior: Option<BehaviorFile>,
    /// Target tracking `scaleOutCooldown` (default 300 s).
    pub scale_out_cooldown: Option<Spanned<Dur>>,
    /// Target tracking `scaleInCooldown` (default 300 s).
    pub scale_in_cooldown: Option<Spanned<Dur>>,
    /// Target tracking `disableScaleIn`.
    pub disable_scale_in: Option<Spanned<bool>>,
    /// Predictive: how far ahead to provision (default: the service's mean start delay, at least 15 s).
    pub lead: Option<Spanned<Dur>>,
    /// Predictive: season length.
    pub season: Option<Spanned<Dur>>,
    /// Predictive: decreases are held this long (default 300 s).
    pub scale_down_window: Option<Spanned<Dur>>,
    /// Knative: in-flight requests per replica (`target`, default 100).
    pub target: Option<Spanned<Positive>>,
    /// Knative: `targetUtilizationPercentage` (default 70).
    pub target_utilization_percentage: Option<Spanned<Positive>>,
    /// Knative: `stableWindow` (default 60 s).
    pub stable_window: Option<Spanned<Dur>>,
    /// Knative: `scaleToZeroGracePeriod` (default 30 s).
    pub scale_to_zero_grace_period: Option<Spanned<Dur>>,
    /// Step scaling: the policy on the high alarm.
    pub scale_out: Option<Spanned<StepPolicyFile>>,
    /// Step scaling: the policy on the low alarm.
    pub scale_in: Option<Spanned<StepPolicyFile>>,
}

/// A step scaling policy with its alarm (AWS `StepScalingPolicyConfiguration`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StepPolicyFile {
    /// Alarm threshold, in the metric's target units (percent for Utilization).
    pub threshold: f64,
    /// Consecutive one-minute datapoints beyond the threshold (default 1).
    pub datapoints: Option<u32>,
    /// `ChangeInCapacity`, `PercentChangeInCapacity` or `ExactCapacity`.
    pub adjustment_type: StepAdjustmentTypeFile,
    /// `StepAdjustments`: bounds relative to the threshold.
    pub steps: Vec<StepFile>,
    /// `MinAdjustmentMagnitude` (percent type only).
    pub min_adjustment_magnitude: Option<u32>,
    /// `Cooldown` (default 300 s).
    pub cooldown: Option<Dur>,
}

/// `AdjustmentType`.
// The variants are AWS's own names, spelled as scenarios write them.
#[derive(Debug, Deserialize, Clone, Copy)]
#[allow(clippy::enum_variant_names)] // the AWS names
pub enum StepAdjustmentTypeFile {
    /// Add the adjustment.
    ChangeInCapacity,
    /// Add a percent of capacity.
    PercentChangeInCapacity,
    /// Set the capacity.
    ExactCapacity,
}

/// One `StepAdjustment`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StepFile {
    /// `MetricIntervalLowerBound` (absent: −∞).
    pub lower: Option<f64>,
    /// `MetricIntervalUpperBound` (absent: +∞).
    pub upper: Option<f64>,
    /// `ScalingAdjustment`.
    pub adjustment: i32,
}

/// One `metrics` entry, as in `autoscaling/v2`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MetricFile {
    /// `Resource`, `Pods`, `Object` or `External`.
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    /// For `Resource`.
    pub resource: Option<ResourceMetricFile>,
    /// For `Pods`.
    pub pods: Option<NamedMetricFile>,
    /// For `Object`.
    pub object: Option<NamedMetricFile>,
    /// For `External`.
    pub external: Option<NamedMetricFile>,
}

/// `resource: {name, target}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResourceMetricFile {
    /// `cpu` or `memory`.
    pub name: Spanned<String>,
    /// The target.
    pub target: Spanned<TargetFile>,
}

/// `pods|object|external: {metric: {name}, target}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NamedMetricFile {
    /// `{name = "…"}`.
    pub metric: MetricIdFile,
    /// The target.
    pub target: Spanned<TargetFile>,
}

/// `metric: {name}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MetricIdFile {
    /// Metric name.
    pub name: Spanned<String>,
}

/// `target: {type, averageUtilization | averageValue | value}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TargetFile {
    /// `Utilization`, `AverageValue` or `Value`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Percent of requests.
    pub average_utilization: Option<i64>,
    /// A quantity per replica (`"10"`, `"500m"`).
    pub average_value: Option<QuantityText>,
    /// A quantity for the whole.
    pub value: Option<QuantityText>,
}

/// A quantity written as a string or a number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum QuantityText {
    /// `"500m"`.
    Text(String),
    /// `10`.
    Int(i64),
    /// `2.5`.
    Float(f64),
}

impl QuantityText {
    fn milli(&self) -> Result<i64, String> {
        let text = match self {
            QuantityText::Text(s) => s.clone(),
            QuantityText::Int(n) => n.to_string(),
            QuantityText::Float(x) => x.to_string(),
        };
        parse_cpu_millis(&text)
            .map(|m| m as i64)
            .map_err(|e| e.to_string())
    }
}

/// `behavior`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BehaviorFile {
    /// `scaleUp`.
    pub scale_up: Option<Spanned<RulesFile>>,
    /// `scaleDown`.
    pub scale_down: Option<Spanned<RulesFile>>,
}

/// `HPAScalingRules`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RulesFile {
    /// Seconds.
    pub stabilization_window_seconds: Option<i64>,
    /// `Max`, `Min` or `Disabled`.
    pub select_policy: Option<String>,
    /// Policies.
    pub policies: Option<Vec<PolicyFile>>,
    /// `tolerance` (Kubernetes 1.33).
    pub tolerance: Option<f64>,
}

/// `HPAScalingPolicy`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicyFile {
    /// `Pods` or `Percent`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Amount.
    pub value: i64,
    /// Period in seconds.
    pub period_seconds: i64,
}

/// `[services.NAME.slo]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SloFile {
    /// Latency target.
    pub latency: Spanned<Dur>,
    /// Percentile that must stay under it (default 99).
    pub percentile: Option<Spanned<Positive>>,
}

fn metric(m: &Spanned<MetricFile>, path: &str, ctx: &Ctx<'_>) -> Result<MetricSpec, InputError> {
    let f = m.get_ref();
    let e = |span: Range<usize>, field: &str, msg: String| {
        ctx.err(span, format!("{path}.{field}"), msg)
    };
    let target = |t: &Spanned<TargetFile>, field: &str| -> Result<MetricTarget, InputError> {
        let tf = t.get_ref();
        let bad = |msg: String| e(t.span(), &format!("{field}.target"), msg);
        match tf.kind.as_str() {
            "Utilization" => match tf.average_utilization {
                Some(u) if (1..=i64::from(i32::MAX)).contains(&u) => {
                    Ok(MetricTarget::Utilization(u as i32))
                }
                Some(u) => Err(bad(format!(
                    "averageUtilization must be greater than 0 (got {u})"
                ))),
                None => Err(bad("type Utilization needs averageUtilization".into())),
            },
            "AverageValue" => {
                let q = tf
                    .average_value
                    .as_ref()
                    .ok_or_else(|| bad("type AverageValue needs averageValue".into()))?;
                let v = q.milli().map_err(&bad)?;
                if v <= 0 {
                    return Err(bad("averageValue must be greater than 0".into()));
                }
                Ok(MetricTarget::AverageValue(v))
            }
            "Value" => {
                let q = tf
                    .value
                    .as_ref()
                    .ok_or_else(|| bad("type Value needs value".into()))?;
                let v = q.milli().map_err(&bad)?;
                if v <= 0 {
                    return Err(bad("value must be greater than 0".into()));
                }
                Ok(MetricTarget::Value(v))
            }
            other => Err(bad(format!(
                "unknown target type '{other}'; choose from: Utilization, AverageValue, Value"
            ))),
        }
    };
    let spec = match f.kind.get_ref().as_str() {
        "Resource" => {
            let r = f.resource.as_ref().ok_or_else(|| {
                e(
                    m.span(),
                    "resource",
                    "type Resource needs a resource table".into(),
                )
            })?;
            let res = match r.name.get_ref().as_str() {
                "cpu" => ResourceMetric::Cpu,
                "memory" => ResourceMetric::Memory,
                other => {
                    return Err(e(
                        r.name.span(),
                        "resource.name",
                        format!("unknown resource '{other}'; choose from: cpu, memory"),
                    ));
                }
            };
            MetricSpec {
                source: MetricSource::Resource(res),
                target: target(&r.target, "resource")?,
            }
        }
        kind @ ("Pods" | "Object" | "External") => {
            let (field, table) = match kind {
                "Pods" => ("pods", &f.pods),
                "Object" => ("object", &f.object),
                _ => ("external", &f.external),
            };
            let t = table.as_ref().ok_or_else(|| {
                e(
                    m.span(),
                    field,
                    format!("type {kind} needs a {field} table"),
                )
            })?;
            let name = t.metric.name.get_ref().clone();
            let source = match kind {
                "Pods" => MetricSource::Pods(name),
                "Object" => MetricSource::Object(name),
                _ => MetricSource::External(name),
            };
            let spec = MetricSpec {
                source,
                target: target(&t.target, field)?,
            };
            check_metric(&spec)
                .map_err(|msg| e(t.metric.name.span(), &format!("{field}.metric.name"), msg))?;
            spec
        }
        other => {
            return Err(e(
                f.kind.span(),
                "type",
                format!(
                    "unknown metric type '{other}'; choose from: Resource, Pods, Object, External"
                ),
            ));
        }
    };
    Ok(spec)
}

fn rules(
    r: &Option<Spanned<RulesFile>>,
    default: ScalingRules,
    path: &str,
    ctx: &Ctx<'_>,
) -> Result<ScalingRules, InputError> {
    let Some(r) = r else { return Ok(default) };
    let span = r.span();
    let f = r.get_ref();
    let mut out = default;
    if let Some(w) = f.stabilization_window_seconds {
        if !(0..=3600).contains(&w) {
            return Err(ctx.err(
                span,
                format!("{path}.stabilizationWindowSeconds"),
                format!("must be between 0 and 3600 (got {w})"),
            ));
        }
        out.stabilization_window = SimDuration::from_secs(w as u64);
    }
    if let Some(s) = &f.select_policy {
        out.select = match s.as_str() {
            "Max" => SelectPolicy::Max,
            "Min" => SelectPolicy::Min,
            "Disabled" => SelectPolicy::Disabled,
            other => {
                return Err(ctx.err(
                    span,
                    format!("{path}.selectPolicy"),
                    format!("unknown selectPolicy '{other}'; choose from: Max, Min, Disabled"),
                ));
            }
        };
    }
    if let Some(ps) = &f.policies {
        out.policies = Vec::new();
        for (k, p) in ps.iter().enumerate() {
            let at = |field: &str| format!("{path}.policies[{k}].{field}");
            let kind = match p.kind.as_str() {
                "Pods" => PolicyKind::Pods,
                "Percent" => PolicyKind::Percent,
                other => {
                    return Err(ctx.err(
                        span.clone(),
                        at("type"),
                        format!("unknown policy type '{other}'; choose from: Pods, Percent"),
                    ));
                }
            };
            if p.value <= 0 || p.value > i64::from(i32::MAX) {
                return Err(ctx.err(span, at("value"), "must be greater than 0"));
            }
            if !(1..=1800).contains(&p.period_seconds) {
                return Err(ctx.err(
                    span,
                    at("periodSeconds"),
                    format!("must be between 1 and 1800 (got {})", p.period_seconds),
                ));
            }
            out.policies.push(ScalingPolicy {
                kind,
                value: p.value as i32,
                period: SimDuration::from_secs(p.period_seconds as u64),
            });
        }
    }
    out.tolerance = f.tolerance.or(out.tolerance);
    Ok(out)
}

/// Builds the autoscaler of service `path` (e.g. `services.web`), whose mean
/// start delay is `start_delay`.
pub(crate) fn build(
    a: &Spanned<AutoscalerFile>,
    path: &str,
    start_delay: SimDuration,
    ctx: &Ctx<'_>,
) -> Result<AutoscalerSpec, InputError> {
    let f = a.get_ref();
    let p = format!("{path}.autoscaler");
    let kind = f.kind.get_ref().as_str();
    let err =
        |span: Range<usize>, field: &str, msg: String| ctx.err(span, format!("{p}.{field}"), msg);
    // Fields that belong to other kinds.
    let foreign: &[(&str, bool, &[&str])] = &[
        ("behavior", f.behavior.is_some(), &["hpa"]),
        (
            "scaleOutCooldown",
            f.scale_out_cooldown.is_some(),
            &["target-tracking"],
        ),
        (
            "scaleInCooldown",
            f.scale_in_cooldown.is_some(),
            &["target-tracking"],
        ),
        (
            "disableScaleIn",
            f.disable_scale_in.is_some(),
            &["target-tracking"],
        ),
        ("lead", f.lead.is_some(), &["predictive"]),
        ("season", f.season.is_some(), &["predictive"]),
        (
            "scaleDownWindow",
            f.scale_down_window.is_some(),
            &["predictive"],
        ),
        ("target", f.target.is_some(), &["knative"]),
        (
            "targetUtilizationPercentage",
            f.target_utilization_percentage.is_some(),
            &["knative"],
        ),
        ("stableWindow", f.stable_window.is_some(), &["knative"]),
        (
            "scaleToZeroGracePeriod",
            f.scale_to_zero_grace_period.is_some(),
            &["knative"],
        ),
        ("scaleOut", f.scale_out.is_some(), &["step"]),
        ("scaleIn", f.scale_in.is_some(), &["step"]),
    ];
    let kinds: Vec<&str> = crate::autoscale::spec::AUTOSCALERS
        .iter()
        .map(|a| a.0)
        .collect();
    if !kinds.contains(&kind) {
        return Err(err(
            f.kind.span(),
            "kind",
            format!(
                "unknown autoscaler '{kind}'; choose from: {}",
                kinds.join(", ")
            ),
        ));
    }
    for (field, set, owners) in foreign {
        if *set && !owners.contains(&kind) {
            return Err(err(
                a.span(),
                field,
                format!(
                    "does not apply to kind '{kind}' (only to {})",
                    owners.join(", ")
                ),
            ));
        }
    }
    let min = match &f.min_replicas {
        Some(m) if *m.get_ref() < 0 || *m.get_ref() > i64::from(u32::MAX) => {
            return Err(err(
                m.span(),
                "minReplicas",
                format!("must not be negative (got {})", m.get_ref()),
            ));
        }
        Some(m) => *m.get_ref() as u32,
        None => u32::from(kind != "knative"),
    };
    let max = match &f.max_replicas {
        Some(m) if *m.get_ref() < 1 || *m.get_ref() > i64::from(u32::MAX) => {
            return Err(err(
                m.span(),
                "maxReplicas",
                format!("must be at least 1 (got {})", m.get_ref()),
            ));
        }
        Some(m) => *m.get_ref() as u32,
        None if kind == "knative" => 0,
        None => return Err(err(a.span(), "maxReplicas", "is required".into())),
    };
    if max > 0 && min > max {
        let span = f.min_replicas.as_ref().map_or(a.span(), |m| m.span());
        return Err(err(
            span,
            "minReplicas",
            format!("{min} is above maxReplicas {max}"),
        ));
    }
    let mut metrics = Vec::new();
    for (k, m) in f.metrics.iter().enumerate() {
        metrics.push(metric(m, &format!("{p}.metrics[{k}]"), ctx)?);
    }
    let one_metric = |metrics: Vec<MetricSpec>| -> Result<MetricSpec, InputError> {
        if metrics.len() != 1 {
            return Err(err(
                a.span(),
                "metrics",
                format!(
                    "kind '{kind}' needs exactly one metric (got {})",
                    metrics.len()
                ),
            ));
        }
        Ok(metrics.into_iter().next().expect("one"))
    };
    let dur = |d: &Option<Spanned<Dur>>,
               field: &str,
               default: SimDuration|
     -> Result<SimDuration, InputError> {
        match d {
            Some(d) if d.get_ref().0 == SimDuration::ZERO => {
                Err(err(d.span(), field, "must be greater than zero".into()))
            }
            Some(d) => Ok(d.get_ref().0),
            None => Ok(default),
        }
    };
    let spec = match kind {
        "hpa" => {
            if metrics.is_empty() {
                return Err(err(a.span(), "metrics", "needs at least one metric".into()));
            }
            let (up, down) = match &f.behavior {
                Some(b) => (
                    rules(
                        &b.scale_up,
                        ScalingRules::default_up(),
                        &format!("{p}.behavior.scaleUp"),
                        ctx,
                    )?,
                    rules(
                        &b.scale_down,
                        ScalingRules::default_down(),
                        &format!("{p}.behavior.scaleDown"),
                        ctx,
                    )?,
                ),
                None => (ScalingRules::default_up(), ScalingRules::default_down()),
            };
            let spec = HpaSpec {
                min_replicas: min,
                max_replicas: max,
                metrics,
                scale_up: up,
                scale_down: down,
            };
            spec.validate()
                .map_err(|(field, msg)| err(a.span(), &field, msg))?;
            AutoscalerSpec::Hpa(spec, HpaConfig::default())
        }
        "target-tracking" => {
            let metric = one_metric(metrics)?;
            AutoscalerSpec::TargetTracking(TargetTrackingSpec {
                metric,
                min_replicas: min.max(1),
                max_replicas: max,
                scale_out_cooldown: dur(
                    &f.scale_out_cooldown,
                    "scaleOutCooldown",
                    SimDuration::from_secs(300),
                )?,
                scale_in_cooldown: dur(
                    &f.scale_in_cooldown,
                    "scaleInCooldown",
                    SimDuration::from_secs(300),
                )?,
                disable_scale_in: f.disable_scale_in.as_ref().is_some_and(|b| *b.get_ref()),
            })
        }
        "step" => {
            let metric = one_metric(metrics)?;
            let policy = |p: &Option<Spanned<StepPolicyFile>>,
                          field: &str,
                          above: bool|
             -> Result<Option<StepPolicy>, InputError> {
                let Some(p) = p else { return Ok(None) };
                let f = p.get_ref();
                let e = |msg: String| err(p.span(), field, msg);
                if f.steps.is_empty() {
                    return Err(e("needs at least one step".into()));
                }
                for (k, st) in f.steps.iter().enumerate() {
                    if let (Some(lo), Some(hi)) = (st.lower, st.upper)
                        && lo >= hi
                    {
                        return Err(e(format!(
                            "steps[{k}]: lower {lo} must be below upper {hi}"
                        )));
                    }
                }
                if f.datapoints == Some(0) {
                    return Err(e("datapoints must be at least 1".into()));
                }
                Ok(Some(StepPolicy {
                    threshold: f.threshold,
                    above,
                    datapoints: f.datapoints.unwrap_or(1) as usize,
                    adjustment_type: match f.adjustment_type {
                        StepAdjustmentTypeFile::ChangeInCapacity => {
                            AdjustmentType::ChangeInCapacity
                        }
                        StepAdjustmentTypeFile::PercentChangeInCapacity => {
                            AdjustmentType::PercentChangeInCapacity
                        }
                        StepAdjustmentTypeFile::ExactCapacity => AdjustmentType::ExactCapacity,
                    },
                    steps: f
                        .steps
                        .iter()
                        .map(|st| StepAdjustment {
                            lower: st.lower,
                            upper: st.upper,
                            adjustment: st.adjustment,
                        })
                        .collect(),
                    min_adjustment_magnitude: f.min_adjustment_magnitude,
                    cooldown: f.cooldown.map_or(SimDuration::from_secs(300), |d| d.0),
                }))
            };
            let scale_out = policy(&f.scale_out, "scaleOut", true)?;
            let scale_in = policy(&f.scale_in, "scaleIn", false)?;
            if scale_out.is_none() && scale_in.is_none() {
                return Err(err(
                    a.span(),
                    "scaleOut",
                    "kind 'step' needs scaleOut, scaleIn or both".into(),
                ));
            }
            AutoscalerSpec::Step(StepScalingSpec {
                metric,
                min_replicas: min.max(1),
                max_replicas: max,
                scale_out,
                scale_in,
            })
        }
        "predictive" => {
            let metric = one_metric(metrics)?;
            if !matches!(metric.target, MetricTarget::AverageValue(_)) {
                return Err(err(
                    a.span(),
                    "metrics[0]",
                    "the predictive autoscaler needs an AverageValue target (load per replica)"
                        .into(),
                ));
            }
            let lead = dur(&f.lead, "lead", start_delay.max(SimDuration::from_secs(15)))?;
            let mut s = PredictiveSpec::new(metric, min.max(1), max, lead);
            s.season = f.season.as_ref().map(|d| d.get_ref().0);
            s.scale_down_window =
                dur(&f.scale_down_window, "scaleDownWindow", s.scale_down_window)?;
            AutoscalerSpec::Predictive(s)
        }
        _ => {
            if !metrics.is_empty() {
                return Err(err(
                    a.span(),
                    "metrics",
                    "knative scales on in-flight requests; set `target` instead".into(),
                ));
            }
            let mut s = KpaSpec {
                min_replicas: min,
                max_replicas: max,
                ..KpaSpec::default()
            };
            if let Some(t) = &f.target {
                s.target = t.get_ref().0;
            }
            if let Some(u) = &f.target_utilization_percentage {
                let u = u.get_ref().0;
                if u > 100.0 {
                    return Err(err(
                        a.span(),
                        "targetUtilizationPercentage",
                        format!("must be at most 100 (got {u})"),
                    ));
                }
                s.utilization = u / 100.0;
            }
            s.stable_window = dur(&f.stable_window, "stableWindow", s.stable_window)?;
            s.scale_to_zero_grace = dur(
                &f.scale_to_zero_grace_period,
                "scaleToZeroGracePeriod",
                s.scale_to_zero_grace,
            )?;
            AutoscalerSpec::Knative(s)
        }
    };
    Ok(spec)
}
