//! A minimal HTTP/1.1 codec over tokio byte streams, with keep-alive.
//!
//! Key decision: messages are framed by `Content-Length` only. Chunked (any
//! `Transfer-Encoding`) is rejected with [`io::ErrorKind::InvalidData`], so a
//! message is always one contiguous head plus a body of known length, which
//! keeps the codec small, allocation-light and easy to reason about for the
//! workload, the reverse proxy and the load generator that share it. Heads are
//! limited to [`MAX_HEAD_BYTES`] and bodies to [`MAX_BODY_BYTES`].
//!
//! Writers compute `Content-Length` themselves (any caller-supplied
//! `Content-Length` or `Transfer-Encoding` header is dropped) and refuse
//! header injection (CR/LF in a field) with [`io::ErrorKind::InvalidInput`].
//! They do not add `Host`; a client adds it to [`Request::headers`].
//!
//! An HTTP/1.0 message without `Connection: keep-alive` is read with a
//! `Connection: close` header appended, so [`wants_close`] answers right for
//! both versions. A response without `Content-Length` is read until EOF
//! (close-delimited); responses with status 1xx, 204 and 304 have no body.
//! Responses to `HEAD` are not supported by [`read_response`].

mod parse;
#[cfg(test)]
mod tests;

use std::io;

use tokio::io::{AsyncBufRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use parse::{body_len, invalid, is_token, parse_headers, read_head, split_lines};

/// Largest accepted message head (start line plus headers), in bytes.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Largest accepted message body, in bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Bodies up to this size are written in the same `write` as the head.
const COALESCE_BYTES: usize = 16 * 1024;

/// An HTTP request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    /// Method, e.g. `GET`.
    pub method: String,
    /// Request target as sent, e.g. `/work?x=1`.
    pub path: String,
    /// Header fields in order (names as sent; compare case-insensitively).
    pub headers: Vec<(String, String)>,
    /// Body (`Content-Length` bytes).
    pub body: Vec<u8>,
}

impl Request {
    /// A request without headers or body.
    pub fn new(method: impl Into<String>, path: impl Into<String>) -> Request {
        Request {
            method: method.into(),
            path: path.into(),
            ..Request::default()
        }
    }

    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

/// An HTTP response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Status code, e.g. `200`.
    pub status: u16,
    /// Reason phrase, e.g. `OK`.
    pub reason: String,
    /// Header fields in order (names as sent; compare case-insensitively).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    /// A response with the standard reason phrase for `status` and no headers.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            reason: reason_phrase(status).to_string(),
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

/// The value of the first header called `name` (case-insensitive).
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Whether a `Connection` header asks to close the connection after this message.
pub fn wants_close(headers: &[(String, String)]) -> bool {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("connection"))
        .flat_map(|(_, v)| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("close"))
}

/// The standard reason phrase of the status codes this project uses (else `""`).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// Reads one request; `None` on a clean EOF before its first byte.
pub async fn read_request<R: AsyncBufRead + Unpin>(r: &mut R) -> io::Result<Option<Request>> {
    let Some(head) = read_head(r).await? else {
        return Ok(None);
    };
    let mut lines = split_lines(&head)?;
    let start = lines.next().unwrap_or_default();
    let mut parts = start.split(' ');
    let (Some(method), Some(path), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid(format!("malformed request line {start:?}")));
    };
    if !is_token(method) || path.is_empty() {
        return Err(invalid(format!("malformed request line {start:?}")));
    }
    let mut headers = parse_headers(lines)?;
    http10_close(version, &mut headers)?;
    let body = match body_len(&headers)? {
        Some(n) => read_body(r, n).await?,
        None => Vec::new(),
    };
    Ok(Some(Request {
        method: method.to_string(),
        path: path.to_string(),
        headers,
        body,
    }))
}

/// Reads one response (a clean EOF before it is an `UnexpectedEof` error).
pub async fn read_response<R: AsyncBufRead + Unpin>(r: &mut R) -> io::Result<Response> {
    let Some(head) = read_head(r).await? else {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed before a response",
        ));
    };
    let mut lines = split_lines(&head)?;
    let start = lines.next().unwrap_or_default();
    let mut parts = start.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let status = parts
        .next()
        .filter(|s| s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| *s >= 100)
        .ok_or_else(|| invalid(format!("malformed status line {start:?}")))?;
    let reason = parts.next().unwrap_or_default().to_string();
    let mut headers = parse_headers(lines)?;
    http10_close(version, &mut headers)?;
    let body = if (100..200).contains(&status) || status == 204 || status == 304 {
        Vec::new()
    } else if let Some(n) = body_len(&headers)? {
        read_body(r, n).await?
    } else {
        let mut body = Vec::new();
        (&mut *r)
            .take(MAX_BODY_BYTES as u64 + 1)
            .read_to_end(&mut body)
            .await?;
        if body.len() > MAX_BODY_BYTES {
            return Err(invalid(format!("body exceeds {MAX_BODY_BYTES} bytes")));
        }
        body
    };
    Ok(Response {
        status,
        reason,
        headers,
        body,
    })
}

/// Writes `req` as HTTP/1.1 and flushes; `Content-Length` is sent when the body is not empty.
pub async fn write_request<W: AsyncWrite + Unpin>(w: &mut W, req: &Request) -> io::Result<()> {
    for (what, s) in [("method", &req.method), ("path", &req.path)] {
        if s.is_empty() || s.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid request {what} {s:?}"),
            ));
        }
    }
    let mut head = Vec::with_capacity(128);
    for part in [&req.method, " ", &req.path, " HTTP/1.1\r\n"] {
        head.extend_from_slice(part.as_bytes());
    }
    let length = (!req.body.is_empty()).then_some(req.body.len());
    write_message(w, head, &req.headers, length, &req.body).await
}

/// Writes `resp` as HTTP/1.1 and flushes; `Content-Length` is always sent
/// except for statuses that have no body (1xx, 204, 304).
pub async fn write_response<W: AsyncWrite + Unpin>(w: &mut W, resp: &Response) -> io::Result<()> {
    let bad_reason = resp.reason.bytes().any(|b| b == b'\r' || b == b'\n');
    if bad_reason || !(100..1000).contains(&resp.status) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid status {} {:?}", resp.status, resp.reason),
        ));
    }
    let mut head = Vec::with_capacity(128);
    head.extend_from_slice(format!("HTTP/1.1 {} {}\r\n", resp.status, resp.reason).as_bytes());
    let bodiless = (100..200).contains(&resp.status) || resp.status == 204 || resp.status == 304;
    let length = (!bodiless).then_some(resp.body.len());
    let body: &[u8] = if bodiless { &[] } else { &resp.body };
    write_message(w, head, &resp.headers, length, body).await
}

/// Appends the headers and the blank line to `head`, then writes head and body.
async fn write_message<W: AsyncWrite + Unpin>(
    w: &mut W,
    mut head: Vec<u8>,
    headers: &[(String, String)],
    length: Option<usize>,
    body: &[u8],
) -> io::Result<()> {
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
        {
            continue;
        }
        let bad_name = name.is_empty() || name.bytes().any(|b| b <= b' ' || b == b':');
        if bad_name || value.bytes().any(|b| b == b'\r' || b == b'\n') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid header {name:?}: {value:?}"),
            ));
        }
        for part in [name.as_str(), ": ", value.as_str(), "\r\n"] {
            head.extend_from_slice(part.as_bytes());
        }
    }
    if let Some(n) = length {
        head.extend_from_slice(format!("Content-Length: {n}\r\n").as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    if body.len() <= COALESCE_BYTES {
        head.extend_from_slice(body);
        w.write_all(&head).await?;
    } else {
        w.write_all(&head).await?;
        w.write_all(body).await?;
    }
    w.flush().await
}

/// Checks the version and marks HTTP/1.0 messages without keep-alive as closing.
fn http10_close(version: &str, headers: &mut Vec<(String, String)>) -> io::Result<()> {
    match version {
        "HTTP/1.1" => Ok(()),
        "HTTP/1.0" => {
            let keep_alive = headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("connection"))
                .flat_map(|(_, v)| v.split(','))
                .any(|t| t.trim().eq_ignore_ascii_case("keep-alive"));
            if !keep_alive {
                headers.push(("Connection".to_string(), "close".to_string()));
            }
            Ok(())
        }
        _ => Err(invalid(format!("unsupported HTTP version {version:?}"))),
    }
}

async fn read_body<R: AsyncBufRead + Unpin>(r: &mut R, n: usize) -> io::Result<Vec<u8>> {
    let mut body = vec![0; n];
    r.read_exact(&mut body).await?;
    Ok(body)
}
