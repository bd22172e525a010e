//! Scheduling constraints of a pod template: well-known labels, taints and
//! tolerations, node selector terms, topology spread, pod (anti-)affinity
//! and the pod selectors they resolve to.

use std::collections::BTreeMap;

use super::*;

/// Well-known label: the node's name (`kubernetes.io/hostname`).
pub const LABEL_HOSTNAME: &str = "kubernetes.io/hostname";
/// Well-known label: the node's zone (`topology.kubernetes.io/zone`).
pub const LABEL_ZONE: &str = "topology.kubernetes.io/zone";

/// What a taint does to replicas that do not tolerate it (Kubernetes'
/// `TaintEffect`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaintEffect {
    /// Not scheduled here.
    NoSchedule,
    /// Scheduled here only if nothing better (TaintToleration scoring).
    PreferNoSchedule,
    /// Not scheduled here, and evicted if already running.
    NoExecute,
}

impl TaintEffect {
    /// The Kubernetes spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TaintEffect::NoSchedule => "NoSchedule",
            TaintEffect::PreferNoSchedule => "PreferNoSchedule",
            TaintEffect::NoExecute => "NoExecute",
        }
    }
}

/// A node taint (`key=value:effect`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Taint {
    /// Taint key.
    pub key: String,
    /// Taint value (may be empty).
    pub value: String,
    /// Effect.
    pub effect: TaintEffect,
}

/// A toleration (Kubernetes `v1.Toleration`, without `tolerationSeconds`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Toleration {
    /// Key to match; empty with `Exists` matches every key.
    pub key: String,
    /// `Exists` ignores the value; `Equal` compares it.
    pub exists: bool,
    /// Value for `Equal`.
    pub value: String,
    /// Effect to match; `None` matches every effect.
    pub effect: Option<TaintEffect>,
}

impl Toleration {
    /// Kubernetes' `Toleration.ToleratesTaint`.
    pub fn tolerates(&self, taint: &Taint) -> bool {
        if self.effect.is_some_and(|e| e != taint.effect) {
            return false;
        }
        if !self.key.is_empty() && self.key != taint.key {
            return false;
        }
        if self.exists {
            return true;
        }
        // Equal (an empty key needs Exists, as upstream).
        !self.key.is_empty() && self.value == taint.value
    }
}

/// A node selector requirement's operator (`NodeSelectorOperator`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectorOp {
    /// Label value is one of `values`.
    In,
    /// Label missing or value not one of `values`.
    NotIn,
    /// Label present.
    Exists,
    /// Label absent.
    DoesNotExist,
    /// Label value, as an integer, greater than the single value.
    Gt,
    /// Label value, as an integer, less than the single value.
    Lt,
}

/// One `matchExpressions` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectorRequirement {
    /// Label key.
    pub key: String,
    /// Operator.
    pub op: SelectorOp,
    /// Values (one for Gt/Lt, none for Exists/DoesNotExist).
    pub values: Vec<String>,
}

impl SelectorRequirement {
    /// Whether `labels` satisfy the requirement (apimachinery `labels.Requirement.Matches`).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let v = labels.get(&self.key);
        match self.op {
            SelectorOp::In => v.is_some_and(|v| self.values.iter().any(|x| x == v)),
            SelectorOp::NotIn => v.is_none_or(|v| !self.values.iter().any(|x| x == v)),
            SelectorOp::Exists => v.is_some(),
            SelectorOp::DoesNotExist => v.is_none(),
            SelectorOp::Gt | SelectorOp::Lt => {
                let (Some(v), Some(x)) = (v, self.values.first()) else {
                    return false;
                };
                match (v.parse::<i64>(), x.parse::<i64>()) {
                    (Ok(v), Ok(x)) if self.op == SelectorOp::Gt => v > x,
                    (Ok(v), Ok(x)) => v < x,
                    _ => false,
                }
            }
        }
    }
}

/// A node selector term: all requirements must match (an empty term matches nothing, as upstream).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SelectorTerm {
    /// `matchExpressions`.
    pub requirements: Vec<SelectorRequirement>,
}

impl SelectorTerm {
    /// Whether `labels` satisfy every requirement of a non-empty term.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        !self.requirements.is_empty() && self.requirements.iter().all(|r| r.matches(labels))
    }
}

/// What to do when a topology spread constraint cannot be met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhenUnsatisfiable {
    /// A filter: nodes that would break `maxSkew` are infeasible.
    DoNotSchedule,
    /// A score: prefer nodes that reduce skew.
    ScheduleAnyway,
}

/// A `topologySpreadConstraints` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpreadConstraint {
    /// `maxSkew` (≥ 1).
    pub max_skew: u32,
    /// Node label that defines the domains.
    pub topology_key: String,
    /// Filter or score.
    pub when_unsatisfiable: WhenUnsatisfiable,
    /// `minDomains` (DoNotSchedule only).
    pub min_domains: Option<u32>,
    /// The pods it counts: the replica's own service unless a
    /// `labelSelector` was given (merged with `matchLabelKeys`).
    pub selector: PodSelector,
    /// `matchLabelKeys`: keys whose values, taken from the replica's own
    /// labels, were added to the selector (kept for display).
    pub match_label_keys: Vec<String>,
    /// `nodeAffinityPolicy` (default `Honor`).
    pub node_affinity_policy: NodeInclusionPolicy,
    /// `nodeTaintsPolicy` (default `Ignore`).
    pub node_taints_policy: NodeInclusionPolicy,
}

/// `nodeAffinityPolicy` / `nodeTaintsPolicy` of a spread constraint: whether
/// nodes the replica could not go to (by node affinity, or by untolerated
/// `NoSchedule`/`NoExecute` taints) still count when skew is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeInclusionPolicy {
    /// Only nodes passing the check count.
    Honor,
    /// Every node counts.
    Ignore,
}

/// Which pods a spread constraint or a pod affinity term counts.
///
/// A service's pods all carry its template's namespace and labels, so a
/// selector picks whole services; which ones is settled once, when the
/// scenario is resolved ([`PodSet::resolve`]), and a decision only sums
/// [`crate::placement::ClusterView::count`] over them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum PodSelector {
    /// The replica's own service (a scenario constraint without
    /// `labelSelector`; the cached path of the default profile).
    #[default]
    Own,
    /// An explicit selector and the services it picks.
    Pods(Box<PodSet>),
}

/// An explicit `labelSelector` (with the namespaces it looks in) and the
/// services whose pods it selects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodSet {
    /// The selector; `None` is a nil selector, which matches no pod.
    pub selector: Option<crate::labels::LabelSelector>,
    /// Namespaces whose pods may match (a spread constraint: the replica's
    /// own; an affinity term: its `namespaces`, or the replica's own when
    /// empty and there is no `namespace_selector`); `all_namespaces`
    /// overrides, and [`resolve_pod_selectors_in`] adds the namespaces
    /// `namespace_selector` picks.
    pub namespaces: Vec<String>,
    /// An empty `namespaceSelector`: pods of every namespace.
    pub all_namespaces: bool,
    /// A non-empty `namespaceSelector` over the namespaces' labels
    /// (`AffinityTerm.Matches`: a pod matches when its namespace is listed
    /// *or* selected); `None` when absent or empty (`all_namespaces`).
    pub namespace_selector: Option<crate::labels::LabelSelector>,
    /// The services whose pods match, ascending (set by [`PodSet::resolve`]).
    pub services: Vec<ServiceId>,
    /// Whether the replica's own service is among them (`selfMatchNum`).
    pub self_match: bool,
}

impl PodSet {
    /// Whether pods with `meta` are selected.
    pub fn selects(&self, meta: &PodMeta) -> bool {
        (self.all_namespaces || self.namespaces.contains(&meta.namespace))
            && self
                .selector
                .as_ref()
                .is_some_and(|s| s.matches(&meta.labels))
    }

    /// Fills `services` and `self_match` from every service's pod metadata
    /// (`metas[s]` for service `s`), for a constraint of service `own`.
    pub fn resolve(&mut self, own: ServiceId, metas: &[&PodMeta]) {
        self.services = (0..metas.len())
            .filter(|&s| self.selects(metas[s]))
            .map(|s| ServiceId(s as u32))
            .collect();
        self.self_match = self.services.contains(&own);
    }
}

/// [`resolve_pod_selectors_in`] where every namespace carries only its
/// `kubernetes.io/metadata.name` label.
pub fn resolve_pod_selectors(specs: &mut [ServiceSpec]) {
    resolve_pod_selectors_in(specs, &BTreeMap::new());
}

/// The label every namespace carries with its own name
/// (`kubernetes.io/metadata.name`, set by the API server since 1.22).
pub const LABEL_NAMESPACE_NAME: &str = "kubernetes.io/metadata.name";

/// A namespace's labels: `declared` (a scenario's `[namespaces.NAME]`),
/// with `kubernetes.io/metadata.name` set to its name, as the API server
/// sets it whatever the object says.
pub fn namespace_labels(
    name: &str,
    declared: Option<&crate::labels::Labels>,
) -> crate::labels::Labels {
    let mut l = declared.cloned().unwrap_or_default();
    l.insert(LABEL_NAMESPACE_NAME.to_string(), name.to_string());
    l
}

/// Settles which services every explicit selector picks ([`PodSet::resolve`]),
/// given every service of a desired state (`specs[s]` is service `s`) and
/// the labels of declared namespaces (`namespaces`; any other namespace
/// carries only [`LABEL_NAMESPACE_NAME`]), and hands each service the terms
/// of others that select it (InterPodAffinity's symmetric half). A
/// `namespaceSelector` is settled first: the namespaces of the pods that
/// exist (every service's) whose labels it matches join the term's list.
pub fn resolve_pod_selectors_in(
    specs: &mut [ServiceSpec],
    namespaces: &BTreeMap<String, crate::labels::Labels>,
) {
    let mut known: Vec<&String> = specs.iter().map(|s| &s.meta.namespace).collect();
    known.extend(namespaces.keys());
    known.sort();
    known.dedup();
    let ns_labels: Vec<(String, crate::labels::Labels)> = known
        .into_iter()
        .map(|n| (n.clone(), namespace_labels(n, namespaces.get(n))))
        .collect();
    let add_selected = |p: &mut PodSet| {
        if let Some(sel) = &p.namespace_selector {
            for (n, l) in &ns_labels {
                if sel.matches(l) && !p.namespaces.contains(n) {
                    p.namespaces.push(n.clone());
                }
            }
        }
    };
    for spec in specs.iter_mut() {
        for sc in &mut spec.placement.spread {
            if let PodSelector::Pods(p) = &mut sc.selector {
                add_selected(p);
            }
        }
        if let Some(pa) = &mut spec.placement.pod_affinity {
            for t in &mut pa.terms {
                add_selected(&mut t.pods);
            }
        }
    }
    let metas: Vec<PodMeta> = specs.iter().map(|s| s.meta.clone()).collect();
    let refs: Vec<&PodMeta> = metas.iter().collect();
    let mut existing: Vec<Vec<ExistingTerm>> = vec![Vec::new(); specs.len()];
    for (i, spec) in specs.iter_mut().enumerate() {
        let own = ServiceId(i as u32);
        for sc in &mut spec.placement.spread {
            if let PodSelector::Pods(p) = &mut sc.selector {
                p.resolve(own, &refs);
            }
        }
        if let Some(pa) = &mut spec.placement.pod_affinity {
            for t in &mut pa.terms {
                t.pods.resolve(own, &refs);
                for &s in &t.pods.services {
                    existing[s.0 as usize].push(ExistingTerm {
                        service: own,
                        topology_key: t.topology_key.clone(),
                        anti: t.anti,
                        required: t.required,
                        weight: t.weight,
                    });
                }
            }
        }
    }
    for (spec, ex) in specs.iter_mut().zip(existing) {
        if ex.is_empty() {
            continue;
        }
        spec.placement
            .pod_affinity
            .get_or_insert_with(Default::default)
            .existing = ex;
    }
}

impl PodSelector {
    /// Replicas it selects on node `i` of `view`, for a replica of `own`.
    pub fn count(&self, view: &crate::placement::ClusterView<'_>, i: usize, own: ServiceId) -> u32 {
        match self {
            PodSelector::Own => view.count(i, own),
            PodSelector::Pods(p) => p.services.iter().map(|&s| view.count(i, s)).sum(),
        }
    }

    /// Whether the incoming replica matches it itself (`selfMatchNum` = 1).
    pub fn self_match(&self) -> bool {
        match self {
            PodSelector::Own => true,
            PodSelector::Pods(p) => p.self_match,
        }
    }
}

/// Simple inter-replica anti-affinity against the replica's own service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AntiAffinity {
    /// Node label whose domains may hold one replica each (`kubernetes.io/hostname` for one per node).
    pub topology_key: String,
    /// `required…` (a filter) or `preferred…` (a score with this weight).
    pub required: bool,
    /// Weight for the preferred form (1..=100).
    pub weight: i32,
}

/// Where a service's replicas may and should go: Kubernetes' pod spec
/// scheduling fields, with the label selectors of spreading and
/// anti-affinity fixed to the replica's own service.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Constraints {
    /// `nodeSelector`: labels a node must have.
    pub node_selector: BTreeMap<String, String>,
    /// `requiredDuringSchedulingIgnoredDuringExecution` node affinity: any term matches.
    pub required_terms: Vec<SelectorTerm>,
    /// `preferredDuringSchedulingIgnoredDuringExecution`: `(weight 1..=100, term)`.
    pub preferred_terms: Vec<(i32, SelectorTerm)>,
    /// Tolerations.
    pub tolerations: Vec<Toleration>,
    /// `topologySpreadConstraints`; empty means the scheduler's defaults apply.
    pub spread: Vec<SpreadConstraint>,
    /// Anti-affinity to the service's own replicas.
    pub anti_affinity: Option<AntiAffinity>,
    /// `priority`: pending replicas with higher priority are placed first.
    pub priority: i32,
    /// A batch job pod: owned by a Job, not selected by a Service or
    /// ReplicaSet, so kube-scheduler's system default topology spreading
    /// (`PodTopologySpread` with `defaultingType: System`) does not apply.
    pub batch: bool,
    /// `preemptionPolicy`: whether a pod that does not fit may preempt
    /// lower-priority pods (from its PriorityClass).
    pub preemption_policy: crate::priority::PreemptionPolicy,
    /// Pod affinity and anti-affinity with explicit selectors: the
    /// replica's own terms and the terms of other services that select it
    /// (`None`: neither; the replica costs `InterPodAffinity` nothing).
    pub pod_affinity: Option<Box<PodAffinity>>,
}

impl Constraints {
    /// Whether where other replicas run matters to this replica's placement
    /// (spreading, pod affinity or anti-affinity, in either direction).
    pub fn depends_on_pods(&self) -> bool {
        !self.spread.is_empty() || self.anti_affinity.is_some() || self.pod_affinity.is_some()
    }
}

/// One `podAffinity` or `podAntiAffinity` term with an explicit selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodAffinityTerm {
    /// The pods it is about.
    pub pods: PodSet,
    /// Node label whose domains it speaks of.
    pub topology_key: String,
    /// Anti-affinity (`true`) or affinity.
    pub anti: bool,
    /// `required…` (a filter) or `preferred…` (a score with `weight`).
    pub required: bool,
    /// Weight of the preferred form (1..=100; 0 when required).
    pub weight: i32,
}

/// Another service's term that selects this replica: InterPodAffinity's
/// symmetric half (existing pods' required anti-affinity filters; their
/// preferred terms, and their required affinity with
/// `hardPodAffinityWeight`, score).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExistingTerm {
    /// The service whose replicas carry the term.
    pub service: ServiceId,
    /// Its topology key.
    pub topology_key: String,
    /// Anti-affinity or affinity.
    pub anti: bool,
    /// Required or preferred.
    pub required: bool,
    /// Weight of the preferred form (0 when required).
    pub weight: i32,
}

/// A replica's pod affinity as `InterPodAffinity` reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodAffinity {
    /// The replica's own terms, in the order written (affinity, then anti-affinity).
    pub terms: Vec<PodAffinityTerm>,
    /// Terms of services (its own included) whose selector picks this replica.
    pub existing: Vec<ExistingTerm>,
}
