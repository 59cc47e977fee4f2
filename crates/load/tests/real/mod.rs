//! The real tensorserve server, started in-process on 127.0.0.1:0 (REST and gRPC) with the
//! bundled `models/half_plus_two`, and a TCP proxy to put between it and the generator.
//!
//! The proxy is how the tests see what the server saw: the generator sends the same request
//! bytes every time, so the bytes that reached the server, divided by one request's size, are
//! the number of requests it received; and the times they arrived give the rate they were sent
//! at. It can also hold everything sent during a time window, which stalls the server as its
//! clients see it.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tensorserve::app::Server;
use tensorserve::config::ServerConfig;
use tensorserve::flags::Flags;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A running server; dropping it starts its shutdown.
pub struct RealServer {
    /// The REST address.
    pub rest: SocketAddr,
    /// The gRPC address.
    pub grpc: SocketAddr,
    server: Server,
}

impl Drop for RealServer {
    fn drop(&mut self) {
        self.server.shutdown();
    }
}

impl RealServer {
    /// The REST predict URL of `half_plus_two`, at `addr` (the server's, or a proxy's).
    pub fn predict_url(addr: SocketAddr) -> String {
        format!("http://{addr}/v1/models/half_plus_two:predict")
    }
}

/// Starts the server on the current runtime, with the bundled model.
pub async fn start() -> RealServer {
    let base = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../models/half_plus_two"
    ))
    .canonicalize()
    .expect("the bundled model exists");
    let flags = Flags::parse([
        "--port=8500".to_owned(),
        "--rest_api_port=8501".to_owned(),
        "--drain_delay_seconds=0".to_owned(),
        "--model_name=half_plus_two".to_owned(),
        format!("--model_base_path={}", base.display()),
    ])
    .expect("flags");
    let mut config = ServerConfig::from_flags(&flags, |_| None).expect("config");
    config.rest_addr = Some("127.0.0.1:0".parse().unwrap());
    config.grpc_addr = Some("127.0.0.1:0".parse().unwrap());
    let server = Server::start(config).await.expect("the server starts");
    RealServer {
        rest: server.rest_addr.expect("REST is on"),
        grpc: server.grpc_addr.expect("gRPC is on"),
        server,
    }
}

/// What went through a [`Proxy`].
#[derive(Debug, Default)]
pub struct Traffic {
    /// Bytes from the clients to the server.
    pub upstream: AtomicU64,
    /// Bytes from the server to the clients.
    pub downstream: AtomicU64,
    /// Connections accepted.
    pub accepted: AtomicU64,
    /// Connections whose both directions have ended.
    pub closed: AtomicU64,
    /// When each chunk of client bytes was read from the client, and its size.
    pub arrivals: Mutex<Vec<(Instant, u64)>>,
}

/// A TCP proxy on 127.0.0.1:0 in front of `upstream`.
pub struct Proxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    /// What went through.
    pub traffic: Arc<Traffic>,
    /// When the proxy started (the stall window counts from here).
    pub start: Instant,
}

/// Starts a proxy to `upstream`. Client bytes read during `stall` (offsets from the proxy's
/// start) are held until the window ends, as a server that stops answering would hold them.
pub async fn proxy(upstream: SocketAddr, stall: Option<(Duration, Duration)>) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let traffic = Arc::new(Traffic::default());
    let start = Instant::now();
    let window = stall.map(|(after, length)| (start + after, start + after + length));
    let shared = Arc::clone(&traffic);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            shared.accepted.fetch_add(1, Ordering::Relaxed);
            let traffic = Arc::clone(&shared);
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    traffic.closed.fetch_add(1, Ordering::Relaxed);
                    return;
                };
                let _ = (client.set_nodelay(true), server.set_nodelay(true));
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                let up = pump(
                    client_read,
                    server_write,
                    Arc::clone(&traffic),
                    true,
                    window,
                );
                let down = pump(server_read, client_write, Arc::clone(&traffic), false, None);
                let _ = tokio::join!(up, down);
                traffic.closed.fetch_add(1, Ordering::Relaxed);
            });
        }
    });
    Proxy {
        addr,
        traffic,
        start,
    }
}

/// Copies `from` to `to`, counting bytes, until either side ends.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    traffic: Arc<Traffic>,
    upstream: bool,
    stall: Option<(Instant, Instant)>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let read_at = Instant::now();
        if let Some((from, until)) = stall {
            let now = Instant::now();
            if now >= from && now < until {
                tokio::time::sleep_until(until.into()).await;
            }
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
        let n = n as u64;
        if upstream {
            traffic.upstream.fetch_add(n, Ordering::Relaxed);
            traffic.arrivals.lock().unwrap().push((read_at, n));
        } else {
            traffic.downstream.fetch_add(n, Ordering::Relaxed);
        }
    }
    let _ = to.shutdown().await;
}

impl Traffic {
    /// Waits (up to 10 s) until every accepted connection has closed, so the counts are final.
    pub async fn settle(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.closed.load(Ordering::Relaxed) < self.accepted.load(Ordering::Relaxed) {
            assert!(Instant::now() < deadline, "proxy connections did not close");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Forgets what went through so far.
    pub fn reset(&self) {
        self.upstream.store(0, Ordering::Relaxed);
        self.downstream.store(0, Ordering::Relaxed);
        self.arrivals.lock().unwrap().clear();
    }
}
