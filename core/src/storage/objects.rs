//! The storage API objects: StorageClasses, PersistentVolumes,
//! PersistentVolumeClaims and their enums, inline disks, and a node's
//! CSINode, with the small checks upstream defines on each.

use super::NO_PROVISIONER;
use crate::labels::Labels;
use crate::model::SelectorTerm;
use crate::time::SimDuration;

/// A set of access modes (`ReadWriteOnce`, `ReadOnlyMany`, `ReadWriteMany`,
/// `ReadWriteOncePod`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AccessModes(u8);

impl AccessModes {
    /// `ReadWriteOnce`.
    pub const RWO: AccessModes = AccessModes(1);
    /// `ReadOnlyMany`.
    pub const ROX: AccessModes = AccessModes(2);
    /// `ReadWriteMany`.
    pub const RWX: AccessModes = AccessModes(4);
    /// `ReadWriteOncePod`.
    pub const RWOP: AccessModes = AccessModes(8);
    /// No mode.
    pub const NONE: AccessModes = AccessModes(0);

    /// The mode called `name` (the API's spelling).
    pub fn parse(name: &str) -> Option<AccessModes> {
        Some(match name {
            "ReadWriteOnce" => AccessModes::RWO,
            "ReadOnlyMany" => AccessModes::ROX,
            "ReadWriteMany" => AccessModes::RWX,
            "ReadWriteOncePod" => AccessModes::RWOP,
            _ => return None,
        })
    }

    /// Both sets.
    pub fn union(self, other: AccessModes) -> AccessModes {
        AccessModes(self.0 | other.0)
    }

    /// Whether every mode of `other` is in `self` (upstream's `CheckAccessModes`).
    pub fn contains(self, other: AccessModes) -> bool {
        self.0 & other.0 == other.0
    }
}

/// `volumeBindingMode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindingMode {
    /// Bind (or provision) as soon as the claim exists.
    Immediate,
    /// Wait until a pod using the claim is scheduled, then bind or
    /// provision where it goes.
    WaitForFirstConsumer,
}

/// `reclaimPolicy`: what happens to a volume when its claim is deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReclaimPolicy {
    /// The volume is deleted with the claim (the default for provisioned volumes).
    #[default]
    Delete,
    /// The volume stays, `Released`, with its data.
    Retain,
}

/// Where a provisioned volume can be used from: what the provisioner writes
/// into the new volume's node affinity (a CSI driver's accessible topology).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reach {
    /// One node (local volumes): `kubernetes.io/hostname`.
    Node,
    /// One zone (a zonal disk: EBS, PD, Azure Disk): `topology.kubernetes.io/zone`.
    #[default]
    Zone,
    /// One region (a regional disk): `topology.kubernetes.io/region`.
    Region,
    /// Anywhere (network file systems): no node affinity.
    Cluster,
}

/// A StorageClass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageClass {
    /// `metadata.name`.
    pub name: String,
    /// `provisioner`: a CSI driver name, or [`NO_PROVISIONER`] / empty for
    /// classes of pre-created volumes only.
    pub provisioner: String,
    /// `volumeBindingMode` (`None` only where a test leaves it unset; the
    /// API server defaults it to `Immediate`).
    pub binding: Option<BindingMode>,
    /// `reclaimPolicy` of the volumes it provisions.
    pub reclaim: ReclaimPolicy,
    /// `allowedTopologies`: where volumes may be provisioned (any term; a
    /// term's requirements all hold). Empty: anywhere.
    pub allowed_topologies: Vec<SelectorTerm>,
    /// The provisioner's reach (not an API field: a property of the driver).
    pub reach: Reach,
    /// How long attaching one of its volumes to a node takes (a property
    /// of the driver; default 0).
    pub attach_delay: SimDuration,
    /// How long detaching one from a healthy node takes (default 0).
    pub detach_delay: SimDuration,
}

impl StorageClass {
    /// A class `name` with `provisioner` and `binding`, zonal, reclaim Delete.
    pub fn new(name: &str, provisioner: &str, binding: BindingMode) -> StorageClass {
        StorageClass {
            name: name.to_string(),
            provisioner: provisioner.to_string(),
            binding: Some(binding),
            reclaim: ReclaimPolicy::Delete,
            allowed_topologies: Vec::new(),
            reach: Reach::Zone,
            attach_delay: SimDuration::ZERO,
            detach_delay: SimDuration::ZERO,
        }
    }

    /// Whether it can provision volumes at all.
    pub fn provisions(&self) -> bool {
        !self.provisioner.is_empty() && self.provisioner != NO_PROVISIONER
    }
}

/// A PersistentVolume's `status.phase`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum VolumePhase {
    /// Free to bind.
    #[default]
    Available,
    /// Bound to a claim.
    Bound,
    /// Its claim was deleted; reclaim policy `Retain` keeps it.
    Released,
}

/// The source of a volume that the attach limits and disk-conflict checks
/// look at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VolumeBackend {
    /// A CSI volume: `(driver, volumeHandle)`.
    Csi {
        /// `spec.csi.driver`.
        driver: String,
        /// `spec.csi.volumeHandle`.
        handle: String,
    },
    /// An in-tree volume plugin that CSI migration translates (AWS EBS,
    /// GCE PD, Azure Disk, Cinder, Portworx).
    InTree(InlineDisk),
    /// Anything not attachable (hostPath, NFS, local).
    Other,
}

/// A PersistentVolume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersistentVolume {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.labels` (VolumeZone reads the zone and region labels).
    pub labels: Labels,
    /// `spec.storageClassName` ("" for none).
    pub class: String,
    /// `spec.capacity.storage`, bytes.
    pub capacity: u64,
    /// `spec.accessModes`.
    pub access_modes: AccessModes,
    /// `spec.nodeAffinity.required.nodeSelectorTerms` (`None`: no affinity).
    pub node_affinity: Option<Vec<SelectorTerm>>,
    /// What backs it.
    pub backend: VolumeBackend,
    /// `spec.claimRef`: `(namespace, name)` of the claim it is bound or
    /// pre-bound to.
    pub claim_ref: Option<(String, String)>,
    /// `status.phase`.
    pub phase: VolumePhase,
    /// `spec.persistentVolumeReclaimPolicy`.
    pub reclaim: ReclaimPolicy,
}

impl PersistentVolume {
    /// An available volume `name` of `class` with no capacity, modes or affinity.
    pub fn new(name: &str, class: &str) -> PersistentVolume {
        PersistentVolume {
            name: name.to_string(),
            labels: Labels::new(),
            class: class.to_string(),
            capacity: 0,
            access_modes: AccessModes::NONE,
            node_affinity: None,
            backend: VolumeBackend::Other,
            claim_ref: None,
            phase: VolumePhase::Available,
            reclaim: ReclaimPolicy::Retain,
        }
    }

    /// Upstream's `CheckNodeAffinity`: no affinity, or a node with `labels`
    /// matches one of its terms.
    pub fn node_affinity_matches(&self, labels: &Labels) -> bool {
        self.node_affinity
            .as_ref()
            .is_none_or(|terms| terms.iter().any(|t| t.matches(labels)))
    }

    /// The `(driver, handle)` that the attach limits count it by, if it is
    /// attachable: its CSI source, or an in-tree disk translated by CSI
    /// migration when the node has a CSINode (`csi_node`).
    pub fn csi_key(&self, csi_node: bool) -> Option<(String, String)> {
        match &self.backend {
            VolumeBackend::Csi { driver, handle } => Some((driver.clone(), handle.clone())),
            VolumeBackend::InTree(d) if csi_node => d.csi_key(),
            _ => None,
        }
    }
}

/// A PersistentVolumeClaim's `status.phase`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClaimPhase {
    /// Not bound yet.
    #[default]
    Pending,
    /// Bound.
    Bound,
    /// Bound to a volume that no longer exists.
    Lost,
}

/// A PersistentVolumeClaim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersistentVolumeClaim {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `spec.storageClassName` (`None`: not set; `Some("")`: no class).
    pub class: Option<String>,
    /// `spec.resources.requests.storage`, bytes (0: none).
    pub request: u64,
    /// `spec.accessModes`.
    pub access_modes: AccessModes,
    /// `spec.volumeName` ("" while unbound).
    pub volume_name: String,
    /// Annotation `pv.kubernetes.io/bind-completed`.
    pub bind_completed: bool,
    /// Annotation `volume.kubernetes.io/selected-node`.
    pub selected_node: Option<String>,
    /// `status.phase`.
    pub phase: ClaimPhase,
}

impl PersistentVolumeClaim {
    /// An unbound claim `namespace/name` of `class` with no request or modes.
    pub fn new(namespace: &str, name: &str, class: Option<&str>) -> PersistentVolumeClaim {
        PersistentVolumeClaim {
            name: name.to_string(),
            namespace: namespace.to_string(),
            class: class.map(str::to_string),
            request: 0,
            access_modes: AccessModes::NONE,
            volume_name: String::new(),
            bind_completed: false,
            selected_node: None,
            phase: ClaimPhase::Pending,
        }
    }

    /// Upstream's `GetPersistentVolumeClaimClass` ("" when not set).
    pub fn class_name(&self) -> &str {
        self.class.as_deref().unwrap_or("")
    }

    /// Bound and the binding completed (upstream's "fully bound").
    pub fn fully_bound(&self) -> bool {
        !self.volume_name.is_empty() && self.bind_completed
    }
}

/// An inline in-tree disk in a pod's volumes, which VolumeRestrictions
/// checks for conflicts and CSI migration counts against attach limits.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum InlineDisk {
    /// `gcePersistentDisk`.
    GcePd {
        /// `pdName`.
        pd_name: String,
        /// `readOnly`.
        read_only: bool,
    },
    /// `awsElasticBlockStore`.
    AwsEbs {
        /// `volumeID`.
        volume_id: String,
        /// `readOnly`.
        read_only: bool,
    },
    /// `rbd`.
    Rbd {
        /// `monitors`.
        monitors: Vec<String>,
        /// `pool`.
        pool: String,
        /// `image`.
        image: String,
        /// `readOnly`.
        read_only: bool,
    },
    /// `iscsi`.
    Iscsi {
        /// `iqn`.
        iqn: String,
        /// `readOnly`.
        read_only: bool,
    },
}

impl InlineDisk {
    /// Upstream's `isVolumeConflict`: two pods may not use the same disk
    /// unless both read only (an EBS volume never twice).
    pub fn conflicts(&self, other: &InlineDisk) -> bool {
        use InlineDisk::*;
        match (self, other) {
            (
                GcePd {
                    pd_name: a,
                    read_only: ra,
                },
                GcePd {
                    pd_name: b,
                    read_only: rb,
                },
            ) => a == b && !(*ra && *rb),
            (AwsEbs { volume_id: a, .. }, AwsEbs { volume_id: b, .. }) => a == b,
            (
                Iscsi {
                    iqn: a,
                    read_only: ra,
                },
                Iscsi {
                    iqn: b,
                    read_only: rb,
                },
            ) => a == b && !(*ra && *rb),
            (
                Rbd {
                    monitors: ma,
                    pool: pa,
                    image: ia,
                    read_only: ra,
                },
                Rbd {
                    monitors: mb,
                    pool: pb,
                    image: ib,
                    read_only: rb,
                },
            ) => ma.iter().any(|m| mb.contains(m)) && pa == pb && ia == ib && !(*ra && *rb),
            _ => false,
        }
    }

    /// The CSI `(driver, handle)` that csi-translation-lib gives an inline
    /// disk it migrates (AWS EBS and GCE PD; RBD and iSCSI are not counted).
    pub fn csi_key(&self) -> Option<(String, String)> {
        match self {
            InlineDisk::AwsEbs { volume_id, .. } => {
                // `aws://zone/vol-id` volume ids keep only the id.
                let id = match volume_id.strip_prefix("aws://") {
                    Some(rest) => rest.rsplit('/').next().unwrap_or(rest),
                    None => volume_id,
                };
                Some(("ebs.csi.aws.com".to_string(), id.to_string()))
            }
            InlineDisk::GcePd { pd_name, .. } => Some((
                "pd.csi.storage.gke.io".to_string(),
                format!("projects/UNSPECIFIED/zones/UNSPECIFIED/disks/{pd_name}"),
            )),
            InlineDisk::Rbd { .. } | InlineDisk::Iscsi { .. } => None,
        }
    }
}

/// A node's CSINode: the CSI drivers it runs and each one's volume limit
/// (`spec.drivers[].allocatable.count`; `None`: the driver reports none).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CsiNode {
    /// `(driver, limit)`.
    pub drivers: Vec<(String, Option<u32>)>,
}

impl CsiNode {
    /// The volume limit of `driver`, if it reports one.
    pub fn limit(&self, driver: &str) -> Option<u32> {
        self.drivers
            .iter()
            .find(|(d, _)| d == driver)
            .and_then(|(_, l)| *l)
    }
}

/// The CSI driver an in-tree provisioner or plugin name migrates to.
pub fn in_tree_driver(plugin: &str) -> Option<&'static str> {
    Some(match plugin {
        "kubernetes.io/aws-ebs" => "ebs.csi.aws.com",
        "kubernetes.io/gce-pd" => "pd.csi.storage.gke.io",
        "kubernetes.io/azure-disk" => "disk.csi.azure.com",
        "kubernetes.io/cinder" => "cinder.csi.openstack.org",
        "kubernetes.io/portworx-volume" => "pxd.portworx.com",
        _ => return None,
    })
}
