//! A thousand idle connections against the real (in-process) server: memory stays bounded
//! while they are open, and the server closes every one of them after the idle timeout.
//! RSS comes from /proc/self/status, which covers the server since it runs in this process.

mod common;

use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

const CONNECTIONS: usize = 1000;

/// VmRSS in KiB (Linux only; `None` elsewhere).
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_idle_connections_stay_bounded_and_are_closed() {
    let Some(before) = rss_kib() else {
        eprintln!("SKIPPED: no /proc/self/status on this system");
        return;
    };
    let base = format!("--model_base_path={}", common::bundled_base().display());
    let s = common::start(&[
        "--model_name=half_plus_two",
        &base,
        "--rest_api_idle_timeout_seconds=3",
    ])
    .await;
    let started = Instant::now();
    let mut streams = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        streams.push(TcpStream::connect(s.addr).await.expect("connect"));
    }
    // The server is still responsive with all of them open.
    let ok = common::http::get(s.addr, "/v2/health/live").await;
    assert_eq!(ok.status, 200);
    let open = rss_kib().unwrap();
    let growth = open.saturating_sub(before);
    println!(
        "RSS before {before} KiB, with {CONNECTIONS} idle connections {open} KiB: +{growth} KiB \
         ({:.1} KiB per connection), opened in {:?}",
        growth as f64 / CONNECTIONS as f64,
        started.elapsed()
    );
    // Bounded: a connection waiting for its request costs hyper a small read buffer and a
    // task, not megabytes. 64 KiB each is far above what it costs and far below a leak.
    assert!(
        growth < 64 * CONNECTIONS as u64,
        "{CONNECTIONS} idle connections grew RSS by {growth} KiB"
    );
    // Every connection is closed by the server after the idle timeout.
    let mut closed = 0;
    for mut stream in streams {
        let mut buf = [0u8; 64];
        match tokio::time::timeout(Duration::from_secs(60), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => closed += 1,
            Ok(Ok(n)) => panic!("unexpected {n} bytes on an idle connection"),
            Err(_) => panic!("connection still open 60 s after a 3 s idle timeout"),
        }
    }
    assert_eq!(closed, CONNECTIONS);
    println!(
        "all {CONNECTIONS} idle connections closed by the server {:?} after opening",
        started.elapsed()
    );
    let after = rss_kib().unwrap();
    println!("RSS after they closed: {after} KiB");
    // The server still serves.
    assert_eq!(
        common::http::get(s.addr, "/v2/health/live").await.status,
        200
    );
}
