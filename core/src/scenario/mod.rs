//! Scenario files: parse, apply overrides, validate, resolve into the model.
//!
//! Key decision: a scenario is validated completely before anything runs,
//! and every error is one line naming `file:line:column`, the dotted field
//! path and what is wrong (`spike.toml:14:12: services.web.replicas: …`).
//! The loader does no I/O itself: files it references (traces, samples) are
//! read through the [`Files`] trait the caller supplies, so the same loader
//! serves the simulator, the live backend and tests with in-memory files.
//!
//! Map: [`parse`] deserialises into `schema.rs`'s types, then `resolve`
//! runs the sections in order — `simulation.rs` (name, `[simulation]`,
//! `[scheduler]`), `pools.rs` (nodes, node groups), `services.rs`,
//! `jobs.rs`, `fit.rs` (the initial placement), `resilience.rs` (topology,
//! faults, probes) — each calling the files of its sub-tables; checks
//! several tables share are in `fields.rs`.

mod alibaba;
mod autoscaler;
mod balancing;
mod cluster;
mod constraints;
mod disruption;
mod dist;
mod faults;
mod fields;
mod fit;
mod health;
mod jobs;
mod pools;
mod priority;
mod resilience;
mod rollout;
mod scheduler;
mod schema;
mod selectors;
mod services;
mod simulation;
mod stochastic;
mod storage;
mod sweep;
mod topology;
mod traces;

use std::fmt;
use std::ops::Range;

pub use schema::*;

use crate::autoscale::cluster::{NodeAutoscalerSpec, NodeGroup};
use crate::autoscale::spec::AutoscalerSpec;
use crate::jobs::JobSet;
use crate::model::{DesiredState, NodeSpec};
use crate::placement::QueueOrder;
use crate::rng::fnv1a64;
use crate::time::SimDuration;
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
    /// The whole-cluster preset (`preset`), if any; its values are already
    /// in the fields below.
    pub preset: Option<String>,
    /// Placement policy name (validated against the registry).
    pub placement: String,
    /// The Kubernetes profile `[scheduler]` configures on `placement`, when
    /// it sets any profile field; build the policy with [`Scenario::placer`].
    pub scheduler: Option<crate::sched::config::SchedulerProfile>,
    /// Order in which each scheduling batch takes pending replicas.
    pub queue: QueueOrder,
    /// StorageClasses, PersistentVolumes and PersistentVolumeClaims, the
    /// immediate claims bound (the simulator's starting storage state).
    pub storage: crate::storage::Storage,
    /// Every node, pools expanded in name order; shared with the
    /// simulator's [`NodeStatus`](crate::model::NodeStatus)es.
    pub nodes: Vec<std::sync::Arc<NodeSpec>>,
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
    /// `[[priorityClasses]]` (the pods' priorities are already resolved from them).
    pub priority_classes: Vec<crate::priority::PriorityClass>,
    /// `[[podDisruptionBudgets]]`.
    pub pod_disruption_budgets: Vec<crate::disruption::PodDisruptionBudget>,
    /// `[namespaces.NAME]`: declared namespaces and their labels (with
    /// `kubernetes.io/metadata.name`); others carry only that label.
    pub namespaces: std::collections::BTreeMap<String, crate::labels::Labels>,
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
    let controller = crate::autoscale::hpa::HpaConfig::default();
    autoscaler::build(&raw, "", SimDuration::from_secs(15), &controller, &ctx).map_err(|mut e| {
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

/// The pipeline: each section is resolved in the order its checks have
/// always run (so the first mistake in a file is the one reported), later
/// sections against what earlier ones built.
/// The placement policy `placement` names, configured by `profile`.
fn placer_for(
    placement: &str,
    profile: Option<&crate::sched::config::SchedulerProfile>,
) -> Box<dyn crate::placement::Place> {
    match profile {
        Some(p) => p.placer(),
        None => crate::registry::placer(placement).expect("validated placement"),
    }
}

impl Scenario {
    /// A fresh placement policy: the registered `placement`, or the
    /// `[scheduler]` profile configured on it.
    pub fn placer(&self) -> Box<dyn crate::placement::Place> {
        placer_for(&self.placement, self.scheduler.as_ref())
    }
}

fn resolve(
    raw: ScenarioFile,
    ctx: &Ctx<'_>,
    files: &dyn Files,
    overrides: &[String],
    seed: Option<u64>,
) -> Result<Scenario, InputError> {
    // The scenario text, then every file read, in reading order.
    let mut hash = ctx.text.as_bytes().to_vec();
    let name = simulation::name(&raw.name, ctx)?;
    let duration = simulation::duration(&raw.simulation, ctx)?;
    let sample_interval = simulation::sample_interval(&raw.simulation, ctx)?;
    let preset = simulation::preset(&raw.preset, ctx)?;
    let placement = simulation::placement(&raw.scheduler, preset.as_ref(), ctx)?;
    let queue = simulation::queue(&raw.scheduler);
    let scheduler = scheduler::profile(&raw.scheduler, &placement, preset.as_ref(), ctx)?;
    let pools = pools::resolve(
        &raw.pools,
        &raw.cluster_autoscaler,
        preset.as_ref(),
        ctx,
        files,
        &mut hash,
    )?;
    let pool_names = raw.pools.keys().cloned().collect();
    let hpa = autoscaler::hpa_controller(
        raw.hpa_controller.as_ref().map(|h| h.get_ref()),
        preset.as_ref(),
        ctx,
    )?;
    let around = services::Around {
        pools: &pool_names,
        duration,
        hpa: &hpa,
    };
    let services = services::resolve(&raw.services, &around, ctx, files, &mut hash)?;
    let mut specs = services.specs;
    let jobs = jobs::resolve(&raw.jobs, &mut specs, ctx, files, &mut hash)?;
    let namespaces = constraints::namespaces(&raw.namespaces, ctx)?;
    constraints::resolve_selectors(&mut specs, &namespaces);
    let priority_classes = priority::classes(&raw.priority_classes, ctx)?;
    priority::apply_services(&raw.services, &mut specs, &priority_classes, ctx)?;
    priority::apply_jobs(&raw.jobs, &jobs, &mut specs, &priority_classes, ctx)?;
    let pod_disruption_budgets = disruption::budgets(&raw.pod_disruption_budgets, ctx)?;
    let storage_nodes: Vec<&crate::model::NodeSpec> = pools
        .nodes
        .iter()
        .chain(pools.node_groups.iter().map(|g| &g.template))
        .collect();
    let storage = storage::resolve(&raw, &storage_nodes, ctx)?;
    storage::check_services(&specs, &storage, &raw, ctx)?;
    storage::apply_stateful(&raw, &mut specs, &storage, ctx)?;
    let desired = DesiredState { services: specs };
    let seed = seed.or(raw.simulation.seed).unwrap_or(1);
    let metric_resolution = simulation::metric_resolution(&raw.simulation, ctx)?;
    let spans = &services.replica_spans;
    let policy = placer_for(&placement, scheduler.as_ref());
    fit::check_fit(
        &desired,
        (&pools.nodes, &storage),
        policy,
        queue,
        seed,
        spans,
        ctx,
    )?;
    let group_names: Vec<String> = pools.node_groups.iter().map(|g| g.name.clone()).collect();
    let resilience = resilience::resolve(
        &raw,
        &pools.nodes,
        &group_names,
        &desired.services,
        services.probes,
        duration,
        ctx,
    )?;
    Ok(Scenario {
        name,
        description: raw.description,
        source: ctx.file.to_string(),
        seed,
        duration,
        sample_interval,
        warm_start: raw.simulation.warm_start.unwrap_or(true),
        node_metrics: raw.simulation.node_metrics.unwrap_or(false),
        preset: preset.map(|p| p.name.to_string()),
        placement,
        scheduler,
        queue,
        nodes: pools.nodes.into_iter().map(std::sync::Arc::new).collect(),
        desired,
        traffic: services.traffic,
        autoscalers: services.autoscalers,
        slos: services.slos,
        metric_resolution,
        jobs,
        node_groups: pools.node_groups,
        node_autoscaler: pools.node_autoscaler,
        pool_costs: pools.pool_costs,
        overrides: overrides.to_vec(),
        hash: format!("{:016x}", fnv1a64(&hash)),
        resilience,
        priority_classes,
        pod_disruption_budgets,
        namespaces,
        storage,
    })
}

#[cfg(test)]
mod faults_tests;
#[cfg(test)]
mod labels_tests;
#[cfg(test)]
mod pod_tests;
#[cfg(test)]
mod presets_tests;
#[cfg(test)]
mod priority_tests;
#[cfg(test)]
mod scheduler_tests;
#[cfg(test)]
mod storage_tests;
#[cfg(test)]
mod tests;
