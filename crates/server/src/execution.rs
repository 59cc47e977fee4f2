//! Where a request's model work runs: on the async worker that holds the request, or on Tokio's
//! blocking pool.
//!
//! The blocking pool keeps slow models from stalling the executor, but a hand-off costs two
//! cross-thread wake-ups (there and back), each a futex call and usually a context switch: on
//! `half_plus_two` that is several times the model's own time. So each model keeps a running
//! estimate of its work time ([`WorkCost`], an exponentially weighted moving average of decode,
//! run and encode), and a request for a model measured to be fast, with a small body, runs
//! inline. A model's first requests (nothing measured yet), large requests, and models measured
//! to be slow go to the blocking pool. Both paths measure, so a model that turns slow is moved
//! off the workers by its next requests.
//!
//! Models served with batching never run inline: their runs wait for a batch thread, and the
//! server awaits that through [`tensorserve_core::Model::start`] instead (see
//! [`wait_for_queued`]).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use tensorserve_core::{QueuedRun, RunOutputs, Status};

use crate::admission::Permit;

/// Work measured below this runs inline. Tokio's guidance is 10–100 µs between `.await`s. The
/// measurement is wall time, which on a loaded machine includes time the thread was preempted,
/// so the limit sits at the top of that range: at 50 µs the corpus CNN (~25 µs of work) was
/// pushed back to the blocking pool whenever the machine was busy. (The `measure-inline`
/// feature raises it for instruction counts under valgrind only.)
pub const INLINE_LIMIT: Duration = if cfg!(feature = "measure-inline") {
    Duration::from_millis(100)
} else {
    Duration::from_micros(100)
};

/// Request bodies (REST) or input messages (gRPC) larger than this always go to the blocking
/// pool: the estimate is per model, and a model that is fast on small requests can be slow on a
/// large one.
pub const INLINE_MAX_INPUT_BYTES: usize = 64 * 1024;

const UNKNOWN: u64 = u64::MAX;

/// A model's running estimate of its work time per request.
#[derive(Debug)]
pub struct WorkCost {
    /// Nanoseconds, [`UNKNOWN`] before the first measurement.
    ewma_ns: AtomicU64,
}

impl Default for WorkCost {
    fn default() -> Self {
        WorkCost {
            ewma_ns: AtomicU64::new(UNKNOWN),
        }
    }
}

impl WorkCost {
    /// Folds in one measurement, with weight 1/8. Concurrent updates may overwrite each other;
    /// an estimate loses a sample at worst.
    pub fn record(&self, elapsed: Duration) {
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(UNKNOWN - 1);
        let old = self.ewma_ns.load(Ordering::Relaxed);
        let new = if old == UNKNOWN {
            ns
        } else {
            old - old / 8 + ns / 8
        };
        self.ewma_ns.store(new, Ordering::Relaxed);
    }

    /// The estimate, if any request was measured.
    pub fn estimate(&self) -> Option<Duration> {
        match self.ewma_ns.load(Ordering::Relaxed) {
            UNKNOWN => None,
            ns => Some(Duration::from_nanos(ns)),
        }
    }

    /// Whether work of this model is known to be fast enough to run inline.
    pub fn is_fast(&self) -> bool {
        self.estimate().is_some_and(|d| d < INLINE_LIMIT)
    }
}

/// Runs `work` (decode, run, encode) for an admitted request: inline when `may_inline`, the
/// model is measured fast and the input is at most [`INLINE_MAX_INPUT_BYTES`]; otherwise on
/// the blocking pool. The `permit` is released when the work ends. A panic in `work` fails the
/// request with INTERNAL, as it would on the blocking pool.
pub async fn run<T: Send + 'static>(
    permit: Permit,
    input_bytes: usize,
    may_inline: bool,
    work: impl FnOnce() -> Result<T, Status> + Send + 'static,
) -> Result<T, Status> {
    if may_inline && runs_inline(permit.work_cost(), input_bytes) {
        return timed(&permit, work);
    }
    tokio::task::spawn_blocking(move || timed(&permit, work))
        .await
        .unwrap_or_else(|e| Err(Status::internal(format!("inference task failed: {e}"))))
}

/// Whether [`run`] would run work of this model on this much input inline.
pub fn runs_inline(cost: &WorkCost, input_bytes: usize) -> bool {
    input_bytes <= INLINE_MAX_INPUT_BYTES && cost.is_fast()
}

/// Runs `work` here, recording how long it took in the model's estimate; a panic is INTERNAL.
pub fn timed<T>(permit: &Permit, work: impl FnOnce() -> Result<T, Status>) -> Result<T, Status> {
    let started = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|_| {
        Err(Status::internal(
            "inference task failed: the model panicked",
        ))
    });
    permit.work_cost().record(started.elapsed());
    result
}

/// CPU work around a queued run (decoding before, encoding after): inline for small inputs,
/// on the blocking pool for large ones.
pub async fn cpu<T: Send + 'static>(
    input_bytes: usize,
    work: impl FnOnce() -> Result<T, Status> + Send + 'static,
) -> Result<T, Status> {
    if input_bytes <= INLINE_MAX_INPUT_BYTES {
        return catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|_| {
            Err(Status::internal(
                "inference task failed: the request handler panicked",
            ))
        });
    }
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(Status::internal(format!("inference task failed: {e}"))))
}

/// Awaits a run queued on a batch thread, then releases the `permit`.
///
/// A request abandoned by its client (or its deadline) must keep its admission slot until its
/// batch has really run, as a request on the blocking pool does. That used to cost a Tokio task
/// per request (the wait ran in a spawned task that owned the permit); now the wait runs in the
/// request's own future and only an abandoned wait hands the run and the permit to a task
/// ([`QueuedWait`]'s `Drop`), which releases the slot when the batch is done.
pub async fn wait_for_queued(permit: Permit, queued: QueuedRun) -> RunOutputs {
    let mut wait = QueuedWait {
        run: Some(queued),
        permit: Some(permit),
    };
    let outputs = std::future::poll_fn(|cx| {
        let Some(run) = wait.run.as_mut() else {
            return Poll::Ready(Err(Status::internal("queued run polled after completion")));
        };
        // The run's rare fallback calls the model on this thread (see `BatchingModel::start`);
        // a panic there fails this request with INTERNAL, as it would on the blocking pool.
        catch_unwind(AssertUnwindSafe(|| run.as_mut().poll(cx))).unwrap_or_else(|_| {
            Poll::Ready(Err(Status::internal(
                "inference task failed: the model panicked",
            )))
        })
    })
    .await;
    // Done (or panicked): nothing is queued any more, so the slot is freed with `wait`.
    wait.run = None;
    outputs
}

/// A queued run and the admission slot it holds, while its request waits for it.
struct QueuedWait {
    run: Option<QueuedRun>,
    permit: Option<Permit>,
}

impl Drop for QueuedWait {
    fn drop(&mut self) {
        let (Some(run), Some(permit)) = (self.run.take(), self.permit.take()) else {
            return;
        };
        // Abandoned before its batch ran: keep the slot until it has. Outside a runtime (it is
        // shutting down) there is nothing left to protect and the slot is freed now.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = run.await;
                drop(permit);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_starts_unknown_and_follows_measurements() {
        let cost = WorkCost::default();
        assert_eq!(cost.estimate(), None);
        assert!(!cost.is_fast(), "unmeasured models are not inlined");
        cost.record(Duration::from_micros(10));
        assert_eq!(cost.estimate(), Some(Duration::from_micros(10)));
        assert!(cost.is_fast());
        // A model that turns slow leaves the fast path within a few requests.
        let mut n = 0;
        while cost.is_fast() {
            cost.record(INLINE_LIMIT * 10);
            n += 1;
        }
        assert!(n <= 2, "took {n} slow requests");
        // And comes back once it is fast again.
        while !cost.is_fast() {
            cost.record(Duration::from_micros(5));
            n += 1;
        }
        assert!(n < 40, "took {n} requests in all");
    }

    use std::collections::BTreeMap;

    use tensorserve_core::{Code, Tensor};
    use tokio::sync::oneshot;

    use crate::admission::Admission;

    /// A queued run that ends when the test sends its outcome.
    fn queued() -> (oneshot::Sender<RunOutputs>, QueuedRun) {
        let (tx, rx) = oneshot::channel();
        let run: QueuedRun =
            Box::pin(async move { rx.await.unwrap_or_else(|_| Err(Status::internal("lost"))) });
        (tx, run)
    }

    fn outputs() -> RunOutputs {
        Ok(BTreeMap::from([(
            "y".to_string(),
            Tensor::new(vec![1], tensorserve_core::TensorData::F32(vec![2.5])).unwrap(),
        )]))
    }

    /// Whether `model` (one slot, no queue) would admit a request now.
    async fn slot_free(admission: &Admission, model: &str) -> bool {
        match admission.admit(model).await {
            Ok(_) => true,
            Err(e) => {
                assert_eq!(e.code(), Code::ResourceExhausted);
                false
            }
        }
    }

    #[tokio::test]
    async fn the_slot_is_freed_when_the_queued_run_ends() {
        let admission = Admission::new(1, 0);
        let permit = admission.admit("exec-done").await.unwrap();
        let (tx, run) = queued();
        let waiting = tokio::spawn(wait_for_queued(permit, run));
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(
            !slot_free(&admission, "exec-done").await,
            "freed before the run ended"
        );
        tx.send(outputs()).unwrap();
        assert_eq!(waiting.await.unwrap().unwrap(), outputs().unwrap());
        assert!(slot_free(&admission, "exec-done").await);
    }

    #[tokio::test]
    async fn an_abandoned_request_keeps_its_slot_until_its_batch_has_run() {
        let admission = Admission::new(1, 0);
        let permit = admission.admit("exec-abandoned").await.unwrap();
        let (tx, run) = queued();
        let waiting = tokio::spawn(wait_for_queued(permit, run));
        tokio::task::yield_now().await;
        // The client goes away (or its deadline passes) while the batch has not run.
        waiting.abort();
        assert!(waiting.await.unwrap_err().is_cancelled());
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(
            !slot_free(&admission, "exec-abandoned").await,
            "an abandoned request gave its slot back before its batch ran"
        );
        // The batch runs: the slot comes back (the keeper task runs on this thread's runtime).
        tx.send(outputs()).unwrap();
        let mut yields = 0;
        while !slot_free(&admission, "exec-abandoned").await {
            assert!(yields < 100, "the slot was never freed");
            tokio::task::yield_now().await;
            yields += 1;
        }
    }

    #[tokio::test]
    async fn a_panicking_queued_run_is_an_internal_error_and_frees_the_slot() {
        let admission = Admission::new(1, 0);
        let permit = admission.admit("exec-panic").await.unwrap();
        let run: QueuedRun = Box::pin(async { panic!("model bug") });
        let err = wait_for_queued(permit, run).await.unwrap_err();
        assert_eq!(err.code(), Code::Internal);
        assert!(slot_free(&admission, "exec-panic").await);
    }
}
