//! `[[priorityClasses]]`, `[[podDisruptionBudgets]]`, and a service's
//! `priorityClassName`, `preemptionPolicy`, `namespace` and `labels`.

use super::tests::MemFiles;
use super::*;
use crate::disruption::{DisruptionRule, IntOrPercent};
use crate::priority::PreemptionPolicy;

const BASE: &str = r#"
name = "prio"

[simulation]
duration = "10s"

[pools.a]
count = 1
cpu = "4"
memory = "8Gi"

[[priorityClasses]]
name = "high"
value = 1000
description = "serving"

[[priorityClasses]]
name = "batch"
value = 10
globalDefault = true
preemptionPolicy = "Never"

[[podDisruptionBudgets]]
name = "web"
selector = { matchLabels = { app = "web" }, matchExpressions = [{ key = "tier", operator = "NotIn", values = ["canary"] }] }
minAvailable = "50%"

[services.web]
replicas = 2
requests = { cpu = "500m", memory = "512Mi" }
serviceTime = { dist = "exponential", mean = "10ms" }
priorityClassName = "high"
metadata = { namespace = "shop", labels = { app = "web" } }
traffic = { model = "constant", rate = 1 }

[services.other]
replicas = 1
requests = { cpu = "500m", memory = "512Mi" }
serviceTime = { dist = "exponential", mean = "10ms" }
traffic = { model = "constant", rate = 1 }
"#;

fn load(text: &str) -> Result<Scenario, InputError> {
    parse(text, "s.toml", &MemFiles::default(), &[], None)
}

fn err(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from}");
    load(&BASE.replacen(from, to, 1))
        .expect_err("should fail")
        .to_string()
}

#[test]
fn classes_resolve_into_priorities_and_budgets_into_rules() {
    let s = load(BASE).unwrap();
    let svc = |n: &str| {
        s.desired
            .services
            .iter()
            .find(|x| x.name == n)
            .unwrap()
            .clone()
    };
    // web names "high": 1000, PreemptLowerPriority (the class gives no policy).
    let web = svc("web");
    assert_eq!(web.placement.priority, 1000);
    assert_eq!(
        web.placement.preemption_policy,
        PreemptionPolicy::PreemptLowerPriority
    );
    assert_eq!(web.meta.namespace, "shop");
    assert_eq!(web.meta.labels.get("app").map(String::as_str), Some("web"));
    // other names none: the globalDefault "batch", 10 and Never.
    let other = svc("other");
    assert_eq!(other.placement.priority, 10);
    assert_eq!(other.placement.preemption_policy, PreemptionPolicy::Never);
    assert_eq!(other.meta.namespace, "default");
    assert_eq!(s.priority_classes.len(), 2);
    assert_eq!(s.pod_disruption_budgets.len(), 1);
    let b = &s.pod_disruption_budgets[0];
    assert_eq!(b.namespace, "default");
    assert_eq!(
        b.rule,
        DisruptionRule::MinAvailable(IntOrPercent::Percent(50))
    );
    let sel = b.selector.as_ref().unwrap();
    assert_eq!(sel.match_expressions.len(), 1);
}

#[test]
fn without_classes_the_priority_field_is_the_pods_priority() {
    // No classes at all: `priority` as before, 0 when absent.
    let text = BASE
        .replace("priorityClassName = \"high\"", "priority = 7")
        .replace("globalDefault = true\n", "");
    let s = load(&text).unwrap();
    assert_eq!(s.desired.services[1].name, "web");
    assert_eq!(s.desired.services[1].placement.priority, 7);
    assert_eq!(s.desired.services[0].placement.priority, 0);
}

#[test]
fn bad_classes_budgets_and_names_are_located() {
    assert_eq!(
        err(
            "priorityClassName = \"high\"",
            "priorityClassName = \"hihg\""
        ),
        "s.toml:32:21: services.web.priorityClassName: no PriorityClass with name hihg was found; known: high, batch, system-node-critical, system-cluster-critical"
    );
    assert_eq!(
        err("value = 1000\n", "value = 1000\nglobalDefault = true\n"),
        "s.toml:18:1: priorityClasses[1].globalDefault: PriorityClass high is already marked as default. Only one default can exist"
    );
    assert_eq!(
        err("value = 1000", "value = 1000000001"),
        "s.toml:14:9: priorityClasses[0].value: maximum allowed value of a user defined priority is 1000000000"
    );
    assert_eq!(
        err("name = \"high\"", "name = \"system-high\""),
        "s.toml:13:8: priorityClasses[0].name: priority class names with 'system-' prefix are reserved for system use only"
    );
    assert_eq!(
        err(
            "priorityClassName = \"high\"",
            "priorityClassName = \"high\"\npriority = 5"
        ),
        "s.toml:32:21: services.web.priority: the integer value of priority (5) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name"
    );
    assert_eq!(
        err("minAvailable = \"50%\"", "minAvailable = \"150%\""),
        "s.toml:26:16: podDisruptionBudgets[0].minAvailable: must not be greater than 100%"
    );
    assert_eq!(
        err(
            "minAvailable = \"50%\"",
            "minAvailable = 1\nmaxUnavailable = 1"
        ),
        "s.toml:23:1: podDisruptionBudgets[0]: give exactly one of 'minAvailable' or 'maxUnavailable' (minAvailable and maxUnavailable cannot be both set)"
    );
    assert!(
        err("operator = \"NotIn\"", "operator = \"Gt\"")
            .contains("podDisruptionBudgets[0].selector.matchExpressions[0].operator: Gt is not a valid label selector operator")
    );
    // A system class is known without being declared.
    let s = load(&BASE.replace(
        "\"high\"\nmetadata",
        "\"system-cluster-critical\"\nmetadata",
    ))
    .unwrap();
    assert_eq!(s.desired.services[1].placement.priority, 2_000_000_000);
}
