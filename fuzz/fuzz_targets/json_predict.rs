//! REST predict bodies: `parse_predict_request` against fixed signature input maps, then the
//! decoded tensors are written back as a predict response, which must be JSON our parser reads.

#![no_main]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tensorserve_core::json::{Document, parse_predict_request, predict_response};
use tensorserve_core::{DType, TensorInfo};

/// The input maps a body is decoded against: none (an error path of its own), one float input
/// (half_plus_two), one string input, and one input of every dtype the JSON decoder handles.
fn signatures() -> &'static [BTreeMap<String, TensorInfo>] {
    static MAPS: OnceLock<Vec<BTreeMap<String, TensorInfo>>> = OnceLock::new();
    MAPS.get_or_init(|| {
        let map = |inputs: &[(&str, DType)]| {
            inputs
                .iter()
                .map(|&(alias, dtype)| {
                    let info = TensorInfo {
                        name: format!("{alias}:0"),
                        dtype,
                        shape: None,
                    };
                    (alias.to_string(), info)
                })
                .collect()
        };
        vec![
            map(&[]),
            map(&[("x", DType::F32)]),
            map(&[("text_bytes", DType::String)]),
            map(&[
                ("a", DType::I64),
                ("b", DType::String),
                ("c", DType::F64),
                ("d", DType::Bool),
                ("e", DType::I32),
                ("f", DType::U8),
                ("g", DType::U64),
                ("h", DType::F16),
                ("i", DType::I8),
                ("j", DType::U32),
            ]),
        ]
    })
}

fuzz_target!(|body: &[u8]| {
    for inputs in signatures() {
        let Ok(request) = parse_predict_request(body, |_signature| Ok(inputs)) else {
            continue;
        };
        // What was accepted must be writable, and what we write must parse.
        if let Ok(json) = predict_response(&request.inputs, request.format) {
            let doc = Document::parse(&json).expect("a predict response is valid JSON");
            assert!(doc.root().is_object());
        }
    }
});
