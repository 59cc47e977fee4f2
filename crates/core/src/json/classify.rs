//! Classify and regress over REST (reference §1.8): requests carry `tf.Example`s written as
//! JSON objects, responses are `{"results": …}`.
//!
//! The list kind of each feature comes from the JSON tokens, not from the model: a number with
//! a point or exponent makes a `float_list`, an integer or boolean an `int64_list`, a string or
//! `{"b64": …}` a `bytes_list`. So `{"x": 2}` is an int64 feature even for a float model, as
//! in TF Serving.

use super::envelope::{format_error, parse_object, read_signature};
use super::fill::decode_b64_object;
use super::value::Value;
use super::writer::PrettyWriter;
use crate::Status;
use crate::example::{Example, Feature};
use crate::signature::DEFAULT_SIGNATURE;

/// A decoded classify or regress request.
#[derive(Debug, Clone, PartialEq)]
pub struct ExamplesRequest {
    /// The signature to run (`serving_default` when the body named none).
    pub signature_name: String,
    /// The `context` example (`ExampleListWithContext`), if the body had one.
    pub context: Option<Example>,
    /// The examples, in order; never empty.
    pub examples: Vec<Example>,
}

impl ExamplesRequest {
    /// The examples with the context merged in, as the model sees them.
    pub fn merged_examples(&self) -> Vec<Example> {
        match &self.context {
            None => self.examples.clone(),
            Some(ctx) => self
                .examples
                .iter()
                .map(|e| crate::example::merge_context(e, ctx))
                .collect(),
        }
    }
}

/// Parses a classify request body.
pub fn parse_classify_request(body: &[u8]) -> Result<ExamplesRequest, Status> {
    parse_examples_request(body)
}

/// Parses a regress request body. The error texts are the classify ones, as in TF Serving
/// (which says "When method is classify" for both).
pub fn parse_regress_request(body: &[u8]) -> Result<ExamplesRequest, Status> {
    parse_examples_request(body)
}

fn parse_examples_request(body: &[u8]) -> Result<ExamplesRequest, Status> {
    let doc = parse_object(body)?;
    let root = doc.root();
    let raw_signature = read_signature(root)?;
    let context = root.get("context").map(example_from_json).transpose()?;
    let Some(list) = root.get("examples") else {
        return Err(format_error(
            root,
            "When method is classify, key 'examples' is expected and was not found",
        ));
    };
    if !list.is_array() {
        return Err(format_error(
            root,
            "Expecting 'examples' value to be an list/array",
        ));
    }
    if list.is_empty() {
        return Err(format_error(root, "'examples' value is an empty array"));
    }
    let examples = list
        .elements()
        .map(example_from_json)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ExamplesRequest {
        signature_name: if raw_signature.is_empty() {
            DEFAULT_SIGNATURE.to_owned()
        } else {
            raw_signature
        },
        context,
        examples,
    })
}

/// One JSON object as an Example; a repeated feature name keeps the last value, as assigning
/// into the proto map does.
fn example_from_json(value: Value<'_>) -> Result<Example, Status> {
    if !value.is_object() {
        return Err(Status::invalid_argument(format!(
            "Example must be JSON object but got JSON {}",
            value.type_name()
        )));
    }
    let mut example = Example::default();
    for (key, content) in value.members() {
        let name = String::from_utf8_lossy(key).into_owned();
        let mut feature = None;
        if content.is_array() {
            for v in content.elements() {
                add_value(v, &name, &mut feature)?;
            }
        } else {
            add_value(content, &name, &mut feature)?;
        }
        // An empty list leaves the kind unset; it is kept as an empty float list.
        example
            .features
            .insert(name, feature.unwrap_or(Feature::Float(Vec::new())));
    }
    Ok(example)
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Bytes,
    Float,
    Int64,
}

fn kind_of(feature: &Feature) -> Kind {
    match feature {
        Feature::Bytes(_) => Kind::Bytes,
        Feature::Float(_) => Kind::Float,
        Feature::Int64(_) => Kind::Int64,
    }
}

/// The feature of `kind`, created on first use; an error if it already holds another kind.
fn of_kind<'f>(
    feature: &'f mut Option<Feature>,
    kind: Kind,
    name: &str,
) -> Result<&'f mut Feature, Status> {
    if let Some(existing) = feature.as_ref().map(kind_of).filter(|&k| k != kind) {
        let expecting = match existing {
            Kind::Bytes => "bytes",
            Kind::Float => "float",
            Kind::Int64 => "int64",
        };
        return Err(Status::invalid_argument(format!(
            "Unexpected element type in feature: {name} expecting type: {expecting}"
        )));
    }
    Ok(feature.get_or_insert_with(|| match kind {
        Kind::Bytes => Feature::Bytes(Vec::new()),
        Kind::Float => Feature::Float(Vec::new()),
        Kind::Int64 => Feature::Int64(Vec::new()),
    }))
}

/// TF Serving's `AddValueToFeature`.
fn add_value(value: Value<'_>, name: &str, feature: &mut Option<Feature>) -> Result<(), Status> {
    let unexpected = || {
        Status::invalid_argument(format!(
            "Feature: {name} has element with unexpected JSON type: {}",
            value.type_name()
        ))
    };
    if let Some(b) = value.as_bool() {
        if let Feature::Int64(v) = of_kind(feature, Kind::Int64, name)? {
            v.push(i64::from(b));
        }
    } else if let Some(s) = value.as_bytes() {
        if let Feature::Bytes(v) = of_kind(feature, Kind::Bytes, name)? {
            v.push(s.to_vec());
        }
    } else if let Some(n) = value.as_number() {
        if n.is_double() {
            if let Feature::Float(v) = of_kind(feature, Kind::Float, name)? {
                v.push(n.as_f32());
            }
        } else if let Feature::Int64(v) = of_kind(feature, Kind::Int64, name)? {
            let Some(i) = n.as_i64() else {
                return Err(Status::invalid_argument(format!(
                    "Feature: {name} has uint64_t element. Only int64_t is supported."
                )));
            };
            v.push(i);
        }
    } else if value.is_b64_object() {
        if let Feature::Bytes(v) = of_kind(feature, Kind::Bytes, name)? {
            v.push(decode_b64_object(value)?);
        }
    } else {
        // null, nested arrays and other objects
        return Err(unexpected());
    }
    Ok(())
}

/// One class of a classification result.
#[derive(Debug, Clone, PartialEq)]
pub struct Class {
    /// The label (empty when the signature has no `classes` output).
    pub label: Vec<u8>,
    /// The score.
    pub score: f32,
}

/// `{"results": [[[label, score], …], …]}`, one list of classes per example.
pub fn classify_response(results: &[Vec<Class>]) -> Result<Vec<u8>, Status> {
    if results.is_empty() {
        return Err(Status::invalid_argument(
            "Cannot convert empty ClassificationResults to JSON",
        ));
    }
    let mut out = Vec::new();
    let mut w = PrettyWriter::new(&mut out);
    w.start_object();
    w.key(b"results");
    w.start_array();
    for classes in results {
        w.set_single_line_arrays(true);
        w.start_array();
        for class in classes {
            w.start_array();
            w.string(&class.label);
            w.f32(class.score);
            w.end_array();
        }
        w.end_array();
        w.set_single_line_arrays(false);
    }
    w.end_array();
    w.end_object();
    Ok(out)
}

/// `{"results": [v, …]}`, one value per example.
pub fn regress_response(values: &[f32]) -> Result<Vec<u8>, Status> {
    if values.is_empty() {
        return Err(Status::invalid_argument(
            "Cannot convert empty RegressionResults to JSON",
        ));
    }
    let mut out = Vec::new();
    let mut w = PrettyWriter::new(&mut out);
    w.start_object();
    w.key(b"results");
    w.set_single_line_arrays(true);
    w.start_array();
    for &v in values {
        w.f32(v);
    }
    w.end_array();
    w.end_object();
    Ok(out)
}
