//! Classify / regress requests and responses: reference §1.8.

use crate::Code;
use crate::example::{Example, Feature};
use crate::json::{
    Class, ExamplesRequest, classify_response, parse_classify_request, parse_regress_request,
    regress_response,
};

fn ok(body: &str) -> ExamplesRequest {
    parse_classify_request(body.as_bytes()).unwrap_or_else(|e| panic!("{body}: {e}"))
}

fn err(body: &str) -> String {
    let e = parse_regress_request(body.as_bytes()).expect_err(body);
    assert_eq!(e.code(), Code::InvalidArgument);
    e.message().to_owned()
}

fn feature(req: &ExamplesRequest, example: usize, name: &str) -> Feature {
    req.examples[example].features[name].clone()
}

#[test]
fn feature_kinds_come_from_tokens() {
    let req = ok(r#"{"examples": [{
        "f": 2.0, "fl": [1.5, 1e3], "i": 2, "il": [1, -2], "b": true, "bl": [true, false],
        "s": "abc", "sl": ["a", "b"], "x": {"b64": "aGk="}, "xl": [{"b64": "AA=="}, "raw"],
        "e": []
    }]}"#);
    let table = [
        ("f", Feature::Float(vec![2.0])),
        ("fl", Feature::Float(vec![1.5, 1000.0])),
        ("i", Feature::Int64(vec![2])),
        ("il", Feature::Int64(vec![1, -2])),
        ("b", Feature::Int64(vec![1])),
        ("bl", Feature::Int64(vec![1, 0])),
        ("s", Feature::Bytes(vec![b"abc".to_vec()])),
        ("sl", Feature::Bytes(vec![b"a".to_vec(), b"b".to_vec()])),
        ("x", Feature::Bytes(vec![b"hi".to_vec()])),
        ("xl", Feature::Bytes(vec![vec![0], b"raw".to_vec()])),
        ("e", Feature::Float(vec![])),
    ];
    for (name, want) in table {
        assert_eq!(feature(&req, 0, name), want, "{name}");
    }
    assert_eq!(req.signature_name, "serving_default");
    assert_eq!(req.context, None);
}

#[test]
fn context_and_signature() {
    let req = ok(
        r#"{"signature_name": "classify_x_to_y", "context": {"c": 1, "x": 5},
        "examples": [{"x": 1.0}, {"y": "s"}]}"#,
    );
    assert_eq!(req.signature_name, "classify_x_to_y");
    let ctx = req.context.clone().unwrap();
    assert_eq!(ctx.features["c"], Feature::Int64(vec![1]));
    let merged = req.merged_examples();
    assert_eq!(merged[0].features["x"], Feature::Float(vec![1.0]));
    assert_eq!(merged[0].features["c"], Feature::Int64(vec![1]));
    assert_eq!(merged[1].features["x"], Feature::Int64(vec![5]));
    assert_eq!(merged[1].features.len(), 3);
}

#[test]
fn repeated_feature_names_keep_the_last() {
    let req = ok(r#"{"examples": [{"x": 1, "x": [2.5]}]}"#);
    assert_eq!(feature(&req, 0, "x"), Feature::Float(vec![2.5]));
}

#[test]
fn request_errors() {
    let table: &[(&str, &str)] = &[
        ("", "JSON Parse error: The document is empty"),
        ("[]", "JSON Value: [] Is not object"),
        (
            r#"{"signature_name": ["a"], "examples": [{}]}"#,
            "JSON Value: {\n    \"signature_name\": [\n        \"a\"\n    ],\n    \"examples\": [\n        {}\n    ]\n} not formatted correctly. 'signature_name' key must be a string value.",
        ),
        (
            r#"{"instances": [1]}"#,
            "JSON Value: {\n    \"instances\": [\n        1\n    ]\n} When method is classify, key 'examples' is expected and was not found",
        ),
        (
            r#"{"examples": {}}"#,
            "JSON Value: {\n    \"examples\": {}\n} Expecting 'examples' value to be an list/array",
        ),
        (
            r#"{"examples": []}"#,
            "JSON Value: {\n    \"examples\": []\n} 'examples' value is an empty array",
        ),
        (
            r#"{"examples": [[1]]}"#,
            "Example must be JSON object but got JSON Array",
        ),
        (
            r#"{"examples": [1]}"#,
            "Example must be JSON object but got JSON Number",
        ),
        (
            r#"{"context": "c", "examples": [{}]}"#,
            "Example must be JSON object but got JSON String",
        ),
        (
            r#"{"examples": [{"names": [1, "a"]}]}"#,
            "Unexpected element type in feature: names expecting type: int64",
        ),
        (
            r#"{"examples": [{"f": [1.5, 2]}]}"#,
            "Unexpected element type in feature: f expecting type: float",
        ),
        (
            r#"{"examples": [{"f": ["a", true]}]}"#,
            "Unexpected element type in feature: f expecting type: bytes",
        ),
        (
            r#"{"examples": [{"f": [{"b64": "AA=="}, 1.0]}]}"#,
            "Unexpected element type in feature: f expecting type: bytes",
        ),
        (
            r#"{"examples": [{"u": 18446744073709551615}]}"#,
            "Feature: u has uint64_t element. Only int64_t is supported.",
        ),
        (
            r#"{"examples": [{"n": null}]}"#,
            "Feature: n has element with unexpected JSON type: Null",
        ),
        (
            r#"{"examples": [{"n": [[1]]}]}"#,
            "Feature: n has element with unexpected JSON type: Array",
        ),
        (
            r#"{"examples": [{"n": {"a": 1}}]}"#,
            "Feature: n has element with unexpected JSON type: Object",
        ),
        (
            r#"{"examples": [{"n": {"b64": "A"}}]}"#,
            "Unable to base64 decode",
        ),
    ];
    for (body, want) in table {
        assert_eq!(err(body), *want, "{body}");
    }
}

#[test]
fn reference_classify_response() {
    let results = vec![
        vec![Class {
            label: Vec::new(),
            score: 3.0,
        }],
        vec![
            Class {
                label: b"car".to_vec(),
                score: 0.2,
            },
            Class {
                label: b"bike".to_vec(),
                score: 0.7,
            },
        ],
    ];
    let got = String::from_utf8(classify_response(&results).unwrap()).unwrap();
    assert_eq!(
        got,
        "{\n    \"results\": [[[\"\", 3.0]], [[\"car\", 0.2], [\"bike\", 0.7]]\n    ]\n}"
    );
    let one = String::from_utf8(classify_response(&[vec![]]).unwrap()).unwrap();
    assert_eq!(one, "{\n    \"results\": [[]\n    ]\n}");
}

#[test]
fn reference_regress_response() {
    let got = String::from_utf8(regress_response(&[3.0, 0.2]).unwrap()).unwrap();
    assert_eq!(got, "{\n    \"results\": [3.0, 0.2]\n}");
    let got = String::from_utf8(regress_response(&[f32::NAN, 1e-5]).unwrap()).unwrap();
    assert_eq!(got, "{\n    \"results\": [NaN, 1e-05]\n}");
}

#[test]
fn empty_results_are_errors() {
    let e = classify_response(&[]).unwrap_err();
    assert_eq!(
        e.message(),
        "Cannot convert empty ClassificationResults to JSON"
    );
    let e = regress_response(&[]).unwrap_err();
    assert_eq!(
        e.message(),
        "Cannot convert empty RegressionResults to JSON"
    );
}

#[test]
fn json_examples_equal_tf_serving_testdata_examples() {
    // The serialized inputs of half_plus_two's classify_x_to_y test (Python wrote x2 first;
    // our encoder sorts names, so compare decoded values).
    let req = ok(r#"{"examples": [{"x": 1.0, "x2": 1.0}]}"#);
    let serialized = b"Ch8KDgoCeDISCBIGCgQAAIA/Cg0KAXgSCBIGCgQAAIA/";
    let python = Example::decode(&crate::json::b64::decode(serialized).unwrap()).unwrap();
    assert_eq!(req.examples[0], python);
    assert_eq!(Example::decode(&python.encode()).unwrap(), python);
}
