//! Live fault injection: the scenario's fault plan carried out on the
//! engines.
//!
//! Key decision: the fault plan is the core's [`FaultPlan`] — the same
//! scheduled faults and stochastic failures, drawn from the same
//! `failures/…` streams, as in the simulator — and this task only turns
//! each start and end into Docker calls at its scenario time; healing is
//! left to the controller, which runs the same node lifecycle and replica
//! controller as the simulator. Targets are matched to hosts: a node by
//! name (a hosts file names its hosts like the scenario's nodes), a zone by
//! the hosts' zones. The actions:
//!
//! | fault | live action |
//! |---|---|
//! | `node-crash`, `zone-outage`, stochastic failures | every container of the run on the host is killed (`live = "kill"`, default), stopped (`"stop"`), frozen (`"pause"`, thawed at the end) or detached from the run's network (`"disconnect"`, attached at the end); or the engine itself is stopped with the hosts file's `stop` command and started with `start` at the end (`"stop-engine"`); the host's heartbeats stop until the end |
//! | `partition` | the hosts of the side without the first host's zone (where the proxy, load generator and controller run) have their containers detached from the run's network and their heartbeats stop |
//! | `slow-node` | `docker update --cpus` to the CPU limit × speed on the host's containers; restored at the end |
//! | `container-crash` | each ready replica is killed (`"kill"`) or stopped (`"stop"`) after an exponential time of mean 1/rate from when it became ready (stream `failures/container/<svc>`) |
//! | `control-plane-pause` | the controller stops reconciling, scheduling, evicting and rolling out |
//!
//! `link-degrade`, `oom-kill`, `image-pull-failure`, `provision-failure` and `node-drain` are refused in live
//! mode by [`check`] (they need traffic control in the kernel, a workload
//! that allocates, a registry, a cloud that provisions nodes, and an
//! eviction API with PodDisruptionBudgets).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use orkestra_core::faults::{
    Edge, FaultEvent, FaultKind, FaultPlan, LiveAction, next_container_crash,
};
use orkestra_core::model::{NodeId, ReplicaState};
use orkestra_core::results::{FaultRecord, FaultsSummary, ServiceAvailability};
use orkestra_core::rng::{StreamRng, names, stream};
use orkestra_core::scenario::Scenario;
use orkestra_core::time::SimTime;
use tokio::sync::Notify;

use crate::controller::{Clock, EventRow, FaultState, ScaleHandle};
use crate::docker;
use crate::hosts::Host;

/// Refuses faults live mode cannot carry out, or whose targets name no
/// host, as `faults[i]…: why`.
pub fn check(scenario: &Scenario, hosts: &[Host]) -> Result<(), String> {
    let faults = &scenario.resilience.faults;
    for f in &faults.scheduled {
        match &f.kind {
            FaultKind::LinkDegrade { .. }
            | FaultKind::OomKill { .. }
            | FaultKind::ImagePullFailure { .. }
            | FaultKind::ProvisionFailure { .. }
            | FaultKind::NodeDrain { .. } => {
                return Err(format!(
                    "{}: kind = \"{}\" is simulated only (live mode has no traffic control, allocating workload, registry, node provisioning or eviction API to break or use)",
                    f.name,
                    f.kind.as_str()
                ));
            }
            kind => {
                let hit = targets(scenario, hosts, kind).map_err(|e| format!("{}: {e}", f.name))?;
                if faults.live_actions.get(&f.name) == Some(&LiveAction::StopEngine)
                    && let Some(&h) = hit.iter().find(|&&h| hosts[h].control.is_none())
                {
                    return Err(format!(
                        "{}.live: \"stop-engine\" needs `stop` and `start` commands for host '{}' in the hosts file",
                        f.name, hosts[h].name
                    ));
                }
            }
        }
    }
    for p in &faults.stochastic {
        for (unit, nodes) in &p.units {
            for n in nodes {
                host_of(scenario, hosts, *n)
                    .map_err(|e| format!("stochastic.{}: unit {unit}: {e}", p.pool))?;
            }
        }
    }
    Ok(())
}

/// The host standing for scenario node `n` (same name).
fn host_of(scenario: &Scenario, hosts: &[Host], n: NodeId) -> Result<usize, String> {
    let name = &scenario.nodes[n.0 as usize].name;
    hosts.iter().position(|h| &h.name == name).ok_or_else(|| {
        format!(
            "node '{name}' is no host (live mode matches nodes to hosts by name; hosts: {})",
            hosts
                .iter()
                .map(|h| h.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

/// The hosts a node, zone or partition fault takes down.
fn targets(scenario: &Scenario, hosts: &[Host], kind: &FaultKind) -> Result<Vec<usize>, String> {
    let in_zones = |zones: &[String]| -> Vec<usize> {
        (0..hosts.len())
            .filter(|&h| zones.contains(&hosts[h].node.zone))
            .collect()
    };
    match kind {
        FaultKind::NodeCrash { nodes } | FaultKind::SlowNode { nodes, .. } => {
            nodes.iter().map(|&n| host_of(scenario, hosts, n)).collect()
        }
        FaultKind::ZoneOutage { zone, .. } => {
            let h = in_zones(std::slice::from_ref(zone));
            if h.is_empty() {
                return Err(format!("zone '{zone}' has no host"));
            }
            Ok(h)
        }
        FaultKind::Partition { a, b } => {
            let control = &hosts[0].node.zone;
            let far: &[String] = if a.contains(control) { b } else { a };
            let h = in_zones(far);
            if h.is_empty() {
                return Err(format!("no host in zones {far:?} to cut off"));
            }
            Ok(h)
        }
        // Service-level and control-plane faults hit no host; link
        // degradation is simulated only (refused by `check`). Listed one by
        // one so that a new node-level kind fails to compile here.
        FaultKind::LinkDegrade { .. }
        | FaultKind::ContainerCrash { .. }
        | FaultKind::OomKill { .. }
        | FaultKind::ImagePullFailure { .. }
        | FaultKind::ProvisionFailure { .. }
        | FaultKind::NodeDrain { .. }
        | FaultKind::ControlPlanePause => Ok(Vec::new()),
    }
}

/// What an ongoing fault must undo at its end.
enum Undo {
    StartEngines(Vec<usize>),
    Unpause(Vec<(usize, String)>),
    Reconnect(Vec<(usize, String)>),
    Cpus(Vec<(usize, String, u64)>),
    Nothing,
}

/// The fault runner of a live run.
pub struct Injector {
    /// The scenario (its fault plan, seed and duration).
    pub scenario: Arc<Scenario>,
    /// The hosts, as the controller has them.
    pub hosts: Vec<Host>,
    /// The run id (container labels).
    pub run: String,
    /// The run's network name.
    pub network: String,
    /// Switches shared with the controller (hosts down, control-plane pause).
    pub state: Arc<FaultState>,
    /// Replicas and `events.csv` rows, shared with the controller.
    pub handle: ScaleHandle,
    /// Scenario time.
    pub clock: Clock,
}

/// The fault part of a live run's summary, once the run is over.
pub struct Report {
    records: Vec<FaultRecord>,
}

impl Report {
    /// The summary's `faults` section, given each service's (ok, total)
    /// requests and the run's `events.csv` rows (time to detect a node
    /// fault: its start → the first `node-not-ready` after it).
    pub fn summary(
        mut self,
        scenario: &Scenario,
        counts: &[(u64, u64)],
        events: &[EventRow],
    ) -> FaultsSummary {
        for r in &mut self.records {
            if matches!(r.kind.as_str(), "node-crash" | "zone-outage" | "partition") {
                r.time_to_detect_s = events
                    .iter()
                    .filter(|e| e.kind == "node-not-ready" && e.time_s >= r.start_s)
                    .map(|e| e.time_s - r.start_s)
                    .reduce(f64::min);
            }
        }
        let mut availability: Vec<ServiceAvailability> = scenario
            .desired
            .services
            .iter()
            .zip(counts)
            .map(|(s, &(ok, total))| ServiceAvailability {
                service: s.name.clone(),
                availability: if total > 0 {
                    ok as f64 / total as f64
                } else {
                    1.0
                },
                lost: total - ok,
            })
            .collect();
        availability.sort_by(|a, b| a.service.cmp(&b.service));
        FaultsSummary {
            availability,
            faults: self.records,
        }
    }
}

impl Injector {
    fn event(&self, kind: &'static str, subject: &str, detail: String) {
        self.handle.events.lock().expect("events").push(EventRow {
            time_s: self.clock.now().as_secs_f64(),
            kind,
            subject: subject.to_string(),
            detail,
        });
    }

    /// Plays the plan until `stop`; returns what happened.
    pub async fn run(self, stop: Arc<Notify>) -> Report {
        let s = &self.scenario;
        let horizon = SimTime::ZERO + s.duration;
        let mut plan = FaultPlan::new(&s.resilience.faults, s.seed, horizon).peekable();
        let mut crash_rngs: Vec<StreamRng> = s
            .desired
            .services
            .iter()
            .map(|svc| {
                stream(
                    s.seed,
                    &format!("{}/container/{}", names::FAILURES, svc.name),
                )
            })
            .collect();
        // Per service: the running container-crash fault (rate, action, record).
        let mut crashing: Vec<Option<(f64, LiveAction, usize)>> =
            vec![None; s.desired.services.len()];
        // Per replica index: when it crashes (None: never, this incarnation).
        let mut next_crash: HashMap<usize, Option<SimTime>> = HashMap::new();
        let mut undo: BTreeMap<(String, u64), Undo> = BTreeMap::new();
        let mut records: Vec<FaultRecord> = Vec::new();
        let mut recovering: Vec<usize> = Vec::new();
        let tick = Duration::from_millis(20);
        loop {
            let now = self.clock.now();
            while plan.peek().is_some_and(|e| e.at <= now) {
                let ev = plan.next().expect("peeked");
                self.apply(&ev, &mut crashing, &mut undo, &mut records, &mut recovering)
                    .await;
            }
            // Container crashes of ready replicas.
            let view = self.handle.replicas();
            for r in view.iter() {
                let Some((rate, action, rec)) = crashing[r.service] else {
                    continue;
                };
                if r.state != ReplicaState::Ready {
                    next_crash.remove(&r.index);
                    continue;
                }
                let at = *next_crash.entry(r.index).or_insert_with(|| {
                    next_container_crash(rate, now.max(r.since), &mut crash_rngs[r.service])
                });
                if at.is_some_and(|at| at <= now)
                    && let (Some(h), Some(id)) = (r.host, r.container.as_deref())
                {
                    next_crash.insert(r.index, None);
                    let docker = &self.hosts[h].docker;
                    let result = match action {
                        LiveAction::Stop => docker::stop(docker, id, 5).await,
                        _ => docker::kill(docker, id).await,
                    };
                    if result.is_ok() {
                        records[rec].containers_killed += 1;
                        self.event(
                            "container-crash",
                            &r.name,
                            format!("host={}", self.hosts[h].name),
                        );
                    }
                }
            }
            // Recovery: every service back at its desired ready replicas.
            if !recovering.is_empty() {
                let desired = self.handle.all_desired();
                let mut ready = vec![0u32; desired.len()];
                // A replica on a host that is down does not serve, whatever
                // the controller (which cannot see it) last recorded.
                for r in view.iter() {
                    if r.state == ReplicaState::Ready
                        && !r.host.is_some_and(|h| self.state.is_down(h))
                    {
                        ready[r.service] += 1;
                    }
                }
                if ready.iter().zip(&desired).all(|(r, d)| r >= d) {
                    for rec in recovering.drain(..) {
                        let start = records[rec].start_s;
                        records[rec].time_to_recover_s = Some(now.as_secs_f64() - start);
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(tick) => {}
                _ = stop.notified() => break,
            }
        }
        // The run is over: thaw and reattach whatever is still held, so
        // the teardown finds every container removable.
        for (_, u) in std::mem::take(&mut undo) {
            self.undo(u).await;
        }
        Report { records }
    }

    async fn apply(
        &self,
        ev: &FaultEvent,
        crashing: &mut [Option<(f64, LiveAction, usize)>],
        undo: &mut BTreeMap<(String, u64), Undo>,
        records: &mut Vec<FaultRecord>,
        recovering: &mut Vec<usize>,
    ) {
        let f = &ev.fault;
        let start = ev.edge == Edge::Start;
        let key = (f.name.clone(), f.at.0);
        self.event(
            if start { "fault-start" } else { "fault-end" },
            &f.name,
            f.kind.as_str().to_string(),
        );
        if start {
            records.push(FaultRecord {
                name: f.name.clone(),
                kind: f.kind.as_str().to_string(),
                start_s: f.at.as_secs_f64(),
                end_s: f.end().map(|e| e.as_secs_f64()),
                ..Default::default()
            });
            if matches!(
                f.kind,
                FaultKind::NodeCrash { .. }
                    | FaultKind::ZoneOutage { .. }
                    | FaultKind::Partition { .. }
            ) {
                recovering.push(records.len() - 1);
            }
        }
        let rec = records.len() - 1;
        let action = self
            .scenario
            .resilience
            .faults
            .live_actions
            .get(&f.name)
            .copied()
            .unwrap_or_default();
        let hosts = targets(&self.scenario, &self.hosts, &f.kind).unwrap_or_default();
        match &f.kind {
            FaultKind::NodeCrash { .. }
            | FaultKind::ZoneOutage { .. }
            | FaultKind::Partition { .. } => {
                let action = if matches!(f.kind, FaultKind::Partition { .. }) {
                    LiveAction::Disconnect
                } else {
                    action
                };
                if start && action == LiveAction::StopEngine {
                    for &h in &hosts {
                        self.state.set_down(h, true);
                        records[rec].containers_killed += self.containers(h).await.len() as u64;
                        self.control(h, false).await;
                    }
                    undo.insert(key, Undo::StartEngines(hosts.clone()));
                } else if start {
                    let mut held = Vec::new();
                    for &h in &hosts {
                        self.state.set_down(h, true);
                        for (c, _) in self.containers(h).await {
                            let docker = &self.hosts[h].docker;
                            let ok = match action {
                                LiveAction::Kill => docker::kill(docker, &c).await.is_ok(),
                                LiveAction::Stop => docker::stop(docker, &c, 5).await.is_ok(),
                                LiveAction::Pause => docker::pause(docker, &c).await.is_ok(),
                                LiveAction::Disconnect => {
                                    docker::disconnect(docker, &c, &self.network).await.is_ok()
                                }
                                LiveAction::StopEngine => unreachable!("handled above"),
                            };
                            if ok {
                                if matches!(action, LiveAction::Kill | LiveAction::Stop) {
                                    records[rec].containers_killed += 1;
                                }
                                held.push((h, c));
                            }
                        }
                    }
                    undo.insert(
                        key,
                        match action {
                            LiveAction::Pause => Undo::Unpause(held),
                            LiveAction::Disconnect => Undo::Reconnect(held),
                            _ => Undo::Nothing,
                        },
                    );
                } else {
                    if let Some(u) = undo.remove(&key) {
                        self.undo(u).await;
                    }
                    for &h in &hosts {
                        self.state.set_down(h, false);
                    }
                }
            }
            FaultKind::SlowNode { speed, .. } => {
                if start {
                    let mut held = Vec::new();
                    for &h in &hosts {
                        for (c, cpu) in self.containers(h).await {
                            if cpu == 0 {
                                continue; // no CPU limit to lower
                            }
                            let slow = ((cpu as f64 * speed).round() as u64).max(10);
                            if docker::set_cpus(&self.hosts[h].docker, &c, slow)
                                .await
                                .is_ok()
                            {
                                held.push((h, c, cpu));
                            }
                        }
                    }
                    undo.insert(key, Undo::Cpus(held));
                } else if let Some(u) = undo.remove(&key) {
                    self.undo(u).await;
                }
            }
            FaultKind::ContainerCrash { service, rate } => {
                crashing[service.0 as usize] = start.then_some((*rate, action, rec));
            }
            FaultKind::ControlPlanePause => self.state.pause_control_plane(start),
            FaultKind::LinkDegrade { .. }
            | FaultKind::OomKill { .. }
            | FaultKind::ImagePullFailure { .. }
            | FaultKind::ProvisionFailure { .. }
            | FaultKind::NodeDrain { .. } => {
                // Refused by `check` before the run.
            }
        }
    }

    /// The run's running containers on host `h`, with their services' CPU
    /// limits in millicores.
    async fn containers(&self, h: usize) -> Vec<(String, u64)> {
        let host = &self.hosts[h];
        let services = &self.scenario.desired.services;
        docker::list(&host.docker, Some(&self.run), host.address)
            .await
            .map(|l| {
                l.into_iter()
                    .filter(|c| c.running)
                    .map(|c| {
                        let cpu = services
                            .iter()
                            .find(|s| s.name == c.service)
                            .map_or(0, |s| s.limits.cpu_milli);
                        (c.id, cpu)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Runs host `h`'s `start` (`up`) or `stop` command from the hosts
    /// file; after a start, waits until the engine answers (at most 60 s).
    async fn control(&self, h: usize, up: bool) {
        let host = &self.hosts[h];
        let Some((stop, start)) = &host.control else {
            return;
        };
        let cmd = if up { start } else { stop };
        let status = tokio::process::Command::new(&cmd[0])
            .args(&cmd[1..])
            .status()
            .await;
        let ok = status.as_ref().is_ok_and(|s| s.success());
        self.event(
            if up { "engine-start" } else { "engine-stop" },
            &host.name,
            if ok {
                cmd.join(" ")
            } else {
                format!("command failed ({status:?}): {}", cmd.join(" "))
            },
        );
        if up {
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            while host.docker.ping().await.is_err() && std::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    async fn undo(&self, u: Undo) {
        match u {
            Undo::StartEngines(hosts) => {
                for h in hosts {
                    self.control(h, true).await;
                }
            }
            Undo::Unpause(held) => {
                for (h, c) in held {
                    let _ = docker::unpause(&self.hosts[h].docker, &c).await;
                }
            }
            Undo::Reconnect(held) => {
                for (h, c) in held {
                    let _ = docker::connect(&self.hosts[h].docker, &c, &self.network).await;
                }
            }
            Undo::Cpus(held) => {
                for (h, c, cpu) in held {
                    let _ = docker::set_cpus(&self.hosts[h].docker, &c, cpu).await;
                }
            }
            Undo::Nothing => {}
        }
    }
}
