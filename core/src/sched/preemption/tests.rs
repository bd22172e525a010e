//! Upstream's tables, replayed: `pkg/scheduler/framework/plugins/defaultpreemption/default_preemption_test.go`
//! (kubernetes/kubernetes commit 008b3652959ca58af8be3fb5b6ecfe9ae7638282):
//! `TestPostFilter`, `TestDryRunPreemption`, `TestSelectBestCandidate`,
//! `TestCustomSelection`, and `PodEligibleToPreemptOthers`' rules from
//! `default_preemption.go` at the same commit.
//!
//! Each upstream pod becomes a one-replica service (its own priority,
//! requests, labels) bound to its node, ready since its start time in
//! nanoseconds (`epochTimeN` = N ns; no start time = 0). Resources keep
//! upstream's numbers: `smallRes` 100m/100 bytes, `mediumRes` 200m/200,
//! `largeRes` 300m/300, `veryLargeRes` 500m/500 (every node of
//! `TestDryRunPreemption` and `TestSelectBestCandidate`). Priorities:
//! neg −100, low 0, mid 100, high 1000, veryHigh 10000. Victim lists are
//! compared as sets (by name), as upstream's comparison sorts them.
//!
//! Not expressible here, and why:
//! - `TestPostFilter` "preemption should respect absent NodeToStatusReader
//!   entry…": statuses are computed here, never passed in, so an absent
//!   entry cannot be (the taint case below covers the unresolvable status).
//! - "preemption result filtered out by extenders", fake filter plugins
//!   (`fakeFilterRC`, "get Unschedulable in the preemption phase…"), the
//!   `expectedNumFilterCalled` counts, and pod groups: no extenders, no
//!   plugin injection, no call counting, no workload-aware preemption.
//! - "pod with anti-affinity is preempted" and "preemption to resolve pod
//!   topology spread filter failure": a victim's anti-affinity against the
//!   preemptor's labels, and a spread selector across pods of different
//!   priorities, need cross-service selectors, which the model's
//!   own-service anti-affinity and spreading cannot state yet.
//! - `onePodRes` (`pods: 1`) nodes are stated as a node of 100m cpu whose
//!   pods request 100m: the model has no pod-count resource yet; the
//!   decisions are the same.

use super::*;
use crate::labels::{LabelSelector, Labels};
use crate::model::{
    NodeStatus, ReplicaStatus, Resources, ServiceId, ServiceSpec, Taint, TaintEffect,
};
use crate::testing::{node, service};

const NEG: i32 = -100;
const LOW: i32 = 0;
const MID: i32 = 100;
const HIGH: i32 = 1000;
const VERY_HIGH: i32 = 10000;

const SMALL: (u64, u64) = (100, 100);
const MEDIUM: (u64, u64) = (200, 200);
const LARGE: (u64, u64) = (300, 300);
const VERY_LARGE: (u64, u64) = (500, 500);
const NONE: (u64, u64) = (0, 0);

/// One upstream pod: name, node, priority, requests, start (ns), labels.
struct Pod(
    &'static str,
    &'static str,
    i32,
    (u64, u64),
    u64,
    &'static [(&'static str, &'static str)],
);

struct World {
    desired: DesiredState,
    observed: ObservedCluster,
    preemptor: ServiceId,
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn spec(name: &str, priority: i32, (cpu, mem): (u64, u64), l: &[(&str, &str)]) -> ServiceSpec {
    let mut s = service(name);
    s.requests = Resources::new(cpu, mem);
    s.placement.priority = priority;
    s.meta.labels = labels(l);
    s
}

/// Nodes `(name, cpu, memory)`, the pods, and the preemptor's priority and requests.
fn world(nodes: &[(&str, u64, u64)], pods: &[Pod], priority: i32, req: (u64, u64)) -> World {
    let mut observed = ObservedCluster {
        nodes: nodes
            .iter()
            .map(|&(n, cpu, mem)| {
                let mut b = node(n).spec();
                b.allocatable = Resources::new(cpu, mem);
                b.capacity = b.allocatable;
                NodeStatus::new(b)
            })
            .collect(),
        ..Default::default()
    };
    let mut desired = DesiredState::default();
    for (k, p) in pods.iter().enumerate() {
        let s = spec(p.0, p.2, p.3, p.5);
        let n = nodes.iter().position(|x| x.0 == p.1).expect("pod's node");
        observed.bind(NodeId(n as u32), ServiceId(k as u32), s.requests);
        observed.replicas.push(ReplicaStatus {
            service: ServiceId(k as u32),
            node: Some(NodeId(n as u32)),
            state: ReplicaState::Ready,
            since: SimTime(p.4),
        });
        desired.services.push(s);
    }
    desired.services.push(spec("p", priority, req, &[]));
    World {
        preemptor: ServiceId(pods.len() as u32),
        desired,
        observed,
    }
}

impl World {
    fn cluster(&self) -> Cluster<'_> {
        Cluster {
            desired: &self.desired,
            observed: &self.observed,
        }
    }

    fn name(&self, r: ReplicaId) -> &str {
        let s = self.observed.replicas[r.0 as usize].service;
        &self.desired.services[s.0 as usize].name
    }

    fn node_name(&self, n: NodeId) -> &str {
        &self.observed.nodes[n.0 as usize].spec.name
    }

    fn request(&self) -> Request<'_> {
        let s = &self.desired.services[self.preemptor.0 as usize];
        Request {
            storage: crate::storage::PodStorage::NONE,
            service: self.preemptor,
            resources: s.requests,
            constraints: &s.placement,
        }
    }

    fn priority(&self) -> i32 {
        self.desired.services[self.preemptor.0 as usize]
            .placement
            .priority
    }

    /// `preempt` with offset 0 and no nomination: `Ok(node)` or every node's reason.
    fn post_filter(&self, budgets: &[Budget<'_>]) -> Result<String, Vec<String>> {
        let all = |_: ReplicaId| true;
        let p = Preemptor {
            request: self.request(),
            priority: self.priority(),
            eligible: &all,
        };
        preempt(
            &self.cluster(),
            &p,
            PreemptionPolicy::PreemptLowerPriority,
            None,
            budgets,
            &DefaultPreemptionArgs::default(),
            &mut |_| 0,
            &|_| false,
        )
        .map(|c| self.node_name(c.nominated_node).to_string())
        .map_err(|v| v.iter().map(|(_, why)| why.to_string()).collect())
    }

    /// `DryRunPreemption` over every node that fails, from offset 0:
    /// `(node, sorted victim names, PDB violations)` in candidate order.
    fn dry_run(
        &self,
        budgets: &[Budget<'_>],
        eligible: &dyn Fn(ReplicaId) -> bool,
    ) -> Vec<(String, Vec<String>, u32)> {
        let p = Preemptor {
            request: self.request(),
            priority: self.priority(),
            eligible,
        };
        let mut snap = Snapshot::new(self.observed.nodes.clone());
        let nodes: Vec<NodeId> = (0..self.observed.nodes.len() as u32).map(NodeId).collect();
        let n = calculate_num_candidates(&DefaultPreemptionArgs::default(), nodes.len() as u32);
        let (candidates, _) = dry_run_preemption(
            &self.cluster(),
            &p,
            &mut snap,
            &nodes,
            budgets,
            0,
            n as usize,
        );
        // The dry run leaves the snapshot as it found it.
        for (a, b) in snap.nodes.iter().zip(&self.observed.nodes) {
            assert_eq!(a.allocated, b.allocated);
        }
        candidates
            .iter()
            .map(|c| {
                let mut v: Vec<String> = c
                    .victims
                    .iter()
                    .map(|&r| self.name(r).to_string())
                    .collect();
                v.sort();
                (self.node_name(c.node).to_string(), v, c.num_pdb_violations)
            })
            .collect()
    }

    fn pdb(
        &self,
        name: &str,
        selector: &[(&str, &str)],
        rule: crate::disruption::DisruptionRule,
    ) -> PodDisruptionBudget {
        PodDisruptionBudget {
            name: name.into(),
            namespace: "default".into(),
            selector: Some(LabelSelector::for_labels(labels(selector))),
            rule,
        }
    }

    fn replica(&self, name: &str) -> ReplicaId {
        ReplicaId(
            self.desired
                .services
                .iter()
                .position(|s| s.name == name)
                .expect("pod") as u32,
        )
    }
}

fn one_pod_node(name: &'static str) -> (&'static str, u64, u64) {
    (name, 100, 100)
}

const ONE_POD: (u64, u64) = (100, 0);

#[test]
fn post_filter() {
    use crate::disruption::{DisruptionRule::MinAvailable, IntOrPercent};
    // "pod with higher priority can be made schedulable"
    let w = world(
        &[one_pod_node("node1")],
        &[Pod("p1", "node1", LOW, ONE_POD, 0, &[])],
        HIGH,
        ONE_POD,
    );
    assert_eq!(w.post_filter(&[]), Ok("node1".into()));

    // "pod with tied priority is still unschedulable": 1 No preemption victims found.
    let w = world(
        &[one_pod_node("node1")],
        &[Pod("p1", "node1", LOW, ONE_POD, 0, &[])],
        LOW,
        ONE_POD,
    );
    assert_eq!(
        w.post_filter(&[]),
        Err(vec!["No preemption victims found for incoming pod".into()])
    );

    // "preemption should respect filteredNodesStatuses": node1 is UnschedulableAndUnresolvable
    // (here: a taint the pod does not tolerate) → "Preemption is not helpful for scheduling".
    let mut w = world(
        &[one_pod_node("node1")],
        &[Pod("p1", "node1", LOW, ONE_POD, 0, &[])],
        HIGH,
        ONE_POD,
    );
    w.observed.nodes[0].spec_mut().taints.push(Taint {
        key: "k".into(),
        value: "v".into(),
        effect: TaintEffect::NoSchedule,
    });
    assert_eq!(
        w.post_filter(&[]),
        Err(vec!["Preemption is not helpful for scheduling".into()])
    );

    // "pod can be made schedulable on one node": p1 (high) on node1 outranks p; p2 (low) on node2 does not.
    let w = world(
        &[one_pod_node("node1"), one_pod_node("node2")],
        &[
            Pod("p1", "node1", HIGH, ONE_POD, 0, &[]),
            Pod("p2", "node2", LOW, ONE_POD, 0, &[]),
        ],
        MID,
        ONE_POD,
    );
    assert_eq!(w.post_filter(&[]), Ok("node2".into()));

    // "pod can be made schedulable on minHighestPriority node": both nodes violate one PDB
    // (violating-pdb, minAvailable 100% → 0 allowed); node1's highest victim is high (p1),
    // node2's is mid (p3) → node2.
    let v = &[("test.kubernetes.io/is-violating-pdb", "violating")];
    let nv = &[("test.kubernetes.io/is-violating-pdb", "non-violating")];
    let w = world(
        &[one_pod_node("node1"), one_pod_node("node2")],
        &[
            Pod("p1", "node1", HIGH, ONE_POD, 0, nv),
            Pod("p2", "node1", LOW, ONE_POD, 0, v),
            Pod("p3", "node2", MID, ONE_POD, 0, v),
        ],
        VERY_HIGH,
        ONE_POD,
    );
    let violating = w.pdb("violating-pdb", v, MinAvailable(IntOrPercent::Percent(100)));
    let non_violating = w.pdb("non-violating-pdb", nv, MinAvailable(IntOrPercent::Int(0)));
    let budgets = [
        Budget {
            pdb: &violating,
            disruptions_allowed: 0,
            disrupted_pods: vec![],
        },
        Budget {
            pdb: &non_violating,
            disruptions_allowed: i64::from(i32::MAX),
            disrupted_pods: vec![],
        },
    ];
    assert_eq!(w.post_filter(&budgets), Ok("node2".into()));

    // "no candidate nodes found, no enough resource after removing low priority pods":
    // nodes of 200m/400, p asks 300m → "2 Insufficient cpu".
    let w = world(
        &[("node1", 200, 400), ("node2", 200, 400)],
        &[
            Pod("p1", "node1", LOW, NONE, 0, &[]),
            Pod("p2", "node2", LOW, NONE, 0, &[]),
        ],
        HIGH,
        LARGE,
    );
    assert_eq!(
        w.post_filter(&[]),
        Err(vec!["Insufficient cpu".into(), "Insufficient cpu".into()])
    );

    // "no candidate nodes found with mixed reasons, no lower priority pod and no enough CPU
    // resource": 1 Insufficient cpu (node2), 2 No preemption victims found (node1, node3).
    let w = world(
        &[
            one_pod_node("node1"),
            ("node2", 200, 400),
            one_pod_node("node3"),
        ],
        &[
            Pod("p1", "node1", HIGH, ONE_POD, 0, &[]),
            Pod("p2", "node2", LOW, NONE, 0, &[]),
            Pod("p3", "node3", HIGH, ONE_POD, 0, &[]),
        ],
        HIGH,
        LARGE,
    );
    assert_eq!(
        w.post_filter(&[]),
        Err(vec![
            "No preemption victims found for incoming pod".into(),
            "Insufficient cpu".into(),
            "No preemption victims found for incoming pod".into(),
        ])
    );
}

fn nodes(names: &[&'static str]) -> Vec<(&'static str, u64, u64)> {
    names
        .iter()
        .map(|&n| (n, VERY_LARGE.0, VERY_LARGE.1))
        .collect()
}

fn cand(node: &str, victims: &[&str], violations: u32) -> (String, Vec<String>, u32) {
    let mut v: Vec<String> = victims.iter().map(|s| s.to_string()).collect();
    v.sort();
    (node.to_string(), v, violations)
}

#[test]
fn dry_run_preemption_table() {
    let all = |_: ReplicaId| true;
    let two = nodes(&["node1", "node2"]);

    // "a pod that fits on both nodes when lower priority pods are preempted"
    let w = world(
        &two,
        &[
            Pod("p1", "node1", MID, LARGE, 0, &[]),
            Pod("p2", "node2", MID, LARGE, 0, &[]),
        ],
        HIGH,
        LARGE,
    );
    assert_eq!(
        w.dry_run(&[], &all),
        vec![cand("node1", &["p1"], 0), cand("node2", &["p2"], 0)]
    );

    // "a pod that would fit on the nodes, but other pods running are higher priority, no
    // preemption would happen"
    let w = world(
        &two,
        &[
            Pod("p1", "node1", MID, LARGE, 0, &[]),
            Pod("p2", "node2", MID, LARGE, 0, &[]),
        ],
        LOW,
        LARGE,
    );
    assert_eq!(w.dry_run(&[], &all), vec![]);

    // "medium priority pod is preempted, but lower priority one stays as it is small":
    // reprieving p1.2 (mid) leaves 300 + 300 > 500; p1.1 (low, 100) fits back: 400 ≤ 500.
    let w = world(
        &two,
        &[
            Pod("p1.1", "node1", LOW, SMALL, 0, &[]),
            Pod("p1.2", "node1", MID, LARGE, 0, &[]),
            Pod("p2", "node2", MID, LARGE, 0, &[]),
        ],
        HIGH,
        LARGE,
    );
    assert_eq!(
        w.dry_run(&[], &all),
        vec![cand("node1", &["p1.2"], 0), cand("node2", &["p2"], 0)]
    );

    // "mixed priority pods are preempted": p1.4 (high, 100) stays; p1.1 (mid, 100) fits back
    // (100 + 300 + 100 = 500); p1.3 (mid, 200) and p1.2 (low, 100) do not.
    let mixed = |t: [u64; 5]| {
        world(
            &two,
            &[
                Pod(
                    "p1.1",
                    "node1",
                    if t[0] == 0 { MID } else { LOW },
                    SMALL,
                    t[0],
                    &[],
                ),
                Pod("p1.2", "node1", LOW, SMALL, t[1], &[]),
                Pod("p1.3", "node1", MID, MEDIUM, t[2], &[]),
                Pod("p1.4", "node1", HIGH, SMALL, t[3], &[]),
                Pod("p2", "node2", HIGH, LARGE, t[4], &[]),
            ],
            HIGH,
            LARGE,
        )
    };
    assert_eq!(
        mixed([0; 5]).dry_run(&[], &all),
        vec![cand("node1", &["p1.2", "p1.3"], 0)]
    );
    // "mixed priority pods are preempted, pick later StartTime one when priorities are
    // equal": p1.1 and p1.2 are both low; p1.2 started earlier (4 < 5), is more important,
    // and is reprieved first: 100 + 300 + 100 = 500 fits; p1.1 then does not.
    assert_eq!(
        mixed([5, 4, 3, 2, 1]).dry_run(&[], &all),
        vec![cand("node1", &["p1.1", "p1.3"], 0)]
    );

    // "preemption with violation of same pdb": one disruption allowed; p1.1 spends it,
    // p1.2 would take the budget to −1: one violation.
    let app = &[("app", "foo")];
    let same = |three: bool| {
        let mut pods = vec![
            Pod("p1.1", "node1", MID, MEDIUM, 0, app),
            Pod("p1.2", "node1", MID, MEDIUM, 0, app),
        ];
        if three {
            pods.push(Pod("p1.3", "node1", MID, MEDIUM, 0, app));
        }
        world(&nodes(&["node1"]), &pods, HIGH, VERY_LARGE)
    };
    let w = same(false);
    let pdb = w.pdb(
        "",
        app,
        crate::disruption::DisruptionRule::MinAvailable(crate::disruption::IntOrPercent::Int(1)),
    );
    let budget = |disrupted: Vec<ReplicaId>| Budget {
        pdb: &pdb,
        disruptions_allowed: 1,
        disrupted_pods: disrupted,
    };
    assert_eq!(
        w.dry_run(&[budget(vec![])], &all),
        vec![cand("node1", &["p1.1", "p1.2"], 1)]
    );
    // "…pod whose eviction was processed, the victim doesn't belong to DisruptedPods":
    // p2's processed eviction changes nothing here (p2 is on no node of this test).
    let p2 = ReplicaId(99);
    assert_eq!(
        w.dry_run(&[budget(vec![p2])], &all),
        vec![cand("node1", &["p1.1", "p1.2"], 1)]
    );
    // "…the victim belongs to DisruptedPods": p1.2's eviction is already counted, so it
    // spends nothing and neither pod violates.
    let p12 = w.replica("p1.2");
    assert_eq!(
        w.dry_run(&[budget(vec![p12])], &all),
        vec![cand("node1", &["p1.1", "p1.2"], 0)]
    );
}

#[test]
fn select_best_candidate_table() {
    let three = nodes(&["node1", "node2", "node3"]);
    let pick = |w: &World| {
        let all = |_: ReplicaId| true;
        let p = Preemptor {
            request: w.request(),
            priority: w.priority(),
            eligible: &all,
        };
        let mut snap = Snapshot::new(w.observed.nodes.clone());
        let ids: Vec<NodeId> = (0..w.observed.nodes.len() as u32).map(NodeId).collect();
        let (c, _) = dry_run_preemption(&w.cluster(), &p, &mut snap, &ids, &[], 0, 3);
        let k = pick_one_node_for_preemption(&w.cluster(), &c).expect("a candidate");
        w.node_name(c[k].node).to_string()
    };

    // "when highest priorities are the same, minimum sum of priorities is picked": every
    // node loses both pods (p needs all 500); highest is mid everywhere; sums (each + 2³¹)
    // are 200, 100 (node2: mid + low) and 200 → node2.
    let w = world(
        &three,
        &[
            Pod("p1.1", "node1", MID, MEDIUM, 0, &[]),
            Pod("p1.2", "node1", MID, LARGE, 0, &[]),
            Pod("p2.1", "node2", MID, LARGE, 0, &[]),
            Pod("p2.2", "node2", LOW, MEDIUM, 0, &[]),
            Pod("p3.1", "node3", MID, MEDIUM, 0, &[]),
            Pod("p3.2", "node3", MID, MEDIUM, 0, &[]),
        ],
        HIGH,
        VERY_LARGE,
    );
    assert_eq!(pick(&w), "node2");

    // "when highest priority and sum are the same, minimum number of pods is picked": with
    // the 2³¹ shift, node1 sums 0 + 4·2³¹, node2 0 + 2·2³¹, node3 0 + 3·2³¹ → node2.
    let w = world(
        &three,
        &[
            Pod("p1.1", "node1", MID, SMALL, 0, &[]),
            Pod("p1.2", "node1", NEG, SMALL, 0, &[]),
            Pod("p1.3", "node1", MID, SMALL, 0, &[]),
            Pod("p1.4", "node1", NEG, SMALL, 0, &[]),
            Pod("p2.1", "node2", MID, LARGE, 0, &[]),
            Pod("p2.2", "node2", NEG, MEDIUM, 0, &[]),
            Pod("p3.1", "node3", MID, MEDIUM, 0, &[]),
            Pod("p3.2", "node3", NEG, SMALL, 0, &[]),
            Pod("p3.3", "node3", LOW, SMALL, 0, &[]),
        ],
        HIGH,
        VERY_LARGE,
    );
    assert_eq!(pick(&w), "node2");

    // "sum of adjusted priorities is considered": node1 −100 + 3·2³¹ would win on raw sums
    // (−100 < 0) but loses to node2's 0 + 2·2³¹ once shifted.
    let w = world(
        &three,
        &[
            Pod("p1.1", "node1", MID, SMALL, 0, &[]),
            Pod("p1.2", "node1", NEG, SMALL, 0, &[]),
            Pod("p1.3", "node1", NEG, SMALL, 0, &[]),
            Pod("p2.1", "node2", MID, LARGE, 0, &[]),
            Pod("p2.2", "node2", NEG, MEDIUM, 0, &[]),
            Pod("p3.1", "node3", MID, MEDIUM, 0, &[]),
            Pod("p3.2", "node3", NEG, SMALL, 0, &[]),
            Pod("p3.3", "node3", LOW, SMALL, 0, &[]),
        ],
        HIGH,
        VERY_LARGE,
    );
    assert_eq!(pick(&w), "node2");

    // "non-overlapping lowest high priority, sum priorities, and number of pods": node2's
    // highest victim is high (out); node1 sums 100 + 3·2³¹ against 100 + 4·2³¹ (node3) and
    // 200 + 4·2³¹ (node4) → node1.
    let w = world(
        &nodes(&["node1", "node2", "node3", "node4"]),
        &[
            Pod("p1.1", "node1", MID, SMALL, 0, &[]),
            Pod("p1.2", "node1", LOW, SMALL, 0, &[]),
            Pod("p1.3", "node1", LOW, SMALL, 0, &[]),
            Pod("p2.1", "node2", HIGH, LARGE, 0, &[]),
            Pod("p3.1", "node3", MID, MEDIUM, 0, &[]),
            Pod("p3.2", "node3", LOW, SMALL, 0, &[]),
            Pod("p3.3", "node3", LOW, SMALL, 0, &[]),
            Pod("p3.4", "node3", LOW, MEDIUM, 0, &[]),
            Pod("p4.1", "node4", MID, MEDIUM, 0, &[]),
            Pod("p4.2", "node4", MID, SMALL, 0, &[]),
            Pod("p4.3", "node4", MID, SMALL, 0, &[]),
            Pod("p4.4", "node4", NEG, SMALL, 0, &[]),
        ],
        VERY_HIGH,
        VERY_LARGE,
    );
    assert_eq!(pick(&w), "node1");

    // "same priority, same number of victims, different start time for each node's pod":
    // the latest earliest start of the highest-priority victims: node2 (3) over 2 and 1.
    let starts = |t: [u64; 6], p: [i32; 6]| {
        world(
            &three,
            &[
                Pod("p1.1", "node1", p[0], MEDIUM, t[0], &[]),
                Pod("p1.2", "node1", p[1], MEDIUM, t[1], &[]),
                Pod("p2.1", "node2", p[2], MEDIUM, t[2], &[]),
                Pod("p2.2", "node2", p[3], MEDIUM, t[3], &[]),
                Pod("p3.1", "node3", p[4], MEDIUM, t[4], &[]),
                Pod("p3.2", "node3", p[5], MEDIUM, t[5], &[]),
            ],
            HIGH,
            VERY_LARGE,
        )
    };
    assert_eq!(pick(&starts([2, 2, 3, 3, 1, 1], [MID; 6])), "node2");
    // "same priority, same number of victims, different start time for all pods": earliest
    // per node 2, 1, 3 → node3.
    assert_eq!(pick(&starts([4, 2, 5, 1, 3, 6], [MID; 6])), "node3");
    // "different priority, same number of victims, different start time for all pods": the
    // mid victims started at 2, 6, 5 → node2.
    assert_eq!(
        pick(&starts([4, 2, 6, 1, 3, 5], [LOW, MID, MID, LOW, LOW, MID])),
        "node2"
    );
}

#[test]
fn custom_selection_table() {
    // TestCustomSelection, podLabelIsEligible("preemptible", "yes"): only labelled pods may
    // be victims (upstream's IsEligiblePod hook is `Preemptor::eligible` here).
    let four = nodes(&["node1", "node2", "node3", "node4"]);
    for (priority, expected) in [
        // "filter for matching pod label: high priority"
        (
            HIGH,
            vec![cand("node2", &["v2"], 0), cand("node3", &["v3"], 0)],
        ),
        // "filter for matching pod label: mid priority": v2 is mid too, not lower.
        (MID, vec![cand("node3", &["v3"], 0)]),
    ] {
        let w = world(
            &four,
            &[
                Pod("v1", "node1", MID, LARGE, 0, &[("preemptible", "no")]),
                Pod("v2", "node2", MID, LARGE, 0, &[("preemptible", "yes")]),
                Pod("v3", "node3", LOW, LARGE, 0, &[("preemptible", "yes")]),
                Pod("v4", "node4", LOW, LARGE, 0, &[]),
            ],
            priority,
            LARGE,
        );
        let eligible = |r: ReplicaId| {
            let c = w.cluster();
            let s = c.observed.replicas[r.0 as usize].service;
            c.desired.services[s.0 as usize]
                .meta
                .labels
                .get("preemptible")
                == Some(&"yes".to_string())
        };
        assert_eq!(w.dry_run(&[], &eligible), expected, "priority {priority}");
    }
}

#[test]
fn pod_eligible_to_preempt_others_rules() {
    // default_preemption.go PodEligibleToPreemptOthers: policy Never; a terminating
    // lower-priority pod preempted on the nominated node; an unresolvable nominated node.
    let mut w = world(
        &[one_pod_node("node1")],
        &[Pod("p1", "node1", LOW, ONE_POD, 0, &[])],
        HIGH,
        ONE_POD,
    );
    let c = w.cluster();
    let never = pod_eligible_to_preempt_others(&c, HIGH, PreemptionPolicy::Never, None, &|_| false);
    assert_eq!(
        never,
        Err(NotPreempted::NotEligible(
            "not eligible due to preemptionPolicy=Never."
        ))
    );
    let ok = PreemptionPolicy::PreemptLowerPriority;
    assert_eq!(
        pod_eligible_to_preempt_others(&c, HIGH, ok, Some((NodeId(0), false)), &|_| true),
        Ok(())
    );
    w.observed.replicas[0].state = ReplicaState::Terminating;
    let c = w.cluster();
    assert_eq!(
        pod_eligible_to_preempt_others(&c, HIGH, ok, Some((NodeId(0), false)), &|_| true),
        Err(NotPreempted::NotEligible(
            "not eligible due to a terminating pod on the nominated node."
        ))
    );
    // Terminating for another reason (not by preemption): eligible.
    assert_eq!(
        pod_eligible_to_preempt_others(&c, HIGH, ok, Some((NodeId(0), false)), &|_| false),
        Ok(())
    );
    // The nominated node became UnschedulableAndUnresolvable: eligible again.
    assert_eq!(
        pod_eligible_to_preempt_others(&c, HIGH, ok, Some((NodeId(0), true)), &|_| true),
        Ok(())
    );
}

#[test]
fn candidates_are_capped_as_calculate_num_candidates_says() {
    // 10% of 5000 = 500 ≥ 100; 10% of 50 = 5 < 100 → 100, capped at the 50 nodes.
    let args = DefaultPreemptionArgs::default();
    assert_eq!(calculate_num_candidates(&args, 5000), 500);
    assert_eq!(calculate_num_candidates(&args, 50), 50);
    assert_eq!(calculate_num_candidates(&args, 500), 100);
}
