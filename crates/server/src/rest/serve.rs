//! The REST listener: hyper on Tokio, with the connection limits `axum::serve` does not offer.
//!
//! * `--rest_api_max_connections`: connections beyond it wait in the kernel's accept backlog
//!   instead of costing memory here;
//! * `--rest_api_idle_timeout_seconds`: an HTTP/1 connection with no request in flight that
//!   has neither started nor finished a request for this long is closed, which covers both a
//!   client whose headers trickle in and an idle keep-alive connection (an idle one closes at
//!   once, a half-sent request or a half-read answer gets one more period). A watchdog per
//!   connection checks this four times per period ([`super::idle`]) instead of hyper's header
//!   read timeout, which arms and cancels a timer for every request (an allocation, a timer
//!   wheel insert and removal, and a kernel timer when a worker parks). HTTP/2 connections get
//!   keep-alive pings at the same interval, so dead peers are dropped.
//!
//! Shutdown: when `stop` resolves the listener is closed, every connection is asked to finish
//! (in-flight requests complete, idle keep-alive connections close), and [`serve`] returns once
//! they are all gone or `grace` has passed, aborting the rest.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::RestService;
use super::h1;
use super::idle::{Activity, idle_for};

/// Connection limits.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Open connections at most.
    pub max_connections: usize,
    /// Header read and keep-alive idle timeout.
    pub idle_timeout: Duration,
}

/// The protocol a connection opened with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Http1,
    Http2,
}

/// Waits (at most `limit`, when there is one) until the connection has sent enough to tell
/// HTTP/1 from HTTP/2; `None` when it sent nothing in time or closed.
///
/// The protocol then picks hyper's HTTP/1 or HTTP/2 connection directly: hyper-util's
/// auto-detecting connection would read the same bytes again through a rewinding wrapper on
/// every read, and it would keep a client that connects and sends nothing forever.
async fn first_request_bytes(stream: &TcpStream, limit: Option<Duration>) -> Option<Protocol> {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let deadline = limit.map(|limit| tokio::time::Instant::now() + limit);
    let mut buf = [0u8; PREFACE.len()];
    loop {
        let peeked = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, stream.peek(&mut buf))
                .await
                .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into())),
            None => stream.peek(&mut buf).await,
        };
        let Ok(n) = peeked else {
            return None;
        };
        if n == 0 {
            return None;
        }
        if buf[..n] != PREFACE[..n] {
            return Some(Protocol::Http1);
        }
        if n == PREFACE.len() {
            return Some(Protocol::Http2);
        }
        // Part of an HTTP/2 preface: peek returns at once while bytes are buffered, so pause
        // before looking again (real HTTP/2 clients send the preface in one packet).
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Runs one connection to its end: asked to finish when the server closes, and (HTTP/1 with a
/// timeout) when the idle watchdog fires. An idle keep-alive connection then closes at once; a
/// first request whose headers never completed, or an answer a slow client is still reading,
/// gets one more period before the connection is dropped.
async fn drive<C: Future>(
    connection: C,
    shut_down: impl Fn(Pin<&mut C>),
    mut closing: watch::Receiver<bool>,
    watched: Option<(Arc<Activity>, Duration)>,
) {
    tokio::pin!(connection);
    let idle_watch = async {
        match &watched {
            Some((activity, limit)) => {
                idle_for(activity, *limit).await;
                *limit
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = connection.as_mut() => return,
        // (The watch guard is dropped at once: the arm below awaits.)
        _ = async { closing.wait_for(|c| *c).await.map(|_| ()) } => {}
        limit = idle_watch => {
            shut_down(connection.as_mut());
            let _ = tokio::time::timeout(limit, connection.as_mut()).await;
            return;
        }
    }
    shut_down(connection.as_mut());
    let _ = connection.await;
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
    // hyper's own header read timeout is replaced by the watchdog (module docs).
    let mut http1 = http1::Builder::new();
    http1.header_read_timeout(None);
    let mut http2 = http2::Builder::new(TokioExecutor::new());
    http2
        .timer(TokioTimer::new())
        .keep_alive_interval(idle)
        .keep_alive_timeout(limits.idle_timeout.min(Duration::from_secs(20)));
    let builders = Arc::new((http1, http2));
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
        let builders = builders.clone();
        let service = service.clone();
        let mut closing = closing.subscribe();
        connections.spawn(async move {
            let _slot = slot;
            let Some(protocol) = first_request_bytes(&stream, idle).await else {
                return;
            };
            // The HTTP/1 idle watchdog's view of this connection, when there is a timeout.
            let watched = match (protocol, idle) {
                (Protocol::Http1, Some(limit)) => Some((Arc::new(Activity::default()), limit)),
                _ => None,
            };
            let activity = watched.as_ref().map(|(activity, _)| activity.clone());
            let plain = service.clone();
            let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                let service = service.clone();
                let in_flight = activity.as_ref().map(Activity::begin);
                async move {
                    let response = service.call(request).await;
                    drop(in_flight);
                    Ok::<_, std::convert::Infallible>(response)
                }
            });
            match protocol {
                Protocol::Http1 => {
                    let mut stream = stream;
                    let read = match h1::serve(&mut stream, &plain, &mut closing, watched.as_ref())
                        .await
                    {
                        h1::Outcome::Closed => return,
                        h1::Outcome::ToHyper(read) => read,
                    };
                    let io = TokioIo::new(h1::prefixed(read, stream));
                    let connection = builders.0.serve_connection(io, service);
                    drive(connection, |c| c.graceful_shutdown(), closing, watched).await;
                }
                Protocol::Http2 => {
                    let connection = builders.1.serve_connection(TokioIo::new(stream), service);
                    drive(connection, |c| c.graceful_shutdown(), closing, None).await;
                }
            }
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
