//! `[pools.NAME]` → nodes: pools in name order, nodes numbered within the
//! pool (or as listed in its node list file), with the node groups of the
//! autoscaled pools and the `[clusterAutoscaler]` that scales them.
//!
//! Key decision: a pool is resolved field by field (name, speed, taints,
//! its members) into one [`PoolShape`] that stamps out both its nodes and,
//! for a node group, the template of the nodes it may add, so the two can
//! not drift apart.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use toml::Spanned;

use super::cluster::ClusterAutoscalerFile;
use super::fields::{check_dns_label, key_span, resources};
use super::schema::{NodeListFile, PoolFile, TraceFormat};
use super::{Ctx, Files, InputError, alibaba, cluster, constraints, traces};
use crate::autoscale::cluster::{NodeAutoscalerSpec, NodeGroup};
use crate::model::{LABEL_HOSTNAME, LABEL_ZONE, NodeSpec, ResourceName, Resources, Taint};

/// The cluster the pools describe.
pub(super) struct Pools {
    /// Every node, pools in name order.
    pub nodes: Vec<NodeSpec>,
    /// The node groups of the pools with `max`, in pool name order.
    pub node_groups: Vec<NodeGroup>,
    /// The node autoscaler, when there are node groups.
    pub node_autoscaler: Option<NodeAutoscalerSpec>,
    /// Cost per node-hour by pool name.
    pub pool_costs: BTreeMap<String, f64>,
}

/// Resolves every pool, then the node autoscaler of the autoscaled ones.
pub(super) fn resolve(
    pools: &BTreeMap<String, PoolFile>,
    autoscaler: &Option<Spanned<ClusterAutoscalerFile>>,
    preset: Option<&crate::presets::ClusterPreset>,
    ctx: &Ctx<'_>,
    files: &dyn Files,
    hash: &mut Vec<u8>,
) -> Result<Pools, InputError> {
    let mut out = Pools {
        nodes: Vec::new(),
        node_groups: Vec::new(),
        node_autoscaler: None,
        pool_costs: BTreeMap::new(),
    };
    let mut node_names = BTreeSet::new();
    for (pname, pool) in pools {
        resolve_pool(pname, pool, &mut out, &mut node_names, ctx, files, hash)?;
    }
    if out.nodes.is_empty() {
        return Err(ctx.err(
            0..0,
            "pools",
            "the cluster has no nodes: add a [pools.NAME] table with count ≥ 1",
        ));
    }
    out.node_autoscaler = node_autoscaler(autoscaler, &out.node_groups, pools, preset, ctx)?;
    Ok(out)
}

/// What every node of one pool shares.
struct PoolShape<'a> {
    pool: &'a str,
    zone: String,
    labels: &'a BTreeMap<String, String>,
    taints: Vec<Taint>,
    reserved: Resources,
    speed: f64,
    csi: crate::storage::CsiNode,
}

impl PoolShape<'_> {
    /// A node of the pool, with its hostname and (from a node list) GPU model labels.
    fn node(&self, name: String, capacity: Resources, gpu_model: Option<String>) -> NodeSpec {
        let mut labels = self.labels.clone();
        labels.insert(LABEL_HOSTNAME.to_string(), name.clone());
        labels.insert(LABEL_ZONE.to_string(), self.zone.clone());
        if let Some(model) = gpu_model {
            labels.insert(alibaba::LABEL_GPU_MODEL.to_string(), model);
        }
        self.spec(name, capacity, labels)
    }

    /// The template of a node group's nodes: named after the pool, no hostname label.
    fn template(&self, capacity: Resources) -> NodeSpec {
        let mut labels = self.labels.clone();
        labels.remove(LABEL_HOSTNAME);
        labels.insert(LABEL_ZONE.to_string(), self.zone.clone());
        self.spec(self.pool.to_string(), capacity, labels)
    }

    fn spec(
        &self,
        name: String,
        capacity: Resources,
        labels: BTreeMap<String, String>,
    ) -> NodeSpec {
        let mut allocatable = capacity;
        if self.reserved.pods > 0 {
            // Reserving pods out of a node that does not say: out of 110.
            allocatable.pods = capacity.max_pods();
        }
        allocatable -= self.reserved;
        NodeSpec {
            csi: Some(self.csi.clone()),
            name,
            pool: self.pool.to_string(),
            zone: self.zone.clone(),
            labels,
            taints: self.taints.clone(),
            capacity,
            allocatable,
            speed: self.speed,
        }
    }
}

/// One node of a pool before the pool's shape is applied.
struct Member {
    name: String,
    capacity: Resources,
    gpu_model: Option<String>,
}

fn resolve_pool(
    pname: &str,
    pool: &PoolFile,
    out: &mut Pools,
    node_names: &mut BTreeSet<String>,
    ctx: &Ctx<'_>,
    files: &dyn Files,
    hash: &mut Vec<u8>,
) -> Result<(), InputError> {
    let pool_span = key_span(ctx.text, "pools", pname);
    check_dns_label(pname).map_err(|m| ctx.err(pool_span.clone(), format!("pools.{pname}"), m))?;
    let shape = PoolShape {
        pool: pname,
        reserved: resources(pool.reserved.as_ref().map(|r| r.get_ref())),
        zone: pool.zone.clone().unwrap_or_else(|| pname.to_string()),
        speed: speed(pname, pool, ctx)?,
        taints: constraints::taints(&pool.taints, &format!("pools.{pname}.taints"), ctx)?,
        labels: &pool.labels,
        csi: crate::storage::CsiNode {
            drivers: pool
                .volume_limits
                .iter()
                .map(|(d, n)| (d.clone(), Some(*n)))
                .collect(),
        },
    };
    out.pool_costs
        .insert(pname.to_string(), pool.cost_per_hour.map_or(0.0, |c| c.0));
    // The capacity of a pool of identical nodes (the template of a node group).
    let (mut members, mut identical) = members(pname, pool, pool_span.clone(), ctx, files, hash)?;
    if let Some(extra) = &pool.capacity {
        let add = capacity_table(pname, extra, ctx)?;
        for m in &mut members {
            m.capacity = with_all(m.capacity, &add);
        }
        identical = identical.map(|c| with_all(c, &add));
    }
    for m in members {
        check_reserved(pname, pool, &shape, &m, ctx)?;
        if !node_names.insert(m.name.clone()) {
            return Err(ctx.err(
                pool_span,
                format!("pools.{pname}"),
                format!(
                    "node name '{}' is used twice; node names must be unique",
                    m.name
                ),
            ));
        }
        out.nodes.push(shape.node(m.name, m.capacity, m.gpu_model));
    }
    let template = identical.map(|capacity| shape.template(capacity));
    if let Some(g) = cluster::pool_group(pname, pool, pool_span, template, ctx)? {
        out.node_groups.push(g);
    }
    Ok(())
}

/// `pools.NAME.speed`: a positive number (default 1).
fn speed(pname: &str, pool: &PoolFile, ctx: &Ctx<'_>) -> Result<f64, InputError> {
    match &pool.speed {
        None => Ok(1.0),
        Some(v) if v.get_ref().is_finite() && *v.get_ref() > 0.0 => Ok(*v.get_ref()),
        Some(v) => Err(ctx.err(
            v.span(),
            format!("pools.{pname}.speed"),
            format!("must be a positive number (got {})", v.get_ref()),
        )),
    }
}

/// The pool's nodes, from `count`, `cpu` and `memory` (then also their
/// shared capacity) or from a node list file.
fn members(
    pname: &str,
    pool: &PoolFile,
    pool_span: Range<usize>,
    ctx: &Ctx<'_>,
    files: &dyn Files,
    hash: &mut Vec<u8>,
) -> Result<(Vec<Member>, Option<Resources>), InputError> {
    match (&pool.nodes, pool.count, pool.cpu, pool.memory) {
        (Some(list), None, None, None) if pool.gpu.is_none() => {
            Ok((listed(pname, list.get_ref(), ctx, files, hash)?, None))
        }
        (Some(list), ..) => Err(ctx.err(
            list.span(),
            format!("pools.{pname}.nodes"),
            "a pool with 'nodes' takes its nodes from the file: leave out 'count', 'cpu', 'memory' and 'gpu'",
        )),
        (None, Some(count), Some(cpu), Some(memory)) => {
            let capacity = Resources::new(cpu.0, memory.0).with_gpu(pool.gpu.map_or(0, |g| g.0));
            let members = (0..count)
                .map(|i| Member {
                    name: format!("{pname}-{i}"),
                    capacity,
                    gpu_model: None,
                })
                .collect();
            Ok((members, Some(capacity)))
        }
        (None, ..) => Err(ctx.err(
            pool_span,
            format!("pools.{pname}"),
            "a pool needs 'count', 'cpu' and 'memory' (identical nodes), or 'nodes' (a node list file)",
        )),
    }
}

/// The nodes of `pools.NAME.nodes`, read from its file.
fn listed(
    pname: &str,
    list: &NodeListFile,
    ctx: &Ctx<'_>,
    files: &dyn Files,
    hash: &mut Vec<u8>,
) -> Result<Vec<Member>, InputError> {
    let path = format!("pools.{pname}.nodes.file");
    let file = &list.file;
    let bytes = traces::read_file(file, &path, ctx, files, hash)?;
    let read = match list.format {
        TraceFormat::AlibabaOpenb => {
            alibaba::read_nodes(&bytes, &files.display(file.get_ref()), &path)?
        }
    };
    Ok(read
        .into_iter()
        .map(|n| Member {
            gpu_model: (!n.model.is_empty()).then_some(n.model),
            name: n.name,
            capacity: n.capacity,
        })
        .collect())
}

/// `pools.NAME.capacity`: any resource but the ones the pool's own fields
/// (`cpu`, `memory`, `gpu`) or its node list give.
fn capacity_table(
    pname: &str,
    t: &Spanned<super::schema::ResourcesFile>,
    ctx: &Ctx<'_>,
) -> Result<Vec<(crate::model::ResourceName, u64)>, InputError> {
    let f = t.get_ref();
    let twice = [
        ("cpu", f.cpu.is_some()),
        ("memory", f.memory.is_some()),
        ("gpu", f.gpu.is_some()),
    ];
    if let Some((name, _)) = twice.iter().find(|(_, given)| *given) {
        return Err(ctx.err(
            t.span(),
            format!("pools.{pname}.capacity.{name}"),
            format!(
                "give '{name}' as the pool's own field (pools.{pname}.{name}), not in 'capacity'"
            ),
        ));
    }
    Ok(f.other.clone())
}

fn with_all(capacity: Resources, add: &[(crate::model::ResourceName, u64)]) -> Resources {
    add.iter().fold(capacity, |c, &(r, q)| c.with(r, q))
}

/// `pools.NAME.reserved` must leave something of every node.
fn check_reserved(
    pname: &str,
    pool: &PoolFile,
    shape: &PoolShape<'_>,
    m: &Member,
    ctx: &Ctx<'_>,
) -> Result<(), InputError> {
    let pods = (shape.reserved.pods >= m.capacity.max_pods()).then_some(ResourceName::Pods);
    match pods.or_else(|| {
        shape
            .reserved
            .first_shortfall(&Resources::ZERO, &m.capacity)
    }) {
        Some(short) => Err(ctx.err(
            pool.reserved.as_ref().map_or(0..0, |r| r.span()),
            format!("pools.{pname}.reserved"),
            format!(
                "reserves more {} than node '{}' has",
                short.as_str(),
                m.name
            ),
        )),
        None => Ok(()),
    }
}

/// `[clusterAutoscaler]`, which there must be exactly when a pool has `max`.
fn node_autoscaler(
    autoscaler: &Option<Spanned<ClusterAutoscalerFile>>,
    groups: &[NodeGroup],
    pools: &BTreeMap<String, PoolFile>,
    preset: Option<&crate::presets::ClusterPreset>,
    ctx: &Ctx<'_>,
) -> Result<Option<NodeAutoscalerSpec>, InputError> {
    match (autoscaler, groups.first()) {
        (Some(f), Some(_)) => Ok(Some(cluster::build(f, preset, ctx)?)),
        (Some(f), None) => Err(ctx.err(
            f.span(),
            "clusterAutoscaler",
            "no node group to scale: give at least one pool 'max' (and 'min', 'bootDelay', 'costPerHour')",
        )),
        (None, Some(g)) => {
            let span = pools[&g.name].max.as_ref().map_or(0..0, |m| m.span());
            Err(ctx.err(
                span,
                format!("pools.{}.max", g.name),
                "an autoscaled pool needs a [clusterAutoscaler] table (kind = \"cluster-autoscaler\" or \"karpenter\")",
            ))
        }
        (None, None) => Ok(None),
    }
}
