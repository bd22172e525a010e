//! Deleting a replica: stop routing to it, let its requests finish, then
//! stop its container.
//!
//! Key decision: the reconcile loop never waits for a container. Deleting a
//! ready replica marks it `Terminating` and republishes the endpoints at
//! once (Kubernetes removes a terminating pod from its EndpointSlices); a
//! task of its own then waits until the service's proxy has taken the new
//! list and has no request outstanding on the replica ([`Drain::drained`]),
//! at most the termination grace period, and only then sends SIGTERM
//! (`docker stop`: the workload finishes what it still holds, SIGKILL after
//! 5 s) and removes the container. The next tick reaps the task and marks
//! the replica `Terminated`. A replica on a host that is down (crashed by a
//! fault) is marked gone at once; its container is collected when the host
//! answers again.

use std::time::{Duration, Instant};

use orkestra_core::model::ReplicaState;

use super::{Controller, LiveError};
use crate::docker;

/// Kubernetes' default `terminationGracePeriodSeconds`: the longest a
/// drain waits for requests, in scenario time.
const TERMINATION_GRACE_S: f64 = 30.0;

/// SIGTERM to SIGKILL, wall seconds (the workload drains in less).
const STOP_TIMEOUT_S: i32 = 5;

impl Controller {
    /// Starts deleting replica `i`.
    pub(super) async fn delete(&mut self, i: usize) -> Result<(), LiveError> {
        let was_ready = self.observed.replicas[i].state == ReplicaState::Ready;
        self.set_state(i, ReplicaState::Terminating);
        if was_ready {
            self.publish(); // stop routing before stopping the container
        }
        let (Some(id), Some(node)) = (
            self.replicas[i].container.clone(),
            self.observed.replicas[i].node,
        ) else {
            self.terminated(i);
            return Ok(());
        };
        let h = node.0 as usize;
        if self.faults.is_down(h) || self.unreachable[h] {
            self.terminated(i);
            return Ok(());
        }
        let docker = self.hosts[h].docker.clone();
        let s = self.observed.replicas[i].service.0 as usize;
        let drain = self.drains.get(s).cloned();
        let addr = self.replicas[i].addr;
        let grace = Duration::from_secs_f64(TERMINATION_GRACE_S / self.clock.speed.max(1e-9));
        let task = tokio::spawn(async move {
            if was_ready && let (Some(drain), Some(addr)) = (drain, addr) {
                let deadline = Instant::now() + grace;
                while !drain.drained(addr) && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            let timeout = if was_ready { STOP_TIMEOUT_S } else { 0 };
            let _ = docker::stop(&docker, &id, timeout).await;
            docker::remove(&docker, &id)
                .await
                .map_err(|e| format!("cannot remove container: {e}"))
        });
        self.terminating.push((i, task));
        Ok(())
    }

    /// Marks replicas whose drain-and-stop task ended `Terminated`.
    pub(super) async fn reap(&mut self) -> Result<(), LiveError> {
        let mut k = 0;
        while k < self.terminating.len() {
            if !self.terminating[k].1.is_finished() {
                k += 1;
                continue;
            }
            let (i, task) = self.terminating.swap_remove(k);
            let result = task.await.unwrap_or_else(|e| Err(e.to_string()));
            if let Err(message) = result {
                return Err(LiveError {
                    host: self.hosts[self.observed.replicas[i].node.map_or(0, |n| n.0 as usize)]
                        .name
                        .clone(),
                    message,
                });
            }
            self.terminated(i);
        }
        Ok(())
    }

    fn terminated(&mut self, i: usize) {
        self.set_state(i, ReplicaState::Terminated);
        self.replicas[i].container = None;
        self.replicas[i].addr = None;
        let name = self.replicas[i].name.clone();
        self.event("terminated", &name, String::new());
    }
}
