//! The Open Inference Protocol (KServe V2) over gRPC, `inference.GRPCInferenceService`, through
//! the generated tonic client against the real server on the bundled `half_plus_two`
//! (signature `serving_default`: input `x` FP32 [-1, 1] → output `y` = 0.5x + 2). The tensor
//! conversion's own rules are tested in `src/v2/contents/tests.rs`.

mod common;

use common::grpc::{GrpcServer, start};
use tensorserve::config::ServerConfig;
use tensorserve::flags::Flags;
use tensorserve_proto::inference::grpc_inference_service_client::GrpcInferenceServiceClient;
use tensorserve_proto::inference::infer_parameter::ParameterChoice;
use tensorserve_proto::inference::model_infer_request::{
    InferInputTensor, InferRequestedOutputTensor,
};
use tensorserve_proto::inference::model_metadata_response::TensorMetadata;
use tensorserve_proto::inference::{
    InferParameter, InferTensorContents, ModelInferRequest, ModelMetadataRequest,
    ModelReadyRequest, ServerLiveRequest, ServerMetadataRequest, ServerReadyRequest,
};
use tonic::Code;
use tonic::transport::Channel;

async fn client(server: &GrpcServer) -> GrpcInferenceServiceClient<Channel> {
    GrpcInferenceServiceClient::new(server.channel().await)
}

fn fp32(values: &[f32]) -> Option<InferTensorContents> {
    Some(InferTensorContents {
        fp32_contents: values.to_vec(),
        ..Default::default()
    })
}

/// One input `name` of `datatype` and `shape` with `contents`.
fn input(
    name: &str,
    datatype: &str,
    shape: &[i64],
    contents: Option<InferTensorContents>,
) -> InferInputTensor {
    InferInputTensor {
        name: name.into(),
        datatype: datatype.into(),
        shape: shape.to_vec(),
        parameters: Default::default(),
        contents,
    }
}

/// A request to `model` with the one input `x`.
fn infer_x(model: &str, x: InferInputTensor) -> ModelInferRequest {
    ModelInferRequest {
        model_name: model.into(),
        inputs: vec![x],
        ..Default::default()
    }
}

fn string_param(value: &str) -> InferParameter {
    InferParameter {
        parameter_choice: Some(ParameterChoice::StringParam(value.into())),
    }
}

fn le_f32(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The status of a call that must fail with `code`.
fn failed<T: std::fmt::Debug>(result: Result<T, tonic::Status>, code: Code) -> String {
    let status = result.expect_err("must fail");
    assert_eq!(status.code(), code, "{}", status.message());
    status.message().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_server_metadata() {
    let s = start(&[]).await;
    let mut c = client(&s).await;
    assert!(
        c.server_live(ServerLiveRequest {})
            .await
            .unwrap()
            .into_inner()
            .live
    );
    assert!(
        c.server_ready(ServerReadyRequest {})
            .await
            .unwrap()
            .into_inner()
            .ready
    );
    let meta = c
        .server_metadata(ServerMetadataRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(meta.name, "tensorserve");
    assert_eq!(meta.version, env!("CARGO_PKG_VERSION"));
    assert!(meta.extensions.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_is_listed_by_server_reflection() {
    use tensorserve_proto::reflection::tonic_reflection::pb::v1::ServerReflectionRequest;
    use tensorserve_proto::reflection::tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tensorserve_proto::reflection::tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tensorserve_proto::reflection::tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let s = start(&[]).await;
    let mut c = ServerReflectionClient::new(s.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = c
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let answer = answers.message().await.unwrap().expect("one answer");
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("not a service list: {answer:?}");
    };
    let names: Vec<&str> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(
        names.contains(&"inference.GRPCInferenceService"),
        "{names:?}"
    );
    assert!(
        names.contains(&"tensorflow.serving.PredictionService"),
        "{names:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_readiness() {
    let s = start(&[]).await;
    let mut c = client(&s).await;
    // Unknown models and versions are not ready (Triton's answer), not an error.
    for (name, version, ready) in [
        ("half_plus_two", "", true),
        ("half_plus_two", "123", true),
        ("half_plus_two", "124", false),
        ("nothing", "", false),
        ("", "", false),
    ] {
        let answer = c
            .model_ready(ModelReadyRequest {
                name: name.into(),
                version: version.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(answer.ready, ready, "{name} {version}");
    }
    // A version that is not a number is a malformed request.
    let msg = failed(
        c.model_ready(ModelReadyRequest {
            name: "half_plus_two".into(),
            version: "seven".into(),
        })
        .await,
        Code::InvalidArgument,
    );
    assert_eq!(msg, "Invalid model version 'seven': versions are numbers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_metadata() {
    let s = start(&[]).await;
    let mut c = client(&s).await;
    let tensor = |name: &str| TensorMetadata {
        name: name.into(),
        datatype: "FP32".into(),
        shape: vec![-1, 1],
    };
    for version in ["", "123"] {
        let meta = c
            .model_metadata(ModelMetadataRequest {
                name: "half_plus_two".into(),
                version: version.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(meta.name, "half_plus_two");
        assert_eq!(meta.versions, ["123"]);
        assert_eq!(meta.platform, "tensorflow_savedmodel");
        assert_eq!(meta.inputs, [tensor("x")]);
        assert_eq!(meta.outputs, [tensor("y")]);
    }
    let metadata = |name: &str, version: &str| ModelMetadataRequest {
        name: name.into(),
        version: version.into(),
    };
    failed(
        c.model_metadata(metadata("nothing", "")).await,
        Code::NotFound,
    );
    failed(
        c.model_metadata(metadata("half_plus_two", "7")).await,
        Code::NotFound,
    );
    failed(
        c.model_metadata(metadata("half_plus_two", "seven")).await,
        Code::InvalidArgument,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infer_with_typed_contents() {
    let s = start(&[]).await;
    let mut c = client(&s).await;
    let mut request = infer_x(
        "half_plus_two",
        input("x", "FP32", &[3], fp32(&[1.0, 2.0, 5.0])),
    );
    request.id = "req-1".into();
    let r = c.model_infer(request).await.unwrap().into_inner();
    assert_eq!(r.model_name, "half_plus_two");
    assert_eq!(r.model_version, "123");
    assert_eq!(r.id, "req-1");
    assert!(r.raw_output_contents.is_empty());
    assert_eq!(r.outputs.len(), 1);
    let y = &r.outputs[0];
    assert_eq!((y.name.as_str(), y.datatype.as_str()), ("y", "FP32"));
    assert_eq!(y.shape, [3]);
    assert_eq!(y.contents, fp32(&[2.5, 3.0, 4.5]));

    // A version, a [2, 1] shape and the one output asked for by name.
    let mut request = infer_x(
        "half_plus_two",
        input("x", "FP32", &[2, 1], fp32(&[0.0, -4.0])),
    );
    request.model_version = "123".into();
    request.outputs = vec![InferRequestedOutputTensor {
        name: "y".into(),
        parameters: Default::default(),
    }];
    let r = c.model_infer(request).await.unwrap().into_inner();
    assert_eq!(r.outputs[0].shape, [2, 1]);
    assert_eq!(r.outputs[0].contents, fp32(&[2.0, 0.0]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infer_with_raw_contents_answers_raw() {
    let s = start(&[]).await;
    let mut c = client(&s).await;
    let mut request = infer_x("half_plus_two", input("x", "FP32", &[3, 1], None));
    request.raw_input_contents = vec![le_f32(&[1.0, 2.0, 5.0])];
    let r = c.model_infer(request).await.unwrap().into_inner();
    assert_eq!(r.outputs.len(), 1);
    assert_eq!(r.outputs[0].name, "y");
    assert_eq!(r.outputs[0].datatype, "FP32");
    assert_eq!(r.outputs[0].shape, [3, 1]);
    assert_eq!(r.outputs[0].contents, None);
    assert_eq!(r.raw_output_contents, [le_f32(&[2.5, 3.0, 4.5])]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_name_parameter_picks_the_signature() {
    let s = start(&[]).await;
    let mut c = client(&s).await;
    // regress_x2_to_y3 is 0.5 * x2 + 3, its input and output aliased `inputs` / `outputs`.
    let mut request = infer_x(
        "half_plus_two",
        input("inputs", "FP32", &[2, 1], fp32(&[1.0, 2.0])),
    );
    request.parameters = [("signature_name".into(), string_param("regress_x2_to_y3"))].into();
    let r = c.model_infer(request).await.unwrap().into_inner();
    assert_eq!(r.outputs[0].name, "outputs");
    assert_eq!(r.outputs[0].contents, fp32(&[3.5, 4.0]));

    let mut request = infer_x("half_plus_two", input("x", "FP32", &[1], fp32(&[1.0])));
    request.parameters = [("signature_name".into(), string_param("nope"))].into();
    let msg = failed(c.model_infer(request).await, Code::FailedPrecondition);
    assert_eq!(msg, "Serving signature key \"nope\" not found.");

    let mut request = infer_x("half_plus_two", input("x", "FP32", &[1], fp32(&[1.0])));
    let int_param = InferParameter {
        parameter_choice: Some(ParameterChoice::Int64Param(1)),
    };
    request.parameters = [("signature_name".into(), int_param)].into();
    let msg = failed(c.model_infer(request).await, Code::InvalidArgument);
    assert_eq!(msg, "parameter 'signature_name' must be a string_param");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_invalid_arguments_naming_the_problem() {
    let s = start(&[]).await;
    let mut c = client(&s).await;
    let model = "half_plus_two";
    let fp64 = Some(InferTensorContents {
        fp64_contents: vec![1.0],
        ..Default::default()
    });
    let mut raw_and_typed = infer_x(model, input("x", "FP32", &[1], fp32(&[1.0])));
    raw_and_typed.raw_input_contents = vec![le_f32(&[1.0])];
    let mut raw_short = infer_x(model, input("x", "FP32", &[2], None));
    raw_short.raw_input_contents = vec![le_f32(&[1.0])];
    let mut raw_count = infer_x(model, input("x", "FP32", &[1], None));
    raw_count.raw_input_contents = vec![le_f32(&[1.0]), le_f32(&[2.0])];
    let mut unknown_output = infer_x(model, input("x", "FP32", &[1], fp32(&[1.0])));
    unknown_output.outputs = vec![InferRequestedOutputTensor {
        name: "w".into(),
        parameters: Default::default(),
    }];
    let cases = [
        (
            infer_x(model, input("x", "FP64", &[1], fp64)),
            "inference input 'x' data-type is 'FP64', but model 'half_plus_two' expects 'FP32'",
        ),
        (
            infer_x(model, input("x", "FP32", &[3], fp32(&[1.0, 2.0]))),
            "input 'x': shape [3] holds 3 elements but fp32_contents has 2",
        ),
        (
            // A shape claiming 2^40 elements is refused by the count, not allocated.
            infer_x(model, input("x", "FP32", &[1 << 20, 1 << 20], fp32(&[1.0]))),
            "input 'x': shape [1048576, 1048576] holds 1099511627776 elements but fp32_contents has 1",
        ),
        (
            infer_x(model, input("x", "FP32", &[-1], fp32(&[1.0]))),
            "input 'x': shape dimensions must be non-negative, got [-1]",
        ),
        (
            infer_x(model, input("x", "FLOAT", &[1], fp32(&[1.0]))),
            "input 'x': unknown datatype 'FLOAT'",
        ),
        (
            raw_and_typed,
            "input 'x': contents must be empty when raw_input_contents is used",
        ),
        (
            raw_short,
            "input 'x': raw contents hold 4 bytes but shape [2] of FP32 needs 8",
        ),
        (
            raw_count,
            "raw_input_contents has 2 buffers for 1 inputs; it needs one per input, in order",
        ),
        (
            unknown_output,
            "unexpected inference output 'w' for model 'half_plus_two'; its outputs are 'y'",
        ),
        (
            infer_x(model, input("z", "FP32", &[1], fp32(&[1.0]))),
            "unexpected inference input 'z' for model 'half_plus_two'; its inputs are 'x'",
        ),
        (
            ModelInferRequest {
                model_name: model.into(),
                ..Default::default()
            },
            "expected 1 inputs but got 0; missing 'x'",
        ),
        (
            infer_x("", input("x", "FP32", &[1], fp32(&[1.0]))),
            "ModelInferRequest has no model_name",
        ),
    ];
    for (request, expected) in cases {
        let msg = failed(c.model_infer(request).await, Code::InvalidArgument);
        assert_eq!(msg, expected);
    }

    let msg = failed(
        c.model_infer(infer_x("nothing", input("x", "FP32", &[1], fp32(&[1.0]))))
            .await,
        Code::NotFound,
    );
    assert!(msg.contains("nothing"), "{msg}");
    let mut wrong_version = infer_x(model, input("x", "FP32", &[1], fp32(&[1.0])));
    wrong_version.model_version = "7".into();
    failed(c.model_infer(wrong_version).await, Code::NotFound);

    // The server still answers.
    let r = c
        .model_infer(infer_x(model, input("x", "FP32", &[1], fp32(&[2.0]))))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.outputs[0].contents, fp32(&[3.0]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inference_is_counted_as_the_models_grpc_predict_requests() {
    // A model name of its own, so that other tests' calls do not move its counters.
    let base = common::bundled_base().display().to_string();
    let args = [
        "--port=8500".to_string(),
        "--rest_api_port=0".to_string(),
        "--drain_delay_seconds=0".to_string(),
        "--model_name=v2_grpc_counted".to_string(),
        format!("--model_base_path={base}"),
    ];
    let flags = Flags::parse(args).expect("flags");
    let mut config = ServerConfig::from_flags(&flags, |_| None).expect("config");
    config.rest_addr = None;
    config.grpc_addr = Some("127.0.0.1:0".parse().unwrap());
    let server = tensorserve::app::Server::start(config)
        .await
        .expect("server starts");
    let addr = server.grpc_addr.expect("gRPC is enabled");
    let s = GrpcServer { server, addr };
    let mut c = client(&s).await;
    let model = "v2_grpc_counted";
    c.model_infer(infer_x(model, input("x", "FP32", &[1], fp32(&[1.0]))))
        .await
        .unwrap();
    let fp64 = Some(InferTensorContents {
        fp64_contents: vec![1.0],
        ..Default::default()
    });
    failed(
        c.model_infer(infer_x(model, input("x", "FP64", &[1], fp64)))
            .await,
        Code::InvalidArgument,
    );
    c.model_metadata(ModelMetadataRequest {
        name: model.into(),
        version: String::new(),
    })
    .await
    .unwrap();
    let page = tensorserve::metrics::render(&[]);
    for (api, status) in [
        ("predict", "OK"),
        ("predict", "INVALID_ARGUMENT"),
        ("metadata", "OK"),
    ] {
        let series = format!(
            "tensorserve_requests_total{{model=\"{model}\",api=\"{api}\",protocol=\"grpc\",status=\"{status}\"}} 1\n"
        );
        assert!(page.contains(&series), "{series} missing from\n{page}");
    }
}
