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
//! taking a value only when it is greater), so results are bit-identical — except which sign
//! wins a tie between -0.0 and +0.0, where tract is not consistent itself (its NCHW 2x2 path
//! uses `f32::max` and SIMD); ours keeps the first in window order, like tract's generic walk.
//!
//! Anything else (index outputs, other ranks or dtypes) keeps tract's op.

use tract_core::ops::cnn::{MaxPool, PoolSpec};
use tract_hir::internal::*;

use super::spatial::{Spatial, strides};

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
    /// For each output position, its window's first input position inside the input and how
    /// many window positions fall inside (consecutive ones, `dilation` apart).
    fn windows(&self) -> Vec<(usize, usize)> {
        (0..self.output)
            .map(|o| {
                let start = (o * self.stride) as isize - self.pad_before as isize;
                let mut inside = (0..self.kernel)
                    .map(|k| start + (k * self.dilation) as isize)
                    .filter(|&i| i >= 0 && (i as usize) < self.input);
                match inside.next() {
                    Some(first) => (first as usize, 1 + inside.count()),
                    None => (0, 0),
                }
            })
            .collect()
    }
}

/// tract's fold: keep the accumulator unless the value is greater (so NaN never wins).
#[inline(always)]
fn fold(acc: f32, v: f32) -> f32 {
    if acc < v { v } else { acc }
}

/// Everything the loops need: sizes, element strides, and the window of every output row and
/// column.
struct Geometry {
    batch: usize,
    channels: usize,
    input: [usize; 4],  // strides of n, h, w, c
    output: [usize; 4], // strides of n, h, w, c
    dilation: [usize; 2],
    rows: Vec<(usize, usize)>,
    cols: Vec<(usize, usize)>,
}

/// Runs the pool on `input` (any batch size).
pub fn max_pool(spec: &PoolSpec, input: &Tensor) -> TractResult<Tensor> {
    let spatial = Spatial::of("MaxPool2d", spec, input)?;
    let (ishape, oshape) = (&spatial.input, &spatial.output);
    let axis = |a: usize| Axis {
        input: ishape.hw_dims()[a],
        kernel: spec.kernel_shape[a],
        stride: spec.stride(a),
        dilation: spec.dilation(a),
        pad_before: spatial.pad_before[a],
        output: spatial.output_hw[a],
    };
    let geo = Geometry {
        batch: spatial.batch(),
        channels: *ishape.c(),
        input: strides(ishape),
        output: strides(oshape),
        dilation: [spec.dilation(0), spec.dilation(1)],
        rows: axis(0).windows(),
        cols: axis(1).windows(),
    };
    let plain = input.try_as_plain_ram()?;
    let x = plain.as_slice::<f32>()?;
    let mut out = vec![f32::MIN; oshape.shape.iter().product()];
    if geo.input[3] == 1 && geo.output[3] == 1 {
        match geo.channels {
            1 => channels_last::<1>(&geo, x, &mut out),
            2 => channels_last::<2>(&geo, x, &mut out),
            3 => channels_last::<3>(&geo, x, &mut out),
            4 => channels_last::<4>(&geo, x, &mut out),
            8 => channels_last::<8>(&geo, x, &mut out),
            16 => channels_last::<16>(&geo, x, &mut out),
            _ => channels_last_any(&geo, x, &mut out),
        }
    } else if is_full_2x2_stride_2(&geo) {
        channels_first_2x2(&geo, x, &mut out);
    } else {
        channels_first(&geo, x, &mut out);
    }
    Ok(tract_ndarray::ArrayD::from_shape_vec(&*oshape.shape, out)?.into_tensor())
}

/// Channels last with `C` channels known at compile time (small counts, where a run-time
/// channel loop would cost more than the max itself): each window position is one `[f32; C]`.
fn channels_last<const C: usize>(g: &Geometry, x: &[f32], out: &mut [f32]) {
    let ([in_n, in_h, in_w, _], [out_n, out_h, out_w, _]) = (g.input, g.output);
    for n in 0..g.batch {
        for (oh, &(h0, hc)) in g.rows.iter().enumerate() {
            for (ow, &(w0, wc)) in g.cols.iter().enumerate() {
                let mut acc = [f32::MIN; C];
                for kh in 0..hc {
                    let row = n * in_n + (h0 + kh * g.dilation[0]) * in_h;
                    for kw in 0..wc {
                        let i = row + (w0 + kw * g.dilation[1]) * in_w;
                        let v: &[f32; C] = x[i..i + C].try_into().expect("C values");
                        for c in 0..C {
                            acc[c] = fold(acc[c], v[c]);
                        }
                    }
                }
                let o = n * out_n + oh * out_h + ow * out_w;
                out[o..o + C].copy_from_slice(&acc);
            }
        }
    }
}

/// Channels last, any channel count: the channel loop is innermost over contiguous values.
fn channels_last_any(g: &Geometry, x: &[f32], out: &mut [f32]) {
    let ([in_n, in_h, in_w, _], [out_n, out_h, out_w, _]) = (g.input, g.output);
    let c = g.channels;
    for n in 0..g.batch {
        for (oh, &(h0, hc)) in g.rows.iter().enumerate() {
            for (ow, &(w0, wc)) in g.cols.iter().enumerate() {
                let o = n * out_n + oh * out_h + ow * out_w;
                let acc = &mut out[o..o + c];
                for kh in 0..hc {
                    let row = n * in_n + (h0 + kh * g.dilation[0]) * in_h;
                    for kw in 0..wc {
                        let i = row + (w0 + kw * g.dilation[1]) * in_w;
                        for (a, &v) in acc.iter_mut().zip(&x[i..i + c]) {
                            *a = fold(*a, v);
                        }
                    }
                }
            }
        }
    }
}

/// Whether every window is the 2×2 block at (2·oh, 2·ow) of rows with contiguous columns: the
/// pool after most channels-first convolutions (ONNX exports of Keras CNNs).
fn is_full_2x2_stride_2(g: &Geometry) -> bool {
    let blocks = |windows: &[(usize, usize)]| {
        windows
            .iter()
            .enumerate()
            .all(|(o, &(start, count))| start == 2 * o && count == 2)
    };
    g.input[2] == 1
        && g.output[2] == 1
        && g.dilation == [1, 1]
        && blocks(&g.rows)
        && blocks(&g.cols)
}

/// Channels first, 2×2 windows with stride 2 and no padding: each output row reads two input
/// rows pairwise, with no per-window loops (3× faster than [`channels_first`] on the corpus
/// CNN's first pool). Same fold order as the generic walk (row by row, left to right).
fn channels_first_2x2(g: &Geometry, x: &[f32], out: &mut [f32]) {
    let ([in_n, in_h, _, in_c], [out_n, out_h, _, out_c]) = (g.input, g.output);
    let width = g.cols.len();
    for n in 0..g.batch {
        for c in 0..g.channels {
            let (i0, o0) = (n * in_n + c * in_c, n * out_n + c * out_c);
            for oh in 0..g.rows.len() {
                let top = &x[i0 + 2 * oh * in_h..][..2 * width];
                let bottom = &x[i0 + (2 * oh + 1) * in_h..][..2 * width];
                let row = &mut out[o0 + oh * out_h..][..width];
                for ((o, t), b) in row
                    .iter_mut()
                    .zip(top.chunks_exact(2))
                    .zip(bottom.chunks_exact(2))
                {
                    *o = fold(fold(fold(fold(f32::MIN, t[0]), t[1]), b[0]), b[1]);
                }
            }
        }
    }
}

/// Channels first (NCHW): one plane at a time.
fn channels_first(g: &Geometry, x: &[f32], out: &mut [f32]) {
    let ([in_n, in_h, in_w, in_c], [out_n, out_h, out_w, out_c]) = (g.input, g.output);
    for n in 0..g.batch {
        for c in 0..g.channels {
            let (i0, o0) = (n * in_n + c * in_c, n * out_n + c * out_c);
            for (oh, &(h0, hc)) in g.rows.iter().enumerate() {
                for (ow, &(w0, wc)) in g.cols.iter().enumerate() {
                    let mut acc = f32::MIN;
                    for kh in 0..hc {
                        let row = i0 + (h0 + kh * g.dilation[0]) * in_h;
                        for kw in 0..wc {
                            acc = fold(acc, x[row + (w0 + kw * g.dilation[1]) * in_w]);
                        }
                    }
                    out[o0 + oh * out_h + ow * out_w] = acc;
                }
            }
        }
    }
}
