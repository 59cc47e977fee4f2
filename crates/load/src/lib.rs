//! `tensorserve-load`: a load generator for tensorserve (and any TF Serving compatible server).
//!
//! It replaces the lab's `curl` loop with numbers: throughput, latency percentiles from an HDR
//! histogram, errors by kind, a per-second time series, a JSON file and an SVG picture.
//!
//! Two ways to drive load:
//! - **closed loop** ([`Load::Closed`]): N connections, each sending its next request as soon as the
//!   previous one is answered (what `wrk` does). Simple, but a slow server slows the client down and
//!   hides the latency users would have seen (coordinated omission);
//! - **open loop** ([`Load::Open`]): requests arrive on a schedule (a fixed or Poisson rate, possibly
//!   in [`Stage`]s), independently of how fast the server answers. Latency is measured from each
//!   request's *scheduled* send time, so time spent waiting for a free connection counts. The number
//!   of outstanding requests is bounded; arrivals beyond the bound are counted as `dropped`.
//!
//! What is sent is a [`Target`]: [`HttpTarget`] speaks HTTP/1.1 over keep-alive hyper connections
//! (TF Serving REST predict by default); [`GrpcTarget`] calls TF Serving's gRPC
//! `PredictionService/Predict` over HTTP/2 (our own small client, with a request encoded once by
//! `tensorserve-proto`'s messages).
//!
//! `main.rs` is a thin shell over [`cli::main`]; tests call [`run`] directly.

pub mod cli;
pub mod config;
pub mod progress;
pub mod report;
pub mod runner;
pub mod schedule;
pub mod stats;
pub mod target;

pub use config::{Config, ConfigError, Load, OpenLoop, Plan, TargetSpec};
pub use report::{Report, Sample, StopReason};
pub use runner::run;
pub use schedule::{Arrivals, Stage};
pub use target::grpc::{GrpcSpec, GrpcTarget};
pub use target::http::{HttpSpec, HttpTarget};
pub use target::{Connection, ErrorKind, Target};

/// The lab's request body: three instances for `half_plus_two`.
pub const DEFAULT_BODY: &str = r#"{"instances": [1.0, 2.0, 5.0]}"#;

/// The model whose predict endpoint is used when the URL has no path.
pub const DEFAULT_MODEL: &str = "half_plus_two";

/// Where requests go when no URL is given: a local server on TF Serving's REST port.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8501";
