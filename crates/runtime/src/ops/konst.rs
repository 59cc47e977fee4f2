//! `Const` for every dtype TensorFlow stores in graphs. tract-tensorflow decodes only f32, f64,
//! i32, i64 and strings, so a `tf.constant([True, False])` (a `tf.where` mask, a boolean
//! default) or a uint8/int8/half constant failed the whole load with "unsupported tf DataType".

use tract_hir::internal::*;
use tract_tensorflow::model::ParsingContext;
use tract_tensorflow::tfpb::tensorflow::{DataType, NodeDef, TensorProto, attr_value};

pub fn konst(_: &ParsingContext, node: &NodeDef) -> TractResult<Box<dyn InferenceOp>> {
    let Some(attr_value::Value::Tensor(proto)) =
        node.attr.get("value").and_then(|a| a.value.as_ref())
    else {
        bail!("Const {} has no tensor value", node.name);
    };
    let tensor = decode(proto).with_context(|| format!("decoding Const {}", node.name))?;
    Ok(Box::new(tract_hir::ops::konst::Const::new(
        tensor.into_arc_tensor(),
    )?))
}

/// Decodes a TensorProto: raw little-endian `tensor_content`, or the typed value list where a
/// list shorter than the shape repeats its last value (an empty list means zeros).
fn decode(proto: &TensorProto) -> TractResult<Tensor> {
    let shape: TVec<usize> = proto
        .tensor_shape
        .as_ref()
        .context("no tensor_shape")?
        .dim
        .iter()
        .map(|d| usize::try_from(d.size).map_err(|_| format_err!("negative dim {}", d.size)))
        .collect::<TractResult<_>>()?;
    let len: usize = shape.iter().product();
    let raw = &proto.tensor_content;
    macro_rules! le {
        ($t:ty) => {{
            const N: usize = std::mem::size_of::<$t>();
            ensure!(
                raw.len() == len * N,
                "tensor_content has {} bytes for {len} values",
                raw.len()
            );
            raw.chunks_exact(N)
                .map(|c| <$t>::from_le_bytes(c.try_into().unwrap()))
                .collect::<Vec<$t>>()
        }};
    }
    fn expand<T: Clone + Default>(mut v: Vec<T>, len: usize) -> Vec<T> {
        let last = v.last().cloned().unwrap_or_default();
        v.resize(len, last);
        v.truncate(len);
        v
    }
    fn build<T: Datum>(shape: &[usize], v: Vec<T>) -> TractResult<Tensor> {
        Ok(tract_ndarray::ArrayD::from_shape_vec(shape, v)?.into())
    }
    let dtype =
        DataType::try_from(proto.dtype).map_err(|_| format_err!("dtype {}", proto.dtype))?;
    let raw_given = !raw.is_empty();
    match dtype {
        DataType::DtFloat if raw_given => build(&shape, le!(f32)),
        DataType::DtFloat => build(&shape, expand(proto.float_val.clone(), len)),
        DataType::DtDouble if raw_given => build(&shape, le!(f64)),
        DataType::DtDouble => build(&shape, expand(proto.double_val.clone(), len)),
        DataType::DtInt32 if raw_given => build(&shape, le!(i32)),
        DataType::DtInt64 if raw_given => build(&shape, le!(i64)),
        DataType::DtInt64 => build(&shape, expand(proto.int64_val.clone(), len)),
        DataType::DtInt16 if raw_given => build(&shape, le!(i16)),
        DataType::DtInt8 if raw_given => build(&shape, le!(i8)),
        DataType::DtUint8 if raw_given => build(&shape, le!(u8)),
        DataType::DtUint16 if raw_given => build(&shape, le!(u16)),
        DataType::DtUint32 if raw_given => build(&shape, le!(u32)),
        DataType::DtUint32 => build(&shape, expand(proto.uint32_val.clone(), len)),
        DataType::DtUint64 if raw_given => build(&shape, le!(u64)),
        DataType::DtUint64 => build(&shape, expand(proto.uint64_val.clone(), len)),
        // The small integer types share `int_val`.
        DataType::DtInt32
        | DataType::DtInt16
        | DataType::DtInt8
        | DataType::DtUint8
        | DataType::DtUint16 => {
            let ints = Tensor::from(tract_ndarray::Array1::from(expand(
                proto.int_val.clone(),
                len,
            )));
            let dt = DatumType::try_from(dtype)?;
            Ok(ints.cast_to_dt(dt)?.into_owned().into_shape(&shape)?)
        }
        DataType::DtBool if raw_given => build(&shape, raw.iter().map(|&b| b != 0).collect()),
        DataType::DtBool => build(&shape, expand(proto.bool_val.clone(), len)),
        DataType::DtHalf if raw_given => {
            build(&shape, le!(u16).into_iter().map(f16::from_bits).collect())
        }
        DataType::DtHalf => build(
            &shape,
            expand(proto.half_val.clone(), len)
                .into_iter()
                .map(|b| f16::from_bits(b as u16))
                .collect(),
        ),
        // Graph inputs carry strings as tract `String`s (see `crate::convert`), so string
        // constants must too, or a lookup or comparison between the two cannot be typed;
        // tract-tensorflow would make them `Blob`s. Non-UTF-8 bytes stay `Blob`s.
        DataType::DtString
            if proto
                .string_val
                .iter()
                .all(|b| std::str::from_utf8(b).is_ok()) =>
        {
            let strings = proto
                .string_val
                .iter()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .collect();
            build(&shape, expand(strings, len))
        }
        // Anything else as tract-tensorflow reads it.
        _ => Tensor::try_from(proto),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_tensorflow::tfpb::tensorflow::{TensorShapeProto, tensor_shape_proto::Dim};

    fn proto(dtype: DataType, dims: &[i64]) -> TensorProto {
        TensorProto {
            dtype: dtype as i32,
            tensor_shape: Some(TensorShapeProto {
                dim: dims
                    .iter()
                    .map(|&size| Dim {
                        size,
                        name: String::new(),
                    })
                    .collect(),
                unknown_rank: false,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn bools_from_values_and_content() {
        let mut p = proto(DataType::DtBool, &[3]);
        p.bool_val = vec![true, false];
        assert_eq!(decode(&p).unwrap(), tensor1(&[true, false, false]));
        p.bool_val.clear();
        p.tensor_content = vec![1, 0, 1];
        assert_eq!(decode(&p).unwrap(), tensor1(&[true, false, true]));
    }

    #[test]
    fn small_ints_and_half() {
        let mut p = proto(DataType::DtUint8, &[2]);
        p.int_val = vec![7, 255];
        assert_eq!(decode(&p).unwrap(), tensor1(&[7u8, 255]));
        let mut p = proto(DataType::DtHalf, &[1]);
        p.half_val = vec![0x3c00];
        assert_eq!(decode(&p).unwrap(), tensor1(&[f16::from_f32(1.0)]));
    }

    #[test]
    fn compressed_float_repeats_last_value() {
        let mut p = proto(DataType::DtFloat, &[2, 2]);
        p.float_val = vec![1.5];
        assert_eq!(decode(&p).unwrap(), tensor2(&[[1.5f32, 1.5], [1.5, 1.5]]));
    }
}
