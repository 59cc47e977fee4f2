//! The protobuf messages stored as values in a checkpoint index, written by hand (they are small,
//! and generating them would need TensorFlow's .proto files, which this workspace does not carry).
//!
//! Field numbers follow `tensorflow/core/protobuf/tensor_bundle.proto`, `tensor_shape.proto`,
//! `tensor_slice.proto` and `versions.proto`; they were checked against the descriptors in the
//! `tensorflow` 2.21 PyPI package. Messages are decoded, never encoded, so the `Message` derive is
//! only used for its decoder.

use prost::Message;

/// The value of the `""` key: how the whole bundle was written.
#[derive(Clone, PartialEq, Message)]
pub(super) struct BundleHeaderProto {
    /// How many `.data-NNNNN-of-MMMMM` files there are.
    #[prost(int32, tag = "1")]
    pub num_shards: i32,
    /// Byte order of the data files: `LITTLE` = 0, `BIG` = 1.
    #[prost(int32, tag = "2")]
    pub endianness: i32,
    /// Format version, checked like TensorFlow's `CheckVersions`.
    #[prost(message, optional, tag = "3")]
    pub version: Option<VersionDef>,
}

/// `BundleHeaderProto.Endianness.BIG`.
pub(super) const BIG_ENDIAN: i32 = 1;

/// A format version: who wrote it and which readers may read it.
#[derive(Clone, PartialEq, Message)]
pub(super) struct VersionDef {
    /// Version of the writer.
    #[prost(int32, tag = "1")]
    pub producer: i32,
    /// Oldest reader version that can read this.
    #[prost(int32, tag = "2")]
    pub min_consumer: i32,
    /// Reader versions known to misread this.
    #[prost(int32, repeated, tag = "3")]
    pub bad_consumers: Vec<i32>,
}

/// TensorFlow's `kTensorBundleVersion`: the reader version we implement.
const READER_VERSION: i32 = 1;
/// TensorFlow's `kTensorBundleMinProducer`.
const MIN_PRODUCER: i32 = 0;

impl VersionDef {
    /// The same three checks as TensorFlow's `CheckVersions` for checkpoints, so that we refuse
    /// exactly the bundles TensorFlow would refuse.
    pub(super) fn check(&self) -> Result<(), String> {
        if self.producer < MIN_PRODUCER {
            return Err(format!(
                "written by format version {} but the oldest supported is {MIN_PRODUCER}",
                self.producer
            ));
        }
        if self.min_consumer > READER_VERSION {
            return Err(format!(
                "needs a reader of format version {} or newer; this reader is version \
                 {READER_VERSION}",
                self.min_consumer
            ));
        }
        if self.bad_consumers.contains(&READER_VERSION) {
            return Err(format!(
                "disallows readers of format version {READER_VERSION}"
            ));
        }
        Ok(())
    }
}

/// The value of every other key: where one tensor (or one slice of one) is stored.
#[derive(Clone, PartialEq, Message)]
pub(super) struct BundleEntryProto {
    /// TensorFlow `DataType` number.
    #[prost(int32, tag = "1")]
    pub dtype: i32,
    /// The tensor's shape (the full shape, for a partitioned tensor).
    #[prost(message, optional, tag = "2")]
    pub shape: Option<TensorShapeProto>,
    /// Which data file holds the bytes.
    #[prost(int32, tag = "3")]
    pub shard_id: i32,
    /// Byte offset in that file.
    #[prost(int64, tag = "4")]
    pub offset: i64,
    /// Byte length in that file.
    #[prost(int64, tag = "5")]
    pub size: i64,
    /// Masked CRC32C of the stored bytes (see `decode` for what strings checksum).
    #[prost(fixed32, tag = "6")]
    pub crc32c: u32,
    /// For a partitioned tensor, the slices stored under their own keys; then the fields above
    /// other than dtype and shape are unset.
    #[prost(message, repeated, tag = "7")]
    pub slices: Vec<TensorSliceProto>,
}

/// A tensor shape.
#[derive(Clone, PartialEq, Message)]
pub(super) struct TensorShapeProto {
    /// The dimensions, outermost first.
    #[prost(message, repeated, tag = "2")]
    pub dim: Vec<Dim>,
    /// Set when even the rank is unknown, which a stored tensor cannot be.
    #[prost(bool, tag = "3")]
    pub unknown_rank: bool,
}

/// One dimension of a shape.
#[derive(Clone, PartialEq, Message)]
pub(super) struct Dim {
    /// Size; -1 means unknown, which a stored tensor cannot be.
    #[prost(int64, tag = "1")]
    pub size: i64,
    /// Optional name, unused here.
    #[prost(string, tag = "2")]
    pub name: String,
}

impl TensorShapeProto {
    /// The dimensions of a concrete tensor, refusing what `TensorShape::IsValid` refuses:
    /// unknown rank, negative sizes and element counts that overflow.
    pub(super) fn concrete_dims(&self) -> Result<Vec<usize>, String> {
        if self.unknown_rank {
            return Err("shape has unknown rank".into());
        }
        let dims = self
            .dim
            .iter()
            .map(|d| usize::try_from(d.size).map_err(|_| format!("dimension of size {}", d.size)))
            .collect::<Result<Vec<usize>, String>>()?;
        element_count(&dims)?;
        Ok(dims)
    }
}

/// The number of elements of a shape, or an error if it does not fit in an `i64`.
pub(super) fn element_count(dims: &[usize]) -> Result<usize, String> {
    dims.iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| i64::try_from(n).is_ok())
        .ok_or_else(|| format!("shape {dims:?} has too many elements"))
}

/// Which part of a partitioned tensor a slice holds.
#[derive(Clone, PartialEq, Message)]
pub(super) struct TensorSliceProto {
    /// One extent per dimension of the full tensor.
    #[prost(message, repeated, tag = "1")]
    pub extent: Vec<Extent>,
}

/// The range a slice covers in one dimension.
#[derive(Clone, PartialEq, Message)]
pub(super) struct Extent {
    /// First index.
    #[prost(int64, tag = "1")]
    pub start: i64,
    /// Number of indices; absent means the whole dimension. (In the .proto this is a one-field
    /// `oneof`, which has the same encoding as an optional field.)
    #[prost(int64, optional, tag = "2")]
    pub length: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_an_entry_written_by_tensorflow() {
        // The value of key "f32" in a TF 2.21 checkpoint: DT_FLOAT [2,3], shard 0, offset 0,
        // 24 bytes.
        let bytes = [
            0x08, 0x01, 0x12, 0x08, 0x12, 0x02, 0x08, 0x02, 0x12, 0x02, 0x08, 0x03, 0x28, 0x18,
            0x35, 0xca, 0xde, 0x93, 0x89,
        ];
        let entry = BundleEntryProto::decode(&bytes[..]).unwrap();
        assert_eq!(entry.dtype, 1);
        assert_eq!(entry.shape.unwrap().concrete_dims().unwrap(), vec![2, 3]);
        assert_eq!((entry.shard_id, entry.offset, entry.size), (0, 0, 24));
        assert_eq!(entry.crc32c, 0x8993_deca);
        assert!(entry.slices.is_empty());
    }

    #[test]
    fn refuses_what_tensorflow_refuses() {
        let dim = |size| Dim {
            size,
            name: String::new(),
        };
        let shape = |dims: Vec<i64>| TensorShapeProto {
            dim: dims.into_iter().map(dim).collect(),
            unknown_rank: false,
        };
        assert!(shape(vec![-1]).concrete_dims().is_err());
        assert!(shape(vec![1 << 40, 1 << 40]).concrete_dims().is_err());
        assert_eq!(shape(vec![]).concrete_dims().unwrap(), Vec::<usize>::new());
        let version = |min_consumer, bad_consumers| VersionDef {
            producer: 1,
            min_consumer,
            bad_consumers,
        };
        assert!(version(0, vec![]).check().is_ok());
        assert!(version(2, vec![]).check().is_err());
        assert!(version(0, vec![1]).check().is_err());
    }
}
