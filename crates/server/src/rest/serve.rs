//! The REST listener: hyper on Tokio, with the connection limits `axum::serve` does not offer.
//!
//! * `--rest_api_max_connections`: connections beyond it wait in the kernel's accept backlog
//!   instead of costing memory here;
//! * `--rest_api_idle_timeout_seconds`: hyper's HTTP/1 header read timeout, which runs both
//!   while a request's headers arrive (slow clients) and while a keep-alive connection waits
//!   for its next request (idle clients); HTTP/2 connections get keep-alive pings at the same
//!   interval, so dead peers are dropped.
//!
//! Shutdown: when `stop` resolves the listener is closed, every connection is asked to finish
//! (in-flight requests complete, idle keep-alive connections close), and [`serve`] returns once
//! they are all gone or `grace` has passed, aborting the rest.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::RestService;

/// Connection limits.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Open connections at most.
    pub max_connections: usize,
    /// Header read and keep-alive idle timeout.
    pub idle_timeout: Duration,
}

/// Waits, at most `limit`, until the connection has sent enough to tell HTTP/1 from HTTP/2.
///
/// hyper-util's protocol detection reads the first bytes before hyper's own header timeout
/// starts, so a client that connects and sends nothing would otherwise be kept forever.
async fn first_request_bytes(stream: &TcpStream, limit: Duration) -> bool {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let deadline = tokio::time::Instant::now() + limit;
    let mut buf = [0u8; PREFACE.len()];
    loop {
        let n = match tokio::time::timeout_at(deadline, stream.peek(&mut buf)).await {
            Ok(Ok(n)) => n,
            Ok(Err(_)) | Err(_) => return false,
        };
        if n == 0 {
            return false;
        }
        if n == PREFACE.len() || buf[..n] != PREFACE[..n] {
            return true;
        }
        // Part of an HTTP/2 preface: peek returns at once while bytes are buffered, so pause
        // before looking again (real HTTP/2 clients send the preface in one packet).
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Serves `service` on `listener` until `stop`, then drains for at most `grace`.
pub async fn serve(
    listener: TcpListener,
    service: RestService,
    limits: ConnectionLimits,
    stop: impl Future<Output = ()>,
    grace: Duration,
) {
    // Zero turns the timeouts off.
    let idle = Some(limits.idle_timeout).filter(|d| !d.is_zero());
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(idle);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(idle)
        .keep_alive_timeout(limits.idle_timeout.min(Duration::from_secs(20)));
    let builder = Arc::new(builder);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (closing, _) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(stop);
    loop {
        // Wait for a connection slot first, so that excess clients queue in the backlog.
        let slot = tokio::select! {
            _ = &mut stop => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (stream, _peer) = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let builder = builder.clone();
        let service = service.clone();
        let mut closing = closing.subscribe();
        connections.spawn(async move {
            let _slot = slot;
            if let Some(limit) = idle
                && !first_request_bytes(&stream, limit).await
            {
                return;
            }
            let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                let service = service.clone();
                async move { Ok::<_, std::convert::Infallible>(service.call(request).await) }
            });
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => return,
                _ = closing.wait_for(|c| *c) => connection.as_mut().graceful_shutdown(),
            }
            let _ = connection.await;
        });
    }
    drop(listener);
    let _ = closing.send(true);
    let drained = tokio::time::timeout(grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = connections.len(),
            "shutdown grace period elapsed with requests still in flight"
        );
        connections.abort_all();
    }
}
