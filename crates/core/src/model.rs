//! The [`Model`] trait: a loaded, immutable model version that runs its signatures, shared by
//! every request thread. Loading is the runtime's business; serving only needs this.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use crate::{SignatureDef, Status, Tensor};

/// The outputs of a run by alias, or why it failed.
pub type RunOutputs = Result<BTreeMap<String, Tensor>, Status>;

/// A run that another thread carries out (a batch thread); resolves when that thread has run it.
/// Awaiting it blocks no thread.
pub type QueuedRun = Pin<Box<dyn Future<Output = RunOutputs> + Send>>;

/// What [`Model::start`] did with a run.
pub enum Started {
    /// Nothing: the model runs on its caller's thread, so the caller calls [`Model::run`] with
    /// these inputs (handed back untouched) wherever it wants the work done.
    RunHere(BTreeMap<String, Tensor>),
    /// Queued for another thread; the outcome arrives through the future.
    Queued(QueuedRun),
}

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

    /// Starts a run without blocking the caller, for models whose runs are carried out by other
    /// threads (the batching decorator queues the request for a batch thread). An async server
    /// awaits [`Started::Queued`] instead of parking a thread on [`Model::run`] for the whole
    /// wait. The default, for models that compute on the caller's thread, queues nothing.
    fn start(
        &self,
        signature: &str,
        inputs: BTreeMap<String, Tensor>,
        output_filter: &[String],
    ) -> Started {
        let _ = (signature, output_filter);
        Started::RunHere(inputs)
    }
}
