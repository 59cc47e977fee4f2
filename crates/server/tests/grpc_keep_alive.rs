//! HTTP/2 keep-alive on the gRPC listener (`tensorserve::grpc::connection`): a peer that goes
//! quiet gets a PING; one that answers keeps its connection (and can still call), one that does
//! not is closed once the timeout passes. Run with short intervals through
//! `tensorserve::grpc::serve::serve` on the bundled model's state.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::grpc::*;
use prost::Message;
use tensorserve::grpc::connection::Settings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_stream::wrappers::TcpListenerStream;

const INTERVAL: Duration = Duration::from_millis(200);
/// Generous: a loaded test machine must not make the answering peer look dead.
const TIMEOUT: Duration = Duration::from_secs(2);

/// A gRPC listener with short keep-alive settings; returns its address.
async fn listener(state: tensorserve::state::AppState) -> std::net::SocketAddr {
    let socket = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let settings = Settings {
        keep_alive_interval: INTERVAL,
        keep_alive_timeout: TIMEOUT,
        ..Settings::default()
    };
    let dispatch = tensorserve::grpc::dispatch(state).unwrap();
    tokio::spawn(tensorserve::grpc::serve::serve(
        TcpListenerStream::new(socket),
        dispatch,
        settings,
        std::future::pending(),
    ));
    addr
}

/// Reads one HTTP/2 frame: (type, flags, payload); `None` at the end of the connection.
async fn read_frame(io: &mut TcpStream) -> Option<(u8, u8, Vec<u8>)> {
    let mut head = [0u8; 9];
    io.read_exact(&mut head).await.ok()?;
    let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    let mut payload = vec![0u8; len];
    io.read_exact(&mut payload).await.ok()?;
    Some((head[3], head[4], payload))
}

const SETTINGS: u8 = 4;
const PING: u8 = 6;
const GOAWAY: u8 = 7;
const ACK: u8 = 1;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_does_not_answer_pings_is_closed() {
    let s = start(&[]).await;
    let addr = listener(s.server.state().clone()).await;
    let mut io = TcpStream::connect(addr).await.unwrap();
    // The client preface and an empty SETTINGS frame, then nothing but SETTINGS acks.
    io.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await
        .unwrap();
    let started = Instant::now();
    let mut pinged = None;
    let mut goaway = false;
    let closed = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some((kind, flags, _)) = read_frame(&mut io).await {
            match kind {
                SETTINGS if flags & ACK == 0 => {
                    io.write_all(b"\0\0\0\x04\x01\0\0\0\0").await.unwrap();
                }
                PING if flags & ACK == 0 => pinged = pinged.or(Some(started.elapsed())),
                GOAWAY => goaway = true,
                _ => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server never closed the connection");
    let pinged = pinged.expect("a PING came before the close");
    let lived = started.elapsed();
    assert!(goaway, "the close is announced with GOAWAY");
    assert!(pinged >= INTERVAL, "pinged after {pinged:?}");
    assert!(
        lived >= pinged + TIMEOUT,
        "closed {lived:?} after the start, the PING went at {pinged:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_answers_pings_keeps_its_connection() {
    let s = start(&[]).await;
    let addr = listener(s.server.state().clone()).await;
    let io = TcpStream::connect(addr).await.unwrap();
    // h2's client connection answers PINGs by itself while it is polled.
    let (client, connection) = h2::client::handshake(io).await.unwrap();
    let connection = tokio::spawn(connection);
    // Quiet for several ping rounds, and longer than one timeout.
    tokio::time::sleep(INTERVAL * 4 + TIMEOUT + Duration::from_millis(500)).await;
    assert!(!connection.is_finished(), "the connection was closed");

    let mut client = client.ready().await.expect("the connection is still open");
    let request = axum::http::Request::post(tensorserve::grpc::fast_predict::PREDICT_PATH)
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap();
    let (response, mut body) = client.send_request(request, false).unwrap();
    let message = predict("half_plus_two", floats(&[1.0], &[1])).encode_to_vec();
    let mut framed = vec![0u8];
    framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
    framed.extend_from_slice(&message);
    body.send_data(Bytes::from(framed), true).unwrap();
    let response = response.await.unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    while let Some(chunk) = body.data().await {
        bytes.extend_from_slice(&chunk.unwrap());
    }
    let trailers = body.trailers().await.unwrap().expect("trailers");
    assert_eq!(trailers["grpc-status"], "0");
    let answer =
        tensorserve_proto::tensorflow::serving::PredictResponse::decode(&bytes[5..]).unwrap();
    assert_eq!(answer.outputs["y"].float_val, vec![2.5]);
}
