//! Malformed and hostile requests, each answered with TF Serving's HTTP status and error
//! message (reference §1.2, §1.3, §1.6, §1.8), after which the server still serves.

mod common;

use common::cases::{Case, accepted, case, run};
use common::http::post;
use common::{bundled_base, start};
use serde_json::json;

const M: &str = "/v1/models/half_plus_two";

fn predict(what: &'static str, body: &str, error: &str) -> Case {
    case(what, "POST", &format!("{M}:predict"), body, 400, error)
}

fn element_error(inner: &str) -> String {
    format!("Failed to process element: 0 of 'instances' list. Error: INVALID_ARGUMENT: {inner}")
}

fn cases() -> Vec<Case> {
    let deep = format!(
        r#"{{"instances": {}1.0{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let deep_unclosed = format!(r#"{{"instances": {}"#, "[".repeat(100_000));
    let v = vec![
        // Bodies that are not a JSON object.
        predict("empty body", "", "JSON Parse error: The document is empty"),
        predict(
            "whitespace body",
            "   ",
            "JSON Parse error: The document is empty. at offset: 3",
        ),
        predict(
            "not JSON",
            "xyz",
            "JSON Parse error: Invalid value. at offset: 0",
        ),
        predict(
            "truncated object",
            "{",
            "JSON Parse error: Missing a name for object member. at offset: 1",
        ),
        predict(
            "missing comma",
            r#"{"instances": [1.0 2.0]}"#,
            "JSON Parse error: Missing a comma or ']' after an array element. at offset: 19",
        ),
        predict(
            "array body",
            "[1.0, 2.0]",
            "JSON Value: [\n    1.0,\n    2.0\n] Is not object",
        ),
        predict("string body", r#""x""#, r#"JSON Value: "x" Is not object"#),
        predict(
            "number too big",
            r#"{"instances": [1e400]}"#,
            "JSON Parse error: Number too big to be stored in double. at offset: 15",
        ),
        predict(
            "unclosed 100k-deep nesting",
            &deep_unclosed,
            "JSON Parse error: Invalid value. at offset: 100014",
        ),
        // TF Serving's own text here is not known; it recurses and fails later in tensor parsing.
        predict(
            "100k-deep nesting",
            &deep,
            &element_error("Shape has more than 254 dimensions, the limit of a tensor"),
        ),
        // Keys.
        predict(
            "neither instances nor inputs",
            r#"{"signature_name": "serving_default"}"#,
            "Missing 'inputs' or 'instances' key",
        ),
        predict(
            "both instances and inputs",
            r#"{"instances": [1.0], "inputs": [1.0]}"#,
            r#"JSON Value: {
    "instances": [
        1.0
    ],
    "inputs": [
        1.0
    ]
} Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist "#,
        ),
        // rapidjson keeps both members and FindMember returns the first.
        accepted(
            "instances doubled",
            &format!("{M}:predict"),
            r#"{"instances": [1.0], "instances": [2.0]}"#,
        ),
        accepted(
            "inputs doubled",
            &format!("{M}:predict"),
            r#"{"inputs": [1.0], "inputs": [2.0]}"#,
        ),
        predict(
            "key doubled inside an instance",
            r#"{"instances": [{"x": [1.0], "x": [2.0]}]}"#,
            // TF Serving fails later, in Tensor::FromProto: "tensor parsing error: x".
            "tensor of shape [1, 1] needs 1 elements but 2 were given",
        ),
        predict(
            "signature_name not a string",
            r#"{"signature_name": 1, "instances": [1.0]}"#,
            r#"JSON Value: {
    "signature_name": 1,
    "instances": [
        1.0
    ]
} not formatted correctly. 'signature_name' key must be a string value."#,
        ),
        predict(
            "signature not found",
            r#"{"signature_name": "nope", "instances": [1.0]}"#,
            r#"Serving signature name: "nope" not found in signature def"#,
        ),
        predict(
            "instances not a list",
            r#"{"instances": {"x": 1.0}}"#,
            r#"JSON Value: {
    "instances": {
        "x": 1.0
    }
} Expecting 'instances' to be an list/array"#,
        ),
        predict(
            "instances empty",
            r#"{"instances": []}"#,
            r#"JSON Value: {
    "instances": []
} No values in 'instances' array"#,
        ),
        predict(
            "named instance with a wrong key",
            r#"{"instances": [{"y": 1.0}]}"#,
            "Failed to process element: 0 key: y of 'instances' list. Error: INVALID_ARGUMENT: JSON object: does not have named input: y",
        ),
        predict(
            "named input missing from inputs",
            r#"{"inputs": {"y": [1.0]}}"#,
            "Missing named input: x in 'inputs' object.",
        ),
        // Values.
        predict(
            "string for a float",
            r#"{"instances": ["x"]}"#,
            &element_error(r#"JSON Value: "x" Type: String is not of expected type: float"#),
        ),
        predict(
            "null for a float",
            r#"{"instances": [null]}"#,
            &element_error("JSON Value: null Type: Null is not of expected type: float"),
        ),
        predict(
            "bool for a float (columnar)",
            r#"{"inputs": [true]}"#,
            "JSON Value: true Type: True is not of expected type: float",
        ),
        predict(
            "b64 object for a float",
            r#"{"instances": [{"b64": "AAAA"}]}"#,
            &element_error(
                r#"JSON Value: {
    "b64": "AAAA"
} Type: Object is not of expected type: float"#,
            ),
        ),
        predict(
            "ragged instances",
            r#"{"instances": [[1.0], [1.0, 2.0]]}"#,
            "Failed to process element: 1 of 'instances' list. Error: INVALID_ARGUMENT: Expecting tensor size: 1 but got: 2",
        ),
        predict(
            "bad base64",
            r#"{"signature_name": "classify_x_to_y", "instances": [{"b64": "!!!"}]}"#,
            &element_error("Unable to base64 decode"),
        ),
        predict(
            "b64 value not a string",
            r#"{"signature_name": "classify_x_to_y", "inputs": [{"b64": 1}]}"#,
            "JSON Value: {\n    \"b64\": 1\n} not formatted correctly for base64 data",
        ),
        // Classify and regress bodies.
        case(
            "classify without examples",
            "POST",
            &format!("{M}:classify"),
            r#"{"signature_name": "classify_x_to_y"}"#,
            400,
            "JSON Value: {\n    \"signature_name\": \"classify_x_to_y\"\n} When method is classify, key 'examples' is expected and was not found",
        ),
        case(
            "regress without examples",
            "POST",
            &format!("{M}:regress"),
            r#"{"signature_name": "regress_x_to_y", "instances": [1.0]}"#,
            400,
            "JSON Value: {\n    \"signature_name\": \"regress_x_to_y\",\n    \"instances\": [\n        1.0\n    ]\n} When method is classify, key 'examples' is expected and was not found",
        ),
        case(
            "examples not a list",
            "POST",
            &format!("{M}:regress"),
            r#"{"signature_name": "regress_x_to_y", "examples": {"x": 1.0}}"#,
            400,
            "JSON Value: {\n    \"signature_name\": \"regress_x_to_y\",\n    \"examples\": {\n        \"x\": 1.0\n    }\n} Expecting 'examples' value to be an list/array",
        ),
        case(
            "examples empty",
            "POST",
            &format!("{M}:regress"),
            r#"{"signature_name": "regress_x_to_y", "examples": []}"#,
            400,
            "JSON Value: {\n    \"signature_name\": \"regress_x_to_y\",\n    \"examples\": []\n} 'examples' value is an empty array",
        ),
        case(
            "example not an object",
            "POST",
            &format!("{M}:classify"),
            r#"{"signature_name": "classify_x_to_y", "examples": [[1.0]]}"#,
            400,
            "Example must be JSON object but got JSON Array",
        ),
        case(
            "null feature",
            "POST",
            &format!("{M}:classify"),
            r#"{"signature_name": "classify_x_to_y", "examples": [{"x": null}]}"#,
            400,
            "Feature: x has element with unexpected JSON type: Null",
        ),
        case(
            "mixed feature kinds",
            "POST",
            &format!("{M}:regress"),
            r#"{"signature_name": "regress_x_to_y", "examples": [{"x": [1.0, "a"]}]}"#,
            400,
            "Unexpected element type in feature: x expecting type: float",
        ),
        case(
            "uint64 feature",
            "POST",
            &format!("{M}:regress"),
            r#"{"signature_name": "regress_x_to_y", "examples": [{"x": 18446744073709551615}]}"#,
            400,
            "Feature: x has uint64_t element. Only int64_t is supported.",
        ),
        case(
            "classify signature not found",
            "POST",
            &format!("{M}:classify"),
            r#"{"signature_name": "nope", "examples": [{"x": 1.0}]}"#,
            400,
            "No signature was found with the name: nope",
        ),
        // Unknown model, version or label.
        case(
            "unknown model",
            "POST",
            "/v1/models/nope:predict",
            r#"{"instances": [1.0]}"#,
            404,
            "Servable not found for request: Latest(nope)",
        ),
        case(
            "unknown version",
            "POST",
            &format!("{M}/versions/9:predict"),
            r#"{"instances": [1.0]}"#,
            404,
            "Servable not found for request: Specific(half_plus_two, 9)",
        ),
        case(
            "unknown label",
            "POST",
            &format!("{M}/labels/nope:predict"),
            r#"{"instances": [1.0]}"#,
            400,
            "Unrecognized servable version label: nope",
        ),
        case(
            "status of an unknown model",
            "GET",
            "/v1/models/nope",
            "",
            404,
            "Could not find any versions of model nope",
        ),
        case(
            "metadata of an unknown model",
            "GET",
            "/v1/models/nope/metadata",
            "",
            404,
            "Servable not found for request: Latest(nope)",
        ),
        case(
            "version beyond int64",
            "POST",
            &format!("{M}/versions/99999999999999999999:predict"),
            r#"{"instances": [1.0]}"#,
            400,
            "Failed to convert version: 99999999999999999999 to numeric.",
        ),
        // Wrong method or path.
        case(
            "GET /v1/models",
            "GET",
            "/v1/models",
            "",
            400,
            "Missing model name in request.",
        ),
        case(
            "GET /v1/foo",
            "GET",
            "/v1/foo",
            "",
            400,
            "Malformed request: GET /v1/foo",
        ),
        case(
            "upper-case verb",
            "POST",
            &format!("{M}:PREDICT"),
            r#"{"instances": [1.0]}"#,
            400,
            &format!("Malformed request: POST {M}:PREDICT"),
        ),
        case(
            "unknown verb",
            "POST",
            &format!("{M}:explain"),
            "{}",
            400,
            &format!("Malformed request: POST {M}:explain"),
        ),
        case(
            "GET on predict",
            "GET",
            &format!("{M}:predict"),
            "",
            400,
            &format!("Malformed request: GET {M}:predict"),
        ),
        case(
            "POST on metadata",
            "POST",
            &format!("{M}/metadata"),
            "{}",
            400,
            &format!("Malformed request: POST {M}/metadata"),
        ),
        case(
            "PUT",
            "PUT",
            M,
            "{}",
            400,
            &format!("Malformed request: PUT {M}"),
        ),
        case(
            "DELETE",
            "DELETE",
            M,
            "",
            400,
            &format!("Malformed request: DELETE {M}"),
        ),
        case(
            "PATCH",
            "PATCH",
            &format!("{M}:predict"),
            "{}",
            400,
            &format!("Malformed request: PATCH {M}:predict"),
        ),
        case(
            "non-numeric version",
            "GET",
            &format!("{M}/versions/abc"),
            "",
            400,
            &format!("Malformed request: GET {M}/versions/abc"),
        ),
        case(
            "singular version",
            "GET",
            &format!("{M}/version/5"),
            "",
            400,
            &format!("Malformed request: GET {M}/version/5"),
        ),
        case(
            "version and label",
            "GET",
            &format!("{M}/versions/5/labels/x"),
            "",
            400,
            &format!("Malformed request: GET {M}/versions/5/labels/x"),
        ),
        case(
            "query string on POST",
            "POST",
            &format!("{M}:predict?x=1"),
            r#"{"instances": [1.0]}"#,
            400,
            &format!("Malformed request: POST {M}:predict?x=1"),
        ),
        case(
            "query string on GET",
            "GET",
            &format!("{M}?x=1"),
            "",
            404,
            "Could not find any versions of model half_plus_two?x=1",
        ),
    ];
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_tf_serving_answers() {
    let base = format!("--model_base_path={}", bundled_base().display());
    let s = start(&["--model_name=half_plus_two", &base]).await;
    let cases = cases();
    assert!(cases.len() >= 30);
    let failures = run(s.addr, &cases).await;
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // The server still serves.
    let r = post(
        s.addr,
        &format!("{M}:predict"),
        r#"{"instances": [1.0, 2.0, 5.0]}"#,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"predictions": [2.5, 3.0, 4.5]}));
}
