//! Tensor elements of the Open Inference Protocol, to and from
//! [`Tensor`]: the typed `InferTensorContents` fields and the "raw" byte buffers
//! (`raw_input_contents` / `raw_output_contents`).
//!
//! Typed contents: each datatype has one field (`INT8`, `INT16` and `INT32` share
//! `int_contents`, the unsigned ones `uint_contents`), which must hold exactly the shape's
//! element count; a value that does not fit a narrower type is refused rather than truncated.
//! `FP16` has no field, so it only travels raw.
//!
//! Raw buffers: the elements in row-major order, little-endian, without padding; `BOOL` one byte
//! (0 or 1) each; `BYTES` each as a 4-byte little-endian length followed by the bytes (Triton's
//! framing, what `tritonclient` writes and reads). REST's binary tensor data extension carries
//! the same buffers after the JSON ([`super::json`]).
//!
//! Every check that a length matches the shape comes before the allocation it would size, so a
//! shape that claims more elements than the message carries costs nothing.

use tensorserve_core::{DType, Status, Tensor, TensorData};
use tensorserve_proto::inference::InferTensorContents;

use super::datatype;

/// A tensor's declared datatype and shape, checked: what its elements must add up to.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// The element type.
    pub dtype: DType,
    /// The dimensions.
    pub shape: Vec<usize>,
    /// The product of the dimensions.
    pub count: usize,
}

/// Checks the `datatype` and `shape` of the input `name`.
pub fn layout(name: &str, type_name: &str, shape: &[i64]) -> Result<Layout, Status> {
    let dtype = datatype::parse(type_name)
        .ok_or_else(|| bad(name, format!("unknown datatype '{type_name}'")))?;
    let dims = shape
        .iter()
        .map(|&d| usize::try_from(d).ok())
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| {
            bad(
                name,
                format!("shape dimensions must be non-negative, got {shape:?}"),
            )
        })?;
    // A zero dimension makes the others irrelevant (an empty tensor), as `Tensor::new` counts.
    let count = if dims.contains(&0) {
        Some(0)
    } else {
        dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
    };
    let count = count.ok_or_else(|| bad(name, format!("shape {shape:?} has too many elements")))?;
    Ok(Layout {
        dtype,
        shape: dims,
        count,
    })
}

/// The tensor that `contents` (absent: no elements) holds for the input `name`.
pub fn from_contents(
    name: &str,
    layout: Layout,
    contents: Option<InferTensorContents>,
) -> Result<Tensor, Status> {
    let contents = contents.unwrap_or_default();
    let given = field_lengths(&contents);
    let Some(field) = field_of(layout.dtype) else {
        // FP16: nothing may be given as typed contents, and an empty FP16 tensor is fine.
        if given.iter().any(|&(_, n)| n > 0) || layout.count > 0 {
            return Err(fp16_contents(name));
        }
        return tensor(name, layout.shape, TensorData::F16(Vec::new()));
    };
    for (other, n) in given {
        if other != field && n > 0 {
            return Err(bad(
                name,
                format!(
                    "datatype {} takes its elements in {field}, but {other} holds {n}",
                    datatype::name(layout.dtype)
                ),
            ));
        }
    }
    let n = given
        .iter()
        .find(|(f, _)| *f == field)
        .map_or(0, |&(_, n)| n);
    if n != layout.count {
        return Err(bad(
            name,
            format!(
                "shape {:?} holds {} elements but {field} has {n}",
                layout.shape, layout.count
            ),
        ));
    }
    let c = contents;
    let data = match layout.dtype {
        DType::Bool => TensorData::Bool(c.bool_contents),
        DType::I8 => TensorData::I8(narrow(name, c.int_contents, "INT8")?),
        DType::I16 => TensorData::I16(narrow(name, c.int_contents, "INT16")?),
        DType::I32 => TensorData::I32(c.int_contents),
        DType::I64 => TensorData::I64(c.int64_contents),
        DType::U8 => TensorData::U8(narrow(name, c.uint_contents, "UINT8")?),
        DType::U16 => TensorData::U16(narrow(name, c.uint_contents, "UINT16")?),
        DType::U32 => TensorData::U32(c.uint_contents),
        DType::U64 => TensorData::U64(c.uint64_contents),
        DType::F32 => TensorData::F32(c.fp32_contents),
        DType::F64 => TensorData::F64(c.fp64_contents),
        DType::String => TensorData::String(c.bytes_contents),
        // Not reached: FP16 has no field and was answered above.
        DType::F16 => return Err(fp16_contents(name)),
    };
    tensor(name, layout.shape, data)
}

/// The tensor that the raw buffer `raw` holds for the input `name`.
pub fn from_raw(name: &str, layout: Layout, raw: &[u8]) -> Result<Tensor, Status> {
    let Some(size) = layout.dtype.size_of() else {
        let strings = split_bytes(name, raw, layout.count)?;
        return tensor(name, layout.shape, TensorData::String(strings));
    };
    let needed = layout.count.checked_mul(size);
    if needed != Some(raw.len()) {
        return Err(bad(
            name,
            format!(
                "raw contents hold {} bytes but shape {:?} of {} needs {}",
                raw.len(),
                layout.shape,
                datatype::name(layout.dtype),
                needed.map_or_else(|| "more".to_string(), |n| n.to_string())
            ),
        ));
    }
    let data = match layout.dtype {
        DType::Bool => TensorData::Bool(
            raw.iter()
                .map(|&b| match b {
                    0 => Ok(false),
                    1 => Ok(true),
                    other => Err(bad(
                        name,
                        format!("raw BOOL elements are 0 or 1 bytes, got {other}"),
                    )),
                })
                .collect::<Result<_, _>>()?,
        ),
        DType::I8 => TensorData::I8(from_le(raw, i8::from_le_bytes)),
        DType::I16 => TensorData::I16(from_le(raw, i16::from_le_bytes)),
        DType::I32 => TensorData::I32(from_le(raw, i32::from_le_bytes)),
        DType::I64 => TensorData::I64(from_le(raw, i64::from_le_bytes)),
        DType::U8 => TensorData::U8(raw.to_vec()),
        DType::U16 => TensorData::U16(from_le(raw, u16::from_le_bytes)),
        DType::U32 => TensorData::U32(from_le(raw, u32::from_le_bytes)),
        DType::U64 => TensorData::U64(from_le(raw, u64::from_le_bytes)),
        DType::F16 => TensorData::F16(from_le(raw, u16::from_le_bytes)),
        DType::F32 => TensorData::F32(from_le(raw, f32::from_le_bytes)),
        DType::F64 => TensorData::F64(from_le(raw, f64::from_le_bytes)),
        // Not reached: BYTES has no fixed size and was split above.
        DType::String => TensorData::String(split_bytes(name, raw, layout.count)?),
    };
    tensor(name, layout.shape, data)
}

/// `data` in its typed contents field, or `None` for FP16, which has none.
pub fn to_contents(data: TensorData) -> Option<InferTensorContents> {
    let mut c = InferTensorContents::default();
    match data {
        TensorData::Bool(v) => c.bool_contents = v,
        TensorData::I8(v) => c.int_contents = v.into_iter().map(i32::from).collect(),
        TensorData::I16(v) => c.int_contents = v.into_iter().map(i32::from).collect(),
        TensorData::I32(v) => c.int_contents = v,
        TensorData::I64(v) => c.int64_contents = v,
        TensorData::U8(v) => c.uint_contents = v.into_iter().map(u32::from).collect(),
        TensorData::U16(v) => c.uint_contents = v.into_iter().map(u32::from).collect(),
        TensorData::U32(v) => c.uint_contents = v,
        TensorData::U64(v) => c.uint64_contents = v,
        TensorData::F32(v) => c.fp32_contents = v,
        TensorData::F64(v) => c.fp64_contents = v,
        TensorData::String(v) => c.bytes_contents = v,
        TensorData::F16(_) => return None,
    }
    Some(c)
}

/// `data` as a raw buffer. Fails only for a BYTES element of 4 GiB or more, whose length the
/// 4-byte prefix cannot state.
pub fn to_raw(data: &TensorData) -> Result<Vec<u8>, Status> {
    fn le<const N: usize, T: Copy>(v: &[T], bytes: impl Fn(T) -> [u8; N]) -> Vec<u8> {
        let mut out = Vec::with_capacity(v.len() * N);
        for &x in v {
            out.extend_from_slice(&bytes(x));
        }
        out
    }
    Ok(match data {
        TensorData::Bool(v) => v.iter().map(|&b| u8::from(b)).collect(),
        TensorData::I8(v) => le(v, i8::to_le_bytes),
        TensorData::I16(v) => le(v, i16::to_le_bytes),
        TensorData::I32(v) => le(v, i32::to_le_bytes),
        TensorData::I64(v) => le(v, i64::to_le_bytes),
        TensorData::U8(v) => v.clone(),
        TensorData::U16(v) | TensorData::F16(v) => le(v, u16::to_le_bytes),
        TensorData::U32(v) => le(v, u32::to_le_bytes),
        TensorData::U64(v) => le(v, u64::to_le_bytes),
        TensorData::F32(v) => le(v, f32::to_le_bytes),
        TensorData::F64(v) => le(v, f64::to_le_bytes),
        TensorData::String(v) => {
            let mut out = Vec::with_capacity(v.iter().map(|s| 4 + s.len()).sum());
            for s in v {
                let len = u32::try_from(s.len()).map_err(|_| {
                    Status::internal(format!(
                        "a BYTES element of {} bytes is too long for raw contents",
                        s.len()
                    ))
                })?;
                out.extend_from_slice(&len.to_le_bytes());
                out.extend_from_slice(s);
            }
            out
        }
    })
}

/// A tensor's shape as the protocol writes it.
pub fn shape_to_proto(shape: &[usize]) -> Vec<i64> {
    shape
        .iter()
        .map(|&d| i64::try_from(d).unwrap_or(i64::MAX))
        .collect()
}

/// The typed contents field of `dtype`; `None` for FP16.
fn field_of(dtype: DType) -> Option<&'static str> {
    Some(match dtype {
        DType::Bool => "bool_contents",
        DType::I8 | DType::I16 | DType::I32 => "int_contents",
        DType::I64 => "int64_contents",
        DType::U8 | DType::U16 | DType::U32 => "uint_contents",
        DType::U64 => "uint64_contents",
        DType::F32 => "fp32_contents",
        DType::F64 => "fp64_contents",
        DType::String => "bytes_contents",
        DType::F16 => return None,
    })
}

/// How many elements each typed field holds.
fn field_lengths(c: &InferTensorContents) -> [(&'static str, usize); 8] {
    [
        ("bool_contents", c.bool_contents.len()),
        ("int_contents", c.int_contents.len()),
        ("int64_contents", c.int64_contents.len()),
        ("uint_contents", c.uint_contents.len()),
        ("uint64_contents", c.uint64_contents.len()),
        ("fp32_contents", c.fp32_contents.len()),
        ("fp64_contents", c.fp64_contents.len()),
        ("bytes_contents", c.bytes_contents.len()),
    ]
}

/// Whether `contents` carries any element (an empty message is as good as none).
pub fn has_elements(contents: Option<&InferTensorContents>) -> bool {
    contents.is_some_and(|c| field_lengths(c).iter().any(|&(_, n)| n > 0))
}

/// The `count` length-prefixed BYTES elements of `raw`, which must hold exactly those.
fn split_bytes(name: &str, raw: &[u8], count: usize) -> Result<Vec<Vec<u8>>, Status> {
    // Each element takes at least its 4-byte prefix: a larger count cannot be right, and
    // reserving for it would let the shape size the allocation.
    let mut out = Vec::with_capacity(count.min(raw.len() / 4));
    let mut rest = raw;
    while !rest.is_empty() {
        if out.len() == count {
            return Err(bad(
                name,
                format!(
                    "raw BYTES contents hold more than the shape's {count} elements ({} bytes left)",
                    rest.len()
                ),
            ));
        }
        let Some((prefix, tail)) = rest.split_first_chunk::<4>() else {
            return Err(bad(
                name,
                format!(
                    "raw BYTES element {} is truncated: {} bytes left, a 4-byte length expected",
                    out.len(),
                    rest.len()
                ),
            ));
        };
        let len = u32::from_le_bytes(*prefix) as usize;
        if tail.len() < len {
            return Err(bad(
                name,
                format!(
                    "raw BYTES element {} is truncated: its length is {len} but {} bytes are left",
                    out.len(),
                    tail.len()
                ),
            ));
        }
        let (element, tail) = tail.split_at(len);
        out.push(element.to_vec());
        rest = tail;
    }
    if out.len() != count {
        return Err(bad(
            name,
            format!(
                "raw BYTES contents hold {} elements but the shape needs {count}",
                out.len()
            ),
        ));
    }
    Ok(out)
}

/// Narrows typed-field values to `T`, refusing any that do not fit.
fn narrow<T: TryFrom<S>, S: Copy + std::fmt::Display>(
    name: &str,
    values: Vec<S>,
    type_name: &str,
) -> Result<Vec<T>, Status> {
    values
        .into_iter()
        .map(|v| {
            T::try_from(v).map_err(|_| bad(name, format!("{v} is out of range for {type_name}")))
        })
        .collect()
}

/// The elements of `raw`, `N` little-endian bytes each (its length is a multiple of `N`).
fn from_le<const N: usize, T>(raw: &[u8], from: impl Fn([u8; N]) -> T) -> Vec<T> {
    raw.as_chunks::<N>().0.iter().map(|&b| from(b)).collect()
}

/// FP16 given as typed contents.
fn fp16_contents(name: &str) -> Status {
    bad(
        name,
        "FP16 has no typed contents field; send FP16 tensors in raw_input_contents",
    )
}

fn tensor(name: &str, shape: Vec<usize>, data: TensorData) -> Result<Tensor, Status> {
    Tensor::new(shape, data).map_err(|e| bad(name, e.message()))
}

/// INVALID_ARGUMENT about the input `name`.
fn bad(name: &str, what: impl std::fmt::Display) -> Status {
    Status::invalid_argument(format!("input '{name}': {what}"))
}

#[cfg(test)]
mod tests;
