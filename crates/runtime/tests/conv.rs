//! Our convolution (`ops::conv`) against tract's optimised one on random inputs: NHWC/HWIO,
//! NCHW/OIHW and the batchless layouts, several batch sizes, channel counts, kernels, strides,
//! dilations and paddings, with the AVX2 build of the loops and the baseline one; results must
//! agree up to float summation order. The Relu fusion
//! must give what tract's Conv + Max give, and only fire when the Relu is the sole consumer.
//! Bad input shapes are errors. And the corpus CNN's plans (SavedModel and ONNX, batch 1 and
//! 32, symbolic) must actually run our op.

mod common;

use common::conv::{assert_close, op_names, random, values};

use std::path::Path;

use tensorserve_runtime::ops::conv::{Conv2d, swap_convolutions};
use tensorserve_runtime::{OnnxModel, SavedModelModel};
use tract_core::internal::*;
use tract_core::ops::binary::TypedBinOp;
use tract_core::ops::cnn::conv::KernelFormat;
use tract_core::ops::cnn::{Conv, PaddingSpec, PoolSpec};
use tract_core::ops::math::Max;
use tract_core::ops::nn::DataFormat;

/// A model `x → Conv(kernel, bias) [→ max(·, 0)]`, the Relu as tract's decluttered graphs
/// have it (a Max with a broadcast zero constant).
fn conv_model(op: &Conv, x: &[usize], kernel: &Tensor, bias: &Tensor, relu: bool) -> TypedModel {
    let mut model = TypedModel::default();
    let input = model.add_source("x", f32::fact(x)).unwrap();
    let k = model.add_const("kernel", kernel.clone()).unwrap();
    let b = model.add_const("bias", bias.clone()).unwrap();
    let mut y = model.wire_node("conv", op.clone(), &[input, k, b]).unwrap();
    if relu {
        let zero = tensor0(0f32).broadcast_into_rank(x.len()).unwrap();
        let zero = model.add_const("zero", zero).unwrap();
        y = model
            .wire_node("relu", TypedBinOp(Box::new(Max), None), &[y[0], zero])
            .unwrap();
    }
    model.select_output_outlets(&y).unwrap();
    model
}

#[test]
fn matches_tract_on_random_inputs() {
    let paddings = [
        PaddingSpec::Valid,
        PaddingSpec::SameUpper,
        PaddingSpec::SameLower,
        PaddingSpec::Explicit(tvec!(1, 0), tvec!(2, 1)),
    ];
    let layouts = [
        (DataFormat::NHWC, KernelFormat::HWIO),
        (DataFormat::NCHW, KernelFormat::OIHW),
        (DataFormat::HWC, KernelFormat::OHWI),
        (DataFormat::CHW, KernelFormat::OIHW),
    ];
    let mut cases = 0;
    for (format, kernel_fmt) in layouts {
        for (batch, h, w, ci, co) in [
            (1, 12, 12, 1, 4),
            (3, 5, 5, 4, 8),
            (2, 9, 7, 3, 16),
            (2, 6, 5, 2, 3),
            (1, 4, 6, 5, 1),
            (2, 7, 8, 1, 7),
        ] {
            for kernel in [[1, 1], [2, 2], [3, 2], [3, 3]] {
                for strides in [[1, 1], [2, 2], [1, 3]] {
                    for dilations in [[1, 1], [2, 1]] {
                        for padding in &paddings {
                            let x_shape: Vec<usize> = match format {
                                DataFormat::NHWC => vec![batch, h, w, ci],
                                DataFormat::NCHW => vec![batch, ci, h, w],
                                DataFormat::HWC => vec![h, w, ci],
                                DataFormat::CHW => vec![ci, h, w],
                            };
                            let k_shape = match kernel_fmt {
                                KernelFormat::HWIO => [kernel[0], kernel[1], ci, co],
                                KernelFormat::OIHW => [co, ci, kernel[0], kernel[1]],
                                KernelFormat::OHWI => [co, kernel[0], kernel[1], ci],
                            };
                            let spec = PoolSpec {
                                data_format: format,
                                kernel_shape: kernel[..].into(),
                                padding: padding.clone(),
                                dilations: Some(dilations[..].into()),
                                strides: Some(strides[..].into()),
                                input_channels: ci,
                                output_channels: co,
                            };
                            match spec.output_shape(&x_shape) {
                                Ok(s) if s.shape.iter().all(|&d| d > 0) => {}
                                _ => continue,
                            }
                            let op = Conv::new(spec.clone(), kernel_fmt, 1, None);
                            let kernel_t = random(&k_shape, 1000 + cases);
                            // Every other case a scalar bias, which tract broadcasts.
                            let bias = if cases % 2 == 0 {
                                random(&[co], 2000 + cases)
                            } else {
                                tensor0(0.25f32)
                            };
                            let input = random(&x_shape, cases);
                            let relu = cases % 3 == 0;
                            let what =
                                format!("{spec:?} {kernel_fmt:?} relu={relu} on {x_shape:?}");
                            let theirs = common::run_optimized(
                                conv_model(&op, &x_shape, &kernel_t, &bias, relu),
                                &input,
                            );
                            let mut model = conv_model(&op, &x_shape, &kernel_t, &bias, relu);
                            swap_convolutions(&mut model).unwrap();
                            assert!(
                                !op_names(&model).iter().any(|n| n == "Conv" || n == "Max"),
                                "{what}: {:?}",
                                op_names(&model)
                            );
                            let ours =
                                Conv2d::covering(&op, &f32::fact(&x_shape), &kernel_t, &bias)
                                    .unwrap();
                            let ours = if relu { ours.with_relu() } else { ours };
                            for simd in [true, false] {
                                let out = ours.convolve_with(&input, simd).unwrap();
                                assert_close(&out, &theirs, &format!("{what} simd={simd}"));
                            }
                            assert_close(&common::run_optimized(model, &input), &theirs, &what);
                            cases += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(cases > 1000, "only {cases} cases ran");
}

fn nhwc_conv(ci: usize, co: usize) -> Conv {
    let spec = PoolSpec {
        data_format: DataFormat::NHWC,
        kernel_shape: tvec!(3, 3),
        padding: PaddingSpec::Valid,
        dilations: None,
        strides: None,
        input_channels: ci,
        output_channels: co,
    };
    Conv::new(spec, KernelFormat::HWIO, 1, None)
}

#[test]
fn fuses_a_relu_only_when_it_is_the_sole_consumer() {
    let op = nhwc_conv(2, 4);
    let (kernel, bias) = (random(&[3, 3, 2, 4], 1), random(&[4], 2));
    let x = [2, 6, 6, 2];
    let input = random(&x, 3);
    // Conv → Relu, and the conv's own output also a model output: no fusion.
    let mut model = conv_model(&op, &x, &kernel, &bias, true);
    let conv_out = OutletId::new(model.node_by_name("conv").unwrap().id, 0);
    let relu_out = model.output_outlets().unwrap()[0];
    model.select_output_outlets(&[conv_out, relu_out]).unwrap();
    swap_convolutions(&mut model).unwrap();
    let names = op_names(&model);
    assert!(names.contains(&"Conv2d".to_string()), "{names:?}");
    assert!(names.contains(&"Max".to_string()), "{names:?}");
    let plan = TypedSimplePlan::new(model.into_optimized().unwrap()).unwrap();
    let outs = plan.run(tvec!(input.clone().into_tvalue())).unwrap();
    let plain = common::run_optimized(conv_model(&op, &x, &kernel, &bias, false), &input);
    let relu = common::run_optimized(conv_model(&op, &x, &kernel, &bias, true), &input);
    assert_close(&outs[0].clone().into_tensor(), &plain, "conv output");
    assert_close(&outs[1].clone().into_tensor(), &relu, "relu output");
    assert!(values(&plain).iter().any(|v| *v < 0.0));
}

#[test]
fn leaves_what_it_does_not_cover_to_tract() {
    let f = f32::fact([1, 6, 6, 4]);
    let (kernel, bias) = (random(&[3, 3, 4, 8], 1), random(&[8], 2));
    assert!(Conv2d::covering(&nhwc_conv(4, 8), &f, &kernel, &bias).is_some());
    // Groups.
    let mut grouped = nhwc_conv(4, 8);
    grouped.group = 2;
    let half = random(&[3, 3, 2, 8], 1);
    assert!(Conv2d::covering(&grouped, &f, &half, &bias).is_none());
    // Too many output channels (a matrix product does better) and a count we do not compile.
    for co in [32, 12] {
        let k = random(&[3, 3, 4, co], 1);
        let b = random(&[co], 2);
        assert!(Conv2d::covering(&nhwc_conv(4, co), &f, &k, &b).is_none());
    }
    // Non-f32 data.
    assert!(Conv2d::covering(&nhwc_conv(4, 8), &f16::fact([1, 6, 6, 4]), &kernel, &bias).is_none());
    // A kernel that is not a constant: the model keeps tract's op.
    let mut model = TypedModel::default();
    let x = model.add_source("x", f.clone()).unwrap();
    let k = model.add_source("k", f32::fact([3, 3, 4, 8])).unwrap();
    let b = model.add_const("b", bias.clone()).unwrap();
    let y = model
        .wire_node("conv", nhwc_conv(4, 8), &[x, k, b])
        .unwrap();
    model.select_output_outlets(&y).unwrap();
    swap_convolutions(&mut model).unwrap();
    assert!(op_names(&model).contains(&"Conv".to_string()));
}

#[test]
fn bad_shapes_are_errors() {
    let (kernel, bias) = (random(&[3, 3, 4, 8], 1), random(&[8], 2));
    let ours =
        Conv2d::covering(&nhwc_conv(4, 8), &f32::fact([1, 6, 6, 4]), &kernel, &bias).unwrap();
    for shape in [&[1, 6, 6, 3][..], &[6, 6, 4], &[1, 1, 6, 6, 4]] {
        assert!(ours.convolve(&random(shape, 3)).is_err(), "{shape:?}");
    }
    // Smaller than the kernel: an error from the geometry or an empty output, never a panic.
    if let Ok(out) = ours.convolve(&random(&[1, 2, 2, 4], 3)) {
        assert_eq!(out.len(), 0);
    }
    assert!(ours.convolve(&tensor0(1i32)).is_err());
    // Through a model: the corpus CNN fed three channels is a clear error.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/corpus/cnn");
    let saved = SavedModelModel::load(&dir.join("saved_model/1"), &["serve"]).unwrap();
    let plan = saved.signature_plan("serving_default").unwrap();
    assert!(plan.plan_for(&[vec![2, 12, 12, 3]]).is_err());
}

fn assert_runs_our_conv(model: &TypedModel, what: &str) {
    let ops = op_names(model);
    let ours: Vec<_> = model
        .nodes()
        .iter()
        .filter(|n| n.op_is::<Conv2d>())
        .map(|n| n.op.info().unwrap())
        .collect();
    assert_eq!(ours.len(), 2, "{what}: {ops:?}");
    assert!(
        ours.iter()
            .all(|info| info.iter().any(|l| l == "fused Relu")),
        "{what}: {ours:?}"
    );
    assert!(
        !ops.iter()
            .any(|o| o == "Conv" || o.contains("Im2col") || o.contains("Im2Col")),
        "{what}: {ops:?}"
    );
}

#[test]
fn corpus_cnn_plans_run_our_conv() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/corpus/cnn");
    let saved = SavedModelModel::load(&dir.join("saved_model/1"), &["serve"]).unwrap();
    let onnx = OnnxModel::load(&dir.join("onnx/1")).unwrap();
    let plans = [
        (
            "SavedModel",
            saved.signature_plan("serving_default").unwrap(),
        ),
        ("ONNX", onnx.signature_plan()),
    ];
    for (format, plan) in plans {
        for batch in [1, 32] {
            let p = plan.plan_for(&[vec![batch, 12, 12, 1]]).unwrap();
            assert_runs_our_conv(p.model(), &format!("{format} batch {batch}"));
        }
        let symbolic = plan.symbolic_plan().expect("a symbolic plan");
        assert_runs_our_conv(symbolic.model(), &format!("{format} symbolic"));
    }
}
