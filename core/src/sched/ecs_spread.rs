//! Amazon ECS's default service placement: spread a service's tasks over
//! Availability Zones, then over instances (or bin pack on memory) within
//! the chosen zone.
//!
//! Key decision: zone balance is a preference, not a filter. Zones are
//! ranked by the service's replicas in them, but only instances that can
//! take the replica compete, so a zone with no room is passed over rather
//! than leaving the replica pending (ECS: "task placement strategies are a
//! best effort").

use std::cmp::Reverse;
use std::collections::HashMap;

use rand::Rng;

use super::hard::HardFilters;
use super::{Pick, explain_ranked};
use crate::fit::Unschedulable;
use crate::model::{LABEL_ZONE, NodeId, NodeStatus, ResourceName};
use crate::placement::{ClusterView, NodeVerdict, Place, Request};

/// What decides between the instances of the chosen zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WithinZone {
    /// Fewest replicas of the service on the instance.
    Spread,
    /// Least memory left after placing (ECS `binpack` on `memory`).
    BinpackMemory,
}

/// Amazon ECS `spread` on `attribute:ecs.availability-zone`, the default
/// placement strategy for service tasks (AWS docs, "Use strategies to define
/// Amazon ECS task placement": service tasks are spread "based on the tasks
/// from that service").
///
/// The zone comes first: the feasible instances (ready, free allocatable
/// fits the requests) are ranked by the number of replicas of the request's
/// service in their zone (the node's `topology.kubernetes.io/zone` label,
/// else [`crate::model::NodeSpec::zone`]), counted over every node of the
/// zone including this batch's binds.
///
/// Within the zone, [`WithinZone::Spread`] (`ecs-spread`) takes the
/// instance with the fewest replicas of the service. ECS's strategy
/// reference leaves this open for a lone zone spread; the service scheduler
/// section of "Update Amazon ECS service parameters" states it: sort valid
/// instances by the service's running tasks in their zone, then place "in an
/// optimal Availability Zone …, favoring container instances with the
/// fewest number of running tasks for this service". That is the same as
/// the documented pair `[spread az, spread instanceId]` ("Example Amazon ECS
/// task placement strategies").
///
/// [`WithinZone::BinpackMemory`] (`ecs-spread-binpack`) is the documented
/// example "distribute tasks evenly across Availability Zones and then bin
/// pack tasks based on memory within each Availability Zone",
/// `[spread az, binpack memory]`: the instance left with the least memory.
///
/// Ties are not documented; they are broken uniformly at random. Counts
/// include starting and terminating replicas (ECS counts running tasks).
/// Placement constraints (`distinctInstance`, `memberOf`) and ports are
/// not modelled, and `Request::constraints` hard filters (taints, selectors,
/// required anti-affinity) apply as to every policy; topology spread does not.
#[derive(Debug)]
pub struct EcsSpread {
    /// The second-level rule.
    pub within: WithinZone,
    hard: HardFilters,
}

/// The zone of a node.
fn zone(node: &NodeStatus) -> &str {
    node.label(LABEL_ZONE).unwrap_or(&node.spec.zone)
}

impl EcsSpread {
    /// `ecs-spread`: zones, then instances, by the service's replicas.
    pub fn spread() -> EcsSpread {
        EcsSpread {
            within: WithinZone::Spread,
            hard: HardFilters::default(),
        }
    }

    /// `ecs-spread-binpack`: zones by the service's replicas, then least memory left.
    pub fn binpack() -> EcsSpread {
        EcsSpread {
            within: WithinZone::BinpackMemory,
            hard: HardFilters::default(),
        }
    }

    /// Replicas of the request's service per zone.
    fn zones<'v>(request: &Request<'_>, view: &ClusterView<'v>) -> HashMap<&'v str, u32> {
        let mut zones = HashMap::new();
        for (i, node) in view.nodes.iter().enumerate() {
            *zones.entry(zone(node)).or_default() += view.count(i, request.service);
        }
        zones
    }

    /// (replicas of the service in node `i`'s zone, the within-zone measure): lower is better.
    fn key(
        &self,
        request: &Request<'_>,
        view: &ClusterView<'_>,
        zones: &HashMap<&str, u32>,
        i: usize,
    ) -> (u32, u64) {
        let node = &view.nodes[i];
        let in_zone = zones.get(zone(node)).copied().unwrap_or(0);
        let second = match self.within {
            WithinZone::Spread => u64::from(view.count(i, request.service)),
            WithinZone::BinpackMemory => {
                let r = ResourceName::Memory;
                node.spec
                    .allocatable
                    .get(r)
                    .saturating_sub(view.allocs[i].requested.get(r))
                    .saturating_sub(request.resources.get(r))
            }
        };
        (in_zone, second)
    }
}

impl Place for EcsSpread {
    fn name(&self) -> &'static str {
        match self.within {
            WithinZone::Spread => "ecs-spread",
            WithinZone::BinpackMemory => "ecs-spread-binpack",
        }
    }

    fn place(
        &mut self,
        request: &Request<'_>,
        view: &ClusterView<'_>,
        rng: &mut dyn Rng,
    ) -> Result<NodeId, Unschedulable> {
        let zones = EcsSpread::zones(request, view);
        self.hard.prepare(request, view);
        let mut why = Unschedulable::default();
        let mut pick = Pick::default();
        for i in 0..view.len() {
            match self.hard.check(request, view, i) {
                Ok(()) => pick.offer(i, Reverse(self.key(request, view, &zones, i)), rng),
                Err(r) => why.add(r),
            }
        }
        pick.best().map(|i| NodeId(i as u32)).ok_or(why)
    }

    fn explain(&mut self, request: &Request<'_>, view: &ClusterView<'_>) -> Vec<NodeVerdict> {
        let zones = EcsSpread::zones(request, view);
        let second = match self.within {
            WithinZone::Spread => "InstanceServiceReplicas",
            WithinZone::BinpackMemory => "MemoryLeftBytes",
        };
        explain_ranked(request, view, |i| {
            let k = self.key(request, view, &zones, i);
            (
                Reverse(k),
                vec![
                    ("ZoneServiceReplicas", i64::from(k.0)),
                    (second, k.1 as i64),
                ],
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Resources, ServiceId};
    use crate::placement::{NO_CONSTRAINTS, Snapshot};
    use crate::rng::stream;
    use crate::testing::node;

    const GI: u64 = 1 << 30;
    const WEB: Resources = Resources::new(500, GI);

    /// z1: a (web ×2), b (empty); z2: c (4Gi, web ×1), e (empty); z3: d (100m cpu: no room).
    fn cluster() -> Snapshot {
        let mk = |name: &str, zone: &str, cpu: &str, mem: &str, web: u32| {
            let mut n = node(name).zone(zone).cpu(cpu).mem(mem).status();
            for _ in 0..web {
                n.add(ServiceId(0), WEB);
            }
            n
        };
        Snapshot::new(vec![
            mk("a", "z1", "4", "8Gi", 2),
            mk("b", "z1", "4", "8Gi", 0),
            mk("c", "z2", "4", "4Gi", 1),
            mk("d", "z3", "100m", "8Gi", 0),
            mk("e", "z2", "4", "8Gi", 0),
        ])
    }

    fn req(service: u32) -> Request<'static> {
        Request {
            storage: crate::storage::PodStorage::NONE,
            service: ServiceId(service),
            resources: WEB,
            constraints: &NO_CONSTRAINTS,
        }
    }

    #[test]
    fn zone_first_then_instance() {
        let snap = cluster();
        let mut rng = stream(1, "t");
        // web per zone: z1 2, z2 1, z3 0 — but z3's only node lacks cpu, so z2 is the best zone
        // with room; b (z1) holds no web, yet its zone has more.
        // Spread within z2: c has 1 web, e 0 → e.
        // Binpack within z2: memory left c 4 − 1 − 1 = 2Gi, e 8 − 1 = 7Gi → c.
        let cases = [(EcsSpread::spread(), 4), (EcsSpread::binpack(), 2)];
        for (mut p, want) in cases {
            let got = p.place(&req(0), &snap.view(), &mut rng);
            assert_eq!(got, Ok(NodeId(want)), "{}", p.name());
        }
    }

    #[test]
    fn a_new_service_ties_everywhere_but_binpack_still_packs() {
        let snap = cluster();
        // db has no replicas: every zone 0, every instance 0 → spread ties between the four
        // feasible nodes a, b, c, e; each wins about 1/4 of 4000 draws (sd ≈ 27; allow 5 sd).
        let mut rng = stream(2, "t");
        let mut wins = [0i64; 5];
        for _ in 0..4000 {
            wins[EcsSpread::spread()
                .place(&req(9), &snap.view(), &mut rng)
                .unwrap()
                .0 as usize] += 1;
        }
        assert_eq!(wins[3], 0, "{wins:?}");
        for i in [0, 1, 2, 4] {
            assert!((wins[i] - 1000).abs() < 140, "{wins:?}");
        }
        // Binpack: memory left a 8 − 2·1 − 1 = 5Gi, b 7Gi, c 2Gi, e 7Gi → c.
        assert_eq!(
            EcsSpread::binpack().place(&req(9), &snap.view(), &mut rng),
            Ok(NodeId(2))
        );
    }

    #[test]
    fn binds_in_the_batch_move_the_zone_balance() {
        let mut snap = cluster();
        // Two web replicas bound to e in this batch: z2 now has 3 > z1's 2 → z1: a (2 web),
        // b (0) → b.
        for _ in 0..2 {
            snap.batch.bind(NodeId(4), ServiceId(0));
            snap.allocs[4].add(WEB);
        }
        let got = EcsSpread::spread().place(&req(0), &snap.view(), &mut stream(1, "t"));
        assert_eq!(got, Ok(NodeId(1)));
        let rows = EcsSpread::spread().explain(&req(0), &snap.view());
        assert_eq!(rows[4].scores[0], ("ZoneServiceReplicas".to_string(), 3, 3));
        // Ranks by (zone web, instance web), lower is better: b (2, 0) has 3 nodes below it,
        // a (2, 2) 2, c (3, 1) 1, e (3, 2) 0; d is infeasible (0).
        let totals: Vec<i64> = rows.iter().map(|r| r.total).collect();
        assert_eq!(totals, vec![2, 3, 1, 0, 0]);
    }
}
