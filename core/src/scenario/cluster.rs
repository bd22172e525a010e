//! `[clusterAutoscaler]` and the autoscaled pools: the file shape and its
//! conversion into a [`NodeAutoscalerSpec`] and [`NodeGroup`]s.
//!
//! Key decision: a node group is a pool that declares `max` (with `min`,
//! `bootDelay`, `costPerHour`); its `count` is the initial size and its
//! node shape the template, so a scenario grows the pools it already has.
//! The autoscaler is one flat table with a `kind`, like the pod autoscaler,
//! and fields of the other kind are rejected by name. Flags keep upstream's
//! names in camelCase (`--scale-down-unneeded-time` →
//! `scaleDownUnneededTime`, Karpenter's `consolidateAfter` as is).

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::fields::{at_least_one, check_fields, positive_duration};
use super::schema::{Dur, PoolFile};
use super::{Ctx, InputError};
use crate::autoscale::cluster::{
    ClusterAutoscalerConfig, ConsolidationPolicy, Expander, ExpanderChain, GroupPattern,
    KarpenterConfig, NodeAutoscalerSpec, NodeGroup, PriorityTier,
};
use crate::model::NodeSpec;
use crate::time::SimDuration;

/// `kind = "cluster-autoscaler" | "karpenter"`.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum NodeAutoscalerKind {
    /// Kubernetes' Cluster Autoscaler.
    ClusterAutoscaler,
    /// Karpenter-style provisioning and consolidation.
    Karpenter,
}

/// `consolidationPolicy = "WhenEmpty" | "WhenEmptyOrUnderutilized"`.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
pub enum ConsolidationPolicyFile {
    /// Only empty nodes.
    WhenEmpty,
    /// Empty nodes and nodes whose replicas fit elsewhere or on a cheaper node.
    WhenEmptyOrUnderutilized,
}

/// `[clusterAutoscaler]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterAutoscalerFile {
    /// Which node autoscaler (required unless the scenario's `preset` names one).
    pub kind: Option<NodeAutoscalerKind>,
    /// Cluster Autoscaler: `--expander` (default `random`): one of
    /// `random`, `most-pods`, `least-waste`, `price`, `priority`, or a
    /// comma-separated chain (`"priority,least-waste"`).
    pub expander: Option<Spanned<String>>,
    /// Cluster Autoscaler: the priority expander's `priorities` (upstream's
    /// `cluster-autoscaler-priority-expander` ConfigMap): priority → regexes
    /// of node-group names.
    pub expander_priorities: Option<Spanned<BTreeMap<String, Vec<Spanned<String>>>>>,
    /// How often it looks (default 10 s; Karpenter 1 s).
    pub scan_interval: Option<Spanned<Dur>>,
    /// Cluster Autoscaler: `--scale-down-utilization-threshold` (default 0.5).
    pub scale_down_utilization_threshold: Option<Spanned<f64>>,
    /// Cluster Autoscaler: `--scale-down-unneeded-time` (default `10m`).
    pub scale_down_unneeded_time: Option<Dur>,
    /// Cluster Autoscaler: `--scale-down-delay-after-add` (default `10m`).
    pub scale_down_delay_after_add: Option<Dur>,
    /// `--max-nodes-total` (default 0: no limit).
    pub max_nodes_total: Option<u32>,
    /// Cluster Autoscaler: `--max-empty-bulk-delete` (default 10).
    pub max_empty_bulk_delete: Option<Spanned<u32>>,
    /// Cluster Autoscaler: `--skip-nodes-with-system-pods` (default true).
    pub skip_nodes_with_system_pods: Option<bool>,
    /// Cluster Autoscaler: `--scale-down-unready-time` (default `20m`).
    pub scale_down_unready_time: Option<Spanned<Dur>>,
    /// Cluster Autoscaler: `--ok-total-unready-count` (default 3).
    pub ok_total_unready_count: Option<u32>,
    /// Cluster Autoscaler: `--max-total-unready-percentage` (default 45).
    pub max_total_unready_percentage: Option<Spanned<f64>>,
    /// Cluster Autoscaler: `--skip-nodes-with-local-storage` (default true).
    pub skip_nodes_with_local_storage: Option<bool>,
    /// Cluster Autoscaler: `--max-graceful-termination-sec` (default 600).
    pub max_graceful_termination_sec: Option<u32>,
    /// Cluster Autoscaler: `--max-node-provision-time` (default `15m`).
    pub max_node_provision_time: Option<Spanned<Dur>>,
    /// Cluster Autoscaler: `--initial-node-group-backoff-duration` (default `5m`).
    pub initial_node_group_backoff_duration: Option<Spanned<Dur>>,
    /// Cluster Autoscaler: `--max-node-group-backoff-duration` (default `30m`).
    pub max_node_group_backoff_duration: Option<Spanned<Dur>>,
    /// Karpenter: `disruption.consolidationPolicy` (default `WhenEmptyOrUnderutilized`).
    pub consolidation_policy: Option<ConsolidationPolicyFile>,
    /// Karpenter: `disruption.consolidateAfter` (default `0s`).
    pub consolidate_after: Option<Dur>,
    /// Karpenter: `disruption.budgets` (default `[{ nodes = "10%" }]`).
    pub budgets: Option<Spanned<Vec<Spanned<KarpenterBudgetFile>>>>,
    /// Karpenter: `template.spec.expireAfter` (default `"720h"`; `"Never"`).
    pub expire_after: Option<Spanned<String>>,
}

/// One `disruption.budgets` entry: `{ nodes = "10%" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KarpenterBudgetFile {
    /// At most this many nodes (or percent of the NodePool's, rounded up)
    /// disrupted at once.
    pub nodes: Spanned<super::disruption::IntOrStringFile>,
}

/// The priority expander's tiers from `expanderPriorities`: each key an
/// integer priority, each value a non-empty list of regexes (RE2 syntax,
/// as upstream's Go `regexp`).
fn priorities(
    p: &Spanned<BTreeMap<String, Vec<Spanned<String>>>>,
    path: &str,
    ctx: &Ctx<'_>,
) -> Result<Vec<PriorityTier>, InputError> {
    let field = format!("{path}.expanderPriorities");
    if p.get_ref().is_empty() {
        return Err(ctx.err(p.span(), field, "needs at least one priority"));
    }
    let mut tiers = Vec::new();
    for (key, list) in p.get_ref() {
        let Ok(priority) = key.parse::<i32>() else {
            return Err(ctx.err(
                p.span(),
                format!("{field}.{key}"),
                "a priority is an integer (the ConfigMap's `priorities` keys)",
            ));
        };
        if list.is_empty() {
            return Err(ctx.err(
                p.span(),
                format!("{field}.{key}"),
                "needs at least one group-name regex",
            ));
        }
        let mut patterns = Vec::new();
        for re in list {
            patterns.push(GroupPattern::new(re.get_ref()).map_err(|m| {
                ctx.err(
                    re.span(),
                    format!("{field}.{key}"),
                    format!("not a regex: {}", m.lines().last().unwrap_or(&m)),
                )
            })?);
        }
        tiers.push(PriorityTier { priority, patterns });
    }
    Ok(tiers)
}

/// A Karpenter budget's `nodes`: a count or a percentage, as the NodePool
/// CRD's pattern `^((100|[0-9]{1,2})%|[0-9]+)$` allows (a TOML integer is
/// taken as the count).
fn budget_nodes(
    v: &Spanned<super::disruption::IntOrStringFile>,
    at: &str,
    ctx: &Ctx<'_>,
) -> Result<crate::intstr::IntOrPercent, InputError> {
    use super::disruption::IntOrStringFile;
    use crate::intstr::IntOrPercent;
    let bad = || {
        ctx.err(
            v.span(),
            at.to_string(),
            "must match ^((100|[0-9]{1,2})%|[0-9]+)$: a count (\"3\") or a percentage up to 100% (\"10%\")",
        )
    };
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    match v.get_ref() {
        IntOrStringFile::Int(n) => u32::try_from(*n).map(IntOrPercent::Int).map_err(|_| bad()),
        IntOrStringFile::Str(s) => match s.strip_suffix('%') {
            Some(p) if digits(p) && p.len() <= 3 => match p.parse::<u32>() {
                Ok(p) if p <= 100 => Ok(IntOrPercent::Percent(p)),
                _ => Err(bad()),
            },
            Some(_) => Err(bad()),
            None if digits(s) => s.parse().map(IntOrPercent::Int).map_err(|_| bad()),
            None => Err(bad()),
        },
    }
}

/// Builds the node autoscaler of `[clusterAutoscaler]`.
///
/// `preset`'s flags are the base the fields apply over, and its node
/// autoscaler the `kind` when none is given.
pub(super) fn build(
    f: &Spanned<ClusterAutoscalerFile>,
    preset: Option<&crate::presets::ClusterPreset>,
    ctx: &Ctx<'_>,
) -> Result<NodeAutoscalerSpec, InputError> {
    let (span, c) = (f.span(), f.get_ref());
    let path = "clusterAutoscaler";
    let kind = match (c.kind, preset) {
        (Some(k), _) => k,
        (None, Some(p)) => match p.node_autoscaler {
            crate::presets::NodeAutoscalerKind::ClusterAutoscaler => {
                NodeAutoscalerKind::ClusterAutoscaler
            }
            crate::presets::NodeAutoscalerKind::Karpenter => NodeAutoscalerKind::Karpenter,
        },
        (None, None) => {
            return Err(ctx.err(
                span,
                "clusterAutoscaler.kind",
                "is required: \"cluster-autoscaler\" or \"karpenter\" (or choose a whole-cluster `preset`)",
            ));
        }
    };
    let given = [
        ("kind", true),
        ("expander", c.expander.is_some()),
        ("expanderPriorities", c.expander_priorities.is_some()),
        ("scanInterval", c.scan_interval.is_some()),
        (
            "scaleDownUtilizationThreshold",
            c.scale_down_utilization_threshold.is_some(),
        ),
        (
            "scaleDownUnneededTime",
            c.scale_down_unneeded_time.is_some(),
        ),
        (
            "scaleDownDelayAfterAdd",
            c.scale_down_delay_after_add.is_some(),
        ),
        ("maxNodesTotal", c.max_nodes_total.is_some()),
        ("maxEmptyBulkDelete", c.max_empty_bulk_delete.is_some()),
        (
            "skipNodesWithSystemPods",
            c.skip_nodes_with_system_pods.is_some(),
        ),
        (
            "skipNodesWithLocalStorage",
            c.skip_nodes_with_local_storage.is_some(),
        ),
        ("scaleDownUnreadyTime", c.scale_down_unready_time.is_some()),
        ("okTotalUnreadyCount", c.ok_total_unready_count.is_some()),
        (
            "maxTotalUnreadyPercentage",
            c.max_total_unready_percentage.is_some(),
        ),
        (
            "maxGracefulTerminationSec",
            c.max_graceful_termination_sec.is_some(),
        ),
        ("maxNodeProvisionTime", c.max_node_provision_time.is_some()),
        (
            "initialNodeGroupBackoffDuration",
            c.initial_node_group_backoff_duration.is_some(),
        ),
        (
            "maxNodeGroupBackoffDuration",
            c.max_node_group_backoff_duration.is_some(),
        ),
        ("consolidationPolicy", c.consolidation_policy.is_some()),
        ("consolidateAfter", c.consolidate_after.is_some()),
        ("budgets", c.budgets.is_some()),
        ("expireAfter", c.expire_after.is_some()),
    ];
    let scan_interval = positive_duration(&c.scan_interval, "clusterAutoscaler.scanInterval", ctx)?;
    match kind {
        NodeAutoscalerKind::ClusterAutoscaler => {
            check_fields(
                &given,
                &[],
                &[
                    "kind",
                    "expander",
                    "expanderPriorities",
                    "scanInterval",
                    "scaleDownUtilizationThreshold",
                    "scaleDownUnneededTime",
                    "scaleDownDelayAfterAdd",
                    "maxNodesTotal",
                    "maxEmptyBulkDelete",
                    "skipNodesWithSystemPods",
                    "skipNodesWithLocalStorage",
                    "scaleDownUnreadyTime",
                    "okTotalUnreadyCount",
                    "maxTotalUnreadyPercentage",
                    "maxGracefulTerminationSec",
                    "maxNodeProvisionTime",
                    "initialNodeGroupBackoffDuration",
                    "maxNodeGroupBackoffDuration",
                ],
                "kind = \"cluster-autoscaler\"",
                span.clone(),
                path,
                ctx,
            )?;
            let mut cfg = preset.map_or_else(ClusterAutoscalerConfig::default, |p| {
                p.cluster_autoscaler.clone()
            });
            if let Some(e) = &c.expander {
                cfg.expander = ExpanderChain::parse(e.get_ref())
                    .map_err(|m| ctx.err(e.span(), format!("{path}.expander"), m))?;
            }
            if let Some(p) = &c.expander_priorities {
                cfg.expander = cfg.expander.with_priorities(priorities(p, path, ctx)?);
            }
            if cfg.expander.uses(Expander::Priority) && cfg.expander.priorities().is_empty() {
                return Err(ctx.err(
                    c.expander.as_ref().map_or(span.clone(), |e| e.span()),
                    format!("{path}.expander"),
                    "the priority expander needs [clusterAutoscaler.expanderPriorities] (priority = [group-name regexes])",
                ));
            }
            if c.expander_priorities.is_some() && !cfg.expander.uses(Expander::Priority) {
                return Err(ctx.err(
                    c.expander_priorities
                        .as_ref()
                        .map_or(span.clone(), |e| e.span()),
                    format!("{path}.expanderPriorities"),
                    format!(
                        "applies only when the expander chain uses priority (it is \"{}\")",
                        cfg.expander
                    ),
                ));
            }
            if let Some(d) = scan_interval {
                cfg.scan_interval = d;
            }
            if let Some(t) = &c.scale_down_utilization_threshold {
                let x = *t.get_ref();
                // Written so that NaN fails too.
                if !(x > 0.0 && x <= 1.0) {
                    return Err(ctx.err(
                        t.span(),
                        format!("{path}.scaleDownUtilizationThreshold"),
                        format!("must be in (0, 1]: a fraction of allocatable (got {x})"),
                    ));
                }
                cfg.scale_down_utilization_threshold = x;
            }
            if let Some(d) = c.scale_down_unneeded_time {
                cfg.scale_down_unneeded_time = d.0;
            }
            if let Some(d) = c.scale_down_delay_after_add {
                cfg.scale_down_delay_after_add = d.0;
            }
            let bulk = at_least_one(
                &c.max_empty_bulk_delete,
                "clusterAutoscaler.maxEmptyBulkDelete",
                ctx,
            )?;
            if let Some(n) = bulk {
                cfg.max_empty_bulk_delete = n;
            }
            if let Some(n) = c.max_nodes_total {
                cfg.max_nodes_total = n;
            }
            if let Some(b) = c.skip_nodes_with_system_pods {
                cfg.skip_nodes_with_system_pods = b;
            }
            if let Some(b) = c.skip_nodes_with_local_storage {
                cfg.skip_nodes_with_local_storage = b;
            }
            let unready = positive_duration(
                &c.scale_down_unready_time,
                "clusterAutoscaler.scaleDownUnreadyTime",
                ctx,
            )?;
            if let Some(d) = unready {
                cfg.scale_down_unready_time = d;
            }
            if let Some(n) = c.ok_total_unready_count {
                cfg.ok_total_unready_count = n;
            }
            if let Some(p) = &c.max_total_unready_percentage {
                let x = *p.get_ref();
                // Written so that NaN fails too.
                if !(0.0..=100.0).contains(&x) {
                    return Err(ctx.err(
                        p.span(),
                        format!("{path}.maxTotalUnreadyPercentage"),
                        format!("must be a percentage in [0, 100] (got {x})"),
                    ));
                }
                cfg.max_total_unready_percentage = x;
            }
            if let Some(n) = c.max_graceful_termination_sec {
                cfg.max_graceful_termination = SimDuration::from_secs(u64::from(n));
            }
            let provision = positive_duration(
                &c.max_node_provision_time,
                "clusterAutoscaler.maxNodeProvisionTime",
                ctx,
            )?;
            if let Some(d) = provision {
                cfg.max_node_provision_time = d;
            }
            let initial = positive_duration(
                &c.initial_node_group_backoff_duration,
                "clusterAutoscaler.initialNodeGroupBackoffDuration",
                ctx,
            )?;
            if let Some(d) = initial {
                cfg.initial_node_group_backoff = d;
            }
            let max = positive_duration(
                &c.max_node_group_backoff_duration,
                "clusterAutoscaler.maxNodeGroupBackoffDuration",
                ctx,
            )?;
            if let Some(d) = max {
                cfg.max_node_group_backoff = d;
            }
            if cfg.max_node_group_backoff < cfg.initial_node_group_backoff {
                return Err(ctx.err(
                    c.max_node_group_backoff_duration
                        .as_ref()
                        .or(c.initial_node_group_backoff_duration.as_ref())
                        .map_or(span.clone(), |d| d.span()),
                    format!("{path}.maxNodeGroupBackoffDuration"),
                    format!(
                        "{} is shorter than initialNodeGroupBackoffDuration {}",
                        cfg.max_node_group_backoff, cfg.initial_node_group_backoff
                    ),
                ));
            }
            Ok(NodeAutoscalerSpec::ClusterAutoscaler(cfg))
        }
        NodeAutoscalerKind::Karpenter => {
            check_fields(
                &given,
                &[],
                &[
                    "kind",
                    "scanInterval",
                    "maxNodesTotal",
                    "consolidationPolicy",
                    "consolidateAfter",
                    "budgets",
                    "expireAfter",
                ],
                "kind = \"karpenter\"",
                span,
                path,
                ctx,
            )?;
            let mut cfg = preset.map_or_else(KarpenterConfig::default, |p| p.karpenter.clone());
            if let Some(d) = scan_interval {
                cfg.scan_interval = d;
            }
            if let Some(p) = c.consolidation_policy {
                cfg.consolidation_policy = match p {
                    ConsolidationPolicyFile::WhenEmpty => ConsolidationPolicy::WhenEmpty,
                    ConsolidationPolicyFile::WhenEmptyOrUnderutilized => {
                        ConsolidationPolicy::WhenEmptyOrUnderutilized
                    }
                };
            }
            if let Some(d) = c.consolidate_after {
                cfg.consolidate_after = d.0;
            }
            if let Some(b) = &c.budgets {
                if b.get_ref().is_empty() {
                    return Err(ctx.err(
                        b.span(),
                        format!("{path}.budgets"),
                        "needs at least one budget (omit the field for Karpenter's default 10%)",
                    ));
                }
                let mut budgets = Vec::new();
                for (k, e) in b.get_ref().iter().enumerate() {
                    let at = format!("{path}.budgets[{k}].nodes");
                    budgets.push(budget_nodes(&e.get_ref().nodes, &at, ctx)?);
                }
                cfg.budgets = budgets;
            }
            if let Some(e) = &c.expire_after {
                cfg.expire_after = if e.get_ref() == "Never" {
                    None
                } else {
                    let d = crate::time::parse_duration(e.get_ref()).map_err(|m| {
                        ctx.err(
                            e.span(),
                            format!("{path}.expireAfter"),
                            format!("{m} (or \"Never\")"),
                        )
                    })?;
                    if d == SimDuration::ZERO {
                        return Err(ctx.err(
                            e.span(),
                            format!("{path}.expireAfter"),
                            "must be greater than zero (or \"Never\")",
                        ));
                    }
                    Some(d)
                };
            }
            if let Some(n) = c.max_nodes_total {
                cfg.max_nodes_total = n;
            }
            Ok(NodeAutoscalerSpec::Karpenter(cfg))
        }
    }
}

/// Default `bootDelay`: the FAQ's "How fast is HPA when combined with CA?"
/// puts node provisioning on GCE at 3 to 4 minutes from the request to
/// pods being schedulable there; the lower end.
pub const DEFAULT_BOOT_DELAY: SimDuration = SimDuration::from_secs(180);

/// The node group of pool `pname`, if it declares `max`; the autoscaling
/// fields are checked here. `template` is the spec its nodes share (no
/// hostname label), `None` for a pool read from a node list file.
pub(super) fn pool_group(
    pname: &str,
    pool: &PoolFile,
    pool_span: Range<usize>,
    template: Option<NodeSpec>,
    ctx: &Ctx<'_>,
) -> Result<Option<NodeGroup>, InputError> {
    let at = |f: &str| format!("pools.{pname}.{f}");
    let Some(max) = &pool.max else {
        if let Some(m) = &pool.min {
            return Err(ctx.err(
                m.span(),
                at("min"),
                "applies only to an autoscaled pool: give 'max' too",
            ));
        }
        if let Some(b) = &pool.boot_delay {
            return Err(ctx.err(
                b.span(),
                at("bootDelay"),
                "applies only to an autoscaled pool: give 'max' too",
            ));
        }
        return Ok(None);
    };
    let Some(template) = template else {
        return Err(ctx.err(
            max.span(),
            at("max"),
            "an autoscaled pool needs identical nodes ('count', 'cpu', 'memory'), not a node list file",
        ));
    };
    let max_n = *max.get_ref();
    if max_n == 0 {
        return Err(ctx.err(max.span(), at("max"), "must be at least 1"));
    }
    let min_n = pool.min.as_ref().map_or(0, |m| *m.get_ref());
    if min_n > max_n {
        let span = pool.min.as_ref().map_or(pool_span.clone(), |m| m.span());
        return Err(ctx.err(
            span,
            at("min"),
            format!("must not exceed max ({min_n} > {max_n})"),
        ));
    }
    let count = pool.count.unwrap_or(0);
    if count < min_n || count > max_n {
        return Err(ctx.err(
            pool_span,
            at("count"),
            format!("the initial size {count} must be between min ({min_n}) and max ({max_n})"),
        ));
    }
    Ok(Some(NodeGroup {
        name: pname.to_string(),
        template,
        min: min_n,
        max: max_n,
        boot_delay: pool
            .boot_delay
            .as_ref()
            .map_or(DEFAULT_BOOT_DELAY, |b| b.get_ref().0),
        cost_per_hour: pool.cost_per_hour.map_or(0.0, |c| c.0),
    }))
}

#[cfg(test)]
mod tests {
    use super::super::tests::MemFiles;
    use super::super::{InputError, Scenario, parse};
    use super::*;
    use crate::testing::edit;

    const GOOD: &str = r#"
name = "ca"

[simulation]
duration = "10m"

[pools.base]
count = 1
cpu = "4"
memory = "8Gi"
costPerHour = 0.2

[pools.burst]
count = 1
min = 1
max = 5
cpu = "4"
memory = "16Gi"
reserved = { cpu = "100m" }
labels = { tier = "burst" }
bootDelay = "90s"
costPerHour = 0.25

[clusterAutoscaler]
kind = "cluster-autoscaler"
expander = "least-waste"
scaleDownUtilizationThreshold = 0.6

[services.web]
replicas = 2
requests = { cpu = "1", memory = "1Gi" }
serviceTime = { dist = "constant", value = "10ms" }

[services.web.traffic]
model = "constant"
rate = 10
"#;

    fn load(text: &str) -> Result<Scenario, InputError> {
        parse(text, "s.toml", &MemFiles::default(), &[], None)
    }

    /// GOOD with `from` (which must occur) replaced by `to`: the error line.
    fn error_with(from: &str, to: &str) -> String {
        assert!(GOOD.contains(from), "{from}");
        load(&GOOD.replacen(from, to, 1))
            .expect_err("should fail")
            .to_string()
    }

    #[test]
    fn an_autoscaled_pool_becomes_a_node_group() {
        let s = load(GOOD).unwrap();
        assert_eq!(s.node_groups.len(), 1);
        let g = &s.node_groups[0];
        assert_eq!((g.name.as_str(), g.min, g.max), ("burst", 1, 5));
        assert_eq!(g.boot_delay, SimDuration::from_secs(90));
        assert_eq!(g.cost_per_hour, 0.25);
        // allocatable = 4000m − 100m; the pool's labels and zone, no hostname.
        assert_eq!(g.template.allocatable.cpu_milli, 3900);
        assert_eq!(g.template.labels["tier"], "burst");
        assert_eq!(g.template.labels[crate::model::LABEL_ZONE], "burst");
        assert!(!g.template.labels.contains_key(crate::model::LABEL_HOSTNAME));
        // The next node is burst-1 (burst-0 is the initial one).
        assert_eq!(g.node_spec(1).name, "burst-1");
        assert_eq!(s.nodes[1].name, "burst-0");
        assert_eq!(s.pool_costs["base"], 0.2);
        let Some(NodeAutoscalerSpec::ClusterAutoscaler(c)) = &s.node_autoscaler else {
            panic!("{:?}", s.node_autoscaler)
        };
        assert_eq!(c.expander, Expander::LeastWaste.into());
        assert_eq!(c.scale_down_utilization_threshold, 0.6);
        // Upstream defaults for the rest.
        assert_eq!(c.scan_interval, SimDuration::from_secs(10));
        assert_eq!(c.scale_down_unneeded_time, SimDuration::from_secs(600));
        assert!(c.skip_nodes_with_system_pods);
        let off = load(&edit(
            GOOD,
            "scaleDownUtilizationThreshold = 0.6",
            "skipNodesWithSystemPods = false\nskipNodesWithLocalStorage = false\nscaleDownUnreadyTime = \"30m\"\nokTotalUnreadyCount = 1\nmaxTotalUnreadyPercentage = 10.0\nmaxGracefulTerminationSec = 60\nmaxNodeProvisionTime = \"5m\"\ninitialNodeGroupBackoffDuration = \"1m\"\nmaxNodeGroupBackoffDuration = \"4m\"",
        ))
        .unwrap();
        let Some(NodeAutoscalerSpec::ClusterAutoscaler(c)) = &off.node_autoscaler else {
            panic!("{:?}", off.node_autoscaler)
        };
        assert!(!c.skip_nodes_with_system_pods);
        assert!(!c.skip_nodes_with_local_storage);
        assert_eq!(c.scale_down_unready_time, SimDuration::from_secs(1800));
        assert_eq!(
            (c.ok_total_unready_count, c.max_total_unready_percentage),
            (1, 10.0)
        );
        assert_eq!(c.max_graceful_termination, SimDuration::from_secs(60));
        assert_eq!(c.max_node_provision_time, SimDuration::from_secs(300));
        assert_eq!(c.initial_node_group_backoff, SimDuration::from_secs(60));
        assert_eq!(c.max_node_group_backoff, SimDuration::from_secs(240));
        // Upstream's defaults otherwise.
        let d = ClusterAutoscalerConfig::default();
        assert_eq!(d.max_graceful_termination, SimDuration::from_secs(600));
        assert_eq!(d.max_node_provision_time, SimDuration::from_secs(900));
        // Karpenter with its own fields.
        let k = load(&edit(
            GOOD,
            "kind = \"cluster-autoscaler\"\nexpander = \"least-waste\"\nscaleDownUtilizationThreshold = 0.6",
            "kind = \"karpenter\"\nconsolidationPolicy = \"WhenEmpty\"\nconsolidateAfter = \"30s\"",
        ))
        .unwrap();
        let Some(NodeAutoscalerSpec::Karpenter(c)) = &k.node_autoscaler else {
            panic!("{:?}", k.node_autoscaler)
        };
        assert_eq!(c.consolidation_policy, ConsolidationPolicy::WhenEmpty);
        assert_eq!(c.consolidate_after, SimDuration::from_secs(30));
        assert_eq!(c.scan_interval, SimDuration::from_secs(1));
        // Karpenter's defaults: one budget of 10%, expireAfter 720h.
        assert_eq!(c.budgets, [crate::intstr::IntOrPercent::Percent(10)]);
        assert_eq!(c.expire_after, Some(SimDuration::from_secs(720 * 3600)));
        let k = load(&edit(
            GOOD,
            "kind = \"cluster-autoscaler\"\nexpander = \"least-waste\"\nscaleDownUtilizationThreshold = 0.6",
            "kind = \"karpenter\"\nbudgets = [{ nodes = \"20%\" }, { nodes = \"3\" }]\nexpireAfter = \"Never\"",
        ))
        .unwrap();
        let Some(NodeAutoscalerSpec::Karpenter(c)) = &k.node_autoscaler else {
            panic!("{:?}", k.node_autoscaler)
        };
        use crate::intstr::IntOrPercent::{Int, Percent};
        assert_eq!(c.budgets, [Percent(20), Int(3)]);
        assert_eq!(c.expire_after, None);
        let bad = |to: &str| {
            load(&edit(
                GOOD,
                "kind = \"cluster-autoscaler\"\nexpander = \"least-waste\"\nscaleDownUtilizationThreshold = 0.6",
                &format!("kind = \"karpenter\"\n{to}"),
            ))
            .unwrap_err()
            .to_string()
        };
        assert_eq!(
            bad("budgets = [{ nodes = \"ten\" }]"),
            "s.toml:26:22: clusterAutoscaler.budgets[0].nodes: must match ^((100|[0-9]{1,2})%|[0-9]+)$: a count (\"3\") or a percentage up to 100% (\"10%\")"
        );
        assert_eq!(
            bad("expireAfter = \"30d\""),
            "s.toml:26:15: clusterAutoscaler.expireAfter: duration '30d' has unknown unit 'd' (units: ns, us, ms, s, m, h) (or \"Never\")"
        );
    }

    #[test]
    fn bad_autoscaling_specs_name_the_field() {
        let cases = [
            (
                "min = 1\nmax = 5",
                "min = 6\nmax = 5",
                "s.toml:15:7: pools.burst.min: must not exceed max (6 > 5)",
            ),
            (
                "expander = \"least-waste\"",
                "expander = \"cheapest\"",
                "s.toml:26:12: clusterAutoscaler.expander: Expander cheapest not supported: expected random, most-pods, least-waste, price, priority or a comma-separated chain of them (\"priority,least-waste\")",
            ),
            (
                "expander = \"least-waste\"",
                "expander = \"random,least-waste\"",
                "s.toml:26:12: clusterAutoscaler.expander: Expander least-waste came after an expander random that will always return only one result, this is not allowed since least-waste will never be used",
            ),
            (
                "expander = \"least-waste\"",
                "expander = \"priority,least-waste\"",
                "s.toml:26:12: clusterAutoscaler.expander: the priority expander needs [clusterAutoscaler.expanderPriorities] (priority = [group-name regexes])",
            ),
            (
                "expander = \"least-waste\"",
                "expander = \"least-waste\"\nexpanderPriorities = { 10 = [\"burst\"] }",
                "s.toml:27:22: clusterAutoscaler.expanderPriorities: applies only when the expander chain uses priority (it is \"least-waste\")",
            ),
            (
                "expander = \"least-waste\"",
                "expander = \"priority\"\nexpanderPriorities = { high = [\"burst\"] }",
                "s.toml:27:22: clusterAutoscaler.expanderPriorities.high: a priority is an integer (the ConfigMap's `priorities` keys)",
            ),
            (
                "expander = \"least-waste\"",
                "expander = \"priority\"\nexpanderPriorities = { 10 = [\"burst(\"] }",
                "s.toml:27:30: clusterAutoscaler.expanderPriorities.10: not a regex: error: unclosed group",
            ),
            (
                "costPerHour = 0.25",
                "costPerHour = -1",
                "s.toml:22:15: pools.burst.costPerHour: must not be negative (got -1)",
            ),
            (
                "scaleDownUtilizationThreshold = 0.6",
                "scaleDownUtilizationThreshold = 1.5",
                "s.toml:27:33: clusterAutoscaler.scaleDownUtilizationThreshold: must be in (0, 1]: a fraction of allocatable (got 1.5)",
            ),
            (
                "scaleDownUtilizationThreshold = 0.6",
                "scaleDownUtilizationThreshold = 0",
                "s.toml:27:33: clusterAutoscaler.scaleDownUtilizationThreshold: must be in (0, 1]: a fraction of allocatable (got 0)",
            ),
            (
                "kind = \"cluster-autoscaler\"",
                "kind = \"karpenter\"",
                "s.toml:24:1: clusterAutoscaler: 'expander' does not apply to kind = \"karpenter\"; it takes: (all optional) kind, scanInterval, maxNodesTotal, consolidationPolicy, consolidateAfter, budgets, expireAfter",
            ),
            (
                "kind = \"cluster-autoscaler\"",
                "kind = \"cluster-autoscaler\"\nconsolidateAfter = \"1m\"",
                "s.toml:24:1: clusterAutoscaler: 'consolidateAfter' does not apply to kind = \"cluster-autoscaler\"; it takes: (all optional) kind, expander, expanderPriorities, scanInterval, scaleDownUtilizationThreshold, scaleDownUnneededTime, scaleDownDelayAfterAdd, maxNodesTotal, maxEmptyBulkDelete, skipNodesWithSystemPods, skipNodesWithLocalStorage, scaleDownUnreadyTime, okTotalUnreadyCount, maxTotalUnreadyPercentage, maxGracefulTerminationSec, maxNodeProvisionTime, initialNodeGroupBackoffDuration, maxNodeGroupBackoffDuration",
            ),
            (
                "kind = \"cluster-autoscaler\"",
                "kind = \"cluster\"",
                "s.toml:25:8: clusterAutoscaler.kind: unknown variant `cluster`, expected `cluster-autoscaler` or `karpenter`",
            ),
            (
                "count = 1\nmin = 1",
                "count = 7\nmin = 1",
                "s.toml:13:2: pools.burst.count: the initial size 7 must be between min (1) and max (5)",
            ),
            (
                "costPerHour = 0.2",
                "costPerHour = 0.2\nbootDelay = \"1m\"",
                "s.toml:12:13: pools.base.bootDelay: applies only to an autoscaled pool: give 'max' too",
            ),
            (
                "max = 5",
                "max = 0",
                "s.toml:16:7: pools.burst.max: must be at least 1",
            ),
            (
                "[clusterAutoscaler]\nkind = \"cluster-autoscaler\"\nexpander = \"least-waste\"\nscaleDownUtilizationThreshold = 0.6\n",
                "",
                "s.toml:16:7: pools.burst.max: an autoscaled pool needs a [clusterAutoscaler] table (kind = \"cluster-autoscaler\" or \"karpenter\")",
            ),
            (
                "min = 1\nmax = 5\n",
                "",
                "s.toml:19:13: pools.burst.bootDelay: applies only to an autoscaled pool: give 'max' too",
            ),
        ];
        for (from, to, want) in cases {
            assert_eq!(error_with(from, to), want, "{from} → {to}");
        }
        let static_only = edit(GOOD, "min = 1\nmax = 5\n", "");
        let static_only = edit(&static_only, "bootDelay = \"90s\"\n", "");
        assert_eq!(
            load(&static_only).unwrap_err().to_string(),
            "s.toml:21:1: clusterAutoscaler: no node group to scale: give at least one pool 'max' (and 'min', 'bootDelay', 'costPerHour')"
        );
        let zero = edit(
            GOOD,
            "expander = \"least-waste\"",
            "expander = \"least-waste\"\nscanInterval = \"0s\"",
        );
        assert_eq!(
            load(&zero).unwrap_err().to_string(),
            "s.toml:27:16: clusterAutoscaler.scanInterval: must be greater than zero"
        );
    }
}
