//! `tensorflow.TensorProto` to and from [`tensorserve_core::Tensor`].
//!
//! Decoding follows TensorFlow's `Tensor::FromProto`, which TF Serving applies to every Predict
//! input, so that a request TF Serving accepts is accepted here and reads the same:
//!
//! * The shape must be valid: at most [`MAX_RANK`] dimensions, none negative, and an element
//!   count that fits in an `i64`. A missing shape is a scalar; `unknown_rank` is ignored, as
//!   TensorFlow's (non-partial) `TensorShape` ignores it.
//! * The dtype must be a real element type: DT_INVALID, unknown numbers and the `*_REF` types are
//!   INVALID_ARGUMENT; element types TensorFlow has but tensorserve does not (complex, bfloat16,
//!   quantized, float8, int4, resource, variant) are UNIMPLEMENTED.
//! * A tensor with no elements ignores whatever values were sent.
//! * Otherwise a non-empty `tensor_content` wins: it must hold exactly the shape's elements,
//!   little-endian (bools one byte each, 0 or 1; strings in TensorFlow's varint string-list form).
//! * Without `tensor_content`, the typed field for the dtype is read (`float_val`, `int_val` for
//!   8/16-bit integers, `half_val` for DT_HALF bit patterns, ...). If it holds **fewer** values
//!   than the shape needs, the **last value is repeated**; if it holds none, every element is
//!   zero (or the empty string); if it holds **more**, the extra values are ignored. Values in
//!   `int_val` / `half_val` that do not fit the element type wrap, as C++'s conversion does.
//!   None of these are errors in TensorFlow, so none are here.
//!
//! The one deliberate addition is a cap on the decoded size ([`DEFAULT_MAX_TENSOR_BYTES`]), since
//! the broadcast rule lets a few bytes ask for terabytes; TensorFlow fails such a request when
//! its allocation fails, which in Rust would abort the process instead.
//!
//! Encoding follows `Tensor::AsProtoField` (typed fields, TF Serving's default) or
//! `Tensor::AsProtoTensorContent` (`--enable_serialization_as_tensor_content`).

mod decode;
pub(crate) mod encode;
mod string_list;

use tensorserve_core::{DType, Status, Tensor};

pub use decode::{tensor_from_proto, tensor_from_proto_owned, tensor_from_proto_with_limit};
pub use encode::{tensor_into_proto, tensor_to_proto};

use crate::tensorflow::{DataType, TensorProto, TensorShapeProto};

/// Most dimensions a tensor may have (TensorFlow's `TensorShape::MaxDimensions()`).
pub const MAX_RANK: usize = 254;

/// Default cap on the memory one decoded tensor may take: 2 GiB, the largest message TF Serving
/// accepts, so that no tensor that could be sent densely is refused.
pub const DEFAULT_MAX_TENSOR_BYTES: usize = 1 << 31;

/// How [`tensor_to_proto`] writes the values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TensorEncoding {
    /// The typed `*_val` fields (`Tensor::AsProtoField`): TF Serving's default.
    #[default]
    TypedFields,
    /// Raw little-endian bytes in `tensor_content` (`Tensor::AsProtoTensorContent`), as with
    /// TF Serving's `--enable_serialization_as_tensor_content`.
    TensorContent,
}

impl TryFrom<&TensorProto> for Tensor {
    type Error = Status;

    fn try_from(proto: &TensorProto) -> Result<Tensor, Status> {
        tensor_from_proto(proto)
    }
}

impl TryFrom<TensorProto> for Tensor {
    type Error = Status;

    fn try_from(proto: TensorProto) -> Result<Tensor, Status> {
        tensor_from_proto_owned(proto)
    }
}

impl From<&Tensor> for TensorProto {
    fn from(tensor: &Tensor) -> TensorProto {
        tensor_to_proto(tensor, TensorEncoding::TypedFields)
    }
}

/// The element type of a `TensorProto.dtype` number, with the errors described in the
/// [module docs](self).
pub fn dtype_from_proto(value: i32) -> Result<DType, Status> {
    let known = DataType::try_from(value)
        .map_err(|_| Status::invalid_argument(format!("unknown tensor dtype {value}")))?;
    if known == DataType::DtInvalid {
        return Err(Status::invalid_argument(
            "tensor dtype is not set (DT_INVALID)",
        ));
    }
    if value > 100 {
        return Err(Status::invalid_argument(format!(
            "reference dtype {} cannot be sent as a tensor",
            known.as_str_name()
        )));
    }
    DType::from_tf_enum(value).ok_or_else(|| {
        Status::unimplemented(format!(
            "tensor dtype {} is not supported",
            known.as_str_name()
        ))
    })
}

/// The dimensions of a tensor shape and their element count, validated as TensorFlow's
/// `TensorShape::IsValid` does.
pub fn shape_from_proto(shape: Option<&TensorShapeProto>) -> Result<(Vec<usize>, usize), Status> {
    let Some(shape) = shape else {
        return Ok((Vec::new(), 1));
    };
    let show = || {
        let dims: Vec<String> = shape.dim.iter().map(|d| d.size.to_string()).collect();
        format!("[{}]", dims.join(","))
    };
    if shape.dim.len() > MAX_RANK {
        return Err(Status::invalid_argument(format!(
            "tensor shape has {} dimensions; at most {MAX_RANK} are allowed",
            shape.dim.len()
        )));
    }
    let mut dims = Vec::with_capacity(shape.dim.len());
    let mut count: i64 = 1;
    for d in &shape.dim {
        if d.size < 0 {
            return Err(Status::invalid_argument(format!(
                "tensor shape {} has a negative dimension",
                show()
            )));
        }
        count = count.checked_mul(d.size).ok_or_else(|| {
            Status::invalid_argument(format!(
                "tensor shape {} has too many elements (more than {})",
                show(),
                i64::MAX
            ))
        })?;
        dims.push(as_usize(d.size, &show)?);
    }
    Ok((dims, as_usize(count, &show)?))
}

fn as_usize(v: i64, show: &dyn Fn() -> String) -> Result<usize, Status> {
    usize::try_from(v).map_err(|_| {
        Status::invalid_argument(format!(
            "tensor shape {} is too large for this machine",
            show()
        ))
    })
}

/// Refuses a tensor of `n` elements whose storage (plus `payload` string bytes) would exceed
/// `max_bytes`.
pub(crate) fn check_bytes(
    n: usize,
    payload: usize,
    max_bytes: usize,
    strings: bool,
) -> Result<(), Status> {
    let per_element = if strings { size_of::<Vec<u8>>() } else { 0 };
    let bytes = n.saturating_mul(per_element).saturating_add(payload);
    if bytes > max_bytes {
        return Err(Status::invalid_argument(format!(
            "tensor of {n} elements would take {bytes} bytes, more than the limit of {max_bytes}"
        )));
    }
    Ok(())
}
