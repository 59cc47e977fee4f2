//! Malformed requests (RFC 9113 §8.1.1, §8.2, §8.3.1): each is a stream error of type
//! PROTOCOL_ERROR, which the server may precede with an HTTP error response; it must never be
//! served as a call, and the connection must keep serving the next stream.

use crate::common::h2grpc::*;
use crate::common::h2raw::*;
use crate::server;

/// Predict's fields with `edit` applied.
fn fields_with(
    edit: impl FnOnce(&mut Vec<(&'static str, &'static str)>),
) -> Vec<(&'static str, &'static str)> {
    let mut fields = predict_fields();
    edit(&mut fields);
    fields
}

/// Sends a Predict with `fields` on stream 1, checks it is refused, then that stream 3 works.
async fn refused(fields: Vec<(&str, &str)>) {
    let server = server().await;
    let mut conn = Conn::open_roomy(server.addr).await;
    conn.send_headers(1, &fields, false).await;
    conn.send(DATA, END_STREAM, 1, &predict_body(&[1.0])).await;
    check_refused(conn).await;
}

/// Reads stream 1's answer, which must be a refusal, then checks stream 3 is served.
async fn check_refused(mut conn: Conn) {
    let answer = read_answer(&mut conn, 1).await;
    let refused = match (answer.reset, answer.status()) {
        (Some(code), _) => code == PROTOCOL_ERROR,
        (None, Some(status)) => status.starts_with('4') || answer.grpc_status() != Some("0"),
        (None, None) => false,
    };
    assert!(refused, "a malformed request was not refused: {answer:?}");
    assert_eq!(predict_on(&mut conn, 3, &[1.0]).await, expected(&[1.0]));
}

macro_rules! malformed {
    ($($(#[$attr:meta])* $name:ident: $edit:expr;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[$attr])*
        async fn $name() {
            refused(fields_with($edit)).await;
        }
    )*};
}

malformed! {
    uppercase_header_name: |f| f.push(("X-Upper", "1"));
    connection_specific_header: |f| f.push(("connection", "keep-alive"));
    keep_alive_header: |f| f.push(("keep-alive", "timeout=5"));
    te_other_than_trailers: |f| f[5].1 = "gzip";
    missing_path: |f| f.retain(|(n, _)| *n != ":path");
    missing_method: |f| f.retain(|(n, _)| *n != ":method");
    missing_scheme: |f| f.retain(|(n, _)| *n != ":scheme");
    empty_path: |f| f[2].1 = "";
    duplicate_path: |f| f.insert(3, (":path", "/x"));
    unknown_pseudo_header: |f| f.insert(0, (":foo", "bar"));
    response_pseudo_header_in_a_request: |f| f.insert(0, (":status", "200"));
    pseudo_header_after_a_regular_one: |f| f.push((":authority", "late"));
    content_length_not_matching_the_body: |f| f.push(("content-length", "1"));
}

/// A valid Predict on stream 1 whose body is followed by a HEADERS frame of `trailers`.
async fn refused_trailers(trailers: &[(&str, &str)], end_stream: bool) {
    let server = server().await;
    let mut conn = Conn::open_roomy(server.addr).await;
    conn.send_headers(1, &predict_fields(), false).await;
    conn.send(DATA, 0, 1, &predict_body(&[1.0])).await;
    conn.send_headers(1, trailers, end_stream).await;
    if !end_stream {
        conn.send(DATA, END_STREAM, 1, &[]).await;
    }
    check_refused(conn).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pseudo_header_in_trailers() {
    refused_trailers(&[(":path", "/x")], true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trailers_without_end_stream() {
    refused_trailers(&[("x-trailer", "1")], false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_list_over_the_advertised_limit_is_refused() {
    let server = server().await;
    let mut conn = Conn::open_roomy(server.addr).await;
    let limit = conn
        .server_settings
        .iter()
        .rev()
        .find(|(id, _)| *id == MAX_HEADER_LIST_SIZE)
        .map(|&(_, value)| value as usize);
    let Some(limit) = limit else {
        return; // No limit advertised: nothing to check.
    };
    // One field past the limit, in HEADERS + CONTINUATIONs of at most 16 kB each.
    let big = "v".repeat(limit + 100);
    let mut fields = predict_fields();
    fields.push(("x-big", &big));
    let block = hpack_block(&fields);
    let chunks: Vec<&[u8]> = block.chunks(16_000).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let ty = if i == 0 { HEADERS } else { CONTINUATION };
        let flags = if i + 1 == chunks.len() {
            END_HEADERS
        } else {
            0
        };
        conn.send(ty, flags, 1, chunk).await;
    }
    conn.send(DATA, END_STREAM, 1, &predict_body(&[1.0])).await;
    // §10.5.1: the server may answer 431 or reset the stream; it must not serve the call, and
    // its HPACK state stays in step, so the connection keeps serving.
    let answer = read_answer(&mut conn, 1).await;
    let refused = answer.reset.is_some() || answer.status().is_some_and(|s| s.starts_with('4'));
    assert!(refused, "an oversize header list was served: {answer:?}");
    assert_eq!(predict_on(&mut conn, 3, &[1.0]).await, expected(&[1.0]));
}

/// A peer that keeps sending requests we must refuse is cut off: after 1024 streams reset for
/// its errors, GOAWAY ENHANCE_YOUR_CALM (the limit the listener kept from the h2 crate).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_malformed_requests_closes_the_connection() {
    let server = server().await;
    let mut conn = Conn::open_roomy(server.addr).await;
    let fields = fields_with(|f| f.push(("X-Upper", "1")));
    // Exactly one past the limit: the server closes right after the last one, with nothing
    // of ours left unread (unread bytes would make its close a TCP reset, which can overtake
    // the GOAWAY).
    for i in 0..1025u32 {
        conn.send_headers(1 + 2 * i, &fields, true).await;
    }
    conn.expect_goaway(ENHANCE_YOUR_CALM).await;
}
