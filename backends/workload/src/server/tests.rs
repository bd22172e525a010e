//! End-to-end tests on 127.0.0.1. Timing is asserted only as lower bounds
//! that the semantics guarantee; transient states are awaited, not slept for.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use orkestra_core::dist::DurationDist;
use orkestra_core::time::SimDuration;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::*;

struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: JoinHandle<io::Result<()>>,
}

async fn start(concurrency: u32, queue_limit: Option<u32>, work: SimDuration) -> Running {
    start_with(concurrency, queue_limit, work, 0.0, 1.0).await
}

async fn start_with(
    concurrency: u32,
    queue_limit: Option<u32>,
    work: SimDuration,
    error_rate: f64,
    slowdown: f64,
) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cfg = WorkloadConfig {
        service_time: DurationDist::constant(work),
        work: Work::Sleep,
        concurrency,
        queue_limit,
        seed: 1,
        bind: addr,
        error_rate,
        slowdown,
    };
    let (tx, rx) = oneshot::channel::<()>();
    let done = tokio::spawn(serve(cfg, listener, async {
        let _ = rx.await;
    }));
    Running {
        addr,
        stop: Some(tx),
        done,
    }
}

/// One request on a fresh connection.
async fn get(addr: SocketAddr, path: &str) -> Response {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (rd, mut wr) = stream.into_split();
    http1::write_request(&mut wr, &Request::new("GET", path))
        .await
        .unwrap();
    http1::read_response(&mut BufReader::new(rd)).await.unwrap()
}

/// `/metrics` as sample name (with labels) → value, checking that every
/// sample's family has `# HELP` and `# TYPE` lines.
async fn metrics(addr: SocketAddr) -> BTreeMap<String, f64> {
    let resp = get(addr, "/metrics").await;
    assert_eq!(resp.status, 200);
    let text = String::from_utf8(resp.body).unwrap();
    let (mut helped, mut typed, mut samples) = (Vec::new(), Vec::new(), BTreeMap::new());
    for line in text.lines() {
        let words: Vec<&str> = line.split(' ').collect();
        match words[..] {
            ["#", "HELP", name, ..] => helped.push(name.to_string()),
            ["#", "TYPE", name, "counter" | "gauge" | "summary"] => typed.push(name.to_string()),
            [sample, value] => {
                samples.insert(sample.to_string(), value.parse::<f64>().unwrap());
            }
            _ => panic!("unexpected metrics line {line:?}"),
        }
    }
    assert_eq!(helped, typed);
    for name in samples.keys() {
        let family = name.split('{').next().unwrap();
        let family = family.trim_end_matches("_sum").trim_end_matches("_count");
        assert!(typed.iter().any(|t| t == family), "{name} has no TYPE");
    }
    samples
}

/// Polls `/metrics` until `pred` holds (10 s at most).
async fn await_metrics(addr: SocketAddr, pred: impl Fn(&BTreeMap<String, f64>) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let m = metrics(addr).await;
        if pred(&m) {
            return;
        }
        assert!(Instant::now() < deadline, "metrics never matched: {m:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn concurrency_limit_is_honoured() {
    let srv = start(2, None, SimDuration::from_millis(200)).await;
    let t0 = Instant::now();
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let addr = srv.addr;
            tokio::spawn(async move {
                let resp = get(addr, "/work").await;
                (resp.status, t0.elapsed())
            })
        })
        .collect();
    let mut finished = Vec::new();
    for c in clients {
        let (status, at) = c.await.unwrap();
        assert_eq!(status, 200);
        finished.push(at);
    }
    finished.sort();
    // Two slots: the third and fourth requests start only after a first one ended.
    assert!(finished[0] >= Duration::from_millis(200), "{finished:?}");
    assert!(finished[2] >= Duration::from_millis(400), "{finished:?}");
    let m = metrics(srv.addr).await;
    assert_eq!(m[r#"orkestra_requests_total{outcome="ok"}"#], 4.0);
    assert_eq!(m["orkestra_busy_seconds_total"], 0.8);
    assert_eq!(m["orkestra_in_flight"], 0.0);
    // Two requests waited for a slot for at least one service time each.
    assert!(m["orkestra_queue_wait_seconds_sum"] >= 0.4, "{m:?}");
}

#[tokio::test]
async fn full_queue_is_answered_503() {
    let srv = start(1, Some(1), SimDuration::from_secs(60)).await;
    let addr = srv.addr;
    let first = tokio::spawn(get(addr, "/work"));
    await_metrics(addr, |m| m["orkestra_in_service"] == 1.0).await;
    let second = tokio::spawn(get(addr, "/work"));
    await_metrics(addr, |m| m["orkestra_queue_length"] == 1.0).await;
    let third = get(addr, "/work").await;
    assert_eq!(
        (third.status, third.body.as_slice()),
        (503, &b"queue full"[..])
    );
    let m = metrics(addr).await;
    assert_eq!(m[r#"orkestra_requests_total{outcome="rejected"}"#], 1.0);
    assert_eq!(m[r#"orkestra_requests_total{outcome="ok"}"#], 0.0);
    assert_eq!(m["orkestra_in_flight"], 2.0);
    assert!(!first.is_finished() && !second.is_finished());
    first.abort();
    second.abort();
}

#[tokio::test]
async fn zero_queue_limit_never_waits() {
    let srv = start(1, Some(0), SimDuration::from_secs(60)).await;
    let first = tokio::spawn(get(srv.addr, "/work"));
    await_metrics(srv.addr, |m| m["orkestra_in_service"] == 1.0).await;
    assert_eq!(get(srv.addr, "/other").await.status, 503);
    first.abort();
}

#[tokio::test]
async fn metrics_count_served_requests() {
    let srv = start(4, None, SimDuration::from_millis(10)).await;
    let before = metrics(srv.addr).await;
    assert_eq!(before[r#"orkestra_requests_total{outcome="ok"}"#], 0.0);
    assert_eq!(before["orkestra_concurrency"], 4.0);
    for _ in 0..3 {
        let resp = get(srv.addr, "/work?n=1").await;
        assert_eq!((resp.status, resp.body.as_slice()), (200, &b"done"[..]));
        assert_eq!(resp.header("x-orkestra-work-seconds"), Some("0.01"));
    }
    assert_eq!(get(srv.addr, "/healthz").await.body, b"ok");
    let m = metrics(srv.addr).await;
    assert_eq!(m[r#"orkestra_requests_total{outcome="ok"}"#], 3.0);
    assert_eq!(m["orkestra_busy_seconds_total"], 0.03);
    assert_eq!(m["orkestra_service_seconds_count"], 3.0);
    assert!(m["orkestra_service_seconds_sum"] >= 0.03, "{m:?}");
    assert_eq!(m["orkestra_queue_length"], 0.0);
}

#[tokio::test]
async fn keep_alive_and_cpu_work() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let dist = DurationDist::exponential(SimDuration::from_millis(2)).unwrap();
    let cfg = WorkloadConfig {
        service_time: dist,
        work: Work::Cpu,
        concurrency: 1,
        queue_limit: None,
        seed: 7,
        bind: addr,
        error_rate: 0.0,
        slowdown: 1.0,
    };
    tokio::spawn(serve(cfg, listener, std::future::pending()));
    let (rd, mut wr) = TcpStream::connect(addr).await.unwrap().into_split();
    let mut rd = BufReader::new(rd);
    let mut total = 0.0;
    for _ in 0..5 {
        http1::write_request(&mut wr, &Request::new("GET", "/work"))
            .await
            .unwrap();
        let resp = http1::read_response(&mut rd).await.unwrap();
        assert_eq!(resp.status, 200);
        total += resp
            .header("x-orkestra-work-seconds")
            .unwrap()
            .parse::<f64>()
            .unwrap();
    }
    let m = metrics(addr).await;
    assert!(
        (m["orkestra_busy_seconds_total"] - total).abs() < 1e-6,
        "{m:?}"
    );
    assert!(m["orkestra_service_seconds_sum"] >= m["orkestra_busy_seconds_total"]);
}

#[tokio::test]
async fn shutdown_drains_in_flight_requests() {
    let mut srv = start(1, None, SimDuration::from_secs(1)).await;
    assert_eq!(get(srv.addr, "/readyz").await.body, b"ready");
    let idle = TcpStream::connect(srv.addr).await.unwrap();
    let (rd, mut wr) = TcpStream::connect(srv.addr).await.unwrap().into_split();
    // A work request with a readiness probe pipelined behind it.
    wr.write_all(b"GET /work HTTP/1.1\r\n\r\nGET /readyz HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    await_metrics(srv.addr, |m| m["orkestra_in_service"] == 1.0).await;
    srv.stop.take().unwrap().send(()).unwrap();
    let mut rd = BufReader::new(rd);
    let work = http1::read_response(&mut rd).await.unwrap();
    assert_eq!(work.status, 200, "the in-flight request finished");
    let ready = http1::read_response(&mut rd).await.unwrap();
    assert_eq!(
        (ready.status, ready.body.as_slice()),
        (503, &b"draining"[..])
    );
    assert!(http1::wants_close(&ready.headers));
    assert_eq!(http1::read_request(&mut rd).await.unwrap(), None, "closed");
    srv.done.await.unwrap().unwrap();
    // The idle connection was closed and nothing listens any more.
    let mut idle = BufReader::new(idle);
    assert_eq!(http1::read_request(&mut idle).await.unwrap(), None);
    assert!(TcpStream::connect(srv.addr).await.is_err());
}

#[tokio::test]
async fn malformed_requests_get_400() {
    let srv = start(1, None, SimDuration::from_millis(1)).await;
    let (rd, mut wr) = TcpStream::connect(srv.addr).await.unwrap().into_split();
    wr.write_all(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
        .await
        .unwrap();
    let resp = http1::read_response(&mut BufReader::new(rd)).await.unwrap();
    assert_eq!(resp.status, 400);
    assert!(http1::wants_close(&resp.headers));
}

#[tokio::test]
async fn a_bad_revision_fails_its_share_and_works_slower() {
    // Constant 10 ms × slowdown 3 = 30 ms of work, reported in the header.
    let r = start_with(4, None, SimDuration::from_millis(10), 0.0, 3.0).await;
    let resp = get(r.addr, "/work").await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("x-orkestra-work-seconds"), Some("0.03"));
    // Error rate 1: every work request is answered 500 (after its work);
    // probes still answer.
    let bad = start_with(4, None, SimDuration::from_millis(1), 1.0, 1.0).await;
    assert_eq!(get(bad.addr, "/work").await.status, 500);
    assert_eq!(get(bad.addr, "/readyz").await.status, 200);
    // Error rate 0.5 over 200 requests: binomial mean 100, sd √50 ≈ 7.1;
    // 60..=140 is more than 5 sd either side.
    let half = start_with(8, None, SimDuration::from_millis(0), 0.5, 1.0).await;
    let mut errors = 0;
    for _ in 0..200 {
        if get(half.addr, "/work").await.status == 500 {
            errors += 1;
        }
    }
    assert!((60..=140).contains(&errors), "{errors} of 200");
}
