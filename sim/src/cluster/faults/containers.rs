//! Faults of containers: a bound replica held by a down node or a failing
//! image pull, container crashes (Poisson per replica, stream
//! `failures/container/<svc>`), OOM kills (the core's `MemoryModel` on each
//! load change) and restarts after the kubelet's CrashLoopBackOff.

use orkestra_core::model::{NodeId, ReplicaState};

use super::super::{Event, Simulation};

impl Simulation<'_> {
    /// A replica was bound to `node`: whether its container must not start
    /// now (the node is down, or its image cannot be pulled).
    pub(in crate::cluster) fn hold_start(&mut self, r: u32, node: NodeId) -> bool {
        let s = self.observed.replicas[r as usize].service.0 as usize;
        let cut = self.cut_off(node.0);
        let f = self.faults.as_mut().expect("faults");
        if let Some(x) = self.slow.get_mut(r as usize) {
            *x = (f64::from(*x) / f.node_speed[node.0 as usize]) as f32;
        }
        if f.down[node.0 as usize] > 0 {
            let rec = f.node_record[node.0 as usize];
            f.set_dead(r, true);
            f.records[rec].containers_killed += 1;
            return true;
        }
        if cut {
            return self.net_holds(r, node);
        }
        if let Some(rec) = f.image_pull[s] {
            f.set_dead(r, true);
            f.blocked.push(r);
            let _ = rec;
            let name = self.replica_name(r);
            self.emit_event("image-pull-backoff", &name, "reason=ErrImagePull");
            return true;
        }
        false
    }

    /// Starts `r`'s container: Ready after the service's start delay (and
    /// its readiness probe, if it has one).
    pub(in crate::cluster) fn start_container(&mut self, r: u32) {
        let now = self.engine.now();
        let s = self.observed.replicas[r as usize].service.0 as usize;
        let delay = self.scenario.desired.services[s]
            .start_delay
            .sample(&mut self.startup_rng);
        let at = self.readiness_at(s, now, now + delay);
        self.engine.schedule(at, Event::Ready { replica: r });
    }

    /// Replica `r` became ready: draw its next container crash.
    pub(in crate::cluster) fn faults_on_ready(&mut self, r: u32) {
        let s = self.observed.replicas[r as usize].service.0 as usize;
        self.draw_crash(r, s);
        self.check_recovered();
    }

    pub(in crate::cluster) fn draw_crash(&mut self, r: u32, s: usize) {
        let now = self.engine.now();
        let f = self.faults.as_mut().expect("faults");
        let Some((rate, _)) = f.crash_rate[s] else {
            return;
        };
        let incarnation = f.incarnation(r);
        if let Some(at) =
            orkestra_core::faults::next_container_crash(rate, now, &mut f.crash_rng[s])
        {
            self.engine.schedule(
                at,
                Event::ContainerCrash {
                    replica: r,
                    incarnation,
                },
            );
        }
    }

    /// Replica `r`'s memory use may have passed its limit.
    #[inline]
    pub(in crate::cluster) fn check_oom(&mut self, r: u32, s: usize) {
        let f = self.faults.as_ref().expect("faults");
        if let Some((m, _)) = f.oom[s] {
            let sv = &self.serving[r as usize];
            if m.oom(sv.busy + sv.queue.len()) && !f.is_dead(r) {
                let incarnation = f.incarnation(r);
                self.engine.schedule(
                    self.engine.now(),
                    Event::ContainerCrash {
                        replica: r,
                        incarnation,
                    },
                );
            }
        }
    }

    /// Replica `r`'s container exits (a crash or an OOM kill): lost
    /// requests, out of the endpoints, restart after the back-off.
    pub(in crate::cluster) fn on_container_crash(&mut self, r: u32, incarnation: u32) {
        let now = self.engine.now();
        let st = self.observed.replicas[r as usize];
        let s = st.service.0 as usize;
        let f = self.faults.as_ref().expect("faults");
        if f.incarnation(r) != incarnation || st.state != ReplicaState::Ready || f.is_dead(r) {
            return;
        }
        let rec = match (f.oom[s], f.crash_rate[s]) {
            (Some((m, rec)), _)
                if m.oom(self.serving[r as usize].busy + self.serving[r as usize].queue.len()) =>
            {
                Some((rec, "OOMKilled"))
            }
            (_, Some((_, rec))) => Some((rec, "Error")),
            _ => None,
        };
        let Some((rec, reason)) = rec else { return };
        self.kill(r, rec);
        self.unready(r);
        let f = self.faults.as_mut().expect("faults");
        let b = f.backoff.entry(r).or_default();
        let at = b.on_exit(now);
        let detail = format!(
            "reason={reason} restarts={} backoff={}",
            b.restarts(),
            b.delay()
        );
        let incarnation = f.incarnation(r);
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
    pub(in crate::cluster) fn on_restart(&mut self, r: u32, incarnation: u32) {
        let f = self.faults.as_mut().expect("faults");
        if f.incarnation(r) != incarnation
            || self.observed.replicas[r as usize].state != ReplicaState::Starting
        {
            return;
        }
        f.set_dead(r, false);
        let restarts = f.backoff.get(&r).map_or(0, |b| b.restarts());
        let name = self.replica_name(r);
        self.emit_event("restart", &name, &format!("restarts={restarts}"));
        self.start_container(r);
    }
}
