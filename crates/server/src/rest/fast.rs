//! [`RestService`]: the REST listener's service, which sends `/v1/` requests straight to the
//! dispatcher and everything else through axum's router.
//!
//! Every `/v1/` request ends in the router's fallback anyway (TF Serving's API is routed by
//! hand in [`super::route`]), so going through axum first only costs time on the predict path:
//! the route table lookup, boxing the request body and the handler's extractor futures. What
//! axum does to a fallback's response is reproduced here so that the bytes on the wire stay
//! the same: a `Content-Length` from the body's exact size when none is set (hyper's own, but
//! for `HEAD`), and an empty body for `HEAD`.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::body::HttpBody as _;
use axum::http::{HeaderValue, Method, Request, header};
use axum::response::Response;
use hyper::body::Incoming;

use crate::state::AppState;

/// The REST front end as one service (cheap to clone).
#[derive(Clone)]
pub struct RestService {
    inner: Arc<Inner>,
}

struct Inner {
    router: Router,
    state: AppState,
    /// `--monitoring_config_file`'s Prometheus path, a route of the router even if it were to
    /// start with `/v1/`.
    metrics_path: Option<String>,
}

/// Whether `path` is under TF Serving's API (`(?i)/v1/`), as the dispatcher decides it.
fn is_v1(path: &str) -> bool {
    path.len() >= 4 && path.as_bytes()[..4].eq_ignore_ascii_case(b"/v1/")
}

impl RestService {
    /// The service for `state`.
    pub fn new(state: AppState) -> RestService {
        let metrics_path = state.config().metrics_path.clone();
        RestService {
            inner: Arc::new(Inner {
                router: super::router(state.clone()),
                state,
                metrics_path,
            }),
        }
    }

    /// The server's state (for the plain HTTP/1 path, [`super::h1`]).
    pub(super) fn state(&self) -> &AppState {
        &self.inner.state
    }

    /// Answers one request.
    pub async fn call(self, request: Request<Incoming>) -> Response {
        let path = request.uri().path();
        let routed_by_axum = self.inner.metrics_path.as_deref() == Some(path);
        if !is_v1(path) || routed_by_axum {
            let mut router = self.inner.router.clone();
            return match tower::Service::call(&mut router, request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
        }
        let head = request.method() == Method::HEAD;
        let mut response = super::dispatch_request(&self.inner.state, request.map(Body::new)).await;
        // As axum's route future does for every top-level response. Only HEAD needs it done
        // here: for any other answer hyper writes the same `content-length` line itself from
        // the body's exact size, in the same place (after our headers, before `date`), without
        // building a header value.
        if head {
            if !response.headers().contains_key(header::CONTENT_LENGTH)
                && let Some(size) = response.body().size_hint().exact()
            {
                response
                    .headers_mut()
                    .insert(header::CONTENT_LENGTH, HeaderValue::from(size));
            }
            *response.body_mut() = Body::empty();
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::is_v1;

    #[test]
    fn v1_prefix_is_case_insensitive_and_needs_the_slash() {
        assert!(is_v1("/v1/models/m:predict"));
        assert!(is_v1("/V1/models"));
        assert!(is_v1("/v1/"));
        assert!(!is_v1("/v1"));
        assert!(!is_v1("/v2/health/live"));
        assert!(!is_v1("/"));
    }
}
