//! Reading a REST request body within `--max_request_body_bytes`: a declared `Content-Length`
//! over the limit is refused before anything is read, a streamed body is cut off as soon as it
//! passes the limit, and a gzip body is bounded after decompression too. All three answer 413
//! with TF Serving's JSON error body.

use std::io::Read;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tensorserve_core::{Code, Status};

use super::error::RestError;

/// Why a `/v1` request failed.
pub enum V1Error {
    /// A status, answered with TF Serving's mapping.
    Status(Status),
    /// The body is over the limit: 413.
    TooLarge(String),
}

impl From<Status> for V1Error {
    fn from(status: Status) -> Self {
        V1Error::Status(status)
    }
}

impl V1Error {
    /// The canonical code, for metrics (an oversized body is RESOURCE_EXHAUSTED, as gRPC says
    /// of an oversized message).
    pub fn code(&self) -> Code {
        match self {
            V1Error::Status(s) => s.code(),
            V1Error::TooLarge(_) => Code::ResourceExhausted,
        }
    }

    /// The HTTP status it is answered with (the one place that says so: the response and the
    /// REST log line both read it).
    pub fn http_status(&self) -> StatusCode {
        match self {
            V1Error::Status(s) => super::http_status(s.code()),
            V1Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }
}

impl IntoResponse for V1Error {
    fn into_response(self) -> Response {
        let status = self.http_status();
        match self {
            V1Error::Status(status) => RestError(status).into_response(),
            V1Error::TooLarge(message) => {
                super::json_response(status, tensorserve_core::json::error_body(&message))
            }
        }
    }
}

fn too_large(what: &str, limit: usize) -> V1Error {
    V1Error::TooLarge(format!(
        "Request body {what} the limit of {limit} bytes (--max_request_body_bytes)"
    ))
}

/// Reads the whole body (decompressing gzip), at most `limit` bytes.
pub async fn read(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, V1Error> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(length) = declared
        && length > limit as u64
    {
        return Err(too_large(&format!("of {length} bytes exceeds"), limit));
    }
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return Err(too_large("exceeds", limit));
        }
        Err(e) => {
            return Err(
                Status::invalid_argument(format!("Failed to read the request body: {e}")).into(),
            );
        }
    };
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
    if !gzip {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    let mut decoder = flate2::read::GzDecoder::new(bytes.as_ref()).take(limit as u64 + 1);
    decoder.read_to_end(&mut out).map_err(|e| {
        Status::invalid_argument(format!("Failed to decompress gzip request body: {e}"))
    })?;
    if out.len() > limit {
        return Err(too_large("exceeds after decompression", limit));
    }
    Ok(Bytes::from(out))
}
