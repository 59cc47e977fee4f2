//! The connection preface and SETTINGS (RFC 9113 §3.4, §6.5) and PING (§6.7).

use crate::common::h2grpc::{expected, predict_on};
use crate::common::h2raw::*;
use crate::server;

/// Reads until the server has acknowledged `count` of our SETTINGS frames.
async fn wait_settings_acks(conn: &mut Conn, count: usize) {
    while conn.settings_acks < count {
        conn.next()
            .await
            .unwrap_or_else(|end| panic!("{end:?} before SETTINGS ACK number {count}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_sends_settings_first_and_acknowledges_ours() {
    let server = server().await;
    // `open` checks the server's first frame is a non-ACK SETTINGS on stream 0.
    let mut conn = Conn::open(server.addr, &[(MAX_CONCURRENT_STREAMS, 100)]).await;
    wait_settings_acks(&mut conn, 1).await;
    // A later SETTINGS is acknowledged too, and the connection serves calls.
    conn.send(
        SETTINGS,
        0,
        0,
        &settings_payload(&[(INITIAL_WINDOW_SIZE, 1 << 20)]),
    )
    .await;
    wait_settings_acks(&mut conn, 2).await;
    conn.send(SETTINGS, 0, 0, &[]).await;
    wait_settings_acks(&mut conn, 3).await;
    assert_eq!(predict_on(&mut conn, 1, &[1.0]).await, expected(&[1.0]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_preface_closes_the_connection() {
    let server = server().await;
    let mut conn = Conn::connect(server.addr).await;
    conn.write(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await;
    // The server may have sent its own SETTINGS already, and may say GOAWAY before closing;
    // it must not answer anything else.
    loop {
        match conn.raw_frame().await {
            Ok(f) if f.ty == SETTINGS => {}
            Ok(f) if f.ty == GOAWAY => {
                assert_eq!(f.u32_at(4), PROTOCOL_ERROR, "{}", goaway_text(&f));
            }
            Ok(f) => panic!("unexpected frame after an invalid preface: {f:?}"),
            Err(End::Closed) => break,
            Err(End::Timeout) => panic!("the connection stayed open after an invalid preface"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_is_answered_with_the_same_payload() {
    let server = server().await;
    let mut conn = Conn::open(server.addr, &[]).await;
    let payload = *b"h2wire!!";
    conn.send(PING, 0, 0, &payload).await;
    loop {
        match conn.next().await.expect("a PING ACK") {
            Event::Frame(f) if f.ty == PING => {
                assert_eq!(f.flags & ACK, ACK, "{f:?}");
                assert_eq!(f.stream, 0);
                assert_eq!(f.payload, payload);
                break;
            }
            _ => {}
        }
    }
    // A PING ACK from us is not answered (the round trip after it proves nothing came back).
    conn.send(PING, ACK, 0, b"unasked!").await;
    let seen = conn.ping_roundtrip().await;
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, Event::Frame(f) if f.ty == PING)),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_of_wrong_length_is_a_frame_size_error() {
    let server = server().await;
    let mut conn = Conn::open(server.addr, &[]).await;
    conn.send(PING, 0, 0, &[0; 6]).await;
    conn.expect_goaway(FRAME_SIZE_ERROR).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_on_a_stream_is_a_protocol_error() {
    let server = server().await;
    let mut conn = Conn::open(server.addr, &[]).await;
    conn.send(PING, 0, 1, &[0; 8]).await;
    conn.expect_goaway(PROTOCOL_ERROR).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_ack_with_a_payload_is_a_frame_size_error() {
    let server = server().await;
    let mut conn = Conn::open(server.addr, &[]).await;
    conn.send(SETTINGS, ACK, 0, &settings_payload(&[(ENABLE_PUSH, 0)]))
        .await;
    conn.expect_goaway(FRAME_SIZE_ERROR).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_not_a_multiple_of_six_bytes_is_a_frame_size_error() {
    let server = server().await;
    let mut conn = Conn::open(server.addr, &[]).await;
    conn.send(SETTINGS, 0, 0, &[0, 3, 0, 0, 0, 100, 0]).await;
    conn.expect_goaway(FRAME_SIZE_ERROR).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_on_a_stream_is_a_protocol_error() {
    let server = server().await;
    let mut conn = Conn::open(server.addr, &[]).await;
    conn.send(
        SETTINGS,
        0,
        1,
        &settings_payload(&[(MAX_CONCURRENT_STREAMS, 10)]),
    )
    .await;
    conn.expect_goaway(PROTOCOL_ERROR).await;
}

/// Sends one bad SETTINGS parameter on an open connection and expects GOAWAY `code`.
async fn bad_setting(id: u16, value: u32, code: u32) {
    let server = server().await;
    let mut conn = Conn::open(server.addr, &[]).await;
    conn.send(SETTINGS, 0, 0, &settings_payload(&[(id, value)]))
        .await;
    conn.expect_goaway(code).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enable_push_other_than_0_or_1_is_a_protocol_error() {
    bad_setting(ENABLE_PUSH, 2, PROTOCOL_ERROR).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_window_size_over_2_31_minus_1_is_a_flow_control_error() {
    bad_setting(INITIAL_WINDOW_SIZE, 1 << 31, FLOW_CONTROL_ERROR).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_frame_size_below_16384_is_a_protocol_error() {
    bad_setting(MAX_FRAME_SIZE, 16_383, PROTOCOL_ERROR).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_frame_size_over_2_24_minus_1_is_a_protocol_error() {
    bad_setting(MAX_FRAME_SIZE, 1 << 24, PROTOCOL_ERROR).await;
}
