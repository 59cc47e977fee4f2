//! The gRPC target against an HTTP/2 server that is not ours (the `h2` crate), answering every
//! call the same chosen way: how answers that are not plain successes are counted (a status in
//! the trailers, a trailers-only error, no `grpc-status`, a body that is not gRPC framing, an
//! HTTP error status, a reset stream), and whether our HTTP/2 client keeps to the protocol where
//! a one-message exchange does not go (flow control both ways, PING, GOAWAY, 1xx heads, an
//! HPACK table of size 0).

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::assert_consistent;
use hyper::{HeaderMap, Response, StatusCode};
use tensorserve_load::{GrpcSpec, GrpcTarget, Plan, Report};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How the test server answers each call.
#[derive(Clone, Copy, Debug)]
enum Answer {
    /// One framed message and `grpc-status` in the trailers.
    Message(&'static str),
    /// A trailers-only answer: `grpc-status` in the headers, end of stream.
    TrailersOnly(&'static str),
    /// One framed message, then trailers without `grpc-status`.
    NoStatus,
    /// Bytes that are not a gRPC frame, then `grpc-status: 0`.
    Unframed,
    /// HTTP 503 with an empty body.
    Http503,
    /// RST_STREAM instead of an answer.
    Reset,
    /// One message of this many bytes and `grpc-status: 0`.
    Large(usize),
}

/// How the test server behaves besides its answer.
#[derive(Clone, Copy, Debug, Default)]
struct Quirks {
    /// SETTINGS_HEADER_TABLE_SIZE announced (h2's default: 4096).
    header_table_size: Option<u32>,
    /// Send a PING on each connection's first call and answer only once it is acknowledged.
    ping_first: bool,
    /// A `100` head before the answer.
    informational: bool,
    /// Start a graceful shutdown (GOAWAY) on each connection after its first call.
    goaway_after_first: bool,
}

/// Serves calls on 127.0.0.1:0 until the returned token is cancelled.
async fn serve(answer: Answer) -> (String, CancellationToken) {
    serve_with(answer, Quirks::default()).await
}

async fn serve_with(answer: Answer, quirks: Quirks) -> (String, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let stop = CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(async move {
        loop {
            let socket = tokio::select! {
                accepted = listener.accept() => accepted.unwrap().0,
                () = token.cancelled() => return,
            };
            tokio::spawn(async move {
                let mut builder = h2::server::Builder::new();
                if let Some(size) = quirks.header_table_size {
                    builder.header_table_size(size);
                }
                let Ok(mut conn) = builder.handshake(socket).await else {
                    return;
                };
                let mut ping = quirks.ping_first.then(|| conn.ping_pong()).flatten();
                let mut first = true;
                while let Some(Ok((request, respond))) = conn.accept().await {
                    let ping = ping.take();
                    tokio::spawn(async move {
                        if let Some(mut ping) = ping {
                            ping.ping(h2::Ping::opaque()).await.unwrap();
                        }
                        answer_call(answer, quirks, request.into_body(), respond).await;
                    });
                    if quirks.goaway_after_first && std::mem::take(&mut first) {
                        conn.graceful_shutdown();
                    }
                }
            });
        }
    });
    (addr, stop)
}

async fn answer_call(
    answer: Answer,
    quirks: Quirks,
    mut body: h2::RecvStream,
    mut respond: h2::server::SendResponse<Bytes>,
) {
    let mut request = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.unwrap();
        request.extend_from_slice(&chunk);
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    // The request must be one whole gRPC message, however it was cut into frames.
    let declared = request
        .get(1..5)
        .map(|len| u32::from_be_bytes(len.try_into().unwrap()) as usize);
    if declared.map(|len| len + 5) != Some(request.len()) {
        let mut h = Response::new(());
        h.headers_mut().insert("grpc-status", "3".parse().unwrap());
        respond.send_response(h, true).unwrap();
        return;
    }
    if quirks.informational {
        let mut continue_head = Response::new(());
        *continue_head.status_mut() = StatusCode::CONTINUE;
        respond.send_informational(continue_head).unwrap();
    }
    let head = |status: StatusCode| {
        let mut head = Response::new(());
        *head.status_mut() = status;
        head.headers_mut()
            .insert("content-type", "application/grpc".parse().unwrap());
        head
    };
    let trailers = |status: Option<&'static str>| {
        let mut t = HeaderMap::new();
        if let Some(status) = status {
            t.insert("grpc-status", status.parse().unwrap());
        }
        t
    };
    let message = Bytes::from_static(&[0, 0, 0, 0, 2, 8, 1]);
    match answer {
        Answer::Message(status) => {
            let mut tx = respond.send_response(head(StatusCode::OK), false).unwrap();
            tx.send_data(message, false).unwrap();
            tx.send_trailers(trailers(Some(status))).unwrap();
        }
        Answer::TrailersOnly(status) => {
            let mut h = head(StatusCode::OK);
            h.headers_mut()
                .insert("grpc-status", status.parse().unwrap());
            respond.send_response(h, true).unwrap();
        }
        Answer::NoStatus => {
            let mut tx = respond.send_response(head(StatusCode::OK), false).unwrap();
            tx.send_data(message, false).unwrap();
            tx.send_trailers(trailers(None)).unwrap();
        }
        Answer::Unframed => {
            let mut tx = respond.send_response(head(StatusCode::OK), false).unwrap();
            tx.send_data(Bytes::from_static(b"{}"), false).unwrap();
            tx.send_trailers(trailers(Some("0"))).unwrap();
        }
        Answer::Http503 => {
            respond
                .send_response(head(StatusCode::SERVICE_UNAVAILABLE), true)
                .unwrap();
        }
        Answer::Reset => respond.send_reset(h2::Reason::INTERNAL_ERROR),
        Answer::Large(len) => {
            let mut framed = vec![0; 5 + len];
            framed[1..5].copy_from_slice(&(len as u32).to_be_bytes());
            let mut tx = respond.send_response(head(StatusCode::OK), false).unwrap();
            // h2 sends it as our windows allow: the call ends only if we give them back.
            tx.send_data(Bytes::from(framed), false).unwrap();
            tx.send_trailers(trailers(Some("0"))).unwrap();
        }
    }
}

async fn run(answer: Answer, requests: u64) -> Report {
    let (addr, stop) = serve(answer).await;
    let report = run_on(&addr, GrpcSpec::lab(&addr, "half_plus_two", None), requests).await;
    stop.cancel();
    report
}

/// Runs `requests` calls of `spec` on two connections, each call within 5 s.
async fn run_on(addr: &str, mut spec: GrpcSpec, requests: u64) -> Report {
    addr.clone_into(&mut spec.addr);
    let target = GrpcTarget::new(&spec).unwrap();
    let mut plan = Plan::closed(2);
    plan.requests = Some(requests);
    plan.timeout = Duration::from_secs(5);
    let report = tensorserve_load::run(Arc::new(target), &plan, &CancellationToken::new(), |_| {})
        .await
        .unwrap();
    assert_consistent(&report);
    report
}

/// The report's errors as (kind, count).
fn errors(report: &Report) -> Vec<(String, u64)> {
    report
        .errors
        .iter()
        .map(|e| (e.kind.clone(), e.count))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_status_zero_after_one_message_is_a_success() {
    let report = run(Answer::Message("0"), 20).await;
    assert_eq!((report.counts.ok, report.counts.errors), (20, 0));

    let report = run(Answer::Message("9"), 20).await;
    assert_eq!(report.counts.ok, 0);
    assert_eq!(errors(&report), [("gRPC status 9".to_string(), 20)]);

    let report = run(Answer::TrailersOnly("5"), 20).await;
    assert_eq!(report.counts.ok, 0);
    assert_eq!(errors(&report), [("gRPC status 5".to_string(), 20)]);

    // A trailers-only answer claiming success carries no message: not a success either.
    let report = run(Answer::TrailersOnly("0"), 20).await;
    assert_eq!(report.counts.ok, 0);
    assert_eq!(report.counts.errors, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_answers_are_errors() {
    let report = run(Answer::NoStatus, 10).await;
    assert_eq!(report.counts.ok, 0);
    assert_eq!(errors(&report), [("gRPC status 13".to_string(), 10)]);

    let report = run(Answer::Unframed, 10).await;
    assert_eq!(report.counts.ok, 0);
    assert_eq!(errors(&report), [("connection error".to_string(), 10)]);

    let report = run(Answer::Http503, 10).await;
    assert_eq!(report.counts.ok, 0);
    assert_eq!(errors(&report), [("HTTP 503".to_string(), 10)]);

    let report = run(Answer::Reset, 10).await;
    assert_eq!(report.counts.ok, 0);
    assert_eq!(errors(&report), [("connection error".to_string(), 10)]);
}

/// A request too large for h2's initial 64 kB windows (so it goes out as they are given back),
/// and answers too large for ours (so the call ends only if we give them back).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_messages_follow_flow_control_both_ways() {
    let (addr, stop) = serve(Answer::Large(3 << 20)).await;
    let mut spec = GrpcSpec::lab(&addr, "half_plus_two", None);
    let x = spec.request.inputs.get_mut("x").unwrap();
    x.float_val = vec![0.5; 50_000];
    x.tensor_shape.as_mut().unwrap().dim[0].size = 50_000;
    let report = run_on(&addr, spec, 6).await;
    stop.cancel();
    assert_eq!((report.counts.ok, report.counts.errors), (6, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings_goaway_1xx_and_a_table_of_size_zero() {
    let quirks = [
        Quirks {
            ping_first: true,
            ..Quirks::default()
        },
        Quirks {
            informational: true,
            ..Quirks::default()
        },
        Quirks {
            header_table_size: Some(0),
            ..Quirks::default()
        },
        // Every connection closes after one call: the next call goes on a new one, and
        // nothing is counted as an error.
        Quirks {
            goaway_after_first: true,
            ..Quirks::default()
        },
    ];
    for quirks in quirks {
        let (addr, stop) = serve_with(Answer::Message("0"), quirks).await;
        let report = run_on(&addr, GrpcSpec::lab(&addr, "half_plus_two", None), 12).await;
        stop.cancel();
        assert_eq!(
            (report.counts.ok, report.counts.errors),
            (12, 0),
            "{quirks:?}: {:?}",
            report.errors
        );
    }
}
