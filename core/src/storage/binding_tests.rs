//! VolumeBinding: upstream's `TestVolumeBinding` table
//! (kubernetes/kubernetes
//! `pkg/scheduler/framework/plugins/volumebinding/volume_binding_test.go`
//! @ 645c553f, the filter part; its score needs a feature gate that is off
//! by default) and the `FindPodVolumes` cases of `binder_test.go` (index id
//! 1195205), replayed with their fixtures.

use super::plugins::{PreStatus, VolumeBinding};
use super::tests::{R, World, Z, affinity, fail, host, pvc, uau};
use super::*;
use crate::model::{NodeStatus, Volume};

const NODE_CONFLICT: &str = "node(s) had volume node affinity conflict";
const BIND_CONFLICT: &str = "node(s) didn't find available persistent volumes to bind";

/// TestVolumeBinding's classes (no provisioner on any).
fn binding_classes() -> Storage {
    let mut s = Storage::default();
    s.add_class(StorageClass::new(
        "immediate-sc",
        "",
        BindingMode::Immediate,
    ));
    s.add_class(StorageClass::new(
        "wait-sc",
        "",
        BindingMode::WaitForFirstConsumer,
    ));
    s.add_class(StorageClass::new(
        "wait-hdd-sc",
        "",
        BindingMode::WaitForFirstConsumer,
    ));
    s
}

fn make_pvc(name: &str, class: &str) -> PersistentVolumeClaim {
    PersistentVolumeClaim::new("default", name, Some(class))
}

fn with_bound_pv(mut c: PersistentVolumeClaim, pv: &str) -> PersistentVolumeClaim {
    c.volume_name = pv.to_string();
    c.bind_completed = true;
    c
}

fn gib(n: u64) -> u64 {
    n << 30
}

#[test]
fn volume_binding_table() {
    let hostname = |n: &str| host(n, &[(crate::model::LABEL_HOSTNAME, n)]);
    // (name, claims, nodes, storage, PreFilter, Filter per node)
    type Row = (
        &'static str,
        Vec<&'static str>,
        Vec<NodeStatus>,
        Storage,
        PreStatus,
        Vec<Option<(String, bool)>>,
    );
    let mut rows: Vec<Row> = Vec::new();
    rows.push((
        "pod has not pvcs",
        vec![],
        vec![hostname("node-a")],
        binding_classes(),
        PreStatus::Skip,
        vec![None],
    ));
    let mut s = binding_classes();
    s.add_claim(with_bound_pv(make_pvc("pvc-a", "wait-sc"), "pv-a"));
    s.add_volume(PersistentVolume::new("pv-a", "wait-sc"));
    rows.push((
        "all bound",
        vec!["pvc-a"],
        vec![hostname("node-a")],
        s,
        PreStatus::Ok,
        vec![None],
    ));
    let mut s = binding_classes();
    s.add_claim(with_bound_pv(make_pvc("pvc-a", "wait-sc"), "pv-a"));
    s.add_claim(with_bound_pv(make_pvc("pvc-b", "wait-sc"), "pv-b"));
    for pv in ["pv-a", "pv-b"] {
        let mut v = PersistentVolume::new(pv, "wait-sc");
        v.phase = VolumePhase::Bound;
        v.node_affinity = affinity(&[(crate::model::LABEL_HOSTNAME, &["node-a"])]);
        s.add_volume(v);
    }
    // PreFilterResult NodeNames = {node-a}: node-b is outside it.
    rows.push((
        "all bound with local volumes",
        vec!["pvc-a", "pvc-b"],
        vec![hostname("node-a"), hostname("node-b")],
        s,
        PreStatus::Ok,
        vec![
            None,
            uau("node(s) didn't satisfy plugin(s) [VolumeBinding]"),
        ],
    ));
    rows.push((
        "PVC does not exist",
        vec!["pvc-a"],
        vec![hostname("node-a")],
        binding_classes(),
        fail("persistentvolumeclaim \"pvc-a\" not found"),
        vec![uau("persistentvolumeclaim \"pvc-a\" not found")],
    ));
    let mut s = binding_classes();
    s.add_claim(with_bound_pv(make_pvc("pvc-a", "wait-sc"), "pv-a"));
    rows.push((
        "Part of PVCs do not exist",
        vec!["pvc-a", "pvc-b"],
        vec![hostname("node-a")],
        s,
        fail("persistentvolumeclaim \"pvc-b\" not found"),
        vec![uau("persistentvolumeclaim \"pvc-b\" not found")],
    ));
    let mut s = binding_classes();
    s.add_claim(make_pvc("pvc-a", "immediate-sc"));
    let immediate = "pod has unbound immediate PersistentVolumeClaims";
    rows.push((
        "immediate claims not bound",
        vec!["pvc-a"],
        vec![hostname("node-a")],
        s,
        fail(immediate),
        vec![uau(immediate)],
    ));
    let mut s = binding_classes();
    s.add_claim(make_pvc("pvc-a", "wait-sc"));
    rows.push((
        "unbound claims no matches",
        vec!["pvc-a"],
        vec![hostname("node-a")],
        s,
        PreStatus::Ok,
        vec![uau(BIND_CONFLICT)],
    ));
    let mut s = binding_classes();
    s.add_claim(with_bound_pv(make_pvc("pvc-a", "wait-sc"), "pv-a"));
    s.add_claim(make_pvc("pvc-b", "wait-sc"));
    let mut v = PersistentVolume::new("pv-a", "wait-sc");
    v.node_affinity = affinity(&[("foo", &["bar"])]);
    s.add_volume(v);
    rows.push((
        "bound and unbound unsatisfied",
        vec!["pvc-a", "pvc-b"],
        vec![host(
            "node-a",
            &[(crate::model::LABEL_HOSTNAME, "node-a"), ("foo", "barbar")],
        )],
        s,
        PreStatus::Ok,
        // Two reasons on one node, upstream's order.
        vec![uau(&format!("{NODE_CONFLICT}, {BIND_CONFLICT}"))],
    ));
    let mut s = binding_classes();
    s.add_claim(with_bound_pv(make_pvc("pvc-a", "wait-sc"), "pv-a"));
    rows.push((
        "pv not found",
        vec!["pvc-a"],
        vec![hostname("node-a")],
        s,
        PreStatus::Ok,
        vec![uau(
            "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)",
        )],
    ));
    let mut s = binding_classes();
    let mut lost = with_bound_pv(make_pvc("pvc-a", "wait-sc"), "pv-a");
    lost.phase = ClaimPhase::Lost;
    s.add_claim(lost);
    let lost_msg =
        "persistentvolumeclaim \"pvc-a\" bound to non-existent persistentvolume \"pv-a\"";
    rows.push((
        "pv not found claim lost",
        vec!["pvc-a"],
        vec![hostname("node-a")],
        s,
        fail(lost_msg),
        vec![uau(lost_msg)],
    ));
    // "local volumes with close capacity are preferred": the filter part.
    let mut s = binding_classes();
    let mut c = make_pvc("pvc-a", "wait-sc");
    c.request = gib(50);
    s.add_claim(c);
    for (pv, cap, n) in [
        ("pv-a-0", 200, "node-a"),
        ("pv-a-1", 200, "node-a"),
        ("pv-b-0", 100, "node-b"),
        ("pv-b-1", 100, "node-b"),
    ] {
        let mut v = PersistentVolume::new(pv, "wait-sc");
        v.capacity = gib(cap);
        v.node_affinity = affinity(&[(crate::model::LABEL_HOSTNAME, &[n])]);
        s.add_volume(v);
    }
    rows.push((
        "local volumes with close capacity are preferred",
        vec!["pvc-a"],
        vec![hostname("node-a"), hostname("node-b"), hostname("node-c")],
        s,
        PreStatus::Ok,
        vec![None, None, uau(BIND_CONFLICT)],
    ));
    // "zonal volumes with close capacity are preferred": the filter part.
    let mut s = binding_classes();
    let mut c = make_pvc("pvc-a", "wait-sc");
    c.request = gib(50);
    s.add_claim(c);
    for (pv, cap, r, z) in [
        ("pv-a-0", 200, "region-a", "zone-a"),
        ("pv-a-1", 200, "region-a", "zone-a"),
        ("pv-b-0", 100, "region-b", "zone-b"),
        ("pv-b-1", 100, "region-b", "zone-b"),
    ] {
        let mut v = PersistentVolume::new(pv, "wait-sc");
        v.capacity = gib(cap);
        v.node_affinity = affinity(&[(R, &[r]), (Z, &[z])]);
        s.add_volume(v);
    }
    let zonal =
        |n: &str, r: &str, z: &str| host(n, &[(crate::model::LABEL_HOSTNAME, n), (R, r), (Z, z)]);
    rows.push((
        "zonal volumes with close capacity are preferred",
        vec!["pvc-a"],
        vec![
            zonal("zone-a-node-a", "region-a", "zone-a"),
            zonal("zone-a-node-b", "region-a", "zone-a"),
            zonal("zone-b-node-a", "region-b", "zone-b"),
            zonal("zone-b-node-b", "region-b", "zone-b"),
            zonal("zone-c-node-a", "region-c", "zone-c"),
            zonal("zone-c-node-b", "region-c", "zone-c"),
        ],
        s,
        PreStatus::Ok,
        vec![
            None,
            None,
            None,
            None,
            uau(BIND_CONFLICT),
            uau(BIND_CONFLICT),
        ],
    ));
    for (name, claims, nodes, storage, want_pre, want) in rows {
        let w = World::new(nodes, storage);
        let volumes: Vec<Volume> = claims.iter().map(|c| pvc(c)).collect();
        let mut f = VolumeBinding::default();
        let got = w.run(&mut f, "default", &volumes);
        assert_eq!(f.pre(), want_pre, "{name}: PreFilter");
        assert_eq!(got, want, "{name}: Filter");
    }
}

/// binder_test.go's fixtures: class `waitClass` (no provisioner),
/// `waitClassWithProvisioner` (allowed on nodeKey node1), `topoMismatchClass`,
/// node1 `{nodeKey: node1}`, volumes pinned by `nodeKey` to a node.
fn binder_fixture() -> (Storage, NodeStatus) {
    let mut s = Storage::default();
    s.add_class(StorageClass::new(
        "waitClass",
        NO_PROVISIONER,
        BindingMode::WaitForFirstConsumer,
    ));
    let mut with = StorageClass::new(
        "waitClassWithProvisioner",
        "test-provisioner",
        BindingMode::WaitForFirstConsumer,
    );
    with.allowed_topologies = affinity(&[("nodeKey", &["node1", "reference-value"])]).unwrap();
    s.add_class(with);
    let mut mismatch = StorageClass::new(
        "topoMismatchClass",
        "test-provisioner",
        BindingMode::WaitForFirstConsumer,
    );
    mismatch.allowed_topologies = affinity(&[("nodeKey", &["reference-value"])]).unwrap();
    s.add_class(mismatch);
    (s, host("node1", &[("nodeKey", "node1")]))
}

fn test_pv(s: &mut Storage, name: &str, node: &str, size: u64, class: &str) -> VolumeId {
    let mut v = PersistentVolume::new(name, class);
    v.capacity = size;
    v.node_affinity = affinity(&[("nodeKey", &[node])]);
    s.add_volume(v)
}

fn test_pvc(s: &mut Storage, name: &str, size: u64, class: &str) -> ClaimId {
    let mut c = PersistentVolumeClaim::new("testns", name, Some(class));
    c.request = size;
    s.add_claim(c)
}

#[test]
fn find_pod_volumes_matches_the_smallest_volume_on_the_node_as_the_binder_tests() {
    const G: u64 = 1_000_000_000;
    // unbound-pvc,pv-same-node: pv-node2 elsewhere; pv-node1a (5G) beats pv-node1b (10G).
    let (mut s, n) = binder_fixture();
    test_pv(&mut s, "pv-node2", "node2", G, "waitClass");
    let a = test_pv(&mut s, "pv-node1a", "node1", 5 * G, "waitClass");
    let b = test_pv(&mut s, "pv-node1b", "node1", 10 * G, "waitClass");
    let c1 = test_pvc(&mut s, "unbound-pvc", G, "waitClass");
    let c2 = test_pvc(&mut s, "unbound-pvc2", 5 * G, "waitClass");
    let labels = &n.spec.labels;
    assert_eq!(s.match_claims(&[c1], labels), (vec![(c1, a)], vec![]));
    // two-unbound-pvcs, and the same given in reverse (sorted by size first).
    assert_eq!(s.match_claims(&[c1, c2], labels).0, vec![(c1, a), (c2, b)]);
    assert_eq!(s.match_claims(&[c2, c1], labels).0, vec![(c1, a), (c2, b)]);
    // unbound-pvc,pv-different-node: only pv-node2 → BindConflict.
    let (mut s, n) = binder_fixture();
    test_pv(&mut s, "pv-node2", "node2", G, "waitClass");
    test_pvc(&mut s, "unbound-pvc", G, "waitClass");
    let w = World::new(vec![n], s);
    let mut f = VolumeBinding::default();
    assert_eq!(
        w.run(&mut f, "testns", &[pvc("unbound-pvc")]),
        vec![uau(BIND_CONFLICT)]
    );
    // two-unbound-pvcs,partial-match: unbound-pvc2 left to a class without a provisioner.
    let (mut s, n) = binder_fixture();
    let a = test_pv(&mut s, "pv-node1a", "node1", 5 * G, "waitClass");
    let c1 = test_pvc(&mut s, "unbound-pvc", G, "waitClass");
    let c2 = test_pvc(&mut s, "unbound-pvc2", 5 * G, "waitClass");
    assert_eq!(
        s.match_claims(&[c1, c2], &n.spec.labels),
        (vec![(c1, a)], vec![c2])
    );
    let w = World::new(vec![n], s);
    let got = w.run(&mut f, "testns", &[pvc("unbound-pvc"), pvc("unbound-pvc2")]);
    assert_eq!(got, vec![uau(BIND_CONFLICT)]);
}

#[test]
fn find_pod_volumes_with_provisioning_as_the_binder_tests() {
    const GI: u64 = 1 << 30;
    let one = |class: &str| {
        let (mut s, n) = binder_fixture();
        test_pvc(&mut s, "claim", GI, class);
        let w = World::new(vec![n], s);
        let mut f = VolumeBinding::default();
        w.run(&mut f, "testns", &[pvc("claim")])
    };
    // one-provisioned; invalid-provisioner; volume-topology-unsatisfied.
    assert_eq!(one("waitClassWithProvisioner"), vec![None]);
    assert_eq!(one("waitClass"), vec![uau(BIND_CONFLICT)]);
    assert_eq!(one("topoMismatchClass"), vec![uau(BIND_CONFLICT)]);
    // one-binding,one-selected-node: a claim pinned to node1 is provisioned
    // there; pinned elsewhere it is a bind conflict on node1.
    for (selected, want) in [("node1", None), ("node2", uau(BIND_CONFLICT))] {
        let (mut s, n) = binder_fixture();
        let c = test_pvc(&mut s, "provisioned-pvc", GI, "waitClassWithProvisioner");
        s.claims[c.0 as usize].selected_node = Some(selected.to_string());
        let w = World::new(vec![n], s);
        let mut f = VolumeBinding::default();
        assert_eq!(
            w.run(&mut f, "testns", &[pvc("provisioned-pvc")]),
            vec![want]
        );
    }
    // two-unbound-pvcs,one-matched,one-provisioned: PreBind binds one and
    // provisions the other, with the node's topology at the class's reach.
    let (mut s, n) = binder_fixture();
    let a = test_pv(&mut s, "pv-node1a", "node1", 5 * 1_000_000_000, "waitClass");
    let c1 = test_pvc(&mut s, "unbound-pvc", 1_000_000_000, "waitClass");
    let c2 = test_pvc(&mut s, "provisioned-pvc", GI, "waitClassWithProvisioner");
    let volumes = [pvc("unbound-pvc"), pvc("provisioned-pvc")];
    let mut labels = n.spec.labels.clone();
    labels.insert(Z.to_string(), "z1".to_string());
    let claims = s.resolve("testns", &volumes);
    let pod = PodStorage {
        namespace: "testns",
        volumes: &volumes,
        claims: &claims,
    };
    let changes = s.bind_pod(&pod, &labels);
    let v = VolumeId(1);
    assert_eq!(
        changes,
        vec![
            StorageChange::Bound {
                claim: c1,
                volume: a
            },
            StorageChange::Provisioned {
                claim: c2,
                volume: v
            }
        ]
    );
    let pv = s.volume(v);
    assert_eq!(
        (pv.name.as_str(), pv.capacity),
        ("pvc-testns-provisioned-pvc", GI)
    );
    assert_eq!(pv.node_affinity, affinity(&[(Z, &["z1"])]));
    assert!(s.claim(c1).fully_bound() && s.claim(c2).fully_bound());
}
