//! Reads TensorFlow SavedModels in pure Rust.
//!
//! A SavedModel directory holds `saved_model.pb` (MetaGraphs with a graph, a function library and
//! signatures) and `variables/` (a TensorBundle checkpoint). This crate turns one signature of it
//! into a self-contained, frozen `GraphDef` ([`freeze::freeze_signature`]): functions inlined,
//! variables replaced by constants, signature inputs turned into placeholders, tf.Example parsing
//! lifted out to native code — ready for an execution engine. [`tfrecord`] reads the TFRecord
//! files of a SavedModel's warmup requests.

pub mod bundle;
mod consts;
mod error;
pub mod example_spec;
pub mod freeze;
mod graph_ref;
pub mod loader;
mod masked_crc;
pub mod opdefs;
mod tables;
pub mod text_format;
pub mod tfrecord;
mod variables;

pub use error::SavedModelError;
pub use freeze::{FrozenInput, FrozenSignature, InputSource, freeze_signature};
pub use loader::SavedModelDir;
pub use tables::LOOKUP_OP;
