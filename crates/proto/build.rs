//! Generates the prost messages and tonic services from `proto/`, using the protoc binary that
//! the `protoc-bin-vendored` crate ships, so building needs neither a system protoc nor Python.
//! Also writes the encoded FileDescriptorSet that gRPC server reflection serves.

use std::path::PathBuf;

/// Every .proto file to compile, relative to `proto/`. Their imports are found by protoc; these
/// are listed so that each one gets code even if nothing imports it.
const PROTOS: &[&str] = &[
    "tensorflow_serving/apis/prediction_service.proto",
    "tensorflow_serving/apis/model_service.proto",
    "grpc/health/v1/health.proto",
    "tensorflow/core/framework/types.proto",
    "inference/grpc_service.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("proto");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);

    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    // Deterministic map order (and the same map type as tensorserve-core uses).
    config.btree_map(["."]);

    let protos: Vec<PathBuf> = PROTOS.iter().map(|p| root.join(p)).collect();
    let includes = vec![root.clone(), protoc_bin_vendored::include_path()?];

    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // TF Serving's packages nest (`tensorflow.serving` refers to `tensorflow.Example`), so
        // the generated files must be included as nested modules, not one flat include each.
        .include_file("_includes.rs")
        .file_descriptor_set_path(out_dir.join("tensorserve_descriptor.bin"))
        .compile_with_config(config, &protos, &includes)?;

    // Regenerate when any .proto changes, not only the ones listed above.
    println!("cargo:rerun-if-changed={}", root.display());
    Ok(())
}
