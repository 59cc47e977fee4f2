//! What the application gives the connection ([`Service`]) and what a call returns
//! ([`Response`]).
//!
//! A request's body is delivered either whole, once the stream has ended ([`Delivery::Whole`]:
//! unary gRPC calls, so that a call can be answered within its first poll), or as it arrives
//! ([`Delivery::Streaming`]: streaming calls, whose client may wait for an answer before it
//! sends more).

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;

use crate::body::RecvBody;
use crate::head::RequestHead;

/// A boxed error, as `http_body` bodies report them.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How a request's body reaches its call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Gathered until the stream ends, at most `limit` bytes and for at most `deadline`;
    /// past either, [`Service::refuse`] answers instead and the rest of the body is refused.
    Whole {
        /// The most bytes gathered.
        limit: usize,
        /// How long the body may take to arrive.
        deadline: Option<Duration>,
    },
    /// A [`RecvBody`] the call reads as data arrives.
    Streaming,
}

/// Why a [`Delivery::Whole`] body was not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// It passed its `limit`.
    TooLarge,
    /// It had not ended by its `deadline`.
    Deadline,
}

/// A request's body as delivered.
pub enum RequestBody {
    /// The whole body ([`Delivery::Whole`]).
    Whole(Bytes),
    /// The body as it arrives ([`Delivery::Streaming`]).
    Streaming(RecvBody),
}

/// Header fields of a response: a fixed list (no map built per call) or a map.
#[derive(Debug, Clone)]
pub enum Fields {
    /// Names (lowercase) and values known at compile time.
    Static(&'static [(&'static str, &'static str)]),
    /// A map built for this answer.
    Map(HeaderMap),
}

/// A call's answer.
pub enum Response<B> {
    /// Everything at once: the head, at most one DATA frame's worth of data (split as the
    /// peer's frame size requires), and trailers. No data and no trailers: the head ends the
    /// stream (a gRPC "trailers-only" response).
    Complete {
        /// The HTTP status.
        status: u16,
        /// The head's fields.
        headers: Fields,
        /// The body's bytes.
        data: Option<Bytes>,
        /// The trailers, ending the stream.
        trailers: Option<Fields>,
    },
    /// A head and a body pulled frame by frame, as the peer's flow-control window allows.
    Streaming(http::Response<B>),
}

/// The application behind a connection.
pub trait Service: Send + 'static {
    /// A streaming response's body.
    type Body: http_body::Body<Data = Bytes, Error: Into<BoxError>> + Send + Unpin + 'static;
    /// A call in progress (boxed by the service if need be: the connection polls it in place
    /// and may move it into a task of its own).
    type Call: Future<Output = Response<Self::Body>> + Send + Unpin + 'static;

    /// How `head`'s body is to be delivered.
    fn delivery(&self, head: &RequestHead) -> Delivery;

    /// Starts the call for a request.
    fn call(&self, head: RequestHead, body: RequestBody) -> Self::Call;

    /// The answer to a [`Delivery::Whole`] request whose body did not arrive within its limits.
    fn refuse(&self, head: &RequestHead, why: Refusal) -> Response<Self::Body>;
}
