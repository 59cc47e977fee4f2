//! One model version's batch queue: admission (the size limit, the bound on waiting batches,
//! splitting) and the choice of the next batch to run. Plain data under the scheduler's lock,
//! with no threads of its own, so its rules are unit-tested directly.
//!
//! Like TF's `SharedBatchScheduler` queue, requests join the newest open batch of their kind
//! while it has room; otherwise a new batch is started, if fewer than `max_enqueued_batches`
//! are waiting. A batch may run once it is full, superseded by a newer batch of its kind, or its
//! oldest request has waited `batch_timeout`.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tensorserve_core::{Model, Status, Tensor};
use tokio::sync::oneshot;

use crate::key::BatchKey;
use crate::observer::BatchObserver;
use crate::params::BatchingParameters;
use crate::tensors::slice_rows;

/// A request's (or a split piece's) outcome.
pub type Outcome = Result<BTreeMap<String, Tensor>, Status>;

/// A request, or one piece of a split request, waiting in a batch.
pub struct Task {
    /// Inputs by alias.
    pub inputs: BTreeMap<String, Tensor>,
    /// Rows (dim 0 of every input).
    pub rows: usize,
    /// When it was queued.
    pub enqueued: Instant,
    /// Where its outcome goes; the caller blocks or awaits on the other end.
    pub reply: oneshot::Sender<Outcome>,
}

/// Requests that will run as one call of the model.
pub struct Batch {
    /// What its requests share.
    pub key: Arc<BatchKey>,
    /// The requests, in arrival order.
    pub tasks: Vec<Task>,
    /// Their total rows.
    pub rows: usize,
    /// When its first request arrived.
    pub opened: Instant,
    /// No request may join any more.
    pub closed: bool,
}

/// The waiting batches of one model version, and what running them needs.
pub struct Queue {
    /// The wrapped model.
    pub model: Arc<dyn Model>,
    /// Its batching settings.
    pub params: Arc<BatchingParameters>,
    /// Label for logs and the observer.
    pub label: Arc<str>,
    /// Told about every batch.
    pub observer: Option<Arc<dyn BatchObserver>>,
    /// Signatures whose outputs turned out not to be per-row: they run unbatched from then on.
    pub unbatchable: Arc<Mutex<HashSet<String>>>,
    /// How long this queue's batches take to run.
    pub cost: Arc<RunCost>,
    batches: VecDeque<Batch>,
}

/// A running estimate of how long one batch of a queue takes to run (an exponentially weighted
/// moving average, weight 1/8), to decide whether a submitting thread may run it in place.
#[derive(Debug)]
pub struct RunCost(AtomicU64);

impl Default for RunCost {
    fn default() -> Self {
        RunCost(AtomicU64::new(u64::MAX))
    }
}

impl RunCost {
    /// Folds in one batch's run time. Concurrent updates may overwrite each other; the
    /// estimate loses a sample at worst.
    pub fn record(&self, elapsed: Duration) {
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX - 1);
        let old = self.0.load(Ordering::Relaxed);
        let new = if old == u64::MAX {
            ns
        } else {
            old - old / 8 + ns / 8
        };
        self.0.store(new, Ordering::Relaxed);
    }

    /// Whether batches were measured, and take less than `limit`.
    pub fn below(&self, limit: Duration) -> bool {
        let ns = self.0.load(Ordering::Relaxed);
        ns != u64::MAX && u128::from(ns) < limit.as_nanos()
    }
}

/// What [`Queue::admit`] gives the caller.
pub struct Admitted {
    /// One receiver per piece, in row order: a blocking caller uses `blocking_recv`, an async
    /// one awaits them.
    pub receivers: Vec<oneshot::Receiver<Outcome>>,
    /// The request's inputs when it was split (the pieces are copies), for a whole re-run.
    pub original: Option<BTreeMap<String, Tensor>>,
}

impl Queue {
    /// An empty queue for `model`.
    pub fn new(
        model: Arc<dyn Model>,
        params: Arc<BatchingParameters>,
        label: Arc<str>,
        observer: Option<Arc<dyn BatchObserver>>,
    ) -> Queue {
        Queue {
            model,
            params,
            label,
            observer,
            unbatchable: Arc::default(),
            cost: Arc::default(),
            batches: VecDeque::new(),
        }
    }

    /// Requests waiting (pieces counted separately).
    pub fn queued_tasks(&self) -> usize {
        self.batches.iter().map(|b| b.tasks.len()).sum()
    }

    /// Batches waiting, the filling ones included.
    pub fn queued_batches(&self) -> usize {
        self.batches.len()
    }

    fn full(&self, rows: usize) -> Status {
        Status::resource_exhausted(format!(
            "The batch scheduling queue of {} is full: {} batches are waiting \
             (max_enqueued_batches={}, max_batch_size={}), no room for a request of {rows} rows; \
             retry later",
            self.label,
            self.batches.len(),
            self.params.max_enqueued_batches,
            self.params.max_execution_batch_size,
        ))
    }

    /// Queues a request of `rows` rows, splitting it across batches when splitting is on and it
    /// does not fit the open batch. Refuses it, queueing nothing, when it is larger than
    /// `max_batch_size` (INVALID_ARGUMENT, as TF) or there is no room (RESOURCE_EXHAUSTED).
    pub fn admit(
        &mut self,
        key: BatchKey,
        inputs: BTreeMap<String, Tensor>,
        rows: usize,
        now: Instant,
    ) -> Result<Admitted, Status> {
        let params = Arc::clone(&self.params);
        if rows > params.max_batch_size {
            return Err(Status::invalid_argument(format!(
                "Task size {rows} is larger than maximum input batch size {}",
                params.max_batch_size
            )));
        }
        let limit = params.max_execution_batch_size;
        let open = self
            .batches
            .iter()
            .rposition(|b| !b.closed && *b.key == key);
        let room = open.map_or(0, |i| limit - self.batches[i].rows);
        let new_batches_allowed = params
            .max_enqueued_batches
            .saturating_sub(self.batches.len());
        if rows <= room {
            let (task, receiver) = task(inputs, rows, now);
            self.push_into(open.expect("room implies an open batch"), task, limit);
            return Ok(Admitted {
                receivers: vec![receiver],
                original: None,
            });
        }
        if !params.enable_large_batch_splitting || (room == 0 && rows <= limit) {
            // A request that does not fit the open batch starts a new one (which supersedes
            // the open batch); with splitting on, it would first fill the open batch.
            if new_batches_allowed == 0 {
                return Err(self.full(rows));
            }
            let (task, receiver) = task(inputs, rows, now);
            self.start_batch(Arc::new(key), task, limit);
            return Ok(Admitted {
                receivers: vec![receiver],
                original: None,
            });
        }
        if rows > room + new_batches_allowed * limit {
            return Err(self.full(rows));
        }
        let key = Arc::new(key);
        let mut receivers = Vec::new();
        let mut start = 0;
        while start < rows {
            let take = if start == 0 && room > 0 {
                room
            } else {
                limit.min(rows - start)
            };
            let piece = inputs
                .iter()
                .map(|(alias, t)| Ok((alias.clone(), slice_rows(t, start, take)?)))
                .collect::<Result<BTreeMap<_, _>, Status>>()?;
            let (task, receiver) = task(piece, take, now);
            match open {
                Some(i) if start == 0 && room > 0 => self.push_into(i, task, limit),
                _ => self.start_batch(Arc::clone(&key), task, limit),
            }
            receivers.push(receiver);
            start += take;
        }
        Ok(Admitted {
            receivers,
            original: Some(inputs),
        })
    }

    fn push_into(&mut self, index: usize, task: Task, limit: usize) {
        let batch = &mut self.batches[index];
        batch.rows += task.rows;
        batch.tasks.push(task);
        batch.closed = batch.rows >= limit;
    }

    fn start_batch(&mut self, key: Arc<BatchKey>, task: Task, limit: usize) {
        // A new batch supersedes any open batch of the same kind: requests only join the newest.
        for b in self.batches.iter_mut().filter(|b| b.key == key) {
            b.closed = true;
        }
        self.batches.push_back(Batch {
            key,
            rows: task.rows,
            opened: task.enqueued,
            closed: task.rows >= limit,
            tasks: vec![task],
        });
    }

    /// The oldest batch that may run at `now`, with its opening time; or, when none may, the
    /// earliest instant one will (a timeout expiring).
    pub fn next_ready(&self, now: Instant) -> Result<(usize, Instant), Option<Instant>> {
        let timeout = self.params.batch_timeout;
        let mut wake: Option<Instant> = None;
        for (i, b) in self.batches.iter().enumerate() {
            let due = b.opened + timeout;
            if b.closed || due <= now {
                return Ok((i, b.opened));
            }
            wake = Some(wake.map_or(due, |w| w.min(due)));
        }
        Err(wake)
    }

    /// Removes the batch at `index` (from [`Queue::next_ready`]).
    pub fn take(&mut self, index: usize) -> Batch {
        self.batches
            .remove(index)
            .expect("batch index from next_ready")
    }
}

fn task(
    inputs: BTreeMap<String, Tensor>,
    rows: usize,
    now: Instant,
) -> (Task, oneshot::Receiver<Outcome>) {
    let (reply, receiver) = oneshot::channel();
    (
        Task {
            inputs,
            rows,
            enqueued: now,
            reply,
        },
        receiver,
    )
}
