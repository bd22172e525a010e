//! Open-loop load: the scenario's traffic model as real HTTP requests.
//!
//! Key decision: arrivals come from the same `Arrivals` process the
//! simulator uses, on the wall clock, and every request is sent at its
//! scheduled instant on its own task — the generator never waits for
//! earlier replies, so an overloaded service sees the queueing a real
//! client population would cause (no coordinated omission). Connections
//! to the proxy are pooled and reused when idle.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use orkestra_core::metrics::ServiceMetrics;
use orkestra_core::rng::StreamRng;
use orkestra_core::time::{SimDuration, SimTime};
use orkestra_core::traffic::{Arrivals, RateModel};
use orkestra_workload::http1::{self, Request};
use tokio::io::BufReader;
use tokio::net::TcpStream;

use crate::proxy::PROXY_ERROR;

type Pool = Arc<Mutex<Vec<BufReader<TcpStream>>>>;

/// What one service's load generator needs.
pub struct LoadSpec {
    /// The scenario's rate model (scenario time).
    pub model: RateModel,
    /// Scenario length.
    pub duration: SimDuration,
    /// Time compression.
    pub speed: f64,
    /// The service's proxy.
    pub target: SocketAddr,
    /// Client timeout (real time).
    pub timeout: Option<Duration>,
    /// Arrival stream.
    pub rng: StreamRng,
}

/// The load generator's view of one service between two scrapes.
#[derive(Debug)]
pub struct Window {
    started: Instant,
    last: Instant,
    arrivals: u64,
    in_flight: u32,
    area_s: f64,
    latency: Histogram<u64>,
}

impl Default for Window {
    fn default() -> Window {
        let now = Instant::now();
        Window {
            started: now,
            last: now,
            arrivals: 0,
            in_flight: 0,
            area_s: 0.0,
            latency: Histogram::new(3).expect("3 significant digits is valid"),
        }
    }
}

impl Window {
    fn advance(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.area_s += f64::from(self.in_flight) * dt;
        self.last = self.last.max(now);
    }

    /// A request was sent at `now`.
    pub fn arrived(&mut self, now: Instant) {
        self.advance(now);
        self.arrivals += 1;
        self.in_flight += 1;
    }

    /// A request ended at `now`: answered successfully after `ok`, or not (`None`).
    pub fn finished(&mut self, now: Instant, ok: Option<Duration>) {
        self.advance(now);
        self.in_flight = self.in_flight.saturating_sub(1);
        if let Some(l) = ok {
            let _ = self
                .latency
                .record(u64::try_from(l.as_nanos()).unwrap_or(u64::MAX));
        }
    }

    /// Ends the window at `now`: `[arrivals per second, mean in flight, p99
    /// latency ms]` in milli-units (p99 `None` without completions).
    pub fn take(&mut self, now: Instant) -> [Option<i64>; 3] {
        self.advance(now);
        let wall = now.saturating_duration_since(self.started).as_secs_f64();
        let out = if wall > 0.0 {
            [
                Some((self.arrivals as f64 * 1000.0 / wall).round() as i64),
                Some((self.area_s * 1000.0 / wall).round() as i64),
                (!self.latency.is_empty())
                    .then(|| (self.latency.value_at_quantile(0.99) / 1000) as i64),
            ]
        } else {
            [None; 3]
        };
        self.started = now;
        self.arrivals = 0;
        self.area_s = 0.0;
        self.latency.reset();
        out
    }
}

/// Counters shared with the sampler and the autoscalers' metrics pipeline.
#[derive(Default)]
pub struct LoadState {
    /// Requests sent and not yet answered.
    pub in_flight: AtomicU32,
    /// Arrivals, time-averaged in-flight requests and latencies since the
    /// pipeline's last scrape.
    pub window: Mutex<Window>,
}

/// Sends the service's traffic until the scenario ends; returns when every
/// request has finished or timed out.
pub async fn run(
    spec: LoadSpec,
    start: Instant,
    metrics: Arc<Mutex<ServiceMetrics>>,
    state: Arc<LoadState>,
) {
    let horizon = SimTime(((spec.duration.0 as f64) / spec.speed) as u64);
    let mut arrivals = Arrivals::new(spec.model.time_compressed(spec.speed), horizon);
    let mut rng = spec.rng;
    let pool: Pool = Arc::default();
    let mut tasks = tokio::task::JoinSet::new();
    while let Some(t) = arrivals.next(&mut rng) {
        tokio::time::sleep_until((start + Duration::from_nanos(t.0)).into()).await;
        metrics.lock().expect("metrics").arrival();
        state.in_flight.fetch_add(1, Ordering::Relaxed);
        state.window.lock().expect("window").arrived(Instant::now());
        let (pool, metrics, state) = (pool.clone(), metrics.clone(), state.clone());
        let (target, timeout) = (spec.target, spec.timeout);
        tasks.spawn(async move {
            let sent = Instant::now();
            let outcome = match timeout {
                Some(d) => tokio::time::timeout(d, request(&pool, target))
                    .await
                    .unwrap_or(Err(Outcome::TimedOut)),
                None => request(&pool, target).await,
            };
            let latency = sent.elapsed();
            {
                let mut m = metrics.lock().expect("metrics");
                match outcome {
                    Ok(()) => m.ok(SimDuration(latency.as_nanos() as u64)),
                    Err(Outcome::TimedOut) => m.timed_out(),
                    Err(Outcome::Rejected { no_endpoint }) => m.rejected(no_endpoint),
                    Err(Outcome::Failed) => m.failed(),
                }
            }
            state
                .window
                .lock()
                .expect("window")
                .finished(sent + latency, matches!(outcome, Ok(())).then_some(latency));
            state.in_flight.fetch_sub(1, Ordering::Relaxed);
        });
        // Reap finished tasks so the set does not grow with the run.
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
}

enum Outcome {
    TimedOut,
    /// The proxy's attempt found its endpoint gone (and no retry saved it).
    Failed,
    Rejected {
        no_endpoint: bool,
    },
}

async fn request(pool: &Pool, target: SocketAddr) -> Result<(), Outcome> {
    let pooled = pool.lock().expect("pool").pop();
    let mut conn = match pooled {
        Some(c) => c,
        None => {
            let s = TcpStream::connect(target)
                .await
                .map_err(|_| Outcome::Rejected { no_endpoint: false })?;
            let _ = s.set_nodelay(true);
            BufReader::new(s)
        }
    };
    let req = Request {
        method: "GET".into(),
        path: "/work".into(),
        headers: vec![("host".into(), "orkestra".into())],
        body: Vec::new(),
    };
    if http1::write_request(conn.get_mut(), &req).await.is_err() {
        return Err(Outcome::Rejected { no_endpoint: false });
    }
    let resp = http1::read_response(&mut conn)
        .await
        .map_err(|_| Outcome::Rejected { no_endpoint: false })?;
    if !http1::wants_close(&resp.headers) {
        pool.lock().expect("pool").push(conn);
    }
    if resp.status == 200 {
        Ok(())
    } else {
        match http1::header(&resp.headers, PROXY_ERROR) {
            Some("endpoint-failed") => Err(Outcome::Failed),
            // The replica answered with an error (a bad revision's errorRate).
            None if resp.status == 500 => Err(Outcome::Failed),
            why => Err(Outcome::Rejected {
                no_endpoint: why == Some("no-endpoint"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_time_weighted() {
        let t0 = Instant::now();
        let mut w = Window {
            started: t0,
            last: t0,
            ..Window::default()
        };
        let ms = Duration::from_millis;
        w.arrived(t0);
        w.arrived(t0 + ms(500));
        w.finished(t0 + ms(1000), Some(ms(1000)));
        w.finished(t0 + ms(1500), None);
        // 2 arrivals in 2 s; in flight 1 for 0.5 s, 2 for 0.5 s, 1 for 0.5 s = 2 request-seconds.
        let v = w.take(t0 + ms(2000));
        assert_eq!(v[0], Some(1000));
        assert_eq!(v[1], Some(1000));
        assert!((v[2].unwrap() - 1_000_000).abs() <= 1000, "{v:?}");
        // The next window starts empty.
        assert_eq!(w.take(t0 + ms(3000)), [Some(0), Some(0), None]);
    }
}
