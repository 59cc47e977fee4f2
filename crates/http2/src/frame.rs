//! HTTP/2 frames (RFC 9113 §4, §6): the 9-byte frame header, the frame types and flags we act
//! on, error codes, and writers that append frames to an output buffer.
//!
//! Reading is done by [`crate::conn`] straight from its read buffer: [`Head::parse`] gives the
//! header, the payload is the next `length` bytes. Writing appends to one `Vec<u8>` per
//! connection, flushed with one write per turn.

/// Bytes in a frame header.
pub const HEADER_LEN: usize = 9;

/// The client connection preface (RFC 9113 §3.4).
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The frame types of RFC 9113 §6. Others are ignored (§5.5).
#[allow(missing_docs)] // the RFC's names, one value each
pub mod kind {
    pub const DATA: u8 = 0x0;
    pub const HEADERS: u8 = 0x1;
    pub const PRIORITY: u8 = 0x2;
    pub const RST_STREAM: u8 = 0x3;
    pub const SETTINGS: u8 = 0x4;
    pub const PUSH_PROMISE: u8 = 0x5;
    pub const PING: u8 = 0x6;
    pub const GOAWAY: u8 = 0x7;
    pub const WINDOW_UPDATE: u8 = 0x8;
    pub const CONTINUATION: u8 = 0x9;
}

/// Frame flags.
#[allow(missing_docs)] // the RFC's names
pub mod flag {
    /// DATA and HEADERS.
    pub const END_STREAM: u8 = 0x1;
    /// SETTINGS and PING.
    pub const ACK: u8 = 0x1;
    /// HEADERS and CONTINUATION.
    pub const END_HEADERS: u8 = 0x4;
    /// DATA and HEADERS.
    pub const PADDED: u8 = 0x8;
    /// HEADERS.
    pub const PRIORITY: u8 = 0x20;
}

/// SETTINGS identifiers (RFC 9113 §6.5.2).
#[allow(missing_docs)] // the RFC's names, one value each
pub mod setting {
    pub const HEADER_TABLE_SIZE: u16 = 0x1;
    pub const ENABLE_PUSH: u16 = 0x2;
    pub const MAX_CONCURRENT_STREAMS: u16 = 0x3;
    pub const INITIAL_WINDOW_SIZE: u16 = 0x4;
    pub const MAX_FRAME_SIZE: u16 = 0x5;
    pub const MAX_HEADER_LIST_SIZE: u16 = 0x6;
}

/// Error codes (RFC 9113 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reason(pub u32);

impl Reason {
    /// Graceful shutdown, or a stream no longer needed.
    pub const NO_ERROR: Reason = Reason(0x0);
    /// A protocol violation.
    pub const PROTOCOL_ERROR: Reason = Reason(0x1);
    /// Our own failure.
    pub const INTERNAL_ERROR: Reason = Reason(0x2);
    /// Flow-control limits broken.
    pub const FLOW_CONTROL_ERROR: Reason = Reason(0x3);
    /// A frame on a stream already half-closed.
    pub const STREAM_CLOSED: Reason = Reason(0x5);
    /// A frame of the wrong size.
    pub const FRAME_SIZE_ERROR: Reason = Reason(0x6);
    /// A stream refused before any processing (safe to retry).
    pub const REFUSED_STREAM: Reason = Reason(0x7);
    /// A stream no longer needed.
    pub const CANCEL: Reason = Reason(0x8);
    /// The header compression state cannot be kept.
    pub const COMPRESSION_ERROR: Reason = Reason(0x9);
    /// The peer asks for too much.
    pub const ENHANCE_YOUR_CALM: Reason = Reason(0xb);
}

/// The largest flow-control window (RFC 9113 §6.9.1).
pub const MAX_WINDOW: u32 = (1 << 31) - 1;

/// The protocol's default and smallest SETTINGS_MAX_FRAME_SIZE.
pub const DEFAULT_MAX_FRAME_SIZE: u32 = 16_384;

/// The largest SETTINGS_MAX_FRAME_SIZE a peer may announce.
pub const MAX_MAX_FRAME_SIZE: u32 = (1 << 24) - 1;

/// A frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Payload length.
    pub length: usize,
    /// One of [`kind`], or an unknown type.
    pub kind: u8,
    /// Bits of [`flag`].
    pub flags: u8,
    /// The stream identifier, reserved bit cleared.
    pub stream: u32,
}

impl Head {
    /// The header at the start of `bytes` (at least [`HEADER_LEN`] long).
    pub fn parse(bytes: &[u8]) -> Head {
        Head {
            length: (usize::from(bytes[0]) << 16)
                | (usize::from(bytes[1]) << 8)
                | usize::from(bytes[2]),
            kind: bytes[3],
            flags: bytes[4],
            stream: read_u31(&bytes[5..9]),
        }
    }

    /// Whether `flag` is set.
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// A big-endian 31-bit value, the reserved top bit ignored.
pub fn read_u31(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) & MAX_WINDOW
}

/// Appends a frame header.
pub fn put_head(out: &mut Vec<u8>, length: usize, kind: u8, flags: u8, stream: u32) {
    debug_assert!(length <= MAX_MAX_FRAME_SIZE as usize);
    let len = (length as u32).to_be_bytes();
    out.extend_from_slice(&[len[1], len[2], len[3], kind, flags]);
    out.extend_from_slice(&(stream & MAX_WINDOW).to_be_bytes());
}

/// Appends SETTINGS with these (identifier, value) pairs.
pub fn put_settings(out: &mut Vec<u8>, settings: &[(u16, u32)]) {
    put_head(out, settings.len() * 6, kind::SETTINGS, 0, 0);
    for (id, value) in settings {
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&value.to_be_bytes());
    }
}

/// Appends a SETTINGS acknowledgement.
pub fn put_settings_ack(out: &mut Vec<u8>) {
    put_head(out, 0, kind::SETTINGS, flag::ACK, 0);
}

/// Appends a PING (or its acknowledgement).
pub fn put_ping(out: &mut Vec<u8>, ack: bool, payload: [u8; 8]) {
    put_head(out, 8, kind::PING, if ack { flag::ACK } else { 0 }, 0);
    out.extend_from_slice(&payload);
}

/// Appends a WINDOW_UPDATE.
pub fn put_window_update(out: &mut Vec<u8>, stream: u32, increment: u32) {
    debug_assert!(increment > 0 && increment <= MAX_WINDOW);
    put_head(out, 4, kind::WINDOW_UPDATE, 0, stream);
    out.extend_from_slice(&increment.to_be_bytes());
}

/// Appends a RST_STREAM.
pub fn put_reset(out: &mut Vec<u8>, stream: u32, reason: Reason) {
    put_head(out, 4, kind::RST_STREAM, 0, stream);
    out.extend_from_slice(&reason.0.to_be_bytes());
}

/// Appends a GOAWAY naming the last stream we will have processed.
pub fn put_goaway(out: &mut Vec<u8>, last_stream: u32, reason: Reason, debug: &[u8]) {
    put_head(out, 8 + debug.len(), kind::GOAWAY, 0, 0);
    out.extend_from_slice(&last_stream.to_be_bytes());
    out.extend_from_slice(&reason.0.to_be_bytes());
    out.extend_from_slice(debug);
}

/// Appends one DATA frame carrying `data`.
pub fn put_data(out: &mut Vec<u8>, stream: u32, data: &[u8], end_stream: bool) {
    let flags = if end_stream { flag::END_STREAM } else { 0 };
    put_head(out, data.len(), kind::DATA, flags, stream);
    out.extend_from_slice(data);
}

/// Appends a header block as HEADERS plus as many CONTINUATION frames as `max_frame` requires.
pub fn put_header_block(
    out: &mut Vec<u8>,
    stream: u32,
    block: &[u8],
    end_stream: bool,
    max_frame: usize,
) {
    let end = if end_stream { flag::END_STREAM } else { 0 };
    let mut chunks = block.chunks(max_frame.max(1)).peekable();
    let first = chunks.next().unwrap_or(&[]);
    let last = chunks.peek().is_none();
    put_head(
        out,
        first.len(),
        kind::HEADERS,
        end | if last { flag::END_HEADERS } else { 0 },
        stream,
    );
    out.extend_from_slice(first);
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        put_head(
            out,
            chunk.len(),
            kind::CONTINUATION,
            if last { flag::END_HEADERS } else { 0 },
            stream,
        );
        out.extend_from_slice(chunk);
    }
}

/// The payload of a frame that may be padded (DATA, HEADERS), without its padding; `None` when
/// the pad length is larger than the payload (a PROTOCOL_ERROR, RFC 9113 §6.1).
pub fn strip_padding(head: &Head, payload: &[u8]) -> Option<(usize, usize)> {
    if !head.has(flag::PADDED) {
        return Some((0, payload.len()));
    }
    let (&pad, _) = payload.split_first()?;
    let end = payload.len().checked_sub(usize::from(pad))?;
    (end >= 1).then_some((1, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_round_trip() {
        let mut out = Vec::new();
        put_head(
            &mut out,
            0x01_02_03,
            kind::HEADERS,
            flag::END_HEADERS,
            0x8000_0005,
        );
        assert_eq!(out.len(), HEADER_LEN);
        let head = Head::parse(&out);
        assert_eq!(
            head,
            Head {
                length: 0x01_02_03,
                kind: kind::HEADERS,
                flags: flag::END_HEADERS,
                stream: 5
            }
        );
    }

    #[test]
    fn header_blocks_are_split_into_continuations() {
        let mut out = Vec::new();
        put_header_block(&mut out, 3, &[7; 10], true, 4);
        // HEADERS(4) + CONTINUATION(4) + CONTINUATION(2)
        assert_eq!(out.len(), 3 * HEADER_LEN + 10);
        let h = Head::parse(&out);
        assert_eq!(
            (h.kind, h.flags, h.length),
            (kind::HEADERS, flag::END_STREAM, 4)
        );
        let c = Head::parse(&out[13..]);
        assert_eq!((c.kind, c.flags, c.length), (kind::CONTINUATION, 0, 4));
        let last = Head::parse(&out[26..]);
        assert_eq!(
            (last.kind, last.flags, last.length),
            (kind::CONTINUATION, flag::END_HEADERS, 2)
        );
    }

    #[test]
    fn padding_is_checked() {
        let padded = Head {
            length: 4,
            kind: kind::DATA,
            flags: flag::PADDED,
            stream: 1,
        };
        assert_eq!(strip_padding(&padded, &[2, b'a', 0, 0]), Some((1, 2)));
        assert_eq!(strip_padding(&padded, &[3, b'a', 0, 0]), Some((1, 1)));
        assert_eq!(strip_padding(&padded, &[4, b'a', 0, 0]), None);
        assert_eq!(strip_padding(&padded, &[]), None);
    }
}
