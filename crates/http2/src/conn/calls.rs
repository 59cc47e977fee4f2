//! Running calls: each call's first poll happens inline, in the connection's task, and only a
//! call not finished by then gets a task of its own, which sends its answer back ([`Reply`]).
//!
//! A unary call whose handler does not wait (a fast model run inline) is answered within its
//! first poll: no allocation for a task, no trip through the scheduler, no cross-task
//! wake-ups; its frames join the others of this turn in one write.
//!
//! Correctness: a call that returns `Pending` from the inline poll (made with a no-op waker)
//! is moved into its task, whose first poll registers the task's waker everywhere the inline
//! poll registered the no-op one (every future re-registers on each poll), so no wake-up is
//! lost. A panic during the inline poll, or in the call's task, resets the stream
//! (INTERNAL_ERROR) and leaves the connection running.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;

use super::Conn;
use crate::frame::Reason;
use crate::head::RequestHead;
use crate::service::{RequestBody, Response, Service};

/// A call's answer from its own task: `None` when the call panicked.
pub(crate) type Reply<B> = (u32, Option<Response<B>>);

/// Where calls that finished in their own task send their answers, and where the connection
/// reads them.
pub(crate) type Replies<B> = (
    mpsc::UnboundedSender<Reply<B>>,
    mpsc::UnboundedReceiver<Reply<B>>,
);

/// Sends a call's answer back to its connection, or `None` if the call never finished (it
/// panicked); an aborted call's `None` finds its stream gone and is ignored.
struct ReplyOnDrop<B> {
    id: u32,
    tx: mpsc::UnboundedSender<Reply<B>>,
    response: Option<Response<B>>,
}

impl<B> Drop for ReplyOnDrop<B> {
    fn drop(&mut self) {
        let _ = self.tx.send((self.id, self.response.take()));
    }
}

impl<IO, S> Conn<IO, S>
where
    IO: AsyncRead + AsyncWrite + Unpin,
    S: Service,
{
    /// Starts the call for stream `id`; answers at once if it finishes in its first poll.
    pub(super) fn start_call(&mut self, id: u32, head: RequestHead, body: RequestBody) {
        let mut call = self.service.call(head, body);
        let mut cx = Context::from_waker(Waker::noop());
        match catch_unwind(AssertUnwindSafe(|| Pin::new(&mut call).poll(&mut cx))) {
            Ok(Poll::Ready(response)) => self.respond(id, response),
            Ok(Poll::Pending) => {
                // Unbounded, but each stream sends at most one reply and streams are capped
                // by SETTINGS_MAX_CONCURRENT_STREAMS.
                let tx = self.replies.0.clone();
                let task = tokio::spawn(async move {
                    let mut reply = ReplyOnDrop {
                        id,
                        tx,
                        response: None,
                    };
                    reply.response = Some(call.await);
                });
                if let Some(stream) = self.streams.get(id) {
                    stream.task = Some(task.abort_handle());
                }
            }
            Err(_) => {
                tracing::error!("an HTTP/2 call panicked; its stream was reset");
                self.reset(id, Reason::INTERNAL_ERROR);
            }
        }
    }

    /// An answer from a call's own task.
    pub(super) fn answer(&mut self, (id, response): Reply<S::Body>) {
        match response {
            Some(response) => self.respond(id, response),
            None => {
                if self.streams.get(id).is_some() {
                    tracing::error!("an HTTP/2 call panicked; its stream was reset");
                    self.reset(id, Reason::INTERNAL_ERROR);
                }
            }
        }
    }
}
