//! The gRPC listener: accepts connections and serves each with our own HTTP/2 server
//! ([`tensorserve_http2`], see docs/http2.md) through [`super::connection`], in place of
//! `tonic::transport::Server` and, since session 7, of the `h2` crate:
//!
//! * calls run inline in their connection's task first: a call that finishes in one poll
//!   never gets a task;
//! * Predict goes to [`super::fast_predict`] and is written as headers, one DATA frame and
//!   trailers; every other method, and every other path, goes to tonic's generated services
//!   ([`Dispatch`]).
//!
//! Everything `tonic::transport::Server` did for us is kept (except a `date` header on every
//! answer, which gRPC does not use): HTTP/2 only, keep-alive pings (every 60 s of silence, 20 s
//! to answer), the `grpc-timeout` deadline around every call, and graceful shutdown (stop
//! accepting, GOAWAY to every connection, wait for in-flight calls; the caller bounds that wait
//! and then drops this future, which aborts what is left).

use std::future::Future;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_stream::{Stream, StreamExt};

use super::connection::{Settings, serve_connection};
pub use super::stream::Dispatch;

/// Serves HTTP/2 gRPC connections from `incoming` with `dispatch` until `shutdown` resolves,
/// then shuts every connection down gracefully and returns once they have all closed.
pub async fn serve<I, IO, IE>(
    incoming: I,
    dispatch: Dispatch,
    settings: Settings,
    shutdown: impl Future<Output = ()>,
) where
    I: Stream<Item = Result<IO, IE>>,
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    IE: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (closing, _) = watch::channel(false);
    let mut connections = JoinSet::new();
    // Boxed so that it can be dropped, closing the listener, before the drain.
    let mut incoming = Box::pin(incoming);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let io = tokio::select! {
            _ = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            io = incoming.next() => match io {
                Some(Ok(io)) => io,
                Some(Err(e)) => {
                    tracing::debug!("gRPC accept failed: {}", e.into());
                    continue;
                }
                None => break,
            },
        };
        connections.spawn(serve_connection(
            io,
            dispatch.clone(),
            closing.subscribe(),
            settings.clone(),
        ));
    }
    // Stop accepting, then drain.
    drop(incoming);
    let _ = closing.send(true);
    while connections.join_next().await.is_some() {}
}
