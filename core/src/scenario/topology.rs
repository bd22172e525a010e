//! `[topology]`, and pools' `region` and `racks`: the file shape and its
//! conversion into a [`TopologySpec`].
//!
//! Key decision: the hierarchy comes from the pools the scenario already
//! has (a pool's nodes share its zone; `region` names the zone's region;
//! `racks = N` deals the pool's nodes round-robin over racks `POOL-r0` …
//! `POOL-r{N-1}`, and without it each node is its own rack), so only the
//! links between zones need a table of their own.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use toml::Spanned;

use super::fields::{at_least_one, probability};
use super::schema::{Dur, NonNegative, PoolFile};
use super::{Ctx, InputError};
use crate::model::NodeSpec;
use crate::time::SimDuration;
use crate::topology::{LinkSpec, TopologySpec};

/// `[topology]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TopologyFile {
    /// One-way latency between distinct zones without a link (default `0s`).
    pub default_latency: Option<Dur>,
    /// Loss between distinct zones without a link (default 0).
    pub default_loss: Option<Spanned<NonNegative>>,
    /// Links between zones.
    #[serde(default)]
    pub links: Vec<Spanned<LinkFile>>,
    /// Zone of the load balancers, clients and control plane (default: the
    /// zone of the first node).
    pub ingress_zone: Option<Spanned<String>>,
}

/// `[[topology.links]]`: `from = "a", to = "b", latency = "2ms", loss = 0.001`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LinkFile {
    /// One zone.
    pub from: Spanned<String>,
    /// The other zone (the same zone sets its own network's latency).
    pub to: Spanned<String>,
    /// One-way latency (default `0s`).
    pub latency: Option<Dur>,
    /// Loss probability in [0, 1] (default 0).
    pub loss: Option<Spanned<NonNegative>>,
}

/// Builds the topology of `nodes` (built from `pools` in name order).
pub(super) fn build(
    f: &Option<TopologyFile>,
    pools: &BTreeMap<String, PoolFile>,
    nodes: &[NodeSpec],
    ctx: &Ctx<'_>,
) -> Result<TopologySpec, InputError> {
    let mut spec = TopologySpec::default();
    let mut region_of: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (pname, pool) in pools {
        let zone = pool.zone.clone().unwrap_or_else(|| pname.clone());
        at_least_one(&pool.racks, &format!("pools.{pname}.racks"), ctx)?;
        let Some(region) = &pool.region else { continue };
        if let Some((other, by)) = region_of.get(&zone)
            && other != region.get_ref()
        {
            return Err(ctx.err(
                region.span(),
                format!("pools.{pname}.region"),
                format!("zone '{zone}' is already in region '{other}' (pools.{by}); a zone is in one region"),
            ));
        }
        region_of.insert(zone, (region.get_ref().clone(), pname.clone()));
    }
    spec.zone_region = region_of.into_iter().map(|(z, (r, _))| (z, r)).collect();
    // Racks: the k-th node of a pool goes to rack k mod racks.
    let mut seen: BTreeMap<&str, u32> = BTreeMap::new();
    for n in nodes {
        let k = seen.entry(n.pool.as_str()).or_insert(0);
        let rack = match pools.get(&n.pool).and_then(|p| p.racks.as_ref()) {
            Some(r) => format!("{}-r{}", n.pool, *k % *r.get_ref()),
            None => n.name.clone(),
        };
        *k += 1;
        spec.node_rack.push(rack);
    }
    spec.ingress_zone = nodes.first().map(|n| n.zone.clone()).unwrap_or_default();
    let Some(f) = f else { return Ok(spec) };
    spec.declared = true;
    spec.default_latency = f.default_latency.map_or(SimDuration::ZERO, |d| d.0);
    spec.default_loss = probability(&f.default_loss, "topology.defaultLoss", ctx)?;
    let zones: BTreeSet<&str> = nodes.iter().map(|n| n.zone.as_str()).collect();
    if let Some(z) = &f.ingress_zone {
        if !zones.contains(z.get_ref().as_str()) {
            return Err(ctx.err(
                z.span(),
                "topology.ingressZone",
                unknown_zone(z.get_ref(), &zones),
            ));
        }
        spec.ingress_zone = z.get_ref().clone();
    }
    let mut pairs = BTreeSet::new();
    for (i, l) in f.links.iter().enumerate() {
        let path = format!("topology.links[{i}]");
        let link = l.get_ref();
        for (end, name) in [("from", &link.from), ("to", &link.to)] {
            if !zones.contains(name.get_ref().as_str()) {
                return Err(ctx.err(
                    name.span(),
                    format!("{path}.{end}"),
                    unknown_zone(name.get_ref(), &zones),
                ));
            }
        }
        let (a, b) = (link.from.get_ref().clone(), link.to.get_ref().clone());
        let key = if a <= b {
            (a.clone(), b.clone())
        } else {
            (b.clone(), a.clone())
        };
        if !pairs.insert(key) {
            return Err(ctx.err(l.span(), path, format!("the link {a}–{b} is listed twice")));
        }
        spec.links.push(LinkSpec {
            from: a,
            to: b,
            latency: link.latency.map_or(SimDuration::ZERO, |d| d.0),
            loss: probability(&link.loss, &format!("{path}.loss"), ctx)?,
        });
    }
    Ok(spec)
}

/// "unknown zone 'x'; zones: a, b".
pub(super) fn unknown_zone(name: &str, zones: &BTreeSet<&str>) -> String {
    let list: Vec<&str> = zones.iter().copied().collect();
    format!("unknown zone '{name}'; zones: {}", list.join(", "))
}
