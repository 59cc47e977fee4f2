//! REST endpoints on TF Serving's own test models (`../shared/testdata/tfserving`): two
//! versions with labels, several models through a config file, half_plus_three, and the
//! metadata TF Serving's suite compares against.

mod common;

use std::path::Path;

use common::http::{get, post};
use common::{model_entry, scratch, shared, start, states, write_config};
use serde_json::{Value, json};

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read expected JSON")).expect("valid JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_of_half_plus_two_cpu_served_as_default_matches_tf_serving() {
    let Some(testdata) = shared("metadata_matches") else {
        return;
    };
    let base = format!(
        "--model_base_path={}",
        testdata.join("saved_model_half_plus_two_cpu").display()
    );
    let s = start(&[&base]).await;
    let r = get(s.addr, "/v1/models/default/metadata").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        read_json(&testdata.join("half_plus_two_model_metadata.json"))
    );
    // The model is served as `default`, and its version is 123.
    let r = post(
        s.addr,
        "/v1/models/default:predict",
        r#"{"instances": [1.0]}"#,
    )
    .await;
    assert_eq!(r.json(), json!({"predictions": [2.5]}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_versions_with_labels() {
    let Some(testdata) = shared("two_versions_with_labels") else {
        return;
    };
    let dir = scratch("two-versions");
    let name = "saved_model_half_plus_two_2_versions";
    let config = write_config(
        &dir,
        &format!(
            "model_config_list {{\n{}}}\n",
            model_entry(
                name,
                &testdata.join(name),
                "    model_version_policy { all {} }\n    version_labels { key: 'stable' value: 123 }\n    version_labels { key: 'canary' value: 124 }\n"
            )
        ),
    );
    let s = start(&[&format!("--model_config_file={}", config.display())]).await;

    let r = get(s.addr, &format!("/v1/models/{name}")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        states(&r.json()),
        [
            ("124".to_string(), "AVAILABLE".to_string()),
            ("123".to_string(), "AVAILABLE".to_string())
        ]
    );
    let r = get(s.addr, &format!("/v1/models/{name}/versions/123")).await;
    assert_eq!(
        r.json(),
        json!({"model_version_status": [{
            "version": "123",
            "state": "AVAILABLE",
            "status": {"error_code": "OK", "error_message": ""},
        }]})
    );

    for (path, version) in [
        (format!("/v1/models/{name}"), "124"),
        (format!("/v1/models/{name}/versions/123"), "123"),
        (format!("/v1/models/{name}/versions/124"), "124"),
        (format!("/v1/models/{name}/labels/stable"), "123"),
        (format!("/v1/models/{name}/labels/canary"), "124"),
    ] {
        let r = post(
            s.addr,
            &format!("{path}:predict"),
            r#"{"instances": [1.0, 2.0]}"#,
        )
        .await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.json(), json!({"predictions": [2.5, 3.0]}), "{path}");
        let r = post(
            s.addr,
            &format!("{path}:regress"),
            r#"{"signature_name": "regress_x_to_y2", "examples": [{"x": 2.0}]}"#,
        )
        .await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.json(), json!({"results": [4.0]}), "{path}");
        let r = get(s.addr, &format!("{path}/metadata")).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.json()["model_spec"]["version"], version, "{path}");
    }

    // Version 123's metadata is TF Serving's reference file.
    let r = get(s.addr, &format!("/v1/models/{name}/labels/stable/metadata")).await;
    assert_eq!(
        r.json(),
        read_json(&testdata.join("saved_model_half_plus_two_2_versions_metadata.json"))
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_models_through_a_config_file() {
    let Some(testdata) = shared("several_models") else {
        return;
    };
    // TF Serving's own good_model_config.txt, with its placeholders filled in.
    let template = std::fs::read_to_string(testdata.join("good_model_config.txt")).unwrap();
    let text = template
        .replace(
            "${TEST_HALF_PLUS_TWO_DIR}",
            &testdata
                .join("saved_model_half_plus_two_cpu")
                .display()
                .to_string(),
        )
        .replace(
            "${TEST_HALF_PLUS_THREE_DIR}",
            &testdata
                .join("saved_model_half_plus_three")
                .display()
                .to_string(),
        );
    let dir = scratch("several-models");
    let config = write_config(&dir, &text);
    let s = start(&[&format!("--model_config_file={}", config.display())]).await;

    let cases = [
        (
            "half_plus_two",
            r#"{"instances": [1.0, 2.0, 5.0]}"#,
            json!({"predictions": [2.5, 3.0, 4.5]}),
        ),
        (
            "half_plus_three",
            r#"{"instances": [1.0, 2.0, 5.0]}"#,
            json!({"predictions": [3.5, 4.0, 5.5]}),
        ),
        (
            "half_plus_three",
            r#"{"inputs": [1.0, 2.0, 5.0]}"#,
            json!({"outputs": [3.5, 4.0, 5.5]}),
        ),
        // A bare scalar is a rank-0 tensor, which half_plus_three's [] signature takes.
        (
            "half_plus_three",
            r#"{"inputs": 4.0}"#,
            json!({"outputs": 5.0}),
        ),
    ];
    for (model, body, want) in cases {
        let r = post(s.addr, &format!("/v1/models/{model}:predict"), body).await;
        assert_eq!(r.status, 200, "{model} {body}: {}", r.text());
        assert_eq!(r.json(), want, "{model} {body}");
    }
    for model in ["half_plus_two", "half_plus_three"] {
        let r = get(s.addr, &format!("/v1/models/{model}")).await;
        assert_eq!(
            states(&r.json()),
            [("123".to_string(), "AVAILABLE".to_string())],
            "{model}"
        );
        let r = get(s.addr, &format!("/v1/models/{model}/metadata")).await;
        assert_eq!(r.status, 200, "{model}: {}", r.text());
        assert_eq!(r.json()["model_spec"]["name"], model);
    }
    // half_plus_three's `x:0` has no tensor_shape at all in its SavedModel. TF Serving then
    // prints no `tensor_shape` key; we print an unknown rank (docs/rest-api.md, differences).
    let r = get(s.addr, "/v1/models/half_plus_three/metadata").await;
    let x =
        &r.json()["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]["x"];
    assert_eq!(x["dtype"], "DT_FLOAT");
    assert_eq!(x["name"], "x:0");
    // The model named `default` is not served here.
    let r = post(
        s.addr,
        "/v1/models/default:predict",
        r#"{"instances": [1.0]}"#,
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error(), "Servable not found for request: Latest(default)");
    let _ = std::fs::remove_dir_all(dir);
}
