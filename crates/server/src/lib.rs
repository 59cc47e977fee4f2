//! The tensorserve server: a drop-in for the `tensorflow/serving` image. TF Serving's REST API
//! (and flags, environment and model layout) over the model engine, plus health endpoints.
//!
//! `main.rs` is a thin shell over [`cli::run`]; tests start [`app::Server`] directly on port 0.

pub mod admission;
pub mod app;
pub mod cli;
pub mod config;
pub mod execution;
pub mod flags;
pub mod grpc;
pub mod loader;
pub mod logging;
pub mod memory;
pub mod metrics;
pub mod model_cli;
pub mod monitoring;
pub mod read_hook;
pub mod rest;
pub mod state;
pub mod v2;
pub mod warmup;
