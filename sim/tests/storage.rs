//! Volumes in the simulated cluster: claims bound where their pods go,
//! zonal volumes that keep a replica in its zone through a zone outage.

mod common;

use common::simulate;
use orkestra_core::testing::NoFiles;

/// Three one-node zones a, b, c; a class provisioning zonal disks, allowed
/// only in zone c; an `Immediate` claim of it (so provisioned in c at the
/// start); `db` (1 replica) mounts it, `web` (3 replicas) has no volumes;
/// zone c fails from 60 s for 10 minutes.
const SCENARIO: &str = r#"
name = "zonal-volume"
[simulation]
duration = "20m"
[pools.a]
count = 1
cpu = "4"
memory = "8Gi"
[pools.b]
count = 1
cpu = "4"
memory = "8Gi"
[pools.c]
count = 1
cpu = "4"
memory = "8Gi"
[[storageClasses]]
name = "zonal"
provisioner = "pd.csi.storage.gke.io"
allowedTopologies = [{ matchLabelExpressions = [{ key = "topology.kubernetes.io/zone", values = ["c"] }] }]
[[persistentVolumeClaims]]
name = "data"
storage = "10Gi"
accessModes = ["ReadWriteOnce"]
storageClassName = "zonal"
[services.db]
replicas = 1
requests = { cpu = "1", memory = "1Gi" }
volumes = [{ name = "data", persistentVolumeClaim = { claimName = "data" } }]
serviceTime = { dist = "exponential", mean = "20ms" }
[services.db.traffic]
model = "constant"
rate = 10
[services.web]
replicas = 3
requests = { cpu = "1", memory = "1Gi" }
serviceTime = { dist = "exponential", mean = "20ms" }
[services.web.traffic]
model = "constant"
rate = 10
[[faults]]
kind = "zone-outage"
at = "60s"
duration = "10m"
target = { zone = "c" }
"#;

#[test]
fn a_replica_on_a_zonal_volume_waits_for_its_zone_while_others_stay() {
    let (_, rows) = simulate(SCENARIO, "zonal.toml", &[], None, &NoFiles);
    let of = |kind: &str, subject: &str| -> Vec<(f64, String)> {
        rows.events
            .iter()
            .filter(|e| e.1 == kind && e.2.starts_with(subject))
            .map(|e| (e.0, e.3.clone()))
            .collect()
    };
    // The claim was provisioned in zone c at load (Immediate), so db-0 can
    // only go to c-0.
    assert_eq!(
        of("bind", "db-"),
        [
            (0.0, "node=c-0".to_string()),
            (660.0, "node=c-0".to_string())
        ]
    );
    // Worked by hand with the default node lifecycle: the outage at 60 s
    // follows the heartbeat at 60 s; the deadline 60 + 40 = 100 s is not
    // passed at the 100 s pass, so c-0 is NotReady at 105 s and db-0 is
    // evicted at 105 + 300 = 405 s. Its replacement fits nowhere: a-0 and
    // b-0 are outside the volume's zone, c-0 is not ready.
    assert_eq!(of("evict", "db-"), [(405.0, "node=c-0".to_string())]);
    let pending = of("unschedulable", "db-");
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0].0, 405.0);
    assert_eq!(
        pending[0].1,
        "0/3 nodes are available: 1 node(s) were not ready, 2 node(s) had volume node affinity conflict."
    );
    // The zone is back at 60 + 600 = 660 s: c-0 heartbeats and is ready,
    // and the replacement binds there at once.
    assert!(of("node-ready", "c-0").iter().any(|e| e.0 == 660.0));
    // web never moved: its replicas were never on c-0.
    assert!(
        of("bind", "web-")
            .iter()
            .all(|e| e.0 == 0.0 && e.1 != "node=c-0")
    );
}

#[test]
fn a_wait_for_first_consumer_claim_is_provisioned_in_the_zone_of_its_first_pod() {
    // The same claim WaitForFirstConsumer, no allowedTopologies: db-0 goes
    // where the scheduler puts it, and the volume is provisioned there.
    let text = SCENARIO.replace(
        "allowedTopologies = [{ matchLabelExpressions = [{ key = \"topology.kubernetes.io/zone\", values = [\"c\"] }] }]",
        "volumeBindingMode = \"WaitForFirstConsumer\"",
    );
    let (_, rows) = simulate(&text, "zonal.toml", &[], None, &NoFiles);
    let bind = rows
        .events
        .iter()
        .find(|e| e.1 == "bind" && e.2 == "db-0")
        .expect("db-0 bound");
    let node = bind.3.trim_start_matches("node=").to_string();
    let provision = rows
        .events
        .iter()
        .find(|e| e.1 == "volume-provision")
        .expect("provisioned");
    assert_eq!(provision.0, 0.0);
    assert_eq!(provision.2, "default/data");
    assert_eq!(provision.3, format!("volume=pvc-default-data node={node}"));
}

#[test]
fn stateful_zone_outage_keeps_the_replica_in_its_zone_and_moves_the_deployment() {
    // scenarios/stateful-zone-outage.toml, worked by hand. db is
    // OrderedReady: db-0, then db-1 once db-0 is ready, then db-2 (all at
    // 0 s: no start delay); required zone anti-affinity puts one in each
    // zone, and each claim data-db-K is provisioned in its pod's zone.
    let text = include_str!("../../scenarios/stateful-zone-outage.toml");
    let (_, rows) = simulate(text, "stateful-zone-outage.toml", &[], None, &NoFiles);
    let rows_of = |kind: &str, subject: &str| -> Vec<(f64, String)> {
        rows.events
            .iter()
            .filter(|e| e.1 == kind && e.2 == subject)
            .map(|e| (e.0, e.3.clone()))
            .collect()
    };
    let creates: Vec<&str> = rows
        .events
        .iter()
        .filter(|e| e.1 == "create" && e.2.starts_with("db-") && e.0 == 0.0)
        .map(|e| e.2.as_str())
        .collect();
    assert_eq!(creates, ["db-0", "db-1", "db-2"], "ordinals in order");
    // Which zone each ordinal's volume is in: where its first pod went.
    let mut zone_of = std::collections::BTreeMap::new();
    for k in 0..3 {
        let p = rows_of("volume-provision", &format!("default/data-db-{k}"));
        assert_eq!(p.len(), 1, "one volume per claim, provisioned once");
        let node = p[0].1.rsplit("node=").next().unwrap().to_string();
        zone_of.insert(k, node.trim_end_matches("-0").to_string());
    }
    let mut zones: Vec<&String> = zone_of.values().collect();
    zones.sort();
    assert_eq!(
        zones,
        ["zone-a", "zone-b", "zone-c"],
        "one replica per zone"
    );
    let k = *zone_of.iter().find(|(_, z)| *z == "zone-c").unwrap().0;
    let pod = format!("db-{k}");
    // zone-c fails at 60 s, right after the heartbeat at 60 s; the 40 s
    // deadline (100 s) is passed at the 105 s monitor pass; eviction after
    // tolerationSeconds: 105 + 300 = 405 s.
    assert_eq!(
        rows_of("evict", &pod),
        [(405.0, "node=zone-c-0".to_string())]
    );
    // Recreated at once with the same name (and claim), and pending: the
    // two live nodes are outside its volume's zone, zone-c-0 is not ready.
    assert_eq!(
        rows_of("create", &pod)
            .iter()
            .map(|e| e.0)
            .collect::<Vec<_>>(),
        [0.0, 405.0]
    );
    assert_eq!(
        rows_of("unschedulable", &pod),
        [(
            405.0,
            "0/3 nodes are available: 1 node(s) were not ready, 2 node(s) had volume node affinity conflict."
                .to_string()
        )]
    );
    // No second volume: the claim kept its volume.
    assert_eq!(
        rows.events
            .iter()
            .filter(|e| e.1 == "volume-provision")
            .count(),
        3
    );
    // Back at 60 + 600 = 660 s: it binds in zone-c again.
    assert_eq!(
        rows_of("bind", &pod),
        [
            (0.0, "node=zone-c-0".to_string()),
            (660.0, "node=zone-c-0".to_string())
        ]
    );
    // web's replica on zone-c-0 was evicted at 405 s too and its
    // replacement bound at once in another zone.
    let web_evicted: Vec<&str> = rows
        .events
        .iter()
        .filter(|e| e.1 == "evict" && e.2.starts_with("web-"))
        .map(|e| e.2.as_str())
        .collect();
    assert_eq!(web_evicted.len(), 1);
    let moved: Vec<&(f64, String, String, String)> = rows
        .events
        .iter()
        .filter(|e| e.1 == "bind" && e.2.starts_with("web-") && e.0 == 405.0)
        .collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_ne!(moved[0].3, "node=zone-c-0");
}

/// One zone, a 3-replica StatefulSet whose pods take 10 s to start.
fn ordered(policy: &str, extra: &str) -> String {
    format!(
        r#"
name = "ordered"
[simulation]
duration = "5m"
warmStart = false
[pools.a]
count = 3
cpu = "4"
memory = "8Gi"
[[storageClasses]]
name = "disk"
provisioner = "pd.csi.storage.gke.io"
volumeBindingMode = "WaitForFirstConsumer"
isDefault = true
[services.db]
controller = "StatefulSet"
replicas = 3
requests = {{ cpu = "1" }}
startDelay = "10s"
serviceTime = {{ dist = "constant", value = "5ms" }}
traffic = {{ model = "constant", rate = 1 }}
[services.db.statefulSet]
podManagementPolicy = "{policy}"
volumeClaimTemplates = [{{ name = "data", storage = "1Gi", accessModes = ["ReadWriteOnce"] }}]
{extra}
"#
    )
}

#[test]
fn ordered_ready_waits_for_each_pod_and_parallel_does_not() {
    let ready_times = |text: &str| -> Vec<(f64, String)> {
        let (_, rows) = simulate(text, "ordered.toml", &[], None, &NoFiles);
        rows.events
            .iter()
            .filter(|e| e.1 == "ready")
            .map(|e| (e.0, e.2.clone()))
            .collect()
    };
    // OrderedReady: each pod is created when the one before is ready, and
    // is ready 10 s after its bind: 10, 20, 30 s.
    assert_eq!(
        ready_times(&ordered("OrderedReady", "")),
        [
            (10.0, "db-0".to_string()),
            (20.0, "db-1".to_string()),
            (30.0, "db-2".to_string())
        ]
    );
    // Parallel: all three at once.
    let parallel = ready_times(&ordered("Parallel", ""));
    assert_eq!(parallel.len(), 3);
    assert!(parallel.iter().all(|e| e.0 == 10.0), "{parallel:?}");
}

#[test]
fn a_volume_on_a_crashed_node_is_force_detached_after_six_minutes() {
    // Zone c has two nodes; db's single replica (first fit, pinned to zone
    // c) starts on c-0 with a zonal volume attached there. c-0 crashes for
    // good at 60 s.
    let text = r#"
name = "force-detach"
[simulation]
duration = "20m"
[pools.a]
count = 1
cpu = "4"
memory = "8Gi"
[pools.c]
count = 2
cpu = "4"
memory = "8Gi"
[[storageClasses]]
name = "zonal"
provisioner = "ebs.csi.aws.com"
volumeBindingMode = "WaitForFirstConsumer"
attachDelay = "10s"
isDefault = true
[services.db]
controller = "StatefulSet"
replicas = 1
requests = { cpu = "1" }
nodeSelector = { "topology.kubernetes.io/zone" = "c" }
serviceTime = { dist = "constant", value = "5ms" }
traffic = { model = "constant", rate = 1 }
[services.db.statefulSet]
volumeClaimTemplates = [{ name = "data", storage = "10Gi", accessModes = ["ReadWriteOnce"] }]
[[faults]]
kind = "node-crash"
at = "60s"
target = { node = "c-0" }
"#;
    let (_, rows) = simulate(text, "force-detach.toml", &[], None, &NoFiles);
    let of = |kind: &str| -> Vec<(f64, String)> {
        rows.events
            .iter()
            .filter(|e| e.1 == kind && e.2 == "db-0")
            .map(|e| (e.0, e.3.clone()))
            .collect()
    };
    // NotReady at 105 s, evicted at 105 + 300 = 405 s, and the replacement
    // (same name, same claim) bound at once to c-1, the other node of the
    // volume's zone.
    assert_eq!(
        of("bind"),
        [
            (0.0, "node=c-0".to_string()),
            (405.0, "node=c-1".to_string())
        ]
    );
    // Its volume is still attached to c-0, which is not ready: the
    // attach-detach controller force-detaches it maxWaitForUnmountDuration
    // (6 min) after the pod's deletion, at 405 + 360 = 765 s; the attach to
    // c-1 takes the class's 10 s: the container starts at 775 s and, with
    // no start delay, is ready then.
    assert_eq!(of("volumes-attached"), [(775.0, String::new())]);
    assert_eq!(of("ready").last().map(|e| e.0), Some(775.0));
    // With maxWaitForUnmountDuration shortened to 1 minute: 405 + 60 + 10.
    let short = text.replace(
        "[[faults]]",
        "[nodeLifecycle]\nmaxWaitForUnmountDuration = \"1m\"\n[[faults]]",
    );
    let (_, rows) = simulate(&short, "force-detach.toml", &[], None, &NoFiles);
    let attached: Vec<f64> = rows
        .events
        .iter()
        .filter(|e| e.1 == "volumes-attached")
        .map(|e| e.0)
        .collect();
    assert_eq!(attached, [475.0]);
}

#[test]
fn scaling_a_stateful_set_down_deletes_the_condemned_claims_when_asked() {
    // 3 replicas, almost no load, an HPA down to 1: the ordinals go from the
    // highest, one at a time (OrderedReady), and with whenScaled = Delete
    // their claims go with them; ordinal 0 keeps its claim.
    let text = ordered(
        "OrderedReady",
        "persistentVolumeClaimRetentionPolicy = { whenScaled = \"Delete\" }\n\
         [services.db.autoscaler]\nkind = \"hpa\"\nminReplicas = 1\nmaxReplicas = 3\n\
         metrics = [{ type = \"Resource\", resource = { name = \"cpu\", target = { type = \"Utilization\", averageUtilization = 50 } } }]\n",
    )
    .replace("duration = \"5m\"", "duration = \"15m\"");
    let (_, rows) = simulate(&text, "ordered.toml", &[], None, &NoFiles);
    let deleted: Vec<(&str, &str)> = rows
        .events
        .iter()
        .filter(|e| e.1 == "claim-delete")
        .map(|e| (e.2.as_str(), e.3.as_str()))
        .collect();
    assert_eq!(
        deleted,
        [
            ("default/data-db-2", "volume=pvc-default-data-db-2"),
            ("default/data-db-1", "volume=pvc-default-data-db-1")
        ]
    );
    let terminated: Vec<(f64, &str)> = rows
        .events
        .iter()
        .filter(|e| e.1 == "terminated")
        .map(|e| (e.0, e.2.as_str()))
        .collect();
    assert_eq!(
        terminated.iter().map(|e| e.1).collect::<Vec<_>>(),
        ["db-2", "db-1"]
    );
    // One at a time: db-1 is deleted only after db-2 is gone.
    let delete_db1 = rows
        .events
        .iter()
        .find(|e| e.1 == "delete" && e.2 == "db-1")
        .expect("db-1 deleted")
        .0;
    assert!(delete_db1 >= terminated[0].0);
    // Retain (the default) keeps them.
    let kept = ordered(
        "OrderedReady",
        "[services.db.autoscaler]\nkind = \"hpa\"\nminReplicas = 1\nmaxReplicas = 3\n\
         metrics = [{ type = \"Resource\", resource = { name = \"cpu\", target = { type = \"Utilization\", averageUtilization = 50 } } }]\n",
    )
    .replace("duration = \"5m\"", "duration = \"15m\"");
    let (_, rows) = simulate(&kept, "ordered.toml", &[], None, &NoFiles);
    assert!(rows.events.iter().any(|e| e.1 == "terminated"));
    assert!(!rows.events.iter().any(|e| e.1 == "claim-delete"));
}

#[test]
fn the_cluster_autoscaler_adds_a_node_where_the_pending_replicas_volume_is() {
    // db's claim is bound to a volume in zone-c; the one zone-c node
    // crashes for good at 60 s, so db's replacement (evicted at 405 s) is
    // pending, and the priority expander prefers zone-a's node group: a
    // volume-blind estimate would add a zone-a node db cannot use. The
    // scheduler's volume plugins in the estimate leave only zone-c's group.
    let text = r#"
name = "ca-volume-zone"
[simulation]
duration = "10m"
[pools.a]
count = 1
zone = "zone-a"
cpu = "4"
memory = "8Gi"
[pools.c]
count = 1
zone = "zone-c"
cpu = "4"
memory = "8Gi"
[pools.grow-a]
count = 0
max = 2
zone = "zone-a"
cpu = "4"
memory = "8Gi"
bootDelay = "60s"
[pools.grow-c]
count = 0
max = 2
zone = "zone-c"
cpu = "4"
memory = "8Gi"
bootDelay = "60s"
[clusterAutoscaler]
kind = "cluster-autoscaler"
expander = "priority"
expanderPriorities = { 50 = ["^grow-a$"], 10 = [".*"] }
[[persistentVolumes]]
name = "pv-c"
capacity = "10Gi"
accessModes = ["ReadWriteOnce"]
nodeAffinity = { required = [{ matchExpressions = [{ key = "topology.kubernetes.io/zone", operator = "In", values = ["zone-c"] }] }] }
[[persistentVolumeClaims]]
name = "data"
storageClassName = ""
storage = "10Gi"
accessModes = ["ReadWriteOnce"]
[services.db]
replicas = 1
requests = { cpu = "2" }
volumes = [{ name = "data", persistentVolumeClaim = { claimName = "data" } }]
serviceTime = { dist = "constant", value = "5ms" }
traffic = { model = "constant", rate = 1 }
[[faults]]
kind = "node-crash"
at = "60s"
target = { node = "c-0" }
"#;
    let (_, rows) = simulate(text, "ca.toml", &[], None, &NoFiles);
    // The scan after the replacement turned pending (405 s; scans every
    // 10 s) adds one zone-c node; it boots in 60 s and db binds there.
    let added: Vec<(f64, &str, &str)> = rows
        .events
        .iter()
        .filter(|e| e.1 == "node-add")
        .map(|e| (e.0, e.2.as_str(), e.3.as_str()))
        .collect();
    assert_eq!(added.len(), 1, "{added:?}");
    assert_eq!((added[0].0, added[0].1), (410.0, "grow-c-0"));
    assert!(added[0].2.starts_with("group=grow-c "), "{added:?}");
    let binds: Vec<&str> = rows
        .events
        .iter()
        .filter(|e| e.1 == "bind" && e.2.starts_with("db-"))
        .map(|e| e.3.as_str())
        .collect();
    assert_eq!(binds, ["node=c-0", "node=grow-c-0"]);
}
