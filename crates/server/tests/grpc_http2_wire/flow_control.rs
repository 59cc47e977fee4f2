//! Flow control both ways (RFC 9113 §5.2, §6.9): the server never sends more DATA than our
//! windows allow and resumes on our WINDOW_UPDATEs and SETTINGS; it never sends a DATA frame
//! larger than our SETTINGS_MAX_FRAME_SIZE; it grants us window for large requests; and it
//! refuses DATA beyond the window it advertised.

use crate::common::h2grpc::*;
use crate::common::h2raw::*;
use crate::server;

const XS: [f32; 3] = [1.0, 2.0, 5.0];

/// Reads stream 1's events into `answer` until it holds `bytes` flow-controlled bytes (or
/// ends, which fails: the answer is longer than the windows we gave).
async fn read_until_bytes(conn: &mut Conn, answer: &mut Answer, bytes: usize) {
    while answer.flow_bytes() < bytes {
        match conn.next().await.expect("the answer's DATA") {
            event @ (Event::Headers { stream: 1, .. } | Event::Data { stream: 1, .. }) => {
                answer.absorb(event)
            }
            Event::Frame(f) if f.ty == GOAWAY || f.ty == RST_STREAM => panic!("{f:?}"),
            _ => {}
        }
        assert!(
            !answer.ended,
            "the answer ended past the window: {answer:?}"
        );
    }
    assert_eq!(answer.flow_bytes(), bytes, "more DATA than the window");
}

/// Checks that nothing more arrives on stream 1 before a PING's ACK: the server has read our
/// PING after everything above, so any DATA it was going to send without window is here.
async fn nothing_more(conn: &mut Conn, answer: &mut Answer) {
    for event in conn.ping_roundtrip().await {
        match event {
            Event::Data { stream: 1, .. } => panic!("DATA beyond the window: {event:?}"),
            Event::Headers { stream: 1, .. } => answer.absorb(event),
            _ => {}
        }
    }
    assert!(!answer.ended, "trailers before the whole answer");
}

/// Reads stream 1's events into `answer` until it ends.
async fn read_rest(conn: &mut Conn, answer: &mut Answer) {
    while !answer.ended {
        let event = conn.next().await.expect("the rest of the answer");
        if let Event::Headers { stream: 1, .. } | Event::Data { stream: 1, .. } = event {
            answer.absorb(event);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answer_data_waits_for_our_stream_window() {
    let server = server().await;
    let mut conn = Conn::open(server.addr, &[(INITIAL_WINDOW_SIZE, 10)]).await;
    conn.send_headers(1, &predict_fields(), false).await;
    conn.send_data(1, &predict_body(&XS), true).await;
    let mut answer = Answer::default();
    read_until_bytes(&mut conn, &mut answer, 10).await;
    nothing_more(&mut conn, &mut answer).await;
    conn.send(WINDOW_UPDATE, 0, 1, &5u32.to_be_bytes()).await;
    read_until_bytes(&mut conn, &mut answer, 15).await;
    nothing_more(&mut conn, &mut answer).await;
    conn.send(WINDOW_UPDATE, 0, 1, &100_000u32.to_be_bytes())
        .await;
    read_rest(&mut conn, &mut answer).await;
    assert_eq!(answer.predict_output(), expected(&XS));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raising_initial_window_size_resumes_a_blocked_answer() {
    let server = server().await;
    let mut conn = Conn::open(server.addr, &[(INITIAL_WINDOW_SIZE, 0)]).await;
    conn.send_headers(1, &predict_fields(), false).await;
    conn.send_data(1, &predict_body(&XS), true).await;
    let mut answer = Answer::default();
    nothing_more(&mut conn, &mut answer).await;
    // §6.9.2: a SETTINGS change adjusts the window of every open stream.
    conn.send(
        SETTINGS,
        0,
        0,
        &settings_payload(&[(INITIAL_WINDOW_SIZE, 1 << 20)]),
    )
    .await;
    read_rest(&mut conn, &mut answer).await;
    assert_eq!(answer.predict_output(), expected(&XS));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_answer_stays_within_the_connection_window_and_frame_size() {
    let server = server().await;
    // Streams may take 1 GB, the connection only its initial 65,535 until we grant more.
    let mut conn = Conn::open(server.addr, &[(INITIAL_WINDOW_SIZE, 1 << 30)]).await;
    let xs = inputs(100_000);
    conn.send_headers(1, &predict_fields(), false).await;
    conn.send_data(1, &predict_body(&xs), true).await;
    let mut window: i64 = 65_535;
    let mut updates = 0;
    let mut answer = Answer::default();
    while !answer.ended {
        let event = conn.next().await.expect("the large answer");
        if let Event::Data { flow_len, .. } = &event {
            assert!(
                *flow_len <= 16_384,
                "a {flow_len}-byte DATA frame: over our max frame"
            );
            window -= *flow_len as i64;
            assert!(window >= 0, "DATA beyond the connection window");
            if window < 32_768 {
                conn.send(
                    WINDOW_UPDATE,
                    0,
                    0,
                    &((65_535 - window) as u32).to_be_bytes(),
                )
                .await;
                window = 65_535;
                updates += 1;
            }
        }
        match event {
            event @ (Event::Headers { stream: 1, .. } | Event::Data { stream: 1, .. }) => {
                answer.absorb(event)
            }
            Event::Frame(f) if f.ty == GOAWAY || f.ty == RST_STREAM => panic!("{f:?}"),
            _ => {}
        }
    }
    assert!(answer.data.len() > 400_000, "{} bytes", answer.data.len());
    assert!(
        updates >= 6,
        "only {updates} connection WINDOW_UPDATEs were needed"
    );
    assert_eq!(answer.predict_output(), expected(&xs));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_3_mb_request_gets_window_from_the_server() {
    let server = server().await;
    let mut conn = Conn::open_roomy(server.addr).await;
    let xs = inputs(750_000);
    let body = predict_body(&xs);
    assert!(body.len() > 3_000_000);
    // send_data sends only within the windows the server granted, waiting for its updates.
    assert_eq!(predict_on(&mut conn, 1, &xs).await, expected(&xs));
    assert!(
        conn.conn_granted + 65_535 >= body.len() as u64,
        "the body went through on {} bytes of connection window",
        conn.conn_granted + 65_535
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_beyond_the_advertised_window_is_a_flow_control_error() {
    let server = server().await;
    // A call whose handler stops reading: server reflection answers each request on a
    // bounded channel, and with a 0 window for our side its answers cannot leave, so after a
    // few requests it stops taking more, and what we send stays in the server's window.
    let mut conn = Conn::open(server.addr, &[(INITIAL_WINDOW_SIZE, 0)]).await;
    let fields = [
        (":method", "POST"),
        (":scheme", "http"),
        (
            ":path",
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        ),
        (":authority", "localhost"),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
    ];
    conn.send_headers(1, &fields, false).await;
    // The stream's window comes from the server's SETTINGS, which precede everything else;
    // going past it is a violation whatever the connection window is by then.
    let limit = conn.stream_window(1);
    // ServerReflectionRequest { list_services: "" }, gRPC-framed: 7 bytes; whole ones per frame.
    let frame: Vec<u8> = [0, 0, 0, 0, 2, 0x3a, 0].repeat(16_384 / 7);
    // Past the window by more than the few frames the handler may have taken.
    let mut sent = 0;
    while sent <= limit as usize + 256 * 1024 {
        if conn
            .try_write(&frame_bytes(DATA, 0, 1, &frame))
            .await
            .is_err()
        {
            break; // Closed by the server: the error is read below.
        }
        sent += frame.len();
    }
    conn.expect_stream_or_connection_error(1, FLOW_CONTROL_ERROR)
        .await;
}
