//! One gRPC call on one HTTP/2 stream: Predict through [`fast_predict`], written to the stream
//! directly (headers, one DATA frame, trailers); every other path through tonic's generated
//! services, whose response body is pumped to the stream by [`send_body`].
//!
//! Around both: the `grpc-timeout` deadline ([`Deadline`]) on producing the answer, and the
//! peer's RST_STREAM, which drops the call's future (a cancelled call stops its work) as hyper's
//! server did.
//!
//! The call's future is pinned once, in place, and the deadline and reset are polled beside it
//! ([`run_call`]) instead of in futures that wrap it: each wrapping async layer would hold its
//! own copy of the call's state, and the stream's future is moved into a box before its first
//! poll ([`super::inline_executor`]), so its size is copied on every call.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::task::Poll;
use std::time::Duration;

use axum::http::{HeaderValue, Request, Response, header};
use bytes::Bytes;
use h2::server::SendResponse;
use h2::{Reason, RecvStream};
use hyper::body::Body;
use tower::Service;

use super::deadline::{Deadline, grpc_timeout};
use super::fast_predict::{self, Answer, PREDICT_PATH};
use super::h2_body::{RecvBody, send_body};
use crate::state::AppState;

/// Where each stream goes: Predict to the fast path over `state`, the rest to tonic's routes.
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

    /// Serves the call that arrived as `request`, answering on `respond`.
    pub async fn serve(self, request: Request<RecvStream>, mut respond: SendResponse<Bytes>) {
        let timeout = grpc_timeout(request.headers());
        let request = request.map(RecvBody::new);
        if request.uri().path() == PREDICT_PATH {
            let call = pin!(fast_predict::answer(self.state, request));
            let answer = match run_call(&mut respond, call, timeout).await {
                Some(Ok(answer)) => answer,
                Some(Err(status)) => Answer::Refused(status),
                None => return,
            };
            if let Err(e) = send_answer(answer, &mut respond) {
                tracing::debug!("gRPC answer not sent: {e}");
            }
        } else {
            let mut routes = self.routes;
            let call = pin!(routes.call(request));
            let response = match run_call(&mut respond, call, timeout).await {
                Some(Ok(Ok(response))) => response,
                Some(Ok(Err(never))) => match never {},
                Some(Err(status)) => status.into_http(),
                None => return,
            };
            send_response(response, &mut respond).await;
        }
    }
}

/// Runs `call` until it finishes, its deadline passes (`Some(Err)`: DEADLINE_EXCEEDED), or the
/// peer resets the stream (`None`: the call's future is dropped unfinished, nothing is sent).
fn run_call<'a, F: Future>(
    respond: &'a mut SendResponse<Bytes>,
    mut call: Pin<&'a mut F>,
    timeout: Option<Duration>,
) -> impl Future<Output = Option<Result<F::Output, tonic::Status>>> + 'a {
    let mut deadline = Deadline::start(timeout);
    poll_fn(move |cx| {
        if let Poll::Ready(output) = call.as_mut().poll(cx) {
            return Poll::Ready(Some(Ok(output)));
        }
        if let Some(deadline) = &mut deadline
            && let Poll::Ready(status) = deadline.poll_expired(cx)
        {
            return Poll::Ready(Some(Err(status)));
        }
        match respond.poll_reset(cx) {
            Poll::Ready(reason) => {
                tracing::debug!("gRPC stream reset by the client: {reason:?}");
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    })
}

/// Writes a Predict answer: the same frames as [`Answer::into_response`]'s body would give.
fn send_answer(answer: Answer, respond: &mut SendResponse<Bytes>) -> Result<(), h2::Error> {
    let status = match answer {
        Answer::Refused(status) => {
            respond.send_response(status.into_http(), true)?;
            return Ok(());
        }
        Answer::Message(data) => {
            let mut tx = respond.send_response(answer_head(), false)?;
            tx.send_data(data, false)?;
            return tx.send_trailers(Answer::trailers(None));
        }
        Answer::Failed(status) => status,
    };
    let mut tx = respond.send_response(answer_head(), false)?;
    tx.send_trailers(Answer::trailers(Some(&status)))
}

fn answer_head() -> Response<()> {
    let mut head = Response::new(());
    *head.headers_mut() = fast_predict::answer_headers();
    head
}

/// Writes one of tonic's responses: the head, then the body frame by frame.
async fn send_response(response: Response<tonic::body::Body>, respond: &mut SendResponse<Bytes>) {
    let (parts, body) = response.into_parts();
    let mut head = Response::from_parts(parts, ());
    let end = body.is_end_stream();
    if !end && let Some(len) = body.size_hint().exact() {
        // As hyper's server: a body of known length gets a content-length.
        head.headers_mut()
            .entry(header::CONTENT_LENGTH)
            .or_insert_with(|| HeaderValue::from(len));
    }
    let mut tx = match respond.send_response(head, end) {
        Ok(tx) => tx,
        Err(e) => {
            tracing::debug!("gRPC response not sent: {e}");
            respond.send_reset(Reason::INTERNAL_ERROR);
            return;
        }
    };
    if !end && let Err(e) = send_body(body, &mut tx).await {
        tracing::debug!("gRPC response body not sent: {e}");
    }
}
