//! Rollouts in the simulator: a service's second revision (`newRevision`)
//! rolled out by the core's Deployment, canary or blue/green controller.
//!
//! Key decision: the controllers in `orkestra_core::rollout` decide, this
//! file only observes and applies. Every replica carries a template id
//! (0 = the scenario's, 1 = `newRevision`; the `pod-template-hash` label of
//! Kubernetes). Once a rollout has started, its service's pods are counted
//! per template here and created or deleted to the controller's counts,
//! least useful first (Pending < Starting < Ready, newest first — the
//! ReplicaSet controller's `ActivePods` order, so unavailable pods go
//! first); the service's desired count becomes the sum, so the replica
//! controller (`reconcile_replicas`) finds nothing to do for it. A deleted
//! replica leaves the endpoints before it stops and finishes its queue (the
//! simulator's usual `delete`), and a new one is an endpoint only once
//! ready: that is the readiness gating of a rolling update.
//!
//! Syncs (`Event::Rollout`) run at `at`, on every pod change of the service
//! (ready, terminated), at the controller's `wake_at`, and again at once
//! after applying changed counts, as the upstream controllers are requeued
//! (kubernetes `pkg/controller/deployment`, Argo Rollouts' rollout
//! controller; see the module docs of `orkestra_core::rollout`).
//!
//! Canary and blue/green route by weight (Argo Rollouts with traffic
//! routing): the stable revision's ready replicas are the service's usual
//! endpoints and balancers; the new revision's are a second endpoint list
//! with its own balancer built from the service's balancing spec. Each
//! request goes to the new revision with probability weight/100, drawn from
//! `policy/rollout/<svc>`. A Deployment routes to both templates through the
//! one endpoint list, as a Kubernetes Service selects both ReplicaSets.
//!
//! The new revision's requests and errors over each analysis interval (and
//! its latencies, for the p99) are counted here and handed to the analysis
//! as `RevisionMetrics`; `errorRate` failures are drawn from
//! `service/<svc>/errors`.

use orkestra_core::balance::Balance;
use orkestra_core::model::{ReplicaId, ReplicaState, ServiceId};
use orkestra_core::results::RequestCounts;
use orkestra_core::results::RolloutSummary;
use orkestra_core::rng::{StreamRng, names, stream};
use orkestra_core::rollout::TemplateId;
use orkestra_core::rollout::deployment::PodView;
use orkestra_core::rollout::driver::{self, Driver, NEW};
use orkestra_core::scenario::Scenario;
use orkestra_core::time::SimTime;

use super::{Event, Simulation};

mod traffic;

/// One service's rollout during a run: the core's driver plus the
/// simulator's routing of the new revision.
pub(super) struct RolloutRt {
    driver: Driver,
    /// Ready replicas of the new revision (split routing only).
    endpoints: Vec<ReplicaId>,
    /// Balances within `endpoints`.
    pub(super) balancer: Box<dyn Balance>,
    balance_rng: StreamRng,
    route_rng: StreamRng,
    error_rng: StreamRng,
    poke_pending: bool,
    crash_loops: u64,
    /// Crash-looping pods and when each first exited (its bind).
    crashed: Vec<(u32, SimTime)>,
    counts_at_start: RequestCounts,
    counts_at_end: Option<RequestCounts>,
}

/// Per service, its rollout; empty when no service has one.
pub(super) fn initial(scenario: &Scenario) -> Vec<Option<RolloutRt>> {
    if scenario
        .desired
        .services
        .iter()
        .all(|s| s.rollout.is_none())
    {
        return Vec::new();
    }
    let seed = scenario.seed;
    scenario
        .desired
        .services
        .iter()
        .map(|s| {
            let spec = s.rollout.clone()?;
            Some(RolloutRt {
                driver: Driver::new(spec, s.replicas),
                endpoints: Vec::new(),
                balancer: super::balancer_for(s),
                balance_rng: stream(seed, &format!("{}/balance/{}/new", names::POLICY, s.name)),
                route_rng: stream(seed, &format!("{}/rollout/{}", names::POLICY, s.name)),
                error_rng: stream(seed, &format!("{}/{}/errors", names::SERVICE, s.name)),
                poke_pending: false,
                crash_loops: 0,
                crashed: Vec::new(),
                counts_at_start: RequestCounts::default(),
                counts_at_end: None,
            })
        })
        .collect()
}

impl Simulation<'_> {
    /// Schedules each rollout's start.
    pub(super) fn schedule_rollouts(&mut self) {
        let starts: Vec<(usize, SimTime)> = self
            .rollouts
            .iter()
            .enumerate()
            .filter_map(|(s, rt)| rt.as_ref().map(|rt| (s, SimTime::ZERO + rt.driver.spec.at)))
            .collect();
        for (s, at) in starts {
            self.engine
                .schedule(at, Event::Rollout { service: s as u32 });
        }
    }

    /// A pod of replica `r`'s service changed: sync its rollout at this instant.
    pub(super) fn rollout_pod_changed(&mut self, r: u32) {
        let s = self.observed.replicas[r as usize].service.0 as usize;
        let now = self.engine.now();
        if let Some(rt) = self.rollouts.get_mut(s).and_then(Option::as_mut)
            && rt.driver.active()
            && !rt.poke_pending
        {
            rt.poke_pending = true;
            self.engine
                .schedule(now, Event::Rollout { service: s as u32 });
        }
    }

    /// The replicas the rollout of service `s` rolls (its Deployment's
    /// `spec.replicas`), while it runs.
    pub(super) fn rollout_base(&self, s: usize) -> Option<u32> {
        self.rollouts
            .get(s)?
            .as_ref()
            .filter(|rt| rt.driver.active())
            .map(|rt| rt.driver.base)
    }

    /// An autoscaler set service `s` to `replicas` while its rollout runs:
    /// the rollout takes the new count at a sync now (true), as the
    /// Deployment controller takes a new `spec.replicas` mid-rollout.
    pub(super) fn rollout_rescale(&mut self, s: usize, replicas: u32) -> bool {
        let now = self.engine.now();
        let Some(rt) = self
            .rollouts
            .get_mut(s)
            .and_then(Option::as_mut)
            .filter(|rt| rt.driver.active())
        else {
            return false;
        };
        rt.driver.base = replicas;
        if !rt.poke_pending {
            rt.poke_pending = true;
            self.engine
                .schedule(now, Event::Rollout { service: s as u32 });
        }
        true
    }

    /// `Event::Rollout`: start the rollout at `at`, or sync it.
    pub(super) fn on_rollout(&mut self, s: usize) {
        let now = self.engine.now();
        let pods = self.pod_views(s);
        let base = self.desired.services[s].replicas;
        let counts = self.services[s].metrics.counts();
        let Some(rt) = self.rollouts[s].as_mut() else {
            return;
        };
        rt.poke_pending = false;
        if rt.driver.finished_at.is_some() {
            return;
        }
        let mut rows = Vec::new();
        if !rt.driver.started() {
            rt.counts_at_start = counts;
            rows.push(rt.driver.start(base, &pods, now));
        }
        // Sync, apply, and sync again while the answer changes counts.
        for _ in 0..32 {
            let pods = self.pod_views(s);
            let rt = self.rollouts[s].as_mut().expect("rollout");
            let (changed, wake) = rt.driver.sync_once(&pods, now, &mut rows);
            for (kind, detail) in rows.drain(..) {
                self.emit_rollout(s, kind, &detail);
            }
            if !changed {
                if let Some(at) = wake.filter(|&at| at > now) {
                    self.engine
                        .schedule(at, Event::Rollout { service: s as u32 });
                }
                break;
            }
            self.scale_templates(s);
        }
        let pods = self.pod_views(s);
        let counts = self.services[s].metrics.counts();
        let rt = self.rollouts[s].as_mut().expect("rollout");
        if let Some((kind, detail)) = rt.driver.check_done(&pods, now) {
            rt.counts_at_end = Some(counts);
            self.emit_rollout(s, kind, &detail);
        }
    }

    fn emit_rollout(&mut self, s: usize, kind: &str, detail: &str) {
        let name = self.scenario.desired.services[s].name.clone();
        self.emit_event(kind, &name, detail);
    }

    /// The service's pods that are not terminating, with their templates.
    fn pod_views(&self, s: usize) -> Vec<PodView> {
        self.observed
            .replicas
            .iter()
            .enumerate()
            .filter(|(_, r)| r.service.0 as usize == s && r.state.is_active())
            .map(|(i, r)| PodView {
                template: TemplateId::from(self.template[i]),
                ready_since: (r.state == ReplicaState::Ready).then_some(r.since),
            })
            .collect()
    }

    /// Creates or deletes pods of each template to the wanted counts.
    fn scale_templates(&mut self, s: usize) {
        let want = self.rollouts[s].as_ref().expect("rollout").driver.want;
        for (t, &want) in want.iter().enumerate() {
            let mut have: Vec<(u32, ReplicaState, SimTime)> = self
                .observed
                .replicas
                .iter()
                .enumerate()
                .filter(|&(i, r)| {
                    r.service.0 as usize == s
                        && r.state.is_active()
                        && self.template[i] as usize == t
                })
                .map(|(i, r)| (i as u32, r.state, r.since))
                .collect();
            let want = want as usize;
            if have.len() < want {
                for _ in have.len()..want {
                    let id = self.create(ServiceId(s as u32), &format!("template={t}"));
                    self.template[id as usize] = t as u8;
                }
            } else if have.len() > want {
                // Least useful first, as `reconcile_replicas`.
                have.sort_by(|a, b| a.1.cmp(&b.1).then(b.2.cmp(&a.2)).then(b.0.cmp(&a.0)));
                for &(id, _, _) in &have[..have.len() - want] {
                    self.delete(id);
                }
            }
        }
        self.desired.services[s].replicas = want[0] + want[1];
        self.mark_dirty(false);
    }

    /// The summary of service `s`'s rollout, if it has one.
    pub(super) fn rollout_summary(&self, s: usize, end: SimTime) -> Option<RolloutSummary> {
        let rt = self.rollouts.get(s)?.as_ref()?;
        let b = rt
            .counts_at_end
            .unwrap_or_else(|| self.services[s].metrics.counts());
        let restarts = rt
            .crashed
            .iter()
            .map(|&(r, first)| {
                let st = &self.observed.replicas[r as usize];
                let until = if st.state.is_active() { end } else { st.since };
                driver::restarts(first, until)
            })
            .sum();
        rt.driver
            .summary(rt.counts_at_start, b, end, rt.crash_loops, restarts)
    }
}
