//! The live reconciler: observe the engines, call the core's controllers,
//! apply their actions with Docker.
//!
//! Key decision: this loop owns no policy. Each tick builds the
//! `ObservedCluster` from the labelled containers on every host, calls
//! `reconcile_replicas` and `schedule` — the functions the simulator calls —
//! and applies the resulting actions. Containers it finds but does not know
//! (a restarted controller) are *adopted* by their labels, so a restart
//! never starts duplicates. Docker's event stream wakes the loop when a
//! container dies, so a replacement starts within one tick.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use orkestra_core::action::Action;
use orkestra_core::controller::reconcile_replicas;
use orkestra_core::metrics::ServiceMetrics;
use orkestra_core::model::{
    NodeId, NodeStatus, ObservedCluster, ReplicaState, ReplicaStatus, ServiceId, ServiceSpec, Work,
};
use orkestra_core::placement::{Place, schedule_with};
use orkestra_core::rng::StreamRng;
use orkestra_core::scenario::Scenario;
use orkestra_core::time::SimTime;
use tokio::sync::{Notify, watch};

use crate::docker::{self, ContainerSpec};
use crate::hosts::Host;
use crate::proxy::{Drain, Endpoint, Endpoints};

mod drain;
mod nodes;
mod probes;
mod rollout;

pub use nodes::FaultState;
pub use rollout::check as check_rollouts;

/// Scenario time in live mode: wall time since the start × speed.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    /// When the run started.
    pub start: Instant,
    /// Time compression.
    pub speed: f64,
}

impl Clock {
    /// Scenario time now.
    pub fn now(&self) -> SimTime {
        SimTime((self.start.elapsed().as_nanos() as f64 * self.speed) as u64)
    }
}

/// An `events.csv` row.
#[derive(Clone, Debug)]
pub struct EventRow {
    /// Scenario time, seconds.
    pub time_s: f64,
    /// Kind.
    pub kind: &'static str,
    /// Subject.
    pub subject: String,
    /// Detail.
    pub detail: String,
}

/// One replica as the metrics pipeline and autoscalers see it, as of the
/// end of the controller's last tick.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplicaView {
    /// Stable index of the replica in this run (never reused).
    pub index: usize,
    /// Its name (`<service>-<n>`).
    pub name: String,
    /// Its service.
    pub service: usize,
    /// Its state.
    pub state: ReplicaState,
    /// Scenario time of its last state change (for `Ready`: when it became ready).
    pub since: SimTime,
    /// Where its workload port is published, once known.
    pub addr: Option<SocketAddr>,
    /// Its container, once created.
    pub container: Option<String>,
    /// The host it runs on, once bound.
    pub host: Option<usize>,
}

/// What autoscalers share with the controller: the desired replica count
/// per service (which the controller reconciles to), the replicas as last
/// observed, the `events.csv` rows and the wake-up of the reconcile loop.
/// Autoscalers never wait for a tick's Docker calls.
#[derive(Clone)]
pub struct ScaleHandle {
    desired: Arc<Mutex<Vec<u32>>>,
    view: Arc<Mutex<Arc<Vec<ReplicaView>>>>,
    /// Rows for `events.csv`.
    pub events: Arc<Mutex<Vec<EventRow>>>,
    /// Wakes the reconcile loop.
    pub wake: Arc<Notify>,
    names: Arc<Vec<String>>,
}

impl ScaleHandle {
    /// A handle for services `names` starting at `desired` replicas each,
    /// with no replicas observed yet.
    pub fn new(names: Vec<String>, desired: Vec<u32>) -> ScaleHandle {
        ScaleHandle {
            desired: Arc::new(Mutex::new(desired)),
            view: Arc::default(),
            events: Arc::default(),
            wake: Arc::new(Notify::new()),
            names: Arc::new(names),
        }
    }

    /// Replaces the replicas autoscalers see (the controller does this after each tick).
    pub fn set_replicas(&self, view: Vec<ReplicaView>) {
        *self.view.lock().expect("view") = Arc::new(view);
    }

    /// Desired replicas of service `s` now.
    pub fn desired(&self, s: usize) -> u32 {
        self.desired.lock().expect("desired")[s]
    }

    /// Desired replicas of every service.
    pub fn all_desired(&self) -> Vec<u32> {
        self.desired.lock().expect("desired").clone()
    }

    /// The replicas as of the end of the last tick.
    pub fn replicas(&self) -> Arc<Vec<ReplicaView>> {
        self.view.lock().expect("view").clone()
    }

    /// Sets service `s` to `to` replicas at scenario time `now` because of
    /// `reason`: records a `scale` event row and wakes the reconcile loop.
    pub fn scale(&self, now: SimTime, s: usize, to: u32, reason: &str) {
        let from = std::mem::replace(&mut self.desired.lock().expect("desired")[s], to);
        self.events.lock().expect("events").push(EventRow {
            time_s: now.as_secs_f64(),
            kind: "scale",
            subject: self.names[s].clone(),
            detail: format!("from={from} to={to} reason={reason}"),
        });
        self.wake.notify_one();
    }
}

/// What the controller knows of one replica beyond its status.
#[derive(Clone, Debug, Default)]
struct LiveReplica {
    name: String,
    container: Option<String>,
    addr: Option<SocketAddr>,
    /// Its pod template (0: the scenario's; 1: a rollout's `newRevision`).
    template: orkestra_core::rollout::TemplateId,
    /// Its readiness and liveness probes, once its container started.
    probes: Option<Box<probes::Probing>>,
    /// It has been ready before (a readiness probe may take it out and back).
    ready_once: bool,
}

/// The live control loop's state.
pub struct Controller {
    hosts: Vec<Host>,
    run: String,
    network: String,
    scenario: Arc<Scenario>,
    /// Desired replicas per service (the scenario's, then whatever the
    /// autoscalers set) and the replicas published for them.
    scale: ScaleHandle,
    observed: ObservedCluster,
    replicas: Vec<LiveReplica>,
    next_ordinal: Vec<u32>,
    placer: Box<dyn Place>,
    rng: StreamRng,
    clock: Clock,
    endpoints: Vec<watch::Sender<Endpoints>>,
    metrics: Vec<Arc<Mutex<ServiceMetrics>>>,
    /// Deaths per service not yet answered by a ready replacement.
    deaths: Vec<Vec<(String, Instant)>>,
    unschedulable: BTreeMap<usize, String>,
    /// Rows for `events.csv`.
    pub events: Arc<Mutex<Vec<EventRow>>>,
    /// Woken by the Docker event stream.
    pub wake: Arc<Notify>,
    /// Per service, its proxy's drain check.
    drains: Vec<Drain>,
    /// Per service, its proxy's split routing (canary, blue/green).
    splits: Vec<Option<crate::proxy::Split>>,
    /// Replicas being drained and stopped by their own tasks.
    terminating: Vec<(usize, tokio::task::JoinHandle<Result<(), String>>)>,
    /// Per service, its rollout (empty when none has one).
    rollouts: Vec<Option<rollout::LiveRollout>>,
    /// Hosts the fault runner took down, and the control-plane pause.
    pub faults: Arc<FaultState>,
    /// Node heartbeats, NotReady and eviction: the core's node lifecycle.
    lifecycle: orkestra_core::health::node::NodeLifecycle,
    /// Node-monitor passes done (at multiples of its period).
    monitored: u64,
    /// Hosts whose engine did not answer the last list.
    unreachable: Vec<bool>,
    /// Traffic (and scenario time) has started: probes follow their schedules.
    clock_started: bool,
}

/// Why a tick failed.
#[derive(Debug, thiserror::Error)]
#[error("host '{host}': {message}")]
pub struct LiveError {
    /// Host name.
    pub host: String,
    /// What went wrong.
    pub message: String,
}

/// The workload's command line for a service: the service model as
/// `orkestra-workload` flags (the workload crate owns the flag format);
/// with `new_revision`, the rollout's new revision's service time, error
/// rate and slowdown.
pub fn workload_args(
    s: &ServiceSpec,
    seed: u64,
    new_revision: Option<&orkestra_core::rollout::NewRevision>,
) -> Result<Vec<String>, String> {
    let cfg = orkestra_workload::WorkloadConfig {
        service_time: new_revision
            .and_then(|n| n.service_time.clone())
            .unwrap_or_else(|| s.service_time.clone()),
        work: match s.work {
            Work::Cpu => orkestra_workload::Work::Cpu,
            Work::Sleep => orkestra_workload::Work::Sleep,
        },
        concurrency: s.concurrency,
        queue_limit: s.queue_limit,
        seed,
        bind: std::net::SocketAddr::from(([0, 0, 0, 0], docker::WORKLOAD_PORT)),
        error_rate: new_revision.map_or(0.0, |n| n.error_rate),
        slowdown: new_revision.map_or(1.0, |n| n.slowdown),
    };
    orkestra_workload::to_args(&cfg).map_err(|e| format!("service '{}': {e}", s.name))
}

impl Controller {
    /// A controller for `scenario` on `hosts`, publishing endpoints and
    /// recording into the given per-service channels and metrics.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        hosts: Vec<Host>,
        run: String,
        network: String,
        scenario: Arc<Scenario>,
        placer: Box<dyn Place>,
        rng: StreamRng,
        clock: Clock,
        endpoints: Vec<watch::Sender<Endpoints>>,
        drains: Vec<Drain>,
        metrics: Vec<Arc<Mutex<ServiceMetrics>>>,
    ) -> Controller {
        let lifecycle = orkestra_core::health::node::NodeLifecycle::new(
            scenario.resilience.node_lifecycle,
            hosts.len(),
            SimTime::ZERO,
        );
        let n_hosts = hosts.len();
        let faults = Arc::new(FaultState::new(n_hosts));
        let rollouts = rollout::initial(&scenario);
        let nodes = hosts
            .iter()
            .map(|h| NodeStatus::new(h.node.clone()))
            .collect();
        let n = scenario.desired.services.len();
        let scale = ScaleHandle::new(
            scenario
                .desired
                .services
                .iter()
                .map(|s| s.name.clone())
                .collect(),
            scenario
                .desired
                .services
                .iter()
                .map(|s| s.replicas)
                .collect(),
        );
        Controller {
            hosts,
            run,
            network,
            scenario,
            events: scale.events.clone(),
            wake: scale.wake.clone(),
            scale,
            observed: ObservedCluster {
                storage: Default::default(),
                nodes,
                replicas: Vec::new(),
                changes: Default::default(),
            },
            replicas: Vec::new(),
            next_ordinal: vec![0; n],
            placer,
            rng,
            clock,
            endpoints,
            metrics,
            deaths: vec![Vec::new(); n],
            unschedulable: BTreeMap::new(),
            drains,
            splits: Vec::new(),
            terminating: Vec::new(),
            rollouts,
            faults,
            lifecycle,
            monitored: 0,
            unreachable: vec![false; n_hosts],
            clock_started: false,
        }
    }

    /// Restarts scenario time at zero (when traffic begins).
    pub fn start_clock(&mut self, start: Instant) {
        self.clock.start = start;
        self.clock_started = true;
    }

    /// The handle autoscalers change desired replica counts through.
    pub fn scale_handle(&self) -> ScaleHandle {
        self.scale.clone()
    }

    /// Desired replicas per service now.
    pub fn desired_replicas(&self) -> Vec<u32> {
        self.scale.all_desired()
    }

    /// The run's network name.
    pub fn network(&self) -> &str {
        &self.network
    }

    /// The hosts.
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// Published addresses of the ready replicas, per service.
    pub fn ready_addrs(&self) -> Vec<Vec<SocketAddr>> {
        let mut out = vec![Vec::new(); self.scenario.desired.services.len()];
        for (i, r) in self.observed.replicas.iter().enumerate() {
            if let (ReplicaState::Ready, Some(a)) = (r.state, self.replicas[i].addr) {
                out[r.service.0 as usize].push(a);
            }
        }
        out
    }

    /// Ready replicas per service.
    pub fn ready_counts(&self) -> Vec<u32> {
        let mut n = vec![0; self.scenario.desired.services.len()];
        for r in &self.observed.replicas {
            if r.state == ReplicaState::Ready {
                n[r.service.0 as usize] += 1;
            }
        }
        n
    }

    /// The cluster as last observed.
    pub fn observed(&self) -> &ObservedCluster {
        &self.observed
    }

    fn event(&self, kind: &'static str, subject: &str, detail: String) {
        self.events.lock().expect("events").push(EventRow {
            time_s: self.clock.now().as_secs_f64(),
            kind,
            subject: subject.to_string(),
            detail,
        });
    }

    fn service_index(&self, name: &str) -> Option<usize> {
        self.scenario
            .desired
            .services
            .iter()
            .position(|s| s.name == name)
    }

    fn set_state(&mut self, i: usize, state: ReplicaState) {
        let now = self.clock.now();
        let r = &mut self.observed.replicas[i];
        let was_counted = matches!(
            r.state,
            ReplicaState::Starting
                | ReplicaState::Ready
                | ReplicaState::Terminating
                | ReplicaState::Failed
        ) && r.node.is_some();
        let counted = matches!(
            state,
            ReplicaState::Starting
                | ReplicaState::Ready
                | ReplicaState::Terminating
                | ReplicaState::Failed
        );
        r.state = state;
        r.since = now;
        let (node, service) = (r.node, r.service);
        if let Some(node) = node {
            let req = self.scenario.desired.services[service.0 as usize].requests;
            if was_counted && !counted {
                self.observed.unbind(node, service, req);
            } else if !was_counted && counted {
                self.observed.bind(node, service, req);
            }
        }
    }

    /// One reconcile pass: observe, probe, decide, act, publish. While a
    /// control-plane fault pauses it, only the kubelet's part runs
    /// (observe, probe) and endpoints follow readiness.
    pub async fn tick(&mut self) -> Result<(), LiveError> {
        self.reap().await?;
        let answered = self.observe().await?;
        self.probe().await;
        if !self.faults.control_plane_paused() {
            self.node_health(&answered).await?;
            self.sync_rollouts().await?;
            self.act().await?;
        }
        self.publish();
        self.publish_view();
        Ok(())
    }

    /// Publishes the replicas for the metrics pipeline.
    fn publish_view(&mut self) {
        let view: Vec<ReplicaView> = self
            .observed
            .replicas
            .iter()
            .zip(&self.replicas)
            .enumerate()
            .filter(|(_, (r, _))| r.state != ReplicaState::Terminated)
            .map(|(index, (r, l))| ReplicaView {
                index,
                name: l.name.clone(),
                service: r.service.0 as usize,
                state: r.state,
                since: r.since,
                addr: l.addr,
                container: l.container.clone(),
                host: r.node.map(|n| n.0 as usize),
            })
            .collect();
        self.scale.set_replicas(view);
    }

    /// Lists the run's containers on every host that answers and is not
    /// down by a fault; returns which hosts answered (their heartbeats).
    /// A replica on a host that did not answer keeps its last state: the
    /// node lifecycle decides when it is lost.
    async fn observe(&mut self) -> Result<Vec<bool>, LiveError> {
        let mut answered = Vec::with_capacity(self.hosts.len());
        // Unknown (host silent) counts as alive until evicted.
        let mut seen: Vec<bool> = self
            .observed
            .replicas
            .iter()
            .map(|r| r.node.is_none_or(|n| self.faults.is_down(n.0 as usize)))
            .collect();
        for h in 0..self.hosts.len() {
            if self.faults.is_down(h) {
                answered.push(false);
                continue;
            }
            let (docker, address, host_name) = (
                self.hosts[h].docker.clone(),
                self.hosts[h].address,
                self.hosts[h].name.clone(),
            );
            let list = match docker::list(&docker, Some(&self.run), address).await {
                Ok(list) => list,
                Err(e) => {
                    // An engine that does not answer misses its heartbeat.
                    for (i, r) in self.observed.replicas.iter().enumerate() {
                        if r.node == Some(NodeId(h as u32)) {
                            seen[i] = true;
                        }
                    }
                    if !self.unreachable[h] {
                        self.unreachable[h] = true;
                        self.event("host-unreachable", &host_name, e.to_string());
                    }
                    answered.push(false);
                    continue;
                }
            };
            answered.push(true);
            self.unreachable[h] = false;
            for c in list {
                match self.replicas.iter().position(|r| r.name == c.replica) {
                    Some(i) if self.observed.replicas[i].state == ReplicaState::Terminated => {
                        // Left on a host that was down when its replica was
                        // evicted: collect it now.
                        let _ = docker::remove(&docker, &c.id).await;
                    }
                    Some(i) => {
                        seen[i] = c.running;
                        self.replicas[i].addr = c.addr;
                    }
                    None => {
                        // A container of this run we did not create in this process: adopt it.
                        let Some(s) = self.service_index(&c.service) else {
                            continue;
                        };
                        if let Some(n) = c
                            .replica
                            .rsplit('-')
                            .next()
                            .and_then(|n| n.parse::<u32>().ok())
                        {
                            self.next_ordinal[s] = self.next_ordinal[s].max(n + 1);
                        }
                        self.observed.replicas.push(ReplicaStatus {
                            service: ServiceId(s as u32),
                            node: Some(NodeId(h as u32)),
                            state: ReplicaState::Pending,
                            since: self.clock.now(),
                        });
                        self.replicas.push(LiveReplica {
                            name: c.replica.clone(),
                            container: Some(c.id.clone()),
                            addr: c.addr,
                            template: rollout::template_of_label(&c.revision),
                            probes: self.new_probes(s),
                            ready_once: false,
                        });
                        seen.push(c.running);
                        let i = self.replicas.len() - 1;
                        self.set_state(
                            i,
                            if c.running {
                                ReplicaState::Starting
                            } else {
                                ReplicaState::Failed
                            },
                        );
                        self.event("adopt", &c.replica, format!("host={host_name}"));
                    }
                }
            }
        }
        for (i, alive) in seen.into_iter().enumerate() {
            let st = self.observed.replicas[i].state;
            if !alive
                && self.replicas[i].container.is_some()
                && matches!(st, ReplicaState::Starting | ReplicaState::Ready)
            {
                let s = self.observed.replicas[i].service.0 as usize;
                self.set_state(i, ReplicaState::Failed);
                self.deaths[s].push((self.replicas[i].name.clone(), Instant::now()));
                self.event(
                    "died",
                    &self.replicas[i].name.clone(),
                    "container exited or vanished".into(),
                );
            }
        }
        Ok(answered)
    }

    async fn act(&mut self) -> Result<(), LiveError> {
        let now = self.clock.now();
        let mut desired = self.scenario.desired.clone();
        for (spec, n) in desired.services.iter_mut().zip(self.scale.all_desired()) {
            spec.replicas = n;
        }
        self.rollout_counts(&mut desired);
        for a in reconcile_replicas(&desired, &self.observed, now) {
            match a {
                Action::Create { service } => {
                    let t = self.creating_template(service.0 as usize);
                    self.add_replica(service, t);
                }
                Action::Delete { replica } => self.delete(replica.0 as usize).await?,
                _ => {}
            }
        }
        for a in schedule_with(
            self.scenario.queue,
            &desired,
            &self.observed,
            self.placer.as_mut(),
            &mut self.rng,
        ) {
            match a {
                Action::Bind { replica, node } => self.bind(replica.0 as usize, node).await?,
                Action::Unschedulable { replica, why } => {
                    let why = why.to_string();
                    let i = replica.0 as usize;
                    if self.unschedulable.get(&i) != Some(&why) {
                        self.event("unschedulable", &self.replicas[i].name.clone(), why.clone());
                        self.unschedulable.insert(i, why);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// A new pending replica of `service` from pod template `template`.
    fn add_replica(&mut self, service: ServiceId, template: orkestra_core::rollout::TemplateId) {
        let s = service.0 as usize;
        let name = format!(
            "{}-{}",
            self.scenario.desired.services[s].name, self.next_ordinal[s]
        );
        self.next_ordinal[s] += 1;
        self.observed.replicas.push(ReplicaStatus {
            service,
            node: None,
            state: ReplicaState::Pending,
            since: self.clock.now(),
        });
        self.replicas.push(LiveReplica {
            name: name.clone(),
            template,
            ..Default::default()
        });
        let detail = if self.rollouts.is_empty() {
            String::new()
        } else {
            format!("template={template}")
        };
        self.event("create", &name, detail);
    }

    async fn bind(&mut self, i: usize, node: NodeId) -> Result<(), LiveError> {
        let host = &self.hosts[node.0 as usize];
        let spec = &self.scenario.desired.services[self.observed.replicas[i].service.0 as usize];
        let new_revision = (self.replicas[i].template == orkestra_core::rollout::driver::NEW)
            .then(|| spec.rollout.as_ref().map(|r| &r.new_revision))
            .flatten();
        let args =
            workload_args(spec, self.scenario.seed, new_revision).map_err(|m| LiveError {
                host: host.name.clone(),
                message: m,
            })?;
        let image = crate::image::tag();
        let name = self.replicas[i].name.clone();
        let revision = rollout::label_of_template(self.replicas[i].template);
        let c = ContainerSpec {
            run: &self.run,
            service: &spec.name,
            replica: &name,
            revision: &revision,
            image: &image,
            args,
            cpu_milli: spec.limits.cpu_milli,
            memory_bytes: spec.limits.memory_bytes,
            network: &self.network,
            publish_on: host.address,
        };
        let id = docker::run_container(&host.docker, &c)
            .await
            .map_err(|e| LiveError {
                host: host.name.clone(),
                message: format!("cannot start {name}: {e}"),
            })?;
        let host_name = host.name.clone();
        self.replicas[i].container = Some(id);
        self.observed.replicas[i].node = Some(node);
        self.set_state(i, ReplicaState::Starting);
        self.replicas[i].probes = self.new_probes(self.observed.replicas[i].service.0 as usize);
        self.unschedulable.remove(&i);
        self.event("bind", &name, format!("node={host_name}"));
        Ok(())
    }

    /// Publishes each service's ready endpoints (of Ready nodes) to its
    /// proxy; during a canary or blue/green rollout the new revision's go
    /// to the proxy's second list.
    fn publish(&mut self) {
        let now = self.clock.now();
        for s in 0..self.endpoints.len() {
            let split = self.splits.get(s).and_then(Option::as_ref);
            let (mut eps, mut new_eps) = (Vec::new(), Vec::new());
            for (i, r) in self.observed.replicas.iter().enumerate() {
                if r.service.0 as usize != s || r.state != ReplicaState::Ready {
                    continue;
                }
                let (Some(node), Some(addr)) = (r.node, self.replicas[i].addr) else {
                    continue;
                };
                if self.lifecycle.condition(node)
                    != orkestra_core::health::node::NodeCondition::Ready
                {
                    // The node controller marks a lost node's pods not ready.
                    continue;
                }
                let spec = &self.scenario.desired.services[s];
                let node = &self.observed.nodes[node.0 as usize].spec;
                let weight =
                    spec.balancing
                        .weights
                        .weight(spec.limits.cpu_milli, node.speed, &node.pool);
                let e = Endpoint {
                    replica: orkestra_core::model::ReplicaId(i as u32),
                    addr,
                    weight,
                };
                if split.is_some()
                    && self.replicas[i].template == orkestra_core::rollout::driver::NEW
                {
                    new_eps.push(e);
                } else {
                    eps.push(e);
                }
            }
            let n = (eps.len() + new_eps.len()) as f64;
            let concurrency = f64::from(self.scenario.desired.services[s].concurrency);
            {
                let mut m = self.metrics[s].lock().expect("metrics");
                if m.ready.value() != n {
                    m.ready.set(now, n);
                    m.slots.set(now, n * concurrency);
                }
            }
            let tx = &self.endpoints[s];
            if **tx.borrow() != eps {
                tx.send_replace(Arc::new(eps));
            }
            if let Some(split) = split
                && **split.endpoints.borrow() != new_eps
            {
                split.endpoints.send_replace(Arc::new(new_eps));
            }
        }
    }

    /// Weighted routing handles of the services whose proxy splits traffic
    /// for a canary or blue/green rollout (`None` for the others).
    pub fn set_splits(&mut self, splits: Vec<Option<crate::proxy::Split>>) {
        self.splits = splits;
    }

    /// Removes every container of the run and its networks on every host.
    pub async fn teardown(&mut self) -> Vec<String> {
        for (_, task) in self.terminating.drain(..) {
            task.abort();
        }
        let mut errors = Vec::new();
        for h in &self.hosts {
            if let Err(e) = docker::down(&h.docker, Some(&self.run), h.address).await {
                errors.push(format!("host '{}': {e}", h.name));
            }
        }
        errors
    }

    /// Runs ticks until `stop` fires; ticks every `period` or when woken.
    pub async fn run_until(&mut self, period: Duration, stop: &Notify) -> Result<(), LiveError> {
        loop {
            self.tick().await?;
            tokio::select! {
                _ = tokio::time::sleep(period) => {}
                _ = self.wake.notified() => {}
                _ = stop.notified() => return Ok(()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orkestra_core::dist::DurationDist;
    use orkestra_core::testing::service;

    #[test]
    fn workload_flags_carry_the_service_model() {
        let mut s = service("web");
        s.concurrency = 4;
        s.queue_limit = Some(100);
        s.work = Work::Sleep;
        let args = workload_args(&s, 7, None).unwrap();
        let cfg = orkestra_workload::parse_args(&args).unwrap();
        assert_eq!(
            (cfg.concurrency, cfg.queue_limit, cfg.seed),
            (4, Some(100), 7)
        );
        assert_eq!(cfg.work, orkestra_workload::Work::Sleep);
        assert_eq!(cfg.bind.port(), docker::WORKLOAD_PORT);
        // Exponential 10 ms in the fixture.
        assert!((cfg.service_time.mean_secs() - 0.01).abs() < 1e-9);
        s.service_time =
            DurationDist::empirical(vec![orkestra_core::time::SimDuration(1)]).unwrap();
        assert!(
            workload_args(&s, 7, None)
                .unwrap_err()
                .contains("empirical")
        );
    }
}
