//! The Open Inference Protocol over gRPC: `inference.GRPCInferenceService`, what Triton's and
//! KServe's gRPC clients (`tritonclient.grpc`, ...) call, on the gRPC port beside TF Serving's
//! services (docs/v2-grpc.md).
//!
//! This module only translates between the protobuf messages and [`super::infer`] /
//! [`super::metadata`]; tensor elements are converted in [`super::contents`].
//!
//! * Inputs come as typed `contents` or, for all inputs at once, as `raw_input_contents` (one
//!   buffer per input, in order); one request may not mix the two.
//! * Outputs are answered the way inputs came: raw buffers for a raw request (what Triton does,
//!   and what its clients read best), typed `contents` otherwise, except that any FP16 output
//!   (which has no typed field) makes the whole answer raw, because `raw_output_contents` is
//!   positional and must then cover every output.
//! * The request parameter `signature_name` (a `string_param`) picks the SavedModel signature;
//!   other parameters are ignored, as Triton ignores those it does not know.
//! * ModelReady answers `ready: false` for an unknown model or version, as Triton does (only a
//!   malformed version string is an error); ModelMetadata and ModelInfer answer NOT_FOUND.
//!
//! Errors are core statuses mapped as the TF Serving handlers map them
//! (`crate::grpc::finish`); ModelInfer is counted and timed as a predict request of the model
//! (gRPC), ModelMetadata as a metadata request.

use std::time::Instant;

use prost::Message;
use tensorserve_core::{DType, Status};
use tensorserve_proto::inference::grpc_inference_service_server::GrpcInferenceService;
use tensorserve_proto::inference::infer_parameter::ParameterChoice;
use tensorserve_proto::inference::model_infer_response::InferOutputTensor;
use tensorserve_proto::inference::model_metadata_response::TensorMetadata as ProtoTensorMetadata;
use tensorserve_proto::inference::{
    InferParameter, ModelInferRequest, ModelInferResponse, ModelMetadataRequest,
    ModelMetadataResponse, ModelReadyRequest, ModelReadyResponse, ServerLiveRequest,
    ServerLiveResponse, ServerMetadataRequest, ServerMetadataResponse, ServerReadyRequest,
    ServerReadyResponse,
};
use tonic::{Request, Response};

use super::contents::{self, from_contents, from_raw, has_elements, layout};
use super::datatype;
use super::infer::{self, InferRequest, InferResponse};
use super::metadata::{self, EXTENSIONS, SERVER_NAME, TensorMetadata};
use crate::grpc::{finish, to_tonic};
use crate::metrics::Api;
use crate::state::AppState;

/// The request parameter that names the signature to run.
const SIGNATURE_PARAMETER: &str = "signature_name";

/// The `inference.GRPCInferenceService` implementation.
pub struct GrpcInferenceServiceImpl {
    state: AppState,
}

impl GrpcInferenceServiceImpl {
    /// A service over the shared server state.
    pub fn new(state: AppState) -> GrpcInferenceServiceImpl {
        GrpcInferenceServiceImpl { state }
    }

    async fn infer(&self, request: ModelInferRequest) -> Result<ModelInferResponse, Status> {
        let (request, raw) = decode_infer(request)?;
        let response = infer::infer(&self.state, request).await?;
        encode_infer(response, raw)
    }
}

/// The core request of `request`, and whether its inputs came raw.
pub fn decode_infer(request: ModelInferRequest) -> Result<(InferRequest, bool), Status> {
    // What decides where the model runs, as a predict request's encoded size does.
    let input_bytes = request.encoded_len();
    if request.model_name.is_empty() {
        return Err(Status::invalid_argument(
            "ModelInferRequest has no model_name",
        ));
    }
    let signature = match request.parameters.get(SIGNATURE_PARAMETER) {
        None => None,
        Some(InferParameter {
            parameter_choice: Some(ParameterChoice::StringParam(name)),
        }) => Some(name.clone()),
        Some(_) => {
            return Err(Status::invalid_argument(format!(
                "parameter '{SIGNATURE_PARAMETER}' must be a string_param"
            )));
        }
    };
    let raw = !request.raw_input_contents.is_empty();
    if raw && request.raw_input_contents.len() != request.inputs.len() {
        return Err(Status::invalid_argument(format!(
            "raw_input_contents has {} buffers for {} inputs; it needs one per input, in order",
            request.raw_input_contents.len(),
            request.inputs.len()
        )));
    }
    let mut buffers = request.raw_input_contents.into_iter();
    let inputs = request
        .inputs
        .into_iter()
        .map(|input| {
            let layout = layout(&input.name, &input.datatype, &input.shape)?;
            let tensor = match buffers.next() {
                Some(buffer) => {
                    if has_elements(input.contents.as_ref()) {
                        return Err(Status::invalid_argument(format!(
                            "input '{}': contents must be empty when raw_input_contents is used",
                            input.name
                        )));
                    }
                    from_raw(&input.name, layout, &buffer)?
                }
                None => from_contents(&input.name, layout, input.contents)?,
            };
            Ok((input.name, tensor))
        })
        .collect::<Result<Vec<_>, Status>>()?;
    let outputs = request.outputs.into_iter().map(|o| o.name).collect();
    Ok((
        InferRequest {
            model_name: request.model_name,
            model_version: request.model_version,
            id: request.id,
            signature,
            inputs,
            outputs,
            input_bytes,
        },
        raw,
    ))
}

/// The message of `response`: outputs raw when `raw` (or when one is FP16), else typed.
pub fn encode_infer(response: InferResponse, raw: bool) -> Result<ModelInferResponse, Status> {
    let raw = raw
        || response
            .outputs
            .iter()
            .any(|(_, t)| t.dtype() == DType::F16);
    let mut outputs = Vec::with_capacity(response.outputs.len());
    let mut raw_output_contents = Vec::new();
    for (name, tensor) in response.outputs {
        let datatype = datatype::name(tensor.dtype()).to_string();
        let shape = contents::shape_to_proto(tensor.shape());
        let (_, data) = tensor.into_parts();
        let contents = if raw {
            raw_output_contents.push(contents::to_raw(&data)?);
            None
        } else {
            Some(contents::to_contents(data).ok_or_else(|| {
                Status::internal(format!("output '{name}' has no typed contents field"))
            })?)
        };
        outputs.push(InferOutputTensor {
            name,
            datatype,
            shape,
            parameters: Default::default(),
            contents,
        });
    }
    Ok(ModelInferResponse {
        model_name: response.model_name,
        model_version: response.model_version,
        id: response.id,
        parameters: Default::default(),
        outputs,
        raw_output_contents,
    })
}

fn tensor_metadata(tensors: Vec<TensorMetadata>) -> Vec<ProtoTensorMetadata> {
    tensors
        .into_iter()
        .map(|t| ProtoTensorMetadata {
            name: t.name,
            datatype: t.datatype.to_string(),
            shape: t.shape,
        })
        .collect()
}

#[tonic::async_trait]
impl GrpcInferenceService for GrpcInferenceServiceImpl {
    async fn server_live(
        &self,
        _request: Request<ServerLiveRequest>,
    ) -> Result<Response<ServerLiveResponse>, tonic::Status> {
        // Answering at all is being live.
        Ok(Response::new(ServerLiveResponse { live: true }))
    }

    async fn server_ready(
        &self,
        _request: Request<ServerReadyRequest>,
    ) -> Result<Response<ServerReadyResponse>, tonic::Status> {
        Ok(Response::new(ServerReadyResponse {
            ready: self.state.is_ready(),
        }))
    }

    async fn model_ready(
        &self,
        request: Request<ModelReadyRequest>,
    ) -> Result<Response<ModelReadyResponse>, tonic::Status> {
        let request = request.get_ref();
        // A version that is not a number is a malformed request; a model or version that is
        // not loaded is just not ready (Triton's answer too).
        infer::version_choice(&request.version).map_err(to_tonic)?;
        let ready = metadata::model_ready(&self.state, &request.name, &request.version).is_ok();
        Ok(Response::new(ModelReadyResponse { ready }))
    }

    async fn server_metadata(
        &self,
        _request: Request<ServerMetadataRequest>,
    ) -> Result<Response<ServerMetadataResponse>, tonic::Status> {
        Ok(Response::new(ServerMetadataResponse {
            name: SERVER_NAME.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            extensions: EXTENSIONS.iter().map(|e| e.to_string()).collect(),
        }))
    }

    async fn model_metadata(
        &self,
        request: Request<ModelMetadataRequest>,
    ) -> Result<Response<ModelMetadataResponse>, tonic::Status> {
        let started = Instant::now();
        let request = request.get_ref();
        let result =
            metadata::model_metadata(&self.state, &request.name, &request.version).map(|m| {
                ModelMetadataResponse {
                    name: m.name,
                    versions: m.versions,
                    platform: m.platform.to_string(),
                    inputs: tensor_metadata(m.inputs),
                    outputs: tensor_metadata(m.outputs),
                }
            });
        finish(Api::Metadata, &request.name, started, result)
    }

    async fn model_infer(
        &self,
        request: Request<ModelInferRequest>,
    ) -> Result<Response<ModelInferResponse>, tonic::Status> {
        let started = Instant::now();
        let request = request.into_inner();
        let name = request.model_name.clone();
        let result = self.infer(request).await;
        finish(Api::Predict, &name, started, result)
    }
}

#[cfg(test)]
mod tests {
    use tensorserve_core::{Code, Tensor, TensorData};
    use tensorserve_proto::inference::InferTensorContents;
    use tensorserve_proto::inference::model_infer_request::InferInputTensor;

    use super::*;

    fn response(outputs: Vec<(&str, TensorData)>) -> InferResponse {
        InferResponse {
            model_name: "m".into(),
            model_version: "1".into(),
            id: "i".into(),
            outputs: outputs
                .into_iter()
                .map(|(n, d)| {
                    let len = d.len();
                    (n.to_string(), Tensor::new(vec![len], d).unwrap())
                })
                .collect(),
        }
    }

    #[test]
    fn typed_answers_unless_raw_asked_or_an_output_is_fp16() {
        let typed = encode_infer(response(vec![("a", TensorData::I8(vec![-1]))]), false).unwrap();
        assert!(typed.raw_output_contents.is_empty());
        assert_eq!(
            typed.outputs[0].contents.as_ref().unwrap().int_contents,
            [-1]
        );
        assert_eq!((typed.model_name.as_str(), typed.id.as_str()), ("m", "i"));

        let raw = encode_infer(response(vec![("a", TensorData::I8(vec![-1]))]), true).unwrap();
        assert_eq!(raw.raw_output_contents, [vec![0xff]]);
        assert_eq!(raw.outputs[0].contents, None);

        // FP16 has no typed field, and raw buffers are positional: all outputs go raw.
        let mixed = response(vec![
            ("a", TensorData::F16(vec![0x3c00])),
            ("b", TensorData::Bool(vec![true])),
        ]);
        let mixed = encode_infer(mixed, false).unwrap();
        assert_eq!(mixed.raw_output_contents, [vec![0x00, 0x3c], vec![1]]);
        assert!(mixed.outputs.iter().all(|o| o.contents.is_none()));
        assert_eq!(mixed.outputs[0].datatype, "FP16");
        assert_eq!(mixed.outputs[1].shape, [1]);
    }

    #[test]
    fn decode_reads_inputs_outputs_and_the_signature() {
        let request = ModelInferRequest {
            model_name: "m".into(),
            model_version: "2".into(),
            id: "i".into(),
            parameters: [
                (
                    "signature_name".to_string(),
                    InferParameter {
                        parameter_choice: Some(ParameterChoice::StringParam("s".into())),
                    },
                ),
                (
                    "other".to_string(),
                    InferParameter {
                        parameter_choice: Some(ParameterChoice::BoolParam(true)),
                    },
                ),
            ]
            .into(),
            inputs: vec![
                InferInputTensor {
                    name: "a".into(),
                    datatype: "FP16".into(),
                    shape: vec![1],
                    ..Default::default()
                },
                InferInputTensor {
                    name: "b".into(),
                    datatype: "BYTES".into(),
                    shape: vec![1],
                    // An empty contents message beside raw buffers is harmless.
                    contents: Some(InferTensorContents::default()),
                    ..Default::default()
                },
            ],
            outputs: vec![Default::default()],
            raw_input_contents: vec![vec![0, 0x3c], vec![1, 0, 0, 0, b'z']],
        };
        let size = request.encoded_len();
        let (decoded, raw) = decode_infer(request).unwrap();
        assert!(raw);
        assert_eq!(decoded.signature.as_deref(), Some("s"));
        assert_eq!(decoded.input_bytes, size);
        assert_eq!(decoded.outputs, [String::new()]);
        assert_eq!(decoded.inputs[0].1.data(), &TensorData::F16(vec![0x3c00]));
        assert_eq!(
            decoded.inputs[1].1.data(),
            &TensorData::String(vec![b"z".to_vec()])
        );
        assert_eq!(
            (decoded.model_version.as_str(), decoded.id.as_str()),
            ("2", "i")
        );

        let err = decode_infer(ModelInferRequest::default()).unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
    }
}
