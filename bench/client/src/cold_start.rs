//! Cold start for `bench/serving.sh`: starts a server command, and measures the time from the
//! process start to its first successful REST predict, then its resident memory once idle.
//! Prints one line: `ready_ms=T idle_rss_kb=R`.
//!
//! ```sh
//! cold_start 18501 half_plus_two target/release/tensorserve --rest_api_port=18501 --port=18500
//! ```

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BODY: &str = r#"{"instances": [1.0, 2.0, 5.0]}"#;

/// One predict over a fresh connection; true when it answered 200 with the right predictions.
fn predict(port: u16, model: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!(
        "POST /v1/models/{model}:predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: \
         application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.1 200") && response.contains("[2.5, 3.0, 4.5")
}

fn vm_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: cold_start PORT MODEL COMMAND [ARGS...]");
        std::process::exit(2);
    }
    let port: u16 = args[0].parse().expect("PORT");
    let started = Instant::now();
    let mut child = Command::new(&args[2])
        .args(&args[3..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server");
    let deadline = started + Duration::from_secs(30);
    let ready = loop {
        if predict(port, &args[1]) {
            break Some(started.elapsed());
        }
        if Instant::now() > deadline || child.try_wait().ok().flatten().is_some() {
            break None;
        }
        std::thread::sleep(Duration::from_micros(500));
    };
    // Idle: one second after the first answer, nothing in flight.
    std::thread::sleep(Duration::from_secs(1));
    let rss = vm_rss_kb(child.id());
    let _ = child.kill();
    let _ = child.wait();
    match ready {
        Some(t) => println!("ready_ms={:.1} idle_rss_kb={rss}", t.as_secs_f64() * 1e3),
        None => {
            eprintln!("the server never answered a predict");
            std::process::exit(1);
        }
    }
}
