//! `ConcatV2` with TensorFlow's full axis semantics. tract's builder casts the axis to `usize`,
//! so Keras' `axis=-1` became a loop over 2^64 dimensions and exhausted memory at load.
//!
//! The concatenated size is set as the sum of the inputs' sizes rather than solved from
//! `out - Σ in = 0`: tract's solver divides by the coefficient -1 as an unsigned number, which
//! broke concatenation along the symbolic batch axis. Inputs of different types (a `tf.shape`
//! slice, TDim, next to int32 constants) are cast to their common type.

use tract_hir::internal::*;
use tract_hir::ops::array::TypedConcat;
use tract_tensorflow::model::ParsingContext;
use tract_tensorflow::tfpb::tensorflow::NodeDef;

pub fn concat_v2(_: &ParsingContext, _: &NodeDef) -> TractResult<Box<dyn InferenceOp>> {
    Ok(expand(ConcatV2))
}

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct ConcatV2;

fn normalize(axis: i64, rank: i64) -> TractResult<usize> {
    let axis = if axis < 0 { axis + rank } else { axis };
    if axis < 0 || axis >= rank.max(1) {
        bail!("ConcatV2 axis {axis} out of range for rank {rank}");
    }
    Ok(axis as usize)
}

impl Expansion for ConcatV2 {
    fn name(&self) -> StaticName {
        "ConcatV2".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_output_arity(outputs, 1)?;
        let n = inputs.len() - 1;
        s.given_all((0..n).map(|i| &inputs[i].datum_type), move |s, dts| {
            let dt = DatumType::super_type_for(&dts).context("ConcatV2: no common type")?;
            s.equals(&outputs[0].datum_type, dt)
        })?;
        s.equals_all((0..n).map(|i| (&inputs[i].rank).bex()).collect())?;
        s.equals(&inputs[n].rank, 0)?;
        s.equals(&outputs[0].rank, &inputs[0].rank)?;
        s.given_2(&inputs[n].value, &inputs[0].rank, move |s, axis, rank| {
            let axis = normalize(axis.cast_to_scalar::<i64>()?, rank)?;
            for d in (0..rank as usize).filter(|&d| d != axis) {
                s.equals_all((0..n).map(|i| (&inputs[i].shape[d]).bex()).collect())?;
                s.equals(&inputs[0].shape[d], &outputs[0].shape[d])?;
            }
            s.given_all((0..n).map(|i| &inputs[i].shape[axis]), move |s, sizes| {
                s.equals(&outputs[0].shape[axis], sizes.iter().sum::<TDim>())
            })
        })
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let (values, axis) = inputs.split_at(inputs.len() - 1);
        let Some(axis) = model.outlet_fact(axis[0])?.konst.clone() else {
            bail!("ConcatV2 needs a constant axis")
        };
        let rank = model.outlet_fact(values[0])?.rank() as i64;
        let axis = normalize(axis.cast_to_scalar::<i64>()?, rank)?;
        let dts = values
            .iter()
            .map(|&v| Ok(model.outlet_fact(v)?.datum_type))
            .collect::<TractResult<TVec<_>>>()?;
        let dt = DatumType::super_type_for(&dts).context("ConcatV2: no common type")?;
        let values = tract_core::ops::cast::wire_cast(prefix, model, values, dt)?;
        model.wire_node(prefix, TypedConcat::new(axis), &values)
    }
}
