//! PodTopologySpread with Kubernetes' exact semantics
//! (`pkg/scheduler/framework/plugins/podtopologyspread/{filtering.go,
//! scoring.go, common.go, plugin.go}`).
//!
//! Key decision: the label selector of every constraint is "replicas of the
//! same service", so a domain's count is a sum of [`ClusterView::count`]
//! (which includes the binds made earlier in the batch, as kube's assumed
//! pods do) and the incoming replica always matches itself (`selfMatchNum`
//! = 1). Nodes are counted with upstream's default node inclusion policies:
//! `nodeAffinityPolicy: Honor` (only nodes matching the replica's
//! `nodeSelector` and required node affinity count) and
//! `nodeTaintsPolicy: Ignore`. Replicas that declare no constraints get the
//! system defaults (`plugin.go`: hostname maxSkew 3, zone maxSkew 5, both
//! `ScheduleAnyway`), scored with `requireAllTopologies = false`, so a node
//! without a zone label falls in the zone domain `""` and still gets
//! hostname spreading.
//!
//! Floating point as upstream: `scoreForCount = cnt·ln(size + 2) +
//! (maxSkew − 1)` summed over constraints in order and rounded half away
//! from zero (`math.Round` = [`f64::round`]). Go's `math.Log` and Rust's
//! `ln` may differ in the last bit for some arguments; a score sitting
//! within one ulp of `x.5` could then round differently (never seen in the
//! upstream tables, which the tests replay).

use std::collections::HashMap;

use super::{Filter, MAX_NODE_SCORE, Score};
use crate::model::{
    Constraints, LABEL_HOSTNAME, LABEL_ZONE, NodeStatus, SpreadConstraint, WhenUnsatisfiable,
};
use crate::placement::{ClusterView, FilterReason, Request};

/// `systemDefaultConstraints` (`plugin.go`): spread a service's replicas
/// over hosts (maxSkew 3) and zones (maxSkew 5), as preferences.
pub fn system_default_constraints() -> Vec<SpreadConstraint> {
    [(LABEL_HOSTNAME, 3), (LABEL_ZONE, 5)]
        .into_iter()
        .map(|(key, max_skew)| SpreadConstraint {
            max_skew,
            topology_key: key.to_string(),
            when_unsatisfiable: WhenUnsatisfiable::ScheduleAnyway,
            min_domains: None,
        })
        .collect()
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
    key: String,
    max_skew: u32,
    hostname: bool,
    weight: f64,
    /// Replicas per domain of a scored node (`TopologyValueToPodCounts`);
    /// unused for the hostname key, whose counts are per node.
    counts: HashMap<String, i64>,
}

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
        for c in &request.constraints.spread {
            if c.when_unsatisfiable == WhenUnsatisfiable::DoNotSchedule {
                self.hard.push(Hard {
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
        for (i, node) in view.nodes.iter().enumerate() {
            if !has_all_keys(node, self.hard.iter().map(|h| h.key.as_str()))
                || !required_affinity_matches(request.constraints, node)
            {
                continue;
            }
            let cnt = i64::from(view.count(i, request.service));
            for h in &mut self.hard {
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
        _request: &Request<'_>,
        view: &ClusterView<'_>,
        i: usize,
    ) -> Result<(), FilterReason> {
        let node = &view.nodes[i];
        for h in &self.hard {
            let Some(v) = node.label(&h.key) else {
                return Err(FilterReason::TopologyLabelMissing);
            };
            let min = if (h.counts.len() as i64) < h.min_domains {
                0
            } else {
                h.min
            };
            let matching = h.counts.get(v).copied().unwrap_or(0);
            if matching + 1 - min > h.max_skew {
                return Err(FilterReason::TopologySpread);
            }
        }
        Ok(())
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
            system = system_default_constraints();
            &system
        } else {
            declared
        };
        self.soft.clear();
        for c in constraints {
            if c.when_unsatisfiable == WhenUnsatisfiable::ScheduleAnyway {
                self.soft.push(Soft {
                    key: c.topology_key.clone(),
                    max_skew: c.max_skew,
                    hostname: c.topology_key == LABEL_HOSTNAME,
                    weight: 0.0,
                    counts: HashMap::new(),
                });
            }
        }
        self.ignored.clear();
        if self.soft.is_empty() {
            return;
        }
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
            for s in self.soft.iter_mut().filter(|s| !s.hostname) {
                let v = node.label(&s.key).unwrap_or_default();
                if !s.counts.contains_key(v) {
                    s.counts.insert(v.to_string(), 0);
                }
            }
        }
        for s in &mut self.soft {
            s.weight =
                topology_normalizing_weight(if s.hostname { scored } else { s.counts.len() });
        }
        if self.soft.iter().all(|s| s.hostname) {
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
                if let Some(n) = s.counts.get_mut(node.label(&s.key).unwrap_or_default()) {
                    *n += cnt;
                }
            }
        }
    }

    /// `Score`: Σ `scoreForCount` over the constraints whose key the node
    /// has (its own replicas for the hostname key, its domain's otherwise),
    /// rounded; 0 for ignored nodes.
    fn score(&self, request: &Request<'_>, view: &ClusterView<'_>, i: usize) -> i64 {
        let node = &view.nodes[i];
        if self.soft.is_empty()
            || (self.require_all && !has_all_keys(node, self.soft.iter().map(|s| s.key.as_str())))
        {
            return 0;
        }
        let mut score = 0f64;
        for s in &self.soft {
            if let Some(v) = node.label(&s.key) {
                let cnt = if s.hostname {
                    i64::from(view.count(i, request.service))
                } else {
                    s.counts.get(v).copied().unwrap_or(0)
                };
                score += score_for_count(cnt, s.max_skew, s.weight);
            }
        }
        score.round() as i64
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
mod tests;
