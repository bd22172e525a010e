//! Pods of containers in scenarios: `scenarios/multi-container.toml`
//! checked by hand, and the new fields' errors.

use super::tests::MemFiles;
use super::*;
use crate::model::ResourceName;

const MI: u64 = 1 << 20;
const GI: u64 = 1 << 30;

fn load(text: &str) -> Result<Scenario, InputError> {
    parse(text, "s.toml", &MemFiles::default(), &[], None)
}

const MULTI: &str = include_str!("../../../scenarios/multi-container.toml");

#[test]
fn multi_container_effective_requests_by_hand() {
    let s = load(MULTI).unwrap();
    let web = &s.desired.services[0];
    let r = web.requests;
    // App containers: app 500m/256Mi + log 0/64Mi (its memory request
    // defaults to its limit) = 500m / 320Mi.
    // Sidecar proxy (the first init container, restartPolicy Always):
    // added to the app sum, 700m / 448Mi, and running from then on.
    // Init container migrate: 300m/1Gi + proxy 200m/128Mi = 500m / 1152Mi.
    // Pod: max(700m, 500m) = 700m; max(448Mi, 1152Mi) = 1152Mi;
    // plus the overhead 100m / 64Mi: 800m / 1216Mi.
    assert_eq!(r.cpu_milli, 700 + 100);
    assert_eq!(r.memory_bytes, 1152 * MI + 64 * MI);
    assert_eq!(r.memory_bytes, 1216 * MI);
    // Only `app` asks for these; init containers and the sidecar do not.
    assert_eq!(r.ephemeral_bytes, GI);
    assert_eq!(r.get(ResourceName::named("example.com/foo")), 1);
    assert_eq!(r.pods, 0);
    // Scoring (non-zero defaults per container): `log` states no cpu and
    // counts as 100m: apps 600m, + proxy 800m, migrate 500m → 800m, +
    // overhead = 900m; memory is stated everywhere: 1216Mi.
    let nz = r.non_zero();
    assert_eq!((nz.cpu_milli, nz.memory_bytes), (900, 1216 * MI));
    // Limits (PodLimits): app 1/512Mi + log 64Mi; no init container has
    // limits; the overhead is added to the set, non-zero ones: 1100m / 640Mi.
    assert_eq!(
        (web.limits.cpu_milli, web.limits.memory_bytes),
        (1100, 640 * MI)
    );
    assert_eq!(web.limits.get(ResourceName::named("example.com/foo")), 1);
}

#[test]
fn multi_container_nodes_offer_any_resource() {
    let s = load(MULTI).unwrap();
    let n = &s.nodes[0];
    assert_eq!(n.allocatable.cpu_milli, 3900);
    assert_eq!(n.allocatable.memory_bytes, 8 * GI - 512 * MI);
    assert_eq!(n.allocatable.ephemeral_bytes, 50 * GI);
    assert_eq!(n.allocatable.pods, 20);
    assert_eq!(n.allocatable.get(ResourceName::named("example.com/foo")), 2);
    // A pool that says nothing of pods takes Kubernetes' 110.
    let plain = load(&MULTI.replace(", pods = 20", "")).unwrap();
    assert_eq!(plain.nodes[0].allocatable.max_pods(), 110);
}

#[test]
fn multi_container_places_two_pods_per_node_for_the_extended_resource() {
    // cpu: 3900m / 800m = 4 pods per node; example.com/foo: 2 / 1 = 2.
    // Six replicas fit four nodes; nine would not (4 × 2 = 8).
    let s = load(MULTI).unwrap();
    assert_eq!(s.desired.services[0].replicas, 6);
    let e = load(&MULTI.replace("replicas = 6", "replicas = 9")).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("9 replicas requesting 800m cpu and 1216Mi memory, 1Gi ephemeral-storage, 1 example.com/foo each"),
        "{msg}"
    );
    assert!(msg.contains("only 8 could be placed"), "{msg}");
    assert!(msg.contains("4 Insufficient example.com/foo"), "{msg}");
}

#[test]
fn explicit_zero_and_absent_requests_score_differently() {
    let base = r#"
name = "z"
[simulation]
duration = "10s"
[pools.a]
count = 1
cpu = "2"
memory = "4Gi"
[services.web]
replicas = 1
requests = REQ
serviceTime = { dist = "constant", value = "10ms" }
[services.web.traffic]
model = "constant"
rate = 1
"#;
    let absent = load(&base.replace("REQ", r#"{ memory = "1Gi" }"#)).unwrap();
    let zero = load(&base.replace("REQ", r#"{ cpu = 0, memory = "1Gi" }"#)).unwrap();
    let (a, z) = (
        absent.desired.services[0].requests,
        zero.desired.services[0].requests,
    );
    assert_eq!((a.cpu_milli, z.cpu_milli), (0, 0));
    // GetNonzeroRequestForResource: absent → 100m, explicit 0 stays 0.
    assert_eq!(a.non_zero().cpu_milli, 100);
    assert_eq!(z.non_zero().cpu_milli, 0);
}

#[test]
fn bad_pod_fields_are_located() {
    // Both the flat form and containers.
    let e = load(&MULTI.replace("overhead = {", "requests = { cpu = \"1\" }\noverhead = {"))
        .unwrap_err();
    assert_eq!(e.path, "services.web.containers");
    assert!(e.message.contains("not both"), "{e}");
    // restartPolicy on an app container, or other than Always.
    let e = load(&MULTI.replace(
        "{ name = \"log\",",
        "{ name = \"log\", restartPolicy = \"Always\",",
    ))
    .unwrap_err();
    assert_eq!(e.path, "services.web.containers[1].restartPolicy");
    let e = load(&MULTI.replace("restartPolicy = \"Always\"", "restartPolicy = \"Never\""))
        .unwrap_err();
    assert_eq!(e.path, "services.web.initContainers[0].restartPolicy");
    assert!(e.message.contains("may only be \"Always\""), "{e}");
    // A request above its limit, per container.
    let e = load(&MULTI.replace(
        "cpu = \"500m\", memory = \"256Mi\"",
        "cpu = \"2\", memory = \"256Mi\"",
    ))
    .unwrap_err();
    assert_eq!(e.path, "services.web.containers[0].requests.cpu");
    assert_eq!(e.message, "request 2 exceeds limit 1");
    // Unknown resource names and fractional extended resources.
    let e = load(&MULTI.replace("ephemeral-storage = \"1Gi\"", "ephemeral = \"1Gi\"")).unwrap_err();
    assert!(e.message.contains("unknown resource 'ephemeral'"), "{e}");
    let e =
        load(&MULTI.replace("\"example.com/foo\" = 2", "\"example.com/foo\" = 1.5")).unwrap_err();
    assert!(e.message.contains("must be a whole number"), "{e}");
    let e = load(&MULTI.replace("pods = 20", "pods = 0")).unwrap_err();
    assert!(e.message.contains("pods must be at least 1"), "{e}");
    // cpu belongs to the pool's own field.
    let e = load(&MULTI.replace("capacity = { ", "capacity = { cpu = \"1\", ")).unwrap_err();
    assert_eq!(e.path, "pools.pool.capacity.cpu");
}

/// A small scenario with one service whose `[services.web]` table ends
/// with `extra`.
fn web_with(extra: &str) -> String {
    format!(
        "name = \"v\"\n[simulation]\nduration = \"1m\"\n[pools.p]\ncount = 1\ncpu = \"4\"\nmemory = \"8Gi\"\n\
         [services.web]\nreplicas = 1\nrequests = {{ cpu = \"1\" }}\n\
         serviceTime = {{ dist = \"constant\", value = \"10ms\" }}\n\
         traffic = {{ model = \"constant\", rate = 1 }}\n{extra}\n"
    )
}

#[test]
fn volumes_and_the_grace_period_are_read_and_checked() {
    use crate::model::{Volume, VolumeSource};
    let s = load(&web_with(
        "terminationGracePeriodSeconds = 5\nvolumes = [{ name = \"scratch\", emptyDir = {} }, { name = \"shm\", emptyDir = { medium = \"Memory\" } }, { name = \"logs\", hostPath = { path = \"/var/log\" } }]",
    ))
    .unwrap();
    let web = &s.desired.services[0];
    assert_eq!(web.termination_grace_period.as_secs_f64(), 5.0);
    assert_eq!(
        web.volumes,
        [
            Volume {
                name: "scratch".into(),
                source: VolumeSource::EmptyDir { memory: false }
            },
            Volume {
                name: "shm".into(),
                source: VolumeSource::EmptyDir { memory: true }
            },
            Volume {
                name: "logs".into(),
                source: VolumeSource::HostPath {
                    path: "/var/log".into()
                }
            },
        ]
    );
    let locals: Vec<bool> = web.volumes.iter().map(|v| v.is_local_storage()).collect();
    assert_eq!(locals, [true, false, true]);
    // The default grace period is Kubernetes' 30 s.
    let d = load(&web_with("")).unwrap();
    assert_eq!(
        d.desired.services[0].termination_grace_period.as_secs_f64(),
        30.0
    );
    let err = |extra: &str| load(&web_with(extra)).unwrap_err().to_string();
    assert_eq!(
        err("volumes = [{ name = \"a\" }]"),
        "s.toml:13:12: services.web.volumes[0]: give exactly one source: 'emptyDir', 'hostPath', 'persistentVolumeClaim', 'awsElasticBlockStore' or 'gcePersistentDisk' (others are not modelled yet)"
    );
    assert_eq!(
        err("volumes = [{ name = \"a\", emptyDir = { medium = \"Disk\" } }]"),
        "s.toml:13:48: services.web.volumes[0].emptyDir.medium: 'Disk': expected \"\" (the node's disk) or \"Memory\""
    );
    assert_eq!(
        err("volumes = [{ name = \"a\", emptyDir = {} }, { name = \"a\", emptyDir = {} }]"),
        "s.toml:13:52: services.web.volumes[1].name: 'a': Duplicate value (volume names are unique in a pod)"
    );
}

#[test]
fn bare_pods_are_read_and_take_no_autoscaler() {
    let s = load(&web_with("controller = \"none\"")).unwrap();
    assert_eq!(
        s.desired.services[0].controller,
        crate::model::Controller::None
    );
    let err = |extra: &str| load(&web_with(extra)).unwrap_err().to_string();
    assert_eq!(
        err("controller = \"Deployment\""),
        "s.toml:13:14: services.web.controller: 'Deployment': expected \"ReplicaSet\" (a Deployment's pods, the default), \"StatefulSet\" or \"none\" (bare pods)"
    );
    assert!(
        err("controller = \"none\"\nautoscaler = { kind = \"hpa\", maxReplicas = 3, metrics = [{ type = \"Resource\", resource = { name = \"cpu\", target = { type = \"Utilization\", averageUtilization = 60 } } }] }")
            .contains("services.web.autoscaler: bare pods (controller = \"none\") have no controller to take 'autoscaler'"),
        "{}",
        err("controller = \"none\"\nautoscaler = { kind = \"hpa\", maxReplicas = 3, metrics = [{ type = \"Resource\", resource = { name = \"cpu\", target = { type = \"Utilization\", averageUtilization = 60 } } }] }")
    );
}
