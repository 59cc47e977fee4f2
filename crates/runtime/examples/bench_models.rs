//! Per-inference latency of the corpus MLP and CNN (SavedModel and ONNX, batch 1 and 32) and
//! load times, printed as JSON lines for `bench/runtime_vs_onnxruntime.sh` to compare with
//! onnxruntime measured in the same run. Build with `--release`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use tensorserve_core::{Model, Tensor, TensorData};

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e6
}

fn input(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let data = (0..n)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
        .collect();
    Tensor::new(shape.to_vec(), TensorData::F32(data)).unwrap()
}

fn time_runs(model: &dyn Model, name: &str, shape: &[usize]) -> f64 {
    let inputs: BTreeMap<String, Tensor> = [(name.to_string(), input(shape))].into();
    for _ in 0..20 {
        model.run("serving_default", inputs.clone(), &[]).unwrap();
    }
    let budget = Instant::now();
    let mut samples = Vec::new();
    while samples.len() < 2000 && (budget.elapsed() < Duration::from_secs(2) || samples.len() < 30)
    {
        let feeds = inputs.clone();
        let t = Instant::now();
        model.run("serving_default", feeds, &[]).unwrap();
        samples.push(t.elapsed());
    }
    median(samples)
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let started = Instant::now();
    let hpt =
        tensorserve_runtime::load_model(&root.join("models/half_plus_two/00000123"), &["serve"])
            .unwrap();
    println!(
        "{{\"what\":\"load\",\"model\":\"half_plus_two\",\"ms\":{:.2}}}",
        started.elapsed().as_secs_f64() * 1e3
    );
    drop(hpt);
    for (model, feature_shape) in [("mlp", vec![8usize]), ("cnn", vec![12, 12, 1])] {
        for format in ["saved_model", "onnx"] {
            let dir = root
                .join("testdata/corpus")
                .join(model)
                .join(format)
                .join("1");
            let started = Instant::now();
            let loaded = tensorserve_runtime::load_model(&dir, &["serve"]).unwrap();
            let load_ms = started.elapsed().as_secs_f64() * 1e3;
            let sig = &loaded.signatures()["serving_default"];
            let name = sig.inputs.keys().next().unwrap().clone();
            for batch in [1usize, 32] {
                let mut shape = vec![batch];
                shape.extend(&feature_shape);
                let us = time_runs(loaded.as_ref(), &name, &shape);
                println!(
                    "{{\"what\":\"infer\",\"engine\":\"tensorserve\",\"model\":\"{model}\",\"format\":\"{format}\",\"batch\":{batch},\"us\":{us:.2},\"load_ms\":{load_ms:.2}}}"
                );
            }
        }
    }
}
