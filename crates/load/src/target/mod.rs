//! What a run sends requests to.
//!
//! A [`Target`] opens [`Connection`]s; the runner gives each worker one connection and calls it
//! once per request. Everything protocol-specific (building the request, reading the whole
//! answer, telling success from failure) lives behind these two traits: [`http::HttpTarget`]
//! (REST, or any URL) and [`grpc::GrpcTarget`] (TF Serving's gRPC Predict) share the runner.

pub mod grpc;
mod grpc_conn;
pub mod http;
mod http2;
mod inline;

use std::fmt;
use std::future::Future;

/// A factory of connections to one endpoint. Shared by all workers of a run.
pub trait Target: Send + Sync + 'static {
    /// One connection; used by one worker at a time, one request at a time.
    type Conn: Connection;

    /// Opens a connection. Failures are reported as [`ErrorKind::Connect`] (or
    /// [`ErrorKind::Io`] for a failed protocol handshake).
    fn connect(&self) -> impl Future<Output = Result<Self::Conn, ErrorKind>> + Send;

    /// One line for reports, e.g. `POST http://127.0.0.1:8501/v1/models/half_plus_two:predict`.
    fn describe(&self) -> String;
}

/// An open connection able to send the target's request again and again.
pub trait Connection: Send + 'static {
    /// Sends one request and reads the whole answer. `Ok(())` is a success. After an error for
    /// which [`ErrorKind::keeps_connection`] is false, the runner drops the connection and opens
    /// a new one for the next request.
    fn call(&mut self) -> impl Future<Output = Result<(), ErrorKind>> + Send;

    /// Whether the next request may go on this connection. `false` when the server said it is
    /// closing it (an HTTP/2 GOAWAY): the runner then opens a new one first, without counting
    /// an error, as gRPC's channels move to a new transport.
    fn accepts_calls(&self) -> bool {
        true
    }
}

/// Why a request did not succeed. Ordered so reports list them in a stable order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// The server answered with a non-2xx HTTP status.
    HttpStatus(u16),
    /// The server answered with a gRPC status other than OK (for gRPC targets).
    GrpcStatus(i32),
    /// The connection could not be opened.
    Connect,
    /// The connection failed while sending or receiving (reset, closed early, protocol error).
    Io,
    /// No complete answer within `--timeout`.
    Timeout,
    /// Open loop only: the request was never sent, since `--max-outstanding` requests were
    /// already queued or in flight when it was due.
    Dropped,
}

impl ErrorKind {
    /// Whether the connection is still usable after this error (a well-formed error answer).
    pub fn keeps_connection(self) -> bool {
        matches!(self, ErrorKind::HttpStatus(_) | ErrorKind::GrpcStatus(_))
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::HttpStatus(code) => write!(f, "HTTP {code}"),
            ErrorKind::GrpcStatus(code) => write!(f, "gRPC status {code}"),
            ErrorKind::Connect => f.write_str("connect"),
            ErrorKind::Io => f.write_str("connection error"),
            ErrorKind::Timeout => f.write_str("timeout"),
            ErrorKind::Dropped => f.write_str("dropped (over --max-outstanding)"),
        }
    }
}
