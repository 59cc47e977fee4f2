//! TF Serving's gRPC `PredictionService/Predict`, over HTTP/2 on our own client ([`super::http2`]).
//!
//! Each [`GrpcConnection`] is one HTTP/2 connection (opened eagerly, so a server that is down
//! shows as [`ErrorKind::Connect`]), carrying one call at a time, like the HTTP target's
//! keep-alive connections. The request is encoded once and its bytes sent on every call; the
//! answer is read in full but not decoded, as the HTTP target reads a body without parsing it
//! ([`super::grpc_conn`], which also says how answers are counted: a status sent by the server
//! is [`ErrorKind::GrpcStatus`] and keeps the connection, a broken stream or connection is
//! [`ErrorKind::Io`] and replaces it).

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use prost::Message;
use tensorserve_proto::tensorflow::serving::{ModelSpec, PredictRequest};
use tensorserve_proto::tensorflow::{DataType, TensorProto, TensorShapeProto, tensor_shape_proto};

pub use super::grpc_conn::GrpcConnection;
use super::grpc_conn::{self, Template};
use super::{ErrorKind, Target};

const PREDICT_PATH: &str = "/tensorflow.serving.PredictionService/Predict";

/// What to send, as given by the user; validated by [`GrpcTarget::new`].
#[derive(Clone, Debug, PartialEq)]
pub struct GrpcSpec {
    /// `host:port` of the gRPC port (TF Serving's `--port`, 8500 by default).
    pub addr: String,
    /// The request. Its `model_spec` names the model.
    pub request: PredictRequest,
}

impl GrpcSpec {
    /// The lab's request for `model`: input `x`, the floats `[1.0, 2.0, 5.0]` (shape `[3]`), on
    /// the default signature; what `{"instances": [1.0, 2.0, 5.0]}` is over REST.
    pub fn lab(addr: impl Into<String>, model: &str, signature: Option<&str>) -> Self {
        let x = TensorProto {
            dtype: DataType::DtFloat as i32,
            tensor_shape: Some(TensorShapeProto {
                dim: vec![tensor_shape_proto::Dim {
                    size: 3,
                    name: String::new(),
                }],
                unknown_rank: false,
            }),
            float_val: vec![1.0, 2.0, 5.0],
            ..Default::default()
        };
        Self {
            addr: addr.into(),
            request: PredictRequest {
                model_spec: Some(ModelSpec {
                    name: model.to_owned(),
                    signature_name: signature.unwrap_or_default().to_owned(),
                    ..Default::default()
                }),
                inputs: [("x".to_owned(), x)].into(),
                ..Default::default()
            },
        }
    }

    /// A request read from a file holding a serialized `PredictRequest` (what Python's
    /// `request.SerializeToString()` writes). `model` and `signature`, when given, replace the
    /// file's.
    pub fn from_encoded(
        addr: impl Into<String>,
        encoded: &[u8],
        model: Option<&str>,
        signature: Option<&str>,
    ) -> Result<Self, GrpcTargetError> {
        let mut request = PredictRequest::decode(encoded).map_err(GrpcTargetError::Request)?;
        let spec = request.model_spec.get_or_insert_with(ModelSpec::default);
        if let Some(model) = model {
            model.clone_into(&mut spec.name);
        }
        if let Some(signature) = signature {
            signature.clone_into(&mut spec.signature_name);
        }
        Ok(Self {
            addr: addr.into(),
            request,
        })
    }
}

/// Why a [`GrpcSpec`] cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum GrpcTargetError {
    /// The address is not `host:port`, or does not resolve.
    #[error("cannot resolve gRPC address {addr:?} (expected host:port): {source}")]
    Resolve {
        /// The address as given.
        addr: String,
        /// The resolver's error.
        source: std::io::Error,
    },
    /// The request file is not a serialized `PredictRequest`.
    #[error("not a serialized tensorflow.serving.PredictRequest: {0}")]
    Request(prost::DecodeError),
    /// The request names no model.
    #[error("the PredictRequest names no model (use --model)")]
    NoModel,
}

/// A gRPC Predict endpoint; see the module docs.
#[derive(Clone, Debug)]
pub struct GrpcTarget {
    template: Arc<Template>,
    /// The `PredictRequest`, encoded once (tests read it back).
    #[cfg(test)]
    encoded: Vec<u8>,
    describe: String,
}

impl GrpcTarget {
    /// Validates `spec` and resolves its address once (connections reuse it).
    pub fn new(spec: &GrpcSpec) -> Result<Self, GrpcTargetError> {
        let resolve = |source| GrpcTargetError::Resolve {
            addr: spec.addr.clone(),
            source,
        };
        let host_port = spec
            .addr
            .strip_prefix("http://")
            .unwrap_or(&spec.addr)
            .trim_end_matches('/');
        let addr: SocketAddr = host_port
            .to_socket_addrs()
            .and_then(|mut addrs| {
                addrs
                    .next()
                    .ok_or_else(|| std::io::Error::other("no address"))
            })
            .map_err(resolve)?;
        let model_spec = spec.request.model_spec.clone().unwrap_or_default();
        if model_spec.name.is_empty() {
            return Err(GrpcTargetError::NoModel);
        }
        let signature = match model_spec.signature_name.as_str() {
            "" => "serving_default",
            name => name,
        };
        let describe = format!(
            "gRPC Predict {host_port} model {} signature {signature}",
            model_spec.name
        );
        let encoded = spec.request.encode_to_vec();
        let template = Template::new(
            addr,
            PREDICT_PATH,
            &encoded,
            tensorserve_proto::MAX_MESSAGE_BYTES,
        );
        Ok(Self {
            template: Arc::new(template),
            #[cfg(test)]
            encoded,
            describe,
        })
    }
}

impl Target for GrpcTarget {
    type Conn = GrpcConnection;

    async fn connect(&self) -> Result<GrpcConnection, ErrorKind> {
        grpc_conn::connect(Arc::clone(&self.template)).await
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_request_and_validation() {
        let spec = GrpcSpec::lab("127.0.0.1:8500", "half_plus_two", None);
        let target = GrpcTarget::new(&spec).unwrap();
        assert_eq!(
            target.describe(),
            "gRPC Predict 127.0.0.1:8500 model half_plus_two signature serving_default"
        );
        let sent = PredictRequest::decode(target.encoded.as_slice()).unwrap();
        assert_eq!(sent, spec.request);
        assert_eq!(sent.inputs["x"].float_val, [1.0, 2.0, 5.0]);

        let encoded = spec.request.encode_to_vec();
        let other = GrpcSpec::from_encoded("h:1", &encoded, Some("m"), Some("s")).unwrap();
        let model_spec = other.request.model_spec.as_ref().unwrap();
        assert_eq!(
            (model_spec.name.as_str(), model_spec.signature_name.as_str()),
            ("m", "s")
        );
        assert_eq!(other.request.inputs, spec.request.inputs);

        assert!(matches!(
            GrpcSpec::from_encoded("h:1", b"\xff\xff", None, None),
            Err(GrpcTargetError::Request(_))
        ));
        let nameless = GrpcSpec::from_encoded("127.0.0.1:1", &[], None, None).unwrap();
        assert!(matches!(
            GrpcTarget::new(&nameless),
            Err(GrpcTargetError::NoModel)
        ));
        assert!(matches!(
            GrpcTarget::new(&GrpcSpec::lab("no-port", "m", None)),
            Err(GrpcTargetError::Resolve { .. })
        ));
    }
}
