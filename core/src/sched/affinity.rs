//! `NodeAffinity`, after kube-scheduler's
//! `pkg/scheduler/framework/plugins/nodeaffinity/node_affinity.go` and the
//! matching rules of `k8s.io/component-helpers/scheduling/corev1/nodeaffinity`.
//!
//! Key decision: the plugin is stateless. Upstream's PreFilter and PreScore
//! only parse the pod's selectors (already parsed here, in
//! [`Constraints`]) and return `Skip` when there is nothing to check; a
//! skipped filter passes every node and a skipped score adds nothing, which
//! is what the plain functions below give for empty constraints (a replica
//! without preferred terms scores 0 everywhere, and
//! `DefaultNormalizeScore(reverse = false)` keeps all-zero scores at 0).
//! Only `matchExpressions` on node labels are modelled (no `matchFields`,
//! no scheduler-enforced `addedAffinity`).

use std::collections::BTreeMap;

use super::{Filter, MAX_NODE_SCORE, Score, default_normalize_score};
use crate::fit::FilterReason;
use crate::model::Constraints;
use crate::placement::{ClusterView, Request};

/// Whether a node with `labels` satisfies the replica's `nodeSelector`
/// (every label present with the same value) and its required node
/// affinity (any term matches; no terms means no constraint), upstream's
/// `RequiredNodeAffinity.Match`.
pub fn node_affinity_matches(c: &Constraints, labels: &BTreeMap<String, String>) -> bool {
    c.node_selector
        .iter()
        .all(|(k, v)| labels.get(k).is_some_and(|x| x == v))
        && (c.required_terms.is_empty() || c.required_terms.iter().any(|t| t.matches(labels)))
}

/// Sum of the weights of the preferred terms that `labels` match
/// (upstream's `PreferredSchedulingTerms.Score`).
pub fn preferred_weight(c: &Constraints, labels: &BTreeMap<String, String>) -> i64 {
    c.preferred_terms
        .iter()
        .filter(|(_, t)| t.matches(labels))
        .map(|(w, _)| i64::from(*w))
        .sum()
}

/// `NodeAffinity`: a filter (`nodeSelector` and required node affinity) and
/// a score (weights of matching preferred terms; upstream's default weight
/// is 2).
#[derive(Clone, Copy, Debug, Default)]
pub struct NodeAffinity;

impl Filter for NodeAffinity {
    fn name(&self) -> &'static str {
        "NodeAffinity"
    }

    fn filter(
        &self,
        request: &Request<'_>,
        view: &ClusterView<'_>,
        i: usize,
    ) -> Result<(), FilterReason> {
        if node_affinity_matches(request.constraints, &view.nodes[i].spec.labels) {
            Ok(())
        } else {
            Err(FilterReason::NodeAffinity)
        }
    }
}

impl Score for NodeAffinity {
    fn name(&self) -> &'static str {
        "NodeAffinity"
    }

    fn score(&self, request: &Request<'_>, view: &ClusterView<'_>, i: usize) -> i64 {
        preferred_weight(request.constraints, &view.nodes[i].spec.labels)
    }

    /// `DefaultNormalizeScore(MaxNodeScore, reverse = false)`: the best
    /// matching node gets 100, others `100 × sum / max` (integer division).
    fn normalize(&self, scores: &mut [i64]) {
        default_normalize_score(MAX_NODE_SCORE, false, scores);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SelectorOp, SelectorRequirement, SelectorTerm, ServiceId};
    use crate::placement::Snapshot;
    use crate::testing::node;

    fn req(key: &str, op: SelectorOp, values: &[&str]) -> SelectorRequirement {
        SelectorRequirement {
            key: key.into(),
            op,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn term(reqs: Vec<SelectorRequirement>) -> SelectorTerm {
        SelectorTerm { requirements: reqs }
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn filter_combines_selector_and_required_terms() {
        use SelectorOp::*;
        let gpu = labels(&[("GPU", "NVIDIA-GRID-K1"), ("zone", "a")]);
        let none = Constraints::default();
        // No constraints: every node, even one without labels.
        assert!(node_affinity_matches(&none, &BTreeMap::new()));
        // nodeSelector: every pair must be present with the same value.
        let sel = Constraints {
            node_selector: labels(&[("zone", "a")]),
            ..Default::default()
        };
        assert!(node_affinity_matches(&sel, &gpu));
        assert!(!node_affinity_matches(&sel, &labels(&[("zone", "b")])));
        assert!(!node_affinity_matches(&sel, &BTreeMap::new()));
        // node_affinity_test.go: Exists GPU and GPU NotIn [AMD, INTER] on GPU=NVIDIA-GRID-K1 → match.
        let nvidia = Constraints {
            required_terms: vec![term(vec![
                req("GPU", Exists, &[]),
                req("GPU", NotIn, &["AMD", "INTER"]),
            ])],
            ..Default::default()
        };
        assert!(node_affinity_matches(&nvidia, &gpu));
        // Terms are ORed: a failing term and a matching one → match; requirements in a term are ANDed.
        let ored = Constraints {
            required_terms: vec![
                term(vec![req("zone", In, &["b"])]),
                term(vec![req("GPU", Exists, &[]), req("zone", In, &["a", "c"])]),
            ],
            ..Default::default()
        };
        assert!(node_affinity_matches(&ored, &gpu));
        assert!(!node_affinity_matches(&ored, &labels(&[("zone", "a")])));
        // Selector AND affinity: the selector fails → no match even though a term matches.
        let both = Constraints {
            node_selector: labels(&[("zone", "c")]),
            ..ored.clone()
        };
        assert!(!node_affinity_matches(&both, &gpu));
        // Gt/Lt compare integers; a non-integer label never matches.
        let big = Constraints {
            required_terms: vec![term(vec![req("cores", Gt, &["8"])])],
            ..Default::default()
        };
        assert!(node_affinity_matches(&big, &labels(&[("cores", "16")])));
        assert!(!node_affinity_matches(&big, &labels(&[("cores", "8")])));
        assert!(!node_affinity_matches(&big, &labels(&[("cores", "many")])));
        // An empty term matches nothing (upstream), so it cannot satisfy the requirement.
        let empty = Constraints {
            required_terms: vec![SelectorTerm::default()],
            ..Default::default()
        };
        assert!(!node_affinity_matches(&empty, &gpu));
        // Through the plugin: the reason is worded like kube-scheduler's.
        let snap = Snapshot::new(vec![node("a").label("zone", "b").status()]);
        let r = Request {
            storage: crate::storage::PodStorage::NONE,
            service: ServiceId(0),
            resources: Default::default(),
            constraints: &sel,
        };
        let err = NodeAffinity.filter(&r, &snap.view(), 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "node(s) didn't match Pod's node affinity/selector"
        );
    }

    #[test]
    fn score_matches_upstream_table() {
        use SelectorOp::*;
        // TestNodeAffinityPriority: label1 {foo: bar}, label2 {key: value}, label3 {az: az1},
        // label4 {abc: az11, def: az22}, label5 {foo: bar, key: value, az: az1}.
        let l1 = [("foo", "bar")];
        let l2 = [("key", "value")];
        let l3 = [("az", "az1")];
        let l4 = [("abc", "az11"), ("def", "az22")];
        let l5 = [("foo", "bar"), ("key", "value"), ("az", "az1")];
        let foo = || term(vec![req("foo", In, &["bar"])]);
        let affinity1 = Constraints {
            preferred_terms: vec![(2, foo())],
            ..Default::default()
        };
        let affinity2 = Constraints {
            preferred_terms: vec![
                (2, foo()),
                (4, term(vec![req("key", In, &["value"])])),
                (
                    5,
                    term(vec![
                        req("foo", In, &["bar"]),
                        req("key", In, &["value"]),
                        req("az", In, &["az1"]),
                    ]),
                ),
            ],
            ..Default::default()
        };
        let run = |c: &Constraints, nodes: &[&[(&str, &str)]]| -> Vec<i64> {
            let snap = Snapshot::new(
                nodes
                    .iter()
                    .enumerate()
                    .map(|(i, ls)| {
                        let mut n = node(&format!("n{i}")).status();
                        n.spec_mut().labels = labels(ls);
                        n
                    })
                    .collect(),
            );
            let r = Request {
                storage: crate::storage::PodStorage::NONE,
                service: ServiceId(0),
                resources: Default::default(),
                constraints: c,
            };
            let view = snap.view();
            let mut s: Vec<i64> = (0..view.len())
                .map(|i| NodeAffinity.score(&r, &view, i))
                .collect();
            NodeAffinity.normalize(&mut s);
            s
        };
        // No node affinity at all (upstream skips): 0 everywhere.
        assert_eq!(run(&Constraints::default(), &[&l1, &l2, &l3]), [0, 0, 0]);
        // No node matches affinity1: raw 0, 0, 0 → forward all-zero case → 0.
        assert_eq!(run(&affinity1, &[&l4, &l2, &l3]), [0, 0, 0]);
        // Only node1 matches: raw 2, 0, 0 → 100·2/2 = 100, 0, 0.
        assert_eq!(run(&affinity1, &[&l1, &l2, &l3]), [100, 0, 0]);
        // Different priorities: node1 foo → 2; node5 all three terms → 2 + 4 + 5 = 11; node2 key → 4.
        // 100·2/11 = 18, 100·11/11 = 100, 100·4/11 = 36.
        assert_eq!(run(&affinity2, &[&l1, &l5, &l2]), [18, 100, 36]);
    }
}
