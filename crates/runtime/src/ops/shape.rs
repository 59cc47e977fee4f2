//! Shape and array construction ops: `ExpandDims`, `Squeeze`, `Pack`, `Unpack`, `Fill`,
//! `BroadcastTo`, `Size`, `Rank` (`Range`, `OneHot` and `Cumsum` are in [`super::sequence`]).
//!
//! tract-tensorflow's versions of the first five mishandle negative axes (ExpandDims resolves
//! -1 against the input rank instead of rank+1; Squeeze panics on `[1, -1]`; Pack panics on any
//! negative axis), ExpandDims rejects an int64 axis, Fill cannot use a shape holding the
//! symbolic batch, and Range panics on a float step. tract-core's `OneHot` wraps negative
//! indices and panics on indices past the depth, where TensorFlow gives an all-"off" row, so
//! ours compares indices with a range instead.

use tract_hir::internal::*;
use tract_hir::ops::array::TypedConcat;
use tract_tensorflow::model::{ParsingContext, TfOpRegister};
use tract_tensorflow::tfpb::tensorflow::NodeDef;

use super::support::{axis, dims, konst, to_rank};

pub fn register(reg: &mut TfOpRegister) {
    reg.insert("ExpandDims", |_, _| Ok(expand(ExpandDims)));
    reg.insert("Squeeze", squeeze);
    reg.insert("Pack", pack);
    reg.insert("Unpack", unpack);
    reg.insert("Fill", |_, _| Ok(expand(Fill)));
    reg.insert("BroadcastTo", |_, _| Ok(expand(BroadcastTo)));
    reg.insert("Size", size_or_rank);
    reg.insert("Rank", size_or_rank);
}

/// `ExpandDims(input, axis)`: a unit axis at `axis` of the output (so -1 appends).
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct ExpandDims;

impl Expansion for ExpandDims {
    fn name(&self) -> StaticName {
        "ExpandDims".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 2)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, &outputs[0].datum_type)?;
        s.equals(inputs[0].rank.bex() + 1, &outputs[0].rank)?;
        s.given_2(&inputs[0].shape, &inputs[1].value, move |s, shape, ax| {
            let ax = axis(ax.cast_to_scalar::<i64>()?, shape.len() + 1, "ExpandDims")?;
            let mut shape = shape.clone();
            shape.insert(ax, 1.to_dim());
            s.equals(&outputs[0].shape, shape)
        })
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let rank = model.outlet_fact(inputs[0])?.rank();
        let ax = konst(model, inputs[1], "ExpandDims", "axis")?;
        let ax = axis(ax.cast_to_scalar::<i64>()?, rank + 1, "ExpandDims")?;
        model.wire_node(prefix, AxisOp::Add(ax), &inputs[..1])
    }
}

fn squeeze(_: &ParsingContext, node: &NodeDef) -> TractResult<Box<dyn InferenceOp>> {
    let axes: Vec<i64> = node
        .get_attr_opt_list_int("squeeze_dims")?
        .unwrap_or_default();
    Ok(expand(Squeeze { axes }))
}

/// `Squeeze`: removes the listed unit axes (negative allowed), or every axis known to be 1
/// when none is listed.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Squeeze {
    axes: Vec<i64>,
}

impl Squeeze {
    fn resolve(&self, shape: &[TDim]) -> TractResult<Vec<usize>> {
        let mut axes: Vec<usize> = if self.axes.is_empty() {
            (0..shape.len()).filter(|&i| shape[i].is_one()).collect()
        } else {
            self.axes
                .iter()
                .map(|&a| axis(a, shape.len(), "Squeeze"))
                .collect::<TractResult<_>>()?
        };
        axes.sort();
        axes.dedup();
        for &a in &axes {
            ensure!(
                shape[a].is_one() || shape[a].as_i64().is_none(),
                "Squeeze: axis {a} of {shape:?} is not 1"
            );
        }
        Ok(axes)
    }
}

impl Expansion for Squeeze {
    fn name(&self) -> StaticName {
        "Squeeze".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, &outputs[0].datum_type)?;
        s.given(&inputs[0].shape, move |s, shape| {
            let axes = self.resolve(&shape)?;
            let out: TVec<TDim> = (0..shape.len())
                .filter(|i| !axes.contains(i))
                .map(|i| shape[i].clone())
                .collect();
            s.equals(&outputs[0].shape, out)
        })
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let shape = model.outlet_fact(inputs[0])?.shape.to_tvec();
        let mut wire = inputs[0];
        for a in self.resolve(&shape)?.into_iter().rev() {
            wire = model.wire_node(format!("{prefix}.rm-{a}"), AxisOp::Rm(a), &[wire])?[0];
        }
        Ok(tvec!(wire))
    }
}

fn pack(_: &ParsingContext, node: &NodeDef) -> TractResult<Box<dyn InferenceOp>> {
    let n = node.input.iter().filter(|i| !i.starts_with('^')).count();
    let axis: i64 = node.get_attr_opt_int("axis")?.unwrap_or(0);
    Ok(expand(Pack { n, axis }))
}

/// `Pack` (`tf.stack`): the inputs stacked along a new axis. Mixed int32/TDim inputs (a
/// batch size from `tf.shape` next to constants) take the common type.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Pack {
    n: usize,
    axis: i64,
}

impl Expansion for Pack {
    fn name(&self) -> StaticName {
        "Pack".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, self.n)?;
        check_output_arity(outputs, 1)?;
        s.equals_all(inputs.iter().map(|i| i.rank.bex()).collect())?;
        s.equals(inputs[0].rank.bex() + 1, &outputs[0].rank)?;
        s.given_all(inputs.iter().map(|i| &i.datum_type), move |s, dts| {
            let dt = DatumType::super_type_for(&dts).context("Pack: no common type")?;
            s.equals(&outputs[0].datum_type, dt)
        })?;
        s.given(&inputs[0].shape, move |s, shape| {
            let ax = axis(self.axis, shape.len() + 1, "Pack")?;
            let mut out = shape.clone();
            out.insert(ax, self.n.to_dim());
            s.equals(&outputs[0].shape, out)
        })
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let rank = model.outlet_fact(inputs[0])?.rank();
        let ax = axis(self.axis, rank + 1, "Pack")?;
        let dts = inputs
            .iter()
            .map(|&i| Ok(model.outlet_fact(i)?.datum_type))
            .collect::<TractResult<TVec<_>>>()?;
        let dt = DatumType::super_type_for(&dts).context("Pack: no common type")?;
        let wires = tract_core::ops::cast::wire_cast(prefix, model, inputs, dt)?;
        let mut stacked = tvec!();
        for (ix, w) in wires.into_iter().enumerate() {
            stacked.push(
                model.wire_node(format!("{prefix}.add-axis-{ix}"), AxisOp::Add(ax), &[w])?[0],
            );
        }
        model.wire_node(prefix, TypedConcat::new(ax), &stacked)
    }
}

fn unpack(_: &ParsingContext, node: &NodeDef) -> TractResult<Box<dyn InferenceOp>> {
    Ok(expand(Unpack {
        num: node.get_attr_int("num")?,
        axis: node.get_attr_opt_int("axis")?.unwrap_or(0),
    }))
}

/// `Unpack` (`tf.unstack`): `num` outputs, slices along `axis` with the axis removed.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Unpack {
    num: usize,
    axis: i64,
}

impl Expansion for Unpack {
    fn name(&self) -> StaticName {
        "Unpack".into()
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(self.num)
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, self.num)?;
        for output in outputs {
            s.equals(&inputs[0].datum_type, &output.datum_type)?;
        }
        s.given(&inputs[0].shape, move |s, shape| {
            let ax = axis(self.axis, shape.len(), "Unpack")?;
            let mut out = shape.clone();
            out.remove(ax);
            for output in outputs {
                s.equals(&output.shape, out.clone())?;
            }
            Ok(())
        })
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let rank = model.outlet_fact(inputs[0])?.rank();
        let ax = axis(self.axis, rank, "Unpack")?;
        (0..self.num)
            .map(|i| {
                let w = model.wire_node(
                    format!("{prefix}.slice-{i}"),
                    tract_core::ops::array::Slice::new(ax, i, i + 1),
                    &inputs[..1],
                )?;
                Ok(model.wire_node(format!("{prefix}.rm-{i}"), AxisOp::Rm(ax), &w)?[0])
            })
            .collect()
    }
}

/// `Fill(dims, value)`: `value` broadcast to `dims`, which may hold the symbolic batch.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Fill;

impl Expansion for Fill {
    fn name(&self) -> StaticName {
        "Fill".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 2)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[1].datum_type, &outputs[0].datum_type)?;
        s.equals(&inputs[0].rank, 1)?;
        s.given(&inputs[0].value, move |s, shape| {
            s.equals(&outputs[0].shape, dims(&shape)?)
        })
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let shape = dims(&*konst(model, inputs[0], "Fill", "dims")?)?;
        let value = to_rank(model, prefix, inputs[1], shape.len())?;
        model.wire_node(
            prefix,
            tract_core::ops::array::MultiBroadcastTo {
                shape: shape.into(),
            },
            &[value],
        )
    }
}

/// `BroadcastTo(input, shape)`: numpy broadcasting to a (possibly symbolic) shape.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct BroadcastTo;

impl Expansion for BroadcastTo {
    fn name(&self) -> StaticName {
        "BroadcastTo".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 2)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, &outputs[0].datum_type)?;
        s.given_2(
            &inputs[0].shape,
            &inputs[1].value,
            move |s, input, shape| {
                let shape = tract_core::broadcast::multi_broadcast(&[input, dims(&shape)?])?;
                s.equals(&outputs[0].shape, shape)
            },
        )
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let shape = dims(&*konst(model, inputs[1], "BroadcastTo", "shape")?)?;
        let input = model.outlet_fact(inputs[0])?.shape.to_tvec();
        let shape = tract_core::broadcast::multi_broadcast(&[input, shape])?;
        let value = to_rank(model, prefix, inputs[0], shape.len())?;
        model.wire_node(
            prefix,
            tract_core::ops::array::MultiBroadcastTo {
                shape: shape.into(),
            },
            &[value],
        )
    }
}

fn size_or_rank(_: &ParsingContext, node: &NodeDef) -> TractResult<Box<dyn InferenceOp>> {
    Ok(expand(SizeOrRank {
        size: node.op == "Size",
    }))
}

/// `Size` (element count) or `Rank` of the input: a scalar constant once the shape is known,
/// which may hold the symbolic batch.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct SizeOrRank {
    size: bool,
}

impl SizeOrRank {
    fn value(&self, shape: &[TDim]) -> Tensor {
        tensor0(if self.size {
            shape.iter().product()
        } else {
            shape.len().to_dim()
        })
    }
}

impl Expansion for SizeOrRank {
    fn name(&self) -> StaticName {
        if self.size { "Size" } else { "Rank" }.into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        // TDim like tract's Shape, so a size can still feed a Reshape; a returned value is
        // cast to `out_type` by the function's Identity.
        s.equals(&outputs[0].datum_type, TDim::datum_type())?;
        s.equals(&outputs[0].rank, 0)?;
        s.given(&inputs[0].shape, move |s, shape| {
            s.equals(&outputs[0].value, self.value(&shape).into_arc_tensor())
        })
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let shape = model.outlet_fact(inputs[0])?.shape.to_tvec();
        Ok(tvec!(model.add_const(prefix, self.value(&shape))?))
    }
}
