//! Running a batch in place, on the submitting thread: only when a batch slot is free and the
//! queue's batches are measured to be quick, never more than `num_batch_threads` batches at
//! once, and requests queued meanwhile still reach a batch thread.

mod common;

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::RunGate;
use tensorserve_batching::{BatchScheduler, BatchingModel, BatchingParameters};
use tensorserve_core::{DType, Model, ModelFormat, SignatureDef, Status, Tensor, TensorData};
use tensorserve_core::{TensorInfo, signature::PREDICT_METHOD};

/// `y = x + 1` row by row. Records which thread ran each call; can be made slow, and can hold
/// its next run until the test releases it.
struct Recorder {
    signatures: BTreeMap<String, SignatureDef>,
    threads: Mutex<Vec<String>>,
    work: Duration,
    gate: RunGate,
}

impl Recorder {
    fn new(work: Duration) -> Arc<Recorder> {
        let info = |name: &str| TensorInfo {
            name: name.into(),
            dtype: DType::F32,
            shape: None,
        };
        let sig = SignatureDef {
            method_name: PREDICT_METHOD.into(),
            inputs: [("x".to_string(), info("x:0"))].into(),
            outputs: [("y".to_string(), info("y:0"))].into(),
        };
        Arc::new(Recorder {
            signatures: [("serving_default".to_string(), sig)].into(),
            threads: Mutex::default(),
            work,
            gate: RunGate::default(),
        })
    }

    fn threads(&self) -> Vec<String> {
        self.threads.lock().unwrap().clone()
    }
}

impl Model for Recorder {
    fn signatures(&self) -> &BTreeMap<String, SignatureDef> {
        &self.signatures
    }

    fn run(
        &self,
        _signature: &str,
        inputs: BTreeMap<String, Tensor>,
        _output_filter: &[String],
    ) -> Result<BTreeMap<String, Tensor>, Status> {
        let name = std::thread::current().name().unwrap_or("?").to_string();
        self.threads.lock().unwrap().push(name);
        self.gate.pass();
        if !self.work.is_zero() {
            std::thread::sleep(self.work);
        }
        let x = &inputs["x"];
        let TensorData::F32(v) = x.data() else {
            return Err(Status::invalid_argument("x must be float"));
        };
        let y = TensorData::F32(v.iter().map(|e| e + 1.0).collect());
        Ok([("y".to_string(), Tensor::new(x.shape().to_vec(), y)?)].into())
    }

    fn format(&self) -> ModelFormat {
        ModelFormat::SavedModel
    }
}

fn setup(work: Duration) -> (Arc<Recorder>, Arc<BatchingModel>) {
    let params = BatchingParameters {
        max_batch_size: 8,
        max_execution_batch_size: 8,
        batch_timeout: Duration::ZERO,
        max_enqueued_batches: 10,
        num_batch_threads: 1,
        thread_pool_name: "batcher".into(),
        ..BatchingParameters::default()
    };
    let inner = Recorder::new(work);
    let scheduler = BatchScheduler::start(&params).unwrap();
    let model = scheduler
        .wrap(inner.clone(), params, "recorder:1", None)
        .unwrap();
    (inner, model)
}

fn row(v: f32) -> BTreeMap<String, Tensor> {
    [(
        "x".to_string(),
        Tensor::new(vec![1, 1], TensorData::F32(vec![v])).unwrap(),
    )]
    .into()
}

fn answer(model: &BatchingModel, v: f32) -> f32 {
    let out = model.run("serving_default", row(v), &[]).unwrap();
    let TensorData::F32(y) = out["y"].data() else {
        panic!("y is not f32")
    };
    y[0]
}

/// Calls the model from a new thread named `name`; the answer arrives on the receiver.
fn call_from(model: &Arc<BatchingModel>, name: &str, v: f32) -> Receiver<f32> {
    let (tx, rx) = channel();
    let model = Arc::clone(model);
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || tx.send(answer(&model, v)).unwrap())
        .unwrap();
    rx
}

const LIVENESS: Duration = Duration::from_secs(30);

/// Calls the model from this thread until a call runs here (the queue's run time estimate, a
/// wall-clock average, has come under the in-place limit; on a loaded machine that can take a
/// few calls). Returns how many calls ran on the batch thread first.
fn until_in_place(inner: &Recorder, model: &BatchingModel) -> usize {
    let me = std::thread::current().name().unwrap_or("?").to_string();
    for i in 0..10_000 {
        assert_eq!(answer(model, i as f32), i as f32 + 1.0);
        if inner.threads().last() == Some(&me) {
            return i;
        }
    }
    panic!("a trivial model never ran in place: {:?}", inner.threads());
}

#[test]
fn a_quick_batch_runs_on_the_caller_once_measured() {
    let (inner, model) = setup(Duration::ZERO);
    let on_thread = until_in_place(&inner, &model);
    // Nothing was measured before the first batch: it went to the batch thread.
    assert!(on_thread >= 1);
    assert!(
        inner.threads()[..on_thread]
            .iter()
            .all(|t| t == "batcher_0")
    );
}

#[test]
fn a_slow_batch_never_runs_in_place() {
    let (inner, model) = setup(Duration::from_millis(2));
    for i in 0..3 {
        assert_eq!(answer(&model, i as f32), i as f32 + 1.0);
    }
    assert!(
        inner.threads().iter().all(|t| t == "batcher_0"),
        "{:?}",
        inner.threads()
    );
}

#[test]
fn in_place_runs_count_against_num_batch_threads() {
    let (inner, model) = setup(Duration::ZERO);
    // A runs in place and is held there: it has the only batch slot. (A wall-clock spike can
    // push the estimate over the limit between calls; then A ran on the batch thread: retry.)
    let mut tries = 0;
    let (before, a, release) = loop {
        until_in_place(&inner, &model);
        let before = inner.threads().len();
        let (entered, release) = inner.gate.hold();
        let a = call_from(&model, "caller_a", 10.0);
        entered.recv_timeout(LIVENESS).expect("A started");
        if inner.threads()[before] == "caller_a" {
            break (before, a, release);
        }
        release.send(()).unwrap();
        assert_eq!(a.recv_timeout(LIVENESS).expect("A answered"), 11.0);
        tries += 1;
        assert!(tries < 100, "A never ran in place");
    };
    // B may not run anywhere while A holds the slot: it waits in the queue.
    let b = call_from(&model, "caller_b", 20.0);
    let deadline = Instant::now() + LIVENESS;
    while model.queued_tasks() != 1 {
        assert!(Instant::now() < deadline, "B was never queued");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(
        inner.threads().len(),
        before + 1,
        "B ran while A held the slot"
    );
    release.send(()).unwrap();
    assert_eq!(a.recv_timeout(LIVENESS).expect("A answered"), 11.0);
    // A's end wakes the batch thread for B.
    assert_eq!(b.recv_timeout(LIVENESS).expect("B answered"), 21.0);
    assert_eq!(
        inner.threads()[before..],
        ["caller_a", "batcher_0"].map(String::from)
    );
}
