//! `[scheduler]`'s profile fields: plugins merged onto the preset, plugin
//! arguments defaulted and validated with upstream's wording.

use super::tests::MemFiles;
use super::*;
use crate::model::ResourceName;
use crate::sched::config::{PluginName, SchedulerProfile, ScoringStrategyType};

const HEAD: &str = r#"
name = "sched"

[simulation]
duration = "10s"

[pools.a]
count = 2
cpu = "4"
memory = "8Gi"

[services.web]
replicas = 2
requests = { cpu = "500m", memory = "512Mi" }
serviceTime = { dist = "exponential", mean = "10ms" }
traffic = { model = "constant", rate = 1 }
"#;

fn load(scheduler: &str) -> Result<Scenario, InputError> {
    let text = format!("{HEAD}\n[scheduler]\n{scheduler}\n");
    parse(&text, "s.toml", &MemFiles::default(), &[], None)
}

fn profile(scheduler: &str) -> SchedulerProfile {
    load(scheduler).unwrap().scheduler.expect("a profile")
}

fn err(scheduler: &str) -> String {
    load(scheduler).expect_err("should fail").to_string()
}

#[test]
fn no_profile_field_leaves_the_registered_preset() {
    let s = load("policy = \"kubernetes-default\"").unwrap();
    assert!(s.scheduler.is_none());
    assert_eq!(s.placer().name(), "kubernetes-default");
}

#[test]
fn plugins_merge_onto_the_preset() {
    // Disabling PodTopologySpread's score and re-weighting NodeResourcesFit:
    // the score list keeps upstream order with NodeResourcesFit first (a
    // point's own entry comes before the expanded multiPoint plugins).
    let p = profile(
        r#"policy = "kubernetes-default"
[scheduler.plugins.score]
enabled = [{ name = "NodeResourcesFit", weight = 5 }]
disabled = [{ name = "PodTopologySpread" }]
"#,
    );
    assert_eq!(
        p.scores,
        [
            (PluginName::NodeResourcesFit, 5),
            (PluginName::TaintToleration, 3),
            (PluginName::NodeAffinity, 2),
            (PluginName::InterPodAffinity, 2),
            (PluginName::NodeResourcesBalancedAllocation, 1),
        ]
    );
    assert_eq!(p.filters.len(), 9, "filters untouched");
    assert!(!p.fast_path_exact());
    // Disabling every default score and enabling one.
    let p = profile(
        r#"policy = "kubernetes-default"
[scheduler.plugins.score]
disabled = [{ name = "*" }]
enabled = [{ name = "NodeResourcesBalancedAllocation" }]
"#,
    );
    assert_eq!(p.scores, [(PluginName::NodeResourcesBalancedAllocation, 1)]);
    // multiPoint disables a plugin at every point; unmodelled plugins are accepted.
    let p = profile(
        r#"policy = "kubernetes-default"
[scheduler.plugins.multiPoint]
disabled = [{ name = "InterPodAffinity" }, { name = "ImageLocality" }, { name = "NodePorts" }]
"#,
    );
    assert!(!p.filters.contains(&PluginName::InterPodAffinity));
    assert!(p.weight(PluginName::InterPodAffinity).is_none());
}

#[test]
fn plugin_config_sets_strategy_and_balanced_resources() {
    let p = profile(
        r#"policy = "kubernetes-default"
percentageOfNodesToScore = 40
[[scheduler.pluginConfig]]
name = "NodeResourcesFit"
args = { scoringStrategy = { type = "RequestedToCapacityRatio", resources = [{ name = "cpu", weight = 3 }, { name = "example.com/foo" }], requestedToCapacityRatio = { shape = [{ utilization = 0, score = 10 }, { utilization = 100, score = 0 }] } } }
[[scheduler.pluginConfig]]
name = "NodeResourcesBalancedAllocation"
args = { resources = [{ name = "cpu", weight = 1 }, { name = "memory" }, { name = "nvidia.com/gpu", weight = 0 }] }
"#,
    );
    assert_eq!(p.percentage_of_nodes_to_score, 40);
    let st = &p.scoring_strategy;
    assert_eq!(st.kind, ScoringStrategyType::RequestedToCapacityRatio);
    // An absent weight defaults to 1 (v1 defaults.go).
    assert_eq!(
        st.resources,
        [
            (ResourceName::Cpu, 3),
            (ResourceName::named("example.com/foo"), 1)
        ]
    );
    assert_eq!(st.shape, [(0, 10), (100, 0)]);
    assert_eq!(
        p.balanced_resources,
        [ResourceName::Cpu, ResourceName::Memory, ResourceName::Gpu]
    );
    // The scenario runs with it: sampling at 40% leaves the fast path.
    assert_eq!(
        load("policy = \"most-allocated\"\npercentageOfNodesToScore = 100")
            .unwrap()
            .placer()
            .name(),
        "most-allocated"
    );
}

/// Upstream's messages (`validation_pluginargs.go` @ 0bd65a06,
/// `validation.go` @ 030880a5, `framework.go`) after the located field.
#[test]
fn errors_name_the_field_and_say_what_upstream_says() {
    let fit = |args: &str| {
        err(&format!(
            "policy = \"kubernetes-default\"\n[[scheduler.pluginConfig]]\nname = \"NodeResourcesFit\"\nargs = {{ scoringStrategy = {args} }}\n"
        ))
    };
    let e = fit(r#"{ type = "LeastAllocated", resources = [{ name = "cpu", weight = 101 }] }"#);
    assert!(
        e.contains("scheduler.pluginConfig[0].args.scoringStrategy.resources[0].weight"),
        "{e}"
    );
    assert!(
        e.contains("resource weight of cpu not in valid range (0, 100]"),
        "{e}"
    );
    let e = fit(r#"{ type = "Fancy" }"#);
    assert!(e.contains(r#"Unsupported value: "Fancy": supported values: "LeastAllocated", "MostAllocated", "RequestedToCapacityRatio""#), "{e}");
    let e = fit(r#"{ resources = [{ name = "cpu" }] }"#);
    assert!(e.contains(r#"Unsupported value: "": supported"#), "{e}");
    let e = fit(r#"{ type = "RequestedToCapacityRatio" }"#);
    assert!(
        e.contains("must be specified when type is RequestedToCapacityRatio"),
        "{e}"
    );
    let e = fit(
        r#"{ type = "MostAllocated", requestedToCapacityRatio = { shape = [{ utilization = 0, score = 0 }] } }"#,
    );
    assert!(
        e.contains("must be nil when type is not RequestedToCapacityRatio"),
        "{e}"
    );
    let e =
        fit(r#"{ type = "RequestedToCapacityRatio", requestedToCapacityRatio = { shape = [] } }"#);
    assert!(e.contains("at least one point must be specified"), "{e}");
    let e = fit(
        r#"{ type = "RequestedToCapacityRatio", requestedToCapacityRatio = { shape = [{ utilization = 50, score = 1 }, { utilization = 50, score = 2 }] } }"#,
    );
    assert!(
        e.contains("shape[1].utilization")
            && e.contains("values must be sorted in increasing order"),
        "{e}"
    );
    let e = fit(
        r#"{ type = "RequestedToCapacityRatio", requestedToCapacityRatio = { shape = [{ utilization = 0, score = 11 }] } }"#,
    );
    assert!(
        e.contains("shape[0].score") && e.contains("not in valid range [0, 10]"),
        "{e}"
    );
    let e = fit(
        r#"{ type = "RequestedToCapacityRatio", requestedToCapacityRatio = { shape = [{ utilization = 101, score = 1 }] } }"#,
    );
    assert!(e.contains("not in valid range [0, 100]"), "{e}");
    // An explicitly empty list is an error (see the module docs).
    let e = fit(r#"{ type = "LeastAllocated", resources = [] }"#);
    assert!(e.contains("must name at least one resource"), "{e}");

    let e = err(
        "policy = \"kubernetes-default\"\n[[scheduler.pluginConfig]]\nname = \"NodeResourcesBalancedAllocation\"\nargs = { resources = [{ name = \"cpu\", weight = 2 }] }\n",
    );
    assert!(
        e.contains("resources[0].weight") && e.contains("Invalid value: 2: must be 1"),
        "{e}"
    );
    let e = err(
        "policy = \"kubernetes-default\"\n[[scheduler.pluginConfig]]\nname = \"NodeResourcesBalancedAllocation\"\nargs = { resources = [{ name = \"cpu\" }, { name = \"cpu\" }] }\n",
    );
    assert!(e.contains(r#"Duplicate value: "cpu""#), "{e}");
    let e = err("policy = \"kubernetes-default\"\npercentageOfNodesToScore = 101");
    assert!(e.contains("not in valid range [0-100]"), "{e}");
    let e = err(
        "policy = \"kubernetes-default\"\n[scheduler.plugins.filter]\nenabled = [{ name = \"NoSuchPlugin\" }]",
    );
    assert!(
        e.contains(r#"FilterPlugin "NoSuchPlugin" does not exist"#),
        "{e}"
    );
    let e = err(
        "policy = \"kubernetes-default\"\n[scheduler.plugins.score]\nenabled = [{ name = \"NodePorts\" }]",
    );
    assert!(
        e.contains(r#"plugin "NodePorts" does not extend ScorePlugin plugin"#),
        "{e}"
    );
    let e = err(
        "policy = \"kubernetes-default\"\n[scheduler.plugins.multiPoint]\nenabled = [{ name = \"EBSLimits\" }]",
    );
    assert!(e.contains("was invalid in version"), "{e}");
    let e = err("policy = \"first-fit\"\npercentageOfNodesToScore = 50");
    assert!(e.contains("applies to the Kubernetes presets"), "{e}");
    let e = err(
        "policy = \"kubernetes-default\"\n[[scheduler.pluginConfig]]\nname = \"PodTopologySpread\"\nargs = {}\n",
    );
    assert!(e.contains("runs with upstream's defaults"), "{e}");
    // Located: the line of the offending field.
    let e = load("policy = \"kubernetes-default\"\npercentageOfNodesToScore = 101").unwrap_err();
    // HEAD's lines, a blank one, `[scheduler]`, `policy`, then the field.
    assert_eq!(e.line, HEAD.lines().count() + 4, "{e}");
}

/// Where the initial replicas go under the scenario's own policy.
fn nodes_of(s: &Scenario) -> Vec<Option<u32>> {
    use crate::model::NodeStatus;
    use crate::placement::place_initial_with;
    let nodes = s.nodes.iter().map(|n| NodeStatus::new(n.clone())).collect();
    let mut policy = s.placer();
    let mut rng = crate::rng::stream(s.seed, "t");
    let r = place_initial_with(s.queue, &s.desired, nodes, policy.as_mut(), &mut rng);
    r.observed
        .replicas
        .iter()
        .map(|r| r.node.map(|n| n.0))
        .collect()
}

/// The `most-allocated` preset is `kubernetes-default` with every score but
/// NodeResourcesFit disabled and MostAllocated as its strategy: the two
/// spellings place identically, and differently from the default's spread.
#[test]
fn a_profile_spelled_out_places_as_the_preset_it_spells() {
    let spelled = load(
        r#"policy = "kubernetes-default"
[scheduler.plugins.score]
disabled = [{ name = "*" }]
enabled = [{ name = "NodeResourcesFit", weight = 1 }]
[[scheduler.pluginConfig]]
name = "NodeResourcesFit"
args = { scoringStrategy = { type = "MostAllocated" } }
"#,
    )
    .unwrap();
    let preset = load("policy = \"most-allocated\"").unwrap();
    let default = load("policy = \"kubernetes-default\"").unwrap();
    // Two 500m replicas on two 4-cpu nodes: MostAllocated stacks them on
    // one node (the first pick is a tie, broken by the seeded stream),
    // LeastAllocated + BalancedAllocation spreads them.
    let stacked = nodes_of(&spelled);
    assert!(
        stacked[0].is_some() && stacked[0] == stacked[1],
        "{stacked:?}"
    );
    assert_eq!(stacked, nodes_of(&preset));
    let spread = nodes_of(&default);
    assert!(
        spread[0].is_some() && spread[1].is_some() && spread[0] != spread[1],
        "{spread:?}"
    );
}
