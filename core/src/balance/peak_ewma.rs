//! `peak-ewma`: Finagle's and Linkerd's default balancer, as tower's
//! `load::PeakEwma` under `balance::p2c`.
//!
//! Key decision: the load of a replica is its cost = peak-EWMA latency ×
//! (outstanding + 1), chosen by power of two choices. The estimate is
//! *peak-sensitive*: a latency above it replaces it at once; below it the
//! estimate moves towards the sample by the weight 1 − e^(−Δt/τ), Δt the time
//! since the last update and τ = 10 s (Linkerd's and tower's decay). Every
//! read decays it towards zero the same way (Finagle `observe(0)`, tower's
//! `decay`). Time comes in through `on_time` (the core reads no clock). A
//! replica never measured starts at a default RTT of 30 ms (linkerd2-proxy's
//! `EWMA_DEFAULT_RTT`). Failed requests may only raise the estimate, so a
//! replica that fails fast (a rejection reports zero latency) does not look
//! attractive — tower would record the zero; we deliberately do not.

use crate::ids::ReplicaId;
use crate::time::{SimDuration, SimTime};

use super::{Load, Outstanding, P2c, slot};

/// Linkerd's and tower's decay time constant.
pub const DECAY: SimDuration = SimDuration::from_secs(10);
/// The estimate of a replica before any response (linkerd2-proxy).
pub const DEFAULT_RTT: SimDuration = SimDuration::from_millis(30);

#[derive(Clone, Copy, Debug)]
struct Estimate {
    rtt_ns: f64,
    at: u64,
    seen: bool,
}

/// The peak-EWMA cost per replica.
#[derive(Clone, Debug)]
pub struct PeakEwma {
    estimates: Vec<Estimate>,
    outstanding: Outstanding,
    now: u64,
    tau_ns: f64,
    default_rtt_ns: f64,
}

impl Default for PeakEwma {
    fn default() -> Self {
        PeakEwma::new(DECAY, DEFAULT_RTT)
    }
}

/// The `peak-ewma` balancer: P2C on peak-EWMA cost.
pub fn balancer() -> P2c<PeakEwma> {
    P2c::with_load(PeakEwma::default(), 2, "peak-ewma")
}

impl PeakEwma {
    /// Peak EWMA with decay time constant `tau` and first estimate `default_rtt`.
    pub fn new(tau: SimDuration, default_rtt: SimDuration) -> Self {
        PeakEwma {
            estimates: Vec::new(),
            outstanding: Outstanding::default(),
            now: 0,
            tau_ns: tau.0.max(1) as f64,
            default_rtt_ns: default_rtt.0 as f64,
        }
    }

    /// The latency estimate of `replica` (ns), decayed to now.
    pub fn estimate_ns(&mut self, replica: ReplicaId) -> f64 {
        self.update(replica, 0.0)
    }

    /// Folds a sample of `rtt_ns` into the estimate (0 only decays it).
    fn update(&mut self, replica: ReplicaId, rtt_ns: f64) -> f64 {
        let fresh = Estimate {
            rtt_ns: self.default_rtt_ns,
            at: self.now,
            seen: false,
        };
        let (now, tau) = (self.now, self.tau_ns);
        let e = slot(&mut self.estimates, replica, fresh);
        if !e.seen {
            // First touch: the default starts counting from now.
            *e = Estimate {
                seen: true,
                ..fresh
            };
        }
        if rtt_ns > e.rtt_ns {
            e.rtt_ns = rtt_ns;
        } else {
            let elapsed = now.saturating_sub(e.at) as f64;
            if elapsed > 0.0 {
                let decay = (-elapsed / tau).exp();
                e.rtt_ns = e.rtt_ns * decay + rtt_ns * (1.0 - decay);
            }
        }
        e.at = e.at.max(now);
        e.rtt_ns
    }
}

impl Load for PeakEwma {
    #[inline]
    fn load(&mut self, replica: ReplicaId) -> f64 {
        let pending = f64::from(self.outstanding.get(replica));
        self.update(replica, 0.0) * (pending + 1.0)
    }

    fn on_start(&mut self, replica: ReplicaId) {
        self.outstanding.start(replica);
    }

    fn on_complete(&mut self, replica: ReplicaId, latency: SimDuration, ok: bool) {
        self.outstanding.complete(replica);
        let rtt = latency.0 as f64;
        if ok || rtt > self.estimate_ns(replica) {
            self.update(replica, rtt);
        }
    }

    fn on_time(&mut self, now: SimTime) {
        self.now = self.now.max(now.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::Balance;
    use crate::rng::stream;

    const MS: f64 = 1e6;

    #[test]
    fn peaks_jump_and_lower_samples_decay_with_tau() {
        let mut l = PeakEwma::default();
        let r = ReplicaId(3);
        // Unseen: the 30 ms default.
        assert_eq!(l.estimate_ns(r), 30.0 * MS);
        // A 50 ms response is a peak: the estimate jumps to it.
        l.on_time(SimTime(1_000_000_000));
        l.on_complete(r, SimDuration::from_millis(50), true);
        assert_eq!(l.estimate_ns(r), 50.0 * MS);
        // 10 s (one τ) later a 10 ms sample: reading decays it first to
        // 50·e^(−1) = 18.394 ms, then the sample (Δt = 0) changes nothing...
        l.on_time(SimTime(11_000_000_000));
        let decayed = l.estimate_ns(r);
        assert!(
            (decayed - 50.0 * MS * (-1.0f64).exp()).abs() < 1.0,
            "{decayed}"
        );
        // ...whereas without the read: 50·e^(−1) + 10·(1 − e^(−1)) = 24.715 ms.
        let mut m = PeakEwma::default();
        m.on_complete(r, SimDuration::from_millis(50), true);
        m.on_time(SimTime(10_000_000_000));
        m.on_complete(r, SimDuration::from_millis(10), true);
        let want = 50.0 * (-1.0f64).exp() + 10.0 * (1.0 - (-1.0f64).exp());
        assert!((m.estimate_ns(r) / MS - want).abs() < 1e-9);
        assert!((want - 24.715).abs() < 1e-3);
    }

    #[test]
    fn cost_is_estimate_times_outstanding_plus_one() {
        // Replica 0: 30 ms default, 2 in flight → 90; replica 1: measured
        // 100 ms, idle → 100. P2C over the two picks replica 0.
        let mut b = balancer();
        let mut rng = stream(8, "t");
        b.on_complete(ReplicaId(1), SimDuration::from_millis(100), true);
        b.on_start(ReplicaId(0));
        b.on_start(ReplicaId(0));
        let eps = [ReplicaId(0), ReplicaId(1)];
        assert_eq!(b.load_mut().load(ReplicaId(0)), 90.0 * MS);
        assert_eq!(b.load_mut().load(ReplicaId(1)), 100.0 * MS);
        assert_eq!(b.pick(&eps, &mut rng), Some(0));
        // A third in flight: 120 > 100, replica 1 now.
        b.on_start(ReplicaId(0));
        assert_eq!(b.pick(&eps, &mut rng), Some(1));
    }

    #[test]
    fn a_fast_failure_does_not_lower_the_estimate() {
        let mut l = PeakEwma::default();
        let r = ReplicaId(0);
        l.on_time(SimTime(5_000_000_000));
        l.on_complete(r, SimDuration::ZERO, false);
        assert_eq!(l.estimate_ns(r), 30.0 * MS);
        // A slow failure (a timeout) is a peak.
        l.on_complete(r, SimDuration::from_millis(200), false);
        assert_eq!(l.estimate_ns(r), 200.0 * MS);
    }
}
