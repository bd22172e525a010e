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
//! This file holds the fault state, [`Faults`], and its transitions; the
//! handlers that apply them to the world — replicas killed, endpoints left,
//! nodes NotReady, evictions — are in `cluster/healing.rs`. Links
//! (`partition`, `link-degrade`, a zone outage's links) are applied in
//! `cluster/topology.rs`; a node cut off from the ingress zone goes silent
//! and is heard again through the same handlers. Not simulated yet: probes
//! (a container crash is seen at once, as the kubelet's PLEG sees an exited
//! container). Readiness probes gate starting containers
//! (`cluster/probes.rs`). Containers' own faults — crashes, OOM kills,
//! image pulls, restarts — are in [`containers`].

use std::collections::BTreeMap;

use orkestra_core::faults::{Edge, FaultEvent, FaultKind, FaultPlan, MemoryModel};
use orkestra_core::health::{CrashLoopBackOff, NodeLifecycleConfig};
use orkestra_core::model::{ObservedCluster, ReplicaState, ServiceId};
use orkestra_core::results::{FaultRecord, FaultsSummary, Summary};
use orkestra_core::rng::{StreamRng, names, stream};
use orkestra_core::scenario::Scenario;
use orkestra_core::time::SimTime;

use super::Event;
use crate::engine::Engine;

mod containers;

pub(super) use containers::Held;

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
    node_speed: Vec<f64>,
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
    /// Per node group: an active `provision-failure` (record).
    provision: Vec<Option<usize>>,
    /// Per node: cordoned by a `node-drain` fault.
    drained: Vec<bool>,
    /// Pods whose eviction was refused during the current drains (their
    /// `eviction-refused` row is written once).
    refused: std::collections::BTreeSet<u32>,
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
            provision: vec![None; scenario.node_groups.len()],
            drained: vec![false; nodes],
            refused: Default::default(),
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
        self.drained.push(false);
    }

    /// A `node-drain` on `n` starts (cordon) or ends (uncordon).
    pub(super) fn set_drained(&mut self, n: u32, on: bool) {
        self.drained[n as usize] = on;
    }

    /// Whether `n` is cordoned by a `node-drain` fault.
    pub(super) fn is_drained(&self, n: u32) -> bool {
        self.drained.get(n as usize).copied().unwrap_or(false)
    }

    /// Records that `r`'s eviction was refused; true the first time.
    pub(super) fn refused_first(&mut self, r: u32) -> bool {
        self.refused.insert(r)
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

    /// Schedules the next fault edge, if any.
    pub(super) fn schedule_next(&self, engine: &mut Engine<Event>) {
        if let Some(at) = self.plan.peek_at() {
            engine.schedule(at.max(engine.now()), Event::Fault);
        }
    }

    /// The next fault edge, if it is due by `now`.
    pub(super) fn next_due(&mut self, now: SimTime) -> Option<FaultEvent> {
        if self.plan.peek_at().is_none_or(|t| t > now) {
            return None;
        }
        self.plan.next()
    }

    /// The record of fault edge `ev` at `now`: a new one at a start, the
    /// start's at an end.
    pub(super) fn record_of(&mut self, ev: &FaultEvent, now: SimTime) -> usize {
        let fault = &ev.fault;
        match ev.edge {
            Edge::Start => {
                self.records.push(FaultRecord {
                    name: fault.name.clone(),
                    kind: fault.kind.as_str().to_string(),
                    start_s: now.as_secs_f64(),
                    end_s: fault.end().map(|e| e.as_secs_f64()),
                    ..Default::default()
                });
                self.records.len() - 1
            }
            Edge::End => {
                let start = fault.at.as_secs_f64();
                self.records
                    .iter()
                    .rposition(|r| r.name == fault.name && r.start_s == start)
                    .unwrap_or(0) // unused: only starts write records
            }
        }
    }

    /// Record `rec` gets its recovery time once every service serves again.
    pub(super) fn await_recovery(&mut self, rec: usize) {
        self.awaiting.push(rec);
    }

    /// Some record waits for its recovery time.
    pub(super) fn awaiting_recovery(&self) -> bool {
        !self.awaiting.is_empty()
    }

    /// Every service serves its desired replicas again at `now` (s): the
    /// records waiting for it get their recovery time.
    pub(super) fn recovered(&mut self, now: f64) {
        for rec in std::mem::take(&mut self.awaiting) {
            let r = &mut self.records[rec];
            r.time_to_recover_s = Some(now - r.start_s);
        }
    }

    /// A `container-crash` fault on service `s` starts (its rate and
    /// record) or ends.
    pub(super) fn set_crash_rate(&mut self, s: usize, crash: Option<(f64, usize)>) {
        self.crash_rate[s] = crash;
    }

    /// An `oom-kill` fault on service `s` starts (its memory model and
    /// record) or ends.
    pub(super) fn set_oom(&mut self, s: usize, oom: Option<(MemoryModel, usize)>) {
        self.oom[s] = oom;
    }

    /// A `provision-failure` on node group `g` starts (its record) or ends.
    pub(super) fn set_provision(&mut self, g: usize, rec: Option<usize>) {
        self.provision[g] = rec;
    }

    /// Whether a node added to group `g` now never registers.
    pub(super) fn provision_fails(&self, g: usize) -> bool {
        self.provision.get(g).is_some_and(Option::is_some)
    }

    /// An `image-pull-failure` on service `s` starts (its record) or ends.
    pub(super) fn set_image_pull(&mut self, s: usize, rec: Option<usize>) {
        self.image_pull[s] = rec;
    }

    /// The image-pull failure of `service` ended: its blocked replicas
    /// that are still starting are alive again, returned to be started.
    pub(super) fn unblock(&mut self, service: ServiceId, observed: &ObservedCluster) -> Vec<u32> {
        let (waiting, rest): (Vec<u32>, Vec<u32>) = self
            .blocked
            .iter()
            .partition(|&&r| observed.replicas[r as usize].service == service);
        self.blocked = rest;
        let starting: Vec<u32> = waiting
            .into_iter()
            .filter(|&r| observed.replicas[r as usize].state == ReplicaState::Starting)
            .collect();
        for &r in &starting {
            self.set_dead(r, false);
        }
        starting
    }

    /// A `control-plane-pause` starts (until its end) or ends (`None`).
    pub(super) fn set_paused(&mut self, until: Option<SimTime>) {
        self.paused_until = until;
    }

    /// Node `n` crashes: false when it was down already (an overlapping
    /// crash only counts).
    pub(super) fn crash(&mut self, n: u32) -> bool {
        let i = n as usize;
        self.down[i] += 1;
        if self.down[i] > 1 {
            return false;
        }
        self.rebooted[i] = true;
        true
    }

    /// A crash holding node `n` ends: whether no other holds it down.
    pub(super) fn recover(&mut self, n: u32) -> bool {
        let i = n as usize;
        self.down[i] -= 1;
        self.down[i] == 0
    }

    /// Node `n`'s heartbeats arrive again: a new epoch; whether it crashed
    /// since it was last heard (then it comes back empty).
    pub(super) fn heard(&mut self, n: u32) -> bool {
        let i = n as usize;
        self.epoch[i] += 1;
        std::mem::take(&mut self.rebooted[i])
    }

    /// Whether `epoch` is node `n`'s current crash epoch.
    pub(super) fn epoch_is(&self, n: u32, epoch: u32) -> bool {
        self.epoch[n as usize] == epoch
    }

    /// The record of the fault that silenced node `n`.
    pub(super) fn node_record(&self, n: u32) -> usize {
        self.node_record[n as usize]
    }

    /// The node lifecycle controller finds silent node `n` NotReady at
    /// `now`: its record's detection time; the instant of its eviction.
    pub(super) fn detected(&mut self, n: u32, now: SimTime) -> SimTime {
        let rec = &mut self.records[self.node_record[n as usize]];
        let detect = now.as_secs_f64() - rec.start_s;
        if rec.time_to_detect_s.is_none() {
            rec.time_to_detect_s = Some(detect);
        }
        now + self.lifecycle.toleration
    }

    /// Node `n` runs at `speed` (a `slow-node` fault's edge): its speed before.
    pub(super) fn set_node_speed(&mut self, n: u32, speed: f64) -> f64 {
        std::mem::replace(&mut self.node_speed[n as usize], speed)
    }

    /// Node `n`'s speed factor (1 unless a `slow-node` fault holds it).
    pub(super) fn node_speed(&self, n: u32) -> f64 {
        self.node_speed[n as usize]
    }

    /// Replica `r` of service `s` (counted ready if `ready`) dies because
    /// of record `rec`: false when it was dead already.
    pub(super) fn mark_killed(&mut self, r: u32, s: usize, ready: bool, rec: usize) -> bool {
        if self.is_dead(r) {
            return false;
        }
        self.set_dead(r, true);
        self.incarnation[r as usize] += 1;
        self.killed_by.insert(r, rec);
        if ready {
            self.dead_ready[s] += 1;
        }
        true
    }

    /// Replica `r`, killed at `now` by record `rec`, lost `lost` requests,
    /// `busy` of them in service (their completion events become orphans).
    pub(super) fn lost(&mut self, r: u32, rec: usize, busy: u32, lost: u64, now: SimTime) {
        let o = &mut self.orphans[r as usize];
        *o = (o.0 + busy, now.0);
        let record = &mut self.records[rec];
        record.lost_requests += lost;
        record.containers_killed += 1;
    }

    /// A completion on `r` of a request that arrived at `arrival` (ns):
    /// whether it was lost at its replica's death (then it is dropped).
    pub(super) fn take_orphan(&mut self, r: u32, arrival: u64) -> bool {
        let Some(o) = self.orphans.get_mut(r as usize) else {
            return false;
        };
        if o.0 == 0 || arrival > o.1 {
            return false;
        }
        o.0 -= 1;
        true
    }

    /// Ready replica `r` of service `s` stops being counted ready.
    pub(super) fn unready(&mut self, r: u32, s: usize) {
        if self.is_dead(r) {
            self.dead_ready[s] -= 1;
        }
    }

    /// The `faults` section of the summary.
    pub(super) fn summary(&self, summary: &Summary) -> FaultsSummary {
        FaultsSummary {
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
            faults: self.records.clone(),
        }
    }
}
