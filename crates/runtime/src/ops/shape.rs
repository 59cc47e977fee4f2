//! Shape and array construction ops: `ExpandDims`, `Squeeze`, `Pack`, `Unpack`, `Fill`,
//! `BroadcastTo`, `Range`, `OneHot`, `Cumsum`, `Size`, `Rank`.
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

use super::support::{axis, dims, ints, konst, to_rank};

pub fn register(reg: &mut TfOpRegister) {
    reg.insert("ExpandDims", |_, _| Ok(expand(ExpandDims)));
    reg.insert("Squeeze", squeeze);
    reg.insert("Pack", pack);
    reg.insert("Unpack", unpack);
    reg.insert("Fill", |_, _| Ok(expand(Fill)));
    reg.insert("BroadcastTo", |_, _| Ok(expand(BroadcastTo)));
    reg.insert("Size", size_or_rank);
    reg.insert("Rank", size_or_rank);
    reg.insert("Range", range);
    reg.insert("OneHot", one_hot);
    reg.insert("Cumsum", cumsum);
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

fn range(_: &ParsingContext, node: &NodeDef) -> TractResult<Box<dyn InferenceOp>> {
    let output = node
        .get_attr_opt_datum_type("Tidx")?
        .unwrap_or(i32::datum_type());
    Ok(expand(Range { output }))
}

/// `Range(start, limit, delta)`, typed `Tidx`. Bounds from `tf.shape` arrive as TDim; the
/// length is computed symbolically when they are symbolic (`tf.range(tf.shape(x)[0])`).
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Range {
    output: DatumType,
}

impl Range {
    /// The number of elements, if the bounds say.
    fn len(start: &Tensor, limit: &Tensor, delta: &Tensor) -> TractResult<TDim> {
        if [start, limit, delta]
            .iter()
            .any(|t| t.datum_type().is_float())
        {
            let f = |t: &Tensor| t.cast_to_scalar::<f64>();
            let (start, limit, delta) = (f(start)?, f(limit)?, f(delta)?);
            ensure!(delta != 0.0, "Range: delta is zero");
            return Ok((((limit - start) / delta).ceil().max(0.0) as i64).to_dim());
        }
        let d = |t: &Tensor| -> TractResult<TDim> {
            Ok(t.cast_to::<TDim>()?
                .try_as_plain_ram()?
                .to_scalar::<TDim>()?
                .clone())
        };
        let (start, limit, delta) = (d(start)?, d(limit)?, d(delta)?);
        let delta = delta
            .as_i64()
            .context("Range: delta must be a known integer")?;
        ensure!(delta != 0, "Range: delta is zero");
        let span = limit - start;
        Ok(match span.as_i64() {
            Some(span) => ((span + delta - delta.signum()) / delta).max(0).to_dim(),
            None if delta > 0 => span.divceil(delta as usize),
            None => bail!("Range: a symbolic bound needs a positive delta"),
        })
    }
}

impl Range {
    /// The whole range, when the bounds are concrete.
    fn values(&self, start: &Tensor, limit: &Tensor, delta: &Tensor) -> TractResult<Tensor> {
        let len = Self::len(start, limit, delta)?.to_usize()?;
        let values: Tensor = if self.output.is_float() {
            let (a, c) = (
                start.cast_to_scalar::<f64>()?,
                delta.cast_to_scalar::<f64>()?,
            );
            tensor1(&(0..len).map(|i| a + c * i as f64).collect::<Vec<_>>())
        } else {
            let (a, c) = (
                start.cast_to_scalar::<i64>()?,
                delta.cast_to_scalar::<i64>()?,
            );
            tensor1(&(0..len).map(|i| a + c * i as i64).collect::<Vec<_>>())
        };
        Ok(values.cast_to_dt(self.output)?.into_owned())
    }
}

impl Expansion for Range {
    fn name(&self) -> StaticName {
        "Range".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 3)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, self.output)?;
        s.equals(&outputs[0].rank, 1)?;
        s.given_3(
            &inputs[0].value,
            &inputs[1].value,
            &inputs[2].value,
            move |s, a, b, c| s.equals(&outputs[0].shape[0], Self::len(&a, &b, &c)?),
        )
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let facts = inputs
            .iter()
            .map(|&i| model.outlet_fact(i).cloned())
            .collect::<TractResult<TVec<_>>>()?;
        // All bounds known and concrete: build the tensor now.
        if let [Some(a), Some(b), Some(c)] = [&facts[0].konst, &facts[1].konst, &facts[2].konst]
            && let Ok(values) = self.values(a, b, c)
        {
            return Ok(tvec!(model.add_const(prefix, values)?));
        }
        let len = match [&facts[0].konst, &facts[1].konst, &facts[2].konst] {
            [Some(a), Some(b), Some(c)] => Self::len(a, b, c)?,
            _ => model.symbols.new_with_prefix("range").into(),
        };
        let dts: TVec<DatumType> = facts.iter().map(|f| f.datum_type).collect();
        let dt = DatumType::super_type_for(&dts).context("Range: no common type")?;
        let wires = tract_core::ops::cast::wire_cast(prefix, model, inputs, dt)?;
        let range = model.wire_node(
            format!("{prefix}.range"),
            tract_core::ops::array::Range::new(len),
            &wires,
        )?;
        model.wire_node(prefix, tract_core::ops::cast::cast(self.output), &range)
    }
}

fn one_hot(_: &ParsingContext, node: &NodeDef) -> TractResult<Box<dyn InferenceOp>> {
    Ok(expand(OneHot {
        axis: node.get_attr_opt_int("axis")?.unwrap_or(-1),
    }))
}

/// `OneHot(indices, depth, on_value, off_value)`: `on` where the index equals the position
/// along the new axis, `off` elsewhere (so negative or too-large indices give all `off`).
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct OneHot {
    axis: i64,
}

impl Expansion for OneHot {
    fn name(&self) -> StaticName {
        "OneHot".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 4)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[2].datum_type, &outputs[0].datum_type)?;
        s.equals(&inputs[3].datum_type, &outputs[0].datum_type)?;
        s.given_2(
            &inputs[0].shape,
            &inputs[1].value,
            move |s, shape, depth| {
                let ax = axis(self.axis, shape.len() + 1, "OneHot")?;
                let mut out = shape.clone();
                out.insert(ax, depth.cast_to_scalar::<i64>()?.to_dim());
                s.equals(&outputs[0].shape, out)
            },
        )
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let fact = model.outlet_fact(inputs[0])?.clone();
        let out_rank = fact.rank() + 1;
        let ax = axis(self.axis, out_rank, "OneHot")?;
        let depth = konst(model, inputs[1], "OneHot", "depth")?.cast_to_scalar::<i64>()?;
        // positions 0..depth laid along `ax` of the output, unit axes after it
        let mut shape = vec![depth as usize];
        shape.extend(std::iter::repeat_n(1, out_rank - 1 - ax));
        let positions = tensor1(&(0..depth).collect::<Vec<i64>>())
            .into_shape(&shape)?
            .cast_to_dt(fact.datum_type)?
            .into_owned();
        let positions = model.add_const(format!("{prefix}.positions"), positions)?;
        let indices =
            model.wire_node(format!("{prefix}.indices"), AxisOp::Add(ax), &inputs[..1])?[0];
        let hot = super::support::binary(
            model,
            &format!("{prefix}.eq"),
            tract_core::ops::binary::TypedBinOp(tract_core::ops::logic::comp_eq(), None),
            indices,
            positions,
        )?;
        tract_hir::ops::logic::wire_with_rank_broadcast(
            prefix,
            model,
            tract_core::ops::logic::Iff,
            &[hot, inputs[2], inputs[3]],
        )
    }
}

fn cumsum(_: &ParsingContext, node: &NodeDef) -> TractResult<Box<dyn InferenceOp>> {
    Ok(expand(Cumsum {
        exclusive: node.get_attr_opt_bool("exclusive")?.unwrap_or(false),
        reverse: node.get_attr_opt_bool("reverse")?.unwrap_or(false),
    }))
}

/// `Cumsum(x, axis)` with TF's `exclusive` and `reverse`.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Cumsum {
    exclusive: bool,
    reverse: bool,
}

impl Expansion for Cumsum {
    fn name(&self) -> StaticName {
        "Cumsum".into()
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
        s.equals(&inputs[0].shape, &outputs[0].shape)?;
        s.equals(&inputs[1].rank, 0)
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let rank = model.outlet_fact(inputs[0])?.rank();
        let ax = konst(model, inputs[1], "Cumsum", "axis")?;
        let ax = axis(ints(&ax)?[0], rank, "Cumsum")?;
        model.wire_node(
            prefix,
            tract_core::ops::array::CumSum {
                axis: ax,
                exclusive: self.exclusive,
                reverse: self.reverse,
            },
            &inputs[..1],
        )
    }
}
