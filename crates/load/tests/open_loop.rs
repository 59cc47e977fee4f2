//! The open loop keeps to its schedule: a fixed rate is held, stages change the rate (and an
//! idle stage still lasts its time), Poisson arrivals average out to the rate.

mod common;

use std::time::Duration;

use common::{Behavior, SERIAL, assert_consistent, ms, run, start};
use std::sync::atomic::Ordering;
use tensorserve_load::config::parse_stage;
use tensorserve_load::{Arrivals, OpenLoop, Plan, StopReason};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holds_2000_requests_per_second_within_5_percent() {
    let _serial = SERIAL.lock().await;
    let server = start(Behavior::Fast).await;
    let mut plan = Plan::open(OpenLoop::rate(2000.0));
    plan.duration = Some(Duration::from_secs(2));
    let report = run(&server.url, &plan).await;
    let c = &report.counts;
    assert_eq!(report.stopped_by, StopReason::Duration);
    assert_eq!(c.offered, 4000, "the schedule is exact");
    assert_eq!((c.ok, c.errors, c.dropped), (4000, 0, 0));
    assert_eq!(server.received.load(Ordering::Relaxed), 4000);
    let rate = report.throughput_rps;
    assert!(
        (rate - 2000.0).abs() <= 100.0,
        "throughput {rate:.1} req/s not within 5% of 2000"
    );
    // Each full second on its own, too.
    for sample in report.series.iter().filter(|s| s.window > 0.9) {
        assert!((sample.rps - 2000.0).abs() <= 200.0, "{sample:?}");
    }
    assert_consistent(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stages_change_the_rate_and_an_idle_stage_lasts() {
    let _serial = SERIAL.lock().await;
    let server = start(Behavior::Fast).await;
    let stages = ["1s@300", "1s@0", "1s@0..600"].map(|s| parse_stage(s).unwrap());
    let mut plan = Plan::open(OpenLoop::stages(stages.to_vec()));
    plan.duration = None;
    let report = run(&server.url, &plan).await;
    assert_eq!(report.stopped_by, StopReason::Duration);
    assert_eq!((report.counts.offered, report.counts.ok), (600, 600));
    assert!(
        report.duration_s >= 3.0 && report.duration_s < 3.5,
        "{}",
        report.duration_s
    );
    let per_second: Vec<u64> = report.series.iter().map(|s| s.ok).collect();
    assert_eq!(per_second.len(), 3, "{per_second:?}");
    assert!(per_second[0].abs_diff(300) <= 15, "{per_second:?}");
    assert!(per_second[1] <= 15, "{per_second:?}");
    assert!(per_second[2].abs_diff(300) <= 15, "{per_second:?}");
    assert_consistent(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poisson_arrivals_average_the_rate() {
    let _serial = SERIAL.lock().await;
    let server = start(Behavior::Fast).await;
    let mut open = OpenLoop::rate(1000.0);
    open.arrivals = Arrivals::Poisson { seed: 42 };
    let mut plan = Plan::open(open);
    plan.duration = Some(ms(1500));
    let report = run(&server.url, &plan).await;
    // 1500 expected; the standard deviation is ~39.
    assert!(
        report.counts.offered.abs_diff(1500) < 150,
        "{:?}",
        report.counts
    );
    assert_eq!(report.counts.ok, report.counts.offered);
    assert_consistent(&report);
}
