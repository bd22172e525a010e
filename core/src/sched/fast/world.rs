//! The shape-independent half of the cache: node classes (zone domain,
//! hostname and zone labels present), taints, and every service's
//! replicas per node and per zone, batch binds included.
//!
//! Key decision: synced on every decision from the change log and the
//! batch (each bind applied as it appears, the previous batch's nodes
//! re-read when a new batch starts), rebuilt when the epoch or node count
//! changes or the log was cut; a rebuild bumps `generation`, which makes
//! every shape rebuild too (class numbers are not stable across rebuilds).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::model::{LABEL_HOSTNAME, LABEL_ZONE, NodeStatus, ServiceId};
use crate::placement::{Batch, ClusterView};

/// No class yet (a node not read since the last rebuild).
pub(super) const NO_CLASS: u32 = u32::MAX;

/// A multiplicative hasher for the dense integer keys of the caches.
#[derive(Default, Clone, Copy)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// What the policy has read of the current batch.
#[derive(Debug, Default)]
pub(super) struct BatchCursor {
    id: u64,
    seen: usize,
    nodes: Vec<u32>,
}

impl BatchCursor {
    /// Pushes the nodes whose batch-included state may have changed since
    /// the last call (all the previous batch's nodes if the batch is new)
    /// and returns whether the batch is new and the range of binds not
    /// seen before.
    pub(super) fn advance(
        &mut self,
        batch: &Batch,
        dirty: &mut Vec<u32>,
    ) -> (bool, std::ops::Range<usize>) {
        let changed = batch.changed();
        let restarted = batch.id() != self.id || changed.len() < self.seen;
        if restarted {
            dirty.append(&mut self.nodes);
            self.id = batch.id();
            self.seen = 0;
        }
        let new = self.seen..changed.len();
        for n in &changed[new.clone()] {
            dirty.push(n.0);
            self.nodes.push(n.0);
        }
        self.seen = changed.len();
        (restarted, new)
    }
}

/// A node class: nodes of one class with no replica of the service share
/// their spread score.
#[derive(Clone, Copy, Debug)]
pub(super) struct Class {
    pub(super) domain: u32,
    pub(super) hostname: bool,
    pub(super) zone: bool,
}

/// One service's replicas: the nodes holding some (with counts, batch
/// binds included) and the count per zone domain.
#[derive(Debug, Default)]
pub(super) struct ServiceIndex {
    pub(super) members: Vec<(u32, u32)>,
    pos: IdMap<u32, u32>,
    zones: Vec<i64>,
}

impl ServiceIndex {
    fn add(&mut self, node: u32, domain: u32, count: u32) {
        self.pos.insert(node, self.members.len() as u32);
        self.members.push((node, count));
        if self.zones.len() <= domain as usize {
            self.zones.resize(domain as usize + 1, 0);
        }
        self.zones[domain as usize] += i64::from(count);
    }

    fn remove(&mut self, node: u32, domain: u32, count: u32) {
        if let Some(k) = self.pos.remove(&node) {
            self.members.swap_remove(k as usize);
            if let Some(&(moved, _)) = self.members.get(k as usize) {
                self.pos.insert(moved, k);
            }
        }
        self.zones[domain as usize] -= i64::from(count);
    }

    pub(super) fn has(&self, node: u32) -> bool {
        self.pos.contains_key(&node)
    }

    pub(super) fn zone(&self, domain: u32) -> i64 {
        self.zones.get(domain as usize).copied().unwrap_or(0)
    }
}

/// What does not depend on the request's shape: node classes, taints and
/// every service's replicas.
#[derive(Debug, Default)]
pub(super) struct World {
    epoch: u64,
    pub(super) generation: u64,
    len: usize,
    pos: u64,
    cursor: BatchCursor,
    batch_binds: IdMap<u32, Vec<ServiceId>>,
    pub(super) domains: HashMap<String, u32>,
    classes: HashMap<(u32, bool, bool), u32>,
    pub(super) class: Vec<Class>,
    pub(super) node_class: Vec<u32>,
    tainted: Vec<bool>,
    pub(super) tainted_nodes: usize,
    node_services: Vec<Vec<(ServiceId, u32)>>,
    services: IdMap<ServiceId, ServiceIndex>,
    spare: Vec<(ServiceId, u32)>,
}

impl World {
    /// The replicas of `service`, if it has had any.
    pub(super) fn service(&self, service: ServiceId) -> Option<&ServiceIndex> {
        self.services.get(&service)
    }

    /// Brings the world up to `view`: re-reads the nodes changed in the log
    /// since the last call and the batch's new (or dropped) binds; rebuilds
    /// on a new epoch, a new node count or a cut log. `dirty` is scratch.
    pub(super) fn sync(&mut self, view: &ClusterView<'_>, dirty: &mut Vec<u32>) {
        let since = (self.epoch == view.changes.epoch() && self.len == view.len())
            .then(|| view.changes.since(self.pos))
            .flatten();
        let Some(changed) = since else {
            return self.rebuild(view);
        };
        dirty.clear();
        dirty.extend(changed.iter().map(|n| n.0));
        let (restarted, new) = self.cursor.advance(view.batch, dirty);
        if restarted {
            self.batch_binds.clear();
        }
        self.record_binds(view.batch, new);
        self.pos = view.changes.end();
        for &i in dirty.iter() {
            self.refresh(view, i as usize);
        }
    }

    fn record_binds(&mut self, batch: &Batch, new: std::ops::Range<usize>) {
        for k in new {
            let node = batch.changed()[k].0;
            let service = batch.changed_services()[k];
            self.batch_binds.entry(node).or_default().push(service);
        }
    }

    fn rebuild(&mut self, view: &ClusterView<'_>) {
        let n = view.len();
        *self = World {
            epoch: view.changes.epoch(),
            generation: self.generation + 1,
            len: n,
            pos: view.changes.end(),
            node_class: vec![NO_CLASS; n],
            tainted: vec![false; n],
            node_services: vec![Vec::new(); n],
            ..World::default()
        };
        let (_, new) = self.cursor.advance(view.batch, &mut Vec::new());
        self.record_binds(view.batch, new);
        for i in 0..n {
            self.refresh(view, i);
        }
    }

    fn intern(&mut self, node: &NodeStatus) -> u32 {
        let zone = node.label(LABEL_ZONE);
        let name = zone.unwrap_or_default();
        let domain = match self.domains.get(name) {
            Some(&d) => d,
            None => {
                let d = self.domains.len() as u32;
                self.domains.insert(name.to_string(), d);
                d
            }
        };
        let key = (domain, node.label(LABEL_HOSTNAME).is_some(), zone.is_some());
        *self.classes.entry(key).or_insert_with(|| {
            self.class.push(Class {
                domain,
                hostname: key.1,
                zone: key.2,
            });
            self.class.len() as u32 - 1
        })
    }

    /// Re-reads node `i`: class, taints and its replicas (world + batch).
    fn refresh(&mut self, view: &ClusterView<'_>, i: usize) {
        let node = &view.nodes[i];
        let class = self.intern(node);
        let old_class = std::mem::replace(&mut self.node_class[i], class);
        let tainted = !node.spec.taints.is_empty();
        if tainted != std::mem::replace(&mut self.tainted[i], tainted) {
            if tainted {
                self.tainted_nodes += 1;
            } else {
                self.tainted_nodes -= 1;
            }
        }
        let mut now = std::mem::take(&mut self.spare);
        now.clear();
        now.extend(node.services.iter().filter(|s| s.1 > 0));
        for &s in self.batch_binds.get(&(i as u32)).into_iter().flatten() {
            match now.iter_mut().find(|x| x.0 == s) {
                Some(x) => x.1 += 1,
                None => now.push((s, 1)),
            }
        }
        let before = std::mem::replace(&mut self.node_services[i], now);
        if old_class != NO_CLASS {
            let domain = self.class[old_class as usize].domain;
            for &(s, c) in &before {
                if let Some(index) = self.services.get_mut(&s) {
                    index.remove(i as u32, domain, c);
                }
            }
        }
        let domain = self.class[class as usize].domain;
        for &(s, c) in &self.node_services[i] {
            self.services.entry(s).or_default().add(i as u32, domain, c);
        }
        self.spare = before;
    }
}
