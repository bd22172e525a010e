//! Upstream's test tables (kubernetes/kubernetes,
//! `pkg/scheduler/framework/plugins/noderesources/*_test.go`), replayed
//! against the public pure functions, with the arithmetic worked in
//! comments, then a few of the same cases through the plugins on the
//! model's nodes.
//!
//! Files and the commits read:
//! - `least_allocated_test.go` @ 008b3652959ca58af8be3fb5b6ecfe9ae7638282
//! - `most_allocated_test.go` @ 030880a5dc5449403c6d1f0aa146a7dc21d6c6dc
//! - `balanced_allocation_test.go` @ 00fdb4ffc64976886691c99434ab5b01fa54f8fe
//! - `requested_to_capacity_ratio_test.go` @ 00b9ead02c37921011ebe5293558cea5277cd295
//!
//! Upstream gives node capacities such as `"cpu": "4000"` (4000 cores =
//! 4 000 000 millicores) and memory in bytes; the values below are the
//! integers upstream's scorers receive: requested = the node's requests
//! (`NonZeroRequested` for cpu/memory where the strategy uses it) + the
//! pod's, allocatable 0 where upstream's `calculateResourceAllocatableRequest`
//! bypasses the resource (a node without it, an extended resource the pod
//! does not request). A pod built with `st.MakePod().Obj()` has no
//! containers, so no non-zero defaults apply to it; a `Req` of `"0"` is an
//! explicit zero, which upstream does not default either.
//!
//! Cases the pure functions cannot express, with the reason:
//! - "Resources not set, pods scheduled with error" (least, most): upstream's
//!   plugin returns an `Error` status for an empty resource list; the pure
//!   scorers give 0 (MinNodeScore, the score upstream's table expects) and
//!   the scenario loader refuses an empty list (`scenario/scheduler.rs`).
//! - "resource with negative weight", "resource with zero weight",
//!   "resource weight larger than MaxNodeScore" (least, most): validation
//!   errors, replayed against the `[scheduler]` loader in
//!   `scenario/scheduler_tests.rs`.
//! - BalancedAllocation "nothing scheduled, nothing requested, skip in
//!   PreScore": PreScore's `Skip` has no pure-function counterpart; the
//!   plugin scores such a pod 0 on every node (tested below).
//! - The DRA cases of `balanced_allocation_test.go` are replayed with the
//!   allocatable (8 devices on node1, none on node2) upstream's DRA manager
//!   computes; Orkestra does not model DRA itself.
//! - `TestBalancedAllocationSignPod`: pod signatures are not modelled.

use super::*;
use crate::model::NodeSpec;

const CORE: i64 = 1000;

fn v(requested: i64, allocatable: i64) -> ResourceValue {
    ResourceValue::new(requested, allocatable, 1)
}

fn w(requested: i64, allocatable: i64, weight: i64) -> ResourceValue {
    ResourceValue::new(requested, allocatable, weight)
}

/// (case name, per-node resource values, expected score per node).
type Table<'a> = &'a [(&'a str, &'a [&'a [ResourceValue]], &'a [i64])];

fn replay(table: Table<'_>, scorer: impl Fn(&[ResourceValue]) -> i64) {
    for &(name, nodes, want) in table {
        let got: Vec<i64> = nodes.iter().map(|n| scorer(n)).collect();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn least_allocated_replays_upstream_table() {
    let c = CORE;
    replay(
        &[
            // cpu (4000 − 0)·100/4000 = 100, memory 100 → 100 on both nodes.
            (
                "nothing scheduled, nothing requested",
                &[
                    &[v(0, 4000 * c), v(0, 10000)],
                    &[v(0, 4000 * c), v(0, 10000)],
                ],
                &[100, 100],
            ),
            // Pod 1000+2000 cpu, 2000+3000 memory. node1: cpu (4000 − 3000)·100/4000 = 25,
            // memory (10000 − 5000)·100/10000 = 50 → 75/2 = 37. node2: 50, 50 → 50.
            (
                "nothing scheduled, resources requested, differently sized nodes",
                &[
                    &[v(3000 * c, 4000 * c), v(5000, 10000)],
                    &[v(3000 * c, 6000 * c), v(5000, 10000)],
                ],
                &[37, 50],
            ),
            // Empty resource list: nothing to average → 0 (upstream: MinNodeScore with an Error).
            (
                "Resources not set, pods scheduled with error",
                &[&[], &[]],
                &[0, 0],
            ),
            // Existing pods without containers request nothing → 100.
            (
                "no resources requested, pods scheduled",
                &[
                    &[v(0, 4000 * c), v(0, 10000)],
                    &[v(0, 4000 * c), v(0, 10000)],
                ],
                &[100, 100],
            ),
            // node1: 2 × 3000 cpu, memory "0" → cpu (10000 − 6000)·100/10000 = 40, memory 100 → 70.
            // node2: 3000/0 + 3000/5000 → 40, (20000 − 5000)·100/20000 = 75 → 115/2 = 57.
            (
                "no resources requested, pods scheduled with resources",
                &[
                    &[v(6000 * c, 10000 * c), v(0, 20000)],
                    &[v(6000 * c, 10000 * c), v(5000, 20000)],
                ],
                &[70, 57],
            ),
            // node1: 3000/0 + pod 3000/5000 → 40, 75 → 57. node2: 3000/5000 + pod → 40, 50 → 45.
            (
                "resources requested, pods scheduled with resources",
                &[
                    &[v(6000 * c, 10000 * c), v(5000, 20000)],
                    &[v(6000 * c, 10000 * c), v(10000, 20000)],
                ],
                &[57, 45],
            ),
            // node2 has 50000 memory: (50000 − 10000)·100/50000 = 80 → (40 + 80)/2 = 60.
            (
                "resources requested, pods scheduled with resources, differently sized nodes",
                &[
                    &[v(6000 * c, 10000 * c), v(5000, 20000)],
                    &[v(6000 * c, 10000 * c), v(10000, 50000)],
                ],
                &[57, 60],
            ),
            // Pod 3000 cpu, memory "0". node1: 3000 + 3000 > 4000 → 0, memory 100 → 50.
            // node2: cpu 0, memory (10000 − 5000)·100/10000 = 50 → 25.
            (
                "requested resources exceed node capacity",
                &[
                    &[v(6000 * c, 4000 * c), v(0, 10000)],
                    &[v(6000 * c, 4000 * c), v(5000, 10000)],
                ],
                &[50, 25],
            ),
            // Nodes without capacity: every resource skipped → 0.
            (
                "zero node resources, pods scheduled with resources",
                &[&[v(0, 0), v(0, 0)], &[v(0, 0), v(0, 0)]],
                &[0, 0],
            ),
            // memory weight 2, cpu 1: node1 (50·2 + 25·1)/3 = 125/3 = 41; node2 (50·2 + 50)/3 = 50.
            (
                "nothing scheduled, resources requested with different weight on CPU and memory, differently sized nodes",
                &[
                    &[w(5000, 10000, 2), w(3000 * c, 4000 * c, 1)],
                    &[w(5000, 10000, 2), w(3000 * c, 6000 * c, 1)],
                ],
                &[41, 50],
            ),
            // Extended resource: node1 lacks it, node2 has 4 but the pod requests none → bypassed
            // (allocatable 0) on both: (50 + 50)/2 = 50.
            (
                "bypass extended resource if the pod does not request",
                &[
                    &[v(3000 * c, 6000 * c), v(5000, 10000), v(0, 0)],
                    &[v(3000 * c, 6000 * c), v(5000, 10000), v(0, 0)],
                ],
                &[50, 50],
            ),
            // Pod requests 2: node1 (4 − 2)·100/4 = 50 → 150/3 = 50; node2 (10 − 2)·100/10 = 80 → 60.
            (
                "honor extended resource if the pod requests",
                &[
                    &[v(3000 * c, 6000 * c), v(5000, 10000), v(2, 4)],
                    &[v(3000 * c, 6000 * c), v(5000, 10000), v(2, 10)],
                ],
                &[50, 60],
            ),
            // Extended weight 2 skipped on both (absent; not requested): cpu 50, memory
            // (10000 − 4000)·100/10000 = 60 → 55.
            (
                "if the node doesn't have a resource",
                &[
                    &[w(0, 0, 2), v(3000 * c, 6000 * c), v(4000, 10000)],
                    &[w(0, 0, 2), v(3000 * c, 6000 * c), v(4000, 10000)],
                ],
                &[55, 55],
            ),
        ],
        |n| least_resource_scorer(n.iter().copied()),
    );
}

#[test]
fn most_allocated_replays_upstream_table() {
    let c = CORE;
    let mi = 1 << 20;
    replay(
        &[
            (
                "nothing scheduled, nothing requested",
                &[
                    &[v(0, 4000 * c), v(0, 10000)],
                    &[v(0, 4000 * c), v(0, 10000)],
                ],
                &[0, 0],
            ),
            // node1: cpu 3000·100/4000 = 75, memory 5000·100/10000 = 50 → 125/2 = 62. node2: 50.
            (
                "nothing scheduled, resources requested, differently sized nodes",
                &[
                    &[v(3000 * c, 4000 * c), v(5000, 10000)],
                    &[v(3000 * c, 6000 * c), v(5000, 10000)],
                ],
                &[62, 50],
            ),
            (
                "Resources not set, pods scheduled with error",
                &[&[], &[]],
                &[0, 0],
            ),
            // node1: 2 × 3000 cpu, memory "0": 60, 0 → 30. node2: 60, 5000/20000 = 25 → 85/2 = 42.
            (
                "no resources requested, pods scheduled with resources",
                &[
                    &[v(6000 * c, 10000 * c), v(0, 20000)],
                    &[v(6000 * c, 10000 * c), v(5000, 20000)],
                ],
                &[30, 42],
            ),
            // node1: 60, 25 → 42. node2: 60, 10000/20000 = 50 → 55.
            (
                "resources requested, pods scheduled with resources",
                &[
                    &[v(6000 * c, 10000 * c), v(5000, 20000)],
                    &[v(6000 * c, 10000 * c), v(10000, 20000)],
                ],
                &[42, 55],
            ),
            // Pod 2000+3000 cpu, 4000+5000 memory. node1: 5000/5000 = 100, 9000/10000 = 90 → 95.
            // node2: 50, 9000/9000 = 100 → 75.
            (
                "resources requested equal node capacity",
                &[
                    &[v(5000 * c, 5000 * c), v(9000, 10000)],
                    &[v(5000 * c, 10000 * c), v(9000, 9000)],
                ],
                &[95, 75],
            ),
            // memory weight 2: node1 (50·2 + 75)/3 = 175/3 = 58; node2 (50·2 + 50)/3 = 50.
            (
                "nothing scheduled, resources requested, differently sized nodes (weights)",
                &[
                    &[w(5000, 10000, 2), w(3000 * c, 4000 * c, 1)],
                    &[w(5000, 10000, 2), w(3000 * c, 6000 * c, 1)],
                ],
                &[58, 50],
            ),
            // Containers without requests count 100m and 200Mi. node1: two such pods + the new one
            // = 300m > 250m → capped: 100; 600Mi/1000Mi = 60 → 80. node2: 100/250 = 40, 20 → 30.
            (
                "no resources requested, pods scheduled, nonzero request for resource",
                &[
                    &[v(300, 250), v(600 * mi, 1000 * mi)],
                    &[v(100, 250), v(200 * mi, 1000 * mi)],
                ],
                &[80, 30],
            ),
            (
                "bypass extended resource if the pod does not request",
                &[
                    &[v(3000 * c, 6000 * c), v(5000, 10000), v(0, 0)],
                    &[v(3000 * c, 6000 * c), v(5000, 10000), v(0, 0)],
                ],
                &[50, 50],
            ),
            // Pod requests 2: node1 2·100/4 = 50 → 50; node2 2·100/10 = 20 → 120/3 = 40.
            (
                "honor extended resource if the pod request",
                &[
                    &[v(3000 * c, 6000 * c), v(5000, 10000), v(2, 4)],
                    &[v(3000 * c, 6000 * c), v(5000, 10000), v(2, 10)],
                ],
                &[50, 40],
            ),
            // cpu 3000·100/6000 = 50, memory 4000·100/10000 = 40 → 45.
            (
                "if the node doesn't have a resource",
                &[
                    &[w(0, 0, 2), v(3000 * c, 6000 * c), v(4000, 10000)],
                    &[w(0, 0, 2), v(3000 * c, 6000 * c), v(4000, 10000)],
                ],
                &[45, 45],
            ),
        ],
        |n| most_resource_scorer(n.iter().copied()),
    );
}

#[test]
fn balanced_allocation_replays_upstream_table() {
    // makeNode takes millicores; pods: cpuAndMemory = 1000m+2000m cpu, 2000+3000 memory;
    // cpuOnly = 3000m, memory "0"; cpuAndMemoryAndGPU = cpuAndMemory + 3 nvidia.com/gpu.
    replay(
        &[
            // node1: 3000/4000 = 0.75, 5000/10000 = 0.5 → std 0.125 → 87.5 → 87. node2: 0.5, 0.5 → 100.
            (
                "nothing scheduled, resources requested, differently sized nodes",
                &[
                    &[v(3000, 4000), v(5000, 10000)],
                    &[v(3000, 6000), v(5000, 10000)],
                ],
                &[87, 100],
            ),
            // node1 holds cpuOnly: 6000/10000 = 0.6, 5000/20000 = 0.25 → 0.175 → 82.5 → 82.
            // node2 holds cpuAndMemory: 0.6, 10000/20000 = 0.5 → 0.05 → 95.
            (
                "resources requested, pods scheduled with resources",
                &[
                    &[v(6000, 10000), v(5000, 20000)],
                    &[v(6000, 10000), v(10000, 20000)],
                ],
                &[82, 95],
            ),
            // node2 has 50000 memory: 0.6, 0.2 → 0.2 → 80.
            (
                "resources requested, pods scheduled with resources, differently sized nodes",
                &[
                    &[v(6000, 10000), v(5000, 20000)],
                    &[v(6000, 10000), v(10000, 50000)],
                ],
                &[82, 80],
            ),
            // Pod cpuOnly. node1 (+cpuOnly): 6000/6000 = 1, 0 → 0.5 → 50. node2 (+cpuAndMemory):
            // 1, 5000/10000 = 0.5 → 0.25 → 75.
            (
                "requested resources at node capacity",
                &[
                    &[v(6000, 6000), v(0, 10000)],
                    &[v(6000, 6000), v(5000, 10000)],
                ],
                &[50, 75],
            ),
            // Three resources, population std. node1 (+cpuAndMemoryAndGPU, pod 1 gpu): 3000/3500,
            // 5000/40000, 4/8: mean 0.4940, std √((0.3631² + 0.3690² + 0.0060²)/3) = 0.2989 → 70.
            // node2 (+cpuAndMemory): 0.8571, 0.125, 1/8: mean 0.3690, std 0.3450 → 65.
            (
                "include scalar resource on a node for balanced resource allocation",
                &[
                    &[v(3000, 3500), v(5000, 40000), v(4, 8)],
                    &[v(3000, 3500), v(5000, 40000), v(1, 8)],
                ],
                &[70, 65],
            ),
            // The pod requests no gpu: bypassed on node1, absent on node2 → two fractions:
            // |0.8571 − 0.125|/2 = 0.366 → 63.4 → 63 on both.
            (
                "node without the scalar resource should skip the scalar resource",
                &[
                    &[v(3000, 3500), v(5000, 40000), v(0, 0)],
                    &[v(3000, 3500), v(5000, 40000), v(0, 0)],
                ],
                &[63, 63],
            ),
            (
                "resources requested, pods scheduled with resources if PreScore not called",
                &[
                    &[v(6000, 10000), v(5000, 20000)],
                    &[v(6000, 10000), v(10000, 20000)],
                ],
                &[82, 95],
            ),
            // DRA: 8 devices on node1 only. node1 (+cpuOnly): 3000/3500, 0/40000, 1/8: mean 0.3274,
            // std 0.378 → 62. node2 (+cpuAndMemory): DRA allocatable 0 → 0.8571, 0.125 → 63.
            (
                "include DRA resource on a node for balanced resource allocation",
                &[
                    &[v(3000, 3500), v(0, 40000), v(1, 8)],
                    &[v(3000, 3500), v(5000, 40000), v(0, 0)],
                ],
                &[62, 63],
            ),
            (
                "include DRA resource on a node for balanced resource allocation if PreScore not called",
                &[
                    &[v(3000, 3500), v(0, 40000), v(1, 8)],
                    &[v(3000, 3500), v(5000, 40000), v(0, 0)],
                ],
                &[62, 63],
            ),
        ],
        |n| balanced_resource_scorer(n.iter().copied()),
    );
    // One resource (or none): std 0 → 100.
    assert_eq!(balanced_resource_scorer([v(1, 4)]), 100);
    assert_eq!(balanced_resource_scorer([]), 100);
}

#[test]
fn requested_to_capacity_ratio_replays_upstream_table() {
    let c = CORE;
    // TestRequestedToCapacityRatioScoringStrategy: shape (0, 10), (100, 0) → ×10 → (0, 100), (100, 0).
    let least = requested_to_capacity_ratio_shape(&[(0, 10), (100, 0)]);
    replay(
        &[
            // Nothing requested: f(0) = 100 for both resources → 100.
            (
                "nothing scheduled, nothing requested (default - least requested nodes have priority)",
                &[
                    &[v(0, 4000 * c), v(0, 10000)],
                    &[v(0, 4000 * c), v(0, 10000)],
                ],
                &[100, 100],
            ),
            // node1: cpu 75% → 100 − 75 = 25, memory 50% → 50 → round(37.5) = 38. node2: 50, 50 → 50.
            (
                "nothing scheduled, resources requested, differently sized nodes (default - least requested nodes have priority)",
                &[
                    &[v(3000 * c, 4000 * c), v(5000, 10000)],
                    &[v(3000 * c, 6000 * c), v(5000, 10000)],
                ],
                &[38, 50],
            ),
            (
                "no resources requested, pods scheduled with resources (default - least requested nodes have priority)",
                &[
                    &[v(3000 * c, 4000 * c), v(5000, 10000)],
                    &[v(3000 * c, 6000 * c), v(5000, 10000)],
                ],
                &[38, 50],
            ),
        ],
        |n| requested_to_capacity_ratio_scorer(&least, n.iter().copied()),
    );

    // TestResourceBinPackingSingleExtended: intel.com/foo weight 1, shape (0, 0), (100, 1) → (100, 10);
    // node1 has 8, node2 4.
    let pack = requested_to_capacity_ratio_shape(&[(0, 0), (100, 1)]);
    replay(
        &[
            // Not requested: bypassed → no resource left → 0.
            (
                "nothing scheduled, nothing requested",
                &[&[v(0, 0)], &[v(0, 0)]],
                &[0, 0],
            ),
            // 2/8 = 25% → 10·25/100 = 2; 2/4 = 50% → 5.
            (
                "resources requested, pods scheduled with less resources",
                &[&[v(2, 8)], &[v(2, 4)]],
                &[2, 5],
            ),
            // node2 already holds 2: 4/4 → 10.
            (
                "resources requested, pods scheduled with resources, on node with existing pod running",
                &[&[v(2, 8)], &[v(4, 4)]],
                &[2, 10],
            ),
            (
                "resources requested, pods scheduled with more resources",
                &[&[v(4, 8)], &[v(4, 4)]],
                &[5, 10],
            ),
        ],
        |n| requested_to_capacity_ratio_scorer(&pack, n.iter().copied()),
    );

    // TestResourceBinPackingMultipleExtended: foo weight 3, bar weight 5; node1 foo 8 / bar 4,
    // node2 foo 4 / bar 8.
    replay(
        &[
            (
                "nothing scheduled, nothing requested",
                &[&[w(0, 0, 3), w(0, 0, 5)], &[w(0, 0, 3), w(0, 0, 5)]],
                &[0, 0],
            ),
            // Pod foo 2, bar 2. node1: foo 25% → 2, bar 50% → 5: (2·3 + 5·5)/8 = 3.875 → 4.
            // node2: foo 50% → 5, bar 25% → 2: (15 + 10)/8 = 3.125 → 3.
            (
                "resources requested, pods scheduled with less resources",
                &[&[w(2, 8, 3), w(2, 4, 5)], &[w(2, 4, 3), w(2, 8, 5)]],
                &[4, 3],
            ),
            // node2 holds foo 4, bar 2: foo 6 > 4 → f(100) = 10, bar 4/8 → 5: (30 + 25)/8 = 6.875 → 7.
            (
                "resources requested, pods scheduled with resources, on node with existing pod running",
                &[&[w(2, 8, 3), w(2, 4, 5)], &[w(6, 4, 3), w(4, 8, 5)]],
                &[4, 7],
            ),
            // Pod foo 4, bar 2. node1: 50% → 5, 50% → 5 → 40/8 = 5. node2: 100% → 10, 25% → 2 → 40/8 = 5.
            (
                "resources requested, pods scheduled with more resources",
                &[&[w(4, 8, 3), w(2, 4, 5)], &[w(4, 4, 3), w(2, 8, 5)]],
                &[5, 5],
            ),
        ],
        |n| requested_to_capacity_ratio_scorer(&pack, n.iter().copied()),
    );
}

#[test]
fn broken_linear_function_replays_upstream_table() {
    // TestBrokenLinearFunction (requested_to_capacity_ratio_test.go), unscaled points.
    let p = |pts: &[(i64, i64)]| -> Vec<FunctionShapePoint> {
        pts.iter()
            .map(|&(utilization, score)| FunctionShapePoint { utilization, score })
            .collect()
    };
    type Assertions<'a> = &'a [(i64, i64)];
    let cases: [(Vec<FunctionShapePoint>, Assertions<'_>); 3] = [
        // 15 → 1 + 8·5/80 = 1; 20 → 1 + 8·10/80 = 2; 89 → 1 + 8·79/80 = 8.
        (
            p(&[(10, 1), (90, 9)]),
            &[
                (-10, 1),
                (0, 1),
                (9, 1),
                (10, 1),
                (15, 1),
                (19, 1),
                (20, 2),
                (89, 8),
                (90, 9),
                (99, 9),
                (100, 9),
                (110, 9),
            ],
        ),
        // 20 → 2 + 8·20/40 = 6; 30 → 8; 70 → 10 − 10·30/60 = 5.
        (
            p(&[(0, 2), (40, 10), (100, 0)]),
            &[
                (-10, 2),
                (0, 2),
                (20, 6),
                (30, 8),
                (40, 10),
                (70, 5),
                (100, 0),
                (110, 0),
            ],
        ),
        (
            p(&[(0, 2), (40, 2), (100, 2)]),
            &[
                (-10, 2),
                (0, 2),
                (20, 2),
                (30, 2),
                (40, 2),
                (70, 2),
                (100, 2),
                (110, 2),
            ],
        ),
    ];
    for (shape, assertions) in &cases {
        for &(x, want) in *assertions {
            assert_eq!(broken_linear_function(shape, x), want, "{shape:?} at {x}");
        }
    }
}

#[test]
fn scaled_utilization_clamps_and_stays_exact() {
    assert_eq!(scaled_utilization(0, 10, 100), 0);
    assert_eq!(scaled_utilization(15, 10, 100), 100);
    assert_eq!(scaled_utilization(3, 4, 100), 75);
    // The 128-bit product: i64::MAX / 2 of i64::MAX → 49 (truncated), no overflow.
    assert_eq!(scaled_utilization(i64::MAX / 2, i64::MAX, 100), 49);
    assert_eq!(scaled_utilization(5, 0, 100), 0);
}

// --- The same arithmetic through the plugins, on the model's nodes. ---

fn node(cpu: u64, mem: u64) -> NodeStatus {
    node_gpu(cpu, mem, 0)
}

fn node_gpu(cpu: u64, mem: u64, gpu: u64) -> NodeStatus {
    let r = Resources::new(cpu, mem).with_gpu(gpu);
    NodeStatus::new(NodeSpec {
        csi: Some(Default::default()),
        name: "n".into(),
        pool: "p".into(),
        zone: "z".into(),
        labels: Default::default(),
        taints: vec![],
        capacity: r,
        allocatable: r,
        speed: 1.0,
    })
}

/// Existing replicas' requests on a node.
fn on_node(pods: &[Resources]) -> NodeAlloc {
    let mut a = NodeAlloc::default();
    for &p in pods {
        a.add(p);
    }
    a
}

#[test]
fn plugins_gather_what_upstream_gathers() {
    let most = MostAllocated::default();
    // most_allocated_test.go "nonzero request for resource": the model's zero request is a
    // container without requests → 100m, 200Mi each; 3 × 100m > 250m → 100, 600Mi/1000Mi → 80.
    let n = node(250, 1000 << 20);
    assert_eq!(
        most.node_score(&Resources::ZERO, &n, &on_node(&[Resources::ZERO; 2])),
        80
    );
    assert_eq!(
        most.node_score(&Resources::ZERO, &n, &NodeAlloc::default()),
        30
    );
    // "resources requested, pods scheduled with resources" (least): 57 and 45. The existing
    // pod's explicit memory "0" is 1 byte here: the model does not yet tell an explicit 0 from
    // an absent request (which counts 200Mi); (20000 − 5001)·100/20000 = 74 → (40 + 74)/2 = 57.
    let least = LeastAllocated::default();
    let pod = Resources::new(3000, 5000);
    assert_eq!(
        least.node_score(
            &pod,
            &node(10000, 20000),
            &on_node(&[Resources::new(3000, 1)])
        ),
        57
    );
    assert_eq!(
        least.node_score(
            &pod,
            &node(10000, 20000),
            &on_node(&[Resources::new(3000, 5000)])
        ),
        45
    );
    // Weights memory 2, cpu 1 → 41 (least) and 58 (most).
    let weights = vec![(ResourceName::Memory, 2), (ResourceName::Cpu, 1)];
    let least_w = LeastAllocated {
        resources: weights.clone(),
    };
    let most_w = MostAllocated { resources: weights };
    let empty = NodeAlloc::default();
    assert_eq!(least_w.node_score(&pod, &node(4000, 10000), &empty), 41);
    assert_eq!(most_w.node_score(&pod, &node(4000, 10000), &empty), 58);
    // The extended resource (nvidia.com/gpu, thousandths) is bypassed when the pod does not
    // request it, even on a node that has it ("bypass extended resource"): 50 on both.
    let with_gpu = vec![
        (ResourceName::Cpu, 1),
        (ResourceName::Memory, 1),
        (ResourceName::Gpu, 1),
    ];
    let least_g = LeastAllocated {
        resources: with_gpu.clone(),
    };
    assert_eq!(least_g.node_score(&pod, &node(6000, 10000), &empty), 50);
    assert_eq!(
        least_g.node_score(&pod, &node_gpu(6000, 10000, 4000), &empty),
        50
    );
    // "honor extended resource": 2 of 4 → 50, 2 of 10 → (10000 − 2000)·100/10000 = 80 → 60.
    let pod_g = pod.with_gpu(2000);
    assert_eq!(
        least_g.node_score(&pod_g, &node_gpu(6000, 10000, 4000), &empty),
        50
    );
    assert_eq!(
        least_g.node_score(&pod_g, &node_gpu(6000, 10000, 10000), &empty),
        60
    );
    assert_eq!(
        resource_value(
            &pod,
            &node_gpu(6000, 10000, 4000),
            &empty,
            false,
            ResourceName::Gpu,
            1
        ),
        ResourceValue::new(0, 0, 1)
    );
}

#[test]
fn balanced_allocation_plugin_matches_upstream() {
    let b = BalancedAllocation::default();
    let empty = NodeAlloc::default();
    // cpu 3000/4000, memory 5000/10000 → 87; 3000/6000, 5000/10000 → 100.
    let pod = Resources::new(3000, 5000);
    assert_eq!(b.node_score(&pod, &node(4000, 10000), &empty), 87);
    assert_eq!(b.node_score(&pod, &node(6000, 10000), &empty), 100);
    // Real requests, no non-zero defaults: cpuOnly on a node holding cpuOnly → 1 and 0 → 50.
    let cpu_only = Resources::new(3000, 0);
    assert_eq!(
        b.node_score(&cpu_only, &node(6000, 10000), &on_node(&[cpu_only])),
        50
    );
    // A best-effort pod: upstream's PreScore skips the plugin; here 0 on every node.
    assert_eq!(
        b.node_score(&Resources::ZERO, &node(4000, 10000), &empty),
        0
    );
    // "include scalar resource": cpu, memory, nvidia.com/gpu; the pod requests 1 gpu only.
    let b3 = BalancedAllocation {
        resources: vec![
            (ResourceName::Cpu, 1),
            (ResourceName::Memory, 1),
            (ResourceName::Gpu, 1),
        ],
    };
    let gpu_pod = Resources::ZERO.with_gpu(1000);
    let n = node_gpu(3500, 40000, 8000);
    let held = on_node(&[Resources::new(3000, 5000).with_gpu(3000)]);
    assert_eq!(b3.node_score(&gpu_pod, &n, &held), 70);
    assert_eq!(
        b3.node_score(&gpu_pod, &n, &on_node(&[Resources::new(3000, 5000)])),
        65
    );
    // "node without the scalar resource": the pod requests no gpu → skipped → 63 on both.
    assert_eq!(
        b3.node_score(&pod, &node_gpu(3500, 40000, 8000), &empty),
        63
    );
    assert_eq!(b3.node_score(&pod, &node(3500, 40000), &empty), 63);
}

#[test]
fn requested_to_capacity_ratio_plugin_follows_its_shape() {
    let empty = NodeAlloc::default();
    let pod = Resources::new(3000, 5000);
    // Shape (0, 10), (100, 0): 38 and 50, as upstream's table.
    let s = RequestedToCapacityRatio::new(&[(0, 10), (100, 0)], DEFAULT_RESOURCES.to_vec());
    assert_eq!(s.node_score(&pod, &node(4000, 10000), &empty), 38);
    assert_eq!(s.node_score(&pod, &node(6000, 10000), &empty), 50);
    // Bin packing on the extended resource: 2 of 8 → 2, 4 of 4 → 10.
    let pack = RequestedToCapacityRatio::new(&[(0, 0), (100, 1)], vec![(ResourceName::Gpu, 1)]);
    let pod_g = Resources::ZERO.with_gpu(2000);
    assert_eq!(pack.node_score(&pod_g, &node_gpu(0, 0, 8000), &empty), 2);
    assert_eq!(
        pack.node_score(
            &pod_g,
            &node_gpu(0, 0, 4000),
            &on_node(&[Resources::ZERO.with_gpu(2000)])
        ),
        10
    );
    assert_eq!(pack.broken_linear(75), 7);
}

#[test]
fn fit_filter_names_the_resource() {
    let n = node(4000, 10000);
    assert_eq!(
        fits(&Resources::new(4000, 10000), &n, &NodeAlloc::default()),
        Ok(())
    );
    assert_eq!(
        fits(
            &Resources::new(1, 0),
            &n,
            &on_node(&[Resources::new(4000, 0)])
        ),
        Err(FilterReason::Insufficient(ResourceName::Cpu))
    );
}
