//! Whole-cluster presets: the managed Kubernetes flavours people run, each
//! a scheduler profile, a node autoscaler profile and the HPA controller's
//! flags, chosen with one scenario field (`preset = "aks"`).
//!
//! Key decision: a preset supplies *defaults* — the base every scenario
//! field is applied over — so any field a scenario gives still wins, and a
//! preset is plain data an outside caller can read ([`cluster_presets`]).
//! Values come from each provider's documentation (cited per preset);
//! where a provider does not publish a value, the preset keeps upstream's
//! default and says so. Flags a preset documents but Orkestra does not
//! model yet are named in [`ClusterPreset::unmodelled`], never silently
//! dropped from the description.

use crate::autoscale::cluster::{ClusterAutoscalerConfig, KarpenterConfig};
use crate::autoscale::hpa::HpaConfig;

/// Which node autoscaler a preset runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeAutoscalerKind {
    /// Kubernetes' Cluster Autoscaler.
    ClusterAutoscaler,
    /// Karpenter.
    Karpenter,
}

/// One whole-cluster preset.
#[derive(Clone, Debug)]
pub struct ClusterPreset {
    /// The scenario's `preset` value.
    pub name: &'static str,
    /// One line for `sim list policies`.
    pub about: &'static str,
    /// Where the values come from.
    pub source: &'static str,
    /// The placement preset (`scheduler.policy` when the scenario gives none).
    pub placement: &'static str,
    /// `percentageOfNodesToScore` (0: kube-scheduler's adaptive default).
    pub percentage_of_nodes_to_score: u32,
    /// The node autoscaler (`clusterAutoscaler.kind` when the scenario gives none).
    pub node_autoscaler: NodeAutoscalerKind,
    /// The Cluster Autoscaler's flags.
    pub cluster_autoscaler: ClusterAutoscalerConfig,
    /// Karpenter's NodePool disruption settings.
    pub karpenter: KarpenterConfig,
    /// kube-controller-manager's HPA flags.
    pub hpa: HpaConfig,
    /// Documented settings Orkestra does not model yet, as `flag=value`.
    pub unmodelled: &'static [&'static str],
}

/// Every preset, by name: `kubernetes`, `gke-balanced`,
/// `gke-optimize-utilization`, `eks-cluster-autoscaler`, `eks-karpenter`, `aks`.
pub const CLUSTER_PRESET_NAMES: [&str; 6] = [
    "kubernetes",
    "gke-balanced",
    "gke-optimize-utilization",
    "eks-cluster-autoscaler",
    "eks-karpenter",
    "aks",
];

/// The preset called `name`.
pub fn cluster_preset(name: &str) -> Option<ClusterPreset> {
    cluster_presets().into_iter().find(|p| p.name == name)
}

/// Every preset, in [`CLUSTER_PRESET_NAMES`] order.
pub fn cluster_presets() -> Vec<ClusterPreset> {
    vec![
        kubernetes(),
        gke_balanced(),
        gke_optimize_utilization(),
        eks_cluster_autoscaler(),
        eks_karpenter(),
        aks(),
    ]
}

/// `kubernetes`: upstream's defaults throughout — kube-scheduler's default
/// profile with its adaptive `percentageOfNodesToScore` (0), the Cluster
/// Autoscaler's flag defaults (FAQ "What are the parameters to CA?"),
/// kube-controller-manager's HPA flag defaults.
pub fn kubernetes() -> ClusterPreset {
    ClusterPreset {
        name: "kubernetes",
        about: "upstream defaults: kube-scheduler's default profile (adaptive sampling), Cluster Autoscaler flags, HPA controller flags",
        source: "kubernetes.io Scheduler Configuration; kubernetes/autoscaler FAQ; kube-controller-manager reference",
        placement: "kubernetes-default",
        percentage_of_nodes_to_score: 0,
        node_autoscaler: NodeAutoscalerKind::ClusterAutoscaler,
        cluster_autoscaler: ClusterAutoscalerConfig::default(),
        karpenter: KarpenterConfig::default(),
        hpa: HpaConfig::default(),
        unmodelled: &[],
    }
}

/// `gke-balanced`: GKE's default autoscaling profile (cloud.google.com,
/// GKE "Cluster autoscaler", *Autoscaling profiles*). Google does not
/// publish the flag values behind it, so the Cluster Autoscaler keeps
/// upstream's defaults; documented: pods with local storage do not block
/// scale-down (since 1.22).
pub fn gke_balanced() -> ClusterPreset {
    ClusterPreset {
        name: "gke-balanced",
        about: "GKE's balanced autoscaling profile: the default scheduler, upstream CA flags (GKE publishes none), local storage not blocking scale-down",
        source: "cloud.google.com GKE Cluster autoscaler: autoscaling profiles",
        cluster_autoscaler: ClusterAutoscalerConfig {
            skip_nodes_with_local_storage: false,
            ..ClusterAutoscalerConfig::default()
        },
        ..kubernetes()
    }
}

/// `gke-optimize-utilization`: GKE's `optimize-utilization` profile, which
/// switches the scheduler to one preferring highly allocated nodes (the
/// `gke-optimize-utilization` placement: MostAllocated) and "removes more
/// nodes, faster" — with no published flag values, so the Cluster
/// Autoscaler keeps upstream's defaults.
pub fn gke_optimize_utilization() -> ClusterPreset {
    ClusterPreset {
        name: "gke-optimize-utilization",
        about: "GKE's optimize-utilization profile: MostAllocated scheduling, upstream CA flags (GKE publishes none)",
        placement: "gke-optimize-utilization",
        ..gke_balanced()
    }
}

/// `eks-cluster-autoscaler`: EKS has no managed Cluster Autoscaler profile;
/// the self-installed Cluster Autoscaler runs upstream's defaults, the
/// scheduler is upstream's.
pub fn eks_cluster_autoscaler() -> ClusterPreset {
    ClusterPreset {
        name: "eks-cluster-autoscaler",
        about: "EKS with a self-installed Cluster Autoscaler: upstream's defaults",
        source: "docs.aws.amazon.com EKS Cluster Autoscaler; kubernetes/autoscaler FAQ",
        ..kubernetes()
    }
}

/// `eks-karpenter`: EKS with Karpenter's NodePool defaults (karpenter.sh
/// "Disruption"): consolidationPolicy `WhenEmptyOrUnderutilized`,
/// consolidateAfter 0s when `disruption` is omitted, the default budget
/// `nodes: 10%` and `expireAfter: 720h` (karpenter.sh/v1 NodePool).
pub fn eks_karpenter() -> ClusterPreset {
    ClusterPreset {
        name: "eks-karpenter",
        about: "EKS with Karpenter: WhenEmptyOrUnderutilized consolidation after 0s, budget nodes 10%, expireAfter 720h",
        source: "karpenter.sh Disruption (NodePool defaults)",
        node_autoscaler: NodeAutoscalerKind::Karpenter,
        ..kubernetes()
    }
}

/// `aks`: AKS's cluster-autoscaler profile defaults (Microsoft Learn, "Use
/// the cluster autoscaler in AKS", *Cluster autoscaler profile settings*;
/// the ARM type `ManagedClusterPropertiesAutoScalerProfile` agrees):
/// scan-interval 10s, scale-down-delay-after-add 10m,
/// scale-down-unneeded-time 10m, scale-down-utilization-threshold 0.5,
/// expander random, max-empty-bulk-delete 10, max-node-provision-time
/// 15m, max-graceful-termination-sec 600, scale-down-unready-time 20m,
/// max-total-unready-percentage 45, ok-total-unready-count 3,
/// new-pod-scale-up-delay 0s and scale-down-delay-after-delete 10s (the
/// scan interval, where Orkestra's next scale-down comes) — equal to
/// upstream's — and
/// skip-nodes-with-local-storage false (upstream: true); the scheduler is
/// upstream's.
pub fn aks() -> ClusterPreset {
    ClusterPreset {
        name: "aks",
        about: "AKS's cluster-autoscaler profile defaults (scan 10s, unneeded 10m, delay after add 10m, threshold 0.5, expander random, local storage not blocking)",
        source: "learn.microsoft.com AKS cluster autoscaler profile settings",
        cluster_autoscaler: ClusterAutoscalerConfig {
            skip_nodes_with_local_storage: false,
            ..ClusterAutoscalerConfig::default()
        },
        unmodelled: &["scale-down-delay-after-failure=3m"],
        ..kubernetes()
    }
}

impl ClusterPreset {
    /// What the preset sets, on one line (`sim list policies`).
    pub fn describe(&self) -> String {
        let ca = &self.cluster_autoscaler;
        let node = match self.node_autoscaler {
            NodeAutoscalerKind::ClusterAutoscaler => format!(
                "cluster-autoscaler (expander {}, scanInterval {}, scaleDownUtilizationThreshold {}, scaleDownUnneededTime {}, scaleDownDelayAfterAdd {}, maxEmptyBulkDelete {}, skipNodesWithSystemPods {}, skipNodesWithLocalStorage {}, maxGracefulTerminationSec {}, maxNodeProvisionTime {})",
                ca.expander,
                ca.scan_interval,
                ca.scale_down_utilization_threshold,
                ca.scale_down_unneeded_time,
                ca.scale_down_delay_after_add,
                ca.max_empty_bulk_delete,
                ca.skip_nodes_with_system_pods,
                ca.skip_nodes_with_local_storage,
                ca.max_graceful_termination.as_secs_f64(),
                ca.max_node_provision_time
            ),
            NodeAutoscalerKind::Karpenter => {
                let k = &self.karpenter;
                let budgets: Vec<String> = k.budgets.iter().map(|b| b.to_string()).collect();
                let expire = k
                    .expire_after
                    .map_or_else(|| "Never".to_string(), |d| d.to_string());
                format!(
                    "karpenter (consolidationPolicy {:?}, consolidateAfter {}, budgets nodes {}, expireAfter {expire})",
                    k.consolidation_policy,
                    k.consolidate_after,
                    budgets.join("/")
                )
            }
        };
        let h = &self.hpa;
        let mut out = format!(
            "scheduler {} (percentageOfNodesToScore {}); {node}; hpaController (syncPeriod {}, tolerance {}, downscaleStabilization {})",
            self.placement,
            self.percentage_of_nodes_to_score,
            h.sync_period,
            h.tolerance,
            h.downscale_stabilization
        );
        if !self.unmodelled.is_empty() {
            out.push_str(&format!(
                "; not modelled yet: {}",
                self.unmodelled.join(", ")
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SimDuration;

    #[test]
    fn every_name_resolves_to_its_preset() {
        assert_eq!(cluster_presets().len(), CLUSTER_PRESET_NAMES.len());
        for n in CLUSTER_PRESET_NAMES {
            assert_eq!(cluster_preset(n).unwrap().name, n);
        }
        assert!(cluster_preset("openshift").is_none());
    }

    /// The AKS profile's documented values (Microsoft Learn) for the flags
    /// Orkestra models.
    #[test]
    fn aks_is_its_documented_profile() {
        let a = aks().cluster_autoscaler;
        assert_eq!(a.scan_interval, SimDuration::from_secs(10));
        assert_eq!(a.scale_down_delay_after_add, SimDuration::from_secs(600));
        assert_eq!(a.scale_down_unneeded_time, SimDuration::from_secs(600));
        assert_eq!(a.scale_down_utilization_threshold, 0.5);
        assert_eq!(a.max_empty_bulk_delete, 10);
        assert_eq!(a.expander.to_string(), "random");
        assert_eq!(a.max_node_provision_time, SimDuration::from_secs(15 * 60));
        assert_eq!(a.max_graceful_termination, SimDuration::from_secs(600));
        assert!(!a.skip_nodes_with_local_storage);
        assert!(
            !gke_balanced()
                .cluster_autoscaler
                .skip_nodes_with_local_storage
        );
        assert!(
            eks_cluster_autoscaler()
                .cluster_autoscaler
                .skip_nodes_with_local_storage
        );
        assert_eq!(aks().percentage_of_nodes_to_score, 0);
    }

    #[test]
    fn flavours_differ_where_their_providers_say() {
        assert_eq!(
            gke_optimize_utilization().placement,
            "gke-optimize-utilization"
        );
        assert_eq!(gke_balanced().placement, "kubernetes-default");
        assert_eq!(
            eks_karpenter().node_autoscaler,
            NodeAutoscalerKind::Karpenter
        );
        assert_eq!(
            eks_karpenter().karpenter.consolidate_after,
            SimDuration::ZERO
        );
    }
}
