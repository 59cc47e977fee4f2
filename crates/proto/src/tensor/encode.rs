//! [`Tensor`] → `TensorProto`, as `Tensor::AsProtoField` / `Tensor::AsProtoTensorContent` write it.

use tensorserve_core::{Tensor, TensorData};

use super::{TensorEncoding, string_list};
use crate::tensorflow::{TensorProto, TensorShapeProto, tensor_shape_proto};

/// Encodes a tensor; `dtype` and `tensor_shape` are always set, even for scalars and empty
/// tensors, and an empty tensor carries no values.
pub fn tensor_to_proto(tensor: &Tensor, encoding: TensorEncoding) -> TensorProto {
    let mut proto = header(tensor);
    match encoding {
        TensorEncoding::TypedFields => fill_fields(&mut proto, tensor.data().clone()),
        TensorEncoding::TensorContent => fill_content(&mut proto, tensor.data()),
    }
    proto
}

/// Like [`tensor_to_proto`], moving the values into their field instead of copying them (no
/// second allocation per output when the field has the tensor's element type).
pub fn tensor_into_proto(tensor: Tensor, encoding: TensorEncoding) -> TensorProto {
    let mut proto = header(&tensor);
    match encoding {
        TensorEncoding::TypedFields => fill_fields(&mut proto, tensor.into_parts().1),
        TensorEncoding::TensorContent => fill_content(&mut proto, tensor.data()),
    }
    proto
}

/// A dimension as `TensorShapeProto.Dim.size`: one held in memory always fits in `i64`.
pub(crate) fn dim_size(d: usize) -> i64 {
    i64::try_from(d).unwrap_or(i64::MAX)
}

fn header(tensor: &Tensor) -> TensorProto {
    TensorProto {
        dtype: tensor.dtype().tf_enum(),
        tensor_shape: Some(TensorShapeProto {
            dim: tensor
                .shape()
                .iter()
                .map(|&d| tensor_shape_proto::Dim {
                    size: dim_size(d),
                    name: String::new(),
                })
                .collect(),
            unknown_rank: false,
        }),
        ..TensorProto::default()
    }
}

/// Writes the typed field of the data's type, moving the values when the field has their
/// element type. Integers narrower than 32 bits widen into `int_val`, and half floats into
/// `half_val` as their bit patterns (zero-extended).
fn fill_fields(p: &mut TensorProto, data: TensorData) {
    match data {
        TensorData::F32(v) => p.float_val = v,
        TensorData::F64(v) => p.double_val = v,
        TensorData::I32(v) => p.int_val = v,
        TensorData::I8(v) => p.int_val = v.iter().map(|&x| i32::from(x)).collect(),
        TensorData::I16(v) => p.int_val = v.iter().map(|&x| i32::from(x)).collect(),
        TensorData::U8(v) => p.int_val = v.iter().map(|&x| i32::from(x)).collect(),
        TensorData::U16(v) => p.int_val = v.iter().map(|&x| i32::from(x)).collect(),
        TensorData::I64(v) => p.int64_val = v,
        TensorData::U32(v) => p.uint32_val = v,
        TensorData::U64(v) => p.uint64_val = v,
        TensorData::Bool(v) => p.bool_val = v,
        TensorData::F16(v) => p.half_val = v.iter().map(|&x| i32::from(x)).collect(),
        TensorData::String(v) => p.string_val = v,
    }
}

/// Writes `tensor_content`: little-endian element bytes (bools as 0/1 bytes), or TensorFlow's
/// string-list encoding for strings.
fn fill_content(p: &mut TensorProto, data: &TensorData) {
    fn le<T: Copy, const W: usize>(v: &[T], to: fn(T) -> [u8; W]) -> Vec<u8> {
        v.iter().flat_map(|&x| to(x)).collect()
    }
    if data.is_empty() {
        return;
    }
    p.tensor_content = match data {
        TensorData::F32(v) => le(v, f32::to_le_bytes),
        TensorData::F64(v) => le(v, f64::to_le_bytes),
        TensorData::I32(v) => le(v, i32::to_le_bytes),
        TensorData::I8(v) => le(v, i8::to_le_bytes),
        TensorData::I16(v) => le(v, i16::to_le_bytes),
        TensorData::U8(v) => v.clone(),
        TensorData::U16(v) => le(v, u16::to_le_bytes),
        TensorData::I64(v) => le(v, i64::to_le_bytes),
        TensorData::U32(v) => le(v, u32::to_le_bytes),
        TensorData::U64(v) => le(v, u64::to_le_bytes),
        TensorData::Bool(v) => v.iter().map(|&b| u8::from(b)).collect(),
        TensorData::F16(v) => le(v, u16::to_le_bytes),
        TensorData::String(v) => {
            let mut out = Vec::new();
            string_list::encode(v, &mut out);
            out
        }
    };
}
