//! Structural fingerprints of frozen signatures, so signatures that compute the same thing share
//! one plan (and one copy of the weights).
//!
//! Keras exports every model with two signatures, `serve` and `serving_default`, that call the
//! same function through different wrappers. Frozen, they are the same graph under different
//! node names (the call path prefixes them), and planning both would hold the weights twice.
//! The fingerprint renames every node to its position in the (deterministic) emission order and
//! hashes ops, attributes, wiring, feeds and outputs.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use prost::Message;
use tensorserve_savedmodel::FrozenSignature;

/// 128 bits of structure: two independently seeded 64-bit hashes.
pub type Fingerprint = (u64, u64);

/// The fingerprint of `frozen`.
pub fn fingerprint(frozen: &FrozenSignature) -> Fingerprint {
    let mut a = DefaultHasher::new();
    let mut b = DefaultHasher::new();
    0xa5a5_u16.hash(&mut b);
    let position: HashMap<&str, usize> = frozen
        .graph
        .node
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.as_str(), i))
        .collect();
    let wire = |name: &str| -> (Option<usize>, String) {
        let (node, port) = name.split_once(':').unwrap_or((name, "0"));
        (position.get(node).copied(), port.to_string())
    };
    let mut feed = |bytes: &[u8]| {
        bytes.hash(&mut a);
        bytes.hash(&mut b);
    };
    for node in &frozen.graph.node {
        feed(node.op.as_bytes());
        let mut attrs: Vec<_> = node.attr.iter().collect();
        attrs.sort_by(|x, y| x.0.cmp(y.0));
        for (key, value) in attrs {
            feed(key.as_bytes());
            feed(&value.encode_to_vec());
        }
        for input in &node.input {
            feed(format!("{:?}", wire(input)).as_bytes());
        }
        feed(b";");
    }
    for input in &frozen.inputs {
        feed(
            format!(
                "{:?} {:?} {:?} {:?}",
                position.get(input.placeholder.as_str()),
                input.source,
                input.dtype,
                input.shape
            )
            .as_bytes(),
        );
    }
    for (alias, node, port) in &frozen.outputs {
        feed(format!("{alias} {:?} {port}", position.get(node.as_str())).as_bytes());
    }
    feed(format!("{:?}", frozen.parse_examples).as_bytes());
    (a.finish(), b.finish())
}
