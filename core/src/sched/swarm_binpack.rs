//! Classic (standalone) Docker Swarm's `binpack` strategy: the most used
//! node that still fits.
//!
//! Key decision: the rank is classic Swarm's integer weight, cpu percent +
//! memory percent *after* placing the container, so results match its
//! truncation; the resource check is Orkestra's exact `fits`.

use rand::Rng;

use super::hard::HardFilters;
use super::{Pick, explain_ranked};
use crate::fit::Unschedulable;
use crate::model::{NodeId, NodeStatus, ResourceName, Resources};
use crate::placement::{ClusterView, NodeAlloc, NodeVerdict, Place, Request};

/// Classic Docker Swarm's `binpack` placement strategy (docs "Docker Swarm
/// strategies", `docker/swarm` `scheduler/strategy/README.md`: binpack makes
/// Swarm "optimize for the node which is most packed", and "if two nodes have
/// the same amount of available RAM and CPUs, the binpack strategy prefers
/// the node with the most running containers"; code
/// `scheduler/strategy/weighted_node.go` and `binpack.go`).
///
/// What is reproduced: for each ready node whose free allocatable fits the
/// requests, weight = cpu% + memory%, where
/// r% = (allocated_r + requested_r) × 100 / allocatable_r in integers, or
/// 100 when the replica requests none of r (as `weighNodes` does). The
/// highest weight wins; equal weights go to the node with more replicas
/// (this batch's binds included); what is still equal is broken uniformly
/// at random (classic Swarm's order there is an unstable sort of the node
/// list, which its own docs call random).
///
/// Differences, stated: classic Swarm adds 10 × a health indicator (100 for
/// healthy nodes, the same for every node Orkestra has) and admits a node
/// when both percentages truncate to ≤ 100, which lets a request overshoot
/// by less than 1%; here the exact fit check applies. GPUs are checked for
/// fit but not weighed (classic Swarm had none). Classic Swarm's filters
/// (constraints, affinity, ports) and Orkestra's `Request::constraints` are
/// not applied.
#[derive(Debug, Default)]
pub struct SwarmBinpack {
    hard: HardFilters,
}

/// Classic Swarm's weight of `node` for `request`: cpu% + memory% after placing it.
pub fn swarm_weight(request: &Resources, node: &NodeStatus, alloc: &NodeAlloc) -> u64 {
    [ResourceName::Cpu, ResourceName::Memory]
        .into_iter()
        .map(|r| {
            let (req, cap) = (request.get(r), node.spec.allocatable.get(r));
            if req == 0 || cap == 0 {
                100
            } else {
                let used = u128::from(alloc.requested.get(r)) + u128::from(req);
                (used * 100 / u128::from(cap)) as u64
            }
        })
        .sum()
}

fn key(request: &Request<'_>, view: &ClusterView<'_>, i: usize) -> (u64, u32) {
    (
        swarm_weight(&request.resources, &view.nodes[i], &view.allocs[i]),
        view.replicas(i),
    )
}

impl Place for SwarmBinpack {
    fn name(&self) -> &'static str {
        "swarm-binpack"
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
                Ok(()) => pick.offer(i, key(request, view, i), rng),
                Err(r) => why.add(r),
            }
        }
        pick.best().map(|i| NodeId(i as u32)).ok_or(why)
    }

    fn explain(&mut self, request: &Request<'_>, view: &ClusterView<'_>) -> Vec<NodeVerdict> {
        explain_ranked(request, view, |i| {
            let k = key(request, view, i);
            (
                k,
                vec![("SwarmWeight", k.0 as i64), ("Replicas", i64::from(k.1))],
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ServiceId;
    use crate::placement::{NO_CONSTRAINTS, Snapshot};
    use crate::rng::stream;
    use crate::testing::node;

    const GI: u64 = 1 << 30;

    fn with(name: &str, cpu: &str, mem: &str, replicas: &[Resources]) -> NodeStatus {
        let mut n = node(name).cpu(cpu).mem(mem).status();
        for r in replicas {
            n.add(ServiceId(0), *r);
        }
        n
    }

    fn pick(snap: &Snapshot, cpu: u64, mem: u64) -> Result<NodeId, Unschedulable> {
        let request = Request {
            storage: crate::storage::PodStorage::NONE,
            service: ServiceId(1),
            resources: Resources::new(cpu, mem),
            constraints: &NO_CONSTRAINTS,
        };
        SwarmBinpack::default().place(&request, &snap.view(), &mut stream(1, "t"))
    }

    #[test]
    fn the_most_packed_node_after_placement_wins() {
        // a: 4 cpu / 8Gi with 2 cpu / 2Gi used; b: 4 / 8Gi with 1 cpu / 6Gi; c: 2 cpu / 2Gi empty.
        let snap = Snapshot::new(vec![
            with("a", "4", "8Gi", &[Resources::new(2000, 2 * GI)]),
            with("b", "4", "8Gi", &[Resources::new(1000, 6 * GI)]),
            with("c", "2", "2Gi", &[]),
        ]);
        let cases = [
            // 1 cpu / 1Gi: a 3000·100/4000 = 75 + 3·100/8 = 37 → 112; b 50 + 87 = 137;
            // c 50 + 50 = 100 → b.
            (1000, GI, Some(1)),
            // 1 cpu, no memory (memory scores 100 everywhere): a 175, b 150, c 150 → a.
            (1000, 0, Some(0)),
            // 2 cpu / 2Gi: a 100 + 50 = 150; b 75 + 100 = 175; c fits exactly: 100 + 100 → c.
            (2000, 2 * GI, Some(2)),
            // 2 cpu / 3Gi: a 100 + 5·100/8 = 62 → 162; b 6 + 3 > 8Gi; c 3Gi > 2Gi → a.
            (2000, 3 * GI, Some(0)),
            // 3 cpu, no memory: a 2 + 3 > 4 cpu; c 3 > 2; b 1 + 3 = 4 fits: 100 + 100 → b.
            (3000, 0, Some(1)),
            // 5 cpu: no node has it.
            (5000, 0, None),
        ];
        for (cpu, mem, want) in cases {
            assert_eq!(
                pick(&snap, cpu, mem).ok(),
                want.map(NodeId),
                "{cpu}m {mem}B"
            );
        }
        assert_eq!(
            pick(&snap, 5000, 0).unwrap_err().to_string(),
            "0/3 nodes are available: 3 Insufficient cpu."
        );
    }

    #[test]
    fn equal_weights_go_to_the_node_with_more_replicas() {
        // x and y both have 1 cpu / 2Gi allocated; x as two replicas, y as one.
        let half = Resources::new(500, GI);
        let snap = Snapshot::new(vec![
            with("y", "4", "8Gi", &[Resources::new(1000, 2 * GI)]),
            with("x", "4", "8Gi", &[half, half]),
        ]);
        // 1 cpu / 1Gi: both 2000·100/4000 = 50 + 3·100/8 = 37 → 87; x has 2 replicas > 1 → x.
        assert_eq!(pick(&snap, 1000, GI), Ok(NodeId(1)));
        let rows = SwarmBinpack::default().explain(
            &Request {
                storage: crate::storage::PodStorage::NONE,
                service: ServiceId(1),
                resources: Resources::new(1000, GI),
                constraints: &NO_CONSTRAINTS,
            },
            &snap.view(),
        );
        assert_eq!(rows[0].scores[0], ("SwarmWeight".to_string(), 87, 87));
        assert_eq!((rows[0].total, rows[1].total), (0, 1));
    }

    #[test]
    fn weight_truncates_like_classic_swarm() {
        let n = node("n").cpu("3").mem("3Gi").status();
        let a = NodeAlloc::default();
        // cpu 1000·100/3000 = 33 (33.3), memory 1Gi·100/3Gi = 33 → 66.
        assert_eq!(swarm_weight(&Resources::new(1000, GI), &n, &a), 66);
        // Nothing requested: 100 + 100.
        assert_eq!(swarm_weight(&Resources::ZERO, &n, &a), 200);
    }
}
