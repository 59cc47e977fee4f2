//! Shared fixtures: a fake loader over real temporary directories, short-interval options, and
//! a polling `eventually`.

#![allow(dead_code)] // each test binary uses a different subset

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tensorserve_core::{Model, ModelFormat, SignatureDef, Status, Tensor};
use tensorserve_engine::{ManagerOptions, ModelConfig, ModelServerConfig, VersionPolicy};

/// A model that remembers which version directory it came from.
pub struct Fake {
    pub version: i64,
    signatures: BTreeMap<String, SignatureDef>,
}

impl Model for Fake {
    fn signatures(&self) -> &BTreeMap<String, SignatureDef> {
        &self.signatures
    }
    fn run(
        &self,
        _: &str,
        _: BTreeMap<String, Tensor>,
        _: &[String],
    ) -> Result<BTreeMap<String, Tensor>, Status> {
        Ok(BTreeMap::new())
    }
    fn format(&self) -> ModelFormat {
        ModelFormat::SavedModel
    }
}

/// Loads a version directory unless it holds a file named `broken`; counts load attempts.
#[derive(Default)]
pub struct FakeLoader {
    pub attempts: AtomicUsize,
}

impl FakeLoader {
    pub fn attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }
}

impl tensorserve_engine::Loader for FakeLoader {
    fn load(&self, _: &str, version: i64, path: &Path, _: &str) -> Result<Arc<dyn Model>, Status> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(10));
        if path.join("broken").exists() {
            return Err(Status::invalid_argument(format!(
                "version {version} is broken"
            )));
        }
        Ok(Arc::new(Fake {
            version,
            signatures: BTreeMap::new(),
        }))
    }
}

pub fn loader() -> Arc<FakeLoader> {
    Arc::new(FakeLoader::default())
}

/// A fresh directory under the system temp dir, unique to this test and process.
pub fn temp_base(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("tensorserve-engine-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn add_version(base: &Path, v: &str, broken: bool) {
    std::fs::create_dir_all(base.join(v)).unwrap();
    if broken {
        std::fs::write(base.join(v).join("broken"), b"").unwrap();
    }
}

/// Fast polls and retries, and a bound on every wait so no test can hang.
pub fn options() -> ManagerOptions {
    ManagerOptions {
        file_system_poll_wait: Some(Duration::from_millis(30)),
        max_num_load_retries: 1,
        load_retry_interval: Duration::from_millis(10),
        initial_load_timeout: Some(Duration::from_secs(5)),
        ..ManagerOptions::default()
    }
}

/// A model for [`config`]: name, base path, policy, labels.
pub type Spec<'a> = (&'a str, &'a Path, VersionPolicy, &'a [(&'a str, i64)]);

pub fn config(models: &[Spec<'_>]) -> ModelServerConfig {
    ModelServerConfig {
        models: models
            .iter()
            .map(|(name, base, policy, labels)| ModelConfig {
                name: name.to_string(),
                base_path: base.to_path_buf(),
                platform: "tensorflow".into(),
                policy: policy.clone(),
                labels: labels.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            })
            .collect(),
    }
}

/// Waits (up to 4 s) for `cond`.
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..400 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}
