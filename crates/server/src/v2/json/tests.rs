//! The V2 JSON codec on its own: what decodes into which tensor, what is refused and how, and
//! the bytes of encoded answers.

use serde_json::json;
use tensorserve_core::{Code, DType, Tensor, TensorData};

use super::*;

fn decode(body: serde_json::Value) -> Result<InferRequest, Status> {
    decode_infer(
        body.to_string().as_bytes(),
        None,
        "m".to_string(),
        String::new(),
    )
    .map(|(r, _)| r)
}

/// A body of `header` JSON followed by `binary`, and the header length to send with it.
fn with_binary(header: serde_json::Value, binary: &[u8]) -> (Vec<u8>, usize) {
    let mut body = header.to_string().into_bytes();
    let json_length = body.len();
    body.extend_from_slice(binary);
    (body, json_length)
}

fn decode_binary(
    header: serde_json::Value,
    binary: &[u8],
) -> Result<(InferRequest, BinaryOutputs), Status> {
    let (body, length) = with_binary(header, binary);
    decode_infer(&body, Some(length), "m".into(), String::new())
}

fn encode(response: &InferResponse) -> Result<Vec<u8>, Status> {
    encode_infer(response, &BinaryOutputs::default()).map(|(body, length)| {
        assert_eq!(length, None);
        body
    })
}

fn one_input(
    datatype: &str,
    shape: serde_json::Value,
    data: serde_json::Value,
) -> Result<Tensor, Status> {
    let request = decode(
        json!({"inputs": [{"name": "x", "datatype": datatype, "shape": shape, "data": data}]}),
    )?;
    Ok(request.inputs.into_iter().next().expect("one input").1)
}

fn refused(result: Result<impl std::fmt::Debug, Status>) -> String {
    let err = result.expect_err("must be refused");
    assert_eq!(err.code(), Code::InvalidArgument, "{}", err.message());
    err.message().to_string()
}

#[test]
fn nested_and_flat_data_give_the_same_row_major_tensor() {
    let flat = one_input("INT32", json!([2, 2]), json!([1, 2, 3, 4])).unwrap();
    let nested = one_input("INT32", json!([2, 2]), json!([[1, 2], [3, 4]])).unwrap();
    assert_eq!(flat, nested);
    assert_eq!(flat.shape(), &[2, 2]);
    assert_eq!(flat.data(), &TensorData::I32(vec![1, 2, 3, 4]));
}

#[test]
fn every_json_datatype_decodes_to_its_element_type() {
    let cases = [
        ("BOOL", json!([true, false]), DType::Bool),
        ("UINT8", json!([0, 255]), DType::U8),
        ("UINT16", json!([0, 65535]), DType::U16),
        ("UINT32", json!([0, 4294967295u64]), DType::U32),
        ("UINT64", json!([0, u64::MAX]), DType::U64),
        ("INT8", json!([-128, 127]), DType::I8),
        ("INT16", json!([-32768, 32767]), DType::I16),
        ("INT32", json!([i32::MIN, i32::MAX]), DType::I32),
        ("INT64", json!([i64::MIN, i64::MAX]), DType::I64),
        ("FP32", json!([1.5, -2]), DType::F32),
        ("FP64", json!([1e300, 0.1]), DType::F64),
        ("BYTES", json!(["héllo", ""]), DType::String),
    ];
    for (name, data, dtype) in cases {
        let tensor = one_input(name, json!([2]), data).unwrap();
        assert_eq!(tensor.dtype(), dtype, "{name}");
    }
    let bytes = one_input("BYTES", json!([1]), json!(["héllo"])).unwrap();
    assert_eq!(
        bytes.data(),
        &TensorData::String(vec!["héllo".as_bytes().to_vec()])
    );
}

#[test]
fn elements_must_fit_their_datatype() {
    for (name, data) in [
        ("UINT8", json!([256])),
        ("UINT8", json!([-1])),
        ("INT8", json!([128])),
        ("INT32", json!([1.5])),
        ("INT64", json!(["1"])),
        ("BOOL", json!([1])),
        ("FP32", json!(["1.0"])),
        ("BYTES", json!([1])),
    ] {
        let message = refused(one_input(name, json!([1]), data.clone()));
        assert!(
            message.contains("is not a valid"),
            "{name} {data}: {message}"
        );
        assert!(message.contains(name), "{message}");
    }
}

#[test]
fn shapes_and_element_counts_must_agree() {
    let message = refused(one_input("FP32", json!([2, 2]), json!([1, 2, 3])));
    assert_eq!(
        message,
        "input 'x': shape [2, 2] holds 4 elements but data has 3"
    );
    let message = refused(one_input("FP32", json!([2]), json!([1, 2, 3])));
    assert_eq!(
        message,
        "input 'x': data has more than the shape's 2 elements"
    );
    refused(one_input("FP32", json!([-1]), json!([1])));
    refused(one_input("FP32", json!([1.5]), json!([1])));
    // A lying shape is caught by arithmetic, not by allocating.
    let message = refused(one_input("FP32", json!([i64::MAX, 4]), json!([1])));
    assert!(message.contains("too many elements"), "{message}");
    let scalar = one_input("FP32", json!([]), json!([7])).unwrap();
    assert_eq!(scalar.shape(), &[] as &[usize]);
}

#[test]
fn malformed_requests_name_what_is_wrong() {
    assert!(
        refused(decode_infer(b"{", None, "m".into(), String::new()))
            .starts_with("failed to parse the request JSON")
    );
    assert_eq!(
        refused(decode(json!([]))),
        "the request must be a JSON object"
    );
    assert_eq!(
        refused(decode(json!({}))),
        "the request needs an 'inputs' array"
    );
    assert_eq!(
        refused(decode(json!({"inputs": [{"datatype": "FP32"}]}))),
        "each input needs a 'name' string"
    );
    assert_eq!(
        refused(one_input("FLOAT", json!([1]), json!([1]))),
        "input 'x': unknown datatype 'FLOAT'"
    );
    assert_eq!(
        refused(decode(json!({"inputs": [], "outputs": [{"nom": "y"}]}))),
        "each requested output needs a 'name' string"
    );
    assert_eq!(
        refused(decode(
            json!({"inputs": [], "parameters": {"signature_name": 3}})
        )),
        "parameter 'signature_name' must be a string"
    );
    let message = refused(one_input("FP16", json!([1]), json!([1.0])));
    assert!(message.contains("FP16 has no JSON form"), "{message}");
}

#[test]
fn id_outputs_and_signature_parameter_are_kept() {
    let request = decode(json!({
        "id": "r1",
        "parameters": {"signature_name": "other", "unrelated": 1},
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}],
        "outputs": [{"name": "b"}, {"name": "a", "parameters": {}}],
    }))
    .unwrap();
    assert_eq!(request.id, "r1");
    assert_eq!(request.signature.as_deref(), Some("other"));
    assert_eq!(request.outputs, vec!["b".to_string(), "a".to_string()]);
    assert_eq!(request.model_name, "m");
}

#[test]
fn responses_are_compact_json_with_shortest_floats_and_python_non_finites() {
    let response = InferResponse {
        model_name: "m".into(),
        model_version: "3".into(),
        id: "r\"1".into(),
        outputs: vec![
            (
                "y".into(),
                Tensor::new(
                    vec![2, 2],
                    TensorData::F32(vec![0.1, 2.5, f32::NAN, f32::NEG_INFINITY]),
                )
                .unwrap(),
            ),
            (
                "s".into(),
                Tensor::new(vec![1], TensorData::String(vec![b"a\nb".to_vec()])).unwrap(),
            ),
            (
                "b".into(),
                Tensor::new(vec![1], TensorData::Bool(vec![true])).unwrap(),
            ),
        ],
    };
    let text = String::from_utf8(encode(&response).unwrap()).unwrap();
    assert_eq!(
        text,
        r#"{"model_name":"m","model_version":"3","id":"r\"1","outputs":[{"name":"y","datatype":"FP32","shape":[2,2],"data":[0.1,2.5,NaN,-Infinity]},{"name":"s","datatype":"BYTES","shape":[1],"data":["a\nb"]},{"name":"b","datatype":"BOOL","shape":[1],"data":[true]}]}"#
    );
}

#[test]
fn outputs_json_cannot_carry_are_refused_by_name() {
    let response = |tensor| InferResponse {
        model_name: "m".into(),
        model_version: "1".into(),
        id: String::new(),
        outputs: vec![("out".into(), tensor)],
    };
    let binary = Tensor::new(vec![1], TensorData::String(vec![vec![0xff]])).unwrap();
    let err = encode(&response(binary)).unwrap_err();
    assert!(
        err.message()
            .contains("output 'out' holds bytes that are not UTF-8"),
        "{}",
        err.message()
    );
    let half = Tensor::new(vec![1], TensorData::F16(vec![0x3c00])).unwrap();
    let err = encode(&response(half)).unwrap_err();
    assert!(
        err.message().contains("output 'out' is FP16"),
        "{}",
        err.message()
    );
}

#[test]
fn binary_inputs_follow_the_json_in_input_order() {
    let floats: Vec<u8> = [1.0f32, 2.0, 5.0]
        .iter()
        .flat_map(|f| f.to_le_bytes())
        .collect();
    let half = 0x3c00u16.to_le_bytes(); // 1.0 in IEEE half
    let strings = [2u32.to_le_bytes().as_slice(), b"ab"].concat();
    let binary = [floats.as_slice(), &half, &strings].concat();
    let (request, outputs) = decode_binary(
        json!({"inputs": [
            {"name": "x", "datatype": "FP32", "shape": [3], "parameters": {"binary_data_size": 12}},
            {"name": "h", "datatype": "FP16", "shape": [1], "parameters": {"binary_data_size": 2}},
            {"name": "s", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": 6}},
            {"name": "j", "datatype": "INT32", "shape": [1], "data": [7]},
        ]}),
        &binary,
    )
    .unwrap();
    assert_eq!(outputs, BinaryOutputs::default());
    let data: Vec<&TensorData> = request.inputs.iter().map(|(_, t)| t.data()).collect();
    assert_eq!(
        data,
        [
            &TensorData::F32(vec![1.0, 2.0, 5.0]),
            &TensorData::F16(vec![0x3c00]),
            &TensorData::String(vec![b"ab".to_vec()]),
            &TensorData::I32(vec![7]),
        ]
    );
}

#[test]
fn binary_data_that_does_not_add_up_is_refused() {
    let input = |size: u64| json!({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "parameters": {"binary_data_size": size}}]});
    assert_eq!(
        refused(decode_binary(input(8), &[0; 4])),
        "input 'x': binary_data_size is 8 but only 4 bytes of binary data remain"
    );
    assert_eq!(
        refused(decode_binary(input(4), &[0; 6])),
        "2 bytes of binary data follow the JSON that no input's binary_data_size claims"
    );
    let message = refused(decode_binary(input(3), &[0; 3]));
    assert!(message.starts_with("input 'x': "), "{message}");
    let both = json!({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1], "parameters": {"binary_data_size": 4}}]});
    assert_eq!(
        refused(decode_binary(both, &[0; 4])),
        "input 'x': has both 'data' and binary_data_size"
    );
    let (body, _) = with_binary(input(4), &[0; 4]);
    let message = refused(decode_infer(
        &body,
        Some(body.len() + 1),
        "m".into(),
        String::new(),
    ));
    assert!(
        message.starts_with("Inference-Header-Content-Length is "),
        "{message}"
    );
}

#[test]
fn outputs_asked_for_as_binary_follow_the_json() {
    let (_, binary) = decode_binary(
        json!({
            "parameters": {"binary_data_output": true},
            "inputs": [],
            "outputs": [{"name": "y"}, {"name": "s", "parameters": {"binary_data": false}}],
        }),
        &[],
    )
    .unwrap();
    assert!(binary.binary("y") && binary.binary("unnamed") && !binary.binary("s"));
    let response = InferResponse {
        model_name: "m".into(),
        model_version: "1".into(),
        id: String::new(),
        outputs: vec![
            (
                "y".into(),
                Tensor::new(vec![2], TensorData::F32(vec![2.5, -1.0])).unwrap(),
            ),
            (
                "s".into(),
                Tensor::new(vec![1], TensorData::String(vec![b"ok".to_vec()])).unwrap(),
            ),
        ],
    };
    let (body, length) = encode_infer(&response, &binary).unwrap();
    let length = length.expect("binary data follows");
    let header: serde_json::Value = serde_json::from_slice(&body[..length]).unwrap();
    assert_eq!(
        header["outputs"][0]["parameters"],
        json!({"binary_data_size": 8})
    );
    assert!(header["outputs"][0].get("data").is_none());
    assert_eq!(header["outputs"][1]["data"], json!(["ok"]));
    let floats: Vec<u8> = [2.5f32, -1.0]
        .iter()
        .flat_map(|f| f.to_le_bytes())
        .collect();
    assert_eq!(&body[length..], floats.as_slice());
}
