//! The [`Model`] trait: a loaded, immutable model version that runs its signatures, shared by
//! every request thread. Loading is the runtime's business; serving only needs this.

use std::collections::BTreeMap;

use crate::{SignatureDef, Status, Tensor};

/// The on-disk format a model version was loaded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelFormat {
    /// A TensorFlow SavedModel (`saved_model.pb` / `.pbtxt`).
    SavedModel,
    /// An ONNX model (`model.onnx`).
    Onnx,
}

/// A loaded model version. Implementations are immutable after load and safe to run concurrently.
pub trait Model: Send + Sync {
    /// Every signature, including non-runnable ones such as `__saved_model_init_op`, so metadata
    /// can list them as TF Serving does.
    fn signatures(&self) -> &BTreeMap<String, SignatureDef>;

    /// Runs `signature` on `inputs` (keyed by input alias). Returns the outputs named in
    /// `output_filter` (by alias), or every output when the filter is empty.
    fn run(
        &self,
        signature: &str,
        inputs: BTreeMap<String, Tensor>,
        output_filter: &[String],
    ) -> Result<BTreeMap<String, Tensor>, Status>;

    /// Where the model came from.
    fn format(&self) -> ModelFormat;
}
