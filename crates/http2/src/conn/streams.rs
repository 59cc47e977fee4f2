//! Per-stream state and the connection's stream table.
//!
//! A stream lives here from its HEADERS until both halves are done: the client's (its
//! END_STREAM, or we stopped reading) and ours (our END_STREAM, or a reset). The table is a
//! vector searched linearly: a gRPC connection has a handful of streams open at a time (one
//! per call in flight), where a hash map's hashing costs more than the scan.

use std::collections::VecDeque;

use bytes::Bytes;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::body::{Inbound, InboundRef};
use crate::frame::Reason;
use crate::head::RequestHead;
use crate::service::Fields;

/// How many closed streams are remembered: frames the peer sent before it saw our RST_STREAM
/// are ignored, HEADERS on a stream that ended is STREAM_CLOSED, and on a stream id that was
/// skipped (or forgotten) PROTOCOL_ERROR (RFC 9113 §5.1, §5.1.1).
const RECENT: usize = 64;

/// How a remembered stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// We reset it (or never took it, after our GOAWAY).
    ResetByUs,
    /// Both halves ended, or the peer reset it.
    Closed,
}

/// The client's half of a stream.
// Streams live in one reused vector, so the large variant costs no allocation, where a box
// would cost one per request.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Recv {
    /// Gathering a whole body for a call not started yet.
    Gathering {
        head: RequestHead,
        chunks: Gathered,
        size: usize,
        limit: usize,
        deadline: Option<Instant>,
        /// The request's `content-length`, which the body must match (RFC 9113 §8.1.1).
        expected: Option<usize>,
    },
    /// Feeding a streaming body.
    Streaming(InboundRef),
    /// Ended (END_STREAM), or no longer read.
    Closed,
}

/// A body's chunks as they arrive. Most unary bodies come in one DATA frame, kept as it is
/// (a slice of the read buffer, no copy and no vector); more are joined at the end.
#[derive(Default)]
pub(crate) struct Gathered {
    first: Bytes,
    rest: Vec<Bytes>,
}

impl Gathered {
    pub fn push(&mut self, chunk: Bytes) {
        if self.first.is_empty() {
            self.first = chunk;
        } else {
            self.rest.push(chunk);
        }
    }

    /// The whole body (`size` bytes).
    pub fn into_bytes(self, size: usize) -> Bytes {
        if self.rest.is_empty() {
            return self.first;
        }
        let mut all = bytes::BytesMut::with_capacity(size);
        all.extend_from_slice(&self.first);
        self.rest.iter().for_each(|c| all.extend_from_slice(c));
        all.freeze()
    }
}

/// What follows a stream's queued data.
pub(crate) enum Then<B> {
    /// END_STREAM on the frame that carries the last byte.
    End,
    /// A trailers block with END_STREAM.
    Trailers(Fields),
    /// More from a streaming body.
    Body(B),
}

/// Our half of a stream.
pub(crate) enum Send<B> {
    /// No head sent yet: the call is running.
    Waiting,
    /// Head sent; `data` waits for flow-control window, then `then`.
    Sending { data: Bytes, then: Then<B> },
    /// Our END_STREAM (or a reset) is sent.
    Done,
}

pub(crate) struct Stream<B> {
    pub id: u32,
    pub recv: Recv,
    /// What the peer may still send on this stream.
    pub recv_window: u32,
    /// Bytes read and consumed but not yet given back with a WINDOW_UPDATE.
    pub recv_unacked: u32,
    /// What we may still send (negative after the peer shrinks SETTINGS_INITIAL_WINDOW_SIZE).
    pub send_window: i64,
    pub send: Send<B>,
    /// The call's own task, when it did not finish at its first poll.
    pub task: Option<AbortHandle>,
}

impl<B> Stream<B> {
    /// Whether both halves are done.
    pub fn finished(&self) -> bool {
        matches!(self.recv, Recv::Closed) && matches!(self.send, Send::Done)
    }
}

impl<B> Drop for Stream<B> {
    fn drop(&mut self) {
        // A stream dropped unfinished (reset, or the connection ended) cancels its call, and a
        // call reading its body sees the reset.
        if let Some(task) = self.task.take() {
            task.abort();
        }
        if let Recv::Streaming(inbound) = &self.recv {
            Inbound::reset(inbound, Reason::CANCEL);
        }
    }
}

/// The connection's streams and flow-control windows.
pub(crate) struct Streams<B> {
    list: Vec<Stream<B>>,
    /// The highest stream id the client has opened.
    last_id: u32,
    recent: VecDeque<(u32, Ended)>,
    /// SETTINGS_INITIAL_WINDOW_SIZE we announced: each new stream's receive window.
    pub local_window: u32,
    /// The peer's SETTINGS_INITIAL_WINDOW_SIZE: each new stream's send window.
    pub peer_window: i64,
    /// The peer's SETTINGS_MAX_FRAME_SIZE.
    pub peer_max_frame: usize,
    /// What we may still send on the connection.
    pub send_window: i64,
    /// What the peer may still send on the connection.
    pub recv_window: u32,
    /// Bytes consumed on the connection not yet given back.
    pub recv_unacked: u32,
}

impl<B> Streams<B> {
    pub fn new(local_window: u32) -> Streams<B> {
        Streams {
            list: Vec::new(),
            last_id: 0,
            recent: VecDeque::with_capacity(RECENT),
            local_window,
            peer_window: 65_535,
            peer_max_frame: crate::frame::DEFAULT_MAX_FRAME_SIZE as usize,
            send_window: 65_535,
            recv_window: local_window.max(65_535),
            recv_unacked: 0,
        }
    }

    pub fn last_id(&self) -> u32 {
        self.last_id
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn get(&mut self, id: u32) -> Option<&mut Stream<B>> {
        self.list.iter_mut().find(|s| s.id == id)
    }

    /// Whether `id` is a stream the peer could not have opened yet.
    pub fn is_idle(&self, id: u32) -> bool {
        id > self.last_id
    }

    /// How `id` ended, if it is one of the streams remembered.
    pub fn ended(&self, id: u32) -> Option<Ended> {
        self.recent
            .iter()
            .find(|(i, _)| *i == id)
            .map(|&(_, how)| how)
    }

    fn remember(&mut self, id: u32, how: Ended) {
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back((id, how));
    }

    /// Records that the client opened `id` (whether or not we took it).
    pub fn opened(&mut self, id: u32) {
        self.last_id = id;
    }

    /// Starts a stream.
    pub fn insert(&mut self, id: u32, recv: Recv) -> &mut Stream<B> {
        self.list.push(Stream {
            id,
            recv,
            recv_window: self.local_window,
            recv_unacked: 0,
            send_window: self.peer_window,
            send: Send::Waiting,
            task: None,
        });
        self.list.last_mut().expect("just pushed")
    }

    /// Removes a stream (its call, if still running, is cancelled).
    pub fn remove(&mut self, id: u32) -> Option<Stream<B>> {
        let at = self.list.iter().position(|s| s.id == id)?;
        Some(self.list.swap_remove(at))
    }

    /// Removes a stream we reset, remembering its id.
    pub fn remove_reset(&mut self, id: u32) {
        self.remove(id);
        self.remember(id, Ended::ResetByUs);
    }

    /// Remembers a stream we did not take (after our GOAWAY): its frames are ignored as a reset
    /// stream's are.
    pub fn ignore(&mut self, id: u32) {
        self.remember(id, Ended::ResetByUs);
    }

    /// Removes a stream that ended (both halves, or reset by the peer), remembering its id.
    pub fn remove_closed(&mut self, id: u32) -> Option<Stream<B>> {
        let stream = self.remove(id);
        self.remember(id, Ended::Closed);
        stream
    }

    /// Removes `id` if both halves are done.
    pub fn remove_if_finished(&mut self, id: u32) {
        if self.get(id).is_some_and(|s| s.finished()) {
            self.remove_closed(id);
        }
    }

    /// The earliest deadline of a body being gathered, and the streams already past theirs.
    pub fn deadlines(&self, expired: &mut Vec<u32>) -> Option<Instant> {
        let with_deadline = |s: &&Stream<B>| {
            matches!(
                s.recv,
                Recv::Gathering {
                    deadline: Some(_),
                    ..
                }
            )
        };
        if !self.list.iter().any(|s| with_deadline(&s)) {
            // The clock is read only when some body has a deadline.
            return None;
        }
        let now = Instant::now();
        let mut earliest: Option<Instant> = None;
        for s in &self.list {
            if let Recv::Gathering {
                deadline: Some(d), ..
            } = s.recv
            {
                if d <= now {
                    expired.push(s.id);
                } else if earliest.is_none_or(|e| d < e) {
                    earliest = Some(d);
                }
            }
        }
        earliest
    }

    /// The ids of streams with something to send.
    pub fn sending_ids(&self, into: &mut Vec<u32>) {
        into.clear();
        into.extend(
            self.list
                .iter()
                .filter(|s| matches!(s.send, Send::Sending { .. }))
                .map(|s| s.id),
        );
    }

    /// Drops every stream (cancelling their calls).
    pub fn clear(&mut self) {
        self.list.clear();
    }

    /// Applies a change of the peer's SETTINGS_INITIAL_WINDOW_SIZE to every open stream
    /// (RFC 9113 §6.9.2); false when a window would pass the maximum.
    pub fn set_peer_window(&mut self, window: u32) -> bool {
        let delta = i64::from(window) - self.peer_window;
        self.peer_window = i64::from(window);
        for s in &mut self.list {
            s.send_window += delta;
            if s.send_window > i64::from(crate::frame::MAX_WINDOW) {
                return false;
            }
        }
        true
    }
}
