//! The live metrics pipeline that autoscalers read, and their periodic syncs.
//!
//! Key decision: live mode drives the *same* core autoscalers as the
//! simulator (`sim/src/autoscaling.rs`), fed with numbers in the same units
//! measured the same way. Every `metricResolution` (scenario time, so
//! `metricResolution ÷ speed` of wall time) each ready replica's workload
//! `/metrics` is scraped and counter increments since the previous scrape
//! of that replica become per-pod values:
//!
//! - **CPU** (millicores) = busy share × the replica's CPU limit (its request
//!   without a limit, 1000m without either), where busy share =
//!   Δ`orkestra_busy_seconds_total` ÷ wall window ÷ `concurrency`. This is
//!   the workload's *own* busy counter (the drawn work durations of the
//!   requests it finished), not the engine's cgroup CPU statistics, for
//!   three reasons: it is what the simulator reports as CPU, so one HPA
//!   spec means the same thing in both worlds; it is meaningful for
//!   `work = "sleep"` services, which use no CPU at all (cgroup CPU would
//!   read ~0 and the HPA would never scale); and it costs one small HTTP GET
//!   per replica that the sampler already makes, whereas Docker's stats API
//!   needs a request per container that waits for two cgroup readings. A
//!   request counts when it finishes, so very long requests show up late.
//! - **memory** is reported as the replica's request, as in the simulator.
//! - **`requests_per_second`** = Δ`orkestra_requests_total{outcome="ok"}` ÷
//!   wall window, and **`in_flight`** = Δ(`orkestra_service_seconds_sum` +
//!   `orkestra_queue_wait_seconds_sum`) ÷ wall window: by Little's law the
//!   mean number of requests in service or waiting over the window
//!   (requests still in the replica at the window's end count later).
//!   Windows are wall time because `--speed` compresses the traffic's shape,
//!   not its rates: a replica sees the request rate the scenario describes.
//!
//! A replica's first scrape only sets its baseline: it has no metrics until
//! the next one (the HPA's "missing" pods), like a pod metrics-server has not
//! reported yet; a replica whose scrape fails is missing too. Service-level
//! values come from the load generator's [`crate::loadgen::Window`]: arrivals per second,
//! requests sent and not yet answered (time-averaged) and the p99 latency of
//! the window. Each autoscaled service syncs on its autoscaler's
//! `sync_period()` (scenario time), reading the *last* scrape, and a changed
//! recommendation becomes the controller's desired count through a
//! [`ScaleHandle`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use orkestra_core::autoscale::hpa::MetricSpec;
use orkestra_core::autoscale::spec::{pod_sample, service_value};
use orkestra_core::autoscale::{Autoscale, PodSample, ScaleInput};
use orkestra_core::model::{ReplicaState, ServiceSpec};
use orkestra_core::scenario::Scenario;
use orkestra_core::time::{SimDuration, SimTime};
use tokio::sync::Notify;

use crate::controller::{Clock, ReplicaView, ScaleHandle};
use crate::loadgen::LoadState;

/// Counters and gauges of one workload's `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Counters {
    /// `orkestra_busy_seconds_total`.
    pub busy_s: f64,
    /// `orkestra_requests_total{outcome="ok"}`.
    pub ok: f64,
    /// `orkestra_service_seconds_sum`.
    pub service_s: f64,
    /// `orkestra_queue_wait_seconds_sum`.
    pub wait_s: f64,
    /// `orkestra_queue_length` (a gauge).
    pub queue: f64,
}

impl Counters {
    /// Reads the Prometheus text of a workload; `None` without a busy counter.
    pub fn parse(text: &str) -> Option<Counters> {
        let value = |name: &str| {
            text.lines()
                .find(|l| l.split_whitespace().next() == Some(name))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
                .filter(|v| v.is_finite())
        };
        Some(Counters {
            busy_s: value("orkestra_busy_seconds_total")?,
            ok: value(r#"orkestra_requests_total{outcome="ok"}"#).unwrap_or(0.0),
            service_s: value("orkestra_service_seconds_sum").unwrap_or(0.0),
            wait_s: value("orkestra_queue_wait_seconds_sum").unwrap_or(0.0),
            queue: value("orkestra_queue_length").unwrap_or(0.0),
        })
    }
}

/// GET `/metrics` of the workload at `addr` (500 ms timeout).
pub async fn scrape(addr: SocketAddr) -> Option<Counters> {
    use orkestra_workload::http1;
    let get = async {
        let s = tokio::net::TcpStream::connect(addr).await.ok()?;
        let mut s = tokio::io::BufReader::new(s);
        let req = http1::Request {
            method: "GET".into(),
            path: "/metrics".into(),
            headers: vec![("connection".into(), "close".into())],
            body: Vec::new(),
        };
        http1::write_request(s.get_mut(), &req).await.ok()?;
        let resp = http1::read_response(&mut s).await.ok()?;
        Counters::parse(std::str::from_utf8(&resp.body).ok()?)
    };
    tokio::time::timeout(Duration::from_millis(500), get)
        .await
        .ok()
        .flatten()
}

/// A CPU usage in millicores for a replica of `spec` that was busy for
/// `share` of its slots: the share of its CPU limit (the request when
/// there is no limit, one core without either), as the simulator counts it.
pub fn cpu_millis(spec: &ServiceSpec, share: f64) -> i64 {
    let limit = if spec.limits.cpu_milli > 0 {
        spec.limits.cpu_milli
    } else if spec.requests.cpu_milli > 0 {
        spec.requests.cpu_milli
    } else {
        1000
    };
    (share * limit as f64).round() as i64
}

/// Per-pod values `[cpu milli, memory, rps milli, in_flight milli]` from two
/// scrapes `wall_s` seconds apart; `None` when the counters went backwards
/// (a different process) or no time passed.
pub fn pod_values(
    spec: &ServiceSpec,
    prev: &Counters,
    cur: &Counters,
    wall_s: f64,
) -> Option<[i64; 4]> {
    let d = |a: f64, b: f64| (b >= a).then_some(b - a);
    let busy = d(prev.busy_s, cur.busy_s)?;
    let ok = d(prev.ok, cur.ok)?;
    let resident = d(prev.service_s + prev.wait_s, cur.service_s + cur.wait_s)?;
    if wall_s.is_nan() || wall_s <= 0.0 {
        return None;
    }
    let share = busy / wall_s / f64::from(spec.concurrency.max(1));
    Some([
        cpu_millis(spec, share),
        spec.requests.memory_bytes as i64,
        (ok * 1000.0 / wall_s).round() as i64,
        (resident * 1000.0 / wall_s).round() as i64,
    ])
}

/// What the pipeline remembers of one replica.
#[derive(Clone, Copy, Debug, Default)]
struct PodUsage {
    /// Counters at the last successful scrape, and when they arrived.
    last: Option<(Counters, Instant)>,
    /// `[cpu, memory, rps, in_flight]` of the last scrape, if it had values.
    values: Option<[i64; 4]>,
    /// Scenario time of the last scrape.
    at: SimTime,
}

/// One service's autoscaler and its last service-level values.
pub struct ServiceScaler {
    scaler: Box<dyn Autoscale>,
    metrics: Vec<MetricSpec>,
    /// Changes of the desired count it made.
    pub actions: u64,
    values: [Option<i64>; 3],
    next_sync: SimTime,
}

impl ServiceScaler {
    /// The autoscaler's name.
    pub fn name(&self) -> &'static str {
        self.scaler.name()
    }
}

/// The pipeline of every autoscaled service.
pub struct Pipeline {
    scenario: Arc<Scenario>,
    /// Per service, its autoscaler if it has one.
    pub services: Vec<Option<ServiceScaler>>,
    pods: HashMap<usize, PodUsage>,
    resolution: SimDuration,
    next_scrape: SimTime,
}

impl Pipeline {
    /// The pipeline of `scenario`, or `None` when no service has an autoscaler.
    pub fn new(scenario: Arc<Scenario>) -> Option<Pipeline> {
        if scenario.autoscalers.iter().all(Option::is_none) {
            return None;
        }
        let resolution = scenario.metric_resolution;
        let services = scenario
            .autoscalers
            .iter()
            .map(|a| {
                a.as_ref().map(|a| {
                    let scaler = a.build();
                    ServiceScaler {
                        next_sync: SimTime::ZERO + scaler.sync_period(),
                        scaler,
                        metrics: a.metrics(),
                        actions: 0,
                        values: [None; 3],
                    }
                })
            })
            .collect();
        Some(Pipeline {
            scenario,
            services,
            pods: HashMap::new(),
            resolution,
            next_scrape: SimTime::ZERO + resolution,
        })
    }

    /// Scrapes and syncs on scenario time `clock` until `stop` is notified;
    /// returns the pipeline (for the summary).
    pub async fn run(
        mut self,
        handle: ScaleHandle,
        clock: Clock,
        loads: Vec<Arc<LoadState>>,
        stop: Arc<Notify>,
    ) -> Pipeline {
        loop {
            let next = self
                .services
                .iter()
                .flatten()
                .map(|s| s.next_sync)
                .fold(self.next_scrape, SimTime::min);
            let wall = clock.start + Duration::from_nanos((next.0 as f64 / clock.speed) as u64);
            tokio::select! {
                _ = tokio::time::sleep_until(wall.into()) => {}
                _ = stop.notified() => return self,
            }
            let now = clock.now().max(next);
            let view = handle.replicas();
            // A sync due with a scrape reads the previous scrape, as in the
            // simulator (where the sync was scheduled first).
            for s in 0..self.services.len() {
                let due = self.services[s]
                    .as_ref()
                    .is_some_and(|x| now >= x.next_sync);
                if due {
                    self.sync(s, now, &view, &handle);
                }
            }
            if now >= self.next_scrape {
                self.scrape(now, &view, &loads).await;
                self.next_scrape = after(self.next_scrape, self.resolution, now);
            }
        }
    }

    /// Scrapes every ready replica of an autoscaled service, and the load
    /// generators' windows.
    pub async fn scrape(&mut self, now: SimTime, view: &[ReplicaView], loads: &[Arc<LoadState>]) {
        let targets: Vec<(usize, usize, SocketAddr)> = view
            .iter()
            .filter(|r| r.state == ReplicaState::Ready)
            .filter(|r| matches!(self.services.get(r.service), Some(Some(_))))
            .filter_map(|r| r.addr.map(|a| (r.index, r.service, a)))
            .collect();
        let results = futures_util::future::join_all(
            targets
                .iter()
                .map(|&(_, _, a)| async move { (scrape(a).await, Instant::now()) }),
        )
        .await;
        let mut seen = std::collections::HashSet::new();
        for (&(i, s, _), (counters, at)) in targets.iter().zip(results) {
            seen.insert(i);
            let spec = &self.scenario.desired.services[s];
            let u = self.pods.entry(i).or_default();
            u.at = now;
            u.values = match (u.last, counters) {
                (Some((prev, t0)), Some(cur)) => {
                    pod_values(spec, &prev, &cur, at.duration_since(t0).as_secs_f64())
                }
                _ => None,
            };
            if let Some(c) = counters {
                u.last = Some((c, at));
            }
        }
        // Replicas that are not ready keep no values (and gone ones no entry).
        let present: std::collections::HashSet<usize> = view.iter().map(|r| r.index).collect();
        self.pods.retain(|i, _| present.contains(i));
        for (i, u) in self.pods.iter_mut() {
            if !seen.contains(i) {
                u.values = None;
            }
        }
        let wall = Instant::now();
        for (s, sc) in self.services.iter_mut().enumerate() {
            if let (Some(sc), Some(load)) = (sc, loads.get(s)) {
                sc.values = load.window.lock().expect("window").take(wall);
            }
        }
    }

    /// The autoscaler input of service `s` at `now` from the last scrape.
    pub fn input<'a>(
        &self,
        now: SimTime,
        s: usize,
        spec_replicas: u32,
        view: &[ReplicaView],
        pods: &'a mut Vec<PodSample>,
        values: &'a mut Vec<Option<i64>>,
    ) -> ScaleInput<'a> {
        let spec = &self.scenario.desired.services[s];
        let empty = Vec::new();
        let (metrics, service_values) = match &self.services[s] {
            Some(sc) => (&sc.metrics, sc.values),
            None => (&empty, [None; 3]),
        };
        pods.clear();
        for r in view.iter().filter(|r| r.service == s) {
            let u = self.pods.get(&r.index).copied().unwrap_or_default();
            pods.extend(pod_sample(
                metrics,
                r.state,
                r.since,
                spec.requests,
                u.values,
                u.at,
            ));
        }
        values.clear();
        values.extend(metrics.iter().map(|m| service_value(m, &service_values)));
        ScaleInput {
            now,
            spec_replicas,
            pods,
            values,
            metric_window: self.resolution,
        }
    }

    /// Service `s`'s periodic sync: recommend, and scale when it differs.
    pub fn sync(&mut self, s: usize, now: SimTime, view: &[ReplicaView], handle: &ScaleHandle) {
        let current = handle.desired(s);
        let (mut pods, mut values) = (Vec::new(), Vec::new());
        let input = self.input(now, s, current, view, &mut pods, &mut values);
        let Some(sc) = self.services[s].as_mut() else {
            return;
        };
        let rec = sc.scaler.recommend(&input);
        sc.next_sync = after(sc.next_sync, sc.scaler.sync_period(), now);
        if rec.replicas != current {
            sc.actions += 1;
            handle.scale(now, s, rec.replicas, &rec.reason);
        }
    }
}

/// The first `start + k·period` (k ≥ 1) after `now`: missed ticks are
/// skipped, not replayed in a burst.
fn after(start: SimTime, period: SimDuration, now: SimTime) -> SimTime {
    let period = period.0.max(1);
    let mut next = start.0.saturating_add(period);
    if next <= now.0 {
        next += (now.0 - next) / period * period + period;
    }
    SimTime(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use orkestra_core::autoscale::PodPhase;
    use orkestra_core::testing::{NoFiles, service};

    fn counters(busy_s: f64, ok: f64, resident_s: f64) -> Counters {
        Counters {
            busy_s,
            ok,
            service_s: resident_s,
            wait_s: 0.0,
            queue: 0.0,
        }
    }

    #[test]
    fn workload_metrics_parse() {
        let text = "# HELP x\norkestra_requests_total{outcome=\"ok\"} 12\norkestra_requests_total{outcome=\"rejected\"} 3\norkestra_queue_length 2\norkestra_busy_seconds_total 0.75\norkestra_service_seconds_sum 0.8\norkestra_service_seconds_count 12\norkestra_queue_wait_seconds_sum 0.1\n";
        let c = Counters::parse(text).unwrap();
        assert_eq!(
            c,
            Counters {
                busy_s: 0.75,
                ok: 12.0,
                service_s: 0.8,
                wait_s: 0.1,
                queue: 2.0
            }
        );
        assert_eq!(Counters::parse("orkestra_queue_length 1\n"), None);
        assert_eq!(
            Counters::parse("orkestra_busy_seconds_total NaN\n"),
            None,
            "garbage is no metric"
        );
    }

    #[test]
    fn pod_values_use_the_simulator_units() {
        let mut spec = service("web");
        spec.concurrency = 4;
        spec.requests.cpu_milli = 250;
        spec.limits.cpu_milli = 1000;
        // 2 s window, 4 busy-seconds over 4 slots: half busy → 500m of the 1-core limit;
        // 100 requests → 50/s; 6 request-seconds resident → 3 in flight on average.
        let v = pod_values(
            &spec,
            &counters(1.0, 10.0, 1.0),
            &counters(5.0, 110.0, 7.0),
            2.0,
        )
        .unwrap();
        assert_eq!(v, [500, spec.requests.memory_bytes as i64, 50_000, 3000]);
        // Without a limit the request is the ceiling.
        spec.limits.cpu_milli = 0;
        assert_eq!(
            pod_values(
                &spec,
                &counters(0.0, 0.0, 0.0),
                &counters(4.0, 0.0, 0.0),
                2.0
            )
            .unwrap()[0],
            125
        );
        // A restarted process (counters went back) or no time: no values.
        assert_eq!(
            pod_values(
                &spec,
                &counters(5.0, 9.0, 1.0),
                &counters(1.0, 1.0, 0.0),
                2.0
            ),
            None
        );
        assert_eq!(
            pod_values(
                &spec,
                &counters(0.0, 0.0, 0.0),
                &counters(1.0, 1.0, 1.0),
                0.0
            ),
            None
        );
    }

    #[test]
    fn ticks_skip_what_was_missed() {
        let s = SimDuration::from_secs;
        let t = |x| SimTime::ZERO + s(x);
        assert_eq!(after(t(15), s(15), t(16)), t(30));
        assert_eq!(after(t(15), s(15), t(30)), t(45));
        assert_eq!(after(t(15), s(15), t(61)), t(75));
    }

    fn view(index: usize, state: ReplicaState, since: u64) -> ReplicaView {
        ReplicaView {
            index,
            name: format!("web-{index}"),
            container: None,
            host: None,
            service: 0,
            state,
            since: SimTime::ZERO + SimDuration::from_secs(since),
            addr: None,
        }
    }

    /// The HPA of the spike scenario fed through this pipeline: busy
    /// replicas make it scale up, replicas map to the HPA's pod phases.
    #[test]
    fn a_sync_scales_through_the_handle() {
        let text = r#"
name = "t"
[simulation]
duration = "10m"
metricResolution = "5s"
[pools.a]
count = 1
cpu = "8"
memory = "8Gi"
[services.web]
replicas = 2
concurrency = 4
requests = { cpu = "250m", memory = "64Mi" }
limits = { cpu = "250m", memory = "64Mi" }
serviceTime = { dist = "constant", value = "50ms" }
[services.web.traffic]
model = "constant"
rate = 10
[services.web.autoscaler]
kind = "hpa"
minReplicas = 2
maxReplicas = 6
metrics = [
  { type = "Resource", resource = { name = "cpu", target = { type = "Utilization", averageUtilization = 20 } } },
]
"#;
        let scenario =
            Arc::new(orkestra_core::scenario::parse(text, "t.toml", &NoFiles, &[], None).unwrap());
        let mut p = Pipeline::new(scenario).unwrap();
        let handle = ScaleHandle::new(vec!["web".into()], vec![2]);
        let replicas = vec![
            view(0, ReplicaState::Ready, 0),
            view(1, ReplicaState::Ready, 0),
            view(2, ReplicaState::Starting, 10),
        ];
        let t = |x| SimTime::ZERO + SimDuration::from_secs(x);
        // Both ready replicas 75% busy: 188m of the 250m limit, 75% of the request.
        for i in 0..2 {
            p.pods.insert(
                i,
                PodUsage {
                    last: None,
                    values: Some([188, 0, 0, 0]),
                    at: t(10),
                },
            );
        }
        let (mut pods, mut values) = (Vec::new(), Vec::new());
        let input = p.input(t(15), 0, 2, &replicas, &mut pods, &mut values);
        assert_eq!(
            input.pods.iter().map(|p| p.phase).collect::<Vec<_>>(),
            [PodPhase::Running, PodPhase::Running, PodPhase::Pending]
        );
        assert_eq!(input.pods[0].values, [Some(188)]);
        assert_eq!(input.pods[0].requests, [250]);
        assert_eq!(input.pods[2].values, [None]);
        p.sync(0, t(15), &replicas, &handle);
        // 75% of request against 20%: ×3.75 → 8. The HPA has no `behavior`, so
        // the controller's no-behavior path limits a scale-up to
        // max(2 × current, 4) = max(4, 4) = 4 (calculateScaleUpLimit in
        // upstream's horizontal.go), below maxReplicas 6.
        assert_eq!(handle.desired(0), 4);
        assert_eq!(p.services[0].as_ref().unwrap().actions, 1);
        let rows = handle.events.lock().unwrap().clone();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].kind, rows[0].subject.as_str()), ("scale", "web"));
        assert!(
            rows[0].detail.starts_with("from=2 to=4 reason="),
            "{rows:?}"
        );
        assert_eq!(rows[0].time_s, 15.0);
    }
}
