//! Serialized tf.Examples (the gRPC classify/regress and `ParseExample` input): `Example::decode`,
//! a protobuf round trip of what it accepts, and native dense-feature extraction with a fixed
//! spec, as a model with a `ParseExample` node runs it.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tensorserve_core::example::Example;
use tensorserve_core::{DType, Tensor, TensorData};
use tensorserve_savedmodel::example_spec::{DenseFeature, ParseExampleSpec};

fn spec() -> &'static ParseExampleSpec {
    static SPEC: OnceLock<ParseExampleSpec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let feature = |key: &str, dtype, shape: &[i64], default: Option<TensorData>| {
            let default = default.map(|d| {
                let dims = shape.iter().map(|&d| d as usize).collect();
                Tensor::new(dims, d).expect("default matches its shape")
            });
            DenseFeature {
                key: key.into(),
                dtype,
                shape: shape.to_vec(),
                default,
            }
        };
        ParseExampleSpec {
            input_alias: "examples".into(),
            dense: vec![
                feature("x", DType::F32, &[1], Some(TensorData::F32(vec![0.0]))),
                feature("ids", DType::I64, &[2], None),
                feature(
                    "s",
                    DType::String,
                    &[],
                    Some(TensorData::String(vec![vec![]])),
                ),
            ],
            dense_port_offset: 0,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(example) = Example::decode(data) {
        let bytes = example.encode();
        let again = Example::decode(&bytes).expect("an encoded Example decodes");
        assert_eq!(again.encode(), bytes);
    }
    // A batch of two: the input, and the input with its halves swapped.
    let (a, b) = data.split_at(data.len() / 2);
    let batch = vec![data.to_vec(), [b, a].concat()];
    let serialized = Tensor::new(vec![2], TensorData::String(batch)).expect("two strings");
    if let Ok(tensors) = spec().run(&serialized) {
        assert_eq!(tensors.len(), spec().dense.len());
    }
});
