//! `GatherV2` accepting int32 or int64 indices and axis, as TensorFlow does.

use tract_hir::internal::*;
use tract_tensorflow::model::ParsingContext;
use tract_tensorflow::tfpb::tensorflow::NodeDef;

pub fn gather_v2(_: &ParsingContext, node: &NodeDef) -> TractResult<Box<dyn InferenceOp>> {
    let batch_dims: i64 = node.get_attr_opt_int("batch_dims")?.unwrap_or(0);
    if batch_dims != 0 {
        bail!("GatherV2 with batch_dims={batch_dims} is not supported");
    }
    Ok(expand(GatherV2))
}

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct GatherV2;

impl Expansion for GatherV2 {
    fn name(&self) -> StaticName {
        "GatherV2".into()
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
        s.equals(&inputs[2].rank, 0)?;
        s.given_3(
            &inputs[0].shape,
            &inputs[1].shape,
            &inputs[2].value,
            move |s, input_shape, indices_shape, axis| {
                let axis = axis.cast_to_scalar::<i64>()?;
                let op = tract_hir::ops::array::Gather::new(axis).to_type_op(input_shape.len());
                s.equals(
                    &outputs[0].shape,
                    op.compute_output_shape(&input_shape, &indices_shape)?,
                )
            },
        )
    }

    fn wire(
        &self,
        prefix: &str,
        target: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let Some(axis) = target.outlet_fact(inputs[2])?.konst.clone() else {
            bail!("GatherV2 needs a constant axis")
        };
        let axis = axis.cast_to_scalar::<i64>()?;
        tract_hir::ops::array::Gather::new(axis).wire(prefix, target, &inputs[0..2])
    }
}
