//! The `grpc-timeout` deadline on the gRPC listener, seen from a raw HTTP/2 client that has no
//! timer of its own (tonic's client races the server's answer with its own timer, so
//! `admission.rs` accepts either): a call still unfinished at its deadline is answered
//! DEADLINE_EXCEEDED by the server, on the Predict fast path and on tonic's routes alike. The
//! calls are kept unfinished by never ending their request body.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::grpc::*;
use tokio::net::TcpStream;

/// Sends the headers of a call to `path` with a 300 ms `grpc-timeout` and a request body that
/// never ends; returns the answer's headers and how long it took.
async fn unfinished_call(
    addr: std::net::SocketAddr,
    path: &str,
) -> (axum::http::HeaderMap, Duration) {
    let io = TcpStream::connect(addr).await.unwrap();
    let (client, connection) = h2::client::handshake(io).await.unwrap();
    tokio::spawn(connection);
    let mut client = client.ready().await.unwrap();
    let request = axum::http::Request::post(path)
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("grpc-timeout", "300m")
        .body(())
        .unwrap();
    let started = Instant::now();
    let (response, mut body) = client.send_request(request, false).unwrap();
    // Half of a message prefix: the server waits for the rest.
    body.send_data(Bytes::from_static(&[0, 0]), false).unwrap();
    let response = tokio::time::timeout(Duration::from_secs(30), response)
        .await
        .expect("the server answers at the deadline")
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(response.status(), 200);
    // A trailers-only answer: the status is in the headers and the stream has ended.
    assert!(response.body().is_end_stream(), "{response:?}");
    let headers = response.headers().clone();
    drop(body);
    (headers, elapsed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_past_their_grpc_timeout_get_deadline_exceeded() {
    let s = start(&[]).await;
    for path in [
        tensorserve::grpc::fast_predict::PREDICT_PATH,
        "/tensorflow.serving.ModelService/GetModelStatus",
    ] {
        let (headers, elapsed) = unfinished_call(s.addr, path).await;
        assert_eq!(headers["grpc-status"], "4", "{path}: {headers:?}");
        // grpc-message is percent-encoded.
        let message = headers["grpc-message"].to_str().unwrap();
        assert!(
            message.starts_with("Deadline%20exceeded")
                && message.contains("300%20ms%20grpc-timeout"),
            "{path}: {message}"
        );
        assert!(elapsed >= Duration::from_millis(250), "{path}: {elapsed:?}");
    }
}
