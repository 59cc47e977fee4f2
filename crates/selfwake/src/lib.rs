//! Polling a connection (or any set of futures a task drives together) without the wake-ups
//! it sends itself.
//!
//! A task that drives a connection and the work on it in one poll — the gRPC listener runs each
//! new stream's call inline, the load generator polls a client connection beside its request —
//! gets woken by its own hand-offs: a call that queues its answer wakes the connection's task
//! so that the frames get written, but that task is the one running and polls the connection
//! again right after anyway. Tokio cannot know that: the wake-up marks the task to be polled
//! once more after it returns `Pending`, a trip through the scheduler and a full pass over the
//! connection that finds nothing to do, for every request.
//!
//! [`SelfWake::poll`] hands the futures a waker of its own. A wake-up that arrives while the
//! step runs only sets a flag; the step calls [`Round::rearm`] each time it is about to poll
//! them again (which covers every wake-up before that point, since the futures keep their
//! state apart from wakers and the next poll reads it), and if a wake-up came after the last
//! rearm the step is run once more. Wake-ups at any other time go to the task as usual. A step
//! that never calls `rearm` is rearmed at the start of each round.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

/// Rounds of one poll before giving the scheduler its turn anyway: a future may wake itself on
/// purpose to yield (Tokio's cooperative budget does), and must then get its yield.
const MAX_ROUNDS: usize = 4;

const IDLE: u8 = 0;
const POLLING: u8 = 1;
const WOKEN: u8 = 2;

/// The state shared with the waker handed to h2.
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
        // task. The AcqRel exchange pairs with the poller's acquiring reads of the state, so
        // whatever the waker's side changed before waking is seen by the next round.
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

/// See the crate docs; one per connection.
#[derive(Debug)]
pub struct SelfWake {
    shared: Arc<Shared>,
    waker: Waker,
}

/// Handed to the step of one [`SelfWake::poll`].
pub struct Round<'a> {
    shared: &'a Shared,
}

impl Round<'_> {
    /// Call right before polling everything that was given this round's waker again: the
    /// wake-ups so far are covered by that poll.
    pub fn rearm(&self) {
        self.shared.state.swap(POLLING, Ordering::AcqRel);
    }
}

impl Default for SelfWake {
    fn default() -> Self {
        let shared = Arc::new(Shared::default());
        let waker = Waker::from(Arc::clone(&shared));
        Self { shared, waker }
    }
}

impl SelfWake {
    /// Polls `step` with this connection's waker, again while it is woken after its last
    /// [`Round::rearm`], up to [`MAX_ROUNDS`] times.
    pub fn poll<T>(
        &self,
        cx: &mut Context<'_>,
        mut step: impl FnMut(&mut Context<'_>, &Round<'_>) -> Poll<T>,
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
        let round = Round {
            shared: &self.shared,
        };
        let state = &self.shared.state;
        for _ in 0..MAX_ROUNDS {
            round.rearm();
            if let Poll::Ready(value) = step(&mut inner, &round) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[derive(Default)]
    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn task() -> (Arc<Counter>, Waker) {
        let counter = Arc::new(Counter::default());
        let waker = Waker::from(Arc::clone(&counter));
        (counter, waker)
    }

    #[test]
    fn wakes_before_a_rearm_are_covered_and_later_ones_give_another_round() {
        let (counter, waker) = task();
        let mut cx = Context::from_waker(&waker);
        let s = SelfWake::default();

        // Woken, then rearmed before polling again: one round, no wake-up reaches the task.
        let mut rounds = 0;
        let r: Poll<()> = s.poll(&mut cx, |cx, round| {
            rounds += 1;
            cx.waker().wake_by_ref();
            round.rearm();
            Poll::Pending
        });
        assert_eq!((r, rounds), (Poll::Pending, 1));

        // Woken after the last rearm: polled again, and the second round is quiet.
        let mut rounds = 0;
        let r: Poll<()> = s.poll(&mut cx, |cx, _| {
            rounds += 1;
            if rounds == 1 {
                cx.waker().wake_by_ref();
            }
            Poll::Pending
        });
        assert_eq!((r, rounds), (Poll::Pending, 2));
        assert_eq!(counter.0.load(Ordering::Relaxed), 0);

        // A step that keeps waking itself still yields to the scheduler.
        let r: Poll<()> = s.poll(&mut cx, |cx, _| {
            cx.waker().wake_by_ref();
            Poll::Pending
        });
        assert_eq!(r, Poll::Pending);
        assert_eq!(counter.0.load(Ordering::Relaxed), 1);

        // A wake-up between polls reaches the task.
        s.waker.wake_by_ref();
        assert_eq!(counter.0.load(Ordering::Relaxed), 2);
    }

    /// A step that wakes itself `n` times during polls and never rearms, then completes.
    fn self_waking(n: usize) -> impl FnMut(&mut Context<'_>, &Round<'_>) -> Poll<usize> {
        let mut calls = 0;
        move |cx, _| {
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
    fn without_rearms_each_wake_during_a_poll_is_one_more_round() {
        let (counter, waker) = task();
        let mut cx = Context::from_waker(&waker);
        let s = SelfWake::default();
        assert_eq!(s.poll(&mut cx, self_waking(2)), Poll::Ready(3));
        let twice = |cx: &mut Context<'_>, _: &Round<'_>| {
            cx.waker().wake_by_ref();
            cx.waker().wake_by_ref();
            Poll::Ready(())
        };
        assert_eq!(s.poll(&mut cx, twice), Poll::Ready(()));
        assert_eq!(
            counter.0.load(Ordering::Relaxed),
            0,
            "no wake-up went to the task"
        );
        assert_eq!(s.poll(&mut cx, self_waking(100)), Poll::Pending);
        assert_eq!(counter.0.load(Ordering::Relaxed), 1);
    }
}
