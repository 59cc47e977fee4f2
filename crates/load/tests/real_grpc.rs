//! The gRPC Predict target against the real server's gRPC port (bundled `half_plus_two`).

mod common;
mod real;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use common::{SERIAL, assert_all_answered, assert_consistent, ms};
use tensorserve_load::{GrpcSpec, GrpcTarget, OpenLoop, Plan, Report};
use tokio_util::sync::CancellationToken;

async fn run(addr: &str, model: &str, plan: &Plan) -> Report {
    let target = GrpcTarget::new(&GrpcSpec::lab(addr, model, None)).unwrap();
    tensorserve_load::run(Arc::new(target), plan, &CancellationToken::new(), |_| {})
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predict_calls_are_counted_and_connections_reused() {
    let _serial = SERIAL.lock().await;
    let server = real::start().await;
    let proxy = real::proxy(server.grpc, None).await;
    let addr = proxy.addr.to_string();

    let mut plan = Plan::closed(3);
    plan.requests = Some(600);
    let report = run(&addr, "half_plus_two", &plan).await;
    assert_all_answered(&report, 600);
    assert!(
        report.target.starts_with("gRPC Predict"),
        "{}",
        report.target
    );
    assert_consistent(&report);
    proxy.traffic.settle().await;
    assert_eq!(
        proxy.traffic.accepted.load(Ordering::Relaxed),
        3,
        "one HTTP/2 connection per worker, kept for every call"
    );

    let mut plan = Plan::open(OpenLoop::rate(500.0));
    plan.duration = Some(ms(1000));
    let report = run(&server.grpc.to_string(), "half_plus_two", &plan).await;
    let c = &report.counts;
    assert_eq!(
        (c.offered, c.ok, c.errors),
        (500, 500, 0),
        "{:?}",
        report.errors
    );
    assert_consistent(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_statuses_are_errors_by_code() {
    let server = real::start().await;
    let proxy = real::proxy(server.grpc, None).await;
    let mut plan = Plan::closed(2);
    plan.requests = Some(50);
    let report = run(&proxy.addr.to_string(), "no_such_model", &plan).await;
    assert_eq!((report.counts.ok, report.counts.errors), (0, 50));
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    // NOT_FOUND, as TF Serving answers for an unknown model.
    assert_eq!(
        (report.errors[0].kind.as_str(), report.errors[0].count),
        ("gRPC status 5", 50)
    );
    assert_consistent(&report);
    proxy.traffic.settle().await;
    assert_eq!(
        proxy.traffic.accepted.load(Ordering::Relaxed),
        2,
        "an error status keeps the connection"
    );

    // Nothing listening: connect errors.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap().to_string();
    drop(closed);
    plan.requests = Some(4);
    let report = run(&addr, "half_plus_two", &plan).await;
    assert_eq!(report.counts.ok, 0);
    assert_eq!(report.errors[0].kind, "connect");
    assert_consistent(&report);
}
