//! The REST front end on `--rest_api_port`: TF Serving's `/v1` API, plus health endpoints.
//!
//! Everything under `/v1/` goes through one dispatcher that reproduces TF Serving's routing
//! (including its error texts for malformed paths); anything else that is not one of our own
//! endpoints gets a plain 404, as libevent gives.

mod error;
mod infer;
mod metadata;
pub mod results;
pub mod route;
mod status;

use std::io::Read;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tensorserve_core::Status;
use tensorserve_engine::VersionChoice;

pub use error::{RestError, http_status};
pub use infer::serialize_examples;

use crate::state::AppState;
use route::{Route, VersionSpec};

/// The REST router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v2/health/live", get(live))
        .route("/v2/health/ready", get(ready))
        .fallback(dispatch)
        .with_state(state)
}

async fn live() -> impl IntoResponse {
    StatusCode::OK
}

async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    if state.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

fn not_found() -> Response {
    let body = "<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1><p>The requested URL was not found on this server.</p></body></html>";
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/html; charset=ISO-8859-1")],
        body,
    )
        .into_response()
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn add_cors(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, GET"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Content-Type"),
    );
}

async fn dispatch(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let is_v1 = path.len() >= 4 && path.as_bytes()[..4].eq_ignore_ascii_case(b"/v1/");
    if !is_v1 {
        return not_found();
    }
    let mut response = if method == Method::OPTIONS {
        preflight(&headers)
    } else {
        match handle_v1(&state, &method, path, &headers, body).await {
            Ok(body) => json_response(StatusCode::OK, body),
            Err(status) => RestError(status).into_response(),
        }
    };
    if state.config().cors {
        add_cors(&mut response);
    }
    response
}

/// CORS preflight, answered whether or not CORS is enabled, as TF Serving does.
fn preflight(headers: &HeaderMap) -> Response {
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .unwrap_or("");
    if origin.starts_with("http://") || origin.starts_with("https://") {
        StatusCode::OK.into_response()
    } else {
        StatusCode::BAD_REQUEST.into_response()
    }
}

fn version_choice(spec: VersionSpec) -> VersionChoice {
    match spec {
        VersionSpec::Latest => VersionChoice::Latest,
        VersionSpec::Version(v) => VersionChoice::Specific(v),
        VersionSpec::Label(l) => VersionChoice::Label(l),
    }
}

/// Decompresses a gzip body (bounded like any body), or passes it through.
fn request_body(headers: &HeaderMap, body: Bytes, limit: usize) -> Result<Bytes, Status> {
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
    if !gzip {
        return Ok(body);
    }
    let mut out = Vec::new();
    let mut decoder = flate2::read::GzDecoder::new(body.as_ref()).take(limit as u64 + 1);
    decoder.read_to_end(&mut out).map_err(|e| {
        Status::invalid_argument(format!("Failed to decompress gzip request body: {e}"))
    })?;
    if out.len() > limit {
        return Err(Status::resource_exhausted(format!(
            "Request body exceeds {limit} bytes after decompression"
        )));
    }
    Ok(Bytes::from(out))
}

async fn handle_v1(
    state: &AppState,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Vec<u8>, Status> {
    match route::route(method.as_str(), path)? {
        Route::Infer {
            model,
            version,
            api,
        } => {
            let handle = state.manager().lookup(&model, &version_choice(version))?;
            let body = request_body(headers, body, state.config().max_request_body_bytes)?;
            infer::infer(handle.model, api, body, state.config().method_name_check).await
        }
        Route::Status { model, version } => {
            let version = match version {
                VersionSpec::Version(v) => Some(v),
                // GetModelStatus ignores labels (reference §1.2).
                VersionSpec::Latest | VersionSpec::Label(_) => None,
            };
            Ok(status::status_json(
                &state.manager().status(&model, version)?,
            ))
        }
        Route::Metadata { model, version } => {
            let handle = state.manager().lookup(&model, &version_choice(version))?;
            Ok(metadata::metadata_json(
                &model,
                handle.version,
                handle.model.signatures(),
            ))
        }
    }
}
