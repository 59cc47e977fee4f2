//! Predict responses and error bodies: the exact bytes of reference §1.3 and §1.7.

use std::collections::BTreeMap;

use crate::json::{RequestFormat, error_body, predict_response};
use crate::{Code, Tensor, TensorData};

fn outputs(list: Vec<(&str, Vec<usize>, TensorData)>) -> BTreeMap<String, Tensor> {
    list.into_iter()
        .map(|(name, shape, data)| (name.to_owned(), Tensor::new(shape, data).unwrap()))
        .collect()
}

fn text(list: Vec<(&str, Vec<usize>, TensorData)>, format: RequestFormat) -> String {
    String::from_utf8(predict_response(&outputs(list), format).unwrap()).unwrap()
}

fn row(list: Vec<(&str, Vec<usize>, TensorData)>) -> String {
    text(list, RequestFormat::Row)
}

fn col(list: Vec<(&str, Vec<usize>, TensorData)>) -> String {
    text(list, RequestFormat::Columnar)
}

#[test]
fn reference_row_single_output() {
    let got = row(vec![("y", vec![3], TensorData::F32(vec![2.5, 3.0, 4.5]))]);
    assert_eq!(got, "{\n    \"predictions\": [2.5, 3.0, 4.5\n    ]\n}");
}

#[test]
fn reference_row_nested() {
    let got = row(vec![(
        "y",
        vec![2, 2],
        TensorData::F32(vec![2.5, 3.0, 3.5, 4.0]),
    )]);
    assert_eq!(
        got,
        "{\n    \"predictions\": [[2.5, 3.0], [3.5, 4.0]\n    ]\n}"
    );
}

#[test]
fn reference_row_several_outputs() {
    let got = row(vec![
        ("a", vec![2], TensorData::F32(vec![1.0, 2.0])),
        (
            "b",
            vec![2, 2],
            TensorData::F32(vec![0.1, 0.2, 1.0 / 3.0, 9e6]),
        ),
    ]);
    let want = r#"{
    "predictions": [
        {
            "a": 1.0,
            "b": [0.1, 0.2]
        },
        {
            "a": 2.0,
            "b": [0.333333343, 9e+06]
        }
    ]
}"#;
    assert_eq!(got, want);
}

#[test]
fn reference_columnar() {
    let got = col(vec![("y", vec![3], TensorData::F32(vec![2.5, 3.0, 4.5]))]);
    assert_eq!(
        got,
        "{\n    \"outputs\": [\n        2.5,\n        3.0,\n        4.5\n    ]\n}"
    );
}

#[test]
fn columnar_scalar_and_several_outputs() {
    assert_eq!(
        col(vec![("y", vec![], TensorData::F64(vec![3.0]))]),
        "{\n    \"outputs\": 3.0\n}"
    );
    let got = col(vec![
        ("a", vec![], TensorData::I64(vec![-7])),
        ("b", vec![2], TensorData::Bool(vec![true, false])),
    ]);
    let want = "{\n    \"outputs\": {\n        \"a\": -7,\n        \"b\": [\n            true,\n            false\n        ]\n    }\n}";
    assert_eq!(got, want);
}

#[test]
fn zero_batch_is_an_empty_list() {
    let got = row(vec![("y", vec![0, 3], TensorData::F32(vec![]))]);
    assert_eq!(got, "{\n    \"predictions\": []\n}");
    // No value is written, so even an unwritable dtype is fine.
    let got = row(vec![("h", vec![0], TensorData::F16(vec![]))]);
    assert_eq!(got, "{\n    \"predictions\": []\n}");
}

#[test]
fn integers_and_non_finite_values() {
    let got = row(vec![(
        "y",
        vec![4],
        TensorData::F32(vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0]),
    )]);
    assert_eq!(
        got,
        "{\n    \"predictions\": [NaN, Infinity, -Infinity, -0.0\n    ]\n}"
    );
    let cases = vec![
        (TensorData::I32(vec![-1, 2]), "-1, 2"),
        (TensorData::I8(vec![-128, 127]), "-128, 127"),
        (TensorData::U8(vec![0, 255]), "0, 255"),
        (TensorData::I16(vec![-300, 300]), "-300, 300"),
        (
            TensorData::I64(vec![i64::MIN, i64::MAX]),
            "-9223372036854775808, 9223372036854775807",
        ),
        (TensorData::U32(vec![u32::MAX, 0]), "4294967295, 0"),
        (
            TensorData::U64(vec![u64::MAX, 1]),
            "18446744073709551615, 1",
        ),
        (
            TensorData::F64(vec![0.1, 1.0 / 3.0]),
            "0.1, 0.33333333333333331",
        ),
        (
            TensorData::F32(vec![555557.5, 999999.0]),
            "555557.5, 999999.0",
        ),
    ];
    for (data, values) in cases {
        let got = row(vec![("y", vec![2], data)]);
        assert_eq!(
            got,
            format!("{{\n    \"predictions\": [{values}\n    ]\n}}")
        );
    }
}

#[test]
fn strings_raw_or_b64_by_alias_suffix() {
    let data = || TensorData::String(vec![b"a\"\n\x01".to_vec(), vec![0xff]]);
    let raw = predict_response(
        &outputs(vec![("s", vec![2], data())]),
        RequestFormat::Columnar,
    );
    // Binary in a non-`_bytes` output is written raw, as rapidjson does (invalid JSON).
    let want = b"{\n    \"outputs\": [\n        \"a\\\"\\n\\u0001\",\n        \"\xff\"\n    ]\n}";
    assert_eq!(raw.unwrap(), want);
    let got = row(vec![("out_bytes", vec![2], data())]);
    let want = "{\n    \"predictions\": [{\n            \"b64\": \"YSIKAQ==\"\n        }, {\n            \"b64\": \"/w==\"\n        }\n    ]\n}";
    assert_eq!(got, want);
}

#[test]
fn row_errors() {
    let e = predict_response(
        &outputs(vec![
            ("a", vec![2], TensorData::F32(vec![1.0, 2.0])),
            ("y", vec![3], TensorData::F32(vec![0.0; 3])),
        ]),
        RequestFormat::Row,
    )
    .unwrap_err();
    assert_eq!(
        e.message(),
        "Tensor name: y has inconsistent batch size: 3 expecting: 2"
    );
    let e = predict_response(
        &outputs(vec![("y", vec![], TensorData::F32(vec![1.0]))]),
        RequestFormat::Row,
    )
    .unwrap_err();
    assert_eq!(e.message(), "Tensor name: y has no shape information ");
    let e = predict_response(&BTreeMap::new(), RequestFormat::Columnar).unwrap_err();
    assert_eq!(e.message(), "Cannot convert empty tensor map to JSON");
}

#[test]
fn unwritable_dtypes() {
    for (data, name) in [
        (TensorData::F16(vec![0x3c00]), "half"),
        (TensorData::U16(vec![1]), "uint16"),
    ] {
        let e =
            predict_response(&outputs(vec![("y", vec![1], data)]), RequestFormat::Row).unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        assert_eq!(
            e.message(),
            format!("Failed to write JSON value for tensor type: {name}")
        );
    }
}

#[test]
fn error_body_layout() {
    assert_eq!(
        String::from_utf8(error_body("Servable not found for request: Latest(half)")).unwrap(),
        "{\n    \"error\": \"Servable not found for request: Latest(half)\"\n}"
    );
    assert_eq!(
        String::from_utf8(error_body("JSON Value: {\n    \"a\": \"x\"\n} bad\t")).unwrap(),
        "{\n    \"error\": \"JSON Value: {\\n    \\\"a\\\": \\\"x\\\"\\n} bad\\t\"\n}"
    );
}

#[test]
fn response_round_trips_through_a_strict_parser_when_finite() {
    let got = row(vec![
        ("a", vec![2, 2], TensorData::F32(vec![1.0, 2.0, 3.0, 4.0])),
        (
            "b",
            vec![2],
            TensorData::String(vec![b"x".to_vec(), b"y".to_vec()]),
        ),
    ]);
    let v: serde_json::Value = serde_json::from_str(&got).unwrap();
    assert_eq!(v["predictions"][1]["a"], serde_json::json!([3.0, 4.0]));
    assert_eq!(v["predictions"][0]["b"], "x");
}
