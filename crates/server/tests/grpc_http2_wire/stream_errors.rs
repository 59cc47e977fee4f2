//! Frames that break one stream's rules or its state machine (RFC 9113 §5.1, §6.9): a stream
//! error (RST_STREAM) where the RFC says so, after which the connection must keep serving, or a
//! connection error where the RFC requires one.

use crate::common::h2grpc::*;
use crate::common::h2raw::*;
use crate::server;

/// A roomy connection with stream 1 opened by a Predict HEADERS (body not sent).
async fn with_open_stream() -> (crate::common::grpc::GrpcServer, Conn) {
    let server = server().await;
    let mut conn = Conn::open_roomy(server.addr).await;
    conn.send_headers(1, &predict_fields(), false).await;
    (server, conn)
}

/// Reads until RST_STREAM on `stream`, which must carry `code`.
async fn expect_reset(conn: &mut Conn, stream: u32, code: u32) {
    assert!(
        conn.expect_stream_or_connection_error(stream, code).await,
        "a stream error was required, the server closed the connection"
    );
}

/// The connection still serves a Predict on `stream`.
async fn still_serves(conn: &mut Conn, stream: u32) {
    assert_eq!(predict_on(conn, stream, &[3.0]).await, expected(&[3.0]));
}

/// Expects `code` for stream `id`, as a stream error or a connection error (where the RFC
/// allows either); after a stream error, stream `next` must still be served.
async fn error_then_serves(conn: &mut Conn, id: u32, code: u32, next: u32) {
    if conn.expect_stream_or_connection_error(id, code).await {
        still_serves(conn, next).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_update_of_0_on_a_stream_resets_it() {
    let (_server, mut conn) = with_open_stream().await;
    conn.send(WINDOW_UPDATE, 0, 1, &0u32.to_be_bytes()).await;
    expect_reset(&mut conn, 1, PROTOCOL_ERROR).await;
    still_serves(&mut conn, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_update_of_0_on_the_connection_is_a_protocol_error() {
    let server = server().await;
    let mut conn = Conn::open(server.addr, &[]).await;
    conn.send(WINDOW_UPDATE, 0, 0, &0u32.to_be_bytes()).await;
    conn.expect_goaway(PROTOCOL_ERROR).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_window_over_2_31_minus_1_resets_the_stream() {
    let server = server().await;
    // The stream's send window starts at 65,535 (our default INITIAL_WINDOW_SIZE).
    let mut conn = Conn::open(server.addr, &[]).await;
    conn.send_headers(1, &predict_fields(), false).await;
    conn.send(WINDOW_UPDATE, 0, 1, &0x7fff_ffffu32.to_be_bytes())
        .await;
    expect_reset(&mut conn, 1, FLOW_CONTROL_ERROR).await;
    still_serves(&mut conn, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_window_over_2_31_minus_1_is_a_flow_control_error() {
    let server = server().await;
    let mut conn = Conn::open(server.addr, &[]).await;
    conn.send(WINDOW_UPDATE, 0, 0, &0x7fff_ffffu32.to_be_bytes())
        .await;
    conn.expect_goaway(FLOW_CONTROL_ERROR).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_on_an_idle_stream_is_a_protocol_error() {
    let server = server().await;
    let mut conn = Conn::open(server.addr, &[]).await;
    conn.send(DATA, 0, 1, b"no headers yet").await;
    conn.expect_goaway(PROTOCOL_ERROR).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_update_on_an_idle_stream_is_a_protocol_error() {
    let server = server().await;
    let mut conn = Conn::open(server.addr, &[]).await;
    conn.send(WINDOW_UPDATE, 0, 1, &100u32.to_be_bytes()).await;
    conn.expect_goaway(PROTOCOL_ERROR).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_after_end_stream_is_stream_closed() {
    let server = server().await;
    let mut conn = Conn::open_roomy(server.addr).await;
    conn.send_headers(1, &predict_fields(), false).await;
    conn.send_data(1, &predict_body(&[1.0]), true).await;
    // Half-closed (remote), or closed once answered: STREAM_CLOSED either way, as a stream
    // error (§5.1 half-closed) or a connection error (§5.1 closed).
    conn.send(DATA, 0, 1, b"more").await;
    error_then_serves(&mut conn, 1, STREAM_CLOSED, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_after_our_rst_stream_is_stream_closed() {
    let (_server, mut conn) = with_open_stream().await;
    conn.send(RST_STREAM, 0, 1, &CANCEL.to_be_bytes()).await;
    conn.send(DATA, 0, 1, b"more").await;
    // §5.1 closed: frames other than PRIORITY after a received RST_STREAM are STREAM_CLOSED.
    error_then_serves(&mut conn, 1, STREAM_CLOSED, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rst_stream_mid_request_cancels_only_that_stream() {
    let (_server, mut conn) = with_open_stream().await;
    let body = predict_body(&[1.0, 2.0]);
    conn.send(DATA, 0, 1, &body[..4]).await;
    conn.send(RST_STREAM, 0, 1, &CANCEL.to_be_bytes()).await;
    // Stream 3 is answered; nothing at all comes on stream 1.
    conn.send_headers(3, &predict_fields(), false).await;
    conn.send_data(3, &predict_body(&[4.0]), true).await;
    loop {
        match conn.next().await.expect("the answer on stream 3") {
            Event::Headers { stream: 1, .. } | Event::Data { stream: 1, .. } => {
                panic!("an answer on the cancelled stream")
            }
            Event::Frame(f) if f.stream == 1 && f.ty != PRIORITY && f.ty != WINDOW_UPDATE => {
                panic!("a frame on the cancelled stream: {f:?}")
            }
            Event::Data {
                stream: 3,
                end_stream: true,
                ..
            }
            | Event::Headers {
                stream: 3,
                end_stream: true,
                ..
            } => break,
            Event::Frame(f) if f.ty == GOAWAY => panic!("{}", goaway_text(&f)),
            _ => {}
        }
    }
    still_serves(&mut conn, 5).await;
}
