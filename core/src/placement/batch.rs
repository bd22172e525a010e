//! Scheduling batches: the queue orders, the loop that places a batch's
//! pending replicas one by one (each seeing the binds before it, volumes
//! bound on the batch's own copy of the storage state), and the dry run of
//! a whole desired state on empty nodes.

use std::collections::HashMap;

use rand::Rng;

use super::{Batch, ClusterView, NodeAlloc, Place, Request};
use crate::action::Action;
use crate::fit::Unschedulable;
use crate::model::{
    ChangeLog, DesiredState, NodeStatus, ObservedCluster, ReplicaId, ReplicaState, ReplicaStatus,
    ServiceId,
};
use crate::sched::drf::DrfQueue;
use crate::time::SimTime;

/// The order in which a scheduling batch takes its pending replicas.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum QueueOrder {
    /// Highest priority first, then by replica id (kube-scheduler's
    /// default `PrioritySort` queue).
    #[default]
    Priority,
    /// Dominant Resource Fairness between services (Ghodsi et al., NSDI
    /// 2011): the next replica comes from the service with the lowest
    /// dominant share, recomputed after each bind; higher priority still
    /// goes first. See [`crate::sched::drf::DrfQueue`].
    Drf,
}

impl QueueOrder {
    /// The name scenarios use (`[scheduler] queue`).
    pub fn as_str(self) -> &'static str {
        match self {
            QueueOrder::Priority => "priority",
            QueueOrder::Drf => "drf",
        }
    }
}

/// Places every pending replica, highest priority first and in id order
/// within a priority (kube-scheduler's default `PrioritySort` queue),
/// returning a `Bind` or an `Unschedulable` action for each.
pub fn schedule(
    desired: &DesiredState,
    observed: &ObservedCluster,
    policy: &mut dyn Place,
    rng: &mut dyn Rng,
) -> Vec<Action> {
    schedule_with(QueueOrder::Priority, desired, observed, policy, rng)
}

/// Places every pending replica in the given queue `order`, returning a
/// `Bind` or an `Unschedulable` action for each, in the order decided.
pub fn schedule_with(
    order: QueueOrder,
    desired: &DesiredState,
    observed: &ObservedCluster,
    policy: &mut dyn Place,
    rng: &mut dyn Rng,
) -> Vec<Action> {
    let mut pending: Vec<(i32, u32)> = observed
        .replicas
        .iter()
        .enumerate()
        .filter(|(_, r)| r.state == ReplicaState::Pending)
        .map(|(i, r)| {
            let p = desired.services[r.service.0 as usize].placement.priority;
            (p, i as u32)
        })
        .collect();
    if pending.is_empty() {
        return Vec::new();
    }
    if pending.iter().any(|p| p.0 != pending[0].0) {
        pending.sort_by_key(|&(p, i)| (std::cmp::Reverse(p), i));
    }
    let ids: Vec<ReplicaId> = pending.into_iter().map(|(_, i)| ReplicaId(i)).collect();
    match order {
        QueueOrder::Priority => schedule_in_order(desired, observed, &ids, policy, rng),
        QueueOrder::Drf => schedule_drf(desired, observed, &ids, policy, rng),
    }
}

/// Where the next replica of a batch comes from.
trait BatchQueue {
    /// The next replica, or `None` when the batch is done.
    fn pop(&mut self) -> Option<ReplicaId>;
    /// The replica last popped was bound.
    fn bound(&mut self) {}
}

impl BatchQueue for std::slice::Iter<'_, ReplicaId> {
    fn pop(&mut self) -> Option<ReplicaId> {
        self.next().copied()
    }
}

impl BatchQueue for DrfQueue {
    fn pop(&mut self) -> Option<ReplicaId> {
        DrfQueue::pop(self)
    }
    fn bound(&mut self) {
        DrfQueue::bound(self)
    }
}

/// Places the pending replicas `order` one by one in that order, each
/// decision seeing the binds made before it in the batch, returning a
/// `Bind` or an `Unschedulable` action for each.
///
/// A replica of a service whose previous replica in this batch failed,
/// with no bind in between, gets that failure again without asking the
/// policy: the policy would see the same request and the same view, and a
/// failed decision changes no policy state and draws no randomness (true
/// of every registered policy). A job arrival of many identical pods that
/// do not fit then costs one scan of the nodes, not one per pod.
pub fn schedule_in_order(
    desired: &DesiredState,
    observed: &ObservedCluster,
    order: &[ReplicaId],
    policy: &mut dyn Place,
    rng: &mut dyn Rng,
) -> Vec<Action> {
    drive(
        desired,
        observed,
        &mut order.iter(),
        order.len(),
        policy,
        rng,
    )
}

/// Places the pending replicas `candidates` in Dominant Resource Fairness
/// order (see [`crate::sched::drf::DrfQueue`]).
pub fn schedule_drf(
    desired: &DesiredState,
    observed: &ObservedCluster,
    candidates: &[ReplicaId],
    policy: &mut dyn Place,
    rng: &mut dyn Rng,
) -> Vec<Action> {
    let mut queue = DrfQueue::new(desired, observed, candidates.iter().map(|r| r.0));
    drive(desired, observed, &mut queue, candidates.len(), policy, rng)
}

fn drive(
    desired: &DesiredState,
    observed: &ObservedCluster,
    queue: &mut dyn BatchQueue,
    len: usize,
    policy: &mut dyn Place,
    rng: &mut dyn Rng,
) -> Vec<Action> {
    let mut allocs: Vec<NodeAlloc> = observed.nodes.iter().map(NodeAlloc::of).collect();
    let mut batch = Batch::new();
    let mut actions = Vec::with_capacity(len);
    // service → (binds in the batch when it failed, why)
    let mut failed: HashMap<u32, (usize, Unschedulable)> = HashMap::new();
    // The batch's own copy of the storage state, made at its first pod
    // with volumes (upstream's assume cache).
    let mut storage = std::borrow::Cow::Borrowed(&observed.storage);
    while let Some(replica) = queue.pop() {
        let service = observed.replicas[replica.0 as usize].service;
        debug_assert_eq!(
            observed.replicas[replica.0 as usize].state,
            ReplicaState::Pending
        );
        let spec = &desired.services[service.0 as usize];
        let volumes = !spec.volumes.is_empty();
        if !volumes
            && let Some((binds, why)) = failed.get(&service.0)
            && *binds == batch.changed().len()
        {
            actions.push(Action::Unschedulable {
                replica,
                why: why.clone(),
            });
            continue;
        }
        let claims = if volumes {
            storage.claims_of(spec, Some(replica))
        } else {
            Vec::new()
        };
        let request = Request::of(service, spec, &claims);
        let view = ClusterView {
            nodes: &observed.nodes,
            allocs: &allocs,
            batch: &batch,
            changes: &observed.changes,
            storage: &storage,
        };
        match policy.place(&request, &view, rng) {
            Ok(node) => {
                allocs[node.0 as usize].add(spec.requests);
                batch.bind(node, service);
                if volumes {
                    storage.to_mut().place_pod(
                        &crate::storage::PodStorage::of(spec, &claims),
                        node,
                        &observed.nodes[node.0 as usize].spec,
                    );
                }
                actions.push(Action::Bind { replica, node });
                queue.bound();
            }
            Err(why) => {
                if !volumes {
                    failed.insert(service.0, (batch.changed().len(), why.clone()));
                }
                actions.push(Action::Unschedulable { replica, why });
            }
        }
    }
    actions
}

/// The outcome of placing a whole desired state on empty nodes.
#[derive(Clone, Debug)]
pub struct InitialPlacement {
    /// The cluster after the binds (bound replicas `Starting`, others `Pending`).
    pub observed: ObservedCluster,
    /// Replicas placed, per service.
    pub placed: Vec<u32>,
    /// Why the first replica of each service that could not be placed was not.
    pub first_failure: Vec<Option<Unschedulable>>,
}

/// A dry run of the first reconcile: every replica of `desired` placed on
/// `nodes` (empty) in id order with `policy`. Used to reject scenarios whose
/// replicas cannot fit, and by `sim place` to show the cluster it explains.
pub fn place_initial(
    desired: &DesiredState,
    nodes: Vec<NodeStatus>,
    policy: &mut dyn Place,
    rng: &mut dyn Rng,
) -> InitialPlacement {
    place_initial_with(QueueOrder::Priority, desired, nodes, policy, rng)
}

/// [`place_initial`] with the replicas taken in queue `order`.
pub fn place_initial_with(
    order: QueueOrder,
    desired: &DesiredState,
    nodes: Vec<NodeStatus>,
    policy: &mut dyn Place,
    rng: &mut dyn Rng,
) -> InitialPlacement {
    place_initial_with_storage(order, desired, nodes, Default::default(), policy, rng)
}

/// [`place_initial_with`] on a cluster holding `storage` (its immediate
/// claims bound, [`crate::storage::Storage::bind_immediate`]); the binds
/// bind and provision volumes as a world's would.
pub fn place_initial_with_storage(
    order: QueueOrder,
    desired: &DesiredState,
    nodes: Vec<NodeStatus>,
    storage: crate::storage::Storage,
    policy: &mut dyn Place,
    rng: &mut dyn Rng,
) -> InitialPlacement {
    let mut observed = ObservedCluster {
        storage,
        nodes,
        replicas: desired
            .services
            .iter()
            .enumerate()
            .flat_map(|(i, s)| {
                std::iter::repeat_n(
                    ReplicaStatus {
                        service: ServiceId(i as u32),
                        node: None,
                        state: ReplicaState::Pending,
                        since: SimTime::ZERO,
                    },
                    s.replicas as usize,
                )
            })
            .collect(),
        changes: ChangeLog::new(),
    };
    // StatefulSet replicas take ordinals 0.. and their claims, as the
    // controller would create them.
    let mut next = vec![0u32; desired.services.len()];
    let node_specs: Vec<crate::model::NodeSpec> =
        observed.nodes.iter().map(|n| (*n.spec).clone()).collect();
    let node_refs: Vec<&crate::model::NodeSpec> = node_specs.iter().collect();
    for i in 0..observed.replicas.len() {
        let s = observed.replicas[i].service.0 as usize;
        let spec = &desired.services[s];
        if spec.stateful.is_some() {
            let k = next[s];
            next[s] += 1;
            observed.storage.set_ordinal(ReplicaId(i as u32), k);
            observed.storage.ensure_claims(spec, k);
        }
    }
    if next.iter().any(|&k| k > 0) {
        observed.storage.bind_immediate(&node_refs);
    }
    let n = desired.services.len();
    let (mut placed, mut first_failure) = (vec![0u32; n], vec![None; n]);
    for a in schedule_with(order, desired, &observed, policy, rng) {
        match a {
            Action::Bind { replica, node } => {
                let r = &mut observed.replicas[replica.0 as usize];
                let s = r.service.0 as usize;
                r.node = Some(node);
                r.state = ReplicaState::Starting;
                let spec = &desired.services[s];
                observed.bind(node, ServiceId(s as u32), spec.requests);
                let n = observed.nodes[node.0 as usize].spec.clone();
                let claims = observed.storage.claims_of(spec, Some(replica));
                observed.storage.place_pod(
                    &crate::storage::PodStorage::of(spec, &claims),
                    node,
                    &n,
                );
                placed[s] += 1;
            }
            Action::Unschedulable { replica, why } => {
                let s = observed.replicas[replica.0 as usize].service.0 as usize;
                first_failure[s].get_or_insert(why);
            }
            _ => {}
        }
    }
    InitialPlacement {
        observed,
        placed,
        first_failure,
    }
}
