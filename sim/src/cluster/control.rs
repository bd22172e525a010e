//! The control path: the replica controller and the scheduler run on the
//! observation, replicas are created, bound, started, made ready, deleted
//! and finished; job pods, the autoscalers, the node autoscaler and
//! rollouts act through the same steps.
//!
//! Key decision: every change that the controllers must see marks the run
//! dirty, and one `Reconcile` event at that instant runs the core's
//! `reconcile_replicas` (when a service replica changed) and the scheduling
//! queue, then applies their actions — the same functions the live backend
//! calls on observations from Docker. The subsystems decide (the node
//! autoscaler's scan in [`Nodes`](super::nodes::Nodes), a rollout's counts
//! in [`Rollouts`](super::rollout::Rollouts), an autoscaler's
//! recommendation in the metrics pipeline); the handlers here apply what
//! they decided to the world.

use std::collections::BTreeMap;

use orkestra_core::action::Action;
use orkestra_core::autoscale::cluster::NodeAction;
use orkestra_core::controller::reconcile_replicas;
use orkestra_core::metrics::ClusterMetrics;
use orkestra_core::model::{
    NodeId, ReplicaId, ReplicaState, ReplicaStatus, Resources, ServiceId, ServiceKind,
};
use orkestra_core::placement::Place;
use orkestra_core::queue::SchedulingQueue;
use orkestra_core::rng::{StreamRng, names, stream};
use orkestra_core::scenario::Scenario;

mod termination;
mod volumes;

use super::preemption::{Nomination, Preempting};
use super::{Event, Simulation, probes};

/// The controllers' and the scheduler's state.
pub(super) struct Control {
    placer: Box<dyn Place>,
    policy_rng: StreamRng,
    startup_rng: StreamRng,
    queue: SchedulingQueue,
    /// A `Reconcile` event is scheduled at this instant.
    pub(super) reconcile_pending: bool,
    /// A service replica changed: the replica controller must look again.
    pub(super) services_dirty: bool,
    /// The reason last written for each unschedulable replica.
    unschedulable: BTreeMap<u32, String>,
    /// Replicas not yet bound.
    pub(super) pending: u32,
    pub(super) metrics: ClusterMetrics,
    /// DefaultPreemption's state, when the policy preempts and priorities differ.
    pub(super) preemption: Option<Preempting>,
}

impl Control {
    pub(super) fn new(scenario: &Scenario) -> Control {
        let seed = scenario.seed;
        let placer = scenario.placer();
        let preemption = Preempting::new(scenario, placer.preempts());
        Control {
            placer,
            policy_rng: stream(seed, &format!("{}/placement", names::POLICY)),
            startup_rng: stream(seed, names::STARTUP),
            queue: SchedulingQueue::new(),
            reconcile_pending: false,
            services_dirty: true,
            unschedulable: BTreeMap::new(),
            pending: 0,
            metrics: ClusterMetrics::default(),
            preemption,
        }
    }
}

impl<'a> Simulation<'a> {
    /// Runs the replica controller (when a service replica changed) and the
    /// scheduling queue, and applies their actions.
    pub(super) fn reconcile(&mut self, warm: bool) {
        let now = self.engine.now();
        if std::mem::take(&mut self.ctl.services_dirty) {
            let actions = reconcile_replicas(&self.desired, &self.observed, now);
            for a in actions {
                match a {
                    Action::Create { service } => {
                        self.create(service, "");
                    }
                    Action::CreateStateful { service, ordinal } => {
                        self.create_stateful(service, ordinal);
                    }
                    Action::Delete { replica } => self.delete(replica.0),
                    _ => {}
                }
            }
        }
        if self.ctl.preemption.is_some() {
            self.bind_nominated(warm);
        }
        let mut failed = Vec::new();
        let binds = self.ctl.queue.schedule(
            self.scenario.queue,
            &self.desired,
            &self.observed,
            self.ctl.placer.as_mut(),
            &mut self.ctl.policy_rng,
        );
        for a in binds {
            match a {
                Action::Bind { replica, node } => self.bind(replica.0, node, warm),
                Action::Unschedulable { replica, why } => {
                    if self.ctl.preemption.is_some() {
                        failed.push(replica.0);
                    }
                    self.ctl.metrics.unschedulable(&why);
                    let why = why.to_string();
                    if self.ctl.unschedulable.get(&replica.0) != Some(&why) {
                        let name = self.replica_name(replica.0);
                        self.emit_event("unschedulable", &name, &why);
                        self.ctl.unschedulable.insert(replica.0, why);
                    }
                }
                _ => {}
            }
        }
        // PostFilter: after the round's binds are applied, so the dry run
        // sees them.
        for r in failed {
            self.try_preempt(r);
        }
    }

    fn create(&mut self, service: ServiceId, detail: &str) -> u32 {
        let now = self.engine.now();
        let id = self.observed.replicas.len() as u32;
        self.observed.replicas.push(ReplicaStatus {
            service,
            node: None,
            state: ReplicaState::Pending,
            since: now,
        });
        let spec = &self.scenario.desired.services[service.0 as usize];
        self.rollouts.created(service.0 as usize);
        self.req.add_replica(id, spec);
        self.ctl.queue.push(ReplicaId(id), spec.placement.priority);
        let name = self.replica_name(id);
        self.emit_event("create", &name, detail);
        self.ctl.pending += 1;
        id
    }

    /// Node `node`'s allocation changed by `requests` (added or removed):
    /// keep the cluster's capacity accounting without walking every node.
    pub(super) fn allocation_changed(&mut self, node: NodeId, requests: Resources, added: bool) {
        let now = self.engine.now();
        let i = node.0 as usize;
        self.nodes
            .capacity
            .node_changed(now, i, &self.observed.nodes[i], requests, added);
    }

    fn bind(&mut self, r: u32, node: NodeId, warm: bool) {
        let now = self.engine.now();
        let scenario = self.scenario;
        let status = &mut self.observed.replicas[r as usize];
        let spec = &scenario.desired.services[status.service.0 as usize];
        let pending = now.saturating_since(status.since);
        self.ctl.metrics.bound(pending);
        self.ctl.pending -= 1;
        let job = spec.kind == ServiceKind::Job;
        status.node = Some(node);
        status.state = if job {
            ReplicaState::Ready
        } else {
            ReplicaState::Starting
        };
        status.since = now;
        let (service, requests) = (status.service, spec.requests);
        let speed = self.observed.nodes[node.0 as usize].spec.speed;
        self.req.factors.bound(r, speed);
        self.observed.bind(node, service, requests);
        if !spec.volumes.is_empty() {
            self.bind_volumes(r, spec, node);
        }
        let node_name = self.observed.nodes[node.0 as usize].spec.name.clone();
        self.ctl.unschedulable.remove(&r);
        self.allocation_changed(node, requests, true);
        let name = self.replica_name(r);
        self.emit_event("bind", &name, &format!("node={node_name}"));
        if job {
            // A job pod runs its duration from its bind.
            let d = self.jobs.bound(r, pending);
            self.engine.schedule(now + d, Event::JobDone { replica: r });
            return;
        }
        if self.faults.is_some() && self.hold_start(r, node) {
            return;
        }
        if !self.rollouts.is_empty() && !self.rollouts.starts(r, service.0 as usize, now) {
            let name = self.replica_name(r);
            self.emit_event("crash-loop", &name, "newRevision.crashOnStart");
            return;
        }
        if self.volumes.is_some() && self.wait_for_volumes(r, node, warm) {
            return;
        }
        if warm {
            self.on_ready(r);
        } else {
            self.start_container(r);
        }
    }

    /// Starts `r`'s container: Ready after the service's start delay (and
    /// its readiness probe, if it has one).
    pub(super) fn start_container(&mut self, r: u32) {
        let now = self.engine.now();
        let s = self.observed.replicas[r as usize].service.0 as usize;
        let delay = self.scenario.desired.services[s]
            .start_delay
            .sample(&mut self.ctl.startup_rng);
        let at = probes::readiness_at(self.scenario, s, now, now + delay);
        self.engine.schedule(at, Event::Ready { replica: r });
    }

    /// Starting replica `r` passes its readiness check: it becomes an
    /// endpoint and serves.
    pub(super) fn on_ready(&mut self, r: u32) {
        let now = self.engine.now();
        if self.faults.as_ref().is_some_and(|f| f.is_dead(r)) {
            return; // its node crashed, or its image cannot be pulled
        }
        let status = &self.observed.replicas[r as usize];
        if status.state != ReplicaState::Starting {
            return; // deleted while starting
        }
        if let Some(net) = &mut self.net
            && net.park(r, status.node)
        {
            return; // on a cut-off node: the control plane does not hear it
        }
        let status = &mut self.observed.replicas[r as usize];
        status.state = ReplicaState::Ready;
        status.since = now;
        let s = status.service.0 as usize;
        self.join_endpoints(r, s);
        let name = self.replica_name(r);
        self.emit_event("ready", &name, "");
        if self.faults.is_some() {
            self.faults_on_ready(r);
        }
        self.rollouts.pod_changed(s, &mut self.engine);
        self.serve_held(r, s);
        if self.scenario.desired.services[s].stateful.is_some() {
            // An OrderedReady StatefulSet waits for this to create the next ordinal.
            self.mark_dirty(true);
        }
    }

    /// Replicas of services bound to `node` in any of `states`, in id order.
    pub(super) fn replicas_on(&self, node: u32, states: &[ReplicaState]) -> Vec<u32> {
        self.observed
            .replicas
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.node == Some(NodeId(node))
                    && states.contains(&r.state)
                    && self.scenario.desired.services[r.service.0 as usize].kind
                        == ServiceKind::Service
            })
            .map(|(k, _)| k as u32)
            .collect()
    }

    /// A replica left `node`: a draining node that is now empty goes.
    pub(super) fn node_left(&mut self, node: u32) {
        let now = self.engine.now();
        self.nodes
            .left(node, now, self.scenario, &mut self.observed, &mut self.rec);
    }

    /// Scrapes every replica's metrics.
    pub(super) fn on_scrape(&mut self) {
        let now = self.engine.now();
        if let Some(p) = &mut self.pipeline {
            p.scrape(
                now,
                &self.observed.replicas,
                &self.scenario.desired.services,
            );
            let next = now + p.resolution;
            self.engine.schedule(next, Event::Scrape);
        }
    }

    /// Runs service `s`'s autoscaler; `periodic` syncs schedule the next one.
    pub(super) fn on_autoscale(&mut self, s: usize, periodic: bool) {
        let now = self.engine.now();
        // A rollout in progress owns the pod counts: the autoscaler reads
        // and writes its Deployment's spec.replicas, as an HPA scales a
        // Deployment's scale subresource during a rollout.
        let current = self
            .rollouts
            .base(s)
            .unwrap_or(self.desired.services[s].replicas);
        let Some(p) = &mut self.pipeline else { return };
        let scenario: &'a Scenario = self.scenario;
        let spec = &scenario.desired.services[s];
        let Some((rec, period)) = p.sync(now, s, current, &self.observed.replicas, spec) else {
            return;
        };
        if periodic {
            self.engine
                .schedule(now + period, Event::Autoscale { service: s as u32 });
        }
        if rec.replicas != current {
            if !self.rollouts.rescale(s, rec.replicas, &mut self.engine) {
                self.desired.services[s].replicas = rec.replicas;
            }
            let detail = format!("from={current} to={} reason={}", rec.replicas, rec.reason);
            self.emit_event("scale", &spec.name, &detail);
            self.mark_dirty(true);
        }
    }

    /// The node autoscaler's periodic scan: applies its actions.
    pub(super) fn on_node_scan(&mut self) {
        // The scheduler acts on every change at this instant first, so a node
        // that just became ready is not seen empty before its replicas land.
        if self.ctl.reconcile_pending {
            self.ctl.reconcile_pending = false;
            self.reconcile(false);
        }
        let now = self.engine.now();
        let actions = self.nodes.scan(
            now,
            self.scenario,
            &self.observed,
            &self.desired,
            &mut self.engine,
        );
        for a in actions {
            match a {
                NodeAction::ScaleUp {
                    group,
                    count,
                    reason,
                    ..
                } => {
                    self.nodes.count_scale_up();
                    for _ in 0..count {
                        self.add_node(group, &reason);
                    }
                }
                NodeAction::Remove { node, reason } => {
                    self.nodes.count_scale_down(false);
                    self.drain_node(node.0, &reason);
                }
                NodeAction::Replace {
                    nodes,
                    group,
                    reason,
                } => {
                    self.nodes.count_scale_down(true);
                    let names: Vec<String> = nodes
                        .iter()
                        .map(|n| self.observed.nodes[n.0 as usize].spec.name.clone())
                        .collect();
                    let new = self.add_node(group, &format!("replaces {}", names.join(",")));
                    for (old, name) in nodes.iter().map(|n| n.0).zip(&names) {
                        self.nodes.set_replaces(new, old);
                        self.nodes.cordon(old, &reason, &mut self.observed);
                        let group_name = self.nodes.group_name(old, self.scenario, &self.observed);
                        let new_name = &self.observed.nodes[new as usize].spec.name;
                        let detail = format!(
                            "group={group_name} reason={reason}; cordoned until {new_name} is ready"
                        );
                        self.rec.event(now, "node-drain", name, &detail);
                    }
                }
            }
        }
    }

    /// Adds a booting node to group `g`; returns its id.
    fn add_node(&mut self, g: u32, reason: &str) -> u32 {
        let now = self.engine.now();
        let scenario: &'a Scenario = self.scenario;
        let id = self.nodes.add(g, now, scenario, &mut self.observed);
        let spec = &self.observed.nodes[id as usize].spec;
        if let Some(f) = &mut self.faults {
            f.add_node();
        }
        if let Some(net) = &mut self.net {
            net.add_node(&spec.zone);
        }
        let group = &scenario.node_groups[g as usize];
        let detail = format!("group={} reason={reason}", group.name);
        self.rec.event(now, "node-add", &spec.name, &detail);
        // Under a provision failure the node never registers: it stays
        // booting until the node autoscaler gives up on it.
        if !self
            .faults
            .as_ref()
            .is_some_and(|f| f.provision_fails(g as usize))
        {
            self.engine
                .schedule(now + group.boot_delay, Event::NodeReady { node: id });
        }
        id
    }

    /// A booting node finished booting: it accepts replicas.
    pub(super) fn on_node_ready(&mut self, node: u32) {
        if !self.nodes.booted(node) {
            return;
        }
        if self.cut_off(node) {
            return; // booted, but unheard: Ready when its zone's link heals
        }
        let now = self.engine.now();
        self.observed.set_ready(NodeId(node), true);
        let name = self.observed.nodes[node as usize].spec.name.clone();
        let (detail, replaces) = self
            .nodes
            .ready_detail(node, now, self.scenario, &self.observed);
        self.emit_event("node-ready", &name, &detail);
        self.mark_dirty(false);
        for old in replaces {
            let reason = format!("replaced by {name}");
            self.drain_node(old, &reason);
        }
    }

    /// Cordons `node` (if not yet) and deletes its replicas; it is removed
    /// once empty.
    fn drain_node(&mut self, node: u32, reason: &str) {
        let now = self.engine.now();
        let drains = self.nodes.drain(
            node,
            reason,
            now,
            self.scenario,
            &mut self.observed,
            &mut self.rec,
        );
        if !drains {
            return;
        }
        // The Cluster Autoscaler caps each pod's grace period at
        // --max-graceful-termination-sec; Karpenter uses the pod's own.
        let cap = match &self.scenario.node_autoscaler {
            Some(orkestra_core::autoscale::cluster::NodeAutoscalerSpec::ClusterAutoscaler(c)) => {
                Some(c.max_graceful_termination)
            }
            _ => None,
        };
        for r in self.replicas_on(node, &[ReplicaState::Starting, ReplicaState::Ready]) {
            self.delete_within(r, cap);
        }
        self.mark_dirty(true);
        self.node_left(node);
    }

    /// `Event::Rollout`: start the rollout of `s` at `at`, or sync it.
    pub(super) fn on_rollout(&mut self, s: usize) {
        let now = self.engine.now();
        let base = self.desired.services[s].replicas;
        let counts = self.req.services[s].metrics.counts();
        let Some(mut rows) = self
            .rollouts
            .begin_sync(s, now, base, counts, &self.observed)
        else {
            return;
        };
        // Sync, apply, and sync again while the answer changes counts.
        for _ in 0..32 {
            let (changed, wake) = self.rollouts.sync_once(s, now, &self.observed, &mut rows);
            for (kind, detail) in rows.drain(..) {
                self.emit_rollout(s, kind, &detail);
            }
            if !changed {
                if let Some(at) = wake.filter(|&at| at > now) {
                    self.engine
                        .schedule(at, Event::Rollout { service: s as u32 });
                }
                break;
            }
            self.scale_templates(s);
        }
        let counts = self.req.services[s].metrics.counts();
        if let Some((kind, detail)) = self.rollouts.check_done(s, now, &self.observed, counts) {
            self.emit_rollout(s, kind, &detail);
        }
    }

    fn emit_rollout(&mut self, s: usize, kind: &str, detail: &str) {
        let now = self.engine.now();
        let name = &self.scenario.desired.services[s].name;
        self.rec.event(now, kind, name, detail);
    }

    /// Creates or deletes pods of each template of `s` to the counts its
    /// rollout wants.
    fn scale_templates(&mut self, s: usize) {
        let want = self.rollouts.want(s);
        for (t, &want) in want.iter().enumerate() {
            let mut have = self.rollouts.pods_of(s, t, &self.observed);
            let want = want as usize;
            if have.len() < want {
                for _ in have.len()..want {
                    let id = self.create(ServiceId(s as u32), &format!("template={t}"));
                    self.rollouts.set_template(id, t as u8);
                }
            } else if have.len() > want {
                // Least useful first, as `reconcile_replicas`.
                have.sort_by(|a, b| a.1.cmp(&b.1).then(b.2.cmp(&a.2)).then(b.0.cmp(&a.0)));
                for &(id, _, _) in &have[..have.len() - want] {
                    self.delete(id);
                }
            }
        }
        self.desired.services[s].replicas = want[0] + want[1];
        self.mark_dirty(false);
    }

    /// DefaultPreemption for pending replica `r`, which the queue could not
    /// place: evicts the chosen victims (graceful termination, `preempt`
    /// rows), takes `r` out of the queue and reserves its requests on the
    /// nominated node.
    fn try_preempt(&mut self, r: u32) {
        use orkestra_core::placement::Request;
        use orkestra_core::sched::preemption::{Cluster, Preemptor, budgets, get_offset, preempt};
        let Some(mut p) = self.ctl.preemption.take() else {
            return;
        };
        let scenario: &'a Scenario = self.scenario;
        let status = self.observed.replicas[r as usize];
        let spec = &scenario.desired.services[status.service.0 as usize];
        let priority = spec.placement.priority;
        if status.state != ReplicaState::Pending
            || p.nominated.contains_key(&r)
            || priority <= p.min_priority
        {
            self.ctl.preemption = Some(p);
            return;
        }
        let cluster = Cluster {
            desired: &self.desired,
            observed: &self.observed,
        };
        // Every pod may be a victim (upstream's IsEligiblePod hook accepts
        // all): a Job's preempted pod is replaced by the Job controller.
        let eligible = |_: ReplicaId| true;
        let claims = self.observed.storage.claims_of(spec, Some(ReplicaId(r)));
        let preemptor = Preemptor {
            request: Request::of(status.service, spec, &claims),
            priority,
            eligible: &eligible,
        };
        let pdbs = budgets(&cluster, &scenario.pod_disruption_budgets);
        let Preempting { rng, victims, .. } = &mut p;
        let terminating = |v: ReplicaId| victims.contains(&v.0);
        let result = preempt(
            &cluster,
            &preemptor,
            spec.placement.preemption_policy,
            None,
            &pdbs,
            &Default::default(),
            &mut |n| get_offset(rng, n),
            &terminating,
        );
        let Ok(chosen) = result else {
            self.ctl.preemption = Some(p);
            return;
        };
        let node = chosen.nominated_node;
        let node_name = self.observed.nodes[node.0 as usize].spec.name.clone();
        let preemptor_name = self.replica_name(r);
        let victims: Vec<u32> = chosen.candidate.victims.iter().map(|v| v.0).collect();
        for &v in &victims {
            p.victims.insert(v);
        }
        let lower = p.lower_on(node, priority);
        p.nominated.insert(
            r,
            Nomination {
                node,
                priority,
                victims: victims.clone(),
            },
        );
        self.ctl.preemption = Some(p);
        for l in lower {
            self.drop_nomination(l, true);
        }
        for &v in &victims {
            if self.observed.replicas[v as usize].state == ReplicaState::Terminating {
                continue; // already leaving: no second delete
            }
            let name = self.replica_name(v);
            let detail = format!("node={node_name} preemptor={preemptor_name}");
            self.emit_event("preempt", &name, &detail);
            self.delete(v);
        }
        self.ctl
            .queue
            .remove(ReplicaId(r), status.service, priority);
        self.observed.bind(node, status.service, spec.requests);
        self.allocation_changed(node, spec.requests, true);
        self.mark_dirty(true);
    }

    /// Ends `r`'s nomination, if it has one: its reservation leaves the node
    /// and, when `requeue`, it waits in the scheduling queue again.
    fn drop_nomination(&mut self, r: u32, requeue: bool) {
        let Some(p) = &mut self.ctl.preemption else {
            return;
        };
        let Some(n) = p.nominated.remove(&r) else {
            return;
        };
        let status = self.observed.replicas[r as usize];
        let requests = self.scenario.desired.services[status.service.0 as usize].requests;
        self.observed.unbind(n.node, status.service, requests);
        self.allocation_changed(n.node, requests, false);
        if requeue {
            self.ctl.queue.push(ReplicaId(r), n.priority);
        }
        self.node_left(n.node.0);
        self.mark_dirty(false);
    }

    /// Binds each nominated replica whose victims are all gone to its node
    /// (highest priority first), or returns it to the queue when the node
    /// no longer takes it.
    fn bind_nominated(&mut self, warm: bool) {
        use orkestra_core::model::ReplicaState::Terminated;
        use orkestra_core::placement::{Batch, ClusterView, NodeAlloc, Request};
        use orkestra_core::sched::hard::hard_filters_pass;
        let Some(p) = &self.ctl.preemption else {
            return;
        };
        let mut done: Vec<(i32, u32, NodeId)> = p
            .nominated
            .iter()
            .filter(|(_, n)| {
                n.victims
                    .iter()
                    .all(|&v| self.observed.replicas[v as usize].state == Terminated)
            })
            .map(|(&r, n)| (n.priority, r, n.node))
            .collect();
        if done.is_empty() {
            return;
        }
        done.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, r, node) in done {
            if let Some(p) = &mut self.ctl.preemption
                && let Some(n) = p.nominated.get(&r)
            {
                for v in n.victims.clone() {
                    p.victims.remove(&v);
                }
            }
            self.drop_nomination(r, false);
            let status = self.observed.replicas[r as usize];
            let spec = &self.scenario.desired.services[status.service.0 as usize];
            let claims = self.observed.storage.claims_of(spec, Some(ReplicaId(r)));
            let request = Request::of(status.service, spec, &claims);
            let allocs: Vec<NodeAlloc> = self.observed.nodes.iter().map(NodeAlloc::of).collect();
            let batch = Batch::new();
            let view = ClusterView {
                storage: &self.observed.storage,
                nodes: &self.observed.nodes,
                allocs: &allocs,
                batch: &batch,
                changes: &self.observed.changes,
            };
            if hard_filters_pass(&request, &view, node.0 as usize).is_ok() {
                self.bind(r, node, warm);
            } else {
                self.ctl.queue.push(ReplicaId(r), spec.placement.priority);
            }
        }
    }
}
