//! gRPC over the raw HTTP/2 client ([`super::h2raw`]): a Predict call's header fields and
//! length-prefixed body, and reading and checking the server's answer frame by frame.

use std::collections::HashMap;

use prost::Message;
use tensorserve_proto::tensorflow::serving::PredictResponse;

use super::grpc::{floats, output_values, predict};
use super::h2raw::{Conn, End, Event, GOAWAY, RST_STREAM, goaway_text};

pub const PREDICT_PATH: &str = "/tensorflow.serving.PredictionService/Predict";

/// A Predict request's header fields, in order.
pub fn predict_fields() -> Vec<(&'static str, &'static str)> {
    vec![
        (":method", "POST"),
        (":scheme", "http"),
        (":path", PREDICT_PATH),
        (":authority", "localhost"),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
    ]
}

/// A gRPC-framed Predict of `xs` (shape `[len]`) on half_plus_two.
pub fn predict_body(xs: &[f32]) -> Vec<u8> {
    let message = predict("half_plus_two", floats(xs, &[xs.len() as i64])).encode_to_vec();
    let mut body = vec![0u8];
    body.extend_from_slice(&(message.len() as u32).to_be_bytes());
    body.extend_from_slice(&message);
    body
}

/// What half_plus_two answers for `xs`.
pub fn expected(xs: &[f32]) -> Vec<f32> {
    xs.iter().map(|x| x / 2.0 + 2.0).collect()
}

/// `count` distinct inputs.
pub fn inputs(count: usize) -> Vec<f32> {
    (0..count).map(|i| (i % 1000) as f32).collect()
}

/// One stream's answer as read off the wire.
#[derive(Debug, Default)]
pub struct Answer {
    pub headers: Vec<(String, String)>,
    pub data: Vec<u8>,
    /// Each DATA frame's payload length (padding included).
    pub data_frames: Vec<usize>,
    pub trailers: Option<Vec<(String, String)>>,
    /// The code of a RST_STREAM that ended the stream.
    pub reset: Option<u32>,
    pub ended: bool,
}

pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

impl Answer {
    pub fn status(&self) -> Option<&str> {
        field(&self.headers, ":status")
    }

    /// `grpc-status`, from the trailers or a trailers-only response's headers.
    pub fn grpc_status(&self) -> Option<&str> {
        self.trailers
            .as_deref()
            .and_then(|t| field(t, "grpc-status"))
            .or_else(|| field(&self.headers, "grpc-status"))
    }

    /// Adds one of this stream's events: HEADERS, DATA or RST_STREAM.
    pub fn absorb(&mut self, event: Event) {
        assert!(
            !self.ended,
            "a frame after the end of the stream: {event:?}"
        );
        match event {
            Event::Headers {
                fields, end_stream, ..
            } => {
                if self.headers.is_empty() {
                    self.headers = fields;
                } else {
                    assert!(end_stream, "trailers without END_STREAM");
                    self.trailers = Some(fields);
                }
                self.ended = end_stream;
            }
            Event::Data {
                data,
                flow_len,
                end_stream,
                ..
            } => {
                assert!(!self.headers.is_empty(), "DATA before HEADERS");
                self.data.extend_from_slice(&data);
                self.data_frames.push(flow_len);
                self.ended = end_stream;
            }
            Event::Frame(f) => {
                assert_eq!(f.ty, RST_STREAM, "not a stream event: {f:?}");
                self.reset = Some(f.u32_at(0));
                self.ended = true;
            }
        }
    }

    /// Flow-controlled bytes received so far (padding included).
    pub fn flow_bytes(&self) -> usize {
        self.data_frames.iter().sum()
    }

    /// Checks a successful Predict answer (status 200, gRPC content type, one message,
    /// `grpc-status: 0` in trailers that end the stream) and returns its `y` output.
    pub fn predict_output(&self) -> Vec<f32> {
        assert_eq!(self.reset, None, "stream reset: {self:?}");
        assert_eq!(self.status(), Some("200"), "{self:?}");
        let content_type = field(&self.headers, "content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("application/grpc"),
            "content-type {content_type:?}"
        );
        let trailers = self.trailers.as_deref().expect("trailers");
        assert_eq!(field(trailers, "grpc-status"), Some("0"), "{trailers:?}");
        assert!(self.data.len() >= 5, "no gRPC message: {self:?}");
        assert_eq!(self.data[0], 0, "compressed flag");
        let len = u32::from_be_bytes(self.data[1..5].try_into().unwrap()) as usize;
        assert_eq!(
            self.data.len(),
            5 + len,
            "one message, as long as its prefix says"
        );
        let response = PredictResponse::decode(&self.data[5..]).expect("a PredictResponse");
        output_values(&response.outputs["y"])
    }
}

/// Reads until every stream in `streams` has ended (END_STREAM or RST_STREAM). Events of other
/// streams are ignored; a GOAWAY or a closed connection fails the test.
pub async fn read_answers(conn: &mut Conn, streams: &[u32]) -> HashMap<u32, Answer> {
    let mut answers: HashMap<u32, Answer> =
        streams.iter().map(|&s| (s, Answer::default())).collect();
    while answers.values().any(|a| !a.ended) {
        let event = conn.next().await;
        let stream = match &event {
            Ok(Event::Headers { stream, .. }) | Ok(Event::Data { stream, .. }) => *stream,
            Ok(Event::Frame(f)) if f.ty == RST_STREAM => f.stream,
            Ok(Event::Frame(f)) if f.ty == GOAWAY => {
                panic!("{} while waiting for {streams:?}", goaway_text(f))
            }
            Ok(_) => continue,
            Err(End::Closed) => panic!("connection closed while waiting for {streams:?}"),
            Err(End::Timeout) => panic!("no answer on {streams:?}: {answers:?}"),
        };
        let Some(answer) = answers.get_mut(&stream) else {
            continue;
        };
        answer.absorb(event.unwrap());
    }
    answers
}

/// Reads `stream`'s answer.
pub async fn read_answer(conn: &mut Conn, stream: u32) -> Answer {
    read_answers(conn, &[stream]).await.remove(&stream).unwrap()
}

/// A whole Predict of `xs` on `stream` (one HEADERS, the body within the windows), its answer
/// checked and returned.
pub async fn predict_on(conn: &mut Conn, stream: u32, xs: &[f32]) -> Vec<f32> {
    conn.send_headers(stream, &predict_fields(), false).await;
    conn.send_data(stream, &predict_body(xs), true).await;
    read_answer(conn, stream).await.predict_output()
}
