//! Kubernetes' Horizontal Pod Autoscaler (autoscaling/v2), exactly.
//!
//! Key decision: this is a transcription of upstream's replica calculator
//! and controller (`pkg/controller/podautoscaler/replica_calculator.go`,
//! `horizontal.go`, defaults in `pkg/apis/autoscaling/v2/defaults.go`), with
//! upstream's integer and float operations in upstream's order, so a spec
//! copied from a cluster recommends what that cluster's HPA would:
//! utilisation is an integer percent of requests, ratios within the
//! tolerance (0.1) keep the current count, missing and not-yet-ready
//! replicas are filled in pessimistically before scaling, behaviour policies
//! limit the rate (Percent up rounds up, Percent down truncates), and the
//! stabilisation windows (0 s up, 300 s down) smooth recommendations.

use super::{Autoscale, PodPhase, PodSample, Recommendation, ScaleInput};
use crate::time::{SimDuration, SimTime};

/// Which resource a `Resource` metric reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceMetric {
    /// CPU usage (millicores).
    Cpu,
    /// Memory working set (bytes).
    Memory,
}

impl ResourceMetric {
    /// The Kubernetes name.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceMetric::Cpu => "cpu",
            ResourceMetric::Memory => "memory",
        }
    }
}

/// Where a metric comes from (`MetricSpec.type`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetricSource {
    /// `Resource`: per-pod usage of a resource.
    Resource(ResourceMetric),
    /// `Pods`: a per-pod custom metric, e.g. `requests_per_second`.
    Pods(String),
    /// `Object`: one value describing another object, e.g. an ingress's request rate.
    Object(String),
    /// `External`: one value from outside the cluster, e.g. a queue's length.
    External(String),
}

/// The target of a metric (`MetricTarget`), values in milli-units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricTarget {
    /// `averageUtilization`: percent of requests (Resource only).
    Utilization(i32),
    /// `averageValue`: per replica.
    AverageValue(i64),
    /// `value`: the whole (Object/External only).
    Value(i64),
}

/// One entry of `spec.metrics`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricSpec {
    /// Source.
    pub source: MetricSource,
    /// Target.
    pub target: MetricTarget,
}

/// `HPAScalingPolicyType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyKind {
    /// At most `value` replicas per period.
    Pods,
    /// At most `value` percent of the replicas at the period's start.
    Percent,
}

/// `HPAScalingPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScalingPolicy {
    /// Pods or Percent.
    pub kind: PolicyKind,
    /// Amount (> 0).
    pub value: i32,
    /// `periodSeconds` (1..=1800).
    pub period: SimDuration,
}

/// `selectPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectPolicy {
    /// The policy allowing the largest change (default).
    Max,
    /// The policy allowing the smallest change.
    Min,
    /// No scaling in this direction.
    Disabled,
}

/// `HPAScalingRules` for one direction.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingRules {
    /// `stabilizationWindowSeconds`.
    pub stabilization_window: SimDuration,
    /// `selectPolicy`.
    pub select: SelectPolicy,
    /// `policies`.
    pub policies: Vec<ScalingPolicy>,
    /// `tolerance` (Kubernetes 1.33 `HPAConfigurableTolerance`); `None` uses
    /// the controller's `--horizontal-pod-autoscaler-tolerance` (0.1).
    pub tolerance: Option<f64>,
}

impl ScalingRules {
    /// Upstream default for scale up: no stabilisation; the larger of +4
    /// pods or +100% per 15 s.
    pub fn default_up() -> ScalingRules {
        ScalingRules {
            stabilization_window: SimDuration::ZERO,
            select: SelectPolicy::Max,
            policies: vec![
                ScalingPolicy {
                    kind: PolicyKind::Pods,
                    value: 4,
                    period: SimDuration::from_secs(15),
                },
                ScalingPolicy {
                    kind: PolicyKind::Percent,
                    value: 100,
                    period: SimDuration::from_secs(15),
                },
            ],
            tolerance: None,
        }
    }

    /// Upstream default for scale down: 300 s stabilisation; −100% per 15 s.
    pub fn default_down() -> ScalingRules {
        ScalingRules {
            stabilization_window: SimDuration::from_secs(300),
            select: SelectPolicy::Max,
            policies: vec![ScalingPolicy {
                kind: PolicyKind::Percent,
                value: 100,
                period: SimDuration::from_secs(15),
            }],
            tolerance: None,
        }
    }
}

/// An HPA's spec: `minReplicas`, `maxReplicas`, `metrics`, `behavior`.
#[derive(Clone, Debug, PartialEq)]
pub struct HpaSpec {
    /// `minReplicas` (≥ 1).
    pub min_replicas: u32,
    /// `maxReplicas` (≥ min).
    pub max_replicas: u32,
    /// `metrics` (at least one).
    pub metrics: Vec<MetricSpec>,
    /// `behavior.scaleUp`.
    pub scale_up: ScalingRules,
    /// `behavior.scaleDown`.
    pub scale_down: ScalingRules,
}

/// The kube-controller-manager flags the HPA reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HpaConfig {
    /// `--horizontal-pod-autoscaler-sync-period` (15 s).
    pub sync_period: SimDuration,
    /// `--horizontal-pod-autoscaler-tolerance` (0.1).
    pub tolerance: f64,
    /// `--horizontal-pod-autoscaler-cpu-initialization-period` (5 min).
    pub cpu_initialization_period: SimDuration,
    /// `--horizontal-pod-autoscaler-initial-readiness-delay` (30 s).
    pub initial_readiness_delay: SimDuration,
}

impl Default for HpaConfig {
    fn default() -> HpaConfig {
        HpaConfig {
            sync_period: SimDuration::from_secs(15),
            tolerance: 0.1,
            cpu_initialization_period: SimDuration::from_secs(300),
            initial_readiness_delay: SimDuration::from_secs(30),
        }
    }
}

impl HpaSpec {
    /// Checks the spec as the API server's validation does; the error names the field.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let err = |f: &str, m: String| Err((f.to_string(), m));
        if self.min_replicas == 0 {
            return err(
                "minReplicas",
                "must be at least 1 (scale to zero needs the alpha HPAScaleToZero gate; use the knative autoscaler)".into(),
            );
        }
        if self.max_replicas < self.min_replicas {
            return err(
                "maxReplicas",
                format!(
                    "{} is below minReplicas {}",
                    self.max_replicas, self.min_replicas
                ),
            );
        }
        if self.metrics.is_empty() {
            return err("metrics", "needs at least one metric".into());
        }
        for (k, m) in self.metrics.iter().enumerate() {
            let ok = match (&m.source, m.target) {
                (MetricSource::Resource(_), MetricTarget::Utilization(u)) => u > 0,
                (_, MetricTarget::Utilization(_)) => {
                    return err(
                        &format!("metrics[{k}].target"),
                        "averageUtilization applies to Resource metrics only".into(),
                    );
                }
                (MetricSource::Resource(_) | MetricSource::Pods(_), MetricTarget::Value(_)) => {
                    return err(
                        &format!("metrics[{k}].target"),
                        "value applies to Object and External metrics only; use averageValue"
                            .into(),
                    );
                }
                (_, MetricTarget::AverageValue(v) | MetricTarget::Value(v)) => v > 0,
            };
            if !ok {
                return err(
                    &format!("metrics[{k}].target"),
                    "must be greater than 0".into(),
                );
            }
        }
        for (dir, rules) in [("scaleUp", &self.scale_up), ("scaleDown", &self.scale_down)] {
            if rules.stabilization_window > SimDuration::from_secs(3600) {
                return err(
                    &format!("behavior.{dir}.stabilizationWindowSeconds"),
                    "must be at most 3600".into(),
                );
            }
            if rules.policies.is_empty() && rules.select != SelectPolicy::Disabled {
                return err(
                    &format!("behavior.{dir}.policies"),
                    "needs at least one policy".into(),
                );
            }
            for (k, p) in rules.policies.iter().enumerate() {
                if p.value <= 0 {
                    return err(
                        &format!("behavior.{dir}.policies[{k}].value"),
                        "must be greater than 0".into(),
                    );
                }
                if p.period == SimDuration::ZERO || p.period > SimDuration::from_secs(1800) {
                    return err(
                        &format!("behavior.{dir}.policies[{k}].periodSeconds"),
                        "must be between 1 and 1800".into(),
                    );
                }
            }
            if let Some(t) = rules.tolerance
                && !(0.0..1.0).contains(&t)
            {
                return err(
                    &format!("behavior.{dir}.tolerance"),
                    "must be at least 0 and below 1".into(),
                );
            }
        }
        Ok(())
    }
}

/// The ratio band within which nothing changes: `1 − down ≤ ratio ≤ 1 + up`.
#[derive(Clone, Copy, Debug)]
struct Tolerances {
    down: f64,
    up: f64,
}

impl Tolerances {
    fn is_within(self, ratio: f64) -> bool {
        (1.0 - self.down) <= ratio && ratio <= (1.0 + self.up)
    }
}

/// Why a metric gave no proposal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricError(pub String);

/// upstream `groupPods`: (ready count, unready, missing, ignored) as index lists.
struct Groups {
    ready: usize,
    unready: Vec<usize>,
    missing: Vec<usize>,
    ignored: Vec<usize>,
}

fn group_pods(
    pods: &[PodSample],
    k: usize,
    cpu: bool,
    now: SimTime,
    window: SimDuration,
    config: &HpaConfig,
) -> Groups {
    let mut g = Groups {
        ready: 0,
        unready: vec![],
        missing: vec![],
        ignored: vec![],
    };
    for (i, p) in pods.iter().enumerate() {
        if matches!(p.phase, PodPhase::Deleting | PodPhase::Failed) {
            g.ignored.push(i);
            continue;
        }
        if p.phase == PodPhase::Pending {
            g.unready.push(i);
            continue;
        }
        if p.values.get(k).copied().flatten().is_none() {
            g.missing.push(i);
            continue;
        }
        if cpu {
            let unready = match (p.ready, p.start_time) {
                (Some((ready, transition)), Some(start)) => {
                    if start + config.cpu_initialization_period > now {
                        // Within the initialisation period: ignore the sample if the pod is
                        // unready or no full metric window was collected since it became ready.
                        !ready || p.metric_time < transition + window
                    } else {
                        // Ignore the metric only if the pod is unready and has never been ready.
                        !ready && start + config.initial_readiness_delay > transition
                    }
                }
                _ => true,
            };
            if unready {
                g.unready.push(i);
                continue;
            }
        }
        g.ready += 1;
    }
    g
}

/// The per-pod metric values (index, value) of pods not ignored or unready.
fn usable(pods: &[PodSample], k: usize, g: &Groups) -> Vec<(usize, i64)> {
    pods.iter()
        .enumerate()
        .filter(|(i, _)| !g.ignored.contains(i) && !g.unready.contains(i))
        .filter_map(|(i, p)| p.values.get(k).copied().flatten().map(|v| (i, v)))
        .collect()
}

/// upstream `GetResourceUtilizationRatio`: `(ratio, utilisation %)` with
/// utilisation = Σusage·100 / Σrequests in integers.
fn utilization_ratio(
    metrics: &[(usize, i64)],
    pods: &[PodSample],
    k: usize,
    target: i32,
) -> Result<(f64, i64), MetricError> {
    let (mut used, mut requested) = (0i64, 0i64);
    for &(i, v) in metrics {
        let r = pods[i].requests.get(k).copied().unwrap_or(0);
        if r <= 0 {
            continue;
        }
        used += v;
        requested += r;
    }
    if requested == 0 {
        return Err(MetricError("no metrics returned matched known pods".into()));
    }
    let utilization = used * 100 / requested;
    Ok((utilization as f64 / f64::from(target), utilization))
}

/// upstream `GetMetricUsageRatio`: the integer mean over pods against the target.
fn usage_ratio(metrics: &[(usize, i64)], target: i64) -> (f64, i64) {
    let total: i64 = metrics.iter().map(|m| m.1).sum();
    let usage = total / metrics.len() as i64;
    (usage as f64 / target as f64, usage)
}

/// Usage ratio of `(pod, value)` samples against the target.
type RatioFn<'a> = dyn Fn(&[(usize, i64)]) -> Result<f64, MetricError> + 'a;

/// The part shared by utilisation and plain per-pod metrics (upstream
/// `GetResourceReplicas` / `calcPlainMetricReplicas`): `fill(ratio < 1)` is
/// the value assumed for pods with missing metrics.
#[allow(clippy::too_many_arguments)]
fn per_pod_replicas(
    current: u32,
    pods: &[PodSample],
    k: usize,
    cpu: bool,
    input_now: SimTime,
    window: SimDuration,
    config: &HpaConfig,
    tol: Tolerances,
    ratio_of: &RatioFn<'_>,
    fill: &dyn Fn(usize, bool) -> i64,
) -> Result<u32, MetricError> {
    let g = group_pods(pods, k, cpu, input_now, window, config);
    let mut metrics = usable(pods, k, &g);
    if metrics.is_empty() {
        return Err(MetricError(
            "did not receive metrics for targeted pods".into(),
        ));
    }
    let ratio = ratio_of(&metrics)?;
    let scale_up_with_unready = !g.unready.is_empty() && ratio > 1.0;
    if !scale_up_with_unready && g.missing.is_empty() {
        if tol.is_within(ratio) {
            return Ok(current);
        }
        return Ok((ratio * g.ready as f64).ceil() as u32);
    }
    // Assume missing pods use 100% of target when scaling down, 0 when
    // scaling up, and unready pods 0 when scaling up.
    for &i in &g.missing {
        metrics.push((i, if ratio < 1.0 { fill(i, true) } else { 0 }));
    }
    if scale_up_with_unready {
        for &i in &g.unready {
            metrics.push((i, 0));
        }
    }
    let new_ratio = ratio_of(&metrics)?;
    if tol.is_within(new_ratio)
        || (ratio < 1.0 && new_ratio > 1.0)
        || (ratio > 1.0 && new_ratio < 1.0)
    {
        // The fill-in would reverse the direction: do nothing.
        return Ok(current);
    }
    let new = (new_ratio * metrics.len() as f64).ceil() as u32;
    if (new_ratio < 1.0 && new > current) || (new_ratio > 1.0 && new < current) {
        return Ok(current);
    }
    Ok(new)
}

/// The Horizontal Pod Autoscaler controller for one target.
#[derive(Clone, Debug)]
pub struct Hpa {
    spec: HpaSpec,
    config: HpaConfig,
    /// Unstabilised recommendations `(time, replicas)`.
    recommendations: Vec<(SimTime, u32)>,
    /// Scale events `(time, change)`.
    up_events: Vec<(SimTime, u32)>,
    down_events: Vec<(SimTime, u32)>,
}

impl Hpa {
    /// An HPA with the controller's default flags.
    pub fn new(spec: HpaSpec) -> Hpa {
        Hpa::with_config(spec, HpaConfig::default())
    }

    /// An HPA with explicit controller flags.
    pub fn with_config(spec: HpaSpec, config: HpaConfig) -> Hpa {
        Hpa {
            spec,
            config,
            recommendations: Vec::new(),
            up_events: Vec::new(),
            down_events: Vec::new(),
        }
    }

    /// The spec.
    pub fn spec(&self) -> &HpaSpec {
        &self.spec
    }

    fn tolerances(&self) -> Tolerances {
        Tolerances {
            down: self
                .spec
                .scale_down
                .tolerance
                .unwrap_or(self.config.tolerance),
            up: self
                .spec
                .scale_up
                .tolerance
                .unwrap_or(self.config.tolerance),
        }
    }

    /// One metric's proposal (upstream `computeReplicasForMetric`).
    pub fn metric_replicas(&self, k: usize, input: &ScaleInput<'_>) -> Result<u32, MetricError> {
        let m = &self.spec.metrics[k];
        let current = input.spec_replicas;
        let tol = self.tolerances();
        let (now, window, config) = (input.now, input.metric_window, &self.config);
        let pods = input.pods;
        match (&m.source, m.target) {
            (MetricSource::Resource(r), MetricTarget::Utilization(target)) => {
                let cpu = *r == ResourceMetric::Cpu;
                if pods
                    .iter()
                    .any(|p| p.requests.get(k).copied().unwrap_or(0) <= 0)
                {
                    return Err(MetricError(format!("missing request for {}", r.as_str())));
                }
                per_pod_replicas(
                    current,
                    pods,
                    k,
                    cpu,
                    now,
                    window,
                    config,
                    tol,
                    &|ms| utilization_ratio(ms, pods, k, target).map(|x| x.0),
                    &|i, _| pods[i].requests[k],
                )
            }
            (
                MetricSource::Resource(_) | MetricSource::Pods(_),
                MetricTarget::AverageValue(target),
            ) => {
                let cpu = m.source == MetricSource::Resource(ResourceMetric::Cpu);
                per_pod_replicas(
                    current,
                    pods,
                    k,
                    cpu,
                    now,
                    window,
                    config,
                    tol,
                    &|ms| Ok(usage_ratio(ms, target).0),
                    &|_, _| target,
                )
            }
            (MetricSource::Object(_) | MetricSource::External(_), MetricTarget::Value(target)) => {
                let usage = input
                    .values
                    .get(k)
                    .copied()
                    .flatten()
                    .ok_or_else(|| MetricError("unable to get metric: no value".into()))?;
                let ratio = usage as f64 / target as f64;
                // upstream getUsageRatioReplicaCount
                if current == 0 {
                    return Ok(ratio.ceil() as u32);
                }
                if tol.is_within(ratio) {
                    return Ok(current);
                }
                let ready = pods
                    .iter()
                    .filter(|p| p.phase == PodPhase::Running && p.ready.is_some_and(|r| r.0))
                    .count();
                Ok((ratio * ready as f64).ceil() as u32)
            }
            (
                MetricSource::Object(_) | MetricSource::External(_),
                MetricTarget::AverageValue(target),
            ) => {
                let usage = input
                    .values
                    .get(k)
                    .copied()
                    .flatten()
                    .ok_or_else(|| MetricError("unable to get metric: no value".into()))?;
                // upstream GetObjectPerPodMetricReplicas: status replicas = active pods.
                let status = pods
                    .iter()
                    .filter(|p| matches!(p.phase, PodPhase::Pending | PodPhase::Running))
                    .count() as f64;
                let ratio = usage as f64 / (target as f64 * status);
                if tol.is_within(ratio) {
                    Ok(status as u32)
                } else {
                    Ok((usage as f64 / target as f64).ceil() as u32)
                }
            }
            _ => Err(MetricError("invalid metric target".into())),
        }
    }

    /// upstream `computeReplicasForMetrics`: the largest proposal; no
    /// scaling when every metric failed, or when some failed and the rest
    /// would scale down.
    fn replicas_for_metrics(&self, input: &ScaleInput<'_>) -> Result<(u32, String), String> {
        let (mut best, mut reason, mut invalid, mut last_err) = (0u32, String::new(), 0, None);
        for k in 0..self.spec.metrics.len() {
            match self.metric_replicas(k, input) {
                Ok(r) => {
                    if r > best || reason.is_empty() {
                        best = best.max(r);
                        reason = describe(&self.spec.metrics[k]);
                    }
                }
                Err(e) => {
                    invalid += 1;
                    last_err = Some(e.0);
                }
            }
        }
        if invalid >= self.spec.metrics.len() || (invalid > 0 && best < input.spec_replicas) {
            return Err(last_err.unwrap_or_default());
        }
        Ok((best, reason))
    }

    /// upstream `stabilizeRecommendationWithBehaviors`.
    fn stabilize(&mut self, now: SimTime, current: u32, desired: u32) -> u32 {
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
    fn rate_limit(&self, now: SimTime, current: u32, desired: u32) -> (u32, &'static str) {
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
    fn store_event(&mut self, now: SimTime, from: u32, to: u32) {
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

fn describe(m: &MetricSpec) -> String {
    match &m.source {
        MetricSource::Resource(r) => match m.target {
            MetricTarget::Utilization(_) => {
                format!(
                    "{} resource utilization (percentage of request)",
                    r.as_str()
                )
            }
            _ => format!("{} resource", r.as_str()),
        },
        MetricSource::Pods(n) => format!("pods metric {n}"),
        MetricSource::Object(n) => format!("object metric {n}"),
        MetricSource::External(n) => format!("external metric {n}"),
    }
}

impl Autoscale for Hpa {
    fn name(&self) -> &'static str {
        "hpa"
    }

    fn sync_period(&self) -> SimDuration {
        self.config.sync_period
    }

    /// upstream `reconcileAutoscaler` for one sync.
    fn recommend(&mut self, input: &ScaleInput<'_>) -> Recommendation {
        let (now, current) = (input.now, input.spec_replicas);
        let (desired, reason) = if current == 0 {
            (
                0,
                "scaling is disabled since the replica count of the target is zero".to_string(),
            )
        } else if current > self.spec.max_replicas {
            (
                self.spec.max_replicas,
                "current number of replicas above maxReplicas".to_string(),
            )
        } else if current < self.spec.min_replicas {
            (
                self.spec.min_replicas,
                "current number of replicas below minReplicas".to_string(),
            )
        } else {
            match self.replicas_for_metrics(input) {
                Err(e) => (current, format!("failed to compute desired replicas: {e}")),
                Ok((proposal, metric)) => {
                    let stabilized = self.stabilize(now, current, proposal);
                    let (d, limit) = self.rate_limit(now, current, stabilized);
                    let dir = match proposal.cmp(&current) {
                        std::cmp::Ordering::Greater => "above target",
                        std::cmp::Ordering::Less => "below target",
                        std::cmp::Ordering::Equal => "within tolerance",
                    };
                    (
                        d,
                        format!(
                            "{metric} {dir}; proposal {proposal}, stabilized {stabilized}, {limit}"
                        ),
                    )
                }
            }
        };
        if desired != current {
            self.store_event(now, current, desired);
        }
        Recommendation {
            replicas: desired,
            reason,
        }
    }
}

#[cfg(test)]
mod tests;
