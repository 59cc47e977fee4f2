//! The Predict fast path (`tensorserve::grpc::fast_predict`) answers exactly what tonic's
//! generated `PredictionService` does: the same request bytes and headers go to both, in-process
//! against the real server state, and the answers (HTTP status, headers, body bytes, trailers)
//! must be identical, for good requests and for every error the fast path handles itself
//! (framing, compression, sizes, decoding) or passes through (unknown model, bad inputs).
//! Then the same cases over the network through the real listener, which serves Predict with
//! the fast path.

mod common;

use std::time::Duration;

use axum::http;
use bytes::Bytes;
use common::grpc::*;
use http_body_util::{BodyExt, Full};
use prost::Message;
use tensorserve::grpc::PredictionServiceImpl;
use tensorserve::grpc::fast_predict::{self, PREDICT_PATH};
use tensorserve_proto::MAX_MESSAGE_BYTES;
use tensorserve_proto::tensorflow::serving::PredictRequest;
use tensorserve_proto::tensorflow::serving::prediction_service_server::PredictionServiceServer;
use tensorserve_proto::tensorflow::{DataType, TensorProto};
use tower::{Service, ServiceExt};

fn framed(flag: u8, message: &[u8]) -> Vec<u8> {
    let mut out = vec![flag];
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    out
}

fn good() -> Vec<u8> {
    predict("half_plus_two", floats(&[1.0, 2.0, 5.0], &[3])).encode_to_vec()
}

/// An extra request header.
type Header = Option<(&'static str, &'static str)>;

/// (what, request body, extra header) for every case.
fn cases() -> Vec<(&'static str, Vec<u8>, Header)> {
    let mut tensor_content = TensorProto {
        dtype: DataType::DtFloat as i32,
        tensor_shape: shape(&[2, 1]),
        ..Default::default()
    };
    tensor_content.tensor_content = [1.0f32, 3.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let bad_dtype = TensorProto {
        dtype: DataType::DtInt32 as i32,
        tensor_shape: shape(&[1]),
        int_val: vec![1],
        ..Default::default()
    };
    let missing_input = PredictRequest {
        model_spec: spec("half_plus_two"),
        ..Default::default()
    };
    let mut bad_signature = predict("half_plus_two", floats(&[1.0], &[1]));
    bad_signature.model_spec.as_mut().unwrap().signature_name = "nope".into();
    let mut two_messages = framed(0, &good());
    two_messages.extend(framed(0, &good()));
    let mut bad_second = framed(0, &good());
    bad_second.extend(framed(0, &[0xff, 0xff, 0xff]));
    let whole = framed(0, &good());
    let mut oversize = vec![0u8];
    oversize.extend_from_slice(&u32::MAX.to_be_bytes());
    vec![
        ("typed floats", framed(0, &good()), None),
        (
            "tensor_content",
            framed(0, &predict("half_plus_two", tensor_content).encode_to_vec()),
            None,
        ),
        (
            "unknown model",
            framed(0, &predict("nope", floats(&[1.0], &[1])).encode_to_vec()),
            None,
        ),
        (
            "bad dtype",
            framed(0, &predict("half_plus_two", bad_dtype).encode_to_vec()),
            None,
        ),
        (
            "missing input",
            framed(0, &missing_input.encode_to_vec()),
            None,
        ),
        (
            "unknown signature",
            framed(0, &bad_signature.encode_to_vec()),
            None,
        ),
        ("two messages", two_messages, None),
        ("bad second message", bad_second, None),
        ("compressed flag", framed(1, &good()), None),
        ("invalid flag", framed(2, &good()), None),
        ("oversize length", oversize, None),
        ("cut short", whole[..whole.len() - 2].to_vec(), None),
        ("empty body", Vec::new(), None),
        ("not protobuf", framed(0, &[0xff, 0xff, 0xff]), None),
        ("empty message", framed(0, &[]), None),
        (
            "gzip encoding",
            framed(0, &good()),
            Some(("grpc-encoding", "gzip")),
        ),
        (
            "identity encoding",
            framed(0, &good()),
            Some(("grpc-encoding", "identity")),
        ),
    ]
}

fn request(body: &[u8], header: Header) -> http::Request<Full<Bytes>> {
    let mut builder = http::Request::post(format!("http://localhost{PREDICT_PATH}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if let Some((name, value)) = header {
        builder = builder.header(name, value);
    }
    builder
        .body(Full::new(Bytes::copy_from_slice(body)))
        .unwrap()
}

/// Status, headers, body and trailers of an answer.
async fn answer(
    response: http::Response<tonic::body::Body>,
) -> (
    http::StatusCode,
    http::HeaderMap,
    Bytes,
    Option<http::HeaderMap>,
) {
    let (parts, body) = response.into_parts();
    let collected = body.collect().await.expect("the body completes");
    let trailers = collected.trailers().cloned();
    (parts.status, parts.headers, collected.to_bytes(), trailers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fast_path_answers_exactly_as_tonic_does() {
    let s = start(&[]).await;
    let state = s.server.state().clone();
    let tonic_service = PredictionServiceServer::new(PredictionServiceImpl::new(state.clone()))
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    for (what, body, header) in cases() {
        let mut service = tonic_service.clone();
        let from_tonic = ServiceExt::<http::Request<Full<Bytes>>>::ready(&mut service)
            .await
            .unwrap()
            .call(request(&body, header))
            .await
            .unwrap();
        let from_tonic = answer(from_tonic).await;
        let from_fast =
            answer(fast_predict::call(state.clone(), request(&body, header)).await).await;
        assert_eq!(from_fast, from_tonic, "{what}");
        // Each case really is what its name says.
        let grpc_status = |a: &(_, http::HeaderMap, _, Option<http::HeaderMap>)| {
            a.3.as_ref()
                .and_then(|t| t.get("grpc-status"))
                .or_else(|| a.1.get("grpc-status"))
                .map(|v| v.to_str().unwrap().to_string())
        };
        let ok = matches!(
            what,
            "typed floats" | "tensor_content" | "two messages" | "identity encoding"
        );
        assert_eq!(
            grpc_status(&from_fast).as_deref() == Some("0"),
            ok,
            "{what}: {from_fast:?}"
        );
    }
}

/// The same cases through the real listener (our HTTP/2 server, the dispatch), sent as raw
/// HTTP/2 requests over a tonic `Channel` so that framing errors can be sent. Twice: first with
/// the model's work measured slow, so that calls take the waiting path (`fast_predict::run`),
/// then measured fast, so that they are answered at once (`fast_predict::answer_now`; an
/// unoptimised test build is too slow to be measured fast by itself). Both must answer exactly
/// as `fast_predict::call`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_serves_predict_through_the_fast_path() {
    let s = start(&[]).await;
    let mut channel = s.channel().await;
    let state = s.server.state().clone();
    let rounds = [
        (Duration::from_millis(5), cases()),
        (Duration::from_micros(1), cases()),
    ];
    for (measured, cases) in rounds {
        for (what, body, header) in cases {
            // As if the model's last runs took `measured` (the estimate is a moving average).
            let cost = state.admission().gate("half_plus_two");
            (0..64).for_each(|_| cost.work_cost().record(measured));
            let req = request(&body, header).map(tonic::body::Body::new);
            let response = channel.ready().await.unwrap().call(req).await.unwrap();
            let (status, headers, bytes, trailers) = {
                let (parts, body) = response.into_parts();
                let collected = body.collect().await.unwrap();
                let trailers = collected.trailers().cloned();
                (parts.status, parts.headers, collected.to_bytes(), trailers)
            };
            let expected =
                answer(fast_predict::call(state.clone(), request(&body, header)).await).await;
            assert_eq!(status, expected.0, "{what}");
            assert_eq!(bytes, expected.2, "{what}");
            assert_eq!(trailers, expected.3, "{what}");
            let mut headers = headers;
            headers.remove("date");
            assert_eq!(headers, expected.1, "{what}");
        }
    }
}
