//! Storage: StorageClasses, PersistentVolumes, PersistentVolumeClaims, the
//! volumes each node has in use, and the binding of claims to volumes.
//!
//! Key decision: one [`Storage`] value holds both the objects and their
//! state (which claim is bound to which volume, which claims pods use,
//! which volumes each node holds), indexed by dense ids like the rest of
//! the model. The scheduler's volume plugins ([`plugins`]) read it through
//! the [`ClusterView`](crate::placement::ClusterView); a scheduling batch
//! works on its own copy, and the world applies a bind with the same
//! deterministic [`Storage::bind_pod`] the batch used, so the two agree on
//! which volume each claim got (upstream's assume cache and PreBind).
//!
//! Upstream sources, kubernetes/kubernetes: the claim/volume matching of
//! `component-helpers/storage/volume/pv_helpers.go` @ 109698ca
//! (`FindMatchingVolume`, `CheckNodeAffinity`), the scheduler's binder
//! `pkg/scheduler/framework/plugins/volumebinding/binder.go` @ 8af39349
//! (`findMatchingVolumes`, `checkVolumeProvisions`, `AssumePodVolumes`).

use std::collections::BTreeMap;

use crate::labels::Labels;
use crate::model::{LABEL_HOSTNAME, LABEL_ZONE, NodeId, SelectorTerm, Volume, VolumeSource};

#[cfg(test)]
mod limits_tests;
pub mod plugins;
#[cfg(test)]
mod tests;

/// `topology.kubernetes.io/region`.
pub const LABEL_REGION: &str = "topology.kubernetes.io/region";
/// The provisioner of classes that only bind pre-created volumes.
pub const NO_PROVISIONER: &str = "kubernetes.io/no-provisioner";

/// Index of a claim in [`Storage::claims`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClaimId(pub u32);

/// Index of a volume in [`Storage::volumes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VolumeId(pub u32);

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

/// A pod's view of its volumes, for one scheduling decision: the pod
/// template's volumes and, for each claim-backed one in order, the claim it
/// names (`None`: no such claim).
#[derive(Clone, Copy, Debug)]
pub struct PodStorage<'a> {
    /// The pod's namespace.
    pub namespace: &'a str,
    /// `spec.volumes`.
    pub volumes: &'a [Volume],
    /// The claims of the claim-backed volumes, in order.
    pub claims: &'a [Option<ClaimId>],
}

impl PodStorage<'static> {
    /// A pod without volumes.
    pub const NONE: PodStorage<'static> = PodStorage {
        namespace: "default",
        volumes: &[],
        claims: &[],
    };
}

impl<'a> PodStorage<'a> {
    /// The volumes of a pod of `spec` with `claims` ([`Storage::claims_of`]).
    pub fn of(
        spec: &'a crate::model::ServiceSpec,
        claims: &'a [Option<ClaimId>],
    ) -> PodStorage<'a> {
        PodStorage {
            namespace: &spec.meta.namespace,
            volumes: &spec.volumes,
            claims,
        }
    }

    /// Whether the pod has no volumes.
    pub fn is_empty(&self) -> bool {
        self.volumes.is_empty()
    }

    /// Whether any volume plugin looks at the pod: it has a claim or an
    /// inline disk (an `emptyDir` or `hostPath` alone passes them all).
    pub fn has_volume_plugin_input(&self) -> bool {
        self.volumes.iter().any(|v| {
            matches!(
                v.source,
                VolumeSource::PersistentVolumeClaim { .. }
                    | VolumeSource::ClaimTemplate { .. }
                    | VolumeSource::Disk(_)
            )
        })
    }

    /// The claim-backed volumes with their claim names and claims.
    pub fn claim_volumes(&self) -> impl Iterator<Item = (&'a str, Option<ClaimId>)> + 'a {
        let claims = self.claims;
        self.volumes
            .iter()
            .filter_map(|v| v.claim_name())
            .enumerate()
            .map(move |(k, name)| (name, claims.get(k).copied().flatten()))
    }

    /// The inline in-tree disks.
    pub fn disks(&self) -> impl Iterator<Item = &'a InlineDisk> + 'a {
        self.volumes.iter().filter_map(|v| match &v.source {
            VolumeSource::Disk(d) => Some(d),
            _ => None,
        })
    }
}

/// What a node holds: the attachable volumes its pods use (by CSI key,
/// with how many of its pods use each), their inline disks, and the
/// volumes attached to it (VolumeAttachments, which outlive the pods while
/// a volume detaches).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeVolumes {
    /// `((driver, handle), pods using it)`.
    pub csi: Vec<((String, String), u32)>,
    /// `(inline disk, pods using it)`.
    pub disks: Vec<(InlineDisk, u32)>,
    /// VolumeAttachments to this node: `(driver, handle)` of each.
    pub attached: Vec<(String, String)>,
}

/// One change [`Storage::bind_pod`] made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageChange {
    /// A claim was bound to an existing volume.
    Bound {
        /// The claim.
        claim: ClaimId,
        /// The volume.
        volume: VolumeId,
    },
    /// A volume was provisioned for a claim and bound to it.
    Provisioned {
        /// The claim.
        claim: ClaimId,
        /// The new volume.
        volume: VolumeId,
    },
}

/// Storage objects and their state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Storage {
    /// StorageClasses, by name order of insertion.
    pub classes: Vec<StorageClass>,
    /// PersistentVolumes.
    pub volumes: Vec<PersistentVolume>,
    /// PersistentVolumeClaims.
    pub claims: Vec<PersistentVolumeClaim>,
    /// Per claim: pods bound to a node that use it (upstream's
    /// `IsPVCUsedByPods`).
    pub users: Vec<u32>,
    /// Per node id: what it holds (absent: nothing).
    pub nodes: Vec<NodeVolumes>,
    claim_index: BTreeMap<(String, String), ClaimId>,
    volume_index: BTreeMap<String, VolumeId>,
    /// StatefulSet pods' ordinals.
    ordinals: BTreeMap<crate::model::ReplicaId, u32>,
    /// The default class (`storageclass.kubernetes.io/is-default-class`).
    default_class: Option<String>,
}

/// Storage with nothing in it.
pub static NO_STORAGE: Storage = Storage {
    classes: Vec::new(),
    volumes: Vec::new(),
    claims: Vec::new(),
    users: Vec::new(),
    nodes: Vec::new(),
    claim_index: BTreeMap::new(),
    volume_index: BTreeMap::new(),
    ordinals: BTreeMap::new(),
    default_class: None,
};

impl Storage {
    /// Whether nothing is modelled (no classes, volumes or claims).
    pub fn is_empty(&self) -> bool {
        self.classes.is_empty() && self.volumes.is_empty() && self.claims.is_empty()
    }

    /// Adds a class.
    pub fn add_class(&mut self, class: StorageClass) {
        self.classes.push(class);
    }

    /// Adds a volume; returns its id.
    pub fn add_volume(&mut self, volume: PersistentVolume) -> VolumeId {
        let id = VolumeId(self.volumes.len() as u32);
        self.volume_index.insert(volume.name.clone(), id);
        self.volumes.push(volume);
        id
    }

    /// Adds a claim; returns its id.
    pub fn add_claim(&mut self, claim: PersistentVolumeClaim) -> ClaimId {
        let id = ClaimId(self.claims.len() as u32);
        self.claim_index
            .insert((claim.namespace.clone(), claim.name.clone()), id);
        self.claims.push(claim);
        self.users.push(0);
        id
    }

    /// The default class.
    pub fn default_class(&self) -> Option<&str> {
        self.default_class.as_deref()
    }

    /// Sets the default class.
    pub fn set_default_class(&mut self, name: Option<String>) {
        self.default_class = name;
    }

    /// The class called `name`.
    pub fn class(&self, name: &str) -> Option<&StorageClass> {
        self.classes.iter().find(|c| c.name == name)
    }

    /// The volume called `name`.
    pub fn volume_named(&self, name: &str) -> Option<VolumeId> {
        self.volume_index.get(name).copied()
    }

    /// The claim `namespace/name`.
    pub fn claim_named(&self, namespace: &str, name: &str) -> Option<ClaimId> {
        self.claim_index
            .get(&(namespace.to_string(), name.to_string()))
            .copied()
    }

    /// A claim.
    pub fn claim(&self, id: ClaimId) -> &PersistentVolumeClaim {
        &self.claims[id.0 as usize]
    }

    /// A volume.
    pub fn volume(&self, id: VolumeId) -> &PersistentVolume {
        &self.volumes[id.0 as usize]
    }

    /// What node `node` holds.
    pub fn node(&self, node: usize) -> Option<&NodeVolumes> {
        self.nodes.get(node)
    }

    /// The claims of `volumes` in `namespace`, in order of the claim-backed
    /// volumes (`None` where the claim does not exist).
    pub fn resolve(&self, namespace: &str, volumes: &[Volume]) -> Vec<Option<ClaimId>> {
        volumes
            .iter()
            .filter_map(|v| match &v.source {
                VolumeSource::PersistentVolumeClaim { claim, .. } => {
                    Some(self.claim_named(namespace, claim))
                }
                VolumeSource::ClaimTemplate { .. } => Some(None),
                _ => None,
            })
            .collect()
    }

    /// The volume `claim` is bound to, if it exists.
    pub fn bound_volume(&self, claim: ClaimId) -> Option<VolumeId> {
        let c = self.claim(claim);
        if c.volume_name.is_empty() {
            None
        } else {
            self.volume_named(&c.volume_name)
        }
    }

    /// Upstream's `IsDelayBindingMode`: `Err` names a class without a binding mode.
    pub fn delays_binding(&self, claim: &PersistentVolumeClaim) -> Result<bool, String> {
        let name = claim.class_name();
        if name.is_empty() {
            return Ok(false);
        }
        match self.class(name) {
            None => Ok(false),
            Some(c) => match c.binding {
                None => Err(format!(
                    "VolumeBindingMode not set for StorageClass {name:?}"
                )),
                Some(m) => Ok(m == BindingMode::WaitForFirstConsumer),
            },
        }
    }

    /// Upstream's `FindMatchingVolume` for the scheduler (`node` given) or
    /// the PV controller (`None`: node affinity not checked): among the
    /// volumes of the claim's class not in `excluded`, a volume pre-bound
    /// to the claim (if its affinity holds, else none at all), else the
    /// smallest available one with enough capacity, the claim's access
    /// modes and a node affinity `node` matches; the first of equal sizes.
    pub fn find_matching_volume(
        &self,
        claim: ClaimId,
        node: Option<&Labels>,
        excluded: &[VolumeId],
    ) -> Option<VolumeId> {
        let c = self.claim(claim);
        let class = c.class_name();
        let mut best: Option<(VolumeId, u64)> = None;
        for (k, v) in self.volumes.iter().enumerate() {
            let id = VolumeId(k as u32);
            if v.class != class || excluded.contains(&id) {
                continue;
            }
            let bound_to_claim = v
                .claim_ref
                .as_ref()
                .is_some_and(|(ns, n)| *ns == c.namespace && *n == c.name);
            if v.claim_ref.is_some() && !bound_to_claim {
                continue;
            }
            if v.capacity < c.request {
                continue;
            }
            let affinity = node.is_none_or(|l| v.node_affinity_matches(l));
            if bound_to_claim {
                return affinity.then_some(id);
            }
            if v.phase != VolumePhase::Available
                || !affinity
                || !v.access_modes.contains(c.access_modes)
            {
                continue;
            }
            if best.is_none_or(|(_, cap)| v.capacity < cap) {
                best = Some((id, v.capacity));
            }
        }
        best.map(|(id, _)| id)
    }

    /// The binder's `findMatchingVolumes` for node `labels`: `claims`
    /// (unbound, delayed) smallest request first, each matched to a volume
    /// not chosen before; returns the static bindings and the claims left
    /// for provisioning.
    pub fn match_claims(
        &self,
        claims: &[ClaimId],
        labels: &Labels,
    ) -> (Vec<(ClaimId, VolumeId)>, Vec<ClaimId>) {
        let mut sorted = claims.to_vec();
        sorted.sort_by_key(|c| self.claim(*c).request);
        let mut chosen: Vec<VolumeId> = Vec::new();
        let mut bindings = Vec::new();
        let mut provision = Vec::new();
        for c in sorted {
            match self.find_matching_volume(c, Some(labels), &chosen) {
                Some(v) => {
                    chosen.push(v);
                    bindings.push((c, v));
                }
                None => provision.push(c),
            }
        }
        (bindings, provision)
    }

    /// Whether `claim`'s class can provision a volume usable from a node
    /// with `labels` (the binder's `checkVolumeProvisions` without storage
    /// capacity tracking): the class has a provisioner and its
    /// `allowedTopologies` admit the node. `Err` for a claim without class
    /// or with a class that does not exist.
    pub fn can_provision(&self, claim: ClaimId, labels: &Labels) -> Result<bool, String> {
        let c = self.claim(claim);
        let name = c.class_name();
        if name.is_empty() {
            return Err(format!("no class for claim \"{}/{}\"", c.namespace, c.name));
        }
        let Some(class) = self.class(name) else {
            return Err(format!("failed to find storage class {name:?}"));
        };
        Ok(class.provisions()
            && (class.allowed_topologies.is_empty()
                || class.allowed_topologies.iter().any(|t| t.matches(labels))))
    }

    /// The node affinity a volume of `class` provisioned for a pod on a node
    /// with `labels` gets (the driver's accessible topology at its reach).
    pub fn provisioned_affinity(
        class: &StorageClass,
        labels: &Labels,
    ) -> Option<Vec<SelectorTerm>> {
        let key = match class.reach {
            Reach::Node => LABEL_HOSTNAME,
            Reach::Zone => LABEL_ZONE,
            Reach::Region => LABEL_REGION,
            Reach::Cluster => return None,
        };
        let value = labels.get(key)?;
        Some(vec![SelectorTerm {
            requirements: vec![crate::model::SelectorRequirement {
                key: key.to_string(),
                op: crate::model::SelectorOp::In,
                values: vec![value.clone()],
            }],
        }])
    }

    /// Binds `claim` to `volume` (the PV controller's bind, completed).
    pub fn bind(&mut self, claim: ClaimId, volume: VolumeId) {
        let (ns, name) = {
            let c = self.claim(claim);
            (c.namespace.clone(), c.name.clone())
        };
        let v = &mut self.volumes[volume.0 as usize];
        v.claim_ref = Some((ns, name));
        v.phase = VolumePhase::Bound;
        let vname = v.name.clone();
        let c = &mut self.claims[claim.0 as usize];
        c.volume_name = vname;
        c.bind_completed = true;
        c.phase = ClaimPhase::Bound;
    }

    /// Provisions a volume for `claim` usable from a node with `labels` and
    /// binds it; its name is `pvc-<namespace>-<claim>`.
    pub fn provision(&mut self, claim: ClaimId, labels: &Labels) -> VolumeId {
        let c = self.claim(claim).clone();
        let class = self.class(c.class_name()).cloned();
        let name = format!("pvc-{}-{}", c.namespace, c.name);
        let mut v = PersistentVolume::new(&name, c.class_name());
        v.capacity = c.request;
        v.access_modes = c.access_modes;
        if let Some(class) = &class {
            v.node_affinity = Storage::provisioned_affinity(class, labels);
            v.reclaim = class.reclaim;
            v.backend = VolumeBackend::Csi {
                driver: class.provisioner.clone(),
                handle: name.clone(),
            };
        }
        let id = self.add_volume(v);
        self.bind(claim, id);
        id
    }

    /// The CSI key of a pod's claim for the attach limits (upstream's
    /// `getCSIDriverInfo`): its bound volume's, or for an unbound claim of a
    /// class `(provisioner, "<namespace>/<name>")` (upstream prefixes a
    /// random string so it never equals a real handle; a volume handle here
    /// never contains the claim's `namespace/name`).
    pub fn claim_csi_key(&self, claim: ClaimId, csi_node: bool) -> Option<(String, String)> {
        let c = self.claim(claim);
        if let Some(v) = self.bound_volume(claim) {
            return self.volume(v).csi_key(csi_node);
        }
        let class = self.class(c.class_name())?;
        let handle = format!("\u{0}{}/{}", c.namespace, c.name);
        match in_tree_driver(&class.provisioner) {
            Some(driver) if csi_node => Some((driver.to_string(), handle)),
            Some(_) => None,
            None => Some((class.provisioner.clone(), handle)),
        }
    }

    /// The unique attachable volumes of `pod` on a node (`csi_node`: the
    /// node has a CSINode), as `(driver, handle)`.
    pub fn pod_csi_keys(&self, pod: &PodStorage<'_>, csi_node: bool) -> Vec<(String, String)> {
        let mut keys: Vec<(String, String)> = Vec::new();
        for v in pod.volumes {
            let key = match &v.source {
                VolumeSource::Disk(d) if csi_node => d.csi_key(),
                _ => None,
            };
            if let Some(k) = key
                && !keys.contains(&k)
            {
                keys.push(k);
            }
        }
        for (_, c) in pod.claim_volumes() {
            if let Some(k) = c.and_then(|c| self.claim_csi_key(c, csi_node))
                && !keys.contains(&k)
            {
                keys.push(k);
            }
        }
        keys
    }

    fn node_mut(&mut self, node: NodeId) -> &mut NodeVolumes {
        let i = node.0 as usize;
        if self.nodes.len() <= i {
            self.nodes.resize_with(i + 1, NodeVolumes::default);
        }
        &mut self.nodes[i]
    }

    /// A pod using `pod`'s volumes is on `node` (`csi_node`: the node has a
    /// CSINode): its claims are in use and the node holds its volumes.
    pub fn add_pod(&mut self, node: NodeId, pod: &PodStorage<'_>, csi_node: bool) {
        if pod.is_empty() {
            return;
        }
        let keys = self.pod_csi_keys(pod, csi_node);
        for (_, c) in pod.claim_volumes() {
            if let Some(c) = c {
                self.users[c.0 as usize] += 1;
            }
        }
        let disks: Vec<InlineDisk> = pod.disks().cloned().collect();
        let n = self.node_mut(node);
        for k in keys {
            match n.csi.iter_mut().find(|(x, _)| *x == k) {
                Some((_, refs)) => *refs += 1,
                None => n.csi.push((k, 1)),
            }
        }
        for d in disks {
            match n.disks.iter_mut().find(|(x, _)| *x == d) {
                Some((_, refs)) => *refs += 1,
                None => n.disks.push((d, 1)),
            }
        }
    }

    /// The pod [`Storage::add_pod`] added left `node`.
    pub fn remove_pod(&mut self, node: NodeId, pod: &PodStorage<'_>, csi_node: bool) {
        if pod.is_empty() {
            return;
        }
        let keys = self.pod_csi_keys(pod, csi_node);
        for (_, c) in pod.claim_volumes() {
            if let Some(c) = c {
                let u = &mut self.users[c.0 as usize];
                *u = u.saturating_sub(1);
            }
        }
        let disks: Vec<InlineDisk> = pod.disks().cloned().collect();
        let n = self.node_mut(node);
        for k in keys {
            if let Some(i) = n.csi.iter().position(|(x, _)| *x == k) {
                n.csi[i].1 -= 1;
                if n.csi[i].1 == 0 {
                    n.csi.swap_remove(i);
                }
            }
        }
        for d in disks {
            if let Some(i) = n.disks.iter().position(|(x, _)| *x == d) {
                n.disks[i].1 -= 1;
                if n.disks[i].1 == 0 {
                    n.disks.swap_remove(i);
                }
            }
        }
    }

    /// The `(attacher, volumeHandle)` of a VolumeAttachment of `volume`:
    /// CSI volumes only (upstream skips attachments whose volume has no
    /// `spec.csi`, migrated in-tree ones included).
    fn attachment_key(&self, volume: VolumeId) -> Option<(String, String)> {
        match &self.volume(volume).backend {
            VolumeBackend::Csi { driver, handle } => Some((driver.clone(), handle.clone())),
            _ => None,
        }
    }

    /// A VolumeAttachment of `volume` to `node` now exists.
    pub fn attach(&mut self, node: NodeId, volume: VolumeId) {
        if let Some(k) = self.attachment_key(volume) {
            let n = self.node_mut(node);
            if !n.attached.contains(&k) {
                n.attached.push(k);
            }
        }
    }

    /// The VolumeAttachment of `volume` to `node` is gone.
    pub fn detach(&mut self, node: NodeId, volume: VolumeId) {
        if let Some(k) = self.attachment_key(volume) {
            self.node_mut(node).attached.retain(|x| *x != k);
        }
    }

    /// PreBind for a pod placed on a node with `labels`: its unbound delayed
    /// claims are bound to the volumes the scheduler matched or provisioned
    /// there (claims pinned by `selected-node` provisioned), in the order
    /// the VolumeBinding filter chose them. Claims already bound are left.
    pub fn bind_pod(&mut self, pod: &PodStorage<'_>, labels: &Labels) -> Vec<StorageChange> {
        let mut delayed = Vec::new();
        let mut pinned = Vec::new();
        for (_, c) in pod.claim_volumes() {
            let Some(c) = c else { continue };
            let claim = self.claim(c);
            if !claim.volume_name.is_empty() || delayed.contains(&c) || pinned.contains(&c) {
                continue;
            }
            if claim.selected_node.is_some() {
                pinned.push(c);
            } else {
                delayed.push(c);
            }
        }
        let (bindings, provision) = self.match_claims(&delayed, labels);
        let mut changes = Vec::new();
        for (c, v) in bindings {
            self.bind(c, v);
            changes.push(StorageChange::Bound {
                claim: c,
                volume: v,
            });
        }
        for c in pinned.into_iter().chain(provision) {
            let v = self.provision(c, labels);
            changes.push(StorageChange::Provisioned {
                claim: c,
                volume: v,
            });
        }
        changes
    }
}

impl Storage {
    /// A pod with `pod`'s volumes is bound to `node` (`spec`): its delayed
    /// claims are bound or provisioned there ([`Storage::bind_pod`]) and
    /// the node holds its volumes ([`Storage::add_pod`]). What a world does
    /// on a bind, and what a scheduling batch does on its copy.
    pub fn place_pod(
        &mut self,
        pod: &PodStorage<'_>,
        node: NodeId,
        spec: &crate::model::NodeSpec,
    ) -> Vec<StorageChange> {
        if pod.is_empty() {
            return Vec::new();
        }
        let changes = self.bind_pod(pod, &spec.labels);
        self.add_pod(node, pod, spec.csi.is_some());
        changes
    }

    /// The pod [`Storage::place_pod`] placed left `node`.
    pub fn release_pod(
        &mut self,
        pod: &PodStorage<'_>,
        node: NodeId,
        spec: &crate::model::NodeSpec,
    ) {
        self.remove_pod(node, pod, spec.csi.is_some());
    }

    /// The claims of replica `replica` of `spec` (`None`: a replica not
    /// created yet), in the order of its claim-backed volumes: a
    /// `persistentVolumeClaim` volume's claim, a claim template's claim for
    /// the replica's ordinal (`None` where the claim does not exist).
    pub fn claims_of(
        &self,
        spec: &crate::model::ServiceSpec,
        replica: Option<crate::model::ReplicaId>,
    ) -> Vec<Option<ClaimId>> {
        let ns = &spec.meta.namespace;
        spec.volumes
            .iter()
            .filter_map(|v| match &v.source {
                VolumeSource::PersistentVolumeClaim { claim, .. } => {
                    Some(self.claim_named(ns, claim))
                }
                VolumeSource::ClaimTemplate { template } => {
                    Some(replica.and_then(|r| self.ordinal(r)).and_then(|k| {
                        self.claim_named(ns, &crate::stateful::claim_name(template, &spec.name, k))
                    }))
                }
                _ => None,
            })
            .collect()
    }

    /// Creates the claims of StatefulSet `spec`'s ordinal `ordinal` from its
    /// `volumeClaimTemplates` where they do not exist yet (upstream's
    /// `createPersistentVolumeClaims`); returns the new ones.
    pub fn ensure_claims(
        &mut self,
        spec: &crate::model::ServiceSpec,
        ordinal: u32,
    ) -> Vec<ClaimId> {
        let Some(set) = &spec.stateful else {
            return Vec::new();
        };
        let mut new = Vec::new();
        for t in &set.claim_templates {
            let name = crate::stateful::claim_name(&t.name, &spec.name, ordinal);
            if self.claim_named(&spec.meta.namespace, &name).is_some() {
                continue;
            }
            let mut c = PersistentVolumeClaim::new(&spec.meta.namespace, &name, t.class.as_deref());
            c.request = t.request;
            c.access_modes = t.access_modes;
            new.push(self.add_claim(c));
        }
        new
    }

    /// The ordinal of StatefulSet pod `replica`.
    pub fn ordinal(&self, replica: crate::model::ReplicaId) -> Option<u32> {
        self.ordinals.get(&replica).copied()
    }

    /// Records StatefulSet pod `replica`'s ordinal.
    pub fn set_ordinal(&mut self, replica: crate::model::ReplicaId, ordinal: u32) {
        self.ordinals.insert(replica, ordinal);
    }

    /// Deletes claim `claim` (a StatefulSet's `whenScaled: Delete`): it
    /// leaves the index, and its volume is deleted (reclaim `Delete`) or
    /// kept `Released` (`Retain`). Returns the volume it was bound to.
    pub fn delete_claim(&mut self, claim: ClaimId) -> Option<VolumeId> {
        let c = self.claims[claim.0 as usize].clone();
        self.claim_index
            .remove(&(c.namespace.clone(), c.name.clone()));
        let v = self.bound_volume(claim);
        if let Some(v) = v {
            let pv = &mut self.volumes[v.0 as usize];
            match pv.reclaim {
                ReclaimPolicy::Delete => {
                    // Gone: out of the index, and a released volume never
                    // matches a claim again.
                    self.volume_index.remove(&pv.name);
                    pv.phase = VolumePhase::Released;
                    pv.claim_ref = None;
                }
                ReclaimPolicy::Retain => pv.phase = VolumePhase::Released,
            }
        }
        v
    }
}

impl Storage {
    /// The volumes `pod`'s claims are bound to, in volume order.
    pub fn pod_volumes(&self, pod: &PodStorage<'_>) -> Vec<VolumeId> {
        pod.claims
            .iter()
            .flatten()
            .filter_map(|&c| self.bound_volume(c))
            .collect()
    }

    /// The PV controller's first pass over `Immediate` claims (and claims
    /// without a class), before any pod is scheduled: each unbound one is
    /// bound to its smallest matching volume ([`Storage::find_matching_volume`]
    /// without a node), or, if its class provisions, to a new volume in a
    /// topology segment of `nodes` its `allowedTopologies` admit. The
    /// segment is chosen as the CSI external-provisioner orders them: the
    /// segments in name order, starting at a hash of the claim name (FNV-1a
    /// here), so a set of claims spreads over the zones. Claims that can do
    /// neither stay pending ("pod has unbound immediate PersistentVolumeClaims").
    pub fn bind_immediate(&mut self, nodes: &[&crate::model::NodeSpec]) -> Vec<StorageChange> {
        let mut changes = Vec::new();
        for k in 0..self.claims.len() {
            let id = ClaimId(k as u32);
            let c = self.claim(id);
            if !c.volume_name.is_empty() || self.delays_binding(c) != Ok(false) {
                continue;
            }
            if let Some(v) = self.find_matching_volume(id, None, &[]) {
                self.bind(id, v);
                changes.push(StorageChange::Bound {
                    claim: id,
                    volume: v,
                });
                continue;
            }
            let Some(class) = self
                .class(c.class_name())
                .filter(|c| c.provisions())
                .cloned()
            else {
                continue;
            };
            let mut segments: Vec<&Labels> = nodes
                .iter()
                .map(|n| &n.labels)
                .filter(|l| {
                    class.allowed_topologies.is_empty()
                        || class.allowed_topologies.iter().any(|t| t.matches(l))
                })
                .collect();
            let key = |l: &Labels| Storage::provisioned_affinity(&class, l);
            segments.sort_by_key(|l| format!("{:?}", key(l)));
            segments.dedup_by_key(|l| format!("{:?}", key(l)));
            if segments.is_empty() {
                continue;
            }
            let pick = fnv1a(&c.name) as usize % segments.len();
            let labels = segments[pick].clone();
            let v = self.provision(id, &labels);
            changes.push(StorageChange::Provisioned {
                claim: id,
                volume: v,
            });
        }
        changes
    }
}

/// 64-bit FNV-1a of `s`.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
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
