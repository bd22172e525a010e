//! `InterPodAffinity` after kube-scheduler's
//! `pkg/scheduler/framework/plugins/interpodaffinity/filtering.go` and
//! `scoring.go`, in two forms: the one-term anti-affinity shorthand against
//! the replica's own service ([`crate::model::AntiAffinity`], described
//! first), and terms with explicit selectors across services and
//! namespaces ([`crate::model::PodAffinity`]: the replica's own terms and
//! the running services' terms that select it, resolved per scenario by
//! [`crate::model::resolve_pod_selectors`]), checked in both directions as
//! upstream: affinity, anti-affinity, then existing pods' anti-affinity;
//! scored with the incoming pod's preferred terms, the existing pods'
//! preferred terms and their required affinity (`hardPodAffinityWeight`).
//! A replica with both forms scores the shorthand at −2·weight per replica
//! (both directions), so the sum is upstream's.
//!
//! Key decision: both halves need "replicas of this service per topology
//! domain" (per value of the `topologyKey` label), counted over every node
//! and including the binds made earlier in the same batch
//! ([`ClusterView::count`]). That map is built once per decision in
//! `prepare` (upstream's PreFilter / PreScore) and only for replicas that
//! have the matching form of anti-affinity, so replicas without it cost
//! nothing per node.
//!
//! Reductions of upstream, and why the numbers still agree:
//! - Every replica of a service carries the same term, so upstream's
//!   symmetric checks (existing pods' anti-affinity against the incoming
//!   pod) see the same domains as the incoming pod's own term. The filter
//!   is therefore one check; the score counts `−weight` per replica where
//!   upstream counts `−2·weight` (incoming term plus the existing pod's
//!   term), and the factor 2 cancels exactly in the min/max normalisation
//!   (`2a / 2b` is the same IEEE quotient as `a / b`).
//! - Upstream reports the symmetric rule first ("node(s) didn't satisfy
//!   existing pods anti-affinity rules"); this plugin reports the
//!   replica's own rule, [`FilterReason::AntiAffinity`].

use std::collections::HashMap;

use super::{Filter, MAX_NODE_SCORE, Score};
use crate::fit::FilterReason;
use crate::model::{PodAffinity, ServiceId};
use crate::placement::{ClusterView, Request};

/// `hardPodAffinityWeight` (`InterPodAffinityArgs` default 1): what an
/// existing pod's *required* affinity term that selects the incoming
/// replica adds to its domain's score.
pub const HARD_POD_AFFINITY_WEIGHT: i64 = 1;

/// Matching replicas per value of one topology key.
type Domains = (String, HashMap<String, i64>);

/// Adds `n(i)` to the domain of node `i` for label `key`, over every node.
fn add_domains(
    out: &mut HashMap<String, i64>,
    key: &str,
    view: &ClusterView<'_>,
    n: impl Fn(usize) -> i64,
) {
    for i in 0..view.len() {
        let c = n(i);
        if c == 0 {
            continue;
        }
        let Some(v) = view.nodes[i].label(key) else {
            continue;
        };
        match out.get_mut(v) {
            Some(x) => *x += c,
            None => {
                out.insert(v.to_string(), c);
            }
        }
    }
}

/// Replicas of `services` on node `i`.
fn count_of(view: &ClusterView<'_>, i: usize, services: &[ServiceId]) -> i64 {
    services.iter().map(|&s| i64::from(view.count(i, s))).sum()
}

/// The state of upstream's `PreFilter` for terms with explicit selectors
/// (`interpodaffinity/filtering.go`): `affinityCounts`,
/// `antiAffinityCounts`, `existingAntiAffinityCounts`.
#[derive(Clone, Debug, Default)]
struct Terms {
    /// Per required affinity term: replicas matching *all* the terms per domain.
    affinity: Vec<Domains>,
    /// Whether any domain holds such a replica (`len(affinityCounts) != 0`).
    affinity_any: bool,
    /// Whether the replica matches all its own required affinity terms.
    affinity_self: bool,
    /// Per required anti-affinity term: matching replicas per domain.
    anti: Vec<Domains>,
    /// Per existing required anti-affinity term selecting the replica.
    existing_anti: Vec<Domains>,
    /// PreScore's `topologyScore`, per topology key.
    scores: Vec<Domains>,
}

impl Terms {
    fn prepare_filter(&mut self, pa: &PodAffinity, own: ServiceId, view: &ClusterView<'_>) {
        self.affinity.clear();
        self.anti.clear();
        self.existing_anti.clear();
        let required_affinity: Vec<_> = pa.terms.iter().filter(|t| t.required && !t.anti).collect();
        // podMatchesAllAffinityTerms: a service counts for affinity only if it matches every term.
        let all: Vec<ServiceId> = match required_affinity.first() {
            Some(first) => first
                .pods
                .services
                .iter()
                .copied()
                .filter(|s| {
                    required_affinity
                        .iter()
                        .all(|t| t.pods.services.contains(s))
                })
                .collect(),
            None => Vec::new(),
        };
        self.affinity_self =
            !required_affinity.is_empty() && required_affinity.iter().all(|t| t.pods.self_match);
        self.affinity_any = false;
        for t in &required_affinity {
            let mut d = HashMap::new();
            add_domains(&mut d, &t.topology_key, view, |i| count_of(view, i, &all));
            self.affinity_any |= !d.is_empty();
            self.affinity.push((t.topology_key.clone(), d));
        }
        for t in pa.terms.iter().filter(|t| t.required && t.anti) {
            let mut d = HashMap::new();
            add_domains(&mut d, &t.topology_key, view, |i| {
                count_of(view, i, &t.pods.services)
            });
            self.anti.push((t.topology_key.clone(), d));
        }
        for e in pa.existing.iter().filter(|e| e.required && e.anti) {
            let mut d = HashMap::new();
            add_domains(&mut d, &e.topology_key, view, |i| {
                i64::from(view.count(i, e.service))
            });
            self.existing_anti.push((e.topology_key.clone(), d));
        }
        let _ = own;
    }

    /// `satisfyPodAffinity`, `satisfyPodAntiAffinity`,
    /// `satisfyExistingPodsAntiAffinity`, in upstream's order.
    fn filter(&self, view: &ClusterView<'_>, i: usize) -> Result<(), FilterReason> {
        let node = &view.nodes[i];
        let mut pods_exist = true;
        for (key, d) in &self.affinity {
            match node.label(key) {
                // All topology labels must exist on the node.
                None => return Err(FilterReason::PodAffinity),
                Some(v) => pods_exist &= d.get(v).copied().unwrap_or(0) > 0,
            }
        }
        if !pods_exist && (self.affinity_any || !self.affinity_self) {
            return Err(FilterReason::PodAffinity);
        }
        let hit = |list: &[Domains]| {
            list.iter().any(|(key, d)| {
                node.label(key)
                    .is_some_and(|v| d.get(v).copied().unwrap_or(0) > 0)
            })
        };
        if hit(&self.anti) {
            return Err(FilterReason::AntiAffinity);
        }
        if hit(&self.existing_anti) {
            return Err(FilterReason::ExistingAntiAffinity);
        }
        Ok(())
    }

    /// `PreScore`'s `topologyScore`: the replica's preferred terms against
    /// existing replicas (±weight each), and existing replicas' terms that
    /// select it (preferred ±weight, required affinity
    /// [`HARD_POD_AFFINITY_WEIGHT`]); `legacy` is the own-service shorthand
    /// `(key, weight)`, counted in both directions (−2·weight per replica).
    fn prepare_score(
        &mut self,
        pa: &PodAffinity,
        legacy: Option<(&str, i64)>,
        own: ServiceId,
        view: &ClusterView<'_>,
    ) {
        self.scores.clear();
        let mut add = |key: &str, w: i64, n: &dyn Fn(usize) -> i64| {
            let at = match self.scores.iter().position(|(k, _)| k == key) {
                Some(at) => at,
                None => {
                    self.scores.push((key.to_string(), HashMap::new()));
                    self.scores.len() - 1
                }
            };
            add_domains(&mut self.scores[at].1, key, view, |i| w * n(i));
        };
        for t in pa.terms.iter().filter(|t| !t.required) {
            let w = if t.anti {
                -i64::from(t.weight)
            } else {
                i64::from(t.weight)
            };
            add(&t.topology_key, w, &|i| count_of(view, i, &t.pods.services));
        }
        for e in &pa.existing {
            let w = match (e.required, e.anti) {
                (true, true) => continue,
                (true, false) => HARD_POD_AFFINITY_WEIGHT,
                (false, false) => i64::from(e.weight),
                (false, true) => -i64::from(e.weight),
            };
            add(&e.topology_key, w, &|i| i64::from(view.count(i, e.service)));
        }
        if let Some((key, w)) = legacy {
            add(key, -2 * w, &|i| i64::from(view.count(i, own)));
        }
        self.scores.retain(|(_, d)| !d.is_empty());
    }

    /// Σ over the scored keys the node has of its domain's score.
    fn score(&self, view: &ClusterView<'_>, i: usize) -> i64 {
        let node = &view.nodes[i];
        self.scores
            .iter()
            .filter_map(|(key, d)| node.label(key).and_then(|v| d.get(v)))
            .sum()
    }
}

/// `InterPodAffinity`: required anti-affinity as a filter, preferred
/// anti-affinity as a score (upstream's default weight is 2). A filter and
/// a score are separate instances, each with its own per-decision state.
#[derive(Clone, Debug, Default)]
pub struct InterPodAffinity {
    /// Replicas of the request's service per value of its topology key
    /// (domains with none are absent).
    domains: HashMap<String, u32>,
    /// The topology key `domains` is keyed by; `None` when this decision
    /// has nothing to check (upstream's `Skip`).
    key: Option<String>,
    /// Preferred form: the term's weight.
    weight: i64,
    /// Terms with explicit selectors (both directions); `None` when the
    /// replica has none.
    terms: Option<Box<Terms>>,
}

impl InterPodAffinity {
    /// Counts replicas of `service` per value of label `key` over all nodes.
    fn count_domains(&mut self, key: &str, service: ServiceId, view: &ClusterView<'_>) {
        self.domains.clear();
        for i in 0..view.len() {
            let n = view.count(i, service);
            if n == 0 {
                continue;
            }
            let Some(v) = view.nodes[i].label(key) else {
                continue;
            };
            match self.domains.get_mut(v) {
                Some(c) => *c += n,
                None => {
                    self.domains.insert(v.to_string(), n);
                }
            }
        }
        self.key = Some(key.to_string());
    }

    /// Replicas in node `i`'s domain; `None` when the node lacks the label
    /// or there is nothing to check.
    fn in_domain(&self, view: &ClusterView<'_>, i: usize) -> Option<u32> {
        let key = self.key.as_deref()?;
        let v = view.nodes[i].label(key)?;
        Some(self.domains.get(v).copied().unwrap_or(0))
    }
}

impl Filter for InterPodAffinity {
    fn name(&self) -> &'static str {
        "InterPodAffinity"
    }

    /// PreFilter: domain counts for a replica with required anti-affinity.
    fn prepare(&mut self, request: &Request<'_>, view: &ClusterView<'_>) {
        match &request.constraints.anti_affinity {
            Some(a) if a.required => self.count_domains(&a.topology_key, request.service, view),
            _ => self.key = None,
        }
        match &request.constraints.pod_affinity {
            Some(pa) => self
                .terms
                .get_or_insert_with(Default::default)
                .prepare_filter(pa, request.service, view),
            None => self.terms = None,
        }
    }

    /// Infeasible if a replica of the same service runs in the node's
    /// domain. A node without the topology label passes (upstream).
    fn filter(
        &self,
        _request: &Request<'_>,
        view: &ClusterView<'_>,
        i: usize,
    ) -> Result<(), FilterReason> {
        match self.in_domain(view, i) {
            Some(n) if n > 0 => Err(FilterReason::AntiAffinity),
            _ => match &self.terms {
                Some(t) => t.filter(view, i),
                None => Ok(()),
            },
        }
    }
}

impl Score for InterPodAffinity {
    fn name(&self) -> &'static str {
        "InterPodAffinity"
    }

    /// PreScore: domain counts for a replica with preferred anti-affinity.
    /// With no such replica on any labelled node upstream returns `Skip`:
    /// every node then scores 0.
    fn prepare(&mut self, request: &Request<'_>, view: &ClusterView<'_>, _feasible: &[usize]) {
        if let Some(pa) = &request.constraints.pod_affinity {
            let legacy = match &request.constraints.anti_affinity {
                Some(a) if !a.required => Some((a.topology_key.as_str(), i64::from(a.weight))),
                _ => None,
            };
            let t = self.terms.get_or_insert_with(Default::default);
            t.prepare_score(pa, legacy, request.service, view);
            // Skip (every node 0) when no domain was scored.
            self.key = None;
            if t.scores.is_empty() {
                self.terms = None;
            }
            return;
        }
        self.terms = None;
        match &request.constraints.anti_affinity {
            Some(a) if !a.required => {
                self.count_domains(&a.topology_key, request.service, view);
                self.weight = i64::from(a.weight);
                if self.domains.is_empty() {
                    self.key = None;
                }
            }
            _ => self.key = None,
        }
    }

    /// `−weight × replicas in the node's domain` (0 without the label).
    fn score(&self, _request: &Request<'_>, view: &ClusterView<'_>, i: usize) -> i64 {
        if let Some(t) = &self.terms {
            return t.score(view, i);
        }
        self.in_domain(view, i)
            .map_or(0, |n| -self.weight * i64::from(n))
    }

    /// Upstream's min/max normalisation over the scored nodes:
    /// `int64(100 × (float64(s − min) / float64(max − min)))`, and 0 for
    /// every node when `max == min`. Skipped decisions keep their zeros.
    fn normalize(&self, scores: &mut [i64]) {
        if self.key.is_none() && self.terms.is_none() {
            return;
        }
        let (mut min, mut max) = (i64::MAX, i64::MIN);
        for &s in scores.iter() {
            min = min.min(s);
            max = max.max(s);
        }
        let diff = max.saturating_sub(min);
        for s in scores {
            *s = if diff > 0 {
                (MAX_NODE_SCORE as f64 * ((*s - min) as f64 / diff as f64)) as i64
            } else {
                0
            };
        }
    }
}

#[cfg(test)]
mod labels_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AntiAffinity, Constraints, NodeId, NodeStatus, Resources};
    use crate::placement::Snapshot;
    use crate::testing::node;

    const WEB: ServiceId = ServiceId(0);
    const DB: ServiceId = ServiceId(1);

    /// Nodes with labels; `pods[i]` lists the services of replicas on node i.
    fn cluster(nodes: &[&[(&str, &str)]], pods: &[&[ServiceId]]) -> Snapshot {
        let ns: Vec<NodeStatus> = nodes
            .iter()
            .enumerate()
            .map(|(i, ls)| {
                let mut n = node(&format!("n{i}")).cpu("64").mem("64Gi").status();
                n.spec_mut().labels = ls
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                n
            })
            .collect();
        let mut snap = Snapshot::new(ns);
        for (i, ps) in pods.iter().enumerate() {
            for &s in *ps {
                snap.bind(i, s, Resources::ZERO);
            }
        }
        snap
    }

    fn anti(key: &str, required: bool, weight: i32) -> Constraints {
        Constraints {
            anti_affinity: Some(AntiAffinity {
                topology_key: key.into(),
                required,
                weight,
            }),
            ..Default::default()
        }
    }

    fn scores(snap: &Snapshot, c: &Constraints) -> Vec<i64> {
        let view = snap.view();
        let r = Request {
            storage: crate::storage::PodStorage::NONE,
            service: WEB,
            resources: Resources::ZERO,
            constraints: c,
        };
        let all: Vec<usize> = (0..view.len()).collect();
        let mut p = InterPodAffinity::default();
        Score::prepare(&mut p, &r, &view, &all);
        let mut s: Vec<i64> = all.iter().map(|&i| p.score(&r, &view, i)).collect();
        p.normalize(&mut s);
        s
    }

    fn feasible(snap: &Snapshot, c: &Constraints) -> Vec<bool> {
        let view = snap.view();
        let r = Request {
            storage: crate::storage::PodStorage::NONE,
            service: WEB,
            resources: Resources::ZERO,
            constraints: c,
        };
        let mut p = InterPodAffinity::default();
        Filter::prepare(&mut p, &r, &view);
        (0..view.len())
            .map(|i| p.filter(&r, &view, i).is_ok())
            .collect()
    }

    #[test]
    fn preferred_anti_affinity_matches_upstream_scoring_table() {
        // scoring_test.go, "awayFromS1InAz" (topologyKey az, weight 5), the pod being S1 (= web here).
        let az1 = [("az", "az1")];
        let china = [("region", "China")];
        let india = [("region", "India")];
        let away = anti("az", false, 5);
        // "pod that does not match existing pods in node will get high score": web on node1 (az1),
        // db on node2. Domains {az1: 1} → node1 −5, node2 has no az label → 0.
        // min −5, max 0: node1 100·(0/5) = 0, node2 100·(5/5) = 100.
        let s = cluster(&[&az1, &china], &[&[WEB], &[DB]]);
        assert_eq!(scores(&s, &away), [0, 100]);
        // "does not match topology key & match the pods in nodes": web on both, node2 has no az → same.
        let s = cluster(&[&az1, &china], &[&[WEB], &[WEB]]);
        assert_eq!(scores(&s, &away), [0, 100]);
        // "one node has more matching pods": two web on node1 → −10; node2 (India, db) 0 → 0, 100.
        let s = cluster(&[&az1, &india], &[&[WEB, WEB], &[DB]]);
        assert_eq!(scores(&s, &away), [0, 100]);
    }

    #[test]
    fn preferred_anti_affinity_counts_domains_and_truncates() {
        // Zones a (n0, n1), b (n2), c (n3); web replicas: n0 1, n1 2 → zone a 3; n2 1 → zone b 1; c 0.
        // Weight 10: a −30, b −10, c 0. min −30, max 0, diff 30:
        // n0, n1 (a): 100·(0/30) = 0; n2: 100·(20/30) = 66.67 → 66; n3: 100·(30/30) = 100.
        let za = [("zone", "a")];
        let zb = [("zone", "b")];
        let zc = [("zone", "c")];
        let s = cluster(&[&za, &za, &zb, &zc], &[&[WEB], &[WEB, WEB], &[WEB], &[]]);
        assert_eq!(scores(&s, &anti("zone", false, 10)), [0, 0, 66, 100]);
        // The weight cancels in the normalisation: weight 1 gives the same.
        assert_eq!(scores(&s, &anti("zone", false, 1)), [0, 0, 66, 100]);
        // Every feasible node in equally loaded domains: max == min → 0 everywhere.
        let s = cluster(&[&za, &zb], &[&[WEB], &[WEB]]);
        assert_eq!(scores(&s, &anti("zone", false, 10)), [0, 0]);
        // No web replica anywhere (upstream Skip), or only other services: 0 everywhere.
        let s = cluster(&[&za, &zb], &[&[DB], &[]]);
        assert_eq!(scores(&s, &anti("zone", false, 10)), [0, 0]);
        // Required anti-affinity and no anti-affinity do not score.
        let s = cluster(&[&za, &zb], &[&[WEB], &[]]);
        assert_eq!(scores(&s, &anti("zone", true, 0)), [0, 0]);
        assert_eq!(scores(&s, &Constraints::default()), [0, 0]);
    }

    #[test]
    fn required_anti_affinity_filters_whole_domains() {
        let za = [("zone", "a"), ("kubernetes.io/hostname", "n0")];
        let za1 = [("zone", "a"), ("kubernetes.io/hostname", "n1")];
        let zb = [("zone", "b"), ("kubernetes.io/hostname", "n2")];
        let bare: [(&str, &str); 0] = [];
        // web on n0 only. Zone key: n0 and n1 share zone a → both infeasible; n2 (b) and the
        // unlabelled n3 pass. Hostname key: only n0.
        let s = cluster(&[&za, &za1, &zb, &bare], &[&[WEB], &[DB], &[], &[WEB]]);
        assert_eq!(
            feasible(&s, &anti("zone", true, 0)),
            [false, false, true, true]
        );
        assert_eq!(
            feasible(&s, &anti("kubernetes.io/hostname", true, 0)),
            [false, true, true, true]
        );
        // Preferred or absent anti-affinity never filters.
        assert_eq!(feasible(&s, &anti("zone", false, 5)), [true; 4]);
        assert_eq!(feasible(&s, &Constraints::default()), [true; 4]);
        // The reason, in kube-scheduler's words.
        let c = anti("zone", true, 0);
        let view = s.view();
        let r = Request {
            storage: crate::storage::PodStorage::NONE,
            service: WEB,
            resources: Resources::ZERO,
            constraints: &c,
        };
        let mut p = InterPodAffinity::default();
        Filter::prepare(&mut p, &r, &view);
        assert_eq!(
            p.filter(&r, &view, 1).unwrap_err().to_string(),
            "node(s) didn't match pod anti-affinity rules"
        );
    }

    #[test]
    fn batch_binds_count_like_running_replicas() {
        // A bind earlier in the batch (not yet in the observed nodes) occupies its domain.
        let s = cluster(&[&[("zone", "a")], &[("zone", "b")]], &[&[], &[]]);
        let mut batch = crate::placement::Batch::new();
        batch.bind(NodeId(1), WEB);
        let view = ClusterView {
            batch: &batch,
            ..s.view()
        };
        let c = anti("zone", true, 0);
        let r = Request {
            storage: crate::storage::PodStorage::NONE,
            service: WEB,
            resources: Resources::ZERO,
            constraints: &c,
        };
        let mut p = InterPodAffinity::default();
        Filter::prepare(&mut p, &r, &view);
        assert!(p.filter(&r, &view, 0).is_ok());
        assert_eq!(p.filter(&r, &view, 1), Err(FilterReason::AntiAffinity));
    }
}
