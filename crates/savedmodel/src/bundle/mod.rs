//! The TensorBundle reader: TensorFlow's checkpoint V2 format, which is what a SavedModel's
//! `variables/` directory holds.
//!
//! A bundle with prefix `P` is `P.index` plus data files `P.data-00000-of-0000N`:
//! - `table`: the index is a LevelDB table mapping keys to protobuf values;
//! - `entry`: key `""` holds the header (shard count, byte order, format version), every other
//!   key a tensor's dtype, shape, and the shard, offset, size and CRC32C of its bytes;
//! - `data`: those bytes are read on demand, one entry at a time;
//! - `decode`: and turned into values after their checksum is verified;
//! - `slices`: partitioned variables are stitched back together from their slices.
//!
//! [`Bundle::open`] reads and validates the whole index (it is small: one entry per variable), so
//! a damaged index fails the load up front; tensor bytes are checked when read.

mod data;
mod decode;
mod entry;
mod error;
mod slices;
mod table;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use prost::Message;
use tensorserve_core::{DType, Tensor, TensorData};

use decode::ByteOrder;
use entry::{BundleEntryProto, BundleHeaderProto, TensorSliceProto};
pub use error::BundleError;
use slices::Slice;

/// An opened checkpoint: its index in memory, data files read on demand.
#[derive(Debug)]
pub struct Bundle {
    prefix: PathBuf,
    num_shards: usize,
    order: ByteOrder,
    /// Tensors by name, sorted (which is also the index's order).
    tensors: BTreeMap<String, Entry>,
    /// The slices of partitioned tensors, by their binary keys.
    slices: HashMap<Vec<u8>, Entry>,
}

/// One validated index entry.
#[derive(Debug, Clone)]
struct Entry {
    dtype: i32,
    dims: Vec<usize>,
    count: usize,
    shard: usize,
    offset: u64,
    size: u64,
    /// As stored: masked.
    crc32c: u32,
    /// Non-empty for a partitioned tensor, whose bytes are in its slices' entries instead.
    slices: Vec<TensorSliceProto>,
}

impl Entry {
    fn new(proto: BundleEntryProto, num_shards: usize) -> Result<Entry, String> {
        let dims = proto.shape.unwrap_or_default().concrete_dims()?;
        let count = entry::element_count(&dims)?;
        let shard = usize::try_from(proto.shard_id)
            .ok()
            .filter(|&s| s < num_shards)
            .ok_or_else(|| {
                format!(
                    "data shard {} does not exist (the header says {num_shards})",
                    proto.shard_id
                )
            })?;
        let extent = u64::try_from(proto.offset)
            .ok()
            .zip(u64::try_from(proto.size).ok());
        let (offset, size) = extent
            .ok_or_else(|| format!("negative offset {} or size {}", proto.offset, proto.size))?;
        Ok(Entry {
            dtype: proto.dtype,
            dims,
            count,
            shard,
            offset,
            size,
            crc32c: proto.crc32c,
            slices: proto.slices,
        })
    }
}

impl Bundle {
    /// Opens the checkpoint at `prefix`, e.g. `<version>/variables/variables` for the files
    /// `variables.index` and `variables.data-0000S-of-0000N`, reading and checking its index.
    pub fn open(prefix: &Path) -> Result<Bundle, BundleError> {
        let path = data::with_suffix(prefix, ".index");
        let file = std::fs::read(&path).map_err(|source| BundleError::Io {
            path: path.clone(),
            source,
        })?;
        let corrupt = |what: String| BundleError::CorruptIndex {
            path: path.clone(),
            what,
        };
        let records = table::read_table(&file).map_err(corrupt)?;
        // Keys must be strictly increasing: that puts the header ("") first and rules out
        // duplicates, both of which TensorFlow's lookups assume.
        if let Some(w) = records.windows(2).find(|w| w[0].0 >= w[1].0) {
            return Err(corrupt(format!(
                "keys {} are out of order",
                show_key(&w[1].0)
            )));
        }
        let mut records = records.into_iter();
        let header = match records.next() {
            Some((key, value)) if key.is_empty() => BundleHeaderProto::decode(value.as_slice())
                .map_err(|e| corrupt(format!("cannot decode the header: {e}")))?,
            _ => return Err(corrupt("the header entry (key \"\") is missing".into())),
        };
        let version = header.version.unwrap_or_default();
        version.check().map_err(|what| BundleError::Incompatible {
            path: path.clone(),
            what,
        })?;
        let order = match header.endianness {
            entry::BIG_ENDIAN => ByteOrder::Big,
            0 => ByteOrder::Little,
            other => return Err(corrupt(format!("unknown byte order {other} in the header"))),
        };
        let num_shards = usize::try_from(header.num_shards)
            .map_err(|_| corrupt(format!("the header says {} shards", header.num_shards)))?;
        let (mut tensors, mut slices) = (BTreeMap::new(), HashMap::new());
        for (key, value) in records {
            let entry = BundleEntryProto::decode(value.as_slice())
                .map_err(|e| e.to_string())
                .and_then(|proto| Entry::new(proto, num_shards))
                .map_err(|what| corrupt(format!("entry {}: {what}", show_key(&key))))?;
            if slices::is_slice_key(&key) {
                slices.insert(key, entry);
            } else {
                // Keys are tensor names from the graph, which protobuf requires to be UTF-8.
                let name = String::from_utf8(key)
                    .map_err(|e| corrupt(format!("key {} is not UTF-8", show_key(e.as_bytes()))))?;
                tensors.insert(name, entry);
            }
        }
        Ok(Bundle {
            prefix: prefix.to_path_buf(),
            num_shards,
            order,
            tensors,
            slices,
        })
    }

    /// The keys of every tensor, sorted; neither the header key `""` nor the internal keys of
    /// partition slices are included.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// The TensorFlow `DataType` number and the shape of tensor `key`, without reading it.
    pub fn dtype_and_shape(&self, key: &str) -> Option<(i32, Vec<i64>)> {
        let entry = self.tensors.get(key)?;
        // Dimensions were checked to fit in i64 when the index was opened.
        let dims = entry.dims.iter().map(|&d| d as i64).collect();
        Some((entry.dtype, dims))
    }

    /// Reads tensor `key` in full, verifying the checksum TensorFlow recorded for its bytes (and,
    /// for a partitioned tensor, reassembling it from its slices).
    pub fn read(&self, key: &str) -> Result<Tensor, BundleError> {
        let entry = self.tensors.get(key).ok_or_else(|| BundleError::NotFound {
            key: key.to_string(),
            prefix: self.prefix.clone(),
        })?;
        let dtype = DType::from_tf_enum(entry.dtype)
            .filter(|d| d.tf_enum() == entry.dtype)
            .ok_or_else(|| BundleError::Unsupported {
                key: key.to_string(),
                prefix: self.prefix.clone(),
                what: format!("element type {}", dtype_name(entry.dtype)),
            })?;
        let data = if entry.slices.is_empty() {
            self.read_entry(key, entry, dtype)?
        } else {
            self.read_partitioned(key, entry, dtype)?
        };
        Tensor::new(entry.dims.clone(), data).map_err(|status| BundleError::CorruptTensor {
            key: key.to_string(),
            path: self.shard_path(entry),
            what: status.message().to_string(),
        })
    }

    fn shard_path(&self, entry: &Entry) -> PathBuf {
        data::shard_path(&self.prefix, entry.shard, self.num_shards)
    }

    /// Reads and checks the bytes of one stored entry; `label` names it in errors.
    fn read_entry(
        &self,
        label: &str,
        entry: &Entry,
        dtype: DType,
    ) -> Result<TensorData, BundleError> {
        let path = self.shard_path(entry);
        let bytes = data::read_extent(&path, label, entry.offset, entry.size)?;
        let corrupt = |what: String| BundleError::CorruptTensor {
            key: label.to_string(),
            path: path.clone(),
            what,
        };
        let (data, crc) =
            decode::decode(dtype, entry.count, &bytes, self.order).map_err(corrupt)?;
        // TensorFlow stores the masked CRC32C of what it wrote and compares it unmasked.
        let stored = table::unmask_crc(entry.crc32c);
        if stored != crc {
            return Err(corrupt(format!(
                "checksum mismatch: the index records {stored:08x}, the {} bytes at offset {} \
                 give {crc:08x}",
                entry.size, entry.offset
            )));
        }
        Ok(data)
    }

    fn read_partitioned(
        &self,
        key: &str,
        entry: &Entry,
        dtype: DType,
    ) -> Result<TensorData, BundleError> {
        let corrupt = |what: String| BundleError::CorruptTensor {
            key: key.to_string(),
            path: data::with_suffix(&self.prefix, ".index"),
            what,
        };
        let slices = entry
            .slices
            .iter()
            .map(|proto| Slice::resolve(proto, &entry.dims))
            .collect::<Result<Vec<Slice>, String>>()
            .map_err(corrupt)?;
        slices::check_cover(&slices, &entry.dims).map_err(corrupt)?;
        let mut parts = Vec::with_capacity(slices.len());
        for slice in slices {
            let label = format!("{key}[{}]", slice.spec());
            // A slice covering everything lives in the full entry itself, as in TensorFlow.
            let data = if slice.is_full() {
                self.read_entry(&label, entry, dtype)?
            } else {
                let stored = self.slices.get(&slice.key(key)).ok_or_else(|| {
                    corrupt(format!("slice {} is listed but not stored", slice.spec()))
                })?;
                if stored.dtype != entry.dtype || stored.dims != slice.dims() {
                    return Err(corrupt(format!(
                        "slice {} is stored with dtype {} and shape {:?}, not dtype {} and \
                         shape {:?}",
                        slice.spec(),
                        stored.dtype,
                        stored.dims,
                        entry.dtype,
                        slice.dims()
                    )));
                }
                self.read_entry(&label, stored, dtype)?
            };
            parts.push((slice, data));
        }
        Ok(slices::assemble(dtype, &entry.dims, parts))
    }
}

/// A key as it appears in messages: quoted, with non-printable bytes escaped.
fn show_key(key: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(key))
}

/// A TensorFlow `DataType` this reader cannot hold, named for error messages.
fn dtype_name(dtype: i32) -> String {
    let name = match dtype {
        8 => "DT_COMPLEX64",
        11..=13 | 15 | 16 => "quantized",
        14 => "DT_BFLOAT16",
        18 => "DT_COMPLEX128",
        20 => "DT_RESOURCE",
        21 => "DT_VARIANT",
        _ => return format!("DataType {dtype}"),
    };
    format!("{name} (DataType {dtype})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Bundle>();
    }

    #[test]
    fn a_missing_index_is_an_io_error_naming_the_file() {
        let err = Bundle::open(Path::new("/nonexistent/variables/variables")).unwrap_err();
        assert!(matches!(err, BundleError::Io { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("/nonexistent/variables/variables.index"),
            "{err}"
        );
    }

    #[test]
    fn unsupported_types_are_named() {
        assert_eq!(dtype_name(14), "DT_BFLOAT16 (DataType 14)");
        assert_eq!(dtype_name(99), "DataType 99");
    }
}
