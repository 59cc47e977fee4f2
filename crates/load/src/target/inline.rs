//! Driving a client connection inside the request's own task, without needless wake-ups.
//!
//! A hyper or h2 client connection is two halves: the connection state machine (reads and
//! writes the socket) and the request handle, talking over channels. When both are polled by
//! one task, each hand-off between them (request queued, answer arrived) wakes that same task,
//! which then goes through the scheduler once more for nothing. [`exchange_beside`] polls both
//! under a [`SelfWake`], which turns a wake-up arriving *during* the poll into another round of
//! the same poll; wake-ups at any other time (the socket became readable) go to the task as
//! usual. Against a fast server that halves the task polls per request.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::task::{Context, Poll};

use tensorserve_selfwake::SelfWake;

/// Runs `exchange` (one request and its answer) to its end while driving the client
/// connection `driver` in the same task with `inline`; the driver is forgotten once it ends.
///
/// Polling order matters to a fast server's throughput: the connection first, so an answer
/// that just arrived is read before the exchange looks for it, and once more after the
/// exchange, so a request it just queued is written in the same poll. Once the connection has
/// ended, the exchange completes without it (with an answer read in full just before, or with
/// an error: the request handle fails when its connection is gone).
pub(crate) async fn exchange_beside<D: Future, T>(
    inline: &SelfWake,
    driver: &mut Option<Pin<Box<D>>>,
    exchange: impl Future<Output = T>,
) -> T {
    let mut exchange = pin!(exchange);
    poll_fn(|cx| {
        inline.poll(cx, |cx, _| {
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
