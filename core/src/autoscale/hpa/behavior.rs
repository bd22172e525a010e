//! The controller's behaviour (upstream `horizontal.go`): stabilisation
//! windows over past recommendations and the scale-up and scale-down
//! policies that limit how fast the count changes.

use super::{Hpa, PolicyKind, ScalingRules, SelectPolicy};
use crate::time::{SimDuration, SimTime};

impl Hpa {
    /// upstream `stabilizeRecommendationWithBehaviors`.
    pub(super) fn stabilize(&mut self, now: SimTime, current: u32, desired: u32) -> u32 {
        // upstream compares t with now − window; t + window keeps it exact at the start of time.
        let (up_w, down_w) = (
            self.spec.scale_up.stabilization_window,
            self.spec.scale_down.stabilization_window,
        );
        let (mut up, mut down) = (desired, desired);
        let mut old = None;
        for (i, &(t, r)) in self.recommendations.iter().enumerate() {
            if t + up_w > now {
                up = up.min(r);
            }
            if t + down_w > now {
                down = down.max(r);
            }
            if t + up_w < now && t + down_w < now {
                old = Some(i);
            }
        }
        let recommendation = current.max(up).min(down);
        match old {
            Some(i) => self.recommendations[i] = (now, desired),
            None => self.recommendations.push((now, desired)),
        }
        recommendation
    }

    /// upstream `getReplicasChangePerPeriod`.
    fn change_in_period(events: &[(SimTime, u32)], now: SimTime, period: SimDuration) -> i64 {
        // e.0 > now − period, kept exact at the start of time.
        events
            .iter()
            .filter(|e| e.0 + period > now)
            .map(|e| i64::from(e.1))
            .sum()
    }

    /// upstream `calculateScaleUpLimitWithScalingRules`.
    fn scale_up_limit(&self, now: SimTime, current: u32) -> i64 {
        let rules = &self.spec.scale_up;
        let (mut result, pick): (i64, fn(i64, i64) -> i64) = match rules.select {
            SelectPolicy::Disabled => return i64::from(current),
            SelectPolicy::Min => (i64::from(i32::MAX), i64::min),
            SelectPolicy::Max => (i64::from(i32::MIN), i64::max),
        };
        for p in &rules.policies {
            let start = i64::from(current) - Self::change_in_period(&self.up_events, now, p.period)
                + Self::change_in_period(&self.down_events, now, p.period);
            let proposed = match p.kind {
                PolicyKind::Pods => start + i64::from(p.value),
                // Rounded up, or a small count could never grow.
                PolicyKind::Percent => {
                    (start as f64 * (1.0 + f64::from(p.value) / 100.0)).ceil() as i64
                }
            };
            result = pick(result, proposed);
        }
        result
    }

    /// upstream `calculateScaleDownLimitWithBehaviors`.
    fn scale_down_limit(&self, now: SimTime, current: u32) -> i64 {
        let rules = &self.spec.scale_down;
        let (mut result, pick): (i64, fn(i64, i64) -> i64) = match rules.select {
            SelectPolicy::Disabled => return i64::from(current),
            SelectPolicy::Min => (i64::from(i32::MIN), i64::max),
            SelectPolicy::Max => (i64::from(i32::MAX), i64::min),
        };
        for p in &rules.policies {
            let start = i64::from(current) - Self::change_in_period(&self.up_events, now, p.period)
                + Self::change_in_period(&self.down_events, now, p.period);
            let proposed = match p.kind {
                PolicyKind::Pods => start - i64::from(p.value),
                // Truncated (float to int32 conversion).
                PolicyKind::Percent => (start as f64 * (1.0 - f64::from(p.value) / 100.0)) as i64,
            };
            result = pick(result, proposed);
        }
        result
    }

    /// upstream `convertDesiredReplicasWithBehaviorRate`.
    pub(super) fn rate_limit(
        &self,
        now: SimTime,
        current: u32,
        desired: u32,
    ) -> (u32, &'static str) {
        let (min, max) = (
            i64::from(self.spec.min_replicas),
            i64::from(self.spec.max_replicas),
        );
        let (c, d) = (i64::from(current), i64::from(desired));
        if d > c {
            let limit = self.scale_up_limit(now, current).max(c);
            let (allowed, why) = if max > limit {
                (limit, "ScaleUpLimit")
            } else {
                (max, "TooManyReplicas")
            };
            if d > allowed {
                return (allowed as u32, why);
            }
        } else if d < c {
            let limit = self.scale_down_limit(now, current).min(c);
            let (allowed, why) = if min < limit {
                (limit, "ScaleDownLimit")
            } else {
                (min, "TooFewReplicas")
            };
            if d < allowed {
                return (allowed as u32, why);
            }
        }
        (desired, "DesiredWithinRange")
    }

    /// Records a rescale (upstream `storeScaleEvent`), dropping events older
    /// than the longest policy period.
    pub(super) fn store_event(&mut self, now: SimTime, from: u32, to: u32) {
        let longest = |r: &ScalingRules| r.policies.iter().map(|p| p.period).max();
        if to > from {
            let keep = longest(&self.spec.scale_up).unwrap_or_default();
            self.up_events.retain(|e| e.0 + keep >= now);
            self.up_events.push((now, to - from));
        } else if to < from {
            let keep = longest(&self.spec.scale_down).unwrap_or_default();
            self.down_events.retain(|e| e.0 + keep >= now);
            self.down_events.push((now, from - to));
        }
    }
}
