//! `CrashLoopBackOff`: how long the kubelet waits before restarting a
//! container that exited.
//!
//! Key decision: one value per container holding the current delay and the
//! time the delay was last raised, exactly the state of an entry of the
//! kubelet's `flowcontrol.Backoff`; the world asks [`CrashLoopBackOff::on_exit`]
//! when a container dies and gets the restart instant back.
//!
//! Source: kubelet `pkg/kubelet/kubelet.go` builds the back-off with
//! `flowcontrol.NewBackOff(backOffPeriod = 10s, MaxContainerBackOff = 300s)`;
//! `client-go/util/flowcontrol/backoff.go` `Next` doubles the delay up to the
//! cap and starts again at the initial delay when the entry has not been
//! updated for `2 × max` (`hasExpired`), i.e. 10 minutes. The Kubernetes pod
//! lifecycle docs state the same: "exponential back-off delay (10s, 20s,
//! 40s, …), that is capped at five minutes. Once a container has executed
//! for 10 minutes without any problems, the kubelet resets the restart
//! backoff timer".

use crate::time::{SimDuration, SimTime};

/// The kubelet's initial restart delay (`backOffPeriod`).
pub const INITIAL_BACKOFF: SimDuration = SimDuration::from_secs(10);
/// The kubelet's cap (`MaxContainerBackOff`).
pub const MAX_BACKOFF: SimDuration = SimDuration::from_secs(300);

/// The restart back-off of one container.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CrashLoopBackOff {
    /// The delay of the last restart (zero before the first).
    delay: SimDuration,
    /// When the delay was last raised (`lastUpdate`).
    last_update: Option<SimTime>,
    /// Restarts so far (`restartCount`).
    restarts: u32,
}

impl CrashLoopBackOff {
    /// A container that has not crashed yet.
    pub fn new() -> CrashLoopBackOff {
        CrashLoopBackOff::default()
    }

    /// The container exited at `now`: returns when the kubelet restarts it.
    ///
    /// The delay doubles from [`INITIAL_BACKOFF`] up to [`MAX_BACKOFF`]; it
    /// starts over when more than `2 × MAX_BACKOFF` (10 min) passed since it
    /// was last raised — the container ran that long without crashing.
    pub fn on_exit(&mut self, now: SimTime) -> SimTime {
        let expired = self
            .last_update
            .is_none_or(|t| now.saturating_since(t).0 > 2 * MAX_BACKOFF.0);
        self.delay = if expired {
            INITIAL_BACKOFF
        } else {
            SimDuration(self.delay.0.saturating_mul(2).min(MAX_BACKOFF.0))
        };
        self.last_update = Some(now);
        self.restarts += 1;
        now + self.delay
    }

    /// The delay before the pending (or last) restart; zero before any exit.
    pub fn delay(&self) -> SimDuration {
        self.delay
    }

    /// Restarts so far (Kubernetes' `restartCount`).
    pub fn restarts(&self) -> u32 {
        self.restarts
    }

    /// Whether the container is waiting in `CrashLoopBackOff` at `now`.
    pub fn waiting(&self, now: SimTime) -> bool {
        self.last_update.is_some_and(|t| now < t + self.delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> SimTime {
        SimTime(secs * 1_000_000_000)
    }

    #[test]
    fn delays_double_to_five_minutes() {
        // A container that crashes 1 s after each restart.
        let mut b = CrashLoopBackOff::new();
        let mut now = s(0);
        let mut delays = Vec::new();
        for _ in 0..8 {
            let restart = b.on_exit(now);
            delays.push((restart - now).0 / 1_000_000_000);
            now = restart + SimDuration::from_secs(1);
        }
        // 10 · 2^k capped at 300: 10, 20, 40, 80, 160, 320→300, 300, 300.
        assert_eq!(delays, [10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(b.restarts(), 8);
    }

    #[test]
    fn ten_quiet_minutes_reset_the_delay() {
        // (gap since the last exit in s, expected next delay in s). The
        // entry expires when more than 2 × 300 = 600 s passed since lastUpdate.
        let cases = [(600, 20), (601, 10), (30, 20)];
        for (gap, want) in cases {
            let mut b = CrashLoopBackOff::new();
            assert_eq!(b.on_exit(s(0)), s(10));
            let restart = b.on_exit(s(gap));
            assert_eq!(restart, s(gap + want), "gap {gap}s");
        }
    }

    #[test]
    fn waiting_until_the_restart() {
        let mut b = CrashLoopBackOff::new();
        assert!(!b.waiting(s(0)));
        b.on_exit(s(100)); // restart at 110
        assert!(b.waiting(s(109)));
        assert!(!b.waiting(s(110)));
        assert_eq!(b.delay(), SimDuration::from_secs(10));
    }
}
