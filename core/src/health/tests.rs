//! The must-show chain at the core level: a node crash from the fault plan,
//! NotReady after the grace period, eviction after the toleration, and
//! replacement replicas scheduled and ready on another node — driven by the
//! same core functions the worlds call, with every instant asserted.

use crate::action::Action;
use crate::controller::reconcile_replicas;
use crate::dist::DurationDist;
use crate::faults::{Edge, Fault, FaultKind, FaultPlan, FaultsSpec};
use crate::health::{
    NodeLifecycle, NodeLifecycleConfig, NodeTransition, Probe, ProbeKind, ProbeOutcome, ProbeSpec,
};
use crate::model::{DesiredState, NodeId, ObservedCluster, ReplicaState, ReplicaStatus};
use crate::placement::{FirstFit, schedule};
use crate::rng::stream;
use crate::testing::{node, service};
use crate::time::{SimDuration, SimTime};

fn s(secs: u64) -> SimTime {
    SimTime(secs * 1_000_000_000)
}

/// Applies controller actions at `now`; bound replicas start after `start_delay`
/// and get a readiness probe; returns (replica index, ready instant) of each bind.
fn apply(
    actions: Vec<Action>,
    desired: &DesiredState,
    observed: &mut ObservedCluster,
    now: SimTime,
    start_delay: SimDuration,
) -> Vec<(usize, NodeId, SimTime)> {
    let mut started = Vec::new();
    for a in actions {
        match a {
            Action::CreateStateful { .. } => unreachable!("no StatefulSets here"),
            Action::Create { service } => observed.replicas.push(ReplicaStatus {
                service,
                node: None,
                state: ReplicaState::Pending,
                since: now,
            }),
            Action::Bind { replica, node } => {
                let r = &mut observed.replicas[replica.0 as usize];
                r.node = Some(node);
                r.state = ReplicaState::Starting;
                r.since = now;
                let svc = r.service;
                observed.bind(node, svc, desired.services[svc.0 as usize].requests);
                // Container up after the start delay; readiness (Kubernetes
                // defaults) probes at start + 0 s and passes at once.
                let up = now + start_delay;
                let mut probe = Probe::new(ProbeKind::Readiness, ProbeSpec::default(), up);
                let first = probe.first_at();
                assert!(
                    probe
                        .record(first, ProbeOutcome::Answered(SimDuration::from_millis(3)))
                        .is_some()
                );
                started.push((replica.0 as usize, node, first));
            }
            Action::Delete { replica } => {
                let r = &mut observed.replicas[replica.0 as usize];
                r.state = ReplicaState::Terminated;
            }
            Action::Unschedulable { .. } => panic!("room was left on the other nodes"),
        }
    }
    started
}

#[test]
fn node_crash_to_replacements_ready_elsewhere() {
    // Three nodes of 1 cpu; web has 2 replicas of 100m: first fit puts both on node 0.
    let mut web = service("web");
    web.replicas = 2;
    web.start_delay = DurationDist::constant(SimDuration::from_secs(5));
    let desired = DesiredState {
        services: vec![web],
    };
    let mut observed = ObservedCluster {
        nodes: ["n0", "n1", "n2"]
            .iter()
            .map(|n| node(n).status())
            .collect(),
        ..Default::default()
    };
    let mut policy = FirstFit::default();
    let mut rng = stream(1, "policy/placement");
    let delay = SimDuration::from_secs(5);
    apply(
        reconcile_replicas(&desired, &observed, s(0)),
        &desired,
        &mut observed,
        s(0),
        delay,
    );
    let binds = apply(
        schedule(&desired, &observed, &mut policy, &mut rng),
        &desired,
        &mut observed,
        s(0),
        delay,
    );
    assert_eq!(
        binds.iter().map(|b| b.1).collect::<Vec<_>>(),
        [NodeId(0), NodeId(0)]
    );

    // The fault plan: node 0 crashes at 100 s for good.
    let spec = FaultsSpec {
        scheduled: vec![Fault {
            name: "faults[0]".into(),
            at: s(100),
            duration: None,
            kind: FaultKind::NodeCrash {
                nodes: vec![NodeId(0)],
            },
        }],
        stochastic: vec![],
        ..Default::default()
    };
    let events: Vec<_> = FaultPlan::new(&spec, 1, s(3600)).collect();
    assert_eq!(
        (events.len(), events[0].at, events[0].edge),
        (1, s(100), Edge::Start)
    );

    // Heartbeats every 10 s from 0; node 0's last one is at 100 s.
    let cfg = NodeLifecycleConfig::default();
    let mut life = NodeLifecycle::new(cfg, 3, s(0));
    let last = cfg.last_heartbeat(s(0), events[0].at);
    life.heartbeat(NodeId(0), last);
    // 100 + 40 = 140; first monitor pass strictly after: 145 s.
    let nr = cfg.not_ready_at(last);
    assert_eq!(nr, s(145));
    for n in [1, 2] {
        life.heartbeat(NodeId(n), nr); // the healthy nodes keep posting
    }
    let tr = life.check(NodeId(0), nr);
    let Some(NodeTransition::Tainted { evict_at, .. }) = tr else {
        panic!("{tr:?}")
    };
    observed.set_ready(NodeId(0), false); // NoExecute taint: no new replicas there
    // 145 + tolerationSeconds 300 = 445 s.
    assert_eq!(evict_at, s(445));

    // At the eviction the replicas on node 0 are deleted and unbound.
    for n in [1, 2] {
        life.heartbeat(NodeId(n), evict_at);
    }
    assert_eq!(life.evictions_due(evict_at), [NodeId(0)]);
    let reqs = desired.services[0].requests;
    for i in 0..observed.replicas.len() {
        let r = observed.replicas[i];
        if r.node == Some(NodeId(0)) && r.state.is_active() {
            observed.replicas[i].state = ReplicaState::Terminated;
            observed.unbind(NodeId(0), r.service, reqs);
        }
    }
    // The replica controller replaces them; the scheduler places them on node 1
    // (node 0 is not ready); each is ready at 445 + start delay 5 = 450 s.
    apply(
        reconcile_replicas(&desired, &observed, evict_at),
        &desired,
        &mut observed,
        evict_at,
        delay,
    );
    let binds = apply(
        schedule(&desired, &observed, &mut policy, &mut rng),
        &desired,
        &mut observed,
        evict_at,
        delay,
    );
    assert_eq!(
        binds.iter().map(|b| (b.1, b.2)).collect::<Vec<_>>(),
        [(NodeId(1), s(450)), (NodeId(1), s(450))]
    );
}

#[test]
fn adding_a_fault_leaves_the_traffic_stream_unchanged() {
    // The traffic of a service is drawn from `traffic/web`; the fault plan
    // from `failures/…` only. Draw 1,000 arrivals' worth of numbers from the
    // traffic stream with and without a stochastic plan consuming its own
    // draws in between: identical.
    use crate::faults::{FailureProcess, FailureScope, Lifetime};
    use rand::Rng;
    let draw = |with_faults: bool| -> Vec<u64> {
        let seed = 42;
        let mut traffic = stream(seed, "traffic/web");
        let mut plan = with_faults.then(|| {
            let spec = FaultsSpec {
                scheduled: vec![],
                stochastic: vec![FailureProcess {
                    pool: "a".into(),
                    scope: FailureScope::Node,
                    units: vec![("a-0".into(), vec![NodeId(0)])],
                    ttf: Lifetime::Dist(
                        DurationDist::exponential(SimDuration::from_secs(10)).unwrap(),
                    ),
                    ttr: Lifetime::Dist(
                        DurationDist::exponential(SimDuration::from_secs(1)).unwrap(),
                    ),
                }],
                ..Default::default()
            };
            FaultPlan::new(&spec, seed, s(100_000))
        });
        (0..1000)
            .map(|_| {
                if let Some(p) = plan.as_mut() {
                    p.next();
                }
                traffic.next_u64()
            })
            .collect()
    };
    assert_eq!(draw(false), draw(true));
}
