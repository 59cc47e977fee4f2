//! The batch threads, shared by every batched model version (TF Serving's
//! `model_server_batch_threads` pool): each thread takes the oldest batch that may run from any
//! queue, runs it without the lock, and sleeps until a request arrives or a batch timeout expires.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;

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
    /// Batch threads waiting on the condvar. A thread that is not waiting looks at the queues
    /// (under the lock) before it waits again, so a submit only has to wake one when this is
    /// above zero: `notify_one` is a futex system call even when nobody waits.
    sleeping: usize,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
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

    /// Queues a request on queue `id` and wakes a batch thread.
    pub(crate) fn submit(
        &self,
        id: QueueId,
        key: BatchKey,
        inputs: std::collections::BTreeMap<String, Tensor>,
        rows: usize,
    ) -> Result<Admitted, Status> {
        let mut state = self.shared.lock();
        let queue = state
            .queues
            .get_mut(&id)
            .ok_or_else(|| Status::unavailable("the model's batch queue is closed"))?;
        let admitted = queue.admit(key, inputs, rows, Instant::now())?;
        let wake = state.sleeping > 0;
        drop(state);
        if wake {
            self.shared.wake.notify_one();
        }
        Ok(admitted)
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
        match next_job(&mut state, now) {
            Ok(job) => {
                drop(state);
                // A panicking model must not take the thread down; the batch's requests see
                // their reply channel close and report an internal error.
                if catch_unwind(AssertUnwindSafe(|| execute::run(job))).is_err() {
                    tracing::error!("a model panicked while running a batch");
                }
                state = shared.lock();
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
