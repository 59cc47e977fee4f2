//! The gRPC port on the wire: HTTP/2 (RFC 9113) and HPACK (RFC 7541) as a correct server must
//! speak them, checked frame by frame with a raw client (`common::h2raw`) against the real
//! listener serving the bundled half_plus_two. The cases follow h2spec's server cases: the
//! handshake, well-formed requests in every framing the protocol allows, each kind of protocol
//! error with the error code and scope (stream or connection) the RFC requires, flow control
//! both ways, and graceful shutdown.
//!
//! Assertions accept whatever the RFC allows (e.g. a stream or a connection error where both
//! are permitted), never one implementation's incidental choices, so the same suite checks any
//! HTTP/2 server behind the port. See docs/http2-wire-tests.md.

mod common;

#[path = "grpc_http2_wire/connection_errors.rs"]
mod connection_errors;
#[path = "grpc_http2_wire/flow_control.rs"]
mod flow_control;
#[path = "grpc_http2_wire/handshake.rs"]
mod handshake;
#[path = "grpc_http2_wire/lifecycle.rs"]
mod lifecycle;
#[path = "grpc_http2_wire/malformed.rs"]
mod malformed;
#[path = "grpc_http2_wire/requests.rs"]
mod requests;
#[path = "grpc_http2_wire/stream_errors.rs"]
mod stream_errors;

use common::grpc::GrpcServer;

/// The gRPC-only server on the bundled model every case talks to.
async fn server() -> GrpcServer {
    common::grpc::start(&[]).await
}
