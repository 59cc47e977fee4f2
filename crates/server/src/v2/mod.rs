//! The Open Inference Protocol (KServe V2, also Triton's): what KServe, Triton and MLServer
//! clients speak, served beside TF Serving's API on the same ports (docs/v2-protocol.md).
//!
//! The protocol-independent part lives here: datatypes ([`datatype`]), an inference call
//! ([`infer`]), server and model metadata and readiness ([`metadata`]). The transports only
//! translate: [`rest`] (JSON on the REST port, `/v2/...`, bodies in [`json`]).
//! [`grpc`] serves `inference.GRPCInferenceService` on the gRPC port (docs/v2-grpc.md). Tensor
//! elements as typed protobuf fields or raw little-endian buffers ([`contents`]) serve gRPC and
//! REST's binary tensor data alike.

pub mod contents;
pub mod datatype;
pub mod grpc;
pub mod infer;
pub mod json;
pub mod metadata;
pub mod rest;
