//! A team-owned 2-D f32 convolution for small output-channel counts, swapped in for tract's
//! `Conv` in every typed model before optimisation (TensorFlow's NHWC/HWIO convolutions and
//! ONNX's NCHW/OIHW ones alike), with the bias and a following Relu fused.
//!
//! tract lowers a convolution to an im2col buffer and a matrix product *per image*, with the
//! output channels as the matrix rows: with 4 or 8 channels (the corpus CNN) most of its wide
//! SIMD tiles are wasted and the per-call cost is paid once per image, so at batch 32 the two
//! convolutions of the corpus CNN took 60 of its 79 µs (docs/performance.md). Here the whole
//! batch is one direct convolution: each output pixel keeps a `[f32; CO]` accumulator (the
//! output channels, a compile-time count so the channel loop is vectorised), a few neighbouring
//! pixels are computed together so their accumulations are independent, and each input value
//! is multiplied by the contiguous row of weights of its (kh, kw, ci) position. No patch matrix
//! is built. The loops are also compiled for AVX2 + FMA and picked at run time when the CPU has
//! them (the baseline x86_64 target has only SSE2, where they are no faster than tract's).
//! The window geometry is tract's own `PoolSpec::computed_padding`; padding is
//! materialised once as zeros in a channels-last copy of the input when the input is padded or
//! channels-first ([`super::conv_compute`]).
//!
//! Results equal tract's up to float summation order. Anything else (groups, quantised or
//! non-f32 convolutions, other ranks, weights that are not constants, more output channels
//! than [`MAX_OUTPUT_CHANNELS`], where tract's matrix products win) keeps tract's op.

use std::sync::Arc;

use tract_core::ops::binary::TypedBinOp;
use tract_core::ops::cnn::conv::KernelFormat;
use tract_core::ops::cnn::{Conv, PoolSpec};
use tract_core::ops::math::Max;
use tract_hir::internal::*;

use super::conv_compute::{Layout, convolve};
use super::spatial::{Spatial, strides};

/// Most output channels we take: beyond this a vectorised matrix product (tract's) does better
/// than one accumulator per pixel. Counts between 9 and 16 other than 16 also stay with tract.
pub const MAX_OUTPUT_CHANNELS: usize = 16;

/// A 2-D f32 convolution with constant weights, bias and optional fused Relu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conv2d {
    pool_spec: PoolSpec,
    /// Weights as `[kh][kw][ci][co]`, output channels innermost.
    weights: Arc<Tensor>,
    /// One bias per output channel.
    bias: Arc<Tensor>,
    /// Whether `max(x, 0)` is applied to the result (a Relu fused from the graph).
    relu: bool,
}

impl Conv2d {
    /// Our op for tract's `op` with input `fact`, constant `kernel` and `bias`, or `None` when
    /// we do not cover it.
    pub fn covering(op: &Conv, fact: &TypedFact, kernel: &Tensor, bias: &Tensor) -> Option<Conv2d> {
        let spec = &op.pool_spec;
        let (ci, co) = (spec.input_channels, spec.output_channels);
        let covered = op.group == 1
            && op.q_params.is_none()
            && spec.rank() == 2
            && fact.datum_type == f32::datum_type()
            && kernel.datum_type() == f32::datum_type()
            && bias.datum_type() == f32::datum_type()
            && kernel.rank() == 4
            && (bias.len() == 1 || (bias.rank() == 1 && bias.len() == co))
            && ((1..=8).contains(&co) || co == 16)
            && ci > 0
            && *op.kernel_fmt.i(kernel.shape()) == ci
            && *op.kernel_fmt.o(kernel.shape()) == co
            && op.kernel_fmt.hw(kernel.shape()) == &spec.kernel_shape[..];
        if !covered {
            return None;
        }
        let weights = pack_weights(op.kernel_fmt, kernel).ok()?;
        let bias = bias
            .try_as_plain_ram()
            .ok()?
            .as_slice::<f32>()
            .ok()?
            .to_vec();
        let bias = if bias.len() == 1 {
            vec![bias[0]; co]
        } else {
            bias
        };
        Some(Conv2d {
            pool_spec: spec.clone(),
            weights: Arc::new(tensor1(&weights)),
            bias: Arc::new(tensor1(&bias)),
            relu: false,
        })
    }

    /// The same convolution with a Relu applied to its result.
    pub fn with_relu(mut self) -> Conv2d {
        self.relu = true;
        self
    }

    /// Runs the convolution on `input` (any batch size).
    pub fn convolve(&self, input: &Tensor) -> TractResult<Tensor> {
        self.convolve_with(input, true)
    }

    /// [`Conv2d::convolve`], using the CPU's AVX2 + FMA when `simd` and it has them, else the
    /// baseline build of the loops (for tests of both).
    pub fn convolve_with(&self, input: &Tensor, simd: bool) -> TractResult<Tensor> {
        let spec = &self.pool_spec;
        let geo = Spatial::of("Conv2d", spec, input)?;
        let (ishape, oshape) = (&geo.input, &geo.output);
        ensure!(
            *ishape.c() == spec.input_channels,
            "Conv2d: input {:?} does not have {} channels",
            input.shape(),
            spec.input_channels
        );
        let layout = Layout {
            batch: geo.batch(),
            input: [ishape.hw_dims()[0], ishape.hw_dims()[1]],
            input_strides: strides(ishape),
            output: geo.output_hw,
            output_strides: strides(oshape),
            kernel: [spec.kernel_shape[0], spec.kernel_shape[1]],
            stride: [spec.stride(0), spec.stride(1)],
            dilation: [spec.dilation(0), spec.dilation(1)],
            pad_before: geo.pad_before,
            in_channels: spec.input_channels,
            out_channels: spec.output_channels,
        };
        let plain = input.try_as_plain_ram()?;
        let x = plain.as_slice::<f32>()?;
        let w = self.weights.try_as_plain_ram()?;
        let b = self.bias.try_as_plain_ram()?;
        let mut out = vec![0f32; oshape.shape.iter().product()];
        convolve(
            &layout,
            x,
            w.as_slice::<f32>()?,
            b.as_slice::<f32>()?,
            self.relu,
            simd,
            &mut out,
        )?;
        Ok(tract_ndarray::ArrayD::from_shape_vec(&*oshape.shape, out)?.into_tensor())
    }
}

fn tensor1(values: &[f32]) -> Tensor {
    tract_ndarray::Array1::from(values.to_vec()).into_tensor()
}

/// The kernel reordered as `[kh][kw][ci][co]` from any of tract's kernel formats.
fn pack_weights(format: KernelFormat, kernel: &Tensor) -> TractResult<Vec<f32>> {
    let view = kernel.to_plain_array_view::<f32>()?;
    let shape = kernel.shape();
    let (kh, kw) = (format.hw(shape)[0], format.hw(shape)[1]);
    let (ci, co) = (*format.i(shape), *format.o(shape));
    let mut packed = Vec::with_capacity(kh * kw * ci * co);
    for h in 0..kh {
        for w in 0..kw {
            for i in 0..ci {
                for o in 0..co {
                    let ix = match format {
                        KernelFormat::OIHW => [o, i, h, w],
                        KernelFormat::HWIO => [h, w, i, o],
                        KernelFormat::OHWI => [o, h, w, i],
                    };
                    packed.push(view[&ix[..]]);
                }
            }
        }
    }
    Ok(packed)
}

/// The constant behind `outlet`, if it is one.
fn konst(model: &TypedModel, outlet: OutletId) -> Option<Arc<Tensor>> {
    model.outlet_fact(outlet).ok()?.konst.clone()
}

/// Whether `node` is `max(conv, 0)` on the output of node `conv` (a Relu), with a zero
/// constant that only broadcasts (all its dimensions 1), so the Max's output is the conv's.
fn is_relu_of(model: &TypedModel, node: &TypedNode, conv: usize) -> bool {
    let Some(bin) = node.op_as::<TypedBinOp>() else {
        return false;
    };
    if !bin.0.is::<Max>() || bin.1.is_some() || node.inputs.len() != 2 {
        return false;
    }
    let Some(other) = node.inputs.iter().find(|i| i.node != conv) else {
        return false;
    };
    if !node.inputs.iter().any(|i| *i == OutletId::new(conv, 0)) {
        return false;
    }
    let Some(zero) = konst(model, *other) else {
        return false;
    };
    let conv_rank = model.nodes()[conv].outputs[0].fact.rank();
    zero.datum_type() == f32::datum_type()
        && zero.rank() <= conv_rank
        && zero.shape().iter().all(|&d| d == 1)
        && zero
            .try_as_plain_ram()
            .ok()
            .and_then(|p| p.as_slice::<f32>().ok().map(|s| s == [0.0]))
            .unwrap_or(false)
}

/// Replaces every tract `Conv` that [`Conv2d::covering`] accepts, fusing a Relu that is the
/// convolution's only consumer.
pub fn swap_convolutions(model: &mut TypedModel) -> TractResult<()> {
    swap_convolutions_with(model, |op, fact, kernel, bias, relu| {
        let ours = Conv2d::covering(op, fact, kernel, bias)?;
        Some(if relu { ours.with_relu() } else { ours })
    })
}

/// Replaces every tract `Conv` with constant kernel and bias by what `cover` makes of it (the
/// op, its input's fact, kernel, bias, and whether the Relu that is its only consumer is fused
/// into it), when `cover` makes something.
pub(crate) fn swap_convolutions_with<O: TypedOp>(
    model: &mut TypedModel,
    cover: impl Fn(&Conv, &TypedFact, &Tensor, &Tensor, bool) -> Option<O>,
) -> TractResult<()> {
    let mut swapped = false;
    for id in model.eval_order()? {
        let node = &model.nodes()[id];
        let Some(op) = node.op_as::<Conv>() else {
            continue;
        };
        if node.inputs.len() != 3 {
            continue;
        }
        let (Some(kernel), Some(bias)) =
            (konst(model, node.inputs[1]), konst(model, node.inputs[2]))
        else {
            continue;
        };
        let fact = model.outlet_fact(node.inputs[0])?;
        let mut replaced = OutletId::new(id, 0);
        let successors = &node.outputs[0].successors;
        let is_output = model.output_outlets()?.contains(&replaced);
        let relu = match &successors[..] {
            [only] if !is_output && is_relu_of(model, &model.nodes()[only.node], id) => {
                Some(only.node)
            }
            _ => None,
        };
        let Some(ours) = cover(op, fact, &kernel, &bias, relu.is_some()) else {
            continue;
        };
        if let Some(relu) = relu {
            replaced = OutletId::new(relu, 0);
        }
        let mut patch = TypedModelPatch::default();
        let x = patch.tap_model(model, node.inputs[0])?;
        let y = patch.wire_node(&node.name, ours, &[x])?;
        patch.shunt_outside(model, replaced, y[0])?;
        patch.apply(model)?;
        swapped = true;
    }
    if swapped {
        model.compact()?;
    }
    Ok(())
}

impl Op for Conv2d {
    fn name(&self) -> StaticName {
        "Conv2d".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        let mut info = self.pool_spec.info();
        if self.relu {
            info.push("fused Relu".into());
        }
        Ok(info)
    }

    op_as_typed_op!();
}

impl EvalOp for Conv2d {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        Ok(tvec!(self.convolve(&input)?.into_tvalue()))
    }
}

impl TypedOp for Conv2d {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(inputs.len() == 1 && inputs[0].datum_type == f32::datum_type());
        self.pool_spec.output_facts(inputs)
    }

    as_op!();
}
