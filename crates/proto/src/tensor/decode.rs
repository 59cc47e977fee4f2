//! `TensorProto` → [`Tensor`], with `Tensor::FromProto`'s rules (see the [parent](super) docs).

use tensorserve_core::{DType, Status, Tensor, TensorData};

use super::{
    DEFAULT_MAX_TENSOR_BYTES, check_bytes, dtype_from_proto, shape_from_proto, string_list,
};
use crate::tensorflow::TensorProto;

/// Decodes a tensor, copying its values, with the [`DEFAULT_MAX_TENSOR_BYTES`] cap.
pub fn tensor_from_proto(proto: &TensorProto) -> Result<Tensor, Status> {
    tensor_from_proto_with_limit(proto, DEFAULT_MAX_TENSOR_BYTES)
}

/// Decodes a tensor, refusing one whose values would take more than `max_bytes`.
pub fn tensor_from_proto_with_limit(
    proto: &TensorProto,
    max_bytes: usize,
) -> Result<Tensor, Status> {
    decode(Source::Borrowed(proto), max_bytes)
}

/// Decodes a tensor it owns, moving its values instead of copying them where they need no
/// change: `string_val`, and the typed field of a tensor whose element type it holds when it
/// has exactly the tensor's values (no broadcast), so that no second vector is allocated.
pub fn tensor_from_proto_owned(mut proto: TensorProto) -> Result<Tensor, Status> {
    decode(Source::Owned(&mut proto), DEFAULT_MAX_TENSOR_BYTES)
}

/// The proto being decoded: values are copied out of a borrowed one, moved out of an owned one.
enum Source<'a> {
    Borrowed(&'a TensorProto),
    Owned(&'a mut TensorProto),
}

impl Source<'_> {
    fn proto(&self) -> &TensorProto {
        match self {
            Source::Borrowed(p) => p,
            Source::Owned(p) => p,
        }
    }
}

fn decode(source: Source<'_>, max_bytes: usize) -> Result<Tensor, Status> {
    let proto = source.proto();
    let (shape, n) = shape_from_proto(proto.tensor_shape.as_ref())?;
    let dtype = dtype_from_proto(proto.dtype)?;
    let data = if n == 0 {
        TensorData::with_capacity(dtype, 0)
    } else if !proto.tensor_content.is_empty() {
        from_content(dtype, &proto.tensor_content, n, &shape, max_bytes)?
    } else {
        from_fields(dtype, source, n, max_bytes)?
    };
    Tensor::new(shape, data)
}

/// Reads the typed field of `dtype`, broadcasting its last value (see the parent docs).
fn from_fields(
    dtype: DType,
    source: Source<'_>,
    n: usize,
    max_bytes: usize,
) -> Result<TensorData, Status> {
    if let Some(width) = dtype.size_of() {
        check_bytes(n, n.saturating_mul(width), max_bytes, false)?;
    }
    // The field of the tensor's own element type: moved out of an owned proto when it holds
    // exactly `n` values, otherwise copied with the broadcast rule.
    macro_rules! same {
        ($field:ident) => {
            match source {
                Source::Owned(p) if p.$field.len() == n => std::mem::take(&mut p.$field),
                other => broadcast(&other.proto().$field, n, |v| v)?,
            }
        };
    }
    let p = source.proto();
    Ok(match dtype {
        DType::F32 => TensorData::F32(same!(float_val)),
        DType::F64 => TensorData::F64(same!(double_val)),
        DType::I32 => TensorData::I32(same!(int_val)),
        // The narrow integer types travel in int_val; C++ narrows by wrapping.
        DType::U8 => TensorData::U8(broadcast(&p.int_val, n, |v| v as u8)?),
        DType::I8 => TensorData::I8(broadcast(&p.int_val, n, |v| v as i8)?),
        DType::I16 => TensorData::I16(broadcast(&p.int_val, n, |v| v as i16)?),
        DType::U16 => TensorData::U16(broadcast(&p.int_val, n, |v| v as u16)?),
        DType::I64 => TensorData::I64(same!(int64_val)),
        DType::U32 => TensorData::U32(same!(uint32_val)),
        DType::U64 => TensorData::U64(same!(uint64_val)),
        DType::Bool => TensorData::Bool(same!(bool_val)),
        // Each half_val entry holds one 16-bit pattern.
        DType::F16 => TensorData::F16(broadcast(&p.half_val, n, |v| v as u16)?),
        DType::String => {
            let values = match source {
                Source::Owned(p) => std::mem::take(&mut p.string_val),
                Source::Borrowed(p) => p.string_val.clone(),
            };
            check_bytes(n, broadcast_payload(&values, n), max_bytes, true)?;
            TensorData::String(broadcast_strings(values, n)?)
        }
    })
}

/// `n` values from `src`: all of them if enough, else the last one repeated, else `T::default()`.
fn broadcast<S: Copy, T: Copy + Default>(
    src: &[S],
    n: usize,
    convert: impl Fn(S) -> T,
) -> Result<Vec<T>, Status> {
    let mut out = alloc(n)?;
    out.extend(src.iter().take(n).map(|&v| convert(v)));
    let fill = out.last().copied().unwrap_or_default();
    out.resize(n, fill);
    Ok(out)
}

fn broadcast_strings(mut values: Vec<Vec<u8>>, n: usize) -> Result<Vec<Vec<u8>>, Status> {
    if values.len() >= n {
        values.truncate(n);
        return Ok(values);
    }
    let extra = n - values.len();
    values
        .try_reserve_exact(extra)
        .map_err(|_| out_of_memory(n))?;
    let fill = values.last().cloned().unwrap_or_default();
    values.resize(n, fill);
    Ok(values)
}

/// The string bytes `broadcast_strings` will hold.
fn broadcast_payload(values: &[Vec<u8>], n: usize) -> usize {
    let kept: usize = values.iter().take(n).map(Vec::len).sum();
    let repeats = n.saturating_sub(values.len());
    let last = values.last().map_or(0, Vec::len);
    kept.saturating_add(repeats.saturating_mul(last))
}

/// Reads `tensor_content`, which must hold exactly `n` elements.
fn from_content(
    dtype: DType,
    bytes: &[u8],
    n: usize,
    shape: &[usize],
    max_bytes: usize,
) -> Result<TensorData, Status> {
    if let Some(width) = dtype.size_of() {
        let needed = n.checked_mul(width);
        if needed != Some(bytes.len()) {
            return Err(Status::invalid_argument(format!(
                "tensor_content has {} bytes but a {} tensor of shape {:?} needs {}",
                bytes.len(),
                dtype,
                shape,
                needed.map_or_else(|| "more than fit in memory".to_string(), |b| b.to_string())
            )));
        }
        check_bytes(n, bytes.len(), max_bytes, false)?;
    }
    Ok(match dtype {
        DType::F32 => TensorData::F32(le(bytes, f32::from_le_bytes)),
        DType::F64 => TensorData::F64(le(bytes, f64::from_le_bytes)),
        DType::I32 => TensorData::I32(le(bytes, i32::from_le_bytes)),
        DType::U8 => TensorData::U8(bytes.to_vec()),
        DType::I8 => TensorData::I8(le(bytes, i8::from_le_bytes)),
        DType::I16 => TensorData::I16(le(bytes, i16::from_le_bytes)),
        DType::U16 => TensorData::U16(le(bytes, u16::from_le_bytes)),
        DType::I64 => TensorData::I64(le(bytes, i64::from_le_bytes)),
        DType::U32 => TensorData::U32(le(bytes, u32::from_le_bytes)),
        DType::U64 => TensorData::U64(le(bytes, u64::from_le_bytes)),
        DType::F16 => TensorData::F16(le(bytes, u16::from_le_bytes)),
        DType::Bool => TensorData::Bool(bools(bytes)?),
        DType::String => TensorData::String(string_list::decode(bytes, n, max_bytes)?),
    })
}

/// Values from little-endian bytes whose length is already known to be a multiple of `W`.
fn le<const W: usize, T>(bytes: &[u8], from: fn([u8; W]) -> T) -> Vec<T> {
    let (chunks, _rest) = bytes.as_chunks::<W>();
    chunks.iter().map(|&c| from(c)).collect()
}

/// Bools from bytes; anything but 0 or 1 is rejected, as TensorFlow rejects trap values.
fn bools(bytes: &[u8]) -> Result<Vec<bool>, Status> {
    bytes
        .iter()
        .map(|&b| match b {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(Status::invalid_argument(format!(
                "tensor_content of a bool tensor holds byte {other}; only 0 and 1 are allowed"
            ))),
        })
        .collect()
}

fn alloc<T>(n: usize) -> Result<Vec<T>, Status> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| out_of_memory(n))?;
    Ok(v)
}

fn out_of_memory(n: usize) -> Status {
    Status::resource_exhausted(format!("cannot allocate a tensor of {n} elements"))
}
