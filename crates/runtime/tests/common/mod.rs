//! Helpers shared by the runtime's integration tests: locating test data and reading the
//! tensors recorded by `tools/fixtures/*.py` (what TensorFlow computed).

#![allow(dead_code)]

pub mod conv;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::Value;
use tensorserve_core::{Tensor, TensorData};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// `../shared/testdata/tfserving` beside the repository, or `None` (with a printed notice) when
/// it is absent. With `TENSORSERVE_REQUIRE_SHARED=1` (CI) absence is a failure instead.
pub fn shared_testdata() -> Option<PathBuf> {
    let dir = repo_root().join("../shared/testdata/tfserving");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("TENSORSERVE_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!(
            "{} is missing and TENSORSERVE_REQUIRE_SHARED=1",
            dir.display()
        );
    }
    eprintln!(
        "notice: {} not found; skipping tests that need TF Serving's test models",
        dir.display()
    );
    None
}

/// Reads a JSON file.
pub fn read_json(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// A tensor recorded as `{"dtype", "shape", "data"}`.
pub fn tensor(v: &Value) -> Tensor {
    let shape: Vec<usize> = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let data = v["data"].as_array().unwrap();
    let f = |x: &Value| x.as_f64().unwrap();
    let i = |x: &Value| x.as_i64().unwrap();
    let data = match v["dtype"].as_str().unwrap() {
        "float32" => TensorData::F32(data.iter().map(|x| f(x) as f32).collect()),
        "float64" => TensorData::F64(data.iter().map(f).collect()),
        "int32" => TensorData::I32(data.iter().map(|x| i(x) as i32).collect()),
        "int64" => TensorData::I64(data.iter().map(i).collect()),
        "bool" => TensorData::Bool(data.iter().map(|x| x.as_bool().unwrap()).collect()),
        "string" => TensorData::String(
            data.iter()
                .map(|x| {
                    base64::engine::general_purpose::STANDARD
                        .decode(x.as_str().unwrap())
                        .unwrap()
                })
                .collect(),
        ),
        other => panic!("unknown dtype {other}"),
    };
    Tensor::new(shape, data).unwrap()
}

/// The tensors of a `{"alias": tensor}` object.
pub fn tensors(v: &Value) -> BTreeMap<String, Tensor> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, t)| (k.clone(), tensor(t)))
        .collect()
}

fn as_f64(t: &Tensor) -> Vec<f64> {
    match t.data() {
        TensorData::F32(v) => v.iter().map(|&x| x as f64).collect(),
        TensorData::F64(v) => v.clone(),
        TensorData::I32(v) => v.iter().map(|&x| x as f64).collect(),
        TensorData::I64(v) => v.iter().map(|&x| x as f64).collect(),
        other => panic!("cannot compare {:?}", other.dtype()),
    }
}

/// Asserts `got` matches `want` in shape and within 1e-5 absolute (1e-4 relative for large values).
pub fn assert_close(context: &str, got: &Tensor, want: &Tensor) {
    assert_eq!(got.shape(), want.shape(), "{context}: shape");
    assert_eq!(got.dtype(), want.dtype(), "{context}: dtype");
    for (i, (g, w)) in as_f64(got).iter().zip(as_f64(want)).enumerate() {
        let tol = 1e-5f64.max(1e-4 * w.abs());
        assert!(
            (g - w).abs() <= tol,
            "{context}: element {i}: got {g}, want {w}"
        );
    }
}

/// Loads `DIR/saved_model/1` and checks every case of `DIR/expected.json` (written by the fixture
/// scripts from what TensorFlow computed): the same outputs, each close to TensorFlow's.
pub fn check_expected_cases(name: &str, dir: &Path) {
    let expected = read_json(&dir.join("expected.json"));
    let model = tensorserve_runtime::load_model(&dir.join("saved_model/1"), &["serve"])
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let signature = expected["signature"].as_str().unwrap();
    for case in expected["cases"].as_array().unwrap() {
        let context = format!("{name}/{}", case["name"].as_str().unwrap());
        let outputs = model
            .run(signature, tensors(&case["inputs"]), &[])
            .unwrap_or_else(|e| panic!("{context}: {e}"));
        let want = tensors(&case["outputs"]);
        assert_eq!(outputs.len(), want.len(), "{context}: outputs");
        for (alias, want) in want {
            assert_close(&format!("{context}/{alias}"), &outputs[&alias], &want);
        }
    }
}

/// A deterministic stream of pseudo-random numbers (a 64-bit linear congruential generator
/// with Knuth's MMIX constants, high bits returned): the tests that compare our ops with
/// tract's draw their inputs from it, so any failure reproduces from its seed.
pub fn lcg(seed: u64) -> impl FnMut() -> u64 {
    const MUL: u64 = 6364136223846793005;
    const INC: u64 = 1442695040888963407;
    let mut state = seed.wrapping_mul(MUL).wrapping_add(INC);
    move || {
        state = state.wrapping_mul(MUL).wrapping_add(INC);
        state >> 33
    }
}

/// Optimises `model` as tract would on its own and runs it on `input`: the reference the op
/// tests compare our swapped-in ops with.
pub fn run_optimized(
    model: tract_core::prelude::TypedModel,
    input: &tract_core::prelude::Tensor,
) -> tract_core::prelude::Tensor {
    use tract_core::prelude::*;
    let plan = TypedSimplePlan::new(model.into_optimized().unwrap()).unwrap();
    let out = plan.run(tvec!(input.clone().into_tvalue())).unwrap();
    out[0].clone().into_tensor()
}
