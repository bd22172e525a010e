//! Rollouts: how a service moves from one pod template (revision) to the
//! next — Kubernetes' Deployment controller ([`deployment`]: RollingUpdate and
//! Recreate), an Argo Rollouts-style canary ([`canary`]) and blue/green
//! ([`bluegreen`]).
//!
//! Key decision: every controller is a function of (spec, status it owns,
//! what the world observes, `now`) → what the world should do, like the
//! upstream controllers whose state lives in API objects. The status struct
//! plays the part of those objects (ReplicaSets and `Deployment.status` for
//! Kubernetes, `Rollout.status` for Argo); the world keeps one per service,
//! passes it `&mut` on every sync and applies the answer through its own
//! replica controller path. Each answer carries the instant the controller
//! wants to be called again (`wake_at`), so a discrete-event world schedules
//! one event and a live world sleeps until then; a world may also call
//! earlier (on any pod change): the controllers are level-triggered.
//!
//! Revisions are identified by a [`TemplateId`] the world chooses (for
//! example 0 for the scenario's template and 1 for `newRevision`); pods carry
//! it like Kubernetes' `pod-template-hash` label.

pub mod analysis;
pub mod bluegreen;
pub mod canary;
pub mod deployment;
pub mod driver;

pub use analysis::{AnalysisSpec, Measurement, RevisionMetrics};

use crate::dist::DurationDist;
use crate::time::{SimDuration, SimTime};

/// A service's `[services.NAME.rollout]`: which controller rolls out the
/// new revision, when, and how that revision behaves.
#[derive(Clone, Debug)]
pub struct RolloutSpec {
    /// When the new revision is introduced (from the start of the run).
    pub at: SimDuration,
    /// How it is rolled out.
    pub strategy: RolloutStrategy,
    /// How the new revision's replicas behave.
    pub new_revision: NewRevision,
}

/// The controller of a rollout.
#[derive(Clone, Debug)]
pub enum RolloutStrategy {
    /// A Kubernetes Deployment (`rollingUpdate` or `recreate`).
    Deployment(deployment::DeploymentConfig),
    /// An Argo Rollouts canary.
    Canary(canary::CanarySpec),
    /// An Argo Rollouts blue/green.
    BlueGreen(bluegreen::BlueGreenSpec),
}

/// `[services.NAME.rollout.newRevision]`: what is different about the new
/// revision's replicas (the defaults make it identical to the old one).
#[derive(Clone, Debug)]
pub struct NewRevision {
    /// Its replicas crash on start and never become ready.
    pub crash_on_start: bool,
    /// Share of its requests that fail (0..=1, default 0).
    pub error_rate: f64,
    /// Multiplier of the service time (default 1).
    pub slowdown: f64,
    /// Its own service time distribution (default: the service's).
    pub service_time: Option<DurationDist>,
}

impl Default for NewRevision {
    fn default() -> Self {
        NewRevision {
            crash_on_start: false,
            error_rate: 0.0,
            slowdown: 1.0,
            service_time: None,
        }
    }
}

/// The world's name for a pod template (Kubernetes' `pod-template-hash`).
pub type TemplateId = u32;

/// `maxSurge`/`maxUnavailable`: a count or a percentage of the desired replicas.
pub use crate::intstr::IntOrPercent;

/// Where a canary or blue/green rollout is (Argo's `status.phase`, with the
/// abort made explicit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Moving through its steps.
    Progressing,
    /// Waiting at an indefinite pause (or blue/green without auto-promotion)
    /// for [`canary::promote`] / [`bluegreen::promote`].
    Paused,
    /// The new revision is stable and takes all traffic.
    Healthy,
    /// Analysis failed: traffic is back on the stable revision.
    Aborted,
}

/// What a canary or blue/green controller asks of the world after a sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Split {
    /// Pods the stable (old) revision should have.
    pub stable_replicas: u32,
    /// Pods the new revision should have.
    pub canary_replicas: u32,
    /// Percent of requests (0..=100) the balancer sends to the new revision.
    /// The world routes each request to the new revision's ready replicas
    /// with probability `canary_weight / 100`, drawn from its own stream
    /// `policy/rollout/<service>`, and balances within the chosen set with
    /// the service's usual `Balance`.
    pub canary_weight: u8,
    /// Where the rollout is.
    pub phase: Phase,
    /// When to sync again at the latest (`None`: only on a pod change).
    pub wake_at: Option<SimTime>,
}

/// Whether one request goes to the new revision under a split at `weight`
/// percent: never at 0, always at 100, else with probability weight/100
/// drawn from the world's `policy/rollout/<service>` stream (one draw per
/// request; none at 0 or 100). Both worlds route with it.
pub fn routes_to_new<R: rand::Rng + ?Sized>(weight: u8, rng: &mut R) -> bool {
    match weight {
        0 => false,
        100.. => true,
        w => rand::RngExt::random_range(rng, 0..100u8) < w,
    }
}

/// The earlier of two optional instants.
pub(crate) fn earliest(a: Option<SimTime>, b: Option<SimTime>) -> Option<SimTime> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

#[cfg(test)]
mod deployment_tests;

#[cfg(test)]
mod deployment_util_tests;
