//! A small predict server for the tests, on 127.0.0.1:0, that can misbehave on purpose, and
//! helpers to run the generator against it.

#![allow(dead_code)]

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tensorserve_load::{DEFAULT_BODY, HttpSpec, HttpTarget, Plan, Report, StopReason};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How the server answers.
#[derive(Clone, Copy, Debug)]
pub enum Behavior {
    /// At once.
    Fast,
    /// Every `n`th request (1st, `n+1`th, …) sleeps `delay` before answering.
    SlowEvery { n: u64, delay: Duration },
    /// Every request that arrives between `after` and `after + length` from the server's start
    /// waits until the end of that window: the whole server stalls.
    Stall { after: Duration, length: Duration },
    /// Every `n`th request is answered with this status.
    FailEvery { n: u64, status: u16 },
}

/// A running test server.
pub struct TestServer {
    /// Its predict URL.
    pub url: String,
    /// Well-formed predict requests received.
    pub received: Arc<AtomicU64>,
    /// Connections accepted.
    pub connections: Arc<AtomicU64>,
    stop: CancellationToken,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Tests that measure time run one at a time, so they do not share the CPU with each other.
pub static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Starts a server on 127.0.0.1:0 on the current runtime.
pub async fn start(behavior: Behavior) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/v1/models/half_plus_two:predict",
        listener.local_addr().unwrap()
    );
    let received = Arc::new(AtomicU64::new(0));
    let connections = Arc::new(AtomicU64::new(0));
    let stop = CancellationToken::new();
    let state = Arc::new(State {
        behavior,
        start: Instant::now(),
        received: Arc::clone(&received),
    });
    let (accepted, stopped) = (Arc::clone(&connections), stop.clone());
    tokio::spawn(async move {
        loop {
            let stream = tokio::select! {
                _ = stopped.cancelled() => return,
                accepted = listener.accept() => match accepted { Ok((stream, _)) => stream, Err(_) => continue },
            };
            accepted.fetch_add(1, Ordering::Relaxed);
            let _ = stream.set_nodelay(true);
            let (state, stopped) = (Arc::clone(&state), stopped.clone());
            tokio::spawn(async move {
                let service = service_fn(move |req| answer(Arc::clone(&state), req));
                let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                tokio::select! {
                    _ = stopped.cancelled() => {}
                    _ = conn => {}
                }
            });
        }
    });
    TestServer {
        url,
        received,
        connections,
        stop,
    }
}

struct State {
    behavior: Behavior,
    start: Instant,
    received: Arc<AtomicU64>,
}

async fn answer(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let right_place =
        req.method() == "POST" && req.uri().path() == "/v1/models/half_plus_two:predict";
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if !right_place || body != DEFAULT_BODY.as_bytes() {
        return Ok(reply(
            StatusCode::BAD_REQUEST,
            r#"{"error": "unexpected request"}"#,
        ));
    }
    let n = state.received.fetch_add(1, Ordering::Relaxed);
    match state.behavior {
        Behavior::Fast => {}
        Behavior::SlowEvery { n: every, delay } => {
            if n.is_multiple_of(every) {
                tokio::time::sleep(delay).await;
            }
        }
        Behavior::Stall { after, length } => {
            let (from, until) = (state.start + after, state.start + after + length);
            let now = Instant::now();
            if now >= from && now < until {
                tokio::time::sleep_until(until.into()).await;
            }
        }
        Behavior::FailEvery { n: every, status } => {
            if n % every == every - 1 {
                return Ok(reply(
                    StatusCode::from_u16(status).unwrap(),
                    r#"{"error": "on purpose"}"#,
                ));
            }
        }
    }
    Ok(reply(
        StatusCode::OK,
        "{\n    \"predictions\": [2.5, 3.0, 4.5\n    ]\n}",
    ))
}

fn reply(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    response
}

/// Runs `plan` against `url` with the lab's predict request.
pub async fn run(url: &str, plan: &Plan) -> Report {
    run_until(url, plan, &CancellationToken::new()).await
}

/// Like [`run`], stoppable with `interrupt`.
pub async fn run_until(url: &str, plan: &Plan, interrupt: &CancellationToken) -> Report {
    let target = HttpTarget::new(&HttpSpec::post_json(url, DEFAULT_BODY)).unwrap();
    tensorserve_load::run(Arc::new(target), plan, interrupt, |_| {})
        .await
        .unwrap()
}

/// Asserts every request is accounted for exactly once.
pub fn assert_consistent(report: &Report) {
    let c = &report.counts;
    assert_eq!(c.sent, c.ok + c.errors - c.dropped + c.unfinished, "{c:?}");
    if report.open_loop {
        assert_eq!(c.offered, c.sent + c.dropped + c.unsent, "{c:?}");
    }
    let per_kind: u64 = report.errors.iter().map(|e| e.count).sum();
    assert_eq!(per_kind, c.errors);
    let series_ok: u64 = report.series.iter().map(|s| s.ok).sum();
    assert_eq!(series_ok, c.ok, "the series adds up to the totals");
}

/// Milliseconds.
/// The checks for a 2 s open loop at 1000 req/s whose server stalls from 0.5 s to 1.0 s: every
/// request answered, and the stall shows in the latency because it is measured from each
/// request's scheduled send time.
pub fn assert_stall_shows(report: &Report) {
    let latency = report.latency_ms.clone().unwrap();
    assert_eq!(report.counts.ok, 2000, "{:?}", report.counts);
    // A quarter of the requests were due during the stall, waiting 0..500 ms: p99 ~ 480 ms.
    assert!(
        latency.p99 >= 400.0,
        "p99 {} ms hides the stall",
        latency.p99
    );
    assert!(latency.max >= 450.0, "max {} ms", latency.max);
    assert!(latency.p90 >= 200.0, "p90 {} ms", latency.p90);
    assert_consistent(report);
}

/// A run bounded by `--requests n` stopped for that reason, with all `n` sent, answered OK and
/// timed.
pub fn assert_all_answered(report: &Report, n: u64) {
    let c = &report.counts;
    assert_eq!(report.stopped_by, StopReason::Requests);
    assert_eq!((c.sent, c.ok, c.errors), (n, n, 0), "{:?}", report.errors);
    assert_eq!(report.latency_ms.as_ref().unwrap().count, n);
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
