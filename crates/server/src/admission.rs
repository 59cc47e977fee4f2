//! Admission control, shared by REST and gRPC: per model, at most
//! `--max_concurrent_requests_per_model` requests run at once and at most
//! `--max_queued_requests_per_model` more wait for a slot. A request beyond both is refused at
//! once with RESOURCE_EXHAUSTED (HTTP 429), so overload turns into fast, retryable errors
//! instead of unbounded memory and latency.
//!
//! Admission happens after the model lookup and before the request body is read, so the
//! number of buffered request bodies per model is bounded too. The [`Permit`] is meant to be
//! moved into the blocking inference task: a slot is freed when the work really ends, not when
//! a client gives up or a deadline passes, so abandoned requests still count against the limit
//! while they use a core.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use tensorserve_core::Status;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::execution::WorkCost;
use crate::metrics::{self, ModelMetrics};

/// One model's gate.
pub struct Gate {
    /// Requests admitted (running or waiting).
    admitted: AtomicUsize,
    slots: Arc<Semaphore>,
    metrics: Arc<ModelMetrics>,
    /// How long the model's requests take, to choose where they run.
    work_cost: WorkCost,
}

impl Gate {
    /// The model's metrics block.
    pub fn metrics(&self) -> &Arc<ModelMetrics> {
        &self.metrics
    }

    /// The model's work-time estimate (see [`crate::execution`]).
    pub fn work_cost(&self) -> &WorkCost {
        &self.work_cost
    }

    /// A free slot, taken now, if there is one.
    fn free_slot(self: &Arc<Gate>) -> Option<Permit> {
        let slot = self.slots.clone().try_acquire_owned().ok()?;
        self.metrics.started(Duration::ZERO);
        Some(Permit {
            gate: self.clone(),
            _slot: slot,
            since: Instant::now(),
        })
    }
}

/// A held in-flight slot; dropping it frees the slot.
pub struct Permit {
    gate: Arc<Gate>,
    _slot: OwnedSemaphorePermit,
    since: Instant,
}

impl Permit {
    /// The model's work-time estimate (see [`crate::execution`]).
    pub fn work_cost(&self) -> &WorkCost {
        &self.gate.work_cost
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.gate.admitted.fetch_sub(1, Ordering::AcqRel);
        self.gate.metrics.finished(self.since.elapsed());
    }
}

/// Undoes an admission that never got its slot (the waiting future was dropped).
struct Waiting<'a>(&'a Gate);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.metrics.queued_dec();
        self.0.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Every model's gate, for one server.
pub struct Admission {
    max_concurrent: usize,
    max_queued: usize,
    gates: ArcSwap<HashMap<String, Arc<Gate>>>,
    insert: Mutex<()>,
}

impl Admission {
    /// Limits per model: `max_concurrent` running (at least 1), `max_queued` waiting.
    pub fn new(max_concurrent: usize, max_queued: usize) -> Admission {
        Admission {
            max_concurrent: max_concurrent.max(1),
            max_queued,
            gates: ArcSwap::from_pointee(HashMap::new()),
            insert: Mutex::new(()),
        }
    }

    /// The gate of a model the server serves (call after a successful lookup, so that made-up
    /// model names never create gates).
    pub fn gate(&self, model: &str) -> Arc<Gate> {
        if let Some(gate) = self.gates.load().get(model) {
            return gate.clone();
        }
        let _guard = self.insert.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.gates.load_full();
        if let Some(gate) = current.get(model) {
            return gate.clone();
        }
        let gate = Arc::new(Gate {
            admitted: AtomicUsize::new(0),
            slots: Arc::new(Semaphore::new(self.max_concurrent)),
            metrics: metrics::model(model),
            work_cost: WorkCost::default(),
        });
        let mut next = HashMap::clone(&current);
        next.insert(model.to_string(), gate.clone());
        self.gates.store(Arc::new(next));
        gate
    }

    /// [`Admission::admit_through`] if it would not wait: `None` when no slot is free now (the
    /// request was not counted; admitting it the waiting way is up to the caller).
    pub fn admit_now(&self, gate: &Arc<Gate>, model: &str) -> Option<Result<Permit, Status>> {
        if let Err(status) = self.enter(gate, model) {
            return Some(Err(status));
        }
        match gate.free_slot() {
            Some(permit) => Some(Ok(permit)),
            None => {
                gate.admitted.fetch_sub(1, Ordering::AcqRel);
                None
            }
        }
    }

    /// Counts a request in, or RESOURCE_EXHAUSTED when running plus queued are at their limits.
    fn enter(&self, gate: &Gate, model: &str) -> Result<(), Status> {
        let limit = self.max_concurrent + self.max_queued;
        if gate
            .admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .is_err()
        {
            return Err(Status::resource_exhausted(format!(
                "Too many requests for model {model}: {} running and {} queued, the limits \
                 (--max_concurrent_requests_per_model, --max_queued_requests_per_model); retry later",
                self.max_concurrent, self.max_queued
            )));
        }
        Ok(())
    }

    /// Admits a request for `model`: a slot at once, or a place in the queue and then a slot,
    /// or RESOURCE_EXHAUSTED at once when both are full.
    pub async fn admit(&self, model: &str) -> Result<Permit, Status> {
        self.admit_through(self.gate(model), model).await
    }

    /// [`Admission::admit`] through a gate the caller already holds (REST looks it up once for
    /// its metrics), so the hot path does one lookup, not two.
    pub async fn admit_through(&self, gate: Arc<Gate>, model: &str) -> Result<Permit, Status> {
        self.enter(&gate, model)?;
        // Fast path: a free slot, no queueing.
        if let Some(permit) = gate.free_slot() {
            return Ok(permit);
        }
        let queued_at = Instant::now();
        gate.metrics.queued_inc();
        let waiting = Waiting(&gate);
        let slot = gate
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Status::unavailable("the server is shutting down"))?;
        std::mem::forget(waiting);
        gate.metrics.queued_dec();
        gate.metrics.started(queued_at.elapsed());
        Ok(Permit {
            gate,
            _slot: slot,
            since: Instant::now(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_beyond_running_plus_queued_and_recovers() {
        let admission = Admission::new(1, 1);
        let first = admission.admit("adm-unit").await.unwrap();
        // One running, one waiting: the third is refused.
        let admission = Arc::new(admission);
        let waiter = tokio::spawn({
            let a = admission.clone();
            async move { a.admit("adm-unit").await.map(drop) }
        });
        // Let the waiter enqueue.
        while admission.gate("adm-unit").admitted.load(Ordering::Acquire) < 2 {
            tokio::task::yield_now().await;
        }
        let refused = admission.admit("adm-unit").await.err().unwrap();
        assert_eq!(refused.code(), tensorserve_core::Code::ResourceExhausted);
        assert!(
            refused
                .message()
                .contains("Too many requests for model adm-unit")
        );
        drop(first);
        waiter.await.unwrap().unwrap();
        // Load gone: admitted again at once.
        drop(admission.admit("adm-unit").await.unwrap());
        assert_eq!(
            admission.gate("adm-unit").admitted.load(Ordering::Acquire),
            0
        );
    }

    #[tokio::test]
    async fn a_dropped_waiter_gives_its_place_back() {
        let admission = Arc::new(Admission::new(1, 1));
        let held = admission.admit("adm-drop").await.unwrap();
        let a = admission.clone();
        let waiter = tokio::spawn(async move { a.admit("adm-drop").await.map(drop) });
        while admission.gate("adm-drop").admitted.load(Ordering::Acquire) < 2 {
            tokio::task::yield_now().await;
        }
        waiter.abort();
        let _ = waiter.await;
        assert_eq!(
            admission.gate("adm-drop").admitted.load(Ordering::Acquire),
            1
        );
        drop(held);
        assert_eq!(
            admission.gate("adm-drop").admitted.load(Ordering::Acquire),
            0
        );
    }
}
