//! The engine's [`Loader`]: version directories become models through `tensorserve-runtime`,
//! wrapped in the batching decorator when `--enable_batching` is on, then warmed up with their
//! logged requests ([`crate::warmup`]).

use std::path::Path;
use std::sync::Arc;

use tensorserve_batching::{BatchObserver, BatchScheduler, BatchingParameters};
use tensorserve_core::{Model, Status};
use tensorserve_engine::Loader;

use crate::warmup::WarmupOptions;

/// Loads SavedModels (with the configured tags) and ONNX files.
pub struct RuntimeLoader {
    tags: Vec<String>,
    batching: Option<Batching>,
    warmup: Option<WarmupOptions>,
}

/// A version directory's own batching settings, read with `--enable_per_model_batching_parameters`.
pub const PER_MODEL_BATCHING_FILE: &str = "batching_params.pbtxt";

/// The shared batch threads, the settings every version is batched with, and the metrics hook.
struct Batching {
    scheduler: Arc<BatchScheduler>,
    params: BatchingParameters,
    observer: Option<Arc<dyn BatchObserver>>,
    /// Whether a version's [`PER_MODEL_BATCHING_FILE`] replaces `params` for it.
    per_model: bool,
}

impl Batching {
    /// The settings the version in `dir` is batched with: its own file's when per-model
    /// parameters are on and it has one (TF Serving reads only the queue settings from it; the
    /// batch threads stay the shared ones), else the server's.
    fn params_for(&self, dir: &Path) -> Result<BatchingParameters, Status> {
        if !self.per_model {
            return Ok(self.params.clone());
        }
        let path = dir.join(PER_MODEL_BATCHING_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(self.params.clone()),
            Err(e) => {
                return Err(Status::internal(format!(
                    "cannot read {}: {e}",
                    path.display()
                )));
            }
        };
        tracing::info!(
            "Wrapping session to perform batch processing using {}",
            path.display()
        );
        BatchingParameters::parse(&text)
            .map_err(|e| Status::invalid_argument(format!("{}: {}", path.display(), e.message())))
    }
}

impl RuntimeLoader {
    /// A loader choosing MetaGraphs by `tags`.
    pub fn new(tags: Vec<String>) -> RuntimeLoader {
        RuntimeLoader {
            tags,
            batching: None,
            warmup: None,
        }
    }

    /// Runs each loaded version's warmup requests before it is served ([`crate::warmup`]).
    pub fn with_warmup(mut self, options: Option<WarmupOptions>) -> RuntimeLoader {
        self.warmup = options;
        self
    }

    /// Batches every loaded version with `params` (starting the batch threads now), or with
    /// the version's own `batching_params.pbtxt` when `per_model` is on and it has one;
    /// `observer` hears about every batch (for metrics).
    pub fn with_batching(
        mut self,
        params: Option<&BatchingParameters>,
        per_model: bool,
        observer: Option<Arc<dyn BatchObserver>>,
    ) -> Result<RuntimeLoader, Status> {
        self.batching = match params {
            None => None,
            Some(params) => Some(Batching {
                scheduler: BatchScheduler::start(params)?,
                params: params.clone(),
                observer,
                per_model,
            }),
        };
        Ok(self)
    }
}

impl Loader for RuntimeLoader {
    fn load(
        &self,
        model_name: &str,
        version: i64,
        path: &Path,
        _platform: &str,
    ) -> Result<Arc<dyn Model>, Status> {
        let started = std::time::Instant::now();
        let tags = self.tags.clone();
        // Importing recurses over the graph; a dedicated thread with a large stack keeps deep
        // graphs from overflowing the blocking pool's default stack.
        let path_buf = path.to_path_buf();
        let model = std::thread::Builder::new()
            .name("model-load".into())
            .stack_size(256 << 20)
            .spawn(move || {
                let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
                tensorserve_runtime::load_model(&path_buf, &tags)
            })
            .map_err(|e| Status::internal(format!("cannot start a loader thread: {e}")))?
            .join()
            .map_err(|_| Status::internal("model loading panicked"))
            .and_then(|loaded| loaded);
        crate::metrics::observe_model_load(model_name, started.elapsed(), model.is_ok());
        // The load's temporary allocations are freed by now; give their pages back.
        crate::memory::release_free_heap();
        let model = model?;
        tracing::info!(
            model = model_name,
            version,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "loaded {}",
            path.display()
        );
        let model = match &self.batching {
            None => model,
            Some(b) => b.scheduler.wrap(
                model,
                b.params_for(path)?,
                &format!("{model_name}:{version}"),
                b.observer.clone(),
            )?,
        };
        // After batching is wrapped around it, so that warmup goes through the batch queue as
        // TF Serving's does through its batching session.
        if let Some(options) = self.warmup {
            crate::warmup::warm_up(&model, path, options)?;
        }
        Ok(model)
    }
}
