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
use orkestra_core::health::backoff::CrashLoopBackOff;
use orkestra_core::model::{ReplicaId, ReplicaState, ServiceId};
use orkestra_core::results::{RequestCounts, RolloutSummary};
use orkestra_core::rng::{StreamRng, names, stream};
use orkestra_core::rollout::analysis::{self, AnalysisRun};
use orkestra_core::rollout::bluegreen::{self, BlueGreenStatus};
use orkestra_core::rollout::canary::{self, CanaryObserved, CanaryStatus};
use orkestra_core::rollout::deployment::{self, Deployment, DeploymentAction, PodView};
use orkestra_core::rollout::{
    Phase, RevisionMetrics, RolloutSpec, RolloutStrategy, Split, TemplateId,
};
use orkestra_core::scenario::Scenario;
use orkestra_core::time::{SimDuration, SimTime};

use super::{Event, Simulation};

mod traffic;

/// The template id of `newRevision`.
const NEW: TemplateId = 1;

/// A controller's own state (its API objects).
enum Ctl {
    Deployment(Deployment),
    Canary(CanaryStatus),
    BlueGreen(BlueGreenStatus),
}

/// The new revision's requests over the current analysis window.
#[derive(Default)]
struct Window {
    requests: u64,
    errors: u64,
    /// Latencies (ns) of its successful requests, for the p99.
    latencies: Vec<u64>,
}

impl Window {
    fn metrics(&mut self) -> RevisionMetrics {
        let p99 = (!self.latencies.is_empty()).then(|| {
            self.latencies.sort_unstable();
            // Nearest rank: the ceil(0.99 n)-th smallest.
            let rank = (self.latencies.len() * 99).div_ceil(100).max(1);
            SimDuration(self.latencies[rank - 1])
        });
        RevisionMetrics {
            requests: self.requests,
            errors: self.errors,
            p99,
        }
    }
}

/// One service's rollout during a run.
pub(super) struct RolloutRt {
    spec: RolloutSpec,
    /// `None` until `at`.
    ctl: Option<Ctl>,
    /// The service's replicas the controller rolls (its desired count at `at`).
    base: u32,
    /// Pods wanted per template.
    want: [u32; 2],
    /// The template of pods the replica controller creates (the winner,
    /// once the rollout is done).
    current: u8,
    /// Percent of requests routed to the new revision (canary, blue/green).
    weight: u8,
    /// Canary or blue/green: the new revision has its own endpoints.
    split: bool,
    /// Ready replicas of the new revision (split routing only).
    endpoints: Vec<ReplicaId>,
    /// Balances within `endpoints`.
    pub(super) balancer: Box<dyn Balance>,
    balance_rng: StreamRng,
    route_rng: StreamRng,
    error_rng: StreamRng,
    window: Window,
    phase: Phase,
    poke_pending: bool,
    started_at: Option<SimTime>,
    finished_at: Option<SimTime>,
    outcome: &'static str,
    rollbacks: u64,
    max_weight: u8,
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
            let split = !matches!(spec.strategy, RolloutStrategy::Deployment(_));
            Some(RolloutRt {
                spec,
                ctl: None,
                base: s.replicas,
                want: [s.replicas, 0],
                current: 0,
                weight: 0,
                split,
                endpoints: Vec::new(),
                balancer: s.balancing.build(&s.balancer).expect("validated balancer"),
                balance_rng: stream(seed, &format!("{}/balance/{}/new", names::POLICY, s.name)),
                route_rng: stream(seed, &format!("{}/rollout/{}", names::POLICY, s.name)),
                error_rng: stream(seed, &format!("{}/{}/errors", names::SERVICE, s.name)),
                window: Window::default(),
                phase: Phase::Progressing,
                poke_pending: false,
                started_at: None,
                finished_at: None,
                outcome: "in-progress",
                rollbacks: 0,
                max_weight: 0,
                crash_loops: 0,
                crashed: Vec::new(),
                counts_at_start: RequestCounts::default(),
                counts_at_end: None,
            })
        })
        .collect()
}

fn strategy_name(spec: &RolloutSpec) -> &'static str {
    match &spec.strategy {
        RolloutStrategy::Deployment(c) => match c.strategy {
            deployment::Strategy::RollingUpdate { .. } => "rollingUpdate",
            deployment::Strategy::Recreate => "recreate",
        },
        RolloutStrategy::Canary(_) => "canary",
        RolloutStrategy::BlueGreen(_) => "blueGreen",
    }
}

impl Simulation<'_> {
    /// Schedules each rollout's start.
    pub(super) fn schedule_rollouts(&mut self) {
        let starts: Vec<(usize, SimDuration)> = self
            .rollouts
            .iter()
            .enumerate()
            .filter_map(|(s, rt)| rt.as_ref().map(|rt| (s, rt.spec.at)))
            .collect();
        for (s, at) in starts {
            self.engine
                .schedule(SimTime::ZERO + at, Event::Rollout { service: s as u32 });
        }
    }

    /// The rollout of service `s`, once started and not finished.
    fn active_rollout(&mut self, s: usize) -> Option<&mut RolloutRt> {
        self.rollouts
            .get_mut(s)?
            .as_mut()
            .filter(|rt| rt.ctl.is_some() && rt.finished_at.is_none())
    }

    /// A pod of replica `r`'s service changed: sync its rollout at this instant.
    pub(super) fn rollout_pod_changed(&mut self, r: u32) {
        let s = self.observed.replicas[r as usize].service.0 as usize;
        let now = self.engine.now();
        if let Some(rt) = self.active_rollout(s)
            && !rt.poke_pending
        {
            rt.poke_pending = true;
            self.engine
                .schedule(now, Event::Rollout { service: s as u32 });
        }
    }

    /// `Event::Rollout`: start the rollout at `at`, or sync it.
    pub(super) fn on_rollout(&mut self, s: usize) {
        let now = self.engine.now();
        let pods = self.pod_views(s);
        let Some(rt) = self.rollouts[s].as_mut() else {
            return;
        };
        rt.poke_pending = false;
        if rt.finished_at.is_some() {
            return;
        }
        if rt.ctl.is_none() {
            rt.base = self.desired.services[s].replicas;
            rt.started_at = Some(now);
            rt.counts_at_start = self.services[s].metrics.counts();
            rt.ctl = Some(match &rt.spec.strategy {
                RolloutStrategy::Deployment(c) => {
                    // Adopt the running pods as revision 1, then roll to the new template.
                    let mut d = Deployment::new(c.clone(), rt.base, 0, now);
                    deployment::sync(&mut d, &pods, now);
                    d.set_template(NEW, now);
                    Ctl::Deployment(d)
                }
                RolloutStrategy::Canary(_) => Ctl::Canary(canary::start(now)),
                RolloutStrategy::BlueGreen(_) => Ctl::BlueGreen(bluegreen::start()),
            });
            let rt = self.rollouts[s].as_ref().expect("present");
            let detail = format!("strategy={} replicas={}", strategy_name(&rt.spec), rt.base);
            self.emit_rollout(s, "rollout-start", &detail);
        }
        // Sync, apply, and sync again while the answer changes counts.
        for _ in 0..32 {
            let (changed, wake) = self.sync_once(s, now);
            if !changed {
                if let Some(at) = wake.filter(|&at| at > now) {
                    self.engine
                        .schedule(at, Event::Rollout { service: s as u32 });
                }
                break;
            }
        }
        self.check_done(s, now);
    }

    /// One controller sync and its application: (counts changed, wake at).
    fn sync_once(&mut self, s: usize, now: SimTime) -> (bool, Option<SimTime>) {
        let pods = self.pod_views(s);
        let available = pods
            .iter()
            .filter(|p| p.template == NEW && p.ready_since.is_some())
            .count() as u32;
        let rt = self.rollouts[s].as_mut().expect("rollout");
        let before = rt.want;
        let mut events: Vec<(&'static str, String)> = Vec::new();
        let wake = match (rt.ctl.as_mut().expect("started"), &rt.spec.strategy) {
            (Ctl::Deployment(d), _) => {
                d.replicas = rt.base;
                let out = deployment::sync(d, &pods, now);
                for a in &out.actions {
                    if let DeploymentAction::Scale { template, replicas } = *a {
                        rt.want[template as usize] = replicas;
                    }
                }
                if let Some(t) = out.rolled_back_to {
                    rt.rollbacks += 1;
                    rt.outcome = "rolled-back";
                    events.push((
                        "rollout-abort",
                        format!("reason=ProgressDeadlineExceeded rollback-to=template{t}"),
                    ));
                }
                out.wake_at
            }
            (Ctl::Canary(st), RolloutStrategy::Canary(spec)) => {
                let due = analysis_due(&[st.background.as_ref(), st.inline.as_ref()], now);
                let started = (st.background.is_some(), st.inline.is_some());
                let m = rt.window.metrics();
                let obs = CanaryObserved {
                    canary_available: available,
                    canary_metrics: m,
                };
                let split = canary::sync(spec, rt.base, st, &obs, now);
                let new_run =
                    (!started.0 && st.background.is_some()) || (!started.1 && st.inline.is_some());
                if due && let Some(a) = &spec.analysis {
                    events.push(("rollout-analysis", verdict(a, &m)));
                }
                if due || new_run {
                    rt.window = Window::default();
                }
                apply_split(rt, &split, &mut events)
            }
            (Ctl::BlueGreen(st), RolloutStrategy::BlueGreen(spec)) => {
                let due = analysis_due(&[st.analysis.as_ref()], now);
                let started = st.analysis.is_some();
                let m = rt.window.metrics();
                let switched = st.switched_at.is_some();
                let split = bluegreen::sync(spec, rt.base, st, available, &m, now);
                if due {
                    let a = if switched {
                        &spec.post_promotion_analysis
                    } else {
                        &spec.pre_promotion_analysis
                    };
                    if let Some(a) = a {
                        events.push(("rollout-analysis", verdict(a, &m)));
                    }
                }
                if due || (!started && st.analysis.is_some()) {
                    rt.window = Window::default();
                }
                apply_split(rt, &split, &mut events)
            }
            _ => unreachable!("controller matches its strategy"),
        };
        let after = rt.want;
        for t in 0..2 {
            if before[t] != after[t] {
                events.push((
                    "rollout-scale",
                    format!("template={t} from={} to={}", before[t], after[t]),
                ));
            }
        }
        for (kind, detail) in events {
            self.emit_rollout(s, kind, &detail);
        }
        let changed = before != after;
        if changed {
            self.scale_templates(s);
        }
        (changed, wake)
    }

    /// Marks the rollout done once the losing revision has no pods left.
    fn check_done(&mut self, s: usize, now: SimTime) {
        let pods = self.pod_views(s);
        let rt = self.rollouts[s].as_mut().expect("rollout");
        let (done, outcome) = match rt.ctl.as_ref().expect("started") {
            Ctl::Deployment(d) => {
                let t = d.template;
                let done = d.complete() && pods.iter().all(|p| p.template == t);
                (done, if t == NEW { "complete" } else { "rolled-back" })
            }
            Ctl::Canary(_) | Ctl::BlueGreen(_) => match rt.phase {
                Phase::Healthy => (pods.iter().all(|p| p.template == NEW), "complete"),
                Phase::Aborted => (
                    rt.want[NEW as usize] == 0 && pods.iter().all(|p| p.template != NEW),
                    "aborted",
                ),
                _ => (false, ""),
            },
        };
        if done {
            rt.current = u8::from(outcome == "complete");
            rt.finished_at = Some(now);
            rt.outcome = outcome;
            rt.counts_at_end = Some(self.services[s].metrics.counts());
            let took = now - rt.started_at.expect("started");
            let detail = format!("outcome={outcome} duration_s={}", took.as_secs_f64());
            self.emit_rollout(s, "rollout-done", &detail);
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
        let want = self.rollouts[s].as_ref().expect("rollout").want;
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
        let start = rt.started_at?;
        let until = rt.finished_at.unwrap_or(end);
        let a = rt.counts_at_start;
        let b = rt
            .counts_at_end
            .unwrap_or_else(|| self.services[s].metrics.counts());
        let ok = b.ok - a.ok;
        let failed =
            (b.failed - a.failed) + (b.rejected - a.rejected) + (b.timed_out - a.timed_out);
        // Outcomes while it ran (a request that arrived before and ended
        // during it counts: availability is what users saw meanwhile).
        let total = ok + failed;
        Some(RolloutSummary {
            strategy: strategy_name(&rt.spec).to_string(),
            outcome: rt.outcome.to_string(),
            started_s: start.as_secs_f64(),
            duration_s: (until - start).as_secs_f64(),
            finished: rt.finished_at.is_some(),
            rollbacks: rt.rollbacks,
            max_weight: rt.max_weight,
            crash_loops: rt.crash_loops,
            restarts: rt
                .crashed
                .iter()
                .map(|&(r, first)| {
                    let st = &self.observed.replicas[r as usize];
                    let until = if st.state.is_active() { end } else { st.since };
                    restarts(first, until)
                })
                .sum(),
            requests: total,
            ok,
            failed,
            availability: if total > 0 {
                ok as f64 / total as f64
            } else {
                1.0
            },
        })
    }
}

/// Restarts of a container that exits as it starts, first at `first`,
/// before `until`: the kubelet's CrashLoopBackOff (10 s doubling to 5 min)
/// from the core's `CrashLoopBackOff`.
fn restarts(first: SimTime, until: SimTime) -> u64 {
    let mut b = CrashLoopBackOff::new();
    let mut exit = first;
    let mut n = 0;
    loop {
        let restart = b.on_exit(exit);
        if restart >= until {
            return n;
        }
        n += 1;
        exit = restart;
    }
}

/// Whether some analysis run measures at `now`.
fn analysis_due(runs: &[Option<&AnalysisRun>], now: SimTime) -> bool {
    runs.iter().flatten().any(|r| now >= r.next_at)
}

/// A `rollout-analysis` row's detail.
fn verdict(a: &analysis::AnalysisSpec, m: &RevisionMetrics) -> String {
    let p99 = m
        .p99
        .map_or("-".to_string(), |p| p.as_secs_f64().to_string());
    format!(
        "result={:?} requests={} errors={} p99_s={p99}",
        analysis::measure(a, m),
        m.requests,
        m.errors
    )
}

/// Takes a canary or blue/green answer: counts, weight, phase events.
fn apply_split(
    rt: &mut RolloutRt,
    split: &Split,
    events: &mut Vec<(&'static str, String)>,
) -> Option<SimTime> {
    rt.want = [split.stable_replicas, split.canary_replicas];
    if split.canary_weight != rt.weight {
        events.push((
            "rollout-scale",
            format!("weight from={} to={}", rt.weight, split.canary_weight),
        ));
        rt.weight = split.canary_weight;
        rt.max_weight = rt.max_weight.max(rt.weight);
    }
    if split.phase != rt.phase {
        match split.phase {
            Phase::Healthy => events.push(("rollout-promote", "weight=100".to_string())),
            Phase::Aborted => {
                rt.rollbacks += 1;
                events.push(("rollout-abort", "reason=analysis weight=0".to_string()));
            }
            Phase::Paused => events.push(("rollout-pause", String::new())),
            Phase::Progressing => {}
        }
        rt.phase = split.phase;
    }
    split.wake_at
}
