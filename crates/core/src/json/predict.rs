//! Predict request decoding (`FillPredictRequestFromJson`, reference §1.6).
//!
//! Decoding is split in two because the inputs depend on the signature the body names: first
//! [`PredictBody::parse`] reads the envelope and `signature_name`, the caller looks the
//! signature up (and reports an unknown one in its own words), then [`PredictBody::decode`]
//! builds tensors from `instances` (row format) or `inputs` (columnar format) using only the
//! input dtypes. Declared shapes are deliberately ignored, as TF Serving ignores them.

use std::collections::{BTreeMap, BTreeSet};

use super::envelope::{format_error, parse_object, read_signature};
use super::fill::{dense_shape_into, fill};
use super::value::{Document, Value};
use super::writer::debug_text;
use crate::cmp::slices_equal;
use crate::signature::DEFAULT_SIGNATURE;
use crate::{DType, Status, Tensor, TensorData, TensorInfo};

/// Which of the two request layouts was used; the response mirrors it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestFormat {
    /// `{"instances": [...]}`, answered with `{"predictions": [...]}`.
    Row,
    /// `{"inputs": ...}`, answered with `{"outputs": ...}`.
    Columnar,
}

/// A decoded predict request.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictRequest {
    /// The signature to run (`serving_default` when the body named none).
    pub signature_name: String,
    /// Input tensors by alias.
    pub inputs: BTreeMap<String, Tensor>,
    /// The layout of the request, which decides the layout of the response.
    pub format: RequestFormat,
}

/// A parsed predict body whose tensors are not decoded yet.
#[derive(Debug)]
pub struct PredictBody<'a> {
    doc: Document<'a>,
    raw_signature: String,
}

impl<'a> PredictBody<'a> {
    /// Parses the body and reads `signature_name`. Fails on an empty or malformed body, a
    /// non-object body, or a non-string `signature_name`.
    pub fn parse(body: &'a [u8]) -> Result<PredictBody<'a>, Status> {
        let doc = parse_object(body)?;
        let raw_signature = read_signature(doc.root())?;
        Ok(PredictBody { doc, raw_signature })
    }

    /// The signature to look up: as sent, or `serving_default` when absent or empty.
    pub fn signature_name(&self) -> &str {
        if self.raw_signature.is_empty() {
            DEFAULT_SIGNATURE
        } else {
            &self.raw_signature
        }
    }

    /// Builds the input tensors for a signature with these inputs.
    pub fn decode(&self, inputs: &BTreeMap<String, TensorInfo>) -> Result<PredictRequest, Status> {
        if inputs.is_empty() {
            let name = if self.raw_signature.is_empty() {
                "DEFAULT"
            } else {
                &self.raw_signature
            };
            return Err(Status::invalid_argument(format!(
                "Failed to get input map for signature: {name}"
            )));
        }
        let root = self.doc.root();
        let (tensors, format) = match (root.get("instances"), root.get("inputs")) {
            (Some(_), Some(_)) => {
                return Err(format_error(
                    root,
                    "Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist ",
                ));
            }
            (Some(instances), None) => {
                if !instances.is_array() {
                    return Err(format_error(
                        root,
                        "Expecting 'instances' to be an list/array",
                    ));
                }
                if instances.is_empty() {
                    return Err(format_error(root, "No values in 'instances' array"));
                }
                (decode_rows(instances, inputs)?, RequestFormat::Row)
            }
            (None, Some(value)) => (decode_columns(value, inputs)?, RequestFormat::Columnar),
            (None, None) => {
                return Err(Status::invalid_argument(
                    "Missing 'inputs' or 'instances' key",
                ));
            }
        };
        Ok(PredictRequest {
            signature_name: self.signature_name().to_owned(),
            inputs: tensors,
            format,
        })
    }
}

/// Parses and decodes in one call: `inputs_for` receives the signature name (already defaulted
/// to `serving_default`) and returns that signature's inputs, or the caller's not-found error.
pub fn parse_predict_request<'m>(
    body: &[u8],
    inputs_for: impl FnOnce(&str) -> Result<&'m BTreeMap<String, TensorInfo>, Status>,
) -> Result<PredictRequest, Status> {
    let parsed = PredictBody::parse(body)?;
    let inputs = inputs_for(parsed.signature_name())?;
    parsed.decode(inputs)
}

/// Values gathered for one input across the instances.
struct Column {
    data: TensorData,
    /// Element count and shape of the first instance, which every later one must match.
    first: Option<(usize, Vec<usize>)>,
}

/// Row format: every instance contributes one batch entry per input.
fn decode_rows(
    instances: Value<'_>,
    infos: &BTreeMap<String, TensorInfo>,
) -> Result<BTreeMap<String, Tensor>, Status> {
    let first = instances.first().expect("checked non-empty");
    if !first.is_object() && infos.len() > 1 {
        return Err(Status::invalid_argument(
            "instances is a plain list, but expecting list of objects as multiple input tensors required as per tensorinfo_map",
        ));
    }
    let is_named = |v: Value<'_>| v.is_object() && !v.is_b64_object();
    let named = is_named(first);
    let input_names: BTreeSet<&[u8]> = if named {
        infos.keys().map(|k| k.as_bytes()).collect()
    } else {
        BTreeSet::new()
    };
    let mut rows = Rows {
        infos,
        instances,
        columns: BTreeMap::new(),
        dims: Vec::new(),
    };
    let mut count = 0usize;
    for item in instances.elements() {
        if named {
            if !is_named(item) {
                return Err(Status::invalid_argument(format!(
                    "Expecting object but got list at item {count} of input list"
                )));
            }
            let mut keys = BTreeSet::new();
            for (key, value) in item.members() {
                keys.insert(key);
                rows.add_item(value, key).map_err(|e| {
                    Status::invalid_argument(format!(
                        "Failed to process element: {count} key: {} of 'instances' list. Error: {e}",
                        String::from_utf8_lossy(key)
                    ))
                })?;
            }
            if keys != input_names {
                let names: Vec<&str> = infos.keys().map(String::as_str).collect();
                return Err(Status::invalid_argument(format!(
                    "Failed to process element: {count} of 'instances' list. JSON object: {} keys must be equal to: {}",
                    debug_text(item),
                    names.join(",")
                )));
            }
        } else {
            if is_named(item) {
                return Err(Status::invalid_argument(format!(
                    "Expecting value/list but got object at item {count} of input list"
                )));
            }
            let name = infos.keys().next().expect("checked non-empty");
            rows.add_item(item, name.as_bytes()).map_err(|e| {
                Status::invalid_argument(format!(
                    "Failed to process element: {count} of 'instances' list. Error: {e}"
                ))
            })?;
        }
        count += 1;
    }
    // Inserted one by one: collecting into a map first buffers, sorts and dedups the entries,
    // which for the usual one or two inputs costs more than the inserts.
    let mut tensors = BTreeMap::new();
    for (name, column) in rows.columns {
        let (_, element_shape) = column.first.expect("set by the first item");
        let mut shape = Vec::with_capacity(element_shape.len() + 1);
        shape.push(count);
        shape.extend_from_slice(&element_shape);
        // Only a key repeated inside one instance can make the count disagree.
        tensors.insert(name.to_owned(), Tensor::new(shape, column.data)?);
    }
    Ok(tensors)
}

/// The state of a row decode: values gathered so far per input, and a reusable shape buffer.
struct Rows<'i, 'd> {
    infos: &'i BTreeMap<String, TensorInfo>,
    instances: Value<'d>,
    columns: BTreeMap<&'i str, Column>,
    dims: Vec<usize>,
}

impl<'i> Rows<'i, '_> {
    /// TF Serving's `AddInstanceItem`: one instance's value for input `name`.
    fn add_item(&mut self, value: Value<'_>, name: &[u8]) -> Result<(), Status> {
        let Some((name, info)) = std::str::from_utf8(name)
            .ok()
            .and_then(|n| self.infos.get_key_value(n))
        else {
            return Err(Status::invalid_argument(format!(
                "JSON object: does not have named input: {}",
                String::from_utf8_lossy(name)
            )));
        };
        let dims = &mut self.dims;
        dense_shape_into(value, dims)?;
        let instances = self.instances;
        let column = self.columns.entry(name.as_str()).or_insert_with(|| {
            // Sized from the first instance, bounded by what the body holds.
            let hint =
                (value.node_count().saturating_mul(instances.len())).min(instances.node_count());
            Column {
                data: TensorData::with_capacity(info.dtype, hint),
                first: None,
            }
        });
        let mut size = 0;
        fill(value, 0, dims, &mut column.data, &mut size)?;
        match &column.first {
            None => column.first = Some((size, dims.clone())),
            Some((first_size, _)) if *first_size != size => {
                return Err(Status::invalid_argument(format!(
                    "Expecting tensor size: {first_size} but got: {size}"
                )));
            }
            Some((_, first_shape)) if !slices_equal(first_shape, dims) => {
                return Err(Status::invalid_argument(format!(
                    "Expecting shape {} but got: {}",
                    shape_string(first_shape),
                    shape_string(dims)
                )));
            }
            Some(_) => {}
        }
        Ok(())
    }
}

/// `[2,3]`, as TF Serving's `ShapeToString` prints shapes.
fn shape_string(dims: &[usize]) -> String {
    let parts: Vec<String> = dims.iter().map(usize::to_string).collect();
    format!("[{}]", parts.join(","))
}

/// Columnar format: one value per input, its nesting giving the whole shape.
fn decode_columns(
    value: Value<'_>,
    infos: &BTreeMap<String, TensorInfo>,
) -> Result<BTreeMap<String, Tensor>, Status> {
    let mut tensors = BTreeMap::new();
    if !value.is_object() || value.is_b64_object() {
        if infos.len() > 1 {
            return Err(Status::invalid_argument(
                "inputs is a plain value/list, but expecting an object as multiple input tensors required as per tensorinfo_map",
            ));
        }
        let (name, info) = infos.iter().next().expect("checked non-empty");
        tensors.insert(name.clone(), column_tensor(value, info.dtype)?);
        return Ok(tensors);
    }
    for (name, info) in infos {
        let item = value.get(name).ok_or_else(|| {
            Status::invalid_argument(format!("Missing named input: {name} in 'inputs' object."))
        })?;
        tensors.insert(name.clone(), column_tensor(item, info.dtype)?);
    }
    Ok(tensors)
}

fn column_tensor(value: Value<'_>, dtype: DType) -> Result<Tensor, Status> {
    let mut dims = Vec::new();
    dense_shape_into(value, &mut dims)?;
    // The declared product can be absurd for a malformed body ([[1e5 items], 1, 1, …] claims
    // 1e5 × 1e5); the number of nodes present bounds the real count.
    let claimed = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let present = value.node_count();
    let mut data = TensorData::with_capacity(dtype, claimed.unwrap_or(present).min(present));
    let mut count = 0;
    fill(value, 0, &dims, &mut data, &mut count)?;
    Tensor::new(dims, data)
}
