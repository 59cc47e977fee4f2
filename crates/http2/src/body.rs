//! A streaming request body ([`RecvBody`]): the connection pushes DATA into it, the call reads
//! it as an `http_body::Body`.
//!
//! Flow control follows the reader: a chunk's bytes are given back to the peer (WINDOW_UPDATE)
//! only when the call has taken it, so a call that stops reading stops the peer at one window
//! (our SETTINGS_INITIAL_WINDOW_SIZE) of buffered data. Taken bytes are reported to the
//! connection through [`Releases`], which wakes the connection's task.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::frame::Reason;

/// What a body's reader has taken, per stream, for the connection to give back.
#[derive(Default)]
pub struct Releases {
    state: Mutex<ReleaseState>,
}

#[derive(Default)]
struct ReleaseState {
    taken: Vec<(u32, usize)>,
    waker: Option<Waker>,
}

impl Releases {
    fn add(&self, stream: u32, bytes: usize) {
        let mut state = lock(&self.state);
        state.taken.push((stream, bytes));
        if let Some(w) = state.waker.take() {
            w.wake();
        }
    }

    /// Registers the connection's task and takes what was released since the last call.
    pub fn take(&self, cx: &mut Context<'_>, into: &mut Vec<(u32, usize)>) {
        let mut state = lock(&self.state);
        into.append(&mut state.taken);
        match &state.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => state.waker = Some(cx.waker().clone()),
        }
    }
}

/// The connection's side of one streaming body.
#[derive(Default)]
pub struct Inbound {
    chunks: VecDeque<Bytes>,
    ended: bool,
    reset: Option<Reason>,
    /// The reader dropped the body: later data is given back as it arrives.
    abandoned: bool,
    waker: Option<Waker>,
}

/// The connection's handle on a streaming body.
pub type InboundRef = Arc<Mutex<Inbound>>;

impl Inbound {
    /// Queues a chunk for the reader; false when the reader is gone (the caller gives the
    /// bytes back itself).
    pub fn push(this: &InboundRef, data: Bytes) -> bool {
        let mut inbound = lock(this);
        if inbound.abandoned {
            return false;
        }
        inbound.chunks.push_back(data);
        inbound.wake();
        true
    }

    /// The stream's request half ended.
    pub fn end(this: &InboundRef) {
        let mut inbound = lock(this);
        inbound.ended = true;
        inbound.wake();
    }

    /// The stream was reset (by the peer, or the connection is gone).
    pub fn reset(this: &InboundRef, reason: Reason) {
        let mut inbound = lock(this);
        inbound.reset = Some(reason);
        inbound.wake();
    }

    fn wake(&mut self) {
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}

/// The error a body reports when its stream was reset.
#[derive(Debug)]
pub struct StreamReset(pub Reason);

impl std::fmt::Display for StreamReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "stream reset by the client (HTTP/2 error code {})",
            self.0.0
        )
    }
}

impl std::error::Error for StreamReset {}

/// A request body read as it arrives.
pub struct RecvBody {
    stream: u32,
    inbound: InboundRef,
    releases: Arc<Releases>,
}

impl RecvBody {
    pub(crate) fn new(stream: u32, inbound: InboundRef, releases: Arc<Releases>) -> RecvBody {
        RecvBody {
            stream,
            inbound,
            releases,
        }
    }
}

impl Body for RecvBody {
    type Data = Bytes;
    type Error = StreamReset;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, StreamReset>>> {
        let mut inbound = lock(&self.inbound);
        if let Some(chunk) = inbound.chunks.pop_front() {
            drop(inbound);
            self.releases.add(self.stream, chunk.len());
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        if let Some(reason) = inbound.reset {
            return Poll::Ready(Some(Err(StreamReset(reason))));
        }
        if inbound.ended {
            return Poll::Ready(None);
        }
        inbound.waker = Some(cx.waker().clone());
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        let inbound = lock(&self.inbound);
        inbound.ended && inbound.chunks.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

impl Drop for RecvBody {
    fn drop(&mut self) {
        let mut inbound = lock(&self.inbound);
        inbound.abandoned = true;
        let unread: usize = inbound.chunks.drain(..).map(|c| c.len()).sum();
        drop(inbound);
        if unread > 0 {
            self.releases.add(self.stream, unread);
        }
    }
}

/// Locks, going on after a panic elsewhere: the state is plain data, valid at every step.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
