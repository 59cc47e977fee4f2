//! [`BatchingModel`]: the [`Model`] decorator. `run` queues the request, blocks until a batch
//! thread has run its batch, and returns its own rows of the outputs; `start` queues it the same
//! way but hands back a future, so an async server waits without parking a thread (one hand-off
//! to the batch thread and one wake-up back, instead of two more through a blocking pool).
//! Requests that cannot be batched (see [`crate::key`]) and signatures whose outputs are not
//! per-row run directly.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use tensorserve_core::{Model, ModelFormat, RunOutputs, SignatureDef, Started, Status, Tensor};

use crate::key::BatchKey;
use crate::queue::Admitted;
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

/// Where [`BatchingModel::submit`] sent a request.
enum Submitted {
    /// Not batched: run it on the inner model.
    Direct(BTreeMap<String, Tensor>),
    /// Queued (or refused by the queue).
    Queued(Result<Admitted, Status>),
}

impl BatchingModel {
    /// Queues a request that may be batched; unknown signatures go straight through, so their
    /// error is the model's own.
    fn submit(
        &self,
        signature: &str,
        inputs: BTreeMap<String, Tensor>,
        output_filter: &[String],
    ) -> Submitted {
        match BatchKey::of(signature, &inputs, output_filter) {
            Some((key, rows)) if self.batched(signature) => {
                Submitted::Queued(self.scheduler.submit(self.queue, key, inputs, rows))
            }
            _ => Submitted::Direct(inputs),
        }
    }
}

fn lost() -> Status {
    Status::internal("the batch running this request failed")
}

/// A request's outputs from its pieces' outcomes: the one piece, or the pieces of a split
/// request joined, or, if its outputs are not per-row, a whole run of the original request.
fn joined(
    inner: &dyn Model,
    signature: &str,
    mut pieces: Vec<BTreeMap<String, Tensor>>,
    original: Option<BTreeMap<String, Tensor>>,
    output_filter: &[String],
) -> RunOutputs {
    if pieces.len() == 1 {
        return Ok(pieces.pop().expect("one piece"));
    }
    match join_outputs(pieces) {
        Some(outputs) => Ok(outputs),
        None => inner.run(signature, original.ok_or_else(lost)?, output_filter),
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
        let admitted = match self.submit(signature, inputs, output_filter) {
            Submitted::Direct(inputs) => return self.inner.run(signature, inputs, output_filter),
            Submitted::Queued(admitted) => admitted?,
        };
        let Admitted {
            receivers,
            original,
        } = admitted;
        let pieces = receivers
            .into_iter()
            .map(|r| r.blocking_recv().map_err(|_| lost())?)
            .collect::<Result<Vec<_>, Status>>()?;
        joined(&*self.inner, signature, pieces, original, output_filter)
    }

    fn start(
        &self,
        signature: &str,
        inputs: BTreeMap<String, Tensor>,
        output_filter: &[String],
    ) -> Started {
        let admitted = match self.submit(signature, inputs, output_filter) {
            Submitted::Direct(inputs) => return Started::RunHere(inputs),
            Submitted::Queued(Err(e)) => {
                return Started::Queued(Box::pin(std::future::ready(Err(e))));
            }
            Submitted::Queued(Ok(admitted)) => admitted,
        };
        let inner = Arc::clone(&self.inner);
        let signature = signature.to_owned();
        let output_filter = output_filter.to_vec();
        Started::Queued(Box::pin(async move {
            let Admitted {
                receivers,
                original,
            } = admitted;
            let mut pieces = Vec::with_capacity(receivers.len());
            for receiver in receivers {
                pieces.push(receiver.await.map_err(|_| lost())??);
            }
            // The rare fallback below (a split request whose outputs are not per-row) runs the
            // model on the awaiting thread; it happens at most once per signature, which is
            // then never batched again.
            joined(&*inner, &signature, pieces, original, &output_filter)
        }))
    }

    fn format(&self) -> ModelFormat {
        self.inner.format()
    }
}
