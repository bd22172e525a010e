//! The scheduling queue: pending replicas in priority order, with the
//! unschedulable ones parked until a node change could let them fit.
//!
//! Key decision: after kube-scheduler's scheduling queue (an active queue
//! sorted by `PrioritySort`, an unschedulable pool, and queueing hints that
//! move a pod back only on a cluster event that may make it schedulable), a
//! replica whose placement failed is not retried on every batch. It waits,
//! grouped with the other parked replicas of its service (its request
//! shape), until the world's [`ChangeLog`] shows a node that is ready and
//! has room for that shape — typically because a replica or a job left it.
//! A new replica always gets one attempt. A backlog of thousands of pods
//! that do not fit then costs, per batch, a look at the nodes that changed
//! instead of a scan of every node for every pod.
//!
//! Parking changes no decision: a parked replica would fail again, since a
//! node that has not changed since its failure still lacks room, and a
//! failed decision changes no policy state and draws no randomness. It only
//! removes attempts that kube-scheduler would not make either, so the
//! unschedulable attempts counted are those a scheduler with queueing hints
//! makes. This holds when a node's verdict depends only on that node and
//! the replica (resources, readiness, selectors, taints); replicas with
//! topology spread or anti-affinity constraints, whose verdict on a node
//! depends on where other replicas went, are retried on every batch.
//!
//! [`ChangeLog`]: crate::model::ChangeLog

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;

use crate::action::Action;
use crate::model::{DesiredState, ObservedCluster, ReplicaId, ServiceId, ServiceSpec};
use crate::placement::{Place, QueueOrder, schedule_drf, schedule_in_order};

/// Queue order: higher priority first, then lower replica id (creation order).
type Key = (Reverse<i32>, u32);

/// Parked replicas of one service and the change-log position from which
/// node changes have not been looked at yet.
#[derive(Clone, Debug)]
struct Parked {
    since: u64,
    replicas: BTreeSet<Key>,
}

/// Pending replicas of a world, ready to be placed batch by batch.
#[derive(Clone, Debug, Default)]
pub struct SchedulingQueue {
    active: BTreeSet<Key>,
    parked: BTreeMap<u32, Parked>,
    order: Vec<ReplicaId>,
}

/// Whether a replica of `spec` may wait for a node change (see the module doc).
fn parkable(spec: &ServiceSpec) -> bool {
    !spec.placement.depends_on_pods()
}

impl SchedulingQueue {
    /// An empty queue.
    pub fn new() -> SchedulingQueue {
        SchedulingQueue::default()
    }

    /// A replica was created (pending) with its service's `priority`.
    pub fn push(&mut self, replica: ReplicaId, priority: i32) {
        self.active.insert((Reverse(priority), replica.0));
    }

    /// A pending replica of `service` with `priority` was deleted; `false`
    /// if it was not queued.
    pub fn remove(&mut self, replica: ReplicaId, service: ServiceId, priority: i32) -> bool {
        let key = (Reverse(priority), replica.0);
        if self.active.remove(&key) {
            return true;
        }
        let Some(p) = self.parked.get_mut(&service.0) else {
            return false;
        };
        let found = p.replicas.remove(&key);
        if p.replicas.is_empty() {
            self.parked.remove(&service.0);
        }
        found
    }

    /// Pending replicas (active and parked).
    pub fn len(&self) -> usize {
        self.active.len()
            + self
                .parked
                .values()
                .map(|p| p.replicas.len())
                .sum::<usize>()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.active.is_empty() && self.parked.is_empty()
    }

    /// Replicas parked after a failed attempt.
    pub fn parked(&self) -> usize {
        self.parked.values().map(|p| p.replicas.len()).sum()
    }

    /// Wakes the parked services for which a node changed since they were
    /// parked now has room, then places every active replica in queue
    /// `order` (priority, or DRF among the active replicas). Returns a `Bind` or `Unschedulable` action per attempt (the
    /// caller applies the binds); replicas that fail are parked.
    pub fn schedule(
        &mut self,
        order: QueueOrder,
        desired: &DesiredState,
        observed: &ObservedCluster,
        policy: &mut dyn Place,
        rng: &mut dyn Rng,
    ) -> Vec<Action> {
        let end = observed.changes.end();
        let active = &mut self.active;
        self.parked.retain(|&s, p| {
            let requests = desired.services[s as usize].requests;
            let wake = match observed.changes.since(p.since) {
                None => true, // the log was cut: look again
                Some(nodes) => nodes.iter().any(|n| {
                    let node = &observed.nodes[n.0 as usize];
                    node.ready
                        && requests
                            .first_shortfall(&node.allocated, &node.spec.allocatable)
                            .is_none()
                }),
            };
            if wake {
                active.append(&mut p.replicas);
                false
            } else {
                p.since = end;
                true
            }
        });
        if self.active.is_empty() {
            return Vec::new();
        }
        self.order.clear();
        self.order
            .extend(self.active.iter().map(|&(_, r)| ReplicaId(r)));
        let actions = match order {
            QueueOrder::Priority => schedule_in_order(desired, observed, &self.order, policy, rng),
            QueueOrder::Drf => schedule_drf(desired, observed, &self.order, policy, rng),
        };
        for a in &actions {
            let (replica, bound) = match a {
                Action::Bind { replica, .. } => (*replica, true),
                Action::Unschedulable { replica, .. } => (*replica, false),
                _ => continue,
            };
            let service = observed.replicas[replica.0 as usize].service;
            let spec = &desired.services[service.0 as usize];
            let key = (Reverse(spec.placement.priority), replica.0);
            if bound || parkable(spec) {
                self.active.remove(&key);
            }
            if !bound && parkable(spec) {
                let p = self.parked.entry(service.0).or_insert(Parked {
                    since: end,
                    replicas: BTreeSet::new(),
                });
                p.since = p.since.min(end);
                p.replicas.insert(key);
            }
        }
        actions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ReplicaState, ReplicaStatus, Resources, ServiceSpec, SpreadConstraint};
    use crate::placement::FirstFit;
    use crate::rng::stream;
    use crate::testing::{node, service};
    use crate::time::SimTime;

    /// The one node of the fixtures.
    const A: crate::model::NodeId = crate::model::NodeId(0);

    fn pending(service: u32) -> ReplicaStatus {
        ReplicaStatus {
            service: ServiceId(service),
            node: None,
            state: ReplicaState::Pending,
            since: SimTime(0),
        }
    }

    /// Applies the binds of `actions` to `observed`; returns (binds, failures).
    fn apply(
        desired: &DesiredState,
        observed: &mut ObservedCluster,
        actions: &[Action],
    ) -> (usize, usize) {
        let (mut b, mut f) = (0, 0);
        for a in actions {
            match a {
                Action::Bind { replica, node } => {
                    let r = &mut observed.replicas[replica.0 as usize];
                    r.state = ReplicaState::Ready;
                    r.node = Some(*node);
                    let s = r.service;
                    observed.bind(*node, s, desired.services[s.0 as usize].requests);
                    b += 1;
                }
                Action::Unschedulable { .. } => f += 1,
                _ => {}
            }
        }
        (b, f)
    }

    #[test]
    fn unschedulable_replicas_wait_for_a_node_with_room() {
        // One node of 1 cpu; shape 0 asks 600m (one fits), shape 1 asks 300m.
        let desired = DesiredState {
            services: vec![
                ServiceSpec {
                    requests: Resources::new(600, 0),
                    ..service("big")
                },
                ServiceSpec {
                    requests: Resources::new(300, 0),
                    ..service("small")
                },
            ],
        };
        let mut observed = ObservedCluster {
            storage: Default::default(),
            nodes: vec![node("a").cpu("1").mem("1Gi").status()],
            replicas: vec![pending(0), pending(0), pending(0)],
            changes: Default::default(),
        };
        let mut q = SchedulingQueue::new();
        for r in 0..3 {
            q.push(ReplicaId(r), 0);
        }
        let mut rng = stream(0, "t");
        // Batch 1: replica 0 binds (600 of 1000m); 1 fails (1200 > 1000); 2 fails
        // the same way without asking the policy: 2 failures, 2 parked.
        let a = q.schedule(
            QueueOrder::Priority,
            &desired,
            &observed,
            &mut FirstFit::default(),
            &mut rng,
        );
        assert_eq!(apply(&desired, &mut observed, &a), (1, 2));
        assert_eq!((q.len(), q.parked()), (2, 2));
        // Batch 2: nothing changed but the bind of batch 1 (a is fuller): no attempt.
        assert!(
            q.schedule(
                QueueOrder::Priority,
                &desired,
                &observed,
                &mut FirstFit::default(),
                &mut rng
            )
            .is_empty()
        );
        // A new small replica gets its attempt (600 + 300 ≤ 1000) and binds; the big ones stay parked.
        observed.replicas.push(pending(1));
        q.push(ReplicaId(3), 0);
        let a = q.schedule(
            QueueOrder::Priority,
            &desired,
            &observed,
            &mut FirstFit::default(),
            &mut rng,
        );
        assert_eq!(apply(&desired, &mut observed, &a), (1, 0));
        assert_eq!(q.parked(), 2);
        // The small one leaves: a has 400m free, still < 600m: the big ones stay parked.
        observed.unbind(A, ServiceId(1), Resources::new(300, 0));
        assert!(
            q.schedule(
                QueueOrder::Priority,
                &desired,
                &observed,
                &mut FirstFit::default(),
                &mut rng
            )
            .is_empty()
        );
        // Replica 0 leaves: 1000m free ≥ 600m: both wake, in id order; 1 binds, 2 fails and parks.
        observed.unbind(A, ServiceId(0), Resources::new(600, 0));
        let a = q.schedule(
            QueueOrder::Priority,
            &desired,
            &observed,
            &mut FirstFit::default(),
            &mut rng,
        );
        assert_eq!(
            a[0],
            Action::Bind {
                replica: ReplicaId(1),
                node: A
            }
        );
        assert_eq!(apply(&desired, &mut observed, &a), (1, 1));
        assert_eq!((q.len(), q.parked()), (1, 1));
        // A deleted parked replica leaves the queue.
        assert!(q.remove(ReplicaId(2), ServiceId(0), 0));
        assert!(q.is_empty());
    }

    #[test]
    fn priority_orders_the_queue_and_spread_replicas_are_never_parked() {
        let mut spread = service("spread");
        spread.requests = Resources::new(2000, 0);
        spread.placement.spread.push(SpreadConstraint {
            max_skew: 1,
            topology_key: crate::model::LABEL_ZONE.to_string(),
            when_unsatisfiable: crate::model::WhenUnsatisfiable::ScheduleAnyway,
            min_domains: None,
            selector: Default::default(),
            match_label_keys: Vec::new(),
            node_affinity_policy: crate::model::NodeInclusionPolicy::Honor,
            node_taints_policy: crate::model::NodeInclusionPolicy::Ignore,
        });
        let mut urgent = service("urgent");
        urgent.requests = Resources::new(1000, 0);
        urgent.placement.priority = 10;
        let desired = DesiredState {
            services: vec![spread, urgent],
        };
        let observed = ObservedCluster {
            storage: Default::default(),
            nodes: vec![node("a").cpu("1").mem("1Gi").status()],
            replicas: vec![pending(0), pending(1)],
            changes: Default::default(),
        };
        let mut q = SchedulingQueue::new();
        q.push(ReplicaId(0), 0);
        q.push(ReplicaId(1), 10);
        let mut rng = stream(0, "t");
        // The priority-10 replica (id 1) goes first and takes the node; replica 0 (2 cpu) fails.
        let a = q.schedule(
            QueueOrder::Priority,
            &desired,
            &observed,
            &mut FirstFit::default(),
            &mut rng,
        );
        assert_eq!(
            a[0],
            Action::Bind {
                replica: ReplicaId(1),
                node: A
            }
        );
        assert!(matches!(
            a[1],
            Action::Unschedulable {
                replica: ReplicaId(0),
                ..
            }
        ));
        // It has a spread constraint: not parked, so the next batch tries it again
        // (one attempt: replica 1 left the queue when it was bound).
        assert_eq!(q.parked(), 0);
        let a = q.schedule(
            QueueOrder::Priority,
            &desired,
            &observed,
            &mut FirstFit::default(),
            &mut rng,
        );
        assert_eq!(a.len(), 1);
    }
}
