//! A tiny HTTP/1.1 client over a raw `TcpStream`: one request per connection, so tests can
//! send anything, including requests a well-behaved client library would refuse to build.
//!
//! Requests go without `Connection: close` (unless a test sets a `Connection` header), as
//! clients send them, and the response is read by its framing: that way plain requests take
//! the server's own HTTP/1 path (`rest::h1`) and everything else hyper's, as in production.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A response as received.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Response {
    /// The body parsed as JSON (panics with the body when it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {} body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `{"error": ...}`'s message (panics when the body has none).
    pub fn error(&self) -> String {
        match self.json().get("error") {
            Some(serde_json::Value::String(s)) => s.clone(),
            _ => panic!("no error message in {}", self.text()),
        }
    }
}

/// Sends one request and reads the whole response.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(addr).await?;
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut raw = head.into_bytes();
    raw.extend_from_slice(body);
    stream.write_all(&raw).await?;
    let received = read_one(&mut stream, method == "HEAD").await?;
    parse(&received).ok_or_else(|| {
        std::io::Error::other(format!(
            "malformed response: {}",
            String::from_utf8_lossy(&received)
        ))
    })
}

/// Reads one response: up to the end of its body by `Content-Length` or chunked framing, or
/// to the end of the stream when it has neither (or the server closes first).
async fn read_one(stream: &mut TcpStream, head_only: bool) -> std::io::Result<Vec<u8>> {
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = response_end(&received, head_only) {
            received.truncate(end);
            return Ok(received);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(received);
        }
        received.extend_from_slice(&chunk[..n]);
    }
}

/// Where the first response in `raw` ends, once that is known.
fn response_end(raw: &[u8], head_only: bool) -> Option<usize> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status: u16 = head.split(' ').nth(1)?.parse().ok()?;
    if head_only || status == 204 || status == 304 || (100..200).contains(&status) {
        return Some(split);
    }
    let header = |name: &str| {
        head.split("\r\n")
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.trim() == name)
            .map(|(_, v)| v.trim().to_string())
    };
    if header("transfer-encoding").is_some_and(|v| v == "chunked") {
        let body = &raw[split..];
        return body
            .windows(5)
            .position(|w| w == b"0\r\n\r\n")
            .filter(|&at| at == 0 || body[at - 2..at] == *b"\r\n")
            .map(|at| split + at + 5);
    }
    let length: usize = header("content-length")?.parse().ok()?;
    (raw.len() >= split + length).then_some(split + length)
}

/// Parses a raw HTTP/1.1 response.
pub fn parse(raw: &[u8]) -> Option<Response> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &raw[split + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(rest)?
    } else {
        rest.to_vec()
    };
    Some(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&raw[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(raw.get(..size)?);
        raw = raw.get(size + 2..)?;
    }
}

/// `GET target`.
pub async fn get(addr: SocketAddr, target: &str) -> Response {
    request(addr, "GET", target, &[], b"")
        .await
        .unwrap_or_else(|e| panic!("GET {target}: {e}"))
}

/// `POST target` with a body.
pub async fn post(addr: SocketAddr, target: &str, body: impl AsRef<[u8]>) -> Response {
    request(addr, "POST", target, &[], body.as_ref())
        .await
        .unwrap_or_else(|e| panic!("POST {target}: {e}"))
}

/// A POST whose body is only partly sent: the server has admitted it (it holds an in-flight
/// slot) and waits for the rest, which makes "a request in flight" deterministic in tests.
pub struct HeldRequest {
    stream: TcpStream,
    rest: Vec<u8>,
}

/// Sends the headers and the first half of `body` to `target`.
pub async fn hold(addr: SocketAddr, target: &str, body: &[u8]) -> HeldRequest {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let half = body.len() / 2;
    let mut first = head.into_bytes();
    first.extend_from_slice(&body[..half]);
    stream.write_all(&first).await.expect("send the first half");
    HeldRequest {
        stream,
        rest: body[half..].to_vec(),
    }
}

impl HeldRequest {
    /// Sends the rest of the body and reads the response.
    pub async fn finish(mut self) -> std::io::Result<Response> {
        self.stream.write_all(&self.rest).await?;
        self.response().await
    }

    /// Reads the response without sending more (for a server that answers early).
    pub async fn response(mut self) -> std::io::Result<Response> {
        let mut received = Vec::new();
        self.stream.read_to_end(&mut received).await?;
        parse(&received).ok_or_else(|| {
            std::io::Error::other(format!(
                "malformed response: {}",
                String::from_utf8_lossy(&received)
            ))
        })
    }
}

/// The value of one sample line of a Prometheus text page (`name{labels}`), if present.
pub fn sample(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}
