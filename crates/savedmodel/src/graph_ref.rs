//! Frames and tensor references: how the importer names a tensor while it walks the main graph
//! and, recursively, the bodies of the functions the graph calls.
//!
//! The main graph names tensors `node:port`; function bodies name them `arg`, `arg:0` or
//! `node:out_arg:index`. Both are turned into a [`Src`]: a node in a given frame and a flat
//! output port. A function argument resolves to the caller's [`Src`], so values flow through
//! calls without the callee being copied.

use std::collections::{HashMap, HashSet};

use tract_tensorflow::tfpb::tensorflow::{FunctionDef, GraphDef, NodeDef};

use crate::SavedModelError;
use crate::opdefs;

/// A tensor: output `port` of node `node` in frame `frame`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Src {
    /// Index into [`Frames::frames`].
    pub frame: usize,
    /// Node name within that frame's body.
    pub node: String,
    /// Flat output port.
    pub port: usize,
}

/// One instantiation of a graph body: the main graph (frame 0) or a function called from a
/// given node of its parent frame.
pub struct Frame<'a> {
    /// Nodes of the body by name.
    pub nodes: HashMap<&'a str, &'a NodeDef>,
    /// The function, for function frames.
    pub function: Option<&'a FunctionDef>,
    /// Prefix of flat node names emitted from this frame (the call path).
    pub prefix: String,
    /// Function arguments bound to the caller's tensors.
    pub args: HashMap<String, Src>,
    /// How many calls deep this frame is (0 for the main graph).
    pub depth: usize,
}

/// How deeply function calls may nest. Keras and tf.function models nest a handful of levels; a
/// function that (directly or not) calls itself would otherwise create frames without end.
pub const MAX_CALL_DEPTH: usize = 64;

/// How many function calls one import may inline: a few levels of functions that each call the
/// next twice are enough to multiply the work beyond any real model.
pub const MAX_CALL_FRAMES: usize = 100_000;

/// All frames created so far, and the function library they come from.
pub struct Frames<'a> {
    /// Frame 0 is the main graph.
    pub frames: Vec<Frame<'a>>,
    /// Functions by name.
    pub library: HashMap<&'a str, &'a FunctionDef>,
    calls: HashMap<(usize, String), usize>,
}

/// Ops that call a function named by their `f` attr.
pub fn is_call_op(op: &str) -> bool {
    matches!(op, "StatefulPartitionedCall" | "PartitionedCall")
}

impl<'a> Frames<'a> {
    /// Frames over `graph`, with frame 0 its main body.
    pub fn new(graph: &'a GraphDef) -> Frames<'a> {
        let library = graph
            .library
            .iter()
            .flat_map(|lib| lib.function.iter())
            .filter_map(|f| f.signature.as_ref().map(|s| (s.name.as_str(), f)))
            .collect();
        let main = Frame {
            nodes: graph.node.iter().map(|n| (n.name.as_str(), n)).collect(),
            function: None,
            prefix: String::new(),
            args: HashMap::new(),
            depth: 0,
        };
        Frames {
            frames: vec![main],
            library,
            calls: HashMap::new(),
        }
    }

    /// The node `name` of `frame`.
    pub fn node(&self, frame: usize, name: &str) -> Result<&'a NodeDef, SavedModelError> {
        self.frames[frame].nodes.get(name).copied().ok_or_else(|| {
            SavedModelError::InvalidGraph(format!(
                "node '{}{}' is referenced but not defined",
                self.frames[frame].prefix, name
            ))
        })
    }

    /// The function a call node invokes: its `f` attr, or its op when the op is a library function.
    pub fn callee(&self, node: &NodeDef) -> Option<&'a FunctionDef> {
        if is_call_op(&node.op) {
            let name = match node.attr.get("f").and_then(|a| a.value.as_ref()) {
                Some(tract_tensorflow::tfpb::tensorflow::attr_value::Value::Func(f)) => {
                    f.name.as_str()
                }
                _ => return None,
            };
            self.library.get(name).copied()
        } else {
            self.library.get(node.op.as_str()).copied()
        }
    }

    /// Parses an input reference of a node in `frame`. Control inputs (`^node`) give `None`.
    pub fn parse_ref(&self, frame: usize, reference: &str) -> Result<Option<Src>, SavedModelError> {
        if reference.starts_with('^') {
            return Ok(None);
        }
        let f = &self.frames[frame];
        let mut parts = reference.split(':');
        let head = parts.next().unwrap_or_default();
        let second = parts.next();
        let third = parts.next();
        if f.function.is_none() {
            let port = match second {
                None => 0,
                Some(p) => p.parse().map_err(|_| bad_ref(reference))?,
            };
            return Ok(Some(Src {
                frame,
                node: head.to_string(),
                port,
            }));
        }
        if let Some(arg) = f.args.get(head) {
            // `arg` or `arg:0`: a function argument, i.e. the caller's tensor.
            return match (second, third) {
                (None, None) | (Some("0"), None) => Ok(Some(arg.clone())),
                _ => Err(bad_ref(reference)),
            };
        }
        let (out_arg, index) = match (second, third) {
            (Some(out), Some(idx)) => (out, idx.parse::<usize>().map_err(|_| bad_ref(reference))?),
            (Some(out), None) => (out, 0),
            _ => return Err(bad_ref(reference)),
        };
        let node = self.node(frame, head)?;
        let port = self.output_port(node, out_arg, index).ok_or_else(|| {
            SavedModelError::InvalidGraph(format!(
                "cannot resolve output '{out_arg}' of node '{}{head}' (op {})",
                f.prefix, node.op
            ))
        })?;
        Ok(Some(Src {
            frame,
            node: head.to_string(),
            port,
        }))
    }

    fn output_port(&self, node: &NodeDef, out_arg: &str, index: usize) -> Option<usize> {
        if let Some(callee) = self.library.get(node.op.as_str()) {
            let sig = callee.signature.as_ref()?;
            return opdefs::output_port(&sig.output_arg, &node.attr, out_arg, index);
        }
        let registry = opdefs::registry();
        let def = registry.get(&node.op)?;
        let mut attrs = node.attr.clone();
        for attr in &def.attr {
            if let Some(default) = &attr.default_value {
                attrs
                    .entry(attr.name.clone())
                    .or_insert_with(|| default.clone());
            }
        }
        opdefs::output_port(&def.output_arg, &attrs, out_arg, index)
    }

    /// The frame of the function called by node `call` of `frame`, created on first use with its
    /// arguments bound to the call's inputs.
    pub fn call_frame(
        &mut self,
        frame: usize,
        call: &'a NodeDef,
    ) -> Result<usize, SavedModelError> {
        if let Some(&id) = self.calls.get(&(frame, call.name.clone())) {
            return Ok(id);
        }
        let callee = self.callee(call).ok_or_else(|| {
            SavedModelError::InvalidGraph(format!(
                "node '{}' calls a function missing from the library",
                call.name
            ))
        })?;
        let sig = callee.signature.as_ref().ok_or_else(|| {
            SavedModelError::InvalidGraph(format!(
                "function called by '{}' has no signature",
                call.name
            ))
        })?;
        let mut inputs = Vec::new();
        for reference in &call.input {
            if let Some(src) = self.parse_ref(frame, reference)? {
                inputs.push(src);
            }
        }
        if inputs.len() != sig.input_arg.len() {
            return Err(SavedModelError::InvalidGraph(format!(
                "call '{}' passes {} inputs to '{}', which takes {}",
                call.name,
                inputs.len(),
                sig.name,
                sig.input_arg.len()
            )));
        }
        let args = sig
            .input_arg
            .iter()
            .map(|a| a.name.clone())
            .zip(inputs)
            .collect();
        if self.frames.len() > MAX_CALL_FRAMES {
            return Err(SavedModelError::Unsupported(format!(
                "the graph inlines more than {MAX_CALL_FRAMES} function calls"
            )));
        }
        let depth = self.frames[frame].depth + 1;
        if depth > MAX_CALL_DEPTH {
            return Err(SavedModelError::Unsupported(format!(
                "function calls nest more than {MAX_CALL_DEPTH} deep at '{}{}' (a recursive \
                 function?)",
                self.frames[frame].prefix, call.name
            )));
        }
        let prefix = format!("{}{}/", self.frames[frame].prefix, call.name);
        self.frames.push(Frame {
            nodes: callee
                .node_def
                .iter()
                .map(|n| (n.name.as_str(), n))
                .collect(),
            function: Some(callee),
            prefix,
            args,
            depth,
        });
        let id = self.frames.len() - 1;
        self.calls.insert((frame, call.name.clone()), id);
        Ok(id)
    }

    /// The tensor a call node's output `port` stands for, inside the callee.
    pub fn call_output(
        &mut self,
        frame: usize,
        call: &'a NodeDef,
        port: usize,
    ) -> Result<Src, SavedModelError> {
        let child = self.call_frame(frame, call)?;
        let callee = self.frames[child]
            .function
            .expect("call frames have a function");
        let sig = callee.signature.as_ref().expect("checked in call_frame");
        let out = sig.output_arg.get(port).ok_or_else(|| {
            SavedModelError::InvalidGraph(format!("call '{}' has no output {port}", call.name))
        })?;
        let reference = callee.ret.get(&out.name).ok_or_else(|| {
            SavedModelError::InvalidGraph(format!(
                "function '{}' does not return '{}'",
                sig.name, out.name
            ))
        })?;
        self.parse_ref(child, reference)?.ok_or_else(|| {
            SavedModelError::InvalidGraph(format!("function '{}' returns a control edge", sig.name))
        })
    }

    /// Calls `visit` once for every node reachable from `roots` (main-graph node names) through
    /// data and control inputs, and into the bodies of the functions a node calls: the part of
    /// the graph that running `roots` would execute, as the loader's restore and init ops do.
    pub fn visit_reachable(
        &mut self,
        roots: impl IntoIterator<Item = String>,
        mut visit: impl FnMut(&mut Self, usize, &'a NodeDef) -> Result<(), SavedModelError>,
    ) -> Result<(), SavedModelError> {
        let mut seen = HashSet::new();
        let mut stack: Vec<(usize, String)> = roots.into_iter().map(|name| (0, name)).collect();
        while let Some((frame, name)) = stack.pop() {
            if !seen.insert((frame, name.clone())) {
                continue;
            }
            let node = self.node(frame, &name)?;
            visit(self, frame, node)?;
            if self.callee(node).is_some() {
                let child = self.call_frame(frame, node)?;
                let names = self.frames[child].nodes.keys().map(|s| s.to_string());
                stack.extend(names.map(|n| (child, n)).collect::<Vec<_>>());
            }
            for input in &node.input {
                if let Some(control) = input.strip_prefix('^') {
                    stack.push((frame, control.to_string()));
                } else if let Some(src) = self.parse_ref(frame, input)? {
                    stack.push((src.frame, src.node));
                }
            }
        }
        Ok(())
    }

    /// Follows `Identity` nodes and call boundaries back to the node that produces `src`.
    pub fn skip_identities(&mut self, mut src: Src) -> Result<Src, SavedModelError> {
        let mut seen = HashSet::new();
        loop {
            if !seen.insert((src.frame, src.node.clone(), src.port)) {
                return Err(cycle(&self.frames[src.frame].prefix, &src.node));
            }
            let node = self.node(src.frame, &src.node)?;
            if node.op == "Identity" {
                let first = node.input.first().ok_or_else(|| bad_ref(&node.name))?;
                src = self
                    .parse_ref(src.frame, first)?
                    .ok_or_else(|| bad_ref(first))?;
            } else if self.callee(node).is_some() {
                src = self.call_output(src.frame, node, src.port)?;
            } else {
                return Ok(src);
            }
        }
    }
}

/// The error for a reference chain that comes back to where it started.
pub fn cycle(prefix: &str, node: &str) -> SavedModelError {
    SavedModelError::Unsupported(format!(
        "the graph has a cycle through node '{prefix}{node}' (TF1 while loops are not supported)"
    ))
}

fn bad_ref(reference: &str) -> SavedModelError {
    SavedModelError::InvalidGraph(format!("malformed tensor reference '{reference}'"))
}
