//! A predictive autoscaler: forecast the load one start-up delay ahead and
//! provision for it before it arrives.
//!
//! Key decision: the forecast is additive Holt–Winters with a damped trend
//! (Holt 1957, Winters 1960; damping after Gardner & McKenzie 1985),
//! updated online at every sync: the level and trend follow ramps such as
//! a spike's onset, the seasonal terms (optional, e.g. one day) learn a
//! diurnal shape. Replicas are provisioned for the larger of the load now
//! and the load forecast `lead` ahead (the replica start-up time), at a
//! per-replica target, so capacity is ready when the load arrives;
//! decreases are stabilised like the HPA's (the highest recommendation
//! of the last `scale_down_window` wins), so a forecast dip never sheds
//! capacity that is needed a minute later.

use std::collections::VecDeque;

use super::hpa::{MetricSource, MetricSpec, MetricTarget};
use super::{Autoscale, PodPhase, Recommendation, ScaleInput};
use crate::time::{SimDuration, SimTime};

/// The predictive autoscaler's configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct PredictiveSpec {
    /// The load metric: a Pods metric with an `averageValue` target (total
    /// load = per-replica mean × running replicas) or an Object/External
    /// metric whose `averageValue` target is per replica.
    pub metric: MetricSpec,
    /// Minimum replicas.
    pub min_replicas: u32,
    /// Maximum replicas.
    pub max_replicas: u32,
    /// How far ahead to provision (the replica start-up time).
    pub lead: SimDuration,
    /// Season length (e.g. 24 h) or `None` for level + trend only.
    pub season: Option<SimDuration>,
    /// Level smoothing α.
    pub alpha: f64,
    /// Trend smoothing β.
    pub beta: f64,
    /// Seasonal smoothing γ.
    pub gamma: f64,
    /// Trend damping φ (1 = undamped).
    pub phi: f64,
    /// How often it runs.
    pub sync_period: SimDuration,
    /// Decreases wait until every recommendation in this window is lower.
    pub scale_down_window: SimDuration,
}

impl PredictiveSpec {
    /// Defaults: α 0.5, β 0.3, γ 0.1, φ 0.9, 15 s sync, 300 s down window.
    pub fn new(metric: MetricSpec, min: u32, max: u32, lead: SimDuration) -> PredictiveSpec {
        PredictiveSpec {
            metric,
            min_replicas: min,
            max_replicas: max,
            lead,
            season: None,
            alpha: 0.5,
            beta: 0.3,
            gamma: 0.1,
            phi: 0.9,
            sync_period: SimDuration::from_secs(15),
            scale_down_window: SimDuration::from_secs(300),
        }
    }
}

/// Online additive Holt–Winters with a damped trend.
#[derive(Clone, Debug)]
pub struct HoltWinters {
    alpha: f64,
    beta: f64,
    gamma: f64,
    phi: f64,
    level: Option<f64>,
    trend: f64,
    seasonal: Vec<f64>,
    t: usize,
}

impl HoltWinters {
    /// A model with `m` seasonal slots (0 for none).
    pub fn new(alpha: f64, beta: f64, gamma: f64, phi: f64, m: usize) -> HoltWinters {
        HoltWinters {
            alpha,
            beta,
            gamma,
            phi,
            level: None,
            trend: 0.0,
            seasonal: vec![0.0; m],
            t: 0,
        }
    }

    fn season(&self, t: usize) -> f64 {
        if self.seasonal.is_empty() {
            0.0
        } else {
            self.seasonal[t % self.seasonal.len()]
        }
    }

    /// Feeds observation `y`.
    pub fn observe(&mut self, y: f64) {
        let s = self.season(self.t);
        match self.level {
            None => self.level = Some(y - s),
            Some(l0) => {
                let l = self.alpha * (y - s) + (1.0 - self.alpha) * (l0 + self.phi * self.trend);
                self.trend = self.beta * (l - l0) + (1.0 - self.beta) * self.phi * self.trend;
                self.level = Some(l);
            }
        }
        if !self.seasonal.is_empty() {
            let m = self.seasonal.len();
            let l = self.level.unwrap_or(y);
            self.seasonal[self.t % m] = self.gamma * (y - l) + (1.0 - self.gamma) * s;
        }
        self.t += 1;
    }

    /// The forecast `h` steps after the last observation.
    pub fn forecast(&self, h: usize) -> Option<f64> {
        let l = self.level?;
        let damp: f64 = (1..=h).map(|i| self.phi.powi(i as i32)).sum();
        Some(l + damp * self.trend + self.season(self.t + h - 1))
    }
}

/// The predictive autoscaler.
#[derive(Clone, Debug)]
pub struct Predictive {
    spec: PredictiveSpec,
    model: HoltWinters,
    history: VecDeque<(SimTime, u32)>,
}

impl Predictive {
    /// No history.
    pub fn new(spec: PredictiveSpec) -> Predictive {
        let m = spec
            .season
            .map_or(0, |s| (s.0 / spec.sync_period.0.max(1)) as usize);
        let model = HoltWinters::new(spec.alpha, spec.beta, spec.gamma, spec.phi, m);
        Predictive {
            spec,
            model,
            history: VecDeque::new(),
        }
    }

    fn load(&self, input: &ScaleInput<'_>) -> Option<f64> {
        match self.spec.metric.source {
            MetricSource::Resource(_) | MetricSource::Pods(_) => {
                let (mut sum, mut any) = (0i64, false);
                for p in input.pods.iter().filter(|p| p.phase == PodPhase::Running) {
                    if let Some(v) = p.values.first().copied().flatten() {
                        sum += v;
                        any = true;
                    }
                }
                any.then_some(sum as f64)
            }
            _ => input.values.first().copied().flatten().map(|v| v as f64),
        }
    }
}

impl Autoscale for Predictive {
    fn name(&self) -> &'static str {
        "predictive"
    }

    fn sync_period(&self) -> SimDuration {
        self.spec.sync_period
    }

    fn recommend(&mut self, input: &ScaleInput<'_>) -> Recommendation {
        let s = &self.spec;
        let (now, cur) = (input.now, input.spec_replicas);
        let per_replica = match s.metric.target {
            MetricTarget::AverageValue(v) | MetricTarget::Value(v) => v as f64,
            MetricTarget::Utilization(u) => f64::from(u),
        };
        let Some(load) = self.load(input) else {
            return Recommendation {
                replicas: cur.clamp(s.min_replicas, s.max_replicas),
                reason: "no load metric".into(),
            };
        };
        self.model.observe(load);
        let h = s.lead.0.div_ceil(s.sync_period.0.max(1)).max(1) as usize;
        let ahead = self.model.forecast(h).unwrap_or(load).max(0.0);
        let need = load.max(ahead);
        let raw = ((need / per_replica).ceil() as u32).clamp(s.min_replicas, s.max_replicas);
        // Stabilise decreases: the highest recommendation within the window.
        let window = s.scale_down_window;
        while self
            .history
            .front()
            .is_some_and(|(t, _)| *t + window <= now)
        {
            self.history.pop_front();
        }
        self.history.push_back((now, raw));
        let held = self.history.iter().map(|h| h.1).max().unwrap_or(raw);
        let replicas = if raw >= cur { raw } else { held.min(cur) };
        Recommendation {
            replicas,
            reason: format!("load {load:.0}, forecast {ahead:.0} in {h} syncs → {raw}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holt_follows_a_ramp_and_forecasts_ahead() {
        // y = 10·t: with α 0.5, β 0.3, φ 1 the trend converges to 10 per step; after 60 steps
        // the 4-step forecast is 10·(59 + 4) = 630 within 1%.
        let mut m = HoltWinters::new(0.5, 0.3, 0.0, 1.0, 0);
        for t in 0..60 {
            m.observe(10.0 * t as f64);
        }
        let f = m.forecast(4).unwrap();
        assert!((f - 630.0).abs() < 6.3, "{f}");
    }

    #[test]
    fn holt_winters_learns_a_season() {
        // A square wave of period 8 (0 for 4 steps, 100 for 4): after 40 seasons with γ 0.3 the
        // one-step forecasts reproduce the wave within 5.
        let mut m = HoltWinters::new(0.2, 0.05, 0.3, 1.0, 8);
        let y = |t: usize| if t % 8 < 4 { 0.0 } else { 100.0 };
        for t in 0..320 {
            m.observe(y(t));
        }
        for h in 1..=8 {
            let f = m.forecast(h).unwrap();
            assert!((f - y(320 + h - 1)).abs() < 5.0, "h={h}: {f}");
        }
    }

    #[test]
    fn provisions_ahead_of_a_ramp_and_holds_decreases() {
        let metric = MetricSpec {
            source: MetricSource::External("rps".into()),
            target: MetricTarget::AverageValue(10_000),
        };
        let spec = PredictiveSpec {
            phi: 1.0,
            ..PredictiveSpec::new(metric, 1, 100, SimDuration::from_secs(60))
        };
        let mut p = Predictive::new(spec);
        let sync = |p: &mut Predictive, sec: u64, rps: i64, cur: u32| {
            let values = [Some(rps * 1000)];
            p.recommend(&ScaleInput {
                now: SimTime(sec * 1_000_000_000),
                spec_replicas: cur,
                pods: &[],
                values: &values,
                metric_window: SimDuration::from_secs(15),
            })
            .replicas
        };
        // Load rises 15 rps every 15 s. Once the trend is learnt (β 0.3 converges in ~20
        // steps), at 300 s the load is 300 rps (30 replicas at 10 each), and 60 s ahead it
        // will be 360 → ⌈36⌉ = 36 ± 1.
        let mut r = 1;
        for k in 0..=20u64 {
            r = sync(&mut p, 15 * k, (15 * k) as i64, r);
        }
        assert!((35..=37).contains(&r), "{r}");
        // The load drops to 10 rps: the decrease is held for the 300 s window.
        let held = sync(&mut p, 315, 10, r);
        assert_eq!(held, r);
    }
}
