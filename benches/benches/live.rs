//! Live-mode figures on the local Docker engine (not a criterion timing:
//! latency percentiles and reaction times are the figures):
//!
//! 1. proxy overhead — the same workload container reached directly and
//!    through Orkestra's proxy: added p50/p99 latency (sequential keep-alive
//!    requests) and requests/s at saturation (32 concurrent clients);
//! 2. reaction time — from `docker kill` of a replica to its replacement
//!    passing readiness, with the controller woken by Docker's event stream.
//!
//! Run: `cargo bench -p orkestra-benches --bench live`. Needs a Docker engine;
//! without one it prints a SKIP line.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use orkestra_backends::controller::{Clock, Controller};
use orkestra_backends::proxy::{self, Endpoint, Endpoints};
use orkestra_backends::{docker, hosts, image};
use orkestra_core::dist::DurationDist;
use orkestra_core::metrics::ServiceMetrics;
use orkestra_core::model::{DesiredState, ReplicaId, Resources, Work};
use orkestra_core::rng::stream;
use orkestra_core::scenario::Scenario;
use orkestra_core::testing::service;
use orkestra_core::time::SimDuration;
use orkestra_workload::http1::{self, Request};
use tokio::io::BufReader;
use tokio::net::TcpStream;
use tokio::sync::watch;

const RUN: &str = "bench-live";

fn request() -> Request {
    Request {
        method: "GET".into(),
        path: "/work".into(),
        headers: vec![("host".into(), "b".into())],
        body: Vec::new(),
    }
}

async fn connect(addr: SocketAddr) -> BufReader<TcpStream> {
    let s = TcpStream::connect(addr).await.expect("connect");
    s.set_nodelay(true).unwrap();
    BufReader::new(s)
}

/// Sequential requests on one keep-alive connection: latencies in µs, sorted.
async fn latencies(addr: SocketAddr, n: usize) -> Vec<f64> {
    let mut c = connect(addr).await;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        http1::write_request(c.get_mut(), &request()).await.unwrap();
        let r = http1::read_response(&mut c).await.unwrap();
        assert_eq!(r.status, 200);
        v.push(t.elapsed().as_secs_f64() * 1e6);
    }
    v.sort_by(f64::total_cmp);
    v
}

fn pct(v: &[f64], p: f64) -> f64 {
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// Requests/s with `clients` keep-alive clients for `secs`.
async fn saturation(addr: SocketAddr, clients: usize, secs: f64) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let done = done.clone();
        tasks.spawn(async move {
            let mut c = connect(addr).await;
            while Instant::now() < end {
                http1::write_request(c.get_mut(), &request()).await.unwrap();
                http1::read_response(&mut c).await.unwrap();
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    done.load(Ordering::Relaxed) as f64 / secs
}

fn scenario(replicas: u32) -> Scenario {
    let mut svc = service("bench");
    svc.replicas = replicas;
    svc.concurrency = 64;
    svc.work = Work::Sleep;
    svc.requests = Resources::new(100, 64 << 20);
    svc.limits = Resources::new(1000, 128 << 20);
    svc.service_time = DurationDist::constant(SimDuration::ZERO);
    Scenario {
        storage: Default::default(),
        name: RUN.into(),
        description: String::new(),
        source: String::new(),
        seed: 1,
        duration: SimDuration::from_secs(60),
        sample_interval: SimDuration::from_secs(1),
        warm_start: true,
        node_metrics: false,
        placement: "first-fit".into(),
        scheduler: None,
        preset: None,
        queue: Default::default(),
        nodes: vec![],
        desired: DesiredState {
            services: vec![svc],
        },
        traffic: vec![orkestra_core::traffic::RateModel::Constant(1.0)],
        autoscalers: vec![None],
        slos: vec![None],
        metric_resolution: SimDuration::from_secs(15),
        jobs: vec![],
        node_groups: vec![],
        node_autoscaler: None,
        pool_costs: Default::default(),
        overrides: vec![],
        hash: String::new(),
        resilience: Default::default(),
        priority_classes: vec![],
        pod_disruption_budgets: vec![],
        namespaces: Default::default(),
    }
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // cargo bench --list compatibility
    }
    let hosts = match hosts::connect_all(None).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("\n*** SKIP: live benchmarks need a Docker engine: {e} ***\n");
            return;
        }
    };
    image::ensure(&hosts, false).await.expect("workload image");
    let host = hosts[0].clone();
    let _ = docker::down(&host.docker, Some(RUN), host.address).await;
    let network = docker::ensure_network(&host.docker, RUN).await.unwrap();
    let s = Arc::new(scenario(2));
    let (tx, rx) = watch::channel::<Endpoints>(Arc::new(Vec::new()));
    let metrics = vec![Arc::new(Mutex::new(ServiceMetrics::default()))];
    let mut ctl = Controller::new(
        hosts.clone(),
        RUN.into(),
        network,
        s.clone(),
        orkestra_core::registry::placer("first-fit").unwrap(),
        stream(1, "policy/placement"),
        Clock {
            start: Instant::now(),
            speed: 1.0,
        },
        vec![tx],
        Vec::new(), // no proxy here: deletions stop containers without draining
        metrics,
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while ctl.ready_counts()[0] < 2 {
        assert!(Instant::now() < deadline, "replicas not ready");
        ctl.tick().await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let eps = rx.borrow().clone();
    let direct = eps[0].addr;
    // A proxy over the first replica only, so both paths reach the same container.
    let (one_tx, one_rx) = watch::channel::<Endpoints>(Arc::new(vec![Endpoint {
        replica: ReplicaId(0),
        addr: direct,
        weight: 1,
    }]));
    let config = proxy::ProxyConfig {
        service: "web".into(),
        routing: Default::default(),
        balancing: Default::default(),
        concurrency: 1,
        seed: 1,
        speed: 1.0,
    };
    let running = proxy::spawn(config, one_rx, false).await.unwrap();
    let (proxy_addr, proxy_task) = (running.addr, running.handle);
    drop(one_tx);

    // 1. Overhead.
    let _ = latencies(direct, 2_000).await; // warm up
    let _ = latencies(proxy_addr, 2_000).await;
    let n = 20_000;
    let d = latencies(direct, n).await;
    let p = latencies(proxy_addr, n).await;
    println!(
        "proxy overhead, {n} sequential keep-alive requests to one container (constant 0 s work):"
    );
    println!(
        "  direct: p50 {:.0} µs, p99 {:.0} µs",
        pct(&d, 0.5),
        pct(&d, 0.99)
    );
    println!(
        "  proxy:  p50 {:.0} µs, p99 {:.0} µs",
        pct(&p, 0.5),
        pct(&p, 0.99)
    );
    println!(
        "  added:  p50 {:+.0} µs, p99 {:+.0} µs",
        pct(&p, 0.5) - pct(&d, 0.5),
        pct(&p, 0.99) - pct(&d, 0.99)
    );
    let rd = saturation(direct, 32, 3.0).await;
    let rp = saturation(proxy_addr, 32, 3.0).await;
    println!(
        "saturation, 32 keep-alive clients, 3 s: direct {rd:.0} req/s, proxy {rp:.0} req/s (ratio {:.2})",
        rp / rd
    );
    proxy_task.abort();

    // 2. Reaction time: kill a replica, time until the controller has a ready replacement.
    let wake = ctl.wake.clone();
    let mut reactions = Vec::new();
    for _ in 0..5 {
        let victim = docker::list(&host.docker, Some(RUN), host.address)
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.running)
            .unwrap();
        let events_before = ctl.events.lock().unwrap().len();
        let killed = Instant::now();
        docker::kill(&host.docker, &victim.id).await.unwrap();
        // The event stream would wake the loop; here we tick on wake or every 250 ms like `sim --live`.
        let docker = host.docker.clone();
        let w = wake.clone();
        let watcher = tokio::spawn(async move {
            use futures_util::StreamExt;
            let mut f = std::collections::HashMap::new();
            f.insert("type".to_string(), vec!["container".to_string()]);
            f.insert("event".to_string(), vec!["die".to_string()]);
            let mut s = docker.events(Some(
                bollard::query_parameters::EventsOptionsBuilder::default()
                    .filters(&f)
                    .build(),
            ));
            while let Some(Ok(_)) = s.next().await {
                w.notify_one();
            }
        });
        loop {
            ctl.tick().await.unwrap();
            let replaced = ctl.events.lock().unwrap()[events_before..]
                .iter()
                .any(|e| e.kind == "ready" && e.detail.contains("replaces="));
            if replaced {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                _ = wake.notified() => {}
            }
        }
        watcher.abort();
        reactions.push(killed.elapsed().as_secs_f64());
    }
    reactions.sort_by(f64::total_cmp);
    println!(
        "reaction time, docker kill → ready replacement (5 kills, 250 ms tick + die events): min {:.2} s, median {:.2} s, max {:.2} s",
        reactions[0], reactions[2], reactions[4]
    );
    let _ = ctl.teardown().await;
}
