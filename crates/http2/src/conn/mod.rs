//! One HTTP/2 server connection, driven by one task ([`serve`]).
//!
//! Each turn: answers from calls that finished elsewhere, bodies to pull, window updates to
//! give back, then every complete frame in the read buffer is handled and more is read until
//! the socket has nothing, and finally everything written meanwhile goes out in one write.
//! A unary call whose answer is ready at its first poll (a fast model run inline) is answered
//! within the same turn, so a batch of requests read together is answered with one write and
//! no task or wake-up of its own ([`calls`]).
//!
//! The modules: [`recv`] handles frames from the peer ([`control`] those about the
//! connection), [`send`] writes answers under the
//! peer's flow control ([`memo`] reuses the header blocks of fixed answers), [`calls`] runs
//! calls, [`streams`] holds per-stream state, and [`keep_alive`] pings a silent peer.

mod calls;
mod control;
mod keep_alive;
mod max_age;
mod memo;
mod recv;
mod send;
mod streams;

use std::future::{Future, poll_fn};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, watch};
use tokio::time::Sleep;

use crate::body::Releases;
use crate::frame::{self, Reason, setting};
use crate::hpack;
use crate::service::{Refusal, Service};
use keep_alive::KeepAlive;
use max_age::{Aged, MaxAge};
use streams::Streams;

/// A connection's limits and timers.
#[derive(Debug, Clone)]
pub struct Config {
    /// A PING after this long with nothing read.
    pub keep_alive_interval: Duration,
    /// How long the peer has to answer that PING before the connection is closed.
    pub keep_alive_timeout: Duration,
    /// SETTINGS_MAX_CONCURRENT_STREAMS: streams past it are refused (REFUSED_STREAM, which
    /// clients retry).
    pub max_concurrent_streams: u32,
    /// SETTINGS_INITIAL_WINDOW_SIZE, and the connection's receive window.
    pub window: u32,
    /// SETTINGS_MAX_HEADER_LIST_SIZE.
    pub max_header_list_size: u32,
    /// Close the connection gracefully once it is this old (±10 %), so that clients reconnect
    /// and spread over new servers; `None`: never.
    pub max_connection_age: Option<Duration>,
    /// After that, how long streams in progress may still take before the connection is closed
    /// anyway; `None`: as long as they need.
    pub max_connection_age_grace: Option<Duration>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            keep_alive_interval: Duration::from_secs(60),
            keep_alive_timeout: Duration::from_secs(20),
            max_concurrent_streams: 1024,
            // 1 MB: the protocol's 64 kB default would throttle large tensors.
            window: 1024 * 1024,
            max_header_list_size: 16 * 1024,
            max_connection_age: None,
            max_connection_age_grace: None,
        }
    }
}

/// The largest frame we accept: the protocol default (we do not announce a larger one).
const MAX_FRAME: usize = frame::DEFAULT_MAX_FRAME_SIZE as usize;

/// The most compressed header-block bytes gathered for one block (HEADERS + CONTINUATION).
const MAX_HEADER_BLOCK: usize = 64 * 1024;

/// Above this many unsent bytes the connection stops reading and pulling bodies until the
/// socket takes them (backpressure on a peer that does not read its answers).
const OUT_HIGH_WATER: usize = 256 * 1024;

/// The payload of the PING that ends the first step of a graceful shutdown.
pub(super) const DRAIN_PING: [u8; 8] = *b"tsdrain!";

/// How much is read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;

/// Serves HTTP/2 on `io` with `service` until the peer goes away, a connection error, or
/// `closing` turns true and the streams in progress are done (graceful shutdown: GOAWAY).
pub async fn serve<IO, S>(io: IO, service: S, closing: watch::Receiver<bool>, config: Config)
where
    IO: AsyncRead + AsyncWrite + Unpin,
    S: Service,
{
    let mut conn = Conn::new(io, service, closing, config);
    let end = poll_fn(|cx| conn.poll_run(cx)).await;
    conn.finish(end).await;
}

/// Why a connection ended.
#[derive(Debug)]
enum End {
    /// Closed cleanly: the peer went away, or a graceful shutdown finished.
    Done,
    /// A connection error: GOAWAY with this code is sent before closing.
    Error(Reason, &'static str),
    /// The socket failed or the peer stopped answering pings: nothing more can be sent.
    Lost(io::Error),
}

/// A connection error raised while handling a frame.
pub(crate) type ConnResult<T = ()> = Result<T, (Reason, &'static str)>;

struct Conn<IO, S: Service> {
    io: IO,
    service: S,
    config: Config,
    read: BytesMut,
    /// Bytes to send, written at the end of each turn.
    out: Vec<u8>,
    /// Whether the client's preface has been read.
    preface_read: bool,
    /// Whether the client's first SETTINGS has arrived (it must be the first frame).
    settings_read: bool,
    read_closed: bool,
    decoder: hpack::Decoder,
    encoder: hpack::Encoder,
    streams: Streams<S::Body>,
    /// Where calls that finished in their own task send their answers.
    replies: calls::Replies<S::Body>,
    releases: Arc<Releases>,
    released: Vec<(u32, usize)>,
    /// Resolves when the listener asks for a graceful shutdown.
    closing: Pin<Box<dyn Future<Output = ()> + Send>>,
    /// GOAWAY sent (graceful): no new streams; the connection ends when the last one does.
    going_away: bool,
    /// Graceful shutdown asked for: the first GOAWAY (all streams) and a PING are out; the
    /// final GOAWAY follows the PING's acknowledgement.
    draining: bool,
    keep_alive: KeepAlive,
    max_age: MaxAge,
    /// A header block waiting for CONTINUATION frames.
    partial: Option<recv::PartialBlock>,
    /// The stream of `partial`, when its HEADERS made it depend on itself.
    self_dependent: Option<u32>,
    /// The peer sent GOAWAY: it opens no more streams.
    peer_going_away: bool,
    /// Wakes the task at the earliest deadline of a body being gathered.
    gather_timer: Option<Pin<Box<Sleep>>>,
    /// Streams we reset for the peer's errors (closed past `recv::MAX_ERROR_RESETS`).
    error_resets: usize,
    /// Whether a streaming request body was ever handed out (its reads give window back).
    streaming_bodies: bool,
    /// Where request heads are decoded ([`crate::head::HeadBuilder`]).
    head_buf: BytesMut,
    /// Scratch for encoding header blocks.
    block: Vec<u8>,
    /// The last blocks of fixed heads and trailers, reused while the encoder's table is
    /// unchanged.
    head_memo: memo::Memo,
    trailers_memo: memo::Memo,
    /// Scratch for the ids of streams with something to send.
    sending: Vec<u32>,
}

impl<IO, S> Conn<IO, S>
where
    IO: AsyncRead + AsyncWrite + Unpin,
    S: Service,
{
    fn new(io: IO, service: S, mut closing: watch::Receiver<bool>, config: Config) -> Conn<IO, S> {
        let mut out = Vec::with_capacity(4096);
        frame::put_settings(
            &mut out,
            &[
                (
                    setting::MAX_CONCURRENT_STREAMS,
                    config.max_concurrent_streams,
                ),
                (setting::INITIAL_WINDOW_SIZE, config.window),
                (setting::MAX_HEADER_LIST_SIZE, config.max_header_list_size),
            ],
        );
        let keep_alive = KeepAlive::new(config.keep_alive_interval, config.keep_alive_timeout);
        let max_age = MaxAge::new(config.max_connection_age, config.max_connection_age_grace);
        Conn {
            io,
            service,
            streams: Streams::new(config.window),
            config,
            read: BytesMut::with_capacity(READ_CHUNK),
            out,
            preface_read: false,
            settings_read: false,
            read_closed: false,
            decoder: hpack::Decoder::new(4096),
            encoder: hpack::Encoder::new(),
            replies: mpsc::unbounded_channel(),
            releases: Arc::new(Releases::default()),
            released: Vec::new(),
            closing: Box::pin(async move {
                // An error means the listener is gone, which closes too.
                let _ = closing.wait_for(|c| *c).await;
            }),
            going_away: false,
            draining: false,
            keep_alive,
            max_age,
            partial: None,
            self_dependent: None,
            peer_going_away: false,
            gather_timer: None,
            error_resets: 0,
            streaming_bodies: false,
            head_buf: BytesMut::new(),
            block: Vec::with_capacity(256),
            head_memo: memo::Memo::default(),
            trailers_memo: memo::Memo::default(),
            sending: Vec::new(),
        }
    }

    /// Runs turns until the connection ends.
    fn poll_run(&mut self, cx: &mut Context<'_>) -> Poll<End> {
        // Sources that wake the task themselves are polled once per wake-up: each poll
        // registers the task's waker, which is all a later event needs (polling them on every
        // turn of the loop below cost a few hundred instructions a request).
        if !self.draining && !self.going_away && self.closing.as_mut().poll(cx).is_ready() {
            self.start_draining();
        }
        match self.max_age.poll(cx) {
            Poll::Ready(Aged::Reached) if !self.draining && !self.going_away => {
                self.start_draining();
            }
            Poll::Ready(Aged::GraceOver) => {
                return Poll::Ready(End::Error(
                    Reason::NO_ERROR,
                    "max connection age grace elapsed",
                ));
            }
            _ => {}
        }
        if let Poll::Ready(()) = self.keep_alive.poll(cx, &mut self.out) {
            // Announced with GOAWAY in case the peer is alive but slow.
            return Poll::Ready(End::Error(Reason::NO_ERROR, "keep-alive ping not answered"));
        }
        while let Poll::Ready(Some(reply)) = self.replies.1.poll_recv(cx) {
            self.answer(reply);
        }
        loop {
            if let Err((reason, why)) = self.pump_bodies(cx) {
                return Poll::Ready(End::Error(reason, why));
            }
            let read = match self.poll_read_frames(cx) {
                Ok(read) => read,
                Err(end) => return Poll::Ready(end),
            };
            // After reading: a body that started arriving now needs its deadline's timer.
            let refused = !self.streams.is_empty() && self.expire_gathering(cx);
            // Window read by streaming bodies goes back (this also registers the task's waker
            // for later reads).
            let gave_back = self.streaming_bodies && self.give_back(cx);
            let wrote = match self.poll_flush(cx) {
                Poll::Ready(Ok(wrote)) => wrote,
                Poll::Ready(Err(e)) => return Poll::Ready(End::Lost(e)),
                Poll::Pending => false,
            };
            if self.out.is_empty()
                && self.streams.is_empty()
                && (self.going_away || self.read_closed || self.peer_going_away)
            {
                return Poll::Ready(End::Done);
            }
            if !read && !wrote && !refused && !gave_back {
                return Poll::Pending;
            }
        }
    }

    /// Refuses bodies past their deadline, and sets the timer for the next one; true when
    /// something was refused.
    fn expire_gathering(&mut self, cx: &mut Context<'_>) -> bool {
        let mut expired = std::mem::take(&mut self.sending);
        expired.clear();
        let next = self.streams.deadlines(&mut expired);
        let refused = !expired.is_empty();
        for &id in &expired {
            self.refuse(id, Refusal::Deadline);
        }
        self.sending = expired;
        match next {
            None => self.gather_timer = None,
            Some(at) => {
                let timer = self
                    .gather_timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
                if timer.deadline() != at {
                    timer.as_mut().reset(at);
                }
                // Registers the wake-up; a timer already due is handled on the next turn.
                if timer.as_mut().poll(cx).is_ready() {
                    cx.waker().wake_by_ref();
                }
            }
        }
        refused
    }

    /// Graceful shutdown, first step (RFC 9113 §6.8): a GOAWAY that refuses nothing yet,
    /// and a PING. Requests the client sent before it saw the GOAWAY arrive before the PING's
    /// acknowledgement, so the final GOAWAY ([`Conn::go_away`]) sent then refuses none of them.
    fn start_draining(&mut self) {
        self.draining = true;
        frame::put_goaway(&mut self.out, frame::MAX_WINDOW, Reason::NO_ERROR, b"");
        frame::put_ping(&mut self.out, false, DRAIN_PING);
    }

    /// Graceful shutdown, final step: GOAWAY naming the last stream we took; streams in
    /// progress finish, later ones are ignored (the client knows they were not processed).
    pub(super) fn go_away(&mut self) {
        if !self.going_away {
            self.going_away = true;
            frame::put_goaway(&mut self.out, self.streams.last_id(), Reason::NO_ERROR, b"");
        }
    }

    /// Reads and handles frames until the socket has no more or output must drain first.
    /// Returns whether anything was read.
    fn poll_read_frames(&mut self, cx: &mut Context<'_>) -> Result<bool, End> {
        let mut read_any = false;
        loop {
            self.handle_buffered()
                .map_err(|(r, why)| End::Error(r, why))?;
            if self.read_closed || self.out.len() > OUT_HIGH_WATER {
                return Ok(read_any);
            }
            self.read.reserve(READ_CHUNK);
            match tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, &mut self.read) {
                Poll::Ready(Ok(0)) => {
                    self.read_closed = true;
                    // The peer closed: nothing more will come, and no answer can be read;
                    // calls in progress are cancelled.
                    self.streams.clear();
                    return Ok(true);
                }
                Poll::Ready(Ok(_)) => {
                    read_any = true;
                    self.keep_alive.read_something();
                }
                Poll::Ready(Err(e)) => return Err(End::Lost(e)),
                Poll::Pending => return Ok(read_any),
            }
        }
    }

    /// Writes what is queued. Ready(true) when bytes went out.
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        let mut written = 0;
        while written < self.out.len() {
            match Pin::new(&mut self.io).poll_write(cx, &self.out[written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => break,
            }
        }
        self.out.drain(..written);
        if written > 0 {
            // A socket that took bytes may have buffered them in the writer.
            if let Poll::Ready(Err(e)) = Pin::new(&mut self.io).poll_flush(cx) {
                return Poll::Ready(Err(e));
            }
            // Keep the buffer from staying large after one big answer.
            if self.out.is_empty() && self.out.capacity() > 4 * OUT_HIGH_WATER {
                self.out = Vec::with_capacity(4096);
            }
        }
        if written == 0 && !self.out.is_empty() {
            return Poll::Pending;
        }
        Poll::Ready(Ok(written > 0))
    }

    /// Sends the final GOAWAY (on an error) and what is left, then closes the socket.
    async fn finish(mut self, end: End) {
        match end {
            End::Done => {}
            End::Error(reason, why) => {
                tracing::debug!("HTTP/2 connection error: {why}");
                frame::put_goaway(
                    &mut self.out,
                    self.streams.last_id(),
                    reason,
                    why.as_bytes(),
                );
            }
            End::Lost(e) => {
                tracing::debug!("HTTP/2 connection lost: {e}");
                self.streams.clear();
                return;
            }
        }
        self.streams.clear();
        let flush = poll_fn(|cx| match self.poll_flush(cx) {
            Poll::Ready(Ok(_)) if !self.out.is_empty() => Poll::Pending,
            Poll::Ready(r) => Poll::Ready(r.map(|_| ())),
            Poll::Pending => Poll::Pending,
        });
        // A peer that does not read gets a bounded wait, not a stuck task.
        let _ = tokio::time::timeout(Duration::from_secs(1), flush).await;
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            tokio::io::AsyncWriteExt::shutdown(&mut self.io),
        )
        .await;
    }
}
