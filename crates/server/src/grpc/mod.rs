//! The gRPC front end on `--port` / `--grpc_socket_path`: TF Serving's `PredictionService` and
//! `ModelService`, the standard `grpc.health.v1.Health` service and server reflection.
//!
//! Handlers share the REST path: models are resolved with the same manager lookup, inference
//! runs where [`crate::execution`] puts it (inline for fast models, else the blocking pool), and classify/regress results come from [`crate::rest::results`],
//! so a request gets the same answer whichever protocol carried it. Statuses go through
//! [`tensorserve_proto::status_to_tonic`] (TF Serving's code mapping and message truncation).

mod config;
pub mod deadline;
mod health;
mod model_service;
mod predict;
mod prediction;

use std::future::Future;
use std::time::{Duration, Instant};

use tensorserve_core::{Model, Status};
use tensorserve_engine::VersionChoice;
use tensorserve_proto::MAX_MESSAGE_BYTES;
use tensorserve_proto::grpc::health::v1::health_server::HealthServer;
use tensorserve_proto::tensorflow::serving::ModelSpec;
use tensorserve_proto::tensorflow::serving::model_service_server::ModelServiceServer;
use tensorserve_proto::tensorflow::serving::model_spec::VersionChoice as ProtoChoice;
use tensorserve_proto::tensorflow::serving::prediction_service_server::PredictionServiceServer;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_stream::Stream;
use tonic::transport::server::Connected;

pub use config::model_server_config_from_proto;
pub use health::HealthService;
pub use model_service::ModelServiceImpl;
pub use prediction::PredictionServiceImpl;

use crate::metrics::{self, Api, Protocol};
use crate::state::AppState;

/// The error every handler returns: a core status mapped as TF Serving maps it.
pub(crate) fn to_tonic(status: Status) -> tonic::Status {
    if matches!(
        status.code(),
        tensorserve_core::Code::Internal
            | tensorserve_core::Code::Unknown
            | tensorserve_core::Code::DataLoss
    ) {
        tracing::error!(code = status.code().name(), "{}", status.message());
    }
    tensorserve_proto::status_to_tonic(&status)
}

/// The model name and version choice of a request's `ModelSpec`
/// (`ServerCore::ServableRequestFromModelSpec`).
pub(crate) fn resolve_spec(spec: Option<&ModelSpec>) -> Result<(String, VersionChoice), Status> {
    let spec = spec.ok_or_else(|| Status::invalid_argument("Missing ModelSpec"))?;
    if spec.name.is_empty() {
        return Err(Status::invalid_argument("ModelSpec has no name specified."));
    }
    let choice = match &spec.version_choice {
        Some(ProtoChoice::Version(v)) => VersionChoice::Specific(*v),
        Some(ProtoChoice::VersionLabel(l)) => VersionChoice::Label(l.clone()),
        None => VersionChoice::Latest,
    };
    Ok((spec.name.clone(), choice))
}

/// The signature a request names, `serving_default` when empty.
pub(crate) fn signature_name(spec: Option<&ModelSpec>) -> String {
    match spec.map(|s| s.signature_name.as_str()) {
        Some(name) if !name.is_empty() => name.to_string(),
        _ => tensorserve_core::signature::DEFAULT_SIGNATURE.to_string(),
    }
}

/// The `model_spec` of a response: the request's name, the loaded version, the resolved
/// signature.
pub(crate) fn response_spec(name: &str, version: i64, signature: &str) -> ModelSpec {
    ModelSpec {
        name: name.to_string(),
        signature_name: signature.to_string(),
        version_choice: Some(ProtoChoice::Version(version)),
    }
}

/// Records a finished call (metrics and the debug log line) and maps its error for tonic.
pub(crate) fn finish<T>(
    api: Api,
    model: &str,
    started: Instant,
    result: Result<T, Status>,
) -> Result<tonic::Response<T>, tonic::Status> {
    let elapsed = started.elapsed();
    let code = match &result {
        Ok(_) => tensorserve_core::Code::Ok,
        Err(e) => e.code(),
    };
    metrics::known_or_unknown(model).record_request(Protocol::Grpc, api, code, elapsed);
    tracing::debug!(
        api = api.name(),
        model,
        status = code.name(),
        duration_us = elapsed.as_micros() as u64,
        "gRPC request"
    );
    result.map(tonic::Response::new).map_err(to_tonic)
}

/// Keeps the model alive in closures that run on the blocking pool.
pub(crate) type SharedModel = std::sync::Arc<dyn Model>;

/// Serves every gRPC service on `incoming` until `shutdown` resolves, then drains gracefully.
pub async fn serve<I, IO, IE>(
    incoming: I,
    state: AppState,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()>
where
    I: Stream<Item = Result<IO, IE>>,
    IO: AsyncRead + AsyncWrite + Connected + Unpin + Send + 'static,
    IE: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let prediction = PredictionServiceServer::new(PredictionServiceImpl::new(state.clone()))
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let models = ModelServiceServer::new(ModelServiceImpl::new(state.clone()))
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let health = HealthServer::new(HealthService::new(state.clone()))
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let reflection_v1 = tensorserve_proto::reflection::builder().build_v1()?;
    let reflection_v1alpha = tensorserve_proto::reflection::builder().build_v1alpha()?;
    tonic::transport::Server::builder()
        // Dead peers are found by HTTP/2 pings; idle live channels are normal in gRPC.
        .http2_keepalive_interval(Some(Duration::from_secs(60)))
        .http2_keepalive_timeout(Some(Duration::from_secs(20)))
        .layer(deadline::DeadlineLayer)
        .add_service(prediction)
        .add_service(models)
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?;
    Ok(())
}
