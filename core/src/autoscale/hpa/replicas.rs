//! The replica calculator (upstream
//! `pkg/controller/podautoscaler/replica_calculator.go`, with the ratios of
//! `pkg/controller/podautoscaler/metrics/utilization.go`): one metric's
//! proposed replica count from the pods' samples, with unready and missing
//! pods filled in pessimistically and ratios within the tolerance keeping
//! the current count.
//!
//! A pod's samples are a [`PodSample`]; metric `k` of the spec is its
//! `values[k]` (`None` is a pod the metrics API returned nothing for) and
//! `requests[k]` (a request of 0 is taken as "no request": the model does
//! not tell an absent request from an explicit zero here). Upstream's
//! metric map keyed by pod name can also hold samples for pods outside the
//! selector; a per-pod sample list cannot, so those cases do not arise.

use super::{HpaConfig, MetricSource, MetricTarget, ResourceMetric};
use crate::autoscale::{PodPhase, PodSample, ScaleInput};
use crate::time::{SimDuration, SimTime};

/// upstream `Tolerances`: the ratio band within which nothing changes,
/// `1 − scale_down ≤ ratio ≤ 1 + scale_up`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerances {
    /// `scaleDown`.
    pub scale_down: f64,
    /// `scaleUp`.
    pub scale_up: f64,
}

impl Tolerances {
    /// Both directions at `t` (the `--horizontal-pod-autoscaler-tolerance` flag).
    pub fn both(t: f64) -> Tolerances {
        Tolerances {
            scale_down: t,
            scale_up: t,
        }
    }

    /// upstream `isWithin` (inclusive at both ends).
    pub fn is_within(self, usage_ratio: f64) -> bool {
        (1.0 - self.scale_down) <= usage_ratio && usage_ratio <= (1.0 + self.scale_up)
    }
}

/// Why a metric gave no proposal (upstream's error text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricError(pub String);

/// One metric's proposal with what the calculator measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricReplicas {
    /// The proposed replica count.
    pub replicas: u32,
    /// For a Utilization target: the current utilization, integer percent
    /// of requests over the pods counted before any fill-in.
    pub utilization: Option<i32>,
    /// The value upstream reports with it, in milli-units: for Utilization
    /// the raw per-pod average usage (`rawUtilization`); for AverageValue
    /// targets the per-pod average (`usage`, for Object/External
    /// `⌈value / statusReplicas⌉`); for Value targets the value itself.
    pub usage: i64,
}

/// upstream `groupPods`' result: indices into the pod list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodGroups {
    /// `readyPodCount`.
    pub ready_pod_count: usize,
    /// `unreadyPods`: Pending, or (CPU only) not ready / not initialised.
    pub unready_pods: Vec<usize>,
    /// `missingPods`: running without a sample.
    pub missing_pods: Vec<usize>,
    /// `ignoredPods`: being deleted or Failed.
    pub ignored_pods: Vec<usize>,
}

/// upstream `groupPods` for metric `k`: `cpu` is `resource == cpu` (only
/// CPU samples are subject to readiness); a pod is unready for CPU if it
/// has no Ready condition or start time, or, within
/// `cpu_initialization_period` of its start, is not ready or has no full
/// `metric_window` of samples since its last readiness transition, or,
/// after it, is not ready and has never been ready (its transition lies
/// within `delay_of_initial_readiness_status` of its start).
pub fn group_pods(
    pods: &[PodSample],
    k: usize,
    cpu: bool,
    now: SimTime,
    metric_window: SimDuration,
    cpu_initialization_period: SimDuration,
    delay_of_initial_readiness_status: SimDuration,
) -> PodGroups {
    let mut g = PodGroups::default();
    for (i, p) in pods.iter().enumerate() {
        if matches!(p.phase, PodPhase::Deleting | PodPhase::Failed) {
            g.ignored_pods.push(i);
            continue;
        }
        if p.phase == PodPhase::Pending {
            g.unready_pods.push(i);
            continue;
        }
        if sample(p, k).is_none() {
            g.missing_pods.push(i);
            continue;
        }
        if cpu {
            let unready = match (p.ready, p.start_time) {
                (Some((ready, transition)), Some(start)) => {
                    if start + cpu_initialization_period > now {
                        !ready || p.metric_time < transition + metric_window
                    } else {
                        !ready && start + delay_of_initial_readiness_status > transition
                    }
                }
                _ => true,
            };
            if unready {
                g.unready_pods.push(i);
                continue;
            }
        }
        g.ready_pod_count += 1;
    }
    g
}

fn sample(p: &PodSample, k: usize) -> Option<i64> {
    p.values.get(k).copied().flatten()
}

/// upstream `GetResourceUtilizationRatio` (`metrics/utilization.go`): over
/// the `(pod, usage)` samples, `(utilization / target, utilization, raw
/// average)` with utilization = Σusage·100 / Σrequests in integers.
pub fn get_resource_utilization_ratio(
    metrics: &[(usize, i64)],
    requests: &[i64],
    target_utilization: i32,
) -> Result<(f64, i32, i64), MetricError> {
    let (mut used, mut requested, mut n) = (0i64, 0i64, 0i64);
    for &(i, v) in metrics {
        let Some(&r) = requests.get(i) else { continue };
        used += v;
        requested += r;
        n += 1;
    }
    if requested == 0 {
        return Err(MetricError("no metrics returned matched known pods".into()));
    }
    let utilization = (used * 100 / requested) as i32;
    Ok((
        f64::from(utilization) / f64::from(target_utilization),
        utilization,
        used / n,
    ))
}

/// upstream `GetMetricUsageRatio` (`metrics/utilization.go`): the integer
/// mean of the samples against the target, `(ratio, mean)`.
pub fn get_metric_usage_ratio(metrics: &[(usize, i64)], target_usage: i64) -> (f64, i64) {
    let total: i64 = metrics.iter().map(|m| m.1).sum();
    let usage = total / metrics.len() as i64;
    (usage as f64 / target_usage as f64, usage)
}

/// upstream `ReplicaCalculator`: the two controller flags it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplicaCalculator {
    /// `--horizontal-pod-autoscaler-cpu-initialization-period`.
    pub cpu_initialization_period: SimDuration,
    /// `--horizontal-pod-autoscaler-initial-readiness-delay`.
    pub delay_of_initial_readiness_status: SimDuration,
}

/// Whether a (pod, usage) sample list lost its direction after the fill-in,
/// the check upstream applies twice.
fn reverses(usage_ratio: f64, new_usage_ratio: f64) -> bool {
    (usage_ratio < 1.0 && new_usage_ratio > 1.0) || (usage_ratio > 1.0 && new_usage_ratio < 1.0)
}

impl ReplicaCalculator {
    /// The calculator of a controller with flags `config`.
    pub fn new(config: &HpaConfig) -> ReplicaCalculator {
        ReplicaCalculator {
            cpu_initialization_period: config.cpu_initialization_period,
            delay_of_initial_readiness_status: config.initial_readiness_delay,
        }
    }

    fn groups(&self, input: &ScaleInput<'_>, k: usize, cpu: bool) -> PodGroups {
        group_pods(
            input.pods,
            k,
            cpu,
            input.now,
            input.metric_window,
            self.cpu_initialization_period,
            self.delay_of_initial_readiness_status,
        )
    }

    /// The samples of pods neither ignored nor unready (upstream
    /// `removeMetricsForPods` of both groups).
    fn usable(input: &ScaleInput<'_>, k: usize, g: &PodGroups) -> Vec<(usize, i64)> {
        input
            .pods
            .iter()
            .enumerate()
            .filter(|(i, _)| !g.ignored_pods.contains(i) && !g.unready_pods.contains(i))
            .filter_map(|(i, p)| sample(p, k).map(|v| (i, v)))
            .collect()
    }

    /// upstream `GetResourceReplicas`: a Utilization target of `resource`.
    pub fn get_resource_replicas(
        &self,
        current_replicas: u32,
        target_utilization: i32,
        resource: ResourceMetric,
        tolerances: Tolerances,
        input: &ScaleInput<'_>,
        k: usize,
    ) -> Result<MetricReplicas, MetricError> {
        let pods = input.pods;
        if !pods.iter().any(|p| sample(p, k).is_some()) {
            return Err(MetricError(format!(
                "unable to get metrics for resource {}: no metrics returned from resource metrics API",
                resource.as_str()
            )));
        }
        let g = self.groups(input, k, resource == ResourceMetric::Cpu);
        let mut metrics = Self::usable(input, k, &g);
        if metrics.is_empty() {
            return Err(MetricError(
                "did not receive metrics for targeted pods (pods might be unready)".into(),
            ));
        }
        // upstream calculateRequests: every listed pod needs a request.
        let requests: Vec<i64> = pods
            .iter()
            .map(|p| p.requests.get(k).copied().unwrap_or(0))
            .collect();
        if requests.iter().any(|&r| r <= 0) {
            return Err(MetricError(format!(
                "missing request for {}",
                resource.as_str()
            )));
        }
        let (usage_ratio, utilization, raw) =
            get_resource_utilization_ratio(&metrics, &requests, target_utilization)?;
        let out = |replicas: u32| MetricReplicas {
            replicas,
            utilization: Some(utilization),
            usage: raw,
        };
        let scale_up_with_unready = !g.unready_pods.is_empty() && usage_ratio > 1.0;
        if !scale_up_with_unready && g.missing_pods.is_empty() {
            if tolerances.is_within(usage_ratio) {
                return Ok(out(current_replicas));
            }
            return Ok(out((usage_ratio * g.ready_pod_count as f64).ceil() as u32));
        }
        if !g.missing_pods.is_empty() {
            if usage_ratio < 1.0 {
                // 100% of the request, or the target when it is above 100%.
                let fallback = i64::from(target_utilization.max(100));
                for &i in &g.missing_pods {
                    metrics.push((i, requests[i] * fallback / 100));
                }
            } else if usage_ratio > 1.0 {
                for &i in &g.missing_pods {
                    metrics.push((i, 0));
                }
            }
        }
        if scale_up_with_unready {
            for &i in &g.unready_pods {
                metrics.push((i, 0));
            }
        }
        let (new_usage_ratio, _, _) =
            get_resource_utilization_ratio(&metrics, &requests, target_utilization)?;
        Ok(out(Self::rebalanced(
            current_replicas,
            usage_ratio,
            new_usage_ratio,
            metrics.len(),
            tolerances,
        )))
    }

    /// The end of both per-pod calculations after the fill-in.
    fn rebalanced(
        current: u32,
        usage_ratio: f64,
        new_usage_ratio: f64,
        n: usize,
        tolerances: Tolerances,
    ) -> u32 {
        if tolerances.is_within(new_usage_ratio) || reverses(usage_ratio, new_usage_ratio) {
            return current;
        }
        let new = (new_usage_ratio * n as f64).ceil() as u32;
        if (new_usage_ratio < 1.0 && new > current) || (new_usage_ratio > 1.0 && new < current) {
            return current;
        }
        new
    }

    /// upstream `GetRawResourceReplicas`: an AverageValue target of `resource`.
    pub fn get_raw_resource_replicas(
        &self,
        current_replicas: u32,
        target_usage: i64,
        resource: ResourceMetric,
        tolerances: Tolerances,
        input: &ScaleInput<'_>,
        k: usize,
    ) -> Result<MetricReplicas, MetricError> {
        if !input.pods.iter().any(|p| sample(p, k).is_some()) {
            return Err(MetricError(format!(
                "unable to get metrics for resource {}: no metrics returned from resource metrics API",
                resource.as_str()
            )));
        }
        self.calc_plain_metric_replicas(
            current_replicas,
            target_usage,
            tolerances,
            input,
            k,
            resource == ResourceMetric::Cpu,
        )
    }

    /// upstream `GetMetricReplicas`: a Pods metric's AverageValue target.
    pub fn get_metric_replicas(
        &self,
        current_replicas: u32,
        target_usage: i64,
        metric_name: &str,
        tolerances: Tolerances,
        input: &ScaleInput<'_>,
        k: usize,
    ) -> Result<MetricReplicas, MetricError> {
        if !input.pods.iter().any(|p| sample(p, k).is_some()) {
            return Err(MetricError(format!(
                "unable to get metric {metric_name}: no metrics returned from custom metrics API"
            )));
        }
        self.calc_plain_metric_replicas(current_replicas, target_usage, tolerances, input, k, false)
    }

    /// upstream `calcPlainMetricReplicas`: a per-pod mean against a target,
    /// missing pods counted at the target on a scale-down.
    fn calc_plain_metric_replicas(
        &self,
        current_replicas: u32,
        target_usage: i64,
        tolerances: Tolerances,
        input: &ScaleInput<'_>,
        k: usize,
        cpu: bool,
    ) -> Result<MetricReplicas, MetricError> {
        if input.pods.is_empty() {
            return Err(MetricError(
                "no pods returned by selector while calculating replica count".into(),
            ));
        }
        let g = self.groups(input, k, cpu);
        let mut metrics = Self::usable(input, k, &g);
        if metrics.is_empty() {
            return Err(MetricError(
                "did not receive metrics for targeted pods (pods might be unready)".into(),
            ));
        }
        let (usage_ratio, usage) = get_metric_usage_ratio(&metrics, target_usage);
        let out = |replicas: u32| MetricReplicas {
            replicas,
            utilization: None,
            usage,
        };
        let scale_up_with_unready = !g.unready_pods.is_empty() && usage_ratio > 1.0;
        if !scale_up_with_unready && g.missing_pods.is_empty() {
            if tolerances.is_within(usage_ratio) {
                return Ok(out(current_replicas));
            }
            return Ok(out((usage_ratio * g.ready_pod_count as f64).ceil() as u32));
        }
        if !g.missing_pods.is_empty() {
            if usage_ratio < 1.0 {
                for &i in &g.missing_pods {
                    metrics.push((i, target_usage));
                }
            } else if usage_ratio > 1.0 {
                for &i in &g.missing_pods {
                    metrics.push((i, 0));
                }
            }
        }
        if scale_up_with_unready {
            for &i in &g.unready_pods {
                metrics.push((i, 0));
            }
        }
        let (new_usage_ratio, _) = get_metric_usage_ratio(&metrics, target_usage);
        Ok(out(Self::rebalanced(
            current_replicas,
            usage_ratio,
            new_usage_ratio,
            metrics.len(),
            tolerances,
        )))
    }

    /// The Object/External value of metric `k`, or upstream's error.
    fn value(input: &ScaleInput<'_>, k: usize, metric_name: &str) -> Result<i64, MetricError> {
        input
            .values
            .get(k)
            .copied()
            .flatten()
            .ok_or_else(|| MetricError(format!("unable to get metric {metric_name}: no value")))
    }

    /// upstream `GetObjectMetricReplicas` and `GetExternalMetricReplicas`
    /// (one series, so the sum is the value): a Value target.
    pub fn get_object_metric_replicas(
        &self,
        current_replicas: u32,
        target_usage: i64,
        metric_name: &str,
        tolerances: Tolerances,
        input: &ScaleInput<'_>,
        k: usize,
    ) -> Result<MetricReplicas, MetricError> {
        let usage = Self::value(input, k, metric_name)?;
        let usage_ratio = usage as f64 / target_usage as f64;
        let replicas =
            Self::get_usage_ratio_replica_count(current_replicas, usage_ratio, tolerances, input)?;
        Ok(MetricReplicas {
            replicas,
            utilization: None,
            usage,
        })
    }

    /// upstream `getUsageRatioReplicaCount`: ready pods × ratio, or ⌈ratio⌉
    /// from zero replicas.
    fn get_usage_ratio_replica_count(
        current_replicas: u32,
        usage_ratio: f64,
        tolerances: Tolerances,
        input: &ScaleInput<'_>,
    ) -> Result<u32, MetricError> {
        if current_replicas == 0 {
            return Ok(usage_ratio.ceil() as u32);
        }
        if tolerances.is_within(usage_ratio) {
            return Ok(current_replicas);
        }
        if input.pods.is_empty() {
            return Err(MetricError(
                "unable to calculate ready pods: no pods returned by selector while calculating replica count"
                    .into(),
            ));
        }
        let ready = input
            .pods
            .iter()
            .filter(|p| p.phase == PodPhase::Running && p.ready.is_some_and(|r| r.0))
            .count();
        let count = usage_ratio * ready as f64;
        Ok(if count > f64::from(i32::MAX) {
            i32::MAX as u32
        } else {
            count.ceil() as u32
        })
    }

    /// upstream `GetObjectPerPodMetricReplicas` and
    /// `GetExternalPerPodMetricReplicas`: an AverageValue target of an
    /// Object/External value, against `status_replicas`.
    pub fn get_object_per_pod_metric_replicas(
        &self,
        status_replicas: u32,
        target_average_usage: i64,
        metric_name: &str,
        tolerances: Tolerances,
        input: &ScaleInput<'_>,
        k: usize,
    ) -> Result<MetricReplicas, MetricError> {
        let usage = Self::value(input, k, metric_name)?;
        let mut replicas = status_replicas;
        let usage_ratio = usage as f64 / (target_average_usage as f64 * f64::from(status_replicas));
        if !tolerances.is_within(usage_ratio) {
            let r = (usage as f64 / target_average_usage as f64).ceil();
            replicas = if r > f64::from(i32::MAX) {
                i32::MAX as u32
            } else {
                r as u32
            };
        }
        Ok(MetricReplicas {
            replicas,
            utilization: None,
            usage: (usage as f64 / f64::from(status_replicas)).ceil() as i64,
        })
    }

    /// One metric of a spec (upstream `computeReplicasForMetric`'s dispatch):
    /// `spec_replicas` for every kind but the per-pod Object/External ones,
    /// which read `status.replicas` (the pods neither terminating nor failed).
    pub fn compute(
        &self,
        metric: &super::MetricSpec,
        k: usize,
        input: &ScaleInput<'_>,
        tolerances: Tolerances,
    ) -> Result<MetricReplicas, MetricError> {
        let current = input.spec_replicas;
        match (&metric.source, metric.target) {
            (MetricSource::Resource(r), MetricTarget::Utilization(target)) => {
                self.get_resource_replicas(current, target, *r, tolerances, input, k)
            }
            (MetricSource::Resource(r), MetricTarget::AverageValue(target)) => {
                self.get_raw_resource_replicas(current, target, *r, tolerances, input, k)
            }
            (MetricSource::Pods(name), MetricTarget::AverageValue(target)) => {
                self.get_metric_replicas(current, target, name, tolerances, input, k)
            }
            (
                MetricSource::Object(name) | MetricSource::External(name),
                MetricTarget::Value(target),
            ) => self.get_object_metric_replicas(current, target, name, tolerances, input, k),
            (
                MetricSource::Object(name) | MetricSource::External(name),
                MetricTarget::AverageValue(target),
            ) => {
                let status = input
                    .pods
                    .iter()
                    .filter(|p| matches!(p.phase, PodPhase::Pending | PodPhase::Running))
                    .count() as u32;
                self.get_object_per_pod_metric_replicas(status, target, name, tolerances, input, k)
            }
            _ => Err(MetricError("invalid metric target".into())),
        }
    }
}
