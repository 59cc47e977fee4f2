//! Model warmup (`--enable_model_warmup`, reference §3.8): before a version is served, the
//! requests logged in its `assets.extra/tf_serving_warmup_requests` run against it, as TF
//! Serving's `saved_model_warmup.cc` runs them.
//!
//! The file is a TFRecord file of `PredictionLog` messages
//! ([`tensorserve_savedmodel::tfrecord`], [`tensorserve_proto::prediction_log`]). Each record
//! runs `--num_request_iterations_for_warmup` times (default 1) through the same checks and
//! model run as the gRPC method it logs. Any failure fails the version's load, as in TF
//! Serving: a version whose logged requests no longer work is not served. A missing file is
//! fine. More than [`MAX_RECORDS`] records, an unparsable record, a session-run or
//! streamed-predict record, and a damaged file (`DataLoss`, with TF Serving's hint to check the
//! TFRecord format) are errors.
//!
//! Our runtime compiles a model while loading it, so its first request is not slow the way a
//! TensorFlow session's is; warmup still pages in the weights, fills the allocator and the
//! work-time estimate ([`crate::execution`]), and, above all, proves before traffic arrives
//! that the logged requests succeed. Its duration is exported as TF Serving's
//! `:tensorflow:serving:model_warmup_latency`.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use prost::Message;
use tensorserve_core::{Code, Model, Status};
use tensorserve_proto::prediction_log::PredictionLog;
use tensorserve_savedmodel::tfrecord::{RecordError, RecordReader};

/// Where a version directory keeps its warmup requests.
pub const REQUESTS_FILE: &str = "assets.extra/tf_serving_warmup_requests";

/// Records a warmup file may hold (TF Serving's `WarmupConsts::kMaxNumRecords`).
pub const MAX_RECORDS: usize = 1000;

/// How versions are warmed up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WarmupOptions {
    /// Runs of each record: `--num_request_iterations_for_warmup`, or 1 when that is not
    /// positive (resolved once, in `ServerConfig`).
    pub iterations: u32,
    /// `--enable_signature_method_name_check`, applied as to served requests.
    pub check_methods: bool,
}

/// Runs the warmup requests of the version in `version_dir`, if it has any, and returns how
/// many records ran. An error means the version must not be served.
pub fn warm_up(
    model: &Arc<dyn Model>,
    version_dir: &Path,
    options: WarmupOptions,
) -> Result<usize, Status> {
    let path = version_dir.join(REQUESTS_FILE);
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::debug!("No warmup data file found at {}", path.display());
            return Ok(0);
        }
        Err(e) => return Err(cannot_read(&path, e)),
    };
    tracing::info!(
        iterations = options.iterations,
        "Starting to read warmup data for model at {}",
        path.display()
    );
    let started = Instant::now();
    let result = run_records(model, file, &path, options);
    let elapsed = started.elapsed();
    let status = match &result {
        Ok(_) => "OK".to_string(),
        Err(e) => format!("{}: {}", e.code().name(), e.message()),
    };
    crate::metrics::observe_warmup(&version_dir.display().to_string(), &status, elapsed);
    let records = result.map_err(|e| match e.code() {
        Code::DataLoss => Status::data_loss(format!(
            "{}. Please verify your warmup data is in TFRecord format.",
            e.message()
        )),
        _ => e,
    })?;
    tracing::info!(
        records,
        elapsed_us = elapsed.as_micros() as u64,
        "Finished reading warmup data for model at {}",
        path.display()
    );
    Ok(records)
}

/// Reads and runs every record of the file at `path`.
fn run_records(
    model: &Arc<dyn Model>,
    file: File,
    path: &Path,
    options: WarmupOptions,
) -> Result<usize, Status> {
    let len = file.metadata().map_err(|e| cannot_read(path, e))?.len();
    let mut reader = RecordReader::new(BufReader::new(file), len);
    let mut records = 0;
    loop {
        let record = match reader.next_record() {
            Ok(Some(record)) => record,
            Ok(None) => return Ok(records),
            Err(RecordError::Io(e)) => return Err(cannot_read(path, e)),
            Err(e) => return Err(Status::data_loss(e.to_string())),
        };
        let log = PredictionLog::decode(record.as_slice()).map_err(|e| {
            Status::invalid_argument(format!(
                "Failed to parse warmup record: {} from {}: {e}",
                shown(&record),
                path.display()
            ))
        })?;
        if let Some(logged) = &log.log_type {
            for _ in 0..options.iterations {
                crate::grpc::run_logged_request(model, logged, options.check_methods)?;
            }
        }
        records += 1;
        if records > MAX_RECORDS {
            return Err(Status::invalid_argument(format!(
                "Number of warmup records exceeds the maximum ({MAX_RECORDS}) at {}",
                path.display()
            )));
        }
    }
}

fn cannot_read(path: &Path, e: std::io::Error) -> Status {
    Status::internal(format!("cannot read warmup data {}: {e}", path.display()))
}

/// A record's first bytes, escaped, for an error message (TF Serving prints the whole record).
fn shown(record: &[u8]) -> String {
    const SHOWN: usize = 64;
    let mut text = record[..record.len().min(SHOWN)].escape_ascii().to_string();
    if record.len() > SHOWN {
        text.push_str("...");
    }
    text
}

#[cfg(test)]
mod tests;
