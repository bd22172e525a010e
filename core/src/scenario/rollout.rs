//! `[services.NAME.rollout]`: the file shape and its conversion into a
//! [`RolloutSpec`].
//!
//! Key decision: one flat table with a `strategy` (like the autoscaler's
//! `kind`), its fields spelled as in a Kubernetes Deployment
//! (`maxSurge`, `maxUnavailable`, `minReadySeconds`,
//! `progressDeadlineSeconds`, `revisionHistoryLimit`) or an Argo Rollout
//! (`steps`, `setWeight`, `pause`, `analysis`, `autoPromotionSeconds`,
//! `scaleDownDelaySeconds`, `abortScaleDownDelaySeconds`,
//! `progressDeadlineAbort`), so `deny_unknown_fields` catches typos and
//! fields of another strategy are rejected by name. `…Seconds` fields are
//! integers as in the manifests; `at`, `pause.duration` and the analysis
//! times are Go durations. Validation follows Kubernetes'
//! `ValidateRollingUpdateDeployment` (percentages `^[0-9]+%$`,
//! maxUnavailable ≤ 100%, not both zero) and Argo's (weights 0..=100).

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::fields::foreign_field;
use super::schema::Dur;
use super::{Ctx, InputError};
use crate::rollout::bluegreen::BlueGreenSpec;
use crate::rollout::canary::{CanarySpec, CanaryStep};
use crate::rollout::deployment::{DeploymentConfig, Strategy};
use crate::rollout::{AnalysisSpec, IntOrPercent, NewRevision, RolloutSpec, RolloutStrategy};
use crate::time::SimDuration;

/// The rollout table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RolloutFile {
    /// `rollingUpdate`, `recreate`, `canary` or `blueGreen`.
    pub strategy: Spanned<String>,
    /// When the new revision is introduced.
    pub at: Spanned<Dur>,
    /// RollingUpdate: count or percentage (default 25%).
    pub max_surge: Option<Spanned<toml::Value>>,
    /// RollingUpdate: count or percentage (default 25%).
    pub max_unavailable: Option<Spanned<toml::Value>>,
    /// Deployment: seconds a pod must be ready to count as available (default 0).
    pub min_ready_seconds: Option<Spanned<i64>>,
    /// Seconds without progress before the rollout is failed (default 600).
    pub progress_deadline_seconds: Option<Spanned<i64>>,
    /// Deployment: old ReplicaSets kept (default 10).
    pub revision_history_limit: Option<Spanned<i64>>,
    /// Roll back / abort when the progress deadline passes (default false).
    pub progress_deadline_abort: Option<Spanned<bool>>,
    /// Canary: the steps.
    pub steps: Option<Spanned<Vec<Spanned<StepFile>>>>,
    /// Canary: thresholds of the background analysis and `analysis` steps.
    pub analysis: Option<Spanned<AnalysisFile>>,
    /// Canary and blue/green: seconds before an aborted revision's pods go
    /// (default 30; 0 keeps them).
    pub abort_scale_down_delay_seconds: Option<Spanned<i64>>,
    /// Blue/green: promote without a manual step (default true).
    pub auto_promotion_enabled: Option<Spanned<bool>>,
    /// Blue/green: seconds between green available and the switch (default 0).
    pub auto_promotion_seconds: Option<Spanned<i64>>,
    /// Blue/green: seconds between the switch and blue's scale-down (default 30).
    pub scale_down_delay_seconds: Option<Spanned<i64>>,
    /// Blue/green: analysis before the switch.
    pub pre_promotion_analysis: Option<Spanned<AnalysisFile>>,
    /// Blue/green: analysis after the switch.
    pub post_promotion_analysis: Option<Spanned<AnalysisFile>>,
    /// How the new revision behaves.
    pub new_revision: Option<Spanned<NewRevisionFile>>,
}

/// One canary step: exactly one of `setWeight`, `pause`, `analysis`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StepFile {
    /// Percent of traffic to the canary.
    pub set_weight: Option<i64>,
    /// `pause = {}` (until promoted) or `pause = { duration = "1m" }`.
    pub pause: Option<PauseFile>,
    /// `analysis = {}`: block on one analysis run.
    pub analysis: Option<EmptyFile>,
}

/// `pause = { duration }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PauseFile {
    /// How long (absent: until promoted).
    pub duration: Option<Dur>,
}

/// A table with no fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmptyFile {}

/// An analysis: thresholds on the new revision's error rate and p99.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AnalysisFile {
    /// Time between measurements (default `30s`).
    pub interval: Option<Spanned<Dur>>,
    /// Highest acceptable error rate, 0..=1.
    pub max_error_rate: Option<Spanned<f64>>,
    /// Highest acceptable p99 latency.
    pub max_p99: Option<Spanned<Dur>>,
    /// Fewer requests in a window are inconclusive (default 1).
    pub min_requests: Option<Spanned<i64>>,
    /// Failed measurements tolerated (default 0).
    pub failure_limit: Option<Spanned<i64>>,
    /// Measurements of a blocking run (default 1).
    pub count: Option<Spanned<i64>>,
}

/// `[services.NAME.rollout.newRevision]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewRevisionFile {
    /// Its replicas never become ready.
    pub crash_on_start: Option<bool>,
    /// Share of its requests that fail.
    pub error_rate: Option<Spanned<f64>>,
    /// Service time multiplier (> 0).
    pub slowdown: Option<Spanned<f64>>,
    /// Its own service time (services.rs builds it like the service's).
    pub service_time: Option<Spanned<super::schema::DistFile>>,
}

fn seconds(
    v: &Option<Spanned<i64>>,
    field: &str,
    default: u64,
    e: &impl Fn(Range<usize>, &str, String) -> InputError,
) -> Result<SimDuration, InputError> {
    match v {
        None => Ok(SimDuration::from_secs(default)),
        Some(s) if *s.get_ref() < 0 => Err(e(
            s.span(),
            field,
            format!("must not be negative (got {})", s.get_ref()),
        )),
        Some(s) => Ok(SimDuration::from_secs(*s.get_ref() as u64)),
    }
}

/// `IsValidPercent` / non-negative int, as `ValidatePositiveIntOrPercent`.
fn int_or_percent(
    v: &Spanned<toml::Value>,
    field: &str,
    e: &impl Fn(Range<usize>, &str, String) -> InputError,
) -> Result<IntOrPercent, InputError> {
    let bad = |msg: String| e(v.span(), field, msg);
    match v.get_ref() {
        toml::Value::Integer(n) if *n < 0 => Err(bad(format!("must not be negative (got {n})"))),
        toml::Value::Integer(n) => u32::try_from(*n)
            .map(IntOrPercent::Int)
            .map_err(|_| bad(format!("is too large (got {n})"))),
        toml::Value::String(s) => {
            let digits = s
                .strip_suffix('%')
                .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
            match digits.and_then(|d| d.parse::<u32>().ok()) {
                Some(p) => Ok(IntOrPercent::Percent(p)),
                None => Err(bad(format!(
                    "must be a count or a percentage such as \"25%\" (got \"{s}\")"
                ))),
            }
        }
        other => Err(bad(format!(
            "must be a count or a percentage such as \"25%\" (got {other})"
        ))),
    }
}

fn analysis(
    a: &Spanned<AnalysisFile>,
    field: &str,
    e: &impl Fn(Range<usize>, &str, String) -> InputError,
) -> Result<AnalysisSpec, InputError> {
    let f = a.get_ref();
    let at = |name: &str| format!("{field}.{name}");
    let mut spec = AnalysisSpec::default();
    if let Some(i) = &f.interval {
        if i.get_ref().0 == SimDuration::ZERO {
            return Err(e(
                i.span(),
                &at("interval"),
                "must be greater than zero".into(),
            ));
        }
        spec.interval = i.get_ref().0;
    }
    if let Some(r) = &f.max_error_rate {
        let x = *r.get_ref();
        if !(0.0..=1.0).contains(&x) {
            return Err(e(
                r.span(),
                &at("maxErrorRate"),
                format!("must be between 0 and 1 (got {x})"),
            ));
        }
        spec.max_error_rate = Some(x);
    }
    spec.max_p99 = f.max_p99.as_ref().map(|d| d.get_ref().0);
    if spec.max_error_rate.is_none() && spec.max_p99.is_none() {
        return Err(e(
            a.span(),
            field,
            "needs maxErrorRate, maxP99 or both".into(),
        ));
    }
    let count =
        |v: &Option<Spanned<i64>>, name: &str, min: i64, default: i64| -> Result<i64, InputError> {
            match v {
                Some(n) if *n.get_ref() < min || *n.get_ref() > i64::from(u32::MAX) => Err(e(
                    n.span(),
                    &at(name),
                    format!("must be at least {min} (got {})", n.get_ref()),
                )),
                Some(n) => Ok(*n.get_ref()),
                None => Ok(default),
            }
        };
    spec.min_requests = count(&f.min_requests, "minRequests", 0, 1)? as u64;
    spec.failure_limit = count(&f.failure_limit, "failureLimit", 0, 0)? as u32;
    spec.count = count(&f.count, "count", 1, 1)? as u32;
    Ok(spec)
}

/// Builds the rollout of service `path` (e.g. `services.web`); the new
/// revision's `serviceTime` is left for the caller, who builds distributions.
pub(crate) fn build(
    r: &Spanned<RolloutFile>,
    path: &str,
    ctx: &Ctx<'_>,
) -> Result<RolloutSpec, InputError> {
    let f = r.get_ref();
    let p = format!("{path}.rollout");
    let e =
        |span: Range<usize>, field: &str, msg: String| ctx.err(span, format!("{p}.{field}"), msg);
    let strategy = f.strategy.get_ref().as_str();
    check_strategy(r, &e)?;
    let deadline = seconds(
        &f.progress_deadline_seconds,
        "progressDeadlineSeconds",
        600,
        &e,
    )?;
    let abort_on_deadline = f
        .progress_deadline_abort
        .as_ref()
        .is_some_and(|b| *b.get_ref());
    let abort_delay = match seconds(
        &f.abort_scale_down_delay_seconds,
        "abortScaleDownDelaySeconds",
        30,
        &e,
    )? {
        SimDuration::ZERO => None,
        d => Some(d),
    };
    let strategy = match strategy {
        "rollingUpdate" | "recreate" => deployment(r, deadline, abort_on_deadline, &e)?,
        "canary" => canary(r, deadline, abort_on_deadline, abort_delay, &e)?,
        _ => blue_green(f, abort_delay, &e)?,
    };
    Ok(RolloutSpec {
        at: f.at.get_ref().0,
        strategy,
        new_revision: new_revision(f.new_revision.as_ref(), &e)?,
    })
}

/// A known `strategy`, and no field of another strategy.
fn check_strategy(
    r: &Spanned<RolloutFile>,
    e: &impl Fn(Range<usize>, &str, String) -> InputError,
) -> Result<(), InputError> {
    let f = r.get_ref();
    let strategy = f.strategy.get_ref().as_str();
    const STRATEGIES: [&str; 4] = ["rollingUpdate", "recreate", "canary", "blueGreen"];
    if !STRATEGIES.contains(&strategy) {
        return Err(e(
            f.strategy.span(),
            "strategy",
            format!(
                "unknown strategy '{strategy}'; choose from: {}",
                STRATEGIES.join(", ")
            ),
        ));
    }
    let deployment: &[&str] = &["rollingUpdate", "recreate"];
    let progressing: &[&str] = &["rollingUpdate", "recreate", "canary"];
    let foreign: &[(&str, bool, &[&str])] = &[
        ("maxSurge", f.max_surge.is_some(), &["rollingUpdate"]),
        (
            "maxUnavailable",
            f.max_unavailable.is_some(),
            &["rollingUpdate"],
        ),
        ("minReadySeconds", f.min_ready_seconds.is_some(), deployment),
        (
            "revisionHistoryLimit",
            f.revision_history_limit.is_some(),
            deployment,
        ),
        (
            "progressDeadlineSeconds",
            f.progress_deadline_seconds.is_some(),
            progressing,
        ),
        (
            "progressDeadlineAbort",
            f.progress_deadline_abort.is_some(),
            progressing,
        ),
        ("steps", f.steps.is_some(), &["canary"]),
        ("analysis", f.analysis.is_some(), &["canary"]),
        (
            "abortScaleDownDelaySeconds",
            f.abort_scale_down_delay_seconds.is_some(),
            &["canary", "blueGreen"],
        ),
        (
            "autoPromotionEnabled",
            f.auto_promotion_enabled.is_some(),
            &["blueGreen"],
        ),
        (
            "autoPromotionSeconds",
            f.auto_promotion_seconds.is_some(),
            &["blueGreen"],
        ),
        (
            "scaleDownDelaySeconds",
            f.scale_down_delay_seconds.is_some(),
            &["blueGreen"],
        ),
        (
            "prePromotionAnalysis",
            f.pre_promotion_analysis.is_some(),
            &["blueGreen"],
        ),
        (
            "postPromotionAnalysis",
            f.post_promotion_analysis.is_some(),
            &["blueGreen"],
        ),
    ];
    match foreign_field(foreign, strategy) {
        Some((field, owners)) => Err(e(
            r.span(),
            field,
            format!("does not apply to strategy '{strategy}' (only to {owners})"),
        )),
        None => Ok(()),
    }
}

/// `rollingUpdate` or `recreate`: a Deployment's strategy, history limit,
/// `minReadySeconds` and the progress deadline that must exceed it.
fn deployment(
    r: &Spanned<RolloutFile>,
    deadline: SimDuration,
    abort_on_deadline: bool,
    e: &impl Fn(Range<usize>, &str, String) -> InputError,
) -> Result<RolloutStrategy, InputError> {
    let f = r.get_ref();
    let strategy = if f.strategy.get_ref() == "recreate" {
        Strategy::Recreate
    } else {
        rolling_update(r, e)?
    };
    let limit = match &f.revision_history_limit {
        Some(n) if *n.get_ref() < 0 || *n.get_ref() > i64::from(u32::MAX) => {
            return Err(e(
                n.span(),
                "revisionHistoryLimit",
                format!("must not be negative (got {})", n.get_ref()),
            ));
        }
        Some(n) => *n.get_ref() as u32,
        None => 10,
    };
    let min_ready = seconds(&f.min_ready_seconds, "minReadySeconds", 0, e)?;
    // Kubernetes: progressDeadlineSeconds must be greater than minReadySeconds.
    if let Some(s) = &f.progress_deadline_seconds
        && deadline <= min_ready
    {
        return Err(e(
            s.span(),
            "progressDeadlineSeconds",
            "must be greater than minReadySeconds".into(),
        ));
    }
    Ok(RolloutStrategy::Deployment(DeploymentConfig {
        strategy,
        min_ready,
        progress_deadline: Some(deadline),
        revision_history_limit: limit,
        progress_deadline_abort: abort_on_deadline,
    }))
}

/// `maxSurge` and `maxUnavailable` (default 25% each): unavailable at
/// most 100%, and not both zero.
fn rolling_update(
    r: &Spanned<RolloutFile>,
    e: &impl Fn(Range<usize>, &str, String) -> InputError,
) -> Result<Strategy, InputError> {
    let f = r.get_ref();
    let surge = match &f.max_surge {
        Some(v) => int_or_percent(v, "maxSurge", e)?,
        None => IntOrPercent::Percent(25),
    };
    let unavailable = match &f.max_unavailable {
        Some(v) => int_or_percent(v, "maxUnavailable", e)?,
        None => IntOrPercent::Percent(25),
    };
    let span = || f.max_unavailable.as_ref().map_or(r.span(), |v| v.span());
    if let IntOrPercent::Percent(p) = unavailable
        && p > 100
    {
        return Err(e(
            span(),
            "maxUnavailable",
            format!("must not be greater than 100% (got {p}%)"),
        ));
    }
    let zero = |v: IntOrPercent| matches!(v, IntOrPercent::Int(0) | IntOrPercent::Percent(0));
    if zero(surge) && zero(unavailable) {
        return Err(e(
            span(),
            "maxUnavailable",
            "may not be 0 when maxSurge is 0".into(),
        ));
    }
    Ok(Strategy::RollingUpdate {
        max_surge: surge,
        max_unavailable: unavailable,
    })
}

/// `canary`: its steps, and the analysis that `analysis` steps need.
fn canary(
    r: &Spanned<RolloutFile>,
    deadline: SimDuration,
    abort_on_deadline: bool,
    abort_delay: Option<SimDuration>,
    e: &impl Fn(Range<usize>, &str, String) -> InputError,
) -> Result<RolloutStrategy, InputError> {
    let f = r.get_ref();
    let Some(steps) = &f.steps else {
        return Err(e(r.span(), "steps", "a canary needs steps".into()));
    };
    let out = steps
        .get_ref()
        .iter()
        .enumerate()
        .map(|(k, s)| canary_step(k, s, e))
        .collect::<Result<Vec<_>, _>>()?;
    let analysis = match &f.analysis {
        Some(a) => Some(analysis(a, "analysis", e)?),
        None => None,
    };
    if analysis.is_none() && out.contains(&CanaryStep::Analysis) {
        return Err(e(
            steps.span(),
            "analysis",
            "analysis steps need an analysis table with thresholds".into(),
        ));
    }
    Ok(RolloutStrategy::Canary(CanarySpec {
        steps: out,
        analysis,
        abort_scale_down_delay: abort_delay,
        progress_deadline: deadline,
        progress_deadline_abort: abort_on_deadline,
    }))
}

/// `steps[k]`: exactly one of `setWeight` (0..=100), `pause`, `analysis`.
fn canary_step(
    k: usize,
    s: &Spanned<StepFile>,
    e: &impl Fn(Range<usize>, &str, String) -> InputError,
) -> Result<CanaryStep, InputError> {
    let sf = s.get_ref();
    let at = |name: &str| format!("steps[{k}]{name}");
    let given = [
        sf.set_weight.is_some(),
        sf.pause.is_some(),
        sf.analysis.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(e(
            s.span(),
            &at(""),
            "needs exactly one of setWeight, pause, analysis".into(),
        ));
    }
    match (sf.set_weight, &sf.pause) {
        (Some(w), _) if !(0..=100).contains(&w) => Err(e(
            s.span(),
            &at(".setWeight"),
            format!("must be between 0 and 100 (got {w})"),
        )),
        (Some(w), _) => Ok(CanaryStep::SetWeight(w as u8)),
        (None, Some(pause)) => Ok(CanaryStep::Pause(pause.duration.as_ref().map(|d| d.0))),
        (None, None) => Ok(CanaryStep::Analysis),
    }
}

/// `blueGreen`: promotion, scale-down delays and the analyses around the switch.
fn blue_green(
    f: &RolloutFile,
    abort_delay: Option<SimDuration>,
    e: &impl Fn(Range<usize>, &str, String) -> InputError,
) -> Result<RolloutStrategy, InputError> {
    let pre = match &f.pre_promotion_analysis {
        Some(a) => Some(analysis(a, "prePromotionAnalysis", e)?),
        None => None,
    };
    let post = match &f.post_promotion_analysis {
        Some(a) => Some(analysis(a, "postPromotionAnalysis", e)?),
        None => None,
    };
    Ok(RolloutStrategy::BlueGreen(BlueGreenSpec {
        auto_promotion: f
            .auto_promotion_enabled
            .as_ref()
            .is_none_or(|b| *b.get_ref()),
        auto_promotion_after: seconds(&f.auto_promotion_seconds, "autoPromotionSeconds", 0, e)?,
        scale_down_delay: seconds(&f.scale_down_delay_seconds, "scaleDownDelaySeconds", 30, e)?,
        abort_scale_down_delay: abort_delay,
        pre_promotion_analysis: pre,
        post_promotion_analysis: post,
    }))
}

/// `newRevision`: an error rate in [0, 1] and a positive slowdown.
fn new_revision(
    n: Option<&Spanned<NewRevisionFile>>,
    e: &impl Fn(Range<usize>, &str, String) -> InputError,
) -> Result<NewRevision, InputError> {
    let mut new_revision = NewRevision::default();
    let Some(n) = n else {
        return Ok(new_revision);
    };
    let nf = n.get_ref();
    new_revision.crash_on_start = nf.crash_on_start.unwrap_or(false);
    if let Some(r) = &nf.error_rate {
        let x = *r.get_ref();
        if !(0.0..=1.0).contains(&x) {
            return Err(e(
                r.span(),
                "newRevision.errorRate",
                format!("must be between 0 and 1 (got {x})"),
            ));
        }
        new_revision.error_rate = x;
    }
    if let Some(s) = &nf.slowdown {
        let x = *s.get_ref();
        if !(x.is_finite() && x > 0.0) {
            return Err(e(
                s.span(),
                "newRevision.slowdown",
                format!("must be greater than zero (got {x})"),
            ));
        }
        new_revision.slowdown = x;
    }
    Ok(new_revision)
}
