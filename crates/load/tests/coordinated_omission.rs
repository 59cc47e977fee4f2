//! Against a server that stalls, the open loop reports the wait its users would have had
//! (latency from each request's scheduled send time), where a closed loop hides it.

mod common;

use std::time::Duration;

use common::{Behavior, SERIAL, assert_consistent, assert_stall_shows, ms, run, start};
use tensorserve_load::{OpenLoop, Plan};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_server_stall_shows_in_p99() {
    let _serial = SERIAL.lock().await;
    // Nothing is answered from 0.5 s to 1.0 s: requests due then wait up to 500 ms.
    let stall = Behavior::Stall {
        after: ms(500),
        length: ms(500),
    };
    let server = start(stall).await;
    let mut plan = Plan::open(OpenLoop::rate(1000.0));
    plan.duration = Some(Duration::from_secs(2));
    let report = run(&server.url, &plan).await;
    assert_stall_shows(&report);
    let latency = report.latency_ms.unwrap();

    // The same stall seen by a closed loop: 10 requests waited, the rest did not even exist.
    let server = start(stall).await;
    let mut plan = Plan::closed(10);
    plan.duration = Some(Duration::from_secs(2));
    let closed = run(&server.url, &plan).await.latency_ms.unwrap();
    assert!(
        closed.p90 < latency.p90 / 4.0,
        "closed loop p90 {} ms vs open {} ms",
        closed.p90,
        latency.p90
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_request_delays_those_queued_behind_it() {
    let _serial = SERIAL.lock().await;
    // One connection, 200 req/s; every 50th request takes 200 ms. The ~40 requests due during
    // each pause wait for it: most requests are late, as a user of this server would see.
    let slow = Behavior::SlowEvery {
        n: 50,
        delay: ms(200),
    };
    let server = start(slow).await;
    let mut open = OpenLoop::rate(200.0);
    (open.connections, open.max_connections) = (1, 1);
    let mut plan = Plan::open(open);
    plan.duration = Some(Duration::from_secs(2));
    let report = run(&server.url, &plan).await;
    let latency = report.latency_ms.clone().unwrap();
    assert_eq!(report.counts.ok, 400);
    assert!(latency.p50 >= 40.0, "p50 {} ms", latency.p50);
    assert!(latency.p99 >= 180.0, "p99 {} ms", latency.p99);
    assert_consistent(&report);

    // A closed loop on one connection only sees the slow requests themselves (2%).
    let server = start(slow).await;
    let mut plan = Plan::closed(1);
    plan.duration = Some(ms(1500));
    let closed = run(&server.url, &plan).await.latency_ms.unwrap();
    assert!(closed.p50 < 20.0, "closed loop p50 {} ms", closed.p50);
}
