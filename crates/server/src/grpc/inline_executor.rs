//! How each HTTP/2 stream runs ([`super::connection`]): the stream's first poll happens inline,
//! in the connection's task, and only a stream that is not finished by then gets a task of its
//! own.
//!
//! Each request stream is a future (run the call, send the headers, the body, the trailers).
//! As a task of its own each would cost an allocation, a trip through the scheduler, and two
//! cross-task wake-ups (the stream task waking the connection task to write, after the
//! connection task woke it). A unary call whose
//! handler finishes without waiting (a fast model run inline, see [`crate::execution`]) is done
//! within one poll, so polling it once right away skips all of that; its frames are queued and
//! the connection task writes them on its next turn, usually in the same `writev` as the other
//! streams' answers.
//!
//! Correctness: a future that returns `Pending` from the inline poll is spawned and polled again
//! by its task, which registers that task's waker everywhere the inline poll registered the
//! no-op one (every future re-registers on each poll), so no wake-up is lost. A panic during the
//! inline poll drops the stream (h2 resets it), as a panicking stream task would, and leaves
//! the connection running.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::task::{Context, Poll, Waker};

/// Polls `fut` once inline, then spawns it on Tokio if it is not done.
pub fn run_inline_first<F>(fut: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    // Boxed before the first poll: a polled future may not move, and the spawned task must
    // take the same one.
    let mut fut = Box::pin(fut);
    let mut cx = Context::from_waker(Waker::noop());
    match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(&mut cx))) {
        Ok(Poll::Ready(())) => {}
        Ok(Poll::Pending) => {
            tokio::spawn(fut);
        }
        Err(_) => tracing::error!("a gRPC stream panicked; it was reset"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn ready_futures_finish_inline_and_pending_ones_are_spawned() {
        let done = Arc::new(AtomicUsize::new(0));
        let d = done.clone();
        run_inline_first(async move {
            d.fetch_add(1, Ordering::SeqCst);
        });
        // Finished before run_inline_first returned: no task was needed.
        assert_eq!(done.load(Ordering::SeqCst), 1);

        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let d = done.clone();
        run_inline_first(async move {
            rx.await.unwrap();
            d.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(done.load(Ordering::SeqCst), 1);
        // The wake-up goes to the spawned task, not to the no-op waker of the first poll.
        tx.send(()).unwrap();
        for _ in 0..100 {
            if done.load(Ordering::SeqCst) == 2 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(done.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_panicking_future_is_dropped_not_propagated() {
        run_inline_first(async { panic!("boom") });
    }
}
