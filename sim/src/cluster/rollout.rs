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
//! endpoints and router; the new revision's are a second core `Router`
//! (streams `policy/balance/<svc>/new…`) built from the service's balancing
//! spec, which the request path drives exactly as the service's own. Each
//! request goes to the new revision with probability weight/100, drawn from
//! `policy/rollout/<svc>`. A Deployment routes to both templates through the
//! one endpoint list, as a Kubernetes Service selects both ReplicaSets.
//!
//! The new revision's requests and errors over each analysis interval (and
//! its latencies, for the p99) are counted here and handed to the analysis
//! as `RevisionMetrics`; `errorRate` failures are drawn from
//! `service/<svc>/errors`.

use orkestra_core::balance::Router;
use orkestra_core::model::{ObservedCluster, ReplicaState};
use orkestra_core::results::RequestCounts;
use orkestra_core::results::RolloutSummary;
use orkestra_core::rng::{StreamRng, names, stream};
use orkestra_core::rollout::TemplateId;
use orkestra_core::rollout::deployment::PodView;
use orkestra_core::rollout::driver::{self, Driver, NEW, Row};
use orkestra_core::scenario::Scenario;
use orkestra_core::time::SimTime;

use super::Event;
use crate::engine::Engine;

mod traffic;

/// One service's rollout during a run: the core's driver plus the
/// simulator's routing of the new revision.
struct RolloutRt {
    driver: Driver,
    /// Routes within the new revision's ready replicas (split routing;
    /// `None` for a central-queue service, which never splits).
    router: Option<Router>,
    route_rng: StreamRng,
    error_rng: StreamRng,
    poke_pending: bool,
    crash_loops: u64,
    /// Crash-looping pods and when each first exited (its bind).
    crashed: Vec<(u32, SimTime)>,
    counts_at_start: RequestCounts,
    counts_at_end: Option<RequestCounts>,
}

/// The rollouts of a run, and the template of each replica.
pub(super) struct Rollouts {
    /// Per service, its rollout; empty when no service has one.
    services: Vec<Option<RolloutRt>>,
    /// Per replica id, its template (0, or 1 for `newRevision`); empty
    /// when no service has a rollout.
    template: Vec<u8>,
}

/// Per service, its rollout; empty when no service has one.
fn initial(scenario: &Scenario) -> Vec<Option<RolloutRt>> {
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
                router: s
                    .routing
                    .policy()
                    .map(|p| Router::new(p, &s.balancing, seed, &s.name, "/new")),
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

impl Rollouts {
    pub(super) fn new(scenario: &Scenario) -> Rollouts {
        Rollouts {
            services: initial(scenario),
            template: Vec::new(),
        }
    }

    /// No service has a rollout (every hook is then skipped by its caller).
    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        self.services.is_empty()
    }

    /// Schedules each rollout's start.
    pub(super) fn schedule_starts(&self, engine: &mut Engine<Event>) {
        for (s, rt) in self.services.iter().enumerate() {
            if let Some(rt) = rt {
                engine.schedule(
                    SimTime::ZERO + rt.driver.spec.at,
                    Event::Rollout { service: s as u32 },
                );
            }
        }
    }

    /// A pod of service `s` changed: sync its rollout at this instant.
    pub(super) fn pod_changed(&mut self, s: usize, engine: &mut Engine<Event>) {
        if let Some(rt) = self.services.get_mut(s).and_then(Option::as_mut)
            && rt.driver.active()
            && !rt.poke_pending
        {
            rt.poke_pending = true;
            engine.schedule(engine.now(), Event::Rollout { service: s as u32 });
        }
    }

    /// The replicas the rollout of service `s` rolls (its Deployment's
    /// `spec.replicas`), while it runs.
    pub(super) fn base(&self, s: usize) -> Option<u32> {
        self.services
            .get(s)?
            .as_ref()
            .filter(|rt| rt.driver.active())
            .map(|rt| rt.driver.base)
    }

    /// An autoscaler set service `s` to `replicas` while its rollout runs:
    /// the rollout takes the new count at a sync now (true), as the
    /// Deployment controller takes a new `spec.replicas` mid-rollout.
    pub(super) fn rescale(&mut self, s: usize, replicas: u32, engine: &mut Engine<Event>) -> bool {
        let Some(rt) = self
            .services
            .get_mut(s)
            .and_then(Option::as_mut)
            .filter(|rt| rt.driver.active())
        else {
            return false;
        };
        rt.driver.base = replicas;
        if !rt.poke_pending {
            rt.poke_pending = true;
            engine.schedule(engine.now(), Event::Rollout { service: s as u32 });
        }
        true
    }

    /// `Event::Rollout` begins: the rollout of `s` starts at `now` (with
    /// `base` replicas, its request counts so far `counts`) unless it has;
    /// the rows to write, or `None` when there is nothing to sync.
    pub(super) fn begin_sync(
        &mut self,
        s: usize,
        now: SimTime,
        base: u32,
        counts: RequestCounts,
        observed: &ObservedCluster,
    ) -> Option<Vec<Row>> {
        let pods = self.pod_views(s, observed);
        let rt = self.services[s].as_mut()?;
        rt.poke_pending = false;
        if rt.driver.finished_at.is_some() {
            return None;
        }
        let mut rows = Vec::new();
        if !rt.driver.started() {
            rt.counts_at_start = counts;
            rows.push(rt.driver.start(base, &pods, now));
        }
        Some(rows)
    }

    /// One controller sync of `s`'s rollout: (pods wanted changed, wake at);
    /// its rows go to `rows`.
    pub(super) fn sync_once(
        &mut self,
        s: usize,
        now: SimTime,
        observed: &ObservedCluster,
        rows: &mut Vec<Row>,
    ) -> (bool, Option<SimTime>) {
        let pods = self.pod_views(s, observed);
        match self.services[s].as_mut() {
            Some(rt) => rt.driver.sync_once(&pods, now, rows),
            None => (false, None),
        }
    }

    /// The pods of each template the rollout of `s` wants.
    pub(super) fn want(&self, s: usize) -> [u32; 2] {
        self.services[s]
            .as_ref()
            .map_or([0, 0], |rt| rt.driver.want)
    }

    /// The rollout of `s` may have ended at `now` (its request counts so
    /// far `counts`): its row if it did.
    pub(super) fn check_done(
        &mut self,
        s: usize,
        now: SimTime,
        observed: &ObservedCluster,
        counts: RequestCounts,
    ) -> Option<Row> {
        let pods = self.pod_views(s, observed);
        let rt = self.services[s].as_mut()?;
        let row = rt.driver.check_done(&pods, now)?;
        rt.counts_at_end = Some(counts);
        Some(row)
    }

    /// The service's pods that are not terminating, with their templates.
    fn pod_views(&self, s: usize, observed: &ObservedCluster) -> Vec<PodView> {
        observed
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

    /// Service `s`'s pods of template `t` that are not terminating: (id,
    /// state, since).
    pub(super) fn pods_of(
        &self,
        s: usize,
        t: usize,
        observed: &ObservedCluster,
    ) -> Vec<(u32, ReplicaState, SimTime)> {
        observed
            .replicas
            .iter()
            .enumerate()
            .filter(|&(i, r)| {
                r.service.0 as usize == s && r.state.is_active() && self.template[i] as usize == t
            })
            .map(|(i, r)| (i as u32, r.state, r.since))
            .collect()
    }

    /// The summary of service `s`'s rollout, if it has one (`counts`: the
    /// service's request counts now).
    pub(super) fn summary(
        &self,
        s: usize,
        end: SimTime,
        observed: &ObservedCluster,
        counts: RequestCounts,
    ) -> Option<RolloutSummary> {
        let rt = self.services.get(s)?.as_ref()?;
        let b = rt.counts_at_end.unwrap_or(counts);
        let restarts = rt
            .crashed
            .iter()
            .map(|&(r, first)| {
                let st = &observed.replicas[r as usize];
                let until = if st.state.is_active() { end } else { st.since };
                driver::restarts(first, until)
            })
            .sum();
        rt.driver
            .summary(rt.counts_at_start, b, end, rt.crash_loops, restarts)
    }
}
