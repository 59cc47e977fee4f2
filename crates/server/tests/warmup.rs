//! Model warmup through the real server: a version is served only after the requests in its
//! `assets.extra/tf_serving_warmup_requests` ran (also through the batching queue), its
//! duration is exported as TF Serving's `model_warmup_latency`, a failing warmup keeps the
//! version out, and `--enable_model_warmup=false` skips it. The warmup files are TensorFlow's
//! (`testdata/warmup/`, tools/fixtures/make_warmup_requests.py); the record-level rules are
//! tested in `src/warmup/tests.rs`.

mod common;

use std::path::{Path, PathBuf};

use common::http;

/// A base path holding the bundled model as version 1, with `warmup` as its warmup file.
fn base_with_warmup(tag: &str, warmup: &str) -> PathBuf {
    let (base, version) = common::bundled_copy(tag);
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/warmup")
        .join(warmup);
    std::fs::create_dir_all(version.join("assets.extra")).unwrap();
    std::fs::copy(
        fixture,
        version.join("assets.extra/tf_serving_warmup_requests"),
    )
    .unwrap();
    base
}

async fn predicts(server: &common::TestServer, name: &str) {
    let answer = http::post(
        server.addr,
        &format!("/v1/models/{name}:predict"),
        r#"{"instances": [1.0, 2.0, 5.0]}"#,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        answer.json()["predictions"],
        serde_json::json!([2.5, 3.0, 4.5])
    );
}

#[tokio::test]
async fn a_version_is_served_after_its_warmup_and_the_warmup_time_is_exported() {
    let base = base_with_warmup("warm", "all_apis.tfrecord");
    let server = common::try_start_owned(&common::model_args(
        "warm",
        &base,
        &["--num_request_iterations_for_warmup=2"],
    ))
    .await
    .expect("the warmup succeeds");
    predicts(&server, "warm").await;
    let page = http::get(server.addr, "/monitoring/prometheus/metrics")
        .await
        .text();
    let series = format!(
        ":tensorflow:serving:model_warmup_latency_count{{model_path=\"{}\",status=\"OK\"}}",
        base.join("1").display()
    );
    assert_eq!(http::sample(&page, &series), Some(1.0), "{page}");
}

#[tokio::test]
async fn warmup_goes_through_the_batching_queue() {
    let base = base_with_warmup("warm-batched", "all_apis.tfrecord");
    let server = common::try_start_owned(&common::model_args(
        "warm_batched",
        &base,
        &["--enable_batching=true"],
    ))
    .await
    .expect("the warmup succeeds through the batch threads");
    predicts(&server, "warm_batched").await;
}

#[tokio::test]
async fn a_failing_warmup_keeps_the_version_out_unless_warmup_is_off() {
    let base = base_with_warmup("warm-bad", "bad_alias.tfrecord");
    let error = common::try_start_owned(&common::model_args("warm_bad", &base, &[]))
        .await
        .err()
        .expect("the version must not load");
    let message = format!("{error:#}");
    assert!(
        message.contains("input tensor alias not found in signature: not_an_input"),
        "{message}"
    );
    let server = common::try_start_owned(&common::model_args(
        "warm_off",
        &base,
        &["--enable_model_warmup=false"],
    ))
    .await
    .expect("without warmup the version loads");
    predicts(&server, "warm_off").await;
}
