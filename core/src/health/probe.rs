//! Liveness and readiness probes of one container.
//!
//! Key decision: a [`Probe`] is the kubelet prober worker's state machine
//! without its ticker — the world tells it each probe's outcome at the
//! instants [`Probe::next_at`] names, and it answers the transition
//! (ready, unready, restart). [`ProbeSpec::detected_at`] gives the same
//! instant in closed form for a world that knows when a container started
//! failing, so it need not schedule every probe.
//!
//! Source: kubelet `pkg/kubelet/prober/worker.go` (`doProbe`): a probe is
//! skipped until `initialDelaySeconds` after the container started; a
//! result equal to the previous one extends a run (`resultRun++`), another
//! starts a run of 1; the status changes only when a failure run reaches
//! `failureThreshold` or a success run reaches `successThreshold`.
//! Readiness starts as Failure (`initialValue`), liveness as Success. A
//! liveness failure puts the worker on hold (`onHold`, `resultRun = 0`) until
//! the container is restarted. A probe that does not answer within
//! `timeoutSeconds` fails (`prober.go`). Defaults from the Pod API reference:
//! periodSeconds 10, timeoutSeconds 1, failureThreshold 3, successThreshold 1,
//! initialDelaySeconds 0. The kubelet also starts each worker after a random
//! jitter of up to one period; here the probe instants are
//! `started + initialDelay + k·period`, and a world wanting jitter shifts
//! `started` with a draw from its own stream.

use crate::time::{SimDuration, SimTime};

/// `periodSeconds`, `timeoutSeconds`, thresholds and `initialDelaySeconds` of a probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeSpec {
    /// `periodSeconds`: between probes (default 10 s).
    pub period: SimDuration,
    /// `timeoutSeconds`: a slower answer is a failure (default 1 s).
    pub timeout: SimDuration,
    /// `failureThreshold`: consecutive failures that change the status (default 3).
    pub failure_threshold: u32,
    /// `successThreshold`: consecutive successes that change the status
    /// (default 1; must be 1 for liveness).
    pub success_threshold: u32,
    /// `initialDelaySeconds`: no probe before this long after the start (default 0).
    pub initial_delay: SimDuration,
}

impl Default for ProbeSpec {
    fn default() -> ProbeSpec {
        ProbeSpec {
            period: SimDuration::from_secs(10),
            timeout: SimDuration::from_secs(1),
            failure_threshold: 3,
            success_threshold: 1,
            initial_delay: SimDuration::ZERO,
        }
    }
}

impl ProbeSpec {
    /// The first probe instant at or after `at` for a container started at `started`.
    pub fn tick_at_or_after(&self, started: SimTime, at: SimTime) -> SimTime {
        let first = started + self.initial_delay;
        if at <= first || self.period.0 == 0 {
            return first;
        }
        let k = (at - first).0.div_ceil(self.period.0);
        first + SimDuration(k.saturating_mul(self.period.0))
    }

    /// When the status flips if every probe from `from` on has the same
    /// result: the first probe at or after `from`, plus `threshold − 1` periods.
    /// For a failing container use `failure_threshold`, for a recovering one
    /// `success_threshold`.
    pub fn detected_at(&self, started: SimTime, from: SimTime, threshold: u32) -> SimTime {
        let first = self.tick_at_or_after(started, from);
        let more = u64::from(threshold.max(1) - 1);
        first + SimDuration(more.saturating_mul(self.period.0))
    }
}

/// The probes of a service's containers (`[services.NAME.probes]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Probes {
    /// Restart the container when it fails.
    pub liveness: Option<ProbeSpec>,
    /// Remove the replica from the endpoints while it fails.
    pub readiness: Option<ProbeSpec>,
}

/// Which probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeKind {
    /// Failure ⇒ restart.
    Liveness,
    /// Failure ⇒ not ready (no traffic).
    Readiness,
}

/// What one probe saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// The container answered healthy after this long (a failure if over `timeout`).
    Answered(SimDuration),
    /// It answered unhealthy, refused the connection or is hung.
    Failed,
}

/// A status change the world must apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeEvent {
    /// Readiness passed: add the replica to the endpoints.
    Ready,
    /// Readiness failed: remove it from the endpoints.
    Unready,
    /// Liveness failed: kill the container (restart through [`super::CrashLoopBackOff`]).
    Restart,
}

/// One probe of one container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    kind: ProbeKind,
    spec: ProbeSpec,
    started: SimTime,
    passing: bool,
    last: Option<bool>,
    run: u32,
    on_hold: bool,
}

impl Probe {
    /// The probe of a container started at `started`.
    pub fn new(kind: ProbeKind, spec: ProbeSpec, started: SimTime) -> Probe {
        Probe {
            kind,
            spec,
            started,
            // worker.go initialValue: readiness Failure, liveness Success.
            passing: kind == ProbeKind::Liveness,
            last: None,
            run: 0,
            on_hold: false,
        }
    }

    /// Whether the probe's status is Success now.
    pub fn passing(&self) -> bool {
        self.passing
    }

    /// The first probe instant: `initialDelaySeconds` after the start.
    pub fn first_at(&self) -> SimTime {
        self.started + self.spec.initial_delay
    }

    /// The next probe instant strictly after `now`; `None` while a failed
    /// liveness probe waits for the restart.
    pub fn next_at(&self, now: SimTime) -> Option<SimTime> {
        if self.on_hold {
            return None;
        }
        Some(
            self.spec
                .tick_at_or_after(self.started, now + SimDuration(1)),
        )
    }

    /// The container was restarted at `now`: probing starts over, as for a new container.
    pub fn restarted(&mut self, now: SimTime) {
        *self = Probe::new(self.kind, self.spec, now);
    }

    /// Records the outcome of the probe run at `now`; returns the status change, if any.
    pub fn record(&mut self, now: SimTime, outcome: ProbeOutcome) -> Option<ProbeEvent> {
        if self.on_hold || now < self.started + self.spec.initial_delay {
            return None;
        }
        let ok = matches!(outcome, ProbeOutcome::Answered(d) if d <= self.spec.timeout);
        if self.last == Some(ok) {
            self.run = self.run.saturating_add(1);
        } else {
            self.last = Some(ok);
            self.run = 1;
        }
        let threshold = if ok {
            self.spec.success_threshold
        } else {
            self.spec.failure_threshold
        };
        if self.run < threshold || self.passing == ok {
            return None;
        }
        self.passing = ok;
        match (self.kind, ok) {
            (ProbeKind::Readiness, true) => Some(ProbeEvent::Ready),
            (ProbeKind::Readiness, false) => Some(ProbeEvent::Unready),
            (ProbeKind::Liveness, true) => None,
            (ProbeKind::Liveness, false) => {
                self.on_hold = true;
                self.run = 0;
                Some(ProbeEvent::Restart)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProbeOutcome::{Answered, Failed};

    fn s(secs: u64) -> SimTime {
        SimTime(secs * 1_000_000_000)
    }
    const FAST: ProbeOutcome = Answered(SimDuration::from_millis(5));
    const SLOW: ProbeOutcome = Answered(SimDuration::from_millis(1500));

    /// Feeds `outcomes` at the probe instants from the start; returns (time s, event).
    fn run(kind: ProbeKind, spec: ProbeSpec, outcomes: &[ProbeOutcome]) -> Vec<(u64, ProbeEvent)> {
        let mut p = Probe::new(kind, spec, s(0));
        let mut now = p.first_at();
        let mut events = Vec::new();
        for &o in outcomes {
            if let Some(e) = p.record(now, o) {
                events.push((now.0 / 1_000_000_000, e));
            }
            match p.next_at(now) {
                Some(t) => now = t,
                None => break,
            }
        }
        events
    }

    #[test]
    fn kubelet_prober_transitions() {
        let k8s = ProbeSpec::default();
        let delayed = ProbeSpec {
            initial_delay: SimDuration::from_secs(15),
            success_threshold: 2,
            ..k8s
        };
        use ProbeEvent::*;
        use ProbeKind::*;
        /// (name, probe, spec, outcomes at the probe instants, expected (time s, event)).
        type Case<'a> = (
            &'a str,
            ProbeKind,
            ProbeSpec,
            &'a [ProbeOutcome],
            &'a [(u64, ProbeEvent)],
        );
        let cases: &[Case] = &[
            // Readiness starts failing; the first success (t=0) flips it (successThreshold 1).
            (
                "ready at first probe",
                Readiness,
                k8s,
                &[FAST],
                &[(0, Ready)],
            ),
            // Probes at 15 (initialDelay), 25: two successes needed → ready at 25.
            (
                "initial delay + 2 successes",
                Readiness,
                delayed,
                &[FAST, FAST],
                &[(25, Ready)],
            ),
            // Failures at 10, 20, 30: third consecutive (failureThreshold 3) → unready at 30.
            (
                "three failures unready",
                Readiness,
                k8s,
                &[FAST, Failed, Failed, Failed],
                &[(0, Ready), (30, Unready)],
            ),
            // A success at 20 breaks the run: failures 10, 30, 40, 50 → unready at 50.
            (
                "run broken by success",
                Readiness,
                k8s,
                &[FAST, Failed, FAST, Failed, Failed, Failed],
                &[(0, Ready), (50, Unready)],
            ),
            // 1.5 s answer > timeoutSeconds 1 s counts as a failure.
            (
                "timeout is a failure",
                Readiness,
                k8s,
                &[FAST, SLOW, SLOW, SLOW],
                &[(0, Ready), (30, Unready)],
            ),
            // Liveness starts passing; failures at 0, 10, 20 → restart at 20, then on hold.
            (
                "liveness restart",
                Liveness,
                k8s,
                &[Failed, Failed, Failed, Failed],
                &[(20, Restart)],
            ),
            (
                "healthy liveness is silent",
                Liveness,
                k8s,
                &[FAST, FAST, FAST],
                &[],
            ),
        ];
        for (name, kind, spec, outcomes, want) in cases {
            assert_eq!(run(*kind, *spec, outcomes), *want, "{name}");
        }
    }

    #[test]
    fn closed_form_matches_the_machine() {
        // Container started at 0, hangs at 25 s; probes at 0, 10, 20, 30, …
        // First failing probe at 30; threshold 3 → restart at 30 + 2·10 = 50.
        let spec = ProbeSpec::default();
        assert_eq!(spec.detected_at(s(0), s(25), spec.failure_threshold), s(50));
        let mut p = Probe::new(ProbeKind::Liveness, spec, s(0));
        let mut now = s(0);
        let mut restart = None;
        while restart.is_none() {
            let o = if now >= s(25) { Failed } else { FAST };
            if p.record(now, o) == Some(ProbeEvent::Restart) {
                restart = Some(now);
            }
            now = p.next_at(now).unwrap_or(now);
        }
        assert_eq!(restart, Some(s(50)));
        // initialDelay 15 s: ticks 15, 25, 35 → first at or after 16 is 25.
        let d = ProbeSpec {
            initial_delay: SimDuration::from_secs(15),
            ..spec
        };
        assert_eq!(d.tick_at_or_after(s(0), s(16)), s(25));
        assert_eq!(d.tick_at_or_after(s(0), s(3)), s(15));
    }

    #[test]
    fn restart_starts_probing_over() {
        let spec = ProbeSpec::default();
        let mut p = Probe::new(ProbeKind::Liveness, spec, s(0));
        for t in [0, 10, 20] {
            p.record(s(t), Failed);
        }
        assert_eq!(p.next_at(s(20)), None, "on hold until the restart");
        assert_eq!(p.record(s(30), Failed), None);
        p.restarted(s(40));
        assert!(p.passing());
        assert_eq!(p.first_at(), s(40));
        assert_eq!(p.next_at(s(40)), Some(s(50)));
    }
}
