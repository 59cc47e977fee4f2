//! The team-owned TensorFlow op registry: tract-tensorflow's builders, with our fixes for the
//! ones that give wrong answers and our builders for the ops ordinary Keras models use.
//!
//! Every op a frozen graph uses must be registered here; anything else fails the load with a
//! list of the missing ops (see [`crate::savedmodel_model`]), never a panic at run time.
//!
//! One module per family, each op an `Expansion` (inference rules + wiring onto tract-core
//! ops): `elementwise` (math, activations, Select, ZerosLike/OnesLike), `linalg`
//! (BatchMatMul, Einsum, BiasAdd), `nn` (Conv2D, Conv2DBackpropInput, FusedBatchNorm, TopKV2),
//! `reduce`, `shape` (ExpandDims, Squeeze, Pack/Unpack, Fill, BroadcastTo, Size, Rank),
//! `sequence` (Range, OneHot, Cumsum), `slicing` (Slice, StridedSlice), `split` (Split/SplitV),
//! `pad`, `resize`,
//! `space_batch`, `identity`, `konst`, `gather`, `concat`, `lookup` (hash tables filled at load),
//! and `maxpool`, `conv` (with `conv_compute`), `conv_per_image` and `scalar_binary` — not
//! builders: a 2-D f32 max pool, a 2-D f32 convolution for small channel counts, a batched wide
//! convolution run as tract's single-image one per image, and an f32 op with a constant scalar
//! on small tensors that `plan.rs` swaps in for tract's in typed models, TensorFlow's and
//! ONNX's alike. What is covered and what is not:
//! `testdata/ops/README.md`, checked by `tests/ops.rs`.
//!
//! Shapes flow through graphs as tract `TDim`s (tract-tensorflow's `Shape` yields them), so a
//! symbolic batch survives `Shape → StridedSlice → Pack → Reshape`; `identity` restores
//! TensorFlow's declared integer types where values leave a function.

mod concat;
pub mod conv;
mod conv_compute;
pub mod conv_per_image;
mod elementwise;
mod gather;
mod identity;
mod konst;
mod linalg;
mod lookup;
pub mod maxpool;
mod nn;
mod pad;
mod reduce;
mod resize;
pub mod scalar_binary;
mod sequence;
mod shape;
mod slicing;
mod space_batch;
mod spatial;
mod split;
mod support;

use tract_hir::internal::*;
use tract_tensorflow::model::TfOpRegister;

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
    // tract's Const reads only f32/f64/i32/i64/string tensors.
    reg.insert("Const", konst::konst);
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
    for op in ["Identity", "StopGradient", "Snapshot", "PreventGradient"] {
        reg.0.insert(op.to_string(), identity::identity);
    }
    reg.insert("IdentityN", identity::identity_n);
    reg.insert(tensorserve_savedmodel::LOOKUP_OP, lookup::lookup_table_find);
    elementwise::register(reg);
    linalg::register(reg);
    nn::register(reg);
    reduce::register(reg);
    shape::register(reg);
    sequence::register(reg);
    slicing::register(reg);
    split::register(reg);
    pad::register(reg);
    resize::register(reg);
    space_batch::register(reg);
    // Functional control flow and TensorLists are deliberately absent: tract cannot run them,
    // and a model using them must fail at load naming them (tests/ops.rs checks this).
    for op in NOT_SUPPORTED {
        reg.0.remove(*op);
    }
}

/// Ops that must never be registered, even should a tract upgrade add a builder: tract's TF1
/// loop machinery (`Enter`/`Exit`/...) does not implement TF2's functional ops.
const NOT_SUPPORTED: &[&str] = &[
    "While",
    "StatelessWhile",
    "If",
    "StatelessIf",
    "Case",
    "StatelessCase",
    "TensorListReserve",
    "TensorListFromTensor",
    "TensorListSetItem",
    "TensorListGetItem",
    "TensorListStack",
    "TensorListLength",
    "TensorListElementShape",
    "TensorListPushBack",
    "TensorListPopBack",
];
