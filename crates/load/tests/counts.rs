//! Every request is accounted for: the counts the generator reports match what the server saw,
//! errors are sorted by kind, and each way of stopping (count, Ctrl-C) ends the run cleanly.

mod common;

use std::time::{Duration, Instant};

use common::{Behavior, assert_consistent, ms, run, run_until, start};
use std::sync::atomic::Ordering;
use tensorserve_load::{OpenLoop, Plan, StopReason};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_sends_exactly_the_requested_count() {
    let server = start(Behavior::Fast).await;
    let mut plan = Plan::closed(4);
    plan.requests = Some(500);
    let report = run(&server.url, &plan).await;
    assert_eq!(report.stopped_by, StopReason::Requests);
    assert_eq!(
        (report.counts.sent, report.counts.ok, report.counts.errors),
        (500, 500, 0)
    );
    assert_eq!(
        server.received.load(Ordering::Relaxed),
        500,
        "sent == received by the server"
    );
    assert_eq!(
        report.latency_ms.as_ref().unwrap().count,
        500,
        "one latency per success"
    );
    assert_eq!(
        server.connections.load(Ordering::Relaxed),
        4,
        "one keep-alive connection per worker"
    );
    assert_consistent(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_sends_exactly_the_requested_count() {
    let server = start(Behavior::Fast).await;
    let mut plan = Plan::open(OpenLoop::rate(1000.0));
    plan.requests = Some(300);
    plan.duration = None;
    let report = run(&server.url, &plan).await;
    assert_eq!(report.stopped_by, StopReason::Requests);
    assert_eq!(
        (report.counts.offered, report.counts.sent, report.counts.ok),
        (300, 300, 300)
    );
    assert_eq!(server.received.load(Ordering::Relaxed), 300);
    // 300 arrivals at 1000/s: 0.3 s, plus the last answer.
    assert!(
        (0.29..0.6).contains(&report.duration_s),
        "{}",
        report.duration_s
    );
    assert_consistent(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_counted_by_status() {
    let server = start(Behavior::FailEvery { n: 10, status: 503 }).await;
    let mut plan = Plan::closed(2);
    plan.requests = Some(200);
    let report = run(&server.url, &plan).await;
    assert_eq!((report.counts.ok, report.counts.errors), (180, 20));
    assert_eq!(report.errors.len(), 1);
    assert_eq!(
        (report.errors[0].kind.as_str(), report.errors[0].count),
        ("HTTP 503", 20)
    );
    assert_eq!(
        server.connections.load(Ordering::Relaxed),
        2,
        "an error status keeps the connection"
    );
    assert_consistent(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_failures_and_timeouts_are_errors() {
    // A port with nothing listening.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/v1/models/half_plus_two:predict",
        closed.local_addr().unwrap()
    );
    drop(closed);
    let mut plan = Plan::closed(1);
    plan.requests = Some(5);
    let report = run(&url, &plan).await;
    assert_eq!(
        (
            report.counts.ok,
            report.errors[0].kind.as_str(),
            report.errors[0].count
        ),
        (0, "connect", 5)
    );
    assert!(report.latency_ms.is_none());
    assert_consistent(&report);

    let server = start(Behavior::SlowEvery {
        n: 1,
        delay: ms(400),
    })
    .await;
    plan.timeout = ms(100);
    plan.requests = Some(3);
    let report = run(&server.url, &plan).await;
    assert_eq!(
        (
            report.counts.ok,
            report.errors[0].kind.as_str(),
            report.errors[0].count
        ),
        (0, "timeout", 3)
    );
    assert_eq!(
        server.connections.load(Ordering::Relaxed),
        3,
        "a timed out connection is replaced"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_every_opens_new_connections() {
    let server = start(Behavior::Fast).await;
    let mut plan = Plan::closed(1);
    plan.requests = Some(100);
    plan.reconnect_every = Some(10);
    let report = run(&server.url, &plan).await;
    assert_eq!(report.counts.ok, 100);
    assert_eq!(server.connections.load(Ordering::Relaxed), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupt_stops_an_unbounded_run_with_a_summary() {
    let server = start(Behavior::Fast).await;
    let mut plan = Plan::closed(2);
    plan.duration = None;
    let interrupt = CancellationToken::new();
    let cancel = interrupt.clone();
    tokio::spawn(async move {
        tokio::time::sleep(ms(700)).await;
        cancel.cancel();
    });
    let started = Instant::now();
    let report = run_until(&server.url, &plan, &interrupt).await;
    assert!(started.elapsed() < Duration::from_secs(2), "stops at once");
    assert_eq!(report.stopped_by, StopReason::Interrupted);
    assert!(report.counts.ok > 0);
    assert!(report.counts.unfinished <= 2);
    assert_consistent(&report);
    let received = server.received.load(Ordering::Relaxed);
    assert!(
        received >= report.counts.ok && received <= report.counts.sent,
        "{received} {:?}",
        report.counts
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outstanding_requests_are_bounded_and_the_rest_dropped() {
    // The server answers nothing for 1 s; 500 arrivals/s may not pile up beyond 50.
    let server = start(Behavior::Stall {
        after: ms(0),
        length: ms(1000),
    })
    .await;
    let mut open = OpenLoop::rate(500.0);
    open.max_outstanding = 50;
    let mut plan = Plan::open(open);
    plan.duration = Some(ms(800));
    plan.timeout = ms(3000);
    let report = run(&server.url, &plan).await;
    let c = &report.counts;
    assert_eq!(c.offered, 400);
    assert_eq!(c.dropped, 350, "{c:?}");
    assert_eq!(c.ok, 50, "the 50 admitted are answered once the stall ends");
    assert_eq!(report.stopped_by, StopReason::Duration);
    assert_consistent(&report);
}
