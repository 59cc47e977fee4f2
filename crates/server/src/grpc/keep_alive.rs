//! HTTP/2 keep-alive for the gRPC listener: a connection on which nothing has been read for an
//! interval gets a PING, and one that does not answer within the timeout is closed. Idle live
//! channels are normal in gRPC; this finds dead peers (a vanished client, a dropped NAT entry)
//! without a per-request cost: reads only set a flag ([`ReadFlag`]), the timer runs once per
//! interval.
//!
//! As hyper's server did with `keep_alive_interval` and `keep_alive_timeout` (pings while idle
//! too), except that the silence is measured in whole intervals: the first ping goes out between
//! one and two intervals after the last read, not exactly one.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use h2::{Ping, PingPong};
use tokio::io::{AsyncRead, ReadBuf};

use crate::read_hook::{ReadHook, ReadHooked};
use tokio::time::{Instant, Sleep};

/// Set by [`Watched`] whenever bytes are read; cleared by [`KeepAlive`] at each tick.
#[derive(Debug, Clone, Default)]
pub struct ReadFlag(Arc<AtomicBool>);

impl ReadFlag {
    fn take(&self) -> bool {
        self.0.swap(false, Ordering::Relaxed)
    }
}

/// A connection's I/O that raises a [`ReadFlag`] on every successful read.
pub type Watched<IO> = ReadHooked<IO, ReadFlag>;

impl<IO: AsyncRead + Unpin> ReadHook<IO> for ReadFlag {
    fn poll_read(
        &mut self,
        io: Pin<&mut IO>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = io.poll_read(cx, buf);
        if buf.filled().len() > before {
            self.0.store(true, Ordering::Relaxed);
        }
        result
    }
}

/// The keep-alive state of one connection.
pub struct KeepAlive {
    ping_pong: PingPong,
    flag: ReadFlag,
    interval: Duration,
    timeout: Duration,
    timer: Pin<Box<Sleep>>,
    /// A PING is out and its answer not in yet.
    waiting: bool,
}

impl KeepAlive {
    /// Pings over `ping_pong` after `interval` without reads (as `flag` reports them); the
    /// answer is due within `timeout`.
    pub fn new(
        ping_pong: PingPong,
        flag: ReadFlag,
        interval: Duration,
        timeout: Duration,
    ) -> KeepAlive {
        KeepAlive {
            ping_pong,
            flag,
            interval,
            timeout,
            timer: Box::pin(tokio::time::sleep(interval)),
            waiting: false,
        }
    }

    /// Ready when the peer failed to answer a PING in time: the connection should be closed.
    pub fn poll_dead(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if self.waiting {
                match self.ping_pong.poll_pong(cx) {
                    Poll::Ready(Ok(_)) => {
                        self.waiting = false;
                        self.flag.take();
                        self.rearm(self.interval);
                        continue;
                    }
                    // The connection is closing; its own poll reports why.
                    Poll::Ready(Err(_)) => return Poll::Pending,
                    Poll::Pending => {}
                }
                if self.timer.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(());
                }
                return Poll::Pending;
            }
            if self.timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            if self.flag.take() {
                // Something was read during this interval: the peer is alive.
                self.rearm(self.interval);
                continue;
            }
            if self.ping_pong.send_ping(Ping::opaque()).is_err() {
                // Only when the connection is closing (or a PING is already out).
                return Poll::Pending;
            }
            self.waiting = true;
            self.rearm(self.timeout);
        }
    }

    fn rearm(&mut self, after: Duration) {
        self.timer.as_mut().reset(Instant::now() + after);
    }
}
