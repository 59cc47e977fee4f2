//! Server and model metadata of the Open Inference Protocol, and model readiness.

use tensorserve_core::signature::DEFAULT_SIGNATURE;
use tensorserve_core::{ModelFormat, Status, TensorInfo};
use tensorserve_engine::ModelState;

use super::datatype;
use super::infer::version_choice;
use crate::state::AppState;

/// The server's name in server metadata.
pub const SERVER_NAME: &str = "tensorserve";

/// Protocol extensions implemented (none of the optional ones).
pub const EXTENSIONS: [&str; 0] = [];

/// A tensor as model metadata lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorMetadata {
    /// Its name (the signature's alias).
    pub name: String,
    /// Its datatype name.
    pub datatype: &'static str,
    /// Its shape, `-1` for a dimension of any size; `[-1]` when even the rank is unknown.
    pub shape: Vec<i64>,
}

/// A model version's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelMetadata {
    /// The model's name.
    pub name: String,
    /// Its available versions, highest first.
    pub versions: Vec<String>,
    /// `tensorflow_savedmodel` or `onnxruntime_onnx`, Triton's names for the two formats.
    pub platform: &'static str,
    /// The `serving_default` signature's inputs, by name.
    pub inputs: Vec<TensorMetadata>,
    /// Its outputs, by name.
    pub outputs: Vec<TensorMetadata>,
}

/// Metadata of `name` at `version` (empty: the latest).
pub fn model_metadata(
    state: &AppState,
    name: &str,
    version: &str,
) -> Result<ModelMetadata, Status> {
    let handle = state.manager().lookup(name, &version_choice(version)?)?;
    let versions = state
        .manager()
        .status(name, None)?
        .into_iter()
        .filter(|v| v.state == ModelState::Available)
        .map(|v| v.version.to_string())
        .collect();
    let (inputs, outputs) = match handle.model.signatures().get(DEFAULT_SIGNATURE) {
        Some(sig) => (listed(sig.inputs.iter()), listed(sig.outputs.iter())),
        None => (Vec::new(), Vec::new()),
    };
    Ok(ModelMetadata {
        name: handle.name,
        versions,
        platform: match handle.model.format() {
            ModelFormat::SavedModel => "tensorflow_savedmodel",
            ModelFormat::Onnx => "onnxruntime_onnx",
        },
        inputs,
        outputs,
    })
}

/// Whether `name` at `version` (empty: the latest) can serve now: `Ok` when it can, else the
/// lookup's error (NOT_FOUND for unknown models and versions not loaded).
pub fn model_ready(state: &AppState, name: &str, version: &str) -> Result<(), Status> {
    state
        .manager()
        .lookup(name, &version_choice(version)?)
        .map(drop)
}

fn listed<'a>(tensors: impl Iterator<Item = (&'a String, &'a TensorInfo)>) -> Vec<TensorMetadata> {
    tensors
        .map(|(name, info)| TensorMetadata {
            name: name.clone(),
            datatype: datatype::name(info.dtype),
            shape: match &info.shape {
                Some(dims) => dims.iter().map(|d| d.size).collect(),
                None => vec![-1],
            },
        })
        .collect()
}
