//! Errors raised while reading a SavedModel.

use std::path::PathBuf;

use crate::bundle::BundleError;

/// Why a SavedModel could not be read or imported.
#[derive(Debug, thiserror::Error)]
pub enum SavedModelError {
    /// The directory has neither `saved_model.pb` nor `saved_model.pbtxt`.
    #[error(
        "SavedModel not found in export directory: {0} (expected saved_model.pb or saved_model.pbtxt)"
    )]
    NotFound(PathBuf),
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `saved_model.pb` is not a valid SavedModel protobuf.
    #[error("cannot decode {path}: {message}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        message: String,
    },
    /// No MetaGraph carries the requested tags.
    #[error(
        "Could not find meta graph def matching supplied tags: {{ {wanted} }}. To inspect available tag-sets in the SavedModel, please use the SavedModel CLI: `tensorserve model show`. Available tag-sets: {available}"
    )]
    NoMatchingTags {
        /// The tags asked for.
        wanted: String,
        /// The tag sets present.
        available: String,
    },
    /// The variables checkpoint could not be read.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// The graph uses something the importer cannot express.
    #[error("{0}")]
    Unsupported(String),
    /// The graph is inconsistent (dangling reference, missing function, ...).
    #[error("invalid graph: {0}")]
    InvalidGraph(String),
}
