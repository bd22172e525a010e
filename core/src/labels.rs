//! Labels and label selectors, as apimachinery defines them.
//!
//! Key decision: one selector type for every place Kubernetes takes a
//! `metav1.LabelSelector` (topology spreading, pod affinity and
//! anti-affinity, PodDisruptionBudgets), with apimachinery's semantics
//! (`staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/helpers.go`,
//! `LabelSelectorAsSelector`): all `matchLabels` and all `matchExpressions`
//! must hold, and an *empty* selector matches everything. A *nil* selector
//! (matches nothing) is an `Option<LabelSelector>` that is `None` at the
//! call site, because its meaning differs per caller (PodTopologySpread
//! counts no pods, a PDB selects none).

use std::collections::BTreeMap;

use crate::model::{SelectorOp, SelectorRequirement};

/// A pod's or node's labels.
pub type Labels = BTreeMap<String, String>;

/// `metav1.LabelSelector`: `matchLabels` and `matchExpressions`, all of
/// which must match. Label selectors take `In`, `NotIn`, `Exists` and
/// `DoesNotExist` only (`Gt`/`Lt` are node-selector operators; the scenario
/// loader refuses them here).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector {
    /// `matchLabels`: each key must have exactly this value.
    pub match_labels: Labels,
    /// `matchExpressions`.
    pub match_expressions: Vec<SelectorRequirement>,
}

impl LabelSelector {
    /// The selector `matchLabels: labels`.
    pub fn for_labels(labels: Labels) -> LabelSelector {
        LabelSelector {
            match_labels: labels,
            match_expressions: Vec::new(),
        }
    }

    /// Whether the selector has neither labels nor expressions (and so
    /// matches everything).
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.match_expressions.is_empty()
    }

    /// Whether `labels` satisfy every `matchLabels` entry and every expression.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|r| r.matches(labels))
    }

    /// Whether every operator is one a label selector allows.
    pub fn valid_operators(&self) -> bool {
        self.match_expressions
            .iter()
            .all(|r| !matches!(r.op, SelectorOp::Gt | SelectorOp::Lt))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn req(key: &str, op: SelectorOp, values: &[&str]) -> SelectorRequirement {
        SelectorRequirement {
            key: key.into(),
            op,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    #[test]
    fn empty_selector_matches_everything() {
        // LabelSelectorAsSelector: len(MatchLabels)+len(MatchExpressions) == 0 → labels.Everything().
        let s = LabelSelector::default();
        assert!(s.matches(&labels(&[])));
        assert!(s.matches(&labels(&[("app", "web")])));
    }

    #[test]
    fn match_labels_and_expressions_all_hold() {
        let s = LabelSelector {
            match_labels: labels(&[("app", "web")]),
            match_expressions: vec![
                req("tier", SelectorOp::In, &["front", "edge"]),
                req("canary", SelectorOp::DoesNotExist, &[]),
            ],
        };
        assert!(s.matches(&labels(&[("app", "web"), ("tier", "edge")])));
        assert!(!s.matches(&labels(&[("app", "web"), ("tier", "back")])));
        assert!(!s.matches(&labels(&[("app", "db"), ("tier", "edge")])));
        assert!(!s.matches(&labels(&[
            ("app", "web"),
            ("tier", "edge"),
            ("canary", "1")
        ])));
        // NotIn matches a missing key, as apimachinery's Requirement.Matches.
        let n = LabelSelector {
            match_labels: Labels::new(),
            match_expressions: vec![req("zone", SelectorOp::NotIn, &["a"])],
        };
        assert!(n.matches(&labels(&[])));
        assert!(!n.matches(&labels(&[("zone", "a")])));
    }

    #[test]
    fn gt_and_lt_are_not_label_selector_operators() {
        let s = LabelSelector {
            match_labels: Labels::new(),
            match_expressions: vec![req("n", SelectorOp::Gt, &["1"])],
        };
        assert!(!s.valid_operators());
        assert!(LabelSelector::default().valid_operators());
    }
}
