//! [`ScalarChain`]: a plan that is nothing but a chain of team-owned scalar ops
//! ([`ScalarBinary`]) on its one input, run straight on the request's own values.
//!
//! Such a plan (`half_plus_two` is `Source → ×0.5 → +2`) spends almost all of a tract run on
//! the run, not the arithmetic: converting the request tensor to tract's aligned tensor, the
//! run state's value vectors, the ops' input and output vectors, and converting the answer
//! back — about 7k instructions around a dozen floating-point operations (docs/performance.md,
//! "REST hot path, fourth pass"). When the optimised plan is exactly such a chain, the same ops
//! are applied in the same order to the request's `Vec<f32>` in place, which is what tract
//! would compute (each op is the same IEEE operation either way), without building anything.
//!
//! Anything else — another op anywhere in the plan, more inputs or outputs, an input that is
//! not f32 — keeps tract's run, so a request this path does not cover gets tract's answer and
//! tract's errors.

use tract_hir::internal::*;

use crate::ops::scalar_binary::ScalarBinary;

/// The ops of a plan that is a chain of [`ScalarBinary`] from its input to its output, in
/// the order they run.
#[derive(Debug, Clone)]
pub struct ScalarChain {
    ops: Vec<ScalarBinary>,
}

impl ScalarChain {
    /// The chain `model` is, or `None` when it is anything more: every node other than the
    /// single f32 source must be a [`ScalarBinary`] fed by the node before it, and the one
    /// output must be the last of them.
    pub fn of(model: &TypedModel) -> Option<ScalarChain> {
        let (&[input], &[output]) = (model.input_outlets().ok()?, model.output_outlets().ok()?)
        else {
            return None;
        };
        if model.outlet_fact(input).ok()?.datum_type != f32::datum_type() || output.slot != 0 {
            return None;
        }
        let mut ops = Vec::new();
        let mut outlet = output;
        while outlet != input {
            let node = model.node(outlet.node);
            let op = node.op_as::<ScalarBinary>()?;
            let [previous] = node.inputs[..] else {
                return None;
            };
            ops.push(op.clone());
            outlet = previous;
        }
        // Nothing else may run: no other node, so no side effect or second consumer is skipped.
        if ops.is_empty() || model.nodes().len() != ops.len() + 1 {
            return None;
        }
        ops.reverse();
        Some(ScalarChain { ops })
    }

    /// Applies the chain to `values`, in place.
    pub fn apply(&self, values: &mut [f32]) {
        for op in &self.ops {
            op.apply(values);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_core::ops::math;

    /// A tract binary op's constructor (`math::mul`).
    type MakeOp = fn() -> tract_core::ops::binary::TypedBinOp;

    /// `x ∘ c` for each `(op, c)` in turn, as tract would build it, swapped and optimised as
    /// the runtime does.
    fn chain_model(steps: &[(MakeOp, f32)]) -> TypedModel {
        let mut model = TypedModel::default();
        let mut x = model.add_source("x", f32::fact([3])).expect("source");
        for (i, (op, c)) in steps.iter().enumerate() {
            let c = model
                .add_const(format!("c{i}"), tensor1(&[*c]))
                .expect("const");
            x = model
                .wire_node(format!("op{i}"), op(), &[x, c])
                .expect("op")[0];
        }
        model.select_output_outlets(&[x]).expect("outputs");
        crate::ops::scalar_binary::swap_scalar_binaries(&mut model).expect("swap");
        model.into_optimized().expect("optimize")
    }

    fn tract_answer(model: &TypedModel, x: &[f32]) -> Vec<f32> {
        let plan = TypedSimplePlan::new(model.clone()).expect("plan");
        let out = plan.run(tvec!(tensor1(x).into())).expect("run");
        out[0]
            .try_as_plain_ram()
            .and_then(|p| p.as_slice::<f32>().map(|s| s.to_vec()))
            .expect("f32 values")
    }

    #[test]
    fn a_chain_gives_tracts_bits() {
        let model = chain_model(&[(math::mul, 0.5), (math::add, 2.0), (math::div, 3.0)]);
        let chain = ScalarChain::of(&model).expect("a chain");
        assert_eq!(chain.ops.len(), 3);
        for x in [
            [1.0f32, 2.0, 5.0],
            [-0.0, f32::NAN, f32::INFINITY],
            [1e-40, 3e38, 0.1],
        ] {
            let mut ours = x.to_vec();
            chain.apply(&mut ours);
            let theirs = tract_answer(&model, &x);
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&ours), bits(&theirs), "input {x:?}");
        }
    }

    #[test]
    fn order_matters_and_is_kept() {
        let model = chain_model(&[(math::add, 2.0), (math::mul, 0.5)]);
        let chain = ScalarChain::of(&model).expect("a chain");
        let mut v = vec![1.0f32, 2.0, 5.0];
        chain.apply(&mut v);
        assert_eq!(v, vec![1.5, 2.0, 3.5]);
    }

    #[test]
    fn a_plan_with_any_other_op_is_not_a_chain() {
        let mut model = TypedModel::default();
        let x = model.add_source("x", f32::fact([3])).expect("source");
        let half = model.add_const("half", tensor1(&[0.5f32])).expect("const");
        let y = model
            .wire_node("mul", math::mul(), &[x, half])
            .expect("mul")[0];
        let z = model
            .wire_node("relu", math::max(), &[y, half])
            .expect("max")[0];
        model.select_output_outlets(&[z]).expect("outputs");
        crate::ops::scalar_binary::swap_scalar_binaries(&mut model).expect("swap");
        let model = model.into_optimized().expect("optimize");
        assert!(ScalarChain::of(&model).is_none());
    }

    #[test]
    fn an_identity_plan_or_an_integer_input_is_not_a_chain() {
        let mut model = TypedModel::default();
        let x = model.add_source("x", f32::fact([3])).expect("source");
        model.select_output_outlets(&[x]).expect("outputs");
        assert!(ScalarChain::of(&model).is_none());

        let mut model = TypedModel::default();
        let x = model.add_source("x", i32::fact([3])).expect("source");
        model.select_output_outlets(&[x]).expect("outputs");
        assert!(ScalarChain::of(&model).is_none());
    }
}
