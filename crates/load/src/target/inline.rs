//! Driving a client connection inside the request's own task, without needless wake-ups.
//!
//! A hyper client connection is two halves: the connection state machine (reads and writes the
//! socket) and the request handle, talking over channels. When both are polled by one task, each
//! hand-off between them (request queued, answer arrived) wakes that same task, which then goes
//! through the scheduler once more for nothing. [`Inline::poll`] polls both with a waker that
//! turns a wake-up arriving *during* the poll into another round of the same poll; wake-ups at
//! any other time (the socket became readable) go to the task as usual. Against a fast server
//! that halves the task polls per request.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

/// Rounds of one poll before giving the scheduler its turn anyway: a future may wake itself on
/// purpose to yield (tokio's cooperative budget does), and must then get its yield.
const MAX_ROUNDS: usize = 4;

const IDLE: u8 = 0;
const POLLING: u8 = 1;
const WOKEN: u8 = 2;

/// The state shared with the waker handed to the polled futures.
#[derive(Debug, Default)]
struct Shared {
    state: AtomicU8,
    /// The waker of the task that polls, for wake-ups outside a poll.
    task: Mutex<Option<Waker>>,
}

impl Wake for Shared {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // During a poll (woken already or not), note it for another round; otherwise wake the
        // task.
        let state =
            self.state
                .compare_exchange(POLLING, WOKEN, Ordering::AcqRel, Ordering::Acquire);
        if state == Err(IDLE)
            && let Some(task) = &*self.task.lock().unwrap_or_else(PoisonError::into_inner)
        {
            task.wake_by_ref();
        }
    }
}

/// See the module docs; one per connection.
#[derive(Debug)]
pub(crate) struct Inline {
    shared: Arc<Shared>,
    waker: Waker,
}

impl Inline {
    pub(crate) fn new() -> Self {
        let shared = Arc::new(Shared::default());
        let waker = Waker::from(Arc::clone(&shared));
        Self { shared, waker }
    }

    /// Polls `step` (which polls the halves of the connection), again while it is woken during
    /// the poll, up to [`MAX_ROUNDS`] times.
    pub(crate) fn poll<T>(
        &self,
        cx: &mut Context<'_>,
        mut step: impl FnMut(&mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        {
            let mut task = self
                .shared
                .task
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if !task.as_ref().is_some_and(|t| t.will_wake(cx.waker())) {
                *task = Some(cx.waker().clone());
            }
        }
        let mut inner = Context::from_waker(&self.waker);
        let state = &self.shared.state;
        for _ in 0..MAX_ROUNDS {
            state.store(POLLING, Ordering::Release);
            if let Poll::Ready(value) = step(&mut inner) {
                state.store(IDLE, Ordering::Release);
                return Poll::Ready(value);
            }
            let quiet = state.compare_exchange(POLLING, IDLE, Ordering::AcqRel, Ordering::Acquire);
            if quiet.is_ok() {
                return Poll::Pending;
            }
        }
        state.store(IDLE, Ordering::Release);
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Runs `exchange` (one request and its answer) to its end while driving the client
/// connection `driver` in the same task with `inline`; the driver is forgotten once it ends.
///
/// Polling order matters to a fast server's throughput: the connection first, so an answer
/// that just arrived is read before the exchange looks for it, and once more after the
/// exchange, so a request it just queued is written in the same poll. Once the connection has
/// ended, the exchange completes without it (with an answer read in full just before, or with
/// an error: the request handle fails when its connection is gone).
pub(crate) async fn exchange_beside<D: Future, T>(
    inline: &Inline,
    driver: &mut Option<Pin<Box<D>>>,
    exchange: impl Future<Output = T>,
) -> T {
    let mut exchange = pin!(exchange);
    poll_fn(|cx| {
        inline.poll(cx, |cx| {
            drive(driver, cx);
            if let Poll::Ready(outcome) = exchange.as_mut().poll(cx) {
                return Poll::Ready(outcome);
            }
            drive(driver, cx);
            Poll::Pending
        })
    })
    .await
}

/// Polls the connection, forgetting it once it has ended (closed by the server, or broken).
fn drive<D: Future>(driver: &mut Option<Pin<Box<D>>>, cx: &mut Context<'_>) {
    if let Some(running) = driver.as_mut()
        && running.as_mut().poll(cx).is_ready()
    {
        *driver = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A step that wakes itself `n` times during polls, then completes.
    fn self_waking(n: usize) -> impl FnMut(&mut Context<'_>) -> Poll<usize> {
        let mut calls = 0;
        move |cx| {
            calls += 1;
            if calls > n {
                Poll::Ready(calls)
            } else {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }

    #[test]
    fn wakes_during_a_poll_become_rounds_and_others_reach_the_task() {
        let inline = Inline::new();
        let task = Arc::new(Counter::default());
        let waker = Waker::from(Arc::clone(&task));
        let mut cx = Context::from_waker(&waker);
        assert_eq!(inline.poll(&mut cx, self_waking(2)), Poll::Ready(3));
        let twice = |cx: &mut Context<'_>| {
            cx.waker().wake_by_ref();
            cx.waker().wake_by_ref();
            Poll::Ready(())
        };
        assert_eq!(inline.poll(&mut cx, twice), Poll::Ready(()));
        assert_eq!(task.count(), 0, "no wake-up went to the task");

        // A future that keeps waking itself still yields to the scheduler.
        assert_eq!(inline.poll(&mut cx, self_waking(100)), Poll::Pending);
        assert_eq!(task.count(), 1);

        // A wake-up between polls reaches the task.
        inline.waker.wake_by_ref();
        assert_eq!(task.count(), 2);
    }

    #[derive(Default)]
    struct Counter(std::sync::atomic::AtomicUsize);

    impl Counter {
        fn count(&self) -> usize {
            self.0.load(Ordering::Relaxed)
        }
    }

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}
