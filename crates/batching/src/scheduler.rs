//! The batch threads, shared by every batched model version (TF Serving's
//! `model_server_batch_threads` pool): each thread takes the oldest batch that may run from any
//! queue, runs it without the lock, and sleeps until a request arrives or a batch timeout expires.
//!
//! A submitting thread may run a batch in place instead ([`BatchScheduler::submit`]): when
//! fewer than `num_batch_threads` batches are running, its queue has a batch that may run now,
//! and that queue's batches are measured to be quick. An idle batch thread would have started
//! that same batch at once; running it where the request is saves the two cross-thread
//! hand-offs (waking the batch thread, and waking the request back), which cost more than a
//! cheap model's run. At most `num_batch_threads` batches run at any time, wherever they run.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tensorserve_core::{Model, Status, Tensor};

use crate::execute::{self, Job};
use crate::key::BatchKey;
use crate::model::BatchingModel;
use crate::observer::BatchObserver;
use crate::params::BatchingParameters;
use crate::queue::{Admitted, Queue};

/// Identifies one model version's queue.
pub type QueueId = u64;

#[derive(Default)]
struct State {
    queues: HashMap<QueueId, Queue>,
    next_id: QueueId,
    stopping: bool,
    /// Batches running, on batch threads or in place; at most `Shared::limit`.
    busy: usize,
    /// Batch threads waiting on the condvar. A thread that is not waiting looks at the queues
    /// (under the lock) before it waits again, so a submit only has to wake one when this is
    /// above zero: `notify_one` is a futex system call even when nobody waits.
    sleeping: usize,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    /// `num_batch_threads`: the most batches that run at once.
    limit: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves only plain data behind; keep serving.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The batch threads and every model version's queue.
pub struct BatchScheduler {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl BatchScheduler {
    /// Starts `params.num_batch_threads` threads named after `params.thread_pool_name`.
    pub fn start(params: &BatchingParameters) -> Result<Arc<BatchScheduler>, Status> {
        params.validate()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            limit: params.num_batch_threads,
        });
        let threads = (0..params.num_batch_threads)
            .map(|i| {
                let shared = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name(format!("{}_{i}", params.thread_pool_name))
                    .spawn(move || batch_thread(&shared))
                    .map_err(|e| Status::internal(format!("cannot start a batch thread: {e}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Arc::new(BatchScheduler { shared, threads }))
    }

    /// Wraps a loaded model version so that its concurrent runs are batched with `params`.
    /// `label` (e.g. `name:version`) names its queue in errors and for the observer.
    pub fn wrap(
        self: &Arc<Self>,
        model: Arc<dyn Model>,
        params: BatchingParameters,
        label: &str,
        observer: Option<Arc<dyn BatchObserver>>,
    ) -> Result<Arc<BatchingModel>, Status> {
        params.validate()?;
        let params = Arc::new(params);
        let queue = Queue::new(
            Arc::clone(&model),
            Arc::clone(&params),
            label.into(),
            observer,
        );
        let unbatchable = Arc::clone(&queue.unbatchable);
        let mut state = self.shared.lock();
        let id = state.next_id;
        state.next_id += 1;
        state.queues.insert(id, queue);
        drop(state);
        Ok(Arc::new(BatchingModel::new(
            model,
            Arc::clone(self),
            id,
            unbatchable,
        )))
    }

    /// Queues a request on queue `id`. If a batch of that queue may run now and a batch slot
    /// is free (see the module docs), takes that batch out to be run by the caller, with the
    /// slot ([`InPlace`]); otherwise wakes a batch thread if one sleeps. `in_place`: only
    /// batches of a queue measured to run faster than this may run in place.
    pub(crate) fn submit(
        &self,
        id: QueueId,
        key: BatchKey,
        inputs: std::collections::BTreeMap<String, Tensor>,
        rows: usize,
        in_place: Duration,
    ) -> Result<(Admitted, Option<InPlace<'_>>), Status> {
        let mut state = self.shared.lock();
        let limit = self.shared.limit;
        let busy = state.busy;
        let queue = state
            .queues
            .get_mut(&id)
            .ok_or_else(|| Status::unavailable("the model's batch queue is closed"))?;
        let now = Instant::now();
        let admitted = queue.admit(key, inputs, rows, now)?;
        let quick = queue.cost.below(in_place);
        if busy < limit
            && quick
            && let Ok((index, _)) = queue.next_ready(now)
        {
            let job = Job::take(queue, index);
            state.busy += 1;
            return Ok((
                admitted,
                Some(InPlace {
                    shared: &self.shared,
                    job: Some(job),
                }),
            ));
        }
        let wake = state.sleeping > 0;
        drop(state);
        if wake {
            self.shared.wake.notify_one();
        }
        Ok((admitted, None))
    }

    /// Requests waiting on queue `id` (for tests and diagnostics).
    pub fn queued_tasks(&self, id: QueueId) -> usize {
        self.shared
            .lock()
            .queues
            .get(&id)
            .map_or(0, Queue::queued_tasks)
    }

    /// Forgets queue `id` (its model version is being dropped, so no request is waiting).
    pub(crate) fn remove(&self, id: QueueId) {
        self.shared.lock().queues.remove(&id);
    }
}

impl Drop for BatchScheduler {
    fn drop(&mut self) {
        self.shared.lock().stopping = true;
        self.shared.wake.notify_all();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// A batch taken out to run on the submitting thread, holding one of the `num_batch_threads`
/// slots until it has run. It runs when this is dropped (at the latest), so its requests are
/// answered whatever the caller does.
pub(crate) struct InPlace<'a> {
    shared: &'a Shared,
    job: Option<Job>,
}

impl InPlace<'_> {
    /// Runs the batch here and replies to its requests.
    pub(crate) fn run(self) {
        drop(self);
    }
}

impl Drop for InPlace<'_> {
    fn drop(&mut self) {
        if let Some(job) = self.job.take() {
            // As on a batch thread: a panicking model fails the batch's requests (their reply
            // channels close), not the caller.
            if catch_unwind(AssertUnwindSafe(|| execute::run(job))).is_err() {
                tracing::error!("a model panicked while running a batch");
            }
        }
        let mut state = self.shared.lock();
        state.busy -= 1;
        // Batches that arrived meanwhile (or a timed one) need a batch thread: the threads may
        // all sleep, having seen every slot taken.
        let wake = state.sleeping > 0 && state.queues.values().any(|q| q.queued_batches() > 0);
        drop(state);
        if wake {
            self.shared.wake.notify_one();
        }
    }
}

/// The oldest runnable batch over all queues, or the earliest time one becomes runnable.
fn next_job(state: &mut State, now: Instant) -> Result<Job, Option<Instant>> {
    let mut best: Option<(QueueId, usize, Instant)> = None;
    let mut wake: Option<Instant> = None;
    for (&id, queue) in &state.queues {
        match queue.next_ready(now) {
            Ok((index, opened)) => {
                if best.is_none_or(|(_, _, b)| opened < b) {
                    best = Some((id, index, opened));
                }
            }
            Err(Some(at)) => wake = Some(wake.map_or(at, |w| w.min(at))),
            Err(None) => {}
        }
    }
    match best {
        Some((id, index, _)) => {
            let queue = state.queues.get_mut(&id).expect("queue just seen");
            Ok(Job::take(queue, index))
        }
        None => Err(wake),
    }
}

fn batch_thread(shared: &Shared) {
    let mut state = shared.lock();
    loop {
        if state.stopping {
            return;
        }
        let now = Instant::now();
        if state.busy >= shared.limit {
            // Every slot is taken by batches running in place; their end wakes a thread.
            state.sleeping += 1;
            state = shared.wake.wait(state).unwrap_or_else(|p| p.into_inner());
            state.sleeping -= 1;
            continue;
        }
        match next_job(&mut state, now) {
            Ok(job) => {
                state.busy += 1;
                drop(state);
                // A panicking model must not take the thread down; the batch's requests see
                // their reply channel close and report an internal error.
                if catch_unwind(AssertUnwindSafe(|| execute::run(job))).is_err() {
                    tracing::error!("a model panicked while running a batch");
                }
                state = shared.lock();
                state.busy -= 1;
            }
            Err(Some(at)) => {
                state.sleeping += 1;
                state = shared
                    .wake
                    .wait_timeout(state, at.saturating_duration_since(now))
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
                state.sleeping -= 1;
            }
            Err(None) => {
                state.sleeping += 1;
                state = shared.wake.wait(state).unwrap_or_else(|p| p.into_inner());
                state.sleeping -= 1;
            }
        }
    }
}
