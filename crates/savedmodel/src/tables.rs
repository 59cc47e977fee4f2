//! Lookup tables (`HashTableV2`) and the init op that fills them.
//!
//! A SavedModel creates each table empty in the main graph and fills it when the loader runs the
//! init op (TF2: the `__saved_model_init_op` signature; TF1: the `saved_model_main_op`,
//! `legacy_init_op` or `table_initializer` collections). The init op reaches, through control
//! edges and function calls, one initializer per table:
//! - `LookupTableImportV2(table, keys, values)`: keys and values are tensors of the graph
//!   (constants, in practice — `tf.lookup.KeyValueTensorInitializer`, Keras `StringLookup`);
//! - `InitializeTableFromTextFileV2(table, filename)`: a vocabulary file from `assets/`, whose
//!   path the loader binds to the tensor named in the MetaGraph's `asset_file_def` (TF2 routes it
//!   through a string variable assigned from that placeholder).
//!
//! [`find_initializers`] records them; the freezer then turns each `LookupTableFindV2` into a
//! `TensorserveLookupTableFind` node whose first two inputs are the table's keys and values, so
//! the engine can build the hash map once, at load.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use prost::Message;
use tensorserve_core::{DType, Tensor, TensorData};
use tract_tensorflow::tfpb::tensorflow::{AssetFileDef, MetaGraphDef, collection_def};

use crate::SavedModelError;
use crate::graph_ref::{Frames, Src};
use crate::variables::const_tensor;

/// The op the freezer emits in place of `LookupTableFindV2`: inputs `(table_keys, table_values,
/// keys, default_value)`.
pub const LOOKUP_OP: &str = "TensorserveLookupTableFind";

/// Ops that create a table the importer can fill.
pub fn is_table_op(op: &str) -> bool {
    matches!(op, "HashTableV2" | "HashTable")
}

/// Ops that look keys up in a table.
pub fn is_find_op(op: &str) -> bool {
    matches!(op, "LookupTableFindV2" | "LookupTableFind")
}

/// How a table gets its contents.
#[derive(Debug, Clone)]
pub enum TableInit {
    /// `LookupTableImportV2`: these tensors.
    Import {
        /// The keys tensor.
        keys: Src,
        /// The values tensor.
        values: Src,
    },
    /// `InitializeTableFromTextFileV2`: a text file, one entry per line.
    TextFile(TextFileSpec),
}

/// The attributes of an `InitializeTableFromTextFileV2`, with its file resolved.
#[derive(Debug, Clone)]
pub struct TextFileSpec {
    /// The vocabulary file.
    pub path: PathBuf,
    /// Column of the key: `-2` the whole line, `-1` the line number, else a column.
    pub key_index: i64,
    /// Column of the value, the same way.
    pub value_index: i64,
    /// Number of lines to read, `-1` for all.
    pub vocab_size: i64,
    /// Column separator.
    pub delimiter: u8,
    /// Added to line numbers (and int32 values), as TensorFlow does.
    pub offset: i64,
}

/// Finds the initializer of every table the init op fills, keyed by the table's creating node.
pub fn find_initializers<'a>(
    meta_graph: &'a MetaGraphDef,
    frames: &mut Frames<'a>,
    dir: &Path,
) -> Result<HashMap<Src, TableInit>, SavedModelError> {
    let assets = asset_paths(meta_graph, dir);
    let mut found = HashMap::new();
    let roots: Vec<String> = init_roots(meta_graph)
        .into_iter()
        .filter(|n| frames.frames[0].nodes.contains_key(n.as_str()))
        .collect();
    frames.visit_reachable(roots, |frames, frame, node| {
        let name = &node.name;
        let table_input = |frames: &mut Frames<'a>| -> Result<Src, SavedModelError> {
            let handle = node
                .input
                .first()
                .and_then(|r| frames.parse_ref(frame, r).transpose());
            let handle = handle.ok_or_else(|| {
                SavedModelError::InvalidGraph(format!("{} '{}' has no table input", node.op, name))
            })??;
            frames.skip_identities(handle)
        };
        match node.op.as_str() {
            "LookupTableImportV2"
            | "LookupTableImport"
            | "InitializeTableV2"
            | "InitializeTable" => {
                let table = table_input(frames)?;
                let arg = |i: usize, frames: &mut Frames<'a>| {
                    node.input
                        .get(i)
                        .and_then(|r| frames.parse_ref(frame, r).transpose())
                        .unwrap_or_else(|| {
                            Err(SavedModelError::InvalidGraph(format!(
                                "{} '{name}' lacks input {i}",
                                node.op
                            )))
                        })
                };
                let keys = arg(1, frames)?;
                let values = arg(2, frames)?;
                found.insert(table, TableInit::Import { keys, values });
            }
            "InitializeTableFromTextFileV2" | "InitializeTableFromTextFile" => {
                let table = table_input(frames)?;
                let filename = node
                    .input
                    .get(1)
                    .and_then(|r| frames.parse_ref(frame, r).transpose())
                    .transpose()?
                    .ok_or_else(|| {
                        SavedModelError::InvalidGraph(format!("'{name}' has no filename input"))
                    })?;
                let path = file_path(frames, filename, &assets, 0)?;
                let int = |attr: &str, default: i64| match node
                    .attr
                    .get(attr)
                    .and_then(|a| a.value.as_ref())
                {
                    Some(tract_tensorflow::tfpb::tensorflow::attr_value::Value::I(i)) => *i,
                    _ => default,
                };
                let delimiter = match node.attr.get("delimiter").and_then(|a| a.value.as_ref()) {
                    Some(tract_tensorflow::tfpb::tensorflow::attr_value::Value::S(s)) => {
                        s.first().copied().unwrap_or(b'\t')
                    }
                    _ => b'\t',
                };
                found.insert(
                    table,
                    TableInit::TextFile(TextFileSpec {
                        path,
                        key_index: int("key_index", -2),
                        value_index: int("value_index", -1),
                        vocab_size: int("vocab_size", -1),
                        delimiter,
                        offset: int("offset", 0),
                    }),
                );
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(found)
}

/// The nodes a TensorFlow loader runs after restoring variables.
fn init_roots(meta_graph: &MetaGraphDef) -> Vec<String> {
    let mut roots = Vec::new();
    if let Some(sig) = meta_graph.signature_def.get("__saved_model_init_op") {
        for info in sig.outputs.values() {
            if let Some(tract_tensorflow::tfpb::tensorflow::tensor_info::Encoding::Name(n)) =
                &info.encoding
            {
                roots.push(n.split(':').next().unwrap_or_default().to_string());
            }
        }
    }
    for key in ["saved_model_main_op", "legacy_init_op", "table_initializer"] {
        if let Some(collection_def::Kind::NodeList(list)) = meta_graph
            .collection_def
            .get(key)
            .and_then(|c| c.kind.as_ref())
        {
            roots.extend(list.value.iter().map(|n| {
                n.trim_start_matches('^')
                    .split(':')
                    .next()
                    .unwrap_or_default()
                    .to_string()
            }));
        }
    }
    roots
}

/// Asset tensors (`node:port`) and the file in `assets/` each is bound to: TF2 lists them in
/// `asset_file_def`, TF1 in the `saved_model_assets` collection.
fn asset_paths(meta_graph: &MetaGraphDef, dir: &Path) -> HashMap<(String, usize), PathBuf> {
    let mut defs: Vec<AssetFileDef> = meta_graph.asset_file_def.clone();
    if let Some(collection_def::Kind::AnyList(list)) = meta_graph
        .collection_def
        .get("saved_model_assets")
        .and_then(|c| c.kind.as_ref())
    {
        defs.extend(
            list.value
                .iter()
                .filter(|any| any.type_url.ends_with("tensorflow.AssetFileDef"))
                .filter_map(|any| AssetFileDef::decode(any.value.as_slice()).ok()),
        );
    }
    defs.into_iter()
        .filter_map(|def| {
            let name = match def.tensor_info?.encoding? {
                tract_tensorflow::tfpb::tensorflow::tensor_info::Encoding::Name(n) => n,
                _ => return None,
            };
            let (node, port) = crate::freeze::split_tensor_name(&name).ok()?;
            Some(((node, port), dir.join("assets").join(def.filename)))
        })
        .collect()
}

/// The file a filename tensor stands for when the loader runs the init op.
fn file_path<'a>(
    frames: &mut Frames<'a>,
    src: Src,
    assets: &HashMap<(String, usize), PathBuf>,
    depth: usize,
) -> Result<PathBuf, SavedModelError> {
    let src = frames.skip_identities(src)?;
    if src.frame == 0
        && let Some(path) = assets.get(&(src.node.clone(), src.port))
    {
        return Ok(path.clone());
    }
    let node = frames.node(src.frame, &src.node)?;
    let unresolved = || {
        SavedModelError::Unsupported(format!(
            "cannot tell which file the table initializer reads: '{}' ({}) is not an asset",
            src.node, node.op
        ))
    };
    if depth > 8 {
        return Err(unresolved());
    }
    match node.op.as_str() {
        "Const" => {
            let proto = const_tensor(frames, src.clone())?.ok_or_else(unresolved)?;
            let name = proto.string_val.first().ok_or_else(unresolved)?;
            Ok(PathBuf::from(String::from_utf8_lossy(name).into_owned()))
        }
        // TF2 keeps the asset path in a string variable assigned, in the init op, from the
        // placeholder that `asset_file_def` names.
        "ReadVariableOp" => {
            let handle = node
                .input
                .first()
                .and_then(|r| frames.parse_ref(src.frame, r).transpose())
                .transpose()?
                .ok_or_else(unresolved)?;
            let var = frames.skip_identities(handle)?;
            let main: Vec<_> = frames.frames[0].nodes.values().copied().collect();
            for assign in main.into_iter().filter(|n| n.op == "AssignVariableOp") {
                // A hostile graph may give an AssignVariableOp fewer than its two inputs.
                let [target, value, ..] = assign.input.as_slice() else {
                    continue;
                };
                let target = frames.parse_ref(0, target)?;
                if target.is_some_and(|t| t.node == var.node && var.frame == 0)
                    && let Some(value) = frames.parse_ref(0, value)?
                {
                    return file_path(frames, value, assets, depth + 1);
                }
            }
            Err(unresolved())
        }
        _ => Err(unresolved()),
    }
}

/// The keys and values of a text-file table, read as TensorFlow's `TextFileLineIterator` does.
pub fn read_text_file(
    spec: &TextFileSpec,
    key_dtype: DType,
    value_dtype: DType,
) -> Result<(Tensor, Tensor), SavedModelError> {
    let bytes = std::fs::read(&spec.path).map_err(|source| SavedModelError::Io {
        path: spec.path.clone(),
        source,
    })?;
    let file = spec.path.display();
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    if spec.vocab_size >= 0 {
        let wanted = spec.vocab_size as usize;
        if lines.len() < wanted {
            return Err(SavedModelError::InvalidGraph(format!(
                "{file}: the table wants {wanted} lines but the file has {}",
                lines.len()
            )));
        }
        lines.truncate(wanted);
    }
    let mut keys = Column::new(key_dtype, &file.to_string())?;
    let mut values = Column::new(value_dtype, &file.to_string())?;
    let columns = spec.key_index.max(spec.value_index).max(-1) + 1;
    for (number, line) in lines.iter().enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return Err(SavedModelError::InvalidGraph(format!(
                "{file}: empty line {} in a table's vocabulary file",
                number + 1
            )));
        }
        let tokens: Vec<&[u8]> = line.split(|&b| b == spec.delimiter).collect();
        if (tokens.len() as i64) < columns {
            return Err(SavedModelError::InvalidGraph(format!(
                "{file}: line {} has {} columns, the table reads column {}",
                number + 1,
                tokens.len(),
                columns - 1
            )));
        }
        let line_number = number as i64 + spec.offset;
        for (column, index) in [(&mut keys, spec.key_index), (&mut values, spec.value_index)] {
            match index {
                -1 => column.push_line_number(line_number)?,
                -2 => column.push_token(line, number, spec.offset)?,
                i => column.push_token(tokens[i as usize], number, spec.offset)?,
            }
        }
    }
    Ok((keys.finish()?, values.finish()?))
}

/// One side (keys or values) of a text-file table, being read.
struct Column {
    data: TensorData,
    file: String,
}

impl Column {
    fn new(dtype: DType, file: &str) -> Result<Column, SavedModelError> {
        let data = match dtype {
            DType::String => TensorData::String(Vec::new()),
            DType::I64 => TensorData::I64(Vec::new()),
            DType::I32 => TensorData::I32(Vec::new()),
            DType::F32 => TensorData::F32(Vec::new()),
            DType::F64 => TensorData::F64(Vec::new()),
            other => {
                return Err(SavedModelError::Unsupported(format!(
                    "{file}: tables of {other} cannot be read from a text file"
                )));
            }
        };
        Ok(Column {
            data,
            file: file.to_string(),
        })
    }

    fn push_line_number(&mut self, n: i64) -> Result<(), SavedModelError> {
        match &mut self.data {
            TensorData::I64(v) => v.push(n),
            _ => {
                return Err(SavedModelError::InvalidGraph(format!(
                    "{}: a line-number column needs an int64 table side",
                    self.file
                )));
            }
        }
        Ok(())
    }

    fn push_token(
        &mut self,
        token: &[u8],
        line: usize,
        offset: i64,
    ) -> Result<(), SavedModelError> {
        let text = std::str::from_utf8(token).unwrap_or("");
        let bad = |what: &str| {
            SavedModelError::InvalidGraph(format!(
                "{}: field '{}' on line {} is not a valid {what}",
                self.file,
                String::from_utf8_lossy(token),
                line + 1
            ))
        };
        match &mut self.data {
            TensorData::String(v) => v.push(token.to_vec()),
            TensorData::I64(v) => v.push(text.parse().map_err(|_| bad("int64"))?),
            TensorData::I32(v) => {
                let n: i32 = text.parse().map_err(|_| bad("int32"))?;
                v.push(n.wrapping_add(offset as i32));
            }
            TensorData::F32(v) => v.push(text.parse().map_err(|_| bad("float"))?),
            TensorData::F64(v) => v.push(text.parse().map_err(|_| bad("double"))?),
            _ => unreachable!("Column::new accepts only these"),
        }
        Ok(())
    }

    fn finish(self) -> Result<Tensor, SavedModelError> {
        let len = self.data.len();
        Tensor::new(vec![len], self.data).map_err(|e| SavedModelError::InvalidGraph(e.to_string()))
    }
}
