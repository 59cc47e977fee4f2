//! The team-owned TensorFlow op registry: tract-tensorflow's builders, with our fixes for the
//! ones that give wrong answers and our builders for the ops ordinary Keras models use.
//!
//! Every op a frozen graph uses must be in [`registry`]; anything else fails the load with a list
//! of the missing ops (see [`crate::savedmodel_model`]), never a panic at run time.

mod concat;
mod gather;

use tract_hir::internal::*;
use tract_tensorflow::model::TfOpRegister;
use tract_tensorflow::tfpb::tensorflow::NodeDef;

/// Builds tract-tensorflow's frontend with our registry.
pub fn tensorflow() -> tract_tensorflow::Tensorflow {
    let mut tf = tract_tensorflow::tensorflow();
    register(&mut tf.op_register);
    tf
}

/// Whether the registry knows `op`.
pub fn is_supported(registry: &TfOpRegister, op: &str) -> bool {
    registry.0.contains_key(op)
}

fn register(reg: &mut TfOpRegister) {
    // tract maps Softmax to a 2-D-coerced softmax over axis 1, silently wrong on rank > 2;
    // TensorFlow's Softmax is over the last axis.
    reg.insert("Softmax", |_, _| {
        Ok(expand(tract_hir::ops::nn::LayerSoftmax::new(-1, false)))
    });
    reg.insert("LogSoftmax", |_, _| {
        Ok(expand(tract_hir::ops::nn::LayerLogSoftmax::new(-1, false)))
    });
    // tract's GatherV2 insists on int32 indices and axis; TF allows int32 or int64 for both.
    reg.insert("GatherV2", gather::gather_v2);
    // tract's ConcatV2 reads a negative axis as a huge unsigned one.
    reg.insert("ConcatV2", concat::concat_v2);
    reg.insert("Identity", |_, _| {
        Ok(Box::new(tract_hir::ops::identity::Identity))
    });
    reg.insert("StopGradient", |_, _| {
        Ok(Box::new(tract_hir::ops::identity::Identity))
    });
    reg.insert("Snapshot", |_, _| {
        Ok(Box::new(tract_hir::ops::identity::Identity))
    });
    reg.insert("PreventGradient", |_, _| {
        Ok(Box::new(tract_hir::ops::identity::Identity))
    });
    unary(reg);
    activations(reg);
    reg.insert("SelectV2", |_, _| Ok(expand(tract_hir::ops::logic::Iff)));
}

fn unary(reg: &mut TfOpRegister) {
    use tract_core::ops::math;
    reg.insert("Exp", |_, _| Ok(math::exp().into_hir()));
    reg.insert("Sqrt", |_, _| Ok(math::sqrt().into_hir()));
    reg.insert("Square", |_, _| Ok(math::square().into_hir()));
    reg.insert("Floor", |_, _| Ok(math::floor().into_hir()));
    // TensorFlow rounds half to even.
    reg.insert("Round", |_, _| Ok(math::round_half_to_even().into_hir()));
    reg.insert("Sin", |_, _| Ok(math::sin().into_hir()));
    reg.insert("Cos", |_, _| Ok(math::cos().into_hir()));
    reg.insert("Erf", |_, _| Ok(math::erf().into_hir()));
    reg.insert("Sign", |_, _| Ok(math::sign().into_hir()));
    reg.insert("Reciprocal", |_, _| Ok(math::recip().into_hir()));
    reg.insert("Inv", |_, _| Ok(math::recip().into_hir()));
}

fn activations(reg: &mut TfOpRegister) {
    use tract_hir::ops::activations as act;
    reg.insert("Elu", |_, _| Ok(expand(act::Elu(1.0))));
    reg.insert("Selu", |_, _| Ok(expand(act::Selu(1.673_263_2, 1.050_701))));
    reg.insert("Softplus", |_, _| Ok(expand(act::Softplus)));
    reg.insert("Softsign", |_, _| Ok(expand(act::Softsign)));
    reg.insert("LeakyRelu", leaky_relu);
}

fn leaky_relu(
    _: &tract_tensorflow::model::ParsingContext,
    node: &NodeDef,
) -> TractResult<Box<dyn InferenceOp>> {
    let alpha: f32 = node.get_attr_opt_float("alpha")?.unwrap_or(0.2);
    Ok(expand(tract_hir::ops::activations::LeakyRelu(alpha)))
}
