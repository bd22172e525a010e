//! Rollouts in live mode: the core's rollout driver over real containers.
//!
//! Key decision: as in the simulator, [`orkestra_core::rollout::driver`]
//! decides and this file only observes and applies. Each container carries
//! its template in the `orkestra.revision` label ("1": the scenario's, "2":
//! `newRevision`), so a restarted controller adopts pods with their
//! revision. Once a rollout has started, the service's pods are counted per
//! template and created or deleted to the driver's counts, least useful
//! first; the service's desired count becomes their sum, so the replica
//! controller finds nothing to do. A deleted pod is drained first (see
//! `drain.rs`): it leaves the endpoints, the proxy finishes its requests,
//! and only then is it stopped — the zero-loss rolling update. A new pod
//! takes traffic only once its `/readyz` answers (readiness gating).
//! Syncs run on every tick (the controllers are level-triggered, and a tick
//! is shorter than any of their waits).
//!
//! Canary and blue/green route by weight in the service's proxy
//! (`proxy::Split`): the new revision's ready replicas are published to the
//! proxy's second endpoint list, the driver's weight is handed to it after
//! every sync, and the proxy's record of the new revision's requests
//! (latency, served) fills the driver's analysis window before each sync.
//! The new revision's containers run the workload with `newRevision`'s
//! service time, `--error-rate` and `--slowdown`. `crashOnStart` is refused
//! by [`check`]: live mode replaces a dead container rather than restarting
//! it with CrashLoopBackOff.

use orkestra_core::model::{DesiredState, ReplicaState, ServiceId};
use orkestra_core::results::{RequestCounts, RolloutSummary};
use orkestra_core::rollout::TemplateId;
use orkestra_core::rollout::deployment::PodView;
use orkestra_core::rollout::driver::{Driver, NEW};
use orkestra_core::scenario::Scenario;
use orkestra_core::time::SimTime;

use super::{Controller, LiveError};

/// One service's rollout in a live run.
pub(super) struct LiveRollout {
    driver: Driver,
    counts_at_start: RequestCounts,
    counts_at_end: Option<RequestCounts>,
}

/// Per service, its rollout; empty when no service has one.
pub(super) fn initial(scenario: &Scenario) -> Vec<Option<LiveRollout>> {
    let services = &scenario.desired.services;
    if services.iter().all(|s| s.rollout.is_none()) {
        return Vec::new();
    }
    services
        .iter()
        .map(|s| {
            Some(LiveRollout {
                driver: Driver::new(s.rollout.clone()?, s.replicas),
                counts_at_start: RequestCounts::default(),
                counts_at_end: None,
            })
        })
        .collect()
}

/// What live mode cannot roll out yet, as `services.NAME.rollout…: why`.
pub fn check(scenario: &Scenario) -> Result<(), String> {
    for s in &scenario.desired.services {
        let Some(r) = &s.rollout else { continue };
        let field = format!("services.{}.rollout", s.name);
        if r.new_revision.crash_on_start {
            return Err(format!(
                "{field}.newRevision.crashOnStart: simulated only (live mode replaces a dead container instead of restarting it in place with CrashLoopBackOff, so a revision that crashes on start would churn containers)"
            ));
        }
    }
    Ok(())
}

/// The template a container's `orkestra.revision` label names.
pub(super) fn template_of_label(label: &str) -> TemplateId {
    if label == "2" { NEW } else { 0 }
}

/// The `orkestra.revision` label of a template.
pub(super) fn label_of_template(t: TemplateId) -> String {
    (t + 1).to_string()
}

impl Controller {
    /// The template of pods the replica controller creates for service `s`.
    pub(super) fn creating_template(&self, s: usize) -> TemplateId {
        self.rollouts
            .get(s)
            .and_then(Option::as_ref)
            .map_or(0, |r| r.driver.current)
    }

    /// While a rollout runs, its service's desired count is the driver's.
    pub(super) fn rollout_counts(&self, desired: &mut DesiredState) {
        for (s, r) in self.rollouts.iter().enumerate() {
            if let Some(r) = r.as_ref().filter(|r| r.driver.active()) {
                desired.services[s].replicas = r.driver.want[0] + r.driver.want[1];
            }
        }
    }

    /// The service's pods that are not terminating, with their templates.
    fn pod_views(&self, s: usize) -> Vec<PodView> {
        self.observed
            .replicas
            .iter()
            .zip(&self.replicas)
            .filter(|(r, _)| r.service.0 as usize == s && r.state.is_active())
            .map(|(r, l)| PodView {
                template: l.template,
                ready_since: (r.state == ReplicaState::Ready).then_some(r.since),
            })
            .collect()
    }

    /// Starts rollouts that are due and syncs the running ones.
    pub(super) async fn sync_rollouts(&mut self) -> Result<(), LiveError> {
        let now = self.clock.now();
        for s in 0..self.rollouts.len() {
            let Some(rt) = self.rollouts[s].as_ref() else {
                continue;
            };
            if let Some(split) = self.splits.get(s).and_then(Option::as_ref)
                && rt.driver.finished_at.is_some()
            {
                // Done (weight 100 or 0): nothing analyses these any more.
                split.outcomes.lock().expect("outcomes").clear();
            }
            if rt.driver.finished_at.is_some()
                || (!rt.driver.started() && now < SimTime::ZERO + rt.driver.spec.at)
            {
                continue;
            }
            let mut rows = Vec::new();
            if !rt.driver.started() {
                let pods = self.pod_views(s);
                let base = self.scale.desired(s);
                let counts = self.metrics[s].lock().expect("metrics").counts();
                let rt = self.rollouts[s].as_mut().expect("rollout");
                rt.counts_at_start = counts;
                rows.push(rt.driver.start(base, &pods, now));
            }
            // The new revision's requests since the last sync, from the proxy.
            if let Some(split) = self.splits.get(s).and_then(Option::as_ref) {
                let taken = std::mem::take(&mut *split.outcomes.lock().expect("outcomes"));
                let rt = self.rollouts[s].as_mut().expect("rollout");
                for (latency, ok) in taken {
                    rt.driver.window.record(latency, ok);
                }
            }
            // The autoscaler's count is the Deployment's spec.replicas.
            let base = self.scale.desired(s);
            self.rollouts[s].as_mut().expect("rollout").driver.base = base;
            for _ in 0..32 {
                let pods = self.pod_views(s);
                let rt = self.rollouts[s].as_mut().expect("rollout");
                let (changed, _wake) = rt.driver.sync_once(&pods, now, &mut rows);
                if let Some(split) = self.splits.get(s).and_then(Option::as_ref) {
                    split
                        .weight
                        .store(rt.driver.weight, std::sync::atomic::Ordering::Relaxed);
                }
                self.emit_rows(s, &mut rows);
                if !changed {
                    break;
                }
                self.scale_templates(s).await?;
            }
            let pods = self.pod_views(s);
            let counts = self.metrics[s].lock().expect("metrics").counts();
            let rt = self.rollouts[s].as_mut().expect("rollout");
            if let Some(row) = rt.driver.check_done(&pods, now) {
                rt.counts_at_end = Some(counts);
                rows.push(row);
                self.emit_rows(s, &mut rows);
            }
        }
        Ok(())
    }

    fn emit_rows(&mut self, s: usize, rows: &mut Vec<(&'static str, String)>) {
        let name = self.scenario.desired.services[s].name.clone();
        for (kind, detail) in rows.drain(..) {
            self.event(kind, &name, detail);
        }
    }

    /// Creates or deletes pods of each template to the driver's counts.
    async fn scale_templates(&mut self, s: usize) -> Result<(), LiveError> {
        let want = self.rollouts[s].as_ref().expect("rollout").driver.want;
        for (t, &want) in want.iter().enumerate() {
            let mut have: Vec<(usize, ReplicaState, SimTime)> = self
                .observed
                .replicas
                .iter()
                .zip(&self.replicas)
                .enumerate()
                .filter(|(_, (r, l))| {
                    r.service.0 as usize == s && r.state.is_active() && l.template as usize == t
                })
                .map(|(i, (r, _))| (i, r.state, r.since))
                .collect();
            let want = want as usize;
            if have.len() < want {
                for _ in have.len()..want {
                    self.add_replica(ServiceId(s as u32), t as TemplateId);
                }
            } else if have.len() > want {
                // Least useful first, as `reconcile_replicas`.
                have.sort_by(|a, b| a.1.cmp(&b.1).then(b.2.cmp(&a.2)).then(b.0.cmp(&a.0)));
                for &(i, _, _) in &have[..have.len() - want] {
                    self.delete(i).await?;
                }
            }
        }
        Ok(())
    }

    /// The summary of service `s`'s rollout at `end`, if it has one.
    pub fn rollout_summary(&self, s: usize, end: SimTime) -> Option<RolloutSummary> {
        let rt = self.rollouts.get(s)?.as_ref()?;
        let b = rt
            .counts_at_end
            .unwrap_or_else(|| self.metrics[s].lock().expect("metrics").counts());
        rt.driver.summary(rt.counts_at_start, b, end, 0, 0)
    }
}
