//! Tests of the Deployment controller against a small pure model world, and
//! the property test of the rolling update's bounds.

use rand::RngExt;

use super::IntOrPercent::{self, Int as Count, Percent};
use super::TemplateId;
use super::deployment::*;
use crate::rng::{StreamRng, stream};
use crate::time::{SimDuration, SimTime};

fn secs(s: u64) -> SimTime {
    SimTime(SimDuration::from_secs(s).0)
}

/// A model world: pods become ready at `ready_at`; a scale-down deletes the
/// pods with the latest `ready_at` first, which is the ReplicaSet
/// controller's order (not ready before ready, ready for less time before
/// ready for longer). Deleted pods vanish at once, as they leave the
/// ReplicaSet's count at once upstream.
struct World {
    pods: Vec<(TemplateId, SimTime)>,
    rng: StreamRng,
    /// Largest start delay in milliseconds (delays uniform in 0..=max).
    max_delay_ms: u64,
    /// Templates whose pods never become ready (crash on start).
    crashing: Vec<TemplateId>,
}

impl World {
    fn new(seed: u64, max_delay_ms: u64) -> World {
        World {
            pods: Vec::new(),
            rng: stream(seed, "test/rollout/startup"),
            max_delay_ms,
            crashing: Vec::new(),
        }
    }

    fn view(&self, now: SimTime) -> Vec<PodView> {
        self.pods
            .iter()
            .map(|&(template, at)| PodView {
                template,
                ready_since: (at <= now).then_some(at),
            })
            .collect()
    }

    fn apply(&mut self, a: DeploymentAction, now: SimTime) {
        let DeploymentAction::Scale { template, replicas } = a else {
            return;
        };
        let have = self.pods.iter().filter(|p| p.0 == template).count() as u32;
        for _ in have..replicas {
            let at = if self.crashing.contains(&template) {
                SimTime::MAX
            } else {
                now + SimDuration::from_millis(self.rng.random_range(0..=self.max_delay_ms))
            };
            self.pods.push((template, at));
        }
        for _ in replicas..have {
            let (ix, _) = self
                .pods
                .iter()
                .enumerate()
                .filter(|(_, p)| p.0 == template)
                .max_by_key(|(_, p)| p.1)
                .expect("has pods");
            self.pods.remove(ix);
        }
    }

    fn available(&self, now: SimTime, min_ready: SimDuration) -> u32 {
        self.pods
            .iter()
            .filter(|p| p.1 != SimTime::MAX && p.1 + min_ready <= now)
            .count() as u32
    }

    /// Syncs until the controller asks for nothing more, calling `check`
    /// after every single action; returns the controller's wake-up time.
    fn settle(
        &mut self,
        d: &mut Deployment,
        now: SimTime,
        check: &mut impl FnMut(&Deployment, &World, SimTime),
    ) -> Option<SimTime> {
        for _ in 0..1000 {
            let s = sync(d, &self.view(now), now);
            if s.actions.is_empty() && s.rolled_back_to.is_none() {
                return s.wake_at;
            }
            for a in s.actions {
                self.apply(a, now);
                check(d, self, now);
            }
        }
        panic!("controller never settled at {now}");
    }

    /// Runs events (pods becoming ready, controller wake-ups) from `now`
    /// until `until` or until the rollout is complete and nothing is due.
    fn run(
        &mut self,
        d: &mut Deployment,
        mut now: SimTime,
        until: SimTime,
        check: &mut impl FnMut(&Deployment, &World, SimTime),
    ) -> SimTime {
        loop {
            let wake = self.settle(d, now, check);
            let next_ready = self.pods.iter().map(|p| p.1).filter(|&t| t > now).min();
            let next = match (wake, next_ready) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => a.or(b).filter(|_| !d.complete()).unwrap_or(SimTime::MAX),
            };
            if next == SimTime::MAX || next > until {
                return now;
            }
            now = next;
        }
    }
}

fn rolling(surge: IntOrPercent, unavailable: IntOrPercent) -> DeploymentConfig {
    DeploymentConfig {
        strategy: Strategy::RollingUpdate {
            max_surge: surge,
            max_unavailable: unavailable,
        },
        ..DeploymentConfig::default()
    }
}

fn no_check(_: &Deployment, _: &World, _: SimTime) {}

/// A complete Deployment of `replicas` pods of template 0, all available.
fn steady(config: DeploymentConfig, replicas: u32, w: &mut World) -> (Deployment, SimTime) {
    let mut d = Deployment::new(config, replicas, 0, SimTime::ZERO);
    let end = w.run(&mut d, SimTime::ZERO, secs(3600), &mut no_check);
    assert!(d.complete(), "initial rollout completes");
    (d, end)
}

#[test]
fn fenceposts_round_surge_up_and_unavailable_down() {
    // (replicas, maxSurge, maxUnavailable, resolved surge, resolved unavailable)
    let cases = [
        // Kubernetes docs' defaults on 10 replicas: ceil(2.5) = 3, floor(2.5) = 2.
        (10, Percent(25), Percent(25), 3, 2),
        // Kubernetes docs ("Rolling Update Deployment"), 3 replicas at 25%/25%:
        // "at most 4 Pods in total", "at least 3 available": ceil(0.75) = 1, floor(0.75) = 0.
        (3, Percent(25), Percent(25), 1, 0),
        // Kubernetes docs' 30% examples: total ≤ 130%, available ≥ 70% of 10.
        (10, Percent(30), Percent(30), 3, 3),
        // ResolveFenceposts comment: 2 desired, unavailable 1%, surge 0% → both
        // resolve to 0, so unavailable becomes 1.
        (2, Percent(0), Percent(1), 0, 1),
        // 1 desired, unavailable 25%, surge 1%: ceil(0.01) = 1, floor(0.25) = 0.
        (1, Percent(1), Percent(25), 1, 0),
        // Counts are taken as they are.
        (10, Count(3), Count(2), 3, 2),
        (5, Count(0), Count(0), 0, 1),
    ];
    for (replicas, s, u, want_s, want_u) in cases {
        assert_eq!(
            resolve_fenceposts(s, u, replicas),
            (want_s, want_u),
            "{replicas} replicas, maxSurge {s}, maxUnavailable {u}"
        );
    }
    // MaxUnavailable is capped at replicas: min(20, 5) = 5; Recreate has none.
    assert_eq!(max_unavailable(&rolling(Count(1), Count(20)), 5), 5);
    let recreate = DeploymentConfig {
        strategy: Strategy::Recreate,
        ..DeploymentConfig::default()
    };
    assert_eq!(
        (max_surge(&recreate, 5), max_unavailable(&recreate, 5)),
        (0, 0)
    );
}

fn replicas_of(d: &Deployment, t: TemplateId) -> u32 {
    d.replica_sets
        .iter()
        .find(|r| r.template == t)
        .map_or(0, |r| r.replicas)
}

#[test]
fn upstream_crashloop_and_rollback_example() {
    // rolling.go's "Concrete example": 10 replicas, maxUnavailable 2, maxSurge 3.
    let mut w = World::new(1, 0);
    let (mut d, t0) = steady(rolling(Count(3), Count(2)), 10, &mut w);
    w.crashing.push(1);
    d.set_template(1, t0);
    w.settle(&mut d, t0, &mut no_check);
    // "newRS is created with 3 replicas, oldRS is scaled down to 8, and newRS
    // is scaled up to 5": 13 pods, new ones never ready.
    assert_eq!((replicas_of(&d, 0), replicas_of(&d, 1)), (8, 5));
    // "A node fails and causes one of the oldRS pods to become unavailable.
    // However, 13 - 8 - 5 = 0, so the oldRS won't be scaled down."
    let ix = w.pods.iter().position(|p| p.0 == 0).expect("old pod");
    w.pods[ix].1 = SimTime::MAX;
    w.settle(&mut d, t0, &mut no_check);
    assert_eq!((replicas_of(&d, 0), replicas_of(&d, 1)), (8, 5));
    // "The user notices the crashloop and does kubectl rollout undo": revision
    // 1 (template 0) comes back as revision 3.
    assert_eq!(d.rollback(1, t0), Ok(0));
    let s = sync(&mut d, &w.view(t0), t0);
    assert_eq!(d.new_replica_set().map(|r| r.revision), Some(3));
    // "maxScaledDown = 13 - 8 - 1 = 4. 4 of the crashlooping pods will be
    // scaled down": 5 - 4 = 1.
    assert_eq!(
        s.actions,
        vec![DeploymentAction::Scale {
            template: 1,
            replicas: 1
        }]
    );
    for a in s.actions {
        w.apply(a, t0);
    }
    // "The total number of pods will then be 9 and the newRS can be scaled up to 10."
    let s = sync(&mut d, &w.view(t0), t0);
    assert_eq!(
        s.actions,
        vec![DeploymentAction::Scale {
            template: 0,
            replicas: 10
        }]
    );
    assert_eq!(d.rollback(7, t0), Err(RollbackError::RevisionNotFound(7)));
}

#[test]
fn progress_deadline_exceeded_and_abort_rolls_back() {
    for abort in [false, true] {
        let mut w = World::new(2, 1000);
        let config = DeploymentConfig {
            progress_deadline: Some(SimDuration::from_secs(60)),
            progress_deadline_abort: abort,
            ..rolling(Percent(25), Percent(25))
        };
        let (mut d, t0) = steady(config, 4, &mut w);
        w.crashing.push(1);
        d.set_template(1, t0);
        let end = w.run(&mut d, t0, t0 + SimDuration::from_secs(600), &mut no_check);
        if abort {
            // Rolled back after 60 s without progress; the bad RS is emptied.
            assert!(d.complete());
            assert_eq!(d.template, 0);
            assert_eq!(replicas_of(&d, 1), 0);
            assert!(w.pods.iter().all(|p| p.0 == 0));
            assert!(end > t0 + SimDuration::from_secs(60));
        } else {
            assert_eq!(d.status.progressing, Progress::ProgressDeadlineExceeded);
            // 4 replicas at 25%/25%: surge 1, unavailable 1 → new RS 2 pods, old 3.
            assert_eq!((replicas_of(&d, 0), replicas_of(&d, 1)), (3, 2));
        }
    }
}

#[test]
fn revision_history_limit_deletes_oldest_empty_replica_sets() {
    let mut w = World::new(3, 500);
    let config = DeploymentConfig {
        revision_history_limit: 1,
        ..DeploymentConfig::default()
    };
    let (mut d, mut now) = steady(config, 3, &mut w);
    for t in 1..=2 {
        d.set_template(t, now);
        now = w.run(
            &mut d,
            now,
            now + SimDuration::from_secs(600),
            &mut no_check,
        );
        assert!(d.complete());
    }
    // Revisions 1, 2, 3 of templates 0, 1, 2; limit 1 keeps only revision 2.
    let kept: Vec<(TemplateId, u64)> = d
        .replica_sets
        .iter()
        .map(|r| (r.template, r.revision))
        .collect();
    assert_eq!(kept, vec![(1, 2), (2, 3)]);
}

#[test]
fn recreate_removes_every_old_pod_before_creating_new_ones() {
    let mut w = World::new(4, 2000);
    let config = DeploymentConfig {
        strategy: Strategy::Recreate,
        ..DeploymentConfig::default()
    };
    let (mut d, t0) = steady(config, 5, &mut w);
    d.set_template(1, t0);
    let mut check = |_: &Deployment, w: &World, _: SimTime| {
        let old = w.pods.iter().any(|p| p.0 == 0);
        let new = w.pods.iter().any(|p| p.0 == 1);
        assert!(!(old && new), "old and new pods at once");
    };
    w.run(&mut d, t0, t0 + SimDuration::from_secs(600), &mut check);
    assert!(d.complete());
    assert_eq!(w.pods.iter().filter(|p| p.0 == 1).count(), 5);
}

#[test]
fn min_ready_seconds_delays_availability() {
    // 2 replicas, maxSurge 1, maxUnavailable 0: an old pod may go only once
    // the new one has been ready for minReadySeconds = 10 s.
    let mut w = World::new(5, 0);
    let config = DeploymentConfig {
        min_ready: SimDuration::from_secs(10),
        ..rolling(Count(1), Count(0))
    };
    let (mut d, t0) = steady(config, 2, &mut w);
    d.set_template(1, t0);
    let wake = w.settle(&mut d, t0, &mut no_check);
    // New pod ready at t0 (zero delay), available at t0 + 10 s.
    assert_eq!(wake, Some(t0 + SimDuration::from_secs(10)));
    assert_eq!((replicas_of(&d, 0), replicas_of(&d, 1)), (2, 1));
    let t1 = t0 + SimDuration::from_secs(10);
    w.settle(&mut d, t1, &mut no_check);
    assert_eq!((replicas_of(&d, 0), replicas_of(&d, 1)), (1, 2));
}

/// The rolling update's guarantee, checked over 300 random specs: starting
/// from a complete rollout (every pod of the old revision available) and with
/// no pod failing during the update, at every instant after each single
/// scaling action (pods counted as the ReplicaSets count them: created and
/// not deleted)
///   pods ≤ replicas + maxSurge   and   available ≥ replicas − maxUnavailable,
/// with maxSurge/maxUnavailable resolved by `ResolveFenceposts` (and
/// maxUnavailable capped at replicas); and the rollout completes with only
/// new pods left.
#[test]
fn rolling_update_respects_surge_and_unavailable_bounds() {
    let mut rng = stream(7, "test/rollout/specs");
    let mut both_zero = 0;
    for case in 0..300 {
        let replicas = rng.random_range(1..=50u32);
        let fence = |rng: &mut StreamRng| {
            if rng.random_bool(0.5) {
                Count(rng.random_range(0..=5))
            } else {
                Percent(rng.random_range(0..=100))
            }
        };
        let (mut surge, mut unavail) = (fence(&mut rng), fence(&mut rng));
        if case % 10 == 0 {
            (surge, unavail) = (Count(0), Count(0));
        }
        let min_ready = if rng.random_bool(0.5) {
            SimDuration::ZERO
        } else {
            SimDuration::from_millis(rng.random_range(0..=10_000))
        };
        let config = DeploymentConfig {
            min_ready,
            ..rolling(surge, unavail)
        };
        let (s, u) = resolve_fenceposts(surge, unavail, replicas);
        if (s, u) == (0, 1) {
            both_zero += 1;
        }
        let u = u.min(replicas);
        let mut w = World::new(case, 30_000);
        let (mut d, t0) = steady(config, replicas, &mut w);
        d.set_template(1, t0);
        let mut check = |d: &Deployment, w: &World, now: SimTime| {
            let pods = w.pods.len() as u32;
            let wanted: u32 = d.replica_sets.iter().map(|r| r.replicas).sum();
            let available = w.available(now, min_ready);
            let spec = format!(
                "case {case}: {replicas} replicas, maxSurge {surge}, maxUnavailable {unavail}, at {now}"
            );
            assert!(
                pods <= replicas + s,
                "{spec}: {pods} pods > {replicas} + {s}"
            );
            assert!(wanted <= replicas + s, "{spec}: ReplicaSets want {wanted}");
            assert!(
                available + u >= replicas,
                "{spec}: {available} available < {replicas} - {u}"
            );
        };
        w.run(
            &mut d,
            t0,
            t0 + SimDuration::from_secs(24 * 3600),
            &mut check,
        );
        assert!(d.complete(), "case {case}: rollout did not complete");
        assert!(
            w.pods.iter().all(|p| p.0 == 1),
            "case {case}: old pods left"
        );
        assert_eq!(w.pods.len() as u32, replicas);
    }
    // Every tenth case is explicit 0/0, plus the percentages that round to 0/0.
    assert!(both_zero >= 30, "only {both_zero} both-zero cases");
}
