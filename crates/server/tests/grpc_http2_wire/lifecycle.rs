//! The connection's life around the calls: graceful shutdown on SIGTERM (RFC 9113 §6.8), and
//! HPACK's dynamic table sized by our SETTINGS_HEADER_TABLE_SIZE (RFC 7541 §4.2).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::h2grpc::*;
use crate::common::h2raw::*;
use crate::server;

/// The real binary, killed if the test ends before it exits.
struct Binary(Child);

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_sends_goaway_no_error_and_closes_an_idle_connection() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_tensorserve"))
        .args([
            format!("--port={port}"),
            "--grpc_address=127.0.0.1".to_string(),
            "--rest_api_port=0".to_string(),
            "--model_name=half_plus_two".to_string(),
            format!(
                "--model_base_path={}",
                crate::common::bundled_base().display()
            ),
            "--drain_delay_seconds=0".to_string(),
            "--shutdown_grace_seconds=20".to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the binary");
    let mut binary = Binary(child);
    crate::common::wait_for("the gRPC port", Duration::from_secs(60), || async move {
        tokio::net::TcpStream::connect(addr).await.ok().map(|_| ())
    })
    .await;
    let mut conn = Conn::open_roomy(addr).await;
    assert_eq!(predict_on(&mut conn, 1, &[1.0]).await, expected(&[1.0]));
    conn.ping_roundtrip().await;

    let kill = Command::new("kill")
        .args(["-TERM", &binary.0.id().to_string()])
        .status()
        .expect("run kill");
    assert!(kill.success());
    // One GOAWAY or two (a first with 2^31-1, then the real last stream); every one NO_ERROR.
    // PINGs the server sends meanwhile are ACKed by the client.
    let mut last = None;
    loop {
        match conn.next().await {
            Ok(Event::Frame(f)) if f.ty == GOAWAY => {
                assert_eq!(f.u32_at(4), NO_ERROR, "{}", goaway_text(&f));
                last = Some(f);
            }
            Ok(Event::Frame(f)) if f.ty == RST_STREAM => panic!("{f:?}"),
            Ok(_) => {}
            Err(End::Closed) => break,
            Err(End::Timeout) => panic!("the connection stayed open after SIGTERM"),
        }
    }
    let last = last.expect("the connection closed without a GOAWAY");
    assert!(
        last.u32_at(0) & 0x7fff_ffff >= 1,
        "stream 1 was processed: {}",
        goaway_text(&last)
    );
    let status = tokio::task::spawn_blocking(move || {
        let status = binary.0.wait();
        (status, binary)
    });
    let (status, _binary) = tokio::time::timeout(Duration::from_secs(30), status)
        .await
        .expect("the process exits after its last connection closed")
        .unwrap();
    assert!(status.expect("wait").success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_table_size_0_is_honoured_by_the_server_encoder() {
    let server = server().await;
    let mut conn = Conn::open(
        server.addr,
        &[(HEADER_TABLE_SIZE, 0), (INITIAL_WINDOW_SIZE, 1 << 20)],
    )
    .await;
    // Our decoder has no dynamic table: a block that indexes into one, or sets it above 0,
    // fails to decode (the client panics with the decoder's error).
    conn.decoder.set_max_allowed_table_size(0);
    conn.decoder.set_max_table_size(0);
    for stream in [1, 3, 5] {
        let xs = [stream as f32];
        assert_eq!(predict_on(&mut conn, stream, &xs).await, expected(&xs));
    }
    // A trailers-only error answer (no request message) decodes too.
    conn.send_headers(7, &predict_fields(), true).await;
    let answer = read_answer(&mut conn, 7).await;
    assert_ne!(answer.grpc_status(), Some("0"), "{answer:?}");
    assert_eq!(predict_on(&mut conn, 9, &[2.0]).await, expected(&[2.0]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_in_flight_at_shutdown_is_still_answered() {
    let server = server().await;
    let mut conn = Conn::open_roomy(server.addr).await;
    let body = predict_body(&[1.0, 2.0, 5.0]);
    conn.send_headers(1, &predict_fields(), false).await;
    conn.send(DATA, 0, 1, &body[..4]).await;
    conn.ping_roundtrip().await;
    server.server.shutdown();
    // A GOAWAY NO_ERROR whose last stream id covers the call (§6.8)...
    let goaway = conn.read_goaway().await;
    assert_eq!(goaway.u32_at(4), NO_ERROR, "{}", goaway_text(&goaway));
    assert!(
        goaway.u32_at(0) & 0x7fff_ffff >= 1,
        "{}",
        goaway_text(&goaway)
    );
    // ...then the rest of the request is read and answered, and only then the close.
    conn.send(DATA, END_STREAM, 1, &body[4..]).await;
    let answer = read_answers_through_goaway(&mut conn, 1).await;
    assert_eq!(answer.predict_output(), vec![2.5, 3.0, 4.5]);
    conn.expect_closed().await;
}

/// Reads stream `stream`'s answer, skipping further GOAWAYs (which must be NO_ERROR).
async fn read_answers_through_goaway(conn: &mut Conn, stream: u32) -> Answer {
    let mut answer = Answer::default();
    while !answer.ended {
        match conn.next().await.expect("the in-flight call's answer") {
            Event::Frame(f) if f.ty == GOAWAY => {
                assert_eq!(f.u32_at(4), NO_ERROR, "{}", goaway_text(&f));
                assert!(f.u32_at(0) & 0x7fff_ffff >= stream, "{}", goaway_text(&f));
            }
            Event::Frame(f) if f.ty == RST_STREAM && f.stream == stream => {
                answer.absorb(Event::Frame(f))
            }
            event @ (Event::Headers { stream: s, .. } | Event::Data { stream: s, .. })
                if s == stream =>
            {
                answer.absorb(event)
            }
            _ => {}
        }
    }
    answer
}
