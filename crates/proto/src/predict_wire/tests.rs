//! The entry types against prost's map types, byte for byte.

use prost::Message;

use super::*;
use crate::tensorflow::{TensorShapeProto, tensor_shape_proto};

fn tensor(values: &[f32]) -> TensorProto {
    TensorProto {
        dtype: 1,
        tensor_shape: Some(TensorShapeProto {
            dim: vec![tensor_shape_proto::Dim {
                size: values.len() as i64,
                name: String::new(),
            }],
            unknown_rank: false,
        }),
        float_val: values.to_vec(),
        ..TensorProto::default()
    }
}

fn spec() -> ModelSpec {
    ModelSpec {
        name: "half_plus_two".into(),
        signature_name: "serving_default".into(),
        version_choice: None,
    }
}

/// A response's outputs by alias.
type Outputs = Vec<(&'static str, TensorProto)>;

#[test]
fn responses_encode_as_the_map_type_does() {
    let cases: Vec<(Outputs, Option<ModelSpec>)> = vec![
        (vec![("y", tensor(&[2.5, 3.0, 4.5]))], Some(spec())),
        (
            vec![
                ("a", tensor(&[1.0])),
                ("b", tensor(&[])),
                ("c", tensor(&[7.0, 8.0])),
            ],
            Some(spec()),
        ),
        // An empty alias and a default tensor: the map leaves both out of the entry.
        (
            vec![("", tensor(&[1.0])), ("z", TensorProto::default())],
            None,
        ),
        (vec![], Some(spec())),
    ];
    for (outputs, model_spec) in cases {
        let map = PredictResponse {
            model_spec: model_spec.clone(),
            outputs: outputs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        };
        let entries = PredictResponseEntries {
            outputs: outputs
                .iter()
                .map(|(k, v)| PredictResponseEntries::entry(k.to_string(), v.clone()))
                .collect(),
            model_spec,
        };
        assert_eq!(entries.encoded_len(), map.encoded_len());
        assert_eq!(entries.encode_to_vec(), map.encode_to_vec(), "{outputs:?}");
        assert_eq!(entries.into_response(), map);
    }
}

/// Inputs as prost's map type decodes them.
fn map_inputs(bytes: &[u8]) -> Vec<(String, TensorProto)> {
    PredictRequest::decode(bytes)
        .unwrap()
        .inputs
        .into_iter()
        .collect()
}

fn entry_inputs(bytes: &[u8]) -> Vec<(String, TensorProto)> {
    let entries = PredictRequestEntries::decode(bytes).unwrap();
    PredictRequestEntries::into_inputs(entries.inputs)
        .into_iter()
        .map(|(k, v)| (k, *v))
        .collect()
}

#[test]
fn requests_decode_as_the_map_type_does() {
    let one = PredictRequest {
        model_spec: Some(spec()),
        inputs: [("x".to_string(), tensor(&[1.0, 2.0, 5.0]))].into(),
        output_filter: vec!["y".into()],
        ..PredictRequest::default()
    };
    let other = PredictRequest {
        inputs: [
            ("x".to_string(), tensor(&[9.0])),
            ("b".to_string(), tensor(&[3.0])),
        ]
        .into(),
        ..PredictRequest::default()
    };
    let mut merged = one.encode_to_vec();
    // Two messages back to back are one merged message: `x` comes twice, the last one wins.
    merged.extend(other.encode_to_vec());
    // An entry with no value (field 2 of the request: an entry holding only key "v").
    merged.extend([0x12, 0x03, 0x0a, 0x01, b'v']);
    // An entry with an unknown field (tag 3, varint) after its key.
    merged.extend([0x12, 0x05, 0x0a, 0x01, b'u', 0x18, 0x07]);
    for bytes in [one.encode_to_vec(), other.encode_to_vec(), merged] {
        assert_eq!(entry_inputs(&bytes), map_inputs(&bytes), "{bytes:02x?}");
        let entries = PredictRequestEntries::decode(&bytes[..]).unwrap();
        let request = PredictRequest::decode(&bytes[..]).unwrap();
        assert_eq!(entries.model_spec, request.model_spec);
        assert_eq!(entries.output_filter, request.output_filter);
        let back = PredictRequestEntries::from_request(request);
        assert_eq!(
            PredictRequestEntries::into_inputs(back.inputs),
            PredictRequestEntries::into_inputs(entries.inputs)
        );
    }
    // What one refuses, the other refuses: a truncated entry.
    let bad = [0x12, 0x05, 0x0a, 0x01];
    assert!(PredictRequestEntries::decode(&bad[..]).is_err());
    assert!(PredictRequest::decode(&bad[..]).is_err());
}
