//! Every signature of every SavedModel in TF Serving's own test data gives what TensorFlow gave
//! (recorded by `tools/fixtures/make_tfserving_expected.py`), and the broken one fails clearly.

mod common;

use common::{assert_close, read_json, repo_root, shared_testdata, tensors};
use tensorserve_runtime::load_model;

#[test]
fn every_signature_matches_tensorflow() {
    let Some(shared) = shared_testdata() else {
        return;
    };
    let expected = read_json(&repo_root().join("testdata/tfserving_expected.json"));
    let mut checked = 0;
    for (dir, signatures) in expected.as_object().unwrap() {
        let model =
            load_model(&shared.join(dir), &["serve"]).unwrap_or_else(|e| panic!("{dir}: {e}"));
        for (signature, case) in signatures.as_object().unwrap() {
            let context = format!("{dir} {signature}");
            let outputs = model
                .run(signature, tensors(&case["inputs"]), &[])
                .unwrap_or_else(|e| panic!("{context}: {e}"));
            for (alias, want) in tensors(&case["outputs"]) {
                assert_close(&format!("{context}/{alias}"), &outputs[&alias], &want);
            }
            checked += 1;
        }
    }
    assert!(checked >= 59, "only {checked} signatures checked");
}

#[test]
fn bad_half_plus_two_fails_clearly() {
    let Some(shared) = shared_testdata() else {
        return;
    };
    let err = match load_model(&shared.join("bad_half_plus_two/00000123"), &["serve"]) {
        Ok(_) => panic!("bad_half_plus_two loaded"),
        Err(e) => e,
    };
    assert!(err.message().contains("no model found"), "{err}");
}

#[test]
fn bundled_half_plus_two_predicts() {
    let dir = repo_root().join("models/half_plus_two/00000123");
    let model = load_model(&dir, &["serve"]).unwrap();
    let x = tensorserve_core::Tensor::new(
        vec![3],
        tensorserve_core::TensorData::F32(vec![1.0, 2.0, 5.0]),
    )
    .unwrap();
    let out = model
        .run("serving_default", [("x".to_string(), x)].into(), &[])
        .unwrap();
    assert_eq!(
        out["y"].data(),
        &tensorserve_core::TensorData::F32(vec![2.5, 3.0, 4.5])
    );
    assert_eq!(model.signatures().len(), 6);
}
