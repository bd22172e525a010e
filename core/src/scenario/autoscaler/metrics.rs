//! The parts of an autoscaler table shared with `autoscaling/v2`: the
//! `metrics` list (every kind but Knative scales on it) and the HPA's
//! `behavior` (scaling rules and policies), with their conversion into
//! [`MetricSpec`]s and [`ScalingRules`].
//!
//! Key decision: spelled exactly as in a HorizontalPodAutoscaler manifest
//! (`type = "Resource"`, `resource.target.averageUtilization`,
//! `policies[].periodSeconds`), with Kubernetes' bounds, so an HPA's YAML
//! pasted as TOML means what it meant in the cluster.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::super::{Ctx, InputError};
use crate::autoscale::hpa::{
    MetricSource, MetricSpec, MetricTarget, PolicyKind, ResourceMetric, ScalingPolicy,
    ScalingRules, SelectPolicy,
};
use crate::autoscale::spec::check_metric;
use crate::quantity::parse_cpu_millis;
use crate::time::SimDuration;

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

/// One `metrics` entry at `path`.
pub(super) fn metric(
    m: &Spanned<MetricFile>,
    path: &str,
    ctx: &Ctx<'_>,
) -> Result<MetricSpec, InputError> {
    let f = m.get_ref();
    let e = |span: Range<usize>, field: &str, msg: String| {
        ctx.err(span, format!("{path}.{field}"), msg)
    };
    let target =
        |t: &Spanned<TargetFile>, field: &str| target(t, &format!("{path}.{field}.target"), ctx);
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

/// `behavior.scaleUp` or `.scaleDown` at `path`, over `default`.
pub(super) fn rules(
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

/// A metric's `target` at `path`: a positive utilization, average value or value.
fn target(t: &Spanned<TargetFile>, path: &str, ctx: &Ctx<'_>) -> Result<MetricTarget, InputError> {
    let tf = t.get_ref();
    let bad = |msg: String| ctx.err(t.span(), path, msg);
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
}
