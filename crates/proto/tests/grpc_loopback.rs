//! The generated services and clients talk to each other over 127.0.0.1: method paths, message
//! types, status mapping and metadata packing, end to end through tonic.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use prost::Message;
use tensorserve_core::signature::PREDICT_METHOD;
use tensorserve_core::{DType, SignatureDef, Status, Tensor, TensorData, TensorInfo};
use tensorserve_proto::tensor::{TensorEncoding, tensor_from_proto_owned, tensor_into_proto};
use tensorserve_proto::tensorflow::serving::prediction_service_client::PredictionServiceClient;
use tensorserve_proto::tensorflow::serving::prediction_service_server::{
    PredictionService, PredictionServiceServer,
};
use tensorserve_proto::tensorflow::serving::*;
use tensorserve_proto::{MAX_MESSAGE_BYTES, signature, status_to_tonic};
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response};

/// Predict doubles every float input; GetModelMetadata returns one signature.
struct Doubler;

type Reply<T> = Result<Response<T>, tonic::Status>;

fn unimplemented<T>() -> Reply<T> {
    Err(status_to_tonic(&Status::unimplemented("not in this test")))
}

#[tonic::async_trait]
impl PredictionService for Doubler {
    async fn classify(&self, _: Request<ClassificationRequest>) -> Reply<ClassificationResponse> {
        unimplemented()
    }
    async fn regress(&self, _: Request<RegressionRequest>) -> Reply<RegressionResponse> {
        unimplemented()
    }
    async fn multi_inference(
        &self,
        _: Request<MultiInferenceRequest>,
    ) -> Reply<MultiInferenceResponse> {
        unimplemented()
    }

    async fn predict(&self, request: Request<PredictRequest>) -> Reply<PredictResponse> {
        let request = request.into_inner();
        let mut outputs = BTreeMap::new();
        for (alias, proto) in request.inputs {
            let tensor = tensor_from_proto_owned(proto)
                .map_err(|e| status_to_tonic(&e.context(format!("input {alias}: "))))?;
            let (shape, data) = tensor.into_parts();
            let TensorData::F32(v) = data else {
                return Err(status_to_tonic(&Status::invalid_argument("floats only")));
            };
            let doubled = Tensor::new(shape, TensorData::F32(v.iter().map(|x| x * 2.0).collect()))
                .map_err(|e| status_to_tonic(&e))?;
            outputs.insert(
                alias,
                tensor_into_proto(doubled, TensorEncoding::TensorContent),
            );
        }
        Ok(Response::new(PredictResponse {
            model_spec: request.model_spec,
            outputs,
        }))
    }

    async fn get_model_metadata(
        &self,
        request: Request<GetModelMetadataRequest>,
    ) -> Reply<GetModelMetadataResponse> {
        let x = TensorInfo {
            name: "x:0".into(),
            dtype: DType::F32,
            shape: None,
        };
        let sig = SignatureDef {
            method_name: PREDICT_METHOD.into(),
            inputs: [("x".to_string(), x.clone())].into(),
            outputs: [("y".to_string(), x)].into(),
        };
        let sigs = [("serving_default".to_string(), sig)].into();
        Ok(Response::new(GetModelMetadataResponse {
            model_spec: request.into_inner().model_spec,
            metadata: [(
                signature::SIGNATURE_DEF_FIELD.to_string(),
                signature::signature_def_map_any(&sigs),
            )]
            .into(),
        }))
    }
}

async fn start() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = PredictionServiceServer::new(Doubler)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    tokio::spawn(
        Server::builder()
            .add_service(service)
            .add_service(tensorserve_proto::reflection::builder().build_v1().unwrap())
            .serve_with_incoming(TcpIncoming::from(listener)),
    );
    addr
}

#[tokio::test]
async fn predict_metadata_and_errors_over_loopback() {
    let addr = start().await;
    let mut client = PredictionServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();

    let spec = ModelSpec {
        name: "half".into(),
        signature_name: String::new(),
        version_choice: Some(model_spec::VersionChoice::Version(7)),
    };
    // A one-value float_val broadcast to [2, 2] on the way in.
    let input = tensorserve_proto::tensorflow::TensorProto {
        dtype: DType::F32.tf_enum(),
        tensor_shape: Some(tensorserve_proto::signature::shape_to_proto(Some(&[
            tensorserve_core::signature::Dim {
                size: 2,
                name: String::new(),
            },
            tensorserve_core::signature::Dim {
                size: 2,
                name: String::new(),
            },
        ]))),
        float_val: vec![1.5],
        ..Default::default()
    };
    let response = client
        .predict(PredictRequest {
            model_spec: Some(spec.clone()),
            inputs: [("x".to_string(), input.clone())].into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.model_spec, Some(spec.clone()));
    let y = tensor_from_proto_owned(response.outputs["x"].clone()).unwrap();
    assert_eq!(y.shape(), [2, 2]);
    assert_eq!(y.data(), &TensorData::F32(vec![3.0; 4]));

    // A malformed tensor comes back as INVALID_ARGUMENT with its message.
    let mut bad = input;
    bad.tensor_content = vec![0; 3];
    let err = client
        .predict(PredictRequest {
            model_spec: Some(spec.clone()),
            inputs: [("x".to_string(), bad)].into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(
        err.message()
            .starts_with("input x: tensor_content has 3 bytes"),
        "{}",
        err.message()
    );

    let err = client
        .classify(ClassificationRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unimplemented);

    let metadata = client
        .get_model_metadata(GetModelMetadataRequest {
            model_spec: Some(spec),
            metadata_field: vec!["signature_def".into()],
        })
        .await
        .unwrap()
        .into_inner();
    let any = &metadata.metadata["signature_def"];
    assert_eq!(
        any.type_url,
        "type.googleapis.com/tensorflow.serving.SignatureDefMap"
    );
    let map = SignatureDefMap::decode(any.value.as_slice()).unwrap();
    assert_eq!(
        map.signature_def["serving_default"].method_name,
        PREDICT_METHOD
    );
}
