//! The plain HTTP/1.1 path: a REST connection's requests are read and answered here for as long
//! as each is a plain `/v1` request ([`head`]), and handed to hyper, with whatever was already
//! read, from the first one that is not.
//!
//! Why: for `half_plus_two` hyper's per-request machinery — the request's header map and URI,
//! boxing the body, collecting it, the response's header map and body box, the adaptive read
//! buffer — was about a third of the server's user-space instructions (~11k of 31k by
//! callgrind), as much as the model and the JSON together (~11k; docs/performance.md, "REST
//! hot path, fourth pass"). A plain request needs
//! none of it: its head is parsed in place with the parser hyper uses, its body is copied out of
//! the read buffer (shared with it when large), and a 200 answer is written straight into one
//! reused buffer. Everything with other framing or semantics (chunked bodies, `Expect`,
//! `Connection` other than `keep-alive`, HTTP/1.0, gzip, `HEAD`, `OPTIONS`, other routes,
//! malformed requests) stays hyper's, so there is one HTTP implementation for the cases that are
//! hard to get right.
//!
//! The connection keeps the listener's rules: the idle watchdog closes it after a quiet period
//! (a half-sent request goes to hyper, which gets one more period to finish it, as before; an
//! answer the client leaves unread for a whole period ends the connection), and when the server
//! shuts down an in-flight request is answered before it closes.

mod head;
mod prefixed;
mod response;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

pub(super) use prefixed::prefixed;

use super::idle::{Activity, idle_for};
use super::{BodySource, RestService, add_cors, answer_v1};
use head::Head;

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 8 * 1024;

/// Bodies up to this size are copied out of the read buffer (cheaper than sharing it, which
/// allocates); larger ones are shared.
const COPY_BODY_UP_TO: usize = 16 * 1024;

/// Buffers that grew past this for one request are replaced after it.
const KEEP_BUFFER_UP_TO: usize = 64 * 1024;

/// How a connection left the plain path.
pub(super) enum Outcome {
    /// It is closed (by the peer, an error, the idle watchdog or shutdown).
    Closed,
    /// hyper takes it from here, reading these bytes first.
    ToHyper(Bytes),
}

/// Serves plain requests on `stream` until it closes or a request is not plain.
pub(super) async fn serve(
    stream: &mut TcpStream,
    service: &RestService,
    closing: &mut watch::Receiver<bool>,
    watched: Option<&(Arc<Activity>, Duration)>,
) -> Outcome {
    let state = service.state();
    let body_limit = state.config().max_request_body_bytes;
    let metrics_path = state.config().metrics_path.as_deref();
    let cors = state.config().cors;
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut out = Vec::with_capacity(1024);
    // One watchdog for the connection's life (its timer ticks a few times a period), polled
    // only while waiting for bytes.
    let idle = async {
        match watched {
            Some((activity, limit)) => idle_for(activity, *limit).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(idle);
    loop {
        // Answer every whole request already read (pipelined ones included).
        loop {
            let plain = match head::parse(&buf, body_limit, metrics_path) {
                Head::Partial => break,
                Head::Other => return Outcome::ToHyper(buf.freeze()),
                Head::Plain(plain) => plain,
            };
            let end = plain.head_len + plain.body_len;
            if buf.len() < end {
                break;
            }
            let in_flight = watched.map(|(activity, _)| activity.begin());
            let started = Instant::now();
            // A large body is shared with the buffer rather than copied out of it (sharing
            // allocates, so small ones are copied); the buffer then starts after it.
            let taken = (plain.body_len > COPY_BODY_UP_TO).then(|| buf.split_to(end).freeze());
            let (request, body) = match &taken {
                Some(whole) => (&whole[..], whole.slice(plain.head_len..end)),
                None => (&buf[..], Bytes::copy_from_slice(&buf[plain.head_len..end])),
            };
            let target = std::str::from_utf8(&request[plain.target.clone()]).expect("ASCII target");
            out.clear();
            match answer_v1(
                state,
                &plain.method,
                target,
                BodySource::Ready(body),
                started,
            )
            .await
            {
                Ok(json) => response::write_json_ok(&mut out, &json, cors),
                Err(e) => {
                    let mut answer = axum::response::IntoResponse::into_response(e);
                    if cors {
                        add_cors(&mut answer);
                    }
                    response::write_response(&mut out, answer).await;
                }
            }
            if taken.is_none() {
                // Moves the start only: the buffer stays one unshared allocation.
                buf.advance(end);
            }
            // The request is over for the watchdog once its answer is made; a client that then
            // reads none of it for a whole idle period is dropped (the write would wait forever).
            drop(in_flight);
            let written = tokio::select! {
                biased;
                written = stream.write_all(&out) => written.is_ok(),
                _ = &mut idle => false,
            };
            if !written {
                return Outcome::Closed;
            }
            // A large request or answer must not pin its buffer for the connection's life.
            if out.capacity() > KEEP_BUFFER_UP_TO {
                out = Vec::with_capacity(1024);
            }
            if buf.capacity() > KEEP_BUFFER_UP_TO {
                let rest = BytesMut::from(&buf[..]);
                buf = rest;
            }
            if *closing.borrow() {
                return Outcome::Closed;
            }
        }
        if buf.capacity() - buf.len() < READ_CHUNK / 2 {
            buf.reserve(READ_CHUNK);
        }
        tokio::select! {
            biased;
            read = stream.read_buf(&mut buf) => match read {
                Ok(0) | Err(_) => return Outcome::Closed,
                Ok(_) => {}
            },
            _ = closing.wait_for(|c| *c) => return quiet_or_hyper(buf),
            _ = &mut idle => return quiet_or_hyper(buf),
        }
    }
}

/// Closes a connection between requests; one with a request half read goes to hyper, which
/// finishes it under the shutdown or idle rules of [`super::serve`].
fn quiet_or_hyper(buf: BytesMut) -> Outcome {
    if buf.is_empty() {
        Outcome::Closed
    } else {
        Outcome::ToHyper(buf.freeze())
    }
}
