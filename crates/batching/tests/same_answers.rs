//! Batching never changes an answer, on real models with many concurrent callers.
//!
//! * The bundled `half_plus_two` (element-wise) answers through the batching decorator bit for
//!   bit as it answers each request alone.
//! * The corpus MLP and CNN (SavedModel and ONNX): tract's matmul/conv kernels are not
//!   batch-size invariant — a row's result differs by a few ULP between sending it alone and
//!   sending it within a large request (16 rows), with no batching at all (measured and printed
//!   here; 1 vs 3 rows gives identical bits). So for these the test bounds the difference at that same runtime variance (4 ULP),
//!   and checks that batching adds nothing beyond it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use tensorserve_batching::{BatchObserver, BatchRun, BatchScheduler, BatchingParameters};
use tensorserve_core::{Model, Tensor, TensorData};

/// Records the largest number of requests seen in one batch, to prove merging happened.
#[derive(Default)]
struct MostMerged(AtomicUsize, AtomicUsize);

impl BatchObserver for MostMerged {
    fn batch_started(&self, batch: &BatchRun<'_>) {
        self.0.fetch_max(batch.requests, Ordering::Relaxed);
        if batch.padded_rows > batch.rows {
            self.1.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn load(relative: &str) -> Arc<dyn Model> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative);
    tensorserve_runtime::load_model(&dir, &["serve"]).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn corpus(name: &str, format: &str) -> Arc<dyn Model> {
    load(&format!("testdata/corpus/{name}/{format}/1"))
}

type Bits = Vec<(String, Vec<usize>, Vec<u32>)>;

/// Largest distance in units in the last place between two results of the same shapes.
fn max_ulps(a: &Bits, b: &Bits) -> u32 {
    assert_eq!(a.len(), b.len());
    let mut worst = 0;
    for ((na, sa, va), (nb, sb, vb)) in a.iter().zip(b) {
        assert_eq!((na, sa), (nb, sb));
        for (x, y) in va.iter().zip(vb) {
            // Same-sign floats: the bit patterns are ordered like the values.
            worst = worst.max(x.abs_diff(*y));
        }
    }
    worst
}

/// Rows `start..start + len` of every output.
fn rows_of(bits: &Bits, start: usize, len: usize) -> Bits {
    bits.iter()
        .map(|(n, shape, v)| {
            let per: usize = shape[1..].iter().product();
            let mut s = shape.clone();
            s[0] = len;
            (n.clone(), s, v[start * per..(start + len) * per].to_vec())
        })
        .collect()
}

/// `rows` rows of the signature's only input, filled from a deterministic generator.
fn request(model: &dyn Model, rows: usize, seed: u64) -> BTreeMap<String, Tensor> {
    let sig = &model.signatures()["serving_default"];
    let (alias, info) = sig.inputs.iter().next().expect("one input");
    let mut shape = vec![rows];
    if let Some(dims) = &info.shape {
        shape.extend(dims.iter().skip(1).map(|d| d.size as usize));
    }
    let n: usize = shape.iter().product();
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let values = (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect();
    [(
        alias.clone(),
        Tensor::new(shape, TensorData::F32(values)).unwrap(),
    )]
    .into()
}

fn bits(outputs: &BTreeMap<String, Tensor>) -> Bits {
    outputs
        .iter()
        .map(|(name, t)| {
            let TensorData::F32(v) = t.data() else {
                panic!("{name}: not f32")
            };
            (
                name.clone(),
                t.shape().to_vec(),
                v.iter().map(|x| x.to_bits()).collect(),
            )
        })
        .collect()
}

/// Runs 96 requests of 1–3 rows alone, then through the decorator from 48 threads at once, and
/// returns the largest ULP distance between the two (0 = bit for bit).
fn batched_vs_alone(name: &str, model: Arc<dyn Model>, allowed: Vec<usize>) -> u32 {
    let requests: Vec<_> = (0..96)
        .map(|i| request(&*model, 1 + i % 3, i as u64))
        .collect();
    let alone: Vec<_> = requests
        .iter()
        .map(|r| bits(&model.run("serving_default", r.clone(), &[]).unwrap()))
        .collect();

    let params = BatchingParameters {
        max_batch_size: 32,
        max_execution_batch_size: 32,
        batch_timeout: Duration::from_millis(20),
        max_enqueued_batches: 1000,
        num_batch_threads: 2,
        allowed_batch_sizes: allowed,
        ..BatchingParameters::default()
    };
    let scheduler = BatchScheduler::start(&params).unwrap();
    let observer = Arc::new(MostMerged::default());
    let batched = scheduler
        .wrap(model, params, name, Some(observer.clone()))
        .unwrap();
    let callers = 48;
    let barrier = Arc::new(Barrier::new(callers));
    let requests = Arc::new(requests);
    let results: Vec<Vec<(usize, _)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..callers)
            .map(|c| {
                let (batched, barrier, requests) = (&batched, &barrier, &requests);
                s.spawn(move || {
                    barrier.wait();
                    (c..requests.len())
                        .step_by(callers)
                        .map(|i| {
                            let out = batched
                                .run("serving_default", requests[i].clone(), &[])
                                .unwrap_or_else(|e| panic!("{name} request {i}: {e}"));
                            (i, bits(&out))
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut worst = 0;
    let mut seen = 0;
    for (i, got) in results.into_iter().flatten() {
        worst = worst.max(max_ulps(&got, &alone[i]));
        seen += 1;
    }
    assert_eq!(seen, alone.len(), "{name}: answers lost");
    let merged = observer.0.load(Ordering::Relaxed);
    assert!(merged > 1, "{name}: no batch ever held two requests");
    eprintln!(
        "{name}: up to {merged} requests per batch, {} padded batches, batched vs alone: {worst} ULP",
        observer.1.load(Ordering::Relaxed)
    );
    worst
}

/// How much the runtime itself varies with batch size: each row of a 16-row request against the
/// same row sent alone, with no batching anywhere.
fn runtime_variance(model: &dyn Model) -> u32 {
    let mut worst = 0;
    for seed in 0..16 {
        let whole = request(model, 16, seed);
        let together = bits(&model.run("serving_default", whole.clone(), &[]).unwrap());
        for row in 0..16 {
            let one: BTreeMap<String, Tensor> = whole
                .iter()
                .map(|(k, t)| {
                    let per: usize = t.shape()[1..].iter().product();
                    let TensorData::F32(v) = t.data() else {
                        panic!()
                    };
                    let mut shape = t.shape().to_vec();
                    shape[0] = 1;
                    let v = v[row * per..(row + 1) * per].to_vec();
                    (k.clone(), Tensor::new(shape, TensorData::F32(v)).unwrap())
                })
                .collect();
            let alone = bits(&model.run("serving_default", one, &[]).unwrap());
            worst = worst.max(max_ulps(&alone, &rows_of(&together, row, 1)));
        }
    }
    worst
}

/// The bound for models whose runtime is not batch-size invariant; see the module docs.
const RUNTIME_ULPS: u32 = 4;

fn check(name: &str, format: &str, allowed: Vec<usize>) {
    let model = corpus(name, format);
    let variance = runtime_variance(&*model);
    eprintln!("{name}/{format}: the runtime alone varies by {variance} ULP with batch size");
    let worst = batched_vs_alone(&format!("{name}/{format}"), model, allowed);
    assert!(
        worst <= RUNTIME_ULPS.max(variance),
        "{name}/{format}: batching moved a result by {worst} ULP (runtime variance {variance})"
    );
}

#[test]
fn half_plus_two_batched_is_bit_identical() {
    let model = load("models/half_plus_two/00000123");
    assert_eq!(
        batched_vs_alone("half_plus_two", model.clone(), Vec::new()),
        0
    );
    assert_eq!(
        batched_vs_alone("half_plus_two", model, vec![4, 8, 16, 32]),
        0
    );
}

#[test]
fn mlp_savedmodel_batched_equals_alone() {
    check("mlp", "saved_model", Vec::new());
}

#[test]
fn cnn_savedmodel_batched_equals_alone() {
    check("cnn", "saved_model", Vec::new());
}

#[test]
fn padded_batches_equal_alone() {
    check("mlp", "saved_model", vec![4, 8, 16, 32]);
    check("cnn", "saved_model", vec![4, 8, 16, 32]);
}

#[test]
fn onnx_batched_equals_alone() {
    check("mlp", "onnx", Vec::new());
    check("cnn", "onnx", Vec::new());
}
