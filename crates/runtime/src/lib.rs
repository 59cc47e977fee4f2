//! Model implementations that execute on tract: TensorFlow SavedModels (through the
//! `tensorserve-savedmodel` importer) and ONNX files.
//!
//! [`load_model`] looks at a version directory and picks the format.

pub mod convert;
pub mod fingerprint;
pub mod onnx_model;
pub mod ops;
pub mod plan;
pub mod savedmodel_model;
pub mod scalar_chain;
pub mod state_pool;

use std::path::Path;
use std::sync::Arc;

use tensorserve_core::{Model, Status};

pub use onnx_model::OnnxModel;
pub use savedmodel_model::SavedModelModel;

/// Loads the model in a version directory: a SavedModel (`saved_model.pb`, MetaGraph chosen by
/// `tags`), or else an ONNX file (`model.onnx`).
pub fn load_model(dir: &Path, tags: &[&str]) -> Result<Arc<dyn Model>, Status> {
    if tensorserve_savedmodel::loader::is_saved_model_dir(dir) {
        return Ok(Arc::new(SavedModelModel::load(dir, tags)?));
    }
    if dir.join(onnx_model::ONNX_FILE).is_file() {
        return Ok(Arc::new(OnnxModel::load(dir)?));
    }
    Err(Status::not_found(format!(
        "no model found in {}: expected saved_model.pb or model.onnx",
        dir.display()
    )))
}
