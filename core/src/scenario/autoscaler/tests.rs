//! The HPA table: `behavior` absent versus given, autoscaling/v1's
//! `targetCPUUtilizationPercentage`, and upstream's default metric.

use crate::autoscale::hpa::{MetricSource, MetricSpec, MetricTarget, ResourceMetric};
use crate::autoscale::spec::AutoscalerSpec;
use crate::scenario::{InputError, autoscaler_from_toml};
use crate::time::SimDuration;

fn hpa(text: &str) -> Result<crate::autoscale::hpa::HpaSpec, InputError> {
    match autoscaler_from_toml(text, "a.toml")? {
        AutoscalerSpec::Hpa(s, _) => Ok(s),
        other => panic!("{other:?}"),
    }
}

fn cpu(u: i32) -> MetricSpec {
    MetricSpec {
        source: MetricSource::Resource(ResourceMetric::Cpu),
        target: MetricTarget::Utilization(u),
    }
}

const CPU60: &str = r#"metrics = [{ type = "Resource", resource = { name = "cpu", target = { type = "Utilization", averageUtilization = 60 } } }]"#;

#[test]
fn behavior_absent_stays_absent_and_an_empty_one_is_explicit() {
    let base = format!("kind = \"hpa\"\nmaxReplicas = 10\n{CPU60}\n");
    assert_eq!(hpa(&base).unwrap().behavior, None);
    let empty = hpa(&format!("{base}[behavior]\n")).unwrap();
    let b = empty.behavior.expect("explicit behavior");
    // The API defaults: up Pods 4 and Percent 100 per 15 s, down window from the flag (300 s).
    assert_eq!(b.scale_up.policies.len(), 2);
    assert_eq!(
        b.scale_down.stabilization_window,
        SimDuration::from_secs(300)
    );
}

#[test]
fn target_cpu_utilization_percentage_is_one_cpu_utilization_metric() {
    let s = hpa("kind = \"hpa\"\nmaxReplicas = 10\ntargetCPUUtilizationPercentage = 70\n").unwrap();
    assert_eq!(s.metrics, vec![cpu(70)]);
    assert_eq!(s.behavior, None);
    // Neither field: SetDefaults_HorizontalPodAutoscaler's cpu 80%.
    let s = hpa("kind = \"hpa\"\nmaxReplicas = 10\n").unwrap();
    assert_eq!(s.metrics, vec![cpu(80)]);
}

#[test]
fn target_cpu_utilization_percentage_conflicts_and_bounds_are_located() {
    let e = hpa(&format!(
        "kind = \"hpa\"\nmaxReplicas = 10\n{CPU60}\ntargetCPUUtilizationPercentage = 70\n"
    ))
    .unwrap_err();
    assert_eq!(e.path, "autoscaler.targetCPUUtilizationPercentage", "{e}");
    assert_eq!(e.line, 4, "{e}");
    assert!(e.message.contains("conflicts with `metrics`"), "{e}");
    let e =
        hpa("kind = \"hpa\"\nmaxReplicas = 10\ntargetCPUUtilizationPercentage = 0\n").unwrap_err();
    assert_eq!(e.path, "autoscaler.targetCPUUtilizationPercentage", "{e}");
    assert!(e.message.contains("greater than 0"), "{e}");
    let e = hpa("kind = \"knative\"\ntargetCPUUtilizationPercentage = 50\n").unwrap_err();
    assert!(
        e.message.contains("does not apply to kind 'knative'"),
        "{e}"
    );
}

const WITH_HPA: &str = r#"
name = "flags"
[simulation]
duration = "10s"
[pools.a]
count = 1
cpu = "4"
memory = "8Gi"
[services.web]
replicas = 1
requests = { cpu = "500m", memory = "512Mi" }
serviceTime = { dist = "exponential", mean = "10ms" }
traffic = { model = "constant", rate = 1 }
autoscaler = { kind = "hpa", maxReplicas = 4, behavior = {} }
"#;

fn with_controller(flags: &str) -> Result<crate::scenario::Scenario, InputError> {
    let text = format!("{WITH_HPA}[hpaController]\n{flags}\n");
    crate::scenario::parse(
        &text,
        "s.toml",
        &crate::scenario::tests::MemFiles::default(),
        &[],
        None,
    )
}

/// `[hpaController]` replaces kube-controller-manager's HPA flags; the
/// downscale window of a `behavior.scaleDown` without its own window
/// follows `downscaleStabilization` (upstream defaults the API field from
/// the flag).
#[test]
fn hpa_controller_flags_reach_the_controller() {
    let s = with_controller(
        "syncPeriod = \"30s\"\ntolerance = 0.2\ncpuInitializationPeriod = \"1m\"\ninitialReadinessDelay = \"10s\"\ndownscaleStabilization = \"2m\"",
    )
    .unwrap();
    let Some(AutoscalerSpec::Hpa(spec, c)) = &s.autoscalers[0] else {
        panic!("{:?}", s.autoscalers[0]);
    };
    assert_eq!(c.sync_period, SimDuration::from_secs(30));
    assert_eq!(c.tolerance, 0.2);
    assert_eq!(c.cpu_initialization_period, SimDuration::from_secs(60));
    assert_eq!(c.initial_readiness_delay, SimDuration::from_secs(10));
    assert_eq!(c.downscale_stabilization, SimDuration::from_secs(120));
    let b = spec.behavior.as_ref().unwrap();
    assert_eq!(
        b.scale_down.stabilization_window,
        SimDuration::from_secs(120)
    );
    // Absent: upstream's defaults.
    let s = with_controller("").unwrap();
    let Some(AutoscalerSpec::Hpa(_, c)) = &s.autoscalers[0] else {
        panic!()
    };
    assert_eq!(*c, crate::autoscale::hpa::HpaConfig::default());
    // Bad values are located.
    let e = with_controller("tolerance = 1.0").unwrap_err().to_string();
    assert!(
        e.contains("hpaController.tolerance: must be at least 0 and below 1"),
        "{e}"
    );
    let e = with_controller("syncPeriod = \"0s\"")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("hpaController.syncPeriod: must be greater than zero"),
        "{e}"
    );
    let e = with_controller("resyncPeriod = \"1s\"")
        .unwrap_err()
        .to_string();
    assert!(e.contains("resyncPeriod"), "{e}");
}
