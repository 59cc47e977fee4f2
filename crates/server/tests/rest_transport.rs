//! HTTP-level behaviour: bytes after the JSON, gzip request bodies, CORS, the exact response
//! bytes and the non-finite number tokens.

mod common;

use std::io::Write;

use common::http::{post, request};
use common::start_bundled;
use serde_json::json;

const PREDICT: &str = "/v1/models/half_plus_two:predict";

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trailing_bytes_after_the_json_are_ignored() {
    let s = start_bundled(&[]).await;
    for body in [
        r#"{"instances": [1.0]}X"#,
        "{\"instances\": [1.0]}\n\n",
        r#"{"instances": [1.0]} {"instances": [7.0]}"#,
        r#"{"instances": [1.0]}]]]}}}"#,
    ] {
        let r = post(s.addr, PREDICT, body).await;
        assert_eq!(r.status, 200, "{body:?}: {}", r.text());
        assert_eq!(r.json(), json!({"predictions": [2.5]}), "{body:?}");
    }
    let r = post(
        s.addr,
        "/v1/models/half_plus_two:regress",
        r#"{"signature_name": "regress_x_to_y", "examples": [{"x": 1.0}]}garbage"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"results": [2.5]}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_request_bodies_are_decompressed() {
    let s = start_bundled(&[]).await;
    let body = gzip(br#"{"instances": [1.0, 2.0, 5.0]}"#);
    for encoding in ["gzip", "GZIP"] {
        let r = request(
            s.addr,
            "POST",
            PREDICT,
            &[("Content-Encoding", encoding)],
            &body,
        )
        .await
        .unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json(), json!({"predictions": [2.5, 3.0, 4.5]}));
        // Responses are never compressed.
        assert_eq!(r.header("content-encoding"), None);
    }
    let body = gzip(br#"{"signature_name": "classify_x_to_y", "examples": [{"x": 3.0}]}"#);
    let r = request(
        s.addr,
        "POST",
        "/v1/models/half_plus_two:classify",
        &[("Content-Encoding", "gzip")],
        &body,
    )
    .await
    .unwrap();
    assert_eq!(r.json(), json!({"results": [[["", 3.5]]]}));
    // A body that claims gzip but is not is refused, and the server carries on.
    let r = request(
        s.addr,
        "POST",
        PREDICT,
        &[("Content-Encoding", "gzip")],
        br#"{"instances": [1.0]}"#,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.error()
            .starts_with("Failed to decompress gzip request body")
    );
    let r = post(s.addr, PREDICT, r#"{"instances": [1.0]}"#).await;
    assert_eq!(r.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_preflight_and_headers() {
    let s = start_bundled(&["--rest_api_enable_cors_support"]).await;
    let r = request(
        s.addr,
        "OPTIONS",
        PREDICT,
        &[
            ("Origin", "http://example.com"),
            ("Access-Control-Request-Method", "POST"),
        ],
        b"",
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty(), "{}", r.text());
    assert_eq!(r.header("content-type"), None);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("access-control-allow-methods"), Some("POST, GET"));
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("Content-Type")
    );

    // Without an http(s) Origin the preflight fails, with an empty body.
    for headers in [vec![], vec![("Origin", "ftp://example.com")]] {
        let r = request(s.addr, "OPTIONS", PREDICT, &headers, b"")
            .await
            .unwrap();
        assert_eq!(r.status, 400, "{headers:?}");
        assert!(r.body.is_empty(), "{}", r.text());
    }

    // Every dispatcher response carries the headers, errors included.
    let r = request(
        s.addr,
        "POST",
        PREDICT,
        &[("Origin", "https://example.com")],
        br#"{"instances": [1.0]}"#,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let r = post(s.addr, "/v1/models/nope:predict", r#"{"instances": [1.0]}"#).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_is_answered_without_cors_but_no_headers_are_added() {
    let s = start_bundled(&[]).await;
    let r = request(
        s.addr,
        "OPTIONS",
        PREDICT,
        &[("Origin", "https://a.b")],
        b"",
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), None);
    let r = post(s.addr, PREDICT, r#"{"instances": [1.0]}"#).await;
    assert_eq!(r.header("access-control-allow-origin"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_bytes_and_non_finite_tokens() {
    let s = start_bundled(&[]).await;
    // The request Content-Type is ignored (TF Serving's own tests post form-encoded).
    let r = request(
        s.addr,
        "POST",
        PREDICT,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        br#"{"instances": [1.0, 2.0, 5.0]}"#,
    )
    .await
    .unwrap();
    assert_eq!(r.text(), "{\n    \"predictions\": [2.5, 3.0, 4.5\n    ]\n}");
    let r = post(s.addr, PREDICT, r#"{"inputs": [1.0, 2.0, 5.0]}"#).await;
    assert_eq!(
        r.text(),
        "{\n    \"outputs\": [\n        2.5,\n        3.0,\n        4.5\n    ]\n}"
    );
    let r = post(
        s.addr,
        PREDICT,
        r#"{"instances": [NaN, Infinity, -Infinity, 1e38]}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.text(),
        "{\n    \"predictions\": [NaN, Infinity, -Infinity, 5e+37\n    ]\n}"
    );
}
