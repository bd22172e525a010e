//! Service discovery and balancing: one reverse proxy per service.
//!
//! Key decision: the proxy holds no policy. Its endpoint set is whatever the
//! reconciler publishes (ready containers, at ports published on their
//! host's address — never bridge IPs), and each request's endpoint is
//! chosen by the same core [`Router`] the simulator drives (clients, keys,
//! retry budget, outlier feedback), or in central-queue mode handed out by
//! the same [`SlotPool`]; the proxy only moves bytes. Connections to
//! endpoints are pooled and kept alive, so the proxy adds little latency.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use orkestra_core::balance::{BalancingSpec, Outcome, Router, Routing, SlotPool};
use orkestra_core::model::ReplicaId;
use orkestra_core::rng::{StreamRng, names, stream};
use orkestra_core::time::{SimDuration, SimTime};
use orkestra_workload::http1::{self, Request, Response};
use tokio::io::BufReader;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};

/// A ready replica as the proxy sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The replica.
    pub replica: ReplicaId,
    /// Where its workload port is published.
    pub addr: SocketAddr,
    /// Its `weighted-round-robin` weight (from the service's `weights`).
    pub weight: u32,
}

/// The endpoint set, published by the reconciler.
pub type Endpoints = Arc<Vec<Endpoint>>;

/// Header the proxy sets on its own error responses.
pub const PROXY_ERROR: &str = "x-orkestra-proxy";

/// What the proxy of one service runs: the same settings the simulator reads.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    /// Service name (names the random streams, as in the simulator).
    pub service: String,
    /// The balancing policy, or central-queue mode.
    pub routing: Routing,
    /// `[services.NAME.balancing]`.
    pub balancing: BalancingSpec,
    /// Requests one replica serves at once (central-queue slots).
    pub concurrency: u32,
    /// Run seed.
    pub seed: u64,
    /// Scenario time runs this much faster than wall time (discovery delay
    /// is scenario time).
    pub speed: f64,
}

/// Counters the proxy keeps for the run summary.
#[derive(Debug, Default)]
pub struct ProxyStats {
    /// Retry attempts.
    pub retries: AtomicU64,
    /// Hosts ejected by outlier detection, over all clients.
    pub ejections: AtomicU64,
    /// Central-queue mode: requests waiting at the proxy for a free slot now.
    pub waiting: AtomicU64,
}

/// Counts one request in [`ProxyStats::waiting`] while it lives (a waiting
/// request's future is dropped if its client goes away).
struct Waiting<'a>(&'a AtomicU64);

impl<'a> Waiting<'a> {
    fn new(n: &'a AtomicU64) -> Self {
        n.fetch_add(1, Ordering::Relaxed);
        Waiting(n)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How one endpoint list is served.
enum Front {
    /// A router picks per request.
    Balanced(Router),
    /// Requests wait for a free slot.
    Central {
        pool: SlotPool<oneshot::Sender<Endpoint>>,
        /// Replicas whose slots were added.
        known: HashSet<ReplicaId>,
        /// Slots per replica.
        concurrency: u32,
    },
}

struct Picker {
    front: Front,
    by_id: HashMap<ReplicaId, Endpoint>,
    /// The balancers' clock (`on_time`): wall time since the proxy started,
    /// the same clock its latencies are measured on.
    started: Instant,
    /// Requests being forwarded, per endpoint address (for draining).
    in_flight: HashMap<SocketAddr, u32>,
}

impl Picker {
    fn now(&self) -> SimTime {
        SimTime(self.started.elapsed().as_nanos() as u64)
    }

    /// A request is being forwarded to `addr`.
    fn begin(&mut self, addr: SocketAddr) {
        *self.in_flight.entry(addr).or_default() += 1;
    }

    /// A request forwarded to `addr` has its answer (or failed).
    fn end(&mut self, addr: SocketAddr) {
        if let Some(n) = self.in_flight.get_mut(&addr) {
            *n -= 1;
            if *n == 0 {
                self.in_flight.remove(&addr);
            }
        }
    }

    /// Installs a new endpoint list (after the discovery delay).
    fn set_endpoints(&mut self, eps: Endpoints) {
        self.by_id = eps.iter().map(|e| (e.replica, *e)).collect();
        match &mut self.front {
            Front::Balanced(router) => router.replace(eps.iter().map(|e| (e.replica, e.weight))),
            Front::Central {
                pool,
                known,
                concurrency,
            } => {
                known.retain(|r| self.by_id.contains_key(r));
                for e in eps.iter() {
                    if known.insert(e.replica) {
                        pool.add(e.replica, *concurrency);
                    }
                }
                hand_out(pool, &self.by_id);
            }
        }
    }

    /// The router (balanced mode).
    fn router(&mut self) -> &mut Router {
        match &mut self.front {
            Front::Balanced(router) => router,
            Front::Central { .. } => unreachable!("central-queue requests take slots"),
        }
    }

    /// A free slot for a central-queue request, or a place in the queue.
    fn take_slot(&mut self) -> Result<Endpoint, oneshot::Receiver<Endpoint>> {
        let by_id = &self.by_id;
        let Front::Central { pool, .. } = &mut self.front else {
            unreachable!("central-queue requests take slots")
        };
        if let Some(r) = pool.take(|r| by_id.contains_key(&r)) {
            return Ok(by_id[&r]);
        }
        let (tx, rx) = oneshot::channel();
        pool.wait(tx);
        Err(rx)
    }

    /// A central-queue request finished on `replica`: its slot serves the
    /// oldest waiting request, or becomes free.
    fn release(&mut self, replica: ReplicaId) {
        if !self.by_id.contains_key(&replica) {
            return;
        }
        let by_id = &self.by_id;
        let Front::Central { pool, .. } = &mut self.front else {
            unreachable!("central-queue requests take slots")
        };
        pool.release(replica);
        hand_out(pool, by_id);
    }
}

/// Gives free slots to waiting requests, oldest first; a waiter whose
/// client went away is skipped and its slot stays free.
fn hand_out(pool: &mut SlotPool<oneshot::Sender<Endpoint>>, by_id: &HashMap<ReplicaId, Endpoint>) {
    while let Some((r, tx)) = pool.pair(|r| by_id.contains_key(&r), |tx| !tx.is_closed()) {
        if tx.send(by_id[&r]).is_err() {
            // It gave up between the check and the send: keep the slot.
            pool.release(r);
        }
    }
}

type Pool = Arc<Mutex<HashMap<SocketAddr, Vec<BufReader<TcpStream>>>>>;

/// A running proxy.
pub struct Running {
    /// Where it listens (127.0.0.1).
    pub addr: SocketAddr,
    /// Its accept loop.
    pub handle: tokio::task::JoinHandle<()>,
    /// Its counters.
    pub stats: Arc<ProxyStats>,
    /// What the controller drains endpoints through.
    pub drain: Drain,
    /// Weighted routing to a rollout's new revision, when the service has
    /// a canary or blue/green rollout.
    pub split: Option<Split>,
}

/// The controller's view of one proxy for draining a replica: has the
/// proxy stopped routing to it, and have its requests there finished?
#[derive(Clone)]
pub struct Drain {
    pickers: Vec<Arc<Mutex<Picker>>>,
    pool: Pool,
}

impl Drain {
    /// True once the proxy's balancers no longer list `addr` and no
    /// request forwarded to it is waiting for its answer: the endpoint can
    /// be stopped without failing a request. Its idle pooled connections
    /// are dropped then, so none is reused after the container stops.
    pub fn drained(&self, addr: SocketAddr) -> bool {
        let idle = self.pickers.iter().all(|p| {
            let p = p.lock().expect("picker lock");
            !p.by_id.values().any(|e| e.addr == addr) && !p.in_flight.contains_key(&addr)
        });
        if idle {
            self.pool.lock().expect("pool lock").remove(&addr);
        }
        idle
    }
}

/// Argo Rollouts' traffic routing in the proxy: each request goes to the
/// new revision's endpoints with probability `weight`/100 (stream
/// `policy/rollout/<svc>`, as in the simulator), balanced there by its own
/// balancer (`policy/balance/<svc>/new`); the outcomes of those requests
/// feed the rollout's analysis.
#[derive(Clone)]
pub struct Split {
    /// The new revision's ready endpoints, published by the controller.
    pub endpoints: watch::Sender<Endpoints>,
    /// Percent of requests (0..=100) sent to the new revision.
    pub weight: Arc<AtomicU8>,
    /// (latency ns, served) of the new revision's requests not yet taken.
    pub outcomes: Arc<Mutex<Vec<(u64, bool)>>>,
}

/// Where a proxy routes: the service's endpoints and, during a split
/// rollout, the new revision's.
struct Routes {
    stable: Arc<Mutex<Picker>>,
    canary: Option<(Arc<Mutex<Picker>>, Split, Mutex<StreamRng>)>,
}

/// A picker over one endpoint list, following `endpoints` after the
/// discovery delay; `tag` names its streams (`""`, or `"/new"` for a
/// rollout's new revision).
fn picker(
    config: &ProxyConfig,
    tag: &str,
    mut endpoints: watch::Receiver<Endpoints>,
) -> Arc<Mutex<Picker>> {
    let b = &config.balancing;
    let front = match config.routing {
        // The same stream names as the simulator's routers.
        Routing::Balanced(policy) => {
            Front::Balanced(Router::new(policy, b, config.seed, &config.service, tag))
        }
        Routing::CentralQueue => Front::Central {
            pool: SlotPool::new(),
            known: HashSet::new(),
            concurrency: config.concurrency.max(1),
        },
    };
    let mut picker = Picker {
        front,
        by_id: HashMap::new(),
        started: Instant::now(),
        in_flight: HashMap::new(),
    };
    picker.set_endpoints(endpoints.borrow_and_update().clone());
    let picker = Arc::new(Mutex::new(picker));
    let follower = picker.clone();
    let delay = Duration::from_secs_f64(b.discovery_delay.as_secs_f64() / config.speed.max(1e-9));
    tokio::spawn(async move {
        while endpoints.changed().await.is_ok() {
            // Service discovery's propagation delay: the balancers learn
            // of the change this much later (and then of the latest list).
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let eps = endpoints.borrow_and_update().clone();
            follower.lock().expect("picker lock").set_endpoints(eps);
        }
    });
    picker
}

/// Starts a proxy on `127.0.0.1:0`; with `split`, it also routes to a
/// rollout's new revision by weight.
pub async fn spawn(
    config: ProxyConfig,
    endpoints: watch::Receiver<Endpoints>,
    split: bool,
) -> std::io::Result<Running> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let stable = picker(&config, "", endpoints);
    let canary = split.then(|| {
        let (tx, rx) = watch::channel::<Endpoints>(Arc::new(Vec::new()));
        let split = Split {
            endpoints: tx,
            weight: Arc::new(AtomicU8::new(0)),
            outcomes: Arc::default(),
        };
        let rng = stream(
            config.seed,
            &format!("{}/rollout/{}", names::POLICY, config.service),
        );
        (picker(&config, "/new", rx), split, Mutex::new(rng))
    });
    let stats = Arc::new(ProxyStats::default());
    let pool: Pool = Arc::default();
    let mut pickers = vec![stable.clone()];
    pickers.extend(canary.as_ref().map(|c| c.0.clone()));
    let drain = Drain {
        pickers,
        pool: pool.clone(),
    };
    let split = canary.as_ref().map(|c| c.1.clone());
    let routes = Arc::new(Routes { stable, canary });
    let handle = {
        let stats = stats.clone();
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                tokio::spawn(serve_client(
                    client,
                    routes.clone(),
                    pool.clone(),
                    stats.clone(),
                ));
            }
        })
    };
    Ok(Running {
        addr,
        handle,
        stats,
        drain,
        split,
    })
}

fn error_response(status: u16, why: &str) -> Response {
    Response {
        status,
        reason: http1::reason_phrase(status).to_string(),
        headers: vec![(PROXY_ERROR.to_string(), why.to_string())],
        body: why.as_bytes().to_vec(),
    }
}

async fn serve_client(client: TcpStream, routes: Arc<Routes>, pool: Pool, stats: Arc<ProxyStats>) {
    let (r, mut w) = client.into_split();
    let mut r = BufReader::new(r);
    while let Ok(Some(req)) = http1::read_request(&mut r).await {
        let close = http1::wants_close(&req.headers);
        // The revision first (a split rollout), then the endpoint.
        let canary = routes.canary.as_ref().filter(|(_, split, rng)| {
            orkestra_core::rollout::routes_to_new(
                split.weight.load(Ordering::Relaxed),
                &mut *rng.lock().expect("route rng"),
            )
        });
        let picker = canary.map_or(&routes.stable, |c| &c.0);
        let started = Instant::now();
        let central = matches!(
            picker.lock().expect("picker lock").front,
            Front::Central { .. }
        );
        let resp = if central {
            serve_central(picker, &pool, &req, &stats).await
        } else {
            serve_balanced(picker, &pool, &req, &stats).await
        };
        if let Some((_, split, _)) = canary {
            let latency = started.elapsed().as_nanos() as u64;
            split
                .outcomes
                .lock()
                .expect("outcomes")
                .push((latency, resp.status < 500));
        }
        if http1::write_response(&mut w, &resp).await.is_err() || close {
            return;
        }
    }
}

/// Central-queue mode: wait for a free slot, oldest request first.
async fn serve_central(
    picker: &Mutex<Picker>,
    pool: &Pool,
    req: &Request,
    stats: &ProxyStats,
) -> Response {
    let slot = picker.lock().expect("picker lock").take_slot();
    let ep = match slot {
        Ok(ep) => ep,
        Err(rx) => {
            let _waiting = Waiting::new(&stats.waiting);
            match rx.await {
                Ok(ep) => ep,
                Err(_) => return error_response(503, "no-endpoint"),
            }
        }
    };
    picker.lock().expect("picker lock").begin(ep.addr);
    let result = forward(pool, ep.addr, req).await;
    {
        let mut p = picker.lock().expect("picker lock");
        p.end(ep.addr);
        p.release(ep.replica);
    }
    result.unwrap_or_else(|_| error_response(502, "endpoint-failed"))
}

/// A balancer picks; refused or rejected attempts are retried within the budget.
async fn serve_balanced(
    picker: &Mutex<Picker>,
    pool: &Pool,
    req: &Request,
    stats: &ProxyStats,
) -> Response {
    let mut attempt = {
        let mut p = picker.lock().expect("picker lock");
        let now = p.now();
        p.router().route(now)
    };
    loop {
        let chosen = {
            let mut p = picker.lock().expect("picker lock");
            let now = p.now();
            let e = p.router().pick(&attempt, now).map(|r| p.by_id[&r]);
            if let Some(e) = e {
                p.begin(e.addr);
            }
            e
        };
        let Some(ep) = chosen else {
            return error_response(503, "no-endpoint");
        };
        let started = Instant::now();
        let result = forward(pool, ep.addr, req).await;
        let ok = matches!(&result, Ok(r) if r.status < 500);
        let latency = SimDuration(started.elapsed().as_nanos() as u64);
        let retry = {
            let mut p = picker.lock().expect("picker lock");
            p.end(ep.addr);
            let now = p.now();
            let router = p.router();
            router.complete(attempt.client, ep.replica, latency, ok, now);
            if !ok {
                stats.ejections.store(router.ejections(), Ordering::Relaxed);
            }
            // Refused (the endpoint is gone) or 503 (its queue is full) may be retried.
            let retriable = match &result {
                Err(_) => true,
                Ok(r) => r.status == 503,
            };
            !ok && router.outcome(&mut attempt, retriable, now) == Outcome::Retry
        };
        if retry {
            stats.retries.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        return result.unwrap_or_else(|_| error_response(502, "endpoint-failed"));
    }
}

/// Sends `req` to `addr` over a pooled keep-alive connection. A pooled
/// connection the server closed while idle (a draining replica closes its
/// idle connections) fails before any answer: the request is sent once
/// more on a fresh connection, as HTTP clients do for a reused connection.
async fn forward(pool: &Pool, addr: SocketAddr, req: &Request) -> std::io::Result<Response> {
    let pooled = pool
        .lock()
        .expect("pool lock")
        .get_mut(&addr)
        .and_then(Vec::pop);
    if let Some(conn) = pooled
        && let Ok(resp) = exchange(pool, addr, conn, req).await
    {
        return Ok(resp);
    }
    let s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    exchange(pool, addr, BufReader::new(s), req).await
}

/// One request and its response on `conn`; the connection goes back to the
/// pool unless the server closes it.
async fn exchange(
    pool: &Pool,
    addr: SocketAddr,
    mut conn: BufReader<TcpStream>,
    req: &Request,
) -> std::io::Result<Response> {
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

#[cfg(test)]
mod tests {
    //! The proxy against plain HTTP servers on loopback (no Docker): the
    //! core Router's retries and the SlotPool's one-request-per-slot rule,
    //! as the proxy drives them over real TCP.
    use std::sync::atomic::AtomicU32;

    use orkestra_core::balance::Policy;

    use super::*;

    /// An HTTP server on 127.0.0.1 that answers 200 after `delay`, counting
    /// requests in service at once (`busy`) and the most seen (`max`).
    async fn server(delay: Duration, max: Arc<AtomicU32>) -> SocketAddr {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let busy = Arc::new(AtomicU32::new(0));
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let (busy, max) = (busy.clone(), max.clone());
                tokio::spawn(async move {
                    let (r, mut w) = conn.into_split();
                    let mut r = BufReader::new(r);
                    while let Ok(Some(_)) = http1::read_request(&mut r).await {
                        let n = busy.fetch_add(1, Ordering::SeqCst) + 1;
                        max.fetch_max(n, Ordering::SeqCst);
                        tokio::time::sleep(delay).await;
                        busy.fetch_sub(1, Ordering::SeqCst);
                        let ok = Response::new(200, "ok");
                        if http1::write_response(&mut w, &ok).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    async fn get(proxy: SocketAddr) -> u16 {
        let mut conn = BufReader::new(TcpStream::connect(proxy).await.unwrap());
        http1::write_request(conn.get_mut(), &Request::new("GET", "/"))
            .await
            .unwrap();
        http1::read_response(&mut conn).await.unwrap().status
    }

    fn config(routing: Routing, balancing: BalancingSpec) -> ProxyConfig {
        ProxyConfig {
            service: "web".into(),
            routing,
            balancing,
            concurrency: 1,
            seed: 1,
            speed: 1.0,
        }
    }

    fn endpoints(addrs: &[SocketAddr]) -> Endpoints {
        Arc::new(
            addrs
                .iter()
                .enumerate()
                .map(|(i, &addr)| Endpoint {
                    replica: ReplicaId(i as u32),
                    addr,
                    weight: 1,
                })
                .collect(),
        )
    }

    #[tokio::test]
    async fn central_queue_gives_each_slot_one_request_at_a_time() {
        // One replica with concurrency 1 and 8 requests at once: all are
        // served, never two at the replica together, and none is left
        // counted as waiting.
        let max = Arc::new(AtomicU32::new(0));
        let addr = server(Duration::from_millis(20), max.clone()).await;
        let (_tx, rx) = watch::channel(endpoints(&[addr]));
        let cfg = config(Routing::CentralQueue, BalancingSpec::default());
        let proxy = spawn(cfg, rx, false).await.unwrap();
        let mut clients = tokio::task::JoinSet::new();
        for _ in 0..8 {
            clients.spawn(get(proxy.addr));
        }
        while let Some(status) = clients.join_next().await {
            assert_eq!(status.unwrap(), 200);
        }
        assert_eq!(max.load(Ordering::SeqCst), 1);
        assert_eq!(proxy.stats.waiting.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_refused_attempt_is_retried_on_the_next_endpoint() {
        // Round robin over [closed port, live server] with one retry: every
        // request's first pick is the closed port (picks alternate 0, 1, 0,
        // 1 and each request takes two), so 10 requests make 10 retries and
        // all succeed; the default budget (10/s × 10 s) covers them.
        let closed = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let dead = closed.local_addr().unwrap();
        drop(closed);
        let live = server(Duration::ZERO, Arc::default()).await;
        let (_tx, rx) = watch::channel(endpoints(&[dead, live]));
        let balancing = BalancingSpec {
            retries: 1,
            ..Default::default()
        };
        let cfg = config(Routing::Balanced(Policy::RoundRobin), balancing);
        let proxy = spawn(cfg, rx, false).await.unwrap();
        for _ in 0..10 {
            assert_eq!(get(proxy.addr).await, 200);
        }
        assert_eq!(proxy.stats.retries.load(Ordering::SeqCst), 10);
    }
}
