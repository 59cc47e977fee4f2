//! [`OnnxModel`]: a `model.onnx` version directory served through tract-onnx.
//!
//! ONNX has no signatures, so the model gets one, `serving_default`, whose input and output
//! aliases are the graph's input and output names — what Triton and KServe users expect to send.

use std::collections::BTreeMap;
use std::path::Path;

use tensorserve_core::signature::{DEFAULT_SIGNATURE, Dim, PREDICT_METHOD};
use tensorserve_core::{DType, Model, ModelFormat, SignatureDef, Status, Tensor, TensorInfo};
use tract_hir::internal::*;
use tract_onnx::prelude::Framework;

use crate::plan::{InputDecl, SignaturePlan};

/// The file an ONNX version directory holds.
pub const ONNX_FILE: &str = "model.onnx";

/// A loaded ONNX model.
pub struct OnnxModel {
    signatures: BTreeMap<String, SignatureDef>,
    plan: SignaturePlan,
    inputs: Vec<String>,
    outputs: Vec<String>,
}

fn dtype_of(dt: DatumType) -> Option<DType> {
    Some(match dt {
        DatumType::F32 => DType::F32,
        DatumType::F64 => DType::F64,
        DatumType::I8 => DType::I8,
        DatumType::I16 => DType::I16,
        DatumType::I32 => DType::I32,
        DatumType::I64 => DType::I64,
        DatumType::U8 => DType::U8,
        DatumType::U16 => DType::U16,
        DatumType::U32 => DType::U32,
        DatumType::U64 => DType::U64,
        DatumType::Bool => DType::Bool,
        DatumType::F16 => DType::F16,
        DatumType::String => DType::String,
        _ => return None,
    })
}

fn declared(fact: &InferenceFact) -> Option<Vec<i64>> {
    if fact.shape.is_open() {
        return None;
    }
    Some(
        fact.shape
            .dims()
            .map(|d| d.concretize().and_then(|d| d.to_i64().ok()).unwrap_or(-1))
            .collect(),
    )
}

fn info(name: &str, fact: &InferenceFact) -> Result<TensorInfo, Status> {
    let dtype = fact
        .datum_type
        .concretize()
        .and_then(dtype_of)
        .ok_or_else(|| {
            Status::invalid_argument(format!(
                "ONNX tensor {name} has an unsupported or unknown type"
            ))
        })?;
    let shape = declared(fact).map(|dims| {
        dims.into_iter()
            .map(|size| Dim {
                size,
                name: String::new(),
            })
            .collect()
    });
    Ok(TensorInfo {
        name: name.to_string(),
        dtype,
        shape,
    })
}

impl OnnxModel {
    /// Loads `dir/model.onnx`.
    pub fn load(dir: &Path) -> Result<OnnxModel, Status> {
        let path = dir.join(ONNX_FILE);
        let load_err = |e: TractError| {
            Status::invalid_argument(format!("cannot load {}: {e:#}", path.display()))
        };
        let model = tract_onnx::onnx().model_for_path(&path).map_err(load_err)?;
        let mut signature = SignatureDef {
            method_name: PREDICT_METHOD.to_string(),
            ..Default::default()
        };
        let mut inputs = Vec::new();
        let mut decls = Vec::new();
        for (ix, outlet) in model.input_outlets().map_err(load_err)?.iter().enumerate() {
            let name = model.node(outlet.node).name.clone();
            let fact = model.input_fact(ix).map_err(load_err)?;
            let info = info(&name, fact)?;
            decls.push(InputDecl {
                dtype: info.dtype,
                shape: declared(fact),
            });
            signature.inputs.insert(name.clone(), info);
            inputs.push(name);
        }
        let mut outputs = Vec::new();
        for (ix, outlet) in model.output_outlets().map_err(load_err)?.iter().enumerate() {
            let name = model
                .outlet_label(*outlet)
                .map(String::from)
                .unwrap_or_else(|| model.node(outlet.node).name.clone());
            let fact = model.output_fact(ix).map_err(load_err)?;
            // Output types are often only known after analysis; default to float for metadata.
            let info = info(&name, fact).unwrap_or(TensorInfo {
                name: name.clone(),
                dtype: DType::F32,
                shape: None,
            });
            signature.outputs.insert(name.clone(), info);
            outputs.push(name);
        }
        let plan = SignaturePlan::new(model, decls).map_err(Status::invalid_argument)?;
        plan.check().map_err(|e| {
            Status::invalid_argument(format!("cannot load {}: {e}", path.display()))
        })?;
        Ok(OnnxModel {
            signatures: [(DEFAULT_SIGNATURE.to_string(), signature)].into(),
            plan,
            inputs,
            outputs,
        })
    }

    /// The plans of the model's one signature (for diagnostics: `examples/profile_plan.rs`).
    pub fn signature_plan(&self) -> &SignaturePlan {
        &self.plan
    }
}

impl Model for OnnxModel {
    fn signatures(&self) -> &BTreeMap<String, SignatureDef> {
        &self.signatures
    }

    fn format(&self) -> ModelFormat {
        ModelFormat::Onnx
    }

    fn run(
        &self,
        signature: &str,
        mut inputs: BTreeMap<String, Tensor>,
        output_filter: &[String],
    ) -> Result<BTreeMap<String, Tensor>, Status> {
        if signature != DEFAULT_SIGNATURE {
            return Err(Status::invalid_argument(format!(
                "Serving signature name: \"{signature}\" not found in signature def"
            )));
        }
        let mut feeds = Vec::new();
        for name in &self.inputs {
            let tensor = inputs
                .remove(name)
                .ok_or_else(|| Status::invalid_argument(format!("input '{name}' is missing")))?;
            let want = self.signatures[DEFAULT_SIGNATURE].inputs[name].dtype;
            if tensor.dtype() != want {
                return Err(Status::invalid_argument(format!(
                    "Expects arg[{name}] to be {want} but {} is provided",
                    tensor.dtype()
                )));
            }
            feeds.push(tensor);
        }
        self.plan.run(feeds, &self.outputs, output_filter)
    }
}
