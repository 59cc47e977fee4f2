//! Every REST endpoint on the bundled `models/half_plus_two`, over real HTTP.

mod common;

use common::http::{get, post, request};
use common::{bundled_base, model_entry, scratch, start, write_config};
use serde_json::json;

const PREDICT: &str = "/v1/models/half_plus_two:predict";

fn model_flags(base: &str) -> Vec<String> {
    vec![
        "--model_name=half_plus_two".into(),
        format!("--model_base_path={base}"),
    ]
}

async fn bundled() -> common::TestServer {
    let base = bundled_base().display().to_string();
    let flags = model_flags(&base);
    let args: Vec<&str> = flags.iter().map(String::as_str).collect();
    start(&args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predict_row_and_columnar_forms() {
    let s = bundled().await;
    let cases = [
        // The lab's curl.
        (
            r#"{"instances": [1.0, 2.0, 5.0]}"#,
            json!({"predictions": [2.5, 3.0, 4.5]}),
        ),
        // Named row form, and the signature's own [-1, 1] shape.
        (
            r#"{"instances": [{"x": [1.0]}, {"x": [3.0]}]}"#,
            json!({"predictions": [[2.5], [3.5]]}),
        ),
        (
            r#"{"signature_name": "serving_default", "instances": [[1.0], [2.0]]}"#,
            json!({"predictions": [[2.5], [3.0]]}),
        ),
        // Columnar, plain and named.
        (
            r#"{"inputs": [1.0, 2.0, 5.0]}"#,
            json!({"outputs": [2.5, 3.0, 4.5]}),
        ),
        (
            r#"{"inputs": {"x": [[1.0], [2.0]]}}"#,
            json!({"outputs": [[2.5], [3.0]]}),
        ),
        // Integers are accepted for floats.
        (r#"{"instances": [4]}"#, json!({"predictions": [4.0]})),
        // Another predict-shaped signature, fed directly.
        (
            r#"{"signature_name": "regress_x2_to_y3", "inputs": {"inputs": [[1.0], [2.0]]}}"#,
            json!({"outputs": [[3.5], [4.0]]}),
        ),
    ];
    for (body, want) in cases {
        let r = post(s.addr, PREDICT, body).await;
        assert_eq!(r.status, 200, "{body}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.json(), want, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classify_and_regress() {
    let s = bundled().await;
    let r = post(
        s.addr,
        "/v1/models/half_plus_two:classify",
        r#"{"signature_name": "classify_x_to_y", "examples": [{"x": 1.0}, {"x": 3.0}]}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"results": [[["", 2.5]], [["", 3.5]]]}));

    let r = post(
        s.addr,
        "/v1/models/half_plus_two:regress",
        r#"{"signature_name": "regress_x_to_y", "examples": [{"x": 1.0}, {"x": 5.0}]}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"results": [2.5, 4.5]}));

    // `context` features are merged into every example.
    let r = post(
        s.addr,
        "/v1/models/half_plus_two/versions/123:regress",
        r#"{"signature_name": "regress_x_to_y2", "context": {"x": 4.0}, "examples": [{}, {}]}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"results": [5.0, 5.0]}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_metadata() {
    let s = bundled().await;
    let want_status = json!({"model_version_status": [{
        "version": "123",
        "state": "AVAILABLE",
        "status": {"error_code": "OK", "error_message": ""},
    }]});
    for path in [
        "/v1/models/half_plus_two",
        "/v1/models/half_plus_two/versions/123",
        // Labels are ignored by GetModelStatus.
        "/v1/models/half_plus_two/labels/whatever",
    ] {
        let r = get(s.addr, path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.json(), want_status, "{path}");
    }

    for path in [
        "/v1/models/half_plus_two/metadata",
        "/v1/models/half_plus_two/versions/123/metadata",
    ] {
        let r = get(s.addr, path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let m = r.json();
        assert_eq!(
            m["model_spec"],
            json!({"name": "half_plus_two", "signature_name": "", "version": "123"})
        );
        let defs = &m["metadata"]["signature_def"]["signature_def"];
        let mut names: Vec<&String> = defs.as_object().expect("signature map").keys().collect();
        names.sort();
        assert_eq!(
            names,
            [
                "classify_x2_to_y3",
                "classify_x_to_y",
                "regress_x2_to_y3",
                "regress_x_to_y",
                "regress_x_to_y2",
                "serving_default"
            ]
        );
        assert_eq!(
            defs["serving_default"]["inputs"]["x"],
            json!({
                "dtype": "DT_FLOAT",
                "tensor_shape": {"dim": [{"size": "-1", "name": ""}, {"size": "1", "name": ""}], "unknown_rank": false},
                "name": "x:0",
            })
        );
        assert_eq!(defs["serving_default"]["defaults"], json!({}));
    }

    let r = get(s.addr, "/v1/models/half_plus_two/versions/7").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error(), "Could not find version 7 of model half_plus_two");
    let r = get(s.addr, "/v1/models/half_plus_two/versions/7/metadata").await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.error(),
        "Servable not found for request: Specific(half_plus_two, 7)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_and_labels_in_urls() {
    let dir = scratch("bundled-labels");
    let config = write_config(
        &dir,
        &format!(
            "model_config_list {{\n{}}}\n",
            model_entry(
                "half_plus_two",
                &bundled_base(),
                "    version_labels { key: 'stable' value: 123 }\n"
            )
        ),
    );
    let flag = format!("--model_config_file={}", config.display());
    let s = start(&[&flag]).await;
    for path in [
        "/v1/models/half_plus_two/versions/123:predict",
        "/v1/models/half_plus_two/labels/stable:predict",
        "/V1/MODELS/half_plus_two/LABELS/stable:predict",
    ] {
        let r = post(s.addr, path, r#"{"instances": [2.0]}"#).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.json(), json!({"predictions": [3.0]}), "{path}");
    }
    let r = get(s.addr, "/v1/models/half_plus_two/labels/stable/metadata").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["model_spec"]["version"], "123");

    let r = post(
        s.addr,
        "/v1/models/half_plus_two/labels/canary:predict",
        r#"{"instances": [2.0]}"#,
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error(), "Unrecognized servable version label: canary");
    let r = post(
        s.addr,
        "/v1/models/half_plus_two/versions/124:predict",
        r#"{"instances": [2.0]}"#,
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.error(),
        "Servable not found for request: Specific(half_plus_two, 124)"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_endpoints_and_plain_404() {
    let s = bundled().await;
    assert_eq!(get(s.addr, "/v2/health/live").await.status, 200);
    assert_eq!(get(s.addr, "/v2/health/ready").await.status, 200);
    // Outside /v1/, libevent's HTML 404.
    let r = request(s.addr, "GET", "/", &[], b"").await.unwrap();
    assert_eq!(r.status, 404);
    assert!(r.text().contains("Not Found"), "{}", r.text());
}
