//! Upstream's test tables for the volume plugins, replayed against the
//! core's public API: the same objects, the same PreFilter status (Skip,
//! success, or a rejection with upstream's message and code) and the same
//! Filter status per node. Files and commits, kubernetes/kubernetes
//! `pkg/scheduler/framework/plugins/`: `volumezone/volume_zone_test.go`
//! @ 030880a5, `volumerestrictions/volume_restrictions_test.go` @ bace36fb,
//! VolumeBinding's tables are in `binding_tests.rs`,
//! `nodevolumelimits/csi_test.go` in `limits_tests.rs`.
//!
//! Upstream's codes: UAU is UnschedulableAndUnresolvable (preemption cannot
//! help, [`resolvable`] false), U is Unschedulable.

use super::plugins::{PreStatus, VolumeRestrictions, VolumeZone};
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
pub(super) const Z: &str = "topology.kubernetes.io/zone";
pub(super) const R: &str = "topology.kubernetes.io/region";
const ZONE_CONFLICT: &str = "node(s) had no available volume zone";

pub(super) fn uau(m: &str) -> Option<(String, bool)> {
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

pub(super) fn fail(m: &str) -> PreStatus {
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
