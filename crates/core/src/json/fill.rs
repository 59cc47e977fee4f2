//! Turning one JSON value (a scalar or nested lists) into tensor values of a given dtype:
//! TF Serving's `GetDenseTensorShape`, `FillTensorProto` and `AddValueToTensor`, with their
//! error messages.
//!
//! The shape is read from the first element at each level and every other element must agree.
//! Values go straight into the typed vector, so no intermediate proto or per-value boxing.

use super::b64;
use super::value::Value;
use super::writer::debug_text;
use crate::{DType, Status, TensorData};

/// TensorFlow's limit on tensor rank (`TensorShape::MaxDimensions`).
pub(crate) const MAX_RANK: usize = 254;

/// The shape implied by `value`: the length of each first-element chain of lists. Fails past
/// TensorFlow's rank limit, which also bounds the recursion in [`fill`].
pub(crate) fn dense_shape_into(value: Value<'_>, dims: &mut Vec<usize>) -> Result<(), Status> {
    dims.clear();
    let mut v = value;
    while v.is_array() {
        if dims.len() == MAX_RANK {
            return Err(Status::invalid_argument(format!(
                "Shape has more than {MAX_RANK} dimensions, the limit of a tensor"
            )));
        }
        dims.push(v.len());
        match v.first() {
            Some(first) => v = first,
            None => break,
        }
    }
    Ok(())
}

/// Appends the values of `value` (whose shape must be `dims`) to `out`, counting them.
pub(crate) fn fill(
    value: Value<'_>,
    level: usize,
    dims: &[usize],
    out: &mut TensorData,
    count: &mut usize,
) -> Result<(), Status> {
    let rank = dims.len();
    if !value.is_array() {
        if level != rank {
            return Err(Status::invalid_argument(format!(
                "JSON Value: {} found at incorrect level: {} in the JSON DOM. Expected at level: {rank}",
                debug_text(value),
                level + 1
            )));
        }
        push_value(value, out)?;
        *count += 1;
        return Ok(());
    }
    if level >= rank {
        return Err(Status::invalid_argument(format!(
            "Encountered list at unexpected level: {level} expected < {rank}"
        )));
    }
    if value.len() != dims[level] {
        return Err(Status::invalid_argument(format!(
            "Encountered list at unexpected size: {} at level: {level} expected size: {}",
            value.len(),
            dims[level]
        )));
    }
    for v in value.elements() {
        fill(v, level + 1, dims, out, count)?;
    }
    Ok(())
}

/// `JSON Value: <v> Type: <json type> is not of expected type: <dtype>`.
pub(crate) fn type_error(value: Value<'_>, dtype: DType) -> Status {
    Status::invalid_argument(format!(
        "JSON Value: {} Type: {} is not of expected type: {}",
        debug_text(value),
        value.type_name(),
        dtype.short_name()
    ))
}

/// Decodes a `{"b64": "…"}` object (`… not formatted correctly for base64 data`,
/// `Unable to base64 decode`).
pub(crate) fn decode_b64_object(value: Value<'_>) -> Result<Vec<u8>, Status> {
    let text = value
        .get("b64")
        .and_then(|v| v.as_bytes())
        .filter(|_| value.len() == 1)
        .ok_or_else(|| {
            Status::invalid_argument(format!(
                "JSON Value: {} not formatted correctly for base64 data",
                debug_text(value)
            ))
        })?;
    b64::decode(text).ok_or_else(|| Status::invalid_argument("Unable to base64 decode"))
}

/// One leaf value into `out`, whose variant is the signature dtype (the conversion table of
/// reference §1.6). Narrow integer types take any `int32` and wrap, as `int_val` does.
fn push_value(value: Value<'_>, out: &mut TensorData) -> Result<(), Status> {
    let dtype = out.dtype();
    if value.is_object() {
        return match out {
            TensorData::String(v) => {
                v.push(decode_b64_object(value)?);
                Ok(())
            }
            _ => Err(type_error(value, dtype)),
        };
    }
    let number = value.as_number();
    let ok = match out {
        TensorData::F32(v) => number.map(|n| v.push(n.as_f32())),
        TensorData::F64(v) => number.map(|n| v.push(n.as_f64())),
        TensorData::I32(v) => number.and_then(|n| n.as_i32()).map(|n| v.push(n)),
        TensorData::I16(v) => number.and_then(|n| n.as_i32()).map(|n| v.push(n as i16)),
        TensorData::I8(v) => number.and_then(|n| n.as_i32()).map(|n| v.push(n as i8)),
        TensorData::U8(v) => number.and_then(|n| n.as_i32()).map(|n| v.push(n as u8)),
        TensorData::I64(v) => number.and_then(|n| n.as_i64()).map(|n| v.push(n)),
        TensorData::U32(v) => number.and_then(|n| n.as_u32()).map(|n| v.push(n)),
        TensorData::U64(v) => number.and_then(|n| n.as_u64()).map(|n| v.push(n)),
        TensorData::Bool(v) => value.as_bool().map(|b| v.push(b)),
        TensorData::String(v) => value.as_bytes().map(|s| v.push(s.to_vec())),
        TensorData::F16(_) | TensorData::U16(_) => {
            return Err(Status::unimplemented(format!(
                "Conversion of JSON Value: {} to type: {}",
                debug_text(value),
                dtype.short_name()
            )));
        }
    };
    ok.ok_or_else(|| type_error(value, dtype))
}
