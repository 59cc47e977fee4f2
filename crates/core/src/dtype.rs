//! Element types, named and numbered as TensorFlow's `DataType` enum so that protocol adapters can
//! convert without a lookup table of their own.

use std::fmt;

/// A tensor element type. The discriminants are TensorFlow's `DataType` numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(i32)]
pub enum DType {
    /// 32-bit IEEE float (`DT_FLOAT`).
    F32 = 1,
    /// 64-bit IEEE float (`DT_DOUBLE`).
    F64 = 2,
    /// Signed 32-bit integer (`DT_INT32`).
    I32 = 3,
    /// Unsigned 8-bit integer (`DT_UINT8`).
    U8 = 4,
    /// Signed 16-bit integer (`DT_INT16`).
    I16 = 5,
    /// Signed 8-bit integer (`DT_INT8`).
    I8 = 6,
    /// Byte string (`DT_STRING`).
    String = 7,
    /// Signed 64-bit integer (`DT_INT64`).
    I64 = 9,
    /// Boolean (`DT_BOOL`).
    Bool = 10,
    /// Unsigned 16-bit integer (`DT_UINT16`).
    U16 = 17,
    /// IEEE half-precision float (`DT_HALF`).
    F16 = 19,
    /// Unsigned 32-bit integer (`DT_UINT32`).
    U32 = 22,
    /// Unsigned 64-bit integer (`DT_UINT64`).
    U64 = 23,
}

impl DType {
    /// Every type tensorserve can hold in a [`crate::Tensor`].
    pub const ALL: [DType; 13] = [
        DType::F32,
        DType::F64,
        DType::I32,
        DType::U8,
        DType::I16,
        DType::I8,
        DType::String,
        DType::I64,
        DType::Bool,
        DType::U16,
        DType::F16,
        DType::U32,
        DType::U64,
    ];

    /// TensorFlow's `DataType` number (`DT_FLOAT` = 1, ...).
    pub fn tf_enum(self) -> i32 {
        self as i32
    }

    /// The type for a TensorFlow `DataType` number; reference types (`DT_FLOAT_REF` = 101, ...)
    /// map to their value type, as TensorFlow does when a ref tensor is read.
    pub fn from_tf_enum(value: i32) -> Option<DType> {
        let base = if value > 100 { value - 100 } else { value };
        DType::ALL.into_iter().find(|d| d.tf_enum() == base)
    }

    /// The enum name TensorFlow prints in JSON and text protos, e.g. `DT_FLOAT`.
    pub fn tf_name(self) -> &'static str {
        match self {
            DType::F32 => "DT_FLOAT",
            DType::F64 => "DT_DOUBLE",
            DType::I32 => "DT_INT32",
            DType::U8 => "DT_UINT8",
            DType::I16 => "DT_INT16",
            DType::I8 => "DT_INT8",
            DType::String => "DT_STRING",
            DType::I64 => "DT_INT64",
            DType::Bool => "DT_BOOL",
            DType::U16 => "DT_UINT16",
            DType::F16 => "DT_HALF",
            DType::U32 => "DT_UINT32",
            DType::U64 => "DT_UINT64",
        }
    }

    /// The short lower-case name TensorFlow uses in error messages (`DataTypeString`), e.g. `float`.
    pub fn short_name(self) -> &'static str {
        match self {
            DType::F32 => "float",
            DType::F64 => "double",
            DType::I32 => "int32",
            DType::U8 => "uint8",
            DType::I16 => "int16",
            DType::I8 => "int8",
            DType::String => "string",
            DType::I64 => "int64",
            DType::Bool => "bool",
            DType::U16 => "uint16",
            DType::F16 => "half",
            DType::U32 => "uint32",
            DType::U64 => "uint64",
        }
    }

    /// Size of one element in bytes, or `None` for variable-length strings.
    pub fn size_of(self) -> Option<usize> {
        Some(match self {
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::F64 | DType::I64 | DType::U64 => 8,
            DType::I16 | DType::U16 | DType::F16 => 2,
            DType::I8 | DType::U8 | DType::Bool => 1,
            DType::String => return None,
        })
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tf_enum_round_trips_and_refs_decay() {
        for d in DType::ALL {
            assert_eq!(DType::from_tf_enum(d.tf_enum()), Some(d));
        }
        assert_eq!(DType::from_tf_enum(101), Some(DType::F32));
        assert_eq!(DType::from_tf_enum(14), None); // bfloat16 is not supported yet
    }
}
