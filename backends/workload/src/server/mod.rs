//! The workload's HTTP server: a scenario's service model on a real socket.
//!
//! Key decision: a replica is modelled exactly as the simulator models it —
//! `concurrency` slots (a fair, FIFO [`Semaphore`]) in front of an optional
//! bounded queue, with each request's work drawn from the service-time
//! distribution on the named stream `service` — so live and simulated
//! replicas differ only in what the real machine adds. Work is either a
//! sleep or a CPU busy-spin on a blocking thread, so that the container's
//! CPU accounting (and its CPU limit) sees real load.
//!
//! Paths: `/healthz` → 200 `ok`; `/readyz` → 200 `ready`, or 503 `draining`
//! once shutdown began; `/metrics` → Prometheus text; any other path (e.g.
//! `/work`), whatever the method, is a work request: 200 `done` with an
//! `X-Orkestra-Work-Seconds` header, or 503 `queue full` if `queue_limit`
//! requests already wait. Only work requests are counted in the metrics.

mod metrics;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use orkestra_core::dist::DurationDist;
use orkestra_core::rng::{StreamRng, names, stream};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::http1::{self, Request, Response};
use metrics::Metrics;

/// How long shutdown waits for in-flight requests before dropping them.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// How a request spends its drawn duration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Work {
    /// Busy-spin one blocking thread (real CPU load).
    Cpu,
    /// Sleep on a timer (1 ms resolution; no CPU load).
    Sleep,
}

impl Work {
    /// The command-line spelling: `cpu` or `sleep`.
    pub fn as_str(self) -> &'static str {
        match self {
            Work::Cpu => "cpu",
            Work::Sleep => "sleep",
        }
    }
}

/// Everything that defines one workload replica.
#[derive(Clone, Debug)]
pub struct WorkloadConfig {
    /// Work per request.
    pub service_time: DurationDist,
    /// How the work is done.
    pub work: Work,
    /// Requests served at once (≥ 1).
    pub concurrency: u32,
    /// Requests that may wait for a slot; `None` is unbounded, `Some(0)` never waits.
    pub queue_limit: Option<u32>,
    /// Seed of the `service` stream the durations are drawn from.
    pub seed: u64,
    /// Address the binary binds ([`serve`] takes an already bound listener).
    pub bind: SocketAddr,
    /// Share of work requests answered 500 after their work (a bad
    /// revision's `errorRate`), drawn from the stream `service/errors`.
    pub error_rate: f64,
    /// Multiplier of every drawn duration (a bad revision's `slowdown`).
    pub slowdown: f64,
}

/// State shared by all connections.
struct Shared {
    dist: DurationDist,
    work: Work,
    concurrency: u32,
    queue_limit: Option<u32>,
    slots: Semaphore,
    rng: Mutex<StreamRng>,
    error_rate: f64,
    errors: Mutex<StreamRng>,
    slowdown: f64,
    metrics: Metrics,
    draining: AtomicBool,
}

/// Serves `listener` until `shutdown` completes, then drains: stops
/// accepting, answers `/readyz` with 503 `draining`, closes idle connections
/// and lets in-flight requests finish for up to [`DRAIN_TIMEOUT`]. While
/// draining, a response carries `Connection: close` unless its client has
/// already sent the next request (pipelined), which is then served too.
pub async fn serve(
    cfg: WorkloadConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let shared = Arc::new(Shared {
        slots: Semaphore::new(cfg.concurrency.max(1) as usize),
        rng: Mutex::new(stream(cfg.seed, names::SERVICE)),
        error_rate: cfg.error_rate,
        errors: Mutex::new(stream(cfg.seed, &format!("{}/errors", names::SERVICE))),
        slowdown: cfg.slowdown,
        dist: cfg.service_time,
        work: cfg.work,
        concurrency: cfg.concurrency.max(1),
        queue_limit: cfg.queue_limit,
        metrics: Metrics::default(),
        draining: AtomicBool::new(false),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    conns.spawn(connection(stream, Arc::clone(&shared), stop_rx.clone()));
                }
                Err(e) => {
                    // Out of file descriptors or an aborted handshake: back off, go on.
                    eprintln!("orkestra-workload: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    shared.draining.store(true, Ordering::SeqCst);
    let _ = stop_tx.send(true);
    let drain = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(DRAIN_TIMEOUT, drain).await.is_err() {
        eprintln!(
            "orkestra-workload: {} connections still busy after {DRAIN_TIMEOUT:?}; dropping them",
            conns.len()
        );
        conns.shutdown().await;
    }
    Ok(())
}

/// Serves one keep-alive connection.
async fn connection(stream: TcpStream, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    loop {
        // Idle: wait for the next request's first byte, or close on shutdown.
        tokio::select! {
            biased;
            got = rd.fill_buf() => match got {
                Ok(buf) if !buf.is_empty() => {}
                _ => return,
            },
            _ = stop.wait_for(|stopping| *stopping) => return,
        }
        let req = match http1::read_request(&mut rd).await {
            Ok(Some(req)) => req,
            Ok(None) => return,
            Err(e) => {
                if e.kind() == io::ErrorKind::InvalidData {
                    let mut resp = Response::new(400, format!("bad request: {e}\n"));
                    resp.headers.push(("Connection".into(), "close".into()));
                    let _ = http1::write_response(&mut wr, &resp).await;
                }
                return;
            }
        };
        let mut resp = shared.handle(&req).await;
        // Draining: keep the connection only while its client already sent more.
        let close = http1::wants_close(&req.headers)
            || (shared.draining.load(Ordering::SeqCst) && !has_input_now(&mut rd).await);
        if close {
            resp.headers.push(("Connection".into(), "close".into()));
        } else if req.header("connection").is_some() {
            resp.headers
                .push(("Connection".into(), "keep-alive".into()));
        }
        if http1::write_response(&mut wr, &resp).await.is_err() || close {
            return;
        }
    }
}

impl Shared {
    async fn handle(&self, req: &Request) -> Response {
        let path = req.path.split('?').next().unwrap_or_default();
        match path {
            "/healthz" => text(200, "ok"),
            "/readyz" if self.draining.load(Ordering::SeqCst) => text(503, "draining"),
            "/readyz" => text(200, "ready"),
            "/metrics" => {
                let mut resp = Response::new(200, self.metrics.render(self.concurrency));
                resp.headers.push((
                    "Content-Type".into(),
                    "text/plain; version=0.0.4; charset=utf-8".into(),
                ));
                resp
            }
            _ => self.work().await,
        }
    }

    /// Takes a slot (waiting FIFO if allowed), does the drawn work, answers.
    async fn work(&self) -> Response {
        let arrived = Instant::now();
        let permit = match self.slots.try_acquire() {
            Ok(permit) => permit,
            Err(_) => {
                if !self.metrics.try_enqueue(self.queue_limit) {
                    self.metrics.reject();
                    return text(503, "queue full");
                }
                let waiting = Waiting(&self.metrics);
                let permit = self
                    .slots
                    .acquire()
                    .await
                    .expect("the slots are never closed");
                drop(waiting);
                permit
            }
        };
        self.metrics.start_service();
        let started = Instant::now();
        let drawn = {
            let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
            self.dist.sample(&mut *rng)
        };
        let drawn = if self.slowdown == 1.0 {
            drawn
        } else {
            orkestra_core::time::SimDuration((drawn.0 as f64 * self.slowdown).round() as u64)
        };
        let work = Duration::from_nanos(drawn.0);
        match self.work {
            Work::Sleep => tokio::time::sleep(work).await,
            Work::Cpu => {
                let _ = tokio::task::spawn_blocking(move || spin(work)).await;
            }
        }
        drop(permit);
        self.metrics
            .finish_service(work, started.elapsed(), started - arrived);
        let failed = self.error_rate > 0.0 && {
            let mut rng = self.errors.lock().unwrap_or_else(|e| e.into_inner());
            rand::RngExt::random::<f64>(&mut *rng) < self.error_rate
        };
        let mut resp = if failed {
            text(500, "injected error")
        } else {
            text(200, "done")
        };
        resp.headers.push((
            "X-Orkestra-Work-Seconds".into(),
            drawn.as_secs_f64().to_string(),
        ));
        resp
    }
}

/// Whether request bytes are buffered or readable without waiting.
async fn has_input_now<R: AsyncBufRead + Unpin>(rd: &mut R) -> bool {
    std::future::poll_fn(|cx| match Pin::new(&mut *rd).poll_fill_buf(cx) {
        Poll::Ready(Ok(buf)) => Poll::Ready(!buf.is_empty()),
        Poll::Ready(Err(_)) | Poll::Pending => Poll::Ready(false),
    })
    .await
}

/// Holds a waiting place; gives it back when dropped (also if the request is dropped).
struct Waiting<'a>(&'a Metrics);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.dequeue();
    }
}

/// Burns CPU on this thread until `work` has elapsed on the monotonic clock.
fn spin(work: Duration) {
    let start = Instant::now();
    while start.elapsed() < work {
        std::hint::spin_loop();
    }
}

fn text(status: u16, body: &str) -> Response {
    let mut resp = Response::new(status, body);
    resp.headers
        .push(("Content-Type".into(), "text/plain; charset=utf-8".into()));
    resp
}
