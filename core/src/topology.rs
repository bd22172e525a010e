//! Cluster topology: regions → zones → racks → nodes, and the links between
//! zones that requests cross.
//!
//! Key decision: the topology is *built* as a petgraph graph — containment
//! edges (region → zone → rack → node) and link edges between zones
//! carrying latency and loss — because that is its natural shape and every
//! "what is under this domain" question (the nodes a rack or zone failure
//! takes down) is a walk of it. But requests never walk it: at build time
//! the link edges are folded into a dense zone × zone matrix of
//! (latency, loss, cut) and nodes into a node → zone index, so the
//! per-request question "what does a request from this node to that node
//! pay?" is two array reads. Partitions and degraded links update the
//! matrix cells of the affected pairs (O(|a|·|b|)), never the graph.
//!
//! Semantics: a listed link applies in both directions; unlisted pairs of
//! distinct zones get `[topology] defaultLatency`/`defaultLoss`; a zone to
//! itself costs nothing unless a link `from = to` says otherwise. Loss of a
//! degraded link combines independently: `1 − (1 − base)(1 − added)`.
//! Partitions are counted per pair, so two overlapping partitions of the
//! same pair heal only when both have.

use std::collections::BTreeMap;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{Dfs, EdgeFiltered, EdgeRef};

use crate::model::{NodeId, NodeSpec};
use crate::time::SimDuration;

/// Dense index of a zone in a [`Topology`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ZoneId(pub u16);

/// A link as written in `[[topology.links]]`.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkSpec {
    /// One zone.
    pub from: String,
    /// The other zone (may equal `from`: the zone's own network).
    pub to: String,
    /// One-way latency.
    pub latency: SimDuration,
    /// Loss probability in [0, 1].
    pub loss: f64,
}

/// The validated `[topology]` of a scenario plus each node's rack and region.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TopologySpec {
    /// Region of every zone (zones of pools without `region` are in region `default`).
    pub zone_region: BTreeMap<String, String>,
    /// Rack of every node, in `Scenario::nodes` order.
    pub node_rack: Vec<String>,
    /// Links between zones.
    pub links: Vec<LinkSpec>,
    /// Latency between distinct zones without a link.
    pub default_latency: SimDuration,
    /// Loss between distinct zones without a link.
    pub default_loss: f64,
    /// Where requests come from and the control plane sits
    /// (`[topology] ingressZone`; default: the zone of the first node).
    pub ingress_zone: String,
    /// The scenario has a `[topology]` table.
    pub declared: bool,
}

/// What a request between two zones pays.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Link {
    /// One-way latency.
    pub latency: SimDuration,
    /// Probability that the request is lost.
    pub loss: f64,
    /// No request gets through.
    pub cut: bool,
}

/// A vertex of the topology graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Domain {
    /// A region.
    Region(String),
    /// A zone.
    Zone(String),
    /// A rack.
    Rack(String),
    /// A node.
    Node(NodeId),
}

/// An edge of the topology graph.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Tie {
    /// The source contains the target.
    Contains,
    /// A network link between two zones.
    Link {
        /// One-way latency.
        latency: SimDuration,
        /// Loss probability.
        loss: f64,
    },
}

/// The topology graph and the precomputed zone × zone link matrix.
#[derive(Clone, Debug)]
pub struct Topology {
    graph: DiGraph<Domain, Tie>,
    index: BTreeMap<(u8, String), NodeIndex>,
    zones: Vec<String>,
    node_zone: Vec<ZoneId>,
    base: Vec<Link>,
    cuts: Vec<u32>,
    added: Vec<(SimDuration, f64)>,
}

impl Topology {
    /// Builds the graph of `nodes` (every node's zone and, from `spec`,
    /// rack and region) and folds its links into the matrix.
    pub fn build<N: std::borrow::Borrow<NodeSpec>>(spec: &TopologySpec, nodes: &[N]) -> Topology {
        let mut t = Topology {
            graph: DiGraph::new(),
            index: BTreeMap::new(),
            zones: Vec::new(),
            node_zone: Vec::with_capacity(nodes.len()),
            base: Vec::new(),
            cuts: Vec::new(),
            added: Vec::new(),
        };
        let mut zone_ids: BTreeMap<String, ZoneId> = BTreeMap::new();
        for (i, n) in nodes.iter().enumerate() {
            let n: &NodeSpec = n.borrow();
            let region = spec
                .zone_region
                .get(&n.zone)
                .cloned()
                .unwrap_or_else(|| "default".to_string());
            let r = t.vertex(0, &region, Domain::Region(region.clone()));
            let z = t.vertex(1, &n.zone, Domain::Zone(n.zone.clone()));
            t.contain(r, z);
            let rack = spec
                .node_rack
                .get(i)
                .cloned()
                .unwrap_or_else(|| n.name.clone());
            let k = t.vertex(2, &rack, Domain::Rack(rack.clone()));
            t.contain(z, k);
            let v = t.graph.add_node(Domain::Node(NodeId(i as u32)));
            t.graph.add_edge(k, v, Tie::Contains);
            let next = ZoneId(zone_ids.len() as u16);
            let id = *zone_ids.entry(n.zone.clone()).or_insert(next);
            t.node_zone.push(id);
        }
        t.zones = vec![String::new(); zone_ids.len()];
        for (name, id) in &zone_ids {
            t.zones[id.0 as usize] = name.clone();
        }
        for l in &spec.links {
            if let (Some(&a), Some(&b)) = (
                t.index.get(&(1, l.from.clone())),
                t.index.get(&(1, l.to.clone())),
            ) {
                let tie = Tie::Link {
                    latency: l.latency,
                    loss: l.loss,
                };
                t.graph.add_edge(a, b, tie);
            }
        }
        // Fold the graph's link edges into the matrix.
        let z = t.zones.len();
        let default = Link {
            latency: spec.default_latency,
            loss: spec.default_loss,
            cut: false,
        };
        t.base = (0..z * z)
            .map(|k| {
                if k / z == k % z {
                    Link::default()
                } else {
                    default
                }
            })
            .collect();
        for e in t.graph.edge_references() {
            if let Tie::Link { latency, loss } = *e.weight() {
                let (Domain::Zone(a), Domain::Zone(b)) =
                    (&t.graph[e.source()], &t.graph[e.target()])
                else {
                    continue;
                };
                let (a, b) = (zone_ids[a].0 as usize, zone_ids[b].0 as usize);
                let link = Link {
                    latency,
                    loss,
                    cut: false,
                };
                t.base[a * z + b] = link;
                t.base[b * z + a] = link;
            }
        }
        t.cuts = vec![0; z * z];
        t.added = vec![(SimDuration::ZERO, 0.0); z * z];
        t
    }

    fn vertex(&mut self, level: u8, name: &str, d: Domain) -> NodeIndex {
        if let Some(&v) = self.index.get(&(level, name.to_string())) {
            return v;
        }
        let v = self.graph.add_node(d);
        self.index.insert((level, name.to_string()), v);
        v
    }

    fn contain(&mut self, parent: NodeIndex, child: NodeIndex) {
        if self.graph.find_edge(parent, child).is_none() {
            self.graph.add_edge(parent, child, Tie::Contains);
        }
    }

    /// The zones, by [`ZoneId`].
    pub fn zones(&self) -> &[String] {
        &self.zones
    }

    /// The id of zone `name`.
    pub fn zone_id(&self, name: &str) -> Option<ZoneId> {
        self.zones
            .iter()
            .position(|z| z == name)
            .map(|i| ZoneId(i as u16))
    }

    /// The zone of a node (O(1)).
    pub fn node_zone(&self, node: NodeId) -> ZoneId {
        self.node_zone[node.0 as usize]
    }

    /// What a request from zone `a` to zone `b` pays now (O(1)).
    pub fn link(&self, a: ZoneId, b: ZoneId) -> Link {
        let k = a.0 as usize * self.zones.len() + b.0 as usize;
        let base = self.base[k];
        let (lat, loss) = self.added[k];
        Link {
            latency: base.latency + lat,
            // Exact base loss when undegraded (1 − (1 − p) is not p in floats).
            loss: if loss == 0.0 {
                base.loss
            } else {
                1.0 - (1.0 - base.loss) * (1.0 - loss)
            },
            cut: self.cuts[k] > 0,
        }
    }

    /// What a request from node `from` to node `to` pays now (O(1)).
    pub fn between(&self, from: NodeId, to: NodeId) -> Link {
        self.link(self.node_zone(from), self.node_zone(to))
    }

    fn pairs(&self, a: &[ZoneId], b: &[ZoneId]) -> Vec<usize> {
        let z = self.zones.len();
        let mut ks = Vec::with_capacity(2 * a.len() * b.len());
        for x in a {
            for y in b {
                ks.push(x.0 as usize * z + y.0 as usize);
                ks.push(y.0 as usize * z + x.0 as usize);
            }
        }
        ks
    }

    /// Cuts every link between a zone of `a` and a zone of `b`.
    pub fn partition(&mut self, a: &[ZoneId], b: &[ZoneId]) {
        for k in self.pairs(a, b) {
            self.cuts[k] += 1;
        }
    }

    /// Undoes one [`Topology::partition`] of the same sides.
    pub fn heal(&mut self, a: &[ZoneId], b: &[ZoneId]) {
        for k in self.pairs(a, b) {
            self.cuts[k] = self.cuts[k].saturating_sub(1);
        }
    }

    /// Adds `latency` and `loss` to the links between `a` and `b` (replacing
    /// an earlier degradation of the same pair).
    pub fn degrade(&mut self, a: &[ZoneId], b: &[ZoneId], latency: SimDuration, loss: f64) {
        for k in self.pairs(a, b) {
            self.added[k] = (latency, loss);
        }
    }

    /// Ends a degradation of the links between `a` and `b`.
    pub fn restore(&mut self, a: &[ZoneId], b: &[ZoneId]) {
        for k in self.pairs(a, b) {
            self.added[k] = (SimDuration::ZERO, 0.0);
        }
    }

    /// The nodes under a domain (a region, zone or rack by name), in id
    /// order; empty for an unknown name. Walks the containment edges.
    pub fn nodes_under(&self, domain: &Domain) -> Vec<NodeId> {
        let key = match domain {
            Domain::Region(n) => (0, n.clone()),
            Domain::Zone(n) => (1, n.clone()),
            Domain::Rack(n) => (2, n.clone()),
            Domain::Node(id) => return vec![*id],
        };
        let Some(&start) = self.index.get(&key) else {
            return Vec::new();
        };
        let tree = EdgeFiltered::from_fn(&self.graph, |e| matches!(e.weight(), Tie::Contains));
        let mut dfs = Dfs::new(&tree, start);
        let mut out = Vec::new();
        while let Some(v) = dfs.next(&tree) {
            if let Domain::Node(id) = self.graph[v] {
                out.push(id);
            }
        }
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::node;

    fn ms(x: u64) -> SimDuration {
        SimDuration::from_millis(x)
    }

    /// Zones a, b (region eu) and c (region us); two nodes per zone, racks a-r0/a-r1 in zone a.
    fn topo() -> Topology {
        let nodes: Vec<NodeSpec> = ["a", "a", "b", "b", "c", "c"]
            .iter()
            .enumerate()
            .map(|(i, z)| node(&format!("n{i}")).zone(z).spec())
            .collect();
        let spec = TopologySpec {
            zone_region: BTreeMap::from([
                ("a".into(), "eu".into()),
                ("b".into(), "eu".into()),
                ("c".into(), "us".into()),
            ]),
            node_rack: ["a-r0", "a-r1", "b-r0", "b-r0", "c-r0", "c-r0"]
                .map(String::from)
                .to_vec(),
            links: vec![
                LinkSpec {
                    from: "a".into(),
                    to: "b".into(),
                    latency: ms(2),
                    loss: 0.001,
                },
                LinkSpec {
                    from: "c".into(),
                    to: "c".into(),
                    latency: ms(1),
                    loss: 0.0,
                },
            ],
            default_latency: ms(80),
            default_loss: 0.01,
            ..Default::default()
        };
        Topology::build(&spec, &nodes)
    }

    #[test]
    fn matrix_reads_the_links() {
        let t = topo();
        let id = |z| t.zone_id(z).unwrap();
        let cases = [
            ("a", "b", 2, 0.001), // listed
            ("b", "a", 2, 0.001), // both directions
            ("a", "c", 80, 0.01), // default
            ("a", "a", 0, 0.0),   // own zone, free
            ("c", "c", 1, 0.0),   // own zone with a link
        ];
        for (x, y, lat, loss) in cases {
            let l = t.link(id(x), id(y));
            assert_eq!(
                (l.latency, l.loss, l.cut),
                (ms(lat), loss, false),
                "{x}->{y}"
            );
        }
        // Node 0 is in zone a, node 4 in zone c.
        assert_eq!(t.between(NodeId(0), NodeId(4)).latency, ms(80));
    }

    #[test]
    fn partitions_count_and_degrades_combine() {
        let mut t = topo();
        let (a, b, c) = (
            t.zone_id("a").unwrap(),
            t.zone_id("b").unwrap(),
            t.zone_id("c").unwrap(),
        );
        t.partition(&[a], &[b, c]);
        t.partition(&[a], &[b]);
        assert!(t.link(b, a).cut && t.link(a, c).cut && !t.link(b, c).cut);
        t.heal(&[a], &[b, c]);
        assert!(t.link(a, b).cut, "the second partition still holds");
        assert!(!t.link(a, c).cut);
        t.heal(&[a], &[b]);
        assert!(!t.link(a, b).cut);
        // Degrade a–b by 10 ms, 10 % loss: 2 + 10 = 12 ms; 1 − 0.999·0.9 = 0.1009.
        t.degrade(&[a], &[b], ms(10), 0.1);
        let l = t.link(b, a);
        assert_eq!(l.latency, ms(12));
        assert!((l.loss - 0.1009).abs() < 1e-12, "{}", l.loss);
        t.restore(&[a], &[b]);
        assert_eq!(t.link(a, b).latency, ms(2));
    }

    #[test]
    fn domains_contain_their_nodes() {
        let t = topo();
        let ids = |v: &[u32]| v.iter().map(|&i| NodeId(i)).collect::<Vec<_>>();
        let cases = [
            (Domain::Region("eu".into()), ids(&[0, 1, 2, 3])),
            (Domain::Region("us".into()), ids(&[4, 5])),
            (Domain::Zone("b".into()), ids(&[2, 3])),
            (Domain::Rack("a-r1".into()), ids(&[1])),
            (Domain::Rack("nope".into()), ids(&[])),
        ];
        for (d, want) in cases {
            assert_eq!(t.nodes_under(&d), want, "{d:?}");
        }
    }
}
