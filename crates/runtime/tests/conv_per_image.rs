//! The per-image batched convolution (`ops::conv_per_image`) against tract on random inputs:
//! NHWC/HWIO and NCHW/OIHW, batches 1–9 of different images, 1–70 channels, several kernels,
//! strides, dilations and paddings, with and without a fused Relu. A batch must give exactly
//! what tract gives each image alone, and what tract's own batched convolution gives up to
//! float summation order. The swap must take wide convolutions over a batch that is not known
//! to be 1 (symbolic or above 1) and leave the rest alone; bad inputs are errors.

mod common;

use common::conv::{assert_close, op_names, random, values};

use tensorserve_runtime::ops::conv::swap_convolutions;
use tensorserve_runtime::ops::conv_per_image::{PerImageConv, swap_batched_convolutions};
use tract_core::internal::*;
use tract_core::ops::binary::TypedBinOp;
use tract_core::ops::cnn::conv::KernelFormat;
use tract_core::ops::cnn::{Conv, PaddingSpec, PoolSpec};
use tract_core::ops::math::Max;
use tract_core::ops::nn::DataFormat;

/// A model `x → Conv(kernel, bias) [→ max(·, 0)]` over input fact `x`.
fn conv_model(op: &Conv, x: TypedFact, kernel: &Tensor, bias: &Tensor, relu: bool) -> TypedModel {
    let mut model = TypedModel::default();
    let rank = x.rank();
    let input = model.add_source("x", x).unwrap();
    let k = model.add_const("kernel", kernel.clone()).unwrap();
    let b = model.add_const("bias", bias.clone()).unwrap();
    let mut y = model.wire_node("conv", op.clone(), &[input, k, b]).unwrap();
    if relu {
        let zero = tensor0(0f32).broadcast_into_rank(rank).unwrap();
        let zero = model.add_const("zero", zero).unwrap();
        y = model
            .wire_node("relu", TypedBinOp(Box::new(Max), None), &[y[0], zero])
            .unwrap();
    }
    model.select_output_outlets(&y).unwrap();
    model
}

fn spec(format: DataFormat, kernel: [usize; 2], ci: usize, co: usize) -> PoolSpec {
    PoolSpec {
        data_format: format,
        kernel_shape: kernel[..].into(),
        padding: PaddingSpec::Valid,
        dilations: None,
        strides: None,
        input_channels: ci,
        output_channels: co,
    }
}

fn kernel_shape(fmt: KernelFormat, kernel: [usize; 2], ci: usize, co: usize) -> [usize; 4] {
    match fmt {
        KernelFormat::HWIO => [kernel[0], kernel[1], ci, co],
        KernelFormat::OIHW => [co, ci, kernel[0], kernel[1]],
        KernelFormat::OHWI => [co, kernel[0], kernel[1], ci],
    }
}

fn image_shape(format: DataFormat, batch: usize, h: usize, w: usize, c: usize) -> Vec<usize> {
    match format {
        DataFormat::NCHW => vec![batch, c, h, w],
        _ => vec![batch, h, w, c],
    }
}

/// One image of a batch, as a batch of one.
fn image(batch: &Tensor, i: usize) -> Tensor {
    batch.slice(0, i, i + 1).unwrap()
}

#[test]
fn matches_tract_per_image_and_batched() {
    let paddings = [
        PaddingSpec::Valid,
        PaddingSpec::SameUpper,
        PaddingSpec::Explicit(tvec!(1, 0), tvec!(2, 1)),
    ];
    let layouts = [
        (DataFormat::NHWC, KernelFormat::HWIO),
        (DataFormat::NCHW, KernelFormat::OIHW),
    ];
    let mut cases = 0u64;
    for (format, kernel_fmt) in layouts {
        for (batch, h, w, ci, co) in [
            (2, 9, 8, 1, 32),
            (3, 7, 7, 32, 64),
            (9, 6, 5, 3, 9),
            (4, 8, 6, 16, 70),
            (1, 10, 10, 2, 33),
            (5, 5, 9, 64, 12),
        ] {
            for kernel in [[3, 3], [2, 2], [3, 1]] {
                for (strides, dilations) in [([1, 1], [1, 1]), ([2, 2], [1, 1]), ([1, 2], [2, 1])] {
                    for padding in &paddings {
                        let x_shape = image_shape(format, batch, h, w, ci);
                        let spec = PoolSpec {
                            padding: padding.clone(),
                            strides: Some(strides[..].into()),
                            dilations: Some(dilations[..].into()),
                            ..spec(format, kernel, ci, co)
                        };
                        match spec.output_shape(&x_shape) {
                            Ok(s) if s.shape.iter().all(|&d| d > 0) => {}
                            _ => continue,
                        }
                        let op = Conv::new(spec.clone(), kernel_fmt, 1, None);
                        let k = random(&kernel_shape(kernel_fmt, kernel, ci, co), 1000 + cases);
                        let bias = if cases.is_multiple_of(2) {
                            random(&[co], 2000 + cases)
                        } else {
                            tensor0(0.25f32)
                        };
                        let relu = cases.is_multiple_of(3);
                        let input = random(&x_shape, cases);
                        let what = format!("{spec:?} {kernel_fmt:?} relu={relu} on {x_shape:?}");
                        // Ours, built for a symbolic batch, run on this one.
                        let n = TDim::from(SymbolScope::default().sym("N"));
                        let mut symbolic_shape: TVec<TDim> = tvec!(n);
                        symbolic_shape.extend(x_shape[1..].iter().map(|&d| d.into()));
                        let symbolic = f32::fact(&*symbolic_shape);
                        let ours = PerImageConv::covering(&op, &symbolic, &k, &bias, relu)
                            .unwrap_or_else(|| panic!("{what}: not covered"));
                        let out = ours.convolve(&input).unwrap();
                        // Exactly tract's single-image result for each image.
                        let alone = conv_model(
                            &op,
                            f32::fact(image_shape(format, 1, h, w, ci)),
                            &k,
                            &bias,
                            relu,
                        );
                        let plan = TypedSimplePlan::new(alone.into_optimized().unwrap()).unwrap();
                        for i in 0..batch {
                            let want = plan.run(tvec!(image(&input, i).into_tvalue())).unwrap();
                            assert_eq!(
                                values(&image(&out, i)),
                                values(&want[0].clone().into_tensor()),
                                "{what}: image {i}"
                            );
                        }
                        // Close to tract's batched convolution.
                        let batched = conv_model(&op, f32::fact(&x_shape), &k, &bias, relu);
                        let theirs = common::run_optimized(batched.clone(), &input);
                        assert_close(&out, &theirs, &what);
                        // And through the swap in a concrete-batch model (a batch of 1 keeps
                        // tract's own op).
                        let mut swapped = batched;
                        swap_batched_convolutions(&mut swapped).unwrap();
                        let names = op_names(&swapped);
                        assert_eq!(
                            names.contains(&"Conv".to_string()),
                            batch == 1,
                            "{what}: {names:?}"
                        );
                        assert_close(&common::run_optimized(swapped, &input), &theirs, &what);
                        cases += 1;
                    }
                }
            }
        }
    }
    assert!(cases > 150, "only {cases} cases ran");
}

/// The Keras MNIST CNN's two convolutions (32 then 64 channels, 3×3, Relu) over a symbolic
/// batch, as `plan.rs` swaps them: both become ours with the Relu fused, and batches of
/// several sizes give tract's answers.
#[test]
fn mnist_like_stack_over_a_symbolic_batch() {
    let conv1 = Conv::new(
        spec(DataFormat::NHWC, [3, 3], 1, 32),
        KernelFormat::HWIO,
        1,
        None,
    );
    let conv2 = Conv::new(
        spec(DataFormat::NHWC, [3, 3], 32, 64),
        KernelFormat::HWIO,
        1,
        None,
    );
    // A model over `batch` images, or a symbolic batch for `None`.
    let build = |batch: Option<usize>| {
        let mut model = TypedModel::default();
        let n = batch.map_or_else(|| model.symbols.sym("N").into(), TDim::from);
        let x = f32::fact(tvec!(n, 28.into(), 28.into(), 1.into()));
        let mut wire = model.add_source("x", x).unwrap();
        for (i, op) in [&conv1, &conv2].into_iter().enumerate() {
            let ci = op.pool_spec.input_channels;
            let co = op.pool_spec.output_channels;
            let k = model
                .add_const(format!("k{i}"), random(&[3, 3, ci, co], 10 + i as u64))
                .unwrap();
            let b = model
                .add_const(format!("b{i}"), random(&[co], 20 + i as u64))
                .unwrap();
            let y = model
                .wire_node(format!("conv{i}"), (*op).clone(), &[wire, k, b])
                .unwrap();
            let zero = model
                .add_const(
                    format!("zero{i}"),
                    tensor0(0f32).broadcast_into_rank(4).unwrap(),
                )
                .unwrap();
            wire = model
                .wire_node(
                    format!("relu{i}"),
                    TypedBinOp(Box::new(Max), None),
                    &[y[0], zero],
                )
                .unwrap()[0];
        }
        model.select_output_outlets(&[wire]).unwrap();
        model
    };
    let mut ours = build(None);
    swap_convolutions(&mut ours).unwrap();
    swap_batched_convolutions(&mut ours).unwrap();
    let per_image: Vec<_> = ours
        .nodes()
        .iter()
        .filter(|n| n.op_is::<PerImageConv>())
        .map(|n| n.op.info().unwrap())
        .collect();
    assert_eq!(per_image.len(), 2, "{:?}", op_names(&ours));
    assert!(
        per_image
            .iter()
            .all(|i| i.iter().any(|l| l == "fused Relu"))
    );
    assert!(!op_names(&ours).iter().any(|o| o == "Conv" || o == "Max"));
    let plan = TypedSimplePlan::new(ours.into_optimized().unwrap()).unwrap();
    for batch in [1, 2, 7] {
        let input = random(&[batch, 28, 28, 1], batch as u64);
        let out = plan.run(tvec!(input.clone().into_tvalue())).unwrap();
        let theirs = common::run_optimized(build(Some(batch)), &input);
        assert_close(
            &out[0].clone().into_tensor(),
            &theirs,
            &format!("batch {batch}"),
        );
    }
}

#[test]
fn leaves_what_it_does_not_cover_to_others() {
    let op = |ci, co, kernel| {
        Conv::new(
            spec(DataFormat::NHWC, kernel, ci, co),
            KernelFormat::HWIO,
            1,
            None,
        )
    };
    let (k, b) = (random(&[3, 3, 4, 32], 1), random(&[32], 2));
    let batch4 = f32::fact([4, 8, 8, 4]);
    assert!(PerImageConv::covering(&op(4, 32, [3, 3]), &batch4, &k, &b, false).is_some());
    // A batch of one: tract's own single-image path already.
    assert!(
        PerImageConv::covering(&op(4, 32, [3, 3]), &f32::fact([1, 8, 8, 4]), &k, &b, false)
            .is_none()
    );
    // No batch axis.
    let hwc = Conv::new(
        spec(DataFormat::HWC, [3, 3], 4, 32),
        KernelFormat::HWIO,
        1,
        None,
    );
    assert!(PerImageConv::covering(&hwc, &f32::fact([8, 8, 4]), &k, &b, false).is_none());
    // A 1×1 kernel: one matrix product over the batch is better.
    let (k1, b1) = (random(&[1, 1, 4, 32], 1), random(&[32], 2));
    assert!(PerImageConv::covering(&op(4, 32, [1, 1]), &batch4, &k1, &b1, false).is_none());
    // Unknown image size.
    let h = TDim::from(SymbolScope::default().sym("H"));
    let unknown = f32::fact(tvec!(4.into(), h, 8.into(), 4.into()));
    assert!(PerImageConv::covering(&op(4, 32, [3, 3]), &unknown, &k, &b, false).is_none());
    // Groups, and non-f32 data.
    let mut grouped = op(4, 32, [3, 3]);
    grouped.group = 2;
    let half = random(&[3, 3, 2, 32], 1);
    assert!(PerImageConv::covering(&grouped, &batch4, &half, &b, false).is_none());
    assert!(
        PerImageConv::covering(&op(4, 32, [3, 3]), &f16::fact([4, 8, 8, 4]), &k, &b, false)
            .is_none()
    );
    // In a model, what our direct convolution takes stays with it.
    let (k8, b8) = (random(&[3, 3, 4, 8], 1), random(&[8], 2));
    let mut model = conv_model(&op(4, 8, [3, 3]), batch4.clone(), &k8, &b8, false);
    swap_convolutions(&mut model).unwrap();
    swap_batched_convolutions(&mut model).unwrap();
    assert_eq!(
        op_names(&model).iter().filter(|o| *o == "Conv2d").count(),
        1
    );
}

#[test]
fn bad_inputs_are_errors() {
    let op = Conv::new(
        spec(DataFormat::NHWC, [3, 3], 4, 32),
        KernelFormat::HWIO,
        1,
        None,
    );
    let (k, b) = (random(&[3, 3, 4, 32], 1), random(&[32], 2));
    let ours = PerImageConv::covering(&op, &f32::fact([4, 8, 8, 4]), &k, &b, true).unwrap();
    for shape in [
        &[2, 8, 8, 3][..],
        &[2, 8, 9, 4],
        &[8, 8, 4],
        &[1, 2, 8, 8, 4],
    ] {
        assert!(ours.convolve(&random(shape, 3)).is_err(), "{shape:?}");
    }
    assert!(ours.convolve(&tensor0(1i32)).is_err());
    let ints = tract_ndarray::ArrayD::<i32>::zeros(vec![2, 8, 8, 4]).into_tensor();
    assert!(ours.convolve(&ints).is_err());
    // An empty batch gives an empty batch.
    let out = ours.convolve(&random(&[0, 8, 8, 4], 3)).unwrap();
    assert_eq!(out.shape(), &[0, 6, 6, 32]);
}
