//! The Open Inference Protocol over REST, on the REST port beside TF Serving's `/v1`:
//!
//! ```text
//! GET  /v2                                              server metadata
//! GET  /v2/health/live, /v2/health/ready                (crate::rest)
//! GET  /v2/models/NAME[/versions/V]                     model metadata
//! GET  /v2/models/NAME[/versions/V]/ready               200, or the lookup's error
//! POST /v2/models/NAME[/versions/V]/infer               inference
//! ```
//!
//! Errors are `{"error": "<message>"}` with the HTTP status of TF Serving's code table
//! ([`crate::rest::http_status`]), the same body the `/v1` API answers with. Inference
//! requests are counted and timed as predict requests of the model (REST), and bound by
//! `--rest_api_timeout_in_ms` and `--max_request_body_bytes` as `/v1` ones are. Binary tensor
//! data (Triton's extension, [`json`]) comes and goes with the `Inference-Header-Content-Length`
//! header.

use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tensorserve_core::{Code, Status};

use super::{infer, json, metadata};
use crate::metrics::{self, Protocol};
use crate::rest::{V1Error, json_response, read_body, within_timeout};
use crate::state::AppState;

/// The `/v2` routes other than health.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v2", get(server_metadata))
        .route("/v2/models/{name}", get(model_metadata_latest))
        .route(
            "/v2/models/{name}/versions/{version}",
            get(model_metadata_version),
        )
        .route("/v2/models/{name}/ready", get(model_ready_latest))
        .route(
            "/v2/models/{name}/versions/{version}/ready",
            get(model_ready_version),
        )
        .route("/v2/models/{name}/infer", post(infer_latest))
        .route(
            "/v2/models/{name}/versions/{version}/infer",
            post(infer_version),
        )
}

async fn server_metadata() -> Response {
    json_response(StatusCode::OK, json::encode_server_metadata())
}

async fn model_metadata_latest(state: State<AppState>, Path(name): Path<String>) -> Response {
    model_metadata(state, name, String::new())
}

async fn model_metadata_version(
    state: State<AppState>,
    Path((name, version)): Path<(String, String)>,
) -> Response {
    model_metadata(state, name, version)
}

fn model_metadata(State(state): State<AppState>, name: String, version: String) -> Response {
    match metadata::model_metadata(&state, &name, &version) {
        Ok(m) => json_response(StatusCode::OK, json::encode_model_metadata(&m)),
        Err(e) => V1Error::from(e).into_response(),
    }
}

async fn model_ready_latest(state: State<AppState>, Path(name): Path<String>) -> Response {
    model_ready(state, name, String::new())
}

async fn model_ready_version(
    state: State<AppState>,
    Path((name, version)): Path<(String, String)>,
) -> Response {
    model_ready(state, name, version)
}

fn model_ready(State(state): State<AppState>, name: String, version: String) -> Response {
    match metadata::model_ready(&state, &name, &version) {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => V1Error::from(e).into_response(),
    }
}

async fn infer_latest(
    state: State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    infer(state, name, String::new(), headers, body).await
}

async fn infer_version(
    state: State<AppState>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    infer(state, name, version, headers, body).await
}

/// Reads, decodes, runs and encodes one inference request within the REST timeout, and records
/// it in the model's metrics.
async fn infer(
    State(state): State<AppState>,
    name: String,
    version: String,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let work = async {
        let limit = state.config().max_request_body_bytes;
        let json_length = json_length(&headers)?;
        let body = read_body(&headers, body, limit).await?;
        let (request, binary) = json::decode_infer(&body, json_length, name.clone(), version)?;
        let response = infer::infer(&state, request).await?;
        Ok::<_, V1Error>(json::encode_infer(&response, &binary)?)
    };
    let result = within_timeout(&state, work).await;
    let code = result.as_ref().map_or_else(V1Error::code, |_| Code::Ok);
    metrics::known_or_unknown(&name).record_request(
        Protocol::Rest,
        metrics::Api::Predict,
        code,
        started.elapsed(),
    );
    match result {
        Ok((body, None)) => json_response(StatusCode::OK, body),
        Ok((body, Some(json_length))) => {
            let mut response = Response::new(Body::from(body));
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            headers.insert(json::HEADER_LENGTH, HeaderValue::from(json_length));
            response
        }
        Err(e) => e.into_response(),
    }
}

/// The request's `Inference-Header-Content-Length`, if any.
fn json_length(headers: &HeaderMap) -> Result<Option<usize>, Status> {
    let Some(value) = headers.get(json::HEADER_LENGTH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .map(Some)
        .ok_or_else(|| {
            Status::invalid_argument("Inference-Header-Content-Length must be a byte count")
        })
}
