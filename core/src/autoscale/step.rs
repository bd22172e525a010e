//! AWS step scaling (Application Auto Scaling `StepScaling` policies).
//!
//! Key decision: as AWS documents it ("Step scaling policies for
//! Application Auto Scaling"): a CloudWatch alarm on one-minute datapoints
//! breaches when `datapoints` consecutive values are beyond its threshold;
//! the breach size (metric − threshold) selects a step adjustment (lower
//! bound inclusive and upper exclusive above the threshold, the reverse
//! below), applied as a change in capacity, a percent change (truncated
//! toward zero but at least 1, then at least `MinAdjustmentMagnitude`), or
//! an exact capacity. During a scale-out cooldown only larger scale outs
//! proceed; scale in waits for the cooldown.

use std::collections::VecDeque;

use super::hpa::MetricSpec;
use super::{Autoscale, Recommendation, ScaleInput, current_value};
use crate::time::{SimDuration, SimTime};

/// `AdjustmentType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdjustmentType {
    /// Add the adjustment.
    ChangeInCapacity,
    /// Add the adjustment percent of current capacity.
    PercentChangeInCapacity,
    /// Set capacity to the adjustment.
    ExactCapacity,
}

/// One `StepAdjustment`: bounds relative to the alarm threshold.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepAdjustment {
    /// `MetricIntervalLowerBound` (`None` = −∞).
    pub lower: Option<f64>,
    /// `MetricIntervalUpperBound` (`None` = +∞).
    pub upper: Option<f64>,
    /// `ScalingAdjustment`.
    pub adjustment: i32,
}

/// A step policy with its alarm.
#[derive(Clone, Debug, PartialEq)]
pub struct StepPolicy {
    /// Alarm threshold in the metric's units.
    pub threshold: f64,
    /// `GreaterThanThreshold` (true) or `LessThanThreshold`.
    pub above: bool,
    /// Consecutive breaching datapoints (`EvaluationPeriods`).
    pub datapoints: usize,
    /// How adjustments apply.
    pub adjustment_type: AdjustmentType,
    /// The steps.
    pub steps: Vec<StepAdjustment>,
    /// `MinAdjustmentMagnitude` (percent type only).
    pub min_adjustment_magnitude: Option<u32>,
    /// `Cooldown`.
    pub cooldown: SimDuration,
}

/// A scale-out and a scale-in step policy on one metric.
#[derive(Clone, Debug, PartialEq)]
pub struct StepScalingSpec {
    /// The metric (the target field is unused).
    pub metric: MetricSpec,
    /// Minimum capacity.
    pub min_replicas: u32,
    /// Maximum capacity.
    pub max_replicas: u32,
    /// Policy on the high alarm.
    pub scale_out: Option<StepPolicy>,
    /// Policy on the low alarm.
    pub scale_in: Option<StepPolicy>,
}

impl StepPolicy {
    /// The adjustment whose interval holds `breach` (metric − threshold).
    pub fn step_for(&self, breach: f64) -> Option<i32> {
        self.steps
            .iter()
            .find(|s| {
                let lo = s.lower.unwrap_or(f64::NEG_INFINITY);
                let hi = s.upper.unwrap_or(f64::INFINITY);
                if self.above {
                    lo <= breach && breach < hi
                } else {
                    lo < breach && breach <= hi
                }
            })
            .map(|s| s.adjustment)
    }

    /// New capacity from `current` and an adjustment.
    pub fn apply(&self, current: u32, adjustment: i32) -> i64 {
        let c = i64::from(current);
        match self.adjustment_type {
            AdjustmentType::ChangeInCapacity => c + i64::from(adjustment),
            AdjustmentType::ExactCapacity => i64::from(adjustment),
            AdjustmentType::PercentChangeInCapacity => {
                let raw = c as f64 * f64::from(adjustment) / 100.0;
                // Truncate toward zero, but a non-zero change moves at least 1.
                let mut d = raw.trunc() as i64;
                if d == 0 && raw != 0.0 {
                    d = raw.signum() as i64;
                }
                if let Some(m) = self.min_adjustment_magnitude {
                    let m = i64::from(m);
                    if d.abs() < m {
                        d = m * d.signum();
                    }
                }
                c + d
            }
        }
    }
}

/// The step scaling state.
#[derive(Clone, Debug)]
pub struct StepScaling {
    spec: StepScalingSpec,
    points: VecDeque<f64>,
    last_out: Option<(SimTime, u32)>,
    last_in: Option<SimTime>,
}

impl StepScaling {
    /// No history.
    pub fn new(spec: StepScalingSpec) -> StepScaling {
        StepScaling {
            spec,
            points: VecDeque::new(),
            last_out: None,
            last_in: None,
        }
    }

    fn breached(&self, p: &StepPolicy) -> bool {
        self.points.len() >= p.datapoints
            && self.points.iter().rev().take(p.datapoints).all(|&v| {
                if p.above {
                    v > p.threshold
                } else {
                    v < p.threshold
                }
            })
    }
}

impl Autoscale for StepScaling {
    fn name(&self) -> &'static str {
        "step-scaling"
    }

    fn sync_period(&self) -> SimDuration {
        SimDuration::from_secs(60)
    }

    fn recommend(&mut self, input: &ScaleInput<'_>) -> Recommendation {
        let (now, cur) = (input.now, input.spec_replicas);
        let (min, max) = (self.spec.min_replicas, self.spec.max_replicas);
        let rec = |replicas: u32, reason: &str| Recommendation {
            replicas,
            reason: reason.to_string(),
        };
        let Some(m) = current_value(&self.spec.metric, 0, input) else {
            return rec(cur.clamp(min, max), "insufficient data");
        };
        self.points.push_back(m);
        if self.points.len() > 60 {
            self.points.pop_front();
        }
        if let Some(p) = self.spec.scale_out.clone()
            && self.breached(&p)
            && let Some(adj) = p.step_for(m - p.threshold)
        {
            let want = p.apply(cur, adj).clamp(i64::from(min), i64::from(max)) as u32;
            if want > cur {
                if let Some((t, set)) = self.last_out
                    && now < t + p.cooldown
                    && want <= set
                {
                    return rec(cur, "scale-out cooldown");
                }
                self.last_out = Some((now, want));
                return rec(want, "high alarm step");
            }
        }
        if let Some(p) = self.spec.scale_in.clone()
            && self.breached(&p)
            && let Some(adj) = p.step_for(m - p.threshold)
        {
            let want = p.apply(cur, adj).clamp(i64::from(min), i64::from(max)) as u32;
            if want < cur {
                if self.last_in.is_some_and(|t| now < t + p.cooldown) {
                    return rec(cur, "scale-in cooldown");
                }
                self.last_in = Some(now);
                return rec(want, "low alarm step");
            }
        }
        rec(cur.clamp(min, max), "no alarm")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(kind: AdjustmentType) -> StepPolicy {
        // The AWS guide's example: threshold 50, steps [0, 10) +10%, [10, 20) +20%, [20, ∞) +30%.
        StepPolicy {
            threshold: 50.0,
            above: true,
            datapoints: 1,
            adjustment_type: kind,
            steps: vec![
                StepAdjustment {
                    lower: Some(0.0),
                    upper: Some(10.0),
                    adjustment: 10,
                },
                StepAdjustment {
                    lower: Some(10.0),
                    upper: Some(20.0),
                    adjustment: 20,
                },
                StepAdjustment {
                    lower: Some(20.0),
                    upper: None,
                    adjustment: 30,
                },
            ],
            min_adjustment_magnitude: None,
            cooldown: SimDuration::from_secs(300),
        }
    }

    #[test]
    fn steps_select_by_breach_with_aws_bounds() {
        let p = policy(AdjustmentType::PercentChangeInCapacity);
        // metric 60 → breach 10: lower bound inclusive → second step (+20%).
        assert_eq!(p.step_for(10.0), Some(20));
        // metric 59.9 → breach 9.9 → first step.
        assert_eq!(p.step_for(9.9), Some(10));
        assert_eq!(p.step_for(45.0), Some(30));
        assert_eq!(p.step_for(-1.0), None);
    }

    #[test]
    fn percent_changes_truncate_but_move_at_least_one() {
        let mut p = policy(AdjustmentType::PercentChangeInCapacity);
        // 10 replicas +20% = 2 → 12; +30% of 10 = 3 → 13.
        assert_eq!(p.apply(10, 20), 12);
        assert_eq!(p.apply(10, 30), 13);
        // 4 replicas +10% = 0.4 → at least 1 → 5; 25 replicas +10% = 2.5 → 2 → 27.
        assert_eq!(p.apply(4, 10), 5);
        assert_eq!(p.apply(25, 10), 27);
        // −10% of 25 = −2.5 → −2 → 23.
        assert_eq!(p.apply(25, -10), 23);
        // With MinAdjustmentMagnitude 3: +2.5 → 2 → raised to 3 → 28.
        p.min_adjustment_magnitude = Some(3);
        assert_eq!(p.apply(25, 10), 28);
        let c = policy(AdjustmentType::ChangeInCapacity);
        assert_eq!(c.apply(10, 20), 30);
        let e = policy(AdjustmentType::ExactCapacity);
        assert_eq!(e.apply(10, 20), 20);
    }
}
