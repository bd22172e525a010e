//! The replica calculator (upstream `replica_calculator.go` and
//! `computeReplicasForMetric`): one metric's proposed replica count from the
//! pods' samples, with unready and missing pods filled in pessimistically
//! and ratios within the tolerance keeping the current count.

use super::{Hpa, HpaConfig, MetricSource, MetricTarget, ResourceMetric};
use crate::autoscale::{PodPhase, PodSample, ScaleInput};
use crate::time::{SimDuration, SimTime};

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

impl Hpa {
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
}
