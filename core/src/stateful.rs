//! StatefulSets: stable ordinal identities, one claim per replica from
//! `volumeClaimTemplates`, and the controller's ordered or parallel
//! creation and deletion.
//!
//! Key decision: a StatefulSet's pods are the service's replicas, each
//! with an ordinal kept beside it ([`crate::storage::Storage::ordinal`]);
//! a replaced pod gets a new replica id but the same ordinal, so the same
//! name (`db-0`) and the same claims (`data-db-0`), and through them the
//! same volumes. The controller follows upstream's
//! `pkg/controller/statefulset/stateful_set_control.go` (@ the
//! `updateStatefulSet`/`processReplica`/`processCondemned` structure):
//! with `OrderedReady`, ordinals are created one at a time from 0 and each
//! waits for the one before it to be Running and Ready; condemned ordinals
//! (≥ `replicas`) are deleted from the highest, one at a time, each only
//! when every other pod is healthy; a pod of an ordinal that is still
//! terminating blocks its successor (two pods never share an identity).
//! With `Parallel`, every missing ordinal is created and every condemned
//! one deleted at once.

use crate::model::{ReplicaId, ReplicaState};
use crate::storage::AccessModes;

/// `podManagementPolicy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PodManagement {
    /// One at a time, in ordinal order, each waiting for the previous one.
    #[default]
    OrderedReady,
    /// All at once.
    Parallel,
}

/// `persistentVolumeClaimRetentionPolicy.whenScaled` / `whenDeleted`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Retention {
    /// The claims stay (the default).
    #[default]
    Retain,
    /// The claims are deleted with the pod.
    Delete,
}

/// One of `volumeClaimTemplates`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimTemplate {
    /// `metadata.name`: the pod volume's name and the claims' prefix.
    pub name: String,
    /// `spec.storageClassName` (`None`: the default class, resolved at load).
    pub class: Option<String>,
    /// `spec.resources.requests.storage`, bytes.
    pub request: u64,
    /// `spec.accessModes`.
    pub access_modes: AccessModes,
}

/// What a StatefulSet adds to its service.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatefulSetSpec {
    /// `podManagementPolicy`.
    pub pod_management: PodManagement,
    /// `volumeClaimTemplates`.
    pub claim_templates: Vec<ClaimTemplate>,
    /// `persistentVolumeClaimRetentionPolicy.whenScaled`.
    pub when_scaled: Retention,
    /// `persistentVolumeClaimRetentionPolicy.whenDeleted` (read; the
    /// simulator never deletes a StatefulSet).
    pub when_deleted: Retention,
}

/// The claim of `template` for ordinal `ordinal` of StatefulSet `set`
/// (upstream's `getPersistentVolumeClaimName`): `<template>-<set>-<ordinal>`.
pub fn claim_name(template: &str, set: &str, ordinal: u32) -> String {
    format!("{template}-{set}-{ordinal}")
}

/// The pod name of ordinal `ordinal` of StatefulSet `set`: `<set>-<ordinal>`.
pub fn pod_name(set: &str, ordinal: u32) -> String {
    format!("{set}-{ordinal}")
}

/// What the StatefulSet controller asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatefulAction {
    /// Create the pod of this ordinal.
    Create(u32),
    /// Delete this pod.
    Delete(ReplicaId),
}

/// One pass of the StatefulSet controller over a set that wants `replicas`
/// pods, given its live pods as `(replica, ordinal, state)` (terminated
/// ones left out).
pub fn reconcile(
    replicas: u32,
    policy: PodManagement,
    pods: &[(ReplicaId, u32, ReplicaState)],
) -> Vec<StatefulAction> {
    let monotonic = policy == PodManagement::OrderedReady;
    let mut out = Vec::new();
    // The pod holding each ordinal (the newest if several, e.g. a
    // terminating one and its replacement cannot coexist, but be safe).
    let holder = |k: u32| pods.iter().filter(|p| p.1 == k).max_by_key(|p| p.0);
    let healthy = |s: ReplicaState| s == ReplicaState::Ready;
    for k in 0..replicas {
        match holder(k) {
            None => {
                out.push(StatefulAction::Create(k));
                if monotonic {
                    return out;
                }
            }
            Some(&(id, _, state)) => {
                if state == ReplicaState::Failed {
                    // Deleted now, recreated once it is gone.
                    out.push(StatefulAction::Delete(id));
                    if monotonic {
                        return out;
                    }
                } else if monotonic && !healthy(state) {
                    return out;
                }
            }
        }
    }
    // Condemned: highest ordinal first.
    let mut condemned: Vec<&(ReplicaId, u32, ReplicaState)> =
        pods.iter().filter(|p| p.1 >= replicas).collect();
    condemned.sort_by_key(|p| std::cmp::Reverse((p.1, p.0)));
    for &&(id, _, state) in &condemned {
        if state == ReplicaState::Terminating {
            if monotonic {
                return out;
            }
            continue;
        }
        if monotonic
            && pods
                .iter()
                .any(|p| p.0 != id && p.2 != ReplicaState::Ready && p.1 < replicas)
        {
            return out;
        }
        out.push(StatefulAction::Delete(id));
        if monotonic {
            return out;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReplicaState::*;
    use StatefulAction::*;

    fn r(i: u32) -> ReplicaId {
        ReplicaId(i)
    }

    #[test]
    fn ordered_ready_creates_one_ordinal_at_a_time() {
        let o = PodManagement::OrderedReady;
        // Nothing yet: ordinal 0 only.
        assert_eq!(reconcile(3, o, &[]), [Create(0)]);
        // 0 starting: wait.
        assert_eq!(reconcile(3, o, &[(r(0), 0, Starting)]), []);
        // 0 ready: 1 next.
        assert_eq!(reconcile(3, o, &[(r(0), 0, Ready)]), [Create(1)]);
        // 1 lost (its pod gone) while 2 runs: 1 again first.
        assert_eq!(
            reconcile(3, o, &[(r(0), 0, Ready), (r(2), 2, Ready)]),
            [Create(1)]
        );
        // 0 still terminating: no second pod 0.
        assert_eq!(reconcile(3, o, &[(r(0), 0, Terminating)]), []);
    }

    #[test]
    fn parallel_creates_every_missing_ordinal() {
        let p = PodManagement::Parallel;
        assert_eq!(reconcile(3, p, &[]), [Create(0), Create(1), Create(2)]);
        assert_eq!(
            reconcile(3, p, &[(r(5), 1, Starting)]),
            [Create(0), Create(2)]
        );
    }

    #[test]
    fn condemned_ordinals_go_highest_first() {
        let all_ready = [(r(0), 0, Ready), (r(1), 1, Ready), (r(2), 2, Ready)];
        // Scale 3 → 1, OrderedReady: ordinal 2 first, alone.
        assert_eq!(
            reconcile(1, PodManagement::OrderedReady, &all_ready),
            [Delete(r(2))]
        );
        // While 2 terminates, 1 waits.
        assert_eq!(
            reconcile(
                1,
                PodManagement::OrderedReady,
                &[(r(0), 0, Ready), (r(1), 1, Ready), (r(2), 2, Terminating)]
            ),
            []
        );
        // An unhealthy pod blocks the scale-down.
        assert_eq!(
            reconcile(
                1,
                PodManagement::OrderedReady,
                &[(r(0), 0, Starting), (r(1), 1, Ready)]
            ),
            []
        );
        // Parallel: both at once, highest first.
        assert_eq!(
            reconcile(1, PodManagement::Parallel, &all_ready),
            [Delete(r(2)), Delete(r(1))]
        );
    }

    #[test]
    fn a_failed_pod_is_deleted_then_recreated_with_its_ordinal() {
        let o = PodManagement::OrderedReady;
        assert_eq!(
            reconcile(2, o, &[(r(0), 0, Ready), (r(1), 1, Failed)]),
            [Delete(r(1))]
        );
        assert_eq!(reconcile(2, o, &[(r(0), 0, Ready)]), [Create(1)]);
        assert_eq!(claim_name("data", "db", 1), "data-db-1");
        assert_eq!(pod_name("db", 1), "db-1");
    }
}
