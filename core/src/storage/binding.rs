//! Binding claims to volumes: upstream's `FindMatchingVolume` and the
//! scheduler binder's matching, provisioning checks and PreBind, and the PV
//! controller's first pass over immediate claims.

use super::*;

impl Storage {
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
