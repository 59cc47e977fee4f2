//! Our max pool (`ops::maxpool`) against tract's on random inputs: NHWC and NCHW, several
//! batch sizes, kernels, strides, dilations and paddings; the results must be bit-identical.
//! And the corpus CNN's plans (SavedModel and ONNX) must actually run our op.

mod common;

use std::path::Path;

use tensorserve_runtime::ops::maxpool::{MaxPool2d, max_pool, swap_max_pools};
use tensorserve_runtime::{OnnxModel, SavedModelModel};
use tract_core::internal::*;
use tract_core::ops::cnn::{MaxPool, PaddingSpec, PoolSpec};
use tract_core::ops::nn::DataFormat;

/// Deterministic pseudo-random values with repeats, negatives, zeros and the odd
/// infinity.
fn random(shape: &[usize], seed: u64) -> Tensor {
    let mut next = common::lcg(seed);
    let n: usize = shape.iter().product();
    let values: Vec<f32> = (0..n)
        .map(|_| {
            let r = next() % 1000;
            match r {
                0 => f32::NEG_INFINITY,
                1 => f32::INFINITY,
                // Zeros, but never -0.0: which of -0.0 and +0.0 wins a tie is not even
                // consistent inside tract (its NCHW 2x2 path uses `f32::max` and SIMD, its
                // other paths keep the first), so ours keeps the first, as tract's generic
                // walk does, and that case is not compared.
                2..=60 => 0.0,
                _ => (r % 50) as f32 / 7.0 - 3.5,
            }
        })
        .collect();
    tract_ndarray::ArrayD::from_shape_vec(shape, values)
        .unwrap()
        .into_tensor()
}

/// tract's result, through the optimised plan it would build (`OptMaxPool`, concrete geometry).
fn tract_max_pool(spec: &PoolSpec, input: &Tensor) -> Tensor {
    let mut model = TypedModel::default();
    let x = model.add_source("x", f32::fact(input.shape())).unwrap();
    let y = model
        .wire_node("pool", MaxPool::new(spec.clone(), None), &[x])
        .unwrap();
    model.select_output_outlets(&y).unwrap();
    let plan = TypedSimplePlan::new(model.into_optimized().unwrap()).unwrap();
    let out = plan.run(tvec!(input.clone().into_tvalue())).unwrap();
    out[0].clone().into_tensor()
}

#[test]
fn matches_tract_on_random_inputs() {
    let paddings = [
        PaddingSpec::Valid,
        PaddingSpec::SameUpper,
        PaddingSpec::SameLower,
        PaddingSpec::Explicit(tvec!(1, 0), tvec!(2, 1)),
    ];
    let mut cases = 0;
    for format in [DataFormat::NHWC, DataFormat::NCHW, DataFormat::HWC] {
        for (batch, h, w, c) in [
            (1, 12, 12, 1),
            (3, 10, 7, 4),
            (32, 5, 5, 8),
            (2, 9, 11, 3),
            (2, 6, 5, 5),
            (1, 4, 4, 16),
            (1, 3, 4, 2),
        ] {
            for kernel in [[1, 1], [2, 2], [3, 2], [3, 3]] {
                for strides in [[1, 1], [2, 2], [1, 3]] {
                    for dilations in [[1, 1], [2, 1]] {
                        for padding in &paddings {
                            let shape: Vec<usize> = match format {
                                DataFormat::NHWC => vec![batch, h, w, c],
                                DataFormat::NCHW => vec![batch, c, h, w],
                                _ => vec![h, w, c],
                            };
                            let spec = PoolSpec {
                                data_format: format,
                                kernel_shape: kernel[..].into(),
                                padding: padding.clone(),
                                dilations: Some(dilations[..].into()),
                                strides: Some(strides[..].into()),
                                input_channels: c,
                                output_channels: c,
                            };
                            if spec.output_shape(&shape).is_err() {
                                continue;
                            }
                            let input = random(&shape, cases as u64);
                            let ours = max_pool(&spec, &input).unwrap();
                            if ours.len() == 0 {
                                // tract 0.23.9's OptMaxPool panics on an empty output
                                // ("chunk size must be non-zero"); ours returns it.
                                continue;
                            }
                            let theirs = tract_max_pool(&spec, &input);
                            assert_eq!(ours.shape(), theirs.shape(), "{spec:?} on {shape:?}");
                            let (a, b) = (
                                ours.try_as_plain_ram().unwrap(),
                                theirs.try_as_plain_ram().unwrap(),
                            );
                            let (a, b) =
                                (a.as_slice::<f32>().unwrap(), b.as_slice::<f32>().unwrap());
                            let same = a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
                            assert!(same, "{spec:?} on {shape:?}:\nours {a:?}\ntract {b:?}");
                            cases += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(cases > 500, "only {cases} cases ran");
}

#[test]
fn leaves_what_it_does_not_cover_to_tract() {
    let spec = PoolSpec {
        data_format: DataFormat::NHWC,
        kernel_shape: tvec!(2, 2),
        padding: PaddingSpec::Valid,
        dilations: None,
        strides: None,
        input_channels: 2,
        output_channels: 2,
    };
    let f32_fact = f32::fact([1, 4, 4, 2]);
    assert!(MaxPool2d::covering(&MaxPool::new(spec.clone(), None), &f32_fact).is_some());
    let with_argmax = MaxPool::new(spec.clone(), Some(i64::datum_type()));
    assert!(MaxPool2d::covering(&with_argmax, &f32_fact).is_none());
    let int_fact = i32::fact([1, 4, 4, 2]);
    assert!(MaxPool2d::covering(&MaxPool::new(spec.clone(), None), &int_fact).is_none());

    // A model with an i32 pool keeps tract's op after the swap.
    let mut model = TypedModel::default();
    let x = model.add_source("x", int_fact).unwrap();
    let y = model
        .wire_node("pool", MaxPool::new(spec, None), &[x])
        .unwrap();
    model.select_output_outlets(&y).unwrap();
    swap_max_pools(&mut model).unwrap();
    assert!(model.nodes()[1].op_is::<MaxPool>());
}

fn plan_ops(plan: &tensorserve_runtime::plan::SignaturePlan, shape: &[usize]) -> Vec<String> {
    let plan = plan.plan_for(&[shape.to_vec()]).unwrap();
    plan.model()
        .nodes()
        .iter()
        .map(|n| n.op.name().to_string())
        .collect()
}

#[test]
fn corpus_cnn_plans_run_our_pool() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/corpus/cnn");
    let saved = SavedModelModel::load(&dir.join("saved_model/1"), &["serve"]).unwrap();
    let plan = saved.signature_plan("serving_default").unwrap();
    for batch in [1, 32] {
        let ops = plan_ops(plan, &[batch, 12, 12, 1]);
        assert_eq!(
            ops.iter().filter(|o| *o == "MaxPool2d").count(),
            2,
            "{ops:?}"
        );
        assert!(
            !ops.iter()
                .any(|o| o.contains("MaxPool") && o != "MaxPool2d")
        );
    }
    let onnx = OnnxModel::load(&dir.join("onnx/1")).unwrap();
    let ops = plan_ops(onnx.signature_plan(), &[32, 12, 12, 1]);
    assert_eq!(
        ops.iter().filter(|o| *o == "MaxPool2d").count(),
        2,
        "{ops:?}"
    );
}
