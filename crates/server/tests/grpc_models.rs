//! gRPC Classify, Regress, MultiInference, metadata, model status, config reload, health and
//! the Unix socket, against the real server on 127.0.0.1 with an ephemeral port.

mod common;

use common::grpc::*;
use prost::Message;
use tensorserve_proto::grpc::health::v1::HealthCheckRequest;
use tensorserve_proto::grpc::health::v1::health_check_response::ServingStatus;
use tensorserve_proto::grpc::health::v1::health_client::HealthClient;
use tensorserve_proto::tensorflow::serving::inference_result::Result as Outcome;
use tensorserve_proto::tensorflow::serving::input::Kind;
use tensorserve_proto::tensorflow::serving::model_service_client::ModelServiceClient;
use tensorserve_proto::tensorflow::serving::model_spec::VersionChoice;
use tensorserve_proto::tensorflow::serving::prediction_service_client::PredictionServiceClient;
use tensorserve_proto::tensorflow::serving::{
    ClassificationRequest, ExampleListWithContext, GetModelMetadataRequest, GetModelStatusRequest,
    InferenceTask, Input, ModelConfig, ModelConfigList, ModelServerConfig, ModelSpec,
    MultiInferenceRequest, RegressionRequest, ReloadConfigRequest, SignatureDefMap,
    model_server_config,
};
use tonic::Code;

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
    let values = regression_values(&r);
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
    let values = regression_values(&r);
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

/// The values of a regression response, in example order.
fn regression_values(r: &tensorserve_proto::tensorflow::serving::RegressionResponse) -> Vec<f32> {
    let result = r.result.as_ref().expect("a regression result");
    result.regressions.iter().map(|r| r.value).collect()
}
