//! Tetris's packing score (Grandl et al., "Multi-Resource Packing for
//! Cluster Schedulers", SIGCOMM 2014): place a task where its demand vector
//! best aligns with what the machine has left.
//!
//! Key decision: both vectors are normalised by the node's allocatable
//! (Orkestra's "capacity" for scheduling), so every resource counts on the
//! same 0..1 scale whatever its unit; GPUs join the vector only on nodes
//! that have any, so a CPU-only node is not penalised for lacking them.

use rand::Rng;

use super::hard::HardFilters;
use super::{Pick, explain_ranked};
use crate::fit::Unschedulable;
use crate::model::{NodeId, NodeStatus, ResourceName, Resources};
use crate::placement::{ClusterView, NodeAlloc, NodeVerdict, Place, Request};

/// Tetris's alignment score as a placement rule (Grandl et al., SIGCOMM
/// 2014, §3 "packing efficiency"): among the ready nodes whose free
/// allocatable fits the requests, the one with the largest
///
/// Σ_r (request_r / allocatable_r) × ((allocatable_r − allocated_r) / allocatable_r)
///
/// over r ∈ {cpu, memory} plus GPUs on nodes with allocatable GPUs
/// (resources a node has none of are left out), with `allocated` the
/// requests already bound there, this batch's included. It favours nodes
/// with plenty left of what the replica needs most, relative to the node's
/// size, which reduces fragmentation across resources. Ties (identical
/// empty nodes) are broken uniformly at random.
///
/// Only the packing score is reproduced: Tetris combines it with a
/// shortest-remaining-work term and a fairness knob over jobs, and uses
/// estimated peak usage; Orkestra's replicas are long-running and placed on
/// their requests. `Request::constraints` hard filters (taints, selectors,
/// required anti-affinity) apply as to every policy; topology spread does not.
#[derive(Debug, Default)]
pub struct Tetris {
    hard: HardFilters,
}

/// The alignment score of placing `request` on `node` with `alloc` bound there.
pub fn alignment(request: &Resources, node: &NodeStatus, alloc: &NodeAlloc) -> f64 {
    [ResourceName::Cpu, ResourceName::Memory, ResourceName::Gpu]
        .into_iter()
        .filter(|&r| node.spec.allocatable.get(r) > 0)
        .map(|r| {
            let cap = node.spec.allocatable.get(r) as f64;
            let free = node
                .spec
                .allocatable
                .get(r)
                .saturating_sub(alloc.requested.get(r)) as f64;
            (request.get(r) as f64 / cap) * (free / cap)
        })
        .sum()
}

impl Place for Tetris {
    fn name(&self) -> &'static str {
        "tetris"
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
        for (i, node) in view.nodes.iter().enumerate() {
            match self.hard.check(request, view, i) {
                Ok(()) => pick.offer(i, alignment(&request.resources, node, &view.allocs[i]), rng),
                Err(r) => why.add(r),
            }
        }
        pick.best().map(|i| NodeId(i as u32)).ok_or(why)
    }

    fn explain(&mut self, request: &Request<'_>, view: &ClusterView<'_>) -> Vec<NodeVerdict> {
        explain_ranked(request, view, |i| {
            let a = alignment(&request.resources, &view.nodes[i], &view.allocs[i]);
            (a, vec![("AlignmentX1000", (a * 1000.0).round() as i64)])
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

    fn with(n: crate::testing::NodeBuilder, used: Resources) -> NodeStatus {
        let mut s = n.status();
        if used != Resources::ZERO {
            s.add(ServiceId(0), used);
        }
        s
    }

    fn pick(snap: &Snapshot, request: Resources) -> Result<NodeId, Unschedulable> {
        let r = Request {
            storage: crate::storage::PodStorage::NONE,
            service: ServiceId(1),
            resources: request,
            constraints: &NO_CONSTRAINTS,
        };
        Tetris::default().place(&r, &snap.view(), &mut stream(1, "t"))
    }

    #[test]
    fn demand_goes_where_that_resource_is_free() {
        // x and y are 4 cpu / 8Gi; x has 6Gi bound (cpu free), y 3 cpu (memory free).
        let snap = Snapshot::new(vec![
            with(node("x").cpu("4").mem("8Gi"), Resources::new(0, 6 * GI)),
            with(node("y").cpu("4").mem("8Gi"), Resources::new(3000, 0)),
        ]);
        let cases = [
            // cpu-heavy 1 cpu / 1Gi: x 1/4·4/4 + 1/8·2/8 = 0.28125; y 1/4·1/4 + 1/8·8/8 = 0.1875 → x.
            (Resources::new(1000, GI), 0),
            // memory-heavy 250m / 2Gi: x 1/16·1 + 2/8·2/8 = 0.125; y 1/16·1/4 + 2/8·1 = 0.2656 → y.
            (Resources::new(250, 2 * GI), 1),
        ];
        for (request, want) in cases {
            assert_eq!(pick(&snap, request), Ok(NodeId(want)), "{request:?}");
        }
    }

    #[test]
    fn normalised_by_each_nodes_own_size() {
        // a: 4 cpu / 8Gi with 3 cpu / 1Gi bound; b: 4 / 8Gi empty; c: 2 cpu / 2Gi empty.
        let snap = Snapshot::new(vec![
            with(node("a").cpu("4").mem("8Gi"), Resources::new(3000, GI)),
            with(node("b").cpu("4").mem("8Gi"), Resources::ZERO),
            with(node("c").cpu("2").mem("2Gi"), Resources::ZERO),
        ]);
        // 500m / 512Mi: a 0.125·0.25 + 0.0625·0.875 = 0.0859; b 0.125 + 0.0625 = 0.1875;
        // c 0.25 + 0.25 = 0.5 → c: the request is the largest share of c and all of c is free.
        assert_eq!(pick(&snap, Resources::new(500, 512 << 20)), Ok(NodeId(2)));
        let a = alignment(
            &Resources::new(500, 512 << 20),
            &snap.nodes[0],
            &snap.allocs[0],
        );
        assert!((a - 0.0859375).abs() < 1e-12, "{a}");
    }

    #[test]
    fn gpus_count_only_on_gpu_nodes() {
        // g1: 1 GPU, g2: 4 GPUs, plain: none; all 4 cpu / 8Gi and empty.
        let snap = Snapshot::new(vec![
            with(node("plain").cpu("4").mem("8Gi"), Resources::ZERO),
            with(node("g2").cpu("4").mem("8Gi").gpu(4), Resources::ZERO),
            with(node("g1").cpu("4").mem("8Gi").gpu(1), Resources::ZERO),
        ]);
        // 1 cpu / 1Gi / 1 GPU: plain has no GPU (Insufficient); g2 1/4 + 1/8 + 1/4 = 0.625;
        // g1 1/4 + 1/8 + 1·1 = 1.375 → g1, the GPU fits it exactly.
        let gpu = Resources::new(1000, GI).with_gpu(1000);
        assert_eq!(pick(&snap, gpu), Ok(NodeId(2)));
        // Without a GPU request: plain and g2/g1 all score 1/4 + 1/8 (GPU term 0) → a random tie.
        let plain = Resources::new(1000, GI);
        let a: Vec<f64> = (0..3)
            .map(|i| alignment(&plain, &snap.nodes[i], &snap.allocs[i]))
            .collect();
        assert_eq!(a, vec![0.375; 3]);
        let rows = Tetris::default().explain(
            &Request {
                storage: crate::storage::PodStorage::NONE,
                service: ServiceId(1),
                resources: gpu,
                constraints: &NO_CONSTRAINTS,
            },
            &snap.view(),
        );
        assert_eq!(rows[2].scores[0].1, 1375);
        assert_eq!((rows[1].total, rows[2].total), (0, 1));
        assert!(rows[0].filters.iter().any(|f| f.1.is_some()));
    }
}
