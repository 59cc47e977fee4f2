//! The test corpus (`testdata/corpus`, made by `tools/fixtures/make_corpus.py`): every Keras
//! SavedModel gives what TensorFlow gave, at batch 1 and a larger batch.

mod common;

use common::{assert_close, check_expected_cases, read_json, repo_root, tensors};
use tensorserve_runtime::load_model;

fn check_saved_model(name: &str) {
    check_expected_cases(name, &repo_root().join("testdata/corpus").join(name));
}

/// The same model converted by tf2onnx gives TensorFlow's outputs through tract-onnx, inputs
/// and outputs renamed per `expected.json`'s `onnx` map.
fn check_onnx(name: &str) {
    let dir = repo_root().join("testdata/corpus").join(name);
    let expected = read_json(&dir.join("expected.json"));
    let model =
        load_model(&dir.join("onnx/1"), &["serve"]).unwrap_or_else(|e| panic!("{name} onnx: {e}"));
    let names = &expected["onnx"];
    for case in expected["cases"].as_array().unwrap() {
        let context = format!("{name}/onnx/{}", case["name"].as_str().unwrap());
        let inputs = tensors(&case["inputs"])
            .into_iter()
            .map(|(alias, t)| (names["inputs"][&alias].as_str().unwrap().to_string(), t))
            .collect();
        let outputs = model
            .run("serving_default", inputs, &[])
            .unwrap_or_else(|e| panic!("{context}: {e}"));
        for (alias, want) in tensors(&case["outputs"]) {
            let onnx_name = names["outputs"][&alias].as_str().unwrap();
            assert_close(&format!("{context}/{alias}"), &outputs[onnx_name], &want);
        }
    }
}

#[test]
fn onnx_models_match_tensorflow() {
    for name in [
        "mlp",
        "cnn",
        "cnn_bn",
        "embedding",
        "embedding_int64",
        "multi_io",
    ] {
        check_onnx(name);
    }
}

#[test]
fn mlp() {
    check_saved_model("mlp");
}

#[test]
fn cnn() {
    check_saved_model("cnn");
}

#[test]
fn cnn_bn() {
    check_saved_model("cnn_bn");
}

#[test]
fn embedding_int32_ids() {
    check_saved_model("embedding");
}

#[test]
fn embedding_int64_ids() {
    check_saved_model("embedding_int64");
}

#[test]
fn multi_io() {
    check_saved_model("multi_io");
}

#[test]
fn example_string() {
    check_saved_model("example_string");
}
