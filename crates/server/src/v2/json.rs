//! The Open Inference Protocol's JSON bodies (REST): inference requests decoded into
//! [`InferRequest`], responses and metadata encoded.
//!
//! A tensor's `data` may be flat or nested arrays in row-major order; either way its element
//! count must equal the product of its `shape`. Elements must fit the datatype exactly: an
//! integer type takes integral numbers within its range, `BOOL` takes `true`/`false`, `BYTES`
//! takes strings (their UTF-8 bytes). `FP16` has no JSON form here (TF Serving's JSON has none
//! either); the gRPC API carries it as raw bytes. Floats are written in their shortest
//! round-tripping form, non-finite ones as `NaN`, `Infinity` and `-Infinity` (what Python's
//! `json` reads and writes).

use serde_json::{Map, Value};
use tensorserve_core::{DType, Status, Tensor, TensorData};

use super::datatype;
use super::infer::{InferRequest, InferResponse};
use super::metadata::{EXTENSIONS, ModelMetadata, SERVER_NAME, TensorMetadata};

/// Decodes an inference request body for `model_name` at `model_version` (from the path).
pub fn decode_infer(
    body: &[u8],
    model_name: String,
    model_version: String,
) -> Result<InferRequest, Status> {
    let value: Value = serde_json::from_slice(body)
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
    let signature = match parameters(request.remove("parameters"), "the request")?
        .and_then(|mut p| p.remove("signature_name"))
    {
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
        .map(decode_input)
        .collect::<Result<Vec<_>, _>>()?;
    let outputs = match request.remove("outputs") {
        None => Vec::new(),
        Some(Value::Array(outputs)) => outputs
            .into_iter()
            .map(|o| match o {
                Value::Object(mut o) => match o.remove("name") {
                    Some(Value::String(name)) => Ok(name),
                    _ => Err(Status::invalid_argument(
                        "each requested output needs a 'name' string",
                    )),
                },
                _ => Err(Status::invalid_argument(
                    "each requested output must be an object",
                )),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(Status::invalid_argument("'outputs' must be an array")),
    };
    Ok(InferRequest {
        model_name,
        model_version,
        id,
        signature,
        inputs,
        outputs,
        input_bytes: body.len(),
    })
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

/// One `inputs` entry: `{"name", "shape", "datatype", "data"}`.
fn decode_input(value: Value) -> Result<(String, Tensor), Status> {
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
    let dtype = datatype::parse(&type_name)
        .ok_or_else(|| bad(&format!("unknown datatype '{type_name}'")))?;
    let Some(Value::Array(dims)) = input.remove("shape") else {
        return Err(bad("needs a 'shape' array"));
    };
    let shape = dims
        .iter()
        .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()))
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| bad("shape dimensions must be non-negative integers"))?;
    let count = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| bad("the shape has too many elements"))?;
    let Some(data) = input.remove("data") else {
        return Err(bad("needs 'data'"));
    };
    let mut elements = Vec::new();
    flatten(data, &mut elements, count).map_err(|e| bad(&e))?;
    if elements.len() != count {
        return Err(bad(&format!(
            "shape {shape:?} holds {count} elements but data has {}",
            elements.len()
        )));
    }
    let data = elements_to_data(dtype, elements).map_err(|e| bad(&e))?;
    let tensor = Tensor::new(shape, data).map_err(|e| bad(e.message()))?;
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

/// The inference response body.
pub fn encode_infer(response: &InferResponse) -> Result<Vec<u8>, Status> {
    let mut out = Vec::with_capacity(128);
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
        out.extend_from_slice(b",\"data\":");
        data(&mut out, name, tensor.data())?;
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
    Ok(out)
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
                        "output '{name}' holds bytes that are not UTF-8, which JSON cannot carry; use the gRPC API"
                    ))
                })?;
            write_json(out, &texts);
        }
        TensorData::F16(_) => {
            return Err(Status::failed_precondition(format!(
                "output '{name}' is FP16, which has no JSON form; use the gRPC API"
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
