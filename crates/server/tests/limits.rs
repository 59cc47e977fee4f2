//! Request limits with the real server: an oversized body gets 413 (declared, streamed or after
//! gzip decompression), a request over `--rest_api_timeout_in_ms` gets 504, both with TF
//! Serving's JSON error body; a slow client cannot hold a connection past the header timeout.

mod common;

use std::io::Write;
use std::time::Duration;

use common::http;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TARGET: &str = "/v1/models/half_plus_two:predict";

fn base_arg() -> String {
    format!("--model_base_path={}", common::bundled_base().display())
}

/// `{"instances": [1.0, 1.0, ...]}` of at least `size` bytes.
fn big_body(size: usize) -> Vec<u8> {
    let mut body = b"{\"instances\": [1.0".to_vec();
    while body.len() < size {
        body.extend_from_slice(b", 1.0");
    }
    body.extend_from_slice(b"]}");
    body
}

fn assert_413(r: &http::Response) {
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(
        r.error().contains("--max_request_body_bytes"),
        "{}",
        r.text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_get_413() {
    let s = common::start(&[
        "--model_name=half_plus_two",
        &base_arg(),
        "--max_request_body_bytes=1000",
    ])
    .await;
    // Under the limit: served.
    let ok = http::post(s.addr, TARGET, big_body(900)).await;
    assert_eq!(ok.status, 200, "{}", ok.text());

    // Declared by Content-Length.
    let r = http::post(s.addr, TARGET, big_body(5000)).await;
    assert_413(&r);
    assert!(r.error().contains("of 5"), "{}", r.text());

    // Streamed with chunked encoding: no length is declared.
    let body = big_body(5000);
    let mut raw = format!(
        "POST {TARGET} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for chunk in body.chunks(700) {
        raw.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        raw.extend_from_slice(chunk);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    stream.write_all(&raw).await.unwrap();
    let mut received = Vec::new();
    let _ = stream.read_to_end(&mut received).await;
    assert_413(&http::parse(&received).expect("a response"));

    // Small on the wire, large once decompressed.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&big_body(50_000)).unwrap();
    let compressed = gz.finish().unwrap();
    assert!(compressed.len() < 1000);
    let r = http::request(
        s.addr,
        "POST",
        TARGET,
        &[("Content-Encoding", "gzip")],
        &compressed,
    )
    .await
    .unwrap();
    assert_413(&r);
    assert!(r.error().contains("after decompression"), "{}", r.text());

    // The server is unaffected.
    let ok = http::post(s.addr, TARGET, br#"{"instances": [1.0]}"#).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_over_the_rest_timeout_gets_504() {
    let s = common::start(&[
        "--model_name=half_plus_two",
        &base_arg(),
        "--rest_api_timeout_in_ms=300",
    ])
    .await;
    // A body that never completes: the deadline covers reading it.
    let held = http::hold(s.addr, TARGET, br#"{"instances": [1.0, 2.0, 5.0]}"#).await;
    let r = tokio::time::timeout(Duration::from_secs(30), held.response())
        .await
        .expect("the server answers by itself")
        .expect("a response");
    assert_eq!(r.status, 504, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.error().contains("300 ms"), "{}", r.text());
    // Normal requests are still served within the deadline.
    let ok = http::post(s.addr, TARGET, br#"{"instances": [1.0]}"#).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_and_idle_keep_alive_are_closed() {
    let s = common::start(&[
        "--model_name=half_plus_two",
        &base_arg(),
        "--rest_api_idle_timeout_seconds=1",
    ])
    .await;
    // Half a request line, then nothing.
    let mut slow = TcpStream::connect(s.addr).await.unwrap();
    slow.write_all(b"GET /v2/health/li").await.unwrap();
    // A keep-alive connection that served one request, then idles.
    let mut idle = TcpStream::connect(s.addr).await.unwrap();
    idle.write_all(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    for (what, stream) in [("slow", &mut slow), ("idle", &mut idle)] {
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut rest))
            .await
            .unwrap_or_else(|_| panic!("the {what} connection was not closed"));
        // A clean close or a reset both end the connection.
        let _ = closed;
    }
}
