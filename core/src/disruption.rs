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

/// `intstr.IntOrString` as a PDB takes it: a count or a percentage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntOrPercent {
    /// An absolute number of pods.
    Int(u32),
    /// A percentage (0–100) of the expected pods.
    Percent(u32),
}

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
