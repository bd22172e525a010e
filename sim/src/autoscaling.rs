//! The simulated metrics pipeline that autoscalers read.
//!
//! Key decision: autoscalers never see the simulator's exact state. Every
//! `metricResolution` a scrape turns each ready replica's recent behaviour
//! into the numbers a metrics pipeline would report — CPU usage from its
//! busy time (`busy slots ÷ concurrency × its CPU limit`, the request when
//! there is no limit), requests per second and in-flight requests averaged
//! over the scrape window — and the autoscaler's sync, on its own period,
//! reads the *last* scrape, so metrics lag by up to one resolution as they
//! do under metrics-server. Replicas that started after the last scrape
//! have no metrics yet (the HPA's "missing" pods). The accumulators exist
//! only when some service has an autoscaler, so runs without one pay
//! nothing on the request path.

use hdrhistogram::Histogram;
use orkestra_core::autoscale::hpa::MetricSpec;
use orkestra_core::autoscale::spec::{pod_sample, service_value};
use orkestra_core::autoscale::{Autoscale, PodSample, Recommendation, ScaleInput};
use orkestra_core::model::{ReplicaState, ReplicaStatus, ServiceSpec};
use orkestra_core::time::{SimDuration, SimTime};

/// Per-replica accumulators between scrapes and the last scrape's values.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    last_ns: u64,
    busy: u32,
    in_flight: u32,
    busy_area: f64,
    in_flight_area: f64,
    completions: u32,
    /// Last scrape: `[cpu milli, memory milli, rps milli, in_flight milli]`.
    scraped: Option<[i64; 4]>,
    scraped_at: SimTime,
}

impl Usage {
    fn advance(&mut self, now: u64) {
        let dt = (now - self.last_ns.min(now)) as f64;
        self.busy_area += f64::from(self.busy) * dt;
        self.in_flight_area += f64::from(self.in_flight) * dt;
        self.last_ns = now;
    }
}

/// An autoscaler and the metrics it reads.
pub type Scaler = (Box<dyn Autoscale>, Vec<MetricSpec>);

/// One service's autoscaler and its service-level accumulators.
pub struct ServiceScaler {
    /// The autoscaler.
    pub scaler: Box<dyn Autoscale>,
    /// The metrics it reads, in order.
    pub metrics: Vec<MetricSpec>,
    /// Changes of the desired count it made.
    pub actions: u64,
    arrivals: u64,
    in_flight: u32,
    in_flight_area: f64,
    last_ns: u64,
    latency: Histogram<u64>,
    /// Last scrape: `[rps milli, in_flight milli, p99 ms milli]`.
    scraped: [Option<i64>; 3],
    /// Reads in-flight requests at every sync instead of the last scrape:
    /// Knative's autoscaler gets them from its activator and queue proxies
    /// each tick, not from metrics-server.
    realtime: bool,
    tick_area: f64,
    tick_from: u64,
}

/// The pipeline for every service.
pub struct Pipeline {
    /// Per service, its autoscaler if it has one.
    pub services: Vec<Option<ServiceScaler>>,
    /// Per replica id.
    usage: Vec<Usage>,
    /// Scrape interval.
    pub resolution: SimDuration,
    last_scrape: SimTime,
    /// The autoscaler input's pods, reused across syncs.
    pods: Vec<PodSample>,
    /// The autoscaler input's service-level values, reused across syncs.
    values: Vec<Option<i64>>,
}

impl Pipeline {
    /// A pipeline for `scalers` (one entry per service).
    pub fn new(scalers: Vec<Option<Scaler>>, resolution: SimDuration) -> Pipeline {
        Pipeline {
            services: scalers
                .into_iter()
                .map(|s| {
                    s.map(|(scaler, metrics)| ServiceScaler {
                        realtime: scaler.name() == "knative",
                        tick_area: 0.0,
                        tick_from: 0,
                        scaler,
                        metrics,
                        actions: 0,
                        arrivals: 0,
                        in_flight: 0,
                        in_flight_area: 0.0,
                        last_ns: 0,
                        latency: Histogram::new(3).expect("valid"),
                        scraped: [None; 3],
                    })
                })
                .collect(),
            usage: Vec::new(),
            resolution,
            last_scrape: SimTime::ZERO,
            pods: Vec::new(),
            values: Vec::new(),
        }
    }

    fn usage(&mut self, r: u32) -> &mut Usage {
        let i = r as usize;
        if i >= self.usage.len() {
            self.usage.resize(i + 1, Usage::default());
        }
        &mut self.usage[i]
    }

    /// Replica `r` of `service` now has `busy` requests in service and
    /// `in_flight` in service or queued; the service `total`.
    #[inline]
    pub fn replica_load(
        &mut self,
        now: SimTime,
        service: usize,
        r: u32,
        busy: u32,
        in_flight: u32,
        total: u32,
    ) {
        if self.services[service].is_none() {
            return;
        }
        let u = self.usage(r);
        u.advance(now.0);
        u.busy = busy;
        u.in_flight = in_flight;
        self.service_load(now, service, total);
    }

    /// `service` has `total` requests in flight (replicas and activator).
    #[inline]
    pub fn service_load(&mut self, now: SimTime, service: usize, total: u32) {
        if let Some(s) = &mut self.services[service] {
            let dt = (now.0 - s.last_ns.min(now.0)) as f64;
            s.in_flight_area += f64::from(s.in_flight) * dt;
            s.tick_area += f64::from(s.in_flight) * dt;
            s.last_ns = now.0;
            s.in_flight = total;
        }
    }

    /// A request of `service` arrived.
    #[inline]
    pub fn arrival(&mut self, service: usize) {
        if let Some(s) = &mut self.services[service] {
            s.arrivals += 1;
        }
    }

    /// Replica `r` of `service` completed a request after `latency`.
    #[inline]
    pub fn completion(&mut self, service: usize, r: u32, latency: SimDuration) {
        if self.services[service].is_none() {
            return;
        }
        self.usage(r).completions += 1;
        if let Some(s) = &mut self.services[service] {
            let _ = s.latency.record(latency.0);
        }
    }

    /// Scrapes every replica of a scaled service (`replicas` by id).
    pub fn scrape(&mut self, now: SimTime, replicas: &[ReplicaStatus], specs: &[ServiceSpec]) {
        let window = now.saturating_since(self.last_scrape).0.max(1) as f64;
        for (r, st) in replicas.iter().enumerate() {
            let s = st.service.0 as usize;
            if self.services[s].is_none() {
                continue;
            }
            let spec = &specs[s];
            let u = self.usage(r as u32);
            u.advance(now.0);
            if st.state == ReplicaState::Ready {
                let cpu_limit = if spec.limits.cpu_milli > 0 {
                    spec.limits.cpu_milli
                } else if spec.requests.cpu_milli > 0 {
                    spec.requests.cpu_milli
                } else {
                    1000
                };
                let busy_share = u.busy_area / window / f64::from(spec.concurrency.max(1));
                let cpu = (busy_share * cpu_limit as f64).round() as i64;
                let memory = spec.requests.memory_bytes as i64;
                let rps = (f64::from(u.completions) * 1e12 / window).round() as i64;
                let inflight = (u.in_flight_area * 1000.0 / window).round() as i64;
                u.scraped = Some([cpu, memory, rps, inflight]);
                u.scraped_at = now;
            } else {
                u.scraped = None;
            }
            u.busy_area = 0.0;
            u.in_flight_area = 0.0;
            u.completions = 0;
        }
        for s in self.services.iter_mut().flatten() {
            let dt = (now.0 - s.last_ns.min(now.0)) as f64;
            s.in_flight_area += f64::from(s.in_flight) * dt;
            s.last_ns = now.0;
            let rps = (s.arrivals as f64 * 1e12 / window).round() as i64;
            let inflight = (s.in_flight_area * 1000.0 / window).round() as i64;
            let p99 =
                (!s.latency.is_empty()).then(|| (s.latency.value_at_quantile(0.99) / 1000) as i64);
            s.scraped = [Some(rps), Some(inflight), p99];
            s.arrivals = 0;
            s.in_flight_area = 0.0;
            s.latency.reset();
        }
        self.last_scrape = now;
    }

    /// Syncs `service`'s autoscaler at `now`, its target at `spec_replicas`
    /// (`replicas`: every replica by id; `spec`: the service): its
    /// recommendation and its sync period, `None` for a service without
    /// one. A recommendation other than `spec_replicas` counts as an action.
    pub fn sync(
        &mut self,
        now: SimTime,
        service: usize,
        spec_replicas: u32,
        replicas: &[ReplicaStatus],
        spec: &ServiceSpec,
    ) -> Option<(Recommendation, SimDuration)> {
        let (mut pods, mut values) = (
            std::mem::take(&mut self.pods),
            std::mem::take(&mut self.values),
        );
        let out = {
            let input = self.input(
                now,
                service,
                spec_replicas,
                replicas,
                spec,
                &mut pods,
                &mut values,
            );
            self.services[service].as_mut().map(|sc| {
                let rec = sc.scaler.recommend(&input);
                if rec.replicas != spec_replicas {
                    sc.actions += 1;
                }
                (rec, sc.scaler.sync_period())
            })
        };
        (self.pods, self.values) = (pods, values);
        out
    }

    #[allow(clippy::too_many_arguments)]
    /// The autoscaler input of `service` at `now`: its replicas as the API
    /// shows them, with the last scrape's values.
    fn input<'a>(
        &mut self,
        now: SimTime,
        service: usize,
        spec_replicas: u32,
        replicas: &[ReplicaStatus],
        spec: &ServiceSpec,
        pods: &'a mut Vec<PodSample>,
        values: &'a mut Vec<Option<i64>>,
    ) -> ScaleInput<'a> {
        let metrics = self.services[service]
            .as_ref()
            .map(|s| s.metrics.clone())
            .unwrap_or_default();
        pods.clear();
        for (r, st) in replicas.iter().enumerate() {
            if st.service.0 as usize != service {
                continue;
            }
            let u = self.usage.get(r).copied().unwrap_or_default();
            pods.extend(pod_sample(
                &metrics,
                st.state,
                st.since,
                spec.requests,
                u.scraped,
                u.scraped_at,
            ));
        }
        values.clear();
        if let Some(s) = &mut self.services[service] {
            // In flight since the last sync, and at least what is in flight now (so that a
            // request held at zero replicas activates at once).
            let realtime = s.realtime.then(|| {
                let dt = (now.0 - s.last_ns.min(now.0)) as f64;
                let area = s.tick_area + f64::from(s.in_flight) * dt;
                let span = now.0.saturating_sub(s.tick_from).max(1) as f64;
                s.tick_area = -f64::from(s.in_flight) * dt;
                s.tick_from = now.0;
                ((area / span).max(f64::from(s.in_flight)) * 1000.0).round() as i64
            });
            let mut scraped = s.scraped;
            if let Some(v) = realtime {
                scraped[1] = Some(v);
            }
            values.extend(metrics.iter().map(|m| service_value(m, &scraped)));
        }
        ScaleInput {
            now,
            spec_replicas,
            pods,
            values,
            metric_window: self.resolution,
        }
    }
}
