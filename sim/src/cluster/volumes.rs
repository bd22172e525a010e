//! Volume attachments: which node each exclusive volume is attached to,
//! and when a detach completes, so a replica whose volume is still
//! attached elsewhere waits before its container can start.
//!
//! Key decision: only volumes that cannot be attached to two nodes at once
//! (`ReadWriteOnce`, `ReadWriteOncePod`) are tracked; the others attach
//! wherever their pods go. A volume whose last pod left a healthy node
//! detaches after its class's `detachDelay`; one whose pod left a node
//! that is not ready (crashed, cut off) stays attached until the
//! attach-detach controller's force detach, `maxWaitForUnmountDuration`
//! (6 minutes, `--attach-detach-reconcile-max-wait-unmount-duration`)
//! after the pod's deletion, or until the node is ready again and its
//! kubelet reports the volume unmounted. A replica bound while its volume
//! is attached elsewhere starts `attachDelay` after that detach
//! (upstream's `Multi-Attach error … Volume is already exclusively attached
//! to one node`, then the attach).

use std::collections::BTreeMap;

use orkestra_core::model::NodeId;
use orkestra_core::storage::VolumeId;
use orkestra_core::time::{SimDuration, SimTime};

/// One exclusive volume's attachment.
#[derive(Clone, Copy, Debug)]
struct Attachment {
    node: NodeId,
    /// Pods on `node` using it.
    users: u32,
    /// When its detach from `node` completes, once no pod uses it.
    detach_at: Option<SimTime>,
    /// Its class's detach delay.
    detach: SimDuration,
}

/// What [`Attachments::mount`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mount {
    /// Every volume is attached to the node at this time (≥ now).
    At(SimTime),
    /// A volume is in use by a pod on another node: wait for it to leave.
    Wait,
}

/// One volume a pod mounts: `(volume, its class's attach delay, detach delay)`.
pub(super) type Need = (VolumeId, SimDuration, SimDuration);

/// The attachments of the exclusive volumes, and the replicas waiting.
#[derive(Debug)]
pub(super) struct Attachments {
    volumes: BTreeMap<VolumeId, Attachment>,
    /// Replicas bound to a node while one of their volumes is in use
    /// elsewhere, with what they need.
    waiting: BTreeMap<u32, (NodeId, Vec<Need>)>,
    /// Volumes each replica holds on its node.
    held: BTreeMap<u32, (NodeId, Vec<Need>)>,
    max_wait_for_unmount: SimDuration,
}

/// A volume attachment moved (for the storage state's VolumeAttachments).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Moved {
    /// The volume.
    pub volume: VolumeId,
    /// Detached from here, if it was attached.
    pub from: Option<NodeId>,
    /// Attached here.
    pub to: NodeId,
}

impl Attachments {
    pub(super) fn new(max_wait_for_unmount: SimDuration) -> Attachments {
        Attachments {
            volumes: BTreeMap::new(),
            waiting: BTreeMap::new(),
            held: BTreeMap::new(),
            max_wait_for_unmount,
        }
    }

    /// Replica `r`, bound to `node` at `now`, mounts `needs`: when they are
    /// all attached there, or `Wait`. On success the attachments move
    /// (returned, for the VolumeAttachments) and `r` holds them.
    pub(super) fn mount(
        &mut self,
        r: u32,
        node: NodeId,
        needs: &[Need],
        now: SimTime,
    ) -> (Mount, Vec<Moved>) {
        let mut at = now;
        for &(v, attach, _) in needs {
            match self.volumes.get(&v) {
                None => at = at.max(now + attach),
                Some(a) if a.node == node => {}
                Some(a) => match a.detach_at {
                    Some(d) if a.users == 0 => at = at.max(d.max(now) + attach),
                    _ => {
                        self.waiting.insert(r, (node, needs.to_vec()));
                        return (Mount::Wait, Vec::new());
                    }
                },
            }
        }
        let mut moved = Vec::new();
        for &(v, _, detach) in needs {
            let from = self.volumes.get(&v).map(|a| a.node);
            let fresh = Attachment {
                node,
                users: 0,
                detach_at: None,
                detach,
            };
            let a = self.volumes.entry(v).or_insert(fresh);
            if a.node != node {
                *a = fresh;
            }
            a.users += 1;
            a.detach_at = None;
            if from != Some(node) {
                moved.push(Moved {
                    volume: v,
                    from,
                    to: node,
                });
            }
        }
        self.waiting.remove(&r);
        self.held.insert(r, (node, needs.to_vec()));
        (Mount::At(at), moved)
    }

    /// Replica `r` left its node at `now` (`healthy`: the node is ready):
    /// the volumes it held start detaching. Returns the waiting replicas
    /// that may now mount, in id order.
    pub(super) fn unmount(&mut self, r: u32, healthy: bool, now: SimTime) -> Vec<u32> {
        self.waiting.remove(&r);
        let Some((_, needs)) = self.held.remove(&r) else {
            return Vec::new();
        };
        let mut freed = Vec::new();
        for (v, _, detach) in needs {
            let Some(a) = self.volumes.get_mut(&v) else {
                continue;
            };
            a.users = a.users.saturating_sub(1);
            if a.users == 0 {
                let wait = if healthy {
                    detach
                } else {
                    self.max_wait_for_unmount
                };
                a.detach_at = Some(now + wait);
                freed.push(v);
            }
        }
        self.waiters_of(&freed)
    }

    /// `node` is ready again at `now`: its kubelet reports the volumes no
    /// pod uses as unmounted, so their detaches complete after the detach
    /// delay. Returns the waiting replicas that may mount sooner.
    pub(super) fn node_ready(&mut self, node: NodeId, now: SimTime) -> Vec<u32> {
        let mut freed = Vec::new();
        for (v, a) in &mut self.volumes {
            if a.node == node && a.users == 0 {
                let d = now + a.detach;
                if a.detach_at.is_none_or(|t| d < t) {
                    a.detach_at = Some(d);
                    freed.push(*v);
                }
            }
        }
        self.waiters_of(&freed)
    }

    /// The waiting replicas that need one of `volumes`.
    fn waiters_of(&self, volumes: &[VolumeId]) -> Vec<u32> {
        self.waiting
            .iter()
            .filter(|(_, (_, needs))| needs.iter().any(|n| volumes.contains(&n.0)))
            .map(|(r, _)| *r)
            .collect()
    }

    /// What waiting replica `r` needs, and where.
    pub(super) fn waiting(&self, r: u32) -> Option<(NodeId, Vec<Need>)> {
        self.waiting.get(&r).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: VolumeId = VolumeId(0);
    fn s(x: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs(x)
    }

    #[test]
    fn a_volume_left_on_a_dead_node_waits_for_the_force_detach() {
        let mut a = Attachments::new(SimDuration::from_secs(360));
        let need = [(V, SimDuration::from_secs(10), SimDuration::from_secs(5))];
        // First attach: 10 s.
        assert_eq!(a.mount(1, NodeId(0), &need, s(0)).0, Mount::At(s(10)));
        // A second pod elsewhere while the first holds it: wait.
        assert_eq!(a.mount(2, NodeId(1), &need, s(20)).0, Mount::Wait);
        // The first leaves a dead node at 405 s: force detach at 765 s; the
        // waiter may try again and attaches 10 s after.
        assert_eq!(a.unmount(1, false, s(405)), [2]);
        assert_eq!(a.mount(2, NodeId(1), &need, s(405)).0, Mount::At(s(775)));
        // From a healthy node: the detach delay, 5 s.
        assert!(a.unmount(2, true, s(800)).is_empty());
        assert_eq!(a.mount(3, NodeId(0), &need, s(800)).0, Mount::At(s(815)));
        // The same node again: already attached.
        a.unmount(3, false, s(900));
        assert_eq!(a.mount(4, NodeId(0), &need, s(910)).0, Mount::At(s(910)));
        // A dead node back at 1000 s: its idle volume detaches 5 s later.
        a.unmount(4, false, s(950));
        assert!(a.node_ready(NodeId(0), s(1000)).is_empty());
        assert_eq!(a.mount(5, NodeId(1), &need, s(1000)).0, Mount::At(s(1015)));
    }
}
