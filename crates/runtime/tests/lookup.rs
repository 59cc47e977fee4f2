//! Lookup tables filled by the init op (`testdata/lookup`, made by
//! `tools/fixtures/make_lookup_models.py`): the SavedModels give what TensorFlow gave, including
//! for unknown keys (defaults, the OOV index).

mod common;

use common::{check_expected_cases, repo_root};
use tensorserve_runtime::load_model;

fn check(name: &str) {
    check_expected_cases(name, &repo_root().join("testdata/lookup").join(name));
}

#[test]
fn keras_string_lookup() {
    check("string_lookup");
}

#[test]
fn static_hash_tables_from_asset_files_and_constants() {
    check("vocab_file");
}

/// The vocabulary is read from the version directory's `assets/` at load: a model whose asset
/// went missing fails to load, naming the file, rather than answering with defaults.
#[test]
fn missing_vocabulary_file_fails_the_load() {
    let src = repo_root().join("testdata/lookup/vocab_file/saved_model/1");
    let tmp = std::env::temp_dir().join(format!("tensorserve-lookup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    copy_dir(&src, &tmp);
    std::fs::remove_file(tmp.join("assets/vocab.txt")).unwrap();
    let err = match load_model(&tmp, &["serve"]) {
        Ok(_) => panic!("loaded without its vocabulary"),
        Err(e) => e.to_string(),
    };
    std::fs::remove_dir_all(&tmp).unwrap();
    assert!(err.contains("vocab.txt"), "{err}");
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
