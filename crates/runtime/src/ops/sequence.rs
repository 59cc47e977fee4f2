//! Sequence ops: `Range`, `OneHot`, `Cumsum`.
//!
//! tract's Range panics on a float step; tract-core's `OneHot` wraps negative indices and
//! panics on indices past the depth, where TensorFlow gives an all-"off" row, so ours compares
//! indices with a range instead.

use tract_hir::internal::*;
use tract_tensorflow::model::{ParsingContext, TfOpRegister};
use tract_tensorflow::tfpb::tensorflow::NodeDef;

use super::support::{axis, ints, konst};

pub fn register(reg: &mut TfOpRegister) {
    reg.insert("Range", range);
    reg.insert("OneHot", one_hot);
    reg.insert("Cumsum", cumsum);
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
