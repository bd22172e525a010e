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

pub use metrics::{BehaviorFile, MetricFile};
use metrics::{metric, rules};

mod metrics;

use super::fields::{foreign_field, positive_duration};
use super::schema::{Dur, Positive};
use super::{Ctx, InputError};
use crate::autoscale::hpa::{
    HpaBehavior, HpaConfig, HpaSpec, MetricSource, MetricSpec, MetricTarget, ResourceMetric,
    ScalingRules,
};
use crate::autoscale::knative::KpaSpec;
use crate::autoscale::predictive::PredictiveSpec;
use crate::autoscale::spec::AutoscalerSpec;
use crate::autoscale::step::{AdjustmentType, StepAdjustment, StepPolicy, StepScalingSpec};
use crate::autoscale::target_tracking::TargetTrackingSpec;
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
    /// HPA `behavior`; absent, the controller's no-behavior path runs.
    pub behavior: Option<BehaviorFile>,
    /// HPA `autoscaling/v1`'s `targetCPUUtilizationPercentage`: one cpu
    /// Utilization Resource metric (not with `metrics`).
    #[serde(rename = "targetCPUUtilizationPercentage")]
    pub target_cpu_utilization_percentage: Option<Spanned<i64>>,
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

/// `[services.NAME.slo]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SloFile {
    /// Latency target.
    pub latency: Spanned<Dur>,
    /// Percentile that must stay under it (default 99).
    pub percentile: Option<Spanned<Positive>>,
}

/// `[hpaController]`: kube-controller-manager's `--horizontal-pod-autoscaler-*`
/// flags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HpaControllerFile {
    /// `--horizontal-pod-autoscaler-sync-period` (default `15s`).
    pub sync_period: Option<Spanned<Dur>>,
    /// `--horizontal-pod-autoscaler-tolerance` (default 0.1).
    pub tolerance: Option<Spanned<f64>>,
    /// `--horizontal-pod-autoscaler-cpu-initialization-period` (default `5m`).
    pub cpu_initialization_period: Option<Spanned<Dur>>,
    /// `--horizontal-pod-autoscaler-initial-readiness-delay` (default `30s`).
    pub initial_readiness_delay: Option<Spanned<Dur>>,
    /// `--horizontal-pod-autoscaler-downscale-stabilization` (default `5m`).
    pub downscale_stabilization: Option<Spanned<Dur>>,
}

/// The HPA controller's flags: upstream's defaults ([`HpaConfig::default`])
/// with `[hpaController]`'s fields over them. The sync period must be > 0,
/// the tolerance in [0, 1) (a tolerance of 1 or more would hold every
/// scale-down), the others ≥ 0.
pub(crate) fn hpa_controller(
    f: Option<&HpaControllerFile>,
    preset: Option<&crate::presets::ClusterPreset>,
    ctx: &Ctx<'_>,
) -> Result<HpaConfig, InputError> {
    let mut c = preset.map_or_else(HpaConfig::default, |p| p.hpa);
    let Some(f) = f else { return Ok(c) };
    if let Some(d) = &f.sync_period {
        if d.get_ref().0.0 == 0 {
            return Err(ctx.err(
                d.span(),
                "hpaController.syncPeriod",
                "must be greater than zero",
            ));
        }
        c.sync_period = d.get_ref().0;
    }
    if let Some(t) = &f.tolerance {
        let v = *t.get_ref();
        if !(0.0..1.0).contains(&v) {
            return Err(ctx.err(
                t.span(),
                "hpaController.tolerance",
                format!("must be at least 0 and below 1 (got {v})"),
            ));
        }
        c.tolerance = v;
    }
    if let Some(d) = &f.cpu_initialization_period {
        c.cpu_initialization_period = d.get_ref().0;
    }
    if let Some(d) = &f.initial_readiness_delay {
        c.initial_readiness_delay = d.get_ref().0;
    }
    if let Some(d) = &f.downscale_stabilization {
        c.downscale_stabilization = d.get_ref().0;
    }
    Ok(c)
}

/// Builds the autoscaler of service `path` (e.g. `services.web`), whose mean
/// start delay is `start_delay`.
pub(crate) fn build(
    a: &Spanned<AutoscalerFile>,
    path: &str,
    start_delay: SimDuration,
    controller: &HpaConfig,
    ctx: &Ctx<'_>,
) -> Result<AutoscalerSpec, InputError> {
    let f = a.get_ref();
    let kind = f.kind.get_ref().as_str();
    let mut t = Table {
        a,
        path: format!("{path}.autoscaler"),
        kind,
        min: 0,
        max: 0,
        ctx,
    };
    check_kind(&t)?;
    (t.min, t.max) = replica_bounds(&t)?;
    let metrics = f
        .metrics
        .iter()
        .enumerate()
        .map(|(k, m)| metric(m, &format!("{}.metrics[{k}]", t.path), ctx))
        .collect::<Result<Vec<_>, _>>()?;
    match kind {
        "hpa" => hpa(&t, metrics, controller),
        "target-tracking" => target_tracking(&t, metrics),
        "step" => step(&t, metrics),
        "predictive" => predictive(&t, metrics, start_delay),
        _ => knative(&t, metrics),
    }
}

/// One autoscaler table as the kinds see it.
struct Table<'a, 'c> {
    a: &'a Spanned<AutoscalerFile>,
    /// `services.NAME.autoscaler`.
    path: String,
    kind: &'a str,
    /// `minReplicas` and `maxReplicas`, once checked.
    min: u32,
    max: u32,
    ctx: &'a Ctx<'c>,
}

impl Table<'_, '_> {
    fn file(&self) -> &AutoscalerFile {
        self.a.get_ref()
    }

    /// An error about `field` located at `span`.
    fn err(&self, span: Range<usize>, field: &str, msg: String) -> InputError {
        self.ctx.err(span, format!("{}.{field}", self.path), msg)
    }

    /// An error about `field` located at the whole table.
    fn whole(&self, field: &str, msg: String) -> InputError {
        self.err(self.a.span(), field, msg)
    }

    /// A duration field greater than zero (`default` when left out).
    fn dur(
        &self,
        d: &Option<Spanned<Dur>>,
        field: &str,
        default: SimDuration,
    ) -> Result<SimDuration, InputError> {
        let path = format!("{}.{field}", self.path);
        Ok(positive_duration(d, &path, self.ctx)?.unwrap_or(default))
    }

    /// The single metric of a kind that scales on one.
    fn one_metric(&self, metrics: Vec<MetricSpec>) -> Result<MetricSpec, InputError> {
        if metrics.len() != 1 {
            return Err(self.whole(
                "metrics",
                format!(
                    "kind '{}' needs exactly one metric (got {})",
                    self.kind,
                    metrics.len()
                ),
            ));
        }
        Ok(metrics.into_iter().next().expect("one"))
    }
}

/// A known `kind`, and no field of another kind.
fn check_kind(t: &Table<'_, '_>) -> Result<(), InputError> {
    let (f, kind) = (t.file(), t.kind);
    let kinds: Vec<&str> = crate::autoscale::spec::AUTOSCALERS
        .iter()
        .map(|a| a.0)
        .collect();
    if !kinds.contains(&kind) {
        return Err(t.err(
            f.kind.span(),
            "kind",
            format!(
                "unknown autoscaler '{kind}'; choose from: {}",
                kinds.join(", ")
            ),
        ));
    }
    let foreign: &[(&str, bool, &[&str])] = &[
        ("behavior", f.behavior.is_some(), &["hpa"]),
        (
            "targetCPUUtilizationPercentage",
            f.target_cpu_utilization_percentage.is_some(),
            &["hpa"],
        ),
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
    match foreign_field(foreign, kind) {
        Some((field, owners)) => Err(t.whole(
            field,
            format!("does not apply to kind '{kind}' (only to {owners})"),
        )),
        None => Ok(()),
    }
}

/// `minReplicas` (default 1; Knative 0) and `maxReplicas` (required;
/// Knative: 0 for no limit), with min ≤ max.
fn replica_bounds(t: &Table<'_, '_>) -> Result<(u32, u32), InputError> {
    let (f, knative) = (t.file(), t.kind == "knative");
    let min = match &f.min_replicas {
        Some(m) if *m.get_ref() < 0 || *m.get_ref() > i64::from(u32::MAX) => {
            return Err(t.err(
                m.span(),
                "minReplicas",
                format!("must not be negative (got {})", m.get_ref()),
            ));
        }
        Some(m) => *m.get_ref() as u32,
        None => u32::from(!knative),
    };
    let max = match &f.max_replicas {
        Some(m) if *m.get_ref() < 1 || *m.get_ref() > i64::from(u32::MAX) => {
            return Err(t.err(
                m.span(),
                "maxReplicas",
                format!("must be at least 1 (got {})", m.get_ref()),
            ));
        }
        Some(m) => *m.get_ref() as u32,
        None if knative => 0,
        None => return Err(t.whole("maxReplicas", "is required".into())),
    };
    if max > 0 && min > max {
        let span = f.min_replicas.as_ref().map_or(t.a.span(), |m| m.span());
        return Err(t.err(
            span,
            "minReplicas",
            format!("{min} is above maxReplicas {max}"),
        ));
    }
    Ok((min, max))
}

/// `hpa`: `metrics` or autoscaling/v1's `targetCPUUtilizationPercentage`
/// (neither: upstream's default, cpu at 80%), and `behavior` over
/// Kubernetes' defaults when given, `None` when not.
fn hpa(
    t: &Table<'_, '_>,
    metrics: Vec<MetricSpec>,
    controller: &HpaConfig,
) -> Result<AutoscalerSpec, InputError> {
    let config = *controller;
    let metrics = hpa_metrics(t, metrics)?;
    let behavior = match &t.file().behavior {
        Some(b) => {
            let down = ScalingRules {
                stabilization_window: config.downscale_stabilization,
                ..ScalingRules::default_down()
            };
            Some(HpaBehavior {
                scale_up: rules(
                    &b.scale_up,
                    ScalingRules::default_up(),
                    &format!("{}.behavior.scaleUp", t.path),
                    t.ctx,
                )?,
                scale_down: rules(
                    &b.scale_down,
                    down,
                    &format!("{}.behavior.scaleDown", t.path),
                    t.ctx,
                )?,
            })
        }
        None => None,
    };
    let spec = HpaSpec {
        min_replicas: t.min,
        max_replicas: t.max,
        metrics,
        behavior,
    };
    spec.validate()
        .map_err(|(field, msg)| t.whole(&field, msg))?;
    Ok(AutoscalerSpec::Hpa(spec, config))
}

/// The HPA's metrics: `metrics`, or autoscaling/v1's
/// `targetCPUUtilizationPercentage` as the one cpu Utilization metric it
/// converts to, or, with neither, the cpu 80% metric
/// `SetDefaults_HorizontalPodAutoscaler` adds (`autoscaling.DefaultCPUUtilization`).
fn hpa_metrics(t: &Table<'_, '_>, metrics: Vec<MetricSpec>) -> Result<Vec<MetricSpec>, InputError> {
    let cpu = |u: i32| MetricSpec {
        source: MetricSource::Resource(ResourceMetric::Cpu),
        target: MetricTarget::Utilization(u),
    };
    let Some(v1) = &t.file().target_cpu_utilization_percentage else {
        return Ok(if metrics.is_empty() {
            vec![cpu(80)]
        } else {
            metrics
        });
    };
    let field = "targetCPUUtilizationPercentage";
    if !metrics.is_empty() {
        return Err(t.err(
            v1.span(),
            field,
            "conflicts with `metrics`: set one (autoscaling/v1 or autoscaling/v2), not both".into(),
        ));
    }
    let u = *v1.get_ref();
    if !(1..=i64::from(i32::MAX)).contains(&u) {
        return Err(t.err(
            v1.span(),
            field,
            format!("must be greater than 0 (got {u})"),
        ));
    }
    Ok(vec![cpu(u as i32)])
}

/// `target-tracking`: one metric and the two cooldowns (default 300 s).
fn target_tracking(
    t: &Table<'_, '_>,
    metrics: Vec<MetricSpec>,
) -> Result<AutoscalerSpec, InputError> {
    let f = t.file();
    let metric = t.one_metric(metrics)?;
    let cooldown = SimDuration::from_secs(300);
    Ok(AutoscalerSpec::TargetTracking(TargetTrackingSpec {
        metric,
        min_replicas: t.min.max(1),
        max_replicas: t.max,
        scale_out_cooldown: t.dur(&f.scale_out_cooldown, "scaleOutCooldown", cooldown)?,
        scale_in_cooldown: t.dur(&f.scale_in_cooldown, "scaleInCooldown", cooldown)?,
        disable_scale_in: f.disable_scale_in.as_ref().is_some_and(|b| *b.get_ref()),
    }))
}

/// `step`: one metric and a `scaleOut` policy, a `scaleIn` policy or both.
fn step(t: &Table<'_, '_>, metrics: Vec<MetricSpec>) -> Result<AutoscalerSpec, InputError> {
    let f = t.file();
    let metric = t.one_metric(metrics)?;
    let scale_out = step_policy(t, &f.scale_out, "scaleOut", true)?;
    let scale_in = step_policy(t, &f.scale_in, "scaleIn", false)?;
    if scale_out.is_none() && scale_in.is_none() {
        return Err(t.whole(
            "scaleOut",
            "kind 'step' needs scaleOut, scaleIn or both".into(),
        ));
    }
    Ok(AutoscalerSpec::Step(StepScalingSpec {
        metric,
        min_replicas: t.min.max(1),
        max_replicas: t.max,
        scale_out,
        scale_in,
    }))
}

/// One step scaling policy with its alarm (`above` the threshold or below).
fn step_policy(
    t: &Table<'_, '_>,
    p: &Option<Spanned<StepPolicyFile>>,
    field: &str,
    above: bool,
) -> Result<Option<StepPolicy>, InputError> {
    let Some(p) = p else { return Ok(None) };
    let f = p.get_ref();
    let e = |msg: String| t.err(p.span(), field, msg);
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
            StepAdjustmentTypeFile::ChangeInCapacity => AdjustmentType::ChangeInCapacity,
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
}

/// `predictive`: one AverageValue metric, the lead (default: the mean
/// start delay, at least 15 s), season and scale-down window.
fn predictive(
    t: &Table<'_, '_>,
    metrics: Vec<MetricSpec>,
    start_delay: SimDuration,
) -> Result<AutoscalerSpec, InputError> {
    let f = t.file();
    let metric = t.one_metric(metrics)?;
    if !matches!(metric.target, MetricTarget::AverageValue(_)) {
        return Err(t.whole(
            "metrics[0]",
            "the predictive autoscaler needs an AverageValue target (load per replica)".into(),
        ));
    }
    let lead = t.dur(&f.lead, "lead", start_delay.max(SimDuration::from_secs(15)))?;
    let mut s = PredictiveSpec::new(metric, t.min.max(1), t.max, lead);
    s.season = f.season.as_ref().map(|d| d.get_ref().0);
    s.scale_down_window = t.dur(&f.scale_down_window, "scaleDownWindow", s.scale_down_window)?;
    Ok(AutoscalerSpec::Predictive(s))
}

/// `knative`: no metrics (it scales on in-flight requests), its target,
/// utilization (at most 100%) and windows.
fn knative(t: &Table<'_, '_>, metrics: Vec<MetricSpec>) -> Result<AutoscalerSpec, InputError> {
    let f = t.file();
    if !metrics.is_empty() {
        return Err(t.whole(
            "metrics",
            "knative scales on in-flight requests; set `target` instead".into(),
        ));
    }
    let mut s = KpaSpec {
        min_replicas: t.min,
        max_replicas: t.max,
        ..KpaSpec::default()
    };
    if let Some(target) = &f.target {
        s.target = target.get_ref().0;
    }
    if let Some(u) = &f.target_utilization_percentage {
        let u = u.get_ref().0;
        if u > 100.0 {
            return Err(t.whole(
                "targetUtilizationPercentage",
                format!("must be at most 100 (got {u})"),
            ));
        }
        s.utilization = u / 100.0;
    }
    s.stable_window = t.dur(&f.stable_window, "stableWindow", s.stable_window)?;
    s.scale_to_zero_grace = t.dur(
        &f.scale_to_zero_grace_period,
        "scaleToZeroGracePeriod",
        s.scale_to_zero_grace,
    )?;
    Ok(AutoscalerSpec::Knative(s))
}

#[cfg(test)]
mod tests;
