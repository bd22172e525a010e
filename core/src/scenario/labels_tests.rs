//! Pod metadata, label selectors and pod affinity in scenario files:
//! resolved values and the inputs Kubernetes' API validation refuses.

use super::tests::MemFiles;
use super::*;
use crate::model::{NodeInclusionPolicy, PodSelector, SelectorOp, ServiceId};

const TWO: &str = r#"
name = "labels"

[simulation]
duration = "10s"
seed = 5

[pools.a]
count = 4
cpu = "8"
memory = "16Gi"

[services.api]
replicas = 2
requests = { cpu = "100m", memory = "64Mi" }
serviceTime = { dist = "exponential", mean = "10ms" }
traffic = { model = "constant", rate = 1 }

[services.api.metadata]
namespace = "shop"
labels = { app = "api", tier = "front", track = "stable" }
annotations = { "cluster-autoscaler.kubernetes.io/safe-to-evict" = "true" }

[[services.api.topologySpreadConstraints]]
maxSkew = 1
topologyKey = "topology.kubernetes.io/zone"
whenUnsatisfiable = "DoNotSchedule"
labelSelector = { matchExpressions = [{ key = "tier", operator = "In", values = ["front", "edge"] }] }
matchLabelKeys = ["track"]
nodeTaintsPolicy = "Honor"

[services.cache]
replicas = 2
requests = { cpu = "100m", memory = "64Mi" }
serviceTime = { dist = "exponential", mean = "10ms" }
traffic = { model = "constant", rate = 1 }

[services.cache.metadata]
namespace = "shop"
labels = { tier = "front", track = "canary" }

[[services.cache.affinity.podAffinity.preferred]]
weight = 30
topologyKey = "kubernetes.io/hostname"
labelSelector = { matchLabels = { app = "api" } }

[[services.cache.affinity.podAntiAffinityTerms.required]]
topologyKey = "kubernetes.io/hostname"
labelSelector = { matchLabels = { app = "web" } }
namespaceSelector = {}

[services.web]
replicas = 1
requests = { cpu = "100m", memory = "64Mi" }
serviceTime = { dist = "exponential", mean = "10ms" }
traffic = { model = "constant", rate = 1 }
"#;

fn load(text: &str) -> Result<Scenario, InputError> {
    parse(text, "s.toml", &MemFiles::default(), &[], None)
}

fn err(from: &str, to: &str) -> InputError {
    assert!(TWO.contains(from), "{from}");
    load(&TWO.replacen(from, to, 1)).expect_err("should fail")
}

#[test]
fn metadata_and_selectors_resolve() {
    let s = load(TWO).unwrap();
    let [api, cache, web] = &s.desired.services[..] else {
        panic!("three services")
    };
    assert_eq!(api.meta.namespace, "shop");
    assert_eq!(
        api.meta.labels.get("tier").map(String::as_str),
        Some("front")
    );
    assert_eq!(
        api.meta
            .annotations
            .get("cluster-autoscaler.kubernetes.io/safe-to-evict")
            .map(String::as_str),
        Some("true")
    );
    // No metadata: namespace default, labels app = <name>.
    assert_eq!(web.meta.namespace, "default");
    assert_eq!(web.meta.labels.get("app").map(String::as_str), Some("web"));
    assert_eq!(web.meta.labels.len(), 1);
    // tier In (front, edge) plus matchLabelKeys track = stable (api's own value): api only,
    // cache (track canary) is left out; api matches itself.
    let sc = &api.placement.spread[0];
    assert_eq!(sc.node_taints_policy, NodeInclusionPolicy::Honor);
    assert_eq!(sc.node_affinity_policy, NodeInclusionPolicy::Honor);
    let PodSelector::Pods(p) = &sc.selector else {
        panic!("explicit selector")
    };
    let sel = p.selector.as_ref().unwrap();
    assert_eq!(
        sel.match_labels.get("track").map(String::as_str),
        Some("stable")
    );
    assert_eq!(sel.match_expressions[0].op, SelectorOp::In);
    assert_eq!(p.namespaces, ["shop"]);
    assert_eq!(p.services, [ServiceId(0)]);
    assert!(p.self_match);
    // cache's preferred affinity to app = api (own namespace shop): api; its required
    // anti-affinity to app = web in every namespace: web.
    let pa = cache.placement.pod_affinity.as_ref().unwrap();
    assert_eq!(pa.terms.len(), 2);
    assert_eq!(
        (pa.terms[0].anti, pa.terms[0].required, pa.terms[0].weight),
        (false, false, 30)
    );
    assert_eq!(pa.terms[0].pods.services, [ServiceId(0)]);
    assert!(pa.terms[1].pods.all_namespaces);
    assert_eq!(pa.terms[1].pods.services, [ServiceId(2)]);
    // The symmetric half: api and web carry cache's terms that select them.
    let api_existing = &api.placement.pod_affinity.as_ref().unwrap().existing;
    assert_eq!(api_existing.len(), 1);
    assert_eq!(api_existing[0].service, ServiceId(1));
    let web_existing = &web.placement.pod_affinity.as_ref().unwrap().existing;
    assert!(web_existing[0].anti && web_existing[0].required);
    // A constraint without labelSelector keeps counting the service's own replicas.
    let own = TWO.replacen(
        "labelSelector = { matchExpressions = [{ key = \"tier\", operator = \"In\", values = [\"front\", \"edge\"] }] }\nmatchLabelKeys = [\"track\"]\n",
        "",
        1,
    );
    let s = load(&own).unwrap();
    assert_eq!(
        s.desired.services[0].placement.spread[0].selector,
        PodSelector::Own
    );
}

#[test]
fn bad_selectors_and_spread_fields_are_located() {
    let e = err(
        "operator = \"In\", values = [\"front\", \"edge\"]",
        "operator = \"Gt\", values = [\"1\"]",
    );
    assert_eq!(
        e.path,
        "services.api.topologySpreadConstraints[0].labelSelector.matchExpressions[0].operator"
    );
    assert_eq!(e.line, 28);
    assert!(
        e.message.contains("not a valid label selector operator"),
        "{e}"
    );
    // An unknown operator is the schema's error, on its line.
    let e = err(
        "operator = \"In\", values = [\"front\", \"edge\"]",
        "operator = \"Near\"",
    );
    assert_eq!(e.line, 28, "{e}");
    let e = err("maxSkew = 1", "maxSkew = 0");
    assert_eq!(e.path, "services.api.topologySpreadConstraints[0].maxSkew");
    assert_eq!(e.message, "must be at least 1");
    let e = err(
        "whenUnsatisfiable = \"DoNotSchedule\"",
        "whenUnsatisfiable = \"ScheduleAnyway\"\nminDomains = 2",
    );
    assert_eq!(
        e.path,
        "services.api.topologySpreadConstraints[0].minDomains"
    );
    let e = err(
        "matchLabelKeys = [\"track\"]",
        "matchLabelKeys = [\"tier\"]",
    );
    assert!(
        e.message
            .contains("exists in both matchLabelKeys and labelSelector"),
        "{e}"
    );
    let e = err(
        "labelSelector = { matchExpressions = [{ key = \"tier\", operator = \"In\", values = [\"front\", \"edge\"] }] }\n",
        "",
    );
    assert_eq!(
        e.message,
        "must not be specified when labelSelector is not set"
    );
    let e = err(
        "nodeTaintsPolicy = \"Honor\"",
        "nodeTaintsPolicy = \"Always\"",
    );
    assert!(e.to_string().contains("Always"), "{e}");
    let e = err("namespace = \"shop\"", "namespace = \"Shop\"");
    assert_eq!(e.path, "services.api.metadata.namespace");
    let e = err("tier = \"front\", track = \"stable\"", "tier = \"a b\"");
    assert_eq!(e.path, "services.api.metadata.labels.tier");
    let e = err("weight = 30\n", "");
    assert_eq!(
        e.path,
        "services.cache.affinity.podAffinity.preferred[0].weight"
    );
}

/// `namespaceSelector` over the namespaces' labels and the affinity
/// terms' `matchLabelKeys`/`mismatchLabelKeys`, worked by hand.
#[test]
fn namespace_selectors_and_affinity_label_keys_resolve() {
    let with = |from: &str, to: &str| {
        assert!(TWO.contains(from), "{from}");
        TWO.replacen(from, to, 1)
    };
    // Namespaces shop and batch are team a, ops team b; default exists (web's) unlabelled.
    let ns = "\n[namespaces.shop]\nlabels = { team = \"a\" }\n[namespaces.ops]\nlabels = { team = \"b\" }\n[namespaces.batch]\nlabels = { team = \"a\" }\n";
    let text = with(
        "namespaceSelector = {}",
        "namespaceSelector = { matchLabels = { team = \"a\" } }",
    ) + ns;
    let text = text.replacen(
        "labelSelector = { matchLabels = { app = \"web\" } }",
        "labelSelector = { matchLabels = { tier = \"front\" } }",
        1,
    );
    let s = load(&text).unwrap();
    assert_eq!(s.namespaces["ops"]["kubernetes.io/metadata.name"], "ops");
    let cache = &s.desired.services[1];
    let t = &cache.placement.pod_affinity.as_ref().unwrap().terms[1];
    // team = a picks shop and batch (ops is team b; default has no team label);
    // tier = front in those: api and cache itself, both in shop.
    assert!(!t.pods.all_namespaces);
    assert_eq!(t.pods.namespaces, ["batch", "shop"]);
    assert_eq!(t.pods.services, [ServiceId(0), ServiceId(1)]);
    // kubernetes.io/metadata.name selects a namespace by name: default holds web.
    let text = with(
        "namespaceSelector = {}",
        "namespaceSelector = { matchLabels = { \"kubernetes.io/metadata.name\" = \"default\" } }",
    );
    let s = load(&text).unwrap();
    let t = &s.desired.services[1]
        .placement
        .pod_affinity
        .as_ref()
        .unwrap()
        .terms[1];
    assert_eq!(t.pods.services, [ServiceId(2)]);

    // cache (track = canary) prefers app = api: with matchLabelKeys = [track] the selector
    // gains track In (canary), which api (track = stable) fails; with
    // mismatchLabelKeys = [track], track NotIn (canary), which api passes.
    let affinity = "labelSelector = { matchLabels = { app = \"api\" } }";
    let keys = |field: &str| with(affinity, &format!("{affinity}\n{field} = [\"track\"]"));
    let s = load(&keys("matchLabelKeys")).unwrap();
    let t = &s.desired.services[1]
        .placement
        .pod_affinity
        .as_ref()
        .unwrap()
        .terms[0];
    let sel = t.pods.selector.as_ref().unwrap();
    assert_eq!(sel.match_expressions[0].op, SelectorOp::In);
    assert_eq!(sel.match_expressions[0].values, ["canary"]);
    assert!(t.pods.services.is_empty());
    let s = load(&keys("mismatchLabelKeys")).unwrap();
    let t = &s.desired.services[1]
        .placement
        .pod_affinity
        .as_ref()
        .unwrap()
        .terms[0];
    assert_eq!(
        t.pods.selector.as_ref().unwrap().match_expressions[0].op,
        SelectorOp::NotIn
    );
    assert_eq!(t.pods.services, [ServiceId(0)]);
    // A key the pod lacks adds nothing.
    let s = load(&with(
        affinity,
        &format!("{affinity}\nmatchLabelKeys = [\"zone\"]"),
    ))
    .unwrap();
    let t = &s.desired.services[1]
        .placement
        .pod_affinity
        .as_ref()
        .unwrap()
        .terms[0];
    assert!(
        t.pods
            .selector
            .as_ref()
            .unwrap()
            .match_expressions
            .is_empty()
    );
    assert_eq!(t.pods.services, [ServiceId(0)]);

    // validateMatchLabelKeysAndMismatchLabelKeys' refusals.
    let at = "services.cache.affinity.podAffinity.preferred[0]";
    let e = load(&with(
        affinity,
        &format!("{affinity}\nmatchLabelKeys = [\"app\"]"),
    ))
    .unwrap_err();
    assert_eq!(e.path, format!("{at}.matchLabelKeys[0]"));
    assert_eq!(
        e.message,
        "'app' exists in both matchLabelKeys and labelSelector"
    );
    let e = load(&with(
        affinity,
        &format!("{affinity}\nmatchLabelKeys = [\"track\"]\nmismatchLabelKeys = [\"track\"]"),
    ))
    .unwrap_err();
    assert_eq!(
        e.message,
        "'track' exists in both matchLabelKeys and mismatchLabelKeys"
    );
    let e = load(&with(affinity, "mismatchLabelKeys = [\"track\"]")).unwrap_err();
    assert_eq!(e.path, format!("{at}.mismatchLabelKeys"));
    assert_eq!(
        e.message,
        "must not be specified when labelSelector is not set"
    );
    let e = load(
        &(TWO.to_string()
            + "\n[namespaces.shop]\nlabels = { \"kubernetes.io/metadata.name\" = \"x\" }\n"),
    )
    .unwrap_err();
    assert_eq!(e.path, "namespaces.shop.labels.kubernetes.io/metadata.name");
    let e = load(&(TWO.to_string() + "\n[namespaces.Shop]\n")).unwrap_err();
    assert_eq!(e.path, "namespaces.Shop");
}
