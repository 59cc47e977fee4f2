//! Frames that break the connection's rules: each must end the connection with a GOAWAY carrying
//! the error code the RFC names (RFC 9113 §5.4.1), and then a close.

use crate::common::h2grpc::*;
use crate::common::h2raw::*;
use crate::server;

/// Sends `frames` (raw bytes) on a fresh connection and expects GOAWAY `code`.
async fn expect_goaway_after(frames: Vec<u8>, code: u32) {
    let server = server().await;
    let mut conn = Conn::open(server.addr, &[]).await;
    conn.write(&frames).await;
    conn.expect_goaway(code).await;
}

/// A Predict HEADERS frame opening `stream` (no END_STREAM), as bytes.
fn open_stream(stream: u32) -> Vec<u8> {
    frame_bytes(
        HEADERS,
        END_HEADERS,
        stream,
        &hpack_block(&predict_fields()),
    )
}

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_on_stream_0_is_a_protocol_error() {
    expect_goaway_after(frame_bytes(DATA, 0, 0, b"data"), PROTOCOL_ERROR).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_on_stream_0_is_a_protocol_error() {
    expect_goaway_after(open_stream(0), PROTOCOL_ERROR).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn even_stream_id_from_the_client_is_a_protocol_error() {
    expect_goaway_after(open_stream(2), PROTOCOL_ERROR).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_id_lower_than_a_previous_one_is_a_protocol_error() {
    let server = server().await;
    let mut conn = Conn::open_roomy(server.addr).await;
    assert_eq!(predict_on(&mut conn, 5, &[1.0]).await, expected(&[1.0]));
    conn.write(&open_stream(3)).await;
    conn.expect_goaway(PROTOCOL_ERROR).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_promise_from_the_client_is_a_protocol_error() {
    let mut payload = 2u32.to_be_bytes().to_vec();
    payload.extend(hpack_block(&predict_fields()));
    let frames = cat(&[
        open_stream(1),
        frame_bytes(PUSH_PROMISE, END_HEADERS, 1, &payload),
    ]);
    expect_goaway_after(frames, PROTOCOL_ERROR).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_block_interrupted_by_another_frame_is_a_protocol_error() {
    let block = hpack_block(&predict_fields());
    let (first, _) = block.split_at(10);
    let frames = cat(&[
        frame_bytes(HEADERS, 0, 1, first),
        frame_bytes(DATA, 0, 1, b"x"),
    ]);
    expect_goaway_after(frames, PROTOCOL_ERROR).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuation_on_another_stream_is_a_protocol_error() {
    let block = hpack_block(&predict_fields());
    let (first, rest) = block.split_at(10);
    let frames = cat(&[
        frame_bytes(HEADERS, 0, 1, first),
        frame_bytes(CONTINUATION, END_HEADERS, 3, rest),
    ]);
    expect_goaway_after(frames, PROTOCOL_ERROR).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuation_without_headers_is_a_protocol_error() {
    let block = hpack_block(&predict_fields());
    expect_goaway_after(
        frame_bytes(CONTINUATION, END_HEADERS, 1, &block),
        PROTOCOL_ERROR,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuation_after_a_finished_block_is_a_protocol_error() {
    let frames = cat(&[
        open_stream(1),
        frame_bytes(CONTINUATION, END_HEADERS, 1, &hpack_block(&[("x-a", "b")])),
    ]);
    expect_goaway_after(frames, PROTOCOL_ERROR).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_frame_over_max_frame_size_is_a_frame_size_error() {
    // A header block can change the connection's HPACK state: a connection error (§4.2).
    let mut fields = predict_fields();
    let big = "v".repeat(16_400);
    fields.push(("x-big", &big));
    expect_goaway_after(open_stream_with(&fields), FRAME_SIZE_ERROR).await;
}

fn open_stream_with(fields: &[(&str, &str)]) -> Vec<u8> {
    frame_bytes(HEADERS, END_HEADERS, 1, &hpack_block(fields))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_frame_over_max_frame_size_is_a_frame_size_error() {
    let server = server().await;
    let mut conn = Conn::open(server.addr, &[]).await;
    conn.write(&open_stream(1)).await;
    conn.write(&frame_bytes(DATA, 0, 1, &[0; 16_385])).await;
    // On a stream the error may be a stream error or a connection error (§4.2).
    if conn
        .expect_stream_or_connection_error(1, FRAME_SIZE_ERROR)
        .await
    {
        assert_eq!(predict_on(&mut conn, 3, &[1.0]).await, expected(&[1.0]));
    }
}

/// A request whose header block is `block` ends the connection with COMPRESSION_ERROR.
async fn expect_compression_error(block: &[u8]) {
    expect_goaway_after(
        frame_bytes(HEADERS, END_HEADERS, 1, block),
        COMPRESSION_ERROR,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hpack_index_0_is_a_compression_error() {
    let mut block = vec![0x80];
    block.extend(hpack_block(&predict_fields()));
    expect_compression_error(&block).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hpack_index_beyond_the_table_is_a_compression_error() {
    // Index 70: the static table has 61 entries and the dynamic table is empty.
    let mut block = hpack_block(&predict_fields());
    hpack_int(&mut block, 0x80, 7, 70);
    expect_compression_error(&block).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hpack_table_size_update_over_the_setting_is_a_compression_error() {
    // Our decoder's limit is the default SETTINGS_HEADER_TABLE_SIZE, 4096 (RFC 7541 §6.3).
    let mut block = Vec::new();
    hpack_int(&mut block, 0x20, 5, 4097);
    block.extend(hpack_block(&predict_fields()));
    expect_compression_error(&block).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hpack_table_size_update_after_a_field_is_a_compression_error() {
    // A size update must come first in a block (RFC 7541 §4.2).
    let mut block = hpack_block(&predict_fields());
    hpack_int(&mut block, 0x20, 5, 100);
    expect_compression_error(&block).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn padding_longer_than_the_payload_is_a_protocol_error() {
    // Pad length 5 in a 4-octet payload.
    let frames = cat(&[open_stream(1), frame_bytes(DATA, PADDED, 1, &[5, 0, 0, 0])]);
    expect_goaway_after(frames, PROTOCOL_ERROR).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_padding_longer_than_the_payload_is_a_protocol_error() {
    let mut payload = vec![200];
    payload.extend(hpack_block(&predict_fields()));
    let frames = frame_bytes(HEADERS, END_HEADERS | PADDED, 1, &payload[..100]);
    expect_goaway_after(frames, PROTOCOL_ERROR).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rst_stream_on_an_idle_stream_is_a_protocol_error() {
    expect_goaway_after(
        frame_bytes(RST_STREAM, 0, 1, &CANCEL.to_be_bytes()),
        PROTOCOL_ERROR,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rst_stream_of_wrong_length_is_a_frame_size_error() {
    let frames = cat(&[open_stream(1), frame_bytes(RST_STREAM, 0, 1, &[0, 0, 8])]);
    expect_goaway_after(frames, FRAME_SIZE_ERROR).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_update_of_wrong_length_is_a_frame_size_error() {
    expect_goaway_after(
        frame_bytes(WINDOW_UPDATE, 0, 0, &[0, 0, 1]),
        FRAME_SIZE_ERROR,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn priority_of_wrong_length_is_a_frame_size_error() {
    let server = server().await;
    let mut conn = Conn::open_roomy(server.addr).await;
    conn.write(&open_stream(1)).await;
    conn.write(&frame_bytes(PRIORITY, 0, 1, &[0, 0, 0, 0]))
        .await;
    // A stream error (§6.3); a connection error is also a correct, stricter, reaction.
    if conn
        .expect_stream_or_connection_error(1, FRAME_SIZE_ERROR)
        .await
    {
        assert_eq!(predict_on(&mut conn, 3, &[1.0]).await, expected(&[1.0]));
    }
}
