//! The scenario's `name`, `[simulation]` and `[scheduler]`: run length,
//! sampling, seed and metric resolution; the placement policy and queue.
//!
//! Key decision: each field is one small check with its default here, so
//! the pipeline in `mod.rs` reads as the order in which a file is checked.

use toml::Spanned;

use super::fields::{check_dns_label, positive_duration};
use super::schema::{QueueKind, SchedulerFile, SimulationFile};
use super::{Ctx, InputError};
use crate::placement::QueueOrder;
use crate::presets::{CLUSTER_PRESET_NAMES, ClusterPreset, cluster_preset};
use crate::registry;
use crate::time::SimDuration;

/// The scenario's `name`, a DNS label.
pub(super) fn name(n: &Spanned<String>, ctx: &Ctx<'_>) -> Result<String, InputError> {
    check_dns_label(n.get_ref()).map_err(|m| ctx.err(n.span(), "name", m))?;
    Ok(n.get_ref().clone())
}

/// `simulation.duration`, greater than zero.
pub(super) fn duration(s: &SimulationFile, ctx: &Ctx<'_>) -> Result<SimDuration, InputError> {
    let duration = s.duration.get_ref().0;
    if duration.0 == 0 {
        return Err(ctx.err(
            s.duration.span(),
            "simulation.duration",
            "must be greater than zero",
        ));
    }
    Ok(duration)
}

/// `simulation.sampleInterval` (default `1s`).
pub(super) fn sample_interval(
    s: &SimulationFile,
    ctx: &Ctx<'_>,
) -> Result<SimDuration, InputError> {
    Ok(
        positive_duration(&s.sample_interval, "simulation.sampleInterval", ctx)?
            .unwrap_or(SimDuration::from_secs(1)),
    )
}

/// `simulation.metricResolution` (default `15s`).
pub(super) fn metric_resolution(
    s: &SimulationFile,
    ctx: &Ctx<'_>,
) -> Result<SimDuration, InputError> {
    Ok(
        positive_duration(&s.metric_resolution, "simulation.metricResolution", ctx)?
            .unwrap_or(SimDuration::from_secs(15)),
    )
}

/// `preset`, one of [`crate::presets::CLUSTER_PRESET_NAMES`].
pub(super) fn preset(
    p: &Option<Spanned<String>>,
    ctx: &Ctx<'_>,
) -> Result<Option<ClusterPreset>, InputError> {
    let Some(p) = p else { return Ok(None) };
    match cluster_preset(p.get_ref()) {
        Some(c) => Ok(Some(c)),
        None => Err(ctx.err(
            p.span(),
            "preset",
            format!(
                "unknown whole-cluster preset '{}'; choose from: {}",
                p.get_ref(),
                CLUSTER_PRESET_NAMES.join(", ")
            ),
        )),
    }
}

/// `scheduler.policy`, a registered placer (default: the preset's, else
/// `first-fit`).
pub(super) fn placement(
    s: &SchedulerFile,
    preset: Option<&ClusterPreset>,
    ctx: &Ctx<'_>,
) -> Result<String, InputError> {
    match &s.policy {
        Some(p) => {
            registry::placer(p.get_ref())
                .map_err(|e| ctx.err(p.span(), "scheduler.policy", e.to_string()))?;
            Ok(p.get_ref().clone())
        }
        None => Ok(preset.map_or("first-fit", |p| p.placement).to_string()),
    }
}

/// `scheduler.queue` (default `priority`).
pub(super) fn queue(s: &SchedulerFile) -> QueueOrder {
    match s.queue {
        Some(QueueKind::Drf) => QueueOrder::Drf,
        Some(QueueKind::Priority) | None => QueueOrder::Priority,
    }
}
