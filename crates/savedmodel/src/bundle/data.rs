//! The data files of a bundle: naming, and reading one entry's bytes.
//!
//! Files are opened per read rather than kept open: a SavedModel import reads each variable
//! once, and holding no handles keeps [`super::Bundle`] trivially `Send + Sync`.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::BundleError;

/// `<prefix><suffix>`, without treating a `.` in the prefix as an extension.
pub(super) fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// TensorFlow's `DataFilename`: `<prefix>.data-00000-of-00001`.
pub(super) fn shard_path(prefix: &Path, shard: usize, num_shards: usize) -> PathBuf {
    with_suffix(prefix, &format!(".data-{shard:05}-of-{num_shards:05}"))
}

/// Reads `size` bytes at `offset` of `path` for tensor `key`. The range is checked against the
/// file's length first, so a corrupt index cannot cause a huge allocation, and a truncated file
/// is reported as such rather than as an unexpected end of file.
pub(super) fn read_extent(
    path: &Path,
    key: &str,
    offset: u64,
    size: u64,
) -> Result<Vec<u8>, BundleError> {
    let io = |source| BundleError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let file_len = file.metadata().map_err(io)?.len();
    let end = offset.checked_add(size).filter(|&end| end <= file_len);
    let Some(len) = end.and_then(|_| usize::try_from(size).ok()) else {
        return Err(BundleError::CorruptTensor {
            key: key.to_string(),
            path: path.to_path_buf(),
            what: format!(
                "its {size} bytes at offset {offset} extend past the end of the {file_len}-byte \
                 file (truncated?)"
            ),
        });
    };
    file.seek(SeekFrom::Start(offset)).map_err(io)?;
    let mut bytes = vec![0; len];
    file.read_exact(&mut bytes).map_err(io)?;
    Ok(bytes)
}
