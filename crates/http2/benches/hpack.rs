//! HPACK speed against a baseline measured in the same run: `fluke-hpack` (an independent
//! implementation) on the same blocks. Prints ns per block for both and the ratio; asserts
//! nothing about time (the box is shared and noisy; compare ratios, not absolute figures).
//!
//! `cargo bench -p tensorserve-http2 --bench hpack`
//!
//! Workloads, shaped like a gRPC Predict call: the request header block as a client sends it
//! first on a connection (Huffman literals that fill the dynamic table; decoded by a fresh
//! decoder each time) and as it sends it afterwards (all indexed); our response headers and
//! trailers encoded after the first response (all indexed).

use std::hint::black_box;
use std::time::Instant;

use tensorserve_http2::hpack::{Decoder, Encoder};

const REQUEST: [(&str, &str); 9] = [
    (":method", "POST"),
    (":scheme", "http"),
    (":path", "/tensorflow.serving.PredictionService/Predict"),
    (":authority", "localhost:8500"),
    ("content-type", "application/grpc"),
    (
        "user-agent",
        "grpc-python/1.66.1 grpc-c/43.0.0 (linux; chttp2)",
    ),
    ("te", "trailers"),
    ("grpc-accept-encoding", "identity, deflate, gzip"),
    ("grpc-timeout", "9999947u"),
];

/// The request as a client's encoder writes it on a fresh connection and then again: Huffman
/// everywhere, incremental indexing, indexes wherever the table has the field.
fn request_blocks() -> (Vec<u8>, Vec<u8>) {
    let mut enc = httlib_hpack::Encoder::default();
    let mut blocks = [Vec::new(), Vec::new()];
    for block in &mut blocks {
        for (n, v) in REQUEST {
            let flags = 0x1 | 0x2 | 0x4 | 0x10;
            enc.encode((n.as_bytes().to_vec(), v.as_bytes().to_vec(), flags), block)
                .unwrap();
        }
    }
    let [first, later] = blocks;
    (first, later)
}

/// Median ns per call of `f` over 7 rounds of `iters` calls.
fn time(iters: u32, mut f: impl FnMut()) -> f64 {
    let mut rounds: Vec<f64> = (0..7)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                f();
            }
            start.elapsed().as_nanos() as f64 / f64::from(iters)
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[3]
}

fn report(what: &str, ours: f64, theirs: f64) {
    println!(
        "{what:<44} ours {ours:>8.1} ns   fluke-hpack {theirs:>8.1} ns   ratio {:.2}",
        ours / theirs
    );
}

fn main() {
    let (first, later) = request_blocks();
    println!(
        "request block: first {} bytes, later {} bytes",
        first.len(),
        later.len()
    );

    let ours = time(20_000, || {
        let mut d = Decoder::new(4096);
        let mut n = 0;
        d.decode(black_box(&first), &mut |name, value| {
            n += name.len() + value.len()
        })
        .unwrap();
        black_box(n);
    });
    let theirs = time(20_000, || {
        let mut d = fluke_hpack::Decoder::new();
        let mut n = 0;
        d.decode_with_cb(black_box(&first), |name, value| {
            n += name.len() + value.len()
        })
        .unwrap();
        black_box(n);
    });
    report("decode first request (fresh decoder)", ours, theirs);

    let mut d = Decoder::new(4096);
    d.decode(&first, &mut |_, _| {}).unwrap();
    let ours = time(200_000, || {
        let mut n = 0;
        d.decode(black_box(&later), &mut |name, value| {
            n += name.len() + value.len()
        })
        .unwrap();
        black_box(n);
    });
    let mut d = fluke_hpack::Decoder::new();
    d.decode(&first).unwrap();
    let theirs = time(200_000, || {
        let mut n = 0;
        d.decode_with_cb(black_box(&later), |name, value| {
            n += name.len() + value.len()
        })
        .unwrap();
        black_box(n);
    });
    report("decode later request (all indexed)", ours, theirs);

    let headers: [(&[u8], &[u8]); 2] =
        [(b":status", b"200"), (b"content-type", b"application/grpc")];
    let trailers: [(&[u8], &[u8]); 1] = [(b"grpc-status", b"0")];
    let mut e = Encoder::new();
    let mut out = Vec::with_capacity(64);
    let ours = time(200_000, || {
        out.clear();
        e.encode(black_box(headers), &mut out);
        e.encode(black_box(trailers), &mut out);
        black_box(&out);
    });
    let mut e = fluke_hpack::Encoder::new();
    let theirs = time(200_000, || {
        out.clear();
        e.encode_into(black_box(headers), &mut out).unwrap();
        e.encode_into(black_box(trailers), &mut out).unwrap();
        black_box(&out);
    });
    report("encode response headers + trailers", ours, theirs);
}
