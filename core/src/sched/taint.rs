//! `TaintToleration`, after kube-scheduler's
//! `pkg/scheduler/framework/plugins/tainttoleration/taint_toleration.go`.
//!
//! Key decision: the filter and the score read the taints on the node and
//! the tolerations on the replica and nothing else, so the plugin keeps no
//! per-decision state. Upstream's PreScore only narrows the tolerations to
//! those whose effect is empty or `PreferNoSchedule`; a toleration with
//! another effect never tolerates a `PreferNoSchedule` taint
//! ([`Toleration::tolerates`] compares effects), so counting against all
//! tolerations gives the same numbers.

use super::{Filter, MAX_NODE_SCORE, Score, default_normalize_score};
use crate::fit::FilterReason;
use crate::model::{Taint, TaintEffect, Toleration};
use crate::placement::{ClusterView, Request};

/// The first `NoSchedule` or `NoExecute` taint that no toleration tolerates
/// (upstream's `FindMatchingUntoleratedTaint` with
/// `DoNotScheduleTaintsFilterFunc`), in the node's taint order.
pub fn first_untolerated_taint<'t>(
    taints: &'t [Taint],
    tolerations: &[Toleration],
) -> Option<&'t Taint> {
    taints.iter().find(|t| {
        matches!(t.effect, TaintEffect::NoSchedule | TaintEffect::NoExecute)
            && !tolerations.iter().any(|tol| tol.tolerates(t))
    })
}

/// How many `PreferNoSchedule` taints no toleration tolerates (upstream's
/// `countIntolerableTaintsPreferNoSchedule`).
pub fn intolerable_prefer_no_schedule(taints: &[Taint], tolerations: &[Toleration]) -> i64 {
    taints
        .iter()
        .filter(|t| {
            t.effect == TaintEffect::PreferNoSchedule
                && !tolerations.iter().any(|tol| tol.tolerates(t))
        })
        .count() as i64
}

/// `TaintToleration`: a filter (untolerated `NoSchedule`/`NoExecute` taints
/// make a node infeasible) and a score (fewer untolerated
/// `PreferNoSchedule` taints is better; upstream's default weight is 3).
#[derive(Clone, Copy, Debug, Default)]
pub struct TaintToleration;

impl Filter for TaintToleration {
    fn name(&self) -> &'static str {
        "TaintToleration"
    }

    fn filter(
        &self,
        request: &Request<'_>,
        view: &ClusterView<'_>,
        i: usize,
    ) -> Result<(), FilterReason> {
        match first_untolerated_taint(&view.nodes[i].spec.taints, &request.constraints.tolerations)
        {
            None => Ok(()),
            Some(t) => Err(FilterReason::UntoleratedTaint {
                key: t.key.clone(),
                value: t.value.clone(),
            }),
        }
    }
}

impl Score for TaintToleration {
    fn name(&self) -> &'static str {
        "TaintToleration"
    }

    /// The raw score is the count of intolerable `PreferNoSchedule` taints
    /// (higher is worse); [`Score::normalize`] reverses it.
    fn score(&self, request: &Request<'_>, view: &ClusterView<'_>, i: usize) -> i64 {
        intolerable_prefer_no_schedule(&view.nodes[i].spec.taints, &request.constraints.tolerations)
    }

    /// `DefaultNormalizeScore(MaxNodeScore, reverse = true)`: a node with
    /// the most intolerable taints gets 0, one with none 100; when no node
    /// has any, every node gets 100.
    fn normalize(&self, scores: &mut [i64]) {
        default_normalize_score(MAX_NODE_SCORE, true, scores);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Constraints, NodeStatus, ServiceId};
    use crate::placement::Snapshot;
    use crate::testing::node;

    fn tol(key: &str, exists: bool, value: &str, effect: Option<TaintEffect>) -> Toleration {
        Toleration {
            key: key.into(),
            exists,
            value: value.into(),
            effect,
        }
    }

    fn taint(key: &str, value: &str, effect: TaintEffect) -> Taint {
        Taint {
            key: key.into(),
            value: value.into(),
            effect,
        }
    }

    /// Filters node 0 of a one-node cluster with `taints` for a replica with `tolerations`.
    fn filter(taints: Vec<Taint>, tolerations: Vec<Toleration>) -> Result<(), FilterReason> {
        let mut n = node("a").status();
        n.spec_mut().taints = taints;
        let snap = Snapshot::new(vec![n]);
        let c = Constraints {
            tolerations,
            ..Default::default()
        };
        let r = Request {
            storage: crate::storage::PodStorage::NONE,
            service: ServiceId(0),
            resources: Default::default(),
            constraints: &c,
        };
        TaintToleration.filter(&r, &snap.view(), 0)
    }

    #[test]
    fn filter_matches_upstream_table() {
        use TaintEffect::*;
        let untolerated = |k: &str, v: &str| {
            Err(FilterReason::UntoleratedTaint {
                key: k.into(),
                value: v.into(),
            })
        };
        // TestTaintTolerationFilter, case by case.
        // No tolerations, a NoSchedule taint: rejected, named.
        assert_eq!(
            filter(vec![taint("dedicated", "user1", NoSchedule)], vec![]),
            untolerated("dedicated", "user1")
        );
        // Equal toleration with the same key, value and effect: accepted.
        assert_eq!(
            filter(
                vec![taint("dedicated", "user1", NoSchedule)],
                vec![tol("dedicated", false, "user1", Some(NoSchedule))]
            ),
            Ok(())
        );
        // Equal toleration for another value: rejected.
        assert_eq!(
            filter(
                vec![taint("dedicated", "user1", NoSchedule)],
                vec![tol("dedicated", false, "user2", Some(NoSchedule))]
            ),
            untolerated("dedicated", "user1")
        );
        // Exists ignores the value.
        assert_eq!(
            filter(
                vec![taint("foo", "bar", NoSchedule)],
                vec![tol("foo", true, "", Some(NoSchedule))]
            ),
            Ok(())
        );
        // Several taints, all tolerated.
        assert_eq!(
            filter(
                vec![
                    taint("dedicated", "user2", NoSchedule),
                    taint("foo", "bar", NoSchedule)
                ],
                vec![
                    tol("dedicated", false, "user2", Some(NoSchedule)),
                    tol("foo", true, "", Some(NoSchedule))
                ]
            ),
            Ok(())
        );
        // Key and value match but the (non-empty) effect differs: rejected.
        assert_eq!(
            filter(
                vec![taint("foo", "bar", NoSchedule)],
                vec![tol("foo", false, "bar", Some(PreferNoSchedule))]
            ),
            untolerated("foo", "bar")
        );
        // An empty effect tolerates every effect.
        assert_eq!(
            filter(
                vec![taint("foo", "bar", NoSchedule)],
                vec![tol("foo", false, "bar", None)]
            ),
            Ok(())
        );
        // PreferNoSchedule never filters, tolerated or not.
        assert_eq!(
            filter(
                vec![taint("dedicated", "user1", PreferNoSchedule)],
                vec![tol("dedicated", false, "user2", Some(NoSchedule))]
            ),
            Ok(())
        );
        assert_eq!(
            filter(vec![taint("dedicated", "user1", PreferNoSchedule)], vec![]),
            Ok(())
        );
        // NoExecute filters like NoSchedule; the first untolerated taint in node order is named.
        assert_eq!(
            filter(
                vec![
                    taint("a", "1", PreferNoSchedule),
                    taint("b", "2", NoExecute),
                    taint("c", "3", NoSchedule)
                ],
                vec![]
            ),
            untolerated("b", "2")
        );
        // Exists with an empty key tolerates everything.
        assert_eq!(
            filter(
                vec![taint("b", "2", NoExecute), taint("c", "3", NoSchedule)],
                vec![tol("", true, "", None)]
            ),
            Ok(())
        );
    }

    /// Raw and normalised TaintToleration scores of every node.
    fn scores(nodes: Vec<Vec<Taint>>, tolerations: Vec<Toleration>) -> Vec<i64> {
        let ns: Vec<NodeStatus> = nodes
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                let mut n = node(&format!("n{i}")).status();
                n.spec_mut().taints = t;
                n
            })
            .collect();
        let snap = Snapshot::new(ns);
        let c = Constraints {
            tolerations,
            ..Default::default()
        };
        let r = Request {
            storage: crate::storage::PodStorage::NONE,
            service: ServiceId(0),
            resources: Default::default(),
            constraints: &c,
        };
        let view = snap.view();
        let mut s: Vec<i64> = (0..view.len())
            .map(|i| TaintToleration.score(&r, &view, i))
            .collect();
        TaintToleration.normalize(&mut s);
        s
    }

    #[test]
    fn score_matches_upstream_table() {
        use TaintEffect::*;
        // TestTaintTolerationScore.
        // A tolerated taint (0 intolerable) vs an intolerable one (1): max 1 → 100 − 100·0/1 = 100,
        // 100 − 100·1/1 = 0.
        assert_eq!(
            scores(
                vec![
                    vec![taint("foo", "bar", PreferNoSchedule)],
                    vec![taint("foo", "blah", PreferNoSchedule)]
                ],
                vec![tol("foo", false, "bar", Some(PreferNoSchedule))]
            ),
            [100, 0]
        );
        // All taints tolerated, however many: raw 0, 0, 0 → all-zero reverse case → 100 each.
        let both = vec![
            tol("cpu-type", false, "arm64", Some(PreferNoSchedule)),
            tol("disk-type", false, "ssd", Some(PreferNoSchedule)),
        ];
        let two = || {
            vec![
                taint("cpu-type", "arm64", PreferNoSchedule),
                taint("disk-type", "ssd", PreferNoSchedule),
            ]
        };
        assert_eq!(
            scores(
                vec![
                    vec![],
                    vec![taint("cpu-type", "arm64", PreferNoSchedule)],
                    two()
                ],
                both
            ),
            [100, 100, 100]
        );
        // The more intolerable taints, the lower: raw 0, 1, 2 → 100 − 0, 100 − 100·1/2 = 50, 100 − 100 = 0.
        assert_eq!(
            scores(
                vec![
                    vec![],
                    vec![taint("cpu-type", "arm64", PreferNoSchedule)],
                    two()
                ],
                vec![tol("foo", false, "bar", Some(PreferNoSchedule))]
            ),
            [100, 50, 0]
        );
        // Only PreferNoSchedule counts, and NoSchedule tolerations do not tolerate it:
        // raw 0, 0 (a NoSchedule taint), 2 → 100, 100, 0.
        assert_eq!(
            scores(
                vec![vec![], vec![taint("cpu-type", "arm64", NoSchedule)], two()],
                vec![
                    tol("cpu-type", false, "arm64", Some(NoSchedule)),
                    tol("disk-type", false, "ssd", Some(NoSchedule))
                ]
            ),
            [100, 100, 0]
        );
        // No tolerations: the untainted node wins, 100 vs 0.
        assert_eq!(
            scores(
                vec![vec![], vec![taint("cpu-type", "arm64", PreferNoSchedule)]],
                vec![]
            ),
            [100, 0]
        );
        // Integer division: raw 0, 1, 3 → 100 − 0, 100 − 100·1/3 = 100 − 33 = 67, 100 − 100 = 0.
        let three = vec![
            taint("a", "", PreferNoSchedule),
            taint("b", "", PreferNoSchedule),
            taint("c", "", PreferNoSchedule),
        ];
        assert_eq!(
            scores(
                vec![vec![], vec![taint("a", "", PreferNoSchedule)], three],
                vec![]
            ),
            [100, 67, 0]
        );
    }
}
