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
