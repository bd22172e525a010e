//! The pod template's scheduling and metadata tables: tolerations, node
//! and pod (anti-)affinity, topology spread, label selectors, metadata and
//! volumes.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::*;

/// A toleration, as in a Kubernetes pod spec (without `tolerationSeconds`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TolerationFile {
    /// Taint key to match; empty (with `Exists`) matches every key.
    #[serde(default)]
    pub key: String,
    /// `Equal` (default) or `Exists`.
    pub operator: Option<TolerationOpFile>,
    /// Value to match with `Equal`.
    #[serde(default)]
    pub value: String,
    /// Effect to match; absent matches every effect.
    pub effect: Option<EffectFile>,
}

/// `operator = "Equal" | "Exists"`.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
pub enum TolerationOpFile {
    /// Key and value must match.
    Equal,
    /// The key must match (any value).
    Exists,
}

/// `affinity = { nodeAffinity = …, podAntiAffinity = … }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AffinityFile {
    /// Required and preferred node selector terms.
    pub node_affinity: Option<NodeAffinityFile>,
    /// Anti-affinity to the service's own replicas.
    pub pod_anti_affinity: Option<Spanned<PodAntiAffinityFile>>,
    /// Pod affinity terms with label selectors, in Kubernetes' shape.
    pub pod_affinity: Option<PodAffinityFile>,
    /// Pod anti-affinity terms with label selectors, in Kubernetes' shape
    /// (beside the one-term `podAntiAffinity` shorthand).
    pub pod_anti_affinity_terms: Option<PodAffinityFile>,
}

/// `nodeAffinity = { required = [term, …], preferred = [{ weight, matchExpressions }, …] }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeAffinityFile {
    /// `requiredDuringSchedulingIgnoredDuringExecution`: a node must match one term.
    #[serde(default)]
    pub required: Vec<Spanned<TermFile>>,
    /// `preferredDuringSchedulingIgnoredDuringExecution`: weights of matching terms add up.
    #[serde(default)]
    pub preferred: Vec<Spanned<PreferredTermFile>>,
}

/// `{ matchExpressions = [requirement, …] }`: all requirements must hold.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TermFile {
    /// Requirements on node labels.
    pub match_expressions: Vec<Spanned<RequirementFile>>,
}

/// `{ weight = 1..100, matchExpressions = [requirement, …] }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PreferredTermFile {
    /// Added to a node's score when it matches (1..=100).
    pub weight: Spanned<i32>,
    /// Requirements on node labels.
    pub match_expressions: Vec<Spanned<RequirementFile>>,
}

/// `{ key = "disk", operator = "In", values = ["ssd"] }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RequirementFile {
    /// Label key.
    pub key: String,
    /// How the label is compared.
    pub operator: SelectorOpFile,
    /// Values (In/NotIn: at least one; Gt/Lt: one integer; Exists/DoesNotExist: none).
    pub values: Option<Spanned<Vec<String>>>,
}

/// `operator = "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt"`.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
pub enum SelectorOpFile {
    /// Value is one of `values`.
    In,
    /// Label absent or value not one of `values`.
    NotIn,
    /// Label present.
    Exists,
    /// Label absent.
    DoesNotExist,
    /// Value, as an integer, greater than the one value.
    Gt,
    /// Value, as an integer, less than the one value.
    Lt,
}

/// `podAntiAffinity = { topologyKey = "kubernetes.io/hostname", required = true }` or
/// `{ topologyKey = …, weight = 1..100 }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodAntiAffinityFile {
    /// Node label whose domains hold replicas of the service apart.
    pub topology_key: String,
    /// A filter (`true`) or a preference (`false`, the default).
    #[serde(default)]
    pub required: bool,
    /// Weight of the preference (required when `required = false`).
    pub weight: Option<Spanned<i32>>,
}

/// A `topologySpreadConstraints` entry; without `labelSelector` it counts the service's own replicas.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SpreadFile {
    /// Largest allowed difference between domains (≥ 1).
    pub max_skew: Spanned<u32>,
    /// Node label that defines the domains.
    pub topology_key: String,
    /// `DoNotSchedule` (a filter) or `ScheduleAnyway` (a score).
    pub when_unsatisfiable: WhenUnsatisfiableFile,
    /// Fewest domains to assume (DoNotSchedule only, ≥ 1).
    pub min_domains: Option<Spanned<u32>>,
    /// The pods counted (default: the service's own replicas).
    pub label_selector: Option<Spanned<LabelSelectorFile>>,
    /// Pod label keys whose values (from the service's own labels) are
    /// added to the selector.
    #[serde(default)]
    pub match_label_keys: Vec<String>,
    /// `Honor` (default) or `Ignore` the replica's node affinity when counting nodes.
    pub node_affinity_policy: Option<NodeInclusionPolicyFile>,
    /// `Honor` or `Ignore` (default) untolerated taints when counting nodes.
    pub node_taints_policy: Option<NodeInclusionPolicyFile>,
}

/// `nodeAffinityPolicy` / `nodeTaintsPolicy`.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
pub enum NodeInclusionPolicyFile {
    /// Only nodes passing the check count.
    Honor,
    /// Every node counts.
    Ignore,
}

/// `whenUnsatisfiable = "DoNotSchedule" | "ScheduleAnyway"`.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
pub enum WhenUnsatisfiableFile {
    /// Nodes that would break `maxSkew` are infeasible.
    DoNotSchedule,
    /// Prefer nodes that reduce the skew.
    ScheduleAnyway,
}

/// `labelSelector = { matchLabels = { app = "web" }, matchExpressions = [requirement, …] }`
/// (`metav1.LabelSelector`): all labels and all expressions must hold; an
/// empty table matches every pod.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LabelSelectorFile {
    /// Each key must have exactly this value.
    #[serde(default)]
    pub match_labels: BTreeMap<String, String>,
    /// `In`, `NotIn`, `Exists`, `DoesNotExist` on pod labels (`Gt`/`Lt` are refused).
    #[serde(default)]
    pub match_expressions: Vec<Spanned<RequirementFile>>,
}

/// `[services.NAME.metadata]`: the pod template's metadata.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MetadataFile {
    /// `metadata.namespace` (default `default`).
    pub namespace: Option<Spanned<String>>,
    /// `metadata.labels` (default `{ app = "<service name>" }`).
    pub labels: Option<Spanned<BTreeMap<String, String>>>,
    /// `metadata.annotations`.
    pub annotations: Option<Spanned<BTreeMap<String, String>>>,
}

/// `podAffinity` / `podAntiAffinityTerms = { required = [term, …], preferred = [{ weight, …term }, …] }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodAffinityFile {
    /// `requiredDuringSchedulingIgnoredDuringExecution`.
    #[serde(default)]
    pub required: Vec<Spanned<PodAffinityTermFile>>,
    /// `preferredDuringSchedulingIgnoredDuringExecution` (each with `weight`).
    #[serde(default)]
    pub preferred: Vec<Spanned<PodAffinityTermFile>>,
}

/// A `PodAffinityTerm` (with `weight` in the preferred list).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodAffinityTermFile {
    /// Node label whose domains the term speaks of.
    pub topology_key: String,
    /// The pods it is about (absent: a nil selector, no pods).
    pub label_selector: Option<Spanned<LabelSelectorFile>>,
    /// Namespaces to look in (default: the service's own).
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Namespaces by their labels (`[namespaces.NAME] labels`, and
    /// `kubernetes.io/metadata.name` on every namespace); `{}` is every namespace.
    pub namespace_selector: Option<Spanned<LabelSelectorFile>>,
    /// Keys of the pod's own labels whose values are added to
    /// `labelSelector` as `key In (value)`.
    #[serde(default)]
    pub match_label_keys: Vec<String>,
    /// Keys of the pod's own labels whose values are added to
    /// `labelSelector` as `key NotIn (value)`.
    #[serde(default)]
    pub mismatch_label_keys: Vec<String>,
    /// Preferred terms: 1..=100.
    pub weight: Option<Spanned<i32>>,
}

/// One of `volumes`: `{ name = "scratch", emptyDir = {} }`,
/// `{ name = "shm", emptyDir = { medium = "Memory" } }`,
/// `{ name = "logs", hostPath = { path = "/var/log" } }` or
/// `{ name = "data", persistentVolumeClaim = { claimName = "data" } }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VolumeFile {
    /// The volume's name (a DNS label, unique in the pod).
    pub name: Spanned<String>,
    /// `emptyDir`.
    pub empty_dir: Option<EmptyDirFile>,
    /// `hostPath`.
    pub host_path: Option<HostPathFile>,
    /// `persistentVolumeClaim = { claimName = "data" }`.
    pub persistent_volume_claim: Option<ClaimSourceFile>,
    /// `awsElasticBlockStore = { volumeID = "vol-1" }`.
    pub aws_elastic_block_store: Option<crate::scenario::storage::EbsFile>,
    /// `gcePersistentDisk = { pdName = "disk-1" }`.
    pub gce_persistent_disk: Option<crate::scenario::storage::GcePdFile>,
}

/// `persistentVolumeClaim = { claimName = "data", readOnly = false }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClaimSourceFile {
    /// The claim, in the pod's namespace.
    pub claim_name: String,
    /// `readOnly`.
    #[serde(default)]
    pub read_only: bool,
}

/// `emptyDir = { medium = "Memory" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EmptyDirFile {
    /// `""` (the node's disk, default) or `"Memory"` (tmpfs).
    pub medium: Option<Spanned<String>>,
    /// `sizeLimit` (read, not enforced).
    pub size_limit: Option<Memory>,
}

/// `hostPath = { path = "/var/log" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HostPathFile {
    /// The path on the node.
    pub path: String,
    /// `type` (read, not checked).
    #[serde(rename = "type")]
    pub kind: Option<String>,
}
