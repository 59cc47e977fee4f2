//! gRPC test support: a gRPC-only server on the bundled model and request builders.

use std::net::SocketAddr;

use tensorserve::app::Server;
use tensorserve::config::ServerConfig;
use tensorserve::flags::Flags;
use tensorserve_proto::tensorflow::serving::input::Kind;
use tensorserve_proto::tensorflow::serving::prediction_service_client::PredictionServiceClient;
use tensorserve_proto::tensorflow::serving::{ExampleList, Input, ModelSpec, PredictRequest};
use tensorserve_proto::tensorflow::{
    DataType, Example, Feature, Features, FloatList, TensorProto, TensorShapeProto, feature,
    tensor_shape_proto,
};
use tonic::transport::Channel;

/// A server with gRPC on 127.0.0.1 (an ephemeral port) and REST off; dropping it starts the
/// shutdown.
pub struct GrpcServer {
    /// The server.
    pub server: Server,
    /// The gRPC address.
    pub addr: SocketAddr,
}

impl Drop for GrpcServer {
    fn drop(&mut self) {
        self.server.shutdown();
    }
}

impl GrpcServer {
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect()
            .await
            .expect("connect to the gRPC port")
    }
    pub async fn predict_client(&self) -> PredictionServiceClient<Channel> {
        PredictionServiceClient::new(self.channel().await)
    }
}

/// Starts the bundled half_plus_two with gRPC only, plus `extra` flags.
pub async fn start(extra: &[&str]) -> GrpcServer {
    let base = super::bundled_base().display().to_string();
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

pub fn spec(name: &str) -> Option<ModelSpec> {
    Some(ModelSpec {
        name: name.into(),
        ..Default::default()
    })
}

pub fn shape(dims: &[i64]) -> Option<TensorShapeProto> {
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

pub fn floats(values: &[f32], dims: &[i64]) -> TensorProto {
    TensorProto {
        dtype: DataType::DtFloat as i32,
        tensor_shape: shape(dims),
        float_val: values.to_vec(),
        ..Default::default()
    }
}

pub fn predict(name: &str, x: TensorProto) -> PredictRequest {
    PredictRequest {
        model_spec: spec(name),
        inputs: [("x".to_string(), x)].into(),
        ..Default::default()
    }
}

pub fn output_values(t: &TensorProto) -> Vec<f32> {
    if t.tensor_content.is_empty() {
        t.float_val.clone()
    } else {
        t.tensor_content
            .chunks(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    }
}

pub fn example(x: Option<f32>) -> Example {
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

pub fn example_input(xs: &[f32]) -> Option<Input> {
    Some(Input {
        kind: Some(Kind::ExampleList(ExampleList {
            examples: xs.iter().map(|&x| example(Some(x))).collect(),
        })),
    })
}

pub fn sig_spec(sig: &str) -> Option<ModelSpec> {
    Some(ModelSpec {
        name: "half_plus_two".into(),
        signature_name: sig.into(),
        ..Default::default()
    })
}
