//! `preset = "…"`: a whole-cluster preset supplies the defaults of
//! `[scheduler]`, `[clusterAutoscaler]` and `[hpaController]`; every field
//! the scenario gives still wins.

use super::tests::MemFiles;
use super::*;
use crate::autoscale::cluster::NodeAutoscalerSpec;
use crate::time::SimDuration;

const BASE: &str = r#"
name = "managed"

[simulation]
duration = "10s"

[pools.a]
count = 1
min = 1
max = 4
cpu = "4"
memory = "8Gi"

[services.web]
replicas = 1
requests = { cpu = "500m", memory = "512Mi" }
serviceTime = { dist = "exponential", mean = "10ms" }
traffic = { model = "constant", rate = 1 }
autoscaler = { kind = "hpa", maxReplicas = 4 }

[clusterAutoscaler]
"#;

fn load(head: &str, tail: &str) -> Result<Scenario, InputError> {
    let text = format!("{head}\n{BASE}{tail}\n");
    parse(&text, "s.toml", &MemFiles::default(), &[], None)
}

#[test]
fn a_preset_fills_what_the_scenario_leaves_out() {
    let s = load("preset = \"aks\"", "").unwrap();
    assert_eq!(s.preset.as_deref(), Some("aks"));
    // kube-scheduler's default profile with its adaptive sampling.
    assert_eq!(s.placement, "kubernetes-default");
    assert_eq!(
        s.scheduler.as_ref().unwrap().percentage_of_nodes_to_score,
        0
    );
    let Some(NodeAutoscalerSpec::ClusterAutoscaler(c)) = &s.node_autoscaler else {
        panic!("{:?}", s.node_autoscaler)
    };
    assert_eq!(c.scan_interval, SimDuration::from_secs(10));
    assert_eq!(c.scale_down_unneeded_time, SimDuration::from_secs(600));
    // eks-karpenter chooses Karpenter when the kind is left out.
    let s = load("preset = \"eks-karpenter\"", "").unwrap();
    assert!(matches!(
        s.node_autoscaler,
        Some(NodeAutoscalerSpec::Karpenter(_))
    ));
    // gke-optimize-utilization's scheduler.
    let s = load(
        "preset = \"gke-optimize-utilization\"",
        "kind = \"cluster-autoscaler\"",
    )
    .unwrap();
    assert_eq!(s.placement, "gke-optimize-utilization");
    assert!(
        s.scheduler.is_none(),
        "the placement preset already samples adaptively"
    );
}

#[test]
fn scenario_fields_override_the_preset() {
    let s = load(
        "preset = \"aks\"",
        "scanInterval = \"30s\"\n[scheduler]\npolicy = \"most-allocated\"\npercentageOfNodesToScore = 100\n[hpaController]\ntolerance = 0.05",
    )
    .unwrap();
    assert_eq!(s.placement, "most-allocated");
    assert!(s.scheduler.is_some());
    assert_eq!(
        s.scheduler.as_ref().unwrap().percentage_of_nodes_to_score,
        100
    );
    let Some(NodeAutoscalerSpec::ClusterAutoscaler(c)) = &s.node_autoscaler else {
        panic!()
    };
    assert_eq!(c.scan_interval, SimDuration::from_secs(30));
    let Some(crate::autoscale::spec::AutoscalerSpec::Hpa(_, h)) = &s.autoscalers[0] else {
        panic!()
    };
    assert_eq!(h.tolerance, 0.05);
    // A preset's Karpenter, overridden to the Cluster Autoscaler by kind.
    let s = load(
        "preset = \"eks-karpenter\"",
        "kind = \"cluster-autoscaler\"",
    )
    .unwrap();
    assert!(matches!(
        s.node_autoscaler,
        Some(NodeAutoscalerSpec::ClusterAutoscaler(_))
    ));
}

#[test]
fn unknown_presets_and_a_missing_kind_are_located() {
    let e = load("preset = \"openshift\"", "kind = \"karpenter\"")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("s.toml:1:10: preset: unknown whole-cluster preset 'openshift'; choose from: kubernetes, gke-balanced"), "{e}");
    let e = load("", "").unwrap_err().to_string();
    assert!(e.contains("clusterAutoscaler.kind: is required"), "{e}");
}
