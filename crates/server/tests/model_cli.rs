//! `tensorserve model show|run` on the bundled model, through the real binary.

use std::process::Command;

fn bundled() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../models/half_plus_two/00000123"
    )
    .to_string()
}

fn tensorserve(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tensorserve"))
        .args(args)
        .output()
        .expect("runs")
}

#[test]
fn run_predicts_half_plus_two() {
    let dir = bundled();
    let out = tensorserve(&[
        "model",
        "run",
        &dir,
        "--signature",
        "serving_default",
        "--inputs",
        r#"{"x": [1.0, 2.0, 5.0]}"#,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json, serde_json::json!({"outputs": [2.5, 3.0, 4.5]}));
}

#[test]
fn run_takes_a_bare_value_for_a_single_input() {
    let dir = bundled();
    let out = tensorserve(&[
        "model",
        "run",
        &dir,
        "--signature",
        "regress_x2_to_y3",
        "--inputs",
        "[[1.0], [2.0]]",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json, serde_json::json!({"outputs": [[3.5], [4.0]]}));
}

#[test]
fn show_lists_signatures_variables_and_ops() {
    let out = tensorserve(&["model", "show", &bundled()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "tags: serve",
        "serving_default",
        "classify_x_to_y",
        "input x: DT_FLOAT (-1, 1) <- x:0",
        "variables:",
        "ParseExample",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn errors_go_to_stderr_with_a_failure_status() {
    let out = tensorserve(&[
        "model",
        "run",
        &bundled(),
        "--signature",
        "nope",
        "--inputs",
        "1.0",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Serving signature name: \"nope\" not found")
    );
    let out = tensorserve(&["model", "run", &bundled(), "--inputs", "{\"x\": [\"a\"]}"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not of expected type: float"));
    let out = tensorserve(&["model", "show", "/nonexistent"]);
    assert!(!out.status.success());
}
