//! The Open Inference Protocol (KServe V2) over REST, against the real server on the bundled
//! `half_plus_two` (signature `serving_default`: input `x` FP32 [-1, 1] → output `y` = 0.5x + 2).
//! The JSON codec's element rules are tested in `src/v2/json/tests.rs`.

mod common;

use common::http;
use serde_json::{Value, json};

fn infer_body(datatype: &str, shape: Value, data: Value) -> String {
    json!({"inputs": [{"name": "x", "datatype": datatype, "shape": shape, "data": data}]})
        .to_string()
}

/// Posts `body` to `path` and returns the status and the JSON answer.
async fn post(server: &common::TestServer, path: &str, body: &str) -> (u16, Value) {
    let answer = http::post(server.addr, path, body).await;
    (answer.status, answer.json())
}

#[tokio::test]
async fn server_and_model_metadata() {
    let server = common::start_bundled(&[]).await;
    let meta = http::get(server.addr, "/v2").await.json();
    assert_eq!(meta["name"], "tensorserve");
    assert_eq!(meta["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(meta["extensions"], json!([]));

    let expected = json!({
        "name": "half_plus_two",
        "versions": ["123"],
        "platform": "tensorflow_savedmodel",
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 1]}],
        "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 1]}],
    });
    for path in [
        "/v2/models/half_plus_two",
        "/v2/models/half_plus_two/versions/123",
    ] {
        let answer = http::get(server.addr, path).await;
        assert_eq!(answer.status, 200, "{path}");
        assert_eq!(answer.json(), expected, "{path}");
    }
    let missing = http::get(server.addr, "/v2/models/half_plus_two/versions/7").await;
    assert_eq!(missing.status, 404);
    assert!(missing.json()["error"].is_string());
    let bad = http::get(server.addr, "/v2/models/half_plus_two/versions/seven").await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.json()["error"],
        "Invalid model version 'seven': versions are numbers"
    );
}

#[tokio::test]
async fn model_readiness() {
    let server = common::start_bundled(&[]).await;
    for (path, status) in [
        ("/v2/models/half_plus_two/ready", 200),
        ("/v2/models/half_plus_two/versions/123/ready", 200),
        ("/v2/models/half_plus_two/versions/124/ready", 404),
        ("/v2/models/nothing/ready", 404),
    ] {
        assert_eq!(http::get(server.addr, path).await.status, status, "{path}");
    }
}

#[tokio::test]
async fn inference_answers_as_the_model_computes() {
    let server = common::start_bundled(&[]).await;
    let (status, answer) = post(
        &server,
        "/v2/models/half_plus_two/infer",
        &json!({
            "id": "req-1",
            "inputs": [{"name": "x", "datatype": "FP32", "shape": [3, 1], "data": [[1.0], [2.0], [5.0]]}],
        })
        .to_string(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({
            "model_name": "half_plus_two",
            "model_version": "123",
            "id": "req-1",
            "outputs": [{"name": "y", "datatype": "FP32", "shape": [3, 1], "data": [2.5, 3.0, 4.5]}],
        })
    );
    // A version in the path, flat data, the output asked for by name.
    let body = json!({
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [2, 1], "data": [0.0, -4.0]}],
        "outputs": [{"name": "y"}],
    })
    .to_string();
    let (status, answer) = post(
        &server,
        "/v2/models/half_plus_two/versions/123/infer",
        &body,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outputs"][0]["data"], json!([2.0, 0.0]));
    assert!(answer.get("id").is_none());
    // Another signature, chosen by parameter: regress_x2_to_y3 is 0.5 * x2 + 3.
    let body = json!({
        "parameters": {"signature_name": "regress_x2_to_y3"},
        "inputs": [{"name": "inputs", "datatype": "FP32", "shape": [2, 1], "data": [1, 2]}],
    })
    .to_string();
    let (status, answer) = post(&server, "/v2/models/half_plus_two/infer", &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outputs"][0]["name"], "outputs");
    assert_eq!(answer["outputs"][0]["data"], json!([3.5, 4.0]));
}

#[tokio::test]
async fn bad_requests_get_a_json_error_naming_the_problem() {
    let server = common::start_bundled(&["--max_request_body_bytes=4096"]).await;
    let path = "/v2/models/half_plus_two/infer";
    let cases = [
        (
            infer_body("FP64", json!([1]), json!([1.0])),
            400,
            "inference input 'x' data-type is 'FP64', but model 'half_plus_two' expects 'FP32'",
        ),
        (
            json!({"inputs": []}).to_string(),
            400,
            "expected 1 inputs but got 0; missing 'x'",
        ),
        (
            json!({"inputs": [{"name": "z", "datatype": "FP32", "shape": [1], "data": [1]}]})
                .to_string(),
            400,
            "unexpected inference input 'z' for model 'half_plus_two'; its inputs are 'x'",
        ),
        (
            json!({
                "inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}],
                "outputs": [{"name": "w"}],
            })
            .to_string(),
            400,
            "unexpected inference output 'w' for model 'half_plus_two'; its outputs are 'y'",
        ),
        (
            json!({
                "parameters": {"signature_name": "nope"},
                "inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}],
            })
            .to_string(),
            400,
            "Serving signature key \"nope\" not found.",
        ),
        (
            infer_body("FP32", json!([2]), json!([1.0])),
            400,
            "input 'x': shape [2] holds 2 elements but data has 1",
        ),
    ];
    for (body, status, message) in cases {
        let (got, answer) = post(&server, path, &body).await;
        assert_eq!(
            (got, answer["error"].as_str()),
            (status, Some(message)),
            "{body}"
        );
    }
    let (status, answer) = post(
        &server,
        "/v2/models/nothing/infer",
        &infer_body("FP32", json!([1]), json!([1])),
    )
    .await;
    assert_eq!(status, 404, "{answer}");
    let big = infer_body("FP32", json!([2000]), json!(vec![1.0; 2000]));
    let (status, answer) = post(&server, path, &big).await;
    assert_eq!(status, 413, "{answer}");
    // The server still answers.
    let (status, _) = post(&server, path, &infer_body("FP32", json!([1]), json!([1]))).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn inference_is_counted_as_the_models_rest_predict_requests() {
    let base = format!("--model_base_path={}", common::bundled_base().display());
    let server = common::start(&["--model_name=v2_counted", &base]).await;
    let path = "/v2/models/v2_counted/infer";
    post(&server, path, &infer_body("FP32", json!([1]), json!([1]))).await;
    post(&server, path, &infer_body("FP64", json!([1]), json!([1]))).await;
    let page = http::get(server.addr, "/monitoring/prometheus/metrics")
        .await
        .text();
    let series = |status: &str| {
        format!(
            "tensorserve_requests_total{{model=\"v2_counted\",api=\"predict\",protocol=\"rest\",status=\"{status}\"}}"
        )
    };
    assert_eq!(http::sample(&page, &series("OK")), Some(1.0), "{page}");
    assert_eq!(
        http::sample(&page, &series("INVALID_ARGUMENT")),
        Some(1.0),
        "{page}"
    );
}

/// The corpus's two-input, two-output model, as SavedModel and as ONNX: V2 answers match
/// TensorFlow's outputs recorded in `testdata/corpus/multi_io/expected.json`.
#[tokio::test]
async fn a_multi_input_model_in_both_formats_answers_as_tensorflow() {
    let corpus =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/corpus/multi_io");
    let expected: Value =
        serde_json::from_slice(&std::fs::read(corpus.join("expected.json")).unwrap()).unwrap();
    for (format, platform) in [
        ("saved_model", "tensorflow_savedmodel"),
        ("onnx", "onnxruntime_onnx"),
    ] {
        let base = format!("--model_base_path={}", corpus.join(format).display());
        let server = common::start(&["--model_name=multi_io", &base]).await;
        let meta = http::get(server.addr, "/v2/models/multi_io").await.json();
        assert_eq!(meta["platform"], platform);
        let names = |list: &Value| -> Vec<String> {
            list.as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(names(&meta["inputs"]), ["a", "b"], "{meta}");
        assert_eq!(names(&meta["outputs"]), ["prob", "score"], "{meta}");
        for case in expected["cases"].as_array().unwrap() {
            let inputs: Vec<Value> = case["inputs"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(name, t)| json!({"name": name, "datatype": "FP32", "shape": t["shape"], "data": t["data"]}))
                .collect();
            let body = json!({"inputs": inputs}).to_string();
            let (status, answer) = post(&server, "/v2/models/multi_io/infer", &body).await;
            assert_eq!(status, 200, "{format} {}: {answer}", case["name"]);
            assert_eq!(answer["outputs"].as_array().unwrap().len(), 2, "{answer}");
            for output in answer["outputs"].as_array().unwrap() {
                let name = output["name"].as_str().unwrap();
                let want = &case["outputs"][name];
                assert_eq!(output["shape"], want["shape"], "{format} {name}");
                let got = output["data"].as_array().unwrap();
                let want = want["data"].as_array().unwrap();
                assert_eq!(got.len(), want.len());
                for (g, w) in got.iter().zip(want) {
                    let (g, w) = (g.as_f64().unwrap(), w.as_f64().unwrap());
                    assert!(
                        (g - w).abs() <= 1e-5 + 1e-5 * w.abs(),
                        "{format} {name}: {g} vs {w}"
                    );
                }
            }
        }
    }
}

/// Triton's binary tensor data extension over the wire: the JSON header's length in
/// `Inference-Header-Content-Length`, raw little-endian elements after it, both ways.
#[tokio::test]
async fn binary_tensor_data_travels_after_the_json_both_ways() {
    let server = common::start_bundled(&[]).await;
    let header = json!({
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [3, 1], "parameters": {"binary_data_size": 12}}],
        "outputs": [{"name": "y", "parameters": {"binary_data": true}}],
    })
    .to_string();
    let mut body = header.clone().into_bytes();
    for x in [1.0f32, 2.0, 5.0] {
        body.extend_from_slice(&x.to_le_bytes());
    }
    let length = header.len().to_string();
    let answer = http::request(
        server.addr,
        "POST",
        "/v2/models/half_plus_two/infer",
        &[("Inference-Header-Content-Length", &length)],
        &body,
    )
    .await
    .unwrap();
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let json_length: usize = answer
        .header("inference-header-content-length")
        .expect("the answer carries binary data")
        .parse()
        .unwrap();
    let head: Value = serde_json::from_slice(&answer.body[..json_length]).unwrap();
    assert_eq!(head["outputs"][0]["parameters"]["binary_data_size"], 12);
    let y: Vec<f32> = answer.body[json_length..]
        .chunks(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(y, [2.5, 3.0, 4.5]);

    // A header length beyond the body is a 400 with the protocol's error body.
    let answer = http::request(
        server.addr,
        "POST",
        "/v2/models/half_plus_two/infer",
        &[("Inference-Header-Content-Length", "100000")],
        &body,
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 400);
    assert!(
        answer.json()["error"]
            .as_str()
            .unwrap()
            .starts_with("Inference-Header-Content-Length is 100000")
    );
}

/// With `--enable_batching` V2 inference is queued for the batch threads and awaited; the
/// answers, and the order of the outputs asked for, are the same.
#[tokio::test]
async fn inference_through_the_batching_queue() {
    let server = common::start_bundled(&["--enable_batching=true"]).await;
    for outputs in [json!(null), json!([{"name": "y"}])] {
        let mut body = json!({
            "inputs": [{"name": "x", "datatype": "FP32", "shape": [3, 1], "data": [1.0, 2.0, 5.0]}],
        });
        if !outputs.is_null() {
            body["outputs"] = outputs;
        }
        let (status, answer) =
            post(&server, "/v2/models/half_plus_two/infer", &body.to_string()).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["outputs"][0]["name"], "y");
        assert_eq!(answer["outputs"][0]["data"], json!([2.5, 3.0, 4.5]));
    }
}
