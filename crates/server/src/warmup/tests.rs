//! Warmup against the bundled `half_plus_two`, with warmup files written by TensorFlow's own
//! `TFRecordWriter` (`testdata/warmup/`, from tools/fixtures/make_warmup_requests.py). A
//! counting decorator around the real model tells how many runs each file caused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tensorserve_core::{Code, Model, ModelFormat, SignatureDef, Status, Tensor};

use super::*;

/// The real model, counting its runs.
struct Counting {
    inner: Arc<dyn Model>,
    runs: AtomicUsize,
}

impl Model for Counting {
    fn signatures(&self) -> &BTreeMap<String, SignatureDef> {
        self.inner.signatures()
    }

    fn run(
        &self,
        signature: &str,
        inputs: BTreeMap<String, Tensor>,
        output_filter: &[String],
    ) -> Result<BTreeMap<String, Tensor>, Status> {
        self.runs.fetch_add(1, Ordering::Relaxed);
        self.inner.run(signature, inputs, output_filter)
    }

    fn format(&self) -> ModelFormat {
        self.inner.format()
    }
}

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// A scratch copy of the bundled version directory whose warmup file holds `warmup`.
fn version_with(tag: &str, warmup: Option<&[u8]>) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tensorserve-warmup-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_tree(&repo().join("models/half_plus_two/00000123"), &dir);
    if let Some(bytes) = warmup {
        std::fs::create_dir_all(dir.join("assets.extra")).unwrap();
        std::fs::write(dir.join(REQUESTS_FILE), bytes).unwrap();
    }
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("testdata/warmup").join(name)).unwrap()
}

/// Warms up the model in `dir`; the result and the number of model runs.
fn warm(dir: &Path, iterations: u32) -> (Result<usize, Status>, usize) {
    let inner = tensorserve_runtime::load_model(dir, &["serve"]).expect("the bundled model loads");
    let counting = Arc::new(Counting {
        inner,
        runs: AtomicUsize::new(0),
    });
    let model: Arc<dyn Model> = counting.clone();
    let options = WarmupOptions {
        iterations,
        check_methods: true,
    };
    let result = warm_up(&model, dir, options);
    let _ = std::fs::remove_dir_all(dir);
    (result, counting.runs.load(Ordering::Relaxed))
}

/// Model runs one pass over all_apis.tfrecord causes: Predict, Classify and Regress one each,
/// MultiInference one per task (two).
const ALL_APIS_RUNS: usize = 5;

#[test]
fn every_record_runs_the_requested_number_of_times() {
    let file = fixture("all_apis.tfrecord");
    let (result, runs) = warm(&version_with("once", Some(&file)), 1);
    assert_eq!(result.unwrap(), 4);
    assert_eq!(runs, ALL_APIS_RUNS);
    let (result, runs) = warm(&version_with("thrice", Some(&file)), 3);
    assert_eq!(result.unwrap(), 4);
    assert_eq!(runs, 3 * ALL_APIS_RUNS);
}

#[test]
fn no_warmup_file_is_fine() {
    let (result, runs) = warm(&version_with("none", None), 1);
    assert_eq!(result.unwrap(), 0);
    assert_eq!(runs, 0);
}

#[test]
fn a_session_run_record_is_unimplemented_after_the_records_before_it_ran() {
    let (result, runs) = warm(
        &version_with("session", Some(&fixture("session_run.tfrecord"))),
        1,
    );
    let err = result.unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
    assert_eq!(err.message(), "Unsupported log_type for warmup: 5");
    assert_eq!(runs, 1, "the Predict record before it");
}

#[test]
fn a_failing_request_fails_the_warmup_with_its_own_error() {
    let (result, runs) = warm(
        &version_with("alias", Some(&fixture("bad_alias.tfrecord"))),
        1,
    );
    let err = result.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message()
            .starts_with("input tensor alias not found in signature: not_an_input."),
        "{}",
        err.message()
    );
    assert_eq!(runs, 0);
}

#[test]
fn a_thousand_records_are_allowed_and_the_next_one_is_an_error() {
    // TFRecord files concatenate: 250 copies of the four-record file are 1000 records.
    let file = fixture("all_apis.tfrecord");
    let (result, _) = warm(&version_with("max", Some(&file.repeat(250))), 1);
    assert_eq!(result.unwrap(), MAX_RECORDS);
    let (result, runs) = warm(&version_with("over", Some(&file.repeat(251))), 1);
    let err = result.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message()
            .starts_with("Number of warmup records exceeds the maximum (1000) at "),
        "{}",
        err.message()
    );
    // As in TF Serving, the record over the limit ran before the count was checked.
    assert_eq!(runs, 250 * ALL_APIS_RUNS + 1);
}

#[test]
fn a_damaged_file_is_data_loss_with_tf_servings_hint() {
    let file = fixture("all_apis.tfrecord");
    let (result, runs) = warm(&version_with("cut", Some(&file[..file.len() - 1])), 1);
    let err = result.unwrap_err();
    assert_eq!(err.code(), Code::DataLoss);
    assert!(
        err.message().starts_with("truncated record at "),
        "{}",
        err.message()
    );
    assert!(
        err.message()
            .ends_with(". Please verify your warmup data is in TFRecord format."),
        "{}",
        err.message()
    );
    assert_eq!(
        runs, 3,
        "one run for each of the three records before the cut one"
    );

    let mut flipped = file.clone();
    flipped[20] ^= 1; // inside the first record's data
    let (result, runs) = warm(&version_with("flip", Some(&flipped)), 1);
    let err = result.unwrap_err();
    assert_eq!(err.code(), Code::DataLoss);
    assert!(
        err.message().starts_with("corrupted record at 0."),
        "{}",
        err.message()
    );
    assert_eq!(runs, 0);
}

#[test]
fn a_record_that_is_not_a_prediction_log_is_an_invalid_argument() {
    // A well-framed record holding bytes that are no protobuf message (field 0 is invalid).
    let file = tensorserve_savedmodel::tfrecord::encode_record(&[0, 1, 2]);
    let (result, _) = warm(&version_with("garbage", Some(&file)), 1);
    let err = result.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message()
            .starts_with("Failed to parse warmup record: \\x00\\x01\\x02 from "),
        "{}",
        err.message()
    );
}
