//! The client's side of the protocol, without I/O: settings, flow-control windows, the HPACK
//! tables and the one call in flight. It is fed one frame at a time and queues whatever must be
//! sent (acknowledgements, window updates, more request body) into an output buffer, so the
//! unit tests (`tests.rs`) drive it with frames built by hand.
//!
//! Any breach of the protocol by the server ends the connection with [`ErrorKind::Io`]; a load
//! generator counts the error and reconnects rather than explaining it to the server.

use tensorserve_http2::frame::{self, Head, Reason, flag, kind, setting};
use tensorserve_http2::hpack::{Decoder, Encoder};

use crate::target::ErrorKind;

/// The receive windows we announce (per stream and for the connection): large enough that an
/// answer of a few MB never waits for a WINDOW_UPDATE round trip. Replenished when half used.
pub(super) const RECV_WINDOW: u32 = 1 << 20;

/// The protocol's initial window, before SETTINGS or WINDOW_UPDATE change it (RFC 9113 §6.9.2).
const DEFAULT_WINDOW: u32 = 65_535;

/// The largest frame we accept: the protocol's default, as we announce no other.
pub(super) const MAX_FRAME: usize = frame::DEFAULT_MAX_FRAME_SIZE as usize;

/// The largest header block (HEADERS and its CONTINUATIONs) we accept from the server.
const MAX_HEADER_BLOCK: usize = 64 * 1024;

/// The HPACK table size we let the server use: the protocol's default.
const HEADER_TABLE: usize = 4096;

/// Client stream ids are odd and at most 2^31 - 1 (RFC 9113 §5.1.1).
const LAST_STREAM_ID: u32 = frame::MAX_WINDOW;

/// Which part of an answer a header block is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    /// The (final) response head, with `:status`.
    Head,
    /// The trailers, which end the stream.
    Trailers,
}

/// Receives an answer as it arrives, field by field and chunk by chunk (nothing is kept).
pub(crate) trait Answer {
    /// A header block begins. Informational (1xx) heads are skipped, so `Head` comes once.
    fn block(&mut self, part: Part);
    /// One field of the current block, in order, pseudo-header fields included.
    fn field(&mut self, name: &[u8], value: &[u8]);
    /// A piece of the body (padding removed).
    fn data(&mut self, chunk: &[u8]) -> Result<(), ErrorKind>;
}

/// Appends what a client sends first: the preface, our SETTINGS (no server push, our stream
/// window) and the connection window raised to the same size.
pub(super) fn put_preface(out: &mut Vec<u8>) {
    out.extend_from_slice(frame::PREFACE);
    frame::put_settings(
        out,
        &[
            (setting::ENABLE_PUSH, 0),
            (setting::INITIAL_WINDOW_SIZE, RECV_WINDOW),
        ],
    );
    frame::put_window_update(out, 0, RECV_WINDOW - DEFAULT_WINDOW);
}

/// The call in flight (or the last one, once ended).
#[derive(Debug, Default)]
struct Call {
    /// Stream id; 0 before the first call.
    id: u32,
    /// What the server still lets us send on this stream.
    send_window: i64,
    /// Request body bytes sent so far.
    body_sent: usize,
    body_done: bool,
    /// Body bytes received since this stream's last WINDOW_UPDATE.
    unacked: u32,
    /// The last header block seen (None: no head yet).
    part: Option<Part>,
    /// The server ended the stream (or reset it).
    ended: bool,
}

/// A header block being gathered from HEADERS and CONTINUATION frames.
#[derive(Debug, Default)]
struct Block {
    bytes: Vec<u8>,
    stream: u32,
    end_stream: bool,
    /// CONTINUATION frames are expected.
    open: bool,
}

/// One connection's protocol state.
#[derive(Debug)]
pub(super) struct State {
    encoder: Encoder,
    decoder: Decoder,
    /// The request's header block, encoded per call (scratch reused).
    request_block: Vec<u8>,
    block: Block,
    next_stream: u32,
    /// The server's SETTINGS_MAX_FRAME_SIZE and SETTINGS_INITIAL_WINDOW_SIZE.
    peer_max_frame: usize,
    peer_initial_window: i64,
    /// What the server still lets us send on the connection.
    conn_send_window: i64,
    /// Body bytes received on the connection since its last WINDOW_UPDATE.
    conn_unacked: u32,
    /// Set by GOAWAY: the last stream the server will have processed.
    goaway: Option<u32>,
    call: Call,
}

impl State {
    pub fn new() -> State {
        State {
            encoder: Encoder::new(),
            decoder: Decoder::new(HEADER_TABLE),
            request_block: Vec::new(),
            block: Block::default(),
            next_stream: 1,
            peer_max_frame: MAX_FRAME,
            peer_initial_window: i64::from(DEFAULT_WINDOW),
            conn_send_window: i64::from(DEFAULT_WINDOW),
            conn_unacked: 0,
            goaway: None,
            call: Call {
                ended: true,
                body_done: true,
                ..Call::default()
            },
        }
    }

    /// Whether a new call may start here: no GOAWAY received, stream ids left.
    pub fn accepts_calls(&self) -> bool {
        self.goaway.is_none() && self.next_stream <= LAST_STREAM_ID
    }

    /// Whether the call in flight has its whole answer.
    pub fn call_ended(&self) -> bool {
        self.call.ended
    }

    /// Starts a call: queues its header block (`fields`, pseudo-header fields first) and as
    /// much of `body` as the windows allow.
    pub fn start(
        &mut self,
        fields: &[(&[u8], &[u8])],
        body: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), ErrorKind> {
        debug_assert!(self.call.ended, "one call at a time");
        if !self.accepts_calls() {
            return Err(ErrorKind::Io);
        }
        let id = self.next_stream;
        self.next_stream += 2;
        self.call = Call {
            id,
            send_window: self.peer_initial_window,
            body_done: body.is_empty(),
            ..Call::default()
        };
        self.request_block.clear();
        self.encoder
            .encode(fields.iter().copied(), &mut self.request_block);
        frame::put_header_block(
            out,
            id,
            &self.request_block,
            body.is_empty(),
            self.peer_max_frame,
        );
        self.send_body(body, out);
        Ok(())
    }

    /// Queues as much of the rest of `body` as the windows allow (RFC 9113 §6.9).
    pub fn send_body(&mut self, body: &[u8], out: &mut Vec<u8>) {
        let call = &mut self.call;
        while !call.body_done && !call.ended {
            let window = self.conn_send_window.min(call.send_window).max(0) as usize;
            let left = body.len() - call.body_sent;
            let n = left.min(window).min(self.peer_max_frame);
            if n == 0 {
                return; // until a WINDOW_UPDATE
            }
            let chunk = &body[call.body_sent..call.body_sent + n];
            call.body_sent += n;
            call.body_done = call.body_sent == body.len();
            frame::put_data(out, call.id, chunk, call.body_done);
            self.conn_send_window -= n as i64;
            call.send_window -= n as i64;
        }
    }

    /// Handles one frame from the server; `payload` is its whole payload.
    pub fn on_frame(
        &mut self,
        head: Head,
        payload: &[u8],
        out: &mut Vec<u8>,
        answer: &mut impl Answer,
    ) -> Result<(), ErrorKind> {
        if self.block.open && head.kind != kind::CONTINUATION {
            return Err(ErrorKind::Io); // §6.10: nothing may come between the fragments
        }
        match head.kind {
            kind::DATA => self.on_data(head, payload, out, answer),
            kind::HEADERS => self.on_headers(head, payload, out, answer),
            kind::CONTINUATION => self.on_continuation(head, payload, out, answer),
            kind::RST_STREAM => {
                check(head.length == 4 && head.stream != 0)?;
                if head.stream == self.call.id && !self.call.ended {
                    return Err(ErrorKind::Io);
                }
                Ok(())
            }
            kind::SETTINGS => self.on_settings(head, payload, out),
            kind::PING => {
                check(head.length == 8 && head.stream == 0)?;
                if !head.has(flag::ACK) {
                    let mut opaque = [0; 8];
                    opaque.copy_from_slice(payload);
                    frame::put_ping(out, true, opaque);
                }
                Ok(())
            }
            kind::GOAWAY => {
                check(head.length >= 8 && head.stream == 0)?;
                let last = frame::read_u31(payload);
                self.goaway = Some(last);
                // Our stream was not and will not be processed: the call failed.
                check(self.call.ended || self.call.id <= last)
            }
            kind::WINDOW_UPDATE => self.on_window_update(head, payload),
            // We announced ENABLE_PUSH 0 (§8.4).
            kind::PUSH_PROMISE => Err(ErrorKind::Io),
            // PRIORITY is advisory; unknown types are ignored (§5.5).
            _ => Ok(()),
        }
    }

    fn on_data(
        &mut self,
        head: Head,
        payload: &[u8],
        out: &mut Vec<u8>,
        answer: &mut impl Answer,
    ) -> Result<(), ErrorKind> {
        check(head.stream != 0)?;
        // The whole payload, padding included, counts against the windows (§6.9.1).
        let len = head.length as u32;
        self.conn_unacked += len;
        if self.conn_unacked >= RECV_WINDOW / 2 {
            frame::put_window_update(out, 0, self.conn_unacked);
            self.conn_unacked = 0;
        }
        let call = &mut self.call;
        if head.stream != call.id || call.ended {
            return Ok(()); // a stream we are done with
        }
        let (start, end) = frame::strip_padding(&head, payload).ok_or(ErrorKind::Io)?;
        // Body only between the head and the trailers.
        check(call.part == Some(Part::Head))?;
        call.unacked += len;
        answer.data(&payload[start..end])?;
        if head.has(flag::END_STREAM) {
            self.end_call(out);
        } else if call.unacked >= RECV_WINDOW / 2 {
            frame::put_window_update(out, call.id, call.unacked);
            call.unacked = 0;
        }
        Ok(())
    }

    fn on_headers(
        &mut self,
        head: Head,
        payload: &[u8],
        out: &mut Vec<u8>,
        answer: &mut impl Answer,
    ) -> Result<(), ErrorKind> {
        check(head.stream != 0)?;
        let (mut start, end) = frame::strip_padding(&head, payload).ok_or(ErrorKind::Io)?;
        if head.has(flag::PRIORITY) {
            start += 5; // stream dependency and weight, which we do not use
            check(start <= end)?;
        }
        let block = &mut self.block;
        block.bytes.clear();
        block.bytes.extend_from_slice(&payload[start..end]);
        block.stream = head.stream;
        block.end_stream = head.has(flag::END_STREAM);
        block.open = !head.has(flag::END_HEADERS);
        if block.open {
            return Ok(());
        }
        self.on_block(out, answer)
    }

    fn on_continuation(
        &mut self,
        head: Head,
        payload: &[u8],
        out: &mut Vec<u8>,
        answer: &mut impl Answer,
    ) -> Result<(), ErrorKind> {
        let block = &mut self.block;
        check(block.open && head.stream == block.stream)?;
        check(block.bytes.len() + payload.len() <= MAX_HEADER_BLOCK)?;
        block.bytes.extend_from_slice(payload);
        if head.has(flag::END_HEADERS) {
            block.open = false;
            return self.on_block(out, answer);
        }
        Ok(())
    }

    /// A complete header block: always decoded (the HPACK tables must follow every block),
    /// given to `answer` when it belongs to the call in flight.
    fn on_block(&mut self, out: &mut Vec<u8>, answer: &mut impl Answer) -> Result<(), ErrorKind> {
        let (bytes, end_stream) = (&self.block.bytes, self.block.end_stream);
        let call = &mut self.call;
        if self.block.stream != call.id || call.ended {
            return self
                .decoder
                .decode(bytes, &mut |_: &[u8], _: &[u8]| {})
                .map_err(|_| ErrorKind::Io);
        }
        let part = match call.part {
            None => Part::Head,
            Some(Part::Head) => Part::Trailers,
            Some(Part::Trailers) => return Err(ErrorKind::Io),
        };
        // Trailers end the stream (§8.1).
        check(part == Part::Head || end_stream)?;
        // The block is announced on its first field, once an informational `:status 1xx`
        // (which comes first) can be told apart.
        #[derive(PartialEq)]
        enum Seen {
            Nothing,
            Informational,
            Fields,
        }
        let mut seen = Seen::Nothing;
        self.decoder
            .decode(bytes, &mut |name: &[u8], value: &[u8]| match seen {
                Seen::Nothing => {
                    if part == Part::Head && name == b":status" && value.first() == Some(&b'1') {
                        seen = Seen::Informational;
                    } else {
                        seen = Seen::Fields;
                        answer.block(part);
                        answer.field(name, value);
                    }
                }
                Seen::Fields => answer.field(name, value),
                Seen::Informational => {}
            })
            .map_err(|_| ErrorKind::Io)?;
        match seen {
            Seen::Informational => check(!end_stream)?,
            Seen::Nothing => {
                answer.block(part);
                call.part = Some(part);
            }
            Seen::Fields => call.part = Some(part),
        }
        if end_stream {
            self.end_call(out);
        }
        Ok(())
    }

    fn on_settings(
        &mut self,
        head: Head,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), ErrorKind> {
        check(head.stream == 0)?;
        if head.has(flag::ACK) {
            return check(head.length == 0);
        }
        check(head.length.is_multiple_of(6))?;
        for entry in payload.chunks_exact(6) {
            let id = u16::from_be_bytes([entry[0], entry[1]]);
            let value = u32::from_be_bytes([entry[2], entry[3], entry[4], entry[5]]);
            match id {
                setting::HEADER_TABLE_SIZE => self.encoder.set_peer_table_size(value as usize),
                // A server may only say it will not push (§6.5.2).
                setting::ENABLE_PUSH => check(value == 0)?,
                setting::INITIAL_WINDOW_SIZE => {
                    check(value <= frame::MAX_WINDOW)?;
                    // Applies to the open stream's window as a change (§6.9.2).
                    let delta = i64::from(value) - self.peer_initial_window;
                    self.peer_initial_window = i64::from(value);
                    self.call.send_window += delta;
                    check(self.call.send_window <= i64::from(frame::MAX_WINDOW))?;
                }
                setting::MAX_FRAME_SIZE => {
                    check(
                        (frame::DEFAULT_MAX_FRAME_SIZE..=frame::MAX_MAX_FRAME_SIZE)
                            .contains(&value),
                    )?;
                    self.peer_max_frame = value as usize;
                }
                _ => {}
            }
        }
        frame::put_settings_ack(out);
        Ok(())
    }

    fn on_window_update(&mut self, head: Head, payload: &[u8]) -> Result<(), ErrorKind> {
        check(head.length == 4)?;
        let increment = i64::from(frame::read_u31(payload));
        check(increment > 0)?;
        let window = if head.stream == 0 {
            &mut self.conn_send_window
        } else if head.stream == self.call.id {
            &mut self.call.send_window
        } else {
            return Ok(());
        };
        *window += increment;
        check(*window <= i64::from(frame::MAX_WINDOW))
    }

    /// The server ended the stream: if our body is not all sent, cancel the rest (§8.1: a
    /// server may answer before reading the whole request).
    fn end_call(&mut self, out: &mut Vec<u8>) {
        let call = &mut self.call;
        call.ended = true;
        if !call.body_done {
            call.body_done = true;
            frame::put_reset(out, call.id, Reason::CANCEL);
        }
    }
}

/// `Ok` when the server kept to the protocol.
fn check(kept: bool) -> Result<(), ErrorKind> {
    if kept { Ok(()) } else { Err(ErrorKind::Io) }
}
