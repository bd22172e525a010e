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
use orkestra_core::metrics::Integral;
use orkestra_core::model::{NodeId, NodeStatus, ReplicaState, ServiceKind};
use orkestra_core::results::{NodeAutoscalingSummary, NodeGroupSummary};
use orkestra_core::rng::{StreamRng, names, stream};
use orkestra_core::scenario::Scenario;
use orkestra_core::time::SimTime;

use super::{Event, Simulation};

/// When a node existed and what it costs.
#[derive(Clone, Debug)]
pub(super) struct NodeBook {
    added: SimTime,
    removed: Option<SimTime>,
    cost_per_hour: f64,
    /// Why it is draining (for its `node-remove` row).
    reason: String,
    /// The node it replaces: drained once this one is ready.
    replaces: Option<u32>,
}

/// The node autoscaler of a run and what it did.
pub(super) struct NodeScaler {
    scaler: Box<dyn NodeAutoscale>,
    rng: StreamRng,
    /// Per group: the index of its next node's name.
    next_index: Vec<u32>,
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

/// The per-node arrays for the scenario's initial nodes, and the node
/// autoscaler if the scenario has one.
pub(super) fn initial(scenario: &Scenario) -> (Vec<NodeInfo>, Vec<NodeBook>, Option<NodeScaler>) {
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
        })
        .collect();
    let books = scenario
        .nodes
        .iter()
        .map(|n| NodeBook {
            added: SimTime::ZERO,
            removed: None,
            cost_per_hour: scenario.pool_costs.get(&n.pool).copied().unwrap_or(0.0),
            reason: String::new(),
            replaces: None,
        })
        .collect();
    let scaler = scenario.node_autoscaler.as_ref().map(|spec| {
        let mut groups = vec![GroupCount::default(); scenario.node_groups.len()];
        for n in &info {
            if let Some(g) = n.group {
                let c = &mut groups[g as usize];
                c.initial += 1;
                c.now += 1;
                c.max += 1;
            }
        }
        let mut nodes_t = Integral::default();
        nodes_t.set(SimTime::ZERO, info.len() as f64);
        NodeScaler {
            scaler: spec.build(),
            rng: stream(scenario.seed, &format!("{}/node-autoscaler", names::POLICY)),
            next_index: groups.iter().map(|c| c.initial).collect(),
            scale_ups: 0,
            nodes_added: 0,
            scale_downs: 0,
            replacements: 0,
            nodes_removed: 0,
            nodes_t,
            groups,
        }
    });
    (info, books, scaler)
}

impl NodeScaler {
    /// When the first scan is due.
    pub(super) fn first_scan(&self) -> SimTime {
        SimTime::ZERO + self.scaler.scan_interval()
    }
}

impl<'a> Simulation<'a> {
    /// The node autoscaler's periodic scan: applies its actions.
    pub(super) fn on_node_scan(&mut self) {
        // The scheduler acts on every change at this instant first, so a node
        // that just became ready is not seen empty before its replicas land.
        if self.reconcile_pending {
            self.reconcile_pending = false;
            self.reconcile(false);
        }
        let now = self.engine.now();
        let Some(ns) = &mut self.node_scaler else {
            return;
        };
        let input = ScanInput {
            now,
            groups: &self.scenario.node_groups,
            nodes: &self.node_info,
            observed: &self.observed,
            desired: &self.desired,
        };
        let actions = ns.scaler.scan(&input, &mut ns.rng);
        let next = now + ns.scaler.scan_interval();
        self.engine.schedule(next, Event::NodeScan);
        for a in actions {
            match a {
                NodeAction::ScaleUp {
                    group,
                    count,
                    reason,
                    ..
                } => {
                    if let Some(ns) = &mut self.node_scaler {
                        ns.scale_ups += 1;
                    }
                    for _ in 0..count {
                        self.add_node(group, &reason);
                    }
                }
                NodeAction::Remove { node, reason } => {
                    self.count_scale_down(false);
                    self.drain_node(node.0, &reason);
                }
                NodeAction::Replace {
                    node,
                    group,
                    reason,
                } => {
                    self.count_scale_down(true);
                    let old = node.0;
                    let name = self.observed.nodes[old as usize].spec.name.clone();
                    let new = self.add_node(group, &format!("replaces {name}"));
                    self.node_books[new as usize].replaces = Some(old);
                    self.cordon(old, &reason);
                    let group_name = self.group_name(old);
                    let new_name = self.observed.nodes[new as usize].spec.name.clone();
                    self.emit_event(
                        "node-drain",
                        &name,
                        &format!(
                            "group={group_name} reason={reason}; cordoned until {new_name} is ready"
                        ),
                    );
                }
            }
        }
    }

    fn count_scale_down(&mut self, replace: bool) {
        if let Some(ns) = &mut self.node_scaler {
            ns.scale_downs += 1;
            ns.replacements += u64::from(replace);
        }
    }

    fn group_name(&self, node: u32) -> &str {
        match self.node_info[node as usize].group {
            Some(g) => &self.scenario.node_groups[g as usize].name,
            None => &self.observed.nodes[node as usize].spec.pool,
        }
    }

    /// Adds a booting node to group `g`; returns its id.
    fn add_node(&mut self, g: u32, reason: &str) -> u32 {
        let now = self.engine.now();
        let scenario: &'a Scenario = self.scenario;
        let group = &scenario.node_groups[g as usize];
        let ns = self.node_scaler.as_mut().expect("a node autoscaler");
        let spec = group.node_spec(ns.next_index[g as usize]);
        ns.next_index[g as usize] += 1;
        ns.nodes_added += 1;
        let c = &mut ns.groups[g as usize];
        c.added += 1;
        c.now += 1;
        c.max = c.max.max(c.now);
        let id = self.observed.nodes.len() as u32;
        if let Some(f) = &mut self.faults {
            f.add_node();
        }
        if let Some(net) = &mut self.net {
            net.add_node(&spec.zone);
        }
        self.observed.nodes.push(NodeStatus::new(spec));
        // Not ready while it boots; the change log records it.
        self.observed.set_ready(NodeId(id), false);
        self.node_info.push(NodeInfo {
            group: Some(g),
            life: NodeLife::Booting,
        });
        self.node_books.push(NodeBook {
            added: now,
            removed: None,
            cost_per_hour: group.cost_per_hour,
            reason: String::new(),
            replaces: None,
        });
        self.nodes_existing += 1;
        ns.nodes_t.set(now, f64::from(self.nodes_existing));
        self.capacity
            .add_node(now, id as usize, &self.observed.nodes[id as usize]);
        let boot = group.boot_delay;
        let node_name = self.observed.nodes[id as usize].spec.name.clone();
        let detail = format!("group={} reason={reason}", group.name);
        self.emit_event("node-add", &node_name, &detail);
        self.engine
            .schedule(now + boot, Event::NodeReady { node: id });
        id
    }

    /// A booting node finished booting: it accepts replicas.
    pub(super) fn on_node_ready(&mut self, node: u32) {
        let i = node as usize;
        if self.node_info[i].life != NodeLife::Booting {
            return;
        }
        self.node_info[i].life = NodeLife::Ready;
        if self.cut_off(node) {
            return; // booted, but unheard: Ready when its zone's link heals
        }
        self.observed.set_ready(NodeId(node), true);
        let name = self.observed.nodes[i].spec.name.clone();
        let booted = self.engine.now() - self.node_books[i].added;
        let detail = format!("group={} reason=booted in {booted}", self.group_name(node));
        self.emit_event("node-ready", &name, &detail);
        self.mark_dirty(false);
        if let Some(old) = self.node_books[i].replaces {
            let reason = format!("replaced by {name}");
            self.drain_node(old, &reason);
        }
    }

    /// Marks `node` draining and not ready (no new replicas), keeping `reason`.
    fn cordon(&mut self, node: u32, reason: &str) {
        let i = node as usize;
        self.node_info[i].life = NodeLife::Draining;
        if self.observed.nodes[i].ready {
            self.observed.set_ready(NodeId(node), false);
        }
        self.node_books[i].reason = reason.to_string();
    }

    /// Cordons `node` (if not yet) and deletes its replicas; it is removed
    /// once empty.
    fn drain_node(&mut self, node: u32, reason: &str) {
        let i = node as usize;
        match self.node_info[i].life {
            NodeLife::Removed => return,
            NodeLife::Draining => {}
            _ => {
                self.cordon(node, reason);
                let name = self.observed.nodes[i].spec.name.clone();
                let detail = format!("group={} reason={reason}", self.group_name(node));
                self.emit_event("node-drain", &name, &detail);
            }
        }
        let doomed: Vec<u32> = self
            .observed
            .replicas
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.node == Some(NodeId(node))
                    && matches!(r.state, ReplicaState::Starting | ReplicaState::Ready)
                    && self.scenario.desired.services[r.service.0 as usize].kind
                        == ServiceKind::Service
            })
            .map(|(k, _)| k as u32)
            .collect();
        for r in doomed {
            self.delete(r);
        }
        self.mark_dirty(true);
        self.node_left(node);
    }

    /// A replica left `node`: a draining node that is now empty goes.
    pub(super) fn node_left(&mut self, node: u32) {
        let i = node as usize;
        if self.node_info[i].life != NodeLife::Draining || self.observed.nodes[i].replicas > 0 {
            return;
        }
        // A node cordoned for a replacement that is not ready yet is kept.
        let waiting = self
            .node_books
            .iter()
            .zip(&self.node_info)
            .any(|(b, n)| b.replaces == Some(node) && n.life == NodeLife::Booting);
        if waiting {
            return;
        }
        let now = self.engine.now();
        self.node_info[i].life = NodeLife::Removed;
        self.node_books[i].removed = Some(now);
        self.observed.set_ready(NodeId(node), false);
        self.capacity.remove_node(now, i, &self.observed.nodes[i]);
        self.nodes_existing -= 1;
        let group = self.node_info[i].group;
        if let Some(ns) = &mut self.node_scaler {
            ns.nodes_removed += 1;
            ns.nodes_t.set(now, f64::from(self.nodes_existing));
            if let Some(g) = group {
                let c = &mut ns.groups[g as usize];
                c.now -= 1;
                c.removed += 1;
            }
        }
        let name = self.observed.nodes[i].spec.name.clone();
        let detail = format!(
            "group={} reason={}",
            self.group_name(node),
            self.node_books[i].reason
        );
        self.emit_event("node-remove", &name, &detail);
    }

    /// Σ node-hours and cost over every node, and the node autoscaler's
    /// summary, at `end`.
    pub(super) fn node_summary(
        &mut self,
        end: SimTime,
    ) -> (f64, f64, Option<NodeAutoscalingSummary>) {
        let hours = |b: &NodeBook| {
            b.removed
                .unwrap_or(end)
                .saturating_since(b.added)
                .as_secs_f64()
                / 3600.0
        };
        let (mut node_hours, mut cost) = (0.0, 0.0);
        let groups = &self.scenario.node_groups;
        let mut per_group = vec![(0.0f64, 0.0f64); groups.len()];
        for (b, n) in self.node_books.iter().zip(&self.node_info) {
            let h = hours(b);
            node_hours += h;
            cost += h * b.cost_per_hour;
            if let Some(g) = n.group {
                per_group[g as usize].0 += h;
                per_group[g as usize].1 += h * b.cost_per_hour;
            }
        }
        let Some(ns) = &mut self.node_scaler else {
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
