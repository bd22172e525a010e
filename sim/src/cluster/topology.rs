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
//! kubelet never heard of them).

use orkestra_core::autoscale::cluster::NodeLife;
use orkestra_core::faults::{FailureScope, FaultKind};
use orkestra_core::model::{NodeId, ReplicaState};
use orkestra_core::rng::{StreamRng, names, stream};
use orkestra_core::scenario::Scenario;
use orkestra_core::topology::{Topology, ZoneId};

use super::{Event, Simulation};

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
        nodes.extend(scenario.node_groups.iter().map(|g| g.template.clone()));
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
}

impl Simulation<'_> {
    /// Whether node `n` is cut off from the ingress zone.
    pub(super) fn cut_off(&self, n: u32) -> bool {
        self.net.as_ref().is_some_and(|net| net.cut_off(n))
    }

    /// Applies a fault edge to the links (`partition`, `link-degrade`, and a
    /// `zone-outage`'s links); nodes whose zone was cut off from the ingress
    /// go silent, nodes whose zone is reachable again are heard again.
    /// Returns whether some zone was cut off.
    pub(super) fn net_fault(&mut self, kind: &FaultKind, start: bool, rec: usize) -> bool {
        let Some(net) = self.net.as_mut() else {
            return false;
        };
        match kind {
            FaultKind::Partition { a, b } => {
                let (a, b) = (net.zones(a), net.zones(b));
                if start {
                    net.topology.partition(&a, &b);
                } else {
                    net.topology.heal(&a, &b);
                }
            }
            FaultKind::LinkDegrade {
                a,
                b,
                latency,
                loss,
            } => {
                let (a, b) = (net.zones(a), net.zones(b));
                if start {
                    net.topology.degrade(&a, &b, *latency, *loss);
                } else {
                    net.topology.restore(&a, &b);
                }
            }
            FaultKind::ZoneOutage { zone, .. } => {
                let z = net.zones(std::slice::from_ref(zone));
                let others: Vec<ZoneId> = (0..net.topology.zones().len() as u16)
                    .map(ZoneId)
                    .filter(|o| !z.contains(o))
                    .collect();
                if start {
                    net.topology.partition(&z, &others);
                } else {
                    net.topology.heal(&z, &others);
                }
            }
            _ => return false,
        }
        let changed = net.refresh();
        if changed.is_empty() {
            return false;
        }
        let mut cut_any = false;
        for n in 0..net.node_zone.len() {
            let net = self.net.as_ref().expect("net");
            let Some(&(_, cut)) = changed.iter().find(|(z, _)| *z == net.node_zone[n]) else {
                continue;
            };
            let f = self.faults.as_ref().expect("link faults come with faults");
            if f.is_down(n as u32) {
                continue; // crashed: silent already, and heard when it recovers
            }
            match self.node_info[n].life {
                NodeLife::Removed => continue,
                // Never Ready yet: it stays unready until heard (`on_node_ready`).
                NodeLife::Booting if cut => continue,
                _ => {}
            }
            if cut {
                cut_any = true;
                self.go_silent(n as u32, rec);
            } else {
                self.heard_again(n as u32);
            }
        }
        cut_any
    }

    /// Node `n`'s heartbeats stop reaching the control plane now (it is
    /// cut off): NotReady at the closed-form instant, as after a crash.
    fn go_silent(&mut self, n: u32, rec: usize) {
        let now = self.engine.now();
        let f = self.faults.as_mut().expect("faults");
        let (epoch, not_ready) = f.silence(n, rec, now);
        self.engine
            .schedule(not_ready, Event::NodeNotReady { node: n, epoch });
    }

    /// Ready replica `r` of cut-off node `n` was taken out of the endpoints
    /// at NotReady: its container still runs.
    pub(super) fn net_unready(&mut self, n: u32, r: u32) {
        let dead = self.faults.as_ref().is_some_and(|f| f.is_dead(r));
        if !dead && self.cut_off(n) {
            self.net.as_mut().expect("net").unreached.push(r);
        }
    }

    /// Replica `r` passed its readiness check on a cut-off node: the
    /// control plane does not hear it; it is Ready once the link heals.
    pub(super) fn net_parks(&mut self, r: u32) -> bool {
        let node = self.observed.replicas[r as usize].node;
        if !node.is_some_and(|n| self.cut_off(n.0)) {
            return false;
        }
        self.net.as_mut().expect("net").unreached.push(r);
        true
    }

    /// Replica `r` is bound to cut-off `node`: it starts when the link heals.
    pub(super) fn net_holds(&mut self, r: u32, node: NodeId) -> bool {
        if !self.cut_off(node.0) {
            return false;
        }
        self.net.as_mut().expect("net").held.push(r);
        true
    }

    /// Replica `r` of NotReady node `n` is evicted: if `n` is cut off (not
    /// crashed), its container stops now, with the requests it still holds.
    pub(super) fn net_evict(&mut self, n: u32, r: u32, rec: usize) {
        if !self.cut_off(n) {
            return;
        }
        let net = self.net.as_mut().expect("net");
        if let Some(k) = net.held.iter().position(|&h| h == r) {
            net.held.swap_remove(k);
            return; // never started
        }
        net.unreached.retain(|&u| u != r);
        self.kill(r, rec);
    }

    /// Node `n`, cut off but not crashed, is heard again: its replicas the
    /// control plane took out are Ready again, those bound meanwhile start.
    pub(super) fn net_resume(&mut self, n: u32) {
        let Some(net) = self.net.as_mut() else { return };
        let on = |r: &u32, obs: &orkestra_core::model::ObservedCluster| {
            obs.replicas[*r as usize].node == Some(NodeId(n))
        };
        let (held, rest): (Vec<u32>, Vec<u32>) =
            net.held.iter().partition(|r| on(r, &self.observed));
        net.held = rest;
        let (unreached, rest): (Vec<u32>, Vec<u32>) =
            net.unreached.iter().partition(|r| on(r, &self.observed));
        net.unreached = rest;
        for r in unreached {
            self.on_ready(r); // no-op unless still Starting and alive
        }
        for r in held {
            if self.observed.replicas[r as usize].state == ReplicaState::Starting {
                self.start_container(r);
            }
        }
    }

    /// Per service, Ready replicas on cut-off nodes that are alive (they
    /// serve nothing); `None` when no zone is cut off.
    pub(super) fn cut_ready(&self) -> Option<Vec<u32>> {
        let net = self.net.as_ref().filter(|n| n.any_cut)?;
        let mut out = vec![0; self.services.len()];
        let f = self.faults.as_ref();
        for (r, st) in self.observed.replicas.iter().enumerate() {
            if st.state == ReplicaState::Ready
                && st.node.is_some_and(|n| net.cut_off(n.0))
                && !f.is_some_and(|f| f.is_dead(r as u32))
            {
                out[st.service.0 as usize] += 1;
            }
        }
        Some(out)
    }
}
