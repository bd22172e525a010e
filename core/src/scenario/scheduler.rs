//! `[scheduler]`'s profile fields: `percentageOfNodesToScore`, `plugins`
//! and `pluginConfig`, spelled as one profile of a `KubeSchedulerConfiguration`
//! (`kubescheduler.config.k8s.io/v1`).
//!
//! Key decision: the fields apply to the Kubernetes presets only
//! ([`KUBERNETES_PROFILES`]); the preset is the defaults the profile merges
//! onto (`mergePlugins`, [`crate::sched::plugin_set`]), the arguments are
//! defaulted as `pkg/scheduler/apis/config/v1/defaults.go` defaults them
//! (a resource weight of 0 or none → 1) and validated as
//! `validation/validation_pluginargs.go` @ 0bd65a06 validates them, with
//! upstream's wording after the located field. One deliberate difference:
//! an explicitly empty `resources` list is an error here — upstream's v1
//! defaulting silently replaces it by cpu and memory (and its scorer fails
//! every node with "resources not found" when a list stays empty), neither
//! of which is what a user who wrote `[]` meant.

use serde::Deserialize;
use toml::Spanned;

use super::schema::SchedulerFile;
use super::{Ctx, InputError};
use crate::model::ResourceName;
use crate::sched::config::{
    KUBERNETES_PROFILES, SchedulerProfile, ScoringStrategy, ScoringStrategyType,
};
use crate::sched::plugin_set::{INVALID_V1_PLUGINS, PluginRef, PluginSet, Plugins, merge_plugins};
use crate::sched::plugins::{DEFAULT_RESOURCES, MAX_CUSTOM_PRIORITY_SCORE};

/// `[scheduler.plugins]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PluginsFile {
    /// `multiPoint`.
    #[serde(default)]
    pub multi_point: PluginSetFile,
    /// `filter`.
    #[serde(default)]
    pub filter: PluginSetFile,
    /// `score`.
    #[serde(default)]
    pub score: PluginSetFile,
}

/// A `PluginSet`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginSetFile {
    /// `enabled`.
    #[serde(default)]
    pub enabled: Vec<Spanned<PluginFile>>,
    /// `disabled` (a weight there is ignored, as upstream).
    #[serde(default)]
    pub disabled: Vec<Spanned<PluginFile>>,
}

/// One `Plugin`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginFile {
    /// `name` (`*` in `disabled`: every default plugin of that point).
    pub name: String,
    /// `weight` (score plugins; int32).
    pub weight: Option<Spanned<i64>>,
}

/// One `[[scheduler.pluginConfig]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfigFile {
    /// The plugin the arguments are for.
    pub name: Spanned<String>,
    /// Its arguments.
    pub args: ArgsFile,
}

/// The arguments Orkestra reads: `NodeResourcesFitArgs.scoringStrategy`
/// and `NodeResourcesBalancedAllocationArgs.resources`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ArgsFile {
    /// NodeResourcesFit's `scoringStrategy`.
    pub scoring_strategy: Option<Spanned<ScoringStrategyFile>>,
    /// NodeResourcesBalancedAllocation's `resources`.
    pub resources: Option<Spanned<Vec<Spanned<ResourceSpecFile>>>>,
}

/// `scoringStrategy`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScoringStrategyFile {
    /// `type`.
    #[serde(rename = "type")]
    pub kind: Option<Spanned<String>>,
    /// `resources` (default cpu 1, memory 1).
    pub resources: Option<Spanned<Vec<Spanned<ResourceSpecFile>>>>,
    /// `requestedToCapacityRatio`.
    pub requested_to_capacity_ratio: Option<Spanned<RequestedToCapacityRatioFile>>,
}

/// `ResourceSpec`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceSpecFile {
    /// `name`.
    pub name: Spanned<String>,
    /// `weight` (0 or absent → 1).
    pub weight: Option<Spanned<i64>>,
}

/// `requestedToCapacityRatio`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestedToCapacityRatioFile {
    /// `shape`.
    pub shape: Vec<Spanned<ShapePointFile>>,
}

/// `UtilizationShapePoint`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShapePointFile {
    /// `utilization`, 0..=100.
    pub utilization: Spanned<i64>,
    /// `score`, 0..=10.
    pub score: Spanned<i64>,
}

/// The profile `[scheduler]` configures on `preset`, or `None` when it
/// sets no profile field (the preset then runs exactly as registered).
///
/// A whole-cluster preset's `percentageOfNodesToScore` applies when the
/// section gives none and it differs from the placement preset's own.
pub(super) fn profile(
    s: &SchedulerFile,
    preset: &str,
    cluster: Option<&crate::presets::ClusterPreset>,
    ctx: &Ctx<'_>,
) -> Result<Option<SchedulerProfile>, InputError> {
    let inherited = match (cluster, SchedulerProfile::preset(preset)) {
        (Some(c), Some(p))
            if s.percentage_of_nodes_to_score.is_none()
                && c.percentage_of_nodes_to_score != p.percentage_of_nodes_to_score =>
        {
            Some(c.percentage_of_nodes_to_score)
        }
        _ => None,
    };
    let first = s
        .percentage_of_nodes_to_score
        .as_ref()
        .map(|p| (p.span(), "scheduler.percentageOfNodesToScore"))
        .or(s.plugins.as_ref().map(|p| (p.span(), "scheduler.plugins")))
        .or(s
            .plugin_config
            .first()
            .map(|p| (p.span(), "scheduler.pluginConfig")));
    let Some((span, field)) = first else {
        return Ok(inherited.and_then(|pct| {
            let mut p = SchedulerProfile::preset(preset)?;
            p.percentage_of_nodes_to_score = pct;
            Some(p)
        }));
    };
    let Some(mut profile) = SchedulerProfile::preset(preset) else {
        return Err(ctx.err(
            span,
            field,
            format!(
                "a scheduler profile applies to the Kubernetes presets ({}) only; policy '{preset}' is not one",
                KUBERNETES_PROFILES.join(", ")
            ),
        ));
    };
    if let Some(p) = &s.percentage_of_nodes_to_score {
        let v = *p.get_ref();
        if !(0..=100).contains(&v) {
            return Err(ctx.err(
                p.span(),
                "scheduler.percentageOfNodesToScore",
                format!("Invalid value: {v}: not in valid range [0-100]"),
            ));
        }
        profile.percentage_of_nodes_to_score = v as u32;
    } else if let Some(pct) = inherited {
        profile.percentage_of_nodes_to_score = pct;
    }
    if let Some(p) = &s.plugins {
        let custom = plugins(p.get_ref(), ctx)?;
        let merged = merge_plugins(&profile.preset_plugins(), &custom);
        profile
            .set_plugins(&merged)
            .map_err(|m| ctx.err(p.span(), "scheduler.plugins", m))?;
    }
    plugin_config(&s.plugin_config, &mut profile, ctx)?;
    Ok(Some(profile))
}

fn plugins(p: &PluginsFile, ctx: &Ctx<'_>) -> Result<Plugins, InputError> {
    Ok(Plugins {
        multi_point: plugin_set(&p.multi_point, "multiPoint", ctx)?,
        filter: plugin_set(&p.filter, "filter", ctx)?,
        score: plugin_set(&p.score, "score", ctx)?,
    })
}

fn plugin_set(s: &PluginSetFile, point: &str, ctx: &Ctx<'_>) -> Result<PluginSet, InputError> {
    let mut enabled = Vec::with_capacity(s.enabled.len());
    for (i, p) in s.enabled.iter().enumerate() {
        let at = format!("scheduler.plugins.{point}.enabled[{i}]");
        let name = &p.get_ref().name;
        if INVALID_V1_PLUGINS.contains(&name.as_str()) {
            return Err(ctx.err(
                p.span(),
                at,
                format!(
                    "Invalid value: {name:?}: was invalid in version \"kubescheduler.config.k8s.io/v1\" (KubeSchedulerConfiguration is version \"kubescheduler.config.k8s.io/v1\")"
                ),
            ));
        }
        let weight = match &p.get_ref().weight {
            None => None,
            Some(w) => Some(i32::try_from(*w.get_ref()).map_err(|_| {
                ctx.err(
                    w.span(),
                    format!("{at}.weight"),
                    format!("{} does not fit the API's int32", w.get_ref()),
                )
            })?),
        };
        enabled.push(PluginRef {
            name: name.clone(),
            weight,
        });
    }
    Ok(PluginSet {
        enabled,
        disabled: s
            .disabled
            .iter()
            .map(|p| p.get_ref().name.clone())
            .collect(),
    })
}

fn plugin_config(
    list: &[Spanned<PluginConfigFile>],
    profile: &mut SchedulerProfile,
    ctx: &Ctx<'_>,
) -> Result<(), InputError> {
    let mut seen: Vec<&str> = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let at = format!("scheduler.pluginConfig[{i}]");
        let c = c.get_ref();
        let name = c.name.get_ref().as_str();
        if seen.contains(&name) {
            return Err(ctx.err(
                c.name.span(),
                format!("{at}.name"),
                format!("Duplicate value: {name:?}"),
            ));
        }
        seen.push(name);
        let args = &c.args;
        match name {
            "NodeResourcesFit" => {
                if let Some(r) = &args.resources {
                    return Err(mismatch(r.span(), &at, "resources", name, ctx));
                }
                if let Some(st) = &args.scoring_strategy {
                    profile.scoring_strategy = scoring_strategy(st, &at, ctx)?;
                }
            }
            "NodeResourcesBalancedAllocation" => {
                if let Some(st) = &args.scoring_strategy {
                    return Err(mismatch(st.span(), &at, "scoringStrategy", name, ctx));
                }
                if let Some(r) = &args.resources {
                    profile.balanced_resources = balanced_resources(r, &at, ctx)?;
                }
            }
            _ => {
                return Err(ctx.err(
                    c.name.span(),
                    format!("{at}.name"),
                    format!(
                        "Orkestra reads the arguments of NodeResourcesFit and NodeResourcesBalancedAllocation only; {name:?} runs with upstream's defaults (remove this entry)"
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn mismatch(
    span: std::ops::Range<usize>,
    at: &str,
    field: &str,
    plugin: &str,
    ctx: &Ctx<'_>,
) -> InputError {
    ctx.err(
        span,
        format!("{at}.args.{field}"),
        format!("has to match plugin args: {plugin}'s arguments have no `{field}`"),
    )
}

fn scoring_strategy(
    st: &Spanned<ScoringStrategyFile>,
    at: &str,
    ctx: &Ctx<'_>,
) -> Result<ScoringStrategy, InputError> {
    let path = format!("{at}.args.scoringStrategy");
    let s = st.get_ref();
    let supported = ScoringStrategyType::ALL
        .map(|t| format!("{:?}", t.as_str()))
        .join(", ");
    let kind = match &s.kind {
        None => {
            return Err(ctx.err(
                st.span(),
                format!("{path}.type"),
                format!("Unsupported value: \"\": supported values: {supported}"),
            ));
        }
        Some(k) => ScoringStrategyType::from_name(k.get_ref()).ok_or_else(|| {
            ctx.err(
                k.span(),
                format!("{path}.type"),
                format!(
                    "Unsupported value: {:?}: supported values: {supported}",
                    k.get_ref()
                ),
            )
        })?,
    };
    let resources = match &s.resources {
        None => DEFAULT_RESOURCES.to_vec(),
        Some(list) => weighted_resources(list, &format!("{path}.resources"), ctx)?,
    };
    let rtcr = ScoringStrategyType::RequestedToCapacityRatio;
    let shape = match (&s.requested_to_capacity_ratio, kind == rtcr) {
        (None, true) => {
            return Err(ctx.err(
                st.span(),
                format!("{path}.requestedToCapacityRatio"),
                "Required value: must be specified when type is RequestedToCapacityRatio",
            ));
        }
        (Some(r), false) => {
            return Err(ctx.err(
                r.span(),
                format!("{path}.requestedToCapacityRatio"),
                "Forbidden: must be nil when type is not RequestedToCapacityRatio",
            ));
        }
        (None, false) => Vec::new(),
        (Some(r), true) => shape(r, &format!("{path}.requestedToCapacityRatio.shape"), ctx)?,
    };
    Ok(ScoringStrategy {
        kind,
        resources,
        shape,
    })
}

fn nonempty<T>(list: &Spanned<Vec<T>>, path: &str, ctx: &Ctx<'_>) -> Result<(), InputError> {
    if list.get_ref().is_empty() {
        return Err(ctx.err(
            list.span(),
            path,
            "must name at least one resource (omit the field for cpu and memory, weight 1 each)",
        ));
    }
    Ok(())
}

/// `validateResources`: weights in (0, 100] after defaulting 0 → 1.
fn weighted_resources(
    list: &Spanned<Vec<Spanned<ResourceSpecFile>>>,
    path: &str,
    ctx: &Ctx<'_>,
) -> Result<Vec<(ResourceName, i64)>, InputError> {
    nonempty(list, path, ctx)?;
    let mut out = Vec::with_capacity(list.get_ref().len());
    for (i, r) in list.get_ref().iter().enumerate() {
        let r = r.get_ref();
        let name = r.name.get_ref();
        let weight = match &r.weight {
            None => 1,
            Some(w) if *w.get_ref() == 0 => 1,
            Some(w) => {
                let v = *w.get_ref();
                if !(1..=100).contains(&v) {
                    return Err(ctx.err(
                        w.span(),
                        format!("{path}[{i}].weight"),
                        format!(
                            "Invalid value: {v}: resource weight of {name} not in valid range (0, 100]"
                        ),
                    ));
                }
                v
            }
        };
        out.push((ResourceName::named(name), weight));
    }
    Ok(out)
}

/// `ValidateNodeResourcesBalancedAllocationArgs`: names unique, weights 1.
fn balanced_resources(
    list: &Spanned<Vec<Spanned<ResourceSpecFile>>>,
    at: &str,
    ctx: &Ctx<'_>,
) -> Result<Vec<ResourceName>, InputError> {
    let path = format!("{at}.args.resources");
    nonempty(list, &path, ctx)?;
    let mut out: Vec<ResourceName> = Vec::with_capacity(list.get_ref().len());
    for (i, r) in list.get_ref().iter().enumerate() {
        let r = r.get_ref();
        let name = ResourceName::named(r.name.get_ref());
        if out.contains(&name) {
            return Err(ctx.err(
                r.name.span(),
                format!("{path}[{i}].name"),
                format!("Duplicate value: {:?}", r.name.get_ref()),
            ));
        }
        if let Some(w) = &r.weight {
            // Defaulting turns 0 into 1 first.
            if *w.get_ref() != 1 && *w.get_ref() != 0 {
                return Err(ctx.err(
                    w.span(),
                    format!("{path}[{i}].weight"),
                    format!("Invalid value: {}: must be 1", w.get_ref()),
                ));
            }
        }
        out.push(name);
    }
    Ok(out)
}

/// `validateFunctionShape`: at least one point, utilizations strictly
/// increasing, each in [0, 100], scores in [0, 10].
fn shape(
    r: &Spanned<RequestedToCapacityRatioFile>,
    path: &str,
    ctx: &Ctx<'_>,
) -> Result<Vec<(i64, i64)>, InputError> {
    let points = &r.get_ref().shape;
    if points.is_empty() {
        return Err(ctx.err(
            r.span(),
            path,
            "Required value: at least one point must be specified",
        ));
    }
    for i in 1..points.len() {
        let (a, b) = (&points[i - 1].get_ref(), &points[i].get_ref());
        if a.utilization.get_ref() >= b.utilization.get_ref() {
            return Err(ctx.err(
                b.utilization.span(),
                format!("{path}[{i}].utilization"),
                format!(
                    "Invalid value: {}: values must be sorted in increasing order",
                    b.utilization.get_ref()
                ),
            ));
        }
    }
    let mut out = Vec::with_capacity(points.len());
    for (i, p) in points.iter().enumerate() {
        let p = p.get_ref();
        let (u, s) = (*p.utilization.get_ref(), *p.score.get_ref());
        if !(0..=100).contains(&u) {
            return Err(ctx.err(
                p.utilization.span(),
                format!("{path}[{i}].utilization"),
                format!("Invalid value: {u}: not in valid range [0, 100]"),
            ));
        }
        if !(0..=MAX_CUSTOM_PRIORITY_SCORE).contains(&s) {
            return Err(ctx.err(
                p.score.span(),
                format!("{path}[{i}].score"),
                format!("Invalid value: {s}: not in valid range [0, {MAX_CUSTOM_PRIORITY_SCORE}]"),
            ));
        }
        out.push((u, s));
    }
    Ok(out)
}
