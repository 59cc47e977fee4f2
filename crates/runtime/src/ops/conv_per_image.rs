//! [`PerImageConv`]: a batched f32 convolution that runs tract's own single-image convolution
//! once per image, swapped in for tract's `Conv` wherever the batch is not known to be 1 (a
//! symbolic batch, or a concrete one above 1) and our direct [`super::conv::Conv2d`] does not
//! take it (more output channels than it covers).
//!
//! Why: tract lowers a convolution over a *single* image to a lazy im2col (the matrix product
//! gathers its patches straight from the input) but over a batch, or a batch it does not know,
//! to an eager im2col: the whole batch's patch matrix is written out, then multiplied. For the
//! Keras MNIST CNN's second convolution (26×26×32 → 24×24×64, 3×3) that matrix is 288 × 576
//! floats per image, 0.66 MB, so a batch of 32 writes and reads back 21 MB, far beyond the
//! caches: per row the batch cost 2.1× what a single image did (docs/batching-performance.md),
//! and batching made that model slower to serve. Run per image, the patches of one image stay
//! in cache and the batch costs per row what a single image costs.
//!
//! Two designs were possible: (a) this one, which reuses tract's single-image path (its lazy
//! im2col and its matrix-product kernels, AVX-512 where the CPU has it) through a small plan
//! of one convolution built once per op; (b) our own im2col into a bounded per-image buffer
//! plus a matrix product. (b) would have to match tract-linalg's packed, architecture-specific
//! kernels to be as fast (they are reachable only through `unsafe` calls, and safe code built
//! for the baseline x86_64 target has SSE2 only), and could at best equal the single-image
//! cost, which (a) gets by construction: on the MNIST CNN's second convolution that path runs
//! at about 90 % of the core's AVX-512 multiply-add peak. So (a): results are tract's own
//! single-image results, bit for bit.
//!
//! The single-image plan (tract's lowering of the convolution with its bias) is built once per
//! op. Each `eval` spawns one run state of it and runs every image through that state on the
//! calling thread, so tract's per-session matrix-product scratch is made and freed on one
//! thread (see [`crate::state_pool`] for why that matters). Each image's input is copied into
//! its own tensor and its result copied into place in the batch output; a Relu that is the
//! convolution's only consumer is applied in that copy, which costs about what the copy does,
//! where tract runs it as a separate pass over a fresh tensor (it does not fuse it into the
//! matrix product here: 10 µs per image after the MNIST CNN's second convolution).

use std::sync::Arc;

use tract_core::ops::cnn::Conv;
use tract_hir::internal::*;

/// A 2-D f32 convolution over a batch axis, run as tract's single-image convolution per image.
#[derive(Clone)]
pub struct PerImageConv {
    /// tract's op, as it was in the graph (its kernel and bias live on only in `plan`).
    conv: Conv,
    relu: bool,
    /// The input shape of one image, batch axis included (as 1).
    image_shape: TVec<usize>,
    /// The output shape of one image, batch axis included (as 1).
    out_image_shape: TVec<usize>,
    /// tract's optimised plan of the convolution over one image.
    plan: Arc<TypedSimplePlan>,
}

impl std::fmt::Debug for PerImageConv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerImageConv")
            .field("conv", &self.conv)
            .field("relu", &self.relu)
            .field("image_shape", &self.image_shape)
            .finish_non_exhaustive()
    }
}

impl PartialEq for PerImageConv {
    /// Equal when they share one plan (clones of one op): comparing the weights would mean
    /// keeping a second copy of them beside the plan's packed one.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.plan, &other.plan) && self.relu == other.relu
    }
}

impl Eq for PerImageConv {}

impl PerImageConv {
    /// Our op for tract's `op` on input `fact` with constant `kernel` and `bias` (and a fused
    /// Relu when `relu`), or `None` when it does not apply: anything but an ungrouped float
    /// 2-D convolution with a batch axis whose other input dims are known, a batch known to be
    /// 1 (tract already runs the single-image path), or a 1×1 kernel (its im2col is a reshape,
    /// and one matrix product over the whole batch does better than one per image).
    pub fn covering(
        op: &Conv,
        fact: &TypedFact,
        kernel: &Tensor,
        bias: &Tensor,
        relu: bool,
    ) -> Option<PerImageConv> {
        let spec = &op.pool_spec;
        let f32_type = f32::datum_type();
        let shape = &fact.shape;
        let covered = op.group == 1
            && op.q_params.is_none()
            && spec.rank() == 2
            && spec.data_format.has_n()
            && fact.datum_type == f32_type
            && kernel.datum_type() == f32_type
            && bias.datum_type() == f32_type
            && spec.kernel_shape.iter().product::<usize>() > 1
            && shape.rank() == 4
            && shape[0] != TDim::Val(1)
            && !matches!(shape[0], TDim::Val(n) if n < 1);
        if !covered {
            return None;
        }
        let mut image_shape: TVec<usize> = tvec!(1);
        for d in shape.iter().skip(1) {
            image_shape.push(d.to_usize().ok()?);
        }
        let plan = single_image_plan(op, &image_shape, kernel, bias).ok()?;
        let out_image_shape = plan
            .model()
            .output_fact(0)
            .ok()?
            .shape
            .as_concrete()?
            .into();
        Some(PerImageConv {
            conv: op.clone(),
            relu,
            image_shape,
            out_image_shape,
            plan,
        })
    }

    /// Runs the convolution on a batch `input`.
    pub fn convolve(&self, input: &Tensor) -> TractResult<Tensor> {
        let shape = input.shape();
        ensure!(
            input.datum_type() == f32::datum_type()
                && shape.len() == self.image_shape.len()
                && shape[1..] == self.image_shape[1..],
            "PerImageConv: input {:?} {:?} is not a batch of images of shape {:?}",
            input.datum_type(),
            shape,
            &self.image_shape[1..]
        );
        let batch = shape[0];
        let mut out_shape = self.out_image_shape.clone();
        out_shape[0] = batch;
        let image_len: usize = self.image_shape.iter().product();
        let out_len: usize = self.out_image_shape.iter().product();
        // Filled image by image (not zeroed first: at batch 64 the MNIST CNN's second
        // convolution writes 9.4 MB).
        let mut out = Vec::with_capacity(batch * out_len);
        // (An empty image with a non-empty output fails in `from_shape_vec` below.)
        if batch > 0 && out_len > 0 && image_len > 0 {
            let plain = input.try_as_plain_ram()?;
            let x = plain.as_slice::<f32>()?;
            let mut state = self.plan.spawn()?;
            for image in x.chunks_exact(image_len) {
                let image = Tensor::from_shape(&self.image_shape, image)?;
                let y = state.run(tvec!(image.into_tvalue()))?;
                let y = y[0].try_as_plain_ram()?;
                let y = y.as_slice::<f32>()?;
                ensure!(
                    y.len() == out_len,
                    "PerImageConv: an image gave {} values",
                    y.len()
                );
                if self.relu {
                    out.extend(y.iter().map(|v| v.max(0.0)));
                } else {
                    out.extend_from_slice(y);
                }
            }
        }
        Ok(tract_ndarray::ArrayD::from_shape_vec(&*out_shape, out)?.into_tensor())
    }
}

/// tract's optimised plan for `op` over one image of `image_shape`.
fn single_image_plan(
    op: &Conv,
    image_shape: &[usize],
    kernel: &Tensor,
    bias: &Tensor,
) -> TractResult<Arc<TypedSimplePlan>> {
    let mut model = TypedModel::default();
    let x = model.add_source("image", f32::fact(image_shape))?;
    let k = model.add_const("kernel", kernel.clone())?;
    let b = model.add_const("bias", bias.clone())?;
    let y = model.wire_node("conv", op.clone(), &[x, k, b])?;
    model.select_output_outlets(&y)?;
    TypedSimplePlan::new(model.into_optimized()?)
}

impl Op for PerImageConv {
    fn name(&self) -> StaticName {
        "PerImageConv".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        let mut info = self.conv.pool_spec.info();
        if self.relu {
            info.push("fused Relu".into());
        }
        Ok(info)
    }

    op_as_typed_op!();
}

impl EvalOp for PerImageConv {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        Ok(tvec!(self.convolve(&input)?.into_tvalue()))
    }
}

impl TypedOp for PerImageConv {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(inputs.len() == 1 && inputs[0].datum_type == f32::datum_type());
        self.conv.pool_spec.output_facts(inputs)
    }

    as_op!();
}

/// Replaces every tract `Conv` that [`PerImageConv::covering`] accepts, fusing a Relu that is
/// the convolution's only consumer. Runs after [`super::conv::swap_convolutions`], so the
/// convolutions our direct op takes keep it.
pub fn swap_batched_convolutions(model: &mut TypedModel) -> TractResult<()> {
    super::conv::swap_convolutions_with(model, PerImageConv::covering)
}
