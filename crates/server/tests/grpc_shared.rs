//! The gRPC API on TF Serving's own test models (`../shared/testdata/tfserving`): version
//! labels, two versions, the TF2 export, half_plus_three, and status-message truncation.
//! Skipped with a notice when the models are absent.

mod common;

use std::net::SocketAddr;

use tensorserve::app::Server;
use tensorserve::config::ServerConfig;
use tensorserve::flags::Flags;
use tensorserve_proto::tensorflow::serving::input::Kind;
use tensorserve_proto::tensorflow::serving::model_service_client::ModelServiceClient;
use tensorserve_proto::tensorflow::serving::model_spec::VersionChoice;
use tensorserve_proto::tensorflow::serving::prediction_service_client::PredictionServiceClient;
use tensorserve_proto::tensorflow::serving::{
    ClassificationRequest, ExampleList, GetModelStatusRequest, Input, ModelSpec, PredictRequest,
};
use tensorserve_proto::tensorflow::{
    DataType, Example, Feature, Features, FloatList, TensorProto, TensorShapeProto, feature,
    tensor_shape_proto,
};
use tonic::Code;
use tonic::transport::Channel;

struct Running {
    server: Server,
    addr: SocketAddr,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.server.shutdown();
    }
}

async fn start_config(text: &str) -> Running {
    let dir = common::scratch("grpc-shared");
    let path = common::write_config(&dir, text);
    let flags = Flags::parse([
        "--port=8500".to_string(),
        "--rest_api_port=0".to_string(),
        "--drain_delay_seconds=0".to_string(),
        format!("--model_config_file={}", path.display()),
    ])
    .expect("flags");
    let mut config = ServerConfig::from_flags(&flags, |_| None).expect("config");
    config.rest_addr = None;
    config.grpc_addr = Some("127.0.0.1:0".parse().unwrap());
    let server = Server::start(config).await.expect("server starts");
    let addr = server.grpc_addr.expect("gRPC is enabled");
    Running { server, addr }
}

async fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

fn x(values: &[f32], dims: &[i64]) -> TensorProto {
    TensorProto {
        dtype: DataType::DtFloat as i32,
        tensor_shape: Some(TensorShapeProto {
            dim: dims
                .iter()
                .map(|&size| tensor_shape_proto::Dim {
                    size,
                    name: String::new(),
                })
                .collect(),
            unknown_rank: false,
        }),
        float_val: values.to_vec(),
        ..Default::default()
    }
}

fn predict(name: &str, version: Option<VersionChoice>, t: TensorProto) -> PredictRequest {
    PredictRequest {
        model_spec: Some(ModelSpec {
            name: name.into(),
            signature_name: String::new(),
            version_choice: version,
        }),
        inputs: [("x".to_string(), t)].into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_models_over_grpc() {
    let Some(testdata) = common::shared("shared_models_over_grpc") else {
        return;
    };
    let two = testdata.join("saved_model_half_plus_two_2_versions");
    let text = format!(
        "model_config_list {{\n{}{}{}}}\n",
        common::model_entry(
            "two",
            &two,
            "    model_version_policy { all {} }\n    version_labels { key: 'stable' value: 123 }\n    version_labels { key: 'canary' value: 124 }\n",
        ),
        common::model_entry(
            "tf2",
            &testdata.join("saved_model_half_plus_two_tf2_cpu"),
            ""
        ),
        common::model_entry("three", &testdata.join("saved_model_half_plus_three"), ""),
    );
    let s = start_config(&text).await;
    let mut c = PredictionServiceClient::new(channel(s.addr).await);

    // Labels and versions of the two-version model.
    for (choice, version) in [
        (None, 124),
        (Some(VersionChoice::VersionLabel("stable".into())), 123),
        (Some(VersionChoice::VersionLabel("canary".into())), 124),
        (Some(VersionChoice::Version(123)), 123),
    ] {
        let r = c
            .predict(predict("two", choice.clone(), x(&[1.0], &[1, 1])))
            .await
            .unwrap_or_else(|e| panic!("{choice:?}: {e:?}"))
            .into_inner();
        assert_eq!(
            r.model_spec.unwrap().version_choice,
            Some(VersionChoice::Version(version))
        );
        assert_eq!(r.outputs["y"].float_val.len(), 1);
    }

    // half_plus_three takes a scalar.
    let r = c
        .predict(predict("three", None, x(&[2.0], &[])))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.outputs["y"].float_val, vec![4.0]);

    // The TF2 export: predict, and classify on a signature whose method name is predict.
    let r = c
        .predict(predict("tf2", None, x(&[4.0], &[1])))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.outputs["y"].float_val, vec![4.0]);
    let example = Example {
        features: Some(Features {
            feature: [(
                "x".to_string(),
                Feature {
                    kind: Some(feature::Kind::FloatList(FloatList { value: vec![2.0] })),
                },
            )]
            .into(),
        }),
    };
    let r = c
        .classify(ClassificationRequest {
            model_spec: Some(ModelSpec {
                name: "tf2".into(),
                signature_name: "classify_x_to_y".into(),
                version_choice: None,
            }),
            input: Some(Input {
                kind: Some(Kind::ExampleList(ExampleList {
                    examples: vec![example],
                })),
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.result.unwrap().classifications[0].classes[0].score, 3.0);

    // Status lists both versions, highest first.
    let mut m = ModelServiceClient::new(channel(s.addr).await);
    let r = m
        .get_model_status(GetModelStatusRequest {
            model_spec: Some(ModelSpec {
                name: "two".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    let versions: Vec<i64> = r.model_version_status.iter().map(|v| v.version).collect();
    assert_eq!(versions, vec![124, 123]);

    // A message over 1024 bytes is cut as TF Serving cuts it.
    let long = "m".repeat(2000);
    let e = c
        .predict(predict(&long, None, x(&[1.0], &[1])))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    assert_eq!(e.message().len(), 1024 + "...TRUNCATED".len());
    assert!(
        e.message()
            .starts_with("Servable not found for request: Latest(mmm")
    );
    assert!(e.message().ends_with("...TRUNCATED"));
}
