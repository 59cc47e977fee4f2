//! Running a [`Plan`] against a [`Target`]: the control loop, and what both loops share.
//!
//! A run stops in two steps. The *soft* stop (duration or stages over, request count reached)
//! stops starting requests; those already queued or in flight are still awaited, for at most
//! `timeout`, so the last seconds of a slow server are measured too. The *hard* stop (Ctrl-C, or
//! that grace period over) abandons everything at once; what was abandoned is counted as
//! `unfinished`/`unsent`, never silently lost.
//!
//! Requests are sent from threads of the run's own ([`engines`]); the control loop here runs on
//! the caller's runtime: the clock, the once-a-second samples and the stops.

mod closed;
mod engines;
mod open;

use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tokio::time::{MissedTickBehavior, Sleep};
use tokio_util::sync::CancellationToken;

use crate::config::{Load, Plan};
use crate::report::{ErrorCount, Report, Sample, StopReason};
use crate::stats::{Collector, Recorder};
use crate::target::{Connection, ErrorKind, Target};
use engines::{Engines, Flag};

/// State shared by the control loop and every worker of one run.
#[derive(Debug)]
struct Ctx {
    start: Instant,
    /// Stop starting requests.
    soft: Flag,
    /// Abandon everything: the drivers abort their workers.
    hard: CancellationToken,
    reason: OnceLock<StopReason>,
    recorder: Recorder,
    timeout: Duration,
    reconnect_every: Option<u64>,
    engines: Engines,
}

impl Ctx {
    /// Soft stop, remembering why if it is the first reason given.
    fn stop(&self, reason: StopReason) {
        let _ = self.reason.set(reason);
        self.soft.raise();
    }

    /// The recorder shard of the dispatcher thread (the engines have one each).
    fn dispatcher_shard(&self) -> usize {
        self.engines.len()
    }
}

/// Runs `plan` against `target` until it stops (see the module docs), calling `on_tick` with each
/// second's sample, and returns the report. Cancelling `interrupt` stops the run at once, as
/// Ctrl-C does; the report then covers what happened until then. Requests are sent from
/// `plan.threads` threads of the generator's own; the caller's runtime only runs the control
/// loop. Fails only if those threads cannot be started.
pub async fn run<T: Target>(
    target: Arc<T>,
    plan: &Plan,
    interrupt: &CancellationToken,
    mut on_tick: impl FnMut(&Sample),
) -> std::io::Result<Report> {
    let engines = Engines::start(plan.threads)?;
    let start = Instant::now();
    let ctx = Arc::new(Ctx {
        start,
        soft: Flag::default(),
        hard: interrupt.child_token(),
        reason: OnceLock::new(),
        recorder: Recorder::new(engines.len() + 1),
        timeout: plan.timeout,
        reconnect_every: plan.reconnect_every,
        engines,
    });
    let deadline = plan.deadline().map(|d| start + d);
    // An open loop's dispatcher ends the run itself at the deadline, after offering every
    // arrival scheduled before it. A timer here as well would race it: on a busy machine the
    // dispatcher thread can wake for an arrival due just before the deadline after the timer
    // has stopped the run, and that arrival would be lost.
    let deadline_timer = match plan.load {
        Load::Closed { .. } => deadline,
        Load::Open(_) => None,
    };
    let mut driver = match &plan.load {
        Load::Closed { connections } => tokio::spawn(closed::drive(
            Arc::clone(&ctx),
            Arc::clone(&target),
            *connections,
            plan.requests,
        )),
        Load::Open(open) => tokio::spawn(open::drive(
            Arc::clone(&ctx),
            Arc::clone(&target),
            open.clone(),
            plan.requests,
            deadline,
        )),
    };

    let mut collector = Collector::new(start);
    let mut ticks = tokio::time::interval_at(
        (start + Duration::from_secs(1)).into(),
        Duration::from_secs(1),
    );
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut grace_end: Option<Instant> = None;
    let mut interrupted = false;
    loop {
        tokio::select! {
            _ = &mut driver => break,
            _ = ticks.tick() => on_tick(collector.tick(&ctx.recorder, Instant::now())),
            _ = sleep_until(deadline_timer), if !ctx.soft.is_raised() => ctx.stop(StopReason::Duration),
            _ = ctx.soft.raised(), if grace_end.is_none() => grace_end = Some(Instant::now() + plan.timeout),
            _ = sleep_until(grace_end), if !ctx.hard.is_cancelled() => ctx.hard.cancel(),
            _ = interrupt.cancelled(), if !interrupted => {
                interrupted = true;
                ctx.stop(StopReason::Interrupted);
            }
        }
    }
    // Ctrl-C cancels `ctx.hard` (a child of `interrupt`) too, which ends the driver at once: if
    // `select!` happened to pick the finished driver before the interrupt branch, no reason was
    // recorded yet, and the run must not be reported as stopped by its duration.
    if interrupt.is_cancelled() {
        ctx.stop(StopReason::Interrupted);
    }
    let end = Instant::now();
    let totals = collector.finish(&ctx.recorder, end);
    let duration = end - start;
    Ok(Report {
        target: target.describe(),
        mode: plan.describe(),
        open_loop: matches!(plan.load, Load::Open(_)),
        stopped_by: ctx.reason.get().copied().unwrap_or(StopReason::Duration),
        duration_s: duration.as_secs_f64(),
        throughput_rps: totals.counts.ok as f64 / duration.as_secs_f64().max(1e-9),
        counts: totals.counts,
        latency_ms: totals.latency,
        errors: totals
            .errors
            .into_iter()
            .map(|(kind, count)| ErrorCount {
                kind: kind.to_string(),
                count,
            })
            .collect(),
        series: totals.series,
    })
}

/// Sleeps until `at`, or for ever if there is no `at`.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Waits for `workers` to end; on a hard stop, aborts them first.
async fn join_all(ctx: &Ctx, workers: &mut JoinSet<()>) {
    loop {
        tokio::select! {
            next = workers.join_next() => if next.is_none() { return },
            _ = ctx.hard.cancelled() => break,
        }
    }
    workers.abort_all();
    while workers.join_next().await.is_some() {}
}

/// Counts a request as unfinished if it is dropped (its worker aborted by a hard stop) before
/// [`InFlight::done`].
struct InFlight<'a>(Option<&'a Recorder>);

impl<'a> InFlight<'a> {
    fn new(recorder: &'a Recorder) -> Self {
        Self(Some(recorder))
    }

    fn done(mut self) {
        self.0 = None;
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(recorder) = self.0 {
            recorder.unfinished(1);
        }
    }
}

/// A worker's connection, opened on first use and reopened after a broken one.
struct Slot<'a, C> {
    conn: Option<C>,
    /// Requests sent on `conn`.
    used: u64,
    ctx: &'a Ctx,
    /// The request timeout. One timer per worker, moved forward only when it lags more than
    /// an eighth of the timeout behind, instead of a timer set and cleared for every request:
    /// that is measurable against a fast server. When it fires early for the request at hand,
    /// it is moved to that request's exact deadline.
    watchdog: Pin<Box<Sleep>>,
}

impl<'a, C: Connection> Slot<'a, C> {
    /// Must be called on the runtime the worker runs on (it makes a timer).
    fn new(ctx: &'a Ctx) -> Self {
        let watchdog = Box::pin(tokio::time::sleep(ctx.timeout));
        Self {
            conn: None,
            used: 0,
            ctx,
            watchdog,
        }
    }

    fn close(&mut self) {
        if self.conn.take().is_some() {
            self.ctx
                .recorder
                .connections
                .fetch_sub(1, Ordering::Relaxed);
        }
        self.used = 0;
    }

    /// Sends one request, connecting first if needed, within the run's timeout from `started`
    /// (now, taken by the caller, who needs it anyway).
    async fn send<T: Target<Conn = C>>(
        &mut self,
        target: &T,
        started: Instant,
    ) -> Result<(), ErrorKind> {
        let ctx = self.ctx;
        let deadline = tokio::time::Instant::from_std(started + ctx.timeout);
        if self.watchdog.deadline() + ctx.timeout / 8 < deadline {
            self.watchdog.as_mut().reset(deadline);
        }
        if self.conn.as_ref().is_some_and(|conn| !conn.accepts_calls()) {
            self.close();
        }
        let outcome = {
            let (slot, watchdog) = (&mut self.conn, &mut self.watchdog);
            let attempt = async {
                if slot.is_none() {
                    *slot = Some(target.connect().await?);
                    ctx.recorder.connections.fetch_add(1, Ordering::Relaxed);
                }
                match slot.as_mut() {
                    Some(conn) => conn.call().await,
                    None => Err(ErrorKind::Connect),
                }
            };
            tokio::pin!(attempt);
            loop {
                tokio::select! {
                    biased;
                    outcome = &mut attempt => break outcome,
                    () = watchdog.as_mut() => {
                        if tokio::time::Instant::now() >= deadline {
                            break Err(ErrorKind::Timeout);
                        }
                        watchdog.as_mut().reset(deadline);
                    }
                }
            }
        };
        match outcome {
            Err(kind) if !kind.keeps_connection() => self.close(),
            _ => {
                self.used += 1;
                if ctx.reconnect_every.is_some_and(|n| self.used >= n) {
                    self.close();
                }
            }
        }
        outcome
    }
}

impl<C> Drop for Slot<'_, C> {
    fn drop(&mut self) {
        if self.conn.take().is_some() {
            self.ctx
                .recorder
                .connections
                .fetch_sub(1, Ordering::Relaxed);
        }
    }
}
