//! Prometheus metrics (docs/metrics.md): TF Serving's own series under their mangled names
//! (`:tensorflow:serving:request_count`, reference §3.10) and tensorserve's, named the
//! Prometheus way (`tensorserve_*`, seconds, `_total`).
//!
//! The registry is process-wide so that code without the server state (the loader, the
//! batching decorator) can record through plain functions such as [`observe_batch_size`].
//! Each model gets one [`ModelMetrics`] block of atomics, created when the model is loaded or
//! first served and found through an [`ArcSwap`] snapshot: recording a request costs a few
//! relaxed atomic adds and no lock. Series are only created for models the server loaded, so
//! a client cannot grow the registry by asking for made-up model names; requests for unknown
//! models are counted under the empty model name.

mod batch_observer;
pub mod histogram;
mod render;
mod warmup;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwap;
use tensorserve_core::Code;

pub use batch_observer::BatchSizeMetrics;
use histogram::{BATCH_SIZE, Histogram, LOAD_SECONDS, SECONDS, TF_LATENCY_MICROS};
pub use render::render;
pub use warmup::observe_warmup;

/// The protocol a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// The REST API.
    Rest = 0,
    /// The gRPC API.
    Grpc = 1,
}

/// The API a request called (label `api`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// Predict.
    Predict = 0,
    /// Classify.
    Classify = 1,
    /// Regress.
    Regress = 2,
    /// gRPC MultiInference.
    MultiInference = 3,
    /// Model metadata.
    Metadata = 4,
    /// Model status.
    Status = 5,
}

const PROTOCOLS: [Protocol; 2] = [Protocol::Rest, Protocol::Grpc];
const APIS: [Api; 6] = [
    Api::Predict,
    Api::Classify,
    Api::Regress,
    Api::MultiInference,
    Api::Metadata,
    Api::Status,
];
const CODES: [Code; 17] = [
    Code::Ok,
    Code::Cancelled,
    Code::Unknown,
    Code::InvalidArgument,
    Code::DeadlineExceeded,
    Code::NotFound,
    Code::AlreadyExists,
    Code::PermissionDenied,
    Code::ResourceExhausted,
    Code::FailedPrecondition,
    Code::Aborted,
    Code::OutOfRange,
    Code::Unimplemented,
    Code::Internal,
    Code::Unavailable,
    Code::DataLoss,
    Code::Unauthenticated,
];

impl Protocol {
    /// Label value.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Rest => "rest",
            Protocol::Grpc => "grpc",
        }
    }

    /// TF Serving's `entrypoint` label value.
    fn entrypoint(self) -> &'static str {
        match self {
            Protocol::Rest => "REST",
            Protocol::Grpc => "GRPC",
        }
    }
}

impl Api {
    /// Label value.
    pub fn name(self) -> &'static str {
        match self {
            Api::Predict => "predict",
            Api::Classify => "classify",
            Api::Regress => "regress",
            Api::MultiInference => "multi_inference",
            Api::Metadata => "metadata",
            Api::Status => "status",
        }
    }

    /// TF Serving's `request_latency` `API` label: lower-case REST verbs ("" for GETs),
    /// CamelCase gRPC methods; `None` for calls TF Serving does not time.
    fn tf_name(self, protocol: Protocol) -> Option<&'static str> {
        match (protocol, self) {
            (Protocol::Rest, Api::Predict) => Some("predict"),
            (Protocol::Rest, Api::Classify) => Some("classify"),
            (Protocol::Rest, Api::Regress) => Some("regress"),
            (Protocol::Rest, Api::Metadata | Api::Status) => Some(""),
            (Protocol::Grpc, Api::Predict) => Some("Predict"),
            (Protocol::Grpc, Api::Classify) => Some("Classify"),
            (Protocol::Grpc, Api::Regress) => Some("Regress"),
            (Protocol::Grpc, Api::MultiInference) => Some("MultiInference"),
            _ => None,
        }
    }
}

const N_SERIES: usize = PROTOCOLS.len() * APIS.len();

fn series(protocol: Protocol, api: Api) -> usize {
    protocol as usize * APIS.len() + api as usize
}

/// Every series of one model.
pub struct ModelMetrics {
    name: Arc<str>,
    in_flight: AtomicI64,
    queued: AtomicI64,
    /// `[protocol × api][code]`.
    requests: Box<[[AtomicU64; CODES.len()]]>,
    /// TF Serving's `request_latency`, successes only, by `[protocol × api]` (µs).
    tf_latency: Box<[Histogram]>,
    queue_seconds: Histogram,
    inference_seconds: Histogram,
    batch_size: Histogram,
    load_seconds: Histogram,
    load_failures: AtomicU64,
}

impl ModelMetrics {
    fn new(name: &str) -> ModelMetrics {
        ModelMetrics {
            name: name.into(),
            in_flight: AtomicI64::new(0),
            queued: AtomicI64::new(0),
            requests: (0..N_SERIES)
                .map(|_| std::array::from_fn(|_| AtomicU64::new(0)))
                .collect(),
            tf_latency: (0..N_SERIES)
                .map(|_| Histogram::new(&TF_LATENCY_MICROS))
                .collect(),
            queue_seconds: Histogram::new(&SECONDS),
            inference_seconds: Histogram::new(&SECONDS),
            batch_size: Histogram::new(&BATCH_SIZE),
            load_seconds: Histogram::new(&LOAD_SECONDS),
            load_failures: AtomicU64::new(0),
        }
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Records a finished request: its outcome and its total latency.
    pub fn record_request(&self, protocol: Protocol, api: Api, code: Code, latency: Duration) {
        let s = series(protocol, api);
        self.requests[s][code as usize].fetch_add(1, Ordering::Relaxed);
        if code == Code::Ok && api.tf_name(protocol).is_some() {
            self.tf_latency[s].observe(latency.as_micros() as u64);
        }
    }

    /// A request started waiting for an in-flight slot.
    pub fn queued_inc(&self) {
        self.queued.fetch_add(1, Ordering::Relaxed);
    }

    /// A request stopped waiting (it got a slot or gave up).
    pub fn queued_dec(&self) {
        self.queued.fetch_sub(1, Ordering::Relaxed);
    }

    /// A request took an in-flight slot, after waiting `waited` for it.
    pub fn started(&self, waited: Duration) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.queue_seconds.observe(waited.as_nanos() as u64);
    }

    /// A request released its in-flight slot after holding it for `held`.
    pub fn finished(&self, held: Duration) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.inference_seconds.observe(held.as_nanos() as u64);
    }
}

struct Registry {
    models: ArcSwap<HashMap<Arc<str>, Arc<ModelMetrics>>>,
    /// Serialises inserts (copy-on-write of the map); never taken on the request path once a
    /// model's block exists.
    insert: Mutex<()>,
}

static REGISTRY: LazyLock<Registry> = LazyLock::new(|| Registry {
    models: ArcSwap::from_pointee(HashMap::new()),
    insert: Mutex::new(()),
});

/// The metrics block of a model, created if needed. Call only for models the server serves.
pub fn model(name: &str) -> Arc<ModelMetrics> {
    if let Some(found) = REGISTRY.models.load().get(name) {
        return found.clone();
    }
    let _guard = REGISTRY
        .insert
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let current = REGISTRY.models.load_full();
    if let Some(found) = current.get(name) {
        return found.clone();
    }
    let block = Arc::new(ModelMetrics::new(name));
    let mut next = HashMap::clone(&current);
    next.insert(block.name.clone(), block.clone());
    REGISTRY.models.store(Arc::new(next));
    block
}

/// The block of a model that has one, or the shared block of unknown models (empty name).
pub fn known_or_unknown(name: &str) -> Arc<ModelMetrics> {
    match REGISTRY.models.load().get(name) {
        Some(found) => found.clone(),
        None => model(""),
    }
}

/// Records the size of a batch the batching layer ran for `model_name`.
pub fn observe_batch_size(model_name: &str, size: usize) {
    model(model_name).batch_size.observe(size as u64);
}

/// Records a model version load: its duration when it succeeded, a failure otherwise.
pub fn observe_model_load(model_name: &str, elapsed: Duration, succeeded: bool) {
    let block = model(model_name);
    if succeeded {
        block.load_seconds.observe(elapsed.as_nanos() as u64);
    } else {
        block.load_failures.fetch_add(1, Ordering::Relaxed);
    }
}

fn snapshot() -> Vec<Arc<ModelMetrics>> {
    let mut all: Vec<Arc<ModelMetrics>> = REGISTRY.models.load().values().cloned().collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    all
}
