//! Running one batch: concatenate its requests' inputs, pad, run the model once, cut the outputs
//! back into each request's rows and reply.
//!
//! Batching must never change an answer, so whenever the batched call cannot stand for the
//! separate calls — the model fails (one bad request must not fail the others), or an output is
//! not per-row (a scalar, or a dim 0 that is not the batch) — each request is run on its own and
//! gets exactly what it would have got without batching.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tensorserve_core::{Model, Status, Tensor};

use crate::observer::BatchRun;
use crate::queue::{Batch, Outcome, Queue};
use crate::tensors::{concat_rows, split_outputs};

/// What a batch thread takes out of the queue to run it without holding the scheduler's lock.
pub struct Job {
    /// The batch.
    pub batch: Batch,
    /// The model version's queue settings (cheap clones).
    pub model: Arc<dyn Model>,
    /// Padding rule.
    pub params: Arc<crate::BatchingParameters>,
    /// Label for logs and the observer.
    pub label: Arc<str>,
    /// The observer, if any.
    pub observer: Option<Arc<dyn crate::BatchObserver>>,
    /// Where to record signatures found not to be per-row.
    pub unbatchable: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
    /// Where to record how long the batch took.
    pub cost: Arc<crate::queue::RunCost>,
}

impl Job {
    /// The job for batch `index` of `queue`.
    pub fn take(queue: &mut Queue, index: usize) -> Job {
        Job {
            batch: queue.take(index),
            model: Arc::clone(&queue.model),
            params: Arc::clone(&queue.params),
            label: Arc::clone(&queue.label),
            observer: queue.observer.clone(),
            unbatchable: Arc::clone(&queue.unbatchable),
            cost: Arc::clone(&queue.cost),
        }
    }
}

/// Runs `job`, replies to each of its requests and records how long it took.
pub fn run(job: Job) {
    let cost = Arc::clone(&job.cost);
    let started = Instant::now();
    run_batch(job);
    cost.record(started.elapsed());
}

fn run_batch(job: Job) {
    let Job {
        batch,
        model,
        params,
        label,
        observer,
        unbatchable,
        cost: _,
    } = job;
    let key = &batch.key;
    let padded = params.padded_size(batch.rows);
    if let Some(observer) = &observer {
        let now = Instant::now();
        let waits: Vec<Duration> = batch
            .tasks
            .iter()
            .map(|t| now.duration_since(t.enqueued))
            .collect();
        observer.batch_started(&BatchRun {
            model: &label,
            signature: &key.signature,
            requests: batch.tasks.len(),
            rows: batch.rows,
            padded_rows: padded,
            queue_waits: &waits,
        });
    }
    if batch.tasks.len() == 1 && padded == batch.rows {
        // Nothing to merge: run the request as it came, without copying it.
        let task = batch.tasks.into_iter().next().expect("one task");
        let outcome = model.run(&key.signature, task.inputs, &key.output_filter);
        let _ = task.reply.send(outcome);
        return;
    }
    let row_counts: Vec<usize> = batch.tasks.iter().map(|t| t.rows).collect();
    let batched = merged_inputs(&batch, padded).and_then(|inputs| {
        let outputs = model.run(&key.signature, inputs, &key.output_filter)?;
        split_outputs(&outputs, padded, &row_counts).inspect_err(|_| {
            // The model ran but its outputs are not per-row: never batch this signature again.
            unbatchable
                .lock()
                .expect("unbatchable set lock")
                .insert(key.signature.clone());
        })
    });
    match batched {
        Ok(pieces) => {
            for (task, outcome) in batch.tasks.into_iter().zip(pieces) {
                let _ = task.reply.send(Ok(outcome));
            }
        }
        Err(e) => {
            tracing::debug!(
                model = &*label,
                signature = key.signature,
                "batched run failed ({e}); running its {} requests one by one",
                batch.tasks.len()
            );
            for task in batch.tasks {
                let outcome: Outcome = model.run(&key.signature, task.inputs, &key.output_filter);
                let _ = task.reply.send(outcome);
            }
        }
    }
}

/// Each input of the batch, its requests' rows concatenated and padded to `padded` rows.
fn merged_inputs(batch: &Batch, padded: usize) -> Result<BTreeMap<String, Tensor>, Status> {
    batch
        .key
        .inputs
        .iter()
        .map(|(alias, _, _)| {
            let parts: Vec<&Tensor> = batch
                .tasks
                .iter()
                .map(|t| {
                    t.inputs
                        .get(alias)
                        .ok_or_else(|| Status::internal(format!("batched request lacks {alias}")))
                })
                .collect::<Result<_, _>>()?;
            Ok((alias.clone(), concat_rows(&parts, padded)?))
        })
        .collect()
}
