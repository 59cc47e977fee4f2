//! Well-formed Predict calls in every framing HTTP/2 allows: the answer must not depend on how
//! the request was cut into frames, padded, prioritized or interleaved (RFC 9113 §4–§6).

use crate::common::h2grpc::*;
use crate::common::h2raw::*;
use crate::server;

const XS: [f32; 3] = [1.0, 2.0, 5.0];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unary_predict_is_answered_with_headers_data_and_trailers() {
    let server = server().await;
    let mut conn = Conn::open_roomy(server.addr).await;
    conn.send_headers(1, &predict_fields(), false).await;
    conn.send_data(1, &predict_body(&XS), true).await;
    let answer = read_answer(&mut conn, 1).await;
    assert_eq!(answer.predict_output(), vec![2.5, 3.0, 4.5]);
    assert!(
        answer.trailers.is_some(),
        "grpc-status must come in trailers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_in_many_tiny_data_frames() {
    let server = server().await;
    let mut conn = Conn::open_roomy(server.addr).await;
    conn.send_headers(1, &predict_fields(), false).await;
    let body = predict_body(&XS);
    let mut rest = &body[..];
    let mut size = 1;
    while !rest.is_empty() {
        let n = size.min(rest.len());
        conn.send(DATA, 0, 1, &rest[..n]).await;
        rest = &rest[n..];
        size = size % 7 + 1;
    }
    // END_STREAM on an empty DATA frame.
    conn.send(DATA, END_STREAM, 1, &[]).await;
    assert_eq!(
        read_answer(&mut conn, 1).await.predict_output(),
        expected(&XS)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_block_split_over_continuation_frames() {
    let server = server().await;
    let mut conn = Conn::open_roomy(server.addr).await;
    let block = hpack_block(&predict_fields());
    // HEADERS and four CONTINUATIONs: servers may cap how many CONTINUATIONs a block takes
    // (against CONTINUATION floods; h2 allows 5 with 16 kB frames), never this few.
    let chunks: Vec<&[u8]> = block.chunks(block.len().div_ceil(5)).collect();
    assert_eq!(chunks.len(), 5);
    conn.send(HEADERS, 0, 1, chunks[0]).await;
    for (i, chunk) in chunks[1..].iter().enumerate() {
        let last = i + 2 == chunks.len();
        conn.send(CONTINUATION, if last { END_HEADERS } else { 0 }, 1, chunk)
            .await;
    }
    conn.send_data(1, &predict_body(&XS), true).await;
    assert_eq!(
        read_answer(&mut conn, 1).await.predict_output(),
        expected(&XS)
    );
    // An empty CONTINUATION that only ends the block is valid too.
    conn.send(HEADERS, 0, 3, &block).await;
    conn.send(CONTINUATION, END_HEADERS, 3, &[]).await;
    conn.send_data(3, &predict_body(&XS), true).await;
    assert_eq!(
        read_answer(&mut conn, 3).await.predict_output(),
        expected(&XS)
    );
}

/// `payload` with the PADDED layout: pad length, the payload, `pad` zero octets.
fn padded(payload: &[u8], pad: u8) -> Vec<u8> {
    let mut out = vec![pad];
    out.extend_from_slice(payload);
    out.extend(std::iter::repeat_n(0, pad as usize));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn padded_headers_and_padded_data() {
    let server = server().await;
    let mut conn = Conn::open_roomy(server.addr).await;
    let block = hpack_block(&predict_fields());
    conn.send(HEADERS, END_HEADERS | PADDED, 1, &padded(&block, 10))
        .await;
    let body = predict_body(&XS);
    let (first, second) = body.split_at(body.len() / 2);
    conn.send(DATA, PADDED, 1, &padded(first, 20)).await;
    // Padding only, no data; then the rest with the maximal padding.
    conn.send(DATA, PADDED, 1, &padded(&[], 0)).await;
    conn.send(DATA, PADDED | END_STREAM, 1, &padded(second, 255))
        .await;
    assert_eq!(
        read_answer(&mut conn, 1).await.predict_output(),
        expected(&XS)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn priority_on_headers_and_priority_frames_are_accepted() {
    let server = server().await;
    let mut conn = Conn::open_roomy(server.addr).await;
    // PRIORITY for an idle stream does not open it (§5.1), so stream 1 may still be used.
    conn.send(PRIORITY, 0, 7, &[0, 0, 0, 0, 200]).await;
    conn.send(PRIORITY, 0, 1, &[0x80, 0, 0, 3, 15]).await;
    let mut payload = vec![0, 0, 0, 0, 255];
    payload.extend(hpack_block(&predict_fields()));
    conn.send(HEADERS, END_HEADERS | PRIORITY_FLAG, 1, &payload)
        .await;
    conn.send(PRIORITY, 0, 1, &[0, 0, 0, 0, 16]).await;
    conn.send_data(1, &predict_body(&XS), true).await;
    // PRIORITY may be sent on a stream in any state, closed ones included.
    let answer = read_answer(&mut conn, 1).await;
    conn.send(PRIORITY, 0, 1, &[0, 0, 0, 0, 16]).await;
    assert_eq!(answer.predict_output(), expected(&XS));
    assert_eq!(predict_on(&mut conn, 3, &XS).await, expected(&XS));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interleaved_streams_are_answered_independently() {
    let server = server().await;
    let mut conn = Conn::open_roomy(server.addr).await;
    let requests: Vec<(u32, Vec<f32>)> = vec![
        (1, vec![1.0, 2.0]),
        (3, vec![10.0, 20.0, 30.0]),
        (5, vec![-4.0]),
    ];
    for (stream, _) in &requests {
        conn.send_headers(*stream, &predict_fields(), false).await;
    }
    let bodies: Vec<Vec<u8>> = requests.iter().map(|(_, xs)| predict_body(xs)).collect();
    let longest = bodies.iter().map(Vec::len).max().unwrap();
    for at in (0..longest).step_by(4) {
        for ((stream, _), body) in requests.iter().zip(&bodies) {
            if at < body.len() {
                let end = (at + 4).min(body.len());
                let flags = if end == body.len() { END_STREAM } else { 0 };
                conn.send(DATA, flags, *stream, &body[at..end]).await;
            }
        }
    }
    let mut answers = read_answers(&mut conn, &[1, 3, 5]).await;
    for (stream, xs) in &requests {
        let answer = answers.remove(stream).unwrap();
        assert_eq!(answer.predict_output(), expected(xs), "stream {stream}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_sequential_streams_on_one_connection() {
    let server = server().await;
    let mut conn = Conn::open_roomy(server.addr).await;
    for i in 0..200u32 {
        let stream = 2 * i + 1;
        let xs = [i as f32];
        assert_eq!(predict_on(&mut conn, stream, &xs).await, expected(&xs));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_frame_types_and_settings_are_ignored() {
    let server = server().await;
    // An unknown SETTINGS identifier in the first SETTINGS (§6.5.2: MUST be ignored).
    let mut conn = Conn::open(server.addr, &[(0x00f0, 7), (INITIAL_WINDOW_SIZE, 1 << 20)]).await;
    conn.send(0xfa, 0xff, 0, b"unknown on stream 0").await;
    conn.send_headers(1, &predict_fields(), false).await;
    // Unknown frames on an open stream, in the middle of the body (§4.1, §5.5).
    let body = predict_body(&XS);
    conn.send(DATA, 0, 1, &body[..3]).await;
    conn.send(0xfb, 0, 1, &[1, 2, 3]).await;
    conn.send(0x20, 0x1, 1, &[]).await;
    conn.send(DATA, END_STREAM, 1, &body[3..]).await;
    assert_eq!(
        read_answer(&mut conn, 1).await.predict_output(),
        expected(&XS)
    );
    // And in a later SETTINGS frame.
    conn.send(SETTINGS, 0, 0, &settings_payload(&[(0x7777, 0xffff_ffff)]))
        .await;
    assert_eq!(predict_on(&mut conn, 3, &XS).await, expected(&XS));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_streams_are_all_answered() {
    let server = server().await;
    let mut conn = Conn::open_roomy(server.addr).await;
    let streams: Vec<u32> = (0..100).map(|i| 2 * i + 1).collect();
    // Every request is sent before any answer is read.
    for &stream in &streams {
        conn.send_headers(stream, &predict_fields(), false).await;
        conn.send_data(stream, &predict_body(&[stream as f32]), true)
            .await;
    }
    let mut answers = read_answers(&mut conn, &streams).await;
    for stream in streams {
        let output = answers.remove(&stream).unwrap().predict_output();
        assert_eq!(output, expected(&[stream as f32]), "stream {stream}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_trailers_and_a_matching_content_length_are_accepted() {
    let server = server().await;
    let mut conn = Conn::open_roomy(server.addr).await;
    let body = predict_body(&XS);
    let length = body.len().to_string();
    let mut fields = predict_fields();
    fields.push(("content-length", &length));
    conn.send_headers(1, &fields, false).await;
    conn.send_data(1, &body, false).await;
    // A trailer section ends the request (RFC 9113 §8.1).
    conn.send_headers(1, &[("x-request-trailer", "1")], true)
        .await;
    assert_eq!(
        read_answer(&mut conn, 1).await.predict_output(),
        expected(&XS)
    );
}
