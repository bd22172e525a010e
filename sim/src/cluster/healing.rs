//! Fault edges applied to the world, and the Kubernetes machinery that
//! notices and repairs the damage: node crashes and cut links silence
//! nodes, the node lifecycle controller marks them NotReady, taint-based
//! eviction deletes their replicas, kubelets restart crashed containers.
//!
//! Key decision: the state and its transitions are the subsystems' own —
//! [`Faults`](super::faults::Faults) (`cluster/faults/`) and
//! [`Net`](super::topology::Net) (`cluster/topology.rs`) — and these
//! handlers only sequence them with the world: each asks its subsystem what
//! changed, then kills, unreadies, evicts or restarts replicas through the
//! request and control paths. Every handler here runs only in a run with
//! faults (the events come from the fault plan), so a missing subsystem
//! makes it a no-op rather than a panic.

use orkestra_core::faults::{Edge, FaultEvent, FaultKind};
use orkestra_core::model::{NodeId, ReplicaId, ReplicaState, ServiceKind};
use orkestra_core::time::SimDuration;

use super::faults::Held;
use super::{Event, Simulation};

impl Simulation<'_> {
    /// Whether node `n` is cut off from the ingress zone.
    pub(super) fn cut_off(&self, n: u32) -> bool {
        self.net.as_ref().is_some_and(|net| net.cut_off(n))
    }

    /// Per service, Ready replicas on cut-off nodes that are alive (they
    /// serve nothing); `None` when no zone is cut off.
    pub(super) fn cut_ready(&self) -> Option<Vec<u32>> {
        self.net.as_ref()?.cut_ready(
            &self.observed,
            self.faults.as_deref(),
            self.req.services.len(),
        )
    }

    /// Applies every fault edge due now and schedules the next.
    pub(super) fn on_fault(&mut self) {
        let now = self.engine.now();
        while let Some(ev) = self.faults.as_deref_mut().and_then(|f| f.next_due(now)) {
            self.apply_fault(ev);
        }
        if let Some(f) = &self.faults {
            f.schedule_next(&mut self.engine);
        }
        self.check_recovered();
    }

    fn apply_fault(&mut self, ev: FaultEvent) {
        let now = self.engine.now();
        let Some(f) = self.faults.as_deref_mut() else {
            return;
        };
        let rec = f.record_of(&ev, now);
        let fault = &ev.fault;
        let start = ev.edge == Edge::Start;
        let kind = if start { "fault-start" } else { "fault-end" };
        self.rec.event(now, kind, &fault.name, fault.kind.as_str());
        match &fault.kind {
            FaultKind::NodeCrash { nodes } | FaultKind::ZoneOutage { nodes, .. } => {
                if start {
                    f.await_recovery(rec);
                } else {
                    self.net_fault(&fault.kind, false, rec); // a zone's links heal first
                }
                for &n in nodes {
                    if start {
                        self.crash_node(n.0, rec);
                    } else {
                        self.recover_node(n.0);
                    }
                }
                if start {
                    self.net_fault(&fault.kind, true, rec);
                }
            }
            FaultKind::SlowNode { nodes, speed } => {
                for &n in nodes {
                    self.slow_node(n.0, if start { *speed } else { 1.0 });
                }
            }
            FaultKind::ContainerCrash { service, rate } => {
                let s = service.0 as usize;
                f.set_crash_rate(s, start.then_some((*rate, rec)));
                if start {
                    let ready = self
                        .observed
                        .replicas_of(*service)
                        .filter(|(_, st)| st.state == ReplicaState::Ready)
                        .map(|(id, _)| id.0);
                    for r in ready {
                        f.draw_crash(r, s, &mut self.engine);
                    }
                }
            }
            FaultKind::OomKill { service, memory } => {
                f.set_oom(service.0 as usize, start.then_some((*memory, rec)));
            }
            FaultKind::ImagePullFailure { service } => {
                f.set_image_pull(service.0 as usize, start.then_some(rec));
                if !start {
                    for r in f.unblock(*service, &self.observed) {
                        self.start_container(r);
                    }
                }
            }
            FaultKind::NodeDrain { nodes } => {
                for &n in nodes {
                    if start {
                        self.drain_fault(n.0);
                    } else {
                        self.uncordon(n.0);
                    }
                }
            }
            FaultKind::ProvisionFailure { group } => {
                f.set_provision(*group as usize, start.then_some(rec));
            }
            FaultKind::ControlPlanePause => {
                f.set_paused(if start { fault.end() } else { None });
                // Deferred work runs at the end of the pause (see `defer`).
            }
            FaultKind::Partition { .. } | FaultKind::LinkDegrade { .. } => {
                if self.net_fault(&fault.kind, start, rec)
                    && start
                    && let Some(f) = self.faults.as_deref_mut()
                {
                    f.await_recovery(rec);
                }
            }
        }
    }

    fn crash_node(&mut self, n: u32, rec: usize) {
        let now = self.engine.now();
        let Some(f) = self.faults.as_deref_mut() else {
            return;
        };
        if !f.crash(n) {
            return;
        }
        // Cut off already: silent, its NotReady is on its way.
        let cut = self.net.as_ref().is_some_and(|net| net.cut_off(n));
        let notice = (!cut).then(|| f.silence(n, rec, now));
        let doomed = self.replicas_on(
            n,
            &[
                ReplicaState::Starting,
                ReplicaState::Ready,
                ReplicaState::Terminating,
            ],
        );
        for r in doomed {
            self.kill(r, rec);
            self.finish_if_idle(r);
        }
        if let Some((epoch, not_ready)) = notice {
            self.engine
                .schedule(not_ready, Event::NodeNotReady { node: n, epoch });
        }
    }

    /// Replica `r`'s container dies now (because of record `rec`): what it
    /// holds is lost.
    fn kill(&mut self, r: u32, rec: usize) {
        let now = self.engine.now();
        let st = self.observed.replicas[r as usize];
        let s = st.service.0 as usize;
        let Some(f) = self.faults.as_deref_mut() else {
            return;
        };
        if !f.mark_killed(r, s, st.state == ReplicaState::Ready, rec) {
            return;
        }
        let new = self.rollouts.split_router(s, r);
        let (lost, busy) = self.req.lose_all(r, s, now, new);
        f.lost(r, rec, busy, lost, now);
        self.load_changed(r, s);
    }

    /// A completion on `r` of a request lost at its death: tell the
    /// balancer it failed and drop it. Called on every completion while the
    /// run has faults.
    pub(super) fn orphan(&mut self, r: u32, tagged: u64) -> bool {
        let (arrival, c) = self.req.untag(tagged);
        if !self
            .faults
            .as_deref_mut()
            .is_some_and(|f| f.take_orphan(r, arrival))
        {
            return false;
        }
        let now = self.engine.now();
        let s = self.observed.replicas[r as usize].service.0 as usize;
        if let Some(router) = self.router_of(s, r) {
            router.complete(c, ReplicaId(r), SimDuration(now.0 - arrival), false, now);
        }
        true
    }

    /// Takes ready replica `r` out of the endpoints (it still exists).
    fn unready(&mut self, r: u32) {
        let now = self.engine.now();
        let st = self.observed.replicas[r as usize];
        if st.state != ReplicaState::Ready || self.jobs.is_active(r) {
            return; // a job pod is in no endpoints and keeps running
        }
        let s = st.service.0 as usize;
        self.leave_endpoints(r, s);
        if let Some(f) = self.faults.as_deref_mut() {
            f.unready(r, s);
        }
        let st = &mut self.observed.replicas[r as usize];
        st.state = ReplicaState::Starting;
        st.since = now;
    }

    /// The node lifecycle controller marks crashed node `n` NotReady.
    pub(super) fn on_node_not_ready(&mut self, n: u32, epoch: u32) {
        if !self.faults.as_ref().is_some_and(|f| f.epoch_is(n, epoch))
            || self.defer(Event::NodeNotReady { node: n, epoch })
        {
            return;
        }
        let now = self.engine.now();
        let Some(f) = self.faults.as_deref_mut() else {
            return;
        };
        let evict = f.detected(n, now);
        if self.observed.nodes[n as usize].ready {
            self.observed.set_ready(NodeId(n), false);
        }
        let name = self.observed.nodes[n as usize].spec.name.clone();
        self.emit_event("node-not-ready", &name, "reason=no heartbeat");
        for r in self.replicas_on(n, &[ReplicaState::Ready]) {
            self.unready(r);
            let dead = self.faults.as_ref().is_some_and(|f| f.is_dead(r));
            if let Some(net) = &mut self.net {
                net.not_ready(n, r, dead);
            }
        }
        self.mark_dirty(false);
        self.engine.schedule(evict, Event::Evict { node: n, epoch });
    }

    /// Taint-based eviction of NotReady node `n`'s replicas.
    pub(super) fn on_evict(&mut self, n: u32, epoch: u32) {
        let Some(rec) = self
            .faults
            .as_ref()
            .filter(|f| f.epoch_is(n, epoch))
            .map(|f| f.node_record(n))
        else {
            return;
        };
        if self.defer(Event::Evict { node: n, epoch }) {
            return;
        }
        let now = self.engine.now();
        for r in self.replicas_on(n, &[ReplicaState::Starting, ReplicaState::Ready]) {
            if self.net.as_mut().is_some_and(|net| net.evict(n, r)) {
                self.kill(r, rec);
            }
            self.unready(r);
            self.terminate_bound(r, NodeId(n), now);
            let name = self.replica_name(r);
            let node_name = self.observed.nodes[n as usize].spec.name.clone();
            self.emit_event("evict", &name, &format!("node={node_name}"));
            self.node_left(n);
            self.job_pod_lost(r, true);
        }
        self.mark_dirty(true);
    }

    /// The crash holding node `n` ends: heartbeats resume, it is Ready and
    /// comes back empty.
    fn recover_node(&mut self, n: u32) {
        let Some(f) = self.faults.as_deref_mut() else {
            return;
        };
        if !f.recover(n) || self.net.as_ref().is_some_and(|net| net.cut_off(n)) {
            return; // still crashed, or still cut off: heard when the link heals
        }
        self.heard_again(n);
    }

    /// Node `n`'s heartbeats arrive again: it is Ready; after a crash it
    /// comes back empty, after a cut its running replicas are Ready again.
    fn heard_again(&mut self, n: u32) {
        let Some(f) = self.faults.as_deref_mut() else {
            return;
        };
        let rebooted = f.heard(n);
        let cordoned = f.is_drained(n);
        let i = n as usize;
        let life_ready = self.nodes.life(n) == orkestra_core::autoscale::cluster::NodeLife::Ready;
        if !self.observed.nodes[i].ready && life_ready && !cordoned {
            self.observed.set_ready(NodeId(n), true);
            let name = self.observed.nodes[i].spec.name.clone();
            self.emit_event("node-ready", &name, "reason=heartbeat");
            if self.volumes.is_some() {
                self.volumes_node_ready(NodeId(n));
            }
        }
        let now = self.engine.now();
        if rebooted {
            for r in self.replicas_on(n, &[ReplicaState::Starting, ReplicaState::Ready]) {
                if self.jobs.is_active(r) {
                    // A job pod does not restart with its node: it failed.
                    self.terminate_bound(r, NodeId(n), now);
                    self.job_pod_lost(r, true);
                    continue;
                }
                self.unready(r);
                let st = &mut self.observed.replicas[r as usize];
                st.state = ReplicaState::Failed;
                st.since = now;
            }
        } else {
            self.net_resume(n);
        }
        self.mark_dirty(true);
    }

    fn slow_node(&mut self, n: u32, speed: f64) {
        let Some(f) = self.faults.as_deref_mut() else {
            return;
        };
        let old = f.set_node_speed(n, speed);
        for (r, st) in self.observed.replicas.iter().enumerate() {
            if st.node == Some(NodeId(n)) {
                self.req.factors.rescale(r, old, speed);
            }
        }
    }

    /// `kubectl drain` of node `n`: cordon it, then evict its pods.
    fn drain_fault(&mut self, n: u32) {
        let Some(f) = self.faults.as_deref_mut() else {
            return;
        };
        f.set_drained(n, true);
        if self.observed.nodes[n as usize].ready {
            self.observed.set_ready(NodeId(n), false);
        }
        let name = self.observed.nodes[n as usize].spec.name.clone();
        self.emit_event("node-cordon", &name, "by=drain");
        self.evict_pass(n);
    }

    /// One pass of the drain of node `n`: every starting or ready replica
    /// on it is evicted through the eviction API, in id order; if one was
    /// refused (429, a PodDisruptionBudget), the pass is retried in 5 s
    /// (kubectl drain's retry interval) while the drain lasts.
    pub(super) fn evict_pass(&mut self, n: u32) {
        if !self.faults.as_ref().is_some_and(|f| f.is_drained(n)) {
            return;
        }
        let now = self.engine.now();
        let node_name = self.observed.nodes[n as usize].spec.name.clone();
        let mut refused = false;
        for r in self.replicas_on(n, &[ReplicaState::Starting, ReplicaState::Ready]) {
            let s = self.observed.replicas[r as usize].service.0 as usize;
            let bare = self.scenario.desired.services[s].controller
                == orkestra_core::model::Controller::None;
            // kubectl drain's own filter, before any eviction: bare pods
            // need --force, which a drain fault does not pass.
            let verdict = if bare {
                Err(
                    "cannot delete Pods that declare no controller (use --force to override)"
                        .into(),
                )
            } else {
                orkestra_core::disruption::eviction_allowed(
                    &self.scenario.pod_disruption_budgets,
                    &self.desired,
                    &self.observed,
                    ReplicaId(r),
                )
            };
            let name = self.replica_name(r);
            match verdict {
                Ok(()) => {
                    self.emit_event("evict", &name, &format!("node={node_name} by=drain"));
                    self.delete(r);
                }
                Err(why) => {
                    refused = true;
                    if self
                        .faults
                        .as_deref_mut()
                        .is_some_and(|f| f.refused_first(r))
                    {
                        self.emit_event(
                            "eviction-refused",
                            &name,
                            &format!("node={node_name} {why}"),
                        );
                    }
                }
            }
        }
        self.mark_dirty(true);
        if refused {
            self.engine.schedule(
                now + SimDuration::from_secs(5),
                Event::DrainRetry { node: n },
            );
        }
    }

    /// A `node-drain` ends: the node is schedulable again, unless it is
    /// down or leaving for another reason.
    fn uncordon(&mut self, n: u32) {
        let Some(f) = self.faults.as_deref_mut() else {
            return;
        };
        f.set_drained(n, false);
        let up = !f.is_down(n) && !self.net.as_ref().is_some_and(|net| net.cut_off(n));
        let life_ready = self.nodes.life(n) == orkestra_core::autoscale::cluster::NodeLife::Ready;
        if up && life_ready && !self.observed.nodes[n as usize].ready {
            self.observed.set_ready(NodeId(n), true);
        }
        let name = self.observed.nodes[n as usize].spec.name.clone();
        self.emit_event("node-uncordon", &name, "by=drain");
        self.mark_dirty(true);
    }

    /// Node faults whose services are all back at their desired number of
    /// serving replicas get their recovery time.
    fn check_recovered(&mut self) {
        let Some(f) = self.faults.as_ref() else {
            return;
        };
        if !f.awaiting_recovery() {
            return;
        }
        let cut = self.cut_ready();
        let all = self
            .scenario
            .desired
            .services
            .iter()
            .enumerate()
            .filter(|(_, s)| s.kind == ServiceKind::Service)
            .all(|(s, _)| {
                let cut = cut.as_ref().map_or(0, |c| c[s]);
                self.req.services[s]
                    .ready
                    .saturating_sub(f.dead_ready(s) + cut)
                    >= self.desired.services[s].replicas
            });
        if !all {
            return;
        }
        let now = self.engine.now().as_secs_f64();
        if let Some(f) = self.faults.as_deref_mut() {
            f.recovered(now);
        }
    }

    /// Applies a fault edge to the links (`partition`, `link-degrade`, and a
    /// `zone-outage`'s links); nodes whose zone was cut off from the ingress
    /// go silent, nodes whose zone is reachable again are heard again.
    /// Returns whether some zone was cut off.
    fn net_fault(&mut self, kind: &FaultKind, start: bool, rec: usize) -> bool {
        let Some(net) = self.net.as_mut() else {
            return false;
        };
        let changed = net.apply(kind, start);
        if changed.is_empty() {
            return false;
        }
        let mut cut_any = false;
        for (n, cut) in net.nodes_in(&changed) {
            if self.faults.as_ref().is_some_and(|f| f.is_down(n)) {
                continue; // crashed: silent already, and heard when it recovers
            }
            use orkestra_core::autoscale::cluster::NodeLife;
            match self.nodes.life(n) {
                NodeLife::Removed => continue,
                // Never Ready yet: it stays unready until heard (`on_node_ready`).
                NodeLife::Booting if cut => continue,
                _ => {}
            }
            if cut {
                cut_any = true;
                self.go_silent(n, rec);
            } else {
                self.heard_again(n);
            }
        }
        cut_any
    }

    /// Node `n`'s heartbeats stop reaching the control plane now (it is
    /// cut off): NotReady at the closed-form instant, as after a crash.
    fn go_silent(&mut self, n: u32, rec: usize) {
        let now = self.engine.now();
        let Some(f) = self.faults.as_deref_mut() else {
            return;
        };
        let (epoch, not_ready) = f.silence(n, rec, now);
        self.engine
            .schedule(not_ready, Event::NodeNotReady { node: n, epoch });
    }

    /// Node `n`, cut off but not crashed, is heard again: its replicas the
    /// control plane took out are Ready again, those bound meanwhile start.
    fn net_resume(&mut self, n: u32) {
        let Some(net) = self.net.as_mut() else { return };
        let (held, unreached) = net.resume(n, &self.observed);
        for r in unreached {
            self.on_ready(r); // no-op unless still Starting and alive
        }
        for r in held {
            if self.observed.replicas[r as usize].state == ReplicaState::Starting {
                self.start_container(r);
            }
        }
    }

    /// A replica was bound to `node`: whether its container must not start
    /// now (the node is down or cut off, or its image cannot be pulled).
    pub(super) fn hold_start(&mut self, r: u32, node: NodeId) -> bool {
        let s = self.observed.replicas[r as usize].service.0 as usize;
        let cut = self.cut_off(node.0);
        let Some(f) = self.faults.as_deref_mut() else {
            return false;
        };
        self.req.factors.divide(r, f.node_speed(node.0));
        match f.hold_start(r, node.0, s, cut) {
            Held::No => false,
            Held::NodeDown => true,
            Held::CutOff => {
                if let Some(net) = &mut self.net {
                    net.hold(r);
                }
                true
            }
            Held::ImagePull => {
                let name = self.replica_name(r);
                self.emit_event("image-pull-backoff", &name, "reason=ErrImagePull");
                true
            }
        }
    }

    /// Replica `r` became ready: draw its next container crash.
    pub(super) fn faults_on_ready(&mut self, r: u32) {
        let s = self.observed.replicas[r as usize].service.0 as usize;
        if let Some(f) = self.faults.as_deref_mut() {
            f.draw_crash(r, s, &mut self.engine);
        }
        self.check_recovered();
    }

    /// Replica `r`'s container exits (a crash or an OOM kill): lost
    /// requests, out of the endpoints, restart after the back-off.
    pub(super) fn on_container_crash(&mut self, r: u32, incarnation: u32) {
        let now = self.engine.now();
        let st = self.observed.replicas[r as usize];
        let s = st.service.0 as usize;
        let sv = self.req.serving[r as usize];
        let ready = st.state == ReplicaState::Ready;
        let Some((rec, reason)) = self
            .faults
            .as_ref()
            .and_then(|f| f.crash_cause(r, s, incarnation, ready, sv.busy + sv.queue.len()))
        else {
            return;
        };
        self.kill(r, rec);
        self.unready(r);
        let Some(f) = self.faults.as_deref_mut() else {
            return;
        };
        let (at, detail, incarnation) = f.exited(r, reason, now);
        let name = self.replica_name(r);
        self.emit_event("container-crash", &name, &detail);
        self.engine.schedule(
            at,
            Event::Restart {
                replica: r,
                incarnation,
            },
        );
    }

    /// The kubelet restarts `r`'s container after its back-off.
    pub(super) fn on_restart(&mut self, r: u32, incarnation: u32) {
        let starting = self.observed.replicas[r as usize].state == ReplicaState::Starting;
        let Some(restarts) = self
            .faults
            .as_deref_mut()
            .and_then(|f| f.restart(r, incarnation, starting))
        else {
            return;
        };
        let name = self.replica_name(r);
        self.emit_event("restart", &name, &format!("restarts={restarts}"));
        self.start_container(r);
    }
}
