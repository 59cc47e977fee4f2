//! SIGTERM under continuous load, with the real binary: readiness turns false at once, every
//! request the server accepted is answered (the server's own per-request log lines are matched
//! against the answers the clients got), a request in flight when the listener closes still
//! completes, and the process exits 0 within the drain delay plus the grace period.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::http;

const BODY: &[u8] = br#"{"instances": [1.0, 2.0, 5.0]}"#;
const TARGET: &str = "/v1/models/half_plus_two:predict";
const DRAIN_DELAY: f64 = 2.0;
const GRACE: f64 = 10.0;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[derive(Default)]
struct Tally {
    ok: AtomicUsize,
    ok_after_sigterm: AtomicUsize,
    other_status: AtomicUsize,
    not_accepted: AtomicUsize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_loses_no_accepted_request() {
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tensorserve"))
        .args([
            "--port=0".to_string(),
            format!("--rest_api_port={port}"),
            "--rest_api_address=127.0.0.1".to_string(),
            "--model_name=half_plus_two".to_string(),
            format!("--model_base_path={}", common::bundled_base().display()),
            format!("--drain_delay_seconds={DRAIN_DELAY}"),
            format!("--shutdown_grace_seconds={GRACE}"),
        ])
        .env("RUST_LOG", "info,tensorserve::rest=debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary");
    let stderr = child.stderr.take().unwrap();
    let served = Arc::new(AtomicUsize::new(0));
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let reader = std::thread::spawn({
        let (served, log) = (served.clone(), log.clone());
        move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("REST request") && line.contains(":predict") {
                    assert!(line.contains("status=200"), "server answered: {line}");
                    served.fetch_add(1, Ordering::SeqCst);
                }
                log.lock().unwrap().push(line);
            }
        }
    });
    common::wait_for("readiness", Duration::from_secs(60), || async move {
        let r = http::request(addr, "GET", "/v2/health/ready", &[], b"").await;
        r.ok().filter(|r| r.status == 200)
    })
    .await;

    // Continuous load: four clients, one request per connection, until told to stop.
    let tally = Arc::new(Tally::default());
    let sigterm_sent = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (tally, sent, stop) = (tally.clone(), sigterm_sent.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let after = sent.load(Ordering::SeqCst);
                match http::request(addr, "POST", TARGET, &[], BODY).await {
                    Ok(r) if r.status == 200 => {
                        tally.ok.fetch_add(1, Ordering::SeqCst);
                        if after {
                            tally.ok_after_sigterm.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    Ok(r) => {
                        eprintln!("unexpected answer {}: {}", r.status, r.text());
                        tally.other_status.fetch_add(1, Ordering::SeqCst);
                    }
                    // Refused or reset before the server read it: never accepted.
                    Err(_) => {
                        tally.not_accepted.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // A request in flight across the whole drain: half its body now, the rest later.
    let held = http::hold(addr, TARGET, BODY).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let sigterm_at = Instant::now();
    sigterm_sent.store(true, Ordering::SeqCst);
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(kill.success());
    // Readiness turns false as soon as the signal is handled, while serving continues.
    common::wait_for("readiness 503", Duration::from_secs(5), || async move {
        let r = http::request(addr, "GET", "/v2/health/ready", &[], b"").await;
        r.expect("still serving during the drain delay")
            .status
            .eq(&503)
            .then_some(())
    })
    .await;
    let live = http::get(addr, "/v2/health/live").await;
    assert_eq!(live.status, 200);

    // After the drain delay the listener is closed: new connections are refused.
    common::wait_for(
        "the listener to close",
        Duration::from_secs(30),
        || async move { tokio::net::TcpStream::connect(addr).await.err().map(|_| ()) },
    )
    .await;
    // The request accepted before still completes.
    let r = held
        .finish()
        .await
        .expect("the in-flight request is answered");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["predictions"], serde_json::json!([2.5, 3.0, 4.5]));

    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .expect("wait for the process");
    let took = sigterm_at.elapsed();
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.await.unwrap();
    }
    reader.join().unwrap();
    let log = log.lock().unwrap();
    assert!(
        status.success(),
        "exit status {status:?}; log:\n{}",
        log.join("\n")
    );
    assert!(
        took < Duration::from_secs_f64(DRAIN_DELAY + GRACE),
        "exited {took:?} after SIGTERM"
    );
    let ok = tally.ok.load(Ordering::SeqCst) + 1; // + the held request
    let logged = served.load(Ordering::SeqCst);
    println!(
        "exit 0 {took:?} after SIGTERM; clients got {ok} answers (200), {} of them after \
         SIGTERM; server logged {logged}; {} attempts were refused after the listener closed",
        tally.ok_after_sigterm.load(Ordering::SeqCst),
        tally.not_accepted.load(Ordering::SeqCst)
    );
    assert_eq!(tally.other_status.load(Ordering::SeqCst), 0);
    assert!(
        tally.ok_after_sigterm.load(Ordering::SeqCst) > 0,
        "no load during the drain"
    );
    // Every request the server accepted and answered reached its client.
    assert_eq!(ok, logged, "log:\n{}", log.join("\n"));
    assert!(log.iter().any(|l| l.contains("shutdown complete")));
}
