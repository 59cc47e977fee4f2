//! Bodies between the `h2` crate and `http_body`: [`RecvBody`] reads a request's DATA and
//! trailers from an [`h2::RecvStream`] as an [`http_body::Body`](Body) (what tonic's services
//! take), and [`send_body`] writes a response body's frames to an [`h2::SendStream`] within the
//! peer's flow-control window. The parts of hyper's HTTP/2 server that did this for us, minus
//! what gRPC does not use (CONNECT, BDP window probing).

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use h2::{Reason, RecvStream, SendStream};
use hyper::body::{Body, Frame};

/// A request body read from an HTTP/2 stream.
///
/// Each DATA chunk's bytes are handed back to the connection's receive window as soon as the
/// chunk is taken, so the peer may send more while the caller works through it; the caller
/// bounds what it keeps (gRPC's message size limit). The `content-length` check, when the
/// request has one, is h2's own.
pub struct RecvBody {
    stream: RecvStream,
    data_done: bool,
}

impl RecvBody {
    /// The body of a request `stream`.
    pub fn new(stream: RecvStream) -> RecvBody {
        RecvBody {
            stream,
            data_done: false,
        }
    }
}

impl Body for RecvBody {
    type Data = Bytes;
    type Error = h2::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, h2::Error>>> {
        if !self.data_done {
            match ready!(self.stream.poll_data(cx)) {
                Some(Ok(data)) => {
                    // Only fails once the stream is closed, which the next poll reports.
                    let _ = self.stream.flow_control().release_capacity(data.len());
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => self.data_done = true,
            }
        }
        match ready!(self.stream.poll_trailers(cx)) {
            Ok(Some(trailers)) => Poll::Ready(Some(Ok(Frame::trailers(trailers)))),
            Ok(None) => Poll::Ready(None),
            Err(e) => Poll::Ready(Some(Err(e))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.stream.is_end_stream()
    }
}

/// Why a response body stopped before its end.
#[derive(Debug)]
pub enum SendError {
    /// The peer reset the stream (the call was cancelled).
    Reset(Reason),
    /// The connection failed under the stream.
    H2(h2::Error),
    /// The body itself failed; the stream was reset with INTERNAL_ERROR.
    Body(Box<dyn std::error::Error + Send + Sync>),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Reset(reason) => write!(f, "reset by the client ({reason})"),
            SendError::H2(e) => write!(f, "{e}"),
            SendError::Body(e) => write!(f, "the body failed: {e}"),
        }
    }
}

impl From<h2::Error> for SendError {
    fn from(e: h2::Error) -> SendError {
        SendError::H2(e)
    }
}

/// Sends `body` on `tx` frame by frame: DATA within the stream's send capacity, then the
/// trailers (or an empty end-of-stream DATA frame if the body has none).
///
/// Stops as soon as the peer resets the stream, dropping the body, so that a cancelled
/// server-streaming call (health `Watch`, reflection) frees its producer. Capacity is asked
/// for one byte at a time, only once a chunk is in hand, as hyper does: claiming a chunk's whole
/// length up front can starve other streams of a shared connection window.
pub async fn send_body<B>(body: B, tx: &mut SendStream<Bytes>) -> Result<(), SendError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut body = std::pin::pin!(body);
    loop {
        let frame = poll_fn(|cx| {
            if let Poll::Ready(reason) = tx.poll_reset(cx)? {
                return Poll::Ready(Err(SendError::Reset(reason)));
            }
            body.as_mut().poll_frame(cx).map(Ok)
        })
        .await?;
        let frame = match frame {
            None => return Ok(tx.send_data(Bytes::new(), true)?),
            Some(Err(e)) => {
                tx.send_reset(Reason::INTERNAL_ERROR);
                return Err(SendError::Body(e.into()));
            }
            Some(Ok(frame)) => frame,
        };
        let frame = match frame.into_data() {
            Ok(data) => {
                let end = body.is_end_stream();
                if !data.is_empty() {
                    tx.reserve_capacity(1);
                    wait_for_capacity(tx).await?;
                }
                tx.send_data(data, end)?;
                if end {
                    return Ok(());
                }
                continue;
            }
            Err(frame) => frame,
        };
        if let Ok(trailers) = frame.into_trailers() {
            tx.reserve_capacity(0);
            return Ok(tx.send_trailers(trailers)?);
        }
        // Some other kind of frame: nothing to send.
    }
}

/// Waits until the stream may send at least one byte, or the peer resets it.
async fn wait_for_capacity(tx: &mut SendStream<Bytes>) -> Result<(), SendError> {
    poll_fn(|cx| {
        loop {
            if let Poll::Ready(reason) = tx.poll_reset(cx)? {
                return Poll::Ready(Err(SendError::Reset(reason)));
            }
            if tx.capacity() > 0 {
                return Poll::Ready(Ok(()));
            }
            match ready!(tx.poll_capacity(cx)) {
                Some(Ok(_)) => {}
                Some(Err(e)) => return Poll::Ready(Err(e.into())),
                None => return Poll::Ready(Err(SendError::Reset(Reason::CANCEL))),
            }
        }
    })
    .await
}
