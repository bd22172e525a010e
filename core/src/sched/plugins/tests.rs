//! Upstream's test tables (noderesources/*_test.go), replayed with the
//! arithmetic worked in comments. Quantities in those tables are plain
//! numbers: "4000" cpu means 4000 cores in Kubernetes, but every score is a
//! ratio, so we state them as millicores and bytes of the same magnitudes.

use super::*;
use crate::model::NodeSpec;

/// (pod request, node allocatable, existing pods' requests, expected score), as (cpu, memory).
type Case = ((u64, u64), (u64, u64), &'static [(u64, u64)], i64);

fn node(cpu: u64, mem: u64) -> NodeStatus {
    let r = Resources::new(cpu, mem);
    NodeStatus::new(NodeSpec {
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
fn on_node(pods: &[(u64, u64)]) -> NodeAlloc {
    let mut a = NodeAlloc::default();
    for &(c, m) in pods {
        a.add(Resources::new(c, m));
    }
    a
}

#[test]
fn most_allocated_matches_upstream_table() {
    let most = MostAllocated::default();
    // (pod request, node, existing pods, expected) from most_allocated_test.go.
    let cases: &[Case] = &[
        // cpu 3000·100/4000 = 75, mem 5000·100/10000 = 50 → (75 + 50)/2 = 62 (integer division).
        ((3000, 5000), (4000, 10000), &[], 62),
        // cpu 3000·100/6000 = 50, mem 50 → 50.
        ((3000, 5000), (6000, 10000), &[], 50),
        // pod asks nothing → non-zero 100m/200Mi counted; existing 3000+3000 cpu, 0 mem (→ 200Mi each).
        // Here memory is in bytes like upstream's: 2·200Mi + 200Mi = 629145600 > 20000 → capped: 100.
        // cpu (6000 + 100)·100/10000 = 61 → (61 + 100)/2 = 80.
        ((0, 0), (10000, 20000), &[(3000, 0), (3000, 0)], 80),
        // resources requested equal capacity: cpu 5000/5000 = 100, mem 9000/10000 = 90 → 95.
        ((5000, 9000), (5000, 10000), &[], 95),
        // cpu 5000/10000 = 50, mem 9000/9000 = 100 → 75.
        ((5000, 9000), (10000, 9000), &[], 75),
    ];
    for (i, &(pod, n, pods, want)) in cases.iter().enumerate() {
        let got = most.node_score(
            &Resources::new(pod.0, pod.1),
            &node(n.0, n.1),
            &on_node(pods),
        );
        assert_eq!(got, want, "case {i}");
    }
    // Weights memory 2, cpu 1: (75·1 + 50·2)/3 = 175/3 = 58.
    let w = MostAllocated {
        resources: vec![(ResourceName::Memory, 2), (ResourceName::Cpu, 1)],
    };
    assert_eq!(
        w.node_score(
            &Resources::new(3000, 5000),
            &node(4000, 10000),
            &NodeAlloc::default()
        ),
        58
    );
}

#[test]
fn upstream_nonzero_request_case() {
    // most_allocated_test.go "no resources requested, pods scheduled, nonzero request for resource":
    // node 250m cpu, 1000Mi; two existing pods and the new one request nothing → 3 × 100m = 300m > 250m
    // → cpu 100; memory 3 × 200Mi = 600Mi of 1000Mi = 60 → (100 + 60)/2 = 80. Empty node: 100/250 = 40,
    // 200/1000 = 20 → 30.
    let most = MostAllocated::default();
    let n = node(250, 1000 << 20);
    assert_eq!(
        most.node_score(&Resources::ZERO, &n, &on_node(&[(0, 0), (0, 0)])),
        80
    );
    assert_eq!(
        most.node_score(&Resources::ZERO, &n, &NodeAlloc::default()),
        30
    );
}

#[test]
fn least_allocated_matches_upstream_table() {
    let least = LeastAllocated::default();
    let cases: &[Case] = &[
        // least_allocated_test.go "nothing scheduled, resources requested, differently sized nodes":
        // cpu (4000 − 3000)·100/4000 = 25, mem (10000 − 5000)·100/10000 = 50 → 37.
        ((3000, 5000), (4000, 10000), &[], 37),
        // cpu (6000 − 3000)·100/6000 = 50, mem 50 → 50.
        ((3000, 5000), (6000, 10000), &[], 50),
        // Over capacity scores 0: cpu 3000 + 3000 > 4000 → 0; mem (10000 − 1000 − 5000)·100/10000 = 40
        // → (0 + 40)/2 = 20.
        ((3000, 5000), (4000, 10000), &[(3000, 1000)], 20),
        // Empty pod on an empty 4000/10000... node in bytes: cpu (4000 − 100)·100/4000 = 97;
        // memory 200Mi > 10000 bytes → 0 → (97 + 0)/2 = 48.
        ((0, 0), (4000, 10000), &[], 48),
    ];
    for (i, &(pod, n, pods, want)) in cases.iter().enumerate() {
        assert_eq!(
            least.node_score(
                &Resources::new(pod.0, pod.1),
                &node(n.0, n.1),
                &on_node(pods)
            ),
            want,
            "case {i}"
        );
    }
}

#[test]
fn balanced_allocation_uses_real_requests() {
    let b = BalancedAllocation;
    // cpu 3000/4000 = 0.75, mem 5000/10000 = 0.5: std = 0.125 → (1 − 0.125)·100 = 87.5 → 87.
    assert_eq!(
        b.node_score(
            &Resources::new(3000, 5000),
            &node(4000, 10000),
            &NodeAlloc::default()
        ),
        87
    );
    // Perfectly balanced: 0.5 and 0.5 → 100.
    assert_eq!(
        b.node_score(
            &Resources::new(2000, 5000),
            &node(4000, 10000),
            &NodeAlloc::default()
        ),
        100
    );
    // A pod requesting nothing on an empty node: fractions 0 and 0 → 100 (no non-zero defaults here).
    assert_eq!(
        b.node_score(&Resources::ZERO, &node(4000, 10000), &NodeAlloc::default()),
        100
    );
    // Fractions cap at 1: cpu 6000/4000 → 1, mem 0 → std 0.5 → 50.
    assert_eq!(
        b.node_score(
            &Resources::new(6000, 0),
            &node(4000, 10000),
            &NodeAlloc::default()
        ),
        50
    );
}

#[test]
fn requested_to_capacity_ratio_follows_its_shape() {
    // Shape (0, 0), (100, 10) → scores 0..100 (×10): bin packing.
    let r = RequestedToCapacityRatio::new(&[(0, 0), (100, 10)], DEFAULT_RESOURCES.to_vec());
    // requested_to_capacity_ratio_test.go: node 4000 cpu / 10000 mem, pod 3000/5000:
    // cpu 3000·100/4000 = 75 → 75; mem 50 → 50; round((75 + 50)/2) = round(62.5) = 63.
    assert_eq!(
        r.node_score(
            &Resources::new(3000, 5000),
            &node(4000, 10000),
            &NodeAlloc::default()
        ),
        63
    );
    // Shape (0, 10), (100, 0) → spreading: cpu 100 − 75 = 25, mem 50 → round(37.5) = 38.
    let s = RequestedToCapacityRatio::new(&[(0, 10), (100, 0)], DEFAULT_RESOURCES.to_vec());
    assert_eq!(
        s.node_score(
            &Resources::new(3000, 5000),
            &node(4000, 10000),
            &NodeAlloc::default()
        ),
        38
    );
    // Broken line through (0,0), (50,10), (100,0): utilisation 75 → 100 + (0 − 100)·(75 − 50)/50 = 50.
    let peak =
        RequestedToCapacityRatio::new(&[(0, 0), (50, 10), (100, 0)], vec![(ResourceName::Cpu, 1)]);
    assert_eq!(peak.broken_linear(75), 50);
    assert_eq!(peak.broken_linear(0), 0);
    assert_eq!(peak.broken_linear(150), 0);
}

#[test]
fn fit_filter_names_the_resource() {
    let n = node(4000, 10000);
    assert_eq!(
        fits(&Resources::new(4000, 10000), &n, &NodeAlloc::default()),
        Ok(())
    );
    assert_eq!(
        fits(&Resources::new(1, 0), &n, &on_node(&[(4000, 0)])),
        Err(FilterReason::Insufficient(ResourceName::Cpu))
    );
}
