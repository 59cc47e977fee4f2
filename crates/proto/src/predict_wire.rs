//! `PredictRequest` and `PredictResponse` as they are on the wire: their tensor maps as the
//! repeated `(key = 1, value = 2)` entries a protobuf map is encoded as, each tensor boxed.
//!
//! Why: prost's generated types hold those maps as `BTreeMap<String, TensorProto>`. A
//! `TensorProto` is ~450 bytes, so a map's first leaf (room for eleven) is a ~5 kB allocation,
//! twice per Predict call (request and response), large enough that glibc consolidates its
//! free lists each time, and the protos are moved in and out of the leaves. With these types a
//! call allocates one small vector and one box per tensor (docs/grpc-performance.md).
//!
//! The bytes are the same both ways: [`PredictRequestEntries`] decodes exactly what
//! `PredictRequest` decodes (the same fields and tags; a map's repeated key keeps its last entry
//! and a missing value is the default, which [`PredictRequestEntries::into_inputs`] applies),
//! and [`PredictResponseEntries`] encodes byte for byte what `PredictResponse` encodes (tests
//! below). Decode errors name these types rather than `PredictRequest`: callers that report
//! them decode the bytes as `PredictRequest` again for its message.

mod response;

pub use response::PredictOutputs;

use crate::tensorflow::TensorProto;
use crate::tensorflow::serving::{
    ModelSpec, PredictRequest, PredictResponse, PredictStreamedOptions, predict_request,
};

/// One map entry: an alias and its tensor.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct TensorEntry {
    /// The alias.
    #[prost(string, tag = "1")]
    pub key: String,
    /// The tensor; `None` when absent on the wire (the map's default).
    #[prost(message, optional, boxed, tag = "2")]
    pub value: Option<Box<TensorProto>>,
}

/// `PredictRequest` with `inputs` as entries.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct PredictRequestEntries {
    /// `PredictRequest.model_spec`.
    #[prost(message, optional, tag = "1")]
    pub model_spec: Option<ModelSpec>,
    /// `PredictRequest.inputs`, entry by entry as sent.
    #[prost(message, repeated, tag = "2")]
    pub inputs: Vec<TensorEntry>,
    /// `PredictRequest.output_filter`.
    #[prost(string, repeated, tag = "3")]
    pub output_filter: Vec<String>,
    /// `PredictRequest.predict_streamed_options` (decoded so that its errors count).
    #[prost(message, optional, tag = "5")]
    pub predict_streamed_options: Option<PredictStreamedOptions>,
    /// `PredictRequest.client_id`.
    #[prost(bytes = "vec", optional, tag = "6")]
    pub client_id: Option<Vec<u8>>,
    /// `PredictRequest.request_options`.
    #[prost(message, optional, tag = "7")]
    pub request_options: Option<predict_request::RequestOptions>,
}

/// `PredictResponse` with `outputs` as entries.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct PredictResponseEntries {
    /// `PredictResponse.outputs`, sorted by alias (the map's order).
    #[prost(message, repeated, tag = "1")]
    pub outputs: Vec<TensorEntry>,
    /// `PredictResponse.model_spec`.
    #[prost(message, optional, tag = "2")]
    pub model_spec: Option<ModelSpec>,
}

/// A request's inputs as its map holds them: sorted by alias, each alias once.
pub type Inputs = Vec<(String, Box<TensorProto>)>;

impl PredictRequestEntries {
    /// The inputs with the map's meaning: sorted by alias, the last entry of a repeated alias
    /// kept, a missing tensor the default one.
    pub fn into_inputs(inputs: Vec<TensorEntry>) -> Inputs {
        let mut inputs: Inputs = inputs
            .into_iter()
            .map(|e| (e.key, e.value.unwrap_or_default()))
            .collect();
        // Stable, so equal aliases keep their wire order; then the last of each run stays.
        inputs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut kept: Inputs = Vec::with_capacity(inputs.len());
        for entry in inputs {
            match kept.last_mut() {
                Some(last) if last.0 == entry.0 => *last = entry,
                _ => kept.push(entry),
            }
        }
        kept
    }

    /// The same request with its map (the tonic handler's type).
    pub fn from_request(request: PredictRequest) -> PredictRequestEntries {
        let PredictRequest {
            model_spec,
            inputs,
            output_filter,
            predict_streamed_options,
            client_id,
            request_options,
        } = request;
        PredictRequestEntries {
            model_spec,
            inputs: inputs
                .into_iter()
                .map(|(key, value)| TensorEntry {
                    key,
                    value: Some(Box::new(value)),
                })
                .collect(),
            output_filter,
            predict_streamed_options,
            client_id,
            request_options,
        }
    }
}

impl PredictResponseEntries {
    /// An output entry as the map would encode it: no value when the tensor is the default.
    pub fn entry(key: String, value: TensorProto) -> TensorEntry {
        let value = is_written(&value).then(|| Box::new(value));
        TensorEntry { key, value }
    }

    /// The same response with its map (the tonic handler's type).
    pub fn into_response(self) -> PredictResponse {
        PredictResponse {
            model_spec: self.model_spec,
            outputs: self
                .outputs
                .into_iter()
                .map(|e| (e.key, e.value.map(|v| *v).unwrap_or_default()))
                .collect(),
        }
    }
}

/// Whether a map entry writes its value: not when it equals the default. The cheap fields are
/// looked at first, since a converted tensor always has a dtype and a shape.
fn is_written(proto: &TensorProto) -> bool {
    proto.dtype != 0 || proto.tensor_shape.is_some() || *proto != TensorProto::default()
}

#[cfg(test)]
mod tests;
