//! Docker Swarm mode's default placement (swarmkit): spread each service's
//! tasks over the nodes, then spread all tasks.
//!
//! Key decision: swarmkit does not score nodes; it filters them and sorts
//! the feasible ones with one comparison, so this is a filter and a
//! lexicographic minimum, not a weighted score.

use std::cmp::Reverse;

use rand::Rng;

use super::hard::HardFilters;
use super::{Pick, explain_ranked};
use crate::fit::Unschedulable;
use crate::model::NodeId;
use crate::placement::{ClusterView, NodeVerdict, Place, Request};

/// Docker Swarm mode's scheduler, as moby/swarmkit implements it in
/// `manager/scheduler/scheduler.go` (`scheduleTaskGroup`'s `nodeLess`,
/// `scheduleNTasksOnNodes`) and `nodeset.go` (`tree`).
///
/// What is reproduced: among the ready nodes whose free allocatable fits
/// the replica's requests (swarmkit's ReadyFilter and ResourceFilter on
/// reservations), choose the node with the fewest replicas of the *same
/// service*, then the fewest replicas in total. Counts include this batch's
/// binds and every replica bound and not yet gone.
///
/// Ties: swarmkit has no tie-breaker of its own. It collects candidate
/// nodes by iterating a Go map (random order by design) into a heap and
/// sorts them with an unstable sort, so equal nodes come in an unspecified
/// order, not by node id. Here ties are broken uniformly at random from the
/// placement stream (seeded, so runs repeat).
///
/// Differences, stated: swarmkit first ranks last any node where the
/// service failed `maxFailures` (5) times recently; Orkestra keeps no
/// per-node failure history, so that rule is absent. swarmkit sorts once
/// per task group (one service, one spec version) and fills nodes in that
/// order until each holds as many of the service as the next one, then goes
/// round robin; deciding one replica at a time with updated counts reaches
/// the same per-service counts, but in later rounds swarmkit's round robin
/// follows the initial order where this re-ranks by total replicas.
/// swarmkit's active counts leave out tasks being shut down; ours include
/// terminating replicas until they are gone. Constraints, platform and
/// host-port filters, `max_replicas` per node and placement preferences are
/// not applied. Orkestra's hard filters (taints, selectors, required
/// anti-affinity) apply, as to every policy; topology spread does not.
#[derive(Debug, Default)]
pub struct SwarmSpread {
    hard: HardFilters,
}

/// (replicas of `request`'s service on node `i`, replicas on node `i`).
fn counts(request: &Request<'_>, view: &ClusterView<'_>, i: usize) -> (u32, u32) {
    (view.count(i, request.service), view.replicas(i))
}

impl Place for SwarmSpread {
    fn name(&self) -> &'static str {
        "swarm-spread"
    }

    fn place(
        &mut self,
        request: &Request<'_>,
        view: &ClusterView<'_>,
        rng: &mut dyn Rng,
    ) -> Result<NodeId, Unschedulable> {
        self.hard.prepare(request, view);
        let mut why = Unschedulable::default();
        let mut pick = Pick::default();
        for i in 0..view.len() {
            match self.hard.check(request, view, i) {
                Ok(()) => pick.offer(i, Reverse(counts(request, view, i)), rng),
                Err(r) => why.add(r),
            }
        }
        pick.best().map(|i| NodeId(i as u32)).ok_or(why)
    }

    fn explain(&mut self, request: &Request<'_>, view: &ClusterView<'_>) -> Vec<NodeVerdict> {
        explain_ranked(request, view, |i| {
            let (same, all) = counts(request, view, i);
            (
                Reverse((same, all)),
                vec![
                    ("ServiceReplicas", i64::from(same)),
                    ("Replicas", i64::from(all)),
                ],
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{NodeStatus, Resources, ServiceId};
    use crate::placement::{NO_CONSTRAINTS, Snapshot};
    use crate::rng::stream;
    use crate::testing::node;

    const SMALL: Resources = Resources::new(100, 64 << 20);

    /// a: web ×2; b: web ×1, db ×3; c: db ×1; d: empty but only 100m cpu, all used; e: not ready.
    fn cluster() -> Snapshot {
        let with = |name: &str, replicas: &[(u32, u32)]| {
            let mut n = node(name).cpu("4").mem("8Gi").status();
            for &(s, k) in replicas {
                for _ in 0..k {
                    n.add(ServiceId(s), SMALL);
                }
            }
            n
        };
        let mut d = node("d").cpu("100m").mem("8Gi").status();
        d.add(ServiceId(2), SMALL);
        let mut e: NodeStatus = with("e", &[]);
        e.ready = false;
        Snapshot::new(vec![
            with("a", &[(0, 2)]),
            with("b", &[(0, 1), (1, 3)]),
            with("c", &[(1, 1)]),
            d,
            e,
        ])
    }

    fn req(service: u32) -> Request<'static> {
        Request {
            storage: crate::storage::PodStorage::NONE,
            service: ServiceId(service),
            resources: Resources::new(500, 512 << 20),
            constraints: &NO_CONSTRAINTS,
        }
    }

    #[test]
    fn fewest_of_the_service_then_fewest_in_total() {
        let snap = cluster();
        let mut rng = stream(1, "t");
        // (service replicas, all replicas) per feasible node; d lacks cpu, e is not ready.
        let cases = [
            // web: a (2, 2), b (1, 4), c (0, 1) → c.
            (0, 2),
            // db: a (0, 2), b (3, 4), c (1, 1) → a: fewer db beats fewer in total.
            (1, 0),
            // a new service: a (0, 2), b (0, 4), c (0, 1) → c, the emptiest.
            (7, 2),
        ];
        for (service, want) in cases {
            let got = SwarmSpread::default().place(&req(service), &snap.view(), &mut rng);
            assert_eq!(got, Ok(NodeId(want)), "service {service}");
        }
    }

    #[test]
    fn binds_earlier_in_the_batch_count() {
        let mut snap = cluster();
        // The batch puts one web replica on c: web a (2, 2), b (1, 4), c (1, 2) → c still
        // (ties on web with b, fewer in total).
        snap.batch.bind(NodeId(2), ServiceId(0));
        snap.allocs[2].add(Resources::new(500, 512 << 20));
        let view = snap.view();
        assert_eq!(view.replicas(2), 2);
        assert_eq!(
            SwarmSpread::default().place(&req(0), &view, &mut stream(1, "t")),
            Ok(NodeId(2))
        );
        // A new service: a (0, 2), b (0, 4), c (0, 2): a and c tie; each wins about half of
        // 2000 draws (binomial sd √(2000·¼) ≈ 22; allow 5 sd).
        let mut rng = stream(2, "t");
        let mut wins = [0u32; 5];
        for _ in 0..2000 {
            wins[SwarmSpread::default()
                .place(&req(7), &view, &mut rng)
                .unwrap()
                .0 as usize] += 1;
        }
        assert_eq!(wins[1] + wins[3] + wins[4], 0, "{wins:?}");
        assert!((i64::from(wins[0]) - 1000).abs() < 110, "{wins:?}");
    }

    #[test]
    fn no_room_anywhere_says_why() {
        let snap = cluster();
        let big = Request {
            resources: Resources::new(5000, 0),
            ..req(0)
        };
        let err = SwarmSpread::default()
            .place(&big, &snap.view(), &mut stream(1, "t"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "0/5 nodes are available: 4 Insufficient cpu, 1 node(s) were not ready."
        );
    }

    #[test]
    fn explain_ranks_the_feasible_nodes() {
        let snap = cluster();
        let rows = SwarmSpread::default().explain(&req(0), &snap.view());
        // web: c (0, 1) best → 2 nodes below it; b (1, 4) → 1; a (2, 2) → 0; d, e infeasible.
        let totals: Vec<i64> = rows.iter().map(|r| r.total).collect();
        assert_eq!(totals, vec![0, 1, 2, 0, 0]);
        assert_eq!(rows[1].scores[0], ("ServiceReplicas".to_string(), 1, 1));
        assert!(rows[3].filters.iter().any(|f| f.1.is_some()));
    }
}
