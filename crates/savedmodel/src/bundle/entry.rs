//! The two protobuf messages of a TensorBundle index (`tensor_bundle.proto`), written by hand:
//! they are small and nothing else in the workspace generates them.

use prost::Message;

/// Key `""` of the index: how the bundle was written.
#[derive(Clone, PartialEq, Message)]
pub struct BundleHeaderProto {
    /// Number of data shards.
    #[prost(int32, tag = "1")]
    pub num_shards: i32,
    /// 0 = little endian, 1 = big endian.
    #[prost(int32, tag = "2")]
    pub endianness: i32,
}

/// One dimension of a shape.
#[derive(Clone, PartialEq, Message)]
pub struct Dim {
    /// Size of the dimension.
    #[prost(int64, tag = "1")]
    pub size: i64,
}

/// A tensor shape.
#[derive(Clone, PartialEq, Message)]
pub struct Shape {
    /// The dimensions.
    #[prost(message, repeated, tag = "2")]
    pub dim: Vec<Dim>,
}

/// Where one tensor lives in the data shards.
#[derive(Clone, PartialEq, Message)]
pub struct BundleEntryProto {
    /// TensorFlow `DataType` number.
    #[prost(int32, tag = "1")]
    pub dtype: i32,
    /// The tensor's shape.
    #[prost(message, optional, tag = "2")]
    pub shape: Option<Shape>,
    /// Which data shard holds the bytes.
    #[prost(int32, tag = "3")]
    pub shard_id: i32,
    /// Byte offset in the shard.
    #[prost(int64, tag = "4")]
    pub offset: i64,
    /// Byte length in the shard.
    #[prost(int64, tag = "5")]
    pub size: i64,
    /// Masked CRC32C of the bytes.
    #[prost(fixed32, tag = "6")]
    pub crc32c: u32,
    /// Slices of a partitioned variable (each a `TensorSliceProto`; only counted here).
    #[prost(bytes = "vec", repeated, tag = "7")]
    pub slices: Vec<Vec<u8>>,
}
