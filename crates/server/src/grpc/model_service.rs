//! `tensorflow.serving.ModelService`: GetModelStatus (the same answer as REST's status
//! endpoint) and HandleReloadConfigRequest (the engine's config reload).

use tensorserve_core::Status;
use tensorserve_proto::status::status_to_proto;
use tensorserve_proto::tensorflow::serving::model_service_server::ModelService;
use tensorserve_proto::tensorflow::serving::model_spec::VersionChoice as ProtoChoice;
use tensorserve_proto::tensorflow::serving::{
    GetModelStatusRequest, GetModelStatusResponse, ModelVersionStatus, ReloadConfigRequest,
    ReloadConfigResponse,
};
use tonic::{Request, Response};

use super::config::model_server_config_from_proto;
use super::to_tonic;
use crate::state::AppState;

/// The ModelService implementation.
pub struct ModelServiceImpl {
    state: AppState,
}

impl ModelServiceImpl {
    /// A service over the shared server state.
    pub fn new(state: AppState) -> ModelServiceImpl {
        ModelServiceImpl { state }
    }

    fn status(&self, request: &GetModelStatusRequest) -> Result<GetModelStatusResponse, Status> {
        let spec = request
            .model_spec
            .as_ref()
            .ok_or_else(|| Status::invalid_argument("Missing ModelSpec"))?;
        // A version label is ignored, as in TF Serving.
        let version = match spec.version_choice {
            Some(ProtoChoice::Version(v)) => Some(v),
            _ => None,
        };
        let versions = self.state.manager().status(&spec.name, version)?;
        Ok(GetModelStatusResponse {
            model_version_status: versions
                .iter()
                .map(|v| ModelVersionStatus {
                    version: v.version,
                    state: v.state as i32,
                    status: Some(match &v.status {
                        Ok(()) => status_to_proto(&Status::new(tensorserve_core::Code::Ok, "")),
                        Err(e) => status_to_proto(e),
                    }),
                })
                .collect(),
        })
    }
}

#[tonic::async_trait]
impl ModelService for ModelServiceImpl {
    async fn get_model_status(
        &self,
        request: Request<GetModelStatusRequest>,
    ) -> Result<Response<GetModelStatusResponse>, tonic::Status> {
        self.status(request.get_ref())
            .map(Response::new)
            .map_err(to_tonic)
    }

    async fn handle_reload_config_request(
        &self,
        request: Request<ReloadConfigRequest>,
    ) -> Result<Response<ReloadConfigResponse>, tonic::Status> {
        let request = request.into_inner();
        let config = model_server_config_from_proto(request.config.as_ref()).map_err(to_tonic)?;
        tracing::info!(
            models = config.models.len(),
            "reloading the model config (HandleReloadConfigRequest)"
        );
        self.state
            .manager()
            .reload_config(config)
            .await
            .map_err(to_tonic)?;
        Ok(Response::new(ReloadConfigResponse {
            status: Some(status_to_proto(&Status::new(
                tensorserve_core::Code::Ok,
                "",
            ))),
            metric: Vec::new(),
        }))
    }
}
