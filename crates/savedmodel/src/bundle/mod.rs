//! The TensorBundle reader: TensorFlow's checkpoint V2 format, which is what a SavedModel's
//! `variables/` directory holds.
//!
//! `variables.index` is a LevelDB-format table ([`table`]) mapping each variable's key to a
//! `BundleEntryProto` ([`entry`]) that says which `variables.data-NNNNN-of-MMMMM` shard holds its
//! bytes, where, and their checksum. Values are read on demand and checked.

mod entry;
mod table;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use prost::Message;
use tensorserve_core::{DType, Tensor, TensorData};

pub use entry::BundleEntryProto;

/// Why a checkpoint could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// A file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is not what it should be.
    #[error("corrupt checkpoint file {file}: {what}")]
    Corrupt {
        /// The file.
        file: String,
        /// What is wrong.
        what: String,
    },
    /// No entry has this key.
    #[error("checkpoint has no tensor named '{0}'")]
    NoSuchKey(String),
    /// The entry uses something this reader does not handle.
    #[error("checkpoint tensor '{key}': {what}")]
    Unsupported {
        /// The entry's key.
        key: String,
        /// What is not supported.
        what: String,
    },
}

/// An opened checkpoint: its index in memory, data shards read on demand.
pub struct Bundle {
    prefix: PathBuf,
    num_shards: i32,
    entries: BTreeMap<String, BundleEntryProto>,
}

impl Bundle {
    /// Opens the checkpoint at `prefix` (e.g. `<version>/variables/variables`).
    pub fn open(prefix: &Path) -> Result<Bundle, BundleError> {
        let index_path = with_suffix(prefix, ".index");
        let index = std::fs::read(&index_path).map_err(|source| BundleError::Io {
            path: index_path.clone(),
            source,
        })?;
        let name = index_path.display().to_string();
        let corrupt = |what: String| BundleError::Corrupt {
            file: name.clone(),
            what,
        };
        let mut num_shards = 1;
        let mut entries = BTreeMap::new();
        for (key, value) in table::read_table(&index, &name)? {
            if key.is_empty() {
                let header = entry::BundleHeaderProto::decode(value.as_slice())
                    .map_err(|e| corrupt(format!("bad bundle header: {e}")))?;
                if header.endianness != 0 {
                    return Err(corrupt("big-endian checkpoints are not supported".into()));
                }
                num_shards = header.num_shards.max(1);
                continue;
            }
            let key = String::from_utf8(key).map_err(|_| corrupt("a key is not UTF-8".into()))?;
            let entry = BundleEntryProto::decode(value.as_slice())
                .map_err(|e| corrupt(format!("bad entry for '{key}': {e}")))?;
            entries.insert(key, entry);
        }
        Ok(Bundle {
            prefix: prefix.to_path_buf(),
            num_shards,
            entries,
        })
    }

    /// The keys of every tensor, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// The TensorFlow dtype number and shape of a tensor.
    pub fn dtype_and_shape(&self, key: &str) -> Option<(i32, Vec<i64>)> {
        self.entries.get(key).map(|e| {
            (
                e.dtype,
                e.shape
                    .iter()
                    .flat_map(|s| s.dim.iter().map(|d| d.size))
                    .collect(),
            )
        })
    }

    /// Reads a tensor, checking its CRC32C.
    pub fn read(&self, key: &str) -> Result<Tensor, BundleError> {
        let entry = self
            .entries
            .get(key)
            .ok_or_else(|| BundleError::NoSuchKey(key.to_string()))?;
        let unsupported = |what: &str| BundleError::Unsupported {
            key: key.to_string(),
            what: what.to_string(),
        };
        if !entry.slices.is_empty() {
            return Err(unsupported(
                "partitioned (sliced) variables are not supported",
            ));
        }
        let dtype = DType::from_tf_enum(entry.dtype)
            .ok_or_else(|| unsupported(&format!("dtype {}", entry.dtype)))?;
        let shape = entry
            .shape
            .iter()
            .flat_map(|s| s.dim.iter())
            .map(|d| usize::try_from(d.size).map_err(|_| unsupported("negative dimension")))
            .collect::<Result<Vec<usize>, _>>()?;
        let count: usize = shape.iter().product();
        let bytes = self.read_bytes(key, entry)?;
        let actual = crc32c_of_entry(dtype, &bytes, count);
        if table::unmask_crc(entry.crc32c) != actual {
            return Err(BundleError::Corrupt {
                file: self.shard_name(entry.shard_id),
                what: format!("checksum mismatch for '{key}'"),
            });
        }
        let data = decode(dtype, &bytes, count).ok_or_else(|| BundleError::Corrupt {
            file: self.shard_name(entry.shard_id),
            what: format!(
                "'{key}' holds {} bytes, which do not make {count} {dtype} values",
                bytes.len()
            ),
        })?;
        Tensor::new(shape, data).map_err(|e| unsupported(e.message()))
    }

    fn shard_name(&self, shard: i32) -> String {
        with_suffix(
            &self.prefix,
            &format!(".data-{shard:05}-of-{:05}", self.num_shards),
        )
        .display()
        .to_string()
    }

    fn read_bytes(&self, key: &str, entry: &BundleEntryProto) -> Result<Vec<u8>, BundleError> {
        let path = PathBuf::from(self.shard_name(entry.shard_id));
        let io = |source| BundleError::Io {
            path: path.clone(),
            source,
        };
        let mut file = File::open(&path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let (offset, size) = (u64::try_from(entry.offset), u64::try_from(entry.size));
        let (Ok(offset), Ok(size)) = (offset, size) else {
            return Err(BundleError::Corrupt {
                file: path.display().to_string(),
                what: format!("bad extent for '{key}'"),
            });
        };
        if offset.checked_add(size).is_none_or(|end| end > len) {
            return Err(BundleError::Corrupt {
                file: path.display().to_string(),
                what: format!("'{key}' extends past the end of the file"),
            });
        }
        file.seek(SeekFrom::Start(offset)).map_err(io)?;
        let mut bytes = vec![0; size as usize];
        file.read_exact(&mut bytes).map_err(io)?;
        Ok(bytes)
    }
}

fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The checksum TensorFlow records: over the raw bytes for numbers; for strings, over each
/// length as a little-endian u64, then the masked length checksum and the bytes as stored.
fn crc32c_of_entry(dtype: DType, bytes: &[u8], count: usize) -> u32 {
    if dtype != DType::String {
        return crc32c::crc32c(bytes);
    }
    let mut pos = 0;
    let mut crc = 0;
    for _ in 0..count {
        match table::varint(bytes, &mut pos) {
            Some(len) => crc = crc32c::crc32c_append(crc, &len.to_le_bytes()),
            None => break,
        }
    }
    crc32c::crc32c_append(crc, &bytes[pos.min(bytes.len())..])
}

fn decode(dtype: DType, bytes: &[u8], count: usize) -> Option<TensorData> {
    macro_rules! numbers {
        ($t:ty, $var:ident) => {{
            let size = std::mem::size_of::<$t>();
            if bytes.len() != count.checked_mul(size)? {
                return None;
            }
            TensorData::$var(
                bytes
                    .chunks_exact(size)
                    .map(|c| <$t>::from_le_bytes(c.try_into().unwrap()))
                    .collect(),
            )
        }};
    }
    Some(match dtype {
        DType::F32 => numbers!(f32, F32),
        DType::F64 => numbers!(f64, F64),
        DType::I8 => numbers!(i8, I8),
        DType::I16 => numbers!(i16, I16),
        DType::I32 => numbers!(i32, I32),
        DType::I64 => numbers!(i64, I64),
        DType::U8 => numbers!(u8, U8),
        DType::U16 => numbers!(u16, U16),
        DType::U32 => numbers!(u32, U32),
        DType::U64 => numbers!(u64, U64),
        DType::F16 => numbers!(u16, F16),
        DType::Bool => {
            if bytes.len() != count {
                return None;
            }
            TensorData::Bool(bytes.iter().map(|&b| b != 0).collect())
        }
        DType::String => {
            let mut pos = 0;
            let lengths = (0..count)
                .map(|_| table::varint(bytes, &mut pos))
                .collect::<Option<Vec<u64>>>()?;
            pos = pos.checked_add(4)?; // the masked checksum of the lengths
            let mut strings = Vec::with_capacity(count);
            for len in lengths {
                let end = pos
                    .checked_add(usize::try_from(len).ok()?)
                    .filter(|&e| e <= bytes.len())?;
                strings.push(bytes[pos..end].to_vec());
                pos = end;
            }
            (pos == bytes.len()).then_some(TensorData::String(strings))?
        }
    })
}
