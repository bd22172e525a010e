//! `[[storageClasses]]`, `[[persistentVolumes]]`, `[[persistentVolumeClaims]]`
//! and claim volumes: resolved values and located errors.

use super::tests::MemFiles;
use super::*;
use crate::storage::{
    AccessModes, BindingMode, ClaimPhase, Reach, ReclaimPolicy, VolumeBackend, VolumePhase,
};

fn load(text: &str) -> Result<Scenario, InputError> {
    parse(text, "s.toml", &MemFiles::default(), &[], None)
}

/// Pools `a` and `b` (zones a, b) and the storage `extra`, a service `db`
/// mounting claim `data` when `mount`.
fn with(extra: &str, mount: bool) -> String {
    let volumes = if mount {
        "volumes = [{ name = \"data\", persistentVolumeClaim = { claimName = \"data\" } }]\n"
    } else {
        ""
    };
    format!(
        "name = \"v\"\n[simulation]\nduration = \"1m\"\n\
         [pools.a]\ncount = 1\ncpu = \"4\"\nmemory = \"8Gi\"\n\
         [pools.b]\ncount = 1\ncpu = \"4\"\nmemory = \"8Gi\"\nvolumeLimits = {{ \"pd.csi.storage.gke.io\" = 15 }}\n\
         [services.db]\nreplicas = 1\nrequests = {{ cpu = \"1\" }}\n{volumes}\
         serviceTime = {{ dist = \"constant\", value = \"10ms\" }}\n\
         traffic = {{ model = \"constant\", rate = 1 }}\n{extra}\n"
    )
}

const CLASSES: &str = r#"
[[storageClasses]]
name = "standard"
provisioner = "pd.csi.storage.gke.io"
isDefault = true
[[storageClasses]]
name = "local"
provisioner = "kubernetes.io/no-provisioner"
volumeBindingMode = "WaitForFirstConsumer"
reclaimPolicy = "Retain"
reach = "node"
"#;

#[test]
fn objects_resolve_with_the_api_servers_defaults() {
    let text = with(
        &format!(
            "{CLASSES}
[[persistentVolumes]]
name = \"pv-1\"
storageClassName = \"local\"
capacity = \"100Gi\"
accessModes = [\"ReadWriteOnce\"]
nodeAffinity = {{ required = [{{ matchExpressions = [{{ key = \"kubernetes.io/hostname\", operator = \"In\", values = [\"b-0\"] }}] }}] }}
csi = {{ driver = \"local.csi\", volumeHandle = \"disk-1\" }}
[[persistentVolumeClaims]]
name = \"data\"
storage = \"10Gi\"
accessModes = [\"ReadWriteOnce\"]
[[persistentVolumeClaims]]
name = \"cache\"
namespace = \"team\"
storageClassName = \"local\"
storage = \"50Gi\"
accessModes = [\"ReadWriteOncePod\"]
"
        ),
        true,
    );
    let s = load(&text).unwrap();
    let st = &s.storage;
    let standard = st.class("standard").unwrap();
    // Defaults: Immediate, Delete, zonal reach.
    assert_eq!(standard.binding, Some(BindingMode::Immediate));
    assert_eq!(standard.reclaim, ReclaimPolicy::Delete);
    assert_eq!(standard.reach, Reach::Zone);
    let local = st.class("local").unwrap();
    assert_eq!(
        (local.binding, local.reclaim, local.reach),
        (
            Some(BindingMode::WaitForFirstConsumer),
            ReclaimPolicy::Retain,
            Reach::Node
        )
    );
    let pv = st.volume(st.volume_named("pv-1").unwrap());
    assert_eq!(pv.capacity, 100 << 30);
    assert_eq!(pv.reclaim, ReclaimPolicy::Retain);
    assert_eq!(
        pv.backend,
        VolumeBackend::Csi {
            driver: "local.csi".into(),
            handle: "disk-1".into()
        }
    );
    // The claim without a class got the default class, and as an Immediate
    // claim it was provisioned at load, in a zone with nodes.
    let data = st.claim(st.claim_named("default", "data").unwrap());
    assert_eq!(data.class.as_deref(), Some("standard"));
    assert_eq!(data.phase, ClaimPhase::Bound);
    assert_eq!(data.volume_name, "pvc-default-data");
    let provisioned = st.volume(st.volume_named("pvc-default-data").unwrap());
    assert_eq!(provisioned.phase, VolumePhase::Bound);
    assert_eq!(provisioned.capacity, 10 << 30);
    // The WaitForFirstConsumer claim waits for its pod.
    let cache = st.claim(st.claim_named("team", "cache").unwrap());
    assert_eq!(cache.phase, ClaimPhase::Pending);
    assert_eq!(cache.access_modes, AccessModes::RWOP);
    // volumeLimits is the pool's CSINode.
    let b = s.nodes.iter().find(|n| n.pool == "b").unwrap();
    assert_eq!(
        b.csi.as_ref().unwrap().limit("pd.csi.storage.gke.io"),
        Some(15)
    );
    let a = s.nodes.iter().find(|n| n.pool == "a").unwrap();
    assert_eq!(a.csi.as_ref().unwrap().limit("pd.csi.storage.gke.io"), None);
}

#[test]
fn bad_storage_objects_are_located_errors() {
    let err = |extra: &str, mount: bool| load(&with(extra, mount)).unwrap_err().to_string();
    let claim = "[[persistentVolumeClaims]]\nname = \"data\"\nstorage = \"1Gi\"\n";
    assert_eq!(
        err(
            &format!("{claim}accessModes = [\"ReadWriteSometimes\"]"),
            false
        ),
        "s.toml:21:15: persistentVolumeClaims[0].accessModes: 'ReadWriteSometimes': expected ReadWriteOnce, ReadOnlyMany, ReadWriteMany or ReadWriteOncePod"
    );
    assert_eq!(
        err(&format!("{claim}accessModes = []"), false),
        "s.toml:21:15: persistentVolumeClaims[0].accessModes: at least 1 access mode is required"
    );
    assert_eq!(
        err(
            &format!("{claim}accessModes = [\"ReadWriteOnce\"]\nstorageClassName = \"fast\""),
            false
        ),
        "s.toml:22:20: persistentVolumeClaims[0].storageClassName: 'fast': no such entry in [[storageClasses]]"
    );
    assert_eq!(
        err("", true),
        "s.toml:13:2: services.db.volumes[0].persistentVolumeClaim.claimName: 'data': no [[persistentVolumeClaims]] entry of that name in namespace 'default'"
    );
    let two_defaults = "[[storageClasses]]\nname = \"x\"\nprovisioner = \"p\"\nisDefault = true\n\
         [[storageClasses]]\nname = \"y\"\nprovisioner = \"p\"\nisDefault = true\n";
    assert_eq!(
        err(two_defaults, false),
        "s.toml:23:8: storageClasses[1].isDefault: 'y' and 'x' are both the default class; mark one"
    );
    assert_eq!(
        err(
            "[[storageClasses]]\nname = \"x\"\nprovisioner = \"p\"\nvolumeBindingMode = \"Later\"",
            false
        ),
        "s.toml:21:21: storageClasses[0].volumeBindingMode: unknown variant `Later`, expected `Immediate` or `WaitForFirstConsumer`"
    );
}
