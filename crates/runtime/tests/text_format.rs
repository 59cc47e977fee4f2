//! SavedModels written as `saved_model.pbtxt` (made by `tools/fixtures/make_text_format.py` from
//! our binary fixtures) load and give exactly what their `saved_model.pb` originals give.

mod common;

use std::collections::BTreeMap;

use common::{assert_close, read_json, repo_root, tensors};
use tensorserve_core::{Tensor, TensorData};
use tensorserve_runtime::load_model;

fn run_both(
    text_dir: &str,
    binary_dir: &str,
    signature: &str,
    inputs: &BTreeMap<String, Tensor>,
) -> BTreeMap<String, Tensor> {
    let root = repo_root();
    let text_dir = root.join(text_dir);
    assert!(text_dir.join("saved_model.pbtxt").is_file());
    assert!(!text_dir.join("saved_model.pb").exists());
    let text = load_model(&text_dir, &["serve"]).unwrap_or_else(|e| panic!("{text_dir:?}: {e}"));
    let binary = load_model(&root.join(binary_dir), &["serve"]).unwrap();
    let from_text = text.run(signature, inputs.clone(), &[]).unwrap();
    let from_binary = binary.run(signature, inputs.clone(), &[]).unwrap();
    assert_eq!(from_text, from_binary, "{signature}: pbtxt and pb differ");
    assert_eq!(
        text.signatures(),
        binary.signatures(),
        "signature metadata differs"
    );
    from_text
}

#[test]
fn tf1_half_plus_two_from_text() {
    let x = Tensor::new(vec![3, 1], TensorData::F32(vec![1.0, 2.0, 5.0])).unwrap();
    let out = run_both(
        "testdata/text_format/half_plus_two/1",
        "models/half_plus_two/00000123",
        "serving_default",
        &[("x".to_string(), x.clone())].into(),
    );
    assert_eq!(out["y"].data(), &TensorData::F32(vec![2.5, 3.0, 4.5]));
    let out = run_both(
        "testdata/text_format/half_plus_two/1",
        "models/half_plus_two/00000123",
        "regress_x2_to_y3",
        &[("inputs".to_string(), x)].into(),
    );
    assert_eq!(out["outputs"].data(), &TensorData::F32(vec![3.5, 4.0, 5.5]));
}

#[test]
fn keras_cnn_from_text() {
    let expected = read_json(&repo_root().join("testdata/corpus/cnn/expected.json"));
    for case in expected["cases"].as_array().unwrap() {
        let out = run_both(
            "testdata/text_format/cnn/1",
            "testdata/corpus/cnn/saved_model/1",
            "serving_default",
            &tensors(&case["inputs"]),
        );
        for (alias, want) in tensors(&case["outputs"]) {
            assert_close(&format!("cnn pbtxt/{alias}"), &out[&alias], &want);
        }
    }
}
