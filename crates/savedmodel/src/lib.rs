//! Reads TensorFlow SavedModels in pure Rust.
//!
//! A SavedModel directory holds `saved_model.pb` (MetaGraphs with a graph, a function library and
//! signatures) and `variables/` (a TensorBundle checkpoint). This crate turns one signature of it
//! into a self-contained, frozen `GraphDef`: functions inlined, variables replaced by constants,
//! signature inputs turned into placeholders, ready for an execution engine.

pub mod bundle;
