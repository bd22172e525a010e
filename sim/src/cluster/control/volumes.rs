//! The control path's storage glue: a StatefulSet pod's creation with its
//! claims, PreBind and attach at a bind, release at a pod's end, and the
//! waits for exclusive volumes still attached elsewhere (the state lives
//! in [`super::crate::cluster::volumes::Attachments`]).

use orkestra_core::model::{NodeId, ReplicaId, ReplicaState, ServiceId};
use orkestra_core::storage::{AccessModes, PodStorage, Storage, StorageChange, VolumeId};
use orkestra_core::time::SimDuration;

use super::super::{Event, Simulation};

/// Whether volume `v` attaches to one node at a time (`ReadWriteOnce`,
/// `ReadWriteOncePod`).
fn exclusive(storage: &Storage, v: VolumeId) -> bool {
    let m = storage.volume(v).access_modes;
    m.contains(AccessModes::RWO) || m.contains(AccessModes::RWOP)
}

impl<'a> Simulation<'a> {
    /// Creates a pending replica of `service` and queues it.
    /// The StatefulSet controller creates the pod of `ordinal`: its claims
    /// first where missing (event `claim-create`; the PV controller binds
    /// `Immediate` ones at once), then the pod, named `<set>-<ordinal>`.
    pub(in crate::cluster) fn create_stateful(&mut self, service: ServiceId, ordinal: u32) -> u32 {
        let spec = &self.scenario.desired.services[service.0 as usize];
        let new = self.observed.storage.ensure_claims(spec, ordinal);
        for &c in &new {
            let claim = self.observed.storage.claim(c);
            let subject = format!("{}/{}", claim.namespace, claim.name);
            self.emit_event("claim-create", &subject, &format!("pod={}", spec.name));
        }
        if !new.is_empty() {
            let nodes: Vec<&orkestra_core::model::NodeSpec> =
                self.observed.nodes.iter().map(|n| &*n.spec).collect();
            let storage = &mut self.observed.storage;
            let _ = storage.bind_immediate(&nodes);
        }
        let id = self.observed.replicas.len() as u32;
        self.observed.storage.set_ordinal(ReplicaId(id), ordinal);
        self.create(service, "")
    }

    /// PreBind and attach for a replica of `spec` bound to `node`: its
    /// delayed claims are bound or provisioned there (events
    /// `volume-bind`, `volume-provision`) and its volumes attached.
    pub(in crate::cluster) fn bind_volumes(
        &mut self,
        r: u32,
        spec: &orkestra_core::model::ServiceSpec,
        node: NodeId,
    ) {
        let n = self.observed.nodes[node.0 as usize].spec.clone();
        let storage = &mut self.observed.storage;
        let claims = storage.claims_of(spec, Some(ReplicaId(r)));
        let pod = PodStorage::of(spec, &claims);
        let changes = storage.place_pod(&pod, node, &n);
        for v in storage.pod_volumes(&pod) {
            if !exclusive(storage, v) {
                storage.attach(node, v);
            }
        }
        for c in changes {
            let (kind, claim, volume) = match c {
                StorageChange::Bound { claim, volume } => ("volume-bind", claim, volume),
                StorageChange::Provisioned { claim, volume } => ("volume-provision", claim, volume),
            };
            let c = self.observed.storage.claim(claim);
            let subject = format!("{}/{}", c.namespace, c.name);
            let detail = format!(
                "volume={} node={}",
                self.observed.storage.volume(volume).name,
                n.name
            );
            self.emit_event(kind, &subject, &detail);
        }
    }

    /// A replica of `spec` left `node`: its volumes are released and detached.
    pub(in crate::cluster) fn release_volumes(
        &mut self,
        r: u32,
        spec: &orkestra_core::model::ServiceSpec,
        node: NodeId,
    ) {
        let n = self.observed.nodes[node.0 as usize].spec.clone();
        let storage = &mut self.observed.storage;
        let claims = storage.claims_of(spec, Some(ReplicaId(r)));
        let pod = PodStorage::of(spec, &claims);
        storage.release_pod(&pod, node, &n);
        for v in storage.pod_volumes(&pod) {
            if !exclusive(storage, v) {
                storage.detach(node, v);
            }
        }
        let now = self.engine.now();
        let healthy = self.observed.nodes[node.0 as usize].ready;
        if let Some(vols) = &mut self.volumes {
            for w in vols.unmount(r, healthy, now) {
                self.retry_mount(w);
            }
        }
    }

    /// The exclusive volumes replica `r` mounts, with their classes'
    /// attach and detach delays.
    fn volume_needs(&self, r: u32) -> Vec<crate::cluster::volumes::Need> {
        let s = self.observed.replicas[r as usize].service.0 as usize;
        let spec = &self.scenario.desired.services[s];
        let storage = &self.observed.storage;
        let claims = storage.claims_of(spec, Some(ReplicaId(r)));
        storage
            .pod_volumes(&PodStorage::of(spec, &claims))
            .into_iter()
            .filter(|&v| exclusive(storage, v))
            .map(|v| {
                let class = storage.class(&storage.volume(v).class);
                (
                    v,
                    class.map_or(SimDuration::ZERO, |c| c.attach_delay),
                    class.map_or(SimDuration::ZERO, |c| c.detach_delay),
                )
            })
            .collect()
    }

    /// Mounts `r`'s exclusive volumes on `node`: `true` if its container
    /// must wait for them (an attach delay, or a volume still attached to
    /// another node), `false` to start now.
    pub(in crate::cluster) fn wait_for_volumes(
        &mut self,
        r: u32,
        node: NodeId,
        warm: bool,
    ) -> bool {
        let needs = self.volume_needs(r);
        if needs.is_empty() {
            return false;
        }
        let now = self.engine.now();
        let Some(vols) = &mut self.volumes else {
            return false;
        };
        let (mount, moved) = vols.mount(r, node, &needs, now);
        self.volumes_moved(&moved);
        match mount {
            crate::cluster::volumes::Mount::At(t) if t <= now || warm => false,
            crate::cluster::volumes::Mount::At(t) => {
                self.engine
                    .schedule(t, Event::VolumesAttached { replica: r });
                true
            }
            crate::cluster::volumes::Mount::Wait => {
                let name = self.replica_name(r);
                let v = self.observed.storage.volume(needs[0].0).name.clone();
                self.emit_event(
                    "volume-wait",
                    &name,
                    &format!("volume={v} reason=Multi-Attach: in use on another node"),
                );
                true
            }
        }
    }

    /// VolumeAttachments follow the moves.
    fn volumes_moved(&mut self, moved: &[crate::cluster::volumes::Moved]) {
        for m in moved {
            if let Some(from) = m.from {
                self.observed.storage.detach(from, m.volume);
            }
            self.observed.storage.attach(m.to, m.volume);
        }
    }

    /// Waiting replica `w` may mount now that a volume is being freed.
    fn retry_mount(&mut self, w: u32) {
        let Some(vols) = &mut self.volumes else {
            return;
        };
        let Some((node, needs)) = vols.waiting(w) else {
            return;
        };
        let now = self.engine.now();
        let (mount, moved) = vols.mount(w, node, &needs, now);
        self.volumes_moved(&moved);
        if let crate::cluster::volumes::Mount::At(t) = mount {
            self.engine
                .schedule(t.max(now), Event::VolumesAttached { replica: w });
        }
    }

    /// Node `node` is ready again: its idle volumes detach, and replicas
    /// waiting for them may mount.
    pub(in crate::cluster) fn volumes_node_ready(&mut self, node: NodeId) {
        let now = self.engine.now();
        let Some(vols) = &mut self.volumes else {
            return;
        };
        for w in vols.node_ready(node, now) {
            self.retry_mount(w);
        }
    }

    /// `r`'s volumes are attached: its container starts, if it still waits.
    pub(in crate::cluster) fn on_volumes_attached(&mut self, r: u32) {
        if self.observed.replicas[r as usize].state != ReplicaState::Starting {
            return;
        }
        let name = self.replica_name(r);
        self.emit_event("volumes-attached", &name, "");
        self.start_container(r);
    }
}
