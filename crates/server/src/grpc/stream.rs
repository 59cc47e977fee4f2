//! Where each gRPC call goes ([`Dispatch`], the listener's [`tensorserve_http2::Service`]):
//! Predict to [`fast_predict`] with its body read whole and its answer written as headers, one
//! DATA frame and trailers; every other path to tonic's generated services, whose response
//! body the connection pulls frame by frame.
//!
//! Around both: the `grpc-timeout` deadline ([`Deadline`]) on producing the answer. The peer's
//! RST_STREAM drops the call's future (a cancelled call stops its work), as hyper's server did:
//! the connection owns each call and aborts it with its stream.
//!
//! Bodies: unary methods get theirs whole (so a fast model's call finishes at its first poll,
//! inline in the connection's task); server reflection is bidirectional streaming, and its
//! client waits for each answer before the next request, so it reads its body as it arrives.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::Full;
use tensorserve_http2::{Delivery, Fields, Refusal, RequestBody, RequestHead, Response};
use tensorserve_proto::MAX_MESSAGE_BYTES;
use tower::Service;

use super::deadline::{Deadline, parse_grpc_timeout};
use super::fast_predict::{self, Answer, PREDICT_PATH};
use crate::state::AppState;

/// A call as the connection holds it: answered already (a Predict that ran at once, see
/// [`fast_predict::answer_now`]: no future was built, boxed or moved), or in progress.
// The ready answer is kept in place: it is what the inline path hands over without an
// allocation.
#[allow(clippy::large_enum_variant)]
pub enum Call {
    /// The answer, taken by the one poll.
    Ready(Option<Response<tonic::body::Body>>),
    /// A call that waits somewhere (admission, the blocking pool, a batch, tonic's routes).
    Running(Pin<Box<dyn Future<Output = Response<tonic::body::Body>> + Send>>),
}

impl Future for Call {
    type Output = Response<tonic::body::Body>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut *self {
            Call::Ready(response) => {
                Poll::Ready(response.take().expect("a call is polled until ready, once"))
            }
            Call::Running(call) => call.as_mut().poll(cx),
        }
    }
}

/// The largest request body read whole: one message of the largest size and its prefix
/// (a unary call carries one message; tonic refuses larger ones the same way).
const MAX_WHOLE_BODY: usize = MAX_MESSAGE_BYTES + 5;

/// Paths whose calls stream their request bodies.
const STREAMING_PREFIX: &[u8] = b"/grpc.reflection.";

const GRPC_HEADERS: &[(&str, &str)] = &[("content-type", "application/grpc")];
const GRPC_OK: &[(&str, &str)] = &[("grpc-status", "0")];

/// Where each call goes: Predict to the fast path over `state`, the rest to tonic's routes.
#[derive(Clone)]
pub struct Dispatch {
    state: AppState,
    routes: tonic::service::Routes,
}

impl Dispatch {
    /// Serves `routes`, with Predict answered by [`fast_predict`] over `state`.
    pub fn new(state: AppState, routes: tonic::service::Routes) -> Dispatch {
        Dispatch { state, routes }
    }
}

impl tensorserve_http2::Service for Dispatch {
    type Body = tonic::body::Body;
    type Call = Call;

    fn delivery(&self, head: &RequestHead) -> Delivery {
        if head.path().starts_with(STREAMING_PREFIX) {
            return Delivery::Streaming;
        }
        // A body still arriving at the deadline is refused with DEADLINE_EXCEEDED, as a call
        // still running then would be.
        let deadline = head
            .get("grpc-timeout")
            .and_then(parse_grpc_timeout)
            .map(Deadline::fire_after);
        Delivery::Whole {
            limit: MAX_WHOLE_BODY,
            deadline,
        }
    }

    fn call(&self, head: RequestHead, body: RequestBody) -> Call {
        // Read where a call may wait: an answer given at once never needs it.
        let timeout = |head: &RequestHead| head.get("grpc-timeout").and_then(parse_grpc_timeout);
        if head.path() == PREDICT_PATH.as_bytes()
            && let RequestBody::Whole(body) = body
        {
            let request =
                match fast_predict::answer_now(&self.state, head.get("grpc-encoding"), body) {
                    Ok(answer) => return Call::Ready(Some(answer_response(answer))),
                    Err(request) => request,
                };
            let state = self.state.clone();
            let timeout = timeout(&head);
            return Call::Running(Box::pin(async move {
                match within_deadline(fast_predict::run(state, request), timeout).await {
                    Ok(answer) => answer_response(answer),
                    Err(status) => trailers_only(status),
                }
            }));
        }
        let mut routes = self.routes.clone();
        let timeout = timeout(&head);
        Call::Running(Box::pin(async move {
            let body = match body {
                RequestBody::Whole(bytes) => tonic::body::Body::new(Full::new(bytes)),
                RequestBody::Streaming(body) => tonic::body::Body::new(body),
            };
            let request = match head.into_request(body) {
                Ok(request) => request,
                Err(e) => {
                    tracing::debug!("gRPC request refused: {e}");
                    return trailers_only(tonic::Status::internal(format!(
                        "malformed request: {e}"
                    )));
                }
            };
            match within_deadline(routes.call(request), timeout).await {
                Ok(Ok(response)) => Response::Streaming(response),
                Ok(Err(never)) => match never {},
                Err(status) => trailers_only(status),
            }
        }))
    }

    fn refuse(&self, head: &RequestHead, why: Refusal) -> Response<tonic::body::Body> {
        trailers_only(match why {
            Refusal::TooLarge => tonic::Status::out_of_range(format!(
                "Error, decoded message length too large: the request body is over {MAX_WHOLE_BODY} bytes"
            )),
            Refusal::Deadline => {
                let timeout = head
                    .get("grpc-timeout")
                    .and_then(parse_grpc_timeout)
                    .unwrap_or_default();
                Deadline::exceeded(timeout)
            }
        })
    }
}

/// Runs `call` until it finishes or its deadline passes (`Err`: DEADLINE_EXCEEDED).
///
/// The call is pinned in place and the deadline polled beside it, instead of in a future
/// wrapping it that would hold its own copy of the call's state.
async fn within_deadline<F: Future>(
    call: F,
    timeout: Option<Duration>,
) -> Result<F::Output, tonic::Status> {
    let mut call = pin!(call);
    let mut deadline = Deadline::start(timeout);
    poll_fn(move |cx| {
        if let Poll::Ready(output) = call.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
        }
        if let Some(deadline) = &mut deadline
            && let Poll::Ready(status) = deadline.poll_expired(cx)
        {
            return Poll::Ready(Err(status));
        }
        Poll::Pending
    })
    .await
}

/// A Predict answer as frames: the same as [`Answer::into_response`]'s.
fn answer_response(answer: Answer) -> Response<tonic::body::Body> {
    match answer {
        Answer::Refused(status) => trailers_only(status),
        Answer::Message(data) => Response::Complete {
            status: 200,
            headers: Fields::Static(GRPC_HEADERS),
            data: Some(data),
            trailers: Some(Fields::Static(GRPC_OK)),
        },
        Answer::Failed(status) => Response::Complete {
            status: 200,
            headers: Fields::Static(GRPC_HEADERS),
            data: None,
            trailers: Some(Fields::Map(Answer::trailers(Some(&status)))),
        },
    }
}

/// A status alone, as tonic sends it: one HEADERS frame ending the stream.
fn trailers_only(status: tonic::Status) -> Response<tonic::body::Body> {
    let (parts, _) = status.into_http::<tonic::body::Body>().into_parts();
    Response::Complete {
        status: parts.status.as_u16(),
        headers: Fields::Map(parts.headers),
        data: None,
        trailers: None,
    }
}
