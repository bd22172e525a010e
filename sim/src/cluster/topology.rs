//! Zones on the request path: what a request pays between the ingress
//! zone and the zone of the replica that serves it, and what a cut link
//! does to the nodes behind it.
//!
//! Key decision: requests only ever cross one link, (ingress zone, replica's
//! zone) — the load balancers, clients and control plane sit in
//! `[topology] ingressZone` — so the run keeps, per zone, the [`Hop`] from
//! the ingress (round trip, loss over both legs, cut), refreshed from the
//! core's [`Topology`] matrix at each partition, degradation or zone-outage
//! edge, and per node its zone. An attempt pays two array reads at dispatch
//! (a cut or lost attempt fails there, on the gone-endpoint path, so it is
//! retried within the client's budget and reported to outlier detection)
//! and two at completion, where the round trip is added to the recorded
//! latency before the timeout check — no events of its own. Adding the
//! round trip at completion is exact for a replica's queue: every request
//! to a replica crosses the same link, so its queue sees the arrivals one
//! one-way latency later, and a client's give-up reaches it one one-way
//! latency after the deadline, which is the deadline in that shifted frame.
//! The latency charged is the link's when the response leaves; a response
//! over a link cut while its request was in flight fails then. A run
//! without `[topology]`, `partition`, `link-degrade` or an outage of the
//! ingress zone has no [`Net`], and the request path pays one `Option` test.
//!
//! Heartbeats: nodes in a zone cut off from the ingress go silent like a
//! crashed node (NotReady at the closed-form instant, eviction after
//! `tolerationSeconds`, through `cluster/faults/`), but their containers
//! keep running: their replicas stop being counted Ready at NotReady, and
//! only eviction stops them (requests they still hold are lost then). When
//! the link heals the node is Ready again and the replicas not evicted
//! are Ready again; replicas bound to a cut-off node start only then (its
//! kubelet never heard of them). [`Net`] keeps the links and the replicas
//! they hold back; `cluster/healing.rs` applies what a cut or a heal does
//! to the nodes.

use orkestra_core::faults::{FailureScope, FaultKind};
use orkestra_core::model::{NodeId, ObservedCluster, ReplicaState};
use orkestra_core::rng::{StreamRng, names, stream};
use orkestra_core::scenario::Scenario;
use orkestra_core::topology::{Topology, ZoneId};

use super::faults::Faults;

/// What a request from the ingress zone to one zone pays now.
#[derive(Clone, Copy, Debug, Default)]
struct Hop {
    /// Request and response: 2 × the one-way latency, ns.
    round_trip: u64,
    /// Probability that the request or its response is lost: 1 − (1 − loss)².
    lost: f64,
    /// No request gets through.
    cut: bool,
}

/// The topology state of a run that applies it.
pub(super) struct Net {
    topology: Topology,
    ingress: ZoneId,
    /// Per node: its zone.
    node_zone: Vec<u16>,
    /// Per zone: the hop from the ingress.
    hops: Vec<Hop>,
    /// `topology/loss`: drawn only on links with loss.
    rng: StreamRng,
    /// Some zone is cut off from the ingress.
    any_cut: bool,
    /// Replicas whose containers run on cut-off nodes but that the control
    /// plane does not count Ready (taken out at NotReady, or ready while cut off).
    unreached: Vec<u32>,
    /// Replicas bound to cut-off nodes whose kubelets have not heard of them.
    held: Vec<u32>,
}

impl Net {
    /// The topology state of `scenario`, or `None` when nothing in it puts
    /// a price on a request or cuts a link the ingress uses.
    pub(super) fn new(scenario: &Scenario) -> Option<Box<Net>> {
        let spec = &scenario.resilience.topology;
        let faults = &scenario.resilience.faults;
        let ingress = &spec.ingress_zone;
        let cuts = faults.scheduled.iter().any(|f| match &f.kind {
            FaultKind::Partition { .. } | FaultKind::LinkDegrade { .. } => true,
            FaultKind::ZoneOutage { zone, .. } => zone == ingress,
            _ => false,
        }) || faults
            .stochastic
            .iter()
            .any(|p| p.scope == FailureScope::Zone && p.units.iter().any(|(z, _)| z == ingress));
        if !spec.declared && !cuts {
            return None;
        }
        // Node groups' templates too, so every zone a node can ever be in is known.
        let mut nodes = scenario.nodes.clone();
        nodes.extend(
            scenario
                .node_groups
                .iter()
                .map(|g| std::sync::Arc::new(g.template.clone())),
        );
        let topology = Topology::build(spec, &nodes);
        let node_zone = (0..scenario.nodes.len())
            .map(|i| topology.node_zone(NodeId(i as u32)).0)
            .collect();
        let mut net = Net {
            ingress: topology.zone_id(ingress).unwrap_or(ZoneId(0)),
            hops: vec![Hop::default(); topology.zones().len()],
            topology,
            node_zone,
            rng: stream(scenario.seed, names::TOPOLOGY_LOSS),
            any_cut: false,
            unreached: Vec::new(),
            held: Vec::new(),
        };
        net.refresh();
        Some(Box::new(net))
    }

    /// A node was added in zone `zone` (node ids are appended).
    pub(super) fn add_node(&mut self, zone: &str) {
        let z = self
            .topology
            .zone_id(zone)
            .expect("node groups' zones are known");
        self.node_zone.push(z.0);
    }

    #[inline]
    fn hop(&self, node: NodeId) -> Hop {
        self.hops[self.node_zone[node.0 as usize] as usize]
    }

    /// Whether an attempt on a replica of `node` fails: the link is cut, or
    /// the request or its response is lost (one draw, only on lossy links).
    #[inline]
    pub(super) fn drops(&mut self, node: Option<NodeId>) -> bool {
        let Some(n) = node else { return false };
        let h = self.hop(n);
        h.cut || (h.lost > 0.0 && rand::RngExt::random::<f64>(&mut self.rng) < h.lost)
    }

    /// A request served on `node` completes: its round trip (ns), and
    /// whether its response is lost (the link is cut now; with
    /// `draw_loss` — central-queue mode, which decides here — also a loss draw).
    #[inline]
    pub(super) fn complete(&mut self, node: Option<NodeId>, draw_loss: bool) -> (u64, bool) {
        let Some(n) = node else { return (0, false) };
        let h = self.hop(n);
        let lost = h.cut
            || (draw_loss && h.lost > 0.0 && rand::RngExt::random::<f64>(&mut self.rng) < h.lost);
        (h.round_trip, lost)
    }

    /// Whether `node` is cut off from the ingress (its heartbeats do not arrive).
    pub(super) fn cut_off(&self, node: u32) -> bool {
        self.node_zone
            .get(node as usize)
            .is_some_and(|&z| self.hops[z as usize].cut)
    }

    /// Recomputes every zone's hop; returns the zones whose cut changed.
    fn refresh(&mut self) -> Vec<(u16, bool)> {
        let mut changed = Vec::new();
        for (z, hop) in self.hops.iter_mut().enumerate() {
            let l = self.topology.link(self.ingress, ZoneId(z as u16));
            let keep = 1.0 - l.loss;
            let new = Hop {
                round_trip: 2 * l.latency.0,
                lost: if l.loss > 0.0 { 1.0 - keep * keep } else { 0.0 },
                cut: l.cut,
            };
            if new.cut != hop.cut {
                changed.push((z as u16, new.cut));
            }
            *hop = new;
        }
        self.any_cut = self.hops.iter().any(|h| h.cut);
        changed
    }

    fn zones(&self, names: &[String]) -> Vec<ZoneId> {
        names
            .iter()
            .filter_map(|n| self.topology.zone_id(n))
            .collect()
    }

    /// Applies a fault edge to the links (`partition`, `link-degrade`, and a
    /// `zone-outage`'s links): the zones whose cut changed (none for other
    /// kinds of fault).
    pub(super) fn apply(&mut self, kind: &FaultKind, start: bool) -> Vec<(u16, bool)> {
        match kind {
            FaultKind::Partition { a, b } => {
                let (a, b) = (self.zones(a), self.zones(b));
                if start {
                    self.topology.partition(&a, &b);
                } else {
                    self.topology.heal(&a, &b);
                }
            }
            FaultKind::LinkDegrade {
                a,
                b,
                latency,
                loss,
            } => {
                let (a, b) = (self.zones(a), self.zones(b));
                if start {
                    self.topology.degrade(&a, &b, *latency, *loss);
                } else {
                    self.topology.restore(&a, &b);
                }
            }
            FaultKind::ZoneOutage { zone, .. } => {
                let z = self.zones(std::slice::from_ref(zone));
                let others: Vec<ZoneId> = (0..self.topology.zones().len() as u16)
                    .map(ZoneId)
                    .filter(|o| !z.contains(o))
                    .collect();
                if start {
                    self.topology.partition(&z, &others);
                } else {
                    self.topology.heal(&z, &others);
                }
            }
            _ => return Vec::new(),
        }
        self.refresh()
    }

    /// The nodes in zones of `changed` (from [`Net::apply`]), in id order,
    /// each with whether its zone is now cut off.
    pub(super) fn nodes_in(&self, changed: &[(u16, bool)]) -> Vec<(u32, bool)> {
        self.node_zone
            .iter()
            .enumerate()
            .filter_map(|(n, z)| {
                let &(_, cut) = changed.iter().find(|(c, _)| c == z)?;
                Some((n as u32, cut))
            })
            .collect()
    }

    /// Ready replica `r` of node `n` was taken out of the endpoints at
    /// NotReady: if its container still runs (not `dead`) behind a cut
    /// link, it is Ready again once the link heals.
    pub(super) fn not_ready(&mut self, n: u32, r: u32, dead: bool) {
        if !dead && self.cut_off(n) {
            self.unreached.push(r);
        }
    }

    /// Replica `r` on `node` passed its readiness check: if the node is cut
    /// off, the control plane does not hear it (true); it is Ready once
    /// the link heals.
    pub(super) fn park(&mut self, r: u32, node: Option<NodeId>) -> bool {
        if !node.is_some_and(|n| self.cut_off(n.0)) {
            return false;
        }
        self.unreached.push(r);
        true
    }

    /// Replica `r` is bound to a cut-off node: it starts when the link heals.
    pub(super) fn hold(&mut self, r: u32) {
        self.held.push(r);
    }

    /// Replica `r` of NotReady node `n` is evicted: whether its container
    /// must be killed now (`n` is cut off, not crashed, and `r` started).
    pub(super) fn evict(&mut self, n: u32, r: u32) -> bool {
        if !self.cut_off(n) {
            return false;
        }
        if let Some(k) = self.held.iter().position(|&h| h == r) {
            self.held.swap_remove(k);
            return false; // never started
        }
        self.unreached.retain(|&u| u != r);
        true
    }

    /// Node `n`, cut off but not crashed, is heard again: (its replicas
    /// bound meanwhile, to start; its replicas the control plane took out,
    /// to be Ready again).
    pub(super) fn resume(&mut self, n: u32, observed: &ObservedCluster) -> (Vec<u32>, Vec<u32>) {
        let on = |r: &u32| observed.replicas[*r as usize].node == Some(NodeId(n));
        let (held, rest): (Vec<u32>, Vec<u32>) = self.held.iter().partition(|r| on(r));
        self.held = rest;
        let (unreached, rest): (Vec<u32>, Vec<u32>) = self.unreached.iter().partition(|r| on(r));
        self.unreached = rest;
        (held, unreached)
    }

    /// Per service (of `services`), Ready replicas on cut-off nodes that
    /// are alive (they serve nothing); `None` when no zone is cut off.
    pub(super) fn cut_ready(
        &self,
        observed: &ObservedCluster,
        faults: Option<&Faults>,
        services: usize,
    ) -> Option<Vec<u32>> {
        if !self.any_cut {
            return None;
        }
        let mut out = vec![0; services];
        for (r, st) in observed.replicas.iter().enumerate() {
            if st.state == ReplicaState::Ready
                && st.node.is_some_and(|n| self.cut_off(n.0))
                && !faults.is_some_and(|f| f.is_dead(r as u32))
            {
                out[st.service.0 as usize] += 1;
            }
        }
        Some(out)
    }
}
