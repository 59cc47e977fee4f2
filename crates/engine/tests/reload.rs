//! Configuration changes: reloads adding and removing models, lookups during reloads, labels
//! and the config-file poller.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{add_version, config, eventually, loader, options, temp_base};
use tensorserve_core::Code;
use tensorserve_engine::{Manager, ManagerOptions, ModelState, VersionChoice, VersionPolicy};

fn label(m: &Manager, name: &str, l: &str) -> Result<i64, String> {
    m.lookup(name, &VersionChoice::Label(l.into()))
        .map(|h| h.version)
        .map_err(|e| e.message().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_adds_and_removes_models() {
    let (a, b) = (temp_base("reload-a"), temp_base("reload-b"));
    add_version(&a, "1", false);
    add_version(&b, "5", false);
    let only_a = config(&[("a", &a, VersionPolicy::Latest(1), &[])]);
    let m = Manager::start(only_a.clone(), loader(), options())
        .await
        .unwrap();
    m.reload_config(config(&[("b", &b, VersionPolicy::Latest(1), &[])]))
        .await
        .unwrap();
    // The reload returned only once b was available, and a is gone with its history kept.
    assert_eq!(m.lookup("b", &VersionChoice::Latest).unwrap().version, 5);
    assert_eq!(m.model_names(), ["b"]);
    assert_eq!(
        m.lookup("a", &VersionChoice::Latest).unwrap_err().message(),
        "Servable not found for request: Latest(a)"
    );
    assert_eq!(m.status("a", None).unwrap()[0].state, ModelState::End);
    assert!(m.all_ready());
    // Adding a back loads it again; an identical reload is accepted.
    m.reload_config(only_a.clone()).await.unwrap();
    assert_eq!(m.lookup("a", &VersionChoice::Latest).unwrap().version, 1);
    m.reload_config(only_a).await.unwrap();
    assert_eq!(m.model_names(), ["a"]);
    // A new model with a bad base path fails the reload, as TF Serving's would.
    let broken = temp_base("reload-broken");
    add_version(&broken, "1", true);
    let err = m
        .reload_config(config(&[("z", &broken, VersionPolicy::Latest(1), &[])]))
        .await
        .unwrap_err();
    assert!(
        err.message()
            .starts_with("1 model(s) did not become available"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_during_reloads_never_fail() {
    let (a, b) = (temp_base("busy-a"), temp_base("busy-b"));
    add_version(&a, "1", false);
    add_version(&b, "1", false);
    let with_b = config(&[
        ("a", &a, VersionPolicy::All, &[("stable", 1)]),
        ("b", &b, VersionPolicy::All, &[]),
    ]);
    let without_b = config(&[("a", &a, VersionPolicy::All, &[("stable", 1)])]);
    let m = Manager::start(without_b.clone(), loader(), options())
        .await
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let lookups = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let (m, stop, lookups) = (m.clone(), stop.clone(), lookups.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    m.lookup("a", &VersionChoice::Latest).expect("latest");
                    m.lookup("a", &VersionChoice::Label("stable".into()))
                        .expect("label");
                    m.status("a", None).expect("status");
                    lookups.fetch_add(1, Ordering::Relaxed);
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for round in 0..4 {
        m.reload_config(with_b.clone()).await.unwrap();
        assert_eq!(m.lookup("b", &VersionChoice::Latest).unwrap().version, 1);
        m.reload_config(without_b.clone()).await.unwrap();
        if round == 1 {
            add_version(&a, "2", false);
        }
    }
    eventually("a/2", || {
        m.lookup("a", &VersionChoice::Latest)
            .is_ok_and(|h| h.version == 2)
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    assert!(lookups.load(Ordering::Relaxed) > 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_resolve_and_must_point_at_available_versions() {
    let base = temp_base("labels");
    add_version(&base, "1", false);
    add_version(&base, "2", false);
    let policy = VersionPolicy::Specific(vec![1, 2]);
    let cfg = |labels: &[(&str, i64)]| config(&[("m", &base, policy.clone(), labels)]);
    let m = Manager::start(cfg(&[("stable", 1), ("canary", 2)]), loader(), options())
        .await
        .unwrap();
    assert_eq!(
        (label(&m, "m", "stable"), label(&m, "m", "canary")),
        (Ok(1), Ok(2))
    );
    let err = m
        .lookup("m", &VersionChoice::Label("nope".into()))
        .unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (
            Code::InvalidArgument,
            "Unrecognized servable version label: nope"
        )
    );
    assert_eq!(
        label(&m, "other", "stable"),
        Err("Unrecognized servable version label: stable".into())
    );

    let err = m.reload_config(cfg(&[("stable", 7)])).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(
        err.message(),
        "Request to assign label to version 7 of model m, which is not currently available for inference"
    );
    // A refused label change keeps the labels that were in force.
    assert_eq!(label(&m, "m", "stable"), Ok(1));
    m.reload_config(cfg(&[("stable", 2)])).await.unwrap();
    assert_eq!(label(&m, "m", "stable"), Ok(2));
    assert!(
        label(&m, "m", "canary").is_err(),
        "labels are replaced whole"
    );

    // At startup a label on an unavailable version is fatal...
    let err = match Manager::start(cfg(&[("future", 3)]), loader(), options()).await {
        Ok(_) => panic!("started"),
        Err(e) => e,
    };
    assert_eq!(err.code(), Code::FailedPrecondition);
    // ...unless allowed; then only moving an existing label to an unavailable version is refused.
    let allow = ManagerOptions {
        allow_version_labels_for_unavailable_models: true,
        ..options()
    };
    let m = Manager::start(cfg(&[("future", 3), ("stable", 1)]), loader(), allow)
        .await
        .unwrap();
    assert_eq!(
        label(&m, "m", "future"),
        Err("Servable not found for request: Specific(m, 3)".into())
    );
    assert!(m.reload_config(cfg(&[("stable", 4)])).await.is_err());
    m.reload_config(cfg(&[("stable", 2), ("future", 3)]))
        .await
        .unwrap();
    assert_eq!(label(&m, "m", "stable"), Ok(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_cannot_change() {
    let base = temp_base("platform");
    add_version(&base, "1", false);
    let mut cfg = config(&[("m", &base, VersionPolicy::Latest(1), &[])]);
    let m = Manager::start(cfg.clone(), loader(), options())
        .await
        .unwrap();
    cfg.models[0].platform = "onnx".into();
    assert_eq!(
        m.reload_config(cfg).await.unwrap_err().message(),
        "Illegal to change a model's platform. For model m platform was tensorflow and new platform requested is onnx"
    );
    let mut dup = config(&[("m", &base, VersionPolicy::Latest(1), &[])]);
    dup.models.push(dup.models[0].clone());
    assert_eq!(
        m.reload_config(dup).await.unwrap_err().message(),
        "Illegal to list model m multiple times in config list"
    );
}

fn config_text(models: &[(&str, &std::path::Path)]) -> String {
    let entries: String = models
        .iter()
        .map(|(name, base)| {
            format!(
                "  config {{ name: '{name}' base_path: '{}' model_platform: 'tensorflow' }}\n",
                base.display()
            )
        })
        .collect();
    format!("model_config_list {{\n{entries}}}\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_file_poller_applies_changes_and_survives_errors() {
    let dir = temp_base("config-file");
    let (a, b) = (dir.join("a"), dir.join("b"));
    add_version(&a, "1", false);
    add_version(&b, "1", false);
    let file = dir.join("models.config");
    std::fs::write(&file, config_text(&[("a", &a)])).unwrap();
    let cfg =
        tensorserve_engine::ModelServerConfig::parse(&std::fs::read_to_string(&file).unwrap())
            .unwrap();
    let m = Manager::start(cfg, loader(), options()).await.unwrap();
    m.poll_config_file(file.clone(), Duration::from_millis(30));

    std::fs::write(&file, config_text(&[("a", &a), ("b", &b)])).unwrap();
    eventually("b added", || m.lookup("b", &VersionChoice::Latest).is_ok()).await;
    // Garbage, then a missing file: logged, nothing changes, the poller keeps going.
    std::fs::write(&file, "improperly formatted file").unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    std::fs::remove_file(&file).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(m.model_names(), ["a", "b"]);
    std::fs::write(&file, config_text(&[("b", &b)])).unwrap();
    eventually("a removed", || m.model_names() == ["b"]).await;
    assert!(m.lookup("a", &VersionChoice::Latest).is_err());
}
