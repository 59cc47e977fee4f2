//! Predict request decoding: every rule and error text of reference §1.6.

use std::collections::BTreeMap;

use crate::json::{PredictBody, PredictRequest, RequestFormat, parse_predict_request};
use crate::{Code, DType, Status, Tensor, TensorData, TensorInfo};

fn sig(inputs: &[(&str, DType)]) -> BTreeMap<String, TensorInfo> {
    inputs
        .iter()
        .map(|&(name, dtype)| {
            let info = TensorInfo {
                name: format!("{name}:0"),
                dtype,
                shape: None,
            };
            (name.to_owned(), info)
        })
        .collect()
}

fn decode(body: &str, inputs: &[(&str, DType)]) -> Result<PredictRequest, Status> {
    let infos = sig(inputs);
    parse_predict_request(body.as_bytes(), |_| Ok(&infos))
}

fn ok(body: &str, inputs: &[(&str, DType)]) -> PredictRequest {
    decode(body, inputs).unwrap_or_else(|e| panic!("{body}: {e}"))
}

fn err(body: &str, inputs: &[(&str, DType)]) -> String {
    let e = decode(body, inputs).expect_err(body);
    assert_eq!(e.code(), Code::InvalidArgument, "{body}: {e}");
    e.message().to_owned()
}

fn tensor(shape: &[usize], data: TensorData) -> Tensor {
    Tensor::new(shape.to_vec(), data).unwrap()
}

const X: &[(&str, DType)] = &[("x", DType::F32)];
const AB: &[(&str, DType)] = &[("a", DType::F32), ("b", DType::I32)];

#[test]
fn half_plus_two_row_request() {
    let req = ok(r#"{"instances": [2.0, 3.0, 4.0]}"#, X);
    assert_eq!(req.format, RequestFormat::Row);
    assert_eq!(req.signature_name, "serving_default");
    assert_eq!(
        req.inputs["x"],
        tensor(&[3], TensorData::F32(vec![2.0, 3.0, 4.0]))
    );
}

#[test]
fn signature_name_is_read_first_and_defaulted() {
    let infos = sig(X);
    let mut seen = String::new();
    let body = br#"{"signature_name": "regress_x_to_y", "instances": [1]}"#;
    let req = parse_predict_request(body, |name| {
        seen = name.to_owned();
        Ok(&infos)
    })
    .unwrap();
    assert_eq!(
        (seen.as_str(), req.signature_name.as_str()),
        ("regress_x_to_y", "regress_x_to_y")
    );
    let body = PredictBody::parse(br#"{"signature_name": "", "inputs": 1}"#).unwrap();
    assert_eq!(body.signature_name(), "serving_default");
    let lookup_failure =
        parse_predict_request(br#"{"signature_name": "nope", "inputs": 1}"#, |n| {
            Err(Status::invalid_argument(format!(
                "Serving signature name: \"{n}\" not found in signature def"
            )))
        });
    assert_eq!(
        lookup_failure.unwrap_err().message(),
        "Serving signature name: \"nope\" not found in signature def"
    );
}

#[test]
fn envelope_errors() {
    let table: &[(&str, &str)] = &[
        ("", "JSON Parse error: The document is empty"),
        (
            "  ",
            "JSON Parse error: The document is empty. at offset: 2",
        ),
        (
            "{\"instances\": [1,]}",
            "JSON Parse error: Invalid value. at offset: 17",
        ),
        ("[1,2]", "JSON Value: [\n    1,\n    2\n] Is not object"),
        (
            r#"{"signature_name": 1, "instances": [1]}"#,
            "JSON Value: {\n    \"signature_name\": 1,\n    \"instances\": [\n        1\n    ]\n} not formatted correctly. 'signature_name' key must be a string value.",
        ),
        (
            r#"{"instances": [1], "inputs": [1]}"#,
            "JSON Value: {\n    \"instances\": [\n        1\n    ],\n    \"inputs\": [\n        1\n    ]\n} Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist ",
        ),
        (r#"{"foo": 1}"#, "Missing 'inputs' or 'instances' key"),
        (
            r#"{"instances": 1}"#,
            "JSON Value: {\n    \"instances\": 1\n} Expecting 'instances' to be an list/array",
        ),
        (
            r#"{"instances": []}"#,
            "JSON Value: {\n    \"instances\": []\n} No values in 'instances' array",
        ),
    ];
    for (body, want) in table {
        assert_eq!(err(body, X), *want);
    }
}

#[test]
fn empty_input_map_is_an_error() {
    assert_eq!(
        err(r#"{"inputs": 1}"#, &[]),
        "Failed to get input map for signature: DEFAULT"
    );
    assert_eq!(
        err(r#"{"signature_name": "s", "inputs": 1}"#, &[]),
        "Failed to get input map for signature: s"
    );
}

#[test]
fn trailing_bytes_and_other_keys_are_ignored() {
    let req = ok("{\"instances\": [1.0], \"extra\": {\"y\": null}}X", X);
    assert_eq!(req.inputs["x"], tensor(&[1], TensorData::F32(vec![1.0])));
}

#[test]
fn named_rows_batch_each_input() {
    let req = ok(
        r#"{"instances": [{"a": 1.0, "b": [1, 2]}, {"b": [3, 4], "a": 2}]}"#,
        AB,
    );
    assert_eq!(
        req.inputs["a"],
        tensor(&[2], TensorData::F32(vec![1.0, 2.0]))
    );
    assert_eq!(
        req.inputs["b"],
        tensor(&[2, 2], TensorData::I32(vec![1, 2, 3, 4]))
    );
    let single = ok(r#"{"instances": [{"x": [1.0]}, {"x": [2.0]}]}"#, X);
    assert_eq!(
        single.inputs["x"],
        tensor(&[2, 1], TensorData::F32(vec![1.0, 2.0]))
    );
}

#[test]
fn named_row_errors() {
    let table: &[(&str, &str)] = &[
        (
            r#"{"instances": [{"a": 1.0}]}"#,
            "Failed to process element: 0 of 'instances' list. JSON object: {\n    \"a\": 1.0\n} keys must be equal to: a,b",
        ),
        (
            r#"{"instances": [{"a": 1.0, "b": 1, "c": 1}]}"#,
            "Failed to process element: 0 key: c of 'instances' list. Error: INVALID_ARGUMENT: JSON object: does not have named input: c",
        ),
        (
            r#"{"instances": [1.0, 2.0]}"#,
            "instances is a plain list, but expecting list of objects as multiple input tensors required as per tensorinfo_map",
        ),
        (
            r#"{"instances": [{"a": 1.0, "b": 1}, [1]]}"#,
            "Expecting object but got list at item 1 of input list",
        ),
        (
            r#"{"instances": [{"a": 1.0, "b": 1}, {"a": 1.0, "b": [1]}]}"#,
            "Failed to process element: 1 key: b of 'instances' list. Error: INVALID_ARGUMENT: Expecting tensor size: 1 but got: 1",
        ),
        (
            r#"{"instances": [{"a": 1.0, "b": "s"}]}"#,
            "Failed to process element: 0 key: b of 'instances' list. Error: INVALID_ARGUMENT: JSON Value: \"s\" Type: String is not of expected type: int32",
        ),
    ];
    for (body, want) in table {
        let got = err(body, AB);
        // Row 5: same size, different shape; the shape message comes second.
        let want = want.replace(
            "Expecting tensor size: 1 but got: 1",
            "Expecting shape [] but got: [1]",
        );
        assert_eq!(got, want);
    }
}

#[test]
fn value_rows_and_b64() {
    let err_text = err(r#"{"instances": [1.0, {"x": 1.0}]}"#, X);
    assert_eq!(
        err_text,
        "Expecting value/list but got object at item 1 of input list"
    );
    let req = ok(
        r#"{"instances": [{"b64": "aGVsbG8="}, {"b64": "AA=="}]}"#,
        &[("s", DType::String)],
    );
    let want = TensorData::String(vec![b"hello".to_vec(), vec![0]]);
    assert_eq!(req.inputs["s"], tensor(&[2], want));
    let req = ok(
        r#"{"instances": [["a", "b"], ["c", "d"]]}"#,
        &[("s", DType::String)],
    );
    assert_eq!(req.inputs["s"].shape(), [2, 2]);
    let req = ok(r#"{"instances": [[], []]}"#, X);
    assert_eq!(req.inputs["x"], tensor(&[2, 0], TensorData::F32(vec![])));
}

#[test]
fn row_shape_consistency_errors() {
    let table: &[(&str, &str)] = &[
        (
            r#"{"instances": [[1, 2], [3]]}"#,
            "Expecting tensor size: 2 but got: 1",
        ),
        (
            r#"{"instances": [[1, 2], [[3], [4]]]}"#,
            "Expecting shape [2] but got: [2,1]",
        ),
        (
            r#"{"instances": [[[1, 2], [3]]]}"#,
            "Encountered list at unexpected size: 1 at level: 1 expected size: 2",
        ),
        (
            r#"{"instances": [[[1, 2], 3]]}"#,
            "JSON Value: 3 found at incorrect level: 2 in the JSON DOM. Expected at level: 2",
        ),
        (
            r#"{"instances": [[1, [2]]]}"#,
            "Encountered list at unexpected level: 1 expected < 1",
        ),
    ];
    for (i, (body, inner)) in table.iter().enumerate() {
        let item = if i < 2 { 1 } else { 0 };
        let want = format!(
            "Failed to process element: {item} of 'instances' list. Error: INVALID_ARGUMENT: {inner}"
        );
        assert_eq!(err(body, X), want);
    }
}

#[test]
fn reference_type_error_example() {
    assert_eq!(
        err(r#"{"instances": ["x"]}"#, X),
        "Failed to process element: 0 of 'instances' list. Error: INVALID_ARGUMENT: JSON Value: \"x\" Type: String is not of expected type: float"
    );
}

/// Columnar requests return conversion errors unwrapped, which keeps UNIMPLEMENTED visible.
fn column(value: &str, dtype: DType) -> Result<Tensor, Status> {
    let infos = sig(&[("v", dtype)]);
    let body = format!(r#"{{"inputs": {value}}}"#);
    parse_predict_request(body.as_bytes(), |_| Ok(&infos))
        .map(|mut r| r.inputs.remove("v").unwrap())
}

#[test]
fn dtype_conversions_that_succeed() {
    let big = 1u64 << 63;
    let table: Vec<(&str, DType, TensorData)> = vec![
        (
            "[1, 2.5, -Infinity, 1e39, 1e-50]",
            DType::F32,
            TensorData::F32(vec![1.0, 2.5, f32::NEG_INFINITY, f32::INFINITY, 0.0]),
        ),
        (
            "[1435774380]",
            DType::F32,
            TensorData::F32(vec![1435774336.0]),
        ),
        (
            "[1, 0.1, 1e300]",
            DType::F64,
            TensorData::F64(vec![1.0, 0.1, 1e300]),
        ),
        (
            "[1, -2147483648]",
            DType::I32,
            TensorData::I32(vec![1, i32::MIN]),
        ),
        ("[300, -1]", DType::I8, TensorData::I8(vec![44, -1])),
        ("[300, -1]", DType::U8, TensorData::U8(vec![44, 255])),
        ("[70000]", DType::I16, TensorData::I16(vec![4464])),
        (
            "[-9223372036854775808]",
            DType::I64,
            TensorData::I64(vec![i64::MIN]),
        ),
        ("[4294967295]", DType::U32, TensorData::U32(vec![u32::MAX])),
        (
            "[9223372036854775808, 1]",
            DType::U64,
            TensorData::U64(vec![big, 1]),
        ),
        (
            "[true, false]",
            DType::Bool,
            TensorData::Bool(vec![true, false]),
        ),
        (
            r#"["a\u00e9", {"b64": "aGk="}]"#,
            DType::String,
            TensorData::String(vec!["aé".into(), b"hi".to_vec()]),
        ),
    ];
    for (value, dtype, want) in table {
        let got = column(value, dtype).unwrap_or_else(|e| panic!("{value} as {dtype}: {e}"));
        assert_eq!(got.data(), &want, "{value} as {dtype}");
    }
    let nan = column("NaN", DType::F32).unwrap();
    assert!(matches!(nan.data(), TensorData::F32(v) if v[0].is_nan()));
    assert_eq!(nan.shape(), [] as [usize; 0]);
}

#[test]
fn dtype_conversions_that_fail() {
    let table: &[(&str, DType, &str)] = &[
        (
            "1.0",
            DType::I32,
            "JSON Value: 1.0 Type: Number is not of expected type: int32",
        ),
        (
            "3000000000",
            DType::I32,
            "JSON Value: 3000000000 Type: Number is not of expected type: int32",
        ),
        (
            "1.5",
            DType::I8,
            "JSON Value: 1.5 Type: Number is not of expected type: int8",
        ),
        (
            "9223372036854775808",
            DType::I64,
            "JSON Value: 9223372036854775808 Type: Number is not of expected type: int64",
        ),
        (
            "-1",
            DType::U32,
            "JSON Value: -1 Type: Number is not of expected type: uint32",
        ),
        (
            "-1",
            DType::U64,
            "JSON Value: -1 Type: Number is not of expected type: uint64",
        ),
        (
            "1",
            DType::Bool,
            "JSON Value: 1 Type: Number is not of expected type: bool",
        ),
        (
            "null",
            DType::F32,
            "JSON Value: null Type: Null is not of expected type: float",
        ),
        (
            "true",
            DType::F64,
            "JSON Value: true Type: True is not of expected type: double",
        ),
        (
            "false",
            DType::String,
            "JSON Value: false Type: False is not of expected type: string",
        ),
        (
            "1",
            DType::String,
            "JSON Value: 1 Type: Number is not of expected type: string",
        ),
        (
            r#"[{"a": 1}]"#,
            DType::F32,
            "JSON Value: {\n    \"a\": 1\n} Type: Object is not of expected type: float",
        ),
        (
            r#"[{"b64": "AA=="}]"#,
            DType::F32,
            "JSON Value: {\n    \"b64\": \"AA==\"\n} Type: Object is not of expected type: float",
        ),
        (r#"{"b64": 1}"#, DType::String, "inputs"),
        (
            r#"[{"b64": 1}]"#,
            DType::String,
            "JSON Value: {\n    \"b64\": 1\n} not formatted correctly for base64 data",
        ),
        (
            r#"[{"b64": "AA==", "x": 1}]"#,
            DType::String,
            "JSON Value: {\n    \"b64\": \"AA==\",\n    \"x\": 1\n} not formatted correctly for base64 data",
        ),
        (r#"{"b64": "!!"}"#, DType::String, "Unable to base64 decode"),
    ];
    for (value, dtype, want) in table {
        let e = column(value, *dtype).expect_err(value);
        assert_eq!(e.code(), Code::InvalidArgument);
        if *want == "inputs" {
            // A non-b64 object is the named form: the input is simply missing.
            assert_eq!(e.message(), "Missing named input: v in 'inputs' object.");
        } else {
            assert_eq!(e.message(), *want, "{value} as {dtype}");
        }
    }
}

#[test]
fn unsupported_dtypes_are_unimplemented() {
    let e = column("[1.0]", DType::F16).unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (
            Code::Unimplemented,
            "Conversion of JSON Value: 1.0 to type: half"
        )
    );
    let e = column("7", DType::U16).unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (
            Code::Unimplemented,
            "Conversion of JSON Value: 7 to type: uint16"
        )
    );
    // An object is a type error first, even for an unsupported dtype.
    let e = column(r#"[{"a": 1}]"#, DType::F16).unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    // Row requests wrap the inner status, so the code becomes INVALID_ARGUMENT.
    let e = decode(r#"{"instances": [1.0]}"#, &[("h", DType::F16)]).unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(
        e.message(),
        "Failed to process element: 0 of 'instances' list. Error: UNIMPLEMENTED: Conversion of JSON Value: 1.0 to type: half"
    );
}

#[test]
fn columnar_forms() {
    let req = ok(r#"{"inputs": [[1, 2], [3, 4]]}"#, X);
    assert_eq!(req.format, RequestFormat::Columnar);
    assert_eq!(
        req.inputs["x"],
        tensor(&[2, 2], TensorData::F32(vec![1.0, 2.0, 3.0, 4.0]))
    );
    let req = ok(r#"{"inputs": 3.0}"#, X);
    assert_eq!(req.inputs["x"], tensor(&[], TensorData::F32(vec![3.0])));
    let req = ok(r#"{"inputs": {"b64": "AA=="}}"#, &[("s", DType::String)]);
    assert_eq!(
        req.inputs["s"],
        tensor(&[], TensorData::String(vec![vec![0]]))
    );
    let req = ok(
        r#"{"inputs": {"a": [1.0], "b": 2, "extra": "ignored"}}"#,
        AB,
    );
    assert_eq!(req.inputs.len(), 2);
    assert_eq!(req.inputs["a"], tensor(&[1], TensorData::F32(vec![1.0])));
    assert_eq!(req.inputs["b"], tensor(&[], TensorData::I32(vec![2])));
    let req = ok(r#"{"inputs": {"x": []}}"#, X);
    assert_eq!(req.inputs["x"], tensor(&[0], TensorData::F32(vec![])));
}

#[test]
fn columnar_errors() {
    assert_eq!(
        err(r#"{"inputs": {"a": 1.0}}"#, AB),
        "Missing named input: b in 'inputs' object."
    );
    assert_eq!(
        err(r#"{"inputs": [1.0]}"#, AB),
        "inputs is a plain value/list, but expecting an object as multiple input tensors required as per tensorinfo_map"
    );
    assert_eq!(
        err(r#"{"inputs": [[1, 2], [3]]}"#, X),
        "Encountered list at unexpected size: 1 at level: 1 expected size: 2"
    );
}

#[test]
fn quoted_values_are_truncated_to_256_bytes() {
    let long = "y".repeat(1000);
    let message = err(&format!(r#"{{"inputs": "{long}"}}"#), X);
    let quoted = format!("\"{}", "y".repeat(255));
    assert_eq!(
        message,
        format!("JSON Value: {quoted} Type: String is not of expected type: float")
    );
}

#[test]
fn hostile_predict_bodies_fail_cleanly() {
    let deep = format!(
        r#"{{"inputs": {}1{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let e = err(&deep, X);
    assert!(e.contains("254"), "{e}");
    let rank_300 = format!(r#"{{"inputs": {}1{}}}"#, "[".repeat(300), "]".repeat(300));
    assert!(err(&rank_300, X).contains("254"));
    // Claims a 3 x 100000 tensor; must fail without allocating for the claim.
    let claim = format!(
        r#"{{"inputs": [[{}], 1, 1]}}"#,
        vec!["0"; 100_000].join(",")
    );
    assert!(err(&claim, X).contains("found at incorrect level"));
    // A key repeated inside one instance yields more values than the shape holds.
    assert!(decode(r#"{"instances": [{"x": 1.0, "x": 2.0}]}"#, X).is_err());
    let bad_utf8 = b"{\"instances\": [{\"\xff\": 1.0}]}";
    let infos = sig(X);
    let e = parse_predict_request(bad_utf8, |_| Ok(&infos)).unwrap_err();
    assert!(e.message().contains("does not have named input: \u{fffd}"));
}
