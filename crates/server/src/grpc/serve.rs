//! The gRPC listener: hyper's HTTP/2 server on Tokio, in place of `tonic::transport::Server`, so
//! that two things on the hot path are ours (see docs/performance.md, "gRPC"):
//!
//! * streams run on [`InlineFirstPoll`]: a call that finishes in one poll never gets a task;
//! * Predict goes to [`fast_predict`] before tonic's router; every other method, and every
//!   other path, goes to tonic's generated services as before.
//!
//! Everything `tonic::transport::Server` did for us is kept (except a `date` header on every
//! answer, which gRPC does not use): HTTP/2 only, keep-alive pings
//! (every 60 s, 20 s to answer), the `grpc-timeout` deadline ([`Deadline`], around both paths),
//! and graceful shutdown (stop accepting, GOAWAY to every connection, wait for in-flight calls;
//! the caller bounds that wait and then drops this future, which aborts what is left).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http2;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_stream::{Stream, StreamExt};
use tower::Service;

use super::deadline::Deadline;
use super::fast_predict::{self, PREDICT_PATH};
use super::inline_executor::InlineFirstPoll;
use crate::state::AppState;

/// Predict to the fast path, the rest to tonic's routes.
#[derive(Clone)]
pub struct Dispatch {
    state: AppState,
    routes: tonic::service::Routes,
}

impl Dispatch {
    /// Serves `routes`, with Predict answered by [`fast_predict`] over `state`.
    pub fn new(state: AppState, routes: tonic::service::Routes) -> Dispatch {
        Dispatch { state, routes }
    }
}

type BoxResponseFuture =
    Pin<Box<dyn Future<Output = Result<Response<tonic::body::Body>, Infallible>> + Send>>;

impl Service<Request<Incoming>> for Dispatch {
    type Response = Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Service::<Request<Incoming>>::poll_ready(&mut self.routes, cx)
    }

    fn call(&mut self, request: Request<Incoming>) -> Self::Future {
        if request.uri().path() == PREDICT_PATH {
            let state = self.state.clone();
            Box::pin(async move { Ok(fast_predict::call(state, request).await) })
        } else {
            Box::pin(self.routes.call(request))
        }
    }
}

/// Serves HTTP/2 gRPC connections from `incoming` with `service` until `shutdown` resolves,
/// then shuts every connection down gracefully and returns once they have all closed.
pub async fn serve<I, IO, IE>(
    incoming: I,
    service: Deadline<Dispatch>,
    shutdown: impl Future<Output = ()>,
) where
    I: Stream<Item = Result<IO, IE>>,
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    IE: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut builder = http2::Builder::new(InlineFirstPoll);
    builder
        .timer(TokioTimer::new())
        // Dead peers are found by HTTP/2 pings; idle live channels are normal in gRPC.
        .keep_alive_interval(Some(Duration::from_secs(60)))
        .keep_alive_timeout(Duration::from_secs(20))
        // As tonic's server did: no per-connection stream limit (hyper's default is 200), so
        // a client multiplexing many calls on one channel is not queued on its side; the work
        // itself is bounded by admission control (`--max_concurrent_requests_per_model`).
        .max_concurrent_streams(None)
        // gRPC clients do not read `date` (TF Serving's server does not send one): formatting
        // and HPACK-encoding it for every answer is wasted work.
        .auto_date_header(false);
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
        let service = service.clone();
        let builder = builder.clone();
        let mut closing = closing.subscribe();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                service.clone().call(request)
            });
            let connection = builder.serve_connection(TokioIo::new(io), service);
            tokio::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!("gRPC connection ended: {e}");
                    }
                    return;
                }
                _ = closing.wait_for(|c| *c) => connection.as_mut().graceful_shutdown(),
            }
            let _ = connection.await;
        });
    }
    // Stop accepting, then drain.
    drop(incoming);
    let _ = closing.send(true);
    while connections.join_next().await.is_some() {}
}
