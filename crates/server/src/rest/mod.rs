//! The REST front end on `--rest_api_port`: TF Serving's `/v1` API, plus health endpoints and
//! the Open Inference Protocol's `/v2` API ([`crate::v2::rest`]).
//!
//! Everything under `/v1/` goes through one dispatcher that reproduces TF Serving's routing
//! (including its error texts for malformed paths); anything else that is not one of our own
//! endpoints gets a plain 404, as libevent gives.

mod body;
mod error;
mod fast;
mod h1;
mod idle;
mod infer;
mod metadata;
pub mod results;
pub mod route;
pub mod serve;
mod status;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tensorserve_core::{Code, Status};
use tensorserve_engine::{ModelState, VersionChoice};

pub(crate) use body::{V1Error, read as read_body};
pub use error::{RestError, http_status};
pub use fast::RestService;
pub use infer::serialize_examples;

use crate::metrics::{self, ModelMetrics, Protocol};
use crate::state::AppState;
use route::{Api, Route, VersionSpec};

/// The REST router.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new()
        .route("/v2/health/live", get(live))
        .route("/v2/health/ready", get(ready))
        .merge(crate::v2::rest::routes());
    if let Some(path) = state.config().metrics_path.as_deref() {
        router = router.route(path, get(prometheus));
    }
    router.fallback(dispatch).with_state(state)
}

/// Prometheus metrics (docs/metrics.md). As in TF Serving, a query string is an error.
async fn prometheus(State(state): State<AppState>, uri: Uri) -> Response {
    if uri.query().is_some() {
        return (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/plain")],
            format!("Unexpected path: {uri}"),
        )
            .into_response();
    }
    let manager = state.manager();
    let versions: Vec<(String, usize)> = manager
        .model_names()
        .into_iter()
        .map(|name| {
            let available = manager.status(&name, None).map_or(0, |versions| {
                versions
                    .iter()
                    .filter(|v| v.state == ModelState::Available)
                    .count()
            });
            (name, available)
        })
        .collect();
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics::render(&versions),
    )
        .into_response()
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

/// A JSON answer. Built by hand: axum's `(status, headers, body)` conversion parses the header
/// value and copies it on every call, which on the predict path cost more than the JSON.
pub(crate) fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = Response::new(axum::body::Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
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

/// What a `/v1` request turned out to be, for its metrics and its log line.
#[derive(Default)]
struct RequestInfo {
    model: String,
    api: Option<metrics::Api>,
    metrics: Option<Arc<ModelMetrics>>,
}

async fn dispatch(State(state): State<AppState>, request: Request) -> Response {
    dispatch_request(&state, request).await
}

/// Answers one request that did not match our own endpoints: TF Serving's `/v1` API, or 404.
async fn dispatch_request(state: &AppState, request: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let is_v1 = path.len() >= 4 && path.as_bytes()[..4].eq_ignore_ascii_case(b"/v1/");
    if !is_v1 {
        return not_found();
    }
    let mut response = if parts.method == Method::OPTIONS {
        tracing::debug!(method = %parts.method, path, "REST request");
        preflight(&parts.headers)
    } else {
        let source = BodySource::Stream(&parts.headers, body);
        match answer_v1(state, &parts.method, path, source, started).await {
            Ok(body) => json_response(StatusCode::OK, body),
            Err(e) => e.into_response(),
        }
    };
    if state.config().cors {
        add_cors(&mut response);
    }
    response
}

/// Where a `/v1` request's body comes from.
pub(crate) enum BodySource<'a> {
    /// Still to be read from hyper, within the limit, as its headers say (length, gzip).
    Stream(&'a HeaderMap, axum::body::Body),
    /// Already read whole by our own HTTP/1 path ([`h1`]), which takes only plain bodies
    /// (no `Content-Encoding`) within the limit.
    Ready(axum::body::Bytes),
}

/// Answers a `/v1` request other than a CORS preflight: its JSON answer or its error, within
/// `--rest_api_timeout_in_ms`, with its metrics recorded and its log line written.
pub(crate) async fn answer_v1(
    state: &AppState,
    method: &Method,
    path: &str,
    body: BodySource<'_>,
    started: Instant,
) -> Result<Vec<u8>, V1Error> {
    let mut info = RequestInfo::default();
    let result = within_timeout(state, handle_v1(state, method, path, body, &mut info)).await;
    let (code, status) = match &result {
        Ok(_) => (Code::Ok, StatusCode::OK),
        Err(e) => (e.code(), e.http_status()),
    };
    let elapsed = started.elapsed();
    if let (Some(block), Some(api)) = (&info.metrics, info.api) {
        block.record_request(Protocol::Rest, api, code, elapsed);
    }
    tracing::debug!(
        method = %method,
        path,
        model = info.model,
        status = status.as_u16(),
        duration_us = elapsed.as_micros() as u64,
        "REST request"
    );
    result
}

/// `work` under `--rest_api_timeout_in_ms`, when set. The deadline covers everything the work
/// does: queueing for a slot, reading the body, inference.
pub(crate) async fn within_timeout<T>(
    state: &AppState,
    work: impl std::future::Future<Output = Result<T, V1Error>>,
) -> Result<T, V1Error> {
    match state.config().rest_timeout {
        Some(limit) => tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
            Err(Status::deadline_exceeded(format!(
                "Request did not complete within {} ms (--rest_api_timeout_in_ms)",
                limit.as_millis()
            ))
            .into())
        }),
        None => work.await,
    }
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

async fn handle_v1(
    state: &AppState,
    method: &Method,
    path: &str,
    body: BodySource<'_>,
    info: &mut RequestInfo,
) -> Result<Vec<u8>, V1Error> {
    let limit = state.config().max_request_body_bytes;
    match route::route(method.as_str(), path)? {
        Route::Infer {
            model,
            version,
            api,
        } => {
            info.model = model;
            info.api = Some(match api {
                Api::Predict => metrics::Api::Predict,
                Api::Classify => metrics::Api::Classify,
                Api::Regress => metrics::Api::Regress,
            });
            let handle = match state
                .manager()
                .lookup(&info.model, &version_choice(version))
            {
                Ok(handle) => handle,
                Err(e) => {
                    info.metrics = Some(metrics::known_or_unknown(&info.model));
                    return Err(e.into());
                }
            };
            // Admission before the body is read: queued requests hold no body in memory.
            let gate = state.admission().gate(&info.model);
            info.metrics = Some(gate.metrics().clone());
            let permit = state.admission().admit_through(gate, &info.model).await?;
            let body = match body {
                BodySource::Stream(headers, body) => body::read(headers, body, limit).await?,
                BodySource::Ready(bytes) => bytes,
            };
            let check = state.config().method_name_check;
            let batching = state.batching();
            Ok(infer::infer(handle.model, api, body, check, permit, batching).await?)
        }
        Route::Status { model, version } => {
            info.model = model;
            info.api = Some(metrics::Api::Status);
            info.metrics = Some(metrics::known_or_unknown(&info.model));
            let version = match version {
                VersionSpec::Version(v) => Some(v),
                // GetModelStatus ignores labels (reference §1.2).
                VersionSpec::Latest | VersionSpec::Label(_) => None,
            };
            Ok(status::status_json(
                &state.manager().status(&info.model, version)?,
            ))
        }
        Route::Metadata { model, version } => {
            info.model = model;
            info.api = Some(metrics::Api::Metadata);
            info.metrics = Some(metrics::known_or_unknown(&info.model));
            let handle = state
                .manager()
                .lookup(&info.model, &version_choice(version))?;
            Ok(metadata::metadata_json(
                &info.model,
                handle.version,
                handle.model.signatures(),
            ))
        }
    }
}
