//! `[stochastic.POOL]`: a failure process per pool — the file shape and
//! its conversion into a [`FailureProcess`].
//!
//! Key decision: a process is keyed by the pool it fails (a separate
//! top-level table, since `[[faults]]` is an array), and its units — the
//! pool's nodes, its racks, or its zone with every node in it — are built
//! here from the topology, so the fault plan only alternates up and down
//! periods per unit. Lifetimes are given the way reliability engineers
//! state them: exponential `mean`, Weibull `scale` (characteristic life)
//! and `shape`, lognormal `mean` with `p99` or `sigma`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use toml::Spanned;

use super::faults::World;
use super::fields::{check_fields, key_span};
use super::schema::{Dur, NonNegative, Positive};
use super::{Ctx, InputError};
use crate::dist::DurationDist;
use crate::faults::{FailureProcess, FailureScope, Lifetime};
use crate::model::NodeId;

/// `scope = "node" | "rack" | "zone"`.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ScopeFile {
    /// Nodes fail independently.
    Node,
    /// A rack fails with all its nodes.
    Rack,
    /// The pool's zone fails with all its nodes.
    Zone,
}

/// `[stochastic.POOL]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StochasticFile {
    /// What fails together (default `node`).
    pub scope: Option<ScopeFile>,
    /// Up time between repairs.
    pub time_to_failure: Spanned<LifetimeFile>,
    /// Down time.
    pub time_to_repair: Spanned<LifetimeFile>,
}

/// `dist = "exponential" | "weibull" | "lognormal"`.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LifetimeKind {
    /// `mean`.
    Exponential,
    /// `scale`, `shape`.
    Weibull,
    /// `mean` with `p99` or `sigma`.
    Lognormal,
}

/// `{ dist = "weibull", scale = "720h", shape = 1.2 }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LifetimeFile {
    /// The family.
    pub dist: LifetimeKind,
    /// Mean (exponential, lognormal).
    pub mean: Option<Dur>,
    /// Characteristic life λ (Weibull).
    pub scale: Option<Dur>,
    /// Shape k (Weibull).
    pub shape: Option<Positive>,
    /// 99th percentile (lognormal).
    pub p99: Option<Dur>,
    /// Sigma of the underlying normal (lognormal).
    pub sigma: Option<NonNegative>,
}

fn lifetime(f: &Spanned<LifetimeFile>, path: &str, ctx: &Ctx<'_>) -> Result<Lifetime, InputError> {
    let (span, l) = (f.span(), f.get_ref());
    let given = [
        ("mean", l.mean.is_some()),
        ("scale", l.scale.is_some()),
        ("shape", l.shape.is_some()),
        ("p99", l.p99.is_some()),
        ("sigma", l.sigma.is_some()),
    ];
    let bad = |m: String| ctx.err(span.clone(), path, m);
    match l.dist {
        LifetimeKind::Exponential => {
            check_fields(
                &given,
                &["mean"],
                &[],
                "dist = \"exponential\"",
                span.clone(),
                path,
                ctx,
            )?;
            DurationDist::exponential(l.mean.expect("checked").0)
                .map(Lifetime::Dist)
                .map_err(bad)
        }
        LifetimeKind::Weibull => {
            check_fields(
                &given,
                &["scale", "shape"],
                &[],
                "dist = \"weibull\"",
                span.clone(),
                path,
                ctx,
            )?;
            Lifetime::weibull(l.scale.expect("checked").0, l.shape.expect("checked").0).map_err(bad)
        }
        LifetimeKind::Lognormal => {
            check_fields(
                &given,
                &["mean"],
                &["p99", "sigma"],
                "dist = \"lognormal\"",
                span.clone(),
                path,
                ctx,
            )?;
            let mean = l.mean.expect("checked").0;
            match (l.p99, l.sigma) {
                (Some(p), None) => DurationDist::lognormal_mean_p99(mean, p.0),
                (None, Some(s)) => DurationDist::lognormal_mean_sigma(mean, s.0),
                _ => Err("a lognormal needs exactly one of 'p99' or 'sigma'".to_string()),
            }
            .map(Lifetime::Dist)
            .map_err(bad)
        }
    }
}

pub(super) fn process(
    pool: &str,
    s: &StochasticFile,
    w: &World<'_>,
    ctx: &Ctx<'_>,
) -> Result<FailureProcess, InputError> {
    let path = format!("stochastic.{pool}");
    let members: Vec<usize> = (0..w.nodes.len())
        .filter(|&i| w.nodes[i].pool == pool)
        .collect();
    if members.is_empty() {
        let pools: BTreeSet<&str> = w.nodes.iter().map(|n| n.pool.as_str()).collect();
        let list: Vec<&str> = pools.into_iter().collect();
        return Err(ctx.err(
            key_span(ctx.text, "stochastic", pool),
            path,
            format!("unknown pool '{pool}'; pools: {}", list.join(", ")),
        ));
    }
    let scope = match s.scope.unwrap_or(ScopeFile::Node) {
        ScopeFile::Node => FailureScope::Node,
        ScopeFile::Rack => FailureScope::Rack,
        ScopeFile::Zone => FailureScope::Zone,
    };
    let mut units: BTreeMap<String, Vec<NodeId>> = BTreeMap::new();
    match scope {
        FailureScope::Node => {
            for &i in &members {
                units.insert(w.nodes[i].name.clone(), vec![NodeId(i as u32)]);
            }
        }
        FailureScope::Rack => {
            for &i in &members {
                units
                    .entry(w.topology.node_rack[i].clone())
                    .or_default()
                    .push(NodeId(i as u32));
            }
        }
        FailureScope::Zone => {
            let zones: BTreeSet<&str> = members.iter().map(|&i| w.nodes[i].zone.as_str()).collect();
            for z in zones {
                units.insert(z.to_string(), w.select(|_, n| n.zone == z));
            }
        }
    }
    Ok(FailureProcess {
        pool: pool.to_string(),
        scope,
        units: units.into_iter().collect(),
        ttf: lifetime(&s.time_to_failure, &format!("{path}.timeToFailure"), ctx)?,
        ttr: lifetime(&s.time_to_repair, &format!("{path}.timeToRepair"), ctx)?,
    })
}
