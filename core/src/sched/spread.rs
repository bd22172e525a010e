//! PodTopologySpread with Kubernetes' exact semantics
//! (`pkg/scheduler/framework/plugins/podtopologyspread/{filtering.go,
//! scoring.go, common.go, plugin.go}`).
//!
//! Key decision: a constraint's label selector is resolved, once per
//! scenario, to the services whose pods it selects in the replica's
//! namespace ([`crate::model::PodSet`]; a service's pods share their
//! template's labels), so a domain's count is a sum of
//! [`ClusterView::count`] over those services (which includes the binds
//! made earlier in the batch, as kube's assumed pods do), and
//! `selfMatchNum` is whether the replica's own service is among them. A
//! constraint written without a selector counts the service's own replicas
//! ([`PodSelector::Own`]) on the path this plugin always had. Nodes are
//! included per constraint by its `nodeAffinityPolicy` (default `Honor`:
//! only nodes matching the replica's `nodeSelector` and required node
//! affinity count) and `nodeTaintsPolicy` (default `Ignore`;
//! [`node_included`]). Replicas that declare no constraints get the
//! system defaults (`plugin.go`: hostname maxSkew 3, zone maxSkew 5, both
//! `ScheduleAnyway`), scored with `requireAllTopologies = false`, so a node
//! without a zone label falls in the zone domain `""` and still gets
//! hostname spreading.
//!
//! Floating point as upstream: `scoreForCount = cnt·ln(size + 2) +
//! (maxSkew − 1)` summed over constraints in order and rounded half away
//! from zero (`math.Round`, [`round_half_away`]). Go's `math.Log` and Rust's
//! `ln` may differ in the last bit for some arguments; a score sitting
//! within one ulp of `x.5` could then round differently (never seen in the
//! upstream tables, which the tests replay).

use std::collections::HashMap;

use super::taint::first_untolerated_taint;
use super::{Filter, MAX_NODE_SCORE, Score};
use crate::fit::FilterReason;
use crate::model::{
    Constraints, LABEL_HOSTNAME, LABEL_ZONE, NodeInclusionPolicy, NodeStatus, PodSelector,
    SpreadConstraint, WhenUnsatisfiable,
};
use crate::placement::{ClusterView, Request};

/// `maxSkew` of the system default hostname constraint.
pub const SYSTEM_DEFAULT_HOSTNAME_SKEW: u32 = 3;
/// `maxSkew` of the system default zone constraint.
pub const SYSTEM_DEFAULT_ZONE_SKEW: u32 = 5;

/// `systemDefaultConstraints` (`plugin.go`): spread a service's replicas
/// over hosts (maxSkew 3) and zones (maxSkew 5), as preferences, in this order.
pub fn system_default_constraints() -> Vec<SpreadConstraint> {
    [
        (LABEL_HOSTNAME, SYSTEM_DEFAULT_HOSTNAME_SKEW),
        (LABEL_ZONE, SYSTEM_DEFAULT_ZONE_SKEW),
    ]
    .into_iter()
    .map(|(key, max_skew)| SpreadConstraint {
        max_skew,
        topology_key: key.to_string(),
        when_unsatisfiable: WhenUnsatisfiable::ScheduleAnyway,
        min_domains: None,
        selector: PodSelector::Own,
        match_label_keys: Vec::new(),
        node_affinity_policy: NodeInclusionPolicy::Honor,
        node_taints_policy: NodeInclusionPolicy::Ignore,
    })
    .collect()
}

/// `mergeLabelSetWithSelector` (`common.go`): `selector` with, for each of
/// `match_label_keys` the pod's `labels` have, `key = value` added (keys
/// the pod lacks are skipped).
pub fn with_match_label_keys(
    mut selector: crate::labels::LabelSelector,
    match_label_keys: &[String],
    labels: &crate::labels::Labels,
) -> crate::labels::LabelSelector {
    for k in match_label_keys {
        if let Some(v) = labels.get(k) {
            selector.match_labels.insert(k.clone(), v.clone());
        }
    }
    selector
}

/// `matchNodeInclusionPolicies` (`common.go`): whether `node` counts for
/// constraint `sc` of a replica with constraints `c` — its node affinity
/// when `nodeAffinityPolicy: Honor`, its tolerations of the node's
/// `NoSchedule`/`NoExecute` taints when `nodeTaintsPolicy: Honor`.
pub fn node_included(sc: &SpreadConstraint, c: &Constraints, node: &NodeStatus) -> bool {
    (sc.node_affinity_policy == NodeInclusionPolicy::Ignore || required_affinity_matches(c, node))
        && (sc.node_taints_policy == NodeInclusionPolicy::Ignore
            || first_untolerated_taint(&node.spec.taints, &c.tolerations).is_none())
}

/// Whether `node` satisfies the replica's `nodeSelector` and required node
/// affinity (`nodeaffinity.GetRequiredNodeAffinity(pod).Match`): every
/// selector label equal, and any required term matching when there are terms.
pub fn required_affinity_matches(c: &Constraints, node: &NodeStatus) -> bool {
    c.node_selector
        .iter()
        .all(|(k, v)| node.label(k) == Some(v.as_str()))
        && (c.required_terms.is_empty()
            || c.required_terms
                .iter()
                .any(|t| t.matches(&node.spec.labels)))
}

/// `topologyNormalizingWeight`: `ln(size + 2)`, so that counts in small
/// topologies are not watered down by big ones.
pub fn topology_normalizing_weight(size: usize) -> f64 {
    ((size + 2) as f64).ln()
}

/// `scoreForCount`: `cnt·weight + (maxSkew − 1)`.
pub fn score_for_count(cnt: i64, max_skew: u32, weight: f64) -> f64 {
    cnt as f64 * weight + (i64::from(max_skew) - 1) as f64
}

/// `int64(math.Round(x))`: the nearest integer, halves away from zero,
/// equal to `x.round() as i64` for every finite `x` within `i64`, without
/// the `round` call (`f64::round` is a libm call on baseline x86-64, and
/// the cached policy rounds a score per node holding the service).
pub fn round_half_away(x: f64) -> i64 {
    let t = x as i64; // truncation toward zero
    // The fraction of a double is exactly representable: no rounding here.
    let frac = x - t as f64;
    if frac >= 0.5 {
        t + 1
    } else if frac <= -0.5 {
        t - 1
    } else {
        t
    }
}

/// `NormalizeScore` for one raw score, given the minimum and maximum raw
/// score over the scored (not ignored) nodes: `100·(max + min − raw)/max`
/// in integers, every node 100 when `max == 0`.
pub fn normalized_score(raw: i64, min: i64, max: i64) -> i64 {
    if max == 0 {
        MAX_NODE_SCORE
    } else {
        MAX_NODE_SCORE * (max + min - raw) / max
    }
}

/// One `DoNotSchedule` constraint after `PreFilter`.
#[derive(Debug)]
struct Hard {
    /// Index in the replica's `spread`.
    idx: usize,
    key: String,
    max_skew: i64,
    min_domains: i64,
    /// Matching replicas per domain (`TpValueToMatchNum`).
    counts: HashMap<String, i64>,
    /// `CriticalPaths[0].MatchNum`: the smallest count (`MaxInt32` if none).
    min: i64,
}

/// One `ScheduleAnyway` constraint after `PreScore`.
#[derive(Debug)]
struct Soft {
    /// Index in the replica's `spread` (`None`: a system default, own service).
    idx: Option<usize>,
    key: String,
    max_skew: u32,
    hostname: bool,
    weight: f64,
    /// The domains of the scored nodes, numbered; unused for the hostname
    /// key, whose counts are per node.
    domains: HashMap<String, u32>,
    /// Replicas per domain (`TopologyValueToPodCounts`).
    counts: Vec<i64>,
}

impl Soft {
    fn domain(&mut self, value: &str) -> u32 {
        match self.domains.get(value) {
            Some(&d) => d,
            None => {
                let d = self.counts.len() as u32;
                self.domains.insert(value.to_string(), d);
                self.counts.push(0);
                d
            }
        }
    }
}

impl Soft {
    /// Whether it counts the replica's own service under upstream's
    /// default node inclusion policies (the path without per-constraint work).
    fn own(&self, declared: &[SpreadConstraint]) -> bool {
        self.idx.is_none_or(|c| {
            let sc = &declared[c];
            sc.selector == PodSelector::Own
                && sc.node_affinity_policy == NodeInclusionPolicy::Honor
                && sc.node_taints_policy == NodeInclusionPolicy::Ignore
        })
    }
}

/// A node without the constraint's label.
const ABSENT: u32 = u32::MAX;

/// PodTopologySpread: a [`Filter`] for the replica's `DoNotSchedule`
/// constraints and a [`Score`] for its `ScheduleAnyway` ones (or the system
/// defaults). A profile holds one instance for each role.
#[derive(Debug, Default)]
pub struct PodTopologySpread {
    hard: Vec<Hard>,
    soft: Vec<Soft>,
    require_all: bool,
    /// `IgnoredNodes`, aligned with the feasible nodes given to `prepare`.
    ignored: Vec<bool>,
    /// For feasible node `i` and soft constraint `c`, entry
    /// `i·soft.len() + c`: its domain number (0 for the hostname key), or
    /// [`ABSENT`]; so `score` reads no labels.
    domains: Vec<u32>,
}

fn has_all_keys<'a>(node: &NodeStatus, mut keys: impl Iterator<Item = &'a str>) -> bool {
    keys.all(|k| node.label(k).is_some())
}

impl Filter for PodTopologySpread {
    fn name(&self) -> &'static str {
        "PodTopologySpread"
    }

    /// `calPreFilterState`: matching replicas per domain over every node
    /// that has all the constraints' keys and matches the replica's node
    /// affinity.
    fn prepare(&mut self, request: &Request<'_>, view: &ClusterView<'_>) {
        self.hard.clear();
        for (idx, c) in request.constraints.spread.iter().enumerate() {
            if c.when_unsatisfiable == WhenUnsatisfiable::DoNotSchedule {
                self.hard.push(Hard {
                    idx,
                    key: c.topology_key.clone(),
                    max_skew: i64::from(c.max_skew),
                    min_domains: i64::from(c.min_domains.unwrap_or(1)),
                    counts: HashMap::new(),
                    min: i64::from(i32::MAX),
                });
            }
        }
        if self.hard.is_empty() {
            return;
        }
        let spread = &request.constraints.spread;
        for (i, node) in view.nodes.iter().enumerate() {
            if !has_all_keys(node, self.hard.iter().map(|h| h.key.as_str())) {
                continue;
            }
            for h in &mut self.hard {
                let sc = &spread[h.idx];
                if !node_included(sc, request.constraints, node) {
                    continue;
                }
                let cnt = i64::from(sc.selector.count(view, i, request.service));
                let v = node.label(&h.key).unwrap_or_default();
                match h.counts.get_mut(v) {
                    Some(n) => *n += cnt,
                    None => {
                        h.counts.insert(v.to_string(), cnt);
                    }
                }
            }
        }
        for h in &mut self.hard {
            if let Some(&m) = h.counts.values().min() {
                h.min = m;
            }
        }
    }

    /// `matchNum + selfMatchNum − minMatchNum ≤ maxSkew` for every
    /// constraint, the global minimum being 0 while fewer domains than
    /// `minDomains` are eligible.
    fn filter(
        &self,
        request: &Request<'_>,
        view: &ClusterView<'_>,
        i: usize,
    ) -> Result<(), FilterReason> {
        let node = &view.nodes[i];
        for h in &self.hard {
            let self_match = i64::from(request.constraints.spread[h.idx].selector.self_match());
            let Some(v) = node.label(&h.key) else {
                return Err(FilterReason::TopologyLabelMissing);
            };
            let min = if (h.counts.len() as i64) < h.min_domains {
                0
            } else {
                h.min
            };
            let matching = h.counts.get(v).copied().unwrap_or(0);
            if matching + self_match - min > h.max_skew {
                return Err(FilterReason::TopologySpread);
            }
        }
        Ok(())
    }
}

impl PodTopologySpread {
    /// `PreScore`'s counting loop for constraints with their own selectors
    /// or node inclusion policies: each constraint counts its selected
    /// replicas over the nodes its policies include.
    fn count_selected(&mut self, request: &Request<'_>, view: &ClusterView<'_>) {
        let spread = &request.constraints.spread;
        for (i, node) in view.nodes.iter().enumerate() {
            if self.require_all && !has_all_keys(node, self.soft.iter().map(|s| s.key.as_str())) {
                continue;
            }
            for s in self.soft.iter_mut().filter(|s| !s.hostname) {
                let Some(c) = s.idx else { continue };
                let sc = &spread[c];
                if !node_included(sc, request.constraints, node) {
                    continue;
                }
                let cnt = i64::from(sc.selector.count(view, i, request.service));
                if cnt == 0 {
                    continue;
                }
                if let Some(&d) = s.domains.get(node.label(&s.key).unwrap_or_default()) {
                    s.counts[d as usize] += cnt;
                }
            }
        }
    }
}

impl Score for PodTopologySpread {
    fn name(&self) -> &'static str {
        "PodTopologySpread"
    }

    /// `initPreScoreState` + `PreScore`: the domains of the feasible nodes,
    /// their weights, and the replicas per domain over every node matching
    /// the replica's node affinity.
    fn prepare(&mut self, request: &Request<'_>, view: &ClusterView<'_>, feasible: &[usize]) {
        let declared = &request.constraints.spread;
        self.require_all = !declared.is_empty();
        let system;
        let constraints = if declared.is_empty() {
            // Job pods are selected by no Service/ReplicaSet: no system defaults.
            system = if request.constraints.batch {
                Vec::new()
            } else {
                system_default_constraints()
            };
            &system
        } else {
            declared
        };
        self.soft.clear();
        for (idx, c) in constraints.iter().enumerate() {
            if c.when_unsatisfiable == WhenUnsatisfiable::ScheduleAnyway {
                self.soft.push(Soft {
                    idx: (!declared.is_empty()).then_some(idx),
                    key: c.topology_key.clone(),
                    max_skew: c.max_skew,
                    hostname: c.topology_key == LABEL_HOSTNAME,
                    weight: 0.0,
                    domains: HashMap::new(),
                    counts: Vec::new(),
                });
            }
        }
        self.ignored.clear();
        if self.soft.is_empty() {
            return;
        }
        let k = self.soft.len();
        self.domains.clear();
        self.domains.resize(view.len() * k, ABSENT);
        let mut scored = 0;
        for &i in feasible {
            let node = &view.nodes[i];
            let ignore =
                self.require_all && !has_all_keys(node, self.soft.iter().map(|s| s.key.as_str()));
            self.ignored.push(ignore);
            if ignore {
                continue;
            }
            scored += 1;
            for (c, s) in self.soft.iter_mut().enumerate() {
                let value = node.label(&s.key);
                self.domains[i * k + c] = match (value, s.hostname) {
                    (None, false) => {
                        // Counted as the domain "" (requireAllTopologies off),
                        // but not scored.
                        s.domain("");
                        ABSENT
                    }
                    (None, true) => ABSENT,
                    (Some(_), true) => 0,
                    (Some(v), false) => s.domain(v),
                };
            }
        }
        for s in &mut self.soft {
            s.weight =
                topology_normalizing_weight(if s.hostname { scored } else { s.counts.len() });
        }
        if self.soft.iter().all(|s| s.hostname) {
            return;
        }
        if !self.soft.iter().all(|s| s.own(declared)) {
            self.count_selected(request, view);
            return;
        }
        for (i, node) in view.nodes.iter().enumerate() {
            // Adding zero changes nothing: skip the label look-ups.
            let cnt = i64::from(view.count(i, request.service));
            if cnt == 0
                || (self.require_all
                    && !has_all_keys(node, self.soft.iter().map(|s| s.key.as_str())))
                || !required_affinity_matches(request.constraints, node)
            {
                continue;
            }
            for s in self.soft.iter_mut().filter(|s| !s.hostname) {
                if let Some(&d) = s.domains.get(node.label(&s.key).unwrap_or_default()) {
                    s.counts[d as usize] += cnt;
                }
            }
        }
    }

    /// `Score`: Σ `scoreForCount` over the constraints whose key the node
    /// has (its own replicas for the hostname key, its domain's otherwise),
    /// rounded; 0 for ignored nodes.
    fn score(&self, request: &Request<'_>, view: &ClusterView<'_>, i: usize) -> i64 {
        let k = self.soft.len();
        if k == 0 {
            return 0;
        }
        let domains = &self.domains[i * k..(i + 1) * k];
        if self.require_all && domains.contains(&ABSENT) {
            return 0;
        }
        let mut score = 0f64;
        for (s, &d) in self.soft.iter().zip(domains) {
            if d == ABSENT {
                continue;
            }
            let cnt = if s.hostname {
                i64::from(match s.idx {
                    Some(c) => {
                        request.constraints.spread[c]
                            .selector
                            .count(view, i, request.service)
                    }
                    None => view.count(i, request.service),
                })
            } else {
                s.counts[d as usize]
            };
            score += score_for_count(cnt, s.max_skew, s.weight);
        }
        round_half_away(score)
    }

    /// `NormalizeScore`: fewer matching replicas score higher; ignored nodes 0.
    fn normalize(&self, scores: &mut [i64]) {
        if self.soft.is_empty() {
            // PreScore returned Skip: the plugin does not score.
            return;
        }
        let (mut min, mut max) = (i64::MAX, 0i64);
        for (s, _) in scores.iter().zip(&self.ignored).filter(|(_, ig)| !**ig) {
            min = min.min(*s);
            max = max.max(*s);
        }
        for (s, &ignored) in scores.iter_mut().zip(&self.ignored) {
            *s = if ignored {
                0
            } else {
                normalized_score(*s, min, max)
            };
        }
    }
}

#[cfg(test)]
mod labels_tests;
#[cfg(test)]
mod tests;
