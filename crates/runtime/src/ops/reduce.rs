//! Reductions: `Mean`, `Sum`, `Max`, `Min`, `Prod`, `All`, `Any`, `ArgMax`, `ArgMin`.
//!
//! tract-tensorflow's reduce builder resolves axis 0 as `0 + rank` in its shape rules (so a
//! reduction over the batch axis inferred the wrong output shape) and has no `All`/`Any`/`Arg*`.
//! The axes operand may be a scalar or a vector, negative, in any order; `keep_dims` keeps the
//! reduced axes as size 1. `ArgMax`/`ArgMin` return the first extreme index, typed by
//! `output_type` (int64 by default).

use tract_core::ops::nn::{Reduce as CoreReduce, Reducer as CoreReducer};
use tract_hir::internal::*;
use tract_hir::ops::nn::Reducer;
use tract_tensorflow::model::{ParsingContext, TfOpRegister};
use tract_tensorflow::tfpb::tensorflow::NodeDef;

use super::support::{axis, ints, konst};

pub fn register(reg: &mut TfOpRegister) {
    reg.insert("Mean", |_, n| reduce(n, Kind::Hir(Reducer::Mean)));
    reg.insert("Sum", |_, n| reduce(n, Kind::Hir(Reducer::Sum)));
    reg.insert("Max", |_, n| reduce(n, Kind::Hir(Reducer::Max)));
    reg.insert("Min", |_, n| reduce(n, Kind::Hir(Reducer::Min)));
    reg.insert("Prod", |_, n| reduce(n, Kind::Hir(Reducer::Prod)));
    reg.insert("All", |_, n| reduce(n, Kind::Bool(CoreReducer::All)));
    reg.insert("Any", |_, n| reduce(n, Kind::Bool(CoreReducer::Any)));
    reg.insert("ArgMax", arg);
    reg.insert("ArgMin", arg);
}

#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
enum Kind {
    /// Numeric reductions, wired by tract-hir (which also handles Mean's division).
    Hir(Reducer),
    /// Logical reductions on bool tensors.
    Bool(CoreReducer),
}

fn reduce(node: &NodeDef, kind: Kind) -> TractResult<Box<dyn InferenceOp>> {
    let keep_dims = node.get_attr_opt_bool("keep_dims")?.unwrap_or(false);
    Ok(expand(Reduce { kind, keep_dims }))
}

/// The sorted, deduplicated reduction axes.
fn resolve(axes: &Tensor, rank: usize, op: &str) -> TractResult<Vec<usize>> {
    let mut axes = ints(axes)?
        .into_iter()
        .map(|a| axis(a, rank, op))
        .collect::<TractResult<Vec<_>>>()?;
    axes.sort();
    axes.dedup();
    Ok(axes)
}

fn reduced_shape(shape: &[TDim], axes: &[usize], keep_dims: bool) -> TVec<TDim> {
    shape
        .iter()
        .enumerate()
        .filter_map(|(ix, d)| match (axes.contains(&ix), keep_dims) {
            (false, _) => Some(d.clone()),
            (true, true) => Some(1.to_dim()),
            (true, false) => None,
        })
        .collect()
}

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Reduce {
    kind: Kind,
    keep_dims: bool,
}

impl Reduce {
    /// `Sum`/`Prod` of a constant TDim tensor (`tf.reduce_prod(tf.shape(x)[1:])`, as
    /// `tf.tensordot` in Keras' Dense does), computed symbolically. tract's reduction goes
    /// through i64, which cannot hold the symbolic batch, and the Reshape it feeds would no
    /// longer see a constant shape.
    fn fold_dims(&self, fact: &TypedFact, axes: &[usize]) -> TractResult<Option<Tensor>> {
        let Some(konst) = fact.konst.as_ref().filter(|k| k.datum_type().is_tdim()) else {
            return Ok(None);
        };
        let product = match self.kind {
            Kind::Hir(Reducer::Prod) => true,
            Kind::Hir(Reducer::Sum) => false,
            _ => return Ok(None),
        };
        let mut array = konst.to_plain_array_view::<TDim>()?.to_owned();
        for &ax in axes.iter().rev() {
            let init = if product { 1.to_dim() } else { 0.to_dim() };
            array = array.fold_axis(tract_ndarray::Axis(ax), init, |acc, d| {
                if product {
                    acc.clone() * d
                } else {
                    acc.clone() + d
                }
            });
            if self.keep_dims {
                array.insert_axis_inplace(tract_ndarray::Axis(ax));
            }
        }
        Ok(Some(array.into_tensor()))
    }
}

impl Expansion for Reduce {
    fn name(&self) -> StaticName {
        format!("Reduce<{:?}>", self.kind).into()
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
        if self.keep_dims {
            s.equals(&inputs[0].rank, &outputs[0].rank)?;
        }
        s.given_2(&inputs[0].shape, &inputs[1].value, move |s, shape, axes| {
            let axes = resolve(&axes, shape.len(), "reduction")?;
            s.equals(
                &outputs[0].shape,
                reduced_shape(&shape, &axes, self.keep_dims),
            )
        })
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let rank = model.outlet_fact(inputs[0])?.rank();
        let axes = resolve(&*konst(model, inputs[1], prefix, "axes")?, rank, prefix)?;
        if axes.is_empty() {
            // TF reduces over nothing: the input unchanged.
            return Ok(tvec!(inputs[0]));
        }
        if let Some(folded) = self.fold_dims(model.outlet_fact(inputs[0])?, &axes)? {
            return Ok(tvec!(model.add_const(prefix, folded)?));
        }
        match self.kind {
            Kind::Hir(reducer) => {
                let axes = axes.iter().map(|&a| a as i64).collect();
                tract_hir::ops::nn::Reduce::new(Some(axes), self.keep_dims, reducer).wire(
                    prefix,
                    model,
                    &inputs[..1],
                )
            }
            Kind::Bool(reducer) => {
                let mut wire = model.wire_node(
                    format!("{prefix}.reduce"),
                    CoreReduce::new(axes.iter().copied().collect(), reducer),
                    &inputs[..1],
                )?[0];
                if !self.keep_dims {
                    for &ax in axes.iter().rev() {
                        wire = model.wire_node(
                            format!("{prefix}.rm-{ax}"),
                            AxisOp::Rm(ax),
                            &[wire],
                        )?[0];
                    }
                }
                Ok(tvec!(wire))
            }
        }
    }
}

fn arg(_: &ParsingContext, node: &NodeDef) -> TractResult<Box<dyn InferenceOp>> {
    let output_type = node
        .get_attr_opt_datum_type("output_type")?
        .unwrap_or(i64::datum_type());
    let max = node.op == "ArgMax";
    Ok(expand(Arg { max, output_type }))
}

/// `ArgMax`/`ArgMin(input, dimension)`: the index of the first extreme value, axis removed.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Arg {
    max: bool,
    output_type: DatumType,
}

impl Expansion for Arg {
    fn name(&self) -> StaticName {
        if self.max { "ArgMax" } else { "ArgMin" }.into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 2)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, self.output_type)?;
        s.equals(&inputs[1].rank, 0)?;
        s.given_2(&inputs[0].shape, &inputs[1].value, move |s, shape, dim| {
            let axes = resolve(&dim, shape.len(), "ArgMax/ArgMin")?;
            s.equals(&outputs[0].shape, reduced_shape(&shape, &axes, false))
        })
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let rank = model.outlet_fact(inputs[0])?.rank();
        let dim = konst(model, inputs[1], prefix, "dimension")?;
        let ax = axis(dim.cast_to_scalar::<i64>()?, rank, prefix)?;
        // false: on ties take the first index, as TensorFlow does
        let reducer = if self.max {
            CoreReducer::ArgMax(false)
        } else {
            CoreReducer::ArgMin(false)
        };
        let wire = model.wire_node(
            format!("{prefix}.reduce"),
            CoreReduce::new(tvec!(ax), reducer),
            &inputs[..1],
        )?;
        let wire = model.wire_node(format!("{prefix}.rm"), AxisOp::Rm(ax), &wire)?;
        model.wire_node(prefix, tract_core::ops::cast::cast(self.output_type), &wire)
    }
}
