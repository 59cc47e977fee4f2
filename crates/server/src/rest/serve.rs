//! The REST listener: hyper on Tokio, with the connection limits `axum::serve` does not offer.
//!
//! * `--rest_api_max_connections`: connections beyond it wait in the kernel's accept backlog
//!   instead of costing memory here;
//! * `--rest_api_idle_timeout_seconds`: an HTTP/1 connection with no request in flight that
//!   has neither started nor finished a request for this long is closed, which covers both a
//!   client whose headers trickle in and an idle keep-alive connection (an idle one closes at
//!   once, a half-sent request or a half-read answer gets one more period). A watchdog per
//!   connection checks this four times per period ([`idle_for`]) instead of hyper's header
//!   read timeout, which arms and cancels a timer for every request (an allocation, a timer
//!   wheel insert and removal, and a kernel timer when a worker parks). HTTP/2 connections get
//!   keep-alive pings at the same interval, so dead peers are dropped.
//!
//! Shutdown: when `stop` resolves the listener is closed, every connection is asked to finish
//! (in-flight requests complete, idle keep-alive connections close), and [`serve`] returns once
//! they are all gone or `grace` has passed, aborting the rest.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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

/// The protocol a connection opened with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Http1,
    Http2,
}

/// Waits, at most `limit`, until the connection has sent enough to tell HTTP/1 from HTTP/2;
/// `None` when it sent nothing in time or closed.
///
/// hyper-util's protocol detection reads the first bytes before any timeout of ours starts, so
/// a client that connects and sends nothing would otherwise be kept forever.
async fn first_request_bytes(stream: &TcpStream, limit: Duration) -> Option<Protocol> {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let deadline = tokio::time::Instant::now() + limit;
    let mut buf = [0u8; PREFACE.len()];
    loop {
        let n = match tokio::time::timeout_at(deadline, stream.peek(&mut buf)).await {
            Ok(Ok(n)) => n,
            Ok(Err(_)) | Err(_) => return None,
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

/// What the idle watchdog sees of one connection's requests.
#[derive(Default)]
struct Activity {
    /// Requests started plus requests finished: any change means the connection did something.
    events: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    /// Marks a request as started; the guard marks it finished when dropped.
    fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.events.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }
}

/// A request in flight on a watched connection.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.events.fetch_add(1, Ordering::Relaxed);
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Resolves once the connection has had no request in flight, and no request start or end, for
/// `limit` (between `limit` and 1.25 × `limit` after its last activity).
async fn idle_for(activity: &Activity, limit: Duration) {
    let tick = (limit / 4).max(Duration::from_millis(1));
    let mut seen = activity.events.load(Ordering::Relaxed);
    let mut quiet = Duration::ZERO;
    loop {
        tokio::time::sleep(tick).await;
        let now = activity.events.load(Ordering::Relaxed);
        if now != seen || activity.in_flight.load(Ordering::Relaxed) > 0 {
            seen = now;
            quiet = Duration::ZERO;
            continue;
        }
        quiet += tick;
        if quiet >= limit {
            return;
        }
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
    // hyper's own header read timeout is replaced by the watchdog (module docs).
    builder.http1().header_read_timeout(None);
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
            // The HTTP/1 idle watchdog's view of this connection, when there is a timeout.
            let mut watched = None;
            if let Some(limit) = idle {
                match first_request_bytes(&stream, limit).await {
                    None => return,
                    Some(Protocol::Http1) => watched = Some((Arc::new(Activity::default()), limit)),
                    Some(Protocol::Http2) => {}
                }
            }
            let activity = watched.as_ref().map(|(activity, _)| activity.clone());
            let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                let service = service.clone();
                let in_flight = activity.as_ref().map(Activity::begin);
                async move {
                    let response = service.call(request).await;
                    drop(in_flight);
                    Ok::<_, std::convert::Infallible>(response)
                }
            });
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
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
                    // An idle keep-alive connection closes at once; a first request whose
                    // headers never completed, or an answer a slow client is still reading,
                    // gets one more period before the connection is dropped.
                    connection.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(limit, connection.as_mut()).await;
                    return;
                }
            }
            connection.as_mut().graceful_shutdown();
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::{Instant, advance};

    const LIMIT: Duration = Duration::from_secs(8);

    /// How long `idle_for` takes to resolve on a paused clock, with `during` running beside it.
    async fn time_to_idle(activity: Arc<Activity>, during: impl Future<Output = ()>) -> Duration {
        let started = Instant::now();
        let watch = idle_for(&activity, LIMIT);
        tokio::pin!(watch);
        tokio::pin!(during);
        let mut during_done = false;
        loop {
            tokio::select! {
                _ = &mut watch => return started.elapsed(),
                _ = &mut during, if !during_done => during_done = true,
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_connection_is_idle_after_the_limit() {
        let waited = time_to_idle(Arc::new(Activity::default()), async {}).await;
        assert!(waited >= LIMIT && waited <= LIMIT + LIMIT / 4, "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_flight_is_never_idle() {
        let activity = Arc::new(Activity::default());
        let request = activity.begin();
        let waited = time_to_idle(activity, async move {
            // A slow model: ten periods with the request running.
            tokio::time::sleep(LIMIT * 10).await;
            drop(request);
        })
        .await;
        assert!(
            waited >= LIMIT * 11 && waited <= LIMIT * 11 + LIMIT / 4,
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn requests_within_each_period_keep_the_connection() {
        let activity = Arc::new(Activity::default());
        let busy = activity.clone();
        let waited = time_to_idle(activity, async move {
            // A request every 0.9 periods, five times.
            for _ in 0..5 {
                advance(LIMIT * 9 / 10).await;
                drop(busy.begin());
            }
        })
        .await;
        let last = LIMIT * 9 / 10 * 5;
        assert!(
            waited >= last + LIMIT && waited <= last + LIMIT + LIMIT / 4,
            "{waited:?}"
        );
    }
}
