//! The replica controller: keep each service at its desired replica count.
//!
//! Key decision: a controller is a pure function of (desired, observed, now)
//! returning actions, after Kubernetes' ReplicaSet controller. It is
//! level-triggered: calling it twice on the same observation gives the same
//! actions, so worlds may call it on every change or on a timer. When there
//! are too many replicas it deletes the least useful first, in the order of
//! Kubernetes' `ActivePodsWithRanks`: unbound before bound, starting before
//! ready, and among equals the most recently changed.

use crate::action::Action;
use crate::model::{
    DesiredState, ObservedCluster, ReplicaId, ReplicaState, ServiceId, ServiceKind,
};
use crate::time::SimTime;

/// Actions that move every service towards its desired replica count.
///
/// Failed replicas are deleted (their resources freed) and replaced.
/// Replicas of job shapes ([`ServiceKind::Job`]) are left alone: job
/// arrivals create them and their durations end them. Bare pods
/// ([`Controller::None`]) are created once, when the service has never had
/// a replica, and never replaced.
pub fn reconcile_replicas(
    desired: &DesiredState,
    observed: &ObservedCluster,
    _now: SimTime,
) -> Vec<Action> {
    let mut actions = Vec::new();
    let mut active: Vec<Vec<(ReplicaId, ReplicaState, SimTime)>> =
        vec![Vec::new(); desired.services.len()];
    let mut ever = vec![false; desired.services.len()];
    for (i, r) in observed.replicas.iter().enumerate() {
        let id = ReplicaId(i as u32);
        if let Some(e) = ever.get_mut(r.service.0 as usize) {
            *e = true;
        }
        if r.state == ReplicaState::Failed {
            actions.push(Action::Delete { replica: id });
        } else if r.state.is_active()
            && let Some(list) = active.get_mut(r.service.0 as usize)
        {
            list.push((id, r.state, r.since));
        }
    }
    for (s, spec) in desired.services.iter().enumerate() {
        if spec.kind == ServiceKind::Job
            || (spec.controller == crate::model::Controller::None && ever[s])
        {
            continue;
        }
        if let Some(set) = &spec.stateful {
            stateful(s, spec.replicas, set, observed, &mut actions);
            continue;
        }
        let have = &mut active[s];
        let want = spec.replicas as usize;
        if have.len() < want {
            for _ in have.len()..want {
                actions.push(Action::Create {
                    service: ServiceId(s as u32),
                });
            }
        } else if have.len() > want {
            // Least useful first: Pending < Starting < Ready, then newest first,
            // then highest id (deterministic tie-break).
            have.sort_by(|a, b| a.1.cmp(&b.1).then(b.2.cmp(&a.2)).then(b.0.cmp(&a.0)));
            for (id, _, _) in have.iter().take(have.len() - want) {
                actions.push(Action::Delete { replica: *id });
            }
        }
    }
    actions
}

/// The StatefulSet controller's pass over service `s`
/// ([`crate::stateful::reconcile`]) on its live pods and their ordinals.
fn stateful(
    s: usize,
    replicas: u32,
    set: &crate::stateful::StatefulSetSpec,
    observed: &ObservedCluster,
    actions: &mut Vec<Action>,
) {
    let pods: Vec<(ReplicaId, u32, ReplicaState)> = observed
        .replicas
        .iter()
        .enumerate()
        .filter(|(_, r)| r.service.0 as usize == s && r.state != ReplicaState::Terminated)
        .filter_map(|(i, r)| {
            let id = ReplicaId(i as u32);
            observed.storage.ordinal(id).map(|k| (id, k, r.state))
        })
        .collect();
    // The generic pass above already deletes failed pods.
    for a in crate::stateful::reconcile(replicas, set.pod_management, &pods) {
        match a {
            crate::stateful::StatefulAction::Create(ordinal) => {
                actions.push(Action::CreateStateful {
                    service: ServiceId(s as u32),
                    ordinal,
                })
            }
            crate::stateful::StatefulAction::Delete(replica) => {
                if observed.replicas[replica.0 as usize].state != ReplicaState::Failed {
                    actions.push(Action::Delete { replica });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ReplicaStatus, ServiceSpec};
    use crate::testing::service;

    fn replica(service: u32, state: ReplicaState, since: u64) -> ReplicaStatus {
        ReplicaStatus {
            service: ServiceId(service),
            node: None,
            state,
            since: SimTime(since),
        }
    }

    fn desired(counts: &[u32]) -> DesiredState {
        DesiredState {
            services: counts
                .iter()
                .map(|&n| ServiceSpec {
                    replicas: n,
                    ..service("s")
                })
                .collect(),
        }
    }

    #[test]
    fn creates_the_missing_replicas() {
        let observed = ObservedCluster {
            storage: Default::default(),
            nodes: vec![],
            replicas: vec![replica(0, ReplicaState::Ready, 0)],
            changes: Default::default(),
        };
        let actions = reconcile_replicas(&desired(&[3, 1]), &observed, SimTime(0));
        // service 0: 3 wanted − 1 active = 2 creates; service 1: 1 create.
        assert_eq!(
            actions,
            vec![
                Action::Create {
                    service: ServiceId(0)
                },
                Action::Create {
                    service: ServiceId(0)
                },
                Action::Create {
                    service: ServiceId(1)
                },
            ]
        );
    }

    #[test]
    fn deletes_least_useful_first() {
        let observed = ObservedCluster {
            storage: Default::default(),
            nodes: vec![],
            replicas: vec![
                replica(0, ReplicaState::Ready, 10),      // 0: old ready: keep
                replica(0, ReplicaState::Starting, 20),   // 1
                replica(0, ReplicaState::Pending, 5),     // 2: goes first
                replica(0, ReplicaState::Ready, 30),      // 3: newer ready
                replica(0, ReplicaState::Terminating, 1), // not active: ignored
            ],
            changes: Default::default(),
        };
        // 4 active, want 1 → delete 3: pending(2), starting(1), then newest ready(3).
        let actions = reconcile_replicas(&desired(&[1]), &observed, SimTime(0));
        assert_eq!(
            actions,
            vec![
                Action::Delete {
                    replica: ReplicaId(2)
                },
                Action::Delete {
                    replica: ReplicaId(1)
                },
                Action::Delete {
                    replica: ReplicaId(3)
                },
            ]
        );
    }

    #[test]
    fn failed_replicas_are_removed_and_replaced() {
        let observed = ObservedCluster {
            storage: Default::default(),
            nodes: vec![],
            replicas: vec![
                replica(0, ReplicaState::Failed, 0),
                replica(0, ReplicaState::Ready, 0),
            ],
            changes: Default::default(),
        };
        let actions = reconcile_replicas(&desired(&[2]), &observed, SimTime(0));
        assert_eq!(
            actions,
            vec![
                Action::Delete {
                    replica: ReplicaId(0)
                },
                Action::Create {
                    service: ServiceId(0)
                },
            ]
        );
        // Level-triggered: the same observation gives the same answer.
        assert_eq!(
            actions,
            reconcile_replicas(&desired(&[2]), &observed, SimTime(0))
        );
    }

    #[test]
    fn job_replicas_are_neither_created_nor_deleted() {
        let mut d = desired(&[1, 0]);
        d.services[1].kind = ServiceKind::Job;
        let observed = ObservedCluster {
            storage: Default::default(),
            nodes: vec![],
            replicas: vec![
                replica(0, ReplicaState::Ready, 0),
                replica(1, ReplicaState::Pending, 0),
                replica(1, ReplicaState::Ready, 0),
            ],
            changes: Default::default(),
        };
        // Service 0 has its 1 replica; job shape 1 has 2 active replicas and
        // `replicas = 0`, which would delete both if it were a service.
        assert!(reconcile_replicas(&d, &observed, SimTime(0)).is_empty());
    }

    #[test]
    fn converged_state_needs_nothing() {
        let observed = ObservedCluster {
            storage: Default::default(),
            nodes: vec![],
            replicas: vec![
                replica(0, ReplicaState::Ready, 0),
                replica(0, ReplicaState::Starting, 0),
            ],
            changes: Default::default(),
        };
        assert!(reconcile_replicas(&desired(&[2]), &observed, SimTime(0)).is_empty());
    }

    #[test]
    fn bare_pods_are_created_once_and_never_replaced() {
        // Service 0 is bare (controller none), 2 wanted. No replica yet: 2
        // creates. One ever existed (now terminated): nothing, though 0 are
        // active; a failed one is still deleted.
        let mut d = desired(&[2]);
        d.services[0].controller = crate::model::Controller::None;
        let empty = ObservedCluster::default();
        assert_eq!(reconcile_replicas(&d, &empty, SimTime(0)).len(), 2);
        let mut o = ObservedCluster::default();
        o.replicas.push(replica(0, ReplicaState::Terminated, 0));
        o.replicas.push(replica(0, ReplicaState::Failed, 0));
        assert_eq!(
            reconcile_replicas(&d, &o, SimTime(1)),
            [Action::Delete {
                replica: ReplicaId(1)
            }]
        );
    }
}
