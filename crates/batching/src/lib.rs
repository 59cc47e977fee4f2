//! Dynamic batching as TF Serving has it (`--enable_batching`, reference §3.7): concurrent runs
//! of a model version on the same signature, with compatible inputs, are concatenated along
//! dim 0, run once, and their outputs cut back into each request's rows.
//!
//! * [`params`]: the `--batching_parameters_file` text format, its defaults and checks.
//! * [`key`]: which requests may share a batch.
//! * [`queue`]: one model version's queue — admission, the bound, splitting, readiness.
//! * [`scheduler`]: the batch threads shared by every model version.
//! * [`execute`]: running one batch, and the fallback that keeps every answer unchanged.
//! * [`model`]: [`BatchingModel`], the `Model` decorator the server serves instead.
//! * [`tensors`]: row concatenation, padding and splitting.
//! * [`observer`]: the hook for metrics.
//!
//! Batching never changes an answer: rows are copied exactly, padding repeats a real row and is
//! dropped, and whenever a batched call cannot stand for separate calls the requests run one by
//! one. What it cannot detect is a model whose rows depend on each other (e.g. a graph that
//! normalises over the batch); TF Serving has the same limit, and such models should not be
//! served with batching.

pub mod execute;
pub mod key;
pub mod model;
pub mod observer;
pub mod params;
pub mod queue;
pub mod scheduler;
pub mod tensors;

pub use key::BatchKey;
pub use model::BatchingModel;
pub use observer::{BatchObserver, BatchRun};
pub use params::BatchingParameters;
pub use scheduler::BatchScheduler;
