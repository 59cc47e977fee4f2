//! gRPC server reflection (what `grpcurl list` and `grpcurl describe` use), over the descriptors
//! this crate was generated from.

pub use tonic_reflection;

use tonic_reflection::server::Builder;

use crate::FILE_DESCRIPTOR_SET;

/// A reflection service builder that already knows every message and service of this crate.
///
/// By default it advertises all services in the set, the health service included; a server
/// that does not serve them all names the ones it does with `with_service_name`, then calls
/// `build_v1()` (and `build_v1alpha()` for older clients).
pub fn builder() -> Builder<'static> {
    Builder::configure().register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    #[test]
    fn descriptor_set_has_services_and_well_known_imports() {
        let set = prost_types::FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).unwrap();
        let names: Vec<&str> = set.file.iter().map(|f| f.name()).collect();
        for expected in [
            "tensorflow_serving/apis/prediction_service.proto",
            "tensorflow_serving/apis/model_service.proto",
            "grpc/health/v1/health.proto",
            "inference/grpc_service.proto",
            "google/protobuf/any.proto",
            "google/protobuf/wrappers.proto",
        ] {
            assert!(
                names.contains(&expected),
                "{expected} missing from {names:?}"
            );
        }
        let services: Vec<String> = set
            .file
            .iter()
            .flat_map(|f| {
                f.service
                    .iter()
                    .map(move |s| format!("{}.{}", f.package(), s.name()))
            })
            .collect();
        assert_eq!(services.len(), 4, "{services:?}");
        assert!(services.contains(&"tensorflow.serving.PredictionService".to_string()));
        assert!(services.contains(&"inference.GRPCInferenceService".to_string()));
    }

    #[test]
    fn reflection_services_build() {
        builder().build_v1().unwrap();
        builder()
            .with_service_name("tensorflow.serving.PredictionService")
            .build_v1alpha()
            .unwrap();
    }
}
