//! Nodes that come and go: the node autoscaler's scans, booting nodes,
//! drains and removals, and what the nodes cost.
//!
//! Key decision: node ids are never reused. A node added by a scale-up is
//! appended to every per-node array (the observed cluster, capacity
//! accounting, [`NodeInfo`] and the books) as not ready, and becomes ready
//! after its group's boot delay; a node chosen for removal is cordoned
//! (not ready), its replicas are deleted like any other deletion — their
//! services' replica controller creates replacements that the scheduler
//! places elsewhere — and once its last replica has left it is removed:
//! still in the arrays, not ready, never used again. Every readiness change
//! goes through [`ObservedCluster::set_ready`], so placement caches and
//! parked replicas see it in the change log.
//!
//! [`ObservedCluster::set_ready`]: orkestra_core::model::ObservedCluster::set_ready

use orkestra_core::autoscale::cluster::{NodeAction, NodeAutoscale, NodeInfo, NodeLife, ScanInput};
use orkestra_core::capacity::Capacity;
use orkestra_core::metrics::Integral;
use orkestra_core::model::{DesiredState, NodeId, NodeStatus, ObservedCluster};
use orkestra_core::results::{NodeAutoscalingSummary, NodeGroupSummary};
use orkestra_core::rng::{StreamRng, names, stream};
use orkestra_core::scenario::Scenario;
use orkestra_core::time::SimTime;

use super::Event;
use super::output::Recorder;
use crate::engine::Engine;

/// When a node went (it came at its `NodeInfo::created`) and what it costs.
#[derive(Clone, Debug)]
struct NodeBook {
    removed: Option<SimTime>,
    cost_per_hour: f64,
    /// Why it is draining (for its `node-remove` row).
    reason: String,
    /// The node replacing it: it is drained once that one is ready.
    replaced_by: Option<u32>,
}

/// The node autoscaler of a run and what it did.
struct NodeScaler {
    scaler: Box<dyn NodeAutoscale>,
    rng: StreamRng,
    scale_ups: u64,
    nodes_added: u64,
    scale_downs: u64,
    replacements: u64,
    nodes_removed: u64,
    nodes_t: Integral,
    /// Per group: initial, now, most, added, removed.
    groups: Vec<GroupCount>,
}

#[derive(Clone, Copy, Debug, Default)]
struct GroupCount {
    initial: u32,
    now: u32,
    max: u32,
    added: u64,
    removed: u64,
}

/// The nodes of a run beside their observed status: lifecycle, books,
/// capacity accounting and the node autoscaler.
pub(super) struct Nodes {
    /// Per node: its group and lifecycle (what the node autoscaler reads).
    info: Vec<NodeInfo>,
    /// Per node: when it existed, its cost, why it drains.
    books: Vec<NodeBook>,
    /// The node autoscaler, when the scenario has one.
    scaler: Option<NodeScaler>,
    /// Per group: the index of its next node's name.
    next_index: Vec<u32>,
    /// Nodes not removed.
    pub(super) existing: u32,
    /// Allocation and stranding over every node.
    pub(super) capacity: Capacity,
}

impl Nodes {
    /// The scenario's initial nodes (`nodes`, their observed status), and
    /// the node autoscaler if the scenario has one.
    pub(super) fn new(scenario: &Scenario, nodes: &[NodeStatus]) -> Nodes {
        let group_of = |pool: &str| {
            scenario
                .node_groups
                .iter()
                .position(|g| g.name == pool)
                .map(|g| g as u32)
        };
        let info: Vec<NodeInfo> = scenario
            .nodes
            .iter()
            .map(|n| NodeInfo {
                group: group_of(&n.pool),
                life: NodeLife::Ready,
                created: SimTime::ZERO,
            })
            .collect();
        let books = scenario
            .nodes
            .iter()
            .map(|n| NodeBook {
                removed: None,
                cost_per_hour: scenario.pool_costs.get(&n.pool).copied().unwrap_or(0.0),
                reason: String::new(),
                replaced_by: None,
            })
            .collect();
        let mut groups = vec![GroupCount::default(); scenario.node_groups.len()];
        for n in &info {
            if let Some(g) = n.group {
                let c = &mut groups[g as usize];
                c.initial += 1;
                c.now += 1;
                c.max += 1;
            }
        }
        let next_index = groups.iter().map(|c| c.initial).collect();
        let scaler = scenario.node_autoscaler.as_ref().map(|spec| {
            let mut nodes_t = Integral::default();
            nodes_t.set(SimTime::ZERO, info.len() as f64);
            NodeScaler {
                scaler: spec.build(),
                rng: stream(scenario.seed, &format!("{}/node-autoscaler", names::POLICY)),
                scale_ups: 0,
                nodes_added: 0,
                scale_downs: 0,
                replacements: 0,
                nodes_removed: 0,
                nodes_t,
                groups,
            }
        });
        Nodes {
            existing: info.len() as u32,
            capacity: Capacity::new(nodes, scenario.desired.services.iter().map(|s| s.requests)),
            info,
            books,
            scaler,
            next_index,
        }
    }

    /// Schedules the node autoscaler's first scan, if there is one.
    pub(super) fn schedule_first_scan(&self, engine: &mut Engine<Event>) {
        if let Some(ns) = &self.scaler {
            engine.schedule(SimTime::ZERO + ns.scaler.scan_interval(), Event::NodeScan);
        }
    }

    /// Node `n`'s lifecycle.
    pub(super) fn life(&self, n: u32) -> NodeLife {
        self.info[n as usize].life
    }

    /// The nodes that exist (not removed), in id order.
    pub(super) fn existing_nodes<'x>(
        &'x self,
        observed: &'x ObservedCluster,
    ) -> impl Iterator<Item = &'x NodeStatus> {
        observed
            .nodes
            .iter()
            .zip(&self.info)
            .filter(|(_, i)| i.life != NodeLife::Removed)
            .map(|(n, _)| n)
    }

    /// The node autoscaler's periodic scan at `now`: its actions (none
    /// without one), and its next scan scheduled.
    pub(super) fn scan(
        &mut self,
        now: SimTime,
        scenario: &Scenario,
        observed: &ObservedCluster,
        desired: &DesiredState,
        engine: &mut Engine<Event>,
    ) -> Vec<NodeAction> {
        let Some(ns) = &mut self.scaler else {
            return Vec::new();
        };
        let input = ScanInput {
            now,
            groups: &scenario.node_groups,
            nodes: &self.info,
            observed,
            desired,
            pdbs: &scenario.pod_disruption_budgets,
        };
        let actions = ns.scaler.scan(&input, &mut ns.rng);
        let next = now + ns.scaler.scan_interval();
        engine.schedule(next, Event::NodeScan);
        actions
    }

    /// The node autoscaler decided a scale-up.
    pub(super) fn count_scale_up(&mut self) {
        if let Some(ns) = &mut self.scaler {
            ns.scale_ups += 1;
        }
    }

    /// The node autoscaler decided a removal, or a replacement.
    pub(super) fn count_scale_down(&mut self, replace: bool) {
        if let Some(ns) = &mut self.scaler {
            ns.scale_downs += 1;
            ns.replacements += u64::from(replace);
        }
    }

    /// The group of `node` (its pool, for a node outside the groups).
    pub(super) fn group_name<'x>(
        &self,
        node: u32,
        scenario: &'x Scenario,
        observed: &'x ObservedCluster,
    ) -> &'x str {
        match self.info[node as usize].group {
            Some(g) => &scenario.node_groups[g as usize].name,
            None => &observed.nodes[node as usize].spec.pool,
        }
    }

    /// Adds a booting node to group `g` at `now` (not ready while it
    /// boots; the change log records it); returns its id.
    pub(super) fn add(
        &mut self,
        g: u32,
        now: SimTime,
        scenario: &Scenario,
        observed: &mut ObservedCluster,
    ) -> u32 {
        let group = &scenario.node_groups[g as usize];
        let spec = group.node_spec(self.next_index[g as usize]);
        self.next_index[g as usize] += 1;
        if let Some(ns) = &mut self.scaler {
            ns.nodes_added += 1;
            let c = &mut ns.groups[g as usize];
            c.added += 1;
            c.now += 1;
            c.max = c.max.max(c.now);
        }
        let id = observed.nodes.len() as u32;
        observed.nodes.push(NodeStatus::new(spec));
        observed.set_ready(NodeId(id), false);
        self.info.push(NodeInfo {
            group: Some(g),
            life: NodeLife::Booting,
            created: now,
        });
        self.books.push(NodeBook {
            removed: None,
            cost_per_hour: group.cost_per_hour,
            reason: String::new(),
            replaced_by: None,
        });
        self.existing += 1;
        if let Some(ns) = &mut self.scaler {
            ns.nodes_t.set(now, f64::from(self.existing));
        }
        self.capacity
            .add_node(now, id as usize, &observed.nodes[id as usize]);
        id
    }

    /// Node `new` replaces `old`: `old` is drained once `new` is ready.
    pub(super) fn set_replaces(&mut self, new: u32, old: u32) {
        self.books[old as usize].replaced_by = Some(new);
    }

    /// Booting `node` finished booting: whether it was booting.
    pub(super) fn booted(&mut self, node: u32) -> bool {
        let i = node as usize;
        if self.info[i].life != NodeLife::Booting {
            return false;
        }
        self.info[i].life = NodeLife::Ready;
        true
    }

    /// The `node-ready` row's detail of booted `node`, and the node it replaces.
    pub(super) fn ready_detail(
        &self,
        node: u32,
        now: SimTime,
        scenario: &Scenario,
        observed: &ObservedCluster,
    ) -> (String, Vec<u32>) {
        let booted = now - self.info[node as usize].created;
        let group = self.group_name(node, scenario, observed);
        let replaces = (0..self.books.len() as u32)
            .filter(|&o| self.books[o as usize].replaced_by == Some(node))
            .collect();
        (format!("group={group} reason=booted in {booted}"), replaces)
    }

    /// Marks `node` draining and not ready (no new replicas), keeping `reason`.
    pub(super) fn cordon(&mut self, node: u32, reason: &str, observed: &mut ObservedCluster) {
        let i = node as usize;
        self.info[i].life = NodeLife::Draining;
        if observed.nodes[i].ready {
            observed.set_ready(NodeId(node), false);
        }
        self.books[i].reason = reason.to_string();
    }

    /// `node` drains for `reason`: cordoned (with its `node-drain` row) if
    /// not yet; false when it is removed already.
    pub(super) fn drain(
        &mut self,
        node: u32,
        reason: &str,
        now: SimTime,
        scenario: &Scenario,
        observed: &mut ObservedCluster,
        rec: &mut Recorder,
    ) -> bool {
        match self.info[node as usize].life {
            NodeLife::Removed => return false,
            NodeLife::Draining => {}
            _ => {
                self.cordon(node, reason, observed);
                let name = &observed.nodes[node as usize].spec.name;
                let group = self.group_name(node, scenario, observed);
                rec.event(
                    now,
                    "node-drain",
                    name,
                    &format!("group={group} reason={reason}"),
                );
            }
        }
        true
    }

    /// A replica left `node` at `now`: a draining node that is now empty goes.
    pub(super) fn left(
        &mut self,
        node: u32,
        now: SimTime,
        scenario: &Scenario,
        observed: &mut ObservedCluster,
        rec: &mut Recorder,
    ) {
        let i = node as usize;
        if self.info[i].life != NodeLife::Draining || observed.nodes[i].replicas > 0 {
            return;
        }
        // A node cordoned for a replacement that is not ready yet is kept.
        let waiting = self.books[i]
            .replaced_by
            .is_some_and(|new| self.info[new as usize].life == NodeLife::Booting);
        if waiting {
            return;
        }
        self.info[i].life = NodeLife::Removed;
        self.books[i].removed = Some(now);
        observed.set_ready(NodeId(node), false);
        self.capacity.remove_node(now, i, &observed.nodes[i]);
        self.existing -= 1;
        let group = self.info[i].group;
        if let Some(ns) = &mut self.scaler {
            ns.nodes_removed += 1;
            ns.nodes_t.set(now, f64::from(self.existing));
            if let Some(g) = group {
                let c = &mut ns.groups[g as usize];
                c.now -= 1;
                c.removed += 1;
            }
        }
        let detail = format!(
            "group={} reason={}",
            self.group_name(node, scenario, observed),
            self.books[i].reason
        );
        rec.event(now, "node-remove", &observed.nodes[i].spec.name, &detail);
    }

    /// Σ node-hours and cost over every node, and the node autoscaler's
    /// summary, at `end`.
    pub(super) fn summary(
        &mut self,
        end: SimTime,
        scenario: &Scenario,
    ) -> (f64, f64, Option<NodeAutoscalingSummary>) {
        let hours = |b: &NodeBook, n: &NodeInfo| {
            b.removed
                .unwrap_or(end)
                .saturating_since(n.created)
                .as_secs_f64()
                / 3600.0
        };
        let (mut node_hours, mut cost) = (0.0, 0.0);
        let groups = &scenario.node_groups;
        let mut per_group = vec![(0.0f64, 0.0f64); groups.len()];
        for (b, n) in self.books.iter().zip(&self.info) {
            let h = hours(b, n);
            node_hours += h;
            cost += h * b.cost_per_hour;
            if let Some(g) = n.group {
                per_group[g as usize].0 += h;
                per_group[g as usize].1 += h * b.cost_per_hour;
            }
        }
        let Some(ns) = &mut self.scaler else {
            return (node_hours, cost, None);
        };
        let nodes_mean = ns.nodes_t.area(end) / end.as_secs_f64().max(f64::MIN_POSITIVE);
        let summary = NodeAutoscalingSummary {
            autoscaler: ns.scaler.name().to_string(),
            scale_ups: ns.scale_ups,
            nodes_added: ns.nodes_added,
            scale_downs: ns.scale_downs,
            replacements: ns.replacements,
            nodes_removed: ns.nodes_removed,
            nodes_min: ns.nodes_t.min() as u32,
            nodes_max: ns.nodes_t.max() as u32,
            nodes_mean,
            groups: groups
                .iter()
                .zip(&ns.groups)
                .zip(per_group)
                .map(|((g, c), (h, cost))| NodeGroupSummary {
                    name: g.name.clone(),
                    min: g.min,
                    max: g.max,
                    nodes_initial: c.initial,
                    nodes_at_end: c.now,
                    nodes_max: c.max,
                    nodes_added: c.added,
                    nodes_removed: c.removed,
                    node_hours: h,
                    cost,
                })
                .collect(),
        };
        (node_hours, cost, Some(summary))
    }
}
