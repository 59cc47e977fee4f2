//! The model metadata response (reference §1.5): the signature map as proto3 JSON, with the
//! quirks clients compare against (`"defaults": {}`, string versions, `unknown_rank`).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use tensorserve_core::{SignatureDef, TensorInfo};

fn tensor_info(info: &TensorInfo) -> Value {
    let shape = match &info.shape {
        Some(dims) => json!({
            "dim": dims.iter().map(|d| json!({"size": d.size.to_string(), "name": d.name})).collect::<Vec<_>>(),
            "unknown_rank": false,
        }),
        None => json!({"dim": [], "unknown_rank": true}),
    };
    json!({"dtype": info.dtype.tf_name(), "tensor_shape": shape, "name": info.name})
}

fn signature(def: &SignatureDef) -> Value {
    let map = |m: &BTreeMap<String, TensorInfo>| -> Map<String, Value> {
        m.iter().map(|(k, v)| (k.clone(), tensor_info(v))).collect()
    };
    json!({
        "inputs": map(&def.inputs),
        "outputs": map(&def.outputs),
        "method_name": def.method_name,
        "defaults": {},
    })
}

/// The body of `GET /v1/models/NAME[...]/metadata`.
pub fn metadata_json(
    model: &str,
    version: i64,
    signatures: &BTreeMap<String, SignatureDef>,
) -> Vec<u8> {
    let defs: Map<String, Value> = signatures
        .iter()
        .map(|(k, v)| (k.clone(), signature(v)))
        .collect();
    let body = json!({
        "model_spec": {"name": model, "signature_name": "", "version": version.to_string()},
        "metadata": {"signature_def": {"signature_def": defs}},
    });
    let mut out = serde_json::to_vec_pretty(&body).expect("JSON values serialize");
    out.push(b'\n');
    out
}
