//! A `PredictResponse` written straight from the model's output tensors.
//!
//! Why: building a `TensorProto` per output (a box, a shape vector, the values moved in) only to
//! encode it and drop it cost a gRPC Predict more than its REST twin spends writing JSON
//! (docs/grpc-performance.md). [`PredictOutputs`] writes the same bytes as
//! [`PredictResponseEntries`] holding [`tensor_into_proto`]'s protos, from the tensors: numeric
//! outputs in the typed fields (TF Serving's default) field by field; strings, and any output
//! with `--enable_serialization_as_tensor_content`, through the proto as before. The tests
//! compare the bytes for every dtype, shape and encoding.

use std::collections::BTreeMap;

use prost::bytes::{Buf, BufMut};
use prost::encoding::{
    self, DecodeContext, WireType, encode_key, encode_varint, encoded_len_varint,
};
use tensorserve_core::{Tensor, TensorData};

use super::{PredictResponseEntries, is_written};
use crate::tensor::{TensorEncoding, encode, tensor_into_proto};
use crate::tensorflow::TensorProto;
use crate::tensorflow::serving::ModelSpec;

/// One output as it will be written.
#[derive(Debug, Clone, PartialEq)]
enum Output {
    /// A numeric tensor, written field by field.
    Direct(Tensor),
    /// Built as a proto first (strings, `tensor_content`).
    Proto(Box<TensorProto>),
}

/// A Predict response: outputs sorted by alias (the map's order), then the model spec.
/// Encode-only: decoding one reads nothing (decode a `PredictResponse` instead).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PredictOutputs {
    outputs: Vec<(String, Output)>,
    /// `PredictResponse.model_spec`.
    pub model_spec: Option<ModelSpec>,
}

impl PredictOutputs {
    /// The response for a model's outputs, written with `encoding`.
    pub fn new(
        outputs: BTreeMap<String, Tensor>,
        encoding: TensorEncoding,
        model_spec: Option<ModelSpec>,
    ) -> PredictOutputs {
        let outputs = outputs
            .into_iter()
            .map(|(alias, tensor)| {
                let direct = encoding == TensorEncoding::TypedFields
                    && !matches!(tensor.data(), TensorData::String(_));
                let output = if direct {
                    Output::Direct(tensor)
                } else {
                    Output::Proto(Box::new(tensor_into_proto(tensor, encoding)))
                };
                (alias, output)
            })
            .collect();
        PredictOutputs {
            outputs,
            model_spec,
        }
    }

    /// The same response as entries of protos (the tonic handler's path).
    pub fn into_entries(self) -> PredictResponseEntries {
        let outputs = self
            .outputs
            .into_iter()
            .map(|(key, output)| {
                let proto = match output {
                    Output::Direct(t) => tensor_into_proto(t, TensorEncoding::TypedFields),
                    Output::Proto(p) => *p,
                };
                PredictResponseEntries::entry(key, proto)
            })
            .collect();
        PredictResponseEntries {
            outputs,
            model_spec: self.model_spec,
        }
    }
}

impl prost::Message for PredictOutputs {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        for (key, output) in &self.outputs {
            let value_len = output_len(output);
            encode_key(1, WireType::LengthDelimited, buf);
            encode_varint(entry_len(key, value_len) as u64, buf);
            if !key.is_empty() {
                encoding::string::encode(1, key, buf);
            }
            match (output, value_len) {
                (Output::Direct(tensor), Some(len)) => {
                    encode_key(2, WireType::LengthDelimited, buf);
                    encode_varint(len as u64, buf);
                    write_tensor(tensor, buf);
                }
                (Output::Proto(proto), Some(_)) => {
                    encoding::message::encode(2, proto.as_ref(), buf)
                }
                (_, None) => {}
            }
        }
        if let Some(spec) = &self.model_spec {
            encoding::message::encode(2, spec, buf);
        }
    }

    /// Every field is skipped: this type is written, never read (decode a `PredictResponse`).
    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        encoding::skip_field(wire_type, tag, buf, ctx)
    }

    fn encoded_len(&self) -> usize {
        let outputs: usize = self
            .outputs
            .iter()
            .map(|(key, output)| {
                let len = entry_len(key, output_len(output));
                1 + encoded_len_varint(len as u64) + len
            })
            .sum();
        outputs
            + self
                .model_spec
                .as_ref()
                .map_or(0, |spec| encoding::message::encoded_len(2, spec))
    }

    fn clear(&mut self) {
        *self = PredictOutputs::default();
    }
}

/// A map entry's length: the key (left out when empty) and the value field.
fn entry_len(key: &str, value_len: Option<usize>) -> usize {
    let key_len = if key.is_empty() {
        0
    } else {
        1 + encoded_len_varint(key.len() as u64) + key.len()
    };
    key_len + value_len.map_or(0, |len| 1 + encoded_len_varint(len as u64) + len)
}

/// The value's length, `None` when the map leaves it out (a default proto).
fn output_len(output: &Output) -> Option<usize> {
    match output {
        Output::Direct(tensor) => Some(tensor_len(tensor)),
        Output::Proto(proto) => {
            is_written(proto).then(|| prost::Message::encoded_len(proto.as_ref()))
        }
    }
}

// TensorProto's fields (tensor.proto) and TensorShapeProto's.
const DTYPE: u32 = 1;
const TENSOR_SHAPE: u32 = 2;
const SHAPE_DIM: u32 = 2;
const DIM_SIZE: u32 = 1;

/// The fields a direct tensor writes, as [`tensor_into_proto`] fills them: dtype, shape, and
/// the typed field of its values (absent when empty).
fn tensor_len(tensor: &Tensor) -> usize {
    let shape = shape_len(tensor.shape());
    let dtype = tensor.dtype().tf_enum();
    let dtype_len = if dtype == 0 {
        0
    } else {
        1 + encoded_len_varint(dtype as i64 as u64)
    };
    dtype_len + 1 + encoded_len_varint(shape as u64) + shape + values_len(tensor.data())
}

fn write_tensor(tensor: &Tensor, buf: &mut impl BufMut) {
    let dtype = tensor.dtype().tf_enum();
    if dtype != 0 {
        encode_key(DTYPE, WireType::Varint, buf);
        encode_varint(dtype as i64 as u64, buf);
    }
    encode_key(TENSOR_SHAPE, WireType::LengthDelimited, buf);
    encode_varint(shape_len(tensor.shape()) as u64, buf);
    for &d in tensor.shape() {
        let size = dim_size(d);
        encode_key(SHAPE_DIM, WireType::LengthDelimited, buf);
        if size == 0 {
            encode_varint(0, buf);
        } else {
            encode_varint((1 + encoded_len_varint(size)) as u64, buf);
            encode_key(DIM_SIZE, WireType::Varint, buf);
            encode_varint(size, buf);
        }
    }
    write_values(tensor.data(), buf);
}

/// A dimension as `Dim.size`'s varint, converted as [`tensor_into_proto`] converts it.
fn dim_size(d: usize) -> u64 {
    encode::dim_size(d) as u64
}

fn shape_len(shape: &[usize]) -> usize {
    shape
        .iter()
        .map(|&d| {
            let size = dim_size(d);
            let dim = if size == 0 {
                0
            } else {
                1 + encoded_len_varint(size)
            };
            1 + encoded_len_varint(dim as u64) + dim
        })
        .sum()
}

/// Expands `$varints` once per integer-like variant, with `$field` the typed field's number,
/// `$v` the values and `$conv` a value's varint (as prost writes that field's type: `int32`
/// sign-extended, narrow integers and half floats widened); floats go to `$floats`.
macro_rules! typed_field {
    ($data:expr, |$field:ident, $v:ident, $conv:ident| $varints:expr, floats => $floats:expr) => {
        match $data {
            TensorData::I32($v) => {
                let ($field, $conv) = (7, |x: &i32| i64::from(*x) as u64);
                $varints
            }
            TensorData::I8($v) => {
                let ($field, $conv) = (7, |x: &i8| i64::from(*x) as u64);
                $varints
            }
            TensorData::I16($v) => {
                let ($field, $conv) = (7, |x: &i16| i64::from(*x) as u64);
                $varints
            }
            TensorData::U8($v) => {
                let ($field, $conv) = (7, |x: &u8| u64::from(*x));
                $varints
            }
            TensorData::U16($v) => {
                let ($field, $conv) = (7, |x: &u16| u64::from(*x));
                $varints
            }
            TensorData::I64($v) => {
                let ($field, $conv) = (10, |x: &i64| *x as u64);
                $varints
            }
            TensorData::Bool($v) => {
                let ($field, $conv) = (11, |x: &bool| u64::from(*x));
                $varints
            }
            TensorData::F16($v) => {
                let ($field, $conv) = (13, |x: &u16| u64::from(*x));
                $varints
            }
            TensorData::U32($v) => {
                let ($field, $conv) = (16, |x: &u32| u64::from(*x));
                $varints
            }
            TensorData::U64($v) => {
                let ($field, $conv) = (17, |x: &u64| *x);
                $varints
            }
            TensorData::F32(_) | TensorData::F64(_) => $floats,
            TensorData::String(_) => unreachable!("strings are written through the proto"),
        }
    };
}

/// A packed field's length (key, length and payload); 0 for no values, which are left out.
fn packed_len(field: u32, payload: usize) -> usize {
    if payload == 0 {
        return 0;
    }
    encoding::key_len(field) + encoded_len_varint(payload as u64) + payload
}

/// The typed field's length.
fn values_len(data: &TensorData) -> usize {
    typed_field!(data,
        |field, v, conv| packed_len(field, v.iter().map(|x| encoded_len_varint(conv(x))).sum()),
        floats => match data {
            TensorData::F32(v) => packed_len(5, v.len() * 4),
            TensorData::F64(v) => packed_len(6, v.len() * 8),
            _ => unreachable!(),
        }
    )
}

/// Writes the typed field, packed, as prost writes a repeated scalar field.
fn write_values(data: &TensorData, buf: &mut impl BufMut) {
    fn head(field: u32, payload: usize, buf: &mut impl BufMut) {
        encode_key(field, WireType::LengthDelimited, buf);
        encode_varint(payload as u64, buf);
    }
    typed_field!(data,
        |field, v, conv| {
            let payload: usize = v.iter().map(|x| encoded_len_varint(conv(x))).sum();
            if payload > 0 {
                head(field, payload, buf);
                v.iter().for_each(|x| encode_varint(conv(x), buf));
            }
        },
        floats => match data {
            TensorData::F32(v) if !v.is_empty() => {
                head(5, v.len() * 4, buf);
                v.iter().for_each(|&x| buf.put_f32_le(x));
            }
            TensorData::F64(v) if !v.is_empty() => {
                head(6, v.len() * 8, buf);
                v.iter().for_each(|&x| buf.put_f64_le(x));
            }
            _ => {}
        }
    )
}

#[cfg(test)]
mod tests;
