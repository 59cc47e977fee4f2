//! Predict response and error body encoding (`MakeJsonFromTensors`, `MakeJsonFromStatus`,
//! reference §1.7), byte-identical to TF Serving's rapidjson output.
//!
//! Row responses switch the writer to single-line arrays for each batch item and back, which
//! is what yields `"predictions": [2.5, 3.0, 4.5\n    ]`. Outputs are written in alias order
//! (`BTreeMap`), matching what TF Serving's ordered proto map produces in practice.

use std::collections::BTreeMap;

use super::b64;
use super::predict::RequestFormat;
use super::writer::PrettyWriter;
use crate::{Status, Tensor, TensorData};

/// Encodes outputs for a request of the given format.
pub fn predict_response(
    outputs: &BTreeMap<String, Tensor>,
    format: RequestFormat,
) -> Result<Vec<u8>, Status> {
    if outputs.is_empty() {
        return Err(Status::invalid_argument(
            "Cannot convert empty tensor map to JSON",
        ));
    }
    let mut out = Vec::with_capacity(64 + outputs.values().map(Tensor::len).sum::<usize>() * 12);
    match format {
        RequestFormat::Row => write_rows(outputs, &mut out)?,
        RequestFormat::Columnar => write_columns(outputs, &mut out)?,
    }
    Ok(out)
}

/// `{"predictions": [...]}`: dim 0 is the batch, one entry (or object of outputs) per item.
fn write_rows(outputs: &BTreeMap<String, Tensor>, out: &mut Vec<u8>) -> Result<(), Status> {
    let mut batch: Option<usize> = None;
    for (name, tensor) in outputs {
        let Some(&size) = tensor.shape().first() else {
            return Err(Status::invalid_argument(format!(
                "Tensor name: {name} has no shape information "
            )));
        };
        if let Some(expected) = batch.filter(|&b| b != size) {
            return Err(Status::invalid_argument(format!(
                "Tensor name: {name} has inconsistent batch size: {size} expecting: {expected}"
            )));
        }
        batch = Some(size);
    }
    let mut offsets = vec![0usize; outputs.len()];
    let objects = outputs.len() > 1;
    let mut w = PrettyWriter::new(out);
    w.start_object();
    w.key(b"predictions");
    w.start_array();
    for _ in 0..batch.unwrap_or(0) {
        if objects {
            w.start_object();
        }
        w.set_single_line_arrays(true);
        for ((name, tensor), offset) in outputs.iter().zip(offsets.iter_mut()) {
            if objects {
                w.key(name.as_bytes());
            }
            let as_bytes = name.ends_with("_bytes");
            write_values(
                &mut w,
                tensor.data(),
                &tensor.shape()[1..],
                offset,
                as_bytes,
            )?;
        }
        w.set_single_line_arrays(false);
        if objects {
            w.end_object();
        }
    }
    w.end_array();
    w.end_object();
    Ok(())
}

/// `{"outputs": value}` or `{"outputs": {alias: value, …}}`, default layout throughout.
fn write_columns(outputs: &BTreeMap<String, Tensor>, out: &mut Vec<u8>) -> Result<(), Status> {
    let objects = outputs.len() > 1;
    let mut w = PrettyWriter::new(out);
    w.start_object();
    w.key(b"outputs");
    if objects {
        w.start_object();
    }
    for (name, tensor) in outputs {
        if objects {
            w.key(name.as_bytes());
        }
        let mut offset = 0;
        let as_bytes = name.ends_with("_bytes");
        write_values(&mut w, tensor.data(), tensor.shape(), &mut offset, as_bytes)?;
    }
    if objects {
        w.end_object();
    }
    w.end_object();
    Ok(())
}

/// The values at `offset` shaped by `dims` (a bare value when `dims` is empty), advancing
/// `offset`. Recursion depth is the tensor rank.
fn write_values(
    w: &mut PrettyWriter<'_>,
    data: &TensorData,
    dims: &[usize],
    offset: &mut usize,
    as_bytes: bool,
) -> Result<(), Status> {
    let Some((&n, inner)) = dims.split_first() else {
        write_run(w, data, *offset, 1, as_bytes)?;
        *offset += 1;
        return Ok(());
    };
    w.start_array();
    if inner.is_empty() {
        write_run(w, data, *offset, n, as_bytes)?;
        *offset += n;
    } else {
        for _ in 0..n {
            write_values(w, data, inner, offset, as_bytes)?;
        }
    }
    w.end_array();
    Ok(())
}

/// `n` consecutive values from `start`, with the dtype dispatch hoisted out of the loop.
fn write_run(
    w: &mut PrettyWriter<'_>,
    data: &TensorData,
    start: usize,
    n: usize,
    as_bytes: bool,
) -> Result<(), Status> {
    if n == 0 {
        return Ok(());
    }
    let range = start..start + n;
    match data {
        TensorData::F32(v) => v[range].iter().for_each(|&x| w.f32(x)),
        TensorData::F64(v) => v[range].iter().for_each(|&x| w.f64(x)),
        TensorData::I32(v) => v[range].iter().for_each(|&x| w.int(i64::from(x))),
        TensorData::I16(v) => v[range].iter().for_each(|&x| w.int(i64::from(x))),
        TensorData::I8(v) => v[range].iter().for_each(|&x| w.int(i64::from(x))),
        TensorData::U8(v) => v[range].iter().for_each(|&x| w.int(i64::from(x))),
        TensorData::I64(v) => v[range].iter().for_each(|&x| w.int(x)),
        TensorData::U32(v) => v[range].iter().for_each(|&x| w.uint(u64::from(x))),
        TensorData::U64(v) => v[range].iter().for_each(|&x| w.uint(x)),
        TensorData::Bool(v) => v[range].iter().for_each(|&x| w.bool(x)),
        TensorData::String(v) if as_bytes => v[range].iter().for_each(|s| {
            w.start_object();
            w.key(b"b64");
            w.string(b64::encode(s).as_bytes());
            w.end_object();
        }),
        TensorData::String(v) => v[range].iter().for_each(|s| w.string(s)),
        TensorData::F16(_) | TensorData::U16(_) => {
            return Err(Status::invalid_argument(format!(
                "Failed to write JSON value for tensor type: {}",
                data.dtype().short_name()
            )));
        }
    }
    Ok(())
}

/// The REST error body, `{\n    "error": "<message>"\n}` with no trailing newline.
pub fn error_body(message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 24);
    let mut w = PrettyWriter::new(&mut out);
    w.start_object();
    w.key(b"error");
    w.string(message.as_bytes());
    w.end_object();
    out
}
