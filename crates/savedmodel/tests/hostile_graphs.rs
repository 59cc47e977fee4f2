//! Regression tests for what fuzzing the SavedModel loader (`fuzz/`, docs/fuzzing.md) turned up:
//! malformed graphs must fail to freeze with an error, never overflow the stack, panic or
//! allocate without bound. Each test builds a small `saved_model.pb` beside the valid
//! checkpoint of the bundled half_plus_two, as the `savedmodel_open` fuzz target does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use prost::Message;
use tensorserve_savedmodel::{SavedModelDir, SavedModelError, freeze_signature};
use tract_tensorflow::tfpb::tensorflow::{
    AttrValue, FunctionDef, FunctionDefLibrary, GraphDef, MetaGraphDef, NameAttrList, NodeDef,
    OpDef, SavedModel, SignatureDef, TensorInfo, TensorProto, TensorShapeProto, attr_value,
    meta_graph_def::MetaInfoDef, op_def::ArgDef, tensor_info, tensor_shape_proto,
};

fn node(name: &str, op: &str, inputs: &[&str]) -> NodeDef {
    NodeDef {
        name: name.into(),
        op: op.into(),
        input: inputs.iter().map(|i| i.to_string()).collect(),
        ..Default::default()
    }
}

fn with_attr(mut node: NodeDef, name: &str, value: attr_value::Value) -> NodeDef {
    node.attr
        .insert(name.into(), AttrValue { value: Some(value) });
    node
}

fn placeholder() -> NodeDef {
    with_attr(
        node("x", "Placeholder", &[]),
        "dtype",
        attr_value::Value::Type(1),
    )
}

fn info(name: &str) -> TensorInfo {
    TensorInfo {
        dtype: 1,
        encoding: Some(tensor_info::Encoding::Name(name.into())),
        ..Default::default()
    }
}

/// A SavedModel whose `serving_default` maps `x:0` to `y:0`.
fn saved_model(nodes: Vec<NodeDef>, functions: Vec<FunctionDef>) -> Vec<u8> {
    let signature = SignatureDef {
        inputs: HashMap::from([("x".to_string(), info("x:0"))]),
        outputs: HashMap::from([("y".to_string(), info("y:0"))]),
        method_name: "tensorflow/serving/predict".into(),
    };
    let graph = GraphDef {
        node: nodes,
        library: Some(FunctionDefLibrary {
            function: functions,
            ..Default::default()
        }),
        ..Default::default()
    };
    let meta_graph = MetaGraphDef {
        meta_info_def: Some(MetaInfoDef {
            tags: vec!["serve".into()],
            ..Default::default()
        }),
        graph_def: Some(graph),
        signature_def: HashMap::from([("serving_default".to_string(), signature)]),
        ..Default::default()
    };
    SavedModel {
        saved_model_schema_version: 1,
        meta_graphs: vec![meta_graph],
    }
    .encode_to_vec()
}

/// Writes `pb` into a fresh version directory named `name`, with half_plus_two's variables.
fn version_dir(name: &str, pb: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("tensorserve-hostile-{}", std::process::id()))
        .join(name);
    let variables = dir.join("variables");
    std::fs::create_dir_all(&variables).unwrap();
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/half_plus_two/00000123/variables");
    for file in ["variables.index", "variables.data-00000-of-00001"] {
        std::fs::copy(fixture.join(file), variables.join(file)).unwrap();
    }
    std::fs::write(dir.join("saved_model.pb"), pb).unwrap();
    dir
}

/// Opens and freezes `serving_default`, returning the freezing error's text.
fn freeze_error(name: &str, nodes: Vec<NodeDef>, functions: Vec<FunctionDef>) -> String {
    let dir = version_dir(name, &saved_model(nodes, functions));
    let saved = SavedModelDir::open(&dir, &["serve"]).expect("the SavedModel opens");
    let err: SavedModelError = match freeze_signature(&saved, "serving_default") {
        Ok(frozen) => panic!("{name}: froze a malformed graph: {:?}", frozen.graph.node),
        Err(e) => e,
    };
    std::fs::remove_dir_all(&dir).ok();
    err.to_string()
}

#[test]
fn a_cycle_of_identities_is_an_error_not_a_stack_overflow() {
    let nodes = vec![
        placeholder(),
        node("a", "Identity", &["b"]),
        node("b", "Identity", &["a"]),
        node("y", "Neg", &["b"]),
    ];
    let err = freeze_error("identity_cycle", nodes, vec![]);
    assert!(err.contains("cycle through node"), "{err}");
}

#[test]
fn a_cycle_of_ops_is_an_error_not_a_stack_overflow() {
    let nodes = vec![
        placeholder(),
        node("a", "Neg", &["b:0"]),
        node("b", "AddV2", &["x", "a"]),
        node("y", "Neg", &["b"]),
    ];
    let err = freeze_error("op_cycle", nodes, vec![]);
    assert!(err.contains("cycle through node"), "{err}");
}

/// `f(a) = StatefulPartitionedCall[f=callee](a)`.
fn calling_function(name: &str, callee: &str) -> FunctionDef {
    let arg = |name: &str| ArgDef {
        name: name.into(),
        r#type: 1,
        ..Default::default()
    };
    let call = with_attr(
        node("call", "StatefulPartitionedCall", &["a"]),
        "f",
        attr_value::Value::Func(NameAttrList {
            name: callee.into(),
            ..Default::default()
        }),
    );
    FunctionDef {
        signature: Some(OpDef {
            name: name.into(),
            input_arg: vec![arg("a")],
            output_arg: vec![arg("out")],
            ..Default::default()
        }),
        node_def: vec![call],
        ret: HashMap::from([("out".to_string(), "call:output:0".to_string())]),
        ..Default::default()
    }
}

#[test]
fn a_recursive_function_is_an_error_not_endless_inlining() {
    let call = with_attr(
        node("y", "StatefulPartitionedCall", &["x"]),
        "f",
        attr_value::Value::Func(NameAttrList {
            name: "f".into(),
            ..Default::default()
        }),
    );
    let err = freeze_error(
        "recursive_function",
        vec![placeholder(), call.clone()],
        vec![calling_function("f", "f")],
    );
    assert!(err.contains("nest more than 64 deep"), "{err}");
    // Mutual recursion, through a second function.
    let err = freeze_error(
        "mutually_recursive_functions",
        vec![placeholder(), call],
        vec![calling_function("f", "g"), calling_function("g", "f")],
    );
    assert!(err.contains("nest more than 64 deep"), "{err}");
}

#[test]
fn nodes_missing_their_data_input_are_errors_not_panics() {
    let err = freeze_error(
        "read_without_input",
        vec![placeholder(), node("y", "ReadVariableOp", &[])],
        vec![],
    );
    assert!(
        err.contains("ReadVariableOp node 'y' has no input"),
        "{err}"
    );
    let err = freeze_error(
        "default_from_control_edge",
        vec![placeholder(), node("y", "PlaceholderWithDefault", &["^x"])],
        vec![],
    );
    assert!(err.contains("has a control edge ('^x')"), "{err}");
}

/// `c = Const` of dtype float and shape `dims` holding `float_val: [1.0]` (TensorFlow's
/// compressed form: the last value repeats), and `y = x + c`.
fn compressed_const_graph(dims: &[i64]) -> Vec<NodeDef> {
    let value = TensorProto {
        dtype: 1,
        tensor_shape: Some(TensorShapeProto {
            dim: dims
                .iter()
                .map(|&size| tensor_shape_proto::Dim {
                    size,
                    name: String::new(),
                })
                .collect(),
            unknown_rank: false,
        }),
        float_val: vec![1.0],
        ..Default::default()
    };
    let c = with_attr(
        with_attr(node("c", "Const", &[]), "dtype", attr_value::Value::Type(1)),
        "value",
        attr_value::Value::Tensor(value),
    );
    vec![placeholder(), c, node("y", "AddV2", &["x", "c"])]
}

#[test]
fn compressed_constants_expand_within_a_bound() {
    // 2^30 floats would be a 4 GiB allocation from a 200-byte file.
    let err = freeze_error("const_4gib", compressed_const_graph(&[1 << 30]), vec![]);
    assert!(err.contains("constant 'c'"), "{err}");
    assert!(err.contains("over the 67108864-byte limit"), "{err}");
    // A shape whose element count overflows.
    let err = freeze_error(
        "const_overflow",
        compressed_const_graph(&[1 << 40, 1 << 40]),
        vec![],
    );
    assert!(err.contains("has too many elements"), "{err}");
    // Many constants, each under the limit, together over it.
    let mut nodes = compressed_const_graph(&[1 << 20]);
    for i in 0..20 {
        let mut c = nodes[1].clone();
        c.name = format!("c{i}");
        let prev = if i == 0 {
            "c".to_string()
        } else {
            format!("s{}", i - 1)
        };
        nodes.push(c);
        nodes.push(node(&format!("s{i}"), "AddV2", &[&prev, &format!("c{i}")]));
    }
    nodes.retain(|n| n.name != "y");
    nodes.push(node("y", "AddV2", &["x", "s19"]));
    let err = freeze_error("const_many", nodes, vec![]);
    assert!(err.contains("over the 67108864-byte limit"), "{err}");
    // Within the limit, the constant is expanded as before.
    let dir = version_dir(
        "const_small",
        &saved_model(compressed_const_graph(&[3]), vec![]),
    );
    let saved = SavedModelDir::open(&dir, &["serve"]).unwrap();
    let frozen = freeze_signature(&saved, "serving_default").unwrap();
    let c = frozen.graph.node.iter().find(|n| n.name == "c").unwrap();
    let Some(attr_value::Value::Tensor(t)) = c.attr["value"].value.as_ref() else {
        panic!("no value");
    };
    assert_eq!(t.float_val, vec![1.0; 3]);
}

/// `y = ParseExample(x, names, key)` with attrs `attrs`, `key` a string Const holding `keys`.
fn parse_example_graph(keys: &[&str], attrs: &[(&str, attr_value::Value)]) -> Vec<NodeDef> {
    let key = TensorProto {
        dtype: 7,
        tensor_shape: Some(TensorShapeProto::default()),
        string_val: keys.iter().map(|k| k.as_bytes().to_vec()).collect(),
        ..Default::default()
    };
    let key = with_attr(
        with_attr(
            node("key", "Const", &[]),
            "dtype",
            attr_value::Value::Type(7),
        ),
        "value",
        attr_value::Value::Tensor(key),
    );
    let mut parse = node("y", "ParseExample", &["x", "key", "key", "key"]);
    for (name, value) in attrs {
        parse = with_attr(parse, name, value.clone());
    }
    vec![placeholder(), key, parse]
}

#[test]
fn malformed_parse_example_attributes_are_errors_not_panics() {
    // A negative Ndense once overflowed `2 + Ndense`.
    let nodes = parse_example_graph(&["k"], &[("Ndense", attr_value::Value::I(-1))]);
    let err = freeze_error("ndense_negative", nodes, vec![]);
    assert!(err.contains("fewer inputs than Ndense says"), "{err}");
    // A dense key constant with no string once panicked on `remove(0)`.
    let nodes = parse_example_graph(&[], &[("Ndense", attr_value::Value::I(1))]);
    let err = freeze_error("empty_dense_key", nodes, vec![]);
    assert!(
        err.contains("a dense key constant holds no string"),
        "{err}"
    );
}
