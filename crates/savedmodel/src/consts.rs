//! Building and normalising `Const` tensors for the frozen graph.

use tensorserve_core::{DType, Tensor, TensorData, with_tensor_data};
use tract_tensorflow::tfpb::tensorflow::{TensorProto, TensorShapeProto, tensor_shape_proto};

/// A TensorProto holding `tensor`, numeric data as little-endian `tensor_content`.
pub fn tensor_to_proto(tensor: &Tensor) -> TensorProto {
    let shape = TensorShapeProto {
        dim: tensor
            .shape()
            .iter()
            .map(|&d| tensor_shape_proto::Dim {
                size: d as i64,
                name: String::new(),
            })
            .collect(),
        unknown_rank: false,
    };
    let mut proto = TensorProto {
        dtype: tensor.dtype().tf_enum(),
        tensor_shape: Some(shape),
        ..Default::default()
    };
    match tensor.data() {
        TensorData::String(v) => proto.string_val = v.clone(),
        TensorData::Bool(v) => proto.tensor_content = v.iter().map(|&b| b as u8).collect(),
        other => {
            let mut bytes = Vec::new();
            with_tensor_data!(other, v => push_le(&mut bytes, v));
            proto.tensor_content = bytes;
        }
    }
    proto
}

trait LeBytes {
    fn push_le(&self, out: &mut Vec<u8>);
}
macro_rules! le_bytes {
    ($($t:ty),*) => { $(impl LeBytes for $t { fn push_le(&self, out: &mut Vec<u8>) { out.extend_from_slice(&self.to_le_bytes()) } })* };
}
le_bytes!(f32, f64, i8, i16, i32, i64, u8, u16, u32, u64);
impl LeBytes for bool {
    fn push_le(&self, out: &mut Vec<u8>) {
        out.push(*self as u8)
    }
}
impl LeBytes for Vec<u8> {
    fn push_le(&self, _out: &mut Vec<u8>) {
        unreachable!("strings are stored in string_val")
    }
}

fn push_le<T: LeBytes>(out: &mut Vec<u8>, values: &[T]) {
    for v in values {
        v.push_le(out);
    }
}

/// How many bytes the compressed constants of one signature may expand to in total. TensorFlow
/// compresses constants that repeat their last value (zeros, fills), which real models keep
/// small; without a bound, a few bytes declaring a huge shape would make the importer allocate
/// gigabytes.
pub const MAX_EXPANDED_CONST_BYTES: usize = 64 << 20;

/// Expands TensorFlow's compressed constants. A typed value list shorter than the shape means
/// "repeat the last value"; an empty one means zeros. Engines that expect the full length would
/// otherwise reject the tensor (runtime-notes §1.5.2).
///
/// `budget` is how many bytes expansion may still add; it is reduced by what this call adds, and
/// a constant that would exceed it (or whose shape overflows) is an error, with nothing expanded.
pub fn normalize_const(proto: &mut TensorProto, budget: &mut usize) -> Result<(), String> {
    if !proto.tensor_content.is_empty() {
        return Ok(());
    }
    let Some(shape) = proto.tensor_shape.as_ref() else {
        return Ok(());
    };
    if shape.dim.iter().any(|d| d.size < 0) {
        return Ok(());
    }
    let n = shape
        .dim
        .iter()
        .try_fold(1usize, |n, d| n.checked_mul(usize::try_from(d.size).ok()?))
        .ok_or_else(|| {
            format!(
                "a constant of shape {:?} has too many elements",
                dims(shape)
            )
        })?;
    /// Pads `v` to `n` values with its last one; `size` is the bytes one copy of it costs.
    fn fill<T: Clone + Default>(
        v: &mut Vec<T>,
        n: usize,
        budget: &mut usize,
        size: impl Fn(&T) -> usize,
    ) -> Result<(), String> {
        if v.len() >= n {
            return Ok(());
        }
        let last = v.last().cloned().unwrap_or_default();
        let cost = (n - v.len()).saturating_mul(size(&last));
        if cost > *budget {
            return Err(format!(
                "a compressed constant of {n} elements would expand to {cost} bytes, over the \
                 {MAX_EXPANDED_CONST_BYTES}-byte limit for expanded constants"
            ));
        }
        *budget -= cost;
        v.resize(n, last);
        Ok(())
    }
    fn width<T>(_: &T) -> usize {
        std::mem::size_of::<T>()
    }
    use tract_tensorflow::tfpb::tensorflow::DataType as D;
    match D::try_from(proto.dtype) {
        Ok(D::DtFloat) => fill(&mut proto.float_val, n, budget, width),
        Ok(D::DtDouble) => fill(&mut proto.double_val, n, budget, width),
        Ok(D::DtInt32 | D::DtInt16 | D::DtInt8 | D::DtUint8 | D::DtUint16) => {
            fill(&mut proto.int_val, n, budget, width)
        }
        Ok(D::DtInt64) => fill(&mut proto.int64_val, n, budget, width),
        Ok(D::DtBool) => fill(&mut proto.bool_val, n, budget, width),
        Ok(D::DtString) => fill(&mut proto.string_val, n, budget, |s| width(s) + s.len()),
        Ok(D::DtHalf | D::DtBfloat16) => fill(&mut proto.half_val, n, budget, width),
        Ok(D::DtUint32) => fill(&mut proto.uint32_val, n, budget, width),
        Ok(D::DtUint64) => fill(&mut proto.uint64_val, n, budget, width),
        _ => Ok(()),
    }
}

fn dims(shape: &TensorShapeProto) -> Vec<i64> {
    shape.dim.iter().map(|d| d.size).collect()
}

/// Reads a (small) constant TensorProto into a core tensor: typed value fields or raw content,
/// with compressed values expanded. Used for ParseExample's keys and defaults.
pub fn proto_to_tensor(proto: &TensorProto) -> Option<Tensor> {
    let mut proto = proto.clone();
    normalize_const(&mut proto, &mut MAX_EXPANDED_CONST_BYTES.clone()).ok()?;
    let shape: Vec<usize> = proto
        .tensor_shape
        .as_ref()?
        .dim
        .iter()
        .map(|d| d.size.max(0) as usize)
        .collect();
    let content = &proto.tensor_content;
    let data = match DType::from_tf_enum(proto.dtype)? {
        DType::F32 if !content.is_empty() => TensorData::F32(
            content
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect(),
        ),
        DType::F32 => TensorData::F32(proto.float_val),
        DType::F64 if !content.is_empty() => TensorData::F64(
            content
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                .collect(),
        ),
        DType::F64 => TensorData::F64(proto.double_val),
        DType::I64 if !content.is_empty() => TensorData::I64(
            content
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
                .collect(),
        ),
        DType::I64 => TensorData::I64(proto.int64_val),
        DType::I32 if !content.is_empty() => TensorData::I32(
            content
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
                .collect(),
        ),
        DType::I32 => TensorData::I32(proto.int_val),
        DType::String => TensorData::String(proto.string_val),
        _ => return None,
    };
    Tensor::new(shape, data).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_consts_are_expanded() {
        let mut p = TensorProto {
            dtype: 3,
            tensor_shape: Some(TensorShapeProto {
                dim: vec![tensor_shape_proto::Dim {
                    size: 3,
                    name: String::new(),
                }],
                unknown_rank: false,
            }),
            ..Default::default()
        };
        let mut budget = MAX_EXPANDED_CONST_BYTES;
        normalize_const(&mut p, &mut budget).unwrap();
        assert_eq!(p.int_val, vec![0, 0, 0]);
        p.int_val = vec![4];
        normalize_const(&mut p, &mut budget).unwrap();
        assert_eq!(p.int_val, vec![4, 4, 4]);
        assert_eq!(budget, MAX_EXPANDED_CONST_BYTES - 3 * 4 - 2 * 4);
    }

    #[test]
    fn tensors_become_content_protos() {
        let t = Tensor::new(vec![2], TensorData::F32(vec![0.5, 2.0])).unwrap();
        let p = tensor_to_proto(&t);
        assert_eq!(p.dtype, 1);
        assert_eq!(p.tensor_content.len(), 8);
    }
}
