//! A dense, row-major, owned tensor: what crosses the boundary between protocols and runtimes.
//!
//! Data is kept in a typed vector rather than raw bytes so that codecs can read and write values
//! without unsafe casts, and so that a wrong dtype is a `match` arm rather than a reinterpretation.

use crate::{Code, DType, Status};

/// Element storage of a [`Tensor`], one variant per [`DType`].
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)] // each variant is named after its element type
pub enum TensorData {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I8(Vec<i8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
    Bool(Vec<bool>),
    /// IEEE half floats, kept as their bit patterns.
    F16(Vec<u16>),
    String(Vec<Vec<u8>>),
}

/// Calls `$body` with `$v` bound to the inner vector, whatever the variant.
#[macro_export]
macro_rules! with_tensor_data {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            $crate::TensorData::F32($v) => $body,
            $crate::TensorData::F64($v) => $body,
            $crate::TensorData::I8($v) => $body,
            $crate::TensorData::I16($v) => $body,
            $crate::TensorData::I32($v) => $body,
            $crate::TensorData::I64($v) => $body,
            $crate::TensorData::U8($v) => $body,
            $crate::TensorData::U16($v) => $body,
            $crate::TensorData::U32($v) => $body,
            $crate::TensorData::U64($v) => $body,
            $crate::TensorData::Bool($v) => $body,
            $crate::TensorData::F16($v) => $body,
            $crate::TensorData::String($v) => $body,
        }
    };
}

impl TensorData {
    /// The element type of this storage.
    pub fn dtype(&self) -> DType {
        match self {
            TensorData::F32(_) => DType::F32,
            TensorData::F64(_) => DType::F64,
            TensorData::I8(_) => DType::I8,
            TensorData::I16(_) => DType::I16,
            TensorData::I32(_) => DType::I32,
            TensorData::I64(_) => DType::I64,
            TensorData::U8(_) => DType::U8,
            TensorData::U16(_) => DType::U16,
            TensorData::U32(_) => DType::U32,
            TensorData::U64(_) => DType::U64,
            TensorData::Bool(_) => DType::Bool,
            TensorData::F16(_) => DType::F16,
            TensorData::String(_) => DType::String,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        with_tensor_data!(self, v => v.len())
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An empty storage of the given type with room for `capacity` elements.
    pub fn with_capacity(dtype: DType, capacity: usize) -> TensorData {
        match dtype {
            DType::F32 => TensorData::F32(Vec::with_capacity(capacity)),
            DType::F64 => TensorData::F64(Vec::with_capacity(capacity)),
            DType::I8 => TensorData::I8(Vec::with_capacity(capacity)),
            DType::I16 => TensorData::I16(Vec::with_capacity(capacity)),
            DType::I32 => TensorData::I32(Vec::with_capacity(capacity)),
            DType::I64 => TensorData::I64(Vec::with_capacity(capacity)),
            DType::U8 => TensorData::U8(Vec::with_capacity(capacity)),
            DType::U16 => TensorData::U16(Vec::with_capacity(capacity)),
            DType::U32 => TensorData::U32(Vec::with_capacity(capacity)),
            DType::U64 => TensorData::U64(Vec::with_capacity(capacity)),
            DType::Bool => TensorData::Bool(Vec::with_capacity(capacity)),
            DType::F16 => TensorData::F16(Vec::with_capacity(capacity)),
            DType::String => TensorData::String(Vec::with_capacity(capacity)),
        }
    }

    /// Appends all elements of `other`, which must have the same type.
    pub fn extend_from(&mut self, other: &TensorData) -> Result<(), Status> {
        macro_rules! ext {
            ($($var:ident),*) => {
                match (self, other) {
                    $((TensorData::$var(a), TensorData::$var(b)) => { a.extend_from_slice(b); Ok(()) })*
                    (a, b) => Err(Status::invalid_argument(format!(
                        "cannot append {} elements to a {} tensor", b.dtype(), a.dtype()
                    ))),
                }
            };
        }
        ext!(
            F32, F64, I8, I16, I32, I64, U8, U16, U32, U64, Bool, F16, String
        )
    }

    /// The elements in `range`, as a new storage of the same type.
    pub fn slice(&self, range: std::ops::Range<usize>) -> TensorData {
        macro_rules! sl {
            ($($var:ident),*) => {
                match self { $(TensorData::$var(v) => TensorData::$var(v[range].to_vec()),)* }
            };
        }
        sl!(
            F32, F64, I8, I16, I32, I64, U8, U16, U32, U64, Bool, F16, String
        )
    }
}

/// A dense row-major tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: TensorData,
}

impl Tensor {
    /// Builds a tensor, checking that the element count matches the shape.
    pub fn new(shape: Vec<usize>, data: TensorData) -> Result<Tensor, Status> {
        // Shapes come from untrusted bytes (protobuf dims, model attrs): a product that
        // overflows is an error, not a panic, and a zero dimension makes the others irrelevant.
        let expected = if shape.contains(&0) {
            Some(0)
        } else {
            shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
        };
        let Some(expected) = expected else {
            return Err(Status::new(
                Code::InvalidArgument,
                format!("tensor of shape {shape:?} has too many elements"),
            ));
        };
        if expected != data.len() {
            return Err(Status::new(
                Code::InvalidArgument,
                format!(
                    "tensor of shape {:?} needs {} elements but {} were given",
                    shape,
                    expected,
                    data.len()
                ),
            ));
        }
        Ok(Tensor { shape, data })
    }

    /// A rank-0 tensor holding one value.
    pub fn scalar(data: TensorData) -> Result<Tensor, Status> {
        Tensor::new(Vec::new(), data)
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }

    /// The dimensions, outermost first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The elements in row-major order.
    pub fn data(&self) -> &TensorData {
        &self.data
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the tensor holds no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Splits the tensor into shape and storage.
    pub fn into_parts(self) -> (Vec<usize>, TensorData) {
        (self.shape, self.data)
    }

    /// Same data, another shape with the same element count.
    pub fn reshape(self, shape: Vec<usize>) -> Result<Tensor, Status> {
        Tensor::new(shape, self.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_checks_element_count() {
        assert!(Tensor::new(vec![2, 2], TensorData::F32(vec![1.0; 4])).is_ok());
        let err = Tensor::new(vec![2, 3], TensorData::F32(vec![1.0; 4])).unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(Tensor::scalar(TensorData::I64(vec![7])).is_ok());
    }

    #[test]
    fn extend_rejects_mixed_types() {
        let mut a = TensorData::F32(vec![1.0]);
        a.extend_from(&TensorData::F32(vec![2.0])).unwrap();
        assert_eq!(a, TensorData::F32(vec![1.0, 2.0]));
        assert!(a.extend_from(&TensorData::I32(vec![1])).is_err());
        assert_eq!(a.slice(1..2), TensorData::F32(vec![2.0]));
    }
}
