//! How replicas end: deletion with its grace period (and the kill at its
//! end), a terminating replica finishing, a bound replica gone, and the
//! job pods' arrivals, completions and the Job controller's replacements.

use orkestra_core::model::{NodeId, ReplicaId, ReplicaState, ServiceKind};
use orkestra_core::time::{SimDuration, SimTime};

use super::super::jobs::JobLoss;
use super::super::{Event, Simulation};

impl<'a> Simulation<'a> {
    /// Begins removing a replica: no new requests; it goes once idle.
    pub(in crate::cluster) fn delete(&mut self, r: u32) {
        self.delete_within(r, None);
    }

    /// Deletes `r` with its grace period, capped at `cap` when given (the
    /// Cluster Autoscaler's `--max-graceful-termination-sec`).
    pub(in crate::cluster) fn delete_within(&mut self, r: u32, cap: Option<SimDuration>) {
        let now = self.engine.now();
        let status = self.observed.replicas[r as usize];
        let s = status.service.0 as usize;
        let job = self.scenario.desired.services[s].kind == ServiceKind::Job;
        if status.state == ReplicaState::Ready && !job {
            self.leave_endpoints(r, s);
        }
        if status.state == ReplicaState::Pending {
            self.drop_nomination(r, false);
            self.ctl.pending -= 1;
            let priority = self.scenario.desired.services[s].placement.priority;
            self.ctl
                .queue
                .remove(ReplicaId(r), status.service, priority);
        }
        let name = self.replica_name(r);
        self.emit_event("delete", &name, status.state.as_str());
        self.observed.replicas[r as usize].state = ReplicaState::Terminating;
        self.observed.replicas[r as usize].since = now;
        self.finish_if_idle(r);
        if self.observed.replicas[r as usize].state == ReplicaState::Terminating {
            let own = self.scenario.desired.services[s].termination_grace_period;
            let grace = cap.map_or(own, |c| own.min(c));
            self.engine
                .schedule(now + grace, Event::GraceOver { replica: r });
        }
        if job {
            self.job_pod_lost(r, status.node.is_some());
        }
    }

    /// `r`'s termination grace period is over: if it is still finishing
    /// requests, it is killed (SIGKILL) and they fail.
    pub(in crate::cluster) fn on_grace_over(&mut self, r: u32) {
        if self.observed.replicas[r as usize].state != ReplicaState::Terminating {
            return;
        }
        let now = self.engine.now();
        let s = self.observed.replicas[r as usize].service.0 as usize;
        let new = self.rollouts.split_router(s, r);
        let (lost, busy) = self.req.lose_all(r, s, now, new);
        if busy > 0 {
            let e = self.req.grace_orphans.entry(r).or_insert((0, now.0));
            *e = (e.0 + busy, now.0);
        }
        self.load_changed(r, s);
        let name = self.replica_name(r);
        let grace = self.scenario.desired.services[s].termination_grace_period;
        self.emit_event(
            "killed",
            &name,
            &format!(
                "reason=grace period over (terminationGracePeriodSeconds {grace}) lost={lost}"
            ),
        );
        self.finish_if_idle(r);
    }

    /// A completion on `r` of a request lost when its grace period ended:
    /// the router hears it failed and it is dropped.
    pub(in crate::cluster) fn grace_orphan(&mut self, r: u32, tagged: u64) -> bool {
        let (arrival, c) = self.req.untag(tagged);
        let Some(e) = self.req.grace_orphans.get_mut(&r) else {
            return false;
        };
        if arrival > e.1 {
            return false;
        }
        e.0 -= 1;
        if e.0 == 0 {
            self.req.grace_orphans.remove(&r);
        }
        let now = self.engine.now();
        let s = self.observed.replicas[r as usize].service.0 as usize;
        if let Some(router) = self.router_of(s, r) {
            router.complete(c, ReplicaId(r), SimDuration(now.0 - arrival), false, now);
        }
        true
    }

    /// A terminating replica with nothing in service or queued goes: it
    /// leaves its node.
    pub(in crate::cluster) fn finish_if_idle(&mut self, r: u32) {
        let status = self.observed.replicas[r as usize];
        if status.state != ReplicaState::Terminating {
            return;
        }
        let serving = self.req.serving[r as usize];
        if serving.busy > 0 || !serving.queue.is_empty() {
            return;
        }
        let now = self.engine.now();
        if let Some(node) = status.node {
            let spec = &self.scenario.desired.services[status.service.0 as usize];
            let (service, requests) = (status.service, spec.requests);
            self.observed.unbind(node, service, requests);
            if !spec.volumes.is_empty() {
                self.release_volumes(r, spec, node);
            }
            self.allocation_changed(node, requests, false);
        }
        let st = &mut self.observed.replicas[r as usize];
        st.state = ReplicaState::Terminated;
        st.since = now;
        let name = self.replica_name(r);
        self.emit_event("terminated", &name, "");
        self.stateful_pod_gone(r);
        self.rollouts
            .pod_changed(status.service.0 as usize, &mut self.engine);
        if let Some(node) = status.node {
            self.node_left(node.0);
        }
        self.mark_dirty(true);
    }

    /// A StatefulSet pod is gone: with `whenScaled: Delete`, the claims of
    /// a condemned ordinal (≥ the replicas wanted now) are deleted with it
    /// (event `claim-delete`), and their volumes by their reclaim policy.
    fn stateful_pod_gone(&mut self, r: u32) {
        use orkestra_core::stateful::{Retention, claim_name};
        let s = self.observed.replicas[r as usize].service.0 as usize;
        let spec = &self.scenario.desired.services[s];
        let Some(set) = &spec.stateful else { return };
        let Some(k) = self.observed.storage.ordinal(ReplicaId(r)) else {
            return;
        };
        if set.when_scaled != Retention::Delete || k < self.desired.services[s].replicas {
            return;
        }
        for t in &set.claim_templates {
            let name = claim_name(&t.name, &spec.name, k);
            let storage = &mut self.observed.storage;
            if let Some(c) = storage.claim_named(&spec.meta.namespace, &name) {
                let volume = storage
                    .delete_claim(c)
                    .map(|v| storage.volume(v).name.clone());
                let subject = format!("{}/{name}", spec.meta.namespace);
                let detail = volume.map_or(String::new(), |v| format!("volume={v}"));
                self.emit_event("claim-delete", &subject, &detail);
            }
        }
    }

    /// A job arrives: its pods are created pending and queued.
    pub(in crate::cluster) fn on_job_arrival(&mut self, k: usize) {
        let Some(job) = self.jobs.take_next(k) else {
            return;
        };
        let j = self.jobs.arrived(k, &job);
        let detail = format!("job={}", job.name);
        for _ in 0..job.count {
            let id = self.create(job.shape, &detail);
            self.jobs.pod_created(j, id, false);
        }
        self.mark_dirty(false);
        self.jobs.schedule_next(k, self.scenario, &mut self.engine);
    }

    /// Bound replica `r` is gone from `node` at `now`: its requests leave
    /// the node's allocation and it is Terminated.
    pub(in crate::cluster) fn terminate_bound(&mut self, r: u32, node: NodeId, now: SimTime) {
        let status = self.observed.replicas[r as usize];
        let spec = &self.scenario.desired.services[status.service.0 as usize];
        let requests = spec.requests;
        self.observed.unbind(node, status.service, requests);
        if !spec.volumes.is_empty() {
            self.release_volumes(r, spec, node);
        }
        self.allocation_changed(node, requests, false);
        let st = &mut self.observed.replicas[r as usize];
        st.state = ReplicaState::Terminated;
        st.since = now;
        self.stateful_pod_gone(r);
    }

    /// A job pod has run its duration: it leaves and frees its node. One
    /// that ended before (deleted, evicted) is no longer active.
    pub(in crate::cluster) fn on_job_done(&mut self, r: u32) {
        let now = self.engine.now();
        let status = self.observed.replicas[r as usize];
        if !self.jobs.is_active(r) || status.state != ReplicaState::Ready {
            return;
        }
        let Some(node) = status.node else { return };
        self.terminate_bound(r, node, now);
        self.jobs.completed(r);
        let name = self.replica_name(r);
        self.emit_event("completed", &name, "");
        self.node_left(node.0);
        self.mark_dirty(false);
    }

    /// Job pod `r` ended before its duration (`bound`: it had a node): the
    /// Job controller replaces it after the back-off, or fails its job and
    /// deletes the job's other pods.
    pub(in crate::cluster) fn job_pod_lost(&mut self, r: u32, bound: bool) {
        let now = self.engine.now();
        match self.jobs.lost(r, bound, self.scenario) {
            JobLoss::None => {}
            JobLoss::Replace { job, after } => {
                self.engine.schedule(now + after, Event::JobReplace { job });
            }
            JobLoss::Failed {
                job,
                failures,
                others,
            } => {
                let limit = failures - 1;
                let name = self.jobs.name(job).to_string();
                let detail =
                    format!("reason=BackoffLimitExceeded failures={failures} backoffLimit={limit}");
                self.emit_event("job-failed", &name, &detail);
                for o in others {
                    if self.observed.replicas[o as usize].state.is_active() {
                        self.delete(o);
                    }
                }
            }
        }
    }

    /// The back-off after a failed pod of job `j` is over: the Job
    /// controller creates its replacement (none once the job has failed).
    pub(in crate::cluster) fn on_job_replace(&mut self, j: u32) {
        let Some((shape, name)) = self.jobs.template(j) else {
            return;
        };
        let detail = format!("job={name} replacement=true");
        let id = self.create(shape, &detail);
        self.jobs.pod_created(j, id, true);
        self.mark_dirty(false);
    }
}
