//! `ParseExample` / `ParseExampleV2`, lifted out of the graph and done natively.
//!
//! Classify and regress signatures take serialized `tf.Example`s. Execution engines have no
//! string parsing, so the importer replaces the parse node by placeholders for its dense outputs
//! and records a [`ParseExampleSpec`]; the runtime decodes the examples with
//! [`tensorserve_core::example`] and feeds the dense tensors.

use std::collections::HashMap;

use tensorserve_core::example::{Example, Feature};
use tensorserve_core::{DType, Status, Tensor, TensorData};
use tract_tensorflow::tfpb::tensorflow::{NodeDef, attr_value};

use crate::SavedModelError;
use crate::consts::proto_to_tensor;
use crate::graph_ref::{Frames, Src, cycle};
use crate::loader::SavedModelDir;
use crate::variables::const_tensor;

/// One dense feature to extract.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseFeature {
    /// Feature name in the Example.
    pub key: String,
    /// Output element type: float, int64 or string.
    pub dtype: DType,
    /// Shape of the feature in one example.
    pub shape: Vec<i64>,
    /// Value when the feature is absent; `None` makes it required.
    pub default: Option<Tensor>,
}

/// A parse step: which string input to decode, and which dense features to extract.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseExampleSpec {
    /// Alias of the signature input holding serialized Examples.
    pub input_alias: String,
    /// Dense features, in output order.
    pub dense: Vec<DenseFeature>,
    /// Output port of the first dense output on the original node.
    pub dense_port_offset: usize,
}

fn unsupported(node: &NodeDef, why: &str) -> SavedModelError {
    SavedModelError::Unsupported(format!("{} '{}': {why}", node.op, node.name))
}

/// Builds the spec for a ParseExample(V2) node whose serialized input is a signature input.
pub fn spec_for_node<'a>(
    frames: &mut Frames<'a>,
    frame: usize,
    node: &'a NodeDef,
    feeds: &HashMap<(String, usize), String>,
    dir: &SavedModelDir,
) -> Result<ParseExampleSpec, SavedModelError> {
    let refs: Vec<Src> = node
        .input
        .iter()
        .map(|r| frames.parse_ref(frame, r))
        .filter_map(Result::transpose)
        .collect::<Result<_, _>>()?;
    let int_attr = |name: &str| match node.attr.get(name).and_then(|a| a.value.as_ref()) {
        // A negative count cannot be satisfied; saturating keeps the range checks below exact.
        Some(attr_value::Value::I(i)) => usize::try_from(*i).unwrap_or(usize::MAX),
        _ => 0,
    };
    let (dense_keys, defaults): (Vec<String>, &[Src]) = if node.op == "ParseExample" {
        let (nsparse, ndense) = (int_attr("Nsparse"), int_attr("Ndense"));
        if nsparse > 0 {
            return Err(unsupported(node, "sparse features are not supported yet"));
        }
        let keys = refs
            .get(2..2usize.saturating_add(ndense))
            .ok_or_else(|| unsupported(node, "fewer inputs than Ndense says"))?
            .iter()
            .map(|k| {
                const_strings(frames, k.clone(), node)?
                    .into_iter()
                    .next()
                    .ok_or_else(|| unsupported(node, "a dense key constant holds no string"))
            })
            .collect::<Result<_, _>>()?;
        (keys, refs.get(2 + ndense..).unwrap_or_default())
    } else {
        if int_attr("num_sparse") > 0 {
            return Err(unsupported(node, "sparse features are not supported yet"));
        }
        let ragged = refs
            .get(4)
            .ok_or_else(|| unsupported(node, "missing ragged_keys input"))?;
        if !const_strings(frames, ragged.clone(), node)?.is_empty() {
            return Err(unsupported(node, "ragged features are not supported yet"));
        }
        let dense = refs
            .get(3)
            .ok_or_else(|| unsupported(node, "missing dense_keys input"))?;
        (
            const_strings(frames, dense.clone(), node)?,
            refs.get(5..).unwrap_or_default(),
        )
    };
    let types = list_attr(node, "Tdense", |l| l.r#type.clone());
    let shapes = list_attr(node, "dense_shapes", |l| l.shape.clone());
    if types.len() != dense_keys.len()
        || shapes.len() != dense_keys.len()
        || defaults.len() != dense_keys.len()
    {
        return Err(unsupported(node, "inconsistent dense feature attributes"));
    }
    let mut dense = Vec::new();
    for (i, key) in dense_keys.into_iter().enumerate() {
        let dtype = DType::from_tf_enum(types[i])
            .filter(|d| matches!(d, DType::F32 | DType::I64 | DType::String))
            .ok_or_else(|| unsupported(node, "dense features must be float, int64 or string"))?;
        let default = default_value(frames, defaults[i].clone())?
            .ok_or_else(|| unsupported(node, "dense defaults must be constants"))?;
        let default = proto_to_tensor(default)
            .ok_or_else(|| unsupported(node, "unreadable dense default"))?;
        dense.push(DenseFeature {
            key,
            dtype,
            shape: shapes[i].dim.iter().map(|d| d.size).collect(),
            default: (!default.is_empty()).then_some(default),
        });
    }
    let serialized = frames.skip_identities(refs[0].clone())?;
    let input_alias = (serialized.frame == 0)
        .then(|| feeds.get(&(serialized.node.clone(), serialized.port)))
        .flatten()
        .and_then(|placeholder| placeholder.strip_prefix("tensorserve_input/"))
        .map(str::to_string)
        .ok_or_else(|| unsupported(node, "its serialized input must be a signature input"))?;
    let _ = dir;
    Ok(ParseExampleSpec {
        input_alias,
        dense,
        dense_port_offset: 0,
    })
}

/// The constant behind a dense default, looking through the Reshape TensorFlow puts on it (the
/// feature's shape is known from `dense_shapes`; only the values matter).
fn default_value<'a>(
    frames: &mut Frames<'a>,
    mut src: Src,
) -> Result<Option<&'a tract_tensorflow::tfpb::tensorflow::TensorProto>, SavedModelError> {
    let mut seen = std::collections::HashSet::new();
    loop {
        src = frames.skip_identities(src)?;
        if !seen.insert(src.clone()) {
            return Err(cycle(&frames.frames[src.frame].prefix, &src.node));
        }
        let node = frames.node(src.frame, &src.node)?;
        if node.op != "Reshape" {
            return const_tensor(frames, src);
        }
        let Some(input) = node.input.first() else {
            return Ok(None);
        };
        match frames.parse_ref(src.frame, input)? {
            Some(next) => src = next,
            None => return Ok(None),
        }
    }
}

fn list_attr<T>(
    node: &NodeDef,
    name: &str,
    get: impl Fn(&attr_value::ListValue) -> Vec<T>,
) -> Vec<T> {
    match node.attr.get(name).and_then(|a| a.value.as_ref()) {
        Some(attr_value::Value::List(l)) => get(l),
        _ => Vec::new(),
    }
}

fn const_strings(
    frames: &mut Frames<'_>,
    src: Src,
    node: &NodeDef,
) -> Result<Vec<String>, SavedModelError> {
    let proto = const_tensor(frames, src)?
        .ok_or_else(|| unsupported(node, "feature keys must be constants"))?;
    Ok(proto
        .string_val
        .iter()
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect())
}

impl ParseExampleSpec {
    /// Decodes serialized examples (shape `[batch]`, or a scalar for one example) into one tensor
    /// per dense feature, shaped `[batch] + feature shape`.
    pub fn run(&self, serialized: &Tensor) -> Result<Vec<Tensor>, Status> {
        let TensorData::String(records) = serialized.data() else {
            return Err(Status::invalid_argument(format!(
                "expected serialized tf.Example strings, got {}",
                serialized.dtype()
            )));
        };
        let examples = records
            .iter()
            .map(|r| Example::decode(r))
            .collect::<Result<Vec<_>, _>>()?;
        self.dense
            .iter()
            .map(|feature| feature.extract(&examples))
            .collect()
    }
}

impl DenseFeature {
    fn extract(&self, examples: &[Example]) -> Result<Tensor, Status> {
        let per_example = self
            .shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d.max(0) as usize))
            .ok_or_else(|| {
                Status::invalid_argument(format!(
                    "Feature: {} has a shape with too many elements: {:?}",
                    self.key, self.shape
                ))
            })?;
        // The values are appended as they are checked; reserving for the declared shape up
        // front would let a model's shape attribute alone demand any amount of memory.
        let hint = per_example.saturating_mul(examples.len()).min(1 << 16);
        let mut data = TensorData::with_capacity(self.dtype, hint);
        for (index, example) in examples.iter().enumerate() {
            let values = match example.features.get(&self.key) {
                Some(feature) => feature_values(feature, self.dtype),
                None => None,
            };
            let values = match (
                values,
                example.features.contains_key(&self.key),
                &self.default,
            ) {
                (Some(v), _, _) => v,
                (None, true, _) => {
                    return Err(Status::invalid_argument(format!(
                        "Name: <unknown>, Feature: {} (data type: {}) has the wrong type in example {index}",
                        self.key, self.dtype
                    )));
                }
                (None, false, Some(default)) => default.data().clone(),
                (None, false, None) => {
                    return Err(Status::invalid_argument(format!(
                        "Name: <unknown>, Feature: {} (data type: {}) is required but could not be found.",
                        self.key, self.dtype
                    )));
                }
            };
            if values.len() != per_example {
                return Err(Status::invalid_argument(format!(
                    "Name: <unknown>, Key: {}, Index: {index}.  Number of {} values != expected.  Values size: {} but output shape: {:?}",
                    self.key,
                    self.dtype,
                    values.len(),
                    self.shape
                )));
            }
            data.extend_from(&values)?;
        }
        let mut shape = vec![examples.len()];
        shape.extend(self.shape.iter().map(|&d| d.max(0) as usize));
        Tensor::new(shape, data)
    }
}

fn feature_values(feature: &Feature, dtype: DType) -> Option<TensorData> {
    match (feature, dtype) {
        (Feature::Float(v), DType::F32) => Some(TensorData::F32(v.clone())),
        (Feature::Int64(v), DType::I64) => Some(TensorData::I64(v.clone())),
        (Feature::Bytes(v), DType::String) => Some(TensorData::String(v.clone())),
        _ => None,
    }
}
