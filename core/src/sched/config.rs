//! Kubernetes' scheduler configuration, one profile of a
//! `KubeSchedulerConfiguration` (`kubescheduler.config.k8s.io/v1`), as far
//! as Orkestra models its plugins.
//!
//! Key decision: the Kubernetes presets (`kubernetes-default`,
//! `gke-optimize-utilization`, `least-allocated`, `most-allocated`) are
//! named values of this one type ([`SchedulerProfile::preset`]); a
//! scenario's `[scheduler]` profile fields are merged onto the preset the
//! way kube-scheduler merges a profile onto its defaults (`mergePluginSet`
//! of `apis/config/v1/default_plugins.go` @ 01db4ae9). Building a policy
//! resolves every plugin and resource once ([`SchedulerProfile::placer`]),
//! so no name is looked up per decision; a profile whose scores the cached
//! fast path reproduces exactly (the default filters, NodeResourcesFit and
//! BalancedAllocation at weight 1, PodTopologySpread at 2, every node
//! scored) is answered by [`KubeDefault`], any other by the plain
//! [`Profile`].

use super::affinity::NodeAffinity;
use super::fast::KubeDefault;
use super::interpod::InterPodAffinity;
use super::plugin_set::{
    ExtensionPoint, PluginRef, PluginSet, Plugins, default_plugins, expand_multi_point_plugins,
    score_weights,
};
use super::plugins::{
    BalancedAllocation, DEFAULT_RESOURCES, FitScore, LeastAllocated, MostAllocated,
    NodeResourcesFit, RequestedToCapacityRatio,
};
use super::spread::PodTopologySpread;
use super::taint::TaintToleration;
use super::{Filter, Profile, Sampling, Score};
use crate::model::ResourceName;
use crate::placement::Place;
use crate::storage::plugins::{NodeVolumeLimits, VolumeBinding, VolumeRestrictions, VolumeZone};

/// A plugin Orkestra models, by its kube-scheduler name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PluginName {
    /// `TaintToleration` (filter, score).
    TaintToleration,
    /// `NodeAffinity` (filter, score).
    NodeAffinity,
    /// `NodeResourcesFit` (filter, score by its scoring strategy).
    NodeResourcesFit,
    /// `PodTopologySpread` (filter, score).
    PodTopologySpread,
    /// `InterPodAffinity` (filter, score).
    InterPodAffinity,
    /// `NodeResourcesBalancedAllocation` (score).
    NodeResourcesBalancedAllocation,
    /// `VolumeRestrictions` (filter).
    VolumeRestrictions,
    /// `NodeVolumeLimits` (filter).
    NodeVolumeLimits,
    /// `VolumeBinding` (filter; its score is behind a feature gate that is
    /// off by default, so it scores nothing and is not in the score list).
    VolumeBinding,
    /// `VolumeZone` (filter).
    VolumeZone,
}

impl PluginName {
    /// Every modelled plugin, in the default profile's order.
    pub const ALL: [PluginName; 10] = [
        PluginName::TaintToleration,
        PluginName::NodeAffinity,
        PluginName::NodeResourcesFit,
        PluginName::VolumeRestrictions,
        PluginName::NodeVolumeLimits,
        PluginName::VolumeBinding,
        PluginName::VolumeZone,
        PluginName::PodTopologySpread,
        PluginName::InterPodAffinity,
        PluginName::NodeResourcesBalancedAllocation,
    ];

    /// The kube-scheduler name.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginName::TaintToleration => "TaintToleration",
            PluginName::NodeAffinity => "NodeAffinity",
            PluginName::NodeResourcesFit => "NodeResourcesFit",
            PluginName::PodTopologySpread => "PodTopologySpread",
            PluginName::InterPodAffinity => "InterPodAffinity",
            PluginName::NodeResourcesBalancedAllocation => "NodeResourcesBalancedAllocation",
            PluginName::VolumeRestrictions => "VolumeRestrictions",
            PluginName::NodeVolumeLimits => "NodeVolumeLimits",
            PluginName::VolumeBinding => "VolumeBinding",
            PluginName::VolumeZone => "VolumeZone",
        }
    }

    /// The plugin called `name`, if Orkestra models it.
    pub fn from_name(name: &str) -> Option<PluginName> {
        PluginName::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// Whether the plugin has a filter extension point.
    pub fn is_filter(self) -> bool {
        self != PluginName::NodeResourcesBalancedAllocation
    }

    /// Whether the plugin scores nodes (the volume plugins do not, as far
    /// as the default feature gates go).
    pub fn is_score(self) -> bool {
        !matches!(
            self,
            PluginName::VolumeRestrictions
                | PluginName::NodeVolumeLimits
                | PluginName::VolumeBinding
                | PluginName::VolumeZone
        )
    }
}

/// The default profile's filters, in upstream order
/// (`getDefaultPlugins`, `default_plugins.go` @ 01db4ae9).
pub const DEFAULT_FILTERS: [PluginName; 9] = [
    PluginName::TaintToleration,
    PluginName::NodeAffinity,
    PluginName::NodeResourcesFit,
    PluginName::VolumeRestrictions,
    PluginName::NodeVolumeLimits,
    PluginName::VolumeBinding,
    PluginName::VolumeZone,
    PluginName::PodTopologySpread,
    PluginName::InterPodAffinity,
];

/// The default profile's scores and weights, in upstream order
/// (`getDefaultPlugins`: TaintToleration 3, NodeAffinity 2,
/// NodeResourcesFit 1, PodTopologySpread 2, InterPodAffinity 2,
/// NodeResourcesBalancedAllocation 1; ImageLocality 1 is not modelled).
pub const DEFAULT_SCORES: [(PluginName, i64); 6] = [
    (PluginName::TaintToleration, 3),
    (PluginName::NodeAffinity, 2),
    (PluginName::NodeResourcesFit, 1),
    (PluginName::PodTopologySpread, 2),
    (PluginName::InterPodAffinity, 2),
    (PluginName::NodeResourcesBalancedAllocation, 1),
];

/// `NodeResourcesFitArgs.scoringStrategy.type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScoringStrategyType {
    /// `LeastAllocated` (the default).
    LeastAllocated,
    /// `MostAllocated`.
    MostAllocated,
    /// `RequestedToCapacityRatio`.
    RequestedToCapacityRatio,
}

impl ScoringStrategyType {
    /// Every type, in upstream's sorted order (`supportedScoringStrategyTypes`).
    pub const ALL: [ScoringStrategyType; 3] = [
        ScoringStrategyType::LeastAllocated,
        ScoringStrategyType::MostAllocated,
        ScoringStrategyType::RequestedToCapacityRatio,
    ];

    /// The configuration name.
    pub fn as_str(self) -> &'static str {
        match self {
            ScoringStrategyType::LeastAllocated => "LeastAllocated",
            ScoringStrategyType::MostAllocated => "MostAllocated",
            ScoringStrategyType::RequestedToCapacityRatio => "RequestedToCapacityRatio",
        }
    }

    /// The type called `name`.
    pub fn from_name(name: &str) -> Option<ScoringStrategyType> {
        ScoringStrategyType::ALL
            .into_iter()
            .find(|t| t.as_str() == name)
    }
}

/// `NodeResourcesFitArgs.scoringStrategy`, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScoringStrategy {
    /// `type`.
    pub kind: ScoringStrategyType,
    /// `resources`: the scored resources the model knows and their weights
    /// (1..=100). A configured name no node can have is dropped: upstream
    /// skips a resource whose allocatable is 0 on every node.
    pub resources: Vec<(ResourceName, i64)>,
    /// `requestedToCapacityRatio.shape`: `(utilization 0..=100, score 0..=10)`,
    /// utilisations increasing; empty unless `kind` is RequestedToCapacityRatio.
    pub shape: Vec<(i64, i64)>,
}

impl Default for ScoringStrategy {
    /// `SetDefaults_NodeResourcesFitArgs`: LeastAllocated on cpu 1, memory 1.
    fn default() -> Self {
        ScoringStrategy {
            kind: ScoringStrategyType::LeastAllocated,
            resources: DEFAULT_RESOURCES.to_vec(),
            shape: Vec::new(),
        }
    }
}

impl ScoringStrategy {
    /// NodeResourcesFit's score plugin for this strategy.
    pub fn plugin(&self) -> FitScore {
        let resources = self.resources.clone();
        match self.kind {
            ScoringStrategyType::LeastAllocated => {
                FitScore::LeastAllocated(LeastAllocated { resources })
            }
            ScoringStrategyType::MostAllocated => {
                FitScore::MostAllocated(MostAllocated { resources })
            }
            ScoringStrategyType::RequestedToCapacityRatio => FitScore::RequestedToCapacityRatio(
                RequestedToCapacityRatio::new(&self.shape, resources),
            ),
        }
    }
}

/// One scheduling profile: filters, weighted scores, plugin arguments and
/// `percentageOfNodesToScore`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchedulerProfile {
    /// The preset it starts from; the policy's name.
    pub name: &'static str,
    /// Enabled filter plugins, in order.
    pub filters: Vec<PluginName>,
    /// Enabled score plugins and their weights, in order.
    pub scores: Vec<(PluginName, i64)>,
    /// `NodeResourcesFit`'s `scoringStrategy`.
    pub scoring_strategy: ScoringStrategy,
    /// `NodeResourcesBalancedAllocation`'s `resources` (weights are 1).
    pub balanced_resources: Vec<ResourceName>,
    /// `percentageOfNodesToScore`: 0 is kube-scheduler's adaptive default
    /// (50% − nodes/125, at least 5%, at least 100 nodes), 100 every node.
    pub percentage_of_nodes_to_score: u32,
}

/// The presets that are Kubernetes profiles, by registry name.
pub const KUBERNETES_PROFILES: [&str; 4] = [
    "kubernetes-default",
    "gke-optimize-utilization",
    "least-allocated",
    "most-allocated",
];

impl SchedulerProfile {
    /// `kubernetes-default`: Kubernetes' default profile (kubernetes.io
    /// "Scheduler Configuration", `default_plugins.go`): [`DEFAULT_FILTERS`],
    /// [`DEFAULT_SCORES`], LeastAllocated on cpu 1 / memory 1,
    /// BalancedAllocation on cpu and memory. Every node is scored
    /// (`percentageOfNodesToScore: 100`), as this preset always did;
    /// kube-scheduler's own default is 0 (adaptive), one field away.
    pub fn kubernetes_default() -> SchedulerProfile {
        SchedulerProfile {
            name: "kubernetes-default",
            filters: DEFAULT_FILTERS.to_vec(),
            scores: DEFAULT_SCORES.to_vec(),
            scoring_strategy: ScoringStrategy::default(),
            balanced_resources: vec![ResourceName::Cpu, ResourceName::Memory],
            percentage_of_nodes_to_score: 100,
        }
    }

    /// `gke-optimize-utilization`: GKE's `optimize-utilization` autoscaling
    /// profile, the default profile with NodeResourcesFit scoring by
    /// MostAllocated (GKE docs, "Cluster autoscaler: autoscaling
    /// profiles"), with kube-scheduler's adaptive sampling.
    pub fn gke_optimize_utilization() -> SchedulerProfile {
        SchedulerProfile {
            name: "gke-optimize-utilization",
            scoring_strategy: ScoringStrategy {
                kind: ScoringStrategyType::MostAllocated,
                ..ScoringStrategy::default()
            },
            percentage_of_nodes_to_score: 0,
            ..SchedulerProfile::kubernetes_default()
        }
    }

    /// `least-allocated`: only NodeResourcesFit's score (LeastAllocated),
    /// the default filters, every node scored.
    pub fn least_allocated() -> SchedulerProfile {
        SchedulerProfile {
            name: "least-allocated",
            scores: vec![(PluginName::NodeResourcesFit, 1)],
            ..SchedulerProfile::kubernetes_default()
        }
    }

    /// `most-allocated`: only NodeResourcesFit's score with MostAllocated,
    /// the default filters, every node scored.
    pub fn most_allocated() -> SchedulerProfile {
        SchedulerProfile {
            name: "most-allocated",
            scoring_strategy: ScoringStrategy {
                kind: ScoringStrategyType::MostAllocated,
                ..ScoringStrategy::default()
            },
            ..SchedulerProfile::least_allocated()
        }
    }

    /// The preset called `name`, if it is a Kubernetes profile ([`KUBERNETES_PROFILES`]).
    pub fn preset(name: &str) -> Option<SchedulerProfile> {
        match name {
            "kubernetes-default" => Some(SchedulerProfile::kubernetes_default()),
            "gke-optimize-utilization" => Some(SchedulerProfile::gke_optimize_utilization()),
            "least-allocated" => Some(SchedulerProfile::least_allocated()),
            "most-allocated" => Some(SchedulerProfile::most_allocated()),
            _ => None,
        }
    }

    /// The preset's `plugins` written as a kube-scheduler configuration
    /// would write them, the base a scenario's `[scheduler.plugins]` merges
    /// onto: upstream's defaults ([`default_plugins`]); `least-allocated`
    /// and `most-allocated` also set `score: {disabled: ["*"], enabled:
    /// [NodeResourcesFit]}`.
    pub fn preset_plugins(&self) -> Plugins {
        let mut p = default_plugins();
        if self.name == "least-allocated" || self.name == "most-allocated" {
            p.score = PluginSet {
                enabled: vec![PluginRef::weighted("NodeResourcesFit", 1)],
                disabled: vec!["*".to_string()],
            };
        }
        p
    }

    /// Sets the filters and scores from a merged `plugins`: expanded per
    /// extension point ([`expand_multi_point_plugins`]), weights resolved
    /// ([`score_weights`]), plugins Orkestra does not model dropped (they
    /// change nothing it simulates). Errors are upstream's framework errors.
    pub fn set_plugins(&mut self, plugins: &Plugins) -> Result<(), String> {
        let filters = expand_multi_point_plugins(plugins, ExtensionPoint::Filter)?;
        let scores = expand_multi_point_plugins(plugins, ExtensionPoint::Score)?;
        self.filters = filters
            .iter()
            .filter_map(|n| PluginName::from_name(n))
            .collect();
        self.scores = score_weights(plugins, &scores)
            .into_iter()
            .filter_map(|(n, w)| PluginName::from_name(&n).map(|p| (p, w)))
            .filter(|(p, _)| p.is_score())
            .collect();
        Ok(())
    }

    /// What the profile sets, on one line (`sim list policies`).
    pub fn describe(&self) -> String {
        let filters: Vec<&str> = self.filters.iter().map(|p| p.as_str()).collect();
        let scores: Vec<String> = self
            .scores
            .iter()
            .map(|(p, w)| format!("{} {w}", p.as_str()))
            .collect();
        let weighted = |r: &[(ResourceName, i64)]| {
            r.iter()
                .map(|(n, w)| format!("{} {w}", n.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let balanced: Vec<&str> = self.balanced_resources.iter().map(|r| r.as_str()).collect();
        let st = &self.scoring_strategy;
        format!(
            "filters {}; scores {}; NodeResourcesFit {} ({}){}; BalancedAllocation ({}); percentageOfNodesToScore {}",
            filters.join(", "),
            scores.join(", "),
            st.kind.as_str(),
            weighted(&st.resources),
            if st.shape.is_empty() {
                String::new()
            } else {
                format!(" shape {:?}", st.shape)
            },
            balanced.join(", "),
            self.percentage_of_nodes_to_score
        )
    }

    /// How many nodes to filter before scoring.
    pub fn sampling(&self) -> Sampling {
        match self.percentage_of_nodes_to_score {
            0 => Sampling::Adaptive,
            p if p >= 100 => Sampling::All,
            p => Sampling::Percent(p),
        }
    }

    /// The weight of score plugin `p`, if enabled.
    pub fn weight(&self, p: PluginName) -> Option<i64> {
        self.scores.iter().find(|s| s.0 == p).map(|s| s.1)
    }

    /// BalancedAllocation's plugin.
    pub fn balanced(&self) -> BalancedAllocation {
        BalancedAllocation {
            resources: self.balanced_resources.iter().map(|&r| (r, 1)).collect(),
        }
    }

    /// Whether the cached fast path ([`KubeDefault`]) gives this profile's
    /// totals: the default filters, every node scored, NodeResourcesFit
    /// and BalancedAllocation at weight 1 and PodTopologySpread at 2
    /// (whatever their resources and strategy: the resource part stays
    /// within 0..=200); TaintToleration, NodeAffinity and InterPodAffinity
    /// add the same to every node wherever the fast path answers.
    pub fn fast_path_exact(&self) -> bool {
        self.filters == DEFAULT_FILTERS
            && self.sampling() == Sampling::All
            && self.weight(PluginName::NodeResourcesFit) == Some(1)
            && self.weight(PluginName::NodeResourcesBalancedAllocation) == Some(1)
            && self.weight(PluginName::PodTopologySpread) == Some(2)
    }

    /// The plain per-node profile.
    pub fn profile(&self) -> Profile {
        let filters: Vec<Box<dyn Filter>> = self
            .filters
            .iter()
            .map(|&p| -> Box<dyn Filter> {
                match p {
                    PluginName::TaintToleration => Box::new(TaintToleration),
                    PluginName::NodeAffinity => Box::new(NodeAffinity),
                    PluginName::NodeResourcesFit => Box::new(NodeResourcesFit),
                    PluginName::PodTopologySpread => Box::new(PodTopologySpread::default()),
                    PluginName::InterPodAffinity => Box::new(InterPodAffinity::default()),
                    PluginName::VolumeRestrictions => Box::new(VolumeRestrictions::default()),
                    PluginName::NodeVolumeLimits => Box::new(NodeVolumeLimits::default()),
                    PluginName::VolumeBinding => Box::new(VolumeBinding::default()),
                    PluginName::VolumeZone => Box::new(VolumeZone::default()),
                    PluginName::NodeResourcesBalancedAllocation => {
                        unreachable!("BalancedAllocation has no filter")
                    }
                }
            })
            .collect();
        let scores: Vec<(Box<dyn Score>, i64)> = self
            .scores
            .iter()
            .map(|&(p, w)| -> (Box<dyn Score>, i64) {
                let s: Box<dyn Score> = match p {
                    PluginName::TaintToleration => Box::new(TaintToleration),
                    PluginName::NodeAffinity => Box::new(NodeAffinity),
                    PluginName::NodeResourcesFit => Box::new(self.scoring_strategy.plugin()),
                    PluginName::PodTopologySpread => Box::new(PodTopologySpread::default()),
                    PluginName::InterPodAffinity => Box::new(InterPodAffinity::default()),
                    PluginName::NodeResourcesBalancedAllocation => Box::new(self.balanced()),
                    PluginName::VolumeRestrictions
                    | PluginName::NodeVolumeLimits
                    | PluginName::VolumeBinding
                    | PluginName::VolumeZone => unreachable!("volume plugins do not score"),
                };
                (s, w)
            })
            .collect();
        Profile::new(self.name, filters, scores, self.sampling())
    }

    /// A fresh placement policy for this profile: [`KubeDefault`] when the
    /// fast path is exact for it, else the plain [`Profile`].
    pub fn placer(&self) -> Box<dyn Place> {
        if self.fast_path_exact() {
            Box::new(KubeDefault::with_profile(self))
        } else {
            Box::new(self.profile())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_the_profiles_they_were() {
        // kubernetes-default: every default plugin, upstream weights, every node, fast path.
        let k = SchedulerProfile::kubernetes_default();
        assert!(k.fast_path_exact());
        let p = k.profile();
        assert_eq!(
            p.filter_names(),
            [
                "TaintToleration",
                "NodeAffinity",
                "NodeResourcesFit",
                "VolumeRestrictions",
                "NodeVolumeLimits",
                "VolumeBinding",
                "VolumeZone",
                "PodTopologySpread",
                "InterPodAffinity"
            ]
        );
        assert_eq!(
            p.score_names(),
            [
                ("TaintToleration", 3),
                ("NodeAffinity", 2),
                ("NodeResourcesFit/LeastAllocated", 1),
                ("PodTopologySpread", 2),
                ("InterPodAffinity", 2),
                ("NodeResourcesBalancedAllocation", 1)
            ]
        );
        // gke-optimize-utilization: MostAllocated, adaptive sampling, so the plain profile.
        let g = SchedulerProfile::preset("gke-optimize-utilization").unwrap();
        assert_eq!(g.sampling(), Sampling::Adaptive);
        assert!(!g.fast_path_exact());
        assert_eq!(
            g.profile().score_names()[2],
            ("NodeResourcesFit/MostAllocated", 1)
        );
        let m = SchedulerProfile::preset("most-allocated").unwrap();
        assert_eq!(
            m.profile().score_names(),
            [("NodeResourcesFit/MostAllocated", 1)]
        );
        assert_eq!(m.sampling(), Sampling::All);
        assert!(SchedulerProfile::preset("first-fit").is_none());
    }

    /// Each Kubernetes preset is what its upstream-style `plugins` expand to.
    #[test]
    fn presets_are_their_plugins_expanded() {
        for name in KUBERNETES_PROFILES {
            let preset = SchedulerProfile::preset(name).unwrap();
            let mut rebuilt = preset.clone();
            rebuilt.filters.clear();
            rebuilt.scores.clear();
            rebuilt.set_plugins(&preset.preset_plugins()).unwrap();
            assert_eq!(rebuilt, preset, "{name}");
        }
    }

    #[test]
    fn percentage_maps_onto_sampling() {
        let mut p = SchedulerProfile::kubernetes_default();
        for (pct, want) in [
            (0, Sampling::Adaptive),
            (30, Sampling::Percent(30)),
            (100, Sampling::All),
        ] {
            p.percentage_of_nodes_to_score = pct;
            assert_eq!(p.sampling(), want);
        }
        // Sampling leaves the fast path (it scores every node).
        p.percentage_of_nodes_to_score = 30;
        assert!(!p.fast_path_exact());
    }
}
