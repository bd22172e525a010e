//! PriorityClasses (`scheduling.k8s.io/v1`) and a pod's preemption policy.
//!
//! Key decision: a class is resolved into the pod's integer priority and
//! preemption policy once, at load time, as the `Priority` admission plugin
//! (`plugin/pkg/admission/priority/admission.go`) writes them into the pod
//! spec; the scheduler and preemption then read only
//! [`Constraints::priority`](crate::model::Constraints::priority) and
//! [`Constraints::preemption_policy`](crate::model::Constraints::preemption_policy).
//! The constants are `pkg/apis/scheduling/types.go`'s.

/// `HighestUserDefinablePriority`: user classes may not exceed it.
pub const HIGHEST_USER_DEFINABLE_PRIORITY: i32 = 1_000_000_000;
/// `SystemCriticalPriority` (2 × the highest user-definable priority).
pub const SYSTEM_CRITICAL_PRIORITY: i32 = 2 * HIGHEST_USER_DEFINABLE_PRIORITY;
/// `SystemPriorityClassPrefix`: user classes may not take names starting so.
pub const SYSTEM_PRIORITY_CLASS_PREFIX: &str = "system-";
/// `DefaultPriorityWhenNoDefaultClassExists`.
pub const DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS: i32 = 0;

/// `v1.PreemptionPolicy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PreemptionPolicy {
    /// `PreemptLowerPriority` (the default): may preempt lower-priority pods.
    #[default]
    PreemptLowerPriority,
    /// `Never`: waits in the queue (ahead of lower priorities) but never preempts.
    Never,
}

impl PreemptionPolicy {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PreemptionPolicy::PreemptLowerPriority => "PreemptLowerPriority",
            PreemptionPolicy::Never => "Never",
        }
    }
}

/// A `PriorityClass`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriorityClass {
    /// `metadata.name`.
    pub name: String,
    /// `value`: the priority of pods that name it.
    pub value: i32,
    /// `globalDefault`: the class of pods that name none (at most one).
    pub global_default: bool,
    /// `preemptionPolicy` (default `PreemptLowerPriority`).
    pub preemption_policy: PreemptionPolicy,
    /// `description`.
    pub description: String,
}

/// The two classes every cluster has (`SystemPriorityClasses()`):
/// `system-node-critical` (2000001000) and `system-cluster-critical`
/// (2000000000).
pub fn system_priority_classes() -> [PriorityClass; 2] {
    let class = |name: &str, value: i32, description: &str| PriorityClass {
        name: name.to_string(),
        value,
        global_default: false,
        preemption_policy: PreemptionPolicy::PreemptLowerPriority,
        description: description.to_string(),
    };
    [
        class(
            "system-node-critical",
            SYSTEM_CRITICAL_PRIORITY + 1000,
            "Used for system critical pods that must not be moved from their current node.",
        ),
        class(
            "system-cluster-critical",
            SYSTEM_CRITICAL_PRIORITY,
            "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
        ),
    ]
}
