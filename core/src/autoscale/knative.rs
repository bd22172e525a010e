//! Knative's concurrency autoscaler (KPA), with scale to zero.
//!
//! Key decision: transcribed from knative/serving
//! `pkg/autoscaler/scaling/autoscaler.go` and its defaults
//! (`config-autoscaler`): it ticks every 2 s, averages the observed
//! concurrency over a 60 s stable window and a 6 s panic window (10%),
//! wants `⌈average / (target × utilisation)⌉` replicas (target 100 in-flight
//! requests, 70%), rate-limited to ×1000 up and ÷2 down per tick. When the
//! panic window's demand reaches 200% of the ready replicas it panics: it
//! only scales up, until a full stable window passes without panic. With no
//! traffic for the stable window it scales to zero (after a 30 s grace);
//! a request to a service with zero replicas activates one (the activator
//! holds the request meanwhile — the cold start).

use std::collections::VecDeque;

use super::{Autoscale, Recommendation, ScaleInput, ready_replicas};
use crate::time::{SimDuration, SimTime};

/// `config-autoscaler` settings.
#[derive(Clone, Debug, PartialEq)]
pub struct KpaSpec {
    /// `container-concurrency-target-default` (100) or the revision's target.
    pub target: f64,
    /// `container-concurrency-target-percentage` (0.7).
    pub utilization: f64,
    /// `stable-window` (60 s).
    pub stable_window: SimDuration,
    /// `panic-window-percentage` (10%).
    pub panic_window_percentage: f64,
    /// `panic-threshold-percentage` (200%).
    pub panic_threshold: f64,
    /// `max-scale-up-rate` (1000).
    pub max_scale_up_rate: f64,
    /// `max-scale-down-rate` (2).
    pub max_scale_down_rate: f64,
    /// `min-scale` (0 allows scale to zero).
    pub min_replicas: u32,
    /// `max-scale` (0 = unbounded).
    pub max_replicas: u32,
    /// `scale-to-zero-grace-period` (30 s).
    pub scale_to_zero_grace: SimDuration,
    /// `activation-scale` (1): replicas started when traffic reaches zero replicas.
    pub activation_scale: u32,
}

impl Default for KpaSpec {
    fn default() -> KpaSpec {
        KpaSpec {
            target: 100.0,
            utilization: 0.7,
            stable_window: SimDuration::from_secs(60),
            panic_window_percentage: 10.0,
            panic_threshold: 2.0,
            max_scale_up_rate: 1000.0,
            max_scale_down_rate: 2.0,
            min_replicas: 0,
            max_replicas: 0,
            scale_to_zero_grace: SimDuration::from_secs(30),
            activation_scale: 1,
        }
    }
}

/// The autoscaler. Input: `values[0]` is the service's total in-flight
/// requests (averaged over the last tick) including requests held by the
/// activator, in milli-units.
#[derive(Clone, Debug)]
pub struct Kpa {
    spec: KpaSpec,
    samples: VecDeque<(SimTime, f64)>,
    panic_since: Option<SimTime>,
    max_panic: u32,
    last_traffic: Option<SimTime>,
}

impl Kpa {
    /// No history.
    pub fn new(spec: KpaSpec) -> Kpa {
        Kpa {
            spec,
            samples: VecDeque::new(),
            panic_since: None,
            max_panic: 0,
            last_traffic: None,
        }
    }

    fn average(&self, now: SimTime, window: SimDuration) -> f64 {
        let xs: Vec<f64> = self
            .samples
            .iter()
            .filter(|(t, _)| *t + window > now)
            .map(|s| s.1)
            .collect();
        if xs.is_empty() {
            0.0
        } else {
            xs.iter().sum::<f64>() / xs.len() as f64
        }
    }
}

impl Autoscale for Kpa {
    fn name(&self) -> &'static str {
        "knative"
    }

    fn sync_period(&self) -> SimDuration {
        SimDuration::from_secs(2)
    }

    fn recommend(&mut self, input: &ScaleInput<'_>) -> Recommendation {
        let s = &self.spec;
        let now = input.now;
        // The revision's creation counts as traffic: nothing scales to zero
        // before a stable window and the grace period have passed.
        self.last_traffic.get_or_insert(now);
        let Some(milli) = input.values.first().copied().flatten() else {
            return Recommendation {
                replicas: input.spec_replicas,
                reason: "no metrics yet".into(),
            };
        };
        let concurrency = milli as f64 / 1000.0;
        self.samples.push_back((now, concurrency));
        while self
            .samples
            .front()
            .is_some_and(|(t, _)| *t + s.stable_window <= now)
        {
            self.samples.pop_front();
        }
        if concurrency > 0.0 {
            self.last_traffic = Some(now);
        }
        let panic_window =
            SimDuration((s.stable_window.0 as f64 * s.panic_window_percentage / 100.0) as u64);
        let per = s.target * s.utilization;
        let stable = self.average(now, s.stable_window);
        let panic = self.average(now, panic_window);
        let ready = ready_replicas(input).max(1);
        let mut want_stable = (stable / per).ceil() as u32;
        let want_panic = (panic / per).ceil() as u32;
        // Rate limits relative to ready replicas.
        let up = (s.max_scale_up_rate * f64::from(ready)).ceil() as u32;
        let down = (f64::from(ready) / s.max_scale_down_rate).floor() as u32;
        want_stable = want_stable.min(up).max(down);
        let want_panic = want_panic.min(up).max(down);
        let over = f64::from(want_panic) / f64::from(ready) >= s.panic_threshold;
        match self.panic_since {
            None if over => self.panic_since = Some(now),
            Some(_) if over => self.panic_since = Some(now),
            Some(t) if now > t + s.stable_window => {
                self.panic_since = None;
                self.max_panic = 0;
            }
            _ => {}
        }
        let (mut desired, mode) = if self.panic_since.is_some() {
            self.max_panic = self.max_panic.max(want_panic).max(input.spec_replicas);
            (self.max_panic, "panic")
        } else {
            (want_stable, "stable")
        };
        // Scale to zero only after a stable window of no traffic plus the grace period;
        // traffic at zero replicas activates `activation_scale`.
        if desired == 0 {
            let idle_for = self
                .last_traffic
                .map_or(SimDuration(u64::MAX), |t| now.saturating_since(t));
            if concurrency > 0.0 {
                desired = s.activation_scale;
            } else if input.spec_replicas > 0 && idle_for < s.stable_window + s.scale_to_zero_grace
            {
                desired = 1;
            }
        }
        desired = desired.max(s.min_replicas);
        if s.max_replicas > 0 {
            desired = desired.min(s.max_replicas);
        }
        Recommendation {
            replicas: desired,
            reason: format!("{mode}: stable {stable:.1}, panic {panic:.1} in flight"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tick(k: &mut Kpa, sec: u64, inflight: f64, spec_replicas: u32) -> u32 {
        let pods: Vec<crate::autoscale::PodSample> = (0..spec_replicas)
            .map(|_| crate::autoscale::PodSample {
                phase: crate::autoscale::PodPhase::Running,
                start_time: Some(SimTime::ZERO),
                ready: Some((true, SimTime::ZERO)),
                values: vec![],
                metric_time: SimTime::ZERO,
                requests: vec![],
            })
            .collect();
        let values = [Some((inflight * 1000.0) as i64)];
        k.recommend(&ScaleInput {
            now: SimTime(sec * 1_000_000_000),
            spec_replicas,
            pods: &pods,
            values: &values,
            metric_window: SimDuration::from_secs(2),
        })
        .replicas
    }

    #[test]
    fn stable_mode_targets_seventy_percent_of_concurrency() {
        // 140 in flight for a minute: ⌈140 / (100 · 0.7)⌉ = 2 replicas.
        let mut k = Kpa::new(KpaSpec::default());
        let mut r = 2;
        for s in (0..60).step_by(2) {
            r = tick(&mut k, s, 140.0, r);
        }
        assert_eq!(r, 2);
    }

    #[test]
    fn panics_on_a_burst_and_never_scales_down_while_panicking() {
        let mut k = Kpa::new(KpaSpec::default());
        let mut r = 1;
        for s in (0..60).step_by(2) {
            r = tick(&mut k, s, 50.0, r);
        }
        assert_eq!(r, 1);
        // A burst to 700 in flight: the 6 s panic window sees (50·0 + 700 …) quickly; at the first
        // tick the panic average over the last 3 samples is (50 + 50 + 700)/3 = 266.7 → ⌈3.81⌉ = 4
        // ≥ 2 × 1 ready → panic → 4.
        r = tick(&mut k, 60, 700.0, r);
        assert_eq!(r, 4);
        // Next tick: (50 + 700 + 700)/3 = 483.3 → ⌈6.9⌉ = 7, but the ×1000 limit is far; the
        // ÷2 floor does not apply upwards → 7.
        r = tick(&mut k, 62, 700.0, r);
        assert_eq!(r, 7);
        // The burst stops: in panic the count never drops, for 60 s after the last panic tick.
        for s in (64..120).step_by(2) {
            assert_eq!(tick(&mut k, s, 0.0, r), r, "t={s}");
        }
    }

    #[test]
    fn scales_to_zero_after_idle_window_and_grace_and_activates_on_traffic() {
        let mut k = Kpa::new(KpaSpec::default());
        let mut r = tick(&mut k, 0, 10.0, 1);
        assert_eq!(r, 1);
        // Idle from t=2: kept at 1 until the last traffic (t=0) is 60 + 30 s old.
        for s in (2..90).step_by(2) {
            r = tick(&mut k, s, 0.0, r);
            assert_eq!(r, 1, "t={s}");
        }
        r = tick(&mut k, 90, 0.0, r);
        assert_eq!(r, 0);
        // A request arrives at zero replicas: activation scale 1.
        assert_eq!(tick(&mut k, 92, 1.0, 0), 1);
    }
}
