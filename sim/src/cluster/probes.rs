//! Readiness probes at container start.
//!
//! Key decision: a replica's start delay is when its application can
//! answer; with a readiness probe the kubelet only reports it ready at the
//! first probe instant after that (`start + initialDelaySeconds + k ×
//! periodSeconds`) once `successThreshold` probes in a row have passed — the
//! closed form [`ProbeSpec::detected_at`] of the core's prober — so the
//! simulator schedules one `Ready` event at that instant instead of one
//! event per probe. Without a readiness probe a replica is ready when its
//! application is (the start delay is the readiness). A crashed container
//! needs no probe: the kubelet sees its process exit at once.
//!
//! [`ProbeSpec::detected_at`]: orkestra_core::health::ProbeSpec::detected_at

use orkestra_core::scenario::Scenario;
use orkestra_core::time::SimTime;

/// When a container of service `s` of `scenario` started at `started`,
/// whose application answers from `up` on, is reported ready.
pub(super) fn readiness_at(
    scenario: &Scenario,
    s: usize,
    started: SimTime,
    up: SimTime,
) -> SimTime {
    match scenario.resilience.probes.get(s).and_then(|p| p.readiness) {
        Some(spec) => spec.detected_at(started, up, spec.success_threshold),
        None => up,
    }
}
