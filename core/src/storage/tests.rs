//! Upstream's test tables for the volume plugins, replayed against the
//! core's public API: the same objects, the same PreFilter status (Skip,
//! success, or a rejection with upstream's message and code) and the same
//! Filter status per node. Files and commits, kubernetes/kubernetes
//! `pkg/scheduler/framework/plugins/`: `volumezone/volume_zone_test.go`
//! @ 030880a5, `volumerestrictions/volume_restrictions_test.go` @ bace36fb,
//! `volumebinding/volume_binding_test.go` @ 645c553f (TestVolumeBinding),
//! `volumebinding/binder_test.go` (the FindPodVolumes cases, index id
//! 1195205); `nodevolumelimits/csi_test.go` is in `limits_tests.rs`.
//!
//! Upstream's codes: UAU is UnschedulableAndUnresolvable (preemption cannot
//! help, [`resolvable`] false), U is Unschedulable.

use super::plugins::{PreStatus, VolumeBinding, VolumeRestrictions, VolumeZone};
use super::*;
use crate::fit::FilterReason;
use crate::model::{NodeStatus, SelectorOp, SelectorRequirement, Volume, VolumeSource};
use crate::placement::{Batch, ClusterView, Request};
use crate::sched::Filter;
use crate::sched::preemption::resolvable;
use crate::testing::node;

/// A cluster for one table row.
pub(super) struct World {
    pub nodes: Vec<NodeStatus>,
    pub allocs: Vec<crate::placement::NodeAlloc>,
    pub batch: Batch,
    pub changes: crate::model::ChangeLog,
    pub storage: Storage,
}

impl World {
    pub fn new(nodes: Vec<NodeStatus>, storage: Storage) -> World {
        World {
            allocs: nodes.iter().map(crate::placement::NodeAlloc::of).collect(),
            nodes,
            batch: Batch::new(),
            changes: Default::default(),
            storage,
        }
    }

    pub fn view(&self) -> ClusterView<'_> {
        ClusterView {
            nodes: &self.nodes,
            allocs: &self.allocs,
            batch: &self.batch,
            changes: &self.changes,
            storage: &self.storage,
        }
    }

    /// Puts a pod with `volumes` in `namespace` on node `i`.
    pub fn add_pod(&mut self, i: usize, namespace: &str, volumes: &[Volume]) {
        let claims = self.storage.resolve(namespace, volumes);
        let pod = PodStorage {
            namespace,
            volumes,
            claims: &claims,
        };
        let csi = self.nodes[i].spec.csi.is_some();
        self.storage.add_pod(NodeId(i as u32), &pod, csi);
    }

    /// Runs `f`'s PreFilter for a pod with `volumes`, then its Filter on
    /// every node: (the filter's verdict per node as `(message,
    /// unresolvable)`).
    pub fn run(
        &self,
        f: &mut dyn Filter,
        namespace: &str,
        volumes: &[Volume],
    ) -> Vec<Option<(String, bool)>> {
        let claims = self.storage.resolve(namespace, volumes);
        let request = Request {
            storage: PodStorage {
                namespace,
                volumes,
                claims: &claims,
            },
            ..Request::plain(Default::default())
        };
        let view = self.view();
        f.prepare(&request, &view);
        (0..self.nodes.len())
            .map(|i| {
                f.filter(&request, &view, i)
                    .err()
                    .map(|r| (r.to_string(), !resolvable(&r)))
            })
            .collect()
    }
}

/// A node `name` with exactly `labels`.
pub(super) fn host(name: &str, labels: &[(&str, &str)]) -> NodeStatus {
    let mut s = node(name).spec();
    s.labels = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    NodeStatus::new(s)
}

/// A `persistentVolumeClaim` volume of `claim`.
pub(super) fn pvc(claim: &str) -> Volume {
    Volume {
        name: format!("vol-{claim}"),
        source: VolumeSource::PersistentVolumeClaim {
            claim: claim.to_string(),
            read_only: false,
        },
    }
}

/// An inline disk volume.
pub(super) fn disk(d: InlineDisk) -> Volume {
    Volume {
        name: "disk".to_string(),
        source: VolumeSource::Disk(d),
    }
}

/// A volume no plugin looks at (upstream's configMap, secret, or a volume
/// without a source).
pub(super) fn plain() -> Volume {
    Volume {
        name: "plain".to_string(),
        source: VolumeSource::EmptyDir { memory: false },
    }
}

/// A claim `default/name` bound (completed) to `volume`.
fn bound(name: &str, volume: &str) -> PersistentVolumeClaim {
    let mut c = PersistentVolumeClaim::new("default", name, Some(""));
    c.volume_name = volume.to_string();
    c.bind_completed = true;
    c
}

/// A volume with `labels`.
fn labelled(name: &str, labels: &[(&str, &str)]) -> PersistentVolume {
    let mut v = PersistentVolume::new(name, "");
    v.labels = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    v
}

/// `key In values` for each pair, in one term.
pub(super) fn affinity(pairs: &[(&str, &[&str])]) -> Option<Vec<SelectorTerm>> {
    Some(vec![SelectorTerm {
        requirements: pairs
            .iter()
            .map(|(k, vs)| SelectorRequirement {
                key: k.to_string(),
                op: SelectorOp::In,
                values: vs.iter().map(|v| v.to_string()).collect(),
            })
            .collect(),
    }])
}

const BZ: &str = "failure-domain.beta.kubernetes.io/zone";
const BR: &str = "failure-domain.beta.kubernetes.io/region";
const Z: &str = "topology.kubernetes.io/zone";
const R: &str = "topology.kubernetes.io/region";
const ZONE_CONFLICT: &str = "node(s) had no available volume zone";

fn uau(m: &str) -> Option<(String, bool)> {
    Some((m.to_string(), true))
}

fn u(m: &str) -> Option<(String, bool)> {
    Some((m.to_string(), false))
}

/// One VolumeZone row: claim (or none), node labels, PreFilter, Filter.
type ZoneRow<'a> = (
    &'a str,
    Option<&'a str>,
    &'a [(&'a str, &'a str)],
    PreStatus,
    Option<(String, bool)>,
);

fn replay_zone(storage: &Storage, rows: &[ZoneRow<'_>]) {
    for (name, claim, labels, want_pre, want) in rows {
        let w = World::new(vec![host("host1", labels)], storage.clone());
        let volumes: Vec<Volume> = claim.iter().map(|c| pvc(c)).collect();
        let mut f = VolumeZone::default();
        let got = w.run(&mut f, "default", &volumes);
        assert_eq!(&f.pre(), want_pre, "{name}: PreFilter");
        assert_eq!(&got[0], want, "{name}: Filter");
    }
}

fn fail(m: &str) -> PreStatus {
    PreStatus::Fail(FilterReason::PreFilter {
        message: m.to_string(),
        resolvable: false,
    })
}

#[test]
fn volume_zone_single_zone_table() {
    let mut s = Storage::default();
    s.add_volume(labelled("Vol_1", &[(BZ, "us-west1-a")]));
    s.add_volume(labelled(
        "Vol_2",
        &[(BR, "us-west1"), ("uselessLabel", "none")],
    ));
    s.add_volume(labelled("Vol_3", &[(BR, "us-west1")]));
    s.add_volume(labelled("Vol_Stable_1", &[(Z, "us-west1-a")]));
    s.add_volume(labelled(
        "Vol_Stable_2",
        &[(R, "us-west1"), ("uselessLabel", "none")],
    ));
    s.add_volume(labelled(
        "Vol_Stable_3",
        &[(Z, "us-west1-a"), (R, "us-west1-a")],
    ));
    for (c, v) in [
        ("PVC_1", "Vol_1"),
        ("PVC_2", "Vol_2"),
        ("PVC_3", "Vol_3"),
        ("PVC_4", "Vol_not_exist"),
        ("PVC_Stable_1", "Vol_Stable_1"),
        ("PVC_Stable_2", "Vol_Stable_2"),
        ("PVC_Stable_3", "Vol_Stable_3"),
    ] {
        s.add_claim(bound(c, v));
    }
    let ok = PreStatus::Ok;
    let c = || uau(ZONE_CONFLICT);
    let useless = ("uselessLabel", "none");
    replay_zone(
        &s,
        &[
            (
                "pod without volume",
                None,
                &[(BZ, "us-west1-a")],
                PreStatus::Skip,
                None,
            ),
            ("node without labels", Some("PVC_1"), &[], ok.clone(), None),
            (
                "beta zone label matched",
                Some("PVC_1"),
                &[(BZ, "us-west1-a"), useless],
                ok.clone(),
                None,
            ),
            (
                "beta region label matched",
                Some("PVC_2"),
                &[(BR, "us-west1"), useless],
                ok.clone(),
                None,
            ),
            (
                "beta region label doesn't match",
                Some("PVC_2"),
                &[(BR, "no_us-west1"), useless],
                ok.clone(),
                c(),
            ),
            (
                "beta zone label doesn't match",
                Some("PVC_1"),
                &[(BZ, "no_us-west1-a"), useless],
                ok.clone(),
                c(),
            ),
            (
                "zone label matched",
                Some("PVC_Stable_1"),
                &[(Z, "us-west1-a"), useless],
                ok.clone(),
                None,
            ),
            (
                "region label matched",
                Some("PVC_Stable_2"),
                &[(R, "us-west1"), useless],
                ok.clone(),
                None,
            ),
            (
                "region label doesn't match",
                Some("PVC_Stable_2"),
                &[(R, "no_us-west1"), useless],
                ok.clone(),
                c(),
            ),
            (
                "zone label doesn't match",
                Some("PVC_Stable_1"),
                &[(Z, "no_us-west1-a"), useless],
                ok.clone(),
                c(),
            ),
            (
                "pv with zone and region, node with only zone",
                Some("PVC_Stable_3"),
                &[(Z, "us-west1-a")],
                ok.clone(),
                c(),
            ),
            (
                "pv with zone,node with beta zone",
                Some("PVC_Stable_1"),
                &[(BZ, "us-west1-a")],
                ok.clone(),
                c(),
            ),
            (
                "pv with beta label,node with ga label, matched",
                Some("PVC_1"),
                &[(Z, "us-west1-a")],
                ok.clone(),
                None,
            ),
            (
                "pv with beta label,node with ga label, don't match",
                Some("PVC_1"),
                &[(Z, "us-west1-b")],
                ok,
                c(),
            ),
        ],
    );
}

#[test]
fn volume_zone_multi_zone_table() {
    let mut s = Storage::default();
    s.add_volume(labelled("Vol_1", &[(BZ, "us-west1-a")]));
    s.add_volume(labelled(
        "Vol_2",
        &[(BZ, "us-west1-b"), ("uselessLabel", "none")],
    ));
    s.add_volume(labelled("Vol_3", &[(BZ, "us-west1-c__us-west1-a")]));
    s.add_volume(labelled("Vol_Stable_1", &[(Z, "us-west1-a")]));
    s.add_volume(labelled("Vol_Stable_2", &[(Z, "us-west1-c__us-west1-a")]));
    for (c, v) in [
        ("PVC_1", "Vol_1"),
        ("PVC_2", "Vol_2"),
        ("PVC_3", "Vol_3"),
        ("PVC_4", "Vol_not_exist"),
        ("PVC_Stable_1", "Vol_Stable_1"),
        ("PVC_Stable_2", "Vol_Stable_2"),
    ] {
        s.add_claim(bound(c, v));
    }
    let ok = PreStatus::Ok;
    let useless = ("uselessLabel", "none");
    replay_zone(
        &s,
        &[
            ("node without labels", Some("PVC_3"), &[], ok.clone(), None),
            (
                "beta zone label matched",
                Some("PVC_3"),
                &[(BZ, "us-west1-a"), useless],
                ok.clone(),
                None,
            ),
            (
                "beta zone label doesn't match",
                Some("PVC_1"),
                &[(BZ, "us-west1-b"), useless],
                ok.clone(),
                uau(ZONE_CONFLICT),
            ),
            (
                "zone label matched",
                Some("PVC_Stable_2"),
                &[(Z, "us-west1-a"), useless],
                ok.clone(),
                None,
            ),
            (
                "zone label doesn't match",
                Some("PVC_Stable_1"),
                &[(Z, "us-west1-b"), useless],
                ok,
                uau(ZONE_CONFLICT),
            ),
        ],
    );
}

#[test]
fn volume_zone_with_binding_table() {
    let mut s = Storage::default();
    let mut immediate = StorageClass::new("Class_Immediate", "", BindingMode::Immediate);
    immediate.binding = None; // upstream's table leaves the mode unset
    s.add_class(immediate);
    s.add_class(StorageClass::new(
        "Class_Wait",
        "",
        BindingMode::WaitForFirstConsumer,
    ));
    s.add_volume(labelled("Vol_1", &[(BZ, "us-west1-a")]));
    s.add_claim(bound("PVC_1", "Vol_1"));
    s.add_claim(PersistentVolumeClaim::new(
        "default",
        "PVC_NoSC",
        Some("Class_0"),
    ));
    s.add_claim(PersistentVolumeClaim::new("default", "PVC_EmptySC", None));
    s.add_claim(PersistentVolumeClaim::new(
        "default",
        "PVC_WaitSC",
        Some("Class_Wait"),
    ));
    s.add_claim(PersistentVolumeClaim::new(
        "default",
        "PVC_ImmediateSC",
        Some("Class_Immediate"),
    ));
    let labels: &[(&str, &str)] = &[(BZ, "us-west1-a"), ("uselessLabel", "none")];
    let no_name = "PersistentVolumeClaim had no pv name and storageClass name";
    let no_class = "storageclasses.storage.k8s.io \"Class_0\" not found";
    let no_mode = "VolumeBindingMode not set for StorageClass \"Class_Immediate\"";
    replay_zone(
        &s,
        &[
            (
                "label zone failure domain matched",
                Some("PVC_1"),
                labels,
                PreStatus::Ok,
                None,
            ),
            (
                "unbound volume empty storage class",
                Some("PVC_EmptySC"),
                labels,
                fail(no_name),
                uau(no_name),
            ),
            (
                "unbound volume no storage class",
                Some("PVC_NoSC"),
                labels,
                fail(no_class),
                uau(no_class),
            ),
            (
                "unbound volume immediate binding mode",
                Some("PVC_ImmediateSC"),
                labels,
                fail(no_mode),
                uau(no_mode),
            ),
            (
                "unbound volume wait binding mode",
                Some("PVC_WaitSC"),
                labels,
                PreStatus::Skip,
                None,
            ),
        ],
    );
}

/// One disk-conflict table (TestGCEDiskConflicts and its EBS, RBD and
/// iSCSI twins): nothing; an empty pod beside a node pod with the disk;
/// the same disk; a different disk.
fn replay_disk_table(kind: &str, one: InlineDisk, other: InlineDisk) {
    let conflict = u("node(s) had no available disk");
    type Row = (
        &'static str,
        Vec<Volume>,
        Vec<Volume>,
        PreStatus,
        Option<(String, bool)>,
    );
    let rows: [Row; 4] = [
        ("nothing", vec![], vec![], PreStatus::Skip, None),
        (
            "one state",
            vec![],
            vec![disk(one.clone())],
            PreStatus::Skip,
            None,
        ),
        (
            "same state",
            vec![disk(one.clone())],
            vec![disk(one.clone())],
            PreStatus::Ok,
            conflict,
        ),
        (
            "different state",
            vec![disk(other)],
            vec![disk(one)],
            PreStatus::Ok,
            None,
        ),
    ];
    for (name, pod, on_node, want_pre, want) in rows {
        let mut w = World::new(vec![host("node-1", &[])], Storage::default());
        if !on_node.is_empty() {
            w.add_pod(0, "", &on_node);
        }
        let mut f = VolumeRestrictions::default();
        let got = w.run(&mut f, "", &pod);
        assert_eq!(f.pre(), want_pre, "{kind} {name}: PreFilter");
        if want_pre != PreStatus::Skip {
            assert_eq!(got[0], want, "{kind} {name}: Filter");
        }
    }
}

#[test]
fn volume_restrictions_disk_conflict_tables() {
    let gce = |n: &str| InlineDisk::GcePd {
        pd_name: n.to_string(),
        read_only: false,
    };
    replay_disk_table("GCE", gce("foo"), gce("bar"));
    let ebs = |n: &str| InlineDisk::AwsEbs {
        volume_id: n.to_string(),
        read_only: false,
    };
    replay_disk_table("AWS", ebs("foo"), ebs("bar"));
    let rbd = |m: [&str; 2]| InlineDisk::Rbd {
        monitors: m.iter().map(|s| s.to_string()).collect(),
        pool: "foo".to_string(),
        image: "bar".to_string(),
        read_only: false,
    };
    replay_disk_table("RBD", rbd(["a", "b"]), rbd(["c", "d"]));
    let iscsi = |iqn: &str| InlineDisk::Iscsi {
        iqn: iqn.to_string(),
        read_only: false,
    };
    replay_disk_table(
        "ISCSI",
        iscsi("iqn.2016-12.server:storage.target01"),
        iscsi("iqn.2017-12.server:storage.target01"),
    );
    // "pod with a volume that doesn't have restrictions": Skip.
    let w = World::new(vec![host("node-1", &[])], Storage::default());
    let mut f = VolumeRestrictions::default();
    w.run(&mut f, "", &[plain()]);
    assert_eq!(f.pre(), PreStatus::Skip);
    // Both read only: no conflict (GCE PD, iSCSI, RBD); EBS conflicts anyway.
    let ro = InlineDisk::GcePd {
        pd_name: "foo".to_string(),
        read_only: true,
    };
    assert!(!ro.conflicts(&ro));
    let ebs_ro = InlineDisk::AwsEbs {
        volume_id: "foo".to_string(),
        read_only: true,
    };
    assert!(ebs_ro.conflicts(&ebs_ro));
}

#[test]
fn volume_restrictions_access_mode_conflicts_table() {
    let rwop = |name: &str| {
        let mut c = PersistentVolumeClaim::new("default", name, None);
        c.access_modes = AccessModes::RWOP;
        c
    };
    let mut rwx = PersistentVolumeClaim::new("default", "claim-with-rwx", None);
    rwx.access_modes = AccessModes::RWX;
    let conflict = "node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode";
    let one = [pvc("claim-with-rwop-1")];
    let two = [pvc("claim-with-rwop-1"), pvc("claim-with-rwop-2")];
    let rwx_pod = [pvc("claim-with-rwx")];
    type Row<'a> = (
        &'a str,
        &'a [Volume],
        Vec<&'a [Volume]>,
        bool,
        PreStatus,
        Option<(String, bool)>,
    );
    let rows: Vec<Row<'_>> = vec![
        ("nothing", &[], vec![], false, PreStatus::Skip, None),
        (
            "failed to get PVC",
            &one,
            vec![],
            false,
            fail("persistentvolumeclaim \"claim-with-rwop-1\" not found"),
            None,
        ),
        (
            "no access mode conflict",
            &one,
            vec![&rwx_pod],
            true,
            PreStatus::Skip,
            None,
        ),
        (
            "access mode conflict, unschedulable",
            &one,
            vec![&one, &rwx_pod],
            true,
            PreStatus::Ok,
            u(conflict),
        ),
        (
            "two conflicts, unschedulable",
            &two,
            vec![&two, &rwx_pod],
            true,
            PreStatus::Ok,
            u(conflict),
        ),
    ];
    for (name, pod, existing, claims, want_pre, want) in rows {
        let mut s = Storage::default();
        if claims {
            s.add_claim(rwop("claim-with-rwop-1"));
            s.add_claim(rwop("claim-with-rwop-2"));
            s.add_claim(rwx.clone());
        }
        let mut w = World::new(vec![host("node-1", &[])], s);
        for p in existing {
            w.add_pod(0, "default", p);
        }
        let mut f = VolumeRestrictions::default();
        let got = w.run(&mut f, "default", pod);
        assert_eq!(f.pre(), want_pre, "{name}: PreFilter");
        if want_pre == PreStatus::Ok {
            assert_eq!(got[0], want, "{name}: Filter");
        }
    }
}

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
