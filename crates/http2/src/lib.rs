//! A small HTTP/2 server (RFC 9113) for tensorserve's gRPC listener.
//!
//! Why our own: with the `h2` crate, its per-request bookkeeping (frames moved through several
//! queues, a `HeaderMap` and `Uri` built for every request, header names re-checked on every
//! block) cost more instructions than a whole REST request on our plain HTTP/1 path
//! (docs/grpc-performance.md). This crate does what a gRPC server needs and no more, on one
//! task per connection, with buffers it reuses.
//!
//! * [`hpack`]: header compression (RFC 7541), decoder and encoder.

pub mod hpack;
