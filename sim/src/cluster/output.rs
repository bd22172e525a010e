//! What a run writes: the event rows, the timeseries samples and the
//! summary at the end.
//!
//! Key decision: every row goes through one [`Recorder`], which keeps the
//! first write error instead of returning it to each caller: the handlers
//! that emit rows stay infallible, and the event loop stops at its next
//! progress check once an error is kept (the run then returns it).

use std::io;

use orkestra_core::model::ServiceKind;
use orkestra_core::results::{AutoscalingSummary, ClusterSummary, FORMAT, Output, Summary};
use orkestra_core::time::SimTime;

use super::{Event, Simulation};

/// The run's output and the first error writing it.
pub(super) struct Recorder<'a> {
    out: &'a mut dyn Output,
    error: Option<io::Error>,
}

impl<'a> Recorder<'a> {
    pub(super) fn new(out: &'a mut dyn Output) -> Recorder<'a> {
        Recorder { out, error: None }
    }

    /// Writes an event row at `now`.
    pub(super) fn event(&mut self, now: SimTime, kind: &str, subject: &str, detail: &str) {
        if let Err(e) = self.out.event(now.as_secs_f64(), kind, subject, detail) {
            self.error.get_or_insert(e);
        }
    }

    fn sample(&mut self, t: f64, scope: &str, name: &str, value: f64) {
        if let Err(e) = self.out.sample(t, scope, name, value) {
            self.error.get_or_insert(e);
        }
    }

    fn node_sample(&mut self, t: f64, node: &str, fractions: [f64; 3]) {
        if let Err(e) = self.out.node_sample(t, node, fractions) {
            self.error.get_or_insert(e);
        }
    }

    /// Some write failed.
    pub(super) fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// The first write error, if any.
    pub(super) fn take_error(&mut self) -> io::Result<()> {
        self.error.take().map_or(Ok(()), Err)
    }
}

impl Simulation<'_> {
    /// Writes a timeseries sample of every service and the cluster.
    pub(super) fn on_sample(&mut self, end: SimTime) {
        let now = self.engine.now();
        let t = now.as_secs_f64();
        let mut rows: Vec<(String, &'static str, f64)> = Vec::new();
        for (spec, svc) in self
            .scenario
            .desired
            .services
            .iter()
            .zip(&mut self.req.services)
        {
            // Requests waiting for a replica that timed out leave now, so
            // what is counted below is still in flight.
            svc.expire_waiting(now.0, spec.timeout);
            let scope = format!("service:{}", spec.name);
            let iv = svc.metrics.take_interval();
            svc.needed_seconds += iv.arrivals as f64 * spec.service_time.mean_secs()
                / f64::from(spec.concurrency.max(1));
            if let Some(slo) = &mut svc.metrics.slo {
                slo.roll(now);
            }
            rows.push((scope.clone(), "arrivals", iv.arrivals as f64));
            rows.push((scope.clone(), "completions", iv.completions as f64));
            rows.push((scope.clone(), "in_flight", f64::from(svc.in_flight())));
            rows.push((scope.clone(), "queue_length", f64::from(svc.queue_length())));
            if let (Some(p50), Some(p99)) = (iv.p50_s, iv.p99_s) {
                rows.push((scope.clone(), "latency_p50_s", p50));
                rows.push((scope.clone(), "latency_p99_s", p99));
            }
            rows.push((scope, "ready_replicas", f64::from(svc.ready)));
        }
        if let Some(f) = &self.faults {
            // desired − serving (ready, not dead, not cut off), per service.
            let cut = self.cut_ready();
            for (s, spec) in self.scenario.desired.services.iter().enumerate() {
                if spec.kind == ServiceKind::Service {
                    let cut = cut.as_ref().map_or(0, |c| c[s]);
                    let serving = self.req.services[s]
                        .ready
                        .saturating_sub(f.dead_ready(s) + cut);
                    let unavailable = self.desired.services[s].replicas.saturating_sub(serving);
                    let scope = format!("service:{}", spec.name);
                    rows.push((scope, "unavailable_replicas", f64::from(unavailable)));
                }
            }
        }
        let c = self.nodes.capacity.sample();
        let cluster = |name: &'static str, value: f64| ("cluster".to_string(), name, value);
        rows.push(cluster("pending_replicas", f64::from(self.ctl.pending)));
        rows.push(cluster("nodes", f64::from(self.nodes.existing)));
        rows.push(cluster("nodes_in_use", f64::from(c.nodes_in_use)));
        rows.push(cluster("cpu_allocated", c.allocated[0]));
        rows.push(cluster("memory_allocated", c.allocated[1]));
        rows.push(cluster("gpu_allocated", c.allocated[2]));
        rows.push(cluster("stranded_cpu", c.stranded[0]));
        rows.push(cluster("stranded_memory", c.stranded[1]));
        rows.push(cluster("stranded_gpu", c.stranded[2]));
        rows.push(cluster("nodes_lower_bound", c.nodes_lower_bound as f64));
        if self.scenario.node_metrics {
            let frac = |a: u64, b: u64| if b > 0 { a as f64 / b as f64 } else { 0.0 };
            // Nodes that exist: a removed node has no more rows.
            for n in self.nodes.existing_nodes(&self.observed) {
                let (a, cap) = (&n.allocated, &n.spec.allocatable);
                let f = [
                    frac(a.cpu_milli, cap.cpu_milli),
                    frac(a.memory_bytes, cap.memory_bytes),
                    frac(a.gpu_milli, cap.gpu_milli),
                ];
                self.rec.node_sample(t, &n.spec.name, f);
            }
        }
        for (scope, name, value) in rows {
            self.rec.sample(t, &scope, name, value);
        }
        if now < end {
            let next = (now + self.scenario.sample_interval).min(end);
            self.engine.schedule(next, Event::Sample);
        }
    }

    /// The run's summary at `end`.
    pub(super) fn summary(&mut self, end: SimTime) -> Summary {
        for (spec, svc) in self
            .scenario
            .desired
            .services
            .iter()
            .zip(&mut self.req.services)
        {
            svc.expire_waiting(end.0, spec.timeout);
        }
        let mut rollouts: Vec<_> = (0..self.req.services.len())
            .map(|i| {
                let counts = self.req.services[i].metrics.counts();
                self.rollouts.summary(i, end, &self.observed, counts)
            })
            .collect();
        let services = self
            .scenario
            .desired
            .services
            .iter()
            .zip(&mut self.req.services)
            .enumerate()
            .map(|(i, (spec, svc))| {
                let desired = self.desired.services[i].replicas;
                let mut sum = svc.metrics.summary(&spec.name, desired, end);
                sum.ejections = svc.ejections();
                sum.requests.in_flight_at_end = u64::from(svc.in_flight());
                sum.rollout = rollouts[i].take();
                if let Some(Some(sc)) = self.pipeline.as_ref().map(|p| &p.services[i]) {
                    sum.autoscaling = Some(AutoscalingSummary {
                        autoscaler: sc.scaler.name().to_string(),
                        scaling_actions: sc.actions,
                        needed_replica_seconds: svc.needed_seconds,
                        over_provisioning: if svc.needed_seconds > 0.0 {
                            sum.replicas.replica_seconds / svc.needed_seconds
                        } else {
                            0.0
                        },
                    });
                }
                sum
            })
            .collect();
        let zones: std::collections::BTreeSet<&str> = self
            .nodes
            .existing_nodes(&self.observed)
            .map(|n| n.spec.zone.as_str())
            .collect();
        let mut summary = Summary {
            format: FORMAT,
            version: orkestra_core::VERSION.to_string(),
            mode: "sim".to_string(),
            scenario: self.scenario.name.clone(),
            source: self.scenario.source.clone(),
            scenario_hash: self.scenario.hash.clone(),
            overrides: self.scenario.overrides.clone(),
            seed: self.scenario.seed,
            duration_s: end.as_secs_f64(),
            events: self.engine.processed(),
            services,
            cluster: ClusterSummary {
                nodes: self.nodes.existing,
                zones: zones.len() as u32,
                pending_at_end: self.ctl.pending,
                ..Default::default()
            },
            jobs: self.jobs.summary(self.scenario),
            faults: None,
        };
        self.nodes.capacity.fill(&mut summary.cluster, end);
        self.ctl.metrics.fill(&mut summary.cluster);
        let (node_hours, cost, autoscaling) = self.nodes.summary(end, self.scenario);
        summary.cluster.node_hours = node_hours;
        summary.cluster.cost = cost;
        summary.cluster.node_autoscaling = autoscaling;
        summary.faults = self.faults.as_ref().map(|f| f.summary(&summary));
        summary
    }
}
