//! The Open Inference Protocol's JSON bodies (REST): inference requests decoded into
//! [`InferRequest`], responses and metadata encoded.
//!
//! A tensor's `data` may be flat or nested arrays in row-major order; either way its element
//! count must equal the product of its `shape`. Elements must fit the datatype exactly: an
//! integer type takes integral numbers within its range, `BOOL` takes `true`/`false`, `BYTES`
//! takes strings (their UTF-8 bytes). `FP16` has no JSON form (TF Serving's JSON has none
//! either). Floats are written in their shortest round-tripping form, non-finite ones as `NaN`,
//! `Infinity` and `-Infinity` (what Python's `json` reads and writes).
//!
//! Triton's binary tensor data extension (what `tritonclient.http` sends by default) is
//! supported both ways: when the request has an `Inference-Header-Content-Length` header, the
//! body is that many bytes of JSON followed by the raw buffers ([`super::contents`]) of the
//! inputs whose `parameters` carry `binary_data_size`, in input order. Outputs asked for with
//! `"binary_data": true` (or all of them, with the request parameter `binary_data_output`) are
//! answered the same way, each with its `binary_data_size`, and the answer carries the header.

use serde_json::{Map, Value};
use tensorserve_core::{DType, Status, Tensor, TensorData};

use super::contents::{from_raw, layout, to_raw};
use super::datatype;
use super::infer::{InferRequest, InferResponse};
use super::metadata::{EXTENSIONS, ModelMetadata, SERVER_NAME, TensorMetadata};

/// The header that gives the JSON part's length when binary tensor data follows it.
pub const HEADER_LENGTH: &str = "inference-header-content-length";

/// Which outputs are to be answered as binary data.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct BinaryOutputs {
    /// The request parameter `binary_data_output`: every output not said otherwise.
    pub all: bool,
    /// Outputs whose own `binary_data` parameter says yes or no.
    pub named: Vec<(String, bool)>,
}

impl BinaryOutputs {
    /// Whether the output `name` goes out as binary data.
    pub fn binary(&self, name: &str) -> bool {
        self.named
            .iter()
            .find(|(n, _)| n == name)
            .map_or(self.all, |&(_, binary)| binary)
    }
}

/// Decodes an inference request body for `model_name` at `model_version` (from the path).
/// `json_length` is the `Inference-Header-Content-Length` header's value, if it was sent.
pub fn decode_infer(
    body: &[u8],
    json_length: Option<usize>,
    model_name: String,
    model_version: String,
) -> Result<(InferRequest, BinaryOutputs), Status> {
    let (json, mut binary) = match json_length {
        None => (body, &[][..]),
        Some(n) if n <= body.len() => body.split_at(n),
        Some(n) => {
            return Err(Status::invalid_argument(format!(
                "Inference-Header-Content-Length is {n} but the body has only {} bytes",
                body.len()
            )));
        }
    };
    let value: Value = serde_json::from_slice(json)
        .map_err(|e| Status::invalid_argument(format!("failed to parse the request JSON: {e}")))?;
    let Value::Object(mut request) = value else {
        return Err(Status::invalid_argument(
            "the request must be a JSON object",
        ));
    };
    let id = match request.remove("id") {
        None => String::new(),
        Some(Value::String(id)) => id,
        Some(_) => return Err(Status::invalid_argument("'id' must be a string")),
    };
    let mut request_parameters =
        parameters(request.remove("parameters"), "the request")?.unwrap_or_default();
    let mut binary_outputs = BinaryOutputs {
        all: flag(&mut request_parameters, "binary_data_output")?,
        named: Vec::new(),
    };
    let signature = match request_parameters.remove("signature_name") {
        None => None,
        Some(Value::String(name)) => Some(name),
        Some(_) => {
            return Err(Status::invalid_argument(
                "parameter 'signature_name' must be a string",
            ));
        }
    };
    let Some(Value::Array(inputs)) = request.remove("inputs") else {
        return Err(Status::invalid_argument(
            "the request needs an 'inputs' array",
        ));
    };
    let inputs = inputs
        .into_iter()
        .map(|input| decode_input(input, &mut binary))
        .collect::<Result<Vec<_>, _>>()?;
    if !binary.is_empty() {
        return Err(Status::invalid_argument(format!(
            "{} bytes of binary data follow the JSON that no input's binary_data_size claims",
            binary.len()
        )));
    }
    let outputs = decode_outputs(request.remove("outputs"), &mut binary_outputs)?;
    let request = InferRequest {
        model_name,
        model_version,
        id,
        signature,
        inputs,
        outputs,
        input_bytes: body.len(),
    };
    Ok((request, binary_outputs))
}

/// The `outputs` array: the names asked for, in order, each output's `binary_data` choice noted
/// in `binary`.
fn decode_outputs(
    outputs: Option<Value>,
    binary: &mut BinaryOutputs,
) -> Result<Vec<String>, Status> {
    let outputs = match outputs {
        None => return Ok(Vec::new()),
        Some(Value::Array(outputs)) => outputs,
        Some(_) => return Err(Status::invalid_argument("'outputs' must be an array")),
    };
    outputs
        .into_iter()
        .map(|o| {
            let Value::Object(mut o) = o else {
                return Err(Status::invalid_argument(
                    "each requested output must be an object",
                ));
            };
            let Some(Value::String(name)) = o.remove("name") else {
                return Err(Status::invalid_argument(
                    "each requested output needs a 'name' string",
                ));
            };
            let of = format!("output '{name}'");
            if let Some(mut p) = parameters(o.remove("parameters"), &of)?
                && p.contains_key("binary_data")
            {
                let wanted = flag(&mut p, "binary_data")?;
                binary.named.push((name.clone(), wanted));
            }
            Ok(name)
        })
        .collect()
}

/// A boolean parameter, `false` when absent.
fn flag(parameters: &mut Map<String, Value>, name: &str) -> Result<bool, Status> {
    match parameters.remove(name) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(b),
        Some(_) => Err(Status::invalid_argument(format!(
            "parameter '{name}' must be a boolean"
        ))),
    }
}

/// A `parameters` object, if present.
fn parameters(value: Option<Value>, of: &str) -> Result<Option<Map<String, Value>>, Status> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(Status::invalid_argument(format!(
            "'parameters' of {of} must be an object"
        ))),
    }
}

/// One `inputs` entry: `{"name", "shape", "datatype", "data"}`, or with `binary_data_size` in
/// its `parameters` instead of `data`, its elements taken from the front of `binary`.
fn decode_input(value: Value, binary: &mut &[u8]) -> Result<(String, Tensor), Status> {
    let Value::Object(mut input) = value else {
        return Err(Status::invalid_argument("each input must be an object"));
    };
    let Some(Value::String(name)) = input.remove("name") else {
        return Err(Status::invalid_argument("each input needs a 'name' string"));
    };
    let bad = |what: &str| Status::invalid_argument(format!("input '{name}': {what}"));
    let Some(Value::String(type_name)) = input.remove("datatype") else {
        return Err(bad("needs a 'datatype' string"));
    };
    let Some(Value::Array(dims)) = input.remove("shape") else {
        return Err(bad("needs a 'shape' array"));
    };
    let dims = dims
        .iter()
        .map(Value::as_i64)
        .collect::<Option<Vec<i64>>>()
        .ok_or_else(|| bad("shape dimensions must be integers"))?;
    let layout = layout(&name, &type_name, &dims)?;
    let binary_size = match parameters(input.remove("parameters"), &format!("input '{name}'"))?
        .and_then(|mut p| p.remove("binary_data_size"))
    {
        None => None,
        Some(size) => Some(
            size.as_u64()
                .and_then(|s| usize::try_from(s).ok())
                .ok_or_else(|| bad("binary_data_size must be a non-negative integer"))?,
        ),
    };
    if let Some(size) = binary_size {
        if input.contains_key("data") {
            return Err(bad("has both 'data' and binary_data_size"));
        }
        if size > binary.len() {
            return Err(bad(&format!(
                "binary_data_size is {size} but only {} bytes of binary data remain",
                binary.len()
            )));
        }
        let (raw, rest) = binary.split_at(size);
        *binary = rest;
        let tensor = from_raw(&name, layout, raw)?;
        return Ok((name, tensor));
    }
    let Some(data) = input.remove("data") else {
        return Err(bad("needs 'data' (or binary_data_size)"));
    };
    let count = layout.count;
    let mut elements = Vec::new();
    flatten(data, &mut elements, count).map_err(|e| bad(&e))?;
    if elements.len() != count {
        return Err(bad(&format!(
            "shape {:?} holds {count} elements but data has {}",
            layout.shape,
            elements.len()
        )));
    }
    let data = elements_to_data(layout.dtype, elements).map_err(|e| bad(&e))?;
    let tensor = Tensor::new(layout.shape, data).map_err(|e| bad(e.message()))?;
    Ok((name, tensor))
}

/// Row-major leaves of nested arrays, stopping as soon as there are more than `limit`.
fn flatten(value: Value, out: &mut Vec<Value>, limit: usize) -> Result<(), String> {
    match value {
        Value::Array(items) => {
            for item in items {
                flatten(item, out, limit)?;
            }
        }
        leaf => {
            if out.len() == limit {
                return Err(format!("data has more than the shape's {limit} elements"));
            }
            out.push(leaf);
        }
    }
    Ok(())
}

fn elements_to_data(dtype: DType, elements: Vec<Value>) -> Result<TensorData, String> {
    fn each<T>(
        elements: Vec<Value>,
        what: &str,
        convert: impl Fn(&Value) -> Option<T>,
    ) -> Result<Vec<T>, String> {
        elements
            .iter()
            .map(|v| convert(v).ok_or_else(|| format!("{v} is not a valid {what} element")))
            .collect()
    }
    fn int<T: TryFrom<i64> + TryFrom<u64>>(v: &Value) -> Option<T> {
        match v {
            Value::Number(n) => n
                .as_i64()
                .and_then(|i| T::try_from(i).ok())
                .or_else(|| n.as_u64().and_then(|u| T::try_from(u).ok())),
            _ => None,
        }
    }
    let name = datatype::name(dtype);
    Ok(match dtype {
        DType::Bool => TensorData::Bool(each(elements, name, Value::as_bool)?),
        DType::U8 => TensorData::U8(each(elements, name, int)?),
        DType::U16 => TensorData::U16(each(elements, name, int)?),
        DType::U32 => TensorData::U32(each(elements, name, int)?),
        DType::U64 => TensorData::U64(each(elements, name, int)?),
        DType::I8 => TensorData::I8(each(elements, name, int)?),
        DType::I16 => TensorData::I16(each(elements, name, int)?),
        DType::I32 => TensorData::I32(each(elements, name, int)?),
        DType::I64 => TensorData::I64(each(elements, name, int)?),
        DType::F32 => TensorData::F32(each(elements, name, |v| v.as_f64().map(|f| f as f32))?),
        DType::F64 => TensorData::F64(each(elements, name, Value::as_f64)?),
        DType::String => TensorData::String(each(elements, name, |v| {
            v.as_str().map(|s| s.as_bytes().to_vec())
        })?),
        DType::F16 => {
            return Err(
                "FP16 has no JSON form; send it through the gRPC API as raw contents".into(),
            );
        }
    })
}

/// The inference response body, and the length of its JSON part when binary data follows it
/// (the value of the answer's `Inference-Header-Content-Length`).
pub fn encode_infer(
    response: &InferResponse,
    binary: &BinaryOutputs,
) -> Result<(Vec<u8>, Option<usize>), Status> {
    let mut out = Vec::with_capacity(128);
    let mut tail = Vec::new();
    out.extend_from_slice(b"{\"model_name\":");
    string(&mut out, &response.model_name);
    out.extend_from_slice(b",\"model_version\":");
    string(&mut out, &response.model_version);
    if !response.id.is_empty() {
        out.extend_from_slice(b",\"id\":");
        string(&mut out, &response.id);
    }
    out.extend_from_slice(b",\"outputs\":[");
    for (i, (name, tensor)) in response.outputs.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"name\":");
        string(&mut out, name);
        out.extend_from_slice(b",\"datatype\":");
        string(&mut out, datatype::name(tensor.dtype()));
        out.extend_from_slice(b",\"shape\":");
        write_json(&mut out, tensor.shape());
        if binary.binary(name) {
            let raw = to_raw(tensor.data())?;
            out.extend_from_slice(b",\"parameters\":{\"binary_data_size\":");
            write_json(&mut out, &raw.len());
            out.push(b'}');
            tail.extend_from_slice(&raw);
        } else {
            out.extend_from_slice(b",\"data\":");
            data(&mut out, name, tensor.data())?;
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
    if tail.is_empty() {
        return Ok((out, None));
    }
    let json_length = out.len();
    out.extend_from_slice(&tail);
    Ok((out, Some(json_length)))
}

/// A tensor's elements as a flat JSON array.
fn data(out: &mut Vec<u8>, name: &str, data: &TensorData) -> Result<(), Status> {
    fn list<T>(out: &mut Vec<u8>, items: &[T], mut one: impl FnMut(&mut Vec<u8>, &T)) {
        out.push(b'[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            one(out, item);
        }
        out.push(b']');
    }
    match data {
        TensorData::F32(v) => list(out, v, |o, &x| float(o, x, x as f64)),
        TensorData::F64(v) => list(out, v, |o, &x| float(o, x, x)),
        TensorData::I8(v) => write_json(out, v),
        TensorData::I16(v) => write_json(out, v),
        TensorData::I32(v) => write_json(out, v),
        TensorData::I64(v) => write_json(out, v),
        TensorData::U8(v) => write_json(out, v),
        TensorData::U16(v) => write_json(out, v),
        TensorData::U32(v) => write_json(out, v),
        TensorData::U64(v) => write_json(out, v),
        TensorData::Bool(v) => write_json(out, v),
        TensorData::String(v) => {
            let texts = v
                .iter()
                .map(|bytes| std::str::from_utf8(bytes))
                .collect::<Result<Vec<&str>, _>>()
                .map_err(|_| {
                    Status::failed_precondition(format!(
                        "output '{name}' holds bytes that are not UTF-8, which JSON cannot carry; ask for it as binary data"
                    ))
                })?;
            write_json(out, &texts);
        }
        TensorData::F16(_) => {
            return Err(Status::failed_precondition(format!(
                "output '{name}' is FP16, which has no JSON form; ask for it as binary data"
            )));
        }
    }
    Ok(())
}

/// A float in its shortest form as type `T`; non-finite values as Python's `json` writes them.
fn float<T: serde::Serialize>(out: &mut Vec<u8>, value: T, as_f64: f64) {
    if as_f64.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if as_f64.is_infinite() {
        out.extend_from_slice(if as_f64 > 0.0 {
            b"Infinity"
        } else {
            b"-Infinity"
        });
    } else {
        write_json(out, &value);
    }
}

fn string(out: &mut Vec<u8>, s: &str) {
    write_json(out, s);
}

fn write_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    serde_json::to_writer(out, value).expect("writing JSON to a Vec cannot fail");
}

/// `GET /v2`.
pub fn encode_server_metadata() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "name": SERVER_NAME,
        "version": env!("CARGO_PKG_VERSION"),
        "extensions": EXTENSIONS,
    }))
    .expect("a JSON value encodes")
}

/// `GET /v2/models/NAME[/versions/V]`.
pub fn encode_model_metadata(metadata: &ModelMetadata) -> Vec<u8> {
    let tensors = |list: &[TensorMetadata]| -> Vec<Value> {
        list.iter()
            .map(|t| serde_json::json!({"name": t.name, "datatype": t.datatype, "shape": t.shape}))
            .collect()
    };
    serde_json::to_vec(&serde_json::json!({
        "name": metadata.name,
        "versions": metadata.versions,
        "platform": metadata.platform,
        "inputs": tensors(&metadata.inputs),
        "outputs": tensors(&metadata.outputs),
    }))
    .expect("a JSON value encodes")
}

#[cfg(test)]
mod tests;
