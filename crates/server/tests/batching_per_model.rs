//! `--enable_per_model_batching_parameters`: a version's own `batching_params.pbtxt` sets its
//! batching queue. Observed through the queue's size check: with `max_batch_size` 2 in the
//! version's file, a three-row request is refused, which the server's default settings (1000)
//! would accept.

mod common;

use std::path::PathBuf;

use common::http;

const THREE_ROWS: &str = r#"{"instances": [1.0, 2.0, 5.0]}"#;

/// A base path holding the bundled model as version 1 with `params` as its per-model file.
fn base_with_params(tag: &str, params: &str) -> PathBuf {
    let (base, version) = common::bundled_copy(tag);
    std::fs::write(version.join("batching_params.pbtxt"), params).unwrap();
    base
}

/// [`common::model_args`] with batching on.
fn args(name: &str, base: &std::path::Path, extra: &[&str]) -> Vec<String> {
    let mut args = common::model_args(name, base, &["--enable_batching=true"]);
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[tokio::test]
async fn a_versions_own_file_sets_its_queue_only_when_the_flag_is_on() {
    let base = base_with_params("per-model", "max_batch_size { value: 2 }\n");
    let on = common::try_start_owned(&args(
        "per_model_on",
        &base,
        &["--enable_per_model_batching_parameters"],
    ))
    .await
    .unwrap();
    let answer = http::post(on.addr, "/v1/models/per_model_on:predict", THREE_ROWS).await;
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert_eq!(
        answer.error(),
        "Task size 3 is larger than maximum input batch size 2"
    );
    let two = http::post(
        on.addr,
        "/v1/models/per_model_on:predict",
        r#"{"instances": [1.0, 2.0]}"#,
    )
    .await;
    assert_eq!(two.status, 200, "{}", two.text());

    let off = common::try_start_owned(&args("per_model_off", &base, &[]))
        .await
        .unwrap();
    let answer = http::post(off.addr, "/v1/models/per_model_off:predict", THREE_ROWS).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
}

#[tokio::test]
async fn a_malformed_per_model_file_fails_the_version_naming_the_file() {
    let base = base_with_params("per-model-bad", "max_batch_size { value: -3 }\n");
    let error = common::try_start_owned(&args(
        "per_model_bad",
        &base,
        &["--enable_per_model_batching_parameters"],
    ))
    .await
    .err()
    .expect("the version must not load");
    let message = format!("{error:#}");
    assert!(message.contains("batching_params.pbtxt"), "{message}");
}
