//! Head reading and field parsing shared by requests and responses.

use std::io;

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use super::{MAX_BODY_BYTES, MAX_HEAD_BYTES};

/// An `InvalidData` error: the peer sent something this codec does not accept.
pub(super) fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Whether `s` is an RFC 9110 token (method, header name).
pub(super) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Reads a message head up to and excluding its blank line; `None` on EOF
/// before any byte of it. Blank lines before the start line are skipped and
/// count towards the limit.
pub(super) async fn read_head<R: AsyncBufRead + Unpin>(r: &mut R) -> io::Result<Option<Vec<u8>>> {
    let mut head = Vec::new();
    let mut line_start = 0;
    let mut total = 0;
    loop {
        let buf = r.fill_buf().await?;
        if buf.is_empty() {
            if head.is_empty() {
                return Ok(None);
            }
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside a message head",
            ));
        }
        let (n, line_done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        total += n;
        if total > MAX_HEAD_BYTES {
            return Err(invalid(format!(
                "message head exceeds {MAX_HEAD_BYTES} bytes"
            )));
        }
        head.extend_from_slice(&buf[..n]);
        r.consume(n);
        if !line_done {
            continue;
        }
        let line = &head[line_start..];
        if line == b"\r\n" || line == b"\n" {
            if line_start == 0 {
                head.clear();
                continue;
            }
            head.truncate(line_start);
            return Ok(Some(head));
        }
        line_start = head.len();
    }
}

/// The head's lines without their `\r\n` (or bare `\n`) endings.
pub(super) fn split_lines(head: &[u8]) -> io::Result<impl Iterator<Item = &str>> {
    let text = std::str::from_utf8(head).map_err(|_| invalid("message head is not UTF-8"))?;
    let text = text.strip_suffix('\n').unwrap_or(text);
    Ok(text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)))
}

/// Parses `name: value` lines (values trimmed of spaces and tabs).
pub(super) fn parse_headers<'a>(
    lines: impl Iterator<Item = &'a str>,
) -> io::Result<Vec<(String, String)>> {
    let mut headers = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            return Err(invalid("folded header lines are not supported"));
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(invalid(format!("malformed header line {line:?}")));
        };
        if !is_token(name) {
            return Err(invalid(format!("malformed header name {name:?}")));
        }
        if value.bytes().any(|b| b == b'\r' || b == 0) {
            return Err(invalid(format!("malformed value of header {name:?}")));
        }
        let value = value.trim_matches([' ', '\t']);
        headers.push((name.to_string(), value.to_string()));
    }
    Ok(headers)
}

/// The body length from `Content-Length`; `None` without one. Rejects any
/// `Transfer-Encoding`, conflicting lengths and bodies over the limit.
pub(super) fn body_len(headers: &[(String, String)]) -> io::Result<Option<usize>> {
    let mut length: Option<u64> = None;
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(invalid(format!(
                "Transfer-Encoding {value:?} (chunked) is not supported; send Content-Length"
            )));
        }
        if !name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        let n = Some(value)
            .filter(|v| !v.is_empty() && v.len() <= 19 && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| invalid(format!("malformed Content-Length {value:?}")))?;
        if length.is_some_and(|l| l != n) {
            return Err(invalid("conflicting Content-Length headers"));
        }
        length = Some(n);
    }
    match length {
        Some(n) if n > MAX_BODY_BYTES as u64 => Err(invalid(format!(
            "body of {n} bytes exceeds {MAX_BODY_BYTES} bytes"
        ))),
        Some(n) => Ok(Some(n as usize)),
        None => Ok(None),
    }
}
