//! A team-owned f32 binary op with one constant scalar operand (`x * 0.5`, `x + 2`, `1 - x`),
//! swapped in for tract's `TypedBinOp` in small typed models before optimisation.
//!
//! tract gives a binary op its fast kernels (`OptBinByScalar`, `OptBinUnicast`) only from 32
//! elements on; below that every call takes its generic path: a symbolic-evaluation probe that
//! clones the inputs, a broadcast of both shapes, and ndarray views. For the three floats of a
//! `half_plus_two` request that is about 0.3 µs per op, over a hundred times the arithmetic
//! (docs/performance.md). Ours applies the scalar to the other operand in one loop, in place
//! when tract hands over the only reference to it (tract drops a value before running its last
//! consumer), else into a copy.
//!
//! Results are bit-identical to tract's: the same IEEE operation with the operands in the same
//! order (tract's f32 `Add`, `Sub`, `SubF`, `Mul` and `Div` are plain `+ - * /`). Only tensors
//! whose shape is known and under tract's 32-element threshold are taken: above it tract has
//! its own fast kernels and may fuse the op into a preceding matrix product.

use tract_core::ops::binary::TypedBinOp;
use tract_core::ops::math::{Add, Div, Mul, Sub, SubF};
use tract_hir::internal::*;

/// Below this many elements tract keeps a binary op on its generic path (tract-core's
/// `find_most_efficient_config`).
const TRACT_FAST_KERNEL_MIN_ELEMENTS: usize = 32;

/// The arithmetic, with the tensor on the left and the scalar on the right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Arith {
    Add,
    /// `tensor - scalar`
    Sub,
    /// `scalar - tensor`
    SubFrom,
    Mul,
    /// `tensor / scalar`
    Div,
    /// `scalar / tensor`
    DivInto,
}

/// `tensor ∘ scalar` (or `scalar ∘ tensor`) element by element, f32.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ScalarBinary {
    arith: Arith,
    /// The scalar's bits, so that the op is `Eq` and `Hash` as tract wants.
    scalar_bits: u32,
    /// Whether the constant was the binary op's left operand (kept for `Add`/`Mul` too, so
    /// the operands keep tract's order).
    scalar_on_left: bool,
}

impl ScalarBinary {
    /// Our op for `node` (a tract binary op), with the input it keeps, or `None` when we do
    /// not cover it.
    fn covering(model: &TypedModel, node: &TypedNode) -> TractResult<Option<(Self, OutletId)>> {
        let Some(op) = node.op_as::<TypedBinOp>() else {
            return Ok(None);
        };
        if op.1.is_some_and(|dt| dt != f32::datum_type()) || node.inputs.len() != 2 {
            return Ok(None);
        }
        let facts = [
            model.outlet_fact(node.inputs[0])?,
            model.outlet_fact(node.inputs[1])?,
        ];
        if facts.iter().any(|f| f.datum_type != f32::datum_type()) {
            return Ok(None);
        }
        let scalar_side = match (scalar_of(facts[0]), scalar_of(facts[1])) {
            (Some(_), None) => 0,
            (None, Some(_)) => 1,
            _ => return Ok(None),
        };
        let tensor_side = 1 - scalar_side;
        let output = &node.outputs[0].fact;
        let small = facts[tensor_side]
            .shape
            .as_concrete()
            .is_some_and(|s| s.iter().product::<usize>() < TRACT_FAST_KERNEL_MIN_ELEMENTS);
        if !small
            || output.shape != facts[tensor_side].shape
            || output.datum_type != f32::datum_type()
        {
            return Ok(None);
        }
        let scalar_on_left = scalar_side == 0;
        let mini = &op.0;
        let arith = if mini.is::<Add>() {
            Arith::Add
        } else if mini.is::<Mul>() {
            Arith::Mul
        } else if mini.is::<Sub>() {
            if scalar_on_left {
                Arith::SubFrom
            } else {
                Arith::Sub
            }
        } else if mini.is::<SubF>() {
            // SubF(a, b) = b - a.
            if scalar_on_left {
                Arith::Sub
            } else {
                Arith::SubFrom
            }
        } else if mini.is::<Div>() {
            if scalar_on_left {
                Arith::DivInto
            } else {
                Arith::Div
            }
        } else {
            return Ok(None);
        };
        let scalar = scalar_of(facts[scalar_side]).expect("checked above");
        let ours = ScalarBinary {
            arith,
            scalar_bits: scalar.to_bits(),
            scalar_on_left,
        };
        Ok(Some((ours, node.inputs[tensor_side])))
    }

    /// Applies the op to `values` in place. The operands stay in the graph's order even where
    /// the operation commutes: with two NaNs, x86 returns the first one's payload.
    #[allow(clippy::assign_op_pattern)]
    pub(crate) fn apply(&self, values: &mut [f32]) {
        let s = f32::from_bits(self.scalar_bits);
        let left = self.scalar_on_left;
        match self.arith {
            Arith::Add if left => values.iter_mut().for_each(|x| *x = s + *x),
            Arith::Add => values.iter_mut().for_each(|x| *x += s),
            Arith::Mul if left => values.iter_mut().for_each(|x| *x = s * *x),
            Arith::Mul => values.iter_mut().for_each(|x| *x *= s),
            Arith::Sub => values.iter_mut().for_each(|x| *x -= s),
            Arith::SubFrom => values.iter_mut().for_each(|x| *x = s - *x),
            Arith::Div => values.iter_mut().for_each(|x| *x /= s),
            Arith::DivInto => values.iter_mut().for_each(|x| *x = s / *x),
        }
    }
}

/// The value of a constant f32 operand with one element, whatever its rank.
fn scalar_of(fact: &TypedFact) -> Option<f32> {
    let konst = fact.konst.as_ref()?;
    if konst.len() != 1 || konst.datum_type() != f32::datum_type() {
        return None;
    }
    let plain = konst.try_as_plain_ram().ok()?;
    plain.as_slice::<f32>().ok().map(|s| s[0])
}

/// Replaces every tract binary op that [`ScalarBinary::covering`] accepts.
pub fn swap_scalar_binaries(model: &mut TypedModel) -> TractResult<()> {
    for id in model.eval_order()? {
        let node = &model.nodes()[id];
        if let Some((ours, input)) = ScalarBinary::covering(model, node)? {
            let patch = TypedModelPatch::replace_single_op(model, node, &[input], ours)?;
            patch.apply(model)?;
        }
    }
    Ok(())
}

impl Op for ScalarBinary {
    fn name(&self) -> StaticName {
        "ScalarBinary".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        let s = f32::from_bits(self.scalar_bits);
        Ok(vec![format!(
            "{:?} with {s} on the {}",
            self.arith,
            if self.scalar_on_left { "left" } else { "right" }
        )])
    }

    op_as_typed_op!();
}

impl EvalOp for ScalarBinary {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        // No copy when tract passed the last reference (see the module doc).
        let mut tensor = input.into_tensor();
        self.apply(tensor.try_as_plain_ram_mut()?.as_slice_mut::<f32>()?);
        Ok(tvec!(tensor.into_tvalue()))
    }
}

impl TypedOp for ScalarBinary {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(f32::fact(inputs[0].shape.clone())))
    }

    fn axes_mapping(
        &self,
        inputs: &[&TypedFact],
        outputs: &[&TypedFact],
    ) -> TractResult<AxesMapping> {
        AxesMapping::natural(inputs, outputs)
    }

    fn change_axes(
        &self,
        model: &TypedModel,
        node: &TypedNode,
        _io: InOut,
        change: &AxisOp,
    ) -> TractResult<Option<AxisChangeConsequence>> {
        // Element by element: any axis change passes through.
        Ok(Some(AxisChangeConsequence::new(model, node, None, change)))
    }

    as_op!();
}
