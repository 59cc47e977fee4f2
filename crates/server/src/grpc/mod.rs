//! The gRPC front end on `--port` / `--grpc_socket_path`: TF Serving's `PredictionService` and
//! `ModelService`, the Open Inference Protocol's `inference.GRPCInferenceService`
//! ([`crate::v2::grpc`]), the standard `grpc.health.v1.Health` service and server reflection.
//!
//! Handlers share the REST path: models are resolved with the same manager lookup, inference
//! runs where [`crate::execution`] puts it (inline for fast models, else the blocking pool), and classify/regress results come from [`crate::rest::results`],
//! so a request gets the same answer whichever protocol carried it. Statuses go through
//! [`tensorserve_proto::status_to_tonic`] (TF Serving's code mapping and message truncation).

pub mod channel_args;
mod config;
pub mod connection;
pub mod deadline;
pub mod fast_predict;
mod health;
mod model_service;
mod predict;
mod prediction;
pub mod serve;
mod stream;

pub(crate) use prediction::run_logged as run_logged_request;

use std::future::Future;
use std::time::Instant;

use tensorserve_core::{Model, Status};
use tensorserve_engine::VersionChoice;
use tensorserve_proto::MAX_MESSAGE_BYTES;
use tensorserve_proto::grpc::health::v1::health_server::HealthServer;
use tensorserve_proto::inference::grpc_inference_service_server::GrpcInferenceServiceServer;
use tensorserve_proto::tensor::TensorEncoding;
use tensorserve_proto::tensorflow::serving::ModelSpec;
use tensorserve_proto::tensorflow::serving::model_service_server::ModelServiceServer;
use tensorserve_proto::tensorflow::serving::model_spec::VersionChoice as ProtoChoice;
use tensorserve_proto::tensorflow::serving::prediction_service_server::PredictionServiceServer;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_stream::Stream;

pub use config::model_server_config_from_proto;
pub use health::HealthService;
pub use model_service::ModelServiceImpl;
pub use prediction::PredictionServiceImpl;

use crate::metrics::{self, Api, Protocol};
use crate::state::AppState;
use crate::v2::grpc::GrpcInferenceServiceImpl;

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
    let spec = check_spec(spec)?;
    Ok((spec.name.clone(), version_choice(spec)))
}

/// The version a `ModelSpec` asks for.
pub(crate) fn version_choice(spec: &ModelSpec) -> VersionChoice {
    match &spec.version_choice {
        Some(ProtoChoice::Version(v)) => VersionChoice::Specific(*v),
        Some(ProtoChoice::VersionLabel(l)) => VersionChoice::Label(l.clone()),
        None => VersionChoice::Latest,
    }
}

/// [`resolve_spec`] taking the spec's strings instead of copying them: the name, the version
/// choice and the signature as sent (empty when none was named).
pub(crate) fn resolve_spec_owned(
    spec: Option<ModelSpec>,
) -> Result<(String, VersionChoice, String), Status> {
    check_spec(spec.as_ref())?;
    let ModelSpec {
        name,
        version_choice,
        signature_name,
    } = spec.unwrap_or_default();
    let choice = match version_choice {
        Some(ProtoChoice::Version(v)) => VersionChoice::Specific(v),
        Some(ProtoChoice::VersionLabel(l)) => VersionChoice::Label(l),
        None => VersionChoice::Latest,
    };
    Ok((name, choice, signature_name))
}

/// A `ModelSpec` is required and must name a model.
pub(crate) fn check_spec(spec: Option<&ModelSpec>) -> Result<&ModelSpec, Status> {
    let spec = spec.ok_or_else(|| Status::invalid_argument("Missing ModelSpec"))?;
    if spec.name.is_empty() {
        return Err(Status::invalid_argument("ModelSpec has no name specified."));
    }
    Ok(spec)
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
    record(api, model, started, result).map(tonic::Response::new)
}

/// Records a finished call (metrics and the debug log line) and maps its error to a gRPC
/// status: what [`finish`] does, for the paths that build their own responses.
pub(crate) fn record<T>(
    api: Api,
    model: &str,
    started: Instant,
    result: Result<T, Status>,
) -> Result<T, tonic::Status> {
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
    result.map_err(to_tonic)
}

/// The model a request names, for metrics and logs.
pub(crate) fn spec_name(spec: Option<&ModelSpec>) -> String {
    spec.map(|s| s.name.clone()).unwrap_or_default()
}

/// How output tensors are written: `tensor_content` when
/// `--enable_serialization_as_tensor_content` asks for it, else the typed fields.
pub(crate) fn tensor_encoding(state: &AppState) -> TensorEncoding {
    if state.config().tensor_content_outputs {
        TensorEncoding::TensorContent
    } else {
        TensorEncoding::TypedFields
    }
}

/// Keeps the model alive in closures that run on the blocking pool.
pub(crate) type SharedModel = std::sync::Arc<dyn Model>;

/// Serves every gRPC service on `incoming` until `shutdown` resolves, then drains gracefully
/// ([`serve::serve`]: Predict through [`fast_predict`], the rest through tonic's services).
pub async fn serve<I, IO, IE>(
    incoming: I,
    state: AppState,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()>
where
    I: Stream<Item = Result<IO, IE>>,
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    IE: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let settings = state.config().grpc_settings.clone();
    serve::serve(incoming, dispatch(state)?, settings, shutdown).await;
    Ok(())
}

/// Where every gRPC stream goes: Predict to the fast path, the rest to tonic's generated
/// services.
pub fn dispatch(state: AppState) -> anyhow::Result<serve::Dispatch> {
    let prediction = PredictionServiceServer::new(PredictionServiceImpl::new(state.clone()))
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let models = ModelServiceServer::new(ModelServiceImpl::new(state.clone()))
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let inference = GrpcInferenceServiceServer::new(GrpcInferenceServiceImpl::new(state.clone()))
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let health = HealthServer::new(HealthService::new(state.clone()))
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let reflection_v1 = tensorserve_proto::reflection::builder().build_v1()?;
    let reflection_v1alpha = tensorserve_proto::reflection::builder().build_v1alpha()?;
    let routes = tonic::service::Routes::new(prediction)
        .add_service(models)
        .add_service(inference)
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .prepare();
    Ok(serve::Dispatch::new(state, routes))
}
