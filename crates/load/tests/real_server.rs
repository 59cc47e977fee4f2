//! The generator against the real tensorserve server (REST, bundled `half_plus_two`): every
//! request sent is recorded and reached the server, the open loop holds 2,000 req/s, and a
//! stall between the two shows in the reported p99.

mod common;
mod real;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{SERIAL, assert_all_answered, assert_consistent, assert_stall_shows, ms, run};
use real::{Proxy, RealServer};
use tensorserve_load::{OpenLoop, Plan, StopReason};

/// The bytes of one request and of its answer, as they cross `proxy`: the generator sends the
/// same request every time, and the server's answer to it has a fixed size too.
async fn one_exchange(proxy: &Proxy) -> (u64, u64) {
    let mut plan = Plan::closed(1);
    plan.requests = Some(1);
    let report = run(&RealServer::predict_url(proxy.addr), &plan).await;
    assert_eq!(report.counts.ok, 1, "{:?}", report.errors);
    let traffic = &proxy.traffic;
    traffic.settle().await;
    let sizes = (
        traffic.upstream.load(Ordering::Relaxed),
        traffic.downstream.load(Ordering::Relaxed),
    );
    traffic.reset();
    assert!(sizes.0 > 0 && sizes.1 > 0, "{sizes:?}");
    sizes
}

/// Asserts that exactly `n` requests reached the server and `n` answers came back.
async fn assert_server_saw(proxy: &Proxy, (request, answer): (u64, u64), n: u64) {
    let traffic = &proxy.traffic;
    traffic.settle().await;
    assert_eq!(
        traffic.upstream.load(Ordering::Relaxed),
        n * request,
        "bytes received by the server: {n} requests of {request} bytes"
    );
    assert_eq!(
        traffic.downstream.load(Ordering::Relaxed),
        n * answer,
        "bytes answered: {n} answers of {answer} bytes"
    );
    traffic.reset();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_sent_are_recorded_and_received() {
    let _serial = SERIAL.lock().await;
    let server = real::start().await;
    let proxy = real::proxy(server.rest, None).await;
    let url = RealServer::predict_url(proxy.addr);
    let sizes = one_exchange(&proxy).await;

    let mut plan = Plan::closed(4);
    plan.requests = Some(2000);
    let report = run(&url, &plan).await;
    assert_all_answered(&report, 2000);
    assert_consistent(&report);
    assert_server_saw(&proxy, sizes, 2000).await;

    let mut plan = Plan::open(OpenLoop::rate(1000.0));
    plan.duration = None;
    plan.requests = Some(1000);
    let report = run(&url, &plan).await;
    let c = &report.counts;
    assert_eq!(report.stopped_by, StopReason::Requests);
    assert_eq!((c.offered, c.sent, c.ok, c.errors), (1000, 1000, 1000, 0));
    assert_eq!(report.latency_ms.as_ref().unwrap().count, 1000);
    assert_consistent(&report);
    assert_server_saw(&proxy, sizes, 1000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_holds_2000_per_second_within_5_percent() {
    let _serial = SERIAL.lock().await;
    let server = real::start().await;
    let proxy = real::proxy(server.rest, None).await;
    let sizes = one_exchange(&proxy).await;

    let mut plan = Plan::open(OpenLoop::rate(2000.0));
    plan.duration = Some(Duration::from_secs(3));
    let report = run(&RealServer::predict_url(proxy.addr), &plan).await;
    let c = &report.counts;
    assert_eq!(report.stopped_by, StopReason::Duration);
    assert_eq!(c.offered, 6000, "3 s of schedule at 2000/s");
    assert_eq!(
        (c.sent, c.ok, c.dropped),
        (6000, 6000, 0),
        "{:?}",
        report.errors
    );
    assert_consistent(&report);

    // The rate the requests reached the server at, from the first to the last: the generator
    // kept its schedule (a dispatcher that fell behind would stretch this span).
    let arrivals = proxy.traffic.arrivals.lock().unwrap().clone();
    let (first, last) = (arrivals[0].0, arrivals[arrivals.len() - 1].0);
    let rate = 5999.0 / (last - first).as_secs_f64();
    eprintln!("requests reached the server at {rate:.1}/s");
    assert!(
        (rate - 2000.0).abs() <= 100.0,
        "requests reached the server at {rate:.1}/s, not within 5% of 2000/s"
    );
    // And every second on its own (each request is `sizes.0` bytes).
    let mut per_second = [0u64; 3];
    for (at, bytes) in &arrivals {
        let second = ((*at - first).as_secs_f64() as usize).min(2);
        per_second[second] += bytes;
    }
    for bytes in per_second {
        let n = bytes / sizes.0;
        eprintln!("{n} requests in one second");
        assert!(n.abs_diff(2000) <= 100, "{per_second:?} bytes per second");
    }
    assert_server_saw(&proxy, sizes, 6000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_in_front_of_the_server_shows_in_p99() {
    let _serial = SERIAL.lock().await;
    let server = real::start().await;
    // Nothing reaches the server from 0.5 s to 1.0 s: requests due then wait up to 500 ms.
    let proxy = real::proxy(server.rest, Some((ms(500), ms(500)))).await;
    let mut plan = Plan::open(OpenLoop::rate(1000.0));
    plan.duration = Some(Duration::from_secs(2));
    let report = run(&RealServer::predict_url(proxy.addr), &plan).await;
    assert_stall_shows(&report);
}
