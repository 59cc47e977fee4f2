//! Freezing one signature into a self-contained `GraphDef`.
//!
//! The walk is demand-driven from the signature's outputs, so only what they need is emitted
//! (save/restore/init machinery never is). Along the way:
//! - tensors the signature names as inputs become `Placeholder`s, cutting whatever computed them
//!   (TF Serving feeds `x:0`, an Identity, not a Placeholder: reference §1.6);
//! - function calls are inlined, their nodes renamed by call path;
//! - variables become `Const`s holding their checkpoint values;
//! - `ParseExample(V2)` on a signature input is lifted out of the graph and done natively before
//!   the graph runs (see [`crate::example_spec`]); its dense outputs become placeholders;
//! - lookup tables are filled as the init op would fill them (see [`crate::tables`]) and each
//!   lookup becomes one node holding the table's keys and values;
//! - default attrs are restored and compressed constants expanded;
//! - control edges are dropped: a frozen inference graph has no side effects to order.

use std::collections::{HashMap, HashSet};

use tensorserve_core::DType;
use tract_tensorflow::tfpb::tensorflow::{AttrValue, GraphDef, NodeDef, attr_value};

use crate::consts::{MAX_EXPANDED_CONST_BYTES, normalize_const, tensor_to_proto};
use crate::example_spec::{self, ParseExampleSpec};
use crate::graph_ref::{Frames, Src, cycle, is_call_op};
use crate::loader::SavedModelDir;
use crate::tables::{self, TableInit};
use crate::{SavedModelError, opdefs, variables};

/// Where the value of a frozen graph's placeholder comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum InputSource {
    /// The signature input with this alias, fed as is.
    Alias(String),
    /// Dense feature `dense` of parse spec `spec`, computed natively from a string input.
    ParsedFeature {
        /// Index into [`FrozenSignature::parse_examples`].
        spec: usize,
        /// Index of the dense feature within the spec.
        dense: usize,
    },
}

/// A placeholder of the frozen graph and what feeds it.
#[derive(Debug, Clone, PartialEq)]
pub struct FrozenInput {
    /// The placeholder node's name.
    pub placeholder: String,
    /// The feed.
    pub source: InputSource,
    /// Its element type.
    pub dtype: DType,
    /// Declared shape (`-1` unknown), or `None` for unknown rank.
    pub shape: Option<Vec<i64>>,
}

/// A signature frozen into a graph that any GraphDef engine can run.
#[derive(Debug, Clone)]
pub struct FrozenSignature {
    /// The flat graph.
    pub graph: GraphDef,
    /// Placeholders, in a stable order.
    pub inputs: Vec<FrozenInput>,
    /// Output aliases and the `(node, port)` that computes each.
    pub outputs: Vec<(String, String, usize)>,
    /// Native tf.Example parsing to do before the graph runs.
    pub parse_examples: Vec<ParseExampleSpec>,
}

#[derive(Clone)]
enum Value {
    Tensor(String, usize),
    Resource(Src),
    Table(Src),
}

struct Freezer<'a, 'd> {
    dir: &'d SavedModelDir,
    frames: Frames<'a>,
    var_keys: HashMap<String, String>,
    feeds: HashMap<(String, usize), String>,
    emitted: HashMap<(usize, String), String>,
    var_consts: HashMap<String, String>,
    parse_cuts: HashMap<(usize, String), usize>,
    table_inits: HashMap<Src, TableInit>,
    table_consts: HashMap<Src, (String, String)>,
    /// Nodes whose inputs are being resolved: meeting one again means the graph has a cycle,
    /// which would otherwise recurse until the stack overflows.
    resolving: HashSet<(usize, String)>,
    /// Bytes that expanding compressed constants may still add.
    const_budget: usize,
    out: FrozenSignature,
}

/// Freezes signature `name` of `dir`.
pub fn freeze_signature(
    dir: &SavedModelDir,
    name: &str,
) -> Result<FrozenSignature, SavedModelError> {
    // Every node consults the op definitions: keep them decoded for the whole freeze.
    let _op_defs = opdefs::registry();
    let sig = dir
        .raw_signature(name)
        .ok_or_else(|| SavedModelError::InvalidGraph(format!("no signature named '{name}'")))?;
    let graph = dir
        .meta_graph
        .graph_def
        .as_ref()
        .ok_or_else(|| SavedModelError::InvalidGraph("MetaGraph has no graph".into()))?;
    let mut frames = Frames::new(graph);
    let var_keys = variables::variable_keys(&dir.meta_graph, &mut frames)?;
    let table_inits = tables::find_initializers(&dir.meta_graph, &mut frames, &dir.dir)?;
    let mut f = Freezer {
        dir,
        frames,
        var_keys,
        feeds: HashMap::new(),
        emitted: HashMap::new(),
        var_consts: HashMap::new(),
        parse_cuts: HashMap::new(),
        table_inits,
        table_consts: HashMap::new(),
        resolving: HashSet::new(),
        const_budget: MAX_EXPANDED_CONST_BYTES,
        out: FrozenSignature {
            graph: GraphDef {
                versions: graph.versions.clone(),
                ..Default::default()
            },
            inputs: Vec::new(),
            outputs: Vec::new(),
            parse_examples: Vec::new(),
        },
    };
    let converted = &dir.signatures[name];
    for (alias, info) in &converted.inputs {
        let (node, port) = split_tensor_name(&info.name)?;
        let placeholder = format!("tensorserve_input/{alias}");
        let shape = info
            .shape
            .as_ref()
            .map(|dims| dims.iter().map(|d| d.size).collect());
        f.push_placeholder(&placeholder, info.dtype, shape.clone());
        f.out.inputs.push(FrozenInput {
            placeholder: placeholder.clone(),
            source: InputSource::Alias(alias.clone()),
            dtype: info.dtype,
            shape,
        });
        f.feeds.insert((node, port), placeholder);
    }
    let mut aliases: Vec<_> = sig.outputs.keys().collect();
    aliases.sort();
    for alias in aliases {
        let (node, port) = split_tensor_name(&converted.outputs[alias].name)?;
        match f.resolve(Src {
            frame: 0,
            node,
            port,
        })? {
            Value::Tensor(node, port) => f.out.outputs.push((alias.clone(), node, port)),
            Value::Resource(_) | Value::Table(_) => {
                return Err(SavedModelError::Unsupported(format!(
                    "signature {name}: output {alias} is a resource handle, not a tensor"
                )));
            }
        }
    }
    f.prune_unused_placeholders();
    Ok(f.out)
}

/// Splits `node:port` (port defaults to 0).
pub fn split_tensor_name(name: &str) -> Result<(String, usize), SavedModelError> {
    match name.rsplit_once(':') {
        Some((node, port)) => port
            .parse()
            .map(|p| (node.to_string(), p))
            .map_err(|_| SavedModelError::InvalidGraph(format!("malformed tensor name '{name}'"))),
        None => Ok((name.to_string(), 0)),
    }
}

fn attr(value: attr_value::Value) -> AttrValue {
    AttrValue { value: Some(value) }
}

impl<'a> Freezer<'a, '_> {
    fn push_placeholder(&mut self, name: &str, dtype: DType, shape: Option<Vec<i64>>) {
        let mut node = NodeDef {
            name: name.to_string(),
            op: "Placeholder".into(),
            ..Default::default()
        };
        node.attr.insert(
            "dtype".into(),
            attr(attr_value::Value::Type(dtype.tf_enum())),
        );
        if let Some(dims) = shape {
            let shape = tract_tensorflow::tfpb::tensorflow::TensorShapeProto {
                dim: dims
                    .into_iter()
                    .map(
                        |size| tract_tensorflow::tfpb::tensorflow::tensor_shape_proto::Dim {
                            size,
                            name: String::new(),
                        },
                    )
                    .collect(),
                unknown_rank: false,
            };
            node.attr
                .insert("shape".into(), attr(attr_value::Value::Shape(shape)));
        }
        self.out.graph.node.push(node);
    }

    fn resolve(&mut self, src: Src) -> Result<Value, SavedModelError> {
        if src.frame == 0
            && let Some(ph) = self.feeds.get(&(src.node.clone(), src.port))
        {
            return Ok(Value::Tensor(ph.clone(), 0));
        }
        let key = (src.frame, src.node.clone());
        if self.emitted.contains_key(&key) {
            return self.emit(&src);
        }
        if !self.resolving.insert(key.clone()) {
            return Err(cycle(&self.frames.frames[src.frame].prefix, &src.node));
        }
        let value = self.resolve_uncached(src);
        self.resolving.remove(&key);
        value
    }

    fn resolve_uncached(&mut self, src: Src) -> Result<Value, SavedModelError> {
        let node = self.frames.node(src.frame, &src.node)?;
        let prefix = self.frames.frames[src.frame].prefix.clone();
        match node.op.as_str() {
            "Identity" if node.input.first().is_some_and(|i| !i.starts_with('^')) => {
                let input = self
                    .frames
                    .parse_ref(src.frame, &node.input[0])?
                    .expect("not a control input");
                match self.resolve(input)? {
                    Value::Tensor(..) => self.emit(&src),
                    handle => Ok(handle),
                }
            }
            "VarHandleOp" => Ok(Value::Resource(src)),
            op if tables::is_table_op(op) => Ok(Value::Table(src)),
            "VariableV2" | "Variable" => self.variable_const(&src),
            "ReadVariableOp" => {
                let input = self.data_input(src.frame, node)?;
                match self.resolve(input)? {
                    Value::Resource(var) => self.variable_const(&var),
                    _ => Err(SavedModelError::InvalidGraph(format!(
                        "ReadVariableOp '{prefix}{}' reads something that is not a variable",
                        node.name
                    ))),
                }
            }
            "PlaceholderWithDefault" => {
                let input = self.data_input(src.frame, node)?;
                self.resolve(input)
            }
            "Placeholder" => Err(SavedModelError::Unsupported(format!(
                "the signature needs placeholder '{prefix}{}', which is not one of its inputs",
                node.name
            ))),
            "ParseExample" | "ParseExampleV2" => self.parse_example_output(&src),
            op if is_call_op(op) || self.frames.library.contains_key(op) => {
                let inner = self.frames.call_output(src.frame, node, src.port)?;
                self.resolve(inner)
            }
            _ => self.emit(&src),
        }
    }

    /// The first input of a node that must have one, which must be a data (not control) edge.
    fn data_input(&self, frame: usize, node: &NodeDef) -> Result<Src, SavedModelError> {
        let first = node.input.first().ok_or_else(|| {
            SavedModelError::InvalidGraph(format!(
                "{} node '{}{}' has no input",
                node.op, self.frames.frames[frame].prefix, node.name
            ))
        })?;
        self.frames.parse_ref(frame, first)?.ok_or_else(|| {
            SavedModelError::InvalidGraph(format!(
                "{} node '{}{}' has a control edge ('{first}') where its data input belongs",
                node.op, self.frames.frames[frame].prefix, node.name
            ))
        })
    }

    /// Drops placeholders nothing reads, such as a string input that only fed a lifted
    /// ParseExample: the engine must not be asked to feed them.
    fn prune_unused_placeholders(&mut self) {
        let mut used: std::collections::HashSet<String> = self
            .out
            .graph
            .node
            .iter()
            .flat_map(|n| {
                n.input
                    .iter()
                    .map(|i| i.split(':').next().unwrap_or_default().to_string())
            })
            .collect();
        used.extend(self.out.outputs.iter().map(|(_, node, _)| node.clone()));
        self.out
            .graph
            .node
            .retain(|n| n.op != "Placeholder" || used.contains(&n.name));
        self.out.inputs.retain(|i| used.contains(&i.placeholder));
    }

    fn variable_const(&mut self, var: &Src) -> Result<Value, SavedModelError> {
        if var.frame != 0 {
            return Err(SavedModelError::Unsupported(format!(
                "variable '{}' is created inside a function; only graph-level variables are supported",
                var.node
            )));
        }
        if let Some(name) = self.var_consts.get(&var.node) {
            return Ok(Value::Tensor(name.clone(), 0));
        }
        let key = self.var_keys.get(&var.node).ok_or_else(|| {
            SavedModelError::InvalidGraph(format!(
                "variable '{}' is not restored from the checkpoint",
                var.node
            ))
        })?;
        let bundle = self.dir.variables.as_ref().ok_or_else(|| {
            SavedModelError::InvalidGraph(format!(
                "variable '{}' needs variables/, which is missing",
                var.node
            ))
        })?;
        let tensor = bundle.read(key)?;
        let name = self.push_const(&format!("tensorserve_variable/{}", var.node), &tensor);
        self.var_consts.insert(var.node.clone(), name.clone());
        Ok(Value::Tensor(name, 0))
    }

    fn emit(&mut self, src: &Src) -> Result<Value, SavedModelError> {
        let key = (src.frame, src.node.clone());
        if let Some(name) = self.emitted.get(&key) {
            return Ok(Value::Tensor(name.clone(), src.port));
        }
        let original = self.frames.node(src.frame, &src.node)?;
        let name = format!("{}{}", self.frames.frames[src.frame].prefix, original.name);
        let mut node = NodeDef {
            name: name.clone(),
            op: original.op.clone(),
            attr: original.attr.clone(),
            ..Default::default()
        };
        for reference in &original.input {
            let Some(input) = self.frames.parse_ref(src.frame, reference)? else {
                continue;
            };
            match self.resolve(input)? {
                Value::Tensor(n, p) => node.input.push(if p == 0 { n } else { format!("{n}:{p}") }),
                Value::Table(table) => {
                    if !tables::is_find_op(&node.op) || !node.input.is_empty() {
                        return Err(SavedModelError::Unsupported(format!(
                            "op {} ('{name}') uses a lookup table; only lookups (LookupTableFindV2) are supported",
                            node.op
                        )));
                    }
                    let (keys, values) = self.table_contents(&table)?;
                    node.input.push(keys);
                    node.input.push(values);
                    node.op = tables::LOOKUP_OP.into();
                }
                Value::Resource(var) => {
                    if node.op == "ResourceGather" && node.input.is_empty() {
                        // ResourceGather(var, ids) reads rows of a variable: the same as
                        // GatherV2(value, ids, axis = batch_dims) on the frozen value.
                        let Value::Tensor(n, _) = self.variable_const(&var)? else {
                            unreachable!()
                        };
                        node.input.push(n);
                    } else {
                        return Err(SavedModelError::Unsupported(format!(
                            "op {} ('{name}') uses a variable handle directly; only reads of variables are supported",
                            node.op
                        )));
                    }
                }
            }
        }
        if node.op == "ResourceGather" {
            self.rewrite_resource_gather(&mut node);
        }
        opdefs::add_default_attrs(&mut node);
        if node.op == "Const"
            && let Some(attr_value::Value::Tensor(t)) =
                node.attr.get_mut("value").and_then(|a| a.value.as_mut())
        {
            normalize_const(t, &mut self.const_budget)
                .map_err(|e| SavedModelError::Unsupported(format!("constant '{name}': {e}")))?;
        }
        node.device.clear();
        self.out.graph.node.push(node);
        self.emitted.insert(key, name.clone());
        Ok(Value::Tensor(name, src.port))
    }

    /// The tensors holding a table's keys and values, emitted once per table.
    fn table_contents(&mut self, table: &Src) -> Result<(String, String), SavedModelError> {
        if let Some(names) = self.table_consts.get(table) {
            return Ok(names.clone());
        }
        let node = self.frames.node(table.frame, &table.node)?;
        let name = format!("{}{}", self.frames.frames[table.frame].prefix, node.name);
        let init = self.table_inits.get(table).cloned().ok_or_else(|| {
            SavedModelError::Unsupported(format!(
                "lookup table '{name}' is not filled by the SavedModel's init op (only \
                 LookupTableImportV2 and InitializeTableFromTextFileV2 initializers are supported)"
            ))
        })?;
        let names = match init {
            TableInit::Import { keys, values } => {
                let mut tensor = |src: Src| match self.resolve(src)? {
                    Value::Tensor(n, 0) => Ok(n),
                    Value::Tensor(n, p) => Ok(format!("{n}:{p}")),
                    _ => Err(SavedModelError::InvalidGraph(format!(
                        "table '{name}' is initialised from a resource handle"
                    ))),
                };
                (tensor(keys)?, tensor(values)?)
            }
            TableInit::TextFile(spec) => {
                let dtype = |attr: &str| match node.attr.get(attr).and_then(|a| a.value.as_ref()) {
                    Some(attr_value::Value::Type(t)) => DType::from_tf_enum(*t).ok_or_else(|| {
                        SavedModelError::Unsupported(format!("table '{name}': unsupported {attr}"))
                    }),
                    _ => Err(SavedModelError::InvalidGraph(format!(
                        "table '{name}' has no {attr}"
                    ))),
                };
                let (keys, values) =
                    tables::read_text_file(&spec, dtype("key_dtype")?, dtype("value_dtype")?)?;
                (
                    self.push_const(&format!("tensorserve_table/{name}/keys"), &keys),
                    self.push_const(&format!("tensorserve_table/{name}/values"), &values),
                )
            }
        };
        self.table_consts.insert(table.clone(), names.clone());
        Ok(names)
    }

    fn push_const(&mut self, name: &str, tensor: &tensorserve_core::Tensor) -> String {
        let mut node = NodeDef {
            name: name.to_string(),
            op: "Const".into(),
            ..Default::default()
        };
        node.attr.insert(
            "dtype".into(),
            attr(attr_value::Value::Type(tensor.dtype().tf_enum())),
        );
        node.attr.insert(
            "value".into(),
            attr(attr_value::Value::Tensor(tensor_to_proto(tensor))),
        );
        self.out.graph.node.push(node);
        name.to_string()
    }

    fn rewrite_resource_gather(&mut self, node: &mut NodeDef) {
        let batch_dims = match node.attr.get("batch_dims").and_then(|a| a.value.as_ref()) {
            Some(attr_value::Value::I(b)) => *b,
            _ => 0,
        };
        let axis_name = format!("{}/tensorserve_axis", node.name);
        let mut axis = NodeDef {
            name: axis_name.clone(),
            op: "Const".into(),
            ..Default::default()
        };
        let proto = tensor_to_proto(
            &tensorserve_core::Tensor::scalar(tensorserve_core::TensorData::I64(vec![batch_dims]))
                .expect("scalar"),
        );
        axis.attr.insert(
            "dtype".into(),
            attr(attr_value::Value::Type(DType::I64.tf_enum())),
        );
        axis.attr
            .insert("value".into(), attr(attr_value::Value::Tensor(proto)));
        self.out.graph.node.push(axis);
        node.op = "GatherV2".into();
        node.input.push(axis_name);
        let params = node.attr.remove("dtype");
        node.attr.clear();
        if let Some(t) = params {
            node.attr.insert("Tparams".into(), t);
        }
        node.attr.insert(
            "Taxis".into(),
            attr(attr_value::Value::Type(DType::I64.tf_enum())),
        );
        node.attr
            .insert("batch_dims".into(), attr(attr_value::Value::I(batch_dims)));
    }

    fn parse_example_output(&mut self, src: &Src) -> Result<Value, SavedModelError> {
        let key = (src.frame, src.node.clone());
        let spec_index = match self.parse_cuts.get(&key) {
            Some(&i) => i,
            None => {
                let node = self.frames.node(src.frame, &src.node)?;
                let spec = example_spec::spec_for_node(
                    &mut self.frames,
                    src.frame,
                    node,
                    &self.feeds,
                    self.dir,
                )?;
                self.out.parse_examples.push(spec);
                let index = self.out.parse_examples.len() - 1;
                let spec = &self.out.parse_examples[index];
                let mut placeholders = Vec::new();
                for (dense, feature) in spec.dense.iter().enumerate() {
                    let name = format!("tensorserve_parse_example_{index}/{}", feature.key);
                    let mut shape = vec![-1];
                    shape.extend(feature.shape.iter().copied());
                    placeholders.push((name, feature.dtype, shape, dense));
                }
                for (name, dtype, shape, dense) in placeholders {
                    self.push_placeholder(&name, dtype, Some(shape.clone()));
                    self.out.inputs.push(FrozenInput {
                        placeholder: name,
                        source: InputSource::ParsedFeature { spec: index, dense },
                        dtype,
                        shape: Some(shape),
                    });
                }
                self.parse_cuts.insert(key, index);
                index
            }
        };
        let spec = &self.out.parse_examples[spec_index];
        let dense = src
            .port
            .checked_sub(spec.dense_port_offset)
            .filter(|d| *d < spec.dense.len())
            .ok_or_else(|| {
                SavedModelError::Unsupported(format!(
                    "'{}' uses a sparse or ragged output of ParseExample, which is not supported",
                    src.node
                ))
            })?;
        let placeholder = self
            .out
            .inputs
            .iter()
            .find(|i| {
                i.source
                    == InputSource::ParsedFeature {
                        spec: spec_index,
                        dense,
                    }
            })
            .map(|i| i.placeholder.clone())
            .expect("placeholder created with the spec");
        Ok(Value::Tensor(placeholder, 0))
    }
}
