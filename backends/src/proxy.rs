//! Service discovery and balancing: one reverse proxy per service.
//!
//! Key decision: the proxy holds no policy. Its endpoint set is whatever the
//! reconciler publishes (ready containers, at ports published on their
//! host's address — never bridge IPs), and each request's endpoint is
//! chosen by the same `Balance` struct the simulator drives, fed back with
//! `on_start`/`on_complete`. Connections to endpoints are pooled and kept
//! alive, so the proxy adds little latency.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use orkestra_core::balance::Balance;
use orkestra_core::model::ReplicaId;
use orkestra_core::rng::StreamRng;
use orkestra_core::time::{SimDuration, SimTime};
use orkestra_workload::http1::{self, Request, Response};
use tokio::io::BufReader;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A ready replica as the proxy sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The replica.
    pub replica: ReplicaId,
    /// Where its workload port is published.
    pub addr: SocketAddr,
}

/// The endpoint set, published by the reconciler.
pub type Endpoints = Arc<Vec<Endpoint>>;

/// Header the proxy sets on its own error responses.
pub const PROXY_ERROR: &str = "x-orkestra-proxy";

struct Picker {
    balancer: Box<dyn Balance>,
    rng: StreamRng,
    ids: Vec<ReplicaId>,
    endpoints: Endpoints,
    /// The balancer's clock (`on_time`): wall time since the proxy started,
    /// the same clock its latencies are measured on.
    started: Instant,
}

type Pool = Arc<Mutex<HashMap<SocketAddr, Vec<BufReader<TcpStream>>>>>;

/// Starts a proxy on `127.0.0.1:0`; returns its address.
pub async fn spawn(
    balancer: Box<dyn Balance>,
    rng: StreamRng,
    mut endpoints: watch::Receiver<Endpoints>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let initial = endpoints.borrow_and_update().clone();
    let mut balancer = balancer;
    let ids: Vec<ReplicaId> = initial.iter().map(|e| e.replica).collect();
    balancer.on_endpoints(&ids);
    let picker = Arc::new(Mutex::new(Picker {
        balancer,
        rng,
        ids,
        endpoints: initial,
        started: Instant::now(),
    }));
    let pool: Pool = Arc::default();
    {
        let picker = picker.clone();
        tokio::spawn(async move {
            while endpoints.changed().await.is_ok() {
                let eps = endpoints.borrow_and_update().clone();
                let mut p = picker.lock().expect("picker lock");
                p.ids = eps.iter().map(|e| e.replica).collect();
                p.endpoints = eps;
                let Picker { balancer, ids, .. } = &mut *p;
                balancer.on_endpoints(ids);
            }
        });
    }
    let handle = tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                continue;
            };
            let _ = client.set_nodelay(true);
            tokio::spawn(serve_client(client, picker.clone(), pool.clone()));
        }
    });
    Ok((addr, handle))
}

fn error_response(status: u16, why: &str) -> Response {
    Response {
        status,
        reason: http1::reason_phrase(status).to_string(),
        headers: vec![(PROXY_ERROR.to_string(), why.to_string())],
        body: why.as_bytes().to_vec(),
    }
}

async fn serve_client(client: TcpStream, picker: Arc<Mutex<Picker>>, pool: Pool) {
    let (r, mut w) = client.into_split();
    let mut r = BufReader::new(r);
    while let Ok(Some(req)) = http1::read_request(&mut r).await {
        let close = http1::wants_close(&req.headers);
        let chosen = {
            let mut p = picker.lock().expect("picker lock");
            let Picker {
                balancer,
                rng,
                ids,
                endpoints,
                started,
            } = &mut *p;
            balancer.on_time(SimTime(started.elapsed().as_nanos() as u64));
            balancer.pick(ids, rng).map(|i| {
                let e = endpoints[i];
                balancer.on_start(e.replica);
                e
            })
        };
        let resp = match chosen {
            None => error_response(503, "no-endpoint"),
            Some(ep) => {
                let started = Instant::now();
                let result = forward(&pool, ep.addr, &req).await;
                let ok = matches!(&result, Ok(r) if r.status < 500);
                let latency = SimDuration(started.elapsed().as_nanos() as u64);
                let mut p = picker.lock().expect("picker lock");
                let now = SimTime(p.started.elapsed().as_nanos() as u64);
                p.balancer.on_time(now);
                p.balancer.on_complete(ep.replica, latency, ok);
                drop(p);
                result.unwrap_or_else(|_| error_response(502, "endpoint-failed"))
            }
        };
        if http1::write_response(&mut w, &resp).await.is_err() || close {
            return;
        }
    }
}

/// Sends `req` to `addr` over a pooled keep-alive connection.
async fn forward(pool: &Pool, addr: SocketAddr, req: &Request) -> std::io::Result<Response> {
    let pooled = pool
        .lock()
        .expect("pool lock")
        .get_mut(&addr)
        .and_then(Vec::pop);
    let mut conn = match pooled {
        Some(c) => c,
        None => {
            let s = TcpStream::connect(addr).await?;
            s.set_nodelay(true)?;
            BufReader::new(s)
        }
    };
    http1::write_request(conn.get_mut(), req).await?;
    let resp = http1::read_response(&mut conn).await?;
    if !http1::wants_close(&resp.headers) {
        pool.lock()
            .expect("pool lock")
            .entry(addr)
            .or_default()
            .push(conn);
    }
    Ok(resp)
}
