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

mod binding;
#[cfg(test)]
mod binding_tests;
#[cfg(test)]
mod limits_tests;
mod objects;
pub mod plugins;

pub use objects::*;
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

    /// The objects and bindings without what existing nodes hold (for
    /// estimates on nodes that do not exist yet).
    pub fn for_new_nodes(&self) -> Storage {
        if self.is_empty() {
            return Storage::default();
        }
        Storage {
            nodes: Vec::new(),
            ..self.clone()
        }
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
}
