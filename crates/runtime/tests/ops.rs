//! Op coverage: every SavedModel under `testdata/ops/<case>/1` (made by
//! `tools/fixtures/make_op_models.py`, one op or a few per model) loads and gives what TensorFlow
//! gave, at batch 1 and batch 3.
//!
//! One test per op family; each runs all of its cases and reports every failing one with its
//! error at once, so a tract upgrade that breaks five ops says so in one run. Cases with a batch
//! dimension must also build the symbolic-batch plan (not just the per-shape fallback), since
//! that is the plan serving uses. Cases recorded with `load_error` must fail to load, naming the
//! op.

mod common;

use std::path::{Path, PathBuf};

use common::{read_json, repo_root, tensors};
use serde_json::Value;
use tensorserve_core::{Tensor, TensorData};
use tensorserve_runtime::{load_model, ops};
use tract_hir::internal::*;

fn ops_dir() -> PathBuf {
    repo_root().join("testdata/ops")
}

/// The case directories of `family` (all families for `None`), sorted by name.
fn cases(family: Option<&str>) -> Vec<(String, PathBuf, Value)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(ops_dir()).expect("testdata/ops exists") {
        let dir = entry.unwrap().path();
        let expected = dir.join("expected.json");
        if !expected.is_file() {
            continue;
        }
        let doc = read_json(&expected);
        if family.is_none_or(|f| doc["family"] == f) {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            out.push((name, dir, doc));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Element values for comparison; bools as 0/1.
fn values(t: &Tensor) -> Result<Vec<f64>, String> {
    Ok(match t.data() {
        TensorData::F32(v) => v.iter().map(|&x| x as f64).collect(),
        TensorData::F64(v) => v.clone(),
        TensorData::I32(v) => v.iter().map(|&x| x as f64).collect(),
        TensorData::I64(v) => v.iter().map(|&x| x as f64).collect(),
        TensorData::Bool(v) => v.iter().map(|&x| x as u8 as f64).collect(),
        other => return Err(format!("cannot compare {:?}", other.dtype())),
    })
}

/// Same shape, dtype and values within 1e-5 absolute (1e-4 relative for large values).
fn compare(got: &Tensor, want: &Tensor) -> Result<(), String> {
    if got.dtype() != want.dtype() {
        return Err(format!("dtype {:?}, want {:?}", got.dtype(), want.dtype()));
    }
    if got.shape() != want.shape() {
        return Err(format!("shape {:?}, want {:?}", got.shape(), want.shape()));
    }
    let (g, w) = (values(got)?, values(want)?);
    let bad: Vec<String> = g
        .iter()
        .zip(&w)
        .enumerate()
        .filter(|(_, (g, w))| (*g - *w).abs() > 1e-5f64.max(1e-4 * w.abs()))
        .map(|(i, (g, w))| format!("[{i}] {g} != {w}"))
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} of {} elements differ: {}{}",
        bad.len(),
        g.len(),
        bad[..bad.len().min(6)].join(", "),
        if bad.len() > 6 { ", ..." } else { "" }
    ))
}

/// Builds the symbolic-batch plan as `SignaturePlan` does (every unknown dim is the batch `N`:
/// the cases only leave the batch unknown), to report why it fails if it does. The runtime
/// falls back to per-shape plans without a word, which would hide such a regression.
fn symbolic_plan(dir: &Path, signature: &str) -> TractResult<()> {
    let saved = tensorserve_savedmodel::SavedModelDir::open(dir, &["serve"])?;
    let frozen = tensorserve_savedmodel::freeze_signature(&saved, signature)?;
    let mut model = ops::tensorflow().parse_graph(&frozen.graph)?.0;
    let inputs = frozen
        .inputs
        .iter()
        .map(|i| model.node_id_by_name(&i.placeholder).map(OutletId::from))
        .collect::<TractResult<Vec<_>>>()?;
    let outputs = frozen
        .outputs
        .iter()
        .map(|(_, node, port)| Ok(OutletId::new(model.node_id_by_name(node)?, *port)))
        .collect::<TractResult<Vec<_>>>()?;
    model.set_input_outlets(&inputs)?;
    model.select_output_outlets(&outputs)?;
    let batch = model.symbols.sym("N");
    for (ix, input) in frozen.inputs.iter().enumerate() {
        let dims = input.shape.as_ref().context("unknown rank")?;
        let shape: TVec<TDim> = dims
            .iter()
            .map(|&d| {
                if d >= 0 {
                    TDim::from(d as usize)
                } else {
                    batch.clone().into()
                }
            })
            .collect();
        let dt = tensorserve_runtime::convert::datum_type(input.dtype).context("dtype")?;
        model.set_input_fact(ix, InferenceFact::dt_shape(dt, shape))?;
    }
    model.into_typed()?.into_optimized()?;
    Ok(())
}

/// Checks one case, turning a panic (a tract bug we have not guarded against yet) into a failure
/// of that case rather than of the whole family.
fn check_case(name: &str, dir: &Path, doc: &Value) -> Result<(), String> {
    std::panic::catch_unwind(|| check_case_inner(dir, doc))
        .unwrap_or_else(|panic| {
            let msg = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("?");
            Err(format!("panicked: {msg}"))
        })
        .map_err(|e| format!("{name}: {e}"))
}

fn check_case_inner(dir: &Path, doc: &Value) -> Result<(), String> {
    let signature = doc["signature"].as_str().unwrap();
    let model = load_model(&dir.join("1"), &["serve"]).map_err(|e| format!("load: {e}"))?;
    let mut errors = Vec::new();
    let runs = doc["cases"].as_array().unwrap();
    if runs.iter().any(|c| c["name"] == "batch3")
        && let Err(e) = symbolic_plan(&dir.join("1"), signature)
    {
        errors.push(format!("symbolic plan: {e:#}"));
    }
    for run in runs {
        let run_name = run["name"].as_str().unwrap();
        match model.run(signature, tensors(&run["inputs"]), &[]) {
            Err(e) => errors.push(format!("{run_name}: run: {e}")),
            Ok(outputs) => {
                for (alias, want) in tensors(&run["outputs"]) {
                    let result = match outputs.get(&alias) {
                        Some(got) => compare(got, &want),
                        None => Err("missing".into()),
                    };
                    if let Err(e) = result {
                        errors.push(format!("{run_name}/{alias}: {e}"));
                    }
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n    "))
    }
}

fn check_family(family: &str) {
    let cases: Vec<_> = cases(Some(family))
        .into_iter()
        .filter(|(_, _, doc)| doc.get("load_error").is_none())
        .collect();
    assert!(!cases.is_empty(), "no cases for family {family}");
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(name, dir, doc)| check_case(name, dir, doc).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} {family} cases failed:\n  {}",
        failures.len(),
        cases.len(),
        failures.join("\n  ")
    );
}

#[test]
fn elementwise() {
    check_family("elementwise");
}

#[test]
fn activation() {
    check_family("activation");
}

#[test]
fn matmul() {
    check_family("matmul");
}

#[test]
fn nn() {
    check_family("nn");
}

#[test]
fn reduce() {
    check_family("reduce");
}

#[test]
fn shape() {
    check_family("shape");
}

#[test]
fn resize() {
    check_family("resize");
}

#[test]
fn identity() {
    check_family("identity");
}

/// Small Keras models (attention, layer norm, GELU, transposed/depthwise convs, batch norm,
/// upsampling): the ops in the combinations real exports produce.
#[test]
fn keras() {
    check_family("keras");
}

/// Every family in the test data has a test above.
#[test]
fn every_family_is_tested() {
    const TESTED: &[&str] = &[
        "elementwise",
        "activation",
        "matmul",
        "nn",
        "reduce",
        "shape",
        "resize",
        "identity",
        "keras",
        "unsupported",
    ];
    let all = cases(None);
    // guards against a test that silently finds no data (e.g. a bad path)
    assert!(
        all.len() >= 80,
        "only {} cases under testdata/ops",
        all.len()
    );
    for (name, _, doc) in all {
        let family = doc["family"].as_str().unwrap();
        assert!(TESTED.contains(&family), "{name}: untested family {family}");
    }
}

/// Control flow and TensorLists are not registered, so models using them fail at load naming
/// the op instead of failing (or worse, running wrongly) at request time. (A Keras LSTM is
/// already rejected by the importer, which sees variables passed into the loop; its message
/// names the While op too.)
#[test]
fn unsupported_ops_fail_at_load_naming_them() {
    let cases: Vec<_> = cases(Some("unsupported"));
    assert!(
        cases.len() >= 3,
        "expected the while_loop, cond and tensor_list cases"
    );
    for (name, dir, doc) in cases {
        let err = match load_model(&dir.join("1"), &["serve"]) {
            Ok(_) => panic!("{name}: loaded, but must be rejected"),
            Err(e) => e.to_string(),
        };
        for needle in doc["load_error"].as_array().unwrap() {
            let needle = needle.as_str().unwrap();
            assert!(
                err.contains(needle),
                "{name}: error does not name {needle}: {err}"
            );
        }
    }
}

#[test]
fn while_model_fails_naming_while() {
    let dir = ops_dir().join("while_loop/1");
    let err = load_model(&dir, &["serve"])
        .err()
        .expect("a While model must not load")
        .to_string();
    assert!(
        err.contains("unsupported TensorFlow ops") && err.contains("While"),
        "{err}"
    );
}

#[test]
fn control_flow_is_not_registered() {
    let tf = ops::tensorflow();
    for op in [
        "While",
        "StatelessWhile",
        "If",
        "StatelessIf",
        "Case",
        "TensorListReserve",
        "TensorListSetItem",
        "TensorListGetItem",
        "TensorListStack",
        "TensorListFromTensor",
    ] {
        assert!(
            !ops::is_supported(&tf.op_register, op),
            "{op} is registered"
        );
    }
}
