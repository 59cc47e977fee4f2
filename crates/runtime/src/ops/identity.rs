//! Pass-through ops: `Identity`, `StopGradient`, `Snapshot`, `PreventGradient`, `IdentityN`.
//!
//! They also restore the element type TensorFlow declares (attr `T`). tract computes shapes as
//! `TDim` (symbolic dimensions) so that `Shape → StridedSlice → Pack → Reshape` chains stay
//! plannable with a symbolic batch, and a `Range` over such values yields i64; TensorFlow says
//! int32. Every value a TF2 function returns goes through an `Identity`, so casting there to `T`
//! gives clients TensorFlow's dtype without losing the symbolic shapes inside the graph.

use tract_hir::internal::*;
use tract_tensorflow::model::ParsingContext;
use tract_tensorflow::tfpb::tensorflow::{DataType, NodeDef, attr_value};

pub fn identity(_: &ParsingContext, node: &NodeDef) -> TractResult<Box<dyn InferenceOp>> {
    let types = match node.get_attr_opt_datum_type("T") {
        Ok(Some(dt)) => vec![Some(dt)],
        _ => vec![None],
    };
    Ok(expand(TypedIdentity { types }))
}

pub fn identity_n(_: &ParsingContext, node: &NodeDef) -> TractResult<Box<dyn InferenceOp>> {
    let types: Vec<Option<DatumType>> = match node.attr.get("T").and_then(|a| a.value.as_ref()) {
        Some(attr_value::Value::List(list)) => list
            .r#type
            .iter()
            .map(|&t| {
                DataType::try_from(t)
                    .ok()
                    .and_then(|t| DatumType::try_from(t).ok())
            })
            .collect(),
        _ => vec![None; node.input.iter().filter(|i| !i.starts_with('^')).count()],
    };
    Ok(expand(TypedIdentity { types }))
}

/// Forwards each input, cast to its declared type when tract computed it differently.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct TypedIdentity {
    types: Vec<Option<DatumType>>,
}

impl TypedIdentity {
    /// The type to cast to, if any: only numeric retyping (TDim/i64 → int32 and the like);
    /// strings, bools and quantized types pass through.
    fn target(declared: Option<DatumType>, actual: DatumType) -> Option<DatumType> {
        let declared = declared?;
        let numeric = |dt: DatumType| dt.is_number() || dt.is_tdim();
        (declared != actual && numeric(declared) && numeric(actual)).then_some(declared)
    }
}

impl Expansion for TypedIdentity {
    fn name(&self) -> StaticName {
        "TypedIdentity".into()
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(self.types.len())
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, self.types.len())?;
        check_output_arity(outputs, self.types.len())?;
        for (ix, declared) in self.types.iter().enumerate() {
            s.equals(&inputs[ix].shape, &outputs[ix].shape)?;
            match declared {
                Some(dt) => s.given(&inputs[ix].datum_type, move |s, actual| {
                    let out = Self::target(Some(*dt), actual).unwrap_or(actual);
                    s.equals(&outputs[ix].datum_type, out)
                })?,
                None => s.equals(&inputs[ix].datum_type, &outputs[ix].datum_type)?,
            }
        }
        Ok(())
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let mut outputs = tvec!();
        for (ix, (&input, declared)) in inputs.iter().zip(&self.types).enumerate() {
            let actual = model.outlet_fact(input)?.datum_type;
            outputs.push(match Self::target(*declared, actual) {
                Some(dt) => model.wire_node(
                    format!("{prefix}.cast-{ix}"),
                    tract_core::ops::cast::cast(dt),
                    &[input],
                )?[0],
                None => input,
            });
        }
        Ok(outputs)
    }
}
