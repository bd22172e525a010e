//! Scenario files: parse, apply overrides, validate, resolve into the model.
//!
//! Key decision: a scenario is validated completely before anything runs,
//! and every error is one line naming `file:line:column`, the dotted field
//! path and what is wrong (`spike.toml:14:12: services.web.replicas: …`).
//! The loader does no I/O itself: files it references (traces, samples) are
//! read through the [`Files`] trait the caller supplies, so the same loader
//! serves the simulator, the live backend and tests with in-memory files.

mod alibaba;
mod autoscaler;
mod balancing;
mod cluster;
mod constraints;
mod faults;
mod health;
mod rollout;
mod schema;
mod stochastic;
mod sweep;
mod topology;
mod traces;

use std::fmt;
use std::ops::Range;

pub use schema::*;

use crate::autoscale::cluster::{NodeAutoscalerSpec, NodeGroup};
use crate::autoscale::spec::AutoscalerSpec;
use crate::balance::Routing;
use crate::dist::DurationDist;
use crate::jobs::{JobArrival, JobSet, JobSource};
use crate::model::{
    Constraints, DesiredState, LABEL_HOSTNAME, LABEL_ZONE, NodeSpec, NodeStatus, Resources,
    SelectorOp, SelectorRequirement, SelectorTerm, ServiceId, ServiceKind, ServiceSpec,
};
use crate::placement::{QueueOrder, place_initial_with};
use crate::quantity::{format_bytes, format_cpu_millis};
use crate::registry;
use crate::rng::{fnv1a64, names, stream};
use crate::time::{SimDuration, SimTime};
use crate::traffic::RateModel;
pub use alibaba::LABEL_GPU_MODEL;
pub use sweep::{SweepFile, SweepSpec, Vary, VaryFile, sweep_spec};

/// A fully validated scenario, ready to run in either world.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Short name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Where it was read from (as given).
    pub source: String,
    /// Seed of all random streams.
    pub seed: u64,
    /// Length of the run.
    pub duration: SimDuration,
    /// Interval of timeseries samples.
    pub sample_interval: SimDuration,
    /// Initial replicas are ready at time zero.
    pub warm_start: bool,
    /// Write every node's allocation at every sample (`nodes.csv`).
    pub node_metrics: bool,
    /// Placement policy name (validated against the registry).
    pub placement: String,
    /// Order in which each scheduling batch takes pending replicas.
    pub queue: QueueOrder,
    /// Every node, pools expanded in name order.
    pub nodes: Vec<NodeSpec>,
    /// Desired state: services in name order, then the shapes of the job
    /// sets (kind [`ServiceKind::Job`](crate::model::ServiceKind::Job)) in
    /// job set name order.
    pub desired: DesiredState,
    /// Traffic model per service: `traffic[i]` belongs to
    /// `desired.services[i]`; job shapes, which come last, have none.
    pub traffic: Vec<RateModel>,
    /// Autoscaler per service (same order), if any.
    pub autoscalers: Vec<Option<AutoscalerSpec>>,
    /// Latency objective per service (same order), if any.
    pub slos: Vec<Option<Slo>>,
    /// Scrape interval of the metrics pipeline autoscalers read.
    pub metric_resolution: SimDuration,
    /// Batch job sets in name order.
    pub jobs: Vec<JobSet>,
    /// Autoscaled pools (those with `max`), in pool name order; their
    /// initial nodes are among `nodes`, in the pool's name.
    pub node_groups: Vec<NodeGroup>,
    /// The node autoscaler of `[clusterAutoscaler]`, when there is one
    /// (always with at least one node group).
    pub node_autoscaler: Option<NodeAutoscalerSpec>,
    /// Cost per node-hour by pool name (every pool; 0 when not given).
    pub pool_costs: std::collections::BTreeMap<String, f64>,
    /// `--set` overrides applied, as given.
    pub overrides: Vec<String>,
    /// FNV-1a 64 of the effective scenario text and every file it read, hex.
    pub hash: String,
    /// Topology, faults and self-healing settings.
    pub resilience: Resilience,
}

/// Topology, faults and self-healing settings of a scenario, grouped so a
/// world that ignores them needs one `Default::default()`.
#[derive(Clone, Debug, Default)]
pub struct Resilience {
    /// Racks, regions and zone links (`[topology]`, pools' `region`/`racks`).
    pub topology: crate::topology::TopologySpec,
    /// `[[faults]]` and `[stochastic.POOL]`.
    pub faults: crate::faults::FaultsSpec,
    /// Probes per service, in `desired.services` order (job shapes have none).
    pub probes: Vec<crate::health::Probes>,
    /// `[nodeLifecycle]`.
    pub node_lifecycle: crate::health::NodeLifecycleConfig,
}

/// A latency objective: `percentile` of requests finish within `latency`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Slo {
    /// Latency target.
    pub latency: SimDuration,
    /// Percentile (e.g. 99).
    pub percentile: f64,
}

/// Reads the files a scenario refers to, relative to the scenario file.
pub trait Files {
    /// The bytes of `path`, or a message such as "No such file or directory".
    fn read(&self, path: &str) -> Result<Vec<u8>, String>;
    /// How to show `path` in messages (e.g. joined to the scenario's folder).
    fn display(&self, path: &str) -> String {
        path.to_string()
    }
}

/// Something wrong with the input, located as precisely as possible.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    /// The file (scenario or trace) or `--set …`.
    pub file: String,
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// 1-based column, 0 when unknown.
    pub column: usize,
    /// Dotted field path (`services.web.replicas`), empty when unknown.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for InputError {}

/// 1-based line and column of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |s| s.chars().count()) + 1;
    (line, col)
}

/// Context for building located errors.
pub(crate) struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    pub(crate) fn err(
        &self,
        span: Range<usize>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> InputError {
        let (line, column) = line_col(self.text, span.start);
        InputError {
            file: self.file.to_string(),
            line,
            column,
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Applies `--set dotted.path=value` overrides to scenario text.
///
/// The value is parsed as a TOML value when it is one (`30`, `true`,
/// `"5m"`, `[1, 2]`) and taken as a string otherwise (`5m`), so shells need
/// no extra quoting. Formatting and comments elsewhere are kept.
pub fn apply_overrides(text: &str, file: &str, overrides: &[String]) -> Result<String, InputError> {
    if overrides.is_empty() {
        return Ok(text.to_string());
    }
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        let (line, column) = e.span().map_or((0, 0), |s| line_col(text, s.start));
        InputError {
            file: file.to_string(),
            line,
            column,
            path: String::new(),
            message: e.message().to_string(),
        }
    })?;
    for o in overrides {
        let bad = |message: String| InputError {
            file: format!("--set {o}"),
            line: 0,
            column: 0,
            path: String::new(),
            message,
        };
        let (path, raw) = o.split_once('=').ok_or_else(|| {
            bad("expected dotted.path=value, e.g. services.web.replicas=30".into())
        })?;
        let keys: Vec<&str> = path.trim().split('.').collect();
        if keys.iter().any(|k| k.is_empty()) {
            return Err(bad(format!(
                "'{path}' is not a dotted path like services.web.replicas"
            )));
        }
        let value: toml_edit::Value = raw
            .trim()
            .parse()
            .unwrap_or_else(|_| toml_edit::Value::from(raw.trim()));
        let mut item = doc.as_item_mut();
        for (i, key) in keys.iter().enumerate() {
            let last = i + 1 == keys.len();
            let table = item
                .as_table_like_mut()
                .ok_or_else(|| bad(format!("'{}' is not a table", keys[..i].join("."))))?;
            if last {
                table.insert(key, toml_edit::Item::Value(value.clone()));
                break;
            }
            if table.get(key).is_none() {
                table.insert(key, toml_edit::Item::Table(toml_edit::Table::new()));
            }
            item = table.get_mut(key).expect("just inserted");
        }
    }
    Ok(doc.to_string())
}

/// Parses and validates scenario text.
///
/// `file` names the scenario in messages; `overrides` are the `--set`
/// strings already applied to `text` (recorded, and used to attribute errors);
/// `seed` replaces the file's seed when given.
pub fn parse(
    text: &str,
    file: &str,
    files: &dyn Files,
    overrides: &[String],
    seed: Option<u64>,
) -> Result<Scenario, InputError> {
    let ctx = Ctx { file, text };
    let raw: ScenarioFile = parse_toml(text, file, overrides)?;
    resolve(raw, &ctx, files, overrides, seed).map_err(|mut e| {
        attribute_to_override(&mut e, overrides);
        e
    })
}

/// Parses a standalone autoscaler spec: the fields of a
/// `[services.NAME.autoscaler]` table at the top level of `text` (for
/// `sim hpa`). Errors name `autoscaler.FIELD`.
pub fn autoscaler_from_toml(text: &str, file: &str) -> Result<AutoscalerSpec, InputError> {
    let ctx = Ctx { file, text };
    let raw: toml::Spanned<autoscaler::AutoscalerFile> = parse_toml(text, file, &[])?;
    autoscaler::build(&raw, "", SimDuration::from_secs(15), &ctx).map_err(|mut e| {
        e.path = e.path.trim_start_matches('.').to_string();
        e
    })
}

/// Reads the scenario at `path` (through `files`), applies `overrides` and validates it.
pub fn load(
    path: &str,
    files: &dyn Files,
    overrides: &[String],
    seed: Option<u64>,
) -> Result<Scenario, InputError> {
    let bytes = files.read(path).map_err(|e| InputError {
        file: path.to_string(),
        line: 0,
        column: 0,
        path: String::new(),
        message: format!("cannot read scenario: {e}"),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| InputError {
        file: path.to_string(),
        line: 0,
        column: 0,
        path: String::new(),
        message: format!("not UTF-8 text: {e}"),
    })?;
    let text = apply_overrides(&text, path, overrides)?;
    let mut scenario = parse(&text, path, files, overrides, seed)?;
    scenario.source = path.to_string();
    Ok(scenario)
}

/// Deserialises any TOML document with located, path-named errors (used for
/// scenarios and for the live backend's hosts file).
pub fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    file: &str,
    overrides: &[String],
) -> Result<T, InputError> {
    let de = toml::Deserializer::parse(text).map_err(|e| {
        let (line, column) = e.span().map_or((0, 0), |s| line_col(text, s.start));
        InputError {
            file: file.to_string(),
            line,
            column,
            path: String::new(),
            message: first_line(e.message()),
        }
    })?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = clean_path(&e.path().to_string());
        let inner = e.into_inner();
        let (line, column) = inner.span().map_or((0, 0), |s| line_col(text, s.start));
        let mut err = InputError {
            file: file.to_string(),
            line,
            column,
            path,
            message: first_line(inner.message()),
        };
        attribute_to_override(&mut err, overrides);
        err
    })
}

/// Points an error at the `--set` that produced the field, if one did.
fn attribute_to_override(err: &mut InputError, overrides: &[String]) {
    for o in overrides {
        let key = o.split_once('=').map_or(o.as_str(), |(k, _)| k).trim();
        if !err.path.is_empty() && (err.path == key || err.path.starts_with(&format!("{key}."))) {
            err.file = format!("--set {o}");
            err.line = 0;
            err.column = 0;
        }
    }
}

/// serde_path_to_error path without toml's `Spanned` plumbing keys, "." for the root.
fn clean_path(p: &str) -> String {
    let parts: Vec<&str> = p
        .split('.')
        .filter(|s| !s.starts_with("$__serde_spanned") && !s.is_empty() && *s != "?")
        .collect();
    parts.join(".")
}

fn first_line(s: &str) -> String {
    s.trim().lines().next().unwrap_or("").trim().to_string()
}

/// Where the table `[section.name]` (or a dotted key `section.name`) is
/// written, for errors about the name itself; serde keeps no span for map keys.
fn key_span(text: &str, section: &str, name: &str) -> Range<usize> {
    let header = format!("[{section}.{name}");
    let dotted = format!("{section}.{name}");
    let at = text
        .find(&header)
        .map(|i| i + 1)
        .or_else(|| text.find(&dotted))
        .unwrap_or(0);
    at..at
}

/// Lower-case DNS label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
fn check_dns_label(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "'{name}' is not a valid name: use lower-case letters, digits and '-', starting and ending with a letter or digit (at most 63)"
        ))
    }
}

fn resources(r: Option<ResourcesFile>) -> Resources {
    let r = r.unwrap_or_default();
    Resources::new(r.cpu.map_or(0, |c| c.0), r.memory.map_or(0, |m| m.0))
        .with_gpu(r.gpu.map_or(0, |g| g.0))
}

fn resolve(
    raw: ScenarioFile,
    ctx: &Ctx<'_>,
    files: &dyn Files,
    overrides: &[String],
    seed: Option<u64>,
) -> Result<Scenario, InputError> {
    let mut hash_input: Vec<u8> = ctx.text.as_bytes().to_vec();
    let name = raw.name.get_ref().clone();
    check_dns_label(&name).map_err(|m| ctx.err(raw.name.span(), "name", m))?;

    let duration = raw.simulation.duration.get_ref().0;
    if duration.0 == 0 {
        return Err(ctx.err(
            raw.simulation.duration.span(),
            "simulation.duration",
            "must be greater than zero",
        ));
    }
    let sample_interval = match &raw.simulation.sample_interval {
        Some(s) if s.get_ref().0.0 == 0 => {
            return Err(ctx.err(
                s.span(),
                "simulation.sampleInterval",
                "must be greater than zero",
            ));
        }
        Some(s) => s.get_ref().0,
        None => SimDuration::from_secs(1),
    };
    let placement = match &raw.scheduler.policy {
        Some(p) => {
            registry::placer(p.get_ref())
                .map_err(|e| ctx.err(p.span(), "scheduler.policy", e.to_string()))?;
            p.get_ref().clone()
        }
        None => "first-fit".to_string(),
    };
    let queue = match raw.scheduler.queue {
        Some(QueueKind::Drf) => QueueOrder::Drf,
        Some(QueueKind::Priority) | None => QueueOrder::Priority,
    };

    // Nodes: pools in name order, nodes numbered within the pool (or as listed in its file).
    let mut nodes = Vec::new();
    let mut node_names = std::collections::BTreeSet::new();
    let mut node_groups = Vec::new();
    let mut pool_costs = std::collections::BTreeMap::new();
    for (pname, pool) in &raw.pools {
        let pool_span = key_span(ctx.text, "pools", pname);
        check_dns_label(pname)
            .map_err(|m| ctx.err(pool_span.clone(), format!("pools.{pname}"), m))?;
        let reserved = resources(pool.reserved.as_ref().map(|r| *r.get_ref()));
        let zone = pool.zone.clone().unwrap_or_else(|| pname.clone());
        let speed = match &pool.speed {
            None => 1.0,
            Some(v) if v.get_ref().is_finite() && *v.get_ref() > 0.0 => *v.get_ref(),
            Some(v) => {
                return Err(ctx.err(
                    v.span(),
                    format!("pools.{pname}.speed"),
                    format!("must be a positive number (got {})", v.get_ref()),
                ));
            }
        };
        let taints = constraints::taints(&pool.taints, &format!("pools.{pname}.taints"), ctx)?;
        pool_costs.insert(pname.clone(), pool.cost_per_hour.map_or(0.0, |c| c.0));
        // The capacity of a pool of identical nodes (the template of a node group).
        let mut identical: Option<Resources> = None;
        // (name, capacity, extra labels) of each node of the pool.
        let members: Vec<(String, Resources, Option<String>)> = match (
            &pool.nodes,
            pool.count,
            pool.cpu,
            pool.memory,
        ) {
            (Some(list), None, None, None) if pool.gpu.is_none() => {
                let path = format!("pools.{pname}.nodes.file");
                let file = &list.get_ref().file;
                let bytes = traces::read_file(file, &path, ctx, files, &mut hash_input)?;
                let read = match list.get_ref().format {
                    TraceFormat::AlibabaOpenb => {
                        alibaba::read_nodes(&bytes, &files.display(file.get_ref()), &path)?
                    }
                };
                read.into_iter()
                    .map(|n| {
                        let model = (!n.model.is_empty()).then_some(n.model);
                        (n.name, n.capacity, model)
                    })
                    .collect()
            }
            (Some(list), ..) => {
                return Err(ctx.err(
                        list.span(),
                        format!("pools.{pname}.nodes"),
                        "a pool with 'nodes' takes its nodes from the file: leave out 'count', 'cpu', 'memory' and 'gpu'",
                    ));
            }
            (None, Some(count), Some(cpu), Some(memory)) => {
                let capacity =
                    Resources::new(cpu.0, memory.0).with_gpu(pool.gpu.map_or(0, |g| g.0));
                identical = Some(capacity);
                (0..count)
                    .map(|i| (format!("{pname}-{i}"), capacity, None))
                    .collect()
            }
            (None, ..) => {
                return Err(ctx.err(
                        pool_span,
                        format!("pools.{pname}"),
                        "a pool needs 'count', 'cpu' and 'memory' (identical nodes), or 'nodes' (a node list file)",
                    ));
            }
        };
        for (name, capacity, gpu_model) in members {
            if let Some(short) = reserved.first_shortfall(&Resources::ZERO, &capacity) {
                let span = pool.reserved.as_ref().map_or(0..0, |r| r.span());
                return Err(ctx.err(
                    span,
                    format!("pools.{pname}.reserved"),
                    format!("reserves more {} than node '{name}' has", short.as_str()),
                ));
            }
            if !node_names.insert(name.clone()) {
                return Err(ctx.err(
                    pool_span,
                    format!("pools.{pname}"),
                    format!("node name '{name}' is used twice; node names must be unique"),
                ));
            }
            let mut allocatable = capacity;
            allocatable -= reserved;
            let mut labels = pool.labels.clone();
            labels.insert(LABEL_HOSTNAME.to_string(), name.clone());
            labels.insert(LABEL_ZONE.to_string(), zone.clone());
            if let Some(model) = gpu_model {
                labels.insert(alibaba::LABEL_GPU_MODEL.to_string(), model);
            }
            nodes.push(NodeSpec {
                name,
                pool: pname.clone(),
                zone: zone.clone(),
                labels,
                taints: taints.clone(),
                capacity,
                allocatable,
                speed,
            });
        }
        let template = identical.map(|capacity| {
            let mut allocatable = capacity;
            allocatable -= reserved;
            let mut labels = pool.labels.clone();
            labels.remove(LABEL_HOSTNAME);
            labels.insert(LABEL_ZONE.to_string(), zone.clone());
            NodeSpec {
                name: pname.clone(),
                pool: pname.clone(),
                zone: zone.clone(),
                labels,
                taints: taints.clone(),
                capacity,
                allocatable,
                speed,
            }
        });
        if let Some(g) = cluster::pool_group(pname, pool, pool_span.clone(), template, ctx)? {
            node_groups.push(g);
        }
    }
    if nodes.is_empty() {
        return Err(ctx.err(
            0..0,
            "pools",
            "the cluster has no nodes: add a [pools.NAME] table with count ≥ 1",
        ));
    }
    let node_autoscaler = match (&raw.cluster_autoscaler, node_groups.first()) {
        (Some(f), Some(_)) => Some(cluster::build(f, ctx)?),
        (Some(f), None) => {
            return Err(ctx.err(
                f.span(),
                "clusterAutoscaler",
                "no node group to scale: give at least one pool 'max' (and 'min', 'bootDelay', 'costPerHour')",
            ));
        }
        (None, Some(g)) => {
            let span = raw.pools[&g.name].max.as_ref().map_or(0..0, |m| m.span());
            return Err(ctx.err(
                span,
                format!("pools.{}.max", g.name),
                "an autoscaled pool needs a [clusterAutoscaler] table (kind = \"cluster-autoscaler\" or \"karpenter\")",
            ));
        }
        (None, None) => None,
    };

    let mut services = Vec::new();
    let mut traffic = Vec::new();
    let mut replica_spans = Vec::new();
    let mut autoscalers = Vec::new();
    let mut slos = Vec::new();
    let pool_names: std::collections::BTreeSet<String> = raw.pools.keys().cloned().collect();
    let mut probes = Vec::new();
    for (sname, s) in raw.services {
        probes.push(health::probes(&s.probes, &sname, ctx)?);
        let at = |field: &str| format!("services.{sname}.{field}");
        check_dns_label(&sname).map_err(|m| {
            ctx.err(
                key_span(ctx.text, "services", &sname),
                format!("services.{sname}"),
                m,
            )
        })?;
        let placement = constraints::constraints(&s, &format!("services.{sname}"), ctx)?;
        let concurrency = match &s.concurrency {
            Some(c) if *c.get_ref() == 0 => {
                return Err(ctx.err(c.span(), at("concurrency"), "must be at least 1"));
            }
            Some(c) => *c.get_ref(),
            None => 1,
        };
        let timeout = match &s.timeout {
            Some(t) if t.get_ref().0.0 == 0 => {
                return Err(ctx.err(
                    t.span(),
                    at("timeout"),
                    "must be greater than zero (leave it out for no timeout)",
                ));
            }
            Some(t) => Some(t.get_ref().0),
            None => None,
        };
        let limits = resources(s.limits);
        // Kubernetes: a resource with a limit and no request gets the limit as its request.
        let requests = match s.requests {
            Some(r) => Resources::new(
                r.cpu.map_or(limits.cpu_milli, |c| c.0),
                r.memory.map_or(limits.memory_bytes, |m| m.0),
            )
            .with_gpu(r.gpu.map_or(limits.gpu_milli, |g| g.0)),
            None => limits,
        };
        if limits.cpu_milli > 0 && requests.cpu_milli > limits.cpu_milli {
            return Err(ctx.err(
                s.replicas.span(),
                at("requests.cpu"),
                format!(
                    "request {} exceeds limit {}",
                    format_cpu_millis(requests.cpu_milli),
                    format_cpu_millis(limits.cpu_milli)
                ),
            ));
        }
        if limits.gpu_milli > 0 && requests.gpu_milli > limits.gpu_milli {
            return Err(ctx.err(
                s.replicas.span(),
                at("requests.gpu"),
                format!(
                    "request {} exceeds limit {}",
                    format_cpu_millis(requests.gpu_milli),
                    format_cpu_millis(limits.gpu_milli)
                ),
            ));
        }
        if limits.memory_bytes > 0 && requests.memory_bytes > limits.memory_bytes {
            return Err(ctx.err(
                s.replicas.span(),
                at("requests.memory"),
                format!(
                    "request {} exceeds limit {}",
                    format_bytes(requests.memory_bytes),
                    format_bytes(limits.memory_bytes)
                ),
            ));
        }
        let service_time = build_dist(
            s.service_time.get_ref(),
            s.service_time.span(),
            &at("serviceTime"),
            ctx,
            files,
            &mut hash_input,
        )?;
        let start_delay = match &s.start_delay {
            None => DurationDist::constant(SimDuration::ZERO),
            Some(sd) => match sd.get_ref() {
                DistOrDuration::Fixed(d) => DurationDist::constant(*d),
                DistOrDuration::Dist(d) => {
                    build_dist(d, sd.span(), &at("startDelay"), ctx, files, &mut hash_input)?
                }
            },
        };
        let routing = match &s.balancer {
            Some(b) => registry::routing(b.get_ref())
                .map_err(|e| ctx.err(b.span(), at("balancer"), e.to_string()))?,
            None => Routing::default(),
        };
        let balancing = balancing::build(
            s.balancing.as_ref(),
            routing,
            &at("balancing"),
            &pool_names,
            raw.simulation.duration.get_ref().0,
            ctx,
        )?;
        traffic.push(traces::build_traffic(
            s.traffic.get_ref(),
            s.traffic.span(),
            &at("traffic"),
            ctx,
            files,
            &mut hash_input,
        )?);
        replica_spans.push(s.replicas.span());
        let start_mean = SimDuration::from_secs_f64(start_delay.mean_secs());
        autoscalers.push(match &s.autoscaler {
            Some(a) => Some(autoscaler::build(
                a,
                &format!("services.{sname}"),
                start_mean,
                ctx,
            )?),
            None => None,
        });
        slos.push(match &s.slo {
            None => None,
            Some(f) => {
                let latency = f.latency.get_ref().0;
                if latency == SimDuration::ZERO {
                    return Err(ctx.err(
                        f.latency.span(),
                        at("slo.latency"),
                        "must be greater than zero",
                    ));
                }
                let percentile = match &f.percentile {
                    Some(p) if p.get_ref().0 >= 100.0 => {
                        return Err(ctx.err(p.span(), at("slo.percentile"), "must be below 100"));
                    }
                    Some(p) => p.get_ref().0,
                    None => 99.0,
                };
                Some(Slo {
                    latency,
                    percentile,
                })
            }
        });
        let stragglers = match &s.stragglers {
            None => crate::model::Stragglers::default(),
            Some(f) => {
                let g = f.get_ref();
                if g.fraction.0 >= 1.0 {
                    return Err(ctx.err(
                        f.span(),
                        at("stragglers.fraction"),
                        format!("must be below 1 (got {})", g.fraction.0),
                    ));
                }
                if g.slowdown.0 < 1.0 {
                    return Err(ctx.err(
                        f.span(),
                        at("stragglers.slowdown"),
                        format!("must be at least 1 (got {})", g.slowdown.0),
                    ));
                }
                crate::model::Stragglers {
                    fraction: g.fraction.0,
                    slowdown: g.slowdown.0,
                }
            }
        };
        let rollout = match &s.rollout {
            None => None,
            Some(r) => {
                let mut spec = rollout::build(r, &format!("services.{sname}"), ctx)?;
                if let Some(n) = &r.get_ref().new_revision
                    && let Some(st) = &n.get_ref().service_time
                {
                    spec.new_revision.service_time = Some(build_dist(
                        st.get_ref(),
                        st.span(),
                        &at("rollout.newRevision.serviceTime"),
                        ctx,
                        files,
                        &mut hash_input,
                    )?);
                }
                Some(spec)
            }
        };
        services.push(ServiceSpec {
            name: sname,
            kind: crate::model::ServiceKind::Service,
            replicas: *s.replicas.get_ref(),
            requests,
            limits,
            concurrency,
            queue_limit: s.queue_limit,
            timeout,
            service_time,
            start_delay,
            routing,
            work: match s.work {
                Some(WorkKind::Sleep) => crate::model::Work::Sleep,
                _ => crate::model::Work::Cpu,
            },
            placement,
            stragglers,
            balancing,
            rollout,
        });
    }
    if services.is_empty() && raw.jobs.is_empty() {
        return Err(ctx.err(
            0..0,
            "services",
            "no services and no jobs: add a [services.NAME] or a [jobs.NAME] table",
        ));
    }
    let mut jobs = Vec::new();
    for (jname, j) in raw.jobs {
        jobs.push(build_jobs(
            &jname,
            j,
            &mut services,
            ctx,
            files,
            &mut hash_input,
        )?);
    }
    let desired = DesiredState { services };
    let seed = seed.or(raw.simulation.seed).unwrap_or(1);
    let metric_resolution = match &raw.simulation.metric_resolution {
        Some(s) if s.get_ref().0.0 == 0 => {
            return Err(ctx.err(
                s.span(),
                "simulation.metricResolution",
                "must be greater than zero",
            ));
        }
        Some(s) => s.get_ref().0,
        None => SimDuration::from_secs(15),
    };
    check_fit(
        &desired,
        &nodes,
        &placement,
        queue,
        seed,
        &replica_spans,
        ctx,
    )?;
    let resilience = {
        let topology = topology::build(&raw.topology, &raw.pools, &nodes, ctx)?;
        let world = faults::World {
            nodes: &nodes,
            services: &desired.services,
            topology: &topology,
            duration,
        };
        let faults = faults::build(&raw.faults, &raw.stochastic, &world, ctx)?;
        probes.resize(desired.services.len(), Default::default());
        Resilience {
            topology,
            faults,
            probes,
            node_lifecycle: health::node_lifecycle(&raw.node_lifecycle, ctx)?,
        }
    };

    Ok(Scenario {
        name,
        description: raw.description,
        source: ctx.file.to_string(),
        seed,
        duration,
        sample_interval,
        warm_start: raw.simulation.warm_start.unwrap_or(true),
        node_metrics: raw.simulation.node_metrics.unwrap_or(false),
        placement,
        queue,
        nodes,
        desired,
        traffic,
        autoscalers,
        slos,
        metric_resolution,
        jobs,
        node_groups,
        node_autoscaler,
        pool_costs,
        overrides: overrides.to_vec(),
        hash: format!("{:016x}", fnv1a64(&hash_input)),
        resilience,
    })
}

/// The job shapes of one set: one per distinct (requests, priority, GPU
/// models), named `SET.K` in order of first appearance.
struct Shapes<'a> {
    set: &'a str,
    services: &'a mut Vec<ServiceSpec>,
    known: std::collections::HashMap<(Resources, i32, Vec<String>), ServiceId>,
    ids: Vec<ServiceId>,
}

impl Shapes<'_> {
    fn get(&mut self, requests: Resources, priority: i32, models: Vec<String>) -> ServiceId {
        let key = (requests, priority, models);
        if let Some(&id) = self.known.get(&key) {
            return id;
        }
        let id = ServiceId(self.services.len() as u32);
        let mut placement = Constraints {
            priority,
            ..Default::default()
        };
        if !key.2.is_empty() {
            placement.required_terms.push(SelectorTerm {
                requirements: vec![SelectorRequirement {
                    key: LABEL_GPU_MODEL.to_string(),
                    op: SelectorOp::In,
                    values: key.2.clone(),
                }],
            });
        }
        placement.batch = true;
        self.services.push(ServiceSpec {
            name: format!("{}.{}", self.set, self.ids.len()),
            kind: ServiceKind::Job,
            replicas: 0,
            requests,
            limits: requests,
            concurrency: 1,
            queue_limit: None,
            timeout: None,
            service_time: DurationDist::constant(SimDuration::ZERO),
            start_delay: DurationDist::constant(SimDuration::ZERO),
            routing: Routing::default(),
            work: crate::model::Work::Cpu,
            placement,
            stragglers: Default::default(),
            balancing: Default::default(),
            rollout: None,
        });
        self.known.insert(key, id);
        self.ids.push(id);
        id
    }
}

/// A `count` of pods: at least 1 (default 1).
fn pod_count(
    c: &Option<toml::Spanned<u32>>,
    path: String,
    ctx: &Ctx<'_>,
) -> Result<u32, InputError> {
    match c {
        Some(c) if *c.get_ref() == 0 => Err(ctx.err(c.span(), path, "must be at least 1")),
        Some(c) => Ok(*c.get_ref()),
        None => Ok(1),
    }
}

/// Resolves `[jobs.NAME]`, appending its shapes to `services`.
fn build_jobs(
    name: &str,
    j: toml::Spanned<JobsFile>,
    services: &mut Vec<ServiceSpec>,
    ctx: &Ctx<'_>,
    files: &dyn Files,
    hash: &mut Vec<u8>,
) -> Result<JobSet, InputError> {
    let span = j.span();
    let path = format!("jobs.{name}");
    check_dns_label(name).map_err(|m| ctx.err(key_span(ctx.text, "jobs", name), &path, m))?;
    let j = j.into_inner();
    let at = |f: &str| format!("jobs.{name}.{f}");
    let given = [
        ("arrivals", j.arrivals.is_some()),
        ("rate", j.rate.is_some()),
        ("duration", j.duration.is_some()),
        ("cpu", j.cpu.is_some()),
        ("memory", j.memory.is_some()),
        ("gpu", j.gpu.is_some()),
        ("count", j.count.is_some()),
        ("priority", j.priority.is_some()),
        ("trace", j.trace.is_some()),
    ];
    let sources = [j.arrivals.is_some(), j.rate.is_some(), j.trace.is_some()];
    if sources.iter().filter(|&&x| x).count() != 1 {
        return Err(ctx.err(
            span,
            path,
            "give exactly one of 'arrivals' (a list of jobs), 'rate' (Poisson arrivals) or 'trace' (a trace file)",
        ));
    }
    let mut shapes = Shapes {
        set: name,
        services,
        known: Default::default(),
        ids: Vec::new(),
    };
    let priority = j.priority.unwrap_or(0);
    let mut trace_report = None;
    let source = if let Some(arrivals) = &j.arrivals {
        check_fields(
            &given,
            &["arrivals"],
            &["priority"],
            "jobs given by 'arrivals'",
            span.clone(),
            &path,
            ctx,
        )?;
        if arrivals.is_empty() {
            return Err(ctx.err(
                span,
                at("arrivals"),
                "the list is empty: give at least one job",
            ));
        }
        let mut list = Vec::with_capacity(arrivals.len());
        for (i, a) in arrivals.iter().enumerate() {
            let count = pod_count(&a.count, at(&format!("arrivals[{i}].count")), ctx)?;
            let requests = Resources::new(a.cpu.map_or(0, |c| c.0), a.memory.map_or(0, |m| m.0))
                .with_gpu(a.gpu.map_or(0, |g| g.0));
            let shape = shapes.get(requests, a.priority.unwrap_or(priority), Vec::new());
            list.push(JobArrival {
                at: SimTime::ZERO + a.at.0,
                duration: a.duration.0,
                shape,
                count,
                name: format!("{name}-{i}"),
            });
        }
        list.sort_by_key(|a| a.at);
        JobSource::List(list)
    } else if let Some(rate) = j.rate {
        check_fields(
            &given,
            &["rate", "duration"],
            &["cpu", "memory", "gpu", "count", "priority"],
            "Poisson jobs ('rate')",
            span.clone(),
            &path,
            ctx,
        )?;
        let d = j.duration.as_ref().expect("checked");
        let duration = match d.get_ref() {
            DistOrDuration::Fixed(x) => DurationDist::constant(*x),
            DistOrDuration::Dist(x) => build_dist(x, d.span(), &at("duration"), ctx, files, hash)?,
        };
        let requests = Resources::new(j.cpu.map_or(0, |c| c.0), j.memory.map_or(0, |m| m.0))
            .with_gpu(j.gpu.map_or(0, |g| g.0));
        JobSource::Poisson {
            rate: rate.0,
            duration,
            shape: shapes.get(requests, priority, Vec::new()),
            count: pod_count(&j.count, at("count"), ctx)?,
        }
    } else {
        check_fields(
            &given,
            &["trace"],
            &["priority"],
            "jobs given by 'trace'",
            span.clone(),
            &path,
            ctx,
        )?;
        let t = j.trace.as_ref().expect("checked");
        let (tspan, t) = (t.span(), t.get_ref());
        let tpath = at("trace");
        let start_s = t.start.map_or(0.0, |d| d.0.as_secs_f64());
        let end_s = t.end.map(|d| d.0.as_secs_f64());
        if end_s.is_some_and(|e| e <= start_s) {
            return Err(ctx.err(tspan, format!("{tpath}.end"), "must be after 'start'"));
        }
        if t.limit == Some(0) {
            return Err(ctx.err(tspan, format!("{tpath}.limit"), "must be at least 1"));
        }
        if t.phases.as_ref().is_some_and(|p| p.is_empty()) {
            return Err(ctx.err(
                tspan,
                format!("{tpath}.phases"),
                "the list is empty: no pod would be taken",
            ));
        }
        let time_scale = t.time_scale.map_or(1.0, |x| x.0);
        let opts = alibaba::PodOptions {
            start_s,
            end_s,
            time_scale,
            duration_scale: t.duration_scale.map_or(time_scale, |x| x.0),
            limit: t.limit,
            phases: t.phases.clone(),
        };
        let fpath = format!("{tpath}.file");
        let bytes = traces::read_file(&t.file, &fpath, ctx, files, hash)?;
        let shown = files.display(t.file.get_ref());
        let (pods, report) = match t.format {
            TraceFormat::AlibabaOpenb => alibaba::read_pods(&bytes, &shown, &opts, &fpath)?,
        };
        if pods.is_empty() {
            return Err(ctx.err(
                tspan,
                tpath,
                format!(
                    "no pod of '{shown}' was taken ({} rows: {} without deletion time, {} with a non-positive duration, {} in other phases, {} outside the window)",
                    report.rows,
                    report.skipped_no_deletion,
                    report.skipped_non_positive_duration,
                    report.skipped_phase,
                    report.skipped_outside_window
                ),
            ));
        }
        let list = pods
            .into_iter()
            .map(|p| JobArrival {
                at: p.at,
                duration: p.duration,
                shape: shapes.get(p.requests, priority, p.gpu_models),
                count: 1,
                name: p.name,
            })
            .collect();
        trace_report = Some(report);
        JobSource::List(list)
    };
    Ok(JobSet {
        name: name.to_string(),
        source,
        shapes: shapes.ids,
        trace: trace_report,
    })
}

/// Places every initial replica with the scenario's placement policy and
/// queue order, and reports the first service whose replicas cannot all be
/// placed.
fn check_fit(
    desired: &DesiredState,
    nodes: &[NodeSpec],
    placement: &str,
    queue: QueueOrder,
    seed: u64,
    spans: &[Range<usize>],
    ctx: &Ctx<'_>,
) -> Result<(), InputError> {
    let mut policy = registry::placer(placement).expect("validated");
    let mut rng = stream(seed, &format!("{}/placement", names::POLICY));
    let nodes = nodes.iter().map(|n| NodeStatus::new(n.clone())).collect();
    let result = place_initial_with(queue, desired, nodes, policy.as_mut(), &mut rng);
    let first = result
        .first_failure
        .iter()
        .enumerate()
        .find_map(|(s, w)| w.as_ref().map(|w| (s, w)));
    if let Some((s, why)) = first {
        let spec = &desired.services[s];
        let n = result.placed[s];
        return Err(ctx.err(
            spans[s].clone(),
            format!("services.{}.replicas", spec.name),
            format!(
                "{} replicas requesting {} cpu{} and {} memory each do not fit the cluster: only {n} could be placed ({why})",
                spec.replicas,
                format_cpu_millis(spec.requests.cpu_milli),
                if spec.requests.gpu_milli > 0 {
                    format!(", {} gpu", format_cpu_millis(spec.requests.gpu_milli))
                } else {
                    String::new()
                },
                format_bytes(spec.requests.memory_bytes),
            ),
        ));
    }
    Ok(())
}

/// Checks which parameters a model was given: all of `needed`, none outside `needed` and `optional`.
pub(crate) fn check_fields(
    given: &[(&str, bool)],
    needed: &[&str],
    optional: &[&str],
    kind: &str,
    span: Range<usize>,
    path: &str,
    ctx: &Ctx<'_>,
) -> Result<(), InputError> {
    for (field, present) in given {
        if *present && !needed.contains(field) && !optional.contains(field) {
            let mut takes = needed.join(", ");
            if !optional.is_empty() {
                takes = format!("{takes} (optional: {})", optional.join(", "));
            }
            return Err(ctx.err(
                span.clone(),
                path,
                format!("'{field}' does not apply to {kind}; it takes: {takes}"),
            ));
        }
    }
    for n in needed {
        if !given.iter().any(|(f, p)| f == n && *p) {
            return Err(ctx.err(
                span.clone(),
                path,
                format!("{kind} needs '{n}' (it takes: {})", needed.join(", ")),
            ));
        }
    }
    Ok(())
}

fn build_dist(
    d: &DistFile,
    span: Range<usize>,
    path: &str,
    ctx: &Ctx<'_>,
    files: &dyn Files,
    hash: &mut Vec<u8>,
) -> Result<DurationDist, InputError> {
    let given = [
        ("value", d.value.is_some()),
        ("mean", d.mean.is_some()),
        ("p99", d.p99.is_some()),
        ("sigma", d.sigma.is_some()),
        ("shape", d.shape.is_some()),
        ("file", d.file.is_some()),
        ("column", d.column.is_some()),
    ];
    let fail = |m: String| ctx.err(span.clone(), path, m);
    let mean = || d.mean.map_or(SimDuration::ZERO, |m| m.0);
    match d.dist {
        DistKind::Constant => {
            check_fields(
                &given,
                &["value"],
                &[],
                "dist = \"constant\"",
                span.clone(),
                path,
                ctx,
            )?;
            Ok(DurationDist::constant(d.value.expect("checked").0))
        }
        DistKind::Exponential => {
            check_fields(
                &given,
                &["mean"],
                &[],
                "dist = \"exponential\"",
                span.clone(),
                path,
                ctx,
            )?;
            DurationDist::exponential(mean()).map_err(fail)
        }
        DistKind::Lognormal => {
            let kind = "dist = \"lognormal\"";
            match (d.p99.is_some(), d.sigma.is_some()) {
                (true, false) => {
                    check_fields(&given, &["mean", "p99"], &[], kind, span.clone(), path, ctx)?;
                    DurationDist::lognormal_mean_p99(mean(), d.p99.expect("checked").0)
                        .map_err(fail)
                }
                (false, true) => {
                    check_fields(
                        &given,
                        &["mean", "sigma"],
                        &[],
                        kind,
                        span.clone(),
                        path,
                        ctx,
                    )?;
                    DurationDist::lognormal_mean_sigma(mean(), d.sigma.expect("checked").0)
                        .map_err(fail)
                }
                _ => Err(fail(format!(
                    "{kind} needs 'mean' and exactly one of 'p99' or 'sigma'"
                ))),
            }
        }
        DistKind::Gamma => {
            check_fields(
                &given,
                &["mean", "shape"],
                &[],
                "dist = \"gamma\"",
                span.clone(),
                path,
                ctx,
            )?;
            DurationDist::gamma(mean(), d.shape.expect("checked").0).map_err(fail)
        }
        DistKind::Pareto => {
            check_fields(
                &given,
                &["mean", "shape"],
                &[],
                "dist = \"pareto\"",
                span.clone(),
                path,
                ctx,
            )?;
            DurationDist::pareto(mean(), d.shape.expect("checked").0).map_err(fail)
        }
        DistKind::Empirical => {
            check_fields(
                &given,
                &["file"],
                &["column"],
                "dist = \"empirical\"",
                span.clone(),
                path,
                ctx,
            )?;
            let file = d.file.as_ref().expect("checked");
            let samples = traces::read_samples(
                file,
                d.column.as_deref(),
                &format!("{path}.file"),
                ctx,
                files,
                hash,
            )?;
            DurationDist::empirical(samples).map_err(fail)
        }
    }
}

#[cfg(test)]
mod faults_tests;
#[cfg(test)]
mod tests;
