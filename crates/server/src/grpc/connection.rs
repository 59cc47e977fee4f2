//! One gRPC connection, driven on the `h2` crate directly: the HTTP/2 handshake with our
//! SETTINGS, then accept streams and run each one's call ([`Dispatch::serve`]) inline in this
//! task first ([`run_inline_first`]), without the wake-up each inline answer would send this
//! task ([`SelfWake`]); keep-alive pings ([`KeepAlive`]); graceful shutdown when `closing`
//! turns true (GOAWAY, then the connection ends once its streams are done).
//!
//! This replaces hyper's HTTP/2 server for gRPC (see docs/grpc-performance.md): hyper wrapped
//! every stream in its own state machine (request conversion, a body that reports each read to
//! its keep-alive timer under a lock, the service call, a pipe for the response body) before our
//! code ran; here a Predict call goes from h2's request straight to [`super::fast_predict`] and
//! its answer straight to h2's send stream. h2 itself handles the protocol: frame and header
//! validation, flow control, stream states, resets, and errors on bad input.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::{Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use h2::Reason;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use super::inline_executor::run_inline_first;
use super::keep_alive::{KeepAlive, ReadFlag, Watched};
use super::stream::Dispatch;
use tensorserve_selfwake::SelfWake;

/// Connection settings of the gRPC listener.
#[derive(Debug, Clone)]
pub struct Settings {
    /// A PING after this long with nothing read (dead peers are found by pings; idle live
    /// channels are normal in gRPC).
    pub keep_alive_interval: Duration,
    /// How long the peer has to answer that PING before the connection is closed.
    pub keep_alive_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            keep_alive_interval: Duration::from_secs(60),
            keep_alive_timeout: Duration::from_secs(20),
        }
    }
}

/// The HTTP/2 SETTINGS and limits, those hyper's server used for us before.
fn builder() -> h2::server::Builder {
    let mut builder = h2::server::Builder::new();
    builder
        // 1 MB windows: the spec's 64 kB default would throttle large tensors.
        .initial_window_size(1024 * 1024)
        .initial_connection_window_size(1024 * 1024)
        .max_frame_size(16 * 1024)
        .max_header_list_size(16 * 1024)
        .max_local_error_reset_streams(Some(1024))
        .max_send_buffer_size(400 * 1024);
    // No per-connection stream limit (h2's default), as tonic's server had: a client
    // multiplexing many calls on one channel is not queued on its side; the work itself is
    // bounded by admission control (`--max_concurrent_requests_per_model`).
    builder
}

/// Serves gRPC on one connection until the peer closes it, it fails, or `closing` turns true
/// and its streams are done.
pub async fn serve_connection<IO>(
    io: IO,
    dispatch: Dispatch,
    mut closing: watch::Receiver<bool>,
    settings: Settings,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let flag = ReadFlag::default();
    let mut closed = pin!(async move {
        // An error means the listener is gone, which closes too.
        let _ = closing.wait_for(|c| *c).await;
    });
    let mut handshake = pin!(builder().handshake::<_, Bytes>(Watched::new(io, flag.clone())));
    let mut shutting_down = false;
    let handshake = tokio::select! {
        result = &mut handshake => result,
        () = &mut closed => {
            // As hyper: finish the handshake, then GOAWAY at once.
            shutting_down = true;
            handshake.await
        }
    };
    let mut conn = match handshake {
        Ok(conn) => conn,
        Err(e) => {
            tracing::debug!("gRPC handshake failed: {e}");
            return;
        }
    };
    if shutting_down {
        conn.graceful_shutdown();
    }
    let mut keep_alive = conn.ping_pong().map(|ping_pong| {
        KeepAlive::new(
            ping_pong,
            flag,
            settings.keep_alive_interval,
            settings.keep_alive_timeout,
        )
    });
    let mut timed_out = false;
    let self_wake = SelfWake::default();
    let result = poll_fn(|cx| {
        if !shutting_down && closed.as_mut().poll(cx).is_ready() {
            shutting_down = true;
            conn.graceful_shutdown();
        }
        if let Some(k) = &mut keep_alive
            && k.poll_dead(cx).is_ready()
        {
            keep_alive = None;
            timed_out = true;
            conn.abrupt_shutdown(Reason::NO_ERROR);
        }
        // h2 gets a waker that turns the wake-up an inline call sends this task (its answer is
        // queued) into nothing, since h2 is polled again right after the call anyway.
        self_wake.poll(cx, |cx, round| {
            loop {
                match ready!(conn.poll_accept(cx)) {
                    Some(Ok((request, respond))) => {
                        run_inline_first(dispatch.clone().serve(request, respond));
                        round.rearm();
                    }
                    Some(Err(e)) => return Poll::Ready(Err(e)),
                    None => return Poll::Ready(Ok(())),
                }
            }
        })
    })
    .await;
    if timed_out {
        tracing::debug!("gRPC connection closed: keep-alive ping not answered");
    } else if let Err(e) = result {
        tracing::debug!("gRPC connection ended: {e}");
    }
}
