//! The manager against real temporary directories and a fake loader: version discovery,
//! policies, availability-preserving swaps, broken versions and startup.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{add_version, config, eventually, loader, options, temp_base};
use tensorserve_core::Code;
use tensorserve_engine::{
    Manager, ManagerOptions, ModelServerConfig, ModelState, VersionChoice, VersionPolicy,
};

fn versions(m: &Manager, name: &str) -> Vec<(i64, ModelState)> {
    m.status(name, None)
        .unwrap()
        .iter()
        .map(|s| (s.version, s.state))
        .collect()
}

fn latest(m: &Manager, name: &str) -> Result<i64, String> {
    m.lookup(name, &VersionChoice::Latest)
        .map(|h| h.version)
        .map_err(|e| e.message().to_string())
}

async fn start_err(cfg: ModelServerConfig, options: ManagerOptions) -> tensorserve_core::Status {
    match Manager::start(cfg, loader(), options).await {
        Ok(_) => panic!("started"),
        Err(e) => e,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_version_replaces_old_without_a_gap() {
    let base = temp_base("swap");
    add_version(&base, "00000001", false);
    let m = Manager::start(ModelServerConfig::single("m", &base), loader(), options())
        .await
        .unwrap();
    assert_eq!(latest(&m, "m"), Ok(1));
    assert!(m.all_ready());
    let in_flight = m.lookup("m", &VersionChoice::Latest).unwrap();

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
    eventually("version 2", || latest(&m, "m") == Ok(2)).await;
    eventually("version 1 to end", || {
        versions(&m, "m") == [(2, ModelState::Available), (1, ModelState::End)]
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    assert!(client.await.unwrap() > 10);
    assert_eq!(
        m.lookup("m", &VersionChoice::Specific(1))
            .unwrap_err()
            .message(),
        "Servable not found for request: Specific(m, 1)"
    );
    // The request that took version 1 before its unload still runs it, and is its last owner.
    assert!(
        in_flight
            .model
            .run("serving_default", Default::default(), &[])
            .is_ok()
    );
    assert_eq!(Arc::strong_count(&in_flight.model), 1);

    // Removing version 2's directory rolls back to version 1, which is still on disk.
    std::fs::remove_dir_all(base.join("2")).unwrap();
    eventually("roll back to 1", || latest(&m, "m") == Ok(1)).await;
    eventually("version 2 to end", || {
        m.status("m", Some(2)).unwrap()[0].state == ModelState::End
    })
    .await;
    // An empty base path unloads everything; history stays listed.
    std::fs::remove_dir_all(base.join("00000001")).unwrap();
    eventually("version 1 to end", || {
        m.status("m", Some(1)).unwrap()[0].state == ModelState::End
    })
    .await;
    assert_eq!(
        latest(&m, "m"),
        Err("Servable not found for request: Latest(m)".into())
    );
    assert_eq!(
        versions(&m, "m"),
        [(2, ModelState::End), (1, ModelState::End)]
    );
    assert!(!m.all_ready());
    // A missing base path changes nothing: version 3 appears only once the path is back.
    std::fs::remove_dir_all(&base).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(versions(&m, "m").len(), 2);
    add_version(&base, "3", false);
    eventually("version 3", || latest(&m, "m") == Ok(3)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_version_beside_a_good_one() {
    let base = temp_base("broken");
    add_version(&base, "1", true);
    add_version(&base, "2", false);
    let m = Manager::start(
        config(&[("m", &base, VersionPolicy::All, &[])]),
        loader(),
        options(),
    )
    .await
    .unwrap();
    assert_eq!(latest(&m, "m"), Ok(2));
    let broken = &m.status("m", Some(1)).unwrap()[0];
    assert_eq!(broken.state, ModelState::End);
    assert_eq!(
        broken.status.as_ref().unwrap_err().message(),
        "version 1 is broken"
    );

    // Under `latest`, a broken new version leaves the old one serving...
    let base = temp_base("broken-new");
    add_version(&base, "1", false);
    let loader = loader();
    let m = Manager::start(
        ModelServerConfig::single("m", &base),
        loader.clone(),
        options(),
    )
    .await
    .unwrap();
    add_version(&base, "2", true);
    eventually("version 2 to fail", || {
        m.status("m", Some(2))
            .is_ok_and(|s| s[0].state == ModelState::End)
    })
    .await;
    assert_eq!(
        versions(&m, "m"),
        [(2, ModelState::End), (1, ModelState::Available)]
    );
    assert_eq!(latest(&m, "m"), Ok(1));
    // ...is tried 1 + max_num_load_retries times, and not again on later polls...
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(loader.attempts(), 1 + 2);
    // ...and a good newer version still replaces the old one.
    add_version(&base, "3", false);
    eventually("version 3", || latest(&m, "m") == Ok(3)).await;
    eventually("version 1 to end", || {
        m.status("m", Some(1)).unwrap()[0].state == ModelState::End
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_models_retries_do_not_hold_up_another() {
    let (a, b) = (temp_base("indep-a"), temp_base("indep-b"));
    add_version(&a, "1", false);
    add_version(&b, "1", false);
    let slow_retries = ManagerOptions {
        max_num_load_retries: 4,
        load_retry_interval: Duration::from_millis(500),
        ..options()
    };
    let cfg = config(&[
        ("a", &a, VersionPolicy::Latest(1), &[]),
        ("b", &b, VersionPolicy::Latest(1), &[]),
    ]);
    let m = Manager::start(cfg, loader(), slow_retries).await.unwrap();
    add_version(&b, "2", true);
    eventually("b/2 retrying", || {
        m.status("b", Some(2))
            .is_ok_and(|s| s[0].state == ModelState::Loading)
    })
    .await;
    add_version(&a, "2", false);
    eventually("a/2", || latest(&m, "a") == Ok(2)).await;
    assert_eq!(
        m.status("b", Some(2)).unwrap()[0].state,
        ModelState::Loading
    );
    assert_eq!(latest(&m, "b"), Ok(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_fails_when_the_latest_version_cannot_load() {
    let base = temp_base("allbroken");
    add_version(&base, "3", true);
    let err = start_err(ModelServerConfig::single("m", &base), options()).await;
    assert_eq!(err.code(), Code::Unknown);
    assert_eq!(
        err.message(),
        "1 model(s) did not become available: {{{name: m version: 3} due to error: INVALID_ARGUMENT: version 3 is broken}, }"
    );
    // Under `all`, TF Serving waits for the highest version: an older good one does not help.
    let base = temp_base("highbroken");
    add_version(&base, "1", false);
    add_version(&base, "2", true);
    let err = start_err(config(&[("m", &base, VersionPolicy::All, &[])]), options()).await;
    assert!(
        err.message()
            .starts_with("1 model(s) did not become available: {{{name: m version: 2}"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_waits_for_versions_to_appear() {
    let base = temp_base("late");
    let empty = ModelServerConfig::single("m", &base);
    let bounded = ManagerOptions {
        initial_load_timeout: Some(Duration::from_millis(200)),
        ..options()
    };
    let err = start_err(empty.clone(), bounded).await;
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert!(
        err.message()
            .starts_with("1 model(s) did not become available within"),
        "{err}"
    );
    // A missing base path is waited for too.
    let missing = temp_base("late-missing").join("not-yet");
    let cfg = config(&[
        ("m", &base, VersionPolicy::Latest(1), &[]),
        ("n", &missing, VersionPolicy::Latest(1), &[]),
    ]);
    let starting = tokio::spawn(Manager::start(cfg, loader(), options()));
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(!starting.is_finished());
    add_version(&base, "4", false);
    add_version(&missing, "1", false);
    let m = starting.await.unwrap().unwrap();
    assert_eq!((latest(&m, "m"), latest(&m, "n")), (Ok(4), Ok(1)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_choose_versions() {
    let base = temp_base("policies");
    for v in ["1", "2", "3"] {
        add_version(&base, v, false);
    }
    let cfg = config(&[
        (
            "specific",
            &base,
            VersionPolicy::Specific(vec![1, 3, 42]),
            &[],
        ),
        ("latest2", &base, VersionPolicy::Latest(2), &[]),
        ("all", &base, VersionPolicy::All, &[]),
    ]);
    let m = Manager::start(cfg, loader(), options()).await.unwrap();
    use ModelState::Available;
    assert_eq!(versions(&m, "specific"), [(3, Available), (1, Available)]);
    assert_eq!(versions(&m, "latest2"), [(3, Available), (2, Available)]);
    assert_eq!(
        versions(&m, "all"),
        [(3, Available), (2, Available), (1, Available)]
    );
    let h = m.lookup("specific", &VersionChoice::Specific(1)).unwrap();
    assert_eq!((h.name.as_str(), h.version), ("specific", 1));
    assert!(m.lookup("specific", &VersionChoice::Specific(2)).is_err());
    // A fourth version: latest2 moves to {3, 4}, all grows, specific does not change.
    add_version(&base, "4", false);
    eventually("latest2 moves", || {
        versions(&m, "latest2") == [(4, Available), (3, Available), (2, ModelState::End)]
    })
    .await;
    eventually("all grows", || versions(&m, "all").len() == 4).await;
    assert_eq!(versions(&m, "specific"), [(3, Available), (1, Available)]);
    assert_eq!(m.model_names(), ["all", "latest2", "specific"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_modes_and_status_errors() {
    let base = temp_base("once");
    add_version(&base, "1", false);
    let once = options().with_file_system_poll_wait_seconds(0);
    let m = Manager::start(ModelServerConfig::single("m", &base), loader(), once)
        .await
        .unwrap();
    add_version(&base, "2", false);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(latest(&m, "m"), Ok(1), "scanned once only");
    assert_eq!(
        m.status("x", None).unwrap_err().message(),
        "Could not find any versions of model x"
    );
    assert_eq!(
        m.status("m", Some(9)).unwrap_err().message(),
        "Could not find version 9 of model m"
    );
    let handle = m.lookup("m", &VersionChoice::Latest).unwrap();
    assert_eq!(
        format!("{handle:?}"),
        "ServableHandle { name: \"m\", version: 1, .. }"
    );

    let never = ManagerOptions {
        initial_load_timeout: Some(Duration::from_millis(100)),
        ..options().with_file_system_poll_wait_seconds(-1)
    };
    let err = start_err(ModelServerConfig::single("m", &base), never).await;
    assert_eq!(
        err.code(),
        Code::DeadlineExceeded,
        "never scans, so never loads"
    );
}
