//! `[services.NAME.balancing]`: the balancing settings beyond the policy
//! name, and their validation into a [`BalancingSpec`].
//!
//! Key decision: every setting is checked against the chosen policy, so a
//! setting that would be silently ignored is an error naming it (`choices`
//! only for `p2c`/`peak-ewma`, `weights` only for `weighted-round-robin`,
//! `keys` only for `ring-hash`/`maglev`; central-queue mode has one queue,
//! so no client-side topology, discovery delay or ejection). Names follow
//! Envoy (`outlierDetection.consecutive5xx`, `baseEjectionTime`,
//! `maxEjectionPercent`) and Linkerd (`retryBudget.retryRatio`,
//! `minRetriesPerSecond`, `ttl`).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use toml::Spanned;

use super::schema::Dur;
use super::{Ctx, InputError};
use crate::balance::{
    BalancingSpec, KeyDist, OutlierSpec, Policy, RetryBudgetSpec, Routing, Weights,
};
use crate::time::SimDuration;

/// Arrival times ride in the low 48 bits of a request tag when a service
/// has client-side balancers, so runs with them last at most 2^48 ns (78 h).
pub const MAX_TAGGED_NS: u64 = 1 << 48;

/// The `balancing` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BalancingFile {
    /// `p2c`/`peak-ewma`: endpoints sampled per pick (default 2).
    pub choices: Option<Spanned<i64>>,
    /// `weighted-round-robin`: `"cpu"` or `{ POOL = weight, … }`.
    pub weights: Option<Spanned<WeightsFile>>,
    /// Client-side balancers (default 1: one shared balancer).
    pub clients: Option<Spanned<i64>>,
    /// Endpoint changes reach the balancers this much later (default `0s`).
    pub discovery_delay: Option<Spanned<Dur>>,
    /// Retries after a failed attempt (default 0).
    pub retries: Option<Spanned<i64>>,
    /// Linkerd-style retry budget.
    pub retry_budget: Option<Spanned<RetryBudgetFile>>,
    /// Envoy-style outlier ejection.
    pub outlier_detection: Option<Spanned<OutlierFile>>,
    /// Request keys for the hashing balancers.
    pub keys: Option<Spanned<KeysFile>>,
}

/// `weights = "cpu"` or `weights = { fast = 3, slow = 1 }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum WeightsFile {
    /// `"cpu"`.
    Named(String),
    /// A weight per pool.
    ByPool(BTreeMap<String, i64>),
}

/// `retryBudget = { retryRatio = 0.2, minRetriesPerSecond = 10, ttl = "10s" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RetryBudgetFile {
    /// Retries per request over the window.
    pub retry_ratio: Option<f64>,
    /// Retries always allowed per second.
    pub min_retries_per_second: Option<f64>,
    /// The window.
    pub ttl: Option<Dur>,
}

/// `outlierDetection = { consecutive5xx = 5, interval = "10s", … }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OutlierFile {
    /// Consecutive failures that eject a host.
    pub consecutive_5xx: Option<i64>,
    /// Sweep interval.
    pub interval: Option<Dur>,
    /// Ejection time per ejection.
    pub base_ejection_time: Option<Dur>,
    /// Longest ejection.
    pub max_ejection_time: Option<Dur>,
    /// Most hosts ejected at once, percent.
    pub max_ejection_percent: Option<i64>,
}

/// `keys = { distribution = "zipf", count = 10000, exponent = 1.0 }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KeysFile {
    /// `uniform` or `zipf`.
    pub distribution: String,
    /// Distinct keys.
    pub count: i64,
    /// Zipf exponent (> 0).
    pub exponent: Option<f64>,
}

/// Validates a service's `balancing` table for `routing` (`at` is the
/// table's path, `pools` the pool names, `duration` the run's length).
pub(crate) fn build(
    file: Option<&Spanned<BalancingFile>>,
    routing: Routing,
    at: &str,
    pools: &BTreeSet<String>,
    duration: SimDuration,
    ctx: &Ctx,
) -> Result<BalancingSpec, InputError> {
    let policy = routing.name();
    let is = |f: fn(Policy) -> bool| routing.policy().is_some_and(f);
    let mut spec = BalancingSpec::default();
    let Some(file) = file else { return Ok(spec) };
    let f = file.get_ref();
    let field = |name: &str| format!("{at}.{name}");
    let err =
        |span: std::ops::Range<usize>, name: &str, msg: String| ctx.err(span, field(name), msg);
    if let Some(c) = &f.choices {
        if !is(Policy::has_choices) {
            return Err(err(
                c.span(),
                "choices",
                format!("applies to p2c and peak-ewma, not '{policy}'"),
            ));
        }
        if *c.get_ref() < 2 {
            return Err(err(
                c.span(),
                "choices",
                format!("must be at least 2 (got {})", c.get_ref()),
            ));
        }
        spec.choices = Some(*c.get_ref() as usize);
    }
    if let Some(w) = &f.weights {
        if !is(Policy::weighted) {
            return Err(err(
                w.span(),
                "weights",
                format!("applies to weighted-round-robin, not '{policy}'"),
            ));
        }
        spec.weights = match w.get_ref() {
            WeightsFile::Named(n) if n == "cpu" => Weights::Cpu,
            WeightsFile::Named(n) => {
                return Err(err(
                    w.span(),
                    "weights",
                    format!("unknown weights '{n}'; use \"cpu\" or a table of pool = weight"),
                ));
            }
            WeightsFile::ByPool(m) => {
                let mut out = BTreeMap::new();
                for (pool, &v) in m {
                    if !pools.contains(pool) {
                        let known: Vec<_> = pools.iter().map(String::as_str).collect();
                        return Err(err(
                            w.span(),
                            &format!("weights.{pool}"),
                            format!("no pool '{pool}'; pools: {}", known.join(", ")),
                        ));
                    }
                    if !(1..=1_000_000).contains(&v) {
                        return Err(err(
                            w.span(),
                            &format!("weights.{pool}"),
                            format!("must be 1 to 1000000 (got {v})"),
                        ));
                    }
                    out.insert(pool.clone(), v as u32);
                }
                Weights::ByPool(out)
            }
        };
    }
    let central = routing == Routing::CentralQueue;
    if let Some(c) = &f.clients {
        if !(1..=10_000).contains(c.get_ref()) {
            return Err(err(
                c.span(),
                "clients",
                format!("must be 1 to 10000 (got {})", c.get_ref()),
            ));
        }
        if central && *c.get_ref() > 1 {
            return Err(err(
                c.span(),
                "clients",
                "central-queue mode is one shared queue; it has no client-side balancers".into(),
            ));
        }
        if *c.get_ref() > 1 && duration.0 >= MAX_TAGGED_NS {
            return Err(err(
                c.span(),
                "clients",
                "client-side balancers need simulation.duration below 78h".into(),
            ));
        }
        spec.clients = *c.get_ref() as u32;
    }
    if let Some(d) = &f.discovery_delay {
        if central && d.get_ref().0 > SimDuration::ZERO {
            return Err(err(
                d.span(),
                "discoveryDelay",
                "central-queue mode hands requests to known free slots; it has no discovery delay"
                    .into(),
            ));
        }
        spec.discovery_delay = d.get_ref().0;
    }
    if let Some(r) = &f.retries {
        if !(0..=10).contains(r.get_ref()) {
            return Err(err(
                r.span(),
                "retries",
                format!("must be 0 to 10 (got {})", r.get_ref()),
            ));
        }
        spec.retries = *r.get_ref() as u32;
    }
    if let Some(b) = &f.retry_budget {
        if spec.retries == 0 {
            return Err(err(
                b.span(),
                "retryBudget",
                "set retries too: without retries a budget does nothing".into(),
            ));
        }
        let g = b.get_ref();
        let d = RetryBudgetSpec::default();
        let ratio = g.retry_ratio.unwrap_or(d.ratio);
        let min = g.min_retries_per_second.unwrap_or(d.min_per_sec);
        if !(ratio.is_finite() && ratio >= 0.0) {
            return Err(err(
                b.span(),
                "retryBudget.retryRatio",
                format!("must be a number ≥ 0 (got {ratio})"),
            ));
        }
        if !(min.is_finite() && min >= 0.0) {
            return Err(err(
                b.span(),
                "retryBudget.minRetriesPerSecond",
                format!("must be a number ≥ 0 (got {min})"),
            ));
        }
        let ttl = g.ttl.map_or(d.ttl, |t| t.0);
        if ttl == SimDuration::ZERO {
            return Err(err(
                b.span(),
                "retryBudget.ttl",
                "must be greater than zero".into(),
            ));
        }
        spec.retry_budget = RetryBudgetSpec {
            ratio,
            min_per_sec: min,
            ttl,
        };
    }
    if let Some(o) = &f.outlier_detection {
        if central {
            return Err(err(o.span(), "outlierDetection", "central-queue mode only hands requests to ready replicas' free slots; there is nothing to eject".into()));
        }
        let g = o.get_ref();
        let d = OutlierSpec::default();
        let consecutive = g.consecutive_5xx.unwrap_or(i64::from(d.consecutive_5xx));
        if !(1..=1000).contains(&consecutive) {
            return Err(err(
                o.span(),
                "outlierDetection.consecutive5xx",
                format!("must be 1 to 1000 (got {consecutive})"),
            ));
        }
        let pct = g
            .max_ejection_percent
            .unwrap_or(i64::from(d.max_ejection_percent));
        if !(0..=100).contains(&pct) {
            return Err(err(
                o.span(),
                "outlierDetection.maxEjectionPercent",
                format!("must be 0 to 100 (got {pct})"),
            ));
        }
        let positive = |v: Option<Dur>, dflt: SimDuration, name: &str| match v {
            Some(Dur(SimDuration::ZERO)) => Err(err(
                o.span(),
                &format!("outlierDetection.{name}"),
                "must be greater than zero".into(),
            )),
            Some(v) => Ok(v.0),
            None => Ok(dflt),
        };
        spec.outlier = Some(OutlierSpec {
            consecutive_5xx: consecutive as u32,
            interval: positive(g.interval, d.interval, "interval")?,
            base_ejection_time: positive(
                g.base_ejection_time,
                d.base_ejection_time,
                "baseEjectionTime",
            )?,
            max_ejection_time: positive(
                g.max_ejection_time,
                d.max_ejection_time,
                "maxEjectionTime",
            )?,
            max_ejection_percent: pct as u32,
        });
    }
    if let Some(k) = &f.keys {
        if !is(Policy::hashes_keys) {
            return Err(err(
                k.span(),
                "keys",
                format!("applies to ring-hash and maglev, not '{policy}'"),
            ));
        }
        let g = k.get_ref();
        if g.count < 1 {
            return Err(err(
                k.span(),
                "keys.count",
                format!("must be at least 1 (got {})", g.count),
            ));
        }
        let count = g.count as u64;
        spec.keys = Some(match (g.distribution.as_str(), g.exponent) {
            ("uniform", None) => KeyDist::Uniform { count },
            ("uniform", Some(_)) => {
                return Err(err(
                    k.span(),
                    "keys.exponent",
                    "applies to zipf keys only".into(),
                ));
            }
            ("zipf", e) => {
                let exponent = e.unwrap_or(1.0);
                if !(exponent.is_finite() && exponent > 0.0) {
                    return Err(err(
                        k.span(),
                        "keys.exponent",
                        format!("must be a number > 0 (got {exponent})"),
                    ));
                }
                KeyDist::Zipf { count, exponent }
            }
            (other, _) => {
                return Err(err(
                    k.span(),
                    "keys.distribution",
                    format!("unknown distribution '{other}'; choose from: uniform, zipf"),
                ));
            }
        });
    }
    Ok(spec)
}
