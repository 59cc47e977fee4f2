//! Why a checkpoint could not be read. Every message names the file, and the tensor when there
//! is one, because the operator's next step is to look at that file.

use std::path::PathBuf;

/// Why a checkpoint (or one tensor of it) could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// A file could not be opened or read.
    #[error("cannot read checkpoint file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The `.index` file is damaged: bad table structure, checksum or protobuf.
    #[error("checkpoint index {path} is corrupt: {what}")]
    CorruptIndex {
        /// The `.index` file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// The index was written in a format version this reader must not read.
    #[error("checkpoint index {path} is incompatible: {what}")]
    Incompatible {
        /// The `.index` file.
        path: PathBuf,
        /// Which version rule failed.
        what: String,
    },
    /// A tensor's stored bytes do not match its index entry (checksum, size, truncation).
    #[error("checkpoint tensor '{key}' in {path} is corrupt: {what}")]
    CorruptTensor {
        /// The tensor's key.
        key: String,
        /// The file the bytes were read from (or should have been).
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// The checkpoint has no tensor with this key.
    #[error("tensor '{key}' not found in checkpoint {prefix}")]
    NotFound {
        /// The key asked for.
        key: String,
        /// The checkpoint prefix.
        prefix: PathBuf,
    },
    /// The tensor is well-formed but uses something this reader does not handle (an element type
    /// such as bfloat16, complex or variant).
    #[error("checkpoint tensor '{key}' in {prefix}: {what} is not supported")]
    Unsupported {
        /// The tensor's key.
        key: String,
        /// The checkpoint prefix.
        prefix: PathBuf,
        /// What is not supported.
        what: String,
    },
}
