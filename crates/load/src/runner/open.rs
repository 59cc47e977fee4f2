//! Open loop: arrivals on a schedule, served by a pool of connections.
//!
//! A dispatcher thread sleeps until each arrival's scheduled time (an OS thread: its sleeps are
//! precise to tens of microseconds, where tokio's timer has a 1 ms granularity, and it keeps time
//! even when the runtime is busy) and queues it. Workers, one connection each, take arrivals in
//! turn and record latency from the *scheduled* time, so waiting in the queue counts: no
//! coordinated omission. When all workers are busy and arrivals wait, the pool grows up to
//! `max_connections`. At most `max_outstanding` arrivals are queued or in flight; the dispatcher
//! counts any beyond that as dropped instead of queueing them, so memory stays bounded whatever
//! the server does.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinSet;

use super::engines::Flag;
use super::{Ctx, InFlight, Slot};
use crate::config::OpenLoop;
use crate::report::StopReason;
use crate::schedule::Schedule;
use crate::target::{ErrorKind, Target};

/// The queue between the dispatcher and the workers, and its gauges.
#[derive(Debug)]
struct Pool {
    queue: Mutex<mpsc::UnboundedReceiver<Instant>>,
    /// Workers waiting for an arrival.
    idle: AtomicUsize,
    /// Workers started.
    workers: AtomicUsize,
    /// Arrivals queued or in flight.
    outstanding: AtomicU64,
    /// The workers, to abort them on a hard stop.
    tasks: std::sync::Mutex<JoinSet<()>>,
}

impl Pool {
    /// Starts a worker (unless the run is being abandoned).
    fn spawn_worker<T: Target>(
        self: &Arc<Self>,
        ctx: &Arc<Ctx>,
        target: &Arc<T>,
        alive: &mpsc::Sender<()>,
    ) {
        let mut tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        if ctx.hard.is_cancelled() {
            return;
        }
        let index = self.workers.fetch_add(1, Ordering::Relaxed);
        let shard = index % ctx.engines.len();
        let task = worker(
            Arc::clone(ctx),
            Arc::clone(target),
            Arc::clone(self),
            shard,
            alive.clone(),
        );
        ctx.engines.spawn(&mut tasks, shard, task);
    }
}

/// Runs the open loop until the schedule, the deadline or the request count ends it and the
/// queue is drained, or until a hard stop.
pub(super) async fn drive<T: Target>(
    ctx: Arc<Ctx>,
    target: Arc<T>,
    open: OpenLoop,
    requests: Option<u64>,
    deadline: Option<Instant>,
) {
    let (queue, arrivals) = mpsc::unbounded_channel();
    let pool = Arc::new(Pool {
        queue: Mutex::new(arrivals),
        idle: AtomicUsize::new(0),
        workers: AtomicUsize::new(0),
        outstanding: AtomicU64::new(0),
        tasks: std::sync::Mutex::new(JoinSet::new()),
    });
    // Every worker and the dispatcher hold a clone; `recv` ends once all are gone.
    let (alive, mut all_done) = mpsc::channel::<()>(1);
    for _ in 0..open.connections {
        pool.spawn_worker(&ctx, &target, &alive);
    }
    let spawn_worker = {
        let (ctx, pool) = (Arc::clone(&ctx), Arc::clone(&pool));
        move || pool.spawn_worker(&ctx, &target, &alive)
    };
    let dispatcher = Dispatcher {
        schedule: Schedule::new(open.stages.clone(), open.arrivals),
        ctx: Arc::clone(&ctx),
        pool: Arc::clone(&pool),
        queue,
        requests,
        deadline,
        max_connections: open.max_connections,
        max_outstanding: open.max_outstanding,
    };
    let thread = std::thread::Builder::new()
        .name("load-dispatch".into())
        .spawn(move || dispatcher.run(spawn_worker));
    if thread.is_err() {
        // Without a dispatcher nothing arrives; end the run rather than hang.
        ctx.stop(StopReason::Duration);
    }
    tokio::select! {
        _ = all_done.recv() => {}
        _ = ctx.hard.cancelled() => {
            pool.tasks.lock().unwrap_or_else(PoisonError::into_inner).abort_all();
            let _ = all_done.recv().await;
        }
    }
    // After a hard stop, whatever is still queued was never sent.
    let mut queue = pool.queue.lock().await;
    let mut unsent = 0;
    while queue.try_recv().is_ok() {
        unsent += 1;
    }
    ctx.recorder.unsent(unsent);
    ctx.recorder.queued.fetch_sub(unsent, Ordering::Relaxed);
}

/// Takes arrivals from the queue in turn and sends them.
async fn worker<T: Target>(
    ctx: Arc<Ctx>,
    target: Arc<T>,
    pool: Arc<Pool>,
    shard: usize,
    _alive: mpsc::Sender<()>,
) {
    let mut slot = Slot::new(&ctx);
    loop {
        pool.idle.fetch_add(1, Ordering::Relaxed);
        // The async mutex is fair, so waiting workers take arrivals round robin and the load
        // spreads over all connections.
        let next = pool.queue.lock().await.recv().await;
        pool.idle.fetch_sub(1, Ordering::Relaxed);
        let Some(scheduled) = next else { break };
        ctx.recorder.queued.fetch_sub(1, Ordering::Relaxed);
        let in_flight = InFlight::new(&ctx.recorder);
        let outcome = slot.send(&*target, Instant::now()).await;
        in_flight.done();
        pool.outstanding.fetch_sub(1, Ordering::Relaxed);
        ctx.recorder.record(shard, outcome, scheduled.elapsed());
    }
}

/// The schedule's clock, on its own thread.
struct Dispatcher {
    schedule: Schedule,
    ctx: Arc<Ctx>,
    pool: Arc<Pool>,
    queue: mpsc::UnboundedSender<Instant>,
    requests: Option<u64>,
    deadline: Option<Instant>,
    max_connections: usize,
    max_outstanding: u64,
}

impl Dispatcher {
    fn run(mut self, spawn_worker: impl Fn()) {
        let ctx = Arc::clone(&self.ctx);
        let mut arrived = 0u64;
        for offset in self.schedule.by_ref() {
            if self.requests.is_some_and(|n| arrived >= n) {
                ctx.stop(StopReason::Requests);
                return;
            }
            let at = ctx.start + Duration::from_secs_f64(offset);
            if self.deadline.is_some_and(|d| at >= d) {
                break;
            }
            if !sleep_until(&ctx.soft, at) {
                return;
            }
            arrived += 1;
            ctx.recorder.offer();
            if self.pool.outstanding.load(Ordering::Relaxed) >= self.max_outstanding {
                ctx.recorder.record(
                    ctx.dispatcher_shard(),
                    Err(ErrorKind::Dropped),
                    Duration::ZERO,
                );
                continue;
            }
            self.pool.outstanding.fetch_add(1, Ordering::Relaxed);
            let queued = ctx.recorder.queued.fetch_add(1, Ordering::Relaxed) + 1;
            if self.queue.send(at).is_err() {
                return;
            }
            let pool = &self.pool;
            if queued as usize > pool.idle.load(Ordering::Relaxed)
                && pool.workers.load(Ordering::Relaxed) < self.max_connections
            {
                spawn_worker();
            }
        }
        if self.requests.is_some_and(|n| arrived >= n) {
            ctx.stop(StopReason::Requests);
            return;
        }
        // The schedule is over (or past the deadline): an idle last stage still lasts its time.
        if let Some(deadline) = self.deadline {
            sleep_until(&ctx.soft, deadline);
        }
        ctx.stop(StopReason::Duration);
    }
}

/// Sleeps until `at` in short slices, so a stop is noticed within milliseconds. False if the
/// run was stopped meanwhile.
fn sleep_until(stop: &Flag, at: Instant) -> bool {
    const SLICE: Duration = Duration::from_millis(20);
    loop {
        if stop.is_raised() {
            return false;
        }
        let now = Instant::now();
        if now >= at {
            return true;
        }
        std::thread::sleep((at - now).min(SLICE));
    }
}
