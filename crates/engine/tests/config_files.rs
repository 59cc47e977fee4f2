//! TF Serving's own test configs from the shared testdata: the good one parses (once its
//! `${...}` placeholders are substituted, as TF Serving's test does), the bad one fails with
//! protobuf's sentence. Skipped with a notice when the shared tree is absent, unless
//! `TENSORSERVE_REQUIRE_SHARED=1`.

use std::path::{Path, PathBuf};

use tensorserve_engine::config::PARSE_PREFIX;
use tensorserve_engine::{ModelServerConfig, VersionPolicy};

const SHARED: &str = "/work/shared/testdata/tfserving";

fn shared_file(name: &str) -> Option<String> {
    let path = Path::new(SHARED).join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if std::env::var("TENSORSERVE_REQUIRE_SHARED").as_deref() == Ok("1") => {
            panic!("{} is required: {e}", path.display())
        }
        Err(e) => {
            eprintln!("skipping: {} unavailable ({e})", path.display());
            None
        }
    }
}

#[test]
fn good_model_config() {
    let Some(text) = shared_file("good_model_config.txt") else {
        return;
    };
    // As written, the placeholders are not absolute paths.
    assert_eq!(
        ModelServerConfig::parse(&text).unwrap_err().message(),
        "Expected model half_plus_two to have an absolute path or URI; got base_path()=${TEST_HALF_PLUS_TWO_DIR}"
    );
    let two = PathBuf::from(SHARED).join("saved_model_half_plus_two_cpu");
    let three = PathBuf::from(SHARED).join("saved_model_half_plus_three");
    let text = text
        .replace("${TEST_HALF_PLUS_TWO_DIR}", &two.to_string_lossy())
        .replace("${TEST_HALF_PLUS_THREE_DIR}", &three.to_string_lossy());
    let config = ModelServerConfig::parse(&text).unwrap();
    let summary: Vec<_> = config
        .models
        .iter()
        .map(|m| {
            (
                m.name.as_str(),
                m.base_path.clone(),
                m.platform.as_str(),
                m.policy.clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("half_plus_two", two, "tensorflow", VersionPolicy::Latest(1)),
            (
                "half_plus_three",
                three,
                "tensorflow",
                VersionPolicy::Latest(1)
            ),
        ]
    );
}

#[test]
fn bad_model_config() {
    let Some(text) = shared_file("bad_model_config.txt") else {
        return;
    };
    let err = ModelServerConfig::parse(&text).unwrap_err();
    assert_eq!(err.code(), tensorserve_core::Code::InvalidArgument);
    assert_eq!(
        err.message(),
        format!("{PARSE_PREFIX}: 1:12: Expected \":\", found \"formatted\".")
    );
}
