//! Signatures: the named entry points of a model, with the dtype and declared shape of each input
//! and output, as in TensorFlow's `SignatureDef`.

use std::collections::BTreeMap;

use crate::DType;

/// One dimension of a declared shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dim {
    /// The size, `-1` when unknown.
    pub size: i64,
    /// An optional name (TensorFlow's `TensorShapeProto.Dim.name`).
    pub name: String,
}

/// A tensor in a signature: the graph tensor it binds to and what it declares.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    /// The graph tensor name, e.g. `x:0`.
    pub name: String,
    /// The declared element type.
    pub dtype: DType,
    /// The declared shape; `None` when the rank is unknown. Never enforced on requests, as in
    /// TF Serving (reference §1.6).
    pub shape: Option<Vec<Dim>>,
}

/// A named entry point of a model.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SignatureDef {
    /// `tensorflow/serving/predict`, `.../classify` or `.../regress` (or empty).
    pub method_name: String,
    /// Inputs by alias.
    pub inputs: BTreeMap<String, TensorInfo>,
    /// Outputs by alias.
    pub outputs: BTreeMap<String, TensorInfo>,
}

/// The method name of predict signatures.
pub const PREDICT_METHOD: &str = "tensorflow/serving/predict";
/// The method name of classify signatures.
pub const CLASSIFY_METHOD: &str = "tensorflow/serving/classify";
/// The method name of regress signatures.
pub const REGRESS_METHOD: &str = "tensorflow/serving/regress";
/// The signature used when a request names none.
pub const DEFAULT_SIGNATURE: &str = "serving_default";
/// The TF2 init-op pseudo-signature: listed in metadata, never runnable.
pub const INIT_OP_SIGNATURE: &str = "__saved_model_init_op";
