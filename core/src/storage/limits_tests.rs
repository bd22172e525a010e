//! NodeVolumeLimits: upstream's `TestCSILimits` table
//! (kubernetes/kubernetes
//! `pkg/scheduler/framework/plugins/nodevolumelimits/csi_test.go`, the
//! v1.33 version with VolumeAttachment counting, index id 46510266),
//! replayed row by row with its fixtures. The rows about generic ephemeral
//! volumes (22–29, 32) are left out: Orkestra does not model ephemeral
//! volumes. Upstream's configMap and secret volumes are volumes no volume
//! plugin counts (here an `emptyDir`).

use super::plugins::{NodeVolumeLimits, PreStatus};
use super::tests::{World, disk, host, plain, pvc};
use super::*;
use crate::model::Volume;

const EBS: &str = "ebs.csi.aws.com";
const GCE: &str = "pd.csi.storage.gke.io";
const AWS_IT: &str = "kubernetes.io/aws-ebs";
const HP: &str = "kubernetes.io/hostpath";

/// Where the node's limits come from.
#[derive(Clone, Copy)]
enum Source {
    /// A CSINode whose drivers report `maxVols`.
    CsiNode,
    /// A CSINode whose drivers report no limit.
    NoLimit,
    /// No CSINode.
    Absent,
}

/// The fixture of one row: per driver D four bound claims and volumes
/// `csi-D-j`, claims `csi-4` (class csi-sc, unbound), `csi-5` (no class),
/// `csi-6` (class csi-sc, bound to a missing volume), class `csi-sc`
/// provisioned by the first driver, and `va` VolumeAttachments per driver.
fn fixture(drivers: &[&str], max: u32, source: Source, va: u32) -> World {
    let mut s = Storage::default();
    for d in drivers {
        for j in 0..4 {
            let name = format!("csi-{d}-{j}");
            let mut v = PersistentVolume::new(&name, "");
            v.backend = match *d {
                AWS_IT => VolumeBackend::InTree(InlineDisk::AwsEbs {
                    volume_id: name.clone(),
                    read_only: false,
                }),
                HP => VolumeBackend::Other,
                _ => VolumeBackend::Csi {
                    driver: d.to_string(),
                    handle: name.clone(),
                },
            };
            s.add_volume(v);
            let mut c = PersistentVolumeClaim::new("", &name, None);
            c.volume_name = name.clone();
            s.add_claim(c);
        }
    }
    s.add_claim(PersistentVolumeClaim::new("", "csi-4", Some("csi-sc")));
    s.add_claim(PersistentVolumeClaim::new("", "csi-5", None));
    let mut missing = PersistentVolumeClaim::new("", "csi-6", Some("csi-sc"));
    missing.volume_name = "missing-in-action".to_string();
    s.add_claim(missing);
    s.add_class(StorageClass::new(
        "csi-sc",
        drivers[0],
        BindingMode::Immediate,
    ));
    let mut n = host("node-for-max-pd-test-1", &[]);
    n.spec_mut().csi = match source {
        Source::CsiNode => Some(CsiNode {
            drivers: drivers.iter().map(|d| (d.to_string(), Some(max))).collect(),
        }),
        Source::NoLimit => Some(CsiNode {
            drivers: drivers.iter().map(|d| (d.to_string(), None)).collect(),
        }),
        Source::Absent => None,
    };
    for d in drivers {
        for j in 0..va {
            let v = s
                .volume_named(&format!("csi-{d}-{j}"))
                .expect("fixture volume");
            s.attach(NodeId(0), v);
        }
    }
    World::new(vec![n], s)
}

fn claims(names: &[&str]) -> Vec<Volume> {
    names.iter().map(|n| pvc(n)).collect()
}

fn inline_ebs(id: &str) -> Volume {
    disk(InlineDisk::AwsEbs {
        volume_id: id.to_string(),
        read_only: false,
    })
}

#[test]
fn csi_limits_table() {
    let ebs = |j: u32| format!("csi-{EBS}-{j}");
    let gce = |j: u32| format!("csi-{GCE}-{j}");
    let it = |j: u32| format!("csi-{AWS_IT}-{j}");
    let running = claims(&[&ebs(3)]);
    let pending = claims(&["csi-4"]);
    let missing_pv = claims(&["csi-6"]);
    let no_sc = claims(&["csi-5"]);
    let gce_two = claims(&[&gce(1), &gce(2)]);
    let it_one = claims(&[&it(0)]);
    let it_two = claims(&[&it(1), &it(2)]);
    let ebs_one = claims(&[&ebs(0)]);
    let ebs_two = claims(&[&ebs(1), &ebs(2)]);
    let hp_one = claims(&[&format!("csi-{HP}-0")]);
    let inline = vec![inline_ebs("aws-inline1")];
    let inline_same_id = vec![inline_ebs(&ebs(1))];
    let only_cm_secret = vec![plain(), plain()];
    let pvc_cm_secret = vec![plain(), plain(), pvc(&ebs(0))];
    let inline_cm_secret = vec![plain(), plain(), inline_ebs("aws-inline1")];
    let over = Some(("node(s) exceed max volume count".to_string(), false));
    use Source::{Absent, CsiNode, NoLimit};
    type Row<'a> = (
        u32,
        &'a str,
        &'a [Volume],
        Vec<&'a [Volume]>,
        u32,
        &'a [&'a str],
        Source,
        u32,
        PreStatus,
        Option<(String, bool)>,
    );
    let ok = PreStatus::Ok;
    let rows: Vec<Row<'_>> = vec![
        (
            1,
            "should count VolumeAttachments towards volume limit when no pods exist",
            &ebs_one,
            vec![],
            2,
            &[EBS],
            CsiNode,
            2,
            ok.clone(),
            over.clone(),
        ),
        (
            2,
            "should schedule pod when VolumeAttachments count does not exceed limit",
            &ebs_one,
            vec![],
            2,
            &[EBS],
            CsiNode,
            1,
            ok.clone(),
            None,
        ),
        (
            3,
            "fits when node volume limit >= new pods CSI volume",
            &ebs_one,
            vec![&running, &ebs_two],
            4,
            &[EBS],
            CsiNode,
            0,
            ok.clone(),
            None,
        ),
        (
            4,
            "doesn't when node volume limit <= pods CSI volume",
            &ebs_one,
            vec![&running, &ebs_two],
            2,
            &[EBS],
            CsiNode,
            0,
            ok.clone(),
            over.clone(),
        ),
        (
            5,
            "should when driver does not support volume limits",
            &ebs_one,
            vec![&running, &ebs_two],
            2,
            &[EBS],
            NoLimit,
            0,
            ok.clone(),
            None,
        ),
        (
            6,
            "count pending PVCs towards volume limit <= pods CSI volume",
            &ebs_one,
            vec![&pending, &ebs_two],
            2,
            &[EBS],
            CsiNode,
            0,
            ok.clone(),
            over.clone(),
        ),
        (
            7,
            "count multiple pending pvcs towards volume limit >= pods CSI volume",
            &ebs_one,
            vec![&pending, &pending, &ebs_two],
            4,
            &[EBS],
            CsiNode,
            0,
            ok.clone(),
            None,
        ),
        (
            8,
            "should count PVCs with invalid PV name but valid SC",
            &ebs_one,
            vec![&missing_pv, &ebs_two],
            2,
            &[EBS],
            CsiNode,
            0,
            ok.clone(),
            over.clone(),
        ),
        (
            9,
            "don't count pvcs with missing SC towards volume limit",
            &ebs_one,
            vec![&running, &no_sc],
            2,
            &[EBS],
            CsiNode,
            0,
            ok.clone(),
            None,
        ),
        (
            10,
            "count pvcs with the same type towards volume limit",
            &ebs_one,
            vec![&gce_two, &ebs_two],
            2,
            &[EBS, GCE],
            CsiNode,
            0,
            ok.clone(),
            over.clone(),
        ),
        (
            11,
            "don't count pvcs with different type towards volume limit",
            &gce_two,
            vec![&ebs_two, &running],
            2,
            &[EBS, GCE],
            CsiNode,
            0,
            ok.clone(),
            None,
        ),
        (
            12,
            "should count in-tree volumes if migration is enabled",
            &it_one,
            vec![&it_two],
            2,
            &[AWS_IT, EBS],
            CsiNode,
            0,
            ok.clone(),
            over.clone(),
        ),
        (
            13,
            "nil csi node",
            &inline,
            vec![&it_two],
            0,
            &[AWS_IT, EBS],
            Absent,
            0,
            ok.clone(),
            None,
        ),
        (
            14,
            "should count unbound in-tree volumes if migration is enabled",
            &pending,
            vec![&it_two],
            2,
            &[AWS_IT, EBS],
            CsiNode,
            0,
            ok.clone(),
            over.clone(),
        ),
        (
            15,
            "should not limit pod if volume used does not report limits",
            &it_one,
            vec![&it_two],
            2,
            &[AWS_IT, EBS],
            NoLimit,
            0,
            ok.clone(),
            None,
        ),
        (
            16,
            "should not count non-migratable in-tree volumes",
            &hp_one,
            vec![&ebs_two],
            2,
            &[HP, EBS],
            CsiNode,
            0,
            ok.clone(),
            None,
        ),
        (
            17,
            "should count in-tree inline volumes if migration is enabled",
            &inline,
            vec![&it_two],
            2,
            &[AWS_IT, EBS],
            CsiNode,
            0,
            ok.clone(),
            over.clone(),
        ),
        (
            18,
            "should count in-tree and csi volumes if migration is enabled (when scheduling in-tree volumes)",
            &it_one,
            vec![&ebs_two],
            2,
            &[AWS_IT, EBS],
            CsiNode,
            0,
            ok.clone(),
            over.clone(),
        ),
        (
            19,
            "should count in-tree, inline and csi volumes if migration is enabled (when scheduling in-tree volumes)",
            &inline,
            vec![&ebs_two, &it_one],
            3,
            &[AWS_IT, EBS],
            CsiNode,
            0,
            ok.clone(),
            over.clone(),
        ),
        (
            20,
            "should not count in-tree, inline and csi volumes if migration is enabled (when scheduling in-tree volumes)",
            &inline_same_id,
            vec![&ebs_two, &it_one],
            3,
            &[AWS_IT, EBS],
            CsiNode,
            0,
            ok.clone(),
            None,
        ),
        (
            21,
            "should count in-tree and csi volumes if migration is enabled (when scheduling csi volumes)",
            &ebs_one,
            vec![&it_two],
            2,
            &[AWS_IT, EBS],
            CsiNode,
            0,
            ok.clone(),
            over.clone(),
        ),
        (
            30,
            "skip Filter when the pod only uses secrets and configmaps",
            &only_cm_secret,
            vec![],
            2,
            &[EBS],
            CsiNode,
            0,
            PreStatus::Skip,
            None,
        ),
        (
            31,
            "don't skip Filter when the pod has pvcs",
            &pvc_cm_secret,
            vec![],
            2,
            &[EBS],
            CsiNode,
            0,
            ok.clone(),
            None,
        ),
        (
            33,
            "don't skip Filter when the pod has inline migratable volumes",
            &inline_cm_secret,
            vec![&it_two],
            2,
            &[AWS_IT, EBS],
            CsiNode,
            0,
            ok,
            over,
        ),
    ];
    for (k, name, pod, existing, max, drivers, source, va, want_pre, want) in rows {
        let mut w = fixture(drivers, max, source, va);
        for p in existing {
            w.add_pod(0, "", p);
        }
        let mut f = NodeVolumeLimits::default();
        let got = w.run(&mut f, "", pod);
        assert_eq!(f.pre(), want_pre, "{k} {name}: PreFilter");
        if want_pre != PreStatus::Skip {
            assert_eq!(got[0], want, "{k} {name}: Filter");
        }
    }
}

#[test]
fn a_missing_claim_is_named_with_its_namespace() {
    // Upstream's wording for a claim the lister does not find (a real
    // informer's singular resource name): `looking up PVC <ns>/<name>: …`.
    let w = fixture(&[EBS], 2, Source::CsiNode, 0);
    let mut f = NodeVolumeLimits::default();
    let got = w.run(&mut f, "test", &[pvc("abc-xyz")]);
    assert_eq!(
        got[0],
        Some((
            "looking up PVC test/abc-xyz: persistentvolumeclaim \"abc-xyz\" not found".to_string(),
            true
        ))
    );
}
