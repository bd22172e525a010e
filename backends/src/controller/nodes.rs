//! Hosts as Kubernetes nodes: heartbeats, NotReady, eviction — and the
//! switches the fault runner flips.
//!
//! Key decision: the live controller runs the core's
//! [`NodeLifecycle`](orkestra_core::health::node::NodeLifecycle), the
//! machine the simulator uses, in its polling form. A host whose engine
//! answered the tick's container list posts a heartbeat, stamped with the
//! kubelet's cadence (the last multiple of `heartbeatInterval`, as the
//! simulator stamps it); the node monitor passes run at multiples of
//! `monitorPeriod` of scenario time. A host that misses heartbeats for
//! longer than the grace period becomes NotReady (its replicas leave the
//! endpoints, nothing new is placed there); after `tolerationSeconds` its
//! replicas are evicted and the replica controller places replacements on
//! the other hosts. A host is silent either because its engine does not
//! answer (stopped, unreachable) or because a fault took it down
//! ([`FaultState`]): a crashed node's engine still answers here, but the
//! controller must not see it until the fault ends.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use orkestra_core::health::node::NodeTransition;
use orkestra_core::model::{NodeId, ReplicaState};
use orkestra_core::time::SimTime;

use super::{Controller, LiveError};

/// What faults have switched off: hosts that are down (their heartbeats
/// stop) and the control plane (reconciling, scheduling, node lifecycle,
/// rollouts stop; the kubelet's probes go on).
#[derive(Debug)]
pub struct FaultState {
    down: Mutex<Vec<u32>>,
    paused: AtomicBool,
}

impl FaultState {
    /// Every host up, the control plane running.
    pub fn new(hosts: usize) -> FaultState {
        FaultState {
            down: Mutex::new(vec![0; hosts]),
            paused: AtomicBool::new(false),
        }
    }

    /// Host `h` goes down (`true`) or comes back (`false`); overlapping
    /// faults on one host nest.
    pub fn set_down(&self, h: usize, down: bool) {
        let mut d = self.down.lock().expect("fault state");
        if down {
            d[h] += 1;
        } else {
            d[h] = d[h].saturating_sub(1);
        }
    }

    /// Whether host `h` is down.
    pub fn is_down(&self, h: usize) -> bool {
        self.down.lock().expect("fault state")[h] > 0
    }

    /// Pauses or resumes the control plane.
    pub fn pause_control_plane(&self, paused: bool) {
        self.paused.store(paused, Ordering::Relaxed);
    }

    /// Whether the control plane is paused.
    pub fn control_plane_paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed)
    }
}

impl Controller {
    /// Heartbeats of the hosts that `answered`, node-monitor passes due by
    /// now, and evictions due.
    pub(super) async fn node_health(&mut self, answered: &[bool]) -> Result<(), LiveError> {
        let now = self.clock.now();
        let cfg = *self.lifecycle.config();
        let beat = cfg.last_heartbeat(SimTime::ZERO, now);
        for (h, &ok) in answered.iter().enumerate() {
            if ok
                && let Some(NodeTransition::Recovered(node)) =
                    self.lifecycle.heartbeat(NodeId(h as u32), beat)
            {
                self.observed.nodes[node.0 as usize].ready = true;
                let name = self.hosts[h].name.clone();
                self.event("node-ready", &name, String::new());
            }
        }
        let period = cfg.monitor_period.0.max(1);
        while self.monitored < now.0 / period {
            self.monitored += 1;
            let at = SimTime(self.monitored * period);
            for t in self.lifecycle.monitor(at) {
                if let NodeTransition::Tainted { node, evict_at, .. } = t {
                    self.observed.nodes[node.0 as usize].ready = false;
                    let name = self.hosts[node.0 as usize].name.clone();
                    let detail = format!("evict_at_s={}", evict_at.as_secs_f64());
                    self.event("node-not-ready", &name, detail);
                }
            }
        }
        for node in self.lifecycle.evictions_due(now) {
            let victims: Vec<usize> = self
                .observed
                .replicas
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    r.node == Some(node)
                        && matches!(
                            r.state,
                            ReplicaState::Pending
                                | ReplicaState::Starting
                                | ReplicaState::Ready
                                | ReplicaState::Failed
                        )
                })
                .map(|(i, _)| i)
                .collect();
            let host = self.hosts[node.0 as usize].name.clone();
            for i in victims {
                let name = self.replicas[i].name.clone();
                self.event("evict", &name, format!("node={host}"));
                self.delete(i).await?;
            }
        }
        Ok(())
    }
}
