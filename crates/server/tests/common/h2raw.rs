//! A raw HTTP/2 client for wire-level tests: writes frames exactly as a test builds them (any
//! type, flags, stream id, padding; header blocks hand-encoded as HPACK literals) and reads the
//! server's frames back one by one, decoding its header blocks with a real HPACK decoder.
//!
//! It does only what keeps a connection alive, so tests see everything else: it ACKs the
//! server's SETTINGS and PINGs and tracks the server's flow-control windows (for
//! [`Conn::send_data`]). Every read has a timeout, so a server that stops answering fails the
//! test instead of hanging it.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long one read may wait: generous, since the box is small and loaded.
pub const READ_TIMEOUT: Duration = Duration::from_secs(15);

pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// Frame types (RFC 9113 §6).
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

// Flags.
pub const END_STREAM: u8 = 0x1;
pub const ACK: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;
pub const PADDED: u8 = 0x8;
pub const PRIORITY_FLAG: u8 = 0x20;

// SETTINGS identifiers.
pub const HEADER_TABLE_SIZE: u16 = 0x1;
pub const ENABLE_PUSH: u16 = 0x2;
pub const MAX_CONCURRENT_STREAMS: u16 = 0x3;
pub const INITIAL_WINDOW_SIZE: u16 = 0x4;
pub const MAX_FRAME_SIZE: u16 = 0x5;
pub const MAX_HEADER_LIST_SIZE: u16 = 0x6;

// Error codes (RFC 9113 §7).
pub const NO_ERROR: u32 = 0x0;
pub const PROTOCOL_ERROR: u32 = 0x1;
pub const FLOW_CONTROL_ERROR: u32 = 0x3;
pub const STREAM_CLOSED: u32 = 0x5;
pub const FRAME_SIZE_ERROR: u32 = 0x6;
pub const CANCEL: u32 = 0x8;
pub const COMPRESSION_ERROR: u32 = 0x9;
pub const ENHANCE_YOUR_CALM: u32 = 0xb;

/// One frame as read off the wire.
#[derive(Debug, Clone)]
pub struct Frame {
    pub ty: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The 32-bit big-endian word at `at` in the payload.
    pub fn u32_at(&self, at: usize) -> u32 {
        u32::from_be_bytes(self.payload[at..at + 4].try_into().unwrap())
    }
}

/// What the server sent, header blocks already reassembled and decoded.
#[derive(Debug)]
pub enum Event {
    Headers {
        stream: u32,
        fields: Vec<(String, String)>,
        end_stream: bool,
    },
    Data {
        stream: u32,
        /// The data without padding.
        data: Vec<u8>,
        /// The whole payload length, padding included: what flow control counts.
        flow_len: usize,
        end_stream: bool,
    },
    /// Any other frame (SETTINGS and PING are also answered by the client itself).
    Frame(Frame),
}

/// Why reading stopped.
#[derive(Debug, PartialEq)]
pub enum End {
    /// EOF or a reset: the server closed the connection.
    Closed,
    /// Nothing arrived within [`READ_TIMEOUT`].
    Timeout,
}

/// A client connection.
pub struct Conn {
    io: TcpStream,
    rbuf: Vec<u8>,
    pending: VecDeque<Event>,
    block: Option<(u32, bool, Vec<u8>)>,
    /// Decodes the server's header blocks; its table size follows our SETTINGS.
    pub decoder: fluke_hpack::Decoder<'static>,
    /// What the server lets us send: the connection window and each stream's.
    pub conn_window: i64,
    initial_window: i64,
    stream_windows: HashMap<u32, i64>,
    /// The server's max frame size for what we send.
    pub max_frame: usize,
    /// Every SETTINGS parameter the server sent, in order.
    pub server_settings: Vec<(u16, u32)>,
    /// How many of our SETTINGS frames the server has acknowledged.
    pub settings_acks: usize,
    /// The sum of the server's WINDOW_UPDATE increments on stream 0.
    pub conn_granted: u64,
    next_ping: u64,
}

/// A SETTINGS payload.
pub fn settings_payload(settings: &[(u16, u32)]) -> Vec<u8> {
    let mut p = Vec::new();
    for &(id, value) in settings {
        p.extend_from_slice(&id.to_be_bytes());
        p.extend_from_slice(&value.to_be_bytes());
    }
    p
}

/// A frame's bytes.
pub fn frame_bytes(ty: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut f = Vec::with_capacity(9 + payload.len());
    f.extend_from_slice(&len.to_be_bytes()[1..]);
    f.push(ty);
    f.push(flags);
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An HPACK integer with an `n`-bit prefix whose high bits are `first` (RFC 7541 §5.1).
pub fn hpack_int(out: &mut Vec<u8>, first: u8, n: u32, mut value: usize) {
    let max = (1usize << n) - 1;
    if value < max {
        out.push(first | value as u8);
        return;
    }
    out.push(first | max as u8);
    value -= max;
    while value >= 128 {
        out.push((value % 128) as u8 | 0x80);
        value /= 128;
    }
    out.push(value as u8);
}

/// A header block of literals without indexing and without Huffman coding: no state shared
/// with the server's decoder, so every block can be built (and broken) on its own.
pub fn hpack_block(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in fields {
        out.push(0x00);
        hpack_int(&mut out, 0, 7, name.len());
        out.extend_from_slice(name.as_bytes());
        hpack_int(&mut out, 0, 7, value.len());
        out.extend_from_slice(value.as_bytes());
    }
    out
}

impl Conn {
    /// Opens the TCP connection; nothing is sent yet.
    pub async fn connect(addr: SocketAddr) -> Conn {
        let io = tokio::time::timeout(READ_TIMEOUT, TcpStream::connect(addr))
            .await
            .expect("connect timed out")
            .expect("connect to the gRPC port");
        io.set_nodelay(true).unwrap();
        Conn {
            io,
            rbuf: Vec::new(),
            pending: VecDeque::new(),
            block: None,
            decoder: fluke_hpack::Decoder::new(),
            conn_window: 65_535,
            initial_window: 65_535,
            stream_windows: HashMap::new(),
            max_frame: 16_384,
            server_settings: Vec::new(),
            settings_acks: 0,
            conn_granted: 0,
            next_ping: 1,
        }
    }

    /// Connects, sends the preface and `settings`, and checks the server's first frame is its
    /// SETTINGS (RFC 9113 §3.4), which is acknowledged. Our SETTINGS' ACK is not awaited.
    pub async fn open(addr: SocketAddr, settings: &[(u16, u32)]) -> Conn {
        let mut conn = Conn::connect(addr).await;
        let mut hello = PREFACE.to_vec();
        hello.extend(frame_bytes(SETTINGS, 0, 0, &settings_payload(settings)));
        conn.write(&hello).await;
        let first = conn.raw_frame().await.expect("the server's first frame");
        assert!(
            first.ty == SETTINGS && first.flags & ACK == 0 && first.stream == 0,
            "the server's preface must be a SETTINGS frame, got {first:?}"
        );
        let event = conn.process(first).await.unwrap();
        conn.pending.push_back(event);
        conn
    }

    /// [`Conn::open`] with windows large enough that no test answer ever waits for one.
    pub async fn open_roomy(addr: SocketAddr) -> Conn {
        let mut conn = Conn::open(addr, &[(INITIAL_WINDOW_SIZE, 1 << 30)]).await;
        conn.send(WINDOW_UPDATE, 0, 0, &(1u32 << 30).to_be_bytes())
            .await;
        conn
    }

    /// Writes raw bytes, panicking on failure.
    pub async fn write(&mut self, bytes: &[u8]) {
        self.try_write(bytes).await.expect("write to the server");
    }

    /// Writes raw bytes; fails once the server has closed the connection.
    pub async fn try_write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        tokio::time::timeout(READ_TIMEOUT, self.io.write_all(bytes))
            .await
            .map_err(|_| std::io::Error::other("write timed out"))?
    }

    /// Writes one frame.
    pub async fn send(&mut self, ty: u8, flags: u8, stream: u32, payload: &[u8]) {
        self.write(&frame_bytes(ty, flags, stream, payload)).await;
    }

    /// A HEADERS frame carrying all of `fields` (END_HEADERS set).
    pub async fn send_headers(&mut self, stream: u32, fields: &[(&str, &str)], end_stream: bool) {
        let flags = END_HEADERS | if end_stream { END_STREAM } else { 0 };
        self.send(HEADERS, flags, stream, &hpack_block(fields))
            .await;
    }

    /// Sends `data` on `stream` in DATA frames that fit the server's max frame size and
    /// flow-control windows, waiting for its WINDOW_UPDATEs as needed; events read while
    /// waiting are kept for [`Conn::next`].
    pub async fn send_data(&mut self, stream: u32, data: &[u8], end_stream: bool) {
        let mut rest = data;
        loop {
            let window = self.stream_window(stream).min(self.conn_window);
            let n = rest.len().min(self.max_frame).min(window.max(0) as usize);
            if n == 0 && !rest.is_empty() {
                let event = self.read_event().await.unwrap_or_else(|end| {
                    panic!("{end:?} while waiting for a WINDOW_UPDATE to send on {stream}")
                });
                self.pending.push_back(event);
                continue;
            }
            let last = n == rest.len();
            let flags = if last && end_stream { END_STREAM } else { 0 };
            self.send(DATA, flags, stream, &rest[..n]).await;
            self.conn_window -= n as i64;
            *self
                .stream_windows
                .entry(stream)
                .or_insert(self.initial_window) -= n as i64;
            rest = &rest[n..];
            if last {
                return;
            }
        }
    }

    /// What the server lets us send on `stream` (its own window, not the connection's).
    pub fn stream_window(&self, stream: u32) -> i64 {
        *self
            .stream_windows
            .get(&stream)
            .unwrap_or(&self.initial_window)
    }

    /// The next event, or why there is none.
    pub async fn next(&mut self) -> Result<Event, End> {
        match self.pending.pop_front() {
            Some(event) => Ok(event),
            None => self.read_event().await,
        }
    }

    /// Reads one frame off the socket, without any processing.
    pub async fn raw_frame(&mut self) -> Result<Frame, End> {
        while self.rbuf.len() < 9
            || self.rbuf.len()
                < 9 + u32::from_be_bytes([0, self.rbuf[0], self.rbuf[1], self.rbuf[2]]) as usize
        {
            let mut chunk = [0u8; 16 * 1024];
            match tokio::time::timeout(READ_TIMEOUT, self.io.read(&mut chunk)).await {
                Err(_) => return Err(End::Timeout),
                Ok(Ok(0)) | Ok(Err(_)) => return Err(End::Closed),
                Ok(Ok(n)) => self.rbuf.extend_from_slice(&chunk[..n]),
            }
        }
        let len = u32::from_be_bytes([0, self.rbuf[0], self.rbuf[1], self.rbuf[2]]) as usize;
        let head: Vec<u8> = self.rbuf.drain(..9 + len).collect();
        Ok(Frame {
            ty: head[3],
            flags: head[4],
            stream: u32::from_be_bytes(head[5..9].try_into().unwrap()) & 0x7fff_ffff,
            payload: head[9..].to_vec(),
        })
    }

    async fn read_event(&mut self) -> Result<Event, End> {
        loop {
            let frame = self.raw_frame().await?;
            if let Some(event) = self.process(frame).await {
                return Ok(event);
            }
        }
    }

    /// Applies a frame to the connection state; `None` while a header block is incomplete.
    async fn process(&mut self, frame: Frame) -> Option<Event> {
        match frame.ty {
            SETTINGS if frame.flags & ACK != 0 => self.settings_acks += 1,
            SETTINGS => {
                for pair in frame.payload.chunks_exact(6) {
                    let id = u16::from_be_bytes([pair[0], pair[1]]);
                    let value = u32::from_be_bytes(pair[2..6].try_into().unwrap());
                    self.server_settings.push((id, value));
                    if id == INITIAL_WINDOW_SIZE {
                        let delta = value as i64 - self.initial_window;
                        self.initial_window = value as i64;
                        self.stream_windows.values_mut().for_each(|w| *w += delta);
                    } else if id == MAX_FRAME_SIZE {
                        self.max_frame = value as usize;
                    }
                }
                // The ACK may fail if the server is already closing; reads will tell.
                let _ = self.try_write(&frame_bytes(SETTINGS, ACK, 0, &[])).await;
            }
            PING if frame.flags & ACK == 0 => {
                let _ = self
                    .try_write(&frame_bytes(PING, ACK, 0, &frame.payload))
                    .await;
            }
            WINDOW_UPDATE if frame.payload.len() == 4 => {
                let inc = (frame.u32_at(0) & 0x7fff_ffff) as i64;
                if frame.stream == 0 {
                    self.conn_window += inc;
                    self.conn_granted += inc as u64;
                } else {
                    let initial = self.initial_window;
                    *self.stream_windows.entry(frame.stream).or_insert(initial) += inc;
                }
            }
            HEADERS | PUSH_PROMISE | CONTINUATION => return self.header_fragment(frame),
            DATA => {
                let data = strip_padding(&frame).to_vec();
                return Some(Event::Data {
                    stream: frame.stream,
                    data,
                    flow_len: frame.payload.len(),
                    end_stream: frame.flags & END_STREAM != 0,
                });
            }
            _ => {}
        }
        Some(Event::Frame(frame))
    }

    fn header_fragment(&mut self, frame: Frame) -> Option<Event> {
        assert_ne!(
            frame.ty, PUSH_PROMISE,
            "a server must not push to a gRPC client"
        );
        if frame.ty == HEADERS {
            assert!(
                self.block.is_none(),
                "HEADERS inside a header block: {frame:?}"
            );
            let mut fragment = strip_padding(&frame);
            if frame.flags & PRIORITY_FLAG != 0 {
                fragment = &fragment[5..];
            }
            let end_stream = frame.flags & END_STREAM != 0;
            self.block = Some((frame.stream, end_stream, fragment.to_vec()));
        } else {
            let block = self.block.as_mut().expect("CONTINUATION without HEADERS");
            assert_eq!(block.0, frame.stream, "CONTINUATION on another stream");
            block.2.extend_from_slice(&frame.payload);
        }
        if frame.flags & END_HEADERS == 0 {
            return None;
        }
        let (stream, end_stream, block) = self.block.take().unwrap();
        let fields = self
            .decoder
            .decode(&block)
            .unwrap_or_else(|e| panic!("the server's header block does not decode: {e:?}"));
        let fields = fields
            .into_iter()
            .map(|(n, v)| {
                let n = String::from_utf8(n).expect("header name is UTF-8");
                (n, String::from_utf8_lossy(&v).into_owned())
            })
            .collect();
        Some(Event::Headers {
            stream,
            fields,
            end_stream,
        })
    }

    /// Sends a PING and reads until its ACK, returning the events seen before it. Everything
    /// the server sent before it read our PING precedes the ACK on the wire.
    pub async fn ping_roundtrip(&mut self) -> Vec<Event> {
        let payload = (0x7e57_0000_0000_0000u64 + self.next_ping).to_be_bytes();
        self.next_ping += 1;
        self.send(PING, 0, 0, &payload).await;
        let mut seen = Vec::new();
        loop {
            match self.next().await {
                Ok(Event::Frame(f)) if f.ty == PING && f.flags & ACK != 0 => {
                    assert_eq!(f.payload, payload, "PING ACK with another payload");
                    return seen;
                }
                Ok(Event::Frame(f)) if f.ty == GOAWAY => {
                    panic!("GOAWAY instead of PING ACK: {}", goaway_text(&f))
                }
                Ok(event) => seen.push(event),
                Err(end) => panic!("{end:?} while waiting for a PING ACK"),
            }
        }
    }
}

/// A DATA or HEADERS payload without its padding.
pub fn strip_padding(frame: &Frame) -> &[u8] {
    if frame.flags & PADDED == 0 {
        return &frame.payload;
    }
    let pad = frame.payload[0] as usize;
    &frame.payload[1..frame.payload.len() - pad]
}

/// A GOAWAY for messages: last stream id, code and debug data.
pub fn goaway_text(f: &Frame) -> String {
    format!(
        "GOAWAY last_stream={} code={} debug={:?}",
        f.u32_at(0) & 0x7fff_ffff,
        f.u32_at(4),
        String::from_utf8_lossy(&f.payload[8..])
    )
}
