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
use std::ops::Range;

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
    let mut spec = BalancingSpec::default();
    let Some(file) = file else { return Ok(spec) };
    let f = file.get_ref();
    let t = Table { routing, at, ctx };
    if let Some(c) = &f.choices {
        spec.choices = Some(choices(&t, c)?);
    }
    if let Some(w) = &f.weights {
        spec.weights = weights(&t, w, pools)?;
    }
    if let Some(c) = &f.clients {
        spec.clients = clients(&t, c, duration)?;
    }
    if let Some(d) = &f.discovery_delay {
        spec.discovery_delay = discovery_delay(&t, d)?;
    }
    if let Some(r) = &f.retries {
        if !(0..=10).contains(r.get_ref()) {
            return Err(t.err(
                r.span(),
                "retries",
                format!("must be 0 to 10 (got {})", r.get_ref()),
            ));
        }
        spec.retries = *r.get_ref() as u32;
    }
    if let Some(b) = &f.retry_budget {
        spec.retry_budget = retry_budget(&t, b, spec.retries)?;
    }
    if let Some(o) = &f.outlier_detection {
        spec.outlier = Some(outlier_detection(&t, o)?);
    }
    if let Some(k) = &f.keys {
        spec.keys = Some(keys(&t, k)?);
    }
    Ok(spec)
}

/// One `balancing` table as its settings see it.
struct Table<'a, 'c> {
    routing: Routing,
    /// `services.NAME.balancing`.
    at: &'a str,
    ctx: &'a Ctx<'c>,
}

impl Table<'_, '_> {
    /// An error about setting `name` located at `span`.
    fn err(&self, span: Range<usize>, name: &str, msg: String) -> InputError {
        self.ctx.err(span, format!("{}.{name}", self.at), msg)
    }

    /// The policy is a balancer with property `f`.
    fn is(&self, f: fn(Policy) -> bool) -> bool {
        self.routing.policy().is_some_and(f)
    }

    fn central(&self) -> bool {
        self.routing == Routing::CentralQueue
    }

    /// "applies to WHICH, not 'POLICY'".
    fn not_for(&self, span: Range<usize>, name: &str, which: &str) -> InputError {
        let policy = self.routing.name();
        self.err(span, name, format!("applies to {which}, not '{policy}'"))
    }
}

/// `choices` (p2c, peak-ewma): at least 2.
fn choices(t: &Table<'_, '_>, c: &Spanned<i64>) -> Result<usize, InputError> {
    if !t.is(Policy::has_choices) {
        return Err(t.not_for(c.span(), "choices", "p2c and peak-ewma"));
    }
    if *c.get_ref() < 2 {
        return Err(t.err(
            c.span(),
            "choices",
            format!("must be at least 2 (got {})", c.get_ref()),
        ));
    }
    Ok(*c.get_ref() as usize)
}

/// `weights` (weighted-round-robin): `"cpu"` or 1 to 1000000 per known pool.
fn weights(
    t: &Table<'_, '_>,
    w: &Spanned<WeightsFile>,
    pools: &BTreeSet<String>,
) -> Result<Weights, InputError> {
    if !t.is(Policy::weighted) {
        return Err(t.not_for(w.span(), "weights", "weighted-round-robin"));
    }
    let m = match w.get_ref() {
        WeightsFile::Named(n) if n == "cpu" => return Ok(Weights::Cpu),
        WeightsFile::Named(n) => {
            return Err(t.err(
                w.span(),
                "weights",
                format!("unknown weights '{n}'; use \"cpu\" or a table of pool = weight"),
            ));
        }
        WeightsFile::ByPool(m) => m,
    };
    let mut out = BTreeMap::new();
    for (pool, &v) in m {
        if !pools.contains(pool) {
            let known: Vec<_> = pools.iter().map(String::as_str).collect();
            return Err(t.err(
                w.span(),
                &format!("weights.{pool}"),
                format!("no pool '{pool}'; pools: {}", known.join(", ")),
            ));
        }
        if !(1..=1_000_000).contains(&v) {
            return Err(t.err(
                w.span(),
                &format!("weights.{pool}"),
                format!("must be 1 to 1000000 (got {v})"),
            ));
        }
        out.insert(pool.clone(), v as u32);
    }
    Ok(Weights::ByPool(out))
}

/// `clients`: 1 to 10000; more than one only with balancers and a run
/// short enough for tagged arrival times.
fn clients(t: &Table<'_, '_>, c: &Spanned<i64>, duration: SimDuration) -> Result<u32, InputError> {
    let n = *c.get_ref();
    if !(1..=10_000).contains(&n) {
        return Err(t.err(c.span(), "clients", format!("must be 1 to 10000 (got {n})")));
    }
    if t.central() && n > 1 {
        return Err(t.err(
            c.span(),
            "clients",
            "central-queue mode is one shared queue; it has no client-side balancers".into(),
        ));
    }
    if n > 1 && duration.0 >= MAX_TAGGED_NS {
        return Err(t.err(
            c.span(),
            "clients",
            "client-side balancers need simulation.duration below 78h".into(),
        ));
    }
    Ok(n as u32)
}

/// `discoveryDelay`: none in central-queue mode.
fn discovery_delay(t: &Table<'_, '_>, d: &Spanned<Dur>) -> Result<SimDuration, InputError> {
    if t.central() && d.get_ref().0 > SimDuration::ZERO {
        return Err(t.err(
            d.span(),
            "discoveryDelay",
            "central-queue mode hands requests to known free slots; it has no discovery delay"
                .into(),
        ));
    }
    Ok(d.get_ref().0)
}

/// `retryBudget`: only with `retries`; ratio and floor ≥ 0, ttl > 0.
fn retry_budget(
    t: &Table<'_, '_>,
    b: &Spanned<RetryBudgetFile>,
    retries: u32,
) -> Result<RetryBudgetSpec, InputError> {
    if retries == 0 {
        return Err(t.err(
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
        return Err(t.err(
            b.span(),
            "retryBudget.retryRatio",
            format!("must be a number ≥ 0 (got {ratio})"),
        ));
    }
    if !(min.is_finite() && min >= 0.0) {
        return Err(t.err(
            b.span(),
            "retryBudget.minRetriesPerSecond",
            format!("must be a number ≥ 0 (got {min})"),
        ));
    }
    let ttl = g.ttl.map_or(d.ttl, |t| t.0);
    if ttl == SimDuration::ZERO {
        return Err(t.err(
            b.span(),
            "retryBudget.ttl",
            "must be greater than zero".into(),
        ));
    }
    Ok(RetryBudgetSpec {
        ratio,
        min_per_sec: min,
        ttl,
    })
}

/// `outlierDetection`: not in central-queue mode; Envoy's bounds.
fn outlier_detection(
    t: &Table<'_, '_>,
    o: &Spanned<OutlierFile>,
) -> Result<OutlierSpec, InputError> {
    if t.central() {
        return Err(t.err(o.span(), "outlierDetection", "central-queue mode only hands requests to ready replicas' free slots; there is nothing to eject".into()));
    }
    let g = o.get_ref();
    let d = OutlierSpec::default();
    let consecutive = g.consecutive_5xx.unwrap_or(i64::from(d.consecutive_5xx));
    if !(1..=1000).contains(&consecutive) {
        return Err(t.err(
            o.span(),
            "outlierDetection.consecutive5xx",
            format!("must be 1 to 1000 (got {consecutive})"),
        ));
    }
    let pct = g
        .max_ejection_percent
        .unwrap_or(i64::from(d.max_ejection_percent));
    if !(0..=100).contains(&pct) {
        return Err(t.err(
            o.span(),
            "outlierDetection.maxEjectionPercent",
            format!("must be 0 to 100 (got {pct})"),
        ));
    }
    let positive = |v: Option<Dur>, dflt: SimDuration, name: &str| match v {
        Some(Dur(SimDuration::ZERO)) => Err(t.err(
            o.span(),
            &format!("outlierDetection.{name}"),
            "must be greater than zero".into(),
        )),
        Some(v) => Ok(v.0),
        None => Ok(dflt),
    };
    Ok(OutlierSpec {
        consecutive_5xx: consecutive as u32,
        interval: positive(g.interval, d.interval, "interval")?,
        base_ejection_time: positive(
            g.base_ejection_time,
            d.base_ejection_time,
            "baseEjectionTime",
        )?,
        max_ejection_time: positive(g.max_ejection_time, d.max_ejection_time, "maxEjectionTime")?,
        max_ejection_percent: pct as u32,
    })
}

/// `keys` (ring-hash, maglev): at least one, uniform or Zipf with an exponent > 0.
fn keys(t: &Table<'_, '_>, k: &Spanned<KeysFile>) -> Result<KeyDist, InputError> {
    if !t.is(Policy::hashes_keys) {
        return Err(t.not_for(k.span(), "keys", "ring-hash and maglev"));
    }
    let g = k.get_ref();
    if g.count < 1 {
        return Err(t.err(
            k.span(),
            "keys.count",
            format!("must be at least 1 (got {})", g.count),
        ));
    }
    let count = g.count as u64;
    Ok(match (g.distribution.as_str(), g.exponent) {
        ("uniform", None) => KeyDist::Uniform { count },
        ("uniform", Some(_)) => {
            return Err(t.err(
                k.span(),
                "keys.exponent",
                "applies to zipf keys only".into(),
            ));
        }
        ("zipf", e) => {
            let exponent = e.unwrap_or(1.0);
            if !(exponent.is_finite() && exponent > 0.0) {
                return Err(t.err(
                    k.span(),
                    "keys.exponent",
                    format!("must be a number > 0 (got {exponent})"),
                ));
            }
            KeyDist::Zipf { count, exponent }
        }
        (other, _) => {
            return Err(t.err(
                k.span(),
                "keys.distribution",
                format!("unknown distribution '{other}'; choose from: uniform, zipf"),
            ));
        }
    })
}
