//! The vocabulary every tensorserve crate shares: tensors and their element types, signatures, the
//! canonical status codes used by both REST and gRPC, and the [`Model`] trait that runtimes implement.
//!
//! This crate knows nothing of HTTP, gRPC or any execution engine, so that protocol adapters and
//! runtimes can only meet here.

pub mod cmp;
pub mod dtype;
pub mod example;
pub mod json;
pub mod model;
pub mod signature;
pub mod status;
pub mod tensor;

pub use dtype::DType;
pub use model::{Model, ModelFormat, QueuedRun, RunOutputs, Started};
pub use signature::{SignatureDef, TensorInfo};
pub use status::{Code, Status};
pub use tensor::{Tensor, TensorData};
