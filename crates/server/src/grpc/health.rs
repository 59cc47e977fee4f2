//! The standard `grpc.health.v1.Health` service, reporting the readiness REST reports on
//! `/v2/health/ready`: SERVING while every configured model has an available version and no
//! drain has started, NOT_SERVING otherwise.
//!
//! Known service names: `""` (the whole server), the two TF Serving services (fully qualified
//! and, as TF Serving registers them, short), and each configured model name.

use std::pin::Pin;
use std::time::Duration;

use tensorserve_proto::grpc::health::v1::health_check_response::ServingStatus;
use tensorserve_proto::grpc::health::v1::health_server::Health;
use tensorserve_proto::grpc::health::v1::{
    HealthCheckRequest, HealthCheckResponse, HealthListRequest, HealthListResponse,
};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response};

use crate::state::AppState;

/// Service names that are always known, besides the model names.
const SERVICES: [&str; 6] = [
    "",
    "tensorflow.serving.PredictionService",
    "tensorflow.serving.ModelService",
    "PredictionService",
    "ModelService",
    "inference.GRPCInferenceService",
];

/// How often Watch re-reads the status.
const WATCH_INTERVAL: Duration = Duration::from_millis(500);

/// The Health implementation.
pub struct HealthService {
    state: AppState,
}

impl HealthService {
    /// A service over the shared server state.
    pub fn new(state: AppState) -> HealthService {
        HealthService { state }
    }
}

/// The status of `service`, or `None` when it is not known.
fn status_of(state: &AppState, service: &str) -> Option<ServingStatus> {
    let known =
        SERVICES.contains(&service) || state.manager().model_names().iter().any(|n| n == service);
    known.then(|| {
        if state.is_ready() {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        }
    })
}

fn response(status: ServingStatus) -> HealthCheckResponse {
    HealthCheckResponse {
        status: status as i32,
    }
}

#[tonic::async_trait]
impl Health for HealthService {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, tonic::Status> {
        let service = &request.get_ref().service;
        match status_of(&self.state, service) {
            Some(s) => Ok(Response::new(response(s))),
            None => Err(tonic::Status::not_found("unknown service")),
        }
    }

    async fn list(
        &self,
        _request: Request<HealthListRequest>,
    ) -> Result<Response<HealthListResponse>, tonic::Status> {
        let mut names: Vec<String> = SERVICES.iter().map(|s| s.to_string()).collect();
        names.extend(self.state.manager().model_names());
        let statuses = names
            .into_iter()
            .filter_map(|n| status_of(&self.state, &n).map(|s| (n, response(s))))
            .collect();
        Ok(Response::new(HealthListResponse { statuses }))
    }

    type WatchStream =
        Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, tonic::Status>> + Send + 'static>>;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, tonic::Status> {
        let service = request.into_inner().service;
        let state = self.state.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            let mut last = None;
            loop {
                let now = status_of(&state, &service).unwrap_or(ServingStatus::ServiceUnknown);
                if last != Some(now) {
                    if tx.send(Ok(response(now))).await.is_err() {
                        return;
                    }
                    last = Some(now);
                }
                tokio::select! {
                    _ = tx.closed() => return,
                    _ = tokio::time::sleep(WATCH_INTERVAL) => {}
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}
