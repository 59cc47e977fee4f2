//! The manager against real temporary directories and a fake loader: version discovery,
//! policies, availability-preserving swaps, broken versions, labels and config reloads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tensorserve_core::{Model, ModelFormat, SignatureDef, Status, Tensor};
use tensorserve_engine::{
    Loader, Manager, ManagerOptions, ModelConfig, ModelServerConfig, ModelState, VersionChoice,
    VersionPolicy,
};

/// A model that knows its version.
struct Fake(BTreeMap<String, SignatureDef>);

impl Model for Fake {
    fn signatures(&self) -> &BTreeMap<String, SignatureDef> {
        &self.0
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

/// Loads a version directory unless it holds a file named `broken`.
struct FakeLoader;

impl Loader for FakeLoader {
    fn load(&self, _: &str, version: i64, path: &Path, _: &str) -> Result<Arc<dyn Model>, Status> {
        std::thread::sleep(Duration::from_millis(20));
        if path.join("broken").exists() {
            return Err(Status::invalid_argument(format!(
                "version {version} is broken"
            )));
        }
        Ok(Arc::new(Fake(BTreeMap::new())))
    }
}

fn temp_base(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("tensorserve-engine-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn add_version(base: &Path, v: &str, broken: bool) {
    std::fs::create_dir_all(base.join(v)).unwrap();
    if broken {
        std::fs::write(base.join(v).join("broken"), b"").unwrap();
    }
}

fn options() -> ManagerOptions {
    ManagerOptions {
        file_system_poll_wait: Some(Duration::from_millis(50)),
        max_num_load_retries: 1,
        load_retry_interval: Duration::from_millis(10),
        allow_version_labels_for_unavailable_models: false,
        initial_load_timeout: Some(Duration::from_secs(5)),
    }
}

/// A model for [`config`]: name, base path, policy, labels.
type ModelSpec<'a> = (&'a str, &'a Path, VersionPolicy, &'a [(&'a str, i64)]);

fn config(models: &[ModelSpec<'_>]) -> ModelServerConfig {
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

async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..200 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_version_replaces_old_without_a_gap() {
    let base = temp_base("swap");
    add_version(&base, "00000001", false);
    let m = Manager::start(
        ModelServerConfig::single("m", &base),
        Arc::new(FakeLoader),
        options(),
    )
    .await
    .unwrap();
    assert_eq!(m.lookup("m", &VersionChoice::Latest).unwrap().version, 1);
    assert!(m.all_ready());

    // A client looks the model up continuously while version 2 arrives and 1 leaves.
    let stop = Arc::new(AtomicBool::new(false));
    let (m2, stop2) = (m.clone(), stop.clone());
    let client = tokio::spawn(async move {
        let mut lookups = 0;
        while !stop2.load(Ordering::Relaxed) {
            m2.lookup("m", &VersionChoice::Latest)
                .expect("no gap in availability");
            lookups += 1;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        lookups
    });
    add_version(&base, "2", false);
    eventually("version 2", || {
        m.lookup("m", &VersionChoice::Latest).map(|h| h.version) == Ok(2)
    })
    .await;
    eventually("version 1 to end", || {
        m.status("m", Some(1)).unwrap()[0].state == ModelState::End
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    assert!(client.await.unwrap() > 10);
    let states: Vec<_> = m
        .status("m", None)
        .unwrap()
        .iter()
        .map(|s| (s.version, s.state))
        .collect();
    assert_eq!(
        states,
        vec![(2, ModelState::Available), (1, ModelState::End)]
    );
    assert_eq!(
        m.lookup("m", &VersionChoice::Specific(1))
            .unwrap_err()
            .message(),
        "Servable not found for request: Specific(m, 1)"
    );

    // Removing version 2's directory rolls back to version 1, which is still on disk.
    std::fs::remove_dir_all(base.join("2")).unwrap();
    eventually("roll back to 1", || {
        m.lookup("m", &VersionChoice::Latest).map(|h| h.version) == Ok(1)
    })
    .await;
    eventually("version 2 to end", || {
        m.status("m", Some(2)).unwrap()[0].state == ModelState::End
    })
    .await;
    // With no version left on disk, nothing serves.
    std::fs::remove_dir_all(base.join("00000001")).unwrap();
    eventually("version 1 to end", || {
        m.status("m", Some(1)).unwrap()[0].state == ModelState::End
    })
    .await;
    assert_eq!(
        m.lookup("m", &VersionChoice::Latest).unwrap_err().message(),
        "Servable not found for request: Latest(m)"
    );
    assert!(!m.all_ready());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_version_beside_a_good_one() {
    let base = temp_base("broken");
    add_version(&base, "1", false);
    add_version(&base, "2", true);
    let m = Manager::start(
        config(&[("m", &base, VersionPolicy::All, &[])]),
        Arc::new(FakeLoader),
        options(),
    )
    .await
    .unwrap();
    assert_eq!(m.lookup("m", &VersionChoice::Latest).unwrap().version, 1);
    let broken = &m.status("m", Some(2)).unwrap()[0];
    assert_eq!(broken.state, ModelState::End);
    assert_eq!(
        broken.status.as_ref().unwrap_err().message(),
        "version 2 is broken"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_broken_versions_fail_startup() {
    let base = temp_base("allbroken");
    add_version(&base, "3", true);
    let err = match Manager::start(
        ModelServerConfig::single("m", &base),
        Arc::new(FakeLoader),
        options(),
    )
    .await
    {
        Ok(_) => panic!("started"),
        Err(e) => e,
    };
    assert!(
        err.message()
            .starts_with("1 model(s) did not become available: {{name: m version: 3} due to error"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_resolve_and_must_point_at_available_versions() {
    let base = temp_base("labels");
    add_version(&base, "1", false);
    add_version(&base, "2", false);
    let policy = VersionPolicy::Specific(vec![1, 2]);
    let cfg = config(&[("m", &base, policy.clone(), &[("stable", 1), ("canary", 2)])]);
    let m = Manager::start(cfg, Arc::new(FakeLoader), options())
        .await
        .unwrap();
    assert_eq!(
        m.lookup("m", &VersionChoice::Label("stable".into()))
            .unwrap()
            .version,
        1
    );
    assert_eq!(
        m.lookup("m", &VersionChoice::Label("canary".into()))
            .unwrap()
            .version,
        2
    );
    assert_eq!(
        m.lookup("m", &VersionChoice::Label("nope".into()))
            .unwrap_err()
            .message(),
        "Unrecognized servable version label: nope"
    );
    let bad = config(&[("m", &base, policy, &[("stable", 7)])]);
    let err = m.reload_config(bad).await.unwrap_err();
    assert_eq!(
        err.message(),
        "Request to assign label to version 7 of model m, which is not currently available for inference"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_adds_and_removes_models() {
    let (a, b) = (temp_base("reload-a"), temp_base("reload-b"));
    add_version(&a, "1", false);
    add_version(&b, "5", false);
    let m = Manager::start(
        config(&[("a", &a, VersionPolicy::Latest(1), &[])]),
        Arc::new(FakeLoader),
        options(),
    )
    .await
    .unwrap();
    m.reload_config(config(&[("b", &b, VersionPolicy::Latest(1), &[])]))
        .await
        .unwrap();
    assert_eq!(m.model_names(), vec!["b".to_string()]);
    assert_eq!(m.lookup("b", &VersionChoice::Latest).unwrap().version, 5);
    assert!(m.lookup("a", &VersionChoice::Latest).is_err());
    assert_eq!(m.status("a", None).unwrap()[0].state, ModelState::End);
    assert!(m.all_ready());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_errors_match_tf_serving() {
    let base = temp_base("status");
    add_version(&base, "1", false);
    let m = Manager::start(
        ModelServerConfig::single("m", &base),
        Arc::new(FakeLoader),
        options(),
    )
    .await
    .unwrap();
    assert_eq!(
        m.status("x", None).unwrap_err().message(),
        "Could not find any versions of model x"
    );
    assert_eq!(
        m.status("m", Some(9)).unwrap_err().message(),
        "Could not find version 9 of model m"
    );
}
