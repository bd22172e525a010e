//! `[services.NAME.probes]` and `[nodeLifecycle]`: the file shape and its
//! conversion into [`Probes`] and a [`NodeLifecycleConfig`].
//!
//! Key decision: fields keep Kubernetes' names and units — probes count
//! whole seconds (`periodSeconds`, `tolerationSeconds`) as in a pod spec,
//! the controller flags are Go durations (`nodeMonitorGracePeriod = "40s"`)
//! as on the kube-controller-manager command line — and the bounds are
//! Kubernetes' validation rules (`ValidateProbe`: period, timeout and
//! thresholds ≥ 1, initial delay ≥ 0, liveness `successThreshold` = 1).

use serde::Deserialize;
use toml::Spanned;

use super::fields::positive_duration;
use super::schema::Dur;
use super::{Ctx, InputError};
use crate::health::{NodeLifecycleConfig, ProbeSpec, Probes};
use crate::time::SimDuration;

/// `[services.NAME.probes]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProbesFile {
    /// Restart the container when it fails `failureThreshold` times in a row.
    pub liveness: Option<ProbeFile>,
    /// Take the replica out of the endpoints while it fails.
    pub readiness: Option<ProbeFile>,
}

/// `[services.NAME.probes.liveness]` / `.readiness`, as in a pod spec.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProbeFile {
    /// Seconds between probes (default 10).
    pub period_seconds: Option<Spanned<i64>>,
    /// Seconds after which a probe fails (default 1).
    pub timeout_seconds: Option<Spanned<i64>>,
    /// Consecutive failures that flip the status (default 3).
    pub failure_threshold: Option<Spanned<i64>>,
    /// Consecutive successes that flip the status (default 1; 1 for liveness).
    pub success_threshold: Option<Spanned<i64>>,
    /// Seconds after the start before the first probe (default 0).
    pub initial_delay_seconds: Option<Spanned<i64>>,
}

/// `[nodeLifecycle]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeLifecycleFile {
    /// kubelet `nodeStatusUpdateFrequency` (default `10s`).
    pub heartbeat_interval: Option<Spanned<Dur>>,
    /// `--node-monitor-period` (default `5s`).
    pub node_monitor_period: Option<Spanned<Dur>>,
    /// `--node-monitor-grace-period` (default `40s`).
    pub node_monitor_grace_period: Option<Spanned<Dur>>,
    /// Seconds replicas tolerate the not-ready/unreachable taints (default 300).
    pub toleration_seconds: Option<Spanned<i64>>,
    /// The attach-detach controller's force-detach wait (default `6m`).
    pub max_wait_for_unmount_duration: Option<Spanned<Dur>>,
}

fn int(
    v: &Option<Spanned<i64>>,
    default: i64,
    min: i64,
    path: String,
    ctx: &Ctx<'_>,
) -> Result<u64, InputError> {
    match v {
        Some(x) if *x.get_ref() < min => Err(ctx.err(
            x.span(),
            path,
            format!("must be at least {min} (got {})", x.get_ref()),
        )),
        Some(x) => Ok(*x.get_ref() as u64),
        None => Ok(default as u64),
    }
}

fn probe(
    f: &ProbeFile,
    liveness: bool,
    path: &str,
    ctx: &Ctx<'_>,
) -> Result<ProbeSpec, InputError> {
    let at = |field: &str| format!("{path}.{field}");
    let success = int(&f.success_threshold, 1, 1, at("successThreshold"), ctx)?;
    if liveness
        && success != 1
        && let Some(s) = &f.success_threshold
    {
        return Err(ctx.err(
            s.span(),
            at("successThreshold"),
            "must be 1 for a liveness probe (as Kubernetes requires)",
        ));
    }
    let thr = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    Ok(ProbeSpec {
        period: SimDuration::from_secs(int(&f.period_seconds, 10, 1, at("periodSeconds"), ctx)?),
        timeout: SimDuration::from_secs(int(&f.timeout_seconds, 1, 1, at("timeoutSeconds"), ctx)?),
        failure_threshold: thr(int(
            &f.failure_threshold,
            3,
            1,
            at("failureThreshold"),
            ctx,
        )?),
        success_threshold: thr(success),
        initial_delay: SimDuration::from_secs(int(
            &f.initial_delay_seconds,
            0,
            0,
            at("initialDelaySeconds"),
            ctx,
        )?),
    })
}

/// The probes of `services.NAME` (none when the table is absent).
pub(super) fn probes(
    f: &Option<ProbesFile>,
    service: &str,
    ctx: &Ctx<'_>,
) -> Result<Probes, InputError> {
    let Some(f) = f else {
        return Ok(Probes::default());
    };
    let path = format!("services.{service}.probes");
    Ok(Probes {
        liveness: match &f.liveness {
            Some(p) => Some(probe(p, true, &format!("{path}.liveness"), ctx)?),
            None => None,
        },
        readiness: match &f.readiness {
            Some(p) => Some(probe(p, false, &format!("{path}.readiness"), ctx)?),
            None => None,
        },
    })
}

/// `[nodeLifecycle]` with Kubernetes' defaults for what is left out.
pub(super) fn node_lifecycle(
    f: &Option<NodeLifecycleFile>,
    ctx: &Ctx<'_>,
) -> Result<NodeLifecycleConfig, InputError> {
    let mut c = NodeLifecycleConfig::default();
    let Some(f) = f else {
        return Ok(c);
    };
    let positive = |d: &Option<Spanned<Dur>>, field: &str, default: SimDuration| {
        let path = format!("nodeLifecycle.{field}");
        Ok::<_, InputError>(positive_duration(d, &path, ctx)?.unwrap_or(default))
    };
    c.heartbeat_interval = positive(
        &f.heartbeat_interval,
        "heartbeatInterval",
        c.heartbeat_interval,
    )?;
    c.monitor_period = positive(
        &f.node_monitor_period,
        "nodeMonitorPeriod",
        c.monitor_period,
    )?;
    c.grace_period = positive(
        &f.node_monitor_grace_period,
        "nodeMonitorGracePeriod",
        c.grace_period,
    )?;
    c.max_wait_for_unmount = positive(
        &f.max_wait_for_unmount_duration,
        "maxWaitForUnmountDuration",
        c.max_wait_for_unmount,
    )?;
    c.toleration = SimDuration::from_secs(int(
        &f.toleration_seconds,
        300,
        0,
        "nodeLifecycle.tolerationSeconds".into(),
        ctx,
    )?);
    if c.grace_period <= c.heartbeat_interval {
        // kube-controller-manager: the grace period "must be N times more
        // than kubelet's nodeStatusUpdateFrequency", or every node flaps.
        let span = f
            .node_monitor_grace_period
            .as_ref()
            .or(f.heartbeat_interval.as_ref())
            .map_or(0..0, |d| d.span());
        return Err(ctx.err(
            span,
            "nodeLifecycle.nodeMonitorGracePeriod",
            format!(
                "must be longer than heartbeatInterval ({}), or healthy nodes turn NotReady between heartbeats",
                c.heartbeat_interval
            ),
        ));
    }
    Ok(c)
}
