//! Which checkpoint key holds which variable, found by reading the saver's restore graph — which
//! is what TensorFlow itself runs to restore them.
//!
//! TF1: `save/restore_all` depends on `Assign(var, RestoreV2:j)` nodes in the main graph.
//! TF2: the restore op calls `__inference__traced_restore_*`, whose body does
//! `AssignVariableOp(arg_i, Identity(RestoreV2:tensors:j))`, with `arg_i` bound to a main-graph
//! `VarHandleOp`. Either way the key is element `j` of RestoreV2's `tensor_names` constant.

use std::collections::HashMap;

use tract_tensorflow::tfpb::tensorflow::{MetaGraphDef, TensorProto, attr_value};

use crate::SavedModelError;
use crate::graph_ref::{Frames, Src};

/// Maps main-graph variable node names (VariableV2 / VarHandleOp) to checkpoint keys.
pub fn variable_keys<'a>(
    meta_graph: &'a MetaGraphDef,
    frames: &mut Frames<'a>,
) -> Result<HashMap<String, String>, SavedModelError> {
    let mut keys = HashMap::new();
    let Some(saver) = meta_graph.saver_def.as_ref() else {
        return Ok(keys);
    };
    let restore = saver.restore_op_name.trim_start_matches('^');
    let restore = restore.split(':').next().unwrap_or_default();
    if restore.is_empty() || !frames.frames[0].nodes.contains_key(restore) {
        return Ok(keys);
    }
    frames.visit_reachable([restore.to_string()], |frames, frame, node| {
        if matches!(node.op.as_str(), "Assign" | "AssignVariableOp")
            && node.input.len() >= 2
            && let (Some(target), Some(value)) = (
                frames.parse_ref(frame, &node.input[0])?,
                frames.parse_ref(frame, &node.input[1])?,
            )
            && let (Some(var), Some(key)) = (
                variable_node(frames, target)?,
                checkpoint_key(frames, value)?,
            )
        {
            keys.insert(var, key);
        }
        Ok(())
    })?;
    Ok(keys)
}

/// The main-graph variable node behind `src`, if it is one.
fn variable_node(frames: &mut Frames<'_>, src: Src) -> Result<Option<String>, SavedModelError> {
    let src = frames.skip_identities(src)?;
    let node = frames.node(src.frame, &src.node)?;
    let is_var = matches!(node.op.as_str(), "VarHandleOp" | "VariableV2" | "Variable");
    Ok((is_var && src.frame == 0).then_some(src.node))
}

/// The checkpoint key restored into `src`, if it is a RestoreV2 output.
fn checkpoint_key(frames: &mut Frames<'_>, src: Src) -> Result<Option<String>, SavedModelError> {
    let src = frames.skip_identities(src)?;
    let node = frames.node(src.frame, &src.node)?;
    if node.op != "RestoreV2" || node.input.len() < 2 {
        return Ok(None);
    }
    let Some(names) = frames.parse_ref(src.frame, &node.input[1])? else {
        return Ok(None);
    };
    let names = const_tensor(frames, names)?;
    Ok(names.and_then(|t| {
        t.string_val
            .get(src.port)
            .map(|k| String::from_utf8_lossy(k).into_owned())
    }))
}

/// The value of the Const node behind `src` (through Identity nodes and calls), if it is one.
pub fn const_tensor<'a>(
    frames: &mut Frames<'a>,
    src: Src,
) -> Result<Option<&'a TensorProto>, SavedModelError> {
    let src = frames.skip_identities(src)?;
    let node = frames.node(src.frame, &src.node)?;
    if node.op != "Const" {
        return Ok(None);
    }
    Ok(
        match node.attr.get("value").and_then(|a| a.value.as_ref()) {
            Some(attr_value::Value::Tensor(t)) => Some(t),
            _ => None,
        },
    )
}
