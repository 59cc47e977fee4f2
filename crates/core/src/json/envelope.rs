//! The request envelope shared by predict, classify and regress: the body must parse and be an
//! object, and an optional `signature_name` must be a string. Errors that concern the whole
//! body quote the whole body (TF Serving's `FormatError(doc, …)`), truncated like every quote.

use super::error::empty_body_status;
use super::value::{Document, Value};
use super::writer::debug_text;
use crate::Status;

/// Parses `body`, requiring a top-level object (`JSON Value: … Is not object`).
pub(crate) fn parse_object(body: &[u8]) -> Result<Document<'_>, Status> {
    if body.is_empty() {
        return Err(empty_body_status());
    }
    let doc = Document::parse(body)?;
    if !doc.root().is_object() {
        return Err(format_error(doc.root(), "Is not object"));
    }
    Ok(doc)
}

/// The `signature_name` as sent, `""` when absent.
pub(crate) fn read_signature(root: Value<'_>) -> Result<String, Status> {
    match root.get("signature_name") {
        None => Ok(String::new()),
        Some(v) => match v.as_bytes() {
            Some(name) => Ok(String::from_utf8_lossy(name).into_owned()),
            None => Err(Status::invalid_argument(format!(
                "JSON Value: {} not formatted correctly. 'signature_name' key must be a string value.",
                debug_text(root)
            ))),
        },
    }
}

/// `JSON Value: <value> <message>`.
pub(crate) fn format_error(value: Value<'_>, message: &str) -> Status {
    Status::invalid_argument(format!("JSON Value: {} {message}", debug_text(value)))
}
