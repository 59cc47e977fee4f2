//! The batching rules on a small row-wise model whose runs the tests can hold and inspect:
//! queue-full, timeouts, what is merged and what is not, padding, size limits, splitting, and
//! the fallbacks that keep every answer what it would be without batching.

mod common;

use std::collections::BTreeMap;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::RunGate;
use tensorserve_batching::{BatchObserver, BatchRun, BatchScheduler, BatchingParameters};
use tensorserve_core::{
    Code, DType, Model, ModelFormat, SignatureDef, Status, Tensor, TensorData, TensorInfo,
};

/// `y = 2·x` row by row, plus `count`, a scalar (not per-row) output, on request. Negative
/// inputs are an error, like an out-of-range id. Every run's input shape is recorded, and runs
/// can be held at a gate until the test releases them.
struct Doubler {
    signatures: BTreeMap<String, SignatureDef>,
    shapes: Mutex<Vec<Vec<usize>>>,
    gate: RunGate,
}

impl Doubler {
    fn new() -> Arc<Doubler> {
        let info = |name: &str| TensorInfo {
            name: name.into(),
            dtype: DType::F32,
            shape: None,
        };
        let sig = SignatureDef {
            method_name: "tensorflow/serving/predict".into(),
            inputs: [("x".to_string(), info("x:0"))].into(),
            outputs: [
                ("y".to_string(), info("y:0")),
                ("count".into(), info("c:0")),
            ]
            .into(),
        };
        Arc::new(Doubler {
            signatures: [("serving_default".to_string(), sig)].into(),
            shapes: Mutex::default(),
            gate: RunGate::default(),
        })
    }

    fn runs(&self) -> Vec<Vec<usize>> {
        self.shapes.lock().unwrap().clone()
    }
}

impl Model for Doubler {
    fn signatures(&self) -> &BTreeMap<String, SignatureDef> {
        &self.signatures
    }

    fn run(
        &self,
        signature: &str,
        inputs: BTreeMap<String, Tensor>,
        output_filter: &[String],
    ) -> Result<BTreeMap<String, Tensor>, Status> {
        if signature != "serving_default" {
            return Err(Status::not_found(format!("no signature {signature}")));
        }
        let x = &inputs["x"];
        self.shapes.lock().unwrap().push(x.shape().to_vec());
        self.gate.pass();
        let TensorData::F32(v) = x.data() else {
            return Err(Status::invalid_argument("x must be float"));
        };
        if v.iter().any(|&e| e < 0.0) {
            return Err(Status::invalid_argument("x must not be negative"));
        }
        let y = Tensor::new(
            x.shape().to_vec(),
            TensorData::F32(v.iter().map(|e| e * 2.0).collect()),
        )?;
        let mut out = BTreeMap::from([("y".to_string(), y)]);
        if output_filter.iter().any(|f| f == "count") {
            out.insert(
                "count".into(),
                Tensor::scalar(TensorData::F32(vec![x.shape()[0] as f32]))?,
            );
        }
        Ok(out)
    }

    fn format(&self) -> ModelFormat {
        ModelFormat::SavedModel
    }
}

#[derive(Default)]
struct Sizes(Mutex<Vec<(usize, usize, usize)>>);

impl BatchObserver for Sizes {
    fn batch_started(&self, b: &BatchRun<'_>) {
        assert_eq!(b.queue_waits.len(), b.requests);
        self.0
            .lock()
            .unwrap()
            .push((b.requests, b.rows, b.padded_rows));
    }
}

struct Setup {
    inner: Arc<Doubler>,
    model: Arc<tensorserve_batching::BatchingModel>,
    sizes: Arc<Sizes>,
}

fn setup(params: BatchingParameters) -> Setup {
    let inner = Doubler::new();
    let scheduler = BatchScheduler::start(&params).unwrap();
    let sizes = Arc::new(Sizes::default());
    let model = scheduler
        .wrap(inner.clone(), params, "doubler:1", Some(sizes.clone()))
        .unwrap();
    Setup {
        inner,
        model,
        sizes,
    }
}

fn params(max_batch: usize, timeout_ms: u64, enqueued: usize) -> BatchingParameters {
    BatchingParameters {
        max_batch_size: max_batch,
        max_execution_batch_size: max_batch,
        batch_timeout: Duration::from_millis(timeout_ms),
        max_enqueued_batches: enqueued,
        num_batch_threads: 1,
        ..BatchingParameters::default()
    }
}

fn rows(shape: &[usize], first: f32) -> BTreeMap<String, Tensor> {
    let n = shape.iter().product();
    let v = (0..n).map(|i| first + i as f32).collect();
    [(
        "x".to_string(),
        Tensor::new(shape.to_vec(), TensorData::F32(v)).unwrap(),
    )]
    .into()
}

fn doubled(inputs: &BTreeMap<String, Tensor>) -> Tensor {
    let x = &inputs["x"];
    let TensorData::F32(v) = x.data() else {
        panic!()
    };
    Tensor::new(
        x.shape().to_vec(),
        TensorData::F32(v.iter().map(|e| e * 2.0).collect()),
    )
    .unwrap()
}

type Call = JoinHandle<Result<BTreeMap<String, Tensor>, Status>>;

fn call(s: &Setup, inputs: BTreeMap<String, Tensor>, filter: &[&str]) -> Call {
    let model = s.model.clone();
    let filter: Vec<String> = filter.iter().map(|f| f.to_string()).collect();
    std::thread::spawn(move || model.run("serving_default", inputs, &filter))
}

/// Waits (at most 30 s: a liveness bound, not a timing assertion) until `n` requests wait.
fn wait_queued(s: &Setup, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while s.model.queued_tasks() != n {
        assert!(Instant::now() < deadline, "never saw {n} queued requests");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Holds the single batch thread inside a run of a 1-row request; returns the release handle.
fn occupy_the_thread(s: &Setup) -> (Call, Sender<()>) {
    let (entered, release) = s.inner.gate.hold();
    let first = call(s, rows(&[1, 2], 100.0), &[]);
    entered
        .recv_timeout(Duration::from_secs(30))
        .expect("first run started");
    (first, release)
}

#[test]
fn a_full_queue_is_resource_exhausted() {
    let s = setup(params(2, 0, 1));
    let (first, release) = occupy_the_thread(&s);
    let b = call(&s, rows(&[1, 2], 1.0), &[]);
    let c = call(&s, rows(&[1, 2], 3.0), &[]);
    wait_queued(&s, 2);
    // The one allowed batch is full (2 rows): no room for a third request.
    let err = s
        .model
        .run("serving_default", rows(&[1, 2], 5.0), &[])
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err}");
    assert!(
        err.message()
            .contains("batch scheduling queue of doubler:1 is full"),
        "{err}"
    );
    release.send(()).unwrap();
    first.join().unwrap().unwrap();
    assert_eq!(
        b.join().unwrap().unwrap()["y"],
        doubled(&rows(&[1, 2], 1.0))
    );
    assert_eq!(
        c.join().unwrap().unwrap()["y"],
        doubled(&rows(&[1, 2], 3.0))
    );
    assert_eq!(s.inner.runs(), [vec![1, 2], vec![2, 2]]);
}

#[test]
fn the_timeout_flushes_a_partial_batch() {
    let s = setup(params(8, 30, 10));
    let inputs = rows(&[1, 3], 1.0);
    let out = s.model.run("serving_default", inputs.clone(), &[]).unwrap();
    assert_eq!(out["y"], doubled(&inputs));
    assert_eq!(*s.sizes.0.lock().unwrap(), [(1, 1, 1)]);
}

#[test]
fn requests_wait_for_the_timeout_and_run_together() {
    // A full batch runs at once, long before its 60 s timeout.
    let s = setup(params(4, 60_000, 10));
    let calls: Vec<_> = (0..4)
        .map(|i| call(&s, rows(&[1, 2], i as f32 * 10.0), &[]))
        .collect();
    for (i, c) in calls.into_iter().enumerate() {
        assert_eq!(
            c.join().unwrap().unwrap()["y"],
            doubled(&rows(&[1, 2], i as f32 * 10.0))
        );
    }
    assert_eq!(*s.sizes.0.lock().unwrap(), [(4, 4, 4)]);
}

#[test]
fn incompatible_requests_are_not_merged() {
    let s = setup(params(16, 0, 10));
    let (first, release) = occupy_the_thread(&s);
    let same_a = call(&s, rows(&[1, 2], 1.0), &[]);
    let wider = call(&s, rows(&[1, 3], 1.0), &[]);
    let same_b = call(&s, rows(&[2, 2], 5.0), &[]);
    let filtered = call(&s, rows(&[1, 2], 7.0), &["count"]);
    let int = {
        let model = s.model.clone();
        std::thread::spawn(move || {
            let x = Tensor::new(vec![1, 2], TensorData::I32(vec![1, 2])).unwrap();
            model.run("serving_default", [("x".to_string(), x)].into(), &[])
        })
    };
    wait_queued(&s, 5);
    release.send(()).unwrap();
    first.join().unwrap().unwrap();
    assert_eq!(
        same_a.join().unwrap().unwrap()["y"],
        doubled(&rows(&[1, 2], 1.0))
    );
    assert_eq!(
        same_b.join().unwrap().unwrap()["y"],
        doubled(&rows(&[2, 2], 5.0))
    );
    assert_eq!(
        wider.join().unwrap().unwrap()["y"],
        doubled(&rows(&[1, 3], 1.0))
    );
    let out = filtered.join().unwrap().unwrap();
    assert_eq!(out["y"], doubled(&rows(&[1, 2], 7.0)));
    assert_eq!(
        out["count"],
        Tensor::scalar(TensorData::F32(vec![1.0])).unwrap()
    );
    assert_eq!(
        int.join().unwrap().unwrap_err().message(),
        "x must be float"
    );
    let mut runs = s.inner.runs();
    runs.sort();
    // The two [_, 2] float requests without a filter ran as one batch of 3 rows; the others alone.
    assert_eq!(
        runs,
        [vec![1, 2], vec![1, 2], vec![1, 2], vec![1, 3], vec![3, 2]]
    );
}

#[test]
fn a_failing_request_does_not_fail_its_batch() {
    let s = setup(params(16, 0, 10));
    let (first, release) = occupy_the_thread(&s);
    let good = call(&s, rows(&[1, 2], 1.0), &[]);
    let bad = call(&s, rows(&[1, 2], -9.0), &[]);
    wait_queued(&s, 2);
    release.send(()).unwrap();
    first.join().unwrap().unwrap();
    assert_eq!(
        good.join().unwrap().unwrap()["y"],
        doubled(&rows(&[1, 2], 1.0))
    );
    assert_eq!(
        bad.join().unwrap().unwrap_err().message(),
        "x must not be negative"
    );
}

#[test]
fn outputs_without_a_batch_dimension_fall_back_to_single_runs() {
    let s = setup(params(16, 0, 10));
    let (first, release) = occupy_the_thread(&s);
    let a = call(&s, rows(&[1, 2], 1.0), &["y", "count"]);
    let b = call(&s, rows(&[2, 2], 3.0), &["y", "count"]);
    wait_queued(&s, 2);
    release.send(()).unwrap();
    first.join().unwrap().unwrap();
    let (a, b) = (a.join().unwrap().unwrap(), b.join().unwrap().unwrap());
    assert_eq!(
        a["count"],
        Tensor::scalar(TensorData::F32(vec![1.0])).unwrap()
    );
    assert_eq!(
        b["count"],
        Tensor::scalar(TensorData::F32(vec![2.0])).unwrap()
    );
    assert_eq!(b["y"], doubled(&rows(&[2, 2], 3.0)));
    // Learned: this signature now runs unbatched, without queueing.
    let filter = ["y".to_string(), "count".to_string()];
    s.model
        .run("serving_default", rows(&[1, 2], 0.0), &filter)
        .unwrap();
    assert_eq!(s.sizes.0.lock().unwrap().len(), 2);
}

#[test]
fn batches_are_padded_to_an_allowed_size_and_padding_is_dropped() {
    let mut p = params(8, 0, 10);
    p.allowed_batch_sizes = vec![2, 4, 8];
    let s = setup(p);
    let (first, release) = occupy_the_thread(&s);
    let a = call(&s, rows(&[1, 2], 1.0), &[]);
    let b = call(&s, rows(&[2, 2], 3.0), &[]);
    wait_queued(&s, 2);
    release.send(()).unwrap();
    first.join().unwrap().unwrap();
    assert_eq!(
        a.join().unwrap().unwrap()["y"],
        doubled(&rows(&[1, 2], 1.0))
    );
    assert_eq!(
        b.join().unwrap().unwrap()["y"],
        doubled(&rows(&[2, 2], 3.0))
    );
    // The lone first request was padded from 1 row to 2; the pair from 3 rows to 4.
    assert_eq!(s.inner.runs(), [vec![2, 2], vec![4, 2]]);
    assert_eq!(*s.sizes.0.lock().unwrap(), [(1, 1, 2), (2, 3, 4)]);
}

#[test]
fn oversized_requests_are_refused_or_split_as_tf_does() {
    let s = setup(params(4, 0, 10));
    let err = s
        .model
        .run("serving_default", rows(&[5, 1], 1.0), &[])
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        err.message(),
        "Task size 5 is larger than maximum input batch size 4"
    );

    let mut p = params(8, 0, 10);
    p.enable_large_batch_splitting = true;
    p.max_execution_batch_size = 3;
    let s = setup(p);
    let inputs = rows(&[7, 2], 1.0);
    assert_eq!(
        s.model.run("serving_default", inputs.clone(), &[]).unwrap()["y"],
        doubled(&inputs)
    );
    assert_eq!(s.inner.runs(), [vec![3, 2], vec![3, 2], vec![1, 2]]);
}

#[test]
fn unbatchable_requests_and_unknown_signatures_run_directly() {
    let s = setup(params(4, 0, 10));
    let scalar: BTreeMap<String, Tensor> = [(
        "x".to_string(),
        Tensor::scalar(TensorData::F32(vec![3.0])).unwrap(),
    )]
    .into();
    let out = s.model.run("serving_default", scalar, &[]).unwrap();
    assert_eq!(
        out["y"],
        Tensor::scalar(TensorData::F32(vec![6.0])).unwrap()
    );
    let err = s.model.run("nope", rows(&[1, 2], 1.0), &[]).unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(s.sizes.0.lock().unwrap().is_empty());
}
