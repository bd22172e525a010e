//! `[[faults]]` and `[stochastic.POOL]`: the file shape and its conversion
//! into a validated [`FaultsSpec`].
//!
//! Key decision: one flat table per fault with a `kind` (like the
//! autoscalers), a `target` table naming exactly one of node, pool, rack,
//! zone or service — or a label `selector` over nodes — and the kind's own
//! fields, which are rejected by name on other kinds. Every name is
//! resolved here, against the nodes, zones, racks and services the scenario
//! built, so an unknown target, a zero length, a window that ends before it
//! starts or after the run, or two faults holding the same thing at once
//! (two crashes of one node, two partitions of one zone pair) fail at load
//! time with `file:line:col: faults[i].field`. Stochastic processes are in
//! `scenario/stochastic.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::fields::{check_fields, probability};
use super::schema::{Dur, Memory, NonNegative, Positive, Rate};
use super::topology::unknown_zone;
use super::{Ctx, InputError};
use crate::faults::{Fault, FaultKind, FaultsSpec, LiveAction, MemoryModel};
use crate::model::{NodeId, NodeSpec, ServiceId, ServiceSpec};
use crate::time::{SimDuration, SimTime};
use crate::topology::TopologySpec;

/// `kind = "node-crash" | …`.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKindFile {
    /// Nodes stop; they come back empty at the end.
    NodeCrash,
    /// Every node of a zone stops.
    ZoneOutage,
    /// Links between two sets of zones are cut.
    Partition,
    /// Links between two sets of zones get added latency and loss.
    LinkDegrade,
    /// Nodes run slower.
    SlowNode,
    /// Replicas of a service crash at a rate.
    ContainerCrash,
    /// Replicas of a service are killed when memory passes the limit.
    OomKill,
    /// New replicas of a service cannot pull their image.
    ImagePullFailure,
    /// Nodes a node autoscaler adds to a pool never register.
    ProvisionFailure,
    /// Nodes are drained through the eviction API.
    NodeDrain,
    /// The control plane stops acting.
    ControlPlanePause,
}

/// `target = { node = "web-0" }` (exactly one field).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TargetFile {
    /// A node by name.
    pub node: Option<Spanned<String>>,
    /// Every node of a pool.
    pub pool: Option<Spanned<String>>,
    /// Every node of a rack (`POOL-rK`, or a node's name when its pool has no racks).
    pub rack: Option<Spanned<String>>,
    /// Every node of a zone.
    pub zone: Option<Spanned<String>>,
    /// A service.
    pub service: Option<Spanned<String>>,
}

/// One `[[faults]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FaultFile {
    /// What breaks.
    pub kind: FaultKindFile,
    /// When it starts.
    pub at: Spanned<Dur>,
    /// How long it lasts (default: to the end of the run).
    pub duration: Option<Spanned<Dur>>,
    /// When it ends, instead of `duration`.
    pub until: Option<Spanned<Dur>>,
    /// What it hits.
    pub target: Option<Spanned<TargetFile>>,
    /// Nodes by label (`matchLabels`), instead of `target`.
    pub selector: Option<Spanned<BTreeMap<String, String>>>,
    /// Partition / link-degrade: zones on one side.
    pub from: Option<Spanned<Vec<String>>>,
    /// Partition / link-degrade: zones on the other side.
    pub to: Option<Spanned<Vec<String>>>,
    /// Link-degrade: added one-way latency.
    pub latency: Option<Dur>,
    /// Link-degrade: added loss probability.
    pub loss: Option<Spanned<NonNegative>>,
    /// Slow-node: speed factor in (0, 1].
    pub speed: Option<Spanned<Positive>>,
    /// Container-crash: crashes per second per replica.
    pub rate: Option<Rate>,
    /// Oom-kill: memory of an idle replica.
    pub memory_base: Option<Memory>,
    /// Oom-kill: memory per request in flight.
    pub memory_per_request: Option<Memory>,
    /// Node-crash, zone-outage, container-crash: how live mode carries it out.
    pub live: Option<Spanned<LiveActionFile>>,
}

/// `live = "kill" | "stop" | "pause" | "disconnect" | "stop-engine"`.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum LiveActionFile {
    /// SIGKILL.
    Kill,
    /// SIGTERM, then SIGKILL.
    Stop,
    /// Freeze, thaw at the end.
    Pause,
    /// Detach from the run's network, attach at the end.
    Disconnect,
    /// Stop the host's engine, start it at the end.
    StopEngine,
}

/// What the faults resolve against.
pub(super) struct World<'a> {
    pub nodes: &'a [NodeSpec],
    /// The autoscaled pools' names, in node-group order.
    pub groups: &'a [String],
    pub services: &'a [ServiceSpec],
    pub topology: &'a TopologySpec,
    pub duration: SimDuration,
}

impl World<'_> {
    pub(super) fn zones(&self) -> BTreeSet<&str> {
        self.nodes.iter().map(|n| n.zone.as_str()).collect()
    }

    pub(super) fn select(&self, pred: impl Fn(usize, &NodeSpec) -> bool) -> Vec<NodeId> {
        (0..self.nodes.len())
            .filter(|&i| pred(i, &self.nodes[i]))
            .map(|i| NodeId(i as u32))
            .collect()
    }
}

/// What a fault needs as its target.
enum Need {
    Nodes,
    Zone,
    Service,
    Group,
    None,
}

/// Builds every scheduled fault and stochastic process.
pub(super) fn build(
    faults: &[Spanned<FaultFile>],
    stochastic: &BTreeMap<String, super::stochastic::StochasticFile>,
    w: &World<'_>,
    ctx: &Ctx<'_>,
) -> Result<FaultsSpec, InputError> {
    let mut spec = FaultsSpec::default();
    for (i, f) in faults.iter().enumerate() {
        let built = fault(i, f, w, ctx)?;
        if let Some(a) = &f.get_ref().live {
            let action = live_action(f.get_ref().kind, a, i, ctx)?;
            spec.live_actions.insert(built.name.clone(), action);
        }
        spec.scheduled.push(built);
    }
    check_overlaps(&spec.scheduled, faults, w, ctx)?;
    for (pool, s) in stochastic {
        spec.stochastic
            .push(super::stochastic::process(pool, s, w, ctx)?);
    }
    Ok(spec)
}

/// One `[[faults]]` entry: its kind's fields, its window, its target.
fn fault(
    i: usize,
    f: &Spanned<FaultFile>,
    w: &World<'_>,
    ctx: &Ctx<'_>,
) -> Result<Fault, InputError> {
    let path = format!("faults[{i}]");
    let (span, g) = (f.span(), f.get_ref());
    let given = [
        ("target", g.target.is_some()),
        ("selector", g.selector.is_some()),
        ("from", g.from.is_some()),
        ("to", g.to.is_some()),
        ("latency", g.latency.is_some()),
        ("loss", g.loss.is_some()),
        ("speed", g.speed.is_some()),
        ("rate", g.rate.is_some()),
        ("memoryBase", g.memory_base.is_some()),
        ("memoryPerRequest", g.memory_per_request.is_some()),
        ("live", g.live.is_some()),
    ];
    let (needed, optional, need) = fields_of(g.kind);
    let kind_name = format!("kind = \"{}\"", kind_str(g.kind));
    check_fields(
        &given,
        needed,
        optional,
        &kind_name,
        span.clone(),
        &path,
        ctx,
    )?;
    let (at, duration) = window(g, span.clone(), &path, w, ctx)?;
    let kind = resolve_kind(g, need, span, &path, w, ctx)?;
    Ok(Fault {
        name: path,
        at,
        duration,
        kind,
    })
}

/// The fields a kind needs and may have, and what it targets.
fn fields_of(kind: FaultKindFile) -> (&'static [&'static str], &'static [&'static str], Need) {
    match kind {
        FaultKindFile::NodeCrash => (&[], &["target", "selector", "live"], Need::Nodes),
        FaultKindFile::SlowNode => (&["speed"], &["target", "selector"], Need::Nodes),
        FaultKindFile::ZoneOutage => (&["target"], &["live"], Need::Zone),
        FaultKindFile::Partition => (&["from", "to"], &[], Need::None),
        FaultKindFile::LinkDegrade => (&["from", "to"], &["latency", "loss"], Need::None),
        FaultKindFile::ContainerCrash => (&["target", "rate"], &["live"], Need::Service),
        FaultKindFile::OomKill => (
            &["target", "memoryBase", "memoryPerRequest"],
            &[],
            Need::Service,
        ),
        FaultKindFile::ImagePullFailure => (&["target"], &[], Need::Service),
        FaultKindFile::ProvisionFailure => (&["target"], &[], Need::Group),
        FaultKindFile::NodeDrain => (&[], &["target", "selector"], Need::Nodes),
        FaultKindFile::ControlPlanePause => (&[], &[], Need::None),
    }
}

/// The window: `at` before the end of the run, then `duration` or
/// `until` (neither: to the end of the run, which a control-plane pause
/// may not do).
fn window(
    g: &FaultFile,
    span: Range<usize>,
    path: &str,
    w: &World<'_>,
    ctx: &Ctx<'_>,
) -> Result<(SimTime, Option<SimDuration>), InputError> {
    let at_field = |field: &str| format!("{path}.{field}");
    let at = SimTime::ZERO + g.at.get_ref().0;
    if at >= SimTime::ZERO + w.duration {
        return Err(ctx.err(
            g.at.span(),
            at_field("at"),
            format!(
                "starts at {at}, not before the end of the run ({}): it would never happen",
                w.duration
            ),
        ));
    }
    let duration = match (&g.duration, &g.until) {
        (Some(_), Some(u)) => {
            return Err(ctx.err(
                u.span(),
                at_field("until"),
                "give 'duration' or 'until', not both",
            ));
        }
        (Some(d), None) if d.get_ref().0 == SimDuration::ZERO => {
            return Err(ctx.err(
                d.span(),
                at_field("duration"),
                "must be greater than zero (leave it out to last to the end of the run)",
            ));
        }
        (Some(d), None) => Some(d.get_ref().0),
        (None, Some(u)) if u.get_ref().0 <= g.at.get_ref().0 => {
            return Err(ctx.err(
                u.span(),
                at_field("until"),
                format!(
                    "ends at {} but starts at {}: the recovery must come after the start",
                    u.get_ref().0,
                    g.at.get_ref().0
                ),
            ));
        }
        (None, Some(u)) => Some(SimTime::ZERO + u.get_ref().0 - at),
        (None, None) if g.kind == FaultKindFile::ControlPlanePause => {
            return Err(ctx.err(
                span,
                path,
                "a control-plane pause needs 'duration' (or 'until')",
            ));
        }
        (None, None) => None,
    };
    Ok((at, duration))
}

/// What the fault does, to the target it names.
fn resolve_kind(
    g: &FaultFile,
    need: Need,
    span: Range<usize>,
    path: &str,
    w: &World<'_>,
    ctx: &Ctx<'_>,
) -> Result<FaultKind, InputError> {
    let nodes = match need {
        Need::Nodes => target_nodes(g, span, path, w, ctx)?,
        _ => Vec::new(),
    };
    let service = match need {
        Need::Service => Some(target_service(g, path, w, ctx)?),
        _ => None,
    };
    Ok(match g.kind {
        FaultKindFile::NodeCrash => FaultKind::NodeCrash { nodes },
        FaultKindFile::SlowNode => slow_node(g, nodes, path, ctx)?,
        FaultKindFile::ZoneOutage => zone_outage(g, path, w, ctx)?,
        FaultKindFile::Partition | FaultKindFile::LinkDegrade => link_fault(g, path, w, ctx)?,
        FaultKindFile::ContainerCrash => FaultKind::ContainerCrash {
            service: service.expect("service target"),
            rate: g.rate.expect("checked").0,
        },
        FaultKindFile::OomKill => oom_kill(g, service.expect("service target"), path, w, ctx)?,
        FaultKindFile::ImagePullFailure => FaultKind::ImagePullFailure {
            service: service.expect("service target"),
        },
        FaultKindFile::ControlPlanePause => FaultKind::ControlPlanePause,
        FaultKindFile::NodeDrain => FaultKind::NodeDrain { nodes },
        FaultKindFile::ProvisionFailure => {
            debug_assert!(matches!(need, Need::Group));
            let (pool, span) = one_target(g, "pool", path, ctx)?;
            let Some(group) = w.groups.iter().position(|n| *n == pool) else {
                return Err(ctx.err(
                    span,
                    format!("{path}.target.pool"),
                    format!(
                        "pool '{pool}' is not autoscaled (give it 'max'): only nodes a node autoscaler adds can fail to provision"
                    ),
                ));
            };
            FaultKind::ProvisionFailure {
                group: group as u32,
            }
        }
    })
}

/// `slow-node`: a speed factor at most 1.
fn slow_node(
    g: &FaultFile,
    nodes: Vec<NodeId>,
    path: &str,
    ctx: &Ctx<'_>,
) -> Result<FaultKind, InputError> {
    let s = g.speed.as_ref().expect("checked");
    if s.get_ref().0 > 1.0 {
        return Err(ctx.err(
            s.span(),
            format!("{path}.speed"),
            format!(
                "a slow node's speed factor is at most 1 (got {})",
                s.get_ref().0
            ),
        ));
    }
    Ok(FaultKind::SlowNode {
        nodes,
        speed: s.get_ref().0,
    })
}

/// `zone-outage`: a known zone and every node in it.
fn zone_outage(
    g: &FaultFile,
    path: &str,
    w: &World<'_>,
    ctx: &Ctx<'_>,
) -> Result<FaultKind, InputError> {
    let (zone, span) = one_target(g, "zone", path, ctx)?;
    if !w.zones().contains(zone.as_str()) {
        return Err(ctx.err(
            span,
            format!("{path}.target.zone"),
            unknown_zone(&zone, &w.zones()),
        ));
    }
    let nodes = w.select(|_, n| n.zone == zone);
    Ok(FaultKind::ZoneOutage { zone, nodes })
}

/// `partition` or `link-degrade`: two disjoint sets of known zones; a
/// degrade's latency and loss probability.
fn link_fault(
    g: &FaultFile,
    path: &str,
    w: &World<'_>,
    ctx: &Ctx<'_>,
) -> Result<FaultKind, InputError> {
    let to = g.to.as_ref().expect("checked");
    let a = zone_list(
        g.from.as_ref().expect("checked"),
        &format!("{path}.from"),
        w,
        ctx,
    )?;
    let b = zone_list(to, &format!("{path}.to"), w, ctx)?;
    if let Some(z) = a.iter().find(|z| b.contains(z)) {
        return Err(ctx.err(
            to.span(),
            format!("{path}.to"),
            format!("zone '{z}' is on both sides"),
        ));
    }
    if g.kind == FaultKindFile::Partition {
        return Ok(FaultKind::Partition { a, b });
    }
    Ok(FaultKind::LinkDegrade {
        a,
        b,
        latency: g.latency.map_or(SimDuration::ZERO, |d| d.0),
        loss: probability(&g.loss, &format!("{path}.loss"), ctx)?,
    })
}

/// `oom-kill`: a service with a memory limit, and its memory model.
fn oom_kill(
    g: &FaultFile,
    service: ServiceId,
    path: &str,
    w: &World<'_>,
    ctx: &Ctx<'_>,
) -> Result<FaultKind, InputError> {
    let limit = w.services[service.0 as usize].limits.memory_bytes;
    if limit == 0 {
        let t = g.target.as_ref().expect("checked");
        return Err(ctx.err(
            t.span(),
            format!("{path}.target.service"),
            "an oom-kill needs a service with a memory limit (limits.memory)",
        ));
    }
    Ok(FaultKind::OomKill {
        service,
        memory: MemoryModel {
            base: g.memory_base.expect("checked").0,
            per_request: g.memory_per_request.expect("checked").0,
            limit,
        },
    })
}

/// A fault's `live` action: any of them for a node or zone; a container
/// crash is a kill or a stop (a frozen or detached container has not crashed).
fn live_action(
    kind: FaultKindFile,
    a: &Spanned<LiveActionFile>,
    i: usize,
    ctx: &Ctx<'_>,
) -> Result<LiveAction, InputError> {
    let action = match a.get_ref() {
        LiveActionFile::Kill => LiveAction::Kill,
        LiveActionFile::Stop => LiveAction::Stop,
        LiveActionFile::Pause => LiveAction::Pause,
        LiveActionFile::Disconnect => LiveAction::Disconnect,
        LiveActionFile::StopEngine => LiveAction::StopEngine,
    };
    if kind == FaultKindFile::ContainerCrash
        && matches!(
            action,
            LiveAction::Pause | LiveAction::Disconnect | LiveAction::StopEngine
        )
    {
        return Err(ctx.err(
            a.span(),
            format!("faults[{i}].live"),
            "a container crash is carried out as \"kill\" or \"stop\"; pause or disconnect a node with kind = \"node-crash\"",
        ));
    }
    Ok(action)
}

fn kind_str(k: FaultKindFile) -> &'static str {
    match k {
        FaultKindFile::NodeCrash => "node-crash",
        FaultKindFile::ZoneOutage => "zone-outage",
        FaultKindFile::Partition => "partition",
        FaultKindFile::LinkDegrade => "link-degrade",
        FaultKindFile::SlowNode => "slow-node",
        FaultKindFile::ContainerCrash => "container-crash",
        FaultKindFile::OomKill => "oom-kill",
        FaultKindFile::ImagePullFailure => "image-pull-failure",
        FaultKindFile::ControlPlanePause => "control-plane-pause",
        FaultKindFile::ProvisionFailure => "provision-failure",
        FaultKindFile::NodeDrain => "node-drain",
    }
}

/// The single field of `target` that `want` names; errors when another is given.
fn one_target(
    g: &FaultFile,
    want: &str,
    path: &str,
    ctx: &Ctx<'_>,
) -> Result<(String, Range<usize>), InputError> {
    let t = g.target.as_ref().expect("checked");
    let f = t.get_ref();
    let fields = [
        ("node", &f.node),
        ("pool", &f.pool),
        ("rack", &f.rack),
        ("zone", &f.zone),
        ("service", &f.service),
    ];
    for (name, v) in fields {
        if let Some(v) = v {
            if name != want {
                return Err(ctx.err(
                    v.span(),
                    format!("{path}.target.{name}"),
                    format!(
                        "kind = \"{}\" targets a {want}, not a {name}",
                        kind_str(g.kind)
                    ),
                ));
            }
            return Ok((v.get_ref().clone(), v.span()));
        }
    }
    Err(ctx.err(
        t.span(),
        format!("{path}.target"),
        format!("needs '{want}'"),
    ))
}

fn target_service(
    g: &FaultFile,
    path: &str,
    w: &World<'_>,
    ctx: &Ctx<'_>,
) -> Result<ServiceId, InputError> {
    let (name, span) = one_target(g, "service", path, ctx)?;
    w.services
        .iter()
        .position(|s| s.name == name && s.kind == crate::model::ServiceKind::Service)
        .map(|i| ServiceId(i as u32))
        .ok_or_else(|| {
            let names: Vec<&str> = w
                .services
                .iter()
                .filter(|s| s.kind == crate::model::ServiceKind::Service)
                .map(|s| s.name.as_str())
                .collect();
            ctx.err(
                span,
                format!("{path}.target.service"),
                format!("unknown service '{name}'; services: {}", names.join(", ")),
            )
        })
}

fn target_nodes(
    g: &FaultFile,
    span: Range<usize>,
    path: &str,
    w: &World<'_>,
    ctx: &Ctx<'_>,
) -> Result<Vec<NodeId>, InputError> {
    let nodes = match (&g.target, &g.selector) {
        (Some(_), Some(s)) => {
            return Err(ctx.err(
                s.span(),
                format!("{path}.selector"),
                "give 'target' or 'selector', not both",
            ));
        }
        (None, None) => {
            return Err(ctx.err(
                span,
                path,
                format!(
                    "kind = \"{}\" needs 'target' (node, pool, rack or zone) or 'selector'",
                    kind_str(g.kind)
                ),
            ));
        }
        (None, Some(s)) => {
            let nodes =
                w.select(|_, n| s.get_ref().iter().all(|(k, v)| n.labels.get(k) == Some(v)));
            if nodes.is_empty() {
                return Err(ctx.err(s.span(), format!("{path}.selector"), "selects no node"));
            }
            return Ok(nodes);
        }
        (Some(t), None) => t,
    };
    let f = nodes.get_ref();
    let (field, v) = match (&f.node, &f.pool, &f.rack, &f.zone, &f.service) {
        (Some(v), None, None, None, None) => ("node", v),
        (None, Some(v), None, None, None) => ("pool", v),
        (None, None, Some(v), None, None) => ("rack", v),
        (None, None, None, Some(v), None) => ("zone", v),
        (.., Some(v)) => {
            return Err(ctx.err(
                v.span(),
                format!("{path}.target.service"),
                format!(
                    "kind = \"{}\" targets nodes: give node, pool, rack or zone",
                    kind_str(g.kind)
                ),
            ));
        }
        _ => {
            return Err(ctx.err(
                nodes.span(),
                format!("{path}.target"),
                "give exactly one of node, pool, rack or zone",
            ));
        }
    };
    let name = v.get_ref();
    let found = match field {
        "node" => w.select(|_, n| &n.name == name),
        "pool" => w.select(|_, n| &n.pool == name),
        "rack" => w.select(|i, _| w.topology.node_rack.get(i) == Some(name)),
        _ => w.select(|_, n| &n.zone == name),
    };
    if found.is_empty() {
        let known: BTreeSet<&str> = match field {
            "node" => w.nodes.iter().map(|n| n.name.as_str()).collect(),
            "pool" => w.nodes.iter().map(|n| n.pool.as_str()).collect(),
            "rack" => w.topology.node_rack.iter().map(String::as_str).collect(),
            _ => w.zones(),
        };
        let mut list: Vec<&str> = known.into_iter().take(10).collect();
        if list.len() == 10 {
            list.push("…");
        }
        return Err(ctx.err(
            v.span(),
            format!("{path}.target.{field}"),
            format!("unknown {field} '{name}'; {field}s: {}", list.join(", ")),
        ));
    }
    Ok(found)
}

fn zone_list(
    v: &Spanned<Vec<String>>,
    path: &str,
    w: &World<'_>,
    ctx: &Ctx<'_>,
) -> Result<Vec<String>, InputError> {
    let zones = w.zones();
    if v.get_ref().is_empty() {
        return Err(ctx.err(v.span(), path, "needs at least one zone"));
    }
    for z in v.get_ref() {
        if !zones.contains(z.as_str()) {
            return Err(ctx.err(v.span(), path, unknown_zone(z, &zones)));
        }
    }
    Ok(v.get_ref().clone())
}

/// Rejects two faults that hold the same thing at overlapping times.
fn check_overlaps(
    faults: &[Fault],
    files: &[Spanned<FaultFile>],
    w: &World<'_>,
    ctx: &Ctx<'_>,
) -> Result<(), InputError> {
    let end_of_run = SimTime::ZERO + w.duration;
    let mut held: BTreeMap<(u8, String), (usize, SimTime)> = BTreeMap::new();
    // Faults by start, so each only meets earlier ones.
    let mut order: Vec<usize> = (0..faults.len()).collect();
    order.sort_by_key(|&i| (faults[i].at, i));
    for i in order {
        let f = &faults[i];
        let end = f.end().unwrap_or(end_of_run);
        let pairs = |a: &[String], b: &[String]| -> Vec<String> {
            a.iter()
                .flat_map(|x| {
                    b.iter().map(move |y| {
                        if x <= y {
                            format!("{x}–{y}")
                        } else {
                            format!("{y}–{x}")
                        }
                    })
                })
                .collect()
        };
        let keys: Vec<(u8, String, &str)> = match &f.kind {
            FaultKind::NodeCrash { nodes } | FaultKind::ZoneOutage { nodes, .. } => nodes
                .iter()
                .map(|n| (0, w.nodes[n.0 as usize].name.clone(), "crashes node"))
                .collect(),
            FaultKind::SlowNode { nodes, .. } => nodes
                .iter()
                .map(|n| (1, w.nodes[n.0 as usize].name.clone(), "slows node"))
                .collect(),
            FaultKind::Partition { a, b } => pairs(a, b)
                .into_iter()
                .map(|p| (2, p, "cuts the link"))
                .collect(),
            FaultKind::LinkDegrade { a, b, .. } => pairs(a, b)
                .into_iter()
                .map(|p| (3, p, "degrades the link"))
                .collect(),
            FaultKind::ContainerCrash { service, .. } => vec![(
                4,
                w.services[service.0 as usize].name.clone(),
                "crashes service",
            )],
            FaultKind::OomKill { service, .. } => vec![(
                5,
                w.services[service.0 as usize].name.clone(),
                "sets the memory of service",
            )],
            FaultKind::ImagePullFailure { service } => vec![(
                6,
                w.services[service.0 as usize].name.clone(),
                "fails the image pulls of service",
            )],
            FaultKind::ControlPlanePause => vec![(7, String::new(), "pauses the control plane")],
            FaultKind::NodeDrain { nodes } => nodes
                .iter()
                .map(|n| (9, w.nodes[n.0 as usize].name.clone(), "drains node"))
                .collect(),
            FaultKind::ProvisionFailure { group } => vec![(
                8,
                w.groups[*group as usize].clone(),
                "fails the provisioning of pool",
            )],
        };
        for (class, name, verb) in keys {
            if let Some(&(j, until)) = held.get(&(class, name.clone()))
                && f.at < until
            {
                let what = if name.is_empty() {
                    String::new()
                } else {
                    format!(" '{name}'")
                };
                return Err(ctx.err(
                    files[i].get_ref().at.span(),
                    format!("faults[{i}].at"),
                    format!("overlaps faults[{j}], which already {verb}{what} until {until}: impossible window"),
                ));
            }
            held.insert((class, name), (i, end));
        }
    }
    Ok(())
}
