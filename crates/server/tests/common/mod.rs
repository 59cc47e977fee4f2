//! Shared end-to-end test support: start the real server in-process on 127.0.0.1 with an
//! ephemeral port, find the bundled and shared models, and make scratch model directories.
#![allow(dead_code)]

pub mod cases;
pub mod grpc;
pub mod h2expect;
pub mod h2grpc;
pub mod h2raw;
pub mod http;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tensorserve::app::Server;
use tensorserve::config::ServerConfig;
use tensorserve::flags::Flags;

/// A started server; dropping it starts the shutdown.
pub struct TestServer {
    /// The REST address (the real port).
    pub addr: SocketAddr,
    server: Server,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.shutdown();
    }
}

impl TestServer {
    /// The running server.
    pub fn server(&self) -> &Server {
        &self.server
    }
}

/// Starts the server with TF Serving flags. gRPC is off (`--port=0`) and REST is moved to
/// 127.0.0.1 with an ephemeral port, whatever `--rest_api_port` says.
pub async fn try_start(args: &[&str]) -> anyhow::Result<TestServer> {
    let mut all = vec![
        "--port=0",
        "--rest_api_port=8501",
        "--drain_delay_seconds=0",
    ];
    all.extend_from_slice(args);
    let flags = Flags::parse(all.iter().map(|s| s.to_string()))?;
    let mut config = ServerConfig::from_flags(&flags, |_| None)?;
    config.rest_addr = Some("127.0.0.1:0".parse().expect("address"));
    let server = Server::start(config).await?;
    let addr = server.rest_addr.expect("REST is enabled");
    Ok(TestServer { addr, server })
}

/// [`try_start`] with owned arguments.
pub async fn try_start_owned(args: &[String]) -> anyhow::Result<TestServer> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    try_start(&args).await
}

/// A scratch model base path holding the bundled `half_plus_two` as version 1, for tests that
/// add files to a version; returns the base path and the version directory.
pub fn bundled_copy(tag: &str) -> (PathBuf, PathBuf) {
    let base = scratch(tag);
    let version = base.join("1");
    copy_tree(&bundled_base().join("00000123"), &version);
    (base, version)
}

/// `--model_name`, `--model_base_path` and `--max_num_load_retries=0` (a failed load fails the
/// start at once), then `extra`.
pub fn model_args(name: &str, base: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        format!("--model_name={name}"),
        format!("--model_base_path={}", base.display()),
        "--max_num_load_retries=0".to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// Starts the server, panicking on failure.
pub async fn start(args: &[&str]) -> TestServer {
    try_start(args)
        .await
        .unwrap_or_else(|e| panic!("server failed to start with {args:?}: {e:#}"))
}

/// The bundled `models/half_plus_two` base path.
pub fn bundled_base() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../models/half_plus_two"
    ))
    .canonicalize()
    .expect("the bundled model exists")
}

/// A server on the bundled `half_plus_two` (as `--model_name`/`--model_base_path`), with
/// `extra` flags.
pub async fn start_bundled(extra: &[&str]) -> TestServer {
    let base = format!("--model_base_path={}", bundled_base().display());
    let mut args = vec!["--model_name=half_plus_two", base.as_str()];
    args.extend_from_slice(extra);
    start(&args).await
}

/// TF Serving's test models, or `None` (with a printed notice) when they are absent.
/// With `TENSORSERVE_REQUIRE_SHARED=1` their absence fails the test instead.
pub fn shared(test: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/tfserving"
    ));
    if dir.is_dir() {
        return Some(dir.canonicalize().expect("canonical path"));
    }
    if std::env::var("TENSORSERVE_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!("{test}: {} is missing", dir.display());
    }
    eprintln!(
        "SKIPPED {test}: TF Serving test models not found at {}",
        dir.display()
    );
    None
}

/// A fresh, empty scratch directory under the system temp dir.
pub fn scratch(tag: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "tensorserve-test-{tag}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Copies a directory tree (file contents only; the copy is always writable).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::write(&target, std::fs::read(entry.path()).expect("read")).expect("write");
        }
    }
}

/// Writes a model config file into `dir` and returns its path.
pub fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("models.config");
    std::fs::write(&path, text).expect("write config");
    path
}

/// One `config { ... }` entry of a model config file.
pub fn model_entry(name: &str, base: &Path, extra: &str) -> String {
    format!(
        "  config {{\n    name: '{name}'\n    base_path: '{}'\n    model_platform: 'tensorflow'\n{extra}  }}\n",
        base.display()
    )
}

/// Polls `check` every 50 ms until it returns `Some`, or panics after `limit`.
pub async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if started.elapsed() > limit {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `{"version": ..., "state": ...}` pairs from a status response.
pub fn states(status: &serde_json::Value) -> Vec<(String, String)> {
    status["model_version_status"]
        .as_array()
        .unwrap_or_else(|| panic!("not a status response: {status}"))
        .iter()
        .map(|v| {
            (
                v["version"].as_str().unwrap_or_default().to_string(),
                v["state"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}
