//! Reads the `variables/` checkpoints of TF Serving's own test models (`../shared/testdata`): the
//! TF1 and TF2 half_plus_two (written by old TensorFlow releases, with Snappy-compressed index
//! blocks), the TF2 object graph stored as a string tensor, and damaged copies of them.
//!
//! The models are not part of this repository. Without them these tests print a notice and pass,
//! unless `TENSORSERVE_REQUIRE_SHARED=1`, which makes their absence a failure (for CI).

use std::path::{Path, PathBuf};

use tensorserve_core::TensorData;
use tensorserve_savedmodel::bundle::{Bundle, BundleError};

/// The TF Serving testdata directory, or `None` (after printing why) when it is absent.
fn shared_testdata() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/tfserving"
    ));
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("TENSORSERVE_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!(
            "{} is missing and TENSORSERVE_REQUIRE_SHARED=1",
            dir.display()
        );
    }
    eprintln!("skipping: {} is absent", dir.display());
    None
}

/// The checkpoint prefix of a test model's version 123.
fn prefix(testdata: &Path, model: &str) -> PathBuf {
    testdata.join(model).join("00000123/variables/variables")
}

fn scalar_f32(bundle: &Bundle, key: &str) -> f32 {
    let tensor = bundle.read(key).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tensor.shape(), &[] as &[usize], "{key} is a scalar");
    match tensor.data() {
        TensorData::F32(v) => v[0],
        other => panic!("{key} is {other:?}"),
    }
}

/// Copies a model's checkpoint into a fresh temporary directory, returning the new prefix.
fn copy_checkpoint(from: &Path, test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tensorserve-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for suffix in [".index", ".data-00000-of-00001"] {
        std::fs::copy(
            with_suffix(from, suffix),
            with_suffix(&dir.join("variables"), suffix),
        )
        .unwrap();
    }
    dir.join("variables")
}

fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", prefix.display()))
}

fn cleanup(prefix: &Path) {
    let _ = std::fs::remove_dir_all(prefix.parent().unwrap());
}

#[test]
fn tf1_half_plus_two() {
    let Some(testdata) = shared_testdata() else {
        return;
    };
    let bundle = Bundle::open(&prefix(&testdata, "saved_model_half_plus_two_cpu")).unwrap();
    assert_eq!(
        bundle.keys().collect::<Vec<_>>(),
        ["a", "a2", "b", "c", "c2"]
    );
    assert_eq!(bundle.dtype_and_shape("a"), Some((1, vec![])));
    assert_eq!(scalar_f32(&bundle, "a"), 0.5);
    assert_eq!(scalar_f32(&bundle, "b"), 2.0);
    assert_eq!(scalar_f32(&bundle, "c"), 3.0);
}

#[test]
fn tf2_half_plus_two() {
    let Some(testdata) = shared_testdata() else {
        return;
    };
    let bundle = Bundle::open(&prefix(&testdata, "saved_model_half_plus_two_tf2_cpu")).unwrap();
    let keys: Vec<&str> = bundle.keys().collect();
    assert_eq!(
        keys,
        [
            "_CHECKPOINTABLE_OBJECT_GRAPH",
            "a/.ATTRIBUTES/VARIABLE_VALUE",
            "b/.ATTRIBUTES/VARIABLE_VALUE",
            "c/.ATTRIBUTES/VARIABLE_VALUE",
        ]
    );
    assert_eq!(scalar_f32(&bundle, "a/.ATTRIBUTES/VARIABLE_VALUE"), 0.5);
    assert_eq!(scalar_f32(&bundle, "b/.ATTRIBUTES/VARIABLE_VALUE"), 2.0);
    assert_eq!(scalar_f32(&bundle, "c/.ATTRIBUTES/VARIABLE_VALUE"), 3.0);
}

#[test]
fn tf2_object_graph_is_a_checksummed_string_scalar() {
    let Some(testdata) = shared_testdata() else {
        return;
    };
    let bundle = Bundle::open(&prefix(&testdata, "saved_model_half_plus_two_tf2_cpu")).unwrap();
    assert_eq!(
        bundle.dtype_and_shape("_CHECKPOINTABLE_OBJECT_GRAPH"),
        Some((7, vec![]))
    );
    let tensor = bundle.read("_CHECKPOINTABLE_OBJECT_GRAPH").unwrap();
    let TensorData::String(strings) = tensor.data() else {
        panic!("not a string tensor: {tensor:?}");
    };
    // A serialized TrackableObjectGraph whose first node has children "a", "b", "c" (the
    // length and prefix as TensorFlow's own reader returns them).
    assert_eq!(strings.len(), 1);
    assert_eq!(strings[0].len(), 613);
    assert!(strings[0].starts_with(b"\n\x98\x01\n\x05\x12\x01a\x08\x01\n\x05\x12\x01b"));
}

#[test]
fn every_test_model_checkpoint_reads_cleanly() {
    let Some(testdata) = shared_testdata() else {
        return;
    };
    let mut checked = 0;
    for model in std::fs::read_dir(&testdata).unwrap() {
        let model = model.unwrap().path();
        let Ok(versions) = std::fs::read_dir(&model) else {
            continue; // a file, not a model directory
        };
        for version in versions {
            let prefix = version.unwrap().path().join("variables/variables");
            if !with_suffix(&prefix, ".index").exists() {
                continue;
            }
            let bundle = Bundle::open(&prefix).unwrap_or_else(|e| panic!("{e}"));
            for key in bundle.keys() {
                let tensor = bundle.read(key).unwrap_or_else(|e| panic!("{e}"));
                let (dtype, shape) = bundle.dtype_and_shape(key).unwrap();
                assert_eq!(tensor.dtype().tf_enum(), dtype, "{key}");
                let shape: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
                assert_eq!(tensor.shape(), shape, "{key}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} checkpoints found");
}

#[test]
fn a_corrupted_tensor_is_a_checksum_error_naming_key_and_file() {
    let Some(testdata) = shared_testdata() else {
        return;
    };
    let prefix = copy_checkpoint(&prefix(&testdata, "saved_model_half_plus_two_cpu"), "crc");
    let data = with_suffix(&prefix, ".data-00000-of-00001");
    let mut bytes = std::fs::read(&data).unwrap();
    // Tensors are stored in key order, 4 bytes each: a, a2, b, c, c2. Flip a bit of "b".
    bytes[2 * 4 + 1] ^= 0x01;
    std::fs::write(&data, &bytes).unwrap();
    let bundle = Bundle::open(&prefix).unwrap();
    let err = bundle.read("b").unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, BundleError::CorruptTensor { .. }),
        "{message}"
    );
    assert!(
        message.contains("'b'") && message.contains("checksum"),
        "{message}"
    );
    assert!(
        message.contains("variables.data-00000-of-00001"),
        "{message}"
    );
    assert_eq!(
        scalar_f32(&bundle, "a"),
        0.5,
        "other tensors are unaffected"
    );
    assert_eq!(
        scalar_f32(&bundle, "c"),
        3.0,
        "other tensors are unaffected"
    );
    cleanup(&prefix);
}

#[test]
fn a_corrupted_or_truncated_snappy_index_is_an_error() {
    let Some(testdata) = shared_testdata() else {
        return;
    };
    let prefix = copy_checkpoint(
        &prefix(&testdata, "saved_model_half_plus_two_tf2_cpu"),
        "idx",
    );
    let index = with_suffix(&prefix, ".index");
    let good = std::fs::read(&index).unwrap();
    // The data block comes first; any change to it breaks its checksum.
    let mut bad = good.clone();
    bad[3] ^= 0x20;
    std::fs::write(&index, &bad).unwrap();
    let err = Bundle::open(&prefix).unwrap_err();
    assert!(matches!(err, BundleError::CorruptIndex { .. }), "{err}");
    assert!(err.to_string().contains("checksum"), "{err}");
    assert!(err.to_string().contains("variables.index"), "{err}");
    for len in [0, 10, good.len() / 2, good.len() - 1] {
        std::fs::write(&index, &good[..len]).unwrap();
        let err = Bundle::open(&prefix).unwrap_err();
        assert!(
            matches!(err, BundleError::CorruptIndex { .. }),
            "{len}: {err}"
        );
    }
    cleanup(&prefix);
}

#[test]
fn a_truncated_data_file_is_an_error() {
    let Some(testdata) = shared_testdata() else {
        return;
    };
    let prefix = copy_checkpoint(
        &prefix(&testdata, "saved_model_half_plus_two_tf2_cpu"),
        "trunc",
    );
    let data = with_suffix(&prefix, ".data-00000-of-00001");
    let bytes = std::fs::read(&data).unwrap();
    std::fs::write(&data, &bytes[..bytes.len() / 2]).unwrap();
    let bundle = Bundle::open(&prefix).unwrap();
    let errors: Vec<String> = bundle
        .keys()
        .filter_map(|k| bundle.read(k).err())
        .map(|e| e.to_string())
        .collect();
    assert!(!errors.is_empty());
    assert!(
        errors.iter().all(|e| e.contains("past the end")),
        "{errors:?}"
    );
    cleanup(&prefix);
}
