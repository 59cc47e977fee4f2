//! Keep-alive: a connection on which nothing has been read for an interval gets a PING, and
//! one that does not answer within the timeout is closed. Idle live channels are normal in
//! gRPC; this finds dead peers (a vanished client, a dropped NAT entry) without a per-request
//! cost: reads only set a flag, the timer runs once per interval, so the first ping goes out
//! between one and two intervals after the last read.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

use crate::frame;

/// Our PING's payload (any value; the peer echoes it).
const OPAQUE: [u8; 8] = *b"tsalive!";

pub(super) struct KeepAlive {
    interval: Duration,
    timeout: Duration,
    timer: Pin<Box<Sleep>>,
    read_since_tick: bool,
    awaiting_pong: bool,
}

impl KeepAlive {
    pub fn new(interval: Duration, timeout: Duration) -> KeepAlive {
        KeepAlive {
            interval,
            timeout,
            timer: Box::pin(tokio::time::sleep(interval)),
            read_since_tick: false,
            awaiting_pong: false,
        }
    }

    /// Something arrived from the peer.
    pub fn read_something(&mut self) {
        self.read_since_tick = true;
    }

    /// A PING acknowledgement arrived.
    pub fn pong(&mut self, opaque: [u8; 8]) {
        if opaque == OPAQUE {
            self.awaiting_pong = false;
        }
    }

    /// Ready when the peer is considered dead; may queue a PING into `out`.
    pub fn poll(&mut self, cx: &mut Context<'_>, out: &mut Vec<u8>) -> Poll<()> {
        while self.timer.as_mut().poll(cx).is_ready() {
            let alive = std::mem::take(&mut self.read_since_tick);
            if self.awaiting_pong && !alive {
                return Poll::Ready(());
            }
            if alive {
                self.awaiting_pong = false;
                self.timer.as_mut().reset(Instant::now() + self.interval);
            } else {
                frame::put_ping(out, false, OPAQUE);
                self.awaiting_pong = true;
                self.timer.as_mut().reset(Instant::now() + self.timeout);
            }
        }
        Poll::Pending
    }
}
