//! Kubernetes' default scheduling profile, defined once: the plain per-node
//! profile that the `kubernetes-default` presets expose
//! ([`super::policies`]) and that the cached fast path ([`super::fast`])
//! answers like and falls back to.

use super::config::SchedulerProfile;
use super::{Profile, Sampling};

/// Kubernetes' default profile (kubernetes.io "Scheduler Configuration",
/// default plugins; `pkg/scheduler/apis/config/v1/default_plugins.go`), as
/// far as Orkestra models the objects it reads: the
/// [`SchedulerProfile::kubernetes_default`] configuration with
/// `percentageOfNodesToScore` given by `sampling`. Filters, in upstream
/// order: TaintToleration, NodeAffinity, NodeResourcesFit, VolumeRestrictions,
/// NodeVolumeLimits, VolumeBinding, VolumeZone, PodTopologySpread,
/// InterPodAffinity (the [`super::hard::hard_filters`]). Scores with
/// upstream's default weights, in upstream order: TaintToleration 3,
/// NodeAffinity 2, NodeResourcesFit with LeastAllocated (cpu 1, memory 1) 1,
/// PodTopologySpread 2 (the system default constraints for replicas that
/// declare none), InterPodAffinity 2, NodeResourcesBalancedAllocation 1.
///
/// Not included: InterPodAffinity's pod *affinity* and anti-affinity to
/// other services (only anti-affinity to the replica's own service is
/// modelled), and the plugins for objects Orkestra does not model
/// (NodeUnschedulable, NodeName, NodePorts; ImageLocality
/// scores 0 for images under its 23 MB threshold, and the workload image is
/// a few MB).
///
/// With [`Sampling::All`] this is the plain per-node path, every node
/// filtered and scored (the baseline of the scheduling benchmarks).
pub fn kubernetes_default_sampled(sampling: Sampling) -> Profile {
    let mut p = SchedulerProfile::kubernetes_default();
    p.percentage_of_nodes_to_score = match sampling {
        Sampling::All => 100,
        Sampling::Adaptive => 0,
        Sampling::Percent(p) => p,
    };
    p.profile()
}
