//! `SpaceToBatchND` and `BatchToSpaceND`, as pad/reshape/transpose/slice.
//!
//! TensorFlow runs a dilated depthwise convolution (Keras `DepthwiseConv2D(dilation_rate=2)`,
//! `tf.nn.depthwise_conv2d(..., dilations=...)`) as `SpaceToBatchND → conv → BatchToSpaceND`.
//! tract-tensorflow fuses that chain into a dilated convolution but drops the paddings and
//! crops, and the load fails on the shape mismatch. These plain decompositions leave nothing
//! to fuse; the batch stays symbolic (the batch axis is split and merged as `TDim`s).

use tract_core::ops::change_axes::perm_to_ops;
use tract_hir::internal::*;
use tract_tensorflow::model::TfOpRegister;

use super::support::{ints, konst};

pub fn register(reg: &mut TfOpRegister) {
    reg.insert("SpaceToBatchND", |_, _| {
        Ok(expand(SpaceBatch { to_batch: true }))
    });
    reg.insert("BatchToSpaceND", |_, _| {
        Ok(expand(SpaceBatch { to_batch: false }))
    });
}

/// `SpaceToBatchND(input, block_shape, paddings)` or `BatchToSpaceND(input, block_shape,
/// crops)`; both on `[batch, spatial..., rest...]`.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct SpaceBatch {
    to_batch: bool,
}

/// (before, after) paddings or crops, one pair per spatial axis.
type Pads = Vec<(usize, usize)>;

/// Block sizes and paddings or crops.
fn params(block: &Tensor, pads: &Tensor) -> TractResult<(Vec<usize>, Pads)> {
    let block: Vec<usize> = ints(block)?.into_iter().map(|b| b as usize).collect();
    let pads = ints(pads)?;
    ensure!(
        pads.len() == 2 * block.len() && block.iter().all(|&b| b > 0),
        "block_shape {block:?} and paddings/crops {pads:?} do not match"
    );
    Ok((
        block,
        pads.chunks(2)
            .map(|p| (p[0] as usize, p[1] as usize))
            .collect(),
    ))
}

impl SpaceBatch {
    fn output_shape(&self, shape: &[TDim], block: &[usize], pads: &[(usize, usize)]) -> TVec<TDim> {
        let total: usize = block.iter().product();
        let mut out: TVec<TDim> = shape.into();
        for (i, (&b, &(before, after))) in block.iter().zip(pads).enumerate() {
            out[i + 1] = if self.to_batch {
                (shape[i + 1].clone() + before + after) / b
            } else {
                shape[i + 1].clone() * b - before - after
            };
        }
        out[0] = if self.to_batch {
            shape[0].clone() * total
        } else {
            shape[0].clone() / total
        };
        out
    }
}

impl Expansion for SpaceBatch {
    fn name(&self) -> StaticName {
        if self.to_batch {
            "SpaceToBatchND"
        } else {
            "BatchToSpaceND"
        }
        .into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 3)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, &outputs[0].datum_type)?;
        s.equals(&inputs[0].rank, &outputs[0].rank)?;
        s.given_3(
            &inputs[0].shape,
            &inputs[1].value,
            &inputs[2].value,
            move |s, shape, block, pads| {
                let (block, pads) = params(&block, &pads)?;
                s.equals(&outputs[0].shape, self.output_shape(&shape, &block, &pads))
            },
        )
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let (block, pads) = params(
            &*konst(model, inputs[1], &self.name(), "block_shape")?,
            &*konst(model, inputs[2], &self.name(), "paddings/crops")?,
        )?;
        if self.to_batch {
            space_to_batch(prefix, model, inputs[0], &block, &pads)
        } else {
            batch_to_space(prefix, model, inputs[0], &block, &pads)
        }
    }
}

fn permute(
    prefix: &str,
    model: &mut TypedModel,
    wire: OutletId,
    perm: &[usize],
) -> TractResult<OutletId> {
    let mut wire = wire;
    for (ix, op) in perm_to_ops(perm).into_iter().enumerate() {
        wire = model.wire_node(format!("{prefix}.perm-{ix}"), op, &[wire])?[0];
    }
    Ok(wire)
}

fn space_to_batch(
    prefix: &str,
    model: &mut TypedModel,
    input: OutletId,
    block: &[usize],
    pads: &[(usize, usize)],
) -> TractResult<TVec<OutletId>> {
    let m = block.len();
    let rank = model.outlet_fact(input)?.rank();
    let dt = model.outlet_fact(input)?.datum_type;
    // zero-pad the spatial axes
    let mut all_pads = vec![(0, 0); rank];
    all_pads[1..=m].copy_from_slice(pads);
    let mut wire = model.wire_node(
        format!("{prefix}.pad"),
        tract_core::ops::array::Pad::new(
            all_pads,
            tract_core::ops::array::PadMode::Constant(
                Tensor::zero_scalar_dt(dt)?.into_arc_tensor(),
            ),
        ),
        &[input],
    )?[0];
    // [N, P1, ..., Pm, R] -> [N, P1/b1, b1, ..., Pm/bm, bm, R]
    for i in (0..m).rev() {
        let d = model.outlet_fact(wire)?.shape[i + 1].clone();
        wire = model.wire_node(
            format!("{prefix}.split-{i}"),
            AxisOp::Reshape(
                i + 1,
                tvec!(d.clone()),
                tvec!(d / block[i], block[i].to_dim()),
            ),
            &[wire],
        )?[0];
    }
    // -> [b1, ..., bm, N, P1/b1, ..., Pm/bm, R]
    let mut perm: Vec<usize> = (0..m).map(|i| 2 * i + 2).collect();
    perm.push(0);
    perm.extend((0..m).map(|i| 2 * i + 1));
    perm.extend(2 * m + 1..rank + m);
    wire = permute(prefix, model, wire, &perm)?;
    // -> [b1 * ... * bm * N, ...]
    let shape = model.outlet_fact(wire)?.shape.to_tvec();
    let merged: TDim = shape[..=m].iter().product();
    wire = model.wire_node(
        format!("{prefix}.merge"),
        AxisOp::Reshape(0, shape[..=m].into(), tvec!(merged)),
        &[wire],
    )?[0];
    Ok(tvec!(wire))
}

fn batch_to_space(
    prefix: &str,
    model: &mut TypedModel,
    input: OutletId,
    block: &[usize],
    crops: &[(usize, usize)],
) -> TractResult<TVec<OutletId>> {
    let m = block.len();
    let rank = model.outlet_fact(input)?.rank();
    let batch = model.outlet_fact(input)?.shape[0].clone();
    let total: usize = block.iter().product();
    // [B, S1, ..., Sm, R] -> [b1, ..., bm, N, S1, ..., Sm, R]
    let mut split: TVec<TDim> = block.iter().map(|b| b.to_dim()).collect();
    split.push(batch.clone() / total);
    let mut wire = model.wire_node(
        format!("{prefix}.split"),
        AxisOp::Reshape(0, tvec!(batch), split),
        &[input],
    )?[0];
    // -> [N, S1, b1, ..., Sm, bm, R]
    let mut perm = vec![m];
    for i in 0..m {
        perm.push(m + 1 + i);
        perm.push(i);
    }
    perm.extend(2 * m + 1..rank + m);
    wire = permute(prefix, model, wire, &perm)?;
    // -> [N, S1 * b1, ..., Sm * bm, R], then crop
    for i in 0..m {
        let shape = model.outlet_fact(wire)?.shape.to_tvec();
        let pair: TVec<TDim> = shape[i + 1..i + 3].into();
        let merged = pair[0].clone() * &pair[1];
        wire = model.wire_node(
            format!("{prefix}.merge-{i}"),
            AxisOp::Reshape(i + 1, pair, tvec!(merged)),
            &[wire],
        )?[0];
    }
    for (i, &(before, after)) in crops.iter().enumerate() {
        if before == 0 && after == 0 {
            continue;
        }
        let d = model.outlet_fact(wire)?.shape[i + 1].clone();
        wire = model.wire_node(
            format!("{prefix}.crop-{i}"),
            tract_core::ops::array::Slice::new(i + 1, before, d - after),
            &[wire],
        )?[0];
    }
    Ok(tvec!(wire))
}
