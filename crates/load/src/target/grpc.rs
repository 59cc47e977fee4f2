//! TF Serving's gRPC `PredictionService/Predict`, over tonic.
//!
//! Each [`GrpcConnection`] is one HTTP/2 connection (a tonic `Channel` connected eagerly, so a
//! server that is down shows as [`ErrorKind::Connect`]), carrying one call at a time, like the
//! HTTP target's keep-alive connections. The request is encoded once and its bytes sent on every
//! call; the answer is read in full but not decoded, as the HTTP target reads a body without
//! parsing it ([`super::grpc_codec`]). A status sent by the server (trailers) is
//! [`ErrorKind::GrpcStatus`] and keeps the connection; a status made by tonic from a transport
//! failure (it has a source error) is [`ErrorKind::Io`] and replaces it.

use std::error::Error as _;
use std::net::{SocketAddr, ToSocketAddrs};

use bytes::Bytes;
use prost::Message;
use tensorserve_proto::tensorflow::serving::{ModelSpec, PredictRequest};
use tensorserve_proto::tensorflow::{DataType, TensorProto, TensorShapeProto, tensor_shape_proto};
use tonic::client::Grpc;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Channel, Endpoint};

use super::grpc_codec::RawCodec;
use super::{Connection, ErrorKind, Target};

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
    endpoint: Endpoint,
    /// The `PredictRequest`, encoded once.
    encoded: Bytes,
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
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|e| resolve(std::io::Error::other(e)))?
            // Requests are small and answered one at a time: never wait for Nagle.
            .tcp_nodelay(true);
        let signature = match model_spec.signature_name.as_str() {
            "" => "serving_default",
            name => name,
        };
        let describe = format!(
            "gRPC Predict {host_port} model {} signature {signature}",
            model_spec.name
        );
        Ok(Self {
            endpoint,
            encoded: spec.request.encode_to_vec().into(),
            describe,
        })
    }
}

impl Target for GrpcTarget {
    type Conn = GrpcConnection;

    async fn connect(&self) -> Result<GrpcConnection, ErrorKind> {
        let channel = self
            .endpoint
            .connect()
            .await
            .map_err(|_| ErrorKind::Connect)?;
        Ok(GrpcConnection {
            client: Grpc::new(channel)
                .max_decoding_message_size(tensorserve_proto::MAX_MESSAGE_BYTES),
            request: self.encoded.clone(),
        })
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }
}

/// One HTTP/2 connection to the gRPC port.
#[derive(Debug)]
pub struct GrpcConnection {
    client: Grpc<Channel>,
    /// The encoded `PredictRequest`.
    request: Bytes,
}

impl Connection for GrpcConnection {
    async fn call(&mut self) -> Result<(), ErrorKind> {
        // A Channel is always ready once connected; this only fails if it is gone.
        self.client.ready().await.map_err(|_| ErrorKind::Io)?;
        let request = tonic::Request::new(self.request.clone());
        let path = PathAndQuery::from_static(PREDICT_PATH);
        match self.client.unary(request, path, RawCodec).await {
            Ok(_) => Ok(()),
            Err(status) => Err(error_kind(&status)),
        }
    }
}

/// A status the server sent (no source error) or one tonic made from a failed transport.
fn error_kind(status: &tonic::Status) -> ErrorKind {
    if status.source().is_some() {
        ErrorKind::Io
    } else {
        ErrorKind::GrpcStatus(status.code() as i32)
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
        let sent = PredictRequest::decode(target.encoded.clone()).unwrap();
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

    #[test]
    fn server_statuses_keep_the_connection_transport_failures_do_not() {
        let sent = tonic::Status::not_found("no model");
        assert_eq!(error_kind(&sent), ErrorKind::GrpcStatus(5));
        assert!(error_kind(&sent).keeps_connection());
        let broken = tonic::Status::from_error(Box::new(std::io::Error::other("reset")));
        assert_eq!(error_kind(&broken), ErrorKind::Io);
    }
}
