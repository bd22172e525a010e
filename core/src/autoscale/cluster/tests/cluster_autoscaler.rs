//! The Cluster Autoscaler: scale-up limits, expanders, the scale-down rules.

use super::*;
use crate::autoscale::cluster::drain::{SAFE_TO_EVICT, SAFE_TO_EVICT_LOCAL_VOLUMES, utilization};
use crate::disruption::{DisruptionRule, IntOrPercent, PodDisruptionBudget};
use crate::model::{Controller, Resources, ServiceKind, ServiceSpec, Volume, VolumeSource};
use crate::testing::{node, service};

fn ca() -> ClusterAutoscaler {
    ClusterAutoscaler::new(ClusterAutoscalerConfig::default())
}

#[test]
fn scale_up_is_capped_by_the_group_max_and_the_cluster_max() {
    // Group of 4-cpu nodes, max 3, one full node; 10 pending replicas of 1 cpu.
    // Estimate: 4 per node → ⌈10/4⌉ = 3 nodes, but the group has room for 3 − 1 = 2:
    // 2 nodes taking 8 replicas.
    let mut w = World::new(vec![group("g", "4", "16Gi", 0, 3, 1.0)], &[(1000, GI)]);
    let full = w.add(0, NodeLife::Ready);
    w.bind(full, 0, 4);
    w.pend(0, 10);
    assert_eq!(summary(&w.scan(&mut ca(), 10)), ["up g0 +2 (8 pods)"]);
    // --max-nodes-total 2: room for 2 − 1 = 1 node, taking 4 replicas.
    let mut capped = ClusterAutoscaler::new(ClusterAutoscalerConfig {
        max_nodes_total: 2,
        ..Default::default()
    });
    assert_eq!(summary(&w.scan(&mut capped, 10)), ["up g0 +1 (4 pods)"]);
    // At the cluster max: no option, no action.
    let mut at_max = ClusterAutoscaler::new(ClusterAutoscalerConfig {
        max_nodes_total: 1,
        ..Default::default()
    });
    assert!(w.scan(&mut at_max, 10).is_empty());
}

#[test]
fn replicas_that_fit_a_ready_or_booting_node_are_not_scaled_for() {
    // One full ready node, one booting (empty) 4-cpu node; 4 pending of 1 cpu: they
    // fit the booting node (4 × 1000 ≤ 4000): no scale-up.
    let mut w = World::new(vec![group("g", "4", "16Gi", 0, 10, 1.0)], &[(1000, GI)]);
    let full = w.add(0, NodeLife::Ready);
    w.bind(full, 0, 3);
    w.add(0, NodeLife::Booting);
    w.pend(0, 4);
    let mut scaler = ca();
    // The ready node has 1000m free: 1 fits there, 3 on the booting node.
    assert!(w.scan(&mut scaler, 10).is_empty());
    // Two more: 6 pending − 1 (ready node) − 4 (booting node) = 1 left: one node.
    w.pend(0, 2);
    assert_eq!(summary(&w.scan(&mut scaler, 20)), ["up g0 +1 (1 pods)"]);
}

#[test]
fn the_expander_chooses_among_the_groups_that_help() {
    // Groups: a (4 cpu / 16Gi, 0.20/h), b (8 cpu / 8Gi, 0.30/h). Services: s0 (1 cpu, 1Gi).
    // 6 pending: a needs ⌈6/4⌉ = 2 nodes, b needs 1 (8 cpu, 8Gi: 6 fit).
    // least-waste: a = (8000−6000)/8000 + (32−6)/32 = 1.0625, b = 2000/8000 + 2/8 = 0.5 → b.
    // price: a = 0.4/6 = 0.067, b = 0.3/6 = 0.05 → b. most-pods: both 6 → random.
    let groups = vec![
        group("a", "4", "16Gi", 0, 10, 0.20),
        group("b", "8", "8Gi", 0, 10, 0.30),
    ];
    // priority with a at 50 and b at 10: a, though it wastes more; with
    // both at 10, `priority,least-waste` falls through to least-waste: b.
    let tier = |priority: i32, re: &str| PriorityTier {
        priority,
        patterns: vec![GroupPattern::new(re).unwrap()],
    };
    let chain = |flag: &str, tiers: Vec<PriorityTier>| {
        ExpanderChain::parse(flag).unwrap().with_priorities(tiers)
    };
    let cases = [
        (Expander::LeastWaste.into(), "up g1 +1 (6 pods)"),
        (Expander::Price.into(), "up g1 +1 (6 pods)"),
        (
            chain("priority", vec![tier(50, "^a$"), tier(10, "^b$")]),
            "up g0 +2 (6 pods)",
        ),
        (
            chain("priority,least-waste", vec![tier(10, "^[ab]$")]),
            "up g1 +1 (6 pods)",
        ),
    ];
    for (expander, want) in cases {
        let mut w = World::new(groups.clone(), &[(1000, GI)]);
        w.pend(0, 6);
        let mut scaler = ClusterAutoscaler::new(ClusterAutoscalerConfig {
            expander: expander.clone(),
            ..Default::default()
        });
        assert_eq!(summary(&w.scan(&mut scaler, 10)), [want], "{expander}");
    }
    // A replica selecting a's label: only a helps, whatever the expander.
    let mut w = World::new(groups, &[(1000, GI)]);
    w.groups[0]
        .template
        .labels
        .insert("tier".into(), "web".into());
    w.desired.services[0]
        .placement
        .node_selector
        .insert("tier".into(), "web".into());
    w.pend(0, 6);
    let mut scaler = ClusterAutoscaler::new(ClusterAutoscalerConfig {
        expander: Expander::Price.into(),
        ..Default::default()
    });
    assert_eq!(summary(&w.scan(&mut scaler, 10)), ["up g0 +2 (6 pods)"]);
}

/// Three 4-cpu nodes of a group with `min`: a holds 1 replica (1 cpu: 0.25),
/// b and c hold 3 each (0.75).
fn three_nodes(min: u32) -> World {
    let mut w = World::new(vec![group("g", "4", "16Gi", min, 10, 1.0)], &[(1000, GI)]);
    for n in [1, 3, 3] {
        let i = w.add(0, NodeLife::Ready);
        w.bind(i, 0, n);
    }
    w
}

#[test]
fn an_underutilized_node_whose_replicas_fit_elsewhere_goes_after_the_unneeded_time() {
    // a: 1000/4000 = 0.25 < 0.5; its replica fits b (3000 + 1000 ≤ 4000). b, c: 0.75.
    let mut w = three_nodes(1);
    let mut s = ca();
    // t = 0: a becomes unneeded; 599 s later it is still too early.
    assert!(w.scan(&mut s, 0).is_empty());
    assert_eq!(s.unneeded_since().keys().collect::<Vec<_>>(), [&0]);
    assert!(w.scan(&mut s, 599).is_empty());
    // t = 600: unneeded for 10 min: removed.
    let a = w.scan(&mut s, 600);
    assert_eq!(summary(&a), ["remove 0"]);
    let NodeAction::Remove { reason, .. } = &a[0] else {
        unreachable!()
    };
    assert_eq!(
        reason,
        "utilization 0.250 below 0.5 for 600s; its 1 replicas fit elsewhere"
    );
}

#[test]
fn scale_down_rules_table() {
    // Each row: the rule, a change to `three_nodes(min)`, the `min`, the nodes unneeded after
    // the scan at 0 s, and the removals at 600 s (10 min later). Node a is node 0.
    type Change = fn(&mut World);
    type Case = (
        &'static str,
        Change,
        u32,
        &'static [u32],
        &'static [&'static str],
    );
    let cases: [Case; 17] = [
        // a: 1000/4000 = 0.25 < 0.5, its replica fits b (3000 + 1000 ≤ 4000): removed.
        (
            "below the threshold, fits elsewhere",
            |_| {},
            1,
            &[0],
            &["remove 0"],
        ),
        // a holds 2: 2000/4000 = 0.5, not below 0.5: never unneeded.
        ("at the threshold", |w| w.bind(0, 0, 1), 1, &[], &[]),
        // b and c full (4000/4000): a's replica fits no other node.
        (
            "nowhere to go",
            |w| {
                w.bind(1, 0, 1);
                w.bind(2, 0, 1);
            },
            1,
            &[],
            &[],
        ),
        // 3 nodes, min 3: unneeded, but the group may not shrink.
        ("group at its min", |_| {}, 3, &[0], &[]),
        // A job pod on a (100m): a Job is a controller, so its pod moves like
        // any other (upstream's ReplicatedRule): a is (1000 + 100)/4000 =
        // 0.275; b takes the service's 1000 (3000 + 1000 ≤ 4000), c the
        // job's 100.
        (
            "a job pod",
            |w| {
                w.desired.services.push(ServiceSpec {
                    kind: ServiceKind::Job,
                    requests: Resources::new(100, 0),
                    ..service("job.0")
                });
                w.bind(0, 1, 1);
            },
            1,
            &[0],
            &["remove 0"],
        ),
        // Threshold 0.5, but memory decides: a's replica is 1 cpu and 12Gi of 16Gi = 0.75.
        (
            "memory above the threshold",
            |w| {
                w.desired.services.push(ServiceSpec {
                    requests: Resources::new(0, 11 * GI),
                    ..service("mem")
                });
                w.bind(0, 1, 1);
            },
            1,
            &[],
            &[],
        ),
        // Drainability (FAQ "What types of pods can prevent CA from removing a node?"):
        // safe-to-evict "false" keeps a (b and c are above the threshold anyway).
        (
            "safe-to-evict false",
            |w| annotate(w, SAFE_TO_EVICT, "false"),
            1,
            &[],
            &[],
        ),
        // A pod no controller owns keeps its node (upstream's replicated rule,
        // NotReplicated) unless it is safe-to-evict "true".
        (
            "bare pod",
            |w| w.desired.services[0].controller = Controller::None,
            1,
            &[],
            &[],
        ),
        (
            "bare pod, safe-to-evict true",
            |w| {
                w.desired.services[0].controller = Controller::None;
                annotate(w, SAFE_TO_EVICT, "true");
            },
            1,
            &[0],
            &["remove 0"],
        ),
        // Local storage (--skip-nodes-with-local-storage, default true): a disk emptyDir
        // keeps a; listed in safe-to-evict-local-volumes it does not; a memory emptyDir
        // is no local storage (isLocalVolume); a hostPath is.
        (
            "local storage: emptyDir",
            |w| volume(w, "scratch", false),
            1,
            &[],
            &[],
        ),
        (
            "local storage listed safe",
            |w| {
                volume(w, "scratch", false);
                annotate(w, SAFE_TO_EVICT_LOCAL_VOLUMES, "logs, scratch");
            },
            1,
            &[0],
            &["remove 0"],
        ),
        (
            "emptyDir in memory",
            |w| volume(w, "shm", true),
            1,
            &[0],
            &["remove 0"],
        ),
        (
            "local storage: hostPath",
            |w| {
                w.desired.services[0].volumes.push(Volume {
                    name: "logs".into(),
                    source: VolumeSource::HostPath {
                        path: "/var/log".into(),
                    },
                })
            },
            1,
            &[],
            &[],
        ),
        // A kube-system pod no PDB covers keeps its node (--skip-nodes-with-system-pods).
        ("kube-system, no PDB", |w| kube_system(w), 1, &[], &[]),
        // … unless it is safe-to-evict "true".
        (
            "kube-system, safe-to-evict true",
            |w| {
                kube_system(w);
                annotate(w, SAFE_TO_EVICT, "true");
            },
            1,
            &[0],
            &["remove 0"],
        ),
        // … or a PDB covers it that allows a disruption: 7 healthy, minAvailable 6 → 1 left.
        (
            "kube-system, PDB allows one",
            |w| {
                kube_system(w);
                w.pdbs.push(pdb("kube-system", 6));
            },
            1,
            &[0],
            &["remove 0"],
        ),
        // A PDB with no disruption left: 7 healthy, minAvailable 7 → 0 allowed.
        (
            "PDB exhausted",
            |w| w.pdbs.push(pdb("default", 7)),
            1,
            &[],
            &[],
        ),
    ];
    for (rule, change, min, unneeded, removed) in cases {
        let mut w = three_nodes(min);
        change(&mut w);
        let mut s = ca();
        assert!(w.scan(&mut s, 0).is_empty(), "{rule}");
        let ids: Vec<u32> = s.unneeded_since().keys().copied().collect();
        assert_eq!(ids, unneeded, "{rule}");
        assert_eq!(summary(&w.scan(&mut s, 600)), removed, "{rule}");
    }
}

#[test]
fn the_unneeded_timer_restarts_when_a_node_stops_qualifying() {
    // a unneeded from 0; at 300 s it gets a second replica (0.5: not below): timer dropped;
    // at 310 s it is back to 0.25: unneeded since 310, so removed at 910, not at 600.
    let mut w = three_nodes(1);
    let mut s = ca();
    w.scan(&mut s, 0);
    w.bind(0, 0, 1);
    w.scan(&mut s, 300);
    assert!(s.unneeded_since().is_empty());
    w.unbind(0, 0);
    w.scan(&mut s, 310);
    assert!(w.scan(&mut s, 600).is_empty());
    assert!(w.scan(&mut s, 909).is_empty());
    assert_eq!(summary(&w.scan(&mut s, 910)), ["remove 0"]);
}

#[test]
fn no_removal_within_the_delay_after_a_scale_up() {
    // a unneeded from 0. At 100 s a pending replica of 5 cpu (bigger than any node's
    // free room, fits an empty 8-cpu node of group h) triggers a scale-up: cool-down
    // until 100 + 600 = 700 s. The scale-up scan skips scale-down, so a's timer from 0 holds.
    let mut w = three_nodes(1);
    w.groups.push(group("h", "8", "16Gi", 0, 5, 1.0));
    w.desired.services.push(ServiceSpec {
        requests: Resources::new(5000, GI),
        ..service("big")
    });
    let mut s = ca();
    w.scan(&mut s, 0);
    w.pend(1, 1);
    assert_eq!(summary(&w.scan(&mut s, 100)), ["up g1 +1 (1 pods)"]);
    w.clear_pending();
    assert!(w.scan(&mut s, 650).is_empty());
    assert!(w.scan(&mut s, 699).is_empty());
    assert_eq!(summary(&w.scan(&mut s, 700)), ["remove 0"]);
}

#[test]
fn empty_nodes_go_in_bulk_and_non_empty_ones_one_at_a_time() {
    // Group min 0: node 0 holds 2 replicas (2000/4000 = 0.5: no candidate), nodes 1–3 are
    // empty, nodes 4 and 5 hold 1 replica each (0.25). Empty ones are looked at first;
    // node 4's replica goes to node 0 (2000 + 1000 ≤ 4000), node 5's too (3000 + 1000 ≤ 4000).
    let mut w = World::new(vec![group("g", "4", "16Gi", 0, 10, 1.0)], &[(1000, GI)]);
    for n in [2, 0, 0, 0, 1, 1] {
        let i = w.add(0, NodeLife::Ready);
        w.bind(i, 0, n);
    }
    let mut s = ClusterAutoscaler::new(ClusterAutoscalerConfig {
        max_empty_bulk_delete: 2,
        ..Default::default()
    });
    w.scan(&mut s, 0);
    assert_eq!(
        s.unneeded_since().keys().copied().collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    // At 600 s: 2 empty nodes (bulk limit 2) and 1 non-empty node.
    assert_eq!(
        summary(&w.scan(&mut s, 600)),
        ["remove 1", "remove 2", "remove 4"]
    );
    // While node 4 drains, node 5 waits; the last empty node goes.
    w.nodes[4].life = NodeLife::Draining;
    w.nodes[1].life = NodeLife::Removed;
    w.nodes[2].life = NodeLife::Removed;
    assert_eq!(summary(&w.scan(&mut s, 610)), ["remove 3"]);
}

#[test]
fn utilization_is_the_larger_of_cpu_and_memory_or_gpu_alone() {
    let mut n = node("n").cpu("4").mem("16Gi").status();
    n.add(ServiceId(0), Resources::new(1000, 8 * GI));
    // cpu 1000/4000 = 0.25, memory 8/16 = 0.5 → 0.5.
    assert_eq!(utilization(&n), 0.5);
    let mut g = node("g").cpu("4").mem("16Gi").gpu(2).status();
    g.add(ServiceId(0), Resources::new(3500, GI).with_gpu(500));
    // GPU node: 500/2000 = 0.25, although cpu is 3500/4000 = 0.875.
    assert_eq!(utilization(&g), 0.25);
}

/// Sets annotation `k = v` on service 0's pods.
fn annotate(w: &mut World, k: &str, v: &str) {
    w.desired.services[0]
        .meta
        .annotations
        .insert(k.into(), v.into());
}

/// Moves service 0's pods into `kube-system`.
fn kube_system(w: &mut World) {
    w.desired.services[0].meta.namespace = "kube-system".into();
}

/// A PDB over every pod of `namespace` (an empty selector) with `minAvailable: n`.
fn pdb(namespace: &str, n: u32) -> PodDisruptionBudget {
    PodDisruptionBudget {
        name: "budget".into(),
        namespace: namespace.into(),
        selector: Some(Default::default()),
        rule: DisruptionRule::MinAvailable(IntOrPercent::Int(n)),
    }
}

#[test]
fn nodes_found_unneeded_in_one_scan_spend_the_same_pdb() {
    // Four 4-cpu nodes holding 2, 2, 1, 1 replicas of 1 cpu: a (2) and b (3) are at
    // 0.25 < 0.5; the drain simulation puts both replicas on node 0 (2000 + 2 × 1000 ≤ 4000).
    let mut w = World::new(vec![group("g", "4", "16Gi", 0, 10, 1.0)], &[(1000, GI)]);
    for n in [2, 2, 1, 1] {
        let i = w.add(0, NodeLife::Ready);
        w.bind(i, 0, n);
    }
    let mut free = ca();
    assert!(w.scan(&mut free, 0).is_empty());
    assert_eq!(
        free.unneeded_since().keys().copied().collect::<Vec<_>>(),
        [2, 3]
    );
    // minAvailable 5 of 6 healthy: one disruption. a spends it (RemainingPdbTracker's
    // RemovePods), so b's replica would take the budget below its minimum: b is kept.
    w.pdbs.push(pdb("default", 5));
    let mut s = ca();
    assert!(w.scan(&mut s, 0).is_empty());
    assert_eq!(s.unneeded_since().keys().copied().collect::<Vec<_>>(), [2]);
}

#[test]
fn an_unregistered_node_is_removed_after_max_node_provision_time_and_its_group_backed_off() {
    // Groups a (0.10/h) and b (0.20/h), both 4 cpu; price prefers a. A node
    // of a was requested at 0 s and never registered; one 1-cpu replica waits.
    let groups = vec![
        group("a", "4", "16Gi", 0, 10, 0.10),
        group("b", "4", "16Gi", 0, 10, 0.20),
    ];
    let mut w = World::new(groups, &[(1000, GI)]);
    let stuck = w.add(0, NodeLife::Booting);
    w.pend(0, 1);
    let mut s = ClusterAutoscaler::new(ClusterAutoscalerConfig {
        expander: Expander::Price.into(),
        ..Default::default()
    });
    // 899 s: the replica fits the upcoming node: nothing to do.
    assert!(w.scan(&mut s, 899).is_empty());
    // 900 s = 15 min: the node is deleted, a backed off for 5 min.
    let a = w.scan(&mut s, 900);
    assert_eq!(summary(&a), ["remove 0"]);
    let NodeAction::Remove { reason, .. } = &a[0] else {
        unreachable!()
    };
    assert_eq!(
        reason,
        "not registered 900s after it was requested (max-node-provision-time 900s): scale-up failed, group backed off until 1200s"
    );
    w.nodes[stuck].life = NodeLife::Removed;
    // 910 s: a is backed off; the expander has only b.
    assert_eq!(summary(&w.scan(&mut s, 910)), ["up g1 +1 (1 pods)"]);
    assert_eq!(s.backoff()[&0].until, SimTime::from_secs_f64(1200.0));
}

#[test]
fn the_node_group_backoff_doubles_to_its_cap_and_resets_after_three_hours() {
    // exponential_backoff.go with the defaults 5 min, 30 min, reset 3 h:
    // failures at 0, 1000, 2000, 3000, 4000 s back off 5, 10, 20, 30, 30 min;
    // a failure 3 h after the last starts again at 5 min.
    let (initial, max) = (SimDuration::from_secs(300), SimDuration::from_secs(1800));
    let mut b = None;
    let mut got = Vec::new();
    for t in [0, 1000, 2000, 3000, 4000, 4000 + 3 * 3600] {
        let next = next_backoff(b, SimTime::from_secs_f64(t as f64), initial, max);
        got.push(next.duration.as_secs_f64() as u64 / 60);
        b = Some(next);
    }
    assert_eq!(got, [5, 10, 20, 30, 30, 5]);
}

/// Gives service 0's pods an emptyDir volume `name` (in memory or on disk).
fn volume(w: &mut World, name: &str, memory: bool) {
    w.desired.services[0].volumes.push(Volume {
        name: name.into(),
        source: VolumeSource::EmptyDir { memory },
    });
}

#[test]
fn local_storage_does_not_block_with_skip_nodes_with_local_storage_false() {
    // As the row "local storage: emptyDir" above, but with the flag off
    // (GKE since 1.22, AKS's profile): a goes as if it had no volume.
    let mut w = three_nodes(1);
    volume(&mut w, "scratch", false);
    let mut s = ClusterAutoscaler::new(ClusterAutoscalerConfig {
        skip_nodes_with_local_storage: false,
        ..Default::default()
    });
    assert!(w.scan(&mut s, 0).is_empty());
    assert_eq!(summary(&w.scan(&mut s, 600)), ["remove 0"]);
}

#[test]
fn an_unready_node_goes_after_the_unready_time_and_too_many_halt_the_autoscaler() {
    // three_nodes: a (0.25) is unneeded; made unready (its kubelet silent),
    // it waits --scale-down-unready-time (20 min) instead of 10.
    let mut w = three_nodes(1);
    w.observed.nodes[0].ready = false;
    let mut s = ca();
    assert!(w.scan(&mut s, 0).is_empty());
    assert!(w.scan(&mut s, 600).is_empty());
    assert!(w.scan(&mut s, 1199).is_empty());
    assert_eq!(summary(&w.scan(&mut s, 1200)), ["remove 0"]);
    // Four of five nodes unready: 4 > 3 (ok-total-unready-count) and
    // 4 > 45% × 5 = 2.25: the cluster is unhealthy, nothing is done, not
    // even a scale-up for 12 pending 1-cpu replicas. Three unready (3 ≤ 3):
    // healthy.
    let mut w = World::new(vec![group("g", "4", "16Gi", 0, 10, 1.0)], &[(1000, GI)]);
    for _ in 0..5 {
        w.add(0, NodeLife::Ready);
    }
    for n in 0..4 {
        w.observed.nodes[n].ready = false;
    }
    w.pend(0, 12);
    let mut s = ca();
    assert!(w.scan(&mut s, 10).is_empty());
    // Healthy again: the two ready nodes take 8, one new node the other 4.
    w.observed.nodes[3].ready = true;
    assert_eq!(summary(&w.scan(&mut s, 20)), ["up g0 +1 (4 pods)"]);
}
