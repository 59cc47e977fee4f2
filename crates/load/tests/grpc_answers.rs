//! How the gRPC target counts answers that are not plain successes, against a small HTTP/2
//! server (the `h2` crate) that answers every call the same chosen way: a status in the
//! trailers, a trailers-only error, no `grpc-status` at all, a body that is not gRPC framing,
//! an HTTP error status, a reset stream.

mod common;

use std::sync::Arc;

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
}

/// Serves calls on 127.0.0.1:0 until the returned token is cancelled.
async fn serve(answer: Answer) -> (String, CancellationToken) {
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
                let Ok(mut conn) = h2::server::handshake(socket).await else {
                    return;
                };
                while let Some(Ok((request, respond))) = conn.accept().await {
                    tokio::spawn(answer_call(answer, request.into_body(), respond));
                }
            });
        }
    });
    (addr, stop)
}

async fn answer_call(
    answer: Answer,
    mut body: h2::RecvStream,
    mut respond: h2::server::SendResponse<Bytes>,
) {
    while let Some(chunk) = body.data().await {
        let chunk = chunk.unwrap();
        let _ = body.flow_control().release_capacity(chunk.len());
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
    }
}

async fn run(answer: Answer, requests: u64) -> Report {
    let (addr, stop) = serve(answer).await;
    let target = GrpcTarget::new(&GrpcSpec::lab(addr, "half_plus_two", None)).unwrap();
    let mut plan = Plan::closed(2);
    plan.requests = Some(requests);
    let report = tensorserve_load::run(Arc::new(target), &plan, &CancellationToken::new(), |_| {})
        .await
        .unwrap();
    stop.cancel();
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
