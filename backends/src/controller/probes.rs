//! The kubelet's probes of live containers, with the core's prober.
//!
//! Key decision: each container gets the core's [`Probe`] state machines
//! for its service's readiness and liveness specs, started when the
//! container starts; the controller runs a probe only at the instants the
//! machine names (`start + initialDelaySeconds + k × periodSeconds`, in
//! scenario time), sends `GET /readyz` or `GET /healthz` with the probe's
//! timeout (÷ speed: wall time), and applies the machine's answer:
//! readiness passed → Ready (in the endpoints), failed → back to Starting
//! (out of them); liveness failed → the container is killed, which the
//! controller then replaces. Without a readiness spec a starting replica is
//! probed on every tick and ready at its first 200, as before. Probe
//! schedules start with traffic: during the warm-up (scenario time frozen
//! at 0) a replica is ready at its first 200.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use orkestra_core::health::probe::{Probe, ProbeEvent, ProbeKind, ProbeOutcome};
use orkestra_core::model::ReplicaState;
use orkestra_core::time::{SimDuration, SimTime};

use super::Controller;
use crate::docker;

/// A container's probes and when each runs next.
#[derive(Clone, Debug)]
pub(super) struct Probing {
    readiness: Option<(Probe, SimTime)>,
    liveness: Option<(Probe, SimTime)>,
}

impl Controller {
    /// The probes of a container of service `s` started now.
    pub(super) fn new_probes(&self, s: usize) -> Option<Box<Probing>> {
        let specs = self.scenario.resilience.probes.get(s).copied()?;
        if specs.readiness.is_none() && specs.liveness.is_none() {
            return None;
        }
        let now = self.clock.now();
        let make = |kind, spec: Option<orkestra_core::health::ProbeSpec>| {
            spec.map(|spec| {
                let p = Probe::new(kind, spec, now);
                let first = p.first_at();
                (p, first)
            })
        };
        Some(Box::new(Probing {
            readiness: make(ProbeKind::Readiness, specs.readiness),
            liveness: make(ProbeKind::Liveness, specs.liveness),
        }))
    }

    /// Runs the probes that are due on running containers of hosts that are up.
    pub(super) async fn probe(&mut self) {
        let now = self.clock.now();
        for i in 0..self.replicas.len() {
            let state = self.observed.replicas[i].state;
            if !matches!(state, ReplicaState::Starting | ReplicaState::Ready) {
                continue;
            }
            let Some(addr) = self.replicas[i].addr else {
                continue;
            };
            if self.observed.replicas[i]
                .node
                .is_some_and(|n| self.faults.is_down(n.0 as usize))
            {
                continue;
            }
            let scheduled = self.clock_started
                && self.replicas[i]
                    .probes
                    .as_ref()
                    .is_some_and(|p| p.readiness.is_some());
            if !scheduled {
                if state == ReplicaState::Starting
                    && get(addr, "/readyz", Duration::from_millis(500))
                        .await
                        .is_some_and(|(s, _)| s == 200)
                {
                    self.became_ready(i);
                }
            } else if let Some(event) = self.run_probe(i, addr, ProbeKind::Readiness, now).await {
                match (event, state) {
                    (ProbeEvent::Ready, ReplicaState::Starting) => self.became_ready(i),
                    (ProbeEvent::Unready, ReplicaState::Ready) => {
                        self.set_state(i, ReplicaState::Starting);
                        let name = self.replicas[i].name.clone();
                        self.event("unready", &name, "readiness probe failed".into());
                    }
                    _ => {}
                }
            }
            if self.clock_started
                && self.run_probe(i, addr, ProbeKind::Liveness, now).await
                    == Some(ProbeEvent::Restart)
            {
                let name = self.replicas[i].name.clone();
                self.event("liveness-failed", &name, "killing the container".into());
                if let (Some(id), Some(node)) = (
                    self.replicas[i].container.clone(),
                    self.observed.replicas[i].node,
                ) {
                    let _ = docker::kill(&self.hosts[node.0 as usize].docker, &id).await;
                }
            }
        }
    }

    /// Runs replica `i`'s `kind` probe if it is due at `now`; returns the
    /// prober's status change.
    async fn run_probe(
        &mut self,
        i: usize,
        addr: SocketAddr,
        kind: ProbeKind,
        now: SimTime,
    ) -> Option<ProbeEvent> {
        let speed = self.clock.speed.max(1e-9);
        let probing = self.replicas[i].probes.as_mut()?;
        let slot = match kind {
            ProbeKind::Readiness => probing.readiness.as_mut()?,
            ProbeKind::Liveness => probing.liveness.as_mut()?,
        };
        if now < slot.1 {
            return None;
        }
        let path = match kind {
            ProbeKind::Readiness => "/readyz",
            ProbeKind::Liveness => "/healthz",
        };
        let specs = self.scenario.resilience.probes[self.observed.replicas[i].service.0 as usize];
        let spec = match kind {
            ProbeKind::Readiness => specs.readiness,
            ProbeKind::Liveness => specs.liveness,
        }?;
        let wall = Duration::from_secs_f64(spec.timeout.as_secs_f64() / speed)
            .max(Duration::from_millis(50));
        let answer = get(addr, path, wall).await;
        let outcome = match answer {
            Some((200, took)) => {
                ProbeOutcome::Answered(SimDuration::from_secs_f64(took.as_secs_f64() * speed))
            }
            _ => ProbeOutcome::Failed,
        };
        let probing = self.replicas[i].probes.as_mut()?;
        let slot = match kind {
            ProbeKind::Readiness => probing.readiness.as_mut()?,
            ProbeKind::Liveness => probing.liveness.as_mut()?,
        };
        let event = slot.0.record(now, outcome);
        slot.1 = slot.0.next_at(now).unwrap_or(SimTime(u64::MAX));
        event
    }

    /// Replica `i` passed readiness: Ready, with its recovery time if it
    /// replaces a dead one.
    fn became_ready(&mut self, i: usize) {
        self.set_state(i, ReplicaState::Ready);
        let name = self.replicas[i].name.clone();
        if std::mem::replace(&mut self.replicas[i].ready_once, true) {
            self.event("ready", &name, "readiness probe passed again".into());
            return;
        }
        let s = self.observed.replicas[i].service.0 as usize;
        self.metrics[s].lock().expect("metrics").started += 1;
        let detail = match self.deaths[s].pop() {
            Some((dead, at)) => format!(
                "replaces={dead} recovery_s={:.3}",
                at.elapsed().as_secs_f64()
            ),
            None => String::new(),
        };
        self.event("ready", &name, detail);
    }
}

/// `GET path` on `addr` within `timeout`: the status and how long it took.
async fn get(addr: SocketAddr, path: &str, timeout: Duration) -> Option<(u16, Duration)> {
    let started = Instant::now();
    let probe = async {
        let s = tokio::net::TcpStream::connect(addr).await.ok()?;
        let mut s = tokio::io::BufReader::new(s);
        let req = orkestra_workload::http1::Request {
            method: "GET".into(),
            path: path.into(),
            headers: vec![("connection".into(), "close".into())],
            body: Vec::new(),
        };
        orkestra_workload::http1::write_request(s.get_mut(), &req)
            .await
            .ok()?;
        let resp = orkestra_workload::http1::read_response(&mut s).await.ok()?;
        Some(resp.status)
    };
    let status = tokio::time::timeout(timeout, probe).await.ok().flatten()?;
    Some((status, started.elapsed()))
}
