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
use std::time::{Duration, Instant};

use tensorserve_core::{QueuedRun, RunOutputs, Status};

use crate::admission::Permit;

/// Work measured below this runs inline. Tokio's guidance is 10–100 µs between `.await`s. The
/// measurement is wall time, which on a loaded machine includes time the thread was preempted,
/// so the limit sits at the top of that range: at 50 µs the corpus CNN (~25 µs of work) was
/// pushed back to the blocking pool whenever the machine was busy.
pub const INLINE_LIMIT: Duration = Duration::from_micros(100);

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
    if may_inline && input_bytes <= INLINE_MAX_INPUT_BYTES && permit.work_cost().is_fast() {
        return timed(&permit, work);
    }
    tokio::task::spawn_blocking(move || timed(&permit, work))
        .await
        .unwrap_or_else(|e| Err(Status::internal(format!("inference task failed: {e}"))))
}

fn timed<T>(permit: &Permit, work: impl FnOnce() -> Result<T, Status>) -> Result<T, Status> {
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

/// Awaits a run queued on a batch thread. The wait runs in its own task that owns the
/// `permit`, so a request abandoned by its client (or its deadline) keeps its admission slot
/// until its batch has really run, as a request on the blocking pool does.
pub async fn wait_for_queued(permit: Permit, queued: QueuedRun) -> RunOutputs {
    tokio::spawn(async move {
        let outputs = queued.await;
        drop(permit);
        outputs
    })
    .await
    .unwrap_or_else(|e| Err(Status::internal(format!("inference task failed: {e}"))))
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
            cost.record(Duration::from_millis(1));
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
}
