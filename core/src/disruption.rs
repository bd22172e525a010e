//! PodDisruptionBudgets (`policy/v1`): how many of a set of pods a
//! voluntary disruption may take down.
//!
//! Key decision: the budget is plain data here; the arithmetic that turns it
//! into `disruptionsAllowed` follows the disruption controller
//! (`pkg/controller/disruption/disruption.go`, `getExpectedPodCount` and
//! `updatePdbStatus`), and every voluntary disruption (drains, node
//! autoscaler scale-down and consolidation, preemption's victim choice)
//! asks it.

use crate::labels::LabelSelector;

pub use crate::intstr::{IntOrPercent, get_scaled_value_from_int_or_percent};

/// A PDB's one rule: `minAvailable` or `maxUnavailable`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisruptionRule {
    /// `minAvailable`.
    MinAvailable(IntOrPercent),
    /// `maxUnavailable`.
    MaxUnavailable(IntOrPercent),
}

/// A `PodDisruptionBudget`: the pods its selector picks in its namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodDisruptionBudget {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`: only pods in it are selected.
    pub namespace: String,
    /// `spec.selector`; `None` (nil) selects no pods, an empty selector all
    /// pods of the namespace (policy/v1 semantics).
    pub selector: Option<LabelSelector>,
    /// `minAvailable` or `maxUnavailable`.
    pub rule: DisruptionRule,
}

/// What the disruption controller writes into a PDB's status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PdbStatus {
    /// `currentHealthy`: selected pods that are ready and not being deleted.
    pub current_healthy: u32,
    /// `desiredHealthy`: how many must stay healthy.
    pub desired_healthy: u32,
    /// `expectedPods`: the count the rule is a fraction of.
    pub expected_pods: u32,
    /// `disruptionsAllowed`.
    pub disruptions_allowed: u32,
}

/// `getExpectedPodCount` (`pkg/controller/disruption/disruption.go`):
/// `(expectedCount, desiredHealthy)` for `rule` over `pods` selected pods
/// whose controllers' scales add up to `expected_scale`
/// (`getExpectedScale`). An integer `minAvailable` counts the selected pods
/// themselves; `maxUnavailable` and a percentage `minAvailable` count the
/// controllers' desired replicas, rounding the percentage up.
pub fn get_expected_pod_count(rule: DisruptionRule, pods: u32, expected_scale: u32) -> (u32, u32) {
    match rule {
        DisruptionRule::MaxUnavailable(v) => {
            let max_unavailable = get_scaled_value_from_int_or_percent(v, expected_scale, true);
            (
                expected_scale,
                expected_scale.saturating_sub(max_unavailable),
            )
        }
        DisruptionRule::MinAvailable(IntOrPercent::Int(n)) => (pods, n),
        DisruptionRule::MinAvailable(v) => (
            expected_scale,
            get_scaled_value_from_int_or_percent(v, expected_scale, true),
        ),
    }
}

/// `disruptionsAllowed` as `updatePdbStatus` sets it: `currentHealthy −
/// desiredHealthy`, and 0 when that is not positive or when no pods are
/// expected (a PDB that matches nothing yet is safe when its first pods
/// appear). Every voluntary disruption (eviction, drain, node autoscaler
/// scale-down, preemption's victim choice) reads this number.
pub fn disruptions_allowed(current_healthy: u32, desired_healthy: u32, expected_count: u32) -> u32 {
    if expected_count == 0 {
        return 0;
    }
    current_healthy.saturating_sub(desired_healthy)
}

impl PodDisruptionBudget {
    /// Whether the budget selects a pod in `namespace` with `labels`, as
    /// the eviction API and the disruption controller match (`policy/v1`: a
    /// nil selector selects nothing, an empty one every pod of the
    /// namespace).
    pub fn selects(&self, namespace: &str, labels: &crate::labels::Labels) -> bool {
        self.namespace == namespace && self.selector.as_ref().is_some_and(|s| s.matches(labels))
    }

    /// Whether preemption counts the pod against this budget:
    /// `filterPodsWithPDBViolation` skips pods without labels and PDBs with
    /// a nil *or empty* selector (`selector.Empty()`), unlike eviction.
    pub fn selects_for_preemption(&self, namespace: &str, labels: &crate::labels::Labels) -> bool {
        !labels.is_empty()
            && self.namespace == namespace
            && self
                .selector
                .as_ref()
                .is_some_and(|s| !s.is_empty() && s.matches(labels))
    }

    /// The status the disruption controller computes from `pods` selected
    /// pods of which `healthy` are ready and not terminating, and
    /// `expected_scale`, the desired replicas of their controllers.
    pub fn status(&self, pods: u32, healthy: u32, expected_scale: u32) -> PdbStatus {
        let (expected_pods, desired_healthy) =
            get_expected_pod_count(self.rule, pods, expected_scale);
        PdbStatus {
            current_healthy: healthy,
            desired_healthy,
            expected_pods,
            disruptions_allowed: disruptions_allowed(healthy, desired_healthy, expected_pods),
        }
    }

    /// The status of this budget in a cluster: pods are the replicas of
    /// `desired`'s services that it selects and that are not gone
    /// (pending, starting, ready or terminating); healthy ones are ready;
    /// the expected scale sums `replicas` of every service with a selected
    /// pod (each service is its pods' one controller, a ReplicaSet).
    pub fn status_in(
        &self,
        desired: &crate::model::DesiredState,
        observed: &crate::model::ObservedCluster,
    ) -> PdbStatus {
        use crate::model::{ReplicaState, ServiceKind};
        let selected: Vec<bool> = desired
            .services
            .iter()
            .map(|s| self.selects(&s.meta.namespace, &s.meta.labels))
            .collect();
        if !selected.contains(&true) {
            return self.status(0, 0, 0);
        }
        let (mut pods, mut healthy) = (0, 0);
        let mut has_pod = vec![false; selected.len()];
        for r in &observed.replicas {
            let s = r.service.0 as usize;
            if !selected[s] || matches!(r.state, ReplicaState::Terminated | ReplicaState::Failed) {
                continue;
            }
            pods += 1;
            has_pod[s] = true;
            if r.state == ReplicaState::Ready {
                healthy += 1;
            }
        }
        // A job pod's controller is its Job, whose scale is its parallelism:
        // here the pods of the shape that exist.
        let scale = desired
            .services
            .iter()
            .zip(&has_pod)
            .filter(|(_, h)| **h)
            .map(|(s, _)| match s.kind {
                ServiceKind::Service => s.replicas,
                ServiceKind::Job => 0,
            })
            .sum::<u32>()
            + observed
                .replicas
                .iter()
                .filter(|r| {
                    let s = &desired.services[r.service.0 as usize];
                    s.kind == ServiceKind::Job
                        && selected[r.service.0 as usize]
                        && r.state.is_active()
                })
                .count() as u32;
        self.status(pods, healthy, scale)
    }
}

/// The eviction API's answer for replica `r` (`pkg/registry/core/pod/storage/eviction.go`,
/// `EvictionREST.Create`): a pod not yet running (pending) is deleted
/// without a budget check; a pod selected by more than one budget is
/// refused (upstream's 500 "This pod has more than one
/// PodDisruptionBudget, which the eviction subresource does not support.");
/// a ready pod needs `disruptionsAllowed` ≥ 1, a running pod that is not
/// ready needs `currentHealthy` ≥ `desiredHealthy` (the default
/// `unhealthyPodEvictionPolicy: IfHealthyBudget`); otherwise 429 "Cannot
/// evict pod as it would violate the pod's disruption budget.".
pub fn eviction_allowed(
    pdbs: &[PodDisruptionBudget],
    desired: &crate::model::DesiredState,
    observed: &crate::model::ObservedCluster,
    r: crate::model::ReplicaId,
) -> Result<(), String> {
    use crate::model::ReplicaState;
    let st = observed.replicas[r.0 as usize];
    if st.state == ReplicaState::Pending {
        return Ok(());
    }
    let meta = &desired.services[st.service.0 as usize].meta;
    let matching: Vec<&PodDisruptionBudget> = pdbs
        .iter()
        .filter(|p| p.selects(&meta.namespace, &meta.labels))
        .collect();
    let [pdb] = matching.as_slice() else {
        return if matching.is_empty() {
            Ok(())
        } else {
            Err("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.".into())
        };
    };
    let status = pdb.status_in(desired, observed);
    let ok = if st.state == ReplicaState::Ready {
        status.disruptions_allowed >= 1
    } else {
        status.current_healthy >= status.desired_healthy
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "Cannot evict pod as it would violate the pod's disruption budget (PDB {}: disruptionsAllowed {}).",
            pdb.name, status.disruptions_allowed
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_scale_rounding_up_as_intstr_does() {
        // intstr_test.go TestGetScaledValueFromIntOrPercent (kubernetes/kubernetes
        // staging/src/k8s.io/apimachinery/pkg/util/intstr): 50% of 10 → 5; 33% of 10 rounds
        // up to 4 (3.3) and down to 3; an int is itself whatever the total.
        assert_eq!(
            get_scaled_value_from_int_or_percent(IntOrPercent::Percent(50), 10, true),
            5
        );
        assert_eq!(
            get_scaled_value_from_int_or_percent(IntOrPercent::Percent(33), 10, true),
            4
        );
        assert_eq!(
            get_scaled_value_from_int_or_percent(IntOrPercent::Percent(33), 10, false),
            3
        );
        assert_eq!(
            get_scaled_value_from_int_or_percent(IntOrPercent::Int(7), 3, true),
            7
        );
        assert_eq!(
            get_scaled_value_from_int_or_percent(IntOrPercent::Percent(100), 0, true),
            0
        );
    }

    /// The rules of `getExpectedPodCount`/`updatePdbStatus`
    /// (`pkg/controller/disruption/disruption.go`, kubernetes/kubernetes
    /// commit 003e86297d18a8538c9da3619871393f9703bf70), each worked by hand.
    #[test]
    fn disruptions_allowed_follows_the_disruption_controller() {
        use DisruptionRule::*;
        use IntOrPercent::*;
        // (rule, selected pods, healthy, controllers' scale) → (expected, desired, allowed)
        let cases = [
            // minAvailable 2 of 3 ready pods: expected = pods = 3, desired 2, allowed 3 − 2 = 1.
            (MinAvailable(Int(2)), 3, 3, 3, (3, 2, 1)),
            // minAvailable 3 with one pod unready: 2 − 3 < 0 → 0.
            (MinAvailable(Int(3)), 3, 2, 3, (3, 3, 0)),
            // minAvailable 50% of a scale of 5: ceil(2.5) = 3 desired; 5 healthy → 2.
            (MinAvailable(Percent(50)), 5, 5, 5, (5, 3, 2)),
            // The percentage is of the controllers' scale (4), not the pods that exist (2).
            (MinAvailable(Percent(50)), 2, 2, 4, (4, 2, 0)),
            // maxUnavailable 1 of 4: desired 3; 4 healthy → 1.
            (MaxUnavailable(Int(1)), 4, 4, 4, (4, 3, 1)),
            // maxUnavailable 30% of 4: ceil(1.2) = 2 → desired 2; 3 healthy → 1.
            (MaxUnavailable(Percent(30)), 4, 3, 4, (4, 2, 1)),
            // maxUnavailable larger than the scale: desired clamps at 0; 2 healthy → 2.
            (MaxUnavailable(Int(5)), 2, 2, 2, (2, 0, 2)),
            // No pods expected: 0 whatever the arithmetic says (updatePdbStatus).
            (MaxUnavailable(Int(1)), 0, 0, 0, (0, 0, 0)),
            // minAvailable 0 of 0 pods: expected 0 → 0 allowed.
            (MinAvailable(Int(0)), 0, 0, 0, (0, 0, 0)),
            // minAvailable 100%: nothing may go.
            (MinAvailable(Percent(100)), 3, 3, 3, (3, 3, 0)),
        ];
        for (rule, pods, healthy, scale, (expected, desired, allowed)) in cases {
            let pdb = PodDisruptionBudget {
                name: "b".into(),
                namespace: "default".into(),
                selector: Some(LabelSelector::default()),
                rule,
            };
            let s = pdb.status(pods, healthy, scale);
            assert_eq!(
                (s.expected_pods, s.desired_healthy, s.disruptions_allowed),
                (expected, desired, allowed),
                "{rule:?} pods={pods} healthy={healthy} scale={scale}"
            );
            assert_eq!(s.current_healthy, healthy);
        }
    }

    #[test]
    fn preemption_ignores_empty_selectors_and_unlabelled_pods() {
        let labels: crate::labels::Labels = [("app".to_string(), "db".to_string())].into();
        let mut pdb = PodDisruptionBudget {
            name: "b".into(),
            namespace: "default".into(),
            selector: Some(LabelSelector::default()),
            rule: DisruptionRule::MinAvailable(IntOrPercent::Int(1)),
        };
        // policy/v1: an empty selector selects every pod of the namespace…
        assert!(pdb.selects("default", &labels));
        assert!(!pdb.selects("other", &labels));
        // …but filterPodsWithPDBViolation skips it.
        assert!(!pdb.selects_for_preemption("default", &labels));
        pdb.selector = Some(LabelSelector::for_labels(labels.clone()));
        assert!(pdb.selects_for_preemption("default", &labels));
        assert!(!pdb.selects_for_preemption("default", &Default::default()));
        pdb.selector = None;
        assert!(!pdb.selects("default", &labels));
    }
}
