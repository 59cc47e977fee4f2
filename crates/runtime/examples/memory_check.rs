//! Memory held by a loaded model, against the size of its weights: loads the SavedModel or ONNX
//! directory given on the command line, runs it once, and prints the growth of the process's
//! resident set as a ratio of the weight bytes (also given on the command line, as the model
//! generator measured them). Used by `bench/memory_check.sh`; Linux only (reads /proc).
//!
//!     memory_check DIR WEIGHT_BYTES INPUT_NAME FEATURES

use std::collections::BTreeMap;
use std::path::Path;

use tensorserve_core::{Tensor, TensorData};

/// A field of /proc/self/status, in bytes.
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kb| kb * 1024)
        .unwrap_or_else(|| panic!("{field} missing from /proc/self/status"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, weight_bytes, input_name, features] = args.as_slice() else {
        eprintln!("usage: memory_check DIR WEIGHT_BYTES INPUT_NAME FEATURES");
        std::process::exit(2);
    };
    let weight_bytes: u64 = weight_bytes.parse().expect("WEIGHT_BYTES");
    let features: usize = features.parse().expect("FEATURES");
    let before = status_bytes("VmRSS:");
    let started = std::time::Instant::now();
    let model = tensorserve_runtime::load_model(Path::new(dir), &["serve"])
        .unwrap_or_else(|e| panic!("{dir}: {e}"));
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let after_load = status_bytes("VmRSS:");
    let x = Tensor::new(vec![1, features], TensorData::F32(vec![0.5; features])).unwrap();
    let inputs: BTreeMap<String, Tensor> = [(input_name.clone(), x)].into();
    model.run("serving_default", inputs, &[]).expect("run");
    let after_run = status_bytes("VmRSS:");
    let peak = status_bytes("VmHWM:");
    let mb = |b: u64| b as f64 / 1e6;
    println!(
        "{{\"weights_mb\":{:.1},\"rss_before_mb\":{:.1},\"rss_after_load_mb\":{:.1},\"rss_after_run_mb\":{:.1},\"peak_mb\":{:.1},\"load_ms\":{:.0},\"growth_ratio\":{:.3},\"peak_ratio\":{:.3}}}",
        mb(weight_bytes),
        mb(before),
        mb(after_load),
        mb(after_run),
        mb(peak),
        load_ms,
        after_run.saturating_sub(before) as f64 / weight_bytes as f64,
        peak.saturating_sub(before) as f64 / weight_bytes as f64,
    );
}
