//! Faults and self-healing in the simulated cluster: the fault plan's
//! events applied to nodes and replicas, and the Kubernetes machinery that
//! notices and repairs the damage.
//!
//! Key decision: nothing here polls. The core's [`FaultPlan`] gives the next
//! fault edge (one `Fault` event at a time), and the self-healing machines
//! give closed-form instants — NotReady at
//! [`NodeLifecycleConfig::not_ready_at`] of the last heartbeat, eviction at
//! NotReady + `tolerationSeconds`, restarts at [`CrashLoopBackOff::on_exit`]
//! — so a crashed node costs three events, not a heartbeat every 10 s. Per
//! node an epoch (bumped at each crash and recovery) makes NotReady and
//! eviction events of an earlier crash harmless; per replica an incarnation
//! does the same for container crashes. A scenario without faults has no
//! [`Faults`] at all, and the hot path pays one `Option` test.
//!
//! What a crash does, following Kubernetes (node lifecycle controller
//! `pkg/controller/nodelifecycle`, taint eviction `pkg/controller/tainteviction`,
//! kubelet restart back-off; see [`orkestra_core::health`]):
//! - at the crash the node's containers die: requests in flight or queued on
//!   them are lost (counted `failed`; balancers hear `on_complete(ok = false)`
//!   when the lost request's completion comes due), but the control plane
//!   does not know yet — the replicas stay `Ready` and listed, and requests
//!   sent to them fail like requests to a gone endpoint;
//! - kubelets post status at `k × heartbeatInterval` (phase 0 for every
//!   node), so the last heartbeat is the last multiple before the crash; at
//!   NotReady the node leaves scheduling (`set_ready(false)`, through the
//!   change log) and its replicas leave the endpoints (after the discovery
//!   delay) but still count for their ReplicaSet — no replacement yet;
//! - at eviction the replicas are deleted (unbound, `Terminated`) and the
//!   replica controller creates replacements the scheduler places on Ready
//!   nodes (the hard filters refuse not-ready nodes);
//! - when the fault ends the node is Ready again and comes back empty: its
//!   replicas not evicted yet are `Failed`, and the replica controller
//!   deletes and replaces them.
//!
//! Links (`partition`, `link-degrade`, a zone outage's links) are applied
//! in `cluster/topology.rs`; a node cut off from the ingress zone goes
//! silent there and is heard again through [`Simulation::heard_again`]
//! here. Not simulated yet: probes (a container
//! crash is seen at once, as the kubelet's PLEG sees an exited container).
//! Readiness probes gate starting containers (`cluster/probes.rs`).
//! Containers' own faults — crashes, OOM kills, image pulls, restarts —
//! are in [`containers`].

use std::collections::BTreeMap;

use orkestra_core::faults::{Edge, FaultEvent, FaultKind, FaultPlan, MemoryModel};
use orkestra_core::health::{CrashLoopBackOff, NodeLifecycleConfig};
use orkestra_core::model::{NodeId, ReplicaId, ReplicaState, ServiceKind};
use orkestra_core::results::{FaultRecord, FaultsSummary, Summary};
use orkestra_core::rng::{StreamRng, names, stream};
use orkestra_core::scenario::Scenario;
use orkestra_core::time::{SimDuration, SimTime};

use super::{Event, Simulation};

mod containers;

/// The fault state of a run with faults.
pub(super) struct Faults {
    plan: FaultPlan,
    lifecycle: NodeLifecycleConfig,
    /// Per node: crashes holding it down (overlapping stochastic units).
    down: Vec<u32>,
    /// Per node: bumped at each crash and recovery.
    epoch: Vec<u32>,
    /// Per node: the record of the fault that silenced it.
    node_record: Vec<usize>,
    /// Per node: it crashed since it was last heard (it comes back empty).
    rebooted: Vec<bool>,
    /// Per node: speed factor of a `slow-node` fault (1 otherwise).
    pub(super) node_speed: Vec<f64>,
    /// Per replica: its container is not running.
    dead: Vec<bool>,
    /// Per replica: bumped at each container death.
    incarnation: Vec<u32>,
    /// Per replica: requests lost at its death whose completion events are
    /// still pending, and the death instant (ns): a completion of a request
    /// that arrived by then is one of them.
    orphans: Vec<(u32, u64)>,
    /// Per service: replicas the control plane counts ready that are dead.
    dead_ready: Vec<u32>,
    /// Per service: an active `container-crash` fault (rate, record).
    crash_rate: Vec<Option<(f64, usize)>>,
    /// Per service: an active `oom-kill` fault (memory model, record).
    oom: Vec<Option<(MemoryModel, usize)>>,
    /// Per service: an active `image-pull-failure` (record).
    image_pull: Vec<Option<usize>>,
    /// Replicas bound during an image-pull failure, waiting for its end.
    blocked: Vec<u32>,
    /// Per service: `failures/container/<svc>`.
    crash_rng: Vec<StreamRng>,
    /// Per replica that crashed: its restart back-off.
    backoff: BTreeMap<u32, CrashLoopBackOff>,
    /// The record each dead replica's losses go to.
    killed_by: BTreeMap<u32, usize>,
    /// A `control-plane-pause` in force until then.
    paused_until: Option<SimTime>,
    records: Vec<FaultRecord>,
    /// Node-fault records whose recovery time is not known yet.
    awaiting: Vec<usize>,
}

impl Faults {
    /// The fault state of `scenario`, or `None` when it injects nothing.
    pub(super) fn new(scenario: &Scenario) -> Option<Box<Faults>> {
        let spec = &scenario.resilience.faults;
        if spec.is_empty() {
            return None;
        }
        let horizon = SimTime::ZERO + scenario.duration;
        let nodes = scenario.nodes.len();
        let services = &scenario.desired.services;
        Some(Box::new(Faults {
            plan: FaultPlan::new(spec, scenario.seed, horizon),
            lifecycle: scenario.resilience.node_lifecycle,
            down: vec![0; nodes],
            epoch: vec![0; nodes],
            node_record: vec![0; nodes],
            rebooted: vec![false; nodes],
            node_speed: vec![1.0; nodes],
            dead: Vec::new(),
            incarnation: Vec::new(),
            orphans: Vec::new(),
            dead_ready: vec![0; services.len()],
            crash_rate: vec![None; services.len()],
            oom: vec![None; services.len()],
            image_pull: vec![None; services.len()],
            blocked: Vec::new(),
            crash_rng: services
                .iter()
                .map(|s| {
                    stream(
                        scenario.seed,
                        &format!("{}/container/{}", names::FAILURES, s.name),
                    )
                })
                .collect(),
            backoff: BTreeMap::new(),
            killed_by: BTreeMap::new(),
            paused_until: None,
            records: Vec::new(),
            awaiting: Vec::new(),
        }))
    }

    /// Whether some scheduled fault slows a node (the simulator then keeps
    /// a per-replica service-time factor).
    pub(super) fn slows_nodes(scenario: &Scenario) -> bool {
        scenario
            .resilience
            .faults
            .scheduled
            .iter()
            .any(|f| matches!(f.kind, FaultKind::SlowNode { .. }))
    }

    /// A node was added (node ids are appended to every per-node array).
    pub(super) fn add_node(&mut self) {
        self.down.push(0);
        self.epoch.push(0);
        self.node_record.push(0);
        self.rebooted.push(false);
        self.node_speed.push(1.0);
    }

    /// Whether node `n` is crashed.
    pub(super) fn is_down(&self, n: u32) -> bool {
        self.down[n as usize] > 0
    }

    /// Whether replica `r`'s container is not running.
    #[inline]
    pub(super) fn is_dead(&self, r: u32) -> bool {
        self.dead.get(r as usize).copied().unwrap_or(false)
    }

    fn set_dead(&mut self, r: u32, dead: bool) {
        let i = r as usize;
        if self.dead.len() <= i {
            self.dead.resize(i + 1, false);
            self.incarnation.resize(i + 1, 0);
            self.orphans.resize(i + 1, (0, 0));
        }
        self.dead[i] = dead;
    }

    fn incarnation(&self, r: u32) -> u32 {
        self.incarnation.get(r as usize).copied().unwrap_or(0)
    }

    /// Node `n` falls silent at `now` because of record `rec`: a new epoch
    /// (unless it already is silent, when the epoch stays) and the pass that
    /// will find it NotReady.
    pub(super) fn silence(&mut self, n: u32, rec: usize, now: SimTime) -> (u32, SimTime) {
        let i = n as usize;
        self.epoch[i] += 1;
        self.node_record[i] = rec;
        let last = self.lifecycle.last_heartbeat(SimTime::ZERO, now);
        (self.epoch[i], self.lifecycle.not_ready_at(last).max(now))
    }

    /// Ready replicas of service `s` that are dead.
    pub(super) fn dead_ready(&self, s: usize) -> u32 {
        self.dead_ready[s]
    }

    /// While the control plane is paused: the instant it resumes.
    pub(super) fn paused(&self, now: SimTime) -> Option<SimTime> {
        self.paused_until.filter(|&t| now < t)
    }
}

impl Simulation<'_> {
    /// Schedules the first fault edge (called once at the start).
    pub(super) fn schedule_faults(&mut self) {
        if let Some(at) = self.faults.as_ref().and_then(|f| f.plan.peek_at()) {
            self.engine
                .schedule(at.max(self.engine.now()), Event::Fault);
        }
    }

    /// Applies every fault edge due now and schedules the next.
    pub(super) fn on_fault(&mut self) {
        let now = self.engine.now();
        loop {
            let f = self.faults.as_mut().expect("fault events need faults");
            if f.plan.peek_at().is_none_or(|t| t > now) {
                break;
            }
            let ev = f.plan.next().expect("peeked");
            self.apply_fault(ev);
        }
        self.schedule_faults();
        self.check_recovered();
    }

    fn apply_fault(&mut self, ev: FaultEvent) {
        let now = self.engine.now();
        let fault = ev.fault;
        let f = self.faults.as_mut().expect("faults");
        let rec = match ev.edge {
            Edge::Start => {
                f.records.push(FaultRecord {
                    name: fault.name.clone(),
                    kind: fault.kind.as_str().to_string(),
                    start_s: now.as_secs_f64(),
                    end_s: fault.end().map(|e| e.as_secs_f64()),
                    ..Default::default()
                });
                f.records.len() - 1
            }
            Edge::End => {
                let start = fault.at.as_secs_f64();
                f.records
                    .iter()
                    .rposition(|r| r.name == fault.name && r.start_s == start)
                    .unwrap_or(0) // unused: only starts write records
            }
        };
        let start = ev.edge == Edge::Start;
        let kind = if start { "fault-start" } else { "fault-end" };
        self.emit_event(kind, &fault.name, fault.kind.as_str());
        match &fault.kind {
            FaultKind::NodeCrash { nodes } | FaultKind::ZoneOutage { nodes, .. } => {
                if start {
                    self.faults.as_mut().expect("faults").awaiting.push(rec);
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
                self.faults.as_mut().expect("faults").crash_rate[s] = start.then_some((*rate, rec));
                if start {
                    let ready: Vec<u32> = self
                        .observed
                        .replicas_of(*service)
                        .filter(|(_, st)| st.state == ReplicaState::Ready)
                        .map(|(id, _)| id.0)
                        .collect();
                    for r in ready {
                        self.draw_crash(r, s);
                    }
                }
            }
            FaultKind::OomKill { service, memory } => {
                self.faults.as_mut().expect("faults").oom[service.0 as usize] =
                    start.then_some((*memory, rec));
            }
            FaultKind::ImagePullFailure { service } => {
                let f = self.faults.as_mut().expect("faults");
                f.image_pull[service.0 as usize] = start.then_some(rec);
                if !start {
                    let (waiting, rest): (Vec<u32>, Vec<u32>) = f
                        .blocked
                        .iter()
                        .partition(|&&r| self.observed.replicas[r as usize].service == *service);
                    f.blocked = rest;
                    for r in waiting {
                        if self.observed.replicas[r as usize].state == ReplicaState::Starting {
                            self.faults.as_mut().expect("faults").set_dead(r, false);
                            self.start_container(r);
                        }
                    }
                }
            }
            FaultKind::ControlPlanePause => {
                let f = self.faults.as_mut().expect("faults");
                f.paused_until = if start { fault.end() } else { None };
                // Deferred work runs at the end of the pause (see `defer`).
            }
            FaultKind::Partition { .. } | FaultKind::LinkDegrade { .. } => {
                if self.net_fault(&fault.kind, start, rec) && start {
                    self.faults.as_mut().expect("faults").awaiting.push(rec);
                }
            }
        }
    }

    /// During a control-plane pause, moves `ev` to the pause's end and says so.
    pub(super) fn defer(&mut self, ev: Event) -> bool {
        let now = self.engine.now();
        match self.faults.as_ref().and_then(|f| f.paused(now)) {
            Some(t) => {
                self.engine.schedule(t, ev);
                true
            }
            None => false,
        }
    }

    /// Replicas bound to `node` in any of `states`, in id order.
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

    fn crash_node(&mut self, n: u32, rec: usize) {
        let now = self.engine.now();
        let f = self.faults.as_mut().expect("faults");
        let i = n as usize;
        f.down[i] += 1;
        if f.down[i] > 1 {
            return;
        }
        f.rebooted[i] = true;
        // Cut off already: silent, its NotReady is on its way.
        let notice = (!self.cut_off(n)).then(|| {
            let f = self.faults.as_mut().expect("faults");
            f.silence(n, rec, now)
        });
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

    /// Replica `r`'s container dies now: what it holds is lost.
    pub(super) fn kill(&mut self, r: u32, rec: usize) {
        let now = self.engine.now();
        let s = self.observed.replicas[r as usize].service.0 as usize;
        let ready = self.observed.replicas[r as usize].state == ReplicaState::Ready;
        let f = self.faults.as_mut().expect("faults");
        if f.is_dead(r) {
            return;
        }
        f.set_dead(r, true);
        f.incarnation[r as usize] += 1;
        f.killed_by.insert(r, rec);
        if ready {
            f.dead_ready[s] += 1;
        }
        let mut lost = 0u64;
        // Queued requests: lost at once.
        while let Some(tagged) = self.waiting.pop_front(&mut self.serving[r as usize].queue) {
            let (a, c) = self.untag(tagged);
            let svc = &mut self.services[s];
            svc.queued -= 1;
            svc.metrics.failed();
            svc.clients[c]
                .balancer
                .on_complete(ReplicaId(r), SimDuration(now.0 - a), false);
            lost += 1;
        }
        // In service: lost now; their completion events become orphans.
        let busy = std::mem::take(&mut self.serving[r as usize].busy);
        let svc = &mut self.services[s];
        svc.busy -= busy;
        svc.metrics.busy.set(now, f64::from(svc.busy));
        for _ in 0..busy {
            svc.metrics.failed();
        }
        lost += u64::from(busy);
        let f = self.faults.as_mut().expect("faults");
        let o = &mut f.orphans[r as usize];
        *o = (o.0 + busy, now.0);
        let record = &mut f.records[rec];
        record.lost_requests += lost;
        record.containers_killed += 1;
        self.load_changed(r, s);
    }

    /// A completion on `r` of a request lost at its death: tell the
    /// balancer it failed and drop it. Called on every completion while the
    /// run has faults.
    pub(super) fn orphan(&mut self, r: u32, tagged: u64) -> bool {
        let (arrival, c) = self.untag(tagged);
        let f = self.faults.as_mut().expect("faults");
        let Some(o) = f.orphans.get_mut(r as usize) else {
            return false;
        };
        if o.0 == 0 || arrival > o.1 {
            return false;
        }
        o.0 -= 1;
        let now = self.engine.now();
        let s = self.observed.replicas[r as usize].service.0 as usize;
        let b = &mut self.services[s].clients[c].balancer;
        b.on_time(now);
        b.on_complete(ReplicaId(r), SimDuration(now.0 - arrival), false);
        true
    }

    /// Takes ready replica `r` out of the endpoints (it still exists).
    fn unready(&mut self, r: u32) {
        let now = self.engine.now();
        let st = self.observed.replicas[r as usize];
        if st.state != ReplicaState::Ready {
            return;
        }
        let s = st.service.0 as usize;
        self.leave_endpoints(r, s);
        let f = self.faults.as_mut().expect("faults");
        if f.is_dead(r) {
            f.dead_ready[s] -= 1;
        }
        let st = &mut self.observed.replicas[r as usize];
        st.state = ReplicaState::Starting;
        st.since = now;
    }

    /// The node lifecycle controller marks crashed node `n` NotReady.
    pub(super) fn on_node_not_ready(&mut self, n: u32, epoch: u32) {
        if self.faults.as_ref().expect("faults").epoch[n as usize] != epoch
            || self.defer(Event::NodeNotReady { node: n, epoch })
        {
            return;
        }
        let now = self.engine.now();
        let f = self.faults.as_mut().expect("faults");
        let rec = &mut f.records[f.node_record[n as usize]];
        let detect = now.as_secs_f64() - rec.start_s;
        if rec.time_to_detect_s.is_none() {
            rec.time_to_detect_s = Some(detect);
        }
        let evict = now + f.lifecycle.toleration;
        if self.observed.nodes[n as usize].ready {
            self.observed.set_ready(NodeId(n), false);
        }
        let name = self.observed.nodes[n as usize].spec.name.clone();
        self.emit_event("node-not-ready", &name, "reason=no heartbeat");
        for r in self.replicas_on(n, &[ReplicaState::Ready]) {
            self.unready(r);
            if self.net.is_some() {
                self.net_unready(n, r);
            }
        }
        self.mark_dirty(false);
        self.engine.schedule(evict, Event::Evict { node: n, epoch });
    }

    /// Taint-based eviction of NotReady node `n`'s replicas.
    pub(super) fn on_evict(&mut self, n: u32, epoch: u32) {
        if self.faults.as_ref().expect("faults").epoch[n as usize] != epoch
            || self.defer(Event::Evict { node: n, epoch })
        {
            return;
        }
        let now = self.engine.now();
        let rec = self.faults.as_ref().expect("faults").node_record[n as usize];
        for r in self.replicas_on(n, &[ReplicaState::Starting, ReplicaState::Ready]) {
            if self.net.is_some() {
                self.net_evict(n, r, rec);
            }
            self.unready(r);
            let status = self.observed.replicas[r as usize];
            let node = NodeId(n);
            let requests = self.scenario.desired.services[status.service.0 as usize].requests;
            self.observed.unbind(node, status.service, requests);
            self.allocation_changed(node, requests, false);
            let st = &mut self.observed.replicas[r as usize];
            st.state = ReplicaState::Terminated;
            st.since = now;
            let name = self.replica_name(r);
            let node_name = self.observed.nodes[n as usize].spec.name.clone();
            self.emit_event("evict", &name, &format!("node={node_name}"));
            self.node_left(n);
        }
        self.mark_dirty(true);
    }

    /// The crash holding node `n` ends: heartbeats resume, it is Ready and
    /// comes back empty.
    fn recover_node(&mut self, n: u32) {
        let f = self.faults.as_mut().expect("faults");
        let i = n as usize;
        f.down[i] -= 1;
        if f.down[i] > 0 || self.cut_off(n) {
            return; // still crashed, or still cut off: heard when the link heals
        }
        self.heard_again(n);
    }

    /// Node `n`'s heartbeats arrive again: it is Ready; after a crash it
    /// comes back empty, after a cut its running replicas are Ready again.
    pub(super) fn heard_again(&mut self, n: u32) {
        let f = self.faults.as_mut().expect("faults");
        let i = n as usize;
        f.epoch[i] += 1;
        let rebooted = std::mem::take(&mut f.rebooted[i]);
        let life_ready =
            self.node_info[i].life == orkestra_core::autoscale::cluster::NodeLife::Ready;
        if !self.observed.nodes[i].ready && life_ready {
            self.observed.set_ready(NodeId(n), true);
            let name = self.observed.nodes[i].spec.name.clone();
            self.emit_event("node-ready", &name, "reason=heartbeat");
        }
        let now = self.engine.now();
        if rebooted {
            for r in self.replicas_on(n, &[ReplicaState::Starting, ReplicaState::Ready]) {
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
        let f = self.faults.as_mut().expect("faults");
        let old = std::mem::replace(&mut f.node_speed[n as usize], speed);
        for (r, st) in self.observed.replicas.iter().enumerate() {
            if st.node == Some(NodeId(n))
                && let Some(x) = self.slow.get_mut(r)
            {
                *x = (f64::from(*x) * old / speed) as f32;
            }
        }
    }

    /// Node faults whose services are all back at their desired number of
    /// serving replicas get their recovery time.
    fn check_recovered(&mut self) {
        let Some(f) = self.faults.as_ref() else {
            return;
        };
        if f.awaiting.is_empty() {
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
                self.services[s].ready.saturating_sub(f.dead_ready[s] + cut)
                    >= self.desired.services[s].replicas
            });
        if !all {
            return;
        }
        let now = self.engine.now().as_secs_f64();
        let f = self.faults.as_mut().expect("faults");
        for rec in std::mem::take(&mut f.awaiting) {
            let r = &mut f.records[rec];
            r.time_to_recover_s = Some(now - r.start_s);
        }
    }

    /// The `faults` section of the summary.
    pub(super) fn faults_summary(&self, summary: &Summary) -> Option<FaultsSummary> {
        let f = self.faults.as_ref()?;
        Some(FaultsSummary {
            availability: summary
                .services
                .iter()
                .map(|s| orkestra_core::results::ServiceAvailability {
                    service: s.name.clone(),
                    availability: if s.requests.total == 0 {
                        1.0
                    } else {
                        s.requests.ok as f64 / s.requests.total as f64
                    },
                    lost: s.requests.failed,
                })
                .collect(),
            faults: f.records.clone(),
        })
    }
}
