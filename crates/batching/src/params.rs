//! `BatchingParameters` (reference §3.7): TF Serving's text-format file, its defaults when the
//! file is absent, and the checks TF makes before it creates a batching queue.
//!
//! The file uses protobuf wrapper types (`max_batch_size { value: 128 }`), read here with the
//! schema-free reader of `tensorserve-engine`, so errors carry protobuf's positions and wording.

use std::time::Duration;

use tensorserve_core::Status;
use tensorserve_engine::textproto::{self, Field, Seen, SyntaxError, unknown_field};

/// What protobuf prefixes a text-format error with.
pub const PARSE_PREFIX: &str = "Error parsing text-format tensorflow.serving.BatchingParameters";

const MESSAGE: &str = "tensorflow.serving.BatchingParameters";

/// Dynamic batching settings for every served model version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchingParameters {
    /// Largest request (in rows) accepted; with splitting off, also the largest batch run.
    pub max_batch_size: usize,
    /// How long the oldest request of a partial batch waits for others; zero runs a batch as
    /// soon as a batch thread is free (batches then only form while every thread is busy).
    pub batch_timeout: Duration,
    /// Batches that may wait (the one filling included); beyond, requests are refused.
    pub max_enqueued_batches: usize,
    /// Threads running batches, shared by every model version.
    pub num_batch_threads: usize,
    /// Name of those threads (TF Serving's metrics label).
    pub thread_pool_name: String,
    /// Split requests across batches instead of starting a new batch for each.
    pub enable_large_batch_splitting: bool,
    /// Largest batch run when splitting is on (defaults to `max_batch_size`).
    pub max_execution_batch_size: usize,
    /// Batch sizes the model is run at: a batch is padded up to the next one. Empty: any size.
    pub allowed_batch_sizes: Vec<usize>,
    /// Accepted for compatibility. Requests whose non-batch dimensions differ are never merged,
    /// so no padding along those dimensions is needed (padding them could change answers).
    pub pad_variable_length_inputs: bool,
}

impl Default for BatchingParameters {
    /// What `--enable_batching` without a parameters file gives: TF's `SharedBatchScheduler`
    /// queue defaults, and one batch thread per core (TF's `MaxParallelism`).
    fn default() -> BatchingParameters {
        BatchingParameters {
            max_batch_size: 1000,
            batch_timeout: Duration::ZERO,
            max_enqueued_batches: 10,
            num_batch_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            thread_pool_name: "model_server_batch_threads".into(),
            enable_large_batch_splitting: false,
            max_execution_batch_size: 1000,
            allowed_batch_sizes: Vec::new(),
            pad_variable_length_inputs: false,
        }
    }
}

/// The `value` of a wrapper message (`google.protobuf.Int64Value` and friends).
fn wrapped<'a>(field: &'a Field, wrapper: &str) -> Result<Option<&'a Field>, SyntaxError> {
    let mut value = None;
    let mut seen = Seen::default();
    for inner in field.fields()? {
        if inner.name != "value" {
            return Err(unknown_field(inner, &format!("google.protobuf.{wrapper}")));
        }
        seen.once(inner)?;
        value = Some(inner);
    }
    Ok(value)
}

fn wrapped_int(field: &Field) -> Result<i64, SyntaxError> {
    wrapped(field, "Int64Value")?.map_or(Ok(0), Field::int)
}

impl BatchingParameters {
    /// Parses the text of a `--batching_parameters_file` and checks it. Fields not in the file
    /// keep the defaults of [`BatchingParameters::default`].
    pub fn parse(text: &str) -> Result<BatchingParameters, Status> {
        let syntax = |e: SyntaxError| Status::invalid_argument(format!("{PARSE_PREFIX}: {e}"));
        let fields = textproto::parse(text).map_err(syntax)?;
        let mut params = BatchingParameters::default();
        let mut execution_size = None;
        let mut seen = Seen::default();
        let count = |f: &Field| {
            wrapped_int(f).and_then(|v| {
                usize::try_from(v).map_err(|_| f.error(format!("{} must be >= 0; was {v}", f.name)))
            })
        };
        for f in &fields {
            if f.name != "allowed_batch_sizes" {
                seen.once(f).map_err(syntax)?;
            }
            match f.name.as_str() {
                "max_batch_size" => params.max_batch_size = count(f).map_err(syntax)?,
                "batch_timeout_micros" => {
                    let micros = wrapped_int(f).map_err(syntax)?;
                    let micros = u64::try_from(micros).map_err(|_| {
                        Status::invalid_argument(format!(
                            "batch_timeout_micros must be non-negative; was {micros}"
                        ))
                    })?;
                    params.batch_timeout = Duration::from_micros(micros);
                }
                "max_enqueued_batches" => params.max_enqueued_batches = count(f).map_err(syntax)?,
                "num_batch_threads" => params.num_batch_threads = count(f).map_err(syntax)?,
                "max_execution_batch_size" => execution_size = Some(count(f).map_err(syntax)?),
                "thread_pool_name" => {
                    if let Some(v) = wrapped(f, "StringValue").map_err(syntax)? {
                        params.thread_pool_name = v.string().map_err(syntax)?.to_string();
                    }
                }
                "enable_large_batch_splitting" => {
                    params.enable_large_batch_splitting = wrapped(f, "BoolValue")
                        .and_then(|v| v.map_or(Ok(false), Field::boolean))
                        .map_err(syntax)?;
                }
                "allowed_batch_sizes" => {
                    let size = f.int().map_err(syntax)?;
                    params
                        .allowed_batch_sizes
                        .push(usize::try_from(size).map_err(|_| {
                            Status::invalid_argument(format!(
                                "allowed_batch_sizes entries must be positive; got {size}"
                            ))
                        })?);
                }
                "pad_variable_length_inputs" => {
                    params.pad_variable_length_inputs = f.boolean().map_err(syntax)?;
                }
                _ => return Err(syntax(unknown_field(f, MESSAGE))),
            }
        }
        params.max_execution_batch_size = match execution_size {
            Some(size) if params.enable_large_batch_splitting => size,
            _ => params.max_batch_size,
        };
        params.validate()?;
        Ok(params)
    }

    /// TF's checks on batching settings, made before any queue exists.
    pub fn validate(&self) -> Result<(), Status> {
        let bad = |m: String| Err(Status::invalid_argument(m));
        if self.max_batch_size == 0 {
            return bad("max_batch_size must be positive; was 0".into());
        }
        if self.max_enqueued_batches == 0 {
            return bad("max_enqueued_batches must be positive; was 0".into());
        }
        if self.num_batch_threads == 0 {
            return bad("num_batch_threads must be positive; was 0".into());
        }
        if self.max_execution_batch_size == 0 || self.max_execution_batch_size > self.max_batch_size
        {
            return bad(format!(
                "When enable_large_batch_splitting is true, max_batch_size ({}) must be greater \
                 than or equal to max_execution_batch_size ({}), which must be positive",
                self.max_batch_size, self.max_execution_batch_size
            ));
        }
        let mut previous = 0;
        for &size in &self.allowed_batch_sizes {
            if size == 0 {
                return bad("allowed_batch_sizes entries must be positive; got 0".into());
            }
            if size <= previous {
                return bad("allowed_batch_sizes entries must be monotonically increasing".into());
            }
            previous = size;
        }
        if let Some(&last) = self.allowed_batch_sizes.last()
            && last != self.max_execution_batch_size
        {
            let what = if self.enable_large_batch_splitting {
                "max_execution_batch_size"
            } else {
                "max_batch_size"
            };
            return bad(format!(
                "final entry in allowed_batch_sizes ({last}) must equal {what} ({})",
                self.max_execution_batch_size
            ));
        }
        Ok(())
    }

    /// The size a batch of `rows` is run at: the next allowed size, or `rows` itself.
    pub fn padded_size(&self, rows: usize) -> usize {
        self.allowed_batch_sizes
            .iter()
            .copied()
            .find(|&size| size >= rows)
            .unwrap_or(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tfserving_suite_file_parses() {
        let p = BatchingParameters::parse(
            "max_batch_size { value: 128 }\nbatch_timeout_micros { value: 0 }\n\
             max_enqueued_batches { value: 1000000 }\nnum_batch_threads { value: 8 }\n",
        )
        .unwrap();
        assert_eq!(p.max_batch_size, 128);
        assert_eq!(p.max_execution_batch_size, 128);
        assert_eq!(p.batch_timeout, Duration::ZERO);
        assert_eq!(p.max_enqueued_batches, 1_000_000);
        assert_eq!(p.num_batch_threads, 8);
        assert_eq!(p.thread_pool_name, "model_server_batch_threads");
    }

    #[test]
    fn every_field_is_read() {
        let p = BatchingParameters::parse(
            "max_batch_size { value: 64 } batch_timeout_micros { value: 2500 }\n\
             max_enqueued_batches { value: 3 } num_batch_threads { value: 2 }\n\
             thread_pool_name { value: 'pool' } enable_large_batch_splitting { value: true }\n\
             max_execution_batch_size { value: 16 }\n\
             allowed_batch_sizes: [4, 8]\nallowed_batch_sizes: 16\npad_variable_length_inputs: true",
        )
        .unwrap();
        assert_eq!(p.batch_timeout, Duration::from_micros(2500));
        assert_eq!(p.thread_pool_name, "pool");
        assert!(p.enable_large_batch_splitting && p.pad_variable_length_inputs);
        assert_eq!(p.max_execution_batch_size, 16);
        assert_eq!(p.allowed_batch_sizes, [4, 8, 16]);
        assert_eq!(p.padded_size(1), 4);
        assert_eq!(p.padded_size(5), 8);
        assert_eq!(p.padded_size(16), 16);
    }

    #[test]
    fn defaults_are_tfs_queue_defaults() {
        let p = BatchingParameters::parse("").unwrap();
        assert_eq!(p.max_batch_size, 1000);
        assert_eq!(p.max_enqueued_batches, 10);
        assert_eq!(p.batch_timeout, Duration::ZERO);
        assert!(p.num_batch_threads >= 1);
        assert!(!p.enable_large_batch_splitting);
        assert_eq!(p.padded_size(7), 7);
    }

    #[test]
    fn errors_name_the_problem() {
        let err = |text: &str| {
            BatchingParameters::parse(text)
                .unwrap_err()
                .message()
                .to_string()
        };
        assert_eq!(
            err("max_batch_size { value: 8 }\nmax_batch_sise { value: 8 }"),
            format!(
                "{PARSE_PREFIX}: 2:16: Message type \"tensorflow.serving.BatchingParameters\" has no field named \"max_batch_sise\"."
            )
        );
        assert!(err("max_batch_size { valu: 8 }").contains("google.protobuf.Int64Value"));
        assert!(err("max_batch_size: 8").contains("Expected \"{\""));
        assert!(err("max_batch_size { value: 0 }").contains("max_batch_size must be positive"));
        assert!(err("num_batch_threads { value: 0 }").contains("num_batch_threads"));
        assert!(err("batch_timeout_micros { value: -1 }").contains("non-negative"));
        assert!(
            err("max_batch_size { value: 8 } allowed_batch_sizes: [4, 2, 8]")
                .contains("monotonically increasing")
        );
        assert!(
            err("max_batch_size { value: 8 } allowed_batch_sizes: [2, 4]")
                .contains("must equal max_batch_size (8)")
        );
        assert!(
            err("max_batch_size { value: 8 } max_batch_size { value: 9 }")
                .contains("specified multiple times")
        );
    }
}
