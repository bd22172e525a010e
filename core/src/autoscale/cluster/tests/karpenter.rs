//! Karpenter: provisioning and consolidation.

use super::*;
use crate::intstr::IntOrPercent;

/// Karpenter with the default budget (10%) acting at once (no 15 s
/// re-validation, which its own test covers).
fn karpenter(policy: ConsolidationPolicy, after: u64) -> Karpenter {
    Karpenter::new(KarpenterConfig {
        consolidation_policy: policy,
        consolidate_after: SimDuration::from_secs(after),
        validation: SimDuration::ZERO,
        ..Default::default()
    })
}

/// Groups: big (8 cpu / 32Gi, 0.40/h) and small (2 cpu / 8Gi, 0.10/h).
fn two_groups() -> World {
    World::new(
        vec![
            group("big", "8", "32Gi", 0, 10, 0.40),
            group("small", "2", "8Gi", 0, 10, 0.10),
        ],
        &[(1000, GI)],
    )
}

#[test]
fn karpenter_deletes_empty_nodes_then_the_least_disruptive_node_that_fits_elsewhere() {
    let mut w = two_groups();
    let (x, y, e1, e2) = (
        w.add(0, NodeLife::Ready),
        w.add(0, NodeLife::Ready),
        w.add(0, NodeLife::Ready),
        w.add(0, NodeLife::Ready),
    );
    w.bind(x, 0, 2);
    w.bind(y, 0, 4);
    let mut k = karpenter(ConsolidationPolicy::WhenEmptyOrUnderutilized, 0);
    // Empty-node consolidation first, within the budget: 10% of 4 nodes
    // rounded up is 1, so one empty node per scan.
    assert_eq!(summary(&w.scan(&mut k, 1)), ["remove 2"]);
    w.nodes[e1].life = NodeLife::Removed;
    assert_eq!(summary(&w.scan(&mut k, 2)), ["remove 3"]);
    w.nodes[e2].life = NodeLife::Removed;
    // Then x (2 replicas) before y (4): x's 2 × 1 cpu fit y (4000 + 2000 ≤ 8000): delete x.
    assert_eq!(summary(&w.scan(&mut k, 2)), ["remove 0"]);
    // WhenEmpty: the same cluster without empty nodes: nothing.
    let mut only_empty = karpenter(ConsolidationPolicy::WhenEmpty, 0);
    assert!(w.scan(&mut only_empty, 3).is_empty());
    // A node draining: one disruption at a time.
    w.nodes[x].life = NodeLife::Draining;
    assert!(w.scan(&mut k, 4).is_empty());
}

#[test]
fn karpenter_replaces_a_node_by_a_cheaper_one_its_replicas_fit() {
    // One big node (0.40/h) with one 1-cpu replica, nowhere else to go: a small node
    // (2 cpu, 0.10/h < 0.40/h) takes it: replace.
    let mut w = two_groups();
    let x = w.add(0, NodeLife::Ready);
    w.bind(x, 0, 1);
    let mut k = karpenter(ConsolidationPolicy::WhenEmptyOrUnderutilized, 0);
    let a = w.scan(&mut k, 1);
    assert_eq!(summary(&a), ["replace 0 by g1"]);
    // Three replicas (3 cpu) do not fit one 2-cpu small node: no cheaper replacement.
    w.bind(x, 0, 2);
    assert!(w.scan(&mut k, 2).is_empty());
    // A small node is already the cheapest: never replaced.
    let mut w = two_groups();
    let s = w.add(1, NodeLife::Ready);
    w.bind(s, 0, 1);
    assert!(w.scan(&mut k, 1).is_empty());
}

#[test]
fn karpenter_waits_consolidate_after_from_the_last_change_on_the_node() {
    // An empty node seen first at 0 s; consolidateAfter 60 s: kept at 59 s, removed at 60 s.
    let mut w = two_groups();
    let n = w.add(0, NodeLife::Ready);
    let mut k = karpenter(ConsolidationPolicy::WhenEmptyOrUnderutilized, 60);
    assert!(w.scan(&mut k, 0).is_empty());
    // A replica comes and goes at 30 s: the node is stable only from 30 s.
    w.bind(n, 0, 1);
    w.scan(&mut k, 30);
    w.unbind(n, 0);
    w.scan(&mut k, 31);
    assert!(w.scan(&mut k, 90).is_empty());
    assert_eq!(summary(&w.scan(&mut k, 91)), ["remove 0"]);
}

#[test]
fn karpenter_provisions_the_group_cheapest_per_replica() {
    // 3 pending replicas of 1 cpu: big takes them on 1 node (0.40/3 = 0.133 per replica),
    // small on ⌈3/2⌉ = 2 nodes (0.20/3 = 0.067): small.
    let mut w = two_groups();
    w.pend(0, 3);
    let mut k = karpenter(ConsolidationPolicy::WhenEmptyOrUnderutilized, 0);
    assert_eq!(summary(&w.scan(&mut k, 1)), ["up g1 +2 (3 pods)"]);
}

#[test]
fn karpenter_keeps_nodes_with_do_not_disrupt_pods_and_honours_pdbs() {
    use crate::autoscale::cluster::drain::DO_NOT_DISRUPT;
    use crate::disruption::{DisruptionRule, IntOrPercent, PodDisruptionBudget};
    // x holds 2 replicas of s0, y 4: x's fit y (4000 + 2000 ≤ 8000), as above.
    let setup = || {
        let mut w = two_groups();
        let (x, y) = (w.add(0, NodeLife::Ready), w.add(0, NodeLife::Ready));
        w.bind(x, 0, 2);
        w.bind(y, 0, 4);
        w
    };
    let mut k = karpenter(ConsolidationPolicy::WhenEmptyOrUnderutilized, 0);
    assert_eq!(summary(&setup().scan(&mut k, 1)), ["remove 0"]);
    // karpenter.sh/do-not-disrupt: "true" on s0's pods: neither node is a candidate.
    let mut w = setup();
    w.desired.services[0]
        .meta
        .annotations
        .insert(DO_NOT_DISRUPT.into(), "true".into());
    assert!(w.scan(&mut k, 2).is_empty());
    // A PDB over s0 with minAvailable 5 of 6 healthy: one disruption left, x needs two.
    let mut w = setup();
    w.pdbs.push(PodDisruptionBudget {
        name: "s0".into(),
        namespace: "default".into(),
        selector: Some(Default::default()),
        rule: DisruptionRule::MinAvailable(IntOrPercent::Int(5)),
    });
    assert!(w.scan(&mut k, 3).is_empty());
    // minAvailable 4: two left: x goes.
    w.pdbs[0].rule = DisruptionRule::MinAvailable(IntOrPercent::Int(4));
    assert_eq!(summary(&w.scan(&mut k, 4)), ["remove 0"]);
}

#[test]
fn disruption_budgets_bound_how_many_nodes_go_at_once() {
    // Five empty big nodes. budgets nodes: 10% → ⌈0.5⌉ = 1; 50% → ⌈2.5⌉ = 3;
    // "2" → 2; with both 50% and 2, the most restrictive: 2. A booting node
    // counts in the total and as not ready: 50% of 6 = 3, less 1 = 2.
    let cases: [(&[IntOrPercent], bool, usize); 4] = [
        (&[IntOrPercent::Percent(10)], false, 1),
        (&[IntOrPercent::Percent(50)], false, 3),
        (&[IntOrPercent::Percent(50), IntOrPercent::Int(2)], false, 2),
        (&[IntOrPercent::Percent(50)], true, 2),
    ];
    for (budgets, booting, want) in cases {
        let mut w = two_groups();
        for _ in 0..5 {
            w.add(0, NodeLife::Ready);
        }
        if booting {
            w.add(0, NodeLife::Booting);
        }
        let mut k = Karpenter::new(KarpenterConfig {
            budgets: budgets.to_vec(),
            validation: SimDuration::ZERO,
            ..Default::default()
        });
        assert_eq!(
            w.scan(&mut k, 1).len(),
            want,
            "{budgets:?} booting {booting}"
        );
    }
}

#[test]
fn multi_node_consolidation_takes_the_longest_prefix_that_fits() {
    // Three big nodes (8 cpu, 0.40/h): x and y with one 1-cpu replica each,
    // z with five. Candidates by disruption cost: x, y, z. Prefix x+y: their
    // 2 replicas fit z (5 + 2 ≤ 8): a delete. Prefix x+y+z: the 7 replicas
    // fit one new big node (7 ≤ 8) at 0.40/h < 3 × 0.40: a replace — the
    // longest, so chosen. Under the default 10% budget (⌈0.3⌉ = 1) only a
    // prefix of one: x alone, whose replica fits y: delete x.
    let setup = || {
        let mut w = two_groups();
        let (x, y, z) = (
            w.add(0, NodeLife::Ready),
            w.add(0, NodeLife::Ready),
            w.add(0, NodeLife::Ready),
        );
        w.bind(x, 0, 1);
        w.bind(y, 0, 1);
        w.bind(z, 0, 5);
        w
    };
    let mut k = Karpenter::new(KarpenterConfig {
        budgets: vec![IntOrPercent::Percent(100)],
        validation: SimDuration::ZERO,
        ..Default::default()
    });
    let a = setup().scan(&mut k, 1);
    assert_eq!(summary(&a), ["replace 0+1+2 by g0"]);
    let mut k = karpenter(ConsolidationPolicy::WhenEmptyOrUnderutilized, 0);
    assert_eq!(summary(&setup().scan(&mut k, 1)), ["remove 0"]);
}

#[test]
fn a_consolidation_decision_waits_15_s_and_is_dropped_if_it_no_longer_holds() {
    // x (2 replicas) fits y (4): decided at 1 s, carried out at 16 s.
    let setup = || {
        let mut w = two_groups();
        let (x, y) = (w.add(0, NodeLife::Ready), w.add(0, NodeLife::Ready));
        w.bind(x, 0, 2);
        w.bind(y, 0, 4);
        (w, y)
    };
    let mut k = Karpenter::new(KarpenterConfig::default());
    let (mut w, y) = setup();
    assert!(w.scan(&mut k, 1).is_empty());
    assert!(w.scan(&mut k, 15).is_empty());
    assert_eq!(summary(&w.scan(&mut k, 16)), ["remove 0"]);
    // Meanwhile y fills up (4 + 3 = 7, and x's 2 no longer fit: 9 > 8): at
    // 16 s the delete is dropped; the decision made instead — replace x by
    // a small node (2 cpu, 0.10/h < 0.40/h), which its 2 replicas fit — is
    // held from 16 s and carried out at 31 s.
    let mut k = Karpenter::new(KarpenterConfig::default());
    let (mut w, y2) = setup();
    assert_eq!(y, y2);
    assert!(w.scan(&mut k, 1).is_empty());
    w.bind(y, 0, 3);
    assert!(w.scan(&mut k, 16).is_empty());
    assert!(w.scan(&mut k, 30).is_empty());
    assert_eq!(summary(&w.scan(&mut k, 31)), ["replace 0 by g1"]);
}

#[test]
fn nodes_expire_after_expire_after_whatever_the_budget() {
    // One small node (the cheapest group) with a replica nothing else can
    // take: consolidation never removes it; expireAfter 1h does, at 3600 s.
    let mut w = two_groups();
    let s = w.add(1, NodeLife::Ready);
    w.bind(s, 0, 1);
    let mut k = Karpenter::new(KarpenterConfig {
        expire_after: Some(SimDuration::from_secs(3600)),
        budgets: vec![IntOrPercent::Int(0)],
        ..Default::default()
    });
    assert!(w.scan(&mut k, 3599).is_empty());
    let a = w.scan(&mut k, 3600);
    assert_eq!(summary(&a), ["remove 0"]);
    let NodeAction::Remove { reason, .. } = &a[0] else {
        unreachable!()
    };
    assert_eq!(reason, "expired: lived 3600s (expireAfter 3600s)");
    // The default is 720h.
    assert_eq!(
        KarpenterConfig::default().expire_after,
        Some(SimDuration::from_secs(720 * 3600))
    );
}
