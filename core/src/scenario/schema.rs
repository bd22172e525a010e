//! The scenario file as written: serde types mirroring the TOML.
//!
//! Key decision: these types only describe the file's *shape*; each value
//! type checks its own syntax while deserialising (a quantity, a duration, a
//! positive rate), so toml reports the exact span of a bad value. Rules that
//! span several fields (which parameters a model needs) are checked in
//! `resolve` against `Spanned` positions kept here. Every table denies
//! unknown fields; names follow Kubernetes (camelCase, `replicas`,
//! `requests`, `limits`).

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use toml::Spanned;

use crate::quantity::parse_bytes;
use crate::time::{SimDuration, parse_duration};

mod pod;
mod scalars;

pub use pod::*;
pub use scalars::*;

/// The whole scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScenarioFile {
    /// Short name, used in result folder names.
    pub name: Spanned<String>,
    /// What the scenario is for.
    #[serde(default)]
    pub description: String,
    /// A whole-cluster preset (`kubernetes`, `aks`, …): the defaults of
    /// `[scheduler]`, `[clusterAutoscaler]` and `[hpaController]`.
    pub preset: Option<Spanned<String>>,
    /// How long and how to simulate.
    pub simulation: SimulationFile,
    /// Placement.
    #[serde(default)]
    pub scheduler: SchedulerFile,
    /// Node pools by name.
    pub pools: BTreeMap<String, PoolFile>,
    /// Services by name.
    #[serde(default)]
    pub services: BTreeMap<String, ServiceFile>,
    /// Batch job sets by name.
    #[serde(default)]
    pub jobs: BTreeMap<String, Spanned<JobsFile>>,
    /// The HPA controller's flags (`[hpaController]`).
    pub hpa_controller: Option<Spanned<super::autoscaler::HpaControllerFile>>,
    /// The node autoscaler of the pools that declare `max`.
    pub cluster_autoscaler: Option<Spanned<super::cluster::ClusterAutoscalerFile>>,
    // --- Topology, faults and self-healing (`scenario/topology.rs`,
    // `scenario/faults.rs`, `scenario/health.rs`). ---
    /// Links between zones.
    pub topology: Option<super::topology::TopologyFile>,
    /// Scheduled faults (`[[faults]]`).
    #[serde(default)]
    pub faults: Vec<Spanned<super::faults::FaultFile>>,
    /// Stochastic failure processes by pool (`[stochastic.POOL]`).
    #[serde(default)]
    pub stochastic: BTreeMap<String, super::stochastic::StochasticFile>,
    /// Heartbeats, NotReady and eviction timing.
    pub node_lifecycle: Option<super::health::NodeLifecycleFile>,
    /// What `sim sweep` varies; runs ignore it (read by [`super::sweep_spec`]).
    pub sweep: Option<Spanned<super::sweep::SweepFile>>,
    // --- Priority and disruption (`scenario/priority.rs`, `scenario/disruption.rs`). ---
    /// `[[priorityClasses]]`.
    #[serde(default)]
    pub priority_classes: Vec<Spanned<super::priority::PriorityClassFile>>,
    /// `[[podDisruptionBudgets]]`.
    #[serde(default)]
    pub pod_disruption_budgets: Vec<Spanned<super::disruption::PodDisruptionBudgetFile>>,
    /// `[namespaces.NAME]`: Namespace objects and their labels.
    #[serde(default)]
    pub namespaces: BTreeMap<String, Spanned<NamespaceFile>>,
    // --- Storage (`scenario/storage.rs`). ---
    /// `[[storageClasses]]`.
    #[serde(default)]
    pub storage_classes: Vec<Spanned<super::storage::StorageClassFile>>,
    /// `[[persistentVolumes]]`.
    #[serde(default)]
    pub persistent_volumes: Vec<Spanned<super::storage::PersistentVolumeFile>>,
    /// `[[persistentVolumeClaims]]`.
    #[serde(default)]
    pub persistent_volume_claims: Vec<Spanned<super::storage::PersistentVolumeClaimFile>>,
}

/// `[namespaces.NAME]`: a Namespace's `metadata`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NamespaceFile {
    /// `metadata.labels` (`kubernetes.io/metadata.name` is always the name).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// `[simulation]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SimulationFile {
    /// Length of the run.
    pub duration: Spanned<Dur>,
    /// Seed of all random streams (default 1; `--seed` overrides).
    pub seed: Option<u64>,
    /// Interval of `timeseries.csv` samples (default `1s`).
    pub sample_interval: Option<Spanned<Dur>>,
    /// Initial replicas are ready at time zero (default true).
    pub warm_start: Option<bool>,
    /// How often replicas' metrics are scraped for autoscalers (default `15s`,
    /// metrics-server's `--metric-resolution`).
    pub metric_resolution: Option<Spanned<Dur>>,
    /// Write `nodes.csv`, every node's allocation at every sample (default false).
    pub node_metrics: Option<bool>,
}

/// `[scheduler]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SchedulerFile {
    /// Placement policy name (default `first-fit`).
    pub policy: Option<Spanned<String>>,
    /// Order in which pending replicas are placed (default `priority`).
    pub queue: Option<QueueKind>,
    /// `percentageOfNodesToScore` (Kubernetes presets only).
    pub percentage_of_nodes_to_score: Option<Spanned<i64>>,
    /// `plugins` (Kubernetes presets only).
    pub plugins: Option<Spanned<super::scheduler::PluginsFile>>,
    /// `[[scheduler.pluginConfig]]` (Kubernetes presets only).
    #[serde(default)]
    pub plugin_config: Vec<Spanned<super::scheduler::PluginConfigFile>>,
}

/// `queue = "priority" | "drf"`.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum QueueKind {
    /// Highest priority first, then replica id.
    Priority,
    /// Dominant Resource Fairness between services.
    Drf,
}

/// `[pools.NAME]`: `count` identical nodes, or the nodes of a node list file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PoolFile {
    /// Number of nodes (identical nodes).
    pub count: Option<u32>,
    /// Zone of all its nodes (default: the pool name).
    pub zone: Option<String>,
    /// CPU capacity per node (identical nodes).
    pub cpu: Option<Cpu>,
    /// Memory capacity per node (identical nodes).
    pub memory: Option<Memory>,
    /// GPUs per node (identical nodes; default 0).
    pub gpu: Option<Gpu>,
    /// The nodes listed in a file, instead of `count` identical ones.
    pub nodes: Option<Spanned<NodeListFile>>,
    /// Held back for the system: allocatable = capacity − reserved.
    pub reserved: Option<Spanned<ResourcesFile>>,
    /// More of each node's capacity by resource name (`ephemeral-storage`,
    /// `pods`, `hugepages-<size>`, extended resources), for identical nodes
    /// and node lists alike.
    pub capacity: Option<Spanned<ResourcesFile>>,
    /// Node labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Node taints (`key`, `value`, `effect`), as in a Kubernetes node spec.
    #[serde(default)]
    pub taints: Vec<Spanned<TaintFile>>,
    /// Autoscaled pools: fewest nodes (default 0).
    pub min: Option<Spanned<u32>>,
    /// Autoscaled pools: most nodes; a pool with `max` is a node group.
    pub max: Option<Spanned<u32>>,
    /// Autoscaled pools: from scale-up to ready (default `3m`).
    pub boot_delay: Option<Spanned<Dur>>,
    /// What one node costs per hour (default 0).
    pub cost_per_hour: Option<NonNegative>,
    /// Relative speed of its nodes: service times are divided by it (default 1).
    pub speed: Option<Spanned<f64>>,
    // --- Topology (`scenario/topology.rs`). ---
    /// Region of the pool's zone (default `default`).
    pub region: Option<Spanned<String>>,
    /// Racks the pool's nodes are dealt over, round-robin (default: a rack per node).
    pub racks: Option<Spanned<u32>>,
    /// Volumes each node can attach per CSI driver (its CSINode's
    /// `allocatable.count`): `{ "ebs.csi.aws.com" = 25 }`. Default: no limit.
    #[serde(default)]
    pub volume_limits: BTreeMap<String, u32>,
}

/// `{ key = "dedicated", value = "gpu", effect = "NoSchedule" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TaintFile {
    /// Taint key.
    pub key: String,
    /// Taint value (default empty).
    #[serde(default)]
    pub value: String,
    /// What the taint does to replicas that do not tolerate it.
    pub effect: EffectFile,
}

/// `effect = "NoSchedule" | "PreferNoSchedule" | "NoExecute"`.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
pub enum EffectFile {
    /// Not scheduled there.
    NoSchedule,
    /// Avoided if possible.
    PreferNoSchedule,
    /// Not scheduled there (and evicted, in Kubernetes).
    NoExecute,
}

/// `{ cpu = "500m", memory = "256Mi", gpu = 1, "example.com/foo" = 2 }`:
/// any resource name as Kubernetes spells it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ResourcesFile {
    /// CPU.
    pub cpu: Option<Cpu>,
    /// Memory.
    pub memory: Option<Memory>,
    /// GPUs (`gpu` or `nvidia.com/gpu`), in thousandths.
    pub gpu: Option<Gpu>,
    /// Every other resource given, in the order written: `ephemeral-storage`
    /// and `hugepages-<size>` in bytes, `pods` and extended resources
    /// (`example.com/foo`) as whole counts.
    pub other: Vec<(crate::model::ResourceName, u64)>,
}

/// What a resource name takes, or why it is not one.
fn resource_kind(name: &str) -> Result<crate::model::ResourceName, String> {
    use crate::model::ResourceName;
    let r = ResourceName::named(name);
    let ok = match r {
        ResourceName::Scalar(n) if n.starts_with("hugepages-") => {
            parse_bytes(&n["hugepages-".len()..]).is_ok_and(|b| b > 0)
        }
        ResourceName::Scalar(n) => {
            let (domain, rest) = n.split_once('/').unwrap_or(("", ""));
            !domain.is_empty()
                && !rest.is_empty()
                && !rest.contains('/')
                && !domain.ends_with("kubernetes.io")
                && !n.starts_with("requests.")
        }
        _ => true,
    };
    if ok {
        Ok(r)
    } else {
        Err(format!(
            "unknown resource '{name}': use cpu, memory, gpu, ephemeral-storage, pods, hugepages-<size> (e.g. hugepages-2Mi) or an extended resource such as example.com/foo (outside kubernetes.io)"
        ))
    }
}

impl<'de> Deserialize<'de> for ResourcesFile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use crate::model::ResourceName;
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ResourcesFile;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a table of resource quantities such as { cpu = \"500m\", memory = \"256Mi\" }",
                )
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ResourcesFile, A::Error> {
                let mut out = ResourcesFile::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "cpu" => out.cpu = Some(map.next_value()?),
                        "memory" => out.memory = Some(map.next_value()?),
                        "gpu" | "nvidia.com/gpu" => {
                            if out.gpu.is_some() {
                                return Err(de::Error::custom(
                                    "give the GPU once: 'gpu' and 'nvidia.com/gpu' are the same resource",
                                ));
                            }
                            out.gpu = Some(map.next_value()?);
                        }
                        name => {
                            let r = resource_kind(name).map_err(de::Error::custom)?;
                            let amount = match r {
                                ResourceName::EphemeralStorage => map.next_value::<Memory>()?.0,
                                ResourceName::Scalar(n) if n.starts_with("hugepages-") => {
                                    map.next_value::<Memory>()?.0
                                }
                                ResourceName::Pods => {
                                    let n = map.next_value::<Count>()?.0;
                                    if n == 0 || n > u64::from(u32::MAX) {
                                        return Err(de::Error::custom(
                                            "pods must be at least 1 (and fit in 32 bits)",
                                        ));
                                    }
                                    n
                                }
                                _ => map.next_value::<Count>()?.0,
                            };
                            out.other.push((r, amount));
                        }
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}

/// A pod template's container (`containers`, `initContainers`), as in a
/// Kubernetes pod spec: its `resources`, written flat.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ContainerFile {
    /// Its name (for messages; default `<kind>-<index>`).
    pub name: Option<String>,
    /// `resources.requests` (default: the limits, as the API does).
    pub requests: Option<ResourcesFile>,
    /// `resources.limits`.
    pub limits: Option<ResourcesFile>,
    /// Init containers only: `"Always"` makes it a native sidecar.
    pub restart_policy: Option<Spanned<String>>,
}

/// `nodes = { file = "…", format = "alibaba-openb" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeListFile {
    /// CSV path relative to the scenario file.
    pub file: Spanned<String>,
    /// The file's format.
    pub format: TraceFormat,
}

/// Formats of trace files.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum TraceFormat {
    /// Alibaba cluster-trace-gpu-v2023 (`openb_pod_list_*.csv`, `openb_node_list_*.csv`).
    AlibabaOpenb,
}

/// `[jobs.NAME]`: a set of batch jobs, given by exactly one of `arrivals`,
/// `rate` (Poisson) or `trace`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JobsFile {
    /// Inline list of jobs.
    pub arrivals: Option<Vec<JobArrivalFile>>,
    /// Poisson: jobs per second.
    pub rate: Option<Rate>,
    /// Poisson: each job's duration (a duration or a distribution).
    pub duration: Option<Spanned<DistOrDuration>>,
    /// Poisson: CPU per pod.
    pub cpu: Option<Cpu>,
    /// Poisson: memory per pod.
    pub memory: Option<Memory>,
    /// Poisson: GPUs per pod.
    pub gpu: Option<Gpu>,
    /// Poisson: pods per job (default 1).
    pub count: Option<Spanned<u32>>,
    /// Scheduling priority of the pods (default 0; an arrival may set its own).
    pub priority: Option<i32>,
    /// Jobs read from a trace file.
    pub trace: Option<Spanned<JobTraceFile>>,
    /// The PriorityClass of every pod of the set (instead of `priority`).
    pub priority_class_name: Option<Spanned<String>>,
    /// Every job's `spec.backoffLimit` (default 6).
    pub backoff_limit: Option<u32>,
}

/// One `{ at = "10s", duration = "5m", cpu = "2", memory = "4Gi", gpu = 1, count = 3 }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JobArrivalFile {
    /// When the job arrives.
    pub at: Dur,
    /// How long each pod runs once bound.
    pub duration: Dur,
    /// CPU per pod.
    pub cpu: Option<Cpu>,
    /// Memory per pod.
    pub memory: Option<Memory>,
    /// GPUs per pod.
    pub gpu: Option<Gpu>,
    /// Pods (default 1).
    pub count: Option<Spanned<u32>>,
    /// Priority (default: the set's).
    pub priority: Option<i32>,
}

/// `trace = { file = "…", format = "alibaba-openb", … }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JobTraceFile {
    /// CSV path relative to the scenario file.
    pub file: Spanned<String>,
    /// The file's format.
    pub format: TraceFormat,
    /// Trace time where the run starts (default `0s`).
    pub start: Option<Dur>,
    /// Trace time after which no job is taken (default: none).
    pub end: Option<Dur>,
    /// Simulated seconds per trace second for arrival times (default 1).
    pub time_scale: Option<Positive>,
    /// Simulated seconds per trace second for durations (default: `timeScale`).
    pub duration_scale: Option<Positive>,
    /// At most this many jobs (the earliest).
    pub limit: Option<u64>,
    /// Take only pods in these phases (default: all).
    pub phases: Option<Vec<String>>,
}

/// `[services.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServiceFile {
    /// Desired replicas.
    pub replicas: Spanned<u32>,
    /// Per-replica requests (default: the limits, as Kubernetes does; else zero).
    pub requests: Option<ResourcesFile>,
    /// Per-replica limits.
    pub limits: Option<ResourcesFile>,
    /// Requests served at once per replica (default 1).
    pub concurrency: Option<Spanned<u32>>,
    /// Requests that may wait per replica (default unbounded).
    pub queue_limit: Option<u32>,
    /// Client timeout from arrival.
    pub timeout: Option<Spanned<Dur>>,
    /// Work per request.
    pub service_time: Spanned<DistFile>,
    /// Bind-to-ready delay: a duration or a distribution (default `0s`).
    pub start_delay: Option<Spanned<DistOrDuration>>,
    /// The pod spec's `terminationGracePeriodSeconds` (default 30).
    pub termination_grace_period_seconds: Option<u32>,
    /// What owns the pods: `"ReplicaSet"` (default: a Deployment's),
    /// `"StatefulSet"` or `"none"` (bare pods).
    pub controller: Option<Spanned<String>>,
    /// A StatefulSet's own fields (`controller = "StatefulSet"`).
    pub stateful_set: Option<Spanned<super::storage::StatefulSetFile>>,
    /// The pod spec's `volumes` (local storage, for the drain rules).
    pub volumes: Option<Vec<Spanned<VolumeFile>>>,
    /// Balancing policy name (default `round-robin`).
    pub balancer: Option<Spanned<String>>,
    /// Balancing settings beyond the name: choices, weights, clients,
    /// discovery delay, retries, outlier detection, keys.
    pub balancing: Option<Spanned<super::balancing::BalancingFile>>,
    /// Live mode: `cpu` (burn CPU, default) or `sleep` per request.
    pub work: Option<WorkKind>,
    /// Open-loop request traffic.
    pub traffic: Spanned<TrafficFile>,
    /// Autoscaler of the replica count.
    pub autoscaler: Option<Spanned<super::autoscaler::AutoscalerFile>>,
    /// Latency objective.
    pub slo: Option<super::autoscaler::SloFile>,
    /// Slow replicas: `{ fraction, slowdown }`.
    pub stragglers: Option<Spanned<StragglersFile>>,
    /// Labels a node must have (`nodeSelector`).
    pub node_selector: Option<Spanned<BTreeMap<String, String>>>,
    /// Taints the replicas tolerate.
    #[serde(default)]
    pub tolerations: Vec<Spanned<TolerationFile>>,
    /// Node affinity and anti-affinity to the service's own replicas.
    pub affinity: Option<AffinityFile>,
    /// Spreading over topology domains (parsed and validated; the
    /// PodTopologySpread plugin reads it).
    #[serde(default)]
    pub topology_spread_constraints: Vec<Spanned<SpreadFile>>,
    /// Pending replicas with higher priority are placed first (default 0).
    pub priority: Option<i32>,
    /// A new revision and how it is rolled out.
    pub rollout: Option<Spanned<super::rollout::RolloutFile>>,
    // --- Self-healing (`scenario/health.rs`). ---
    /// Liveness and readiness probes.
    pub probes: Option<super::health::ProbesFile>,
    // --- Pods of containers (`scenario/services.rs`). ---
    /// The pod's app containers (instead of the flat `requests`/`limits`).
    pub containers: Option<Spanned<Vec<Spanned<ContainerFile>>>>,
    /// Init containers, run in order before the app containers; those
    /// with `restartPolicy = "Always"` are sidecars that keep running.
    pub init_containers: Option<Vec<Spanned<ContainerFile>>>,
    /// `overhead`: what the pod's sandbox costs (a RuntimeClass's), added
    /// to its requests.
    pub overhead: Option<Spanned<ResourcesFile>>,
    /// The pod template's `metadata`: namespace, labels, annotations.
    pub metadata: Option<Spanned<MetadataFile>>,
    // --- Priority and disruption (`scenario/priority.rs`, `scenario/disruption.rs`). ---
    /// The PriorityClass of the pods.
    pub priority_class_name: Option<Spanned<String>>,
    /// `PreemptLowerPriority` or `Never` (default: the class's).
    pub preemption_policy: Option<Spanned<super::priority::PreemptionPolicyFile>>,
}

/// `stragglers = { fraction = 0.1, slowdown = 5 }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StragglersFile {
    /// Share of replicas that are slow, in [0, 1).
    pub fraction: NonNegative,
    /// Their service-time multiplier, ≥ 1.
    pub slowdown: Positive,
}

/// `work = "cpu" | "sleep"`.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum WorkKind {
    /// Burn CPU.
    Cpu,
    /// Sleep.
    Sleep,
}

/// Distribution families.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DistKind {
    /// `value`.
    Constant,
    /// `mean`.
    Exponential,
    /// `mean` with `p99` or `sigma`.
    Lognormal,
    /// `mean`, `shape`.
    Gamma,
    /// `mean`, `shape` > 1.
    Pareto,
    /// `file` (+ `column`).
    Empirical,
}

/// `{ dist = "lognormal", mean = "40ms", p99 = "250ms" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DistFile {
    /// The family.
    pub dist: DistKind,
    /// Constant value.
    pub value: Option<Dur>,
    /// Mean.
    pub mean: Option<Dur>,
    /// 99th percentile (lognormal).
    pub p99: Option<Dur>,
    /// Sigma of the underlying normal (lognormal).
    pub sigma: Option<NonNegative>,
    /// Shape (gamma k, Pareto α).
    pub shape: Option<Positive>,
    /// CSV of samples in seconds (empirical).
    pub file: Option<Spanned<String>>,
    /// Column of `file` (default: the first).
    pub column: Option<String>,
}

/// A duration string or a distribution table.
#[derive(Debug)]
pub enum DistOrDuration {
    /// `"5s"`.
    Fixed(SimDuration),
    /// `{ dist = … }`.
    Dist(DistFile),
}

impl<'de> Deserialize<'de> for DistOrDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DistOrDuration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration like \"5s\" or a table like { dist = \"exponential\", mean = \"5s\" }")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                parse_duration(s)
                    .map(DistOrDuration::Fixed)
                    .map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                DistFile::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(DistOrDuration::Dist)
            }
        }
        d.deserialize_any(V)
    }
}

/// Traffic model names.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TrafficKind {
    /// `rate`.
    Constant,
    /// `base`, `peak`, `start`, `rampUp`, `hold`, `rampDown`.
    Spike,
    /// `mean`, `amplitude`, `period`, `peakAt`.
    Diurnal,
    /// `points = [{ at, rate }, …]`.
    Points,
    /// `file` with `time,rate` rows.
    Trace,
}

/// `[services.NAME.traffic]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TrafficFile {
    /// The model.
    pub model: TrafficKind,
    /// Constant rate (requests/s).
    pub rate: Option<Rate>,
    /// Spike: rate before and after.
    pub base: Option<Rate>,
    /// Spike: rate at the top.
    pub peak: Option<Rate>,
    /// Spike: when the ramp up begins.
    pub start: Option<Dur>,
    /// Spike: ramp-up length.
    pub ramp_up: Option<Dur>,
    /// Spike: time at the peak.
    pub hold: Option<Dur>,
    /// Spike: ramp-down length.
    pub ramp_down: Option<Dur>,
    /// Diurnal: mean rate.
    pub mean: Option<Rate>,
    /// Diurnal: swing around the mean (≤ mean).
    pub amplitude: Option<NonNegative>,
    /// Diurnal: cycle length.
    pub period: Option<Dur>,
    /// Diurnal: a time at which the rate peaks (default 0s).
    pub peak_at: Option<Dur>,
    /// Points: `(at, rate)` pairs.
    pub points: Option<Vec<PointFile>>,
    /// Points/trace: `linear` or `step` (default: linear for points, step for traces).
    pub interpolate: Option<Interpolate>,
    /// Trace: CSV path relative to the scenario file.
    pub file: Option<Spanned<String>>,
    /// Trace: time column (default `time`): seconds, or `YYYY-MM-DD HH:MM:SS` timestamps.
    pub time_column: Option<String>,
    /// Trace: rate column (default `rate`).
    pub rate_column: Option<String>,
    /// Trace: the rate column holds counts per this interval, not requests/s.
    pub count_interval: Option<Dur>,
    /// Trace: simulated seconds per trace second (0.01 plays a 100 s trace in 1 s).
    pub time_scale: Option<Positive>,
    /// Trace: multiply every rate by this.
    pub rate_scale: Option<Positive>,
    /// Trace: skip this much of the trace (trace time) before time zero.
    pub skip: Option<Dur>,
}

/// One `{ at = "5m", rate = 300 }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PointFile {
    /// When.
    pub at: Dur,
    /// Rate from then (requests/s, ≥ 0).
    pub rate: NonNegative,
}

/// Between points.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Interpolate {
    /// Straight lines between points.
    Linear,
    /// Hold each value until the next point.
    Step,
}
