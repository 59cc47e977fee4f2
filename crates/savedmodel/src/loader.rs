//! Opening a SavedModel directory: decoding `saved_model.pb`, choosing the MetaGraph by tags and
//! reading its signatures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use prost::Message;
use tensorserve_core::signature::Dim;
use tensorserve_core::{DType, SignatureDef, TensorInfo};
use tract_tensorflow::tfpb::tensorflow::{self as tf, MetaGraphDef, SavedModel};

use crate::SavedModelError;
use crate::bundle::Bundle;

/// The tag TF Serving loads by default.
pub const SERVE_TAG: &str = "serve";

/// A SavedModel version directory, opened: the chosen MetaGraph and its variables.
pub struct SavedModelDir {
    /// The version directory.
    pub dir: PathBuf,
    /// The MetaGraph whose tags matched.
    pub meta_graph: MetaGraphDef,
    /// The `variables/` checkpoint, when the directory has one.
    pub variables: Option<Bundle>,
    /// Signatures converted to core types, by name (including `__saved_model_init_op`).
    pub signatures: BTreeMap<String, SignatureDef>,
}

impl SavedModelDir {
    /// Opens `dir`, choosing the MetaGraph whose tag set equals `tags` (TF's loader rule).
    pub fn open(dir: &Path, tags: &[&str]) -> Result<SavedModelDir, SavedModelError> {
        let saved_model = read_saved_model(dir)?;
        let meta_graph = select_meta_graph(saved_model, tags)?;
        let prefix = dir.join("variables").join("variables");
        let variables = if prefix.with_extension("index").exists() {
            Some(Bundle::open(&prefix)?)
        } else {
            None
        };
        let signatures = meta_graph
            .signature_def
            .iter()
            .map(|(name, def)| Ok((name.clone(), convert_signature(name, def)?)))
            .collect::<Result<_, SavedModelError>>()?;
        Ok(SavedModelDir {
            dir: dir.to_path_buf(),
            meta_graph,
            variables,
            signatures,
        })
    }

    /// The raw TensorFlow SignatureDef of `name`.
    pub fn raw_signature(&self, name: &str) -> Option<&tf::SignatureDef> {
        self.meta_graph.signature_def.get(name)
    }
}

/// Whether `dir` looks like a SavedModel version directory.
pub fn is_saved_model_dir(dir: &Path) -> bool {
    dir.join("saved_model.pb").is_file() || dir.join("saved_model.pbtxt").is_file()
}

fn read_saved_model(dir: &Path) -> Result<SavedModel, SavedModelError> {
    let pb = dir.join("saved_model.pb");
    if pb.is_file() {
        let bytes = std::fs::read(&pb).map_err(|source| SavedModelError::Io {
            path: pb.clone(),
            source,
        })?;
        return SavedModel::decode(bytes.as_slice()).map_err(|e| SavedModelError::Decode {
            path: pb,
            message: e.to_string(),
        });
    }
    let pbtxt = dir.join("saved_model.pbtxt");
    if pbtxt.is_file() {
        let text = std::fs::read_to_string(&pbtxt).map_err(|source| SavedModelError::Io {
            path: pbtxt.clone(),
            source,
        })?;
        return crate::text_format::parse_saved_model_text(&pbtxt, &text);
    }
    Err(SavedModelError::NotFound(dir.to_path_buf()))
}

fn select_meta_graph(
    saved_model: SavedModel,
    tags: &[&str],
) -> Result<MetaGraphDef, SavedModelError> {
    let mut wanted: Vec<&str> = tags.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    let mut available = Vec::new();
    for meta_graph in saved_model.meta_graphs {
        let mut have: Vec<String> = meta_graph
            .meta_info_def
            .as_ref()
            .map(|m| m.tags.clone())
            .unwrap_or_default();
        have.sort_unstable();
        have.dedup();
        if have.iter().map(String::as_str).eq(wanted.iter().copied()) {
            return Ok(meta_graph);
        }
        available.push(format!("{{ {} }}", have.join(" ")));
    }
    Err(SavedModelError::NoMatchingTags {
        wanted: wanted.join(" "),
        available: available.join(" "),
    })
}

fn convert_signature(name: &str, def: &tf::SignatureDef) -> Result<SignatureDef, SavedModelError> {
    let convert = |map: &std::collections::HashMap<String, tf::TensorInfo>| {
        map.iter()
            .map(|(alias, info)| Ok((alias.clone(), convert_tensor_info(name, alias, info)?)))
            .collect::<Result<BTreeMap<_, _>, SavedModelError>>()
    };
    Ok(SignatureDef {
        method_name: def.method_name.clone(),
        inputs: convert(&def.inputs)?,
        outputs: convert(&def.outputs)?,
    })
}

fn convert_tensor_info(
    sig: &str,
    alias: &str,
    info: &tf::TensorInfo,
) -> Result<TensorInfo, SavedModelError> {
    let tensor_name = match &info.encoding {
        Some(tf::tensor_info::Encoding::Name(n)) => n.clone(),
        _ => {
            return Err(SavedModelError::Unsupported(format!(
                "signature {sig}: tensor {alias} uses a sparse or composite encoding, which is not supported"
            )));
        }
    };
    // DT_INVALID appears for outputs such as the init op's NoOp; keep them listable as float.
    let dtype = match info.dtype {
        0 => DType::F32,
        n => DType::from_tf_enum(n).ok_or_else(|| {
            SavedModelError::Unsupported(format!(
                "signature {sig}: tensor {alias} has unsupported dtype {}",
                tf::DataType::try_from(n)
                    .map(|d| d.as_str_name().to_string())
                    .unwrap_or(n.to_string())
            ))
        })?,
    };
    let shape = info.tensor_shape.as_ref().and_then(|s| {
        (!s.unknown_rank).then(|| {
            s.dim
                .iter()
                .map(|d| Dim {
                    size: d.size,
                    name: d.name.clone(),
                })
                .collect()
        })
    });
    Ok(TensorInfo {
        name: tensor_name,
        dtype,
        shape,
    })
}
