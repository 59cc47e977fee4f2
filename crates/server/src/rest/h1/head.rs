//! Reading a request head for the plain path ([`super`]): which requests it takes, and where
//! their parts lie in the connection's buffer.
//!
//! The plain path takes only what it can answer exactly as hyper would: an HTTP/1.1 `GET` or
//! `POST` to `/v1/…` in origin form, with a body of a declared length within the limit (or
//! none), and none of the headers that change how a message is framed or how the connection
//! behaves (`Transfer-Encoding`, `Connection` other than `keep-alive`, `Expect`, `Upgrade`) or
//! how the body is read (`Content-Encoding`). Anything else — including every malformed request, whose 400 is
//! hyper's to write — is [`Head::Other`], and the connection goes to hyper from there on.

use std::ops::Range;

/// Largest head the plain path waits for; a longer one goes to hyper (and its own limits).
pub(super) const MAX_HEAD_BYTES: usize = 8 * 1024;

/// Most header lines the plain path reads; more go to hyper.
const MAX_HEADERS: usize = 32;

/// A request the plain path answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Plain {
    /// `GET` or `POST`.
    pub method: axum::http::Method,
    /// The request target (path and query) in the buffer.
    pub target: Range<usize>,
    /// Bytes of the head, up to and including the blank line.
    pub head_len: usize,
    /// Bytes of the body that follows it.
    pub body_len: usize,
}

/// What the start of the buffer holds.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Head {
    /// Not a whole head yet.
    Partial,
    /// A request for the plain path.
    Plain(Plain),
    /// Anything else: hyper's to answer.
    Other,
}

/// Reads the head at the start of `buf`. `body_limit` is `--max_request_body_bytes`;
/// `metrics_path` is the Prometheus path, which axum's router answers.
pub(super) fn parse(buf: &[u8], body_limit: usize, metrics_path: Option<&str>) -> Head {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let head_len = match request.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD_BYTES => return Head::Partial,
        _ => return Head::Other,
    };
    let method = match request.method {
        Some("POST") => axum::http::Method::POST,
        Some("GET") => axum::http::Method::GET,
        _ => return Head::Other,
    };
    let Some(target) = request.path else {
        return Head::Other;
    };
    if request.version != Some(1) || !plain_v1_target(target, metrics_path) {
        return Head::Other;
    }
    let mut body_len = None;
    for header in request.headers.iter() {
        let name = header.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length") {
            match (body_len, decimal(header.value)) {
                (None, Some(n)) if n <= body_limit => body_len = Some(n),
                _ => return Head::Other,
            }
        } else if name.eq_ignore_ascii_case(b"connection") {
            // `keep-alive` is HTTP/1.1's default (hyper then writes no header of its own, as
            // here); `close`, `upgrade` or anything else is hyper's.
            if !only_keep_alive(header.value) {
                return Head::Other;
            }
        } else if [
            &b"transfer-encoding"[..],
            b"expect",
            b"upgrade",
            b"content-encoding",
        ]
        .iter()
        .any(|framing| name.eq_ignore_ascii_case(framing))
        {
            return Head::Other;
        }
    }
    // The target is a subslice of `buf` (httparse borrows it from there).
    let start = target.as_ptr() as usize - buf.as_ptr() as usize;
    Head::Plain(Plain {
        method,
        target: start..start + target.len(),
        head_len,
        body_len: body_len.unwrap_or(0),
    })
}

/// Whether `target` is an origin-form `/v1/…` target made only of characters any URI parser
/// takes (RFC 3986's path and query characters), so that routing it here cannot differ from
/// routing hyper's parsed URI; the metrics path is axum's.
fn plain_v1_target(target: &str, metrics_path: Option<&str>) -> bool {
    let bytes = target.as_bytes();
    if bytes.len() < 4 || !bytes[..4].eq_ignore_ascii_case(b"/v1/") {
        return false;
    }
    let path = target.split_once('?').map_or(target, |(path, _)| path);
    if metrics_path == Some(path) {
        return false;
    }
    bytes.iter().all(|&b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
                    | b'/'
                    | b'?'
                    | b'%'
            )
    })
}

/// Whether a `Connection` value lists nothing but `keep-alive` tokens.
fn only_keep_alive(value: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .all(|token| token.trim_ascii().eq_ignore_ascii_case(b"keep-alive"))
}

/// A `Content-Length` value: ASCII digits only, no sign or spaces, no overflow.
fn decimal(value: &[u8]) -> Option<usize> {
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 1000;

    fn plain(request: &str) -> Plain {
        match parse(request.as_bytes(), LIMIT, Some("/v1/metrics")) {
            Head::Plain(p) => p,
            other => panic!("{request:?} gave {other:?}"),
        }
    }

    fn other(request: &str) {
        assert_eq!(
            parse(request.as_bytes(), LIMIT, Some("/v1/metrics")),
            Head::Other,
            "{request:?}"
        );
    }

    #[test]
    fn a_predict_post_is_plain_and_its_parts_are_found() {
        let request = "POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\nContent-Type: \
                       application/json\r\ncontent-LENGTH: 5\r\n\r\n{\"a\":";
        let p = plain(request);
        assert_eq!(p.method, axum::http::Method::POST);
        assert_eq!(&request[p.target.clone()], "/v1/models/m:predict");
        assert_eq!(&request[p.head_len..], "{\"a\":");
        assert_eq!(p.body_len, 5);
        let kept = plain("GET /v1/models/m HTTP/1.1\r\nConnection: Keep-Alive\r\n\r\n");
        assert_eq!(kept.body_len, 0);
        let get = plain("GET /V1/models/m/versions/2?x=%20 HTTP/1.1\r\n\r\n");
        assert_eq!((get.body_len, get.head_len), (0, 46));
    }

    #[test]
    fn an_unfinished_head_waits_unless_it_is_already_too_long() {
        let head = "POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\n";
        assert_eq!(parse(head.as_bytes(), LIMIT, None), Head::Partial);
        let long = format!("{head}X-Pad: {}\r\n", "a".repeat(MAX_HEAD_BYTES));
        assert_eq!(parse(long.as_bytes(), LIMIT, None), Head::Other);
    }

    #[test]
    fn anything_that_changes_framing_or_reading_goes_to_hyper() {
        let post = "POST /v1/models/m:predict HTTP/1.1\r\n";
        for extra in [
            "Transfer-Encoding: chunked\r\n",
            "Connection: close\r\n",
            "Connection: keep-alive, close\r\n",
            "Connection: upgrade\r\n",
            "Expect: 100-continue\r\nContent-Length: 2\r\n",
            "Upgrade: h2c\r\n",
            "Content-Encoding: gzip\r\nContent-Length: 2\r\n",
            "Content-Length: 2\r\nContent-Length: 2\r\n",
            "Content-Length: +2\r\n",
            "Content-Length: 2,2\r\n",
            "Content-Length: 1001\r\n",
            "Content-Length: 99999999999999999999999\r\n",
        ] {
            other(&format!("{post}{extra}\r\n"));
        }
    }

    #[test]
    fn other_methods_versions_targets_and_malformed_heads_go_to_hyper() {
        for request in [
            "PUT /v1/models/m:predict HTTP/1.1\r\n\r\n",
            "OPTIONS /v1/models/m:predict HTTP/1.1\r\n\r\n",
            "HEAD /v1/models/m HTTP/1.1\r\n\r\n",
            "POST /v1/models/m:predict HTTP/1.0\r\n\r\n",
            "GET /v2/health/live HTTP/1.1\r\n\r\n",
            "GET /v1 HTTP/1.1\r\n\r\n",
            "GET http://x/v1/models/m HTTP/1.1\r\n\r\n",
            "GET /v1/models/{m} HTTP/1.1\r\n\r\n",
            "GET /v1/metrics HTTP/1.1\r\n\r\n",
            "GET /v1/metrics?x HTTP/1.1\r\n\r\n",
            "GET /v1/models/m HTTP/1.1\r\nBad Header\r\n\r\n",
            "GARBAGE\r\n\r\n",
        ] {
            other(request);
        }
        plain("GET /v1/metricsx HTTP/1.1\r\n\r\n");
    }

    #[test]
    fn too_many_headers_go_to_hyper() {
        let headers = "X-A: b\r\n".repeat(MAX_HEADERS + 1);
        other(&format!("GET /v1/models/m HTTP/1.1\r\n{headers}\r\n"));
    }
}
