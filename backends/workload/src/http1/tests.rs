use std::io;

use tokio::io::{AsyncWriteExt, BufReader, duplex};

use super::*;

fn hdr(name: &str, value: &str) -> (String, String) {
    (name.to_string(), value.to_string())
}

/// Feeds `raw` through a duplex pipe and reads requests until EOF or error.
async fn requests_from(raw: &[u8]) -> io::Result<Vec<Request>> {
    let (mut a, b) = duplex(64 * 1024);
    a.write_all(raw).await?;
    drop(a);
    let mut r = BufReader::new(b);
    let mut out = Vec::new();
    while let Some(req) = read_request(&mut r).await? {
        out.push(req);
    }
    Ok(out)
}

async fn response_from(raw: &[u8]) -> io::Result<Response> {
    let (mut a, b) = duplex(64 * 1024);
    a.write_all(raw).await?;
    drop(a);
    read_response(&mut BufReader::new(b)).await
}

fn kind(r: io::Result<impl std::fmt::Debug>) -> io::ErrorKind {
    r.expect_err("expected an error").kind()
}

#[tokio::test]
async fn requests_round_trip_with_keep_alive() {
    let (mut client, server) = duplex(4096);
    let mut post = Request::new("POST", "/work?x=1");
    post.headers.push(hdr("Host", "127.0.0.1:8080"));
    post.headers.push(hdr("Content-Length", "999")); // replaced by the real length
    post.body = b"hello".to_vec();
    let get = Request::new("GET", "/healthz");
    let mut r = BufReader::new(server);
    for sent in [&post, &get, &post] {
        write_request(&mut client, sent).await.unwrap();
        let got = read_request(&mut r).await.unwrap().unwrap();
        assert_eq!(got.method, sent.method);
        assert_eq!(got.path, sent.path);
        assert_eq!(got.body, sent.body);
        assert_eq!(got.header("host"), sent.header("Host"));
        let len = (!sent.body.is_empty()).then(|| sent.body.len().to_string());
        assert_eq!(got.header("content-length"), len.as_deref());
    }
    drop(client);
    assert_eq!(read_request(&mut r).await.unwrap(), None, "clean EOF");
}

#[tokio::test]
async fn responses_round_trip() {
    for status in [200, 204, 404, 503] {
        let (mut a, b) = duplex(4096);
        let mut sent = Response::new(status, "body text");
        sent.headers.push(hdr("Content-Type", "text/plain"));
        sent.headers.push(hdr("Transfer-Encoding", "chunked")); // dropped by the writer
        write_response(&mut a, &sent).await.unwrap();
        write_response(&mut a, &Response::new(200, ""))
            .await
            .unwrap();
        let mut r = BufReader::new(b);
        let got = read_response(&mut r).await.unwrap();
        assert_eq!(got.status, status);
        assert_eq!(got.reason, reason_phrase(status));
        assert_eq!(got.header("content-type"), Some("text/plain"));
        assert_eq!(got.header("transfer-encoding"), None);
        let body: &[u8] = if status == 204 { b"" } else { b"body text" };
        assert_eq!(got.body, body);
        let next = read_response(&mut r).await.unwrap();
        assert_eq!((next.status, next.body.len()), (200, 0), "framing kept");
    }
}

#[tokio::test]
async fn large_bodies_round_trip() {
    let (a, b) = duplex(8192);
    let sent = Response::new(200, vec![7u8; MAX_BODY_BYTES]);
    let writer = tokio::spawn(async move {
        let mut a = a;
        write_response(&mut a, &sent).await.map(|_| sent)
    });
    let got = read_response(&mut BufReader::new(b)).await.unwrap();
    let sent = writer.await.unwrap().unwrap();
    assert_eq!((got.status, got.body.len()), (sent.status, sent.body.len()));
    assert!(got.body == sent.body, "large body differs");
}

#[tokio::test]
async fn lenient_where_harmless() {
    let reqs = requests_from(b"\r\nGET /a HTTP/1.1\nX-A:  spaced \t\n\nGET /b HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].header("x-a"), Some("spaced"));
    assert_eq!(reqs[1].path, "/b");
    let resp = response_from(b"HTTP/1.1 200 OK\r\n\r\nclose-delimited")
        .await
        .unwrap();
    assert_eq!(resp.body, b"close-delimited");
    let resp = response_from(b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n")
        .await
        .unwrap();
    assert_eq!((resp.status, resp.reason.as_str()), (200, ""));
}

#[tokio::test]
async fn connection_close_is_detected() {
    assert!(wants_close(&[hdr("Connection", "keep-alive, Close")]));
    assert!(!wants_close(&[hdr("Connection", "keep-alive")]));
    assert!(!wants_close(&[]));
    let reqs = requests_from(
        b"GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.1\r\n\r\n",
    )
    .await
    .unwrap();
    let closes: Vec<bool> = reqs.iter().map(|r| wants_close(&r.headers)).collect();
    assert_eq!(closes, [true, false, false]);
}

#[tokio::test]
async fn malformed_input_is_invalid_data() {
    use io::ErrorKind::InvalidData;
    for raw in [
        &b"GET /\r\n\r\n"[..],
        b"GET / HTTP/2.0\r\n\r\n",
        b"GET  / HTTP/1.1\r\n\r\n",
        b"G(T / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nNoColon\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"GET / HTTP/1.1\r\nX: \xff\r\n\r\n",
    ] {
        let got = requests_from(raw).await;
        assert_eq!(kind(got), InvalidData, "{:?}", String::from_utf8_lossy(raw));
    }
    for raw in [
        &b"HTTP/1.1 2000 OK\r\n\r\n"[..],
        b"HTTP/1.1 abc\r\n\r\n",
        b"SPDY 200 OK\r\n\r\n",
    ] {
        assert_eq!(kind(response_from(raw).await), InvalidData);
    }
}

#[tokio::test]
async fn limits_are_enforced() {
    let mut big_head = b"GET / HTTP/1.1\r\nX: ".to_vec();
    big_head.resize(MAX_HEAD_BYTES + 10, b'a');
    big_head.extend_from_slice(b"\r\n\r\n");
    assert_eq!(
        kind(requests_from(&big_head).await),
        io::ErrorKind::InvalidData
    );
    let raw = format!(
        "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
        MAX_BODY_BYTES + 1
    );
    assert_eq!(
        kind(requests_from(raw.as_bytes()).await),
        io::ErrorKind::InvalidData
    );
    let raw = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", u64::MAX);
    assert_eq!(
        kind(response_from(raw.as_bytes()).await),
        io::ErrorKind::InvalidData
    );
}

#[tokio::test]
async fn truncated_input_is_unexpected_eof() {
    use io::ErrorKind::UnexpectedEof;
    assert_eq!(
        kind(requests_from(b"GET / HTTP/1.1\r\nHost: x").await),
        UnexpectedEof
    );
    let short_body = b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc";
    assert_eq!(kind(requests_from(short_body).await), UnexpectedEof);
    assert_eq!(kind(response_from(b"").await), UnexpectedEof);
}

#[tokio::test]
async fn writers_refuse_injection() {
    let (mut a, _b) = duplex(4096);
    let mut req = Request::new("GET", "/x");
    req.headers.push(hdr("X-Evil", "a\r\nInjected: yes"));
    assert_eq!(
        kind(write_request(&mut a, &req).await),
        io::ErrorKind::InvalidInput
    );
    let req = Request::new("GET", "/a b");
    assert_eq!(
        kind(write_request(&mut a, &req).await),
        io::ErrorKind::InvalidInput
    );
    let mut resp = Response::new(200, "");
    resp.reason = "OK\r\nX: y".into();
    assert_eq!(
        kind(write_response(&mut a, &resp).await),
        io::ErrorKind::InvalidInput
    );
}
