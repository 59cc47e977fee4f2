//! A team-owned 2-D f32 max pool, swapped in for tract's `MaxPool` in every typed model before
//! optimisation (TensorFlow's NHWC MaxPool and ONNX's NCHW one alike).
//!
//! tract's `OptMaxPool` walks each output pixel once per channel through a generic patch
//! visitor, which for the small feature maps of the corpus CNN costs 14 µs (NHWC) and 44 µs
//! (NCHW) at batch 32 (docs/performance.md). Here, when channels are contiguous (NHWC) each
//! output pixel takes the max of its window rows with the channel loop innermost, so the
//! compiler vectorises it; otherwise (NCHW) each channel plane is walked with the window offsets
//! precomputed. The window geometry (padding, output size) is tract's own
//! `PoolSpec::computed_padding`, and the max is folded the way tract folds it (from `f32::MIN`,
//! taking a value only when it is greater), so results are bit-identical.
//!
//! Anything else (index outputs, other ranks or dtypes) keeps tract's op.

use tract_core::ops::cnn::{MaxPool, PoolSpec};
use tract_hir::internal::*;

/// Max pool over the two spatial axes of an f32 tensor laid out as `pool_spec.data_format`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MaxPool2d {
    pool_spec: PoolSpec,
}

impl MaxPool2d {
    /// Our op for tract's `op` with input `fact`, or `None` when we do not cover it.
    pub fn covering(op: &MaxPool, fact: &TypedFact) -> Option<MaxPool2d> {
        let covered = op.with_index_outputs.is_none()
            && op.pool_spec.rank() == 2
            && fact.datum_type == f32::datum_type()
            && op.pool_spec.input_channels == op.pool_spec.output_channels;
        covered.then(|| MaxPool2d {
            pool_spec: op.pool_spec.clone(),
        })
    }
}

/// Replaces every tract `MaxPool` that [`MaxPool2d::covering`] accepts.
pub fn swap_max_pools(model: &mut TypedModel) -> TractResult<()> {
    for id in model.eval_order()? {
        let node = &model.nodes()[id];
        let Some(op) = node.op_as::<MaxPool>() else {
            continue;
        };
        let fact = model.outlet_fact(node.inputs[0])?;
        if let Some(ours) = MaxPool2d::covering(op, fact) {
            let patch = TypedModelPatch::replace_single_op(model, node, &node.inputs, ours)?;
            patch.apply(model)?;
        }
    }
    Ok(())
}

impl Op for MaxPool2d {
    fn name(&self) -> StaticName {
        "MaxPool2d".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(self.pool_spec.info())
    }

    op_as_typed_op!();
}

impl EvalOp for MaxPool2d {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let output = max_pool(&self.pool_spec, &input)?;
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for MaxPool2d {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        self.pool_spec.output_facts(inputs)
    }

    as_op!();
}

/// One spatial axis of the pool: input size, kernel, stride, dilation, padding before, output
/// size.
#[derive(Clone, Copy)]
struct Axis {
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    pad_before: usize,
    output: usize,
}

impl Axis {
    /// Input positions of the window of output position `o` that fall inside the input.
    fn window(&self, o: usize) -> impl Iterator<Item = usize> + '_ {
        let start = (o * self.stride) as isize - self.pad_before as isize;
        (0..self.kernel).filter_map(move |k| {
            let i = start + (k * self.dilation) as isize;
            (i >= 0 && (i as usize) < self.input).then_some(i as usize)
        })
    }
}

/// tract's fold: keep the accumulator unless the value is greater (so NaN never wins).
#[inline(always)]
fn fold(acc: f32, v: f32) -> f32 {
    if acc < v { v } else { acc }
}

/// Runs the pool on `input` (any batch size).
pub fn max_pool(spec: &PoolSpec, input: &Tensor) -> TractResult<Tensor> {
    ensure!(
        input.datum_type() == f32::datum_type(),
        "MaxPool2d takes f32"
    );
    let ishape = spec.data_format.shape(input.shape())?;
    let oshape = spec.output_shape(input.shape())?;
    let computed = spec.computed_padding(ishape.hw_dims());
    let axes: Vec<Axis> = (0..2)
        .map(|a| Axis {
            input: ishape.hw_dims()[a],
            kernel: spec.kernel_shape[a],
            stride: spec.stride(a),
            dilation: spec.dilation(a),
            pad_before: computed[a].pad_before,
            output: computed[a].convoluted,
        })
        .collect();
    let plain = input.try_as_plain_ram()?;
    let x = plain.as_slice::<f32>()?;
    let mut out = vec![f32::MIN; oshape.shape.iter().product()];
    let batch = ishape.n().copied().unwrap_or(1);
    let channels = *ishape.c();
    let (in_n, out_n) = (
        ishape.n_stride().copied().unwrap_or(0),
        oshape.n_stride().copied().unwrap_or(0),
    );
    let (in_h, in_w, in_c) = (
        ishape.hw_strides()[0],
        ishape.hw_strides()[1],
        *ishape.c_stride(),
    );
    let (out_h, out_w, out_c) = (
        oshape.hw_strides()[0],
        oshape.hw_strides()[1],
        *oshape.c_stride(),
    );
    let (ah, aw) = (axes[0], axes[1]);
    if in_c == 1 && out_c == 1 {
        // Channels last: every window position is a contiguous run of `channels` values.
        for n in 0..batch {
            for oh in 0..ah.output {
                for ow in 0..aw.output {
                    let o = n * out_n + oh * out_h + ow * out_w;
                    let acc = &mut out[o..o + channels];
                    for ih in ah.window(oh) {
                        for iw in aw.window(ow) {
                            let i = n * in_n + ih * in_h + iw * in_w;
                            for (a, &v) in acc.iter_mut().zip(&x[i..i + channels]) {
                                *a = fold(*a, v);
                            }
                        }
                    }
                }
            }
        }
    } else {
        // Channels first: walk each plane, window offsets precomputed per output pixel.
        let mut windows: Vec<(usize, Vec<usize>)> = Vec::with_capacity(ah.output * aw.output);
        for oh in 0..ah.output {
            for ow in 0..aw.output {
                let offsets = ah
                    .window(oh)
                    .flat_map(|ih| aw.window(ow).map(move |iw| ih * in_h + iw * in_w))
                    .collect();
                windows.push((oh * out_h + ow * out_w, offsets));
            }
        }
        for n in 0..batch {
            for c in 0..channels {
                let (i0, o0) = (n * in_n + c * in_c, n * out_n + c * out_c);
                for (o, offsets) in &windows {
                    out[o0 + o] = offsets.iter().fold(f32::MIN, |a, &i| fold(a, x[i0 + i]));
                }
            }
        }
    }
    Ok(tract_ndarray::ArrayD::from_shape_vec(&*oshape.shape, out)?.into_tensor())
}
