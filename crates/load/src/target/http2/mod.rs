//! A small HTTP/2 client (RFC 9113) for the gRPC target: one connection, one call at a time,
//! each read to the end of its stream inside the caller's own task.
//!
//! Why not the `h2` crate (which this replaced): its client keeps a request handle and a
//! connection driver that hand every request and every frame to each other through shared
//! stream state, and builds an `http::Request` per call. On this machine that made the gRPC
//! target cost ~1.5 µs more CPU per call than the HTTP/1 target, and on a machine shared with
//! the server a heavier client reads as a slower server (docs/load-generator.md, "The gRPC
//! client"). Here a call is one write of ready frames, then reads until its stream ends.
//!
//! The frame and HPACK layers are `tensorserve-http2`'s, the ones our server uses; so that the
//! two sides cannot agree on a shared mistake, `tests/grpc_answers.rs` runs this client
//! against the `h2` crate's server (flow control both ways, CONTINUATION, PING, GOAWAY).
//!
//! [`state`] holds the protocol (windows, settings, HPACK, the call's progress); this file the
//! socket and its buffers.

mod state;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;

use tensorserve_http2::frame::{self, Head};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub(crate) use state::{Answer, Part};
use state::{MAX_FRAME, State};

use super::ErrorKind;

/// Room for two whole frames, so a frame cut by a read always fits once the buffer is
/// compacted.
const INPUT_BUFFER: usize = 2 * (frame::HEADER_LEN + MAX_FRAME);

/// One HTTP/2 connection to a server.
pub(crate) struct Client {
    io: TcpStream,
    /// Bytes read: `input[start..end]` are not yet handled.
    input: Box<[u8]>,
    start: usize,
    end: usize,
    /// Frames to send, written at once.
    out: Vec<u8>,
    state: State,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("peer", &self.io.peer_addr().ok())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects and sends the preface and our settings (the server's come with its first
    /// answer; nothing waits for them, as RFC 9113 §3.4 allows).
    pub async fn connect(addr: SocketAddr) -> Result<Client, ErrorKind> {
        let mut io = TcpStream::connect(addr)
            .await
            .map_err(|_| ErrorKind::Connect)?;
        // Calls are small and answered one at a time: never wait for Nagle.
        io.set_nodelay(true).map_err(|_| ErrorKind::Connect)?;
        let mut out = Vec::with_capacity(1024);
        state::put_preface(&mut out);
        io.write_all(&out).await.map_err(|_| ErrorKind::Io)?;
        out.clear();
        Ok(Client {
            io,
            input: vec![0; INPUT_BUFFER].into_boxed_slice(),
            start: 0,
            end: 0,
            out,
            state: State::new(),
        })
    }

    /// Whether the next call may go on this connection (no GOAWAY, stream ids left).
    pub fn accepts_calls(&self) -> bool {
        self.state.accepts_calls()
    }

    /// Sends one request, `fields` (pseudo-header fields first) and `body`, and gives its
    /// answer to `answer` until the server ends the stream. An error means the connection is
    /// no longer usable.
    pub async fn call(
        &mut self,
        fields: &[(&[u8], &[u8])],
        body: &[u8],
        answer: &mut impl Answer,
    ) -> Result<(), ErrorKind> {
        self.state.start(fields, body, &mut self.out)?;
        loop {
            // Frames handled so far may have queued replies (acknowledgements, window updates)
            // or more body: they go out before we wait for the server again.
            if !self.out.is_empty() {
                let sent = self.io.write_all(&self.out).await;
                self.out.clear();
                sent.map_err(|_| ErrorKind::Io)?;
            }
            if self.state.call_ended() {
                return Ok(());
            }
            self.read().await?;
            self.handle_frames(body, answer)?;
        }
    }

    /// Reads what the socket has, after making room for at least one more whole frame.
    async fn read(&mut self) -> Result<(), ErrorKind> {
        if self.start > 0 && self.input.len() - self.start < frame::HEADER_LEN + MAX_FRAME {
            self.input.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        match self.io.read(&mut self.input[self.end..]).await {
            Ok(0) | Err(_) => Err(ErrorKind::Io),
            Ok(n) => {
                self.end += n;
                Ok(())
            }
        }
    }

    /// Handles every complete frame in the input buffer.
    fn handle_frames(&mut self, body: &[u8], answer: &mut impl Answer) -> Result<(), ErrorKind> {
        while self.end - self.start >= frame::HEADER_LEN {
            let head = Head::parse(&self.input[self.start..]);
            if head.length > MAX_FRAME {
                return Err(ErrorKind::Io); // FRAME_SIZE_ERROR (§4.2)
            }
            let payload_at = self.start + frame::HEADER_LEN;
            if self.end - payload_at < head.length {
                break; // the rest comes with the next read
            }
            self.start = payload_at + head.length;
            let payload = &self.input[payload_at..self.start];
            self.state.on_frame(head, payload, &mut self.out, answer)?;
            self.state.send_body(body, &mut self.out);
        }
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        }
        Ok(())
    }
}
