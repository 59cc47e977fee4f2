//! Element-wise math and activations missing from tract-tensorflow, plus `Select`,
//! `ZerosLike` and `OnesLike`.
//!
//! Most are tract-core element-wise ops registered under their TF names. The compositions:
//! `Erfc` = 1 - erf (exact GELU is `0.5·x·erfc(-x/√2)` in TF), `SquaredDifference` =
//! (a - b)², `FloorDiv`/`FloorMod` (tract-tensorflow maps `FloorMod` to a truncating remainder,
//! wrong whenever the operands' signs differ), and TF1 `Select` whose rank-1 condition picks
//! whole rows.

use tract_core::ops::math;
use tract_hir::internal::*;
use tract_hir::ops::binary::InferenceBinOp;
use tract_tensorflow::model::{ParsingContext, TfOpRegister};
use tract_tensorflow::tfpb::tensorflow::NodeDef;

use super::support::{binary, scalar, to_rank};

pub fn register(reg: &mut TfOpRegister) {
    reg.insert("Exp", |_, _| Ok(math::exp().into_hir()));
    reg.insert("Sqrt", |_, _| Ok(math::sqrt().into_hir()));
    reg.insert("Square", |_, _| Ok(math::square().into_hir()));
    reg.insert("Floor", |_, _| Ok(math::floor().into_hir()));
    // TensorFlow rounds half to even.
    reg.insert("Round", |_, _| Ok(math::round_half_to_even().into_hir()));
    reg.insert("Sin", |_, _| Ok(math::sin().into_hir()));
    reg.insert("Cos", |_, _| Ok(math::cos().into_hir()));
    reg.insert("Erf", |_, _| Ok(math::erf().into_hir()));
    reg.insert("Erfc", |_, _| Ok(expand(Erfc)));
    reg.insert("Sign", |_, _| Ok(math::sign().into_hir()));
    reg.insert("Reciprocal", |_, _| Ok(math::recip().into_hir()));
    reg.insert("Inv", |_, _| Ok(math::recip().into_hir()));
    reg.insert("SquaredDifference", |_, _| Ok(expand(SquaredDifference)));
    reg.insert("FloorDiv", |_, _| Ok(expand(Floored { div: true })));
    reg.insert("FloorMod", |_, _| Ok(expand(Floored { div: false })));

    use tract_hir::ops::activations as act;
    reg.insert("Elu", |_, _| Ok(expand(act::Elu(1.0))));
    reg.insert("Selu", |_, _| Ok(expand(act::Selu(1.673_263_2, 1.050_701))));
    reg.insert("Softplus", |_, _| Ok(expand(act::Softplus)));
    reg.insert("Softsign", |_, _| Ok(expand(act::Softsign)));
    reg.insert("LeakyRelu", leaky_relu);

    reg.insert("SelectV2", |_, _| Ok(expand(tract_hir::ops::logic::Iff)));
    reg.insert("Select", |_, _| Ok(expand(Select)));
    reg.insert("ZerosLike", |_, _| Ok(expand(FilledLike(0.0))));
    reg.insert("OnesLike", |_, _| Ok(expand(FilledLike(1.0))));
}

fn leaky_relu(_: &ParsingContext, node: &NodeDef) -> TractResult<Box<dyn InferenceOp>> {
    let alpha: f32 = node.get_attr_opt_float("alpha")?.unwrap_or(0.2);
    Ok(expand(tract_hir::ops::activations::LeakyRelu(alpha)))
}

/// Rules of a shape- and type-preserving unary op.
fn unary_rules<'r, 'p: 'r>(
    s: &mut Solver<'r>,
    inputs: &'p [TensorProxy],
    outputs: &'p [TensorProxy],
) -> InferenceResult {
    check_input_arity(inputs, 1)?;
    check_output_arity(outputs, 1)?;
    s.equals(&inputs[0].datum_type, &outputs[0].datum_type)?;
    s.equals(&inputs[0].shape, &outputs[0].shape)
}

/// `erfc(x) = 1 - erf(x)`. The cancellation for large x costs relative precision only where
/// erfc is below ~1e-7, far inside the absolute tolerance of float32 inference.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Erfc;

impl Expansion for Erfc {
    fn name(&self) -> StaticName {
        "Erfc".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        unary_rules(s, inputs, outputs)
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let dt = model.outlet_fact(inputs[0])?.datum_type;
        let erf = model.wire_node(format!("{prefix}.erf"), math::erf(), &[inputs[0]])?[0];
        let one = scalar(model, &format!("{prefix}.one"), 1.0, dt)?;
        Ok(tvec!(binary(model, prefix, math::sub(), one, erf)?))
    }
}

/// `(a - b)²` with broadcasting.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct SquaredDifference;

impl Expansion for SquaredDifference {
    fn name(&self) -> StaticName {
        "SquaredDifference".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        tract_hir::ops::binary::rules(s, inputs, outputs, |a, b| {
            a.common_super_type(b)
                .with_context(|| format!("no common type for {a:?} and {b:?}"))
        })
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let diff =
            InferenceBinOp(Box::new(math::Sub)).wire(&format!("{prefix}.sub"), model, inputs)?;
        let dt = model.outlet_fact(diff[0])?.datum_type;
        if dt.is_float() {
            model.wire_node(prefix, math::square(), &diff)
        } else {
            // tract's Square is float-only; integer squares are plain products.
            Ok(tvec!(binary(model, prefix, math::mul(), diff[0], diff[0])?))
        }
    }
}

/// Floored division and modulo (Python's `//` and `%`): the quotient rounds toward -inf and
/// the remainder takes the divisor's sign.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Floored {
    div: bool,
}

impl Expansion for Floored {
    fn name(&self) -> StaticName {
        if self.div { "FloorDiv" } else { "FloorMod" }.into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        tract_hir::ops::binary::rules(s, inputs, outputs, |a, b| {
            a.common_super_type(b)
                .with_context(|| format!("no common type for {a:?} and {b:?}"))
        })
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        use tract_core::ops::binary::TypedBinOp;
        use tract_core::ops::logic;
        let (a, b) = (inputs[0], inputs[1]);
        let dt = model.outlet_fact(a)?.datum_type;
        if self.div && dt.is_float() {
            let q = binary(model, &format!("{prefix}.div"), math::div(), a, b)?;
            return model.wire_node(prefix, math::floor(), &[q]);
        }
        // As TF computes them: the truncated quotient and remainder (fmod for floats),
        // stepped once toward -inf when the remainder is non-zero and its sign differs
        // from the divisor's.
        let r = binary(model, &format!("{prefix}.rem"), math::rem(), a, b)?;
        let zero = scalar(model, &format!("{prefix}.zero"), 0.0, dt)?;
        let cmp = |op| TypedBinOp(op, None);
        let r_nonzero = binary(
            model,
            &format!("{prefix}.r_nz"),
            cmp(logic::comp_ne()),
            r,
            zero,
        )?;
        let r_neg = binary(
            model,
            &format!("{prefix}.r_neg"),
            cmp(logic::comp_lt()),
            r,
            zero,
        )?;
        let b_neg = binary(
            model,
            &format!("{prefix}.b_neg"),
            cmp(logic::comp_lt()),
            b,
            zero,
        )?;
        let signs = binary(
            model,
            &format!("{prefix}.signs"),
            logic::xor(),
            r_neg,
            b_neg,
        )?;
        let fix = binary(
            model,
            &format!("{prefix}.fix"),
            logic::and(),
            r_nonzero,
            signs,
        )?;
        let (plain, fixed) = if self.div {
            let q = binary(model, &format!("{prefix}.quot"), math::div(), a, b)?;
            let one = scalar(model, &format!("{prefix}.one"), 1.0, dt)?;
            (
                q,
                binary(model, &format!("{prefix}.q_minus"), math::sub(), q, one)?,
            )
        } else {
            (
                r,
                binary(model, &format!("{prefix}.r_plus"), math::add(), r, b)?,
            )
        };
        tract_hir::ops::logic::wire_with_rank_broadcast(
            prefix,
            model,
            logic::Iff,
            &[fix, fixed, plain],
        )
    }
}

/// TF1 `Select(cond, t, e)`: `cond` has the shape of `t` and `e`, or is a vector that picks
/// whole rows along the first axis (unlike numpy broadcasting, which would align it with the
/// last axis).
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Select;

impl Expansion for Select {
    fn name(&self) -> StaticName {
        "Select".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 3)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, bool::datum_type())?;
        s.equals(&inputs[1].datum_type, &outputs[0].datum_type)?;
        s.equals(&inputs[2].datum_type, &outputs[0].datum_type)?;
        s.equals(&inputs[1].shape, &outputs[0].shape)?;
        s.equals(&inputs[2].shape, &outputs[0].shape)
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let rank = model.outlet_fact(inputs[1])?.rank();
        let mut cond = inputs[0];
        if model.outlet_fact(cond)?.rank() == 1 && rank > 1 {
            for axis in 1..rank {
                cond =
                    model.wire_node(format!("{prefix}.rows-{axis}"), AxisOp::Add(axis), &[cond])?
                        [0];
            }
        }
        tract_hir::ops::logic::wire_with_rank_broadcast(
            prefix,
            model,
            tract_core::ops::logic::Iff,
            &[cond, inputs[1], inputs[2]],
        )
    }
}

/// `ZerosLike` / `OnesLike`: the constant broadcast to the input's (possibly symbolic) shape.
/// Not `x * 0`, which would turn inf and NaN into NaN.
#[derive(Debug, Clone)]
struct FilledLike(f64);

impl Expansion for FilledLike {
    fn name(&self) -> StaticName {
        if self.0 == 0.0 {
            "ZerosLike"
        } else {
            "OnesLike"
        }
        .into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        unary_rules(s, inputs, outputs)
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let fact = model.outlet_fact(inputs[0])?.clone();
        let value = scalar(model, &format!("{prefix}.value"), self.0, fact.datum_type)?;
        let value = to_rank(model, prefix, value, fact.rank())?;
        model.wire_node(
            prefix,
            tract_core::ops::array::MultiBroadcastTo {
                shape: fact.shape.clone(),
            },
            &[value],
        )
    }
}
