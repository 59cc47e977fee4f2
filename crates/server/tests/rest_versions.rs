//! The model manager seen over REST: version directories added and removed while requests
//! keep flowing, and a broken version beside a good one.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::http::{get, post, request};
use common::{
    bundled_base, copy_tree, model_entry, scratch, shared, start, states, try_start, wait_for,
    write_config,
};
use serde_json::json;

const LIMIT: Duration = Duration::from_secs(20);

/// Moves a fully written version directory into place in one step, so the poller never sees a
/// half-copied version (what a careful deployment does too).
fn publish(version_dir: &Path, staging: &Path, base: &Path) {
    let name = version_dir.file_name().expect("version name");
    let staged = staging.join(name);
    copy_tree(version_dir, &staged);
    std::fs::rename(&staged, base.join(name)).expect("rename into place");
}

/// The state of `version` in a status response, if listed.
fn state_of(status: &serde_json::Value, version: &str) -> Option<String> {
    states(status)
        .into_iter()
        .find(|(v, _)| v == version)
        .map(|(_, s)| s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_come_and_go_while_requests_flow() {
    let Some(testdata) = shared("versions_come_and_go") else {
        return;
    };
    let source = testdata.join("saved_model_half_plus_two_2_versions");
    let dir = scratch("versions");
    let (base, staging) = (dir.join("m"), dir.join("staging"));
    std::fs::create_dir_all(&base).unwrap();
    std::fs::create_dir_all(&staging).unwrap();
    publish(&source.join("00000123"), &staging, &base);

    let s = start(&[
        "--model_name=m",
        &format!("--model_base_path={}", base.display()),
        "--file_system_poll_wait_seconds=1",
    ])
    .await;
    let addr = s.addr;

    // A client predicting on the latest version throughout; every answer must be right.
    let stop = Arc::new(AtomicBool::new(false));
    let (sent, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let client = {
        let (stop, sent, failed) = (stop.clone(), sent.clone(), failed.clone());
        tokio::spawn(async move {
            let mut first_failure = None;
            while !stop.load(Ordering::Relaxed) {
                let r = request(
                    addr,
                    "POST",
                    "/v1/models/m:predict",
                    &[],
                    br#"{"instances": [1.0, 2.0]}"#,
                )
                .await;
                sent.fetch_add(1, Ordering::Relaxed);
                let ok = matches!(&r, Ok(r) if r.status == 200
                    && r.json() == json!({"predictions": [2.5, 3.0]}));
                if !ok {
                    failed.fetch_add(1, Ordering::Relaxed);
                    first_failure.get_or_insert(format!("{r:?}"));
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            first_failure
        })
    };

    let latest_version = || async move {
        let r = get(addr, "/v1/models/m/metadata").await;
        r.json()["model_spec"]["version"].as_str().map(String::from)
    };
    assert_eq!(latest_version().await.as_deref(), Some("123"));

    // A new version appears: it loads, becomes the latest, and 123 is unloaded after it.
    publish(&source.join("00000124"), &staging, &base);
    wait_for("version 124 to serve", LIMIT, || async {
        (latest_version().await.as_deref() == Some("124")).then_some(())
    })
    .await;
    wait_for("version 123 to end", LIMIT, || async {
        let status = get(addr, "/v1/models/m").await.json();
        (state_of(&status, "124").as_deref() == Some("AVAILABLE")
            && state_of(&status, "123").as_deref() == Some("END"))
        .then_some(())
    })
    .await;
    let r = post(
        addr,
        "/v1/models/m/versions/124:predict",
        r#"{"instances": [4.0]}"#,
    )
    .await;
    assert_eq!(r.json(), json!({"predictions": [4.0]}));

    // It disappears again: 123 comes back, and 124 ends.
    std::fs::rename(base.join("00000124"), staging.join("gone")).unwrap();
    wait_for("version 124 to end", LIMIT, || async {
        let status = get(addr, "/v1/models/m").await.json();
        (state_of(&status, "124").as_deref() == Some("END")
            && state_of(&status, "123").as_deref() == Some("AVAILABLE"))
        .then_some(())
    })
    .await;
    assert_eq!(latest_version().await.as_deref(), Some("123"));
    let r = post(
        addr,
        "/v1/models/m/versions/124:predict",
        r#"{"instances": [4.0]}"#,
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.error(),
        "Servable not found for request: Specific(m, 124)"
    );

    stop.store(true, Ordering::Relaxed);
    let first_failure = client.await.unwrap();
    let (sent, failed) = (sent.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    assert!(sent > 10, "the client sent only {sent} requests");
    assert_eq!(
        failed, 0,
        "{failed} of {sent} failed; first: {first_failure:?}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn write_broken(version_dir: &Path) {
    std::fs::create_dir_all(version_dir).unwrap();
    std::fs::write(
        version_dir.join("saved_model.pb"),
        b"this is not a protocol buffer\xff\xff\xff",
    )
    .unwrap();
}

/// The status entry of one version.
fn entry(status: &serde_json::Value, version: &str) -> serde_json::Value {
    status["model_version_status"]
        .as_array()
        .and_then(|l| l.iter().find(|v| v["version"] == version))
        .unwrap_or_else(|| panic!("version {version} not in {status}"))
        .clone()
}

fn assert_failed(status: &serde_json::Value, version: &str) {
    let e = entry(status, version);
    assert_eq!(e["state"], "END", "{status}");
    assert_ne!(e["status"]["error_code"], "OK", "{status}");
    assert_ne!(e["status"]["error_message"], "", "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_version_beside_a_good_one() {
    // Startup waits for each model's highest version, as TF Serving does; so the broken
    // version sits below the good one at first, and a broken newer one arrives later.
    let dir = scratch("broken");
    let (base, staging) = (dir.join("m"), dir.join("staging"));
    write_broken(&base.join("00000122"));
    copy_tree(&bundled_base().join("00000123"), &base.join("00000123"));
    let config = write_config(
        &dir,
        &format!(
            "model_config_list {{\n{}}}\n",
            model_entry("m", &base, "    model_version_policy { all {} }\n")
        ),
    );
    let s = start(&[
        &format!("--model_config_file={}", config.display()),
        "--max_num_load_retries=0",
        "--file_system_poll_wait_seconds=1",
    ])
    .await;
    let addr = s.addr;

    let status = get(addr, "/v1/models/m").await.json();
    assert_eq!(states(&status).len(), 2, "{status}");
    assert_failed(&status, "122");
    assert_eq!(
        entry(&status, "123"),
        json!({"version": "123", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}})
    );
    let r = get(addr, "/v1/models/m/versions/122").await;
    assert_failed(&r.json(), "122");

    // A broken newer version appears while serving: it ends with an error, 123 keeps serving.
    std::fs::create_dir_all(&staging).unwrap();
    write_broken(&staging.join("00000124"));
    std::fs::rename(staging.join("00000124"), base.join("00000124")).unwrap();
    let status = wait_for("version 124 to fail", LIMIT, || async {
        let status = get(addr, "/v1/models/m").await.json();
        (state_of(&status, "124").as_deref() == Some("END")).then_some(status)
    })
    .await;
    assert_failed(&status, "124");
    assert_eq!(state_of(&status, "123").as_deref(), Some("AVAILABLE"));

    for path in ["/v1/models/m:predict", "/v1/models/m/versions/123:predict"] {
        let r = post(addr, path, r#"{"instances": [1.0]}"#).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.json(), json!({"predictions": [2.5]}));
    }
    for version in ["122", "124"] {
        let r = post(
            addr,
            &format!("/v1/models/m/versions/{version}:predict"),
            r#"{"instances": [1.0]}"#,
        )
        .await;
        assert_eq!(r.status, 404);
        assert_eq!(
            r.error(),
            format!("Servable not found for request: Specific(m, {version})")
        );
    }
    assert_eq!(
        get(addr, "/v1/models/m/metadata").await.json()["model_spec"]["version"],
        "123"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_broken_version_fails_startup() {
    let dir = scratch("only-broken");
    let base = dir.join("m");
    std::fs::create_dir_all(base.join("7")).unwrap();
    std::fs::write(base.join("7/saved_model.pb"), b"garbage").unwrap();
    let err = try_start(&[
        "--model_name=m",
        &format!("--model_base_path={}", base.display()),
        "--max_num_load_retries=0",
    ])
    .await
    .err()
    .expect("startup fails");
    let message = format!("{err:#}");
    assert!(
        message.contains("1 model(s) did not become available: ")
            && message.contains("{name: m version: 7} due to error: "),
        "{message}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
