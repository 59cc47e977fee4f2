//! A hand-written unary path for `/tensorflow.serving.PredictionService/Predict`, taken
//! before tonic's router: read the length-prefixed request frames, decode them with prost
//! (as `tensorserve_proto::predict_wire`'s entry types: no map of protos built), run
//! [`super::predict::predict_now`] (a fast model: no future at all, [`answer_now`]) or
//! [`super::predict::predict`], encode the answer into one buffer; the listener writes it to
//! the stream as headers, one DATA frame and the trailers ([`Answer`]).
//!
//! It answers exactly what tonic's generated service does (same checks in the same order, same
//! statuses and messages; `grpc_fast_predict` tests compare the two paths byte for byte), with
//! less work per call: no router, no boxed handler future, no `Streaming` decoder or
//! `EncodeBody` stream. What tonic does, and this module mirrors:
//!
//! * a `grpc-encoding` other than `identity` is UNIMPLEMENTED (no compression is enabled);
//! * each frame's compressed flag must be 0 (1 without `grpc-encoding` is INTERNAL, anything
//!   else is INTERNAL too) and its length at most [`MAX_MESSAGE_BYTES`] (OUT_OF_RANGE), checked
//!   as soon as the 5-byte prefix has arrived (on the listener the body is gathered whole
//!   first, up to that limit: `tensorserve_http2::Delivery::Whole`);
//! * the first message is the request; later ones are decoded and dropped, and a decode error
//!   anywhere is INTERNAL; no message at all is INTERNAL "Missing request message.", and a
//!   partial frame at the end "Unexpected EOF decoding stream.";
//! * an answer over [`MAX_MESSAGE_BYTES`] ends with OUT_OF_RANGE in the trailers;
//! * errors before the answer is ready are trailers-only responses (`Status::into_http`);
//!   a message that does not decode gets prost's error for `PredictRequest`, as tonic's.
//!
//! The `grpc-timeout` deadline is applied around this path by [`super::deadline`], as around
//! tonic's routes, and metrics are recorded by the same [`super::record`] as the tonic handler.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::http::{HeaderMap, HeaderValue, Request, Response, header};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame};
use prost::Message;
use tensorserve_proto::MAX_MESSAGE_BYTES;
use tensorserve_proto::predict_wire::PredictRequestEntries;
use tensorserve_proto::tensorflow::serving::PredictRequest;
use tonic::{Code, Status};

use super::{predict, record, spec_name, tensor_encoding};
use crate::metrics::Api;
use crate::state::AppState;

/// The method this path serves.
pub const PREDICT_PATH: &str = "/tensorflow.serving.PredictionService/Predict";

/// gRPC's message prefix: the compressed flag and a big-endian length.
const PREFIX: usize = 5;

const GRPC_CONTENT_TYPE: HeaderValue = HeaderValue::from_static("application/grpc");

/// Serves one Predict call, as an HTTP response (what tonic's service returns).
pub async fn call<B>(state: AppState, request: Request<B>) -> Response<tonic::body::Body>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    answer(state, request).await.into_response()
}

/// How a Predict call ends; the listener writes it to its HTTP/2 stream directly
/// ([`super::stream`]), [`call`] turns it into a response.
#[derive(Debug)]
pub enum Answer {
    /// Refused before an answer was computed: a trailers-only response (`Status::into_http`).
    Refused(Status),
    /// The answer: headers, one data frame with this framed message, `grpc-status: 0`.
    Message(Bytes),
    /// The answer could not be sent (too large): headers, no data, this status as trailers.
    Failed(Status),
}

impl Answer {
    /// The same answer as an HTTP response.
    pub fn into_response(self) -> Response<tonic::body::Body> {
        let body = match self {
            Answer::Refused(status) => return status.into_http(),
            Answer::Message(data) => UnaryBody::message(data),
            Answer::Failed(status) => UnaryBody::trailers_only(status),
        };
        let mut response = Response::new(tonic::body::Body::new(body));
        *response.headers_mut() = answer_headers();
        response
    }

    /// The trailers that end an [`Answer::Message`] (`None`: `grpc-status: 0`) or an
    /// [`Answer::Failed`] (its status).
    pub fn trailers(status: Option<&Status>) -> HeaderMap {
        let Some(status) = status else {
            let mut trailers = HeaderMap::with_capacity(1);
            trailers.insert("grpc-status", HeaderValue::from_static("0"));
            return trailers;
        };
        let mut trailers = HeaderMap::with_capacity(2);
        if let Err(e) = status.add_header(&mut trailers) {
            // Only a message that cannot be a header value gets here; ours are ASCII.
            trailers.clear();
            let _ = Status::internal(e.message().to_string()).add_header(&mut trailers);
        }
        trailers
    }
}

/// The headers of an answer that is not refused.
pub fn answer_headers() -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(1);
    headers.insert(header::CONTENT_TYPE, GRPC_CONTENT_TYPE);
    headers
}

/// Serves one Predict call.
pub async fn answer<B>(state: AppState, request: Request<B>) -> Answer
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if let Err(status) =
        check_encoding(request.headers().get("grpc-encoding").map(|v| v.as_bytes()))
    {
        return Answer::Refused(status);
    }
    match read_request(request.into_body(), MAX_MESSAGE_BYTES).await {
        Ok(message) => run(state, message).await,
        Err(status) => Answer::Refused(status),
    }
}

/// Serves one Predict call whose body has been read whole (the listener's path), right now
/// if nothing would wait ([`predict::predict_now`]): refusals, and answers of fast models.
/// Otherwise the decoded request comes back, for [`run`] to serve as a future.
/// `encoding` is the request's `grpc-encoding`.
// The request comes back by value: boxing it would add an allocation to the slow path for
// nothing (it is moved once, into the call's future).
#[allow(clippy::result_large_err)]
pub fn answer_now(
    state: &AppState,
    encoding: Option<&[u8]>,
    body: Bytes,
) -> Result<Answer, PredictRequestEntries> {
    if let Err(status) = check_encoding(encoding) {
        return Ok(Answer::Refused(status));
    }
    let message = match read_whole(body, MAX_MESSAGE_BYTES) {
        Ok(message) => message,
        Err(status) => return Ok(Answer::Refused(status)),
    };
    let started = Instant::now();
    let name = spec_name(message.model_spec.as_ref());
    let result = predict::predict_now(state, tensor_encoding(state), message)?;
    Ok(finish(&name, started, result))
}

/// Serves a decoded Predict request, waiting where it must (admission queue, blocking pool,
/// batches).
pub async fn run(state: AppState, message: PredictRequestEntries) -> Answer {
    let started = Instant::now();
    let name = spec_name(message.model_spec.as_ref());
    let result = predict::predict(&state, tensor_encoding(&state), message).await;
    finish(&name, started, result)
}

/// Records the call's metrics and frames its answer.
fn finish(
    name: &str,
    started: Instant,
    result: Result<impl Message, tensorserve_core::Status>,
) -> Answer {
    match record(Api::Predict, name, started, result) {
        Ok(answer) => encode(&answer, MAX_MESSAGE_BYTES),
        Err(status) => Answer::Refused(status),
    }
}

/// `grpc-encoding`: only `identity` (or none) is accepted, as tonic does with no compression
/// enabled, and the error names the encodings we accept.
fn check_encoding(value: Option<&[u8]>) -> Result<(), Status> {
    let Some(value) = value else {
        return Ok(());
    };
    if value == b"identity" {
        return Ok(());
    }
    let name = match std::str::from_utf8(value) {
        Ok(s) => s.to_string(),
        Err(_) => format!("{value:?}"),
    };
    let mut status = Status::unimplemented(format!(
        "Content is compressed with `{name}` which isn't supported"
    ));
    status.metadata_mut().insert(
        "grpc-accept-encoding",
        tonic::metadata::MetadataValue::from_static("identity"),
    );
    Err(status)
}

/// Reads the whole request body and returns its first message; later messages are decoded
/// (their errors count) and dropped.
async fn read_request<B>(body: B, limit: usize) -> Result<PredictRequestEntries, Status>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut body = std::pin::pin!(body);
    let mut frames = FrameReader::new(limit);
    let mut first = None;
    loop {
        while let Some(bytes) = frames.next_message()? {
            let message = decode_request(bytes)?;
            first.get_or_insert(message);
        }
        match body.frame().await {
            Some(Ok(frame)) => {
                // Request trailers would become metadata in tonic; Predict reads none.
                if let Ok(data) = frame.into_data() {
                    frames.push(data);
                }
            }
            Some(Err(e)) => {
                let status = Status::from_error(e.into());
                // As tonic: a cancelled request body ends the stream rather than failing it.
                if status.code() != Code::Cancelled {
                    return Err(status);
                }
                break;
            }
            None => break,
        }
    }
    frames.finish()?;
    first.ok_or_else(|| Status::internal("Missing request message."))
}

/// One request message, its inputs as entries (`tensorserve_proto::predict_wire`: no map of
/// protos built); a message that does not decode is decoded again as `PredictRequest` for the
/// error tonic would report.
fn decode_request(bytes: Bytes) -> Result<PredictRequestEntries, Status> {
    PredictRequestEntries::decode(bytes.clone()).map_err(|_| {
        let error = PredictRequest::decode(bytes)
            .err()
            .map_or_else(|| "invalid PredictRequest".to_string(), |e| e.to_string());
        Status::internal(error)
    })
}

/// [`read_request`] for a body already read whole.
fn read_whole(body: Bytes, limit: usize) -> Result<PredictRequestEntries, Status> {
    let mut frames = FrameReader::new(limit);
    frames.push(body);
    let mut first = None;
    while let Some(bytes) = frames.next_message()? {
        let message = decode_request(bytes)?;
        first.get_or_insert(message);
    }
    frames.finish()?;
    first.ok_or_else(|| Status::internal("Missing request message."))
}

/// Splits gRPC's length-prefixed messages out of the body's bytes as they arrive.
///
/// A unary request usually arrives as one DATA chunk holding the whole message: its messages
/// are then sliced out of that chunk (`pending`) without a copy. Only bytes that span chunks
/// are gathered in `buf`. At most one of the two holds bytes at a time.
struct FrameReader {
    pending: Bytes,
    buf: BytesMut,
    /// The current message's length once its prefix has been read.
    body_len: Option<usize>,
    limit: usize,
}

impl FrameReader {
    fn new(limit: usize) -> FrameReader {
        FrameReader {
            pending: Bytes::new(),
            buf: BytesMut::new(),
            body_len: None,
            limit,
        }
    }

    fn push(&mut self, data: Bytes) {
        if self.buf.is_empty() && self.pending.is_empty() {
            self.pending = data;
            return;
        }
        if !self.pending.is_empty() {
            self.buf
                .extend_from_slice(&std::mem::take(&mut self.pending));
        }
        self.buf.extend_from_slice(&data);
    }

    fn available(&self) -> usize {
        self.pending.len() + self.buf.len()
    }

    /// The next complete message, checking each prefix as soon as it is in.
    fn next_message(&mut self) -> Result<Option<Bytes>, Status> {
        if self.body_len.is_none() {
            if self.available() < PREFIX {
                return Ok(None);
            }
            let (flag, len) = if self.pending.is_empty() {
                (self.buf.get_u8(), self.buf.get_u32())
            } else {
                (self.pending.get_u8(), self.pending.get_u32())
            };
            match flag {
                0 => {}
                1 => {
                    return Err(Status::internal(
                        "protocol error: received message with compressed-flag but no grpc-encoding was specified",
                    ));
                }
                f => {
                    return Err(Status::internal(format!(
                        "protocol error: received message with invalid compression flag: {f} (valid flags are 0 and 1), while sending request"
                    )));
                }
            }
            let len = len as usize;
            if len > self.limit {
                return Err(Status::out_of_range(format!(
                    "Error, decoded message length too large: found {len} bytes, the limit is: {} bytes",
                    self.limit
                )));
            }
            self.body_len = Some(len);
        }
        match self.body_len {
            Some(len) if self.available() >= len => {
                self.body_len = None;
                if self.pending.is_empty() {
                    Ok(Some(self.buf.split_to(len).freeze()))
                } else {
                    Ok(Some(self.pending.split_to(len)))
                }
            }
            _ => Ok(None),
        }
    }

    /// At the end of the body: bytes of an unfinished message are an error.
    fn finish(&self) -> Result<(), Status> {
        if self.available() == 0 {
            Ok(())
        } else {
            Err(Status::internal("Unexpected EOF decoding stream."))
        }
    }
}

/// The answer's one message, framed, or OUT_OF_RANGE if it is over `limit`.
fn encode(answer: &impl Message, limit: usize) -> Answer {
    let len = answer.encoded_len();
    if len > limit {
        return Answer::Failed(Status::out_of_range(format!(
            "Error, encoded message length too large: found {len} bytes, the limit is: {limit} bytes"
        )));
    }
    let mut buf = BytesMut::with_capacity(PREFIX + len);
    buf.put_u8(0);
    buf.put_u32(len as u32);
    answer
        .encode(&mut buf)
        .expect("the buffer was sized by encoded_len");
    Answer::Message(buf.freeze())
}

/// A unary answer's body: at most one data frame, then the trailers.
struct UnaryBody {
    data: Option<Bytes>,
    trailers: Option<HeaderMap>,
}

impl UnaryBody {
    fn message(data: Bytes) -> UnaryBody {
        UnaryBody {
            data: Some(data),
            trailers: Some(Answer::trailers(None)),
        }
    }

    fn trailers_only(status: Status) -> UnaryBody {
        UnaryBody {
            data: None,
            trailers: Some(Answer::trailers(Some(&status))),
        }
    }
}

impl Body for UnaryBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(data) = self.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        Poll::Ready(self.trailers.take().map(|t| Ok(Frame::trailers(t))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none() && self.trailers.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::Full;
    use tensorserve_proto::tensorflow::serving::PredictResponse;

    fn frame(flag: u8, message: &[u8]) -> Vec<u8> {
        let mut out = vec![flag];
        out.extend_from_slice(&(message.len() as u32).to_be_bytes());
        out.extend_from_slice(message);
        out
    }

    fn request_bytes() -> Vec<u8> {
        PredictRequest {
            output_filter: vec!["y".into()],
            ..Default::default()
        }
        .encode_to_vec()
    }

    async fn read(bytes: Vec<u8>, limit: usize) -> Result<PredictRequestEntries, Status> {
        read_request(Full::new(Bytes::from(bytes)), limit).await
    }

    #[tokio::test]
    async fn reads_the_first_message_and_checks_the_rest() {
        let one = frame(0, &request_bytes());
        assert_eq!(read(one.clone(), 100).await.unwrap().output_filter, ["y"]);

        let mut two = one.clone();
        two.extend(frame(0, &[]));
        assert_eq!(read(two, 100).await.unwrap().output_filter, ["y"]);

        let mut bad_second = one.clone();
        bad_second.extend(frame(0, &[0xff, 0xff]));
        assert_eq!(
            read(bad_second, 100).await.unwrap_err().code(),
            Code::Internal
        );

        let e = read(Vec::new(), 100).await.unwrap_err();
        assert_eq!(
            (e.code(), e.message()),
            (Code::Internal, "Missing request message.")
        );

        let e = read(one[..one.len() - 1].to_vec(), 100).await.unwrap_err();
        assert_eq!(
            (e.code(), e.message()),
            (Code::Internal, "Unexpected EOF decoding stream.")
        );
    }

    /// The body delivered in chunks of `size` bytes, as DATA frames may split it.
    async fn read_chunked(bytes: Vec<u8>, size: usize) -> Result<PredictRequestEntries, Status> {
        let chunks: Vec<Result<Frame<Bytes>, Infallible>> = bytes
            .chunks(size)
            .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))))
            .collect();
        let body = http_body_util::StreamBody::new(tokio_stream::iter(chunks));
        read_request(body, 100).await
    }

    #[tokio::test]
    async fn messages_split_across_chunks_are_gathered() {
        let mut two = frame(0, &request_bytes());
        two.extend(frame(0, &[]));
        for size in [1, 2, 3, 5, 7, two.len() - 1] {
            let read = read_chunked(two.clone(), size).await;
            assert_eq!(read.unwrap().output_filter, ["y"], "chunks of {size}");
        }
        let one = frame(0, &request_bytes());
        let e = read_chunked(one[..one.len() - 1].to_vec(), 3)
            .await
            .unwrap_err();
        assert_eq!(e.message(), "Unexpected EOF decoding stream.");
        let e = read_chunked(frame(0, &[0; 200]), 2).await.unwrap_err();
        assert_eq!(e.code(), Code::OutOfRange);
    }

    #[tokio::test]
    async fn checks_flags_and_lengths_from_the_prefix() {
        let e = read(frame(1, &request_bytes()), 100).await.unwrap_err();
        assert_eq!(e.code(), Code::Internal);
        assert!(e.message().contains("compressed-flag"), "{}", e.message());

        let e = read(frame(7, &request_bytes()), 100).await.unwrap_err();
        assert!(
            e.message().contains("invalid compression flag: 7"),
            "{}",
            e.message()
        );

        // Only the prefix is sent: the length alone is refused.
        let e = read(vec![0, 0, 0, 1, 0], 100).await.unwrap_err();
        assert_eq!(e.code(), Code::OutOfRange);
        assert_eq!(
            e.message(),
            "Error, decoded message length too large: found 256 bytes, the limit is: 100 bytes"
        );
    }

    #[tokio::test]
    async fn answers_carry_the_message_then_grpc_status() {
        let answer = PredictResponse::default();
        let response = encode(&answer, 100).into_response();
        assert_eq!(response.headers()["content-type"], "application/grpc");
        let collected = response.into_body().collect().await.unwrap();
        assert_eq!(collected.trailers().unwrap()["grpc-status"], "0");
        assert_eq!(collected.to_bytes().as_ref(), &[0, 0, 0, 0, 0]);

        let answer = PredictResponse {
            outputs: [("y".to_string(), Default::default())].into(),
            ..Default::default()
        };
        let response = encode(&answer, 2).into_response();
        let collected = response.into_body().collect().await.unwrap();
        let trailers = collected.trailers().unwrap().clone();
        assert_eq!(trailers["grpc-status"], "11");
        assert!(collected.to_bytes().is_empty());
    }

    #[test]
    fn only_identity_encoding_is_accepted() {
        assert!(check_encoding(None).is_ok());
        assert!(check_encoding(Some(b"identity")).is_ok());
        let e = check_encoding(Some(b"gzip")).unwrap_err();
        assert_eq!(e.code(), Code::Unimplemented);
        assert_eq!(
            e.message(),
            "Content is compressed with `gzip` which isn't supported"
        );
    }
}
