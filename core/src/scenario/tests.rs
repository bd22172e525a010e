//! Scenario loading: every bad input gets one located line.

use std::collections::BTreeMap;

use super::*;
use crate::model::Resources;
use crate::testing::edit;

/// In-memory files for tests.
#[derive(Default)]
pub struct MemFiles(pub BTreeMap<String, String>);

impl Files for MemFiles {
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        self.0
            .get(path)
            .map(|s| s.as_bytes().to_vec())
            .ok_or_else(|| "No such file or directory (os error 2)".to_string())
    }
}

const GOOD: &str = r#"
name = "tiny"

[simulation]
duration = "10s"
seed = 5

[pools.a]
count = 2
cpu = "2"
memory = "4Gi"
reserved = { cpu = "100m", memory = "256Mi" }

[services.web]
replicas = 3
concurrency = 2
requests = { cpu = "500m", memory = "512Mi" }
serviceTime = { dist = "lognormal", mean = "40ms", p99 = "250ms" }
startDelay = "2s"

[services.web.traffic]
model = "spike"
base = 10
peak = 100
start = "2s"
rampUp = "1s"
hold = "3s"
rampDown = "1s"
"#;

fn load_str(text: &str) -> Result<Scenario, InputError> {
    parse(text, "s.toml", &MemFiles::default(), &[], None)
}

/// Replaces `from` (which must occur) in GOOD and loads the result.
fn load_with(from: &str, to: &str) -> InputError {
    assert!(GOOD.contains(from), "{from}");
    load_str(&GOOD.replacen(from, to, 1)).expect_err("should fail")
}

#[test]
fn a_good_scenario_resolves() {
    let s = load_str(GOOD).unwrap();
    assert_eq!(s.name, "tiny");
    assert_eq!(s.seed, 5);
    assert_eq!(s.nodes.len(), 2);
    assert_eq!(s.nodes[1].name, "a-1");
    // allocatable = 2000m − 100m, 4Gi − 256Mi.
    assert_eq!(
        s.nodes[0].allocatable,
        Resources::new(1900, (4 << 30) - (256 << 20))
    );
    let web = &s.desired.services[0];
    assert_eq!((web.replicas, web.concurrency), (3, 2));
    assert_eq!(web.requests, Resources::new(500, 512 << 20));
    assert!((web.service_time.mean_secs() - 0.04).abs() < 1e-12);
    assert_eq!(s.traffic[0].rate_at(4.0), 100.0);
    assert_eq!(s.hash.len(), 16);
}

#[test]
fn limits_become_requests_when_requests_are_absent() {
    let s = load_str(&edit(GOOD, "requests = {", "limits = {")).unwrap();
    assert_eq!(
        s.desired.services[0].requests,
        Resources::new(500, 512 << 20)
    );
}

#[test]
fn every_bad_input_names_file_line_column_and_field() {
    let cases: &[(&str, &str, &str)] = &[
        // unknown field
        (
            "concurrency = 2",
            "concurency = 2",
            "s.toml:16:1: services.web.concurency: unknown field `concurency`, expected one of `replicas`",
        ),
        // wrong type
        (
            "replicas = 3",
            "replicas = \"three\"",
            "s.toml:15:12: services.web.replicas: invalid type: string \"three\", expected u32",
        ),
        // zero rate
        (
            "base = 10",
            "base = 0",
            "s.toml:23:8: services.web.traffic.base: rate must be greater than zero (got 0)",
        ),
        // negative rate
        (
            "peak = 100",
            "peak = -5",
            "s.toml:24:8: services.web.traffic.peak: rate must be greater than zero (got -5)",
        ),
        // unparseable quantity
        (
            "cpu = \"500m\"",
            "cpu = \"5OOm\"",
            "services.web.requests.cpu: '5OOm' is not a valid quantity: unknown suffix 'OOm'",
        ),
        // replicas that cannot fit: 2 nodes × 1900m / 500m = 3 per node = 6 fit (cpu); memory 3.75Gi/512Mi = 7 per node.
        (
            "replicas = 3",
            "replicas = 7",
            "s.toml:15:12: services.web.replicas: 7 replicas requesting 500m cpu and 512Mi memory each do not fit the cluster: only 6 could be placed (0/2 nodes are available: 2 Insufficient cpu.)",
        ),
        // bad duration
        (
            "duration = \"10s\"",
            "duration = 10",
            "s.toml:5:12: simulation.duration: durations need a unit: write \"10s\"",
        ),
        // unknown distribution
        (
            "dist = \"lognormal\"",
            "dist = \"lognormall\"",
            "services.web.serviceTime.dist: unknown variant `lognormall`",
        ),
        // distribution missing a parameter
        (
            "p99 = \"250ms\"",
            "pp99 = \"250ms\"",
            "unknown field `pp99`",
        ),
        // model parameter that does not apply
        (
            "hold = \"3s\"",
            "hold = \"3s\"\nrate = 5",
            "s.toml:21:1: services.web.traffic: 'rate' does not apply to model = \"spike\"",
        ),
        // bad balancer with suggestion
        (
            "startDelay = \"2s\"",
            "startDelay = \"2s\"\nbalancer = \"radnom\"",
            "services.web.balancer: unknown balancer 'radnom' (did you mean 'random'?); choose from: round-robin, random, least-request, p2c, peak-ewma, jsq, weighted-round-robin, ring-hash, maglev",
        ),
        // TOML syntax
        ("count = 2", "count = = 2", "s.toml:9:9:"),
        // zero concurrency
        (
            "concurrency = 2",
            "concurrency = 0",
            "s.toml:16:15: services.web.concurrency: must be at least 1",
        ),
    ];
    for (from, to, want) in cases {
        let err = load_with(from, to).to_string();
        assert!(
            err.contains(want),
            "replacing {from:?} by {to:?}\n  got:  {err}\n  want: {want}"
        );
        assert!(!err.contains('\n'), "one line: {err}");
    }
}

#[test]
fn names_must_be_dns_labels() {
    let err = load_str(&edit(GOOD, "services.web", "services.Web")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "s.toml:14:2: services.Web: 'Web' is not a valid name: use lower-case letters, digits and '-', starting and ending with a letter or digit (at most 63)"
    );
}

#[test]
fn missing_and_malformed_trace_files_are_reported() {
    let trace = edit(
        GOOD,
        "model = \"spike\"\nbase = 10\npeak = 100\nstart = \"2s\"\nrampUp = \"1s\"\nhold = \"3s\"\nrampDown = \"1s\"",
        "model = \"trace\"\nfile = \"rates.csv\"",
    );
    let err = parse(&trace, "s.toml", &MemFiles::default(), &[], None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "s.toml:23:8: services.web.traffic.file: cannot read 'rates.csv': No such file or directory (os error 2)"
    );
    let mut files = MemFiles::default();
    files
        .0
        .insert("rates.csv".into(), "time,rate\n0,10\n60,ten\n".into());
    let err = parse(&trace, "s.toml", &files, &[], None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "rates.csv:3:4: services.web.traffic.file: row 3, column 'rate': 'ten' is not a number"
    );
    files
        .0
        .insert("rates.csv".into(), "time,rate\n0,10\n60,20\n".into());
    let s = parse(&trace, "s.toml", &files, &[], None).unwrap();
    assert_eq!(s.traffic[0].rate_at(61.0), 20.0);
}

#[test]
fn overrides_apply_and_are_attributed() {
    let sets = vec![
        "services.web.replicas=2".to_string(),
        "simulation.duration=1m".to_string(),
    ];
    let text = apply_overrides(GOOD, "s.toml", &sets).unwrap();
    let s = parse(&text, "s.toml", &MemFiles::default(), &sets, None).unwrap();
    assert_eq!(s.desired.services[0].replicas, 2);
    assert_eq!(s.duration, SimDuration::from_secs(60));
    assert_eq!(s.overrides, sets);
    assert_ne!(s.hash, load_str(GOOD).unwrap().hash);

    let sets = vec!["services.web.replicas=lots".to_string()];
    let text = apply_overrides(GOOD, "s.toml", &sets).unwrap();
    let err = parse(&text, "s.toml", &MemFiles::default(), &sets, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "--set services.web.replicas=lots: services.web.replicas: invalid type: string \"lots\", expected u32"
    );
    let err = apply_overrides(GOOD, "s.toml", &["nonsense".to_string()]).unwrap_err();
    assert!(
        err.to_string().contains("expected dotted.path=value"),
        "{err}"
    );
}

#[test]
fn seed_argument_wins_over_the_file() {
    let s = parse(GOOD, "s.toml", &MemFiles::default(), &[], Some(99)).unwrap();
    assert_eq!(s.seed, 99);
}

const HPA: &str = r#"
[services.web.autoscaler]
kind = "hpa"
minReplicas = 2
maxReplicas = 20
metrics = [
  { type = "Resource", resource = { name = "cpu", target = { type = "Utilization", averageUtilization = 60 } } },
  { type = "Pods", pods = { metric = { name = "requests_per_second" }, target = { type = "AverageValue", averageValue = "25" } } },
]
[services.web.autoscaler.behavior.scaleDown]
stabilizationWindowSeconds = 60
policies = [{ type = "Percent", value = 50, periodSeconds = 30 }]

[services.web.slo]
latency = "200ms"
"#;

#[test]
fn an_hpa_manifest_reads_as_kubernetes_spells_it() {
    use crate::autoscale::hpa::{MetricSource, MetricTarget, PolicyKind};
    use crate::autoscale::spec::AutoscalerSpec;
    let s = load_str(&format!("{GOOD}{HPA}")).unwrap();
    let Some(AutoscalerSpec::Hpa(h, _)) = &s.autoscalers[0] else {
        panic!("{:?}", s.autoscalers)
    };
    assert_eq!((h.min_replicas, h.max_replicas), (2, 20));
    assert_eq!(h.metrics[0].target, MetricTarget::Utilization(60));
    assert_eq!(
        h.metrics[1].source,
        MetricSource::Pods("requests_per_second".into())
    );
    // "25" → 25 000 milli-units.
    assert_eq!(h.metrics[1].target, MetricTarget::AverageValue(25_000));
    let b = h.behavior.as_ref().expect("behavior given");
    assert_eq!(
        b.scale_down.stabilization_window,
        SimDuration::from_secs(60)
    );
    assert_eq!(b.scale_down.policies[0].kind, PolicyKind::Percent);
    // scaleUp left out keeps the Kubernetes defaults: Pods 4 and Percent 100 per 15 s.
    assert_eq!(b.scale_up.policies.len(), 2);
    let slo = s.slos[0].unwrap();
    assert_eq!(
        (slo.latency, slo.percentile),
        (SimDuration::from_millis(200), 99.0)
    );
    assert_eq!(s.metric_resolution, SimDuration::from_secs(15));
}

#[test]
fn bad_autoscaler_specs_name_the_field() {
    let bad = |from: &str, to: &str| {
        let text = format!("{GOOD}{HPA}");
        assert!(text.contains(from), "{from}");
        load_str(&text.replacen(from, to, 1)).expect_err("should fail")
    };
    let e = bad("minReplicas = 2", "minReplicas = 30");
    assert_eq!(e.path, "services.web.autoscaler.minReplicas", "{e}");
    assert!(e.to_string().contains("above maxReplicas 20"), "{e}");
    let e = bad("averageUtilization = 60", "averageUtilization = 0");
    assert_eq!(e.path, "services.web.autoscaler.metrics[0].resource.target");
    let e = bad("requests_per_second", "requests_per_minute");
    assert_eq!(
        e.path,
        "services.web.autoscaler.metrics[1].pods.metric.name"
    );
    assert!(
        e.message.contains(
            "unknown metric 'requests_per_minute'; choose from: requests_per_second, in_flight"
        ),
        "{e}"
    );
    let e = bad("periodSeconds = 30", "periodSeconds = 0");
    assert_eq!(
        e.path,
        "services.web.autoscaler.behavior.scaleDown.policies[0].periodSeconds"
    );
    let e = bad("kind = \"hpa\"", "kind = \"hpaa\"");
    assert_eq!(e.path, "services.web.autoscaler.kind");
    assert!(
        e.message.contains("choose from: hpa, target-tracking"),
        "{e}"
    );
    let e = bad("minReplicas = 2", "minReplicas = 2\nlead = \"30s\"");
    assert_eq!(e.path, "services.web.autoscaler.lead");
    let e = bad(
        "latency = \"200ms\"",
        "latency = \"200ms\"\npercentile = 100",
    );
    assert_eq!(e.path, "services.web.slo.percentile");
    let e = bad("minReplicas = 2", "minReplica = 2");
    assert!(e.to_string().contains("minReplica"), "{e}");
}

#[test]
fn the_scheduler_queue_is_priority_unless_drf_is_asked_for() {
    assert_eq!(load_str(GOOD).unwrap().queue, QueueOrder::Priority);
    let with = |q: &str| {
        edit(
            GOOD,
            "[pools.a]",
            &format!("[scheduler]\nqueue = {q}\n\n[pools.a]"),
        )
    };
    assert_eq!(load_str(&with("\"drf\"")).unwrap().queue, QueueOrder::Drf);
    assert_eq!(
        load_str(&with("\"priority\"")).unwrap().queue,
        QueueOrder::Priority
    );
    let err = load_str(&with("\"fair\"")).unwrap_err().to_string();
    assert_eq!(
        err,
        "s.toml:9:9: scheduler.queue: unknown variant `fair`, expected `priority` or `drf`"
    );
}

/// A scenario using every scheduling field (tables in several TOML forms).
const CONSTRAINED: &str = r#"
name = "placed"

[simulation]
duration = "10s"

[pools.a]
count = 2
cpu = "2"
memory = "4Gi"
labels = { disk = "ssd", tier = "3" }
taints = [
  { key = "dedicated", value = "web", effect = "NoSchedule" },
  { key = "spot", effect = "PreferNoSchedule" },
]

[services.web]
replicas = 2
requests = { cpu = "500m", memory = "512Mi" }
serviceTime = { dist = "exponential", mean = "10ms" }
nodeSelector = { disk = "ssd" }
tolerations = [
  { key = "dedicated", operator = "Equal", value = "web", effect = "NoSchedule" },
  { key = "spot", operator = "Exists" },
]
priority = 10
topologySpreadConstraints = [
  { maxSkew = 1, topologyKey = "kubernetes.io/hostname", whenUnsatisfiable = "DoNotSchedule", minDomains = 2 },
]

[services.web.affinity.podAntiAffinity]
topologyKey = "kubernetes.io/hostname"
required = true

[[services.web.affinity.nodeAffinity.required]]
matchExpressions = [{ key = "tier", operator = "Gt", values = ["2"] }]

[[services.web.affinity.nodeAffinity.preferred]]
weight = 50
matchExpressions = [{ key = "disk", operator = "In", values = ["ssd"] }]

[services.web.traffic]
model = "constant"
rate = 10
"#;

#[test]
fn scheduling_fields_resolve_into_the_model() {
    use crate::model::{
        AntiAffinity, SelectorOp, SelectorRequirement, SelectorTerm, SpreadConstraint, Taint,
        TaintEffect, Toleration, WhenUnsatisfiable,
    };
    let s = load_str(CONSTRAINED).unwrap();
    assert_eq!(
        s.nodes[1].taints,
        [
            Taint {
                key: "dedicated".into(),
                value: "web".into(),
                effect: TaintEffect::NoSchedule
            },
            Taint {
                key: "spot".into(),
                value: String::new(),
                effect: TaintEffect::PreferNoSchedule
            }
        ]
    );
    let c = &s.desired.services[0].placement;
    assert_eq!(c.priority, 10);
    assert_eq!(c.node_selector.get("disk").map(String::as_str), Some("ssd"));
    assert_eq!(
        c.tolerations,
        [
            Toleration {
                key: "dedicated".into(),
                exists: false,
                value: "web".into(),
                effect: Some(TaintEffect::NoSchedule)
            },
            Toleration {
                key: "spot".into(),
                exists: true,
                value: String::new(),
                effect: None
            }
        ]
    );
    let req = |key: &str, op, v: &str| SelectorTerm {
        requirements: vec![SelectorRequirement {
            key: key.into(),
            op,
            values: vec![v.into()],
        }],
    };
    assert_eq!(c.required_terms, [req("tier", SelectorOp::Gt, "2")]);
    assert_eq!(
        c.preferred_terms,
        [(50, req("disk", SelectorOp::In, "ssd"))]
    );
    assert_eq!(
        c.anti_affinity,
        Some(AntiAffinity {
            topology_key: "kubernetes.io/hostname".into(),
            required: true,
            weight: 0
        })
    );
    assert_eq!(
        c.spread,
        [SpreadConstraint {
            max_skew: 1,
            topology_key: "kubernetes.io/hostname".into(),
            when_unsatisfiable: WhenUnsatisfiable::DoNotSchedule,
            min_domains: Some(2),
            selector: crate::model::PodSelector::Own,
            match_label_keys: Vec::new(),
            node_affinity_policy: crate::model::NodeInclusionPolicy::Honor,
            node_taints_policy: crate::model::NodeInclusionPolicy::Ignore,
        }]
    );
    // A service without the fields has no constraints.
    assert_eq!(
        load_str(GOOD).unwrap().desired.services[0].placement,
        Default::default()
    );
}

#[test]
fn bad_scheduling_fields_name_file_line_column_and_field() {
    let cases: &[(&str, &str, &str)] = &[
        // weight outside 1..=100, at the value
        (
            "weight = 50",
            "weight = 0",
            "s.toml:39:10: services.web.affinity.nodeAffinity.preferred[0].weight: must be between 1 and 100 (got 0)",
        ),
        (
            "weight = 50",
            "weight = 101",
            "s.toml:39:10: services.web.affinity.nodeAffinity.preferred[0].weight: must be between 1 and 100 (got 101)",
        ),
        // maxSkew 0
        (
            "maxSkew = 1",
            "maxSkew = 0",
            "s.toml:28:15: services.web.topologySpreadConstraints[0].maxSkew: must be at least 1",
        ),
        // minDomains with ScheduleAnyway
        (
            "whenUnsatisfiable = \"DoNotSchedule\"",
            "whenUnsatisfiable = \"ScheduleAnyway\"",
            "services.web.topologySpreadConstraints[0].minDomains: applies only to whenUnsatisfiable = \"DoNotSchedule\"",
        ),
        (
            "minDomains = 2",
            "minDomains = 0",
            "services.web.topologySpreadConstraints[0].minDomains: must be at least 1",
        ),
        // Gt/Lt need exactly one integer
        (
            "values = [\"2\"]",
            "values = [\"2\", \"3\"]",
            "s.toml:36:63: services.web.affinity.nodeAffinity.required[0].matchExpressions[0].values: operator Gt needs exactly one integer value (got 2)",
        ),
        (
            "values = [\"2\"]",
            "values = [\"two\"]",
            "services.web.affinity.nodeAffinity.required[0].matchExpressions[0].values: operator Gt needs an integer value, not 'two'",
        ),
        (
            "operator = \"Gt\", values = [\"2\"]",
            "operator = \"Lt\"",
            "services.web.affinity.nodeAffinity.required[0].matchExpressions[0].values: operator Lt needs exactly one integer value (got 0)",
        ),
        // In/NotIn need values; Exists/DoesNotExist take none
        (
            "operator = \"In\", values = [\"ssd\"]",
            "operator = \"In\"",
            "s.toml:40:21: services.web.affinity.nodeAffinity.preferred[0].matchExpressions[0].values: operator In needs at least one value",
        ),
        (
            "operator = \"In\", values = [\"ssd\"]",
            "operator = \"NotIn\", values = []",
            "operator NotIn needs at least one value",
        ),
        (
            "operator = \"In\", values = [\"ssd\"]",
            "operator = \"Exists\", values = [\"ssd\"]",
            "preferred[0].matchExpressions[0].values: must be empty for operator Exists",
        ),
        // an empty term
        (
            "matchExpressions = [{ key = \"tier\", operator = \"Gt\", values = [\"2\"] }]",
            "matchExpressions = []",
            "services.web.affinity.nodeAffinity.required[0].matchExpressions: must not be empty (an empty term matches no node)",
        ),
        // unknown operator and effect, from the serde enums
        (
            "operator = \"Gt\"",
            "operator = \"Greater\"",
            "s.toml:36:48: services.web.affinity.nodeAffinity.required[0].matchExpressions[0].operator: unknown variant `Greater`, expected one of `In`, `NotIn`, `Exists`, `DoesNotExist`, `Gt`, `Lt`",
        ),
        (
            "effect = \"PreferNoSchedule\"",
            "effect = \"Prefer\"",
            "s.toml:14:28: pools.a.taints[1].effect: unknown variant `Prefer`, expected one of `NoSchedule`, `PreferNoSchedule`, `NoExecute`",
        ),
        (
            "operator = \"Equal\"",
            "operator = \"Equals\"",
            "services.web.tolerations[0].operator: unknown variant `Equals`, expected `Equal` or `Exists`",
        ),
        (
            "whenUnsatisfiable = \"DoNotSchedule\"",
            "whenUnsatisfiable = \"Never\"",
            "services.web.topologySpreadConstraints[0].whenUnsatisfiable: unknown variant `Never`",
        ),
        // toleration rules
        (
            "{ key = \"spot\", operator = \"Exists\" }",
            "{ operator = \"Equal\" }",
            "s.toml:24:3: services.web.tolerations[1].operator: must be \"Exists\" when key is empty",
        ),
        (
            "{ key = \"spot\", operator = \"Exists\" }",
            "{ key = \"spot\", operator = \"Exists\", value = \"yes\" }",
            "services.web.tolerations[1].value: must be empty when operator is \"Exists\"",
        ),
        (
            "{ key = \"spot\", operator = \"Exists\" }",
            "{ key = \"spot\", operator = \"Exists\", tolerationSeconds = 30 }",
            "services.web.tolerations[1].tolerationSeconds: unknown field `tolerationSeconds`",
        ),
        // anti-affinity forms
        (
            "required = true",
            "required = true\nweight = 5",
            "s.toml:34:10: services.web.affinity.podAntiAffinity.weight: applies only to the preferred form",
        ),
        (
            "required = true",
            "required = false",
            "services.web.affinity.podAntiAffinity: the preferred form (required = false, the default) needs 'weight' between 1 and 100",
        ),
        (
            "topologyKey = \"kubernetes.io/hostname\"\nrequired = true",
            "topologyKey = \"\"\nrequired = true",
            "services.web.affinity.podAntiAffinity.topologyKey: must not be empty",
        ),
        // taints
        (
            "{ key = \"spot\", effect = \"PreferNoSchedule\" }",
            "{ key = \"dedicated\", effect = \"NoSchedule\" }",
            "s.toml:14:3: pools.a.taints[1]: a second taint with key 'dedicated' and effect NoSchedule: taints must be unique by key and effect",
        ),
        (
            "{ key = \"spot\", effect = \"PreferNoSchedule\" }",
            "{ key = \"\", effect = \"NoSchedule\" }",
            "pools.a.taints[1].key: must not be empty",
        ),
        // priority is an i32
        (
            "priority = 10",
            "priority = 3000000000",
            "services.web.priority: invalid value: integer `3000000000`, expected i32",
        ),
        // constraints that leave no node: the fit check names the filters' reasons
        (
            "{ key = \"dedicated\", operator = \"Equal\", value = \"web\", effect = \"NoSchedule\" },",
            "",
            "services.web.replicas: 2 replicas requesting 500m cpu and 512Mi memory each do not fit the cluster: only 0 could be placed (0/2 nodes are available: 2 node(s) had untolerated taint {dedicated: web}.)",
        ),
        (
            "nodeSelector = { disk = \"ssd\" }",
            "nodeSelector = { disk = \"hdd\" }",
            "only 0 could be placed (0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.)",
        ),
        (
            "replicas = 2",
            "replicas = 3",
            "only 2 could be placed (0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules.)",
        ),
    ];
    for (from, to, want) in cases {
        assert!(CONSTRAINED.contains(from), "{from}");
        let err = load_str(&CONSTRAINED.replacen(from, to, 1))
            .expect_err("should fail")
            .to_string();
        assert!(
            err.contains(want),
            "replacing {from:?} by {to:?}\n  got:  {err}\n  want: {want}"
        );
        assert!(!err.contains('\n'), "one line: {err}");
    }
}

const JOBS: &str = r#"
name = "jobs"

[simulation]
duration = "10m"
nodeMetrics = true

[pools.gpu]
count = 2
cpu = "8"
memory = "32Gi"
gpu = 4

[jobs.train]
priority = 5
arrivals = [
  { at = "30s", duration = "5m", cpu = "2", memory = "4Gi", gpu = 1, count = 3 },
  { at = "10s", duration = "1m", cpu = "1", memory = "1Gi", gpu = "500m" },
  { at = "20s", duration = "2m", cpu = "2", memory = "4Gi", gpu = 1, priority = 0 },
  { at = "40s", duration = "1m", cpu = "1", memory = "1Gi", gpu = 0.5 },
]

[jobs.batch]
rate = 0.5
duration = { dist = "exponential", mean = "2m" }
cpu = "500m"
memory = "1Gi"
count = 2
"#;

#[test]
fn job_sets_resolve_into_shapes_and_arrivals() {
    use crate::jobs::JobSource;
    use crate::model::ServiceKind;
    let s = load_str(JOBS).unwrap();
    assert!(s.node_metrics);
    assert!(s.traffic.is_empty());
    // 4 GPUs per node, in thousandths.
    assert_eq!(s.nodes[0].allocatable.gpu_milli, 4000);
    // Job sets in name order: batch (one shape), then train. Train's shapes in order of first
    // appearance: (2, 4Gi, 1 GPU, prio 5), (1, 1Gi, 500m, prio 5), (2, 4Gi, 1 GPU, prio 0);
    // "500m" and 0.5 GPU are the same shape.
    let names: Vec<&str> = s.desired.services.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(names, ["batch.0", "train.0", "train.1", "train.2"]);
    assert!(
        s.desired
            .services
            .iter()
            .all(|x| x.kind == ServiceKind::Job && x.replicas == 0)
    );
    let t1 = &s.desired.services[2];
    assert_eq!(t1.requests, Resources::new(1000, 1 << 30).with_gpu(500));
    assert_eq!(t1.placement.priority, 5);
    assert_eq!(s.desired.services[3].placement.priority, 0);
    let train = &s.jobs[1];
    assert_eq!(
        (train.name.as_str(), train.source_name()),
        ("train", "arrivals")
    );
    let JobSource::List(list) = &train.source else {
        panic!()
    };
    // Sorted by arrival time: 10 s (train-1), 20 s (train-2), 30 s (train-0, 3 pods), 40 s (train-3).
    let got: Vec<(f64, &str, u32, u32)> = list
        .iter()
        .map(|a| (a.at.as_secs_f64(), a.name.as_str(), a.shape.0, a.count))
        .collect();
    assert_eq!(
        got,
        [
            (10.0, "train-1", 2, 1),
            (20.0, "train-2", 3, 1),
            (30.0, "train-0", 1, 3),
            (40.0, "train-3", 2, 1)
        ]
    );
    let JobSource::Poisson {
        rate, count, shape, ..
    } = &s.jobs[0].source
    else {
        panic!()
    };
    assert_eq!((*rate, *count, shape.0), (0.5, 2, 0));
}

#[test]
fn job_and_gpu_mistakes_are_located() {
    let bad = |from: &str, to: &str| {
        assert!(JOBS.contains(from), "{from}");
        load_str(&JOBS.replacen(from, to, 1))
            .unwrap_err()
            .to_string()
    };
    let e = bad(
        "rate = 0.5",
        "rate = 0.5\ntrace = { file = \"p.csv\", format = \"alibaba-openb\" }",
    );
    assert!(
        e.starts_with("s.toml:23:1: jobs.batch: give exactly one of 'arrivals'"),
        "{e}"
    );
    let e = bad("rate = 0.5\n", "");
    assert!(e.contains("jobs.batch: give exactly one of"), "{e}");
    let e = bad("memory = \"1Gi\"\ncount = 2", "memory = \"1Gi\"\ncount = 0");
    assert!(
        e.starts_with("s.toml:28:9: jobs.batch.count: must be at least 1"),
        "{e}"
    );
    let e = bad("gpu = 1, count = 3", "gpu = 1, count = 0");
    assert!(
        e.contains("jobs.train.arrivals[0].count: must be at least 1"),
        "{e}"
    );
    let e = bad("priority = 5\n", "priority = 5\ncpu = \"1\"\n");
    assert!(
        e.contains("jobs.train: 'cpu' does not apply to jobs given by 'arrivals'; it takes: arrivals (optional: priority)"),
        "{e}"
    );
    let e = bad("gpu = 4", "gpu = \"four\"");
    assert!(
        e.starts_with("s.toml:12:7: pools.gpu.gpu: 'four' is not a valid quantity"),
        "{e}"
    );
    let e = bad("count = 2\ncpu = \"8\"", "cpu = \"8\"");
    assert!(
        e.contains(
            "pools.gpu: a pool needs 'count', 'cpu' and 'memory' (identical nodes), or 'nodes'"
        ),
        "{e}"
    );
    let e = bad(
        "gpu = 4",
        "gpu = 4\nnodes = { file = \"n.csv\", format = \"alibaba-openb\" }",
    );
    assert!(
        e.contains("pools.gpu.nodes: a pool with 'nodes' takes its nodes from the file"),
        "{e}"
    );
}

const TRACE_JOBS: &str = r#"
name = "trace"

[simulation]
duration = "1h"

[pools.openb]
nodes = { file = "nodes.csv", format = "alibaba-openb" }
reserved = { cpu = "1" }

[jobs.pods]
trace = { file = "pods.csv", format = "alibaba-openb", start = "100s", timeScale = 0.5, limit = 3 }
"#;

fn trace_files(pods: &str) -> MemFiles {
    let mut f = MemFiles::default();
    f.0.insert(
        "nodes.csv".into(),
        "sn,cpu_milli,memory_mib,gpu,model\nn-0,32000,262144,0,\nn-1,96000,393216,8,G2\n".into(),
    );
    f.0.insert("pods.csv".into(), pods.into());
    f
}

const PODS: &str = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time
p0,12000,16384,1,1000,,LS,Running,0,1000,0
p1,6000,12288,1,460,G2,LS,Running,150,180,150
p2,4000,1024,8,1000,,BE,Failed,300,400,300
p3,6000,12288,1,460,G2,LS,Pending,350,,
p4,12000,16384,1,1000,,LS,Running,500,600,500
p5,1000,1024,0,0,,LS,Succeeded,600,700,600
";

#[test]
fn trace_pools_and_trace_jobs_resolve() {
    use crate::jobs::JobSource;
    let s = parse(TRACE_JOBS, "s.toml", &trace_files(PODS), &[], None).unwrap();
    // Nodes as listed, capacity − reserved, gpu-model label when the model is known.
    assert_eq!(s.nodes[1].name, "n-1");
    assert_eq!(
        s.nodes[1].allocatable,
        Resources::new(95000, 384 << 30).with_gpu(8000)
    );
    assert_eq!(
        s.nodes[1].labels.get(LABEL_GPU_MODEL).map(String::as_str),
        Some("G2")
    );
    assert!(!s.nodes[0].labels.contains_key(LABEL_GPU_MODEL));
    let set = &s.jobs[0];
    assert_eq!(set.source_name(), "trace");
    let JobSource::List(list) = &set.source else {
        panic!()
    };
    // Start at trace second 100, arrivals × 0.5, durations × 0.5 (timeScale), at most 3:
    // p0 alive at 100 s → 0 s, (1000 − 100) × 0.5 = 450 s; p1 (150 − 100) × 0.5 = 25 s, 15 s;
    // p2 100 s, 50 s; p3 no deletion; p4 and p5 beyond the limit of 3.
    let got: Vec<(&str, f64, f64)> = list
        .iter()
        .map(|a| {
            (
                a.name.as_str(),
                a.at.as_secs_f64(),
                a.duration.as_secs_f64(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [("p0", 0.0, 450.0), ("p1", 25.0, 15.0), ("p2", 100.0, 50.0)]
    );
    let r = set.trace.as_ref().unwrap();
    assert_eq!(
        (
            r.rows,
            r.used,
            r.alive_at_start,
            r.skipped_no_deletion,
            r.skipped_over_limit
        ),
        (6, 3, 1, 1, 2)
    );
    // p1 asks for a G2: a required node affinity on gpu-model.
    let p1 = &s.desired.services[list[1].shape.0 as usize];
    assert_eq!(p1.name, "pods.1");
    assert_eq!(p1.requests, Resources::new(6000, 12 << 30).with_gpu(460));
    assert_eq!(
        p1.placement.required_terms[0].requirements[0].values,
        ["G2"]
    );
    // A bad row is located in the trace file, with the field that named it.
    let bad = edit(PODS, "p2,4000,1024,8", "p2,4000,1O24,8");
    let e = parse(TRACE_JOBS, "s.toml", &trace_files(&bad), &[], None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "pods.csv:4:9: jobs.pods.trace.file: row 4, column 'memory_mib': '1O24' is not a non-negative integer"
    );
    // Duplicate node names across pools (pools go in name order: "more" is read first).
    let dup = format!(
        "{TRACE_JOBS}\n[pools.more]\nnodes = {{ file = \"nodes.csv\", format = \"alibaba-openb\" }}\n"
    );
    let e = parse(&dup, "s.toml", &trace_files(PODS), &[], None).unwrap_err();
    assert!(
        e.to_string()
            .contains("pools.openb: node name 'n-0' is used twice"),
        "{e}"
    );
    // An unknown format names the ones there are.
    let unknown = edit(
        TRACE_JOBS,
        "format = \"alibaba-openb\", start",
        "format = \"openb\", start",
    );
    let e = parse(&unknown, "s.toml", &trace_files(PODS), &[], None).unwrap_err();
    assert!(
        e.to_string()
            .contains("jobs.pods.trace.format: unknown variant `openb`, expected `alibaba-openb`"),
        "{e}"
    );
    // A window that takes nothing says what was skipped.
    let empty = edit(TRACE_JOBS, "start = \"100s\"", "start = \"100h\"");
    let e = parse(&empty, "s.toml", &trace_files(PODS), &[], None).unwrap_err();
    assert!(e.to_string().contains("no pod of 'pods.csv' was taken (6 rows: 1 without deletion time, 0 with a non-positive duration, 0 in other phases, 5 outside the window)"), "{e}");
}

#[test]
fn balancing_settings_are_checked_against_the_policy() {
    // (replacement of `startDelay = "2s"`, expected path, expected words)
    let cases = [
        (
            "startDelay = \"2s\"\nbalancing = { choices = 3 }",
            "services.web.balancing.choices",
            "applies to p2c and peak-ewma, not 'round-robin'",
        ),
        (
            "startDelay = \"2s\"\nbalancer = \"p2c\"\nbalancing = { choices = 1 }",
            "services.web.balancing.choices",
            "at least 2",
        ),
        (
            "startDelay = \"2s\"\nbalancer = \"weighted-round-robin\"\nbalancing = { weights = { b = 2 } }",
            "services.web.balancing.weights.b",
            "no pool 'b'; pools: a",
        ),
        (
            "startDelay = \"2s\"\nbalancer = \"central-queue\"\nbalancing = { clients = 4 }",
            "services.web.balancing.clients",
            "no client-side balancers",
        ),
        (
            "startDelay = \"2s\"\nbalancing = { retryBudget = { retryRatio = 0.1 } }",
            "services.web.balancing.retryBudget",
            "set retries too",
        ),
        (
            "startDelay = \"2s\"\nbalancing = { outlierDetection = { maxEjectionPercent = 120 } }",
            "services.web.balancing.outlierDetection.maxEjectionPercent",
            "0 to 100",
        ),
        (
            "startDelay = \"2s\"\nbalancer = \"maglev\"\nbalancing = { keys = { distribution = \"pareto\", count = 10 } }",
            "services.web.balancing.keys.distribution",
            "choose from: uniform, zipf",
        ),
        (
            "startDelay = \"2s\"\nbalancing = { clientz = 4 }",
            "services.web.balancing",
            "unknown field `clientz`",
        ),
    ];
    for (to, path, words) in cases {
        let e = load_with("startDelay = \"2s\"", to);
        let shown = e.to_string();
        assert!(shown.contains(path), "{shown}");
        assert!(shown.contains(words), "{shown}");
        assert!(shown.starts_with("s.toml:"), "{shown}");
    }
}

#[test]
fn balancing_settings_and_pool_speed_resolve() {
    let text = edit(
        GOOD,
        "startDelay = \"2s\"",
        "startDelay = \"2s\"\nbalancer = \"p2c\"\nbalancing = { choices = 3, clients = 4, discoveryDelay = \"2s\", retries = 2, outlierDetection = { consecutive5xx = 3 } }",
    );
    let text = edit(&text, "count = 2\n", "count = 2\nspeed = 1.5\n");
    let s = load_str(&text).unwrap();
    let b = &s.desired.services[0].balancing;
    assert_eq!(b.choices, Some(3));
    assert_eq!(b.clients, 4);
    assert_eq!(b.discovery_delay, SimDuration::from_secs(2));
    assert_eq!(b.retries, 2);
    assert_eq!(b.outlier.unwrap().consecutive_5xx, 3);
    // Unset outlier fields keep Envoy's defaults: base ejection time 30 s.
    assert_eq!(
        b.outlier.unwrap().base_ejection_time,
        SimDuration::from_secs(30)
    );
    assert_eq!(s.nodes[0].speed, 1.5);
    let e = load_str(&edit(GOOD, "count = 2\n", "count = 2\nspeed = 0\n")).unwrap_err();
    assert!(e.to_string().contains("pools.a.speed"), "{e}");
}

const ROLLING: &str = r#"
[services.web.rollout]
strategy = "rollingUpdate"
at = "2m"
maxSurge = 3
maxUnavailable = "20%"
minReadySeconds = 5
[services.web.rollout.newRevision]
errorRate = 0.2
slowdown = 3.0
"#;

const CANARY: &str = r#"
[services.web.rollout]
strategy = "canary"
at = "1m"
steps = [
  { setWeight = 10 },
  { pause = { duration = "1m" } },
  { analysis = {} },
  { setWeight = 50 },
  { pause = {} },
]
analysis = { interval = "20s", maxErrorRate = 0.05, maxP99 = "300ms", minRequests = 10 }
[services.web.rollout.newRevision]
crashOnStart = true
serviceTime = { dist = "exponential", mean = "80ms" }
"#;

#[test]
fn a_rollout_reads_as_kubernetes_and_argo_spell_it() {
    use crate::rollout::canary::CanaryStep::*;
    use crate::rollout::deployment::Strategy;
    use crate::rollout::{IntOrPercent, RolloutStrategy};
    let s = load_str(&format!("{GOOD}{ROLLING}")).unwrap();
    let r = s.desired.services[0].rollout.as_ref().expect("rollout");
    assert_eq!(r.at, SimDuration::from_secs(120));
    let RolloutStrategy::Deployment(d) = &r.strategy else {
        panic!("{r:?}")
    };
    assert_eq!(
        d.strategy,
        Strategy::RollingUpdate {
            max_surge: IntOrPercent::Int(3),
            max_unavailable: IntOrPercent::Percent(20)
        }
    );
    // Kubernetes defaults for what is left out: 600 s deadline, 10 revisions.
    assert_eq!(d.min_ready, SimDuration::from_secs(5));
    assert_eq!(d.progress_deadline, Some(SimDuration::from_secs(600)));
    assert_eq!(d.revision_history_limit, 10);
    assert_eq!(
        (r.new_revision.error_rate, r.new_revision.slowdown),
        (0.2, 3.0)
    );
    assert!(!r.new_revision.crash_on_start);

    let s = load_str(&format!("{GOOD}{CANARY}")).unwrap();
    let r = s.desired.services[0].rollout.as_ref().expect("rollout");
    let RolloutStrategy::Canary(c) = &r.strategy else {
        panic!("{r:?}")
    };
    assert_eq!(
        c.steps,
        vec![
            SetWeight(10),
            Pause(Some(SimDuration::from_secs(60))),
            Analysis,
            SetWeight(50),
            Pause(None)
        ]
    );
    let a = c.analysis.as_ref().expect("analysis");
    assert_eq!(
        (a.interval, a.max_error_rate, a.min_requests),
        (SimDuration::from_secs(20), Some(0.05), 10)
    );
    // Argo's default abortScaleDownDelaySeconds: 30.
    assert_eq!(c.abort_scale_down_delay, Some(SimDuration::from_secs(30)));
    assert!(r.new_revision.crash_on_start);
    let st = r.new_revision.service_time.as_ref().expect("serviceTime");
    assert!((st.mean_secs() - 0.08).abs() < 1e-9);
}

#[test]
fn bad_rollout_specs_name_the_field() {
    // (section, from, to, field path, message part)
    let cases = [
        (
            ROLLING,
            "maxSurge = 3",
            "maxSurge = -1",
            "maxSurge",
            "must not be negative",
        ),
        (
            ROLLING,
            "\"20%\"",
            "\"20 %\"",
            "maxUnavailable",
            "percentage such as \"25%\"",
        ),
        (
            ROLLING,
            "\"20%\"",
            "\"120%\"",
            "maxUnavailable",
            "not be greater than 100%",
        ),
        (
            ROLLING,
            "maxSurge = 3\nmaxUnavailable = \"20%\"",
            "maxSurge = \"0%\"\nmaxUnavailable = 0",
            "maxUnavailable",
            "may not be 0 when maxSurge is 0",
        ),
        (
            ROLLING,
            "minReadySeconds = 5",
            "minReadySeconds = -5",
            "minReadySeconds",
            "must not be negative",
        ),
        (
            ROLLING,
            "minReadySeconds = 5",
            "minReadySeconds = 5\nprogressDeadlineSeconds = 5",
            "progressDeadlineSeconds",
            "greater than minReadySeconds",
        ),
        (
            ROLLING,
            "minReadySeconds = 5",
            "revisionHistoryLimit = -1",
            "revisionHistoryLimit",
            "must not be negative",
        ),
        (
            ROLLING,
            "strategy = \"rollingUpdate\"",
            "strategy = \"rolling\"",
            "strategy",
            "choose from: rollingUpdate, recreate, canary, blueGreen",
        ),
        (
            ROLLING,
            "minReadySeconds = 5",
            "steps = []",
            "steps",
            "does not apply to strategy 'rollingUpdate'",
        ),
        (
            ROLLING,
            "errorRate = 0.2",
            "errorRate = 1.5",
            "newRevision.errorRate",
            "between 0 and 1",
        ),
        (
            ROLLING,
            "slowdown = 3.0",
            "slowdown = -3.0",
            "newRevision.slowdown",
            "greater than zero",
        ),
        (
            CANARY,
            "setWeight = 50",
            "setWeight = 150",
            "steps[3].setWeight",
            "between 0 and 100",
        ),
        (
            CANARY,
            "{ analysis = {} }",
            "{ setWeight = 5, pause = {} }",
            "steps[2]",
            "exactly one of",
        ),
        (
            CANARY,
            "maxErrorRate = 0.05",
            "maxErrorRate = -0.05",
            "analysis.maxErrorRate",
            "between 0 and 1",
        ),
        (
            CANARY,
            "minRequests = 10",
            "minRequests = 10, failureLimit = -1",
            "analysis.failureLimit",
            "at least 0",
        ),
        (
            CANARY,
            "interval = \"20s\"",
            "interval = \"0s\"",
            "analysis.interval",
            "greater than zero",
        ),
        (
            CANARY,
            "interval = \"20s\", maxErrorRate = 0.05, maxP99 = \"300ms\", ",
            "",
            "analysis",
            "needs maxErrorRate, maxP99 or both",
        ),
    ];
    for (section, from, to, field, message) in cases {
        let text = format!("{GOOD}{section}");
        assert!(text.contains(from), "{from}");
        let e = load_str(&text.replacen(from, to, 1)).expect_err(to);
        assert_eq!(e.path, format!("services.web.rollout.{field}"), "{to}: {e}");
        assert!(e.message.contains(message), "{to}: {e}");
        assert!(e.line > 0 && e.column > 0, "{to}: located: {e}");
    }
    // Unknown fields are rejected by name.
    let text = edit(&format!("{GOOD}{CANARY}"), "crashOnStart", "crashOnStrat");
    let e = load_str(&text).expect_err("typo");
    assert!(e.to_string().contains("crashOnStrat"), "{e}");
}
