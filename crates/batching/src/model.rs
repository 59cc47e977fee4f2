//! [`BatchingModel`]: the [`Model`] decorator. `run` queues the request, blocks until a batch
//! thread has run its batch, and returns its own rows of the outputs; `start` queues it the same
//! way but hands back a future, so an async server waits without parking a thread (one hand-off
//! to the batch thread and one wake-up back, instead of two more through a blocking pool).
//! Requests that cannot be batched (see [`crate::key`]) and signatures whose outputs are not
//! per-row run directly. Either call may run a batch in place when a batch thread would have
//! started it at once and the queue's batches are measured to take under [`IN_PLACE_LIMIT`]
//! (see [`crate::scheduler`]).

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tensorserve_core::{Model, ModelFormat, RunOutputs, SignatureDef, Started, Status, Tensor};

use crate::key::BatchKey;
use crate::queue::Admitted;
use crate::scheduler::{BatchScheduler, InPlace, QueueId};
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

/// Batches measured to run faster than this may run in place, on the submitting thread.
///
/// Running in place saves the two hand-offs (to a batch thread and back), measured at about
/// 9 µs of server CPU per request on the corpus CNN (docs/batching-performance.md); but a
/// request run in place is not batched with the ones that arrive while it runs. Sharing a
/// batch can save a request at most its batch-1 run time, so for batches quicker than about
/// twice the hand-offs' cost running in place wins; slower ones (where batching can pay) go to
/// the batch threads. It also keeps async callers' (`Model::start`) work on their worker
/// well under Tokio's 10–100 µs between `.await`s.
pub const IN_PLACE_LIMIT: Duration = Duration::from_micros(20);

/// Where [`BatchingModel::submit`] sent a request.
enum Submitted<'a> {
    /// Not batched: run it on the inner model.
    Direct(BTreeMap<String, Tensor>),
    /// Queued (or refused by the queue), and maybe a batch to run here first.
    Queued(Result<(Admitted, Option<InPlace<'a>>), Status>),
}

impl BatchingModel {
    /// Queues a request that may be batched; unknown signatures go straight through, so their
    /// error is the model's own. `in_place`: see [`BatchScheduler::submit`].
    fn submit(
        &self,
        signature: &str,
        inputs: BTreeMap<String, Tensor>,
        output_filter: &[String],
        in_place: Duration,
    ) -> Submitted<'_> {
        match BatchKey::of(signature, &inputs, output_filter) {
            Some((key, rows)) if self.batched(signature) => Submitted::Queued(
                self.scheduler
                    .submit(self.queue, key, inputs, rows, in_place),
            ),
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
        let admitted = match self.submit(signature, inputs, output_filter, IN_PLACE_LIMIT) {
            Submitted::Direct(inputs) => return self.inner.run(signature, inputs, output_filter),
            Submitted::Queued(queued) => {
                let (admitted, here) = queued?;
                if let Some(here) = here {
                    here.run();
                }
                admitted
            }
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
        let admitted = match self.submit(signature, inputs, output_filter, IN_PLACE_LIMIT) {
            Submitted::Direct(inputs) => return Started::RunHere(inputs),
            Submitted::Queued(Err(e)) => {
                return Started::Queued(Box::pin(std::future::ready(Err(e))));
            }
            Submitted::Queued(Ok((admitted, here))) => {
                if let Some(here) = here {
                    here.run();
                }
                admitted
            }
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
