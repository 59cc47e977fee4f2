//! The hook through which batching reports what it does (for metrics such as TF Serving's
//! `batching_session/queuing_latency` and a batch-size histogram), so this crate depends on no
//! metrics implementation.

use std::time::Duration;

/// One batch, as it starts running.
#[derive(Debug, Clone)]
pub struct BatchRun<'a> {
    /// The model version's label given to [`crate::BatchScheduler::wrap`].
    pub model: &'a str,
    /// The signature run.
    pub signature: &'a str,
    /// Requests (or pieces of split requests) in the batch.
    pub requests: usize,
    /// Rows sent by those requests.
    pub rows: usize,
    /// Rows the model runs on, padding included.
    pub padded_rows: usize,
    /// How long each request waited in the queue.
    pub queue_waits: &'a [Duration],
}

/// Receives a call for every batch run. Called on a batch thread just before the model runs,
/// so implementations must be quick and must not block.
pub trait BatchObserver: Send + Sync {
    /// A batch is about to run.
    fn batch_started(&self, batch: &BatchRun<'_>);
}
