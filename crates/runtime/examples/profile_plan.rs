//! Where the time of one inference goes: loads a model directory, takes the plan the runtime
//! would run for an input shape, prints its nodes (op, output shapes) and each node's median
//! time over many runs, plus the median of the whole `Model::run` call for comparison.
//! A diagnostic for tuning the runtime (docs/performance.md); build with `--release` or
//! `--profile profiling`.
//!
//!     profile_plan DIR SHAPE [RUNS] [symbolic]
//!     e.g.  profile_plan testdata/corpus/cnn/onnx/1 32,12,12,1
//!
//! With `symbolic`, the nodes timed are those of the symbolic-batch plan built at load.
//!
//! Wall-clock medians of long runs are inflated on a loaded machine (a run of several ms is
//! preempted in most rounds), so the `Model::run` loop also reports this thread's mean CPU
//! time per run, from the scheduler's own account (`/proc/thread-self/schedstat`, Linux).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use tensorserve_core::{Model, Tensor, TensorData};
use tensorserve_runtime::plan::SignaturePlan;
use tensorserve_runtime::{OnnxModel, SavedModelModel, convert};
use tract_core::internal::*;

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v.get(v.len() / 2).map_or(0.0, |d| d.as_secs_f64() * 1e6)
}

/// Nanoseconds this thread has run on a CPU, when the kernel says (Linux).
fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

fn input(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let data = (0..n)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
        .collect();
    Tensor::new(shape.to_vec(), TensorData::F32(data)).unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: profile_plan DIR SHAPE [RUNS]");
        std::process::exit(2);
    }
    let dir = Path::new(&args[1]);
    let shape: Vec<usize> = args[2].split(',').map(|d| d.parse().unwrap()).collect();
    let runs: usize = args.get(3).map_or(2000, |r| r.parse().unwrap());

    let model: Box<dyn Model>;
    let plan: &SignaturePlan;
    if dir.join("model.onnx").is_file() {
        let onnx = Box::leak(Box::new(OnnxModel::load(dir).unwrap()));
        plan = onnx.signature_plan();
        model = Box::new(OnnxModel::load(dir).unwrap());
    } else {
        let saved = Box::leak(Box::new(SavedModelModel::load(dir, &["serve"]).unwrap()));
        plan = saved.signature_plan("serving_default").unwrap();
        model = Box::new(SavedModelModel::load(dir, &["serve"]).unwrap());
    }
    let typed = if args.get(4).map(String::as_str) == Some("symbolic") {
        plan.symbolic_plan()
            .expect("the model has no symbolic plan")
    } else {
        plan.plan_for(std::slice::from_ref(&shape)).unwrap()
    };
    let name = model.signatures()["serving_default"]
        .inputs
        .keys()
        .next()
        .unwrap()
        .clone();

    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); typed.model().nodes().len()];
    let mut state = TypedSimpleState::new(&typed).unwrap();
    let x: TValue = convert::to_tract(input(&shape)).unwrap().into();
    for round in 0..runs + 50 {
        state
            .run_plan_with_eval(tvec!(x.clone()), |ctx, op_state, node, inputs| {
                let t = Instant::now();
                let out = tract_core::plan::eval(ctx, op_state, node, inputs);
                if round >= 50 {
                    times[node.id].push(t.elapsed());
                }
                out
            })
            .unwrap();
    }
    let mut total = 0.0;
    for &id in typed.order_without_consts() {
        let node = typed.model().node(id);
        let us = median(std::mem::take(&mut times[id]));
        total += us;
        let facts: Vec<String> = node
            .outputs
            .iter()
            .map(|o| format!("{:?}", o.fact))
            .collect();
        println!(
            "{us:8.2} µs  #{id:<3} {:<28} {:<40} -> {}",
            node.op().name(),
            node.name,
            facts.join(", ")
        );
    }
    println!("{total:8.2} µs  sum of node medians");

    let inputs: BTreeMap<String, Tensor> = [(name, input(&shape))].into();
    let mut whole = Vec::new();
    let mut cpu_start = None;
    for round in 0..runs + 50 {
        if round == 50 {
            cpu_start = thread_cpu_ns();
        }
        let feeds = inputs.clone();
        let t = Instant::now();
        model.run("serving_default", feeds, &[]).unwrap();
        if round >= 50 {
            whole.push(t.elapsed());
        }
    }
    let cpu = cpu_start.zip(thread_cpu_ns()).map(|(a, b)| b - a);
    println!("{:8.2} µs  Model::run median", median(whole));
    if let Some(ns) = cpu {
        let per_run = ns as f64 / 1e3 / runs.max(1) as f64;
        println!("{per_run:8.2} µs  Model::run mean CPU time (this thread, schedstat)");
    }
}
