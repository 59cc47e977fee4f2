//! The REST listener's own HTTP/1 path for plain requests (`rest::h1`) against hyper's: the
//! same bytes for the same request, pipelined requests answered in order, and a connection
//! handed to hyper in the middle (a chunked request) still answered in full.

mod common;

use std::net::SocketAddr;

use common::start_bundled;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PREDICT: &str = "/v1/models/half_plus_two:predict";

fn post(target: &str, extra_headers: &str, body: &str) -> String {
    format!(
        "POST {target} HTTP/1.1\r\nHost: x\r\n{extra_headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Sends `raw` on a new connection and reads until the server closes or `answers` responses
/// (by `content-length`) have come.
async fn exchange(addr: SocketAddr, raw: &[u8], answers: usize) -> Vec<String> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw).await.unwrap();
    let mut received = Vec::new();
    let mut responses = Vec::new();
    let mut chunk = [0u8; 4096];
    while responses.len() < answers {
        while let Some(end) = complete(&received) {
            responses.push(String::from_utf8(received.drain(..end).collect()).unwrap());
        }
        if responses.len() == answers {
            break;
        }
        let n = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .expect("an answer in time")
            .unwrap();
        if n == 0 {
            break;
        }
        received.extend_from_slice(&chunk[..n]);
    }
    responses
}

/// Length of the first whole response (framed by `content-length`) in `raw`.
fn complete(raw: &[u8]) -> Option<usize> {
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .split("\r\n")
        .find_map(|l| l.strip_prefix("content-length: "))?
        .parse()
        .ok()?;
    (raw.len() >= head_end + length).then_some(head_end + length)
}

/// A response without its `date` and `connection` lines, which differ by time and by the
/// `Connection: close` the hyper-bound copy of a request carries.
fn comparable(response: &str) -> String {
    response
        .split_inclusive("\r\n")
        .filter(|l| !l.starts_with("date: ") && !l.starts_with("connection: "))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_requests_get_the_bytes_hyper_would_write() {
    for extra in [&[][..], &["--enable_cors"][..]] {
        let s = start_bundled(extra).await;
        for request in [
            post(PREDICT, "", r#"{"instances": [1.0, 2.0, 5.0]}"#),
            post(
                PREDICT,
                "Content-Type: application/json\r\n",
                r#"{"inputs": [1e-7]}"#,
            ),
            post(
                PREDICT,
                "Connection: keep-alive\r\n",
                r#"{"inputs": [3.0]}"#,
            ),
            post(PREDICT, "", "{"),
            post(
                PREDICT,
                "",
                r#"{"instances": [1.0], "signature_name": "nope"}"#,
            ),
            post("/v1/models/nope:predict", "", r#"{"instances": [1.0]}"#),
            post(
                "/v1/models/half_plus_two:classify",
                "",
                r#"{"examples": []}"#,
            ),
            post("/v1/models/half_plus_two/versions/9:predict", "", "{}"),
            "GET /v1/models/half_plus_two HTTP/1.1\r\nHost: x\r\n\r\n".to_string(),
            "GET /v1/models/half_plus_two/metadata HTTP/1.1\r\nHost: x\r\n\r\n".to_string(),
            "GET /v1/models/a%20b HTTP/1.1\r\nHost: x\r\n\r\n".to_string(),
            "GET /v1/foo HTTP/1.1\r\nHost: x\r\n\r\n".to_string(),
        ] {
            let plain = exchange(s.addr, request.as_bytes(), 1).await;
            let to_hyper = request.replacen("Host: x\r\n", "Host: x\r\nConnection: close\r\n", 1);
            let hyper = exchange(s.addr, to_hyper.as_bytes(), 1).await;
            assert_eq!(plain.len(), 1, "{request:?}");
            assert_eq!(
                comparable(&plain[0]),
                comparable(&hyper[0]),
                "{request:?} (flags {extra:?})"
            );
            assert!(
                hyper[0].contains("connection: close\r\n") && !plain[0].contains("connection"),
                "the copies did not take different paths: {plain:?} / {hyper:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_are_answered_in_order() {
    let s = start_bundled(&[]).await;
    let raw: String = [1.0, 2.0, 3.0, 4.0]
        .iter()
        .map(|x| post(PREDICT, "", &format!("{{\"instances\": [{x}]}}")))
        .collect();
    let answers = exchange(s.addr, raw.as_bytes(), 4).await;
    let predictions: Vec<&str> = answers
        .iter()
        .map(|a| a.split("\"predictions\": [").nth(1).unwrap())
        .collect();
    assert_eq!(
        predictions,
        [
            "2.5\n    ]\n}",
            "3.0\n    ]\n}",
            "3.5\n    ]\n}",
            "4.0\n    ]\n}"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_handed_to_hyper_midway_answers_everything() {
    let s = start_bundled(&[]).await;
    let chunked = format!(
        "POST {PREDICT} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
         5\r\n{{\"ins\r\nf\r\ntances\": [7.0]}}\r\n0\r\n\r\n"
    );
    let raw = format!(
        "{}{chunked}{}",
        post(PREDICT, "", r#"{"instances": [1.0]}"#),
        post(PREDICT, "", r#"{"instances": [9.0]}"#)
    );
    // The first answer comes from the plain path, which then hands the connection (with the
    // chunked request and the one after it already read) to hyper; hyper answers the chunked
    // one in chunked framing, so read to the end after closing our side.
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    stream.write_all(raw.as_bytes()).await.unwrap();
    stream
        .write_all(b"GET /v1/models/half_plus_two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut all = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_string(&mut all),
    )
    .await
    .expect("the server closes after the last request")
    .unwrap();
    assert_eq!(all.matches("HTTP/1.1 200 OK").count(), 4, "{all}");
    for value in ["2.5", "5.5", "6.5", "\"AVAILABLE\""] {
        assert!(all.contains(value), "{value} missing from {all}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_refused_by_hyper_with_413() {
    let s = start_bundled(&["--max_request_body_bytes=64"]).await;
    let body = format!("{{\"instances\": [{}1.0]}}", "1.0, ".repeat(20));
    let answers = exchange(s.addr, post(PREDICT, "", &body).as_bytes(), 1).await;
    assert!(answers[0].starts_with("HTTP/1.1 413 "), "{answers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_body_and_the_request_after_it_on_one_connection() {
    let s = start_bundled(&[]).await;
    // Over the size the plain path copies (16 KiB): its body is shared with the read buffer.
    let values = vec!["1.0"; 8000].join(", ");
    let large = post(PREDICT, "", &format!("{{\"instances\": [{values}]}}"));
    assert!(large.len() > 32 * 1024);
    let raw = format!("{large}{}", post(PREDICT, "", r#"{"instances": [3.0]}"#));
    let answers = exchange(s.addr, raw.as_bytes(), 2).await;
    assert_eq!(answers.len(), 2);
    assert!(
        answers[0].starts_with("HTTP/1.1 200 OK"),
        "{}",
        &answers[0][..200]
    );
    assert_eq!(answers[0].matches("2.5").count(), 8000);
    assert!(
        answers[1].ends_with("\"predictions\": [3.5\n    ]\n}"),
        "{}",
        answers[1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_its_answer_is_dropped_after_the_idle_period() {
    let s = start_bundled(&["--rest_api_idle_timeout_seconds=1"]).await;
    // An answer (~6 MB) far larger than what the socket buffers can hold with the client's
    // receive buffer kept small, so that writing it waits on the client.
    let values = vec!["1.0"; 1_200_000].join(",");
    let request = post(PREDICT, "", &format!("{{\"instances\": [{values}]}}"));
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(s.addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    // Read nothing for a while: the server must give up on the write and close.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let mut all = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        stream.read_to_end(&mut all),
    )
    .await;
    let read = read.expect("the server closed the connection instead of waiting forever");
    // Closed with the answer cut short (or reset): never the whole answer.
    if let Ok(n) = read {
        assert!(n < 5 * 1_200_000, "the whole answer came ({n} bytes)");
    }
}
