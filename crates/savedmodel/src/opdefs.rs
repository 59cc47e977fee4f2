//! TensorFlow's op definitions, exported once from the `tensorflow` wheel by
//! `tools/opdefs/export_opdefs.py` and committed as `data/op_defs.pb`.
//!
//! Two things need them and nothing else provides them without libtensorflow:
//! - function bodies name outputs as `node:out_arg:index`, and turning that into a flat output
//!   port needs the op's output argument list (with list lengths from its attrs);
//! - SavedModel function bodies are saved with default-valued attrs stripped, which engines
//!   expect to find, so they are restored from the OpDef defaults.
//!
//! Decoded, the 230 kB list is about 6 MB of heap, needed only while a graph is being frozen.
//! So the registry is shared while someone holds it and freed when the last holder lets go:
//! a load holds one [`registry`] for its whole duration (one decode per load), and an idle
//! server keeps none of it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use prost::Message;
use tract_tensorflow::tfpb::tensorflow::{AttrValue, NodeDef, OpDef, OpList, attr_value};

static OP_DEFS_PB: &[u8] = include_bytes!("../data/op_defs.pb");

/// Op definitions by op name.
pub type Registry = HashMap<String, OpDef>;

/// The registry of op definitions: the one in use if any holder keeps it alive, else freshly
/// decoded. Hold the returned `Arc` across a whole load so that it is decoded once.
pub fn registry() -> Arc<Registry> {
    static SHARED: Mutex<Weak<Registry>> = Mutex::new(Weak::new());
    let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(registry) = shared.upgrade() {
        return registry;
    }
    // The data file is part of the binary and checked by a test, so a decode failure is a
    // build defect, not an input error.
    let list = OpList::decode(OP_DEFS_PB).expect("data/op_defs.pb is a valid OpList");
    let registry: Arc<Registry> = Arc::new(
        list.op
            .into_iter()
            .map(|op| (op.name.clone(), op))
            .collect(),
    );
    *shared = Arc::downgrade(&registry);
    registry
}

/// Number of tensors an argument stands for, given the node's attrs.
pub fn arg_len(
    arg: &tract_tensorflow::tfpb::tensorflow::op_def::ArgDef,
    attrs: &HashMap<String, AttrValue>,
) -> usize {
    if !arg.number_attr.is_empty() {
        match attrs.get(&arg.number_attr).and_then(|a| a.value.as_ref()) {
            Some(attr_value::Value::I(n)) => (*n).max(0) as usize,
            _ => 1,
        }
    } else if !arg.type_list_attr.is_empty() {
        match attrs
            .get(&arg.type_list_attr)
            .and_then(|a| a.value.as_ref())
        {
            Some(attr_value::Value::List(list)) => list.r#type.len(),
            _ => 1,
        }
    } else {
        1
    }
}

/// Flat output port of `node`'s output argument `arg_name`, element `index`, given the output
/// argument list of its op (or of the function it calls).
pub fn output_port(
    output_args: &[tract_tensorflow::tfpb::tensorflow::op_def::ArgDef],
    attrs: &HashMap<String, AttrValue>,
    arg_name: &str,
    index: usize,
) -> Option<usize> {
    let mut port = 0;
    for arg in output_args {
        if arg.name == arg_name {
            return Some(port + index);
        }
        port += arg_len(arg, attrs);
    }
    None
}

/// Adds every attr the op declares with a default that `node` does not set.
pub fn add_default_attrs(node: &mut NodeDef) {
    if let Some(def) = registry().get(&node.op) {
        for attr in &def.attr {
            if let Some(default) = &attr.default_value {
                node.attr
                    .entry(attr.name.clone())
                    .or_insert_with(|| default.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_decodes_and_knows_common_ops() {
        let reg = registry();
        assert!(reg.len() > 1000, "only {} ops", reg.len());
        let matmul = &reg["MatMul"];
        assert!(
            matmul
                .attr
                .iter()
                .any(|a| a.name == "transpose_a" && a.default_value.is_some())
        );
        let split = &reg["Split"];
        assert_eq!(split.output_arg[0].number_attr, "num_split");
    }

    #[test]
    fn output_ports_follow_list_lengths() {
        let reg = registry();
        let mut attrs = HashMap::new();
        attrs.insert(
            "num_split".to_string(),
            AttrValue {
                value: Some(attr_value::Value::I(3)),
            },
        );
        assert_eq!(
            output_port(&reg["Split"].output_arg, &attrs, "output", 2),
            Some(2)
        );
        // ParseExampleV2: sparse outputs come first, each a list of num_sparse tensors.
        let pe = &reg["ParseExampleV2"];
        let mut node = NodeDef {
            op: "ParseExampleV2".into(),
            ..Default::default()
        };
        node.attr.insert(
            "num_sparse".to_string(),
            AttrValue {
                value: Some(attr_value::Value::I(0)),
            },
        );
        node.attr.insert(
            "sparse_types".to_string(),
            AttrValue {
                value: Some(attr_value::Value::List(Default::default())),
            },
        );
        add_default_attrs(&mut node);
        let attrs = node.attr;
        let port = output_port(&pe.output_arg, &attrs, "dense_values", 1);
        assert_eq!(port, Some(1));
    }

    #[test]
    fn defaults_are_restored() {
        let mut node = NodeDef {
            op: "MatMul".into(),
            ..Default::default()
        };
        add_default_attrs(&mut node);
        assert!(node.attr.contains_key("transpose_a"));
    }

    #[test]
    fn the_registry_is_shared_while_held() {
        // (That it is freed once released is seen in the idle RSS of bench/serving.sh; other
        // tests in this process may hold it at any moment, so it is not asserted here.)
        let held = registry();
        assert!(Arc::ptr_eq(&held, &registry()), "one decode while held");
    }
}
