//! [`BatchingModel`]: the [`Model`] decorator. `run` queues the request, blocks until a batch
//! thread has run its batch, and returns its own rows of the outputs. Requests that cannot be
//! batched (see [`crate::key`]) and signatures whose outputs are not per-row run directly.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use tensorserve_core::{Model, ModelFormat, SignatureDef, Status, Tensor};

use crate::key::BatchKey;
use crate::scheduler::{BatchScheduler, QueueId};
use crate::tensors::join_outputs;

/// A model version whose concurrent runs are batched. Made by [`BatchScheduler::wrap`].
pub struct BatchingModel {
    inner: Arc<dyn Model>,
    scheduler: Arc<BatchScheduler>,
    queue: QueueId,
    unbatchable: Arc<Mutex<HashSet<String>>>,
}

impl BatchingModel {
    pub(crate) fn new(
        inner: Arc<dyn Model>,
        scheduler: Arc<BatchScheduler>,
        queue: QueueId,
        unbatchable: Arc<Mutex<HashSet<String>>>,
    ) -> BatchingModel {
        BatchingModel {
            inner,
            scheduler,
            queue,
            unbatchable,
        }
    }

    /// The wrapped model.
    pub fn inner(&self) -> &Arc<dyn Model> {
        &self.inner
    }

    /// Requests (or pieces of split requests) waiting to run.
    pub fn queued_tasks(&self) -> usize {
        self.scheduler.queued_tasks(self.queue)
    }

    fn batched(&self, signature: &str) -> bool {
        self.inner.signatures().contains_key(signature)
            && !self
                .unbatchable
                .lock()
                .expect("unbatchable set lock")
                .contains(signature)
    }
}

impl Drop for BatchingModel {
    fn drop(&mut self) {
        self.scheduler.remove(self.queue);
    }
}

impl Model for BatchingModel {
    fn signatures(&self) -> &BTreeMap<String, SignatureDef> {
        self.inner.signatures()
    }

    fn run(
        &self,
        signature: &str,
        inputs: BTreeMap<String, Tensor>,
        output_filter: &[String],
    ) -> Result<BTreeMap<String, Tensor>, Status> {
        // Unknown signatures go straight through, so the error is the model's own.
        let key = match BatchKey::of(signature, &inputs, output_filter) {
            Some(key) if self.batched(signature) => key,
            _ => return self.inner.run(signature, inputs, output_filter),
        };
        let (key, rows) = key;
        let admitted = self.scheduler.submit(self.queue, key, inputs, rows)?;
        let lost = || Status::internal("the batch running this request failed");
        let mut pieces = Vec::with_capacity(admitted.receivers.len());
        for receiver in admitted.receivers {
            pieces.push(receiver.recv().map_err(|_| lost())??);
        }
        if pieces.len() == 1 {
            return Ok(pieces.pop().expect("one piece"));
        }
        // A split request: join its pieces, or, if its outputs are not per-row, run it whole.
        match join_outputs(pieces) {
            Some(outputs) => Ok(outputs),
            None => self.inner.run(
                signature,
                admitted.original.ok_or_else(lost)?,
                output_filter,
            ),
        }
    }

    fn format(&self) -> ModelFormat {
        self.inner.format()
    }
}
