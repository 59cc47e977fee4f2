//! Frames from the peer (RFC 9113 §6), checked as the RFC requires: a violation that breaks
//! the connection's shared state is a connection error (`Err`: GOAWAY, close), one confined to
//! a stream resets that stream (RST_STREAM) and the connection goes on.

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite};

use super::streams::{Ended, Recv};
use super::{Conn, ConnResult, MAX_FRAME, MAX_HEADER_BLOCK};
use crate::body::Inbound;
use crate::frame::{self, Head, Reason, flag, kind};
use crate::head::HeadBuilder;
use crate::service::{Delivery, Refusal, RequestBody, Service};
use tokio::time::Instant;

/// A header block still waiting for its CONTINUATION frames.
pub(crate) struct PartialBlock {
    stream: u32,
    end_stream: bool,
    block: Vec<u8>,
    /// CONTINUATION frames so far: capped, since empty ones would not grow the block.
    continuations: usize,
}

/// How many streams one connection may make us reset for its errors before it is closed
/// (the limit the listener had with the h2 crate, `max_local_error_reset_streams`).
const MAX_ERROR_RESETS: usize = 1024;

/// What the head buffer reserves before each header block: the usual gRPC request's fields
/// several times over, so that growing it is rare.
const HEAD_ROOM: usize = 1024;

/// The most CONTINUATION frames one header block may take (a flood of empty ones costs CPU
/// without growing the block past [`MAX_HEADER_BLOCK`]).
const MAX_CONTINUATIONS: usize = 32;

impl<IO, S> Conn<IO, S>
where
    IO: AsyncRead + AsyncWrite + Unpin,
    S: Service,
{
    /// Handles every complete frame in the read buffer.
    pub(super) fn handle_buffered(&mut self) -> ConnResult {
        if !self.preface_read {
            let n = self.read.len().min(frame::PREFACE.len());
            if self.read[..n] != frame::PREFACE[..n] {
                return Err((Reason::PROTOCOL_ERROR, "invalid connection preface"));
            }
            if n < frame::PREFACE.len() {
                return Ok(());
            }
            self.read.advance(n);
            self.preface_read = true;
            // The connection's window beyond the protocol's 64 kB, once we know the peer
            // speaks HTTP/2.
            let default_window = 65_535;
            if self.config.window > default_window {
                frame::put_window_update(&mut self.out, 0, self.config.window - default_window);
            }
        }
        while self.read.len() >= frame::HEADER_LEN {
            let head = Head::parse(&self.read);
            if head.length > MAX_FRAME {
                return Err((
                    Reason::FRAME_SIZE_ERROR,
                    "frame larger than SETTINGS_MAX_FRAME_SIZE",
                ));
            }
            if self.read.len() < frame::HEADER_LEN + head.length {
                // Room for the rest of this frame, so that one more read completes it.
                self.read
                    .reserve(frame::HEADER_LEN + head.length - self.read.len());
                return Ok(());
            }
            self.read.advance(frame::HEADER_LEN);
            let payload = self.read.split_to(head.length);
            self.handle_frame(head, payload)?;
            if self.error_resets > MAX_ERROR_RESETS {
                // A peer that keeps sending what we must refuse costs work for nothing.
                return Err((Reason::ENHANCE_YOUR_CALM, "too many streams refused"));
            }
        }
        Ok(())
    }

    fn handle_frame(&mut self, head: Head, payload: BytesMut) -> ConnResult {
        if !self.settings_read {
            if head.kind != kind::SETTINGS || head.has(flag::ACK) {
                return Err((Reason::PROTOCOL_ERROR, "the first frame must be SETTINGS"));
            }
            self.settings_read = true;
        }
        if let Some(partial) = &self.partial
            && (head.kind != kind::CONTINUATION || head.stream != partial.stream)
        {
            return Err((Reason::PROTOCOL_ERROR, "header block interrupted"));
        }
        match head.kind {
            kind::DATA => self.on_data(head, payload.freeze()),
            kind::HEADERS => self.on_headers(head, &payload),
            kind::PRIORITY => self.on_priority(head, &payload),
            kind::RST_STREAM => self.on_reset(head, &payload),
            kind::SETTINGS => self.on_settings(head, &payload),
            kind::PUSH_PROMISE => Err((Reason::PROTOCOL_ERROR, "PUSH_PROMISE from a client")),
            kind::PING => self.on_ping(head, &payload),
            kind::GOAWAY => self.on_goaway(head),
            kind::WINDOW_UPDATE => self.on_window_update(head, &payload),
            kind::CONTINUATION => self.on_continuation(head, &payload),
            // Unknown types are ignored (RFC 9113 §5.5).
            _ => Ok(()),
        }
    }

    fn on_data(&mut self, head: Head, payload: Bytes) -> ConnResult {
        if head.stream == 0 {
            return Err((Reason::PROTOCOL_ERROR, "DATA on stream 0"));
        }
        // Flow control counts the whole payload, padding included.
        let len = payload.len() as u32;
        if len > self.streams.recv_window {
            return Err((
                Reason::FLOW_CONTROL_ERROR,
                "DATA beyond the connection window",
            ));
        }
        self.streams.recv_window -= len;
        let (start, end) =
            frame::strip_padding(&head, &payload).ok_or((Reason::PROTOCOL_ERROR, "bad padding"))?;
        let data = payload.slice(start..end);
        let padding = len - data.len() as u32;
        let end_stream = head.has(flag::END_STREAM);
        let Some(stream) = self.streams.get(head.stream) else {
            self.consumed(0, len);
            if self.streams.is_idle(head.stream) {
                return Err((Reason::PROTOCOL_ERROR, "DATA on an idle stream"));
            }
            if self.streams.ended(head.stream) != Some(Ended::ResetByUs) {
                self.reset(head.stream, Reason::STREAM_CLOSED);
            }
            return Ok(());
        };
        if len > stream.recv_window {
            self.consumed(0, len);
            self.reset(head.stream, Reason::FLOW_CONTROL_ERROR);
            return Ok(());
        }
        stream.recv_window -= len;
        let mut too_large = false;
        // Bytes consumed now (given back at once); a streaming body's are given back when read.
        let mut consumed_now = padding;
        match &mut stream.recv {
            Recv::Closed => consumed_now = u32::MAX,
            Recv::Gathering {
                chunks,
                size,
                limit,
                ..
            } => {
                consumed_now = len;
                *size += data.len();
                if *size > *limit {
                    too_large = true;
                } else if !data.is_empty() {
                    chunks.push(data);
                }
            }
            Recv::Streaming(inbound) => {
                if !data.is_empty() && !Inbound::push(inbound, data) {
                    consumed_now = len;
                }
            }
        }
        if consumed_now == u32::MAX {
            // Half-closed (remote): the client already ended this stream.
            self.consumed(0, len);
            self.reset(head.stream, Reason::STREAM_CLOSED);
            return Ok(());
        }
        let id = head.stream;
        self.consumed(id, consumed_now);
        if too_large {
            self.refuse(id, Refusal::TooLarge);
            return Ok(());
        }
        if end_stream {
            self.end_of_request(id);
        }
        Ok(())
    }

    /// The client's half of `id` ended: a gathered body starts its call.
    fn end_of_request(&mut self, id: u32) {
        let Some(stream) = self.streams.get(id) else {
            return;
        };
        match std::mem::replace(&mut stream.recv, Recv::Closed) {
            Recv::Gathering {
                expected: Some(n),
                size,
                ..
            } if n != size => {
                // A body that does not match its content-length is malformed.
                self.reset(id, Reason::PROTOCOL_ERROR);
                return;
            }
            Recv::Gathering {
                head, chunks, size, ..
            } => {
                let body = chunks.into_bytes(size);
                self.start_call(id, head, RequestBody::Whole(body));
            }
            Recv::Streaming(inbound) => Inbound::end(&inbound),
            Recv::Closed => {}
        }
        self.streams.remove_if_finished(id);
    }

    /// Answers a gathering stream with the service's refusal and resets the rest of its body.
    pub(super) fn refuse(&mut self, id: u32, why: Refusal) {
        let Some(stream) = self.streams.get(id) else {
            return;
        };
        let Recv::Gathering { head, .. } = std::mem::replace(&mut stream.recv, Recv::Closed) else {
            return;
        };
        let response = self.service.refuse(&head, why);
        // Our half ends with this answer; the client's is not wanted any more (RST_STREAM
        // NO_ERROR once the answer is out, RFC 9113 §8.1).
        // A refusal is a head alone, which flow control never holds back.
        self.respond(id, response);
        self.reset(id, Reason::NO_ERROR);
    }

    fn on_headers(&mut self, head: Head, payload: &[u8]) -> ConnResult {
        if head.stream == 0 {
            return Err((Reason::PROTOCOL_ERROR, "HEADERS on stream 0"));
        }
        let (mut start, end) =
            frame::strip_padding(&head, payload).ok_or((Reason::PROTOCOL_ERROR, "bad padding"))?;
        let mut self_dependent = false;
        if head.has(flag::PRIORITY) {
            if end < start + 5 {
                return Err((
                    Reason::FRAME_SIZE_ERROR,
                    "HEADERS priority fields truncated",
                ));
            }
            self_dependent = frame::read_u31(&payload[start..]) == head.stream;
            start += 5;
        }
        let fragment = &payload[start..end];
        let end_stream = head.has(flag::END_STREAM);
        if head.has(flag::END_HEADERS) {
            self.on_header_block(head.stream, end_stream, fragment, self_dependent)
        } else {
            if self_dependent {
                // Still decoded when complete, to keep the table in step; refused then.
                self.self_dependent = Some(head.stream);
            }
            self.partial = Some(PartialBlock {
                stream: head.stream,
                end_stream,
                block: fragment.to_vec(),
                continuations: 0,
            });
            Ok(())
        }
    }

    fn on_continuation(&mut self, head: Head, payload: &[u8]) -> ConnResult {
        let Some(partial) = &mut self.partial else {
            return Err((Reason::PROTOCOL_ERROR, "CONTINUATION without HEADERS"));
        };
        partial.continuations += 1;
        if partial.block.len() + payload.len() > MAX_HEADER_BLOCK
            || partial.continuations > MAX_CONTINUATIONS
        {
            return Err((Reason::ENHANCE_YOUR_CALM, "header block too large"));
        }
        partial.block.extend_from_slice(payload);
        if head.has(flag::END_HEADERS) {
            let partial = self.partial.take().expect("checked above");
            let self_dependent = self.self_dependent.take() == Some(partial.stream);
            self.on_header_block(
                partial.stream,
                partial.end_stream,
                &partial.block,
                self_dependent,
            )?;
        }
        Ok(())
    }

    /// A complete header block: a new request, or a request's trailers.
    fn on_header_block(
        &mut self,
        id: u32,
        end_stream: bool,
        block: &[u8],
        self_dependent: bool,
    ) -> ConnResult {
        // Room for the decoded fields (reclaimed once earlier heads are dropped).
        self.head_buf.reserve(HEAD_ROOM);
        let mut builder = HeadBuilder::new(
            self.config.max_header_list_size as usize,
            &mut self.head_buf,
        );
        self.decoder
            .decode(block, &mut |name, value| builder.field(name, value))
            .map_err(|_| (Reason::COMPRESSION_ERROR, "invalid header block"))?;
        if let Some(stream) = self.streams.get(id) {
            // Trailers: they must end the stream and hold no pseudo-header; their fields are
            // not passed on.
            if matches!(stream.recv, Recv::Closed) {
                self.reset(id, Reason::STREAM_CLOSED);
            } else if end_stream && builder.valid_trailers() {
                self.end_of_request(id);
            } else {
                self.reset(id, Reason::PROTOCOL_ERROR);
            }
            return Ok(());
        }
        if id.is_multiple_of(2) {
            return Err((Reason::PROTOCOL_ERROR, "even stream id from a client"));
        }
        if !self.streams.is_idle(id) {
            return match self.streams.ended(id) {
                Some(Ended::ResetByUs) => Ok(()),
                Some(Ended::Closed) => Err((Reason::STREAM_CLOSED, "HEADERS on a closed stream")),
                None => Err((
                    Reason::PROTOCOL_ERROR,
                    "stream id lower than one already used",
                )),
            };
        }
        self.streams.opened(id);
        if self.going_away {
            // Past our GOAWAY's last stream: ignored, its DATA too (counted for flow control
            // only); the client retries it elsewhere.
            self.streams.ignore(id);
            return Ok(());
        }
        if self_dependent {
            self.reset(id, Reason::PROTOCOL_ERROR);
            return Ok(());
        }
        if self.streams.len() >= self.config.max_concurrent_streams as usize {
            self.reset(id, Reason::REFUSED_STREAM);
            return Ok(());
        }
        let request = match builder.finish() {
            Ok(request) => request,
            Err(malformed) => {
                tracing::debug!("HTTP/2 request refused: {malformed:?}");
                self.reset(id, Reason::PROTOCOL_ERROR);
                return Ok(());
            }
        };
        match self.service.delivery(&request) {
            Delivery::Whole { limit, deadline } => {
                let deadline = if end_stream {
                    None
                } else {
                    deadline.map(|d| Instant::now() + d)
                };
                let expected = match request.get("content-length").map(parse_length) {
                    None => None,
                    Some(Some(n)) => Some(n),
                    Some(None) => {
                        self.reset(id, Reason::PROTOCOL_ERROR);
                        return Ok(());
                    }
                };
                let recv = Recv::Gathering {
                    head: request,
                    chunks: Default::default(),
                    size: 0,
                    limit,
                    deadline,
                    expected,
                };
                self.streams.insert(id, recv);
                if end_stream {
                    self.end_of_request(id);
                }
            }
            Delivery::Streaming => {
                let inbound = Default::default();
                if end_stream {
                    Inbound::end(&inbound);
                }
                self.streaming_bodies = true;
                let body = crate::body::RecvBody::new(id, inbound.clone(), self.releases.clone());
                let recv = if end_stream {
                    Recv::Closed
                } else {
                    Recv::Streaming(inbound)
                };
                self.streams.insert(id, recv);
                self.start_call(id, request, RequestBody::Streaming(body));
            }
        }
        Ok(())
    }

    fn on_priority(&mut self, head: Head, payload: &[u8]) -> ConnResult {
        if head.stream == 0 {
            return Err((Reason::PROTOCOL_ERROR, "PRIORITY on stream 0"));
        }
        if payload.len() != 5 {
            self.reset(head.stream, Reason::FRAME_SIZE_ERROR);
            return Ok(());
        }
        // Priorities are advice (and deprecated, RFC 9113 §5.3.2); only self-dependence is an error.
        if frame::read_u31(payload) == head.stream {
            self.reset(head.stream, Reason::PROTOCOL_ERROR);
        }
        Ok(())
    }

    fn on_reset(&mut self, head: Head, payload: &[u8]) -> ConnResult {
        if head.stream == 0 {
            return Err((Reason::PROTOCOL_ERROR, "RST_STREAM on stream 0"));
        }
        if payload.len() != 4 {
            return Err((Reason::FRAME_SIZE_ERROR, "RST_STREAM of the wrong size"));
        }
        if self.streams.is_idle(head.stream) {
            return Err((Reason::PROTOCOL_ERROR, "RST_STREAM on an idle stream"));
        }
        let reason = Reason(u32::from_be_bytes([
            payload[0], payload[1], payload[2], payload[3],
        ]));
        if let Some(stream) = self.streams.remove_closed(head.stream) {
            tracing::debug!(
                "HTTP/2 stream {} reset by the client: {reason:?}",
                stream.id
            );
            if let Recv::Streaming(inbound) = &stream.recv {
                Inbound::reset(inbound, reason);
            }
        }
        Ok(())
    }

    /// Counts `bytes` of received DATA as consumed on the connection and on `stream` (0: the
    /// connection only), giving window back once half of it is used.
    pub(super) fn consumed(&mut self, stream: u32, bytes: u32) {
        if bytes == 0 {
            return;
        }
        let half = self.config.window / 2;
        if stream != 0
            && let Some(s) = self.streams.get(stream)
            && !matches!(s.recv, Recv::Closed)
        {
            s.recv_unacked += bytes;
            if s.recv_unacked >= half {
                let n = std::mem::take(&mut s.recv_unacked);
                s.recv_window += n;
                frame::put_window_update(&mut self.out, stream, n);
            }
        }
        self.streams.recv_unacked += bytes;
        if self.streams.recv_unacked >= half {
            let n = std::mem::take(&mut self.streams.recv_unacked);
            self.streams.recv_window += n;
            frame::put_window_update(&mut self.out, 0, n);
        }
    }

    /// Resets a stream and forgets it (its call, if running, is cancelled).
    pub(super) fn reset(&mut self, id: u32, reason: Reason) {
        frame::put_reset(&mut self.out, id, reason);
        self.streams.remove_reset(id);
        if reason != Reason::NO_ERROR {
            self.error_resets += 1;
        }
    }
}

/// A `content-length` value: decimal digits only.
fn parse_length(value: &[u8]) -> Option<usize> {
    if value.is_empty() || value.len() > 15 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}
