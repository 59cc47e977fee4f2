//! A small HTTP/2 server (RFC 9113) for tensorserve's gRPC listener.
//!
//! Why our own: with the `h2` crate, its per-request bookkeeping (frames moved through several
//! queues, a `HeaderMap` and `Uri` built for every request, header names re-checked on every
//! block) cost more instructions than a whole REST request on our plain HTTP/1 path
//! (docs/grpc-performance.md). This crate does what a gRPC server needs and no more: one task
//! per connection, buffers it reuses, unary calls answered inline (docs/http2.md).
//!
//! * [`conn::serve`] drives one connection for a [`Service`];
//! * [`hpack`]: header compression (RFC 7541);
//! * [`frame`]: the frame layer (also used by `tensorserve-load`'s client); [`head`]: request heads; [`body`]: streaming request bodies.

pub mod body;
pub mod conn;
pub mod frame;
pub mod head;
pub mod hpack;
pub mod service;

pub use body::{RecvBody, StreamReset};
pub use conn::{Config, serve};
pub use frame::Reason;
pub use head::RequestHead;
pub use service::{BoxError, Delivery, Fields, Refusal, RequestBody, Response, Service};
