//! The gRPC API on the bundled `models/half_plus_two`, through the generated tonic clients
//! against the real server on 127.0.0.1 with ephemeral ports.

mod common;

use std::net::SocketAddr;

use prost::Message;
use tensorserve::app::Server;
use tensorserve::config::ServerConfig;
use tensorserve::flags::Flags;
use tensorserve_proto::grpc::health::v1::HealthCheckRequest;
use tensorserve_proto::grpc::health::v1::health_check_response::ServingStatus;
use tensorserve_proto::grpc::health::v1::health_client::HealthClient;
use tensorserve_proto::tensorflow::serving::inference_result::Result as Outcome;
use tensorserve_proto::tensorflow::serving::input::Kind;
use tensorserve_proto::tensorflow::serving::model_service_client::ModelServiceClient;
use tensorserve_proto::tensorflow::serving::model_spec::VersionChoice;
use tensorserve_proto::tensorflow::serving::prediction_service_client::PredictionServiceClient;
use tensorserve_proto::tensorflow::serving::{
    ClassificationRequest, ExampleList, ExampleListWithContext, GetModelMetadataRequest,
    GetModelStatusRequest, InferenceTask, Input, ModelConfig, ModelConfigList, ModelServerConfig,
    ModelSpec, MultiInferenceRequest, PredictRequest, RegressionRequest, ReloadConfigRequest,
    SignatureDefMap, model_server_config,
};
use tensorserve_proto::tensorflow::{
    DataType, Example, Feature, Features, FloatList, TensorProto, TensorShapeProto, feature,
    tensor_shape_proto,
};
use tonic::Code;
use tonic::transport::Channel;

struct GrpcServer {
    server: Server,
    addr: SocketAddr,
}

impl Drop for GrpcServer {
    fn drop(&mut self) {
        self.server.shutdown();
    }
}

impl GrpcServer {
    async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect()
            .await
            .expect("connect to the gRPC port")
    }
    async fn predict_client(&self) -> PredictionServiceClient<Channel> {
        PredictionServiceClient::new(self.channel().await)
    }
}

async fn start(extra: &[&str]) -> GrpcServer {
    let base = common::bundled_base().display().to_string();
    let mut args = vec![
        "--port=8500".to_string(),
        "--rest_api_port=0".to_string(),
        "--drain_delay_seconds=0".to_string(),
        "--model_name=half_plus_two".to_string(),
        format!("--model_base_path={base}"),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let flags = Flags::parse(args).expect("flags");
    let mut config = ServerConfig::from_flags(&flags, |_| None).expect("config");
    config.rest_addr = None;
    config.grpc_addr = Some("127.0.0.1:0".parse().unwrap());
    let server = Server::start(config).await.expect("server starts");
    let addr = server.grpc_addr.expect("gRPC is enabled");
    GrpcServer { server, addr }
}

fn spec(name: &str) -> Option<ModelSpec> {
    Some(ModelSpec {
        name: name.into(),
        ..Default::default()
    })
}

fn shape(dims: &[i64]) -> Option<TensorShapeProto> {
    Some(TensorShapeProto {
        dim: dims
            .iter()
            .map(|&size| tensor_shape_proto::Dim {
                size,
                name: String::new(),
            })
            .collect(),
        unknown_rank: false,
    })
}

fn floats(values: &[f32], dims: &[i64]) -> TensorProto {
    TensorProto {
        dtype: DataType::DtFloat as i32,
        tensor_shape: shape(dims),
        float_val: values.to_vec(),
        ..Default::default()
    }
}

fn predict(name: &str, x: TensorProto) -> PredictRequest {
    PredictRequest {
        model_spec: spec(name),
        inputs: [("x".to_string(), x)].into(),
        ..Default::default()
    }
}

fn output_values(t: &TensorProto) -> Vec<f32> {
    if t.tensor_content.is_empty() {
        t.float_val.clone()
    } else {
        t.tensor_content
            .chunks(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    }
}

fn example(x: Option<f32>) -> Example {
    Example {
        features: Some(Features {
            feature: x
                .map(|x| {
                    (
                        "x".to_string(),
                        Feature {
                            kind: Some(feature::Kind::FloatList(FloatList { value: vec![x] })),
                        },
                    )
                })
                .into_iter()
                .collect(),
        }),
    }
}

fn example_input(xs: &[f32]) -> Option<Input> {
    Some(Input {
        kind: Some(Kind::ExampleList(ExampleList {
            examples: xs.iter().map(|&x| example(Some(x))).collect(),
        })),
    })
}

fn sig_spec(sig: &str) -> Option<ModelSpec> {
    Some(ModelSpec {
        name: "half_plus_two".into(),
        signature_name: sig.into(),
        ..Default::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predict_typed_and_tensor_content() {
    let s = start(&[]).await;
    let mut c = s.predict_client().await;

    let r = c
        .predict(predict("half_plus_two", floats(&[1.0, 2.0, 5.0], &[3])))
        .await
        .unwrap()
        .into_inner();
    let y = &r.outputs["y"];
    assert_eq!(y.dtype, DataType::DtFloat as i32);
    assert_eq!(y.tensor_shape, shape(&[3]));
    assert_eq!(y.float_val, vec![2.5, 3.0, 4.5]);
    assert!(y.tensor_content.is_empty());
    assert_eq!(
        r.model_spec,
        Some(ModelSpec {
            name: "half_plus_two".into(),
            signature_name: "serving_default".into(),
            version_choice: Some(VersionChoice::Version(123)),
        })
    );

    // tensor_content input, a [2,1] shape, version and explicit signature.
    let mut x = TensorProto {
        dtype: DataType::DtFloat as i32,
        tensor_shape: shape(&[2, 1]),
        ..Default::default()
    };
    x.tensor_content = [1.0f32, 3.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut req = predict("half_plus_two", x);
    req.model_spec = Some(ModelSpec {
        name: "half_plus_two".into(),
        signature_name: "serving_default".into(),
        version_choice: Some(VersionChoice::Version(123)),
    });
    let r = c.predict(req).await.unwrap().into_inner();
    assert_eq!(r.outputs["y"].tensor_shape, shape(&[2, 1]));
    assert_eq!(output_values(&r.outputs["y"]), vec![2.5, 3.5]);

    // Last-value broadcast of typed fields, as TensorFlow's FromProto does.
    let r = c
        .predict(predict("half_plus_two", floats(&[4.0], &[3])))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.outputs["y"].float_val, vec![4.0, 4.0, 4.0]);

    // output_filter naming the one output.
    let mut req = predict("half_plus_two", floats(&[0.0], &[1]));
    req.output_filter = vec!["y".into()];
    let r = c.predict(req).await.unwrap().into_inner();
    assert_eq!(r.outputs["y"].float_val, vec![2.0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predict_outputs_as_tensor_content_when_asked() {
    // The TF Serving suite's channel arguments are accepted.
    let s = start(&[
        "--enable_serialization_as_tensor_content=true",
        "--grpc_channel_arguments=grpc.max_connection_age_ms=2000,grpc.lb_policy_name=grpclb,grpc.so_reuseaddr=1",
    ])
    .await;
    let mut c = s.predict_client().await;
    let r = c
        .predict(predict("half_plus_two", floats(&[1.0, 2.0], &[2])))
        .await
        .unwrap()
        .into_inner();
    let y = &r.outputs["y"];
    assert!(y.float_val.is_empty());
    assert_eq!(y.tensor_content.len(), 8);
    assert_eq!(output_values(y), vec![2.5, 3.0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predict_errors() {
    let s = start(&[]).await;
    let mut c = s.predict_client().await;
    let err = |r: Result<tonic::Response<_>, tonic::Status>| -> tonic::Status {
        match r {
            Ok(_) => panic!("expected an error"),
            Err(e) => e,
        }
    };

    let e = err(c.predict(predict("x", floats(&[1.0], &[1]))).await);
    assert_eq!(e.code(), Code::NotFound);
    assert_eq!(e.message(), "Servable not found for request: Latest(x)");

    let mut req = predict("half_plus_two", floats(&[1.0], &[1]));
    req.model_spec.as_mut().unwrap().version_choice = Some(VersionChoice::Version(7));
    let e = err(c.predict(req).await);
    assert_eq!(e.code(), Code::NotFound);
    assert_eq!(
        e.message(),
        "Servable not found for request: Specific(half_plus_two, 7)"
    );

    let mut req = predict("half_plus_two", floats(&[1.0], &[1]));
    req.model_spec.as_mut().unwrap().version_choice =
        Some(VersionChoice::VersionLabel("stable".into()));
    let e = err(c.predict(req).await);
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(e.message(), "Unrecognized servable version label: stable");

    let e = err(c.predict(predict("", floats(&[1.0], &[1]))).await);
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(e.message(), "ModelSpec has no name specified.");

    // Bad dtype.
    let x = TensorProto {
        dtype: DataType::DtInt32 as i32,
        tensor_shape: shape(&[1]),
        int_val: vec![1],
        ..Default::default()
    };
    let e = err(c.predict(predict("half_plus_two", x)).await);
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");

    // Missing input.
    let req = PredictRequest {
        model_spec: spec("half_plus_two"),
        ..Default::default()
    };
    let e = err(c.predict(req).await);
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(
        e.message(),
        "input size does not match signature: 0!=1 len({}) != len({x}). Sent extra: {}. Missing but required: {x}."
    );

    // Wrong alias.
    let req = PredictRequest {
        model_spec: spec("half_plus_two"),
        inputs: [("z".to_string(), floats(&[1.0], &[1]))].into(),
        ..Default::default()
    };
    let e = err(c.predict(req).await);
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message()
            .starts_with("input tensor alias not found in signature: z.")
    );

    // Unknown signature.
    let mut req = predict("half_plus_two", floats(&[1.0], &[1]));
    req.model_spec.as_mut().unwrap().signature_name = "nope".into();
    let e = err(c.predict(req).await);
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert_eq!(e.message(), "Serving signature key \"nope\" not found.");

    // Output filter.
    let mut req = predict("half_plus_two", floats(&[1.0], &[1]));
    req.output_filter = vec!["q".into()];
    let e = err(c.predict(req).await);
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(
        e.message(),
        "output tensor alias not found in signature: q Outputs expected to be in the set {y}."
    );
    let mut req = predict("half_plus_two", floats(&[1.0], &[1]));
    req.output_filter = vec!["y".into(), "y".into()];
    let e = err(c.predict(req).await);
    assert_eq!(e.message(), "duplicate output tensor alias: y");

    // Invalid dtype number.
    let x = TensorProto {
        dtype: 0,
        ..Default::default()
    };
    let e = err(c.predict(predict("half_plus_two", x)).await);
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classify_regress_and_multi_inference() {
    let s = start(&[]).await;
    let mut c = s.predict_client().await;

    let r = c
        .classify(ClassificationRequest {
            model_spec: sig_spec("classify_x_to_y"),
            input: example_input(&[1.0, 3.0]),
        })
        .await
        .unwrap()
        .into_inner();
    let result = r.result.unwrap();
    let scores: Vec<(String, f32)> = result
        .classifications
        .iter()
        .flat_map(|c| c.classes.iter().map(|k| (k.label.clone(), k.score)))
        .collect();
    assert_eq!(scores, vec![(String::new(), 2.5), (String::new(), 3.5)]);
    assert_eq!(
        r.model_spec.unwrap().version_choice,
        Some(VersionChoice::Version(123))
    );

    let r = c
        .regress(RegressionRequest {
            model_spec: sig_spec("regress_x_to_y"),
            input: example_input(&[1.0, 5.0]),
        })
        .await
        .unwrap()
        .into_inner();
    let values: Vec<f32> = r
        .result
        .unwrap()
        .regressions
        .iter()
        .map(|r| r.value)
        .collect();
    assert_eq!(values, vec![2.5, 4.5]);
    assert_eq!(r.model_spec.unwrap().signature_name, "regress_x_to_y");

    // Context features fill in what the examples lack.
    let r = c
        .regress(RegressionRequest {
            model_spec: sig_spec("regress_x_to_y2"),
            input: Some(Input {
                kind: Some(Kind::ExampleListWithContext(ExampleListWithContext {
                    examples: vec![example(None), example(None)],
                    context: Some(example(Some(4.0))),
                })),
            }),
        })
        .await
        .unwrap()
        .into_inner();
    let values: Vec<f32> = r
        .result
        .unwrap()
        .regressions
        .iter()
        .map(|r| r.value)
        .collect();
    assert_eq!(values, vec![5.0, 5.0]);

    // Errors.
    let e = c
        .regress(RegressionRequest {
            model_spec: sig_spec("regress_x_to_y"),
            input: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(e.message(), "Input is empty.");
    let e = c
        .classify(ClassificationRequest {
            model_spec: sig_spec("nope"),
            input: example_input(&[1.0]),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(e.message(), "No signature was found with the name: nope");

    // MultiInference.
    let task = |sig: &str, method: &str| InferenceTask {
        model_spec: sig_spec(sig),
        method_name: method.into(),
    };
    let r = c
        .multi_inference(MultiInferenceRequest {
            tasks: vec![
                task("classify_x_to_y", "tensorflow/serving/classify"),
                task("regress_x_to_y", "tensorflow/serving/regress"),
            ],
            input: example_input(&[1.0]),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.results.len(), 2);
    match &r.results[0].result {
        Some(Outcome::ClassificationResult(c)) => {
            assert_eq!(c.classifications[0].classes[0].score, 2.5)
        }
        other => panic!("{other:?}"),
    }
    match &r.results[1].result {
        Some(Outcome::RegressionResult(rr)) => assert_eq!(rr.regressions[0].value, 2.5),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        r.results[1].model_spec.as_ref().unwrap().signature_name,
        "regress_x_to_y"
    );
    let mut other_model = task("regress_x_to_y", "tensorflow/serving/regress");
    other_model.model_spec.as_mut().unwrap().name = "other".into();
    let e = c
        .multi_inference(MultiInferenceRequest {
            tasks: vec![
                task("classify_x_to_y", "tensorflow/serving/classify"),
                other_model,
            ],
            input: example_input(&[1.0]),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(
        e.message(),
        "All ModelSpecs in a MultiInferenceRequest must access the same model name."
    );
    let e = c
        .multi_inference(MultiInferenceRequest {
            tasks: vec![task("regress_x_to_y", "tensorflow/serving/predict")],
            input: example_input(&[1.0]),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unimplemented);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_status_reload_and_health() {
    let s = start(&[]).await;
    let mut c = s.predict_client().await;

    let r = c
        .get_model_metadata(GetModelMetadataRequest {
            model_spec: spec("half_plus_two"),
            metadata_field: vec!["signature_def".into()],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        r.model_spec.unwrap().version_choice,
        Some(VersionChoice::Version(123))
    );
    let any = &r.metadata["signature_def"];
    assert_eq!(
        any.type_url,
        "type.googleapis.com/tensorflow.serving.SignatureDefMap"
    );
    let map = SignatureDefMap::decode(any.value.as_slice()).unwrap();
    assert!(map.signature_def.contains_key("serving_default"));
    assert!(map.signature_def.contains_key("classify_x_to_y"));

    for (fields, want) in [
        (
            vec![],
            "GetModelMetadataRequest must specify at least one metadata_field",
        ),
        (
            vec!["foo".to_string()],
            "Metadata field foo is not supported",
        ),
    ] {
        let e = c
            .get_model_metadata(GetModelMetadataRequest {
                model_spec: spec("half_plus_two"),
                metadata_field: fields,
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        assert_eq!(e.message(), want);
    }
    let e = c
        .get_model_metadata(GetModelMetadataRequest {
            model_spec: None,
            metadata_field: vec!["signature_def".into()],
        })
        .await
        .unwrap_err();
    assert_eq!(e.message(), "Missing ModelSpec");

    // Status.
    let mut m = ModelServiceClient::new(s.channel().await);
    let r = m
        .get_model_status(GetModelStatusRequest {
            model_spec: spec("half_plus_two"),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.model_version_status.len(), 1);
    let v = &r.model_version_status[0];
    assert_eq!((v.version, v.state), (123, 30));
    assert_eq!(v.status.as_ref().unwrap().error_code, 0);
    let e = m
        .get_model_status(GetModelStatusRequest {
            model_spec: Some(ModelSpec {
                name: "half_plus_two".into(),
                version_choice: Some(VersionChoice::Version(9)),
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    assert_eq!(
        e.message(),
        "Could not find version 9 of model half_plus_two"
    );
    let e = m
        .get_model_status(GetModelStatusRequest {
            model_spec: spec("nope"),
        })
        .await
        .unwrap_err();
    assert_eq!(e.message(), "Could not find any versions of model nope");

    // Reload with the same model is accepted; a custom config is not.
    let base = common::bundled_base().display().to_string();
    let same = ModelServerConfig {
        config: Some(model_server_config::Config::ModelConfigList(
            ModelConfigList {
                config: vec![ModelConfig {
                    name: "half_plus_two".into(),
                    base_path: base,
                    model_platform: "tensorflow".into(),
                    ..Default::default()
                }],
            },
        )),
    };
    let r = m
        .handle_reload_config_request(ReloadConfigRequest {
            config: Some(same),
            metric_names: vec![],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.status.unwrap().error_code, 0);
    let e = m
        .handle_reload_config_request(ReloadConfigRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);

    // Health.
    let mut h = HealthClient::new(s.channel().await);
    for service in ["", "tensorflow.serving.PredictionService", "half_plus_two"] {
        let r = h
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.status, ServingStatus::Serving as i32, "{service}");
    }
    let e = h
        .check(HealthCheckRequest {
            service: "nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    s.server.state().start_draining();
    let r = h
        .check(HealthCheckRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.status, ServingStatus::NotServing as i32);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_socket() {
    let dir = common::scratch("grpc-uds");
    let path = dir.join("grpc.sock");
    let arg = format!("--grpc_socket_path={}", path.display());
    let _server = start(&[&arg]).await;
    let channel = tonic::transport::Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_: tonic::transport::Uri| {
            let path = path.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(path).await?;
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
            }
        }))
        .await
        .expect("connect to the socket");
    let mut c = PredictionServiceClient::new(channel);
    let r = c
        .predict(predict("half_plus_two", floats(&[2.0], &[1])))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.outputs["y"].float_val, vec![3.0]);
}
