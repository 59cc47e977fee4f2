//! Closed loop: N workers, one connection each, each sending its next request as soon as the
//! previous one is answered. Latency is measured from the moment a request is sent, so, as with
//! `wrk`, a server that stalls also stalls the client and hides the wait its users would see:
//! use the open loop for latency under a given load.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::{Ctx, InFlight, Slot, join_all};
use crate::report::StopReason;
use crate::target::{ErrorKind, Target};

/// Pause after a failed connect, so a server that is down is not hammered in a tight loop.
const CONNECT_BACKOFF: Duration = Duration::from_millis(10);

/// Runs `connections` workers, spread over the engines, until a stop, or until `requests`
/// have been sent.
pub(super) async fn drive<T: Target>(
    ctx: Arc<Ctx>,
    target: Arc<T>,
    connections: usize,
    requests: Option<u64>,
) {
    let budget = Arc::new(requests.map(AtomicU64::new));
    let mut workers = JoinSet::new();
    for i in 0..connections {
        let shard = i % ctx.engines.len();
        let task = worker(
            Arc::clone(&ctx),
            Arc::clone(&target),
            Arc::clone(&budget),
            shard,
        );
        ctx.engines.spawn(&mut workers, shard, task);
    }
    join_all(&ctx, &mut workers).await;
}

/// Takes one request from the budget; false once it is spent.
fn take(budget: &Option<AtomicU64>) -> bool {
    match budget {
        None => true,
        Some(left) => left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok(),
    }
}

async fn worker<T: Target>(
    ctx: Arc<Ctx>,
    target: Arc<T>,
    budget: Arc<Option<AtomicU64>>,
    shard: usize,
) {
    let mut slot = Slot::new(&ctx);
    while !ctx.soft.is_raised() {
        if !take(&budget) {
            ctx.stop(StopReason::Requests);
            break;
        }
        let sent = Instant::now();
        let in_flight = InFlight::new(&ctx.recorder);
        let outcome = slot.send(&*target, sent).await;
        in_flight.done();
        ctx.recorder.record(shard, outcome, sent.elapsed());
        if outcome == Err(ErrorKind::Connect) {
            tokio::time::sleep(CONNECT_BACKOFF).await;
        }
    }
}
