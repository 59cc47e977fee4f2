//! The connection driver against an independent client (the `h2` crate's), over an in-memory
//! pipe, with a small test service: answers inline and from tasks, bodies gathered whole and
//! streamed (with flow control in both directions past the default windows), refusals at a
//! body's limit and deadline, a reset cancelling its call, panicking calls, streaming answers
//! with trailers, and graceful shutdown.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Request};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, StreamBody};
use tensorserve_http2::{
    BoxError, Config, Delivery, Fields, Refusal, RequestBody, RequestHead, Response, Service,
};
use tokio::sync::watch;

type TestBody = BoxBody<Bytes, BoxError>;

/// Set when the `/slow` call starts.
static SLOW_STARTED: AtomicBool = AtomicBool::new(false);

/// Set when the `/hang` call is dropped.
static HANG_DROPPED: AtomicBool = AtomicBool::new(false);

struct DropFlag;
impl Drop for DropFlag {
    fn drop(&mut self) {
        HANG_DROPPED.store(true, Ordering::SeqCst);
    }
}

struct Test;

fn complete(data: Bytes) -> Response<TestBody> {
    Response::Complete {
        status: 200,
        headers: Fields::Static(&[("content-type", "application/test")]),
        data: Some(data),
        trailers: Some(Fields::Static(&[("done", "yes")])),
    }
}

impl Service for Test {
    type Body = TestBody;
    type Call = Pin<Box<dyn Future<Output = Response<TestBody>> + Send>>;

    fn delivery(&self, head: &RequestHead) -> Delivery {
        match head.path() {
            b"/stream" => Delivery::Streaming,
            b"/small" => Delivery::Whole {
                limit: 10,
                deadline: None,
            },
            b"/deadline" => Delivery::Whole {
                limit: 1 << 20,
                deadline: Some(Duration::from_millis(100)),
            },
            _ => Delivery::Whole {
                limit: 8 << 20,
                deadline: None,
            },
        }
    }

    fn call(&self, head: RequestHead, body: RequestBody) -> Self::Call {
        let path = head.path().to_vec();
        Box::pin(async move {
            match (&path[..], body) {
                (b"/echo" | b"/small", RequestBody::Whole(data)) => complete(data),
                (b"/later", RequestBody::Whole(data)) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    complete(data)
                }
                (b"/slow", RequestBody::Whole(data)) => {
                    SLOW_STARTED.store(true, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    complete(data)
                }
                (b"/big", _) => complete(Bytes::from(vec![7u8; 300_000])),
                (b"/stream", RequestBody::Streaming(body)) => {
                    let data = body.collect().await.unwrap().to_bytes();
                    complete(data)
                }
                (b"/hang", _) => {
                    let _flag = DropFlag;
                    std::future::pending::<()>().await;
                    unreachable!()
                }
                (b"/panic", _) => panic!("the call panics"),
                (b"/panic-later", _) => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    panic!("the call panics in its task")
                }
                (b"/chunks", _) => {
                    let mut trailers = HeaderMap::new();
                    trailers.insert("end", "1".parse().unwrap());
                    let frames: Vec<Result<http_body::Frame<Bytes>, BoxError>> = vec![
                        Ok(http_body::Frame::data(Bytes::from_static(b"one "))),
                        Ok(http_body::Frame::data(Bytes::from(vec![b'x'; 100_000]))),
                        Ok(http_body::Frame::trailers(trailers)),
                    ];
                    let body = StreamBody::new(tokio_stream::iter(frames));
                    Response::Streaming(http::Response::new(BoxBody::new(body)))
                }
                _ => Response::Complete {
                    status: 404,
                    headers: Fields::Static(&[]),
                    data: None,
                    trailers: None,
                },
            }
        })
    }

    fn refuse(&self, _head: &RequestHead, why: Refusal) -> Response<TestBody> {
        let mut headers = HeaderMap::new();
        headers.insert("refused", format!("{why:?}").parse().unwrap());
        Response::Complete {
            status: 200,
            headers: Fields::Map(headers),
            data: None,
            trailers: None,
        }
    }
}

/// A connection served in the background; the client's send half and the shutdown switch.
async fn connect() -> (h2::client::SendRequest<Bytes>, watch::Sender<bool>) {
    connect_with(h2::client::Builder::new()).await
}

/// [`connect`] with the client's settings chosen.
async fn connect_with(
    builder: h2::client::Builder,
) -> (h2::client::SendRequest<Bytes>, watch::Sender<bool>) {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let (closing_tx, closing) = watch::channel(false);
    tokio::spawn(tensorserve_http2::serve(
        server_io,
        Test,
        closing,
        Config::default(),
    ));
    let (client, connection) = builder.handshake(client_io).await.unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    (client, closing_tx)
}

/// Opens a stream for `request` (ending it at once if `end`).
async fn open(
    client: &h2::client::SendRequest<Bytes>,
    request: Request<()>,
    end: bool,
) -> (h2::client::ResponseFuture, h2::SendStream<Bytes>) {
    let mut ready = client.clone().ready().await.unwrap();
    ready.send_request(request, end).unwrap()
}

/// Waits (up to 5 s) for `flag` to be set by a call; whether it was.
async fn turns_true(flag: &AtomicBool) -> bool {
    for _ in 0..500 {
        if flag.load(Ordering::SeqCst) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

/// Sends `body` to `path` in one DATA frame; returns status, headers, body and trailers.
async fn call(
    client: &mut h2::client::SendRequest<Bytes>,
    path: &str,
    body: &[u8],
) -> Result<(u16, HeaderMap, Bytes, Option<HeaderMap>), h2::Error> {
    let request = Request::post(format!("http://test{path}"))
        .body(())
        .unwrap();
    let mut ready = client.clone().ready().await?;
    let (response, mut send) = ready.send_request(request, body.is_empty())?;
    if !body.is_empty() {
        send_all(&mut send, Bytes::copy_from_slice(body)).await;
    }
    read_response(response).await
}

/// Sends `data` within the flow-control window the server gives, then ends the stream.
async fn send_all(send: &mut h2::SendStream<Bytes>, mut data: Bytes) {
    while !data.is_empty() {
        send.reserve_capacity(data.len());
        let granted = std::future::poll_fn(|cx| send.poll_capacity(cx))
            .await
            .unwrap()
            .unwrap();
        let chunk = data.split_to(granted.min(data.len()));
        send.send_data(chunk, false).unwrap();
    }
    send.send_data(Bytes::new(), true).unwrap();
}

async fn read_response(
    response: h2::client::ResponseFuture,
) -> Result<(u16, HeaderMap, Bytes, Option<HeaderMap>), h2::Error> {
    let response = response.await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut body = response.into_body();
    let mut data = BytesMut::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        let _ = body.flow_control().release_capacity(chunk.len());
        data.extend_from_slice(&chunk);
    }
    let trailers = body.trailers().await?;
    Ok((status, headers, data.freeze(), trailers))
}

#[tokio::test]
async fn unary_calls_are_answered_inline_and_from_tasks() {
    let (mut client, _closing) = connect().await;
    for path in ["/echo", "/later"] {
        let (status, headers, body, trailers) = call(&mut client, path, b"hello").await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(headers["content-type"], "application/test");
        assert_eq!(&body[..], b"hello", "{path}");
        assert_eq!(trailers.unwrap()["done"], "yes");
    }
    // Many calls in flight at once on one connection, each answered with its own body.
    let calls = (0..50).map(|i| {
        let mut client = client.clone();
        async move {
            let path = if i % 2 == 0 { "/echo" } else { "/later" };
            let body = format!("call {i}");
            let (_, _, answer, _) = call(&mut client, path, body.as_bytes()).await.unwrap();
            assert_eq!(answer, body.as_bytes());
        }
    });
    for handle in calls.map(tokio::spawn).collect::<Vec<_>>() {
        handle.await.unwrap();
    }
}

#[tokio::test]
async fn bodies_past_the_windows_get_through_both_ways() {
    let (mut client, _closing) = connect().await;
    // 3 MB: three times our 1 MB windows, given back as the body is gathered or read.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| i as u8).collect();
    for path in ["/echo", "/stream"] {
        let (status, _, body, _) = call(&mut client, path, &big).await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(body.len(), big.len(), "{path}");
        assert!(body[..] == big[..], "{path}: bytes differ");
    }
    // 300 kB answer against the client's 64 kB default windows.
    let (_, _, body, _) = call(&mut client, "/big", b"").await.unwrap();
    assert_eq!(body.len(), 300_000);
}

/// A client whose windows would take a 3 MB answer at once: the server still queues it a
/// buffer's worth at a time as the socket takes it (a pipe of 64 kB here), and all of it
/// arrives in order.
#[tokio::test]
async fn large_answers_go_out_as_the_socket_takes_them() {
    let mut builder = h2::client::Builder::new();
    builder
        .initial_window_size(16 << 20)
        .initial_connection_window_size(16 << 20);
    let (mut client, _closing) = connect_with(builder).await;
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let answer = tokio::time::timeout(Duration::from_secs(60), call(&mut client, "/echo", &big));
    let (status, _, body, trailers) = answer.await.expect("the answer stalled").unwrap();
    assert_eq!(status, 200);
    assert!(body[..] == big[..], "bytes differ");
    assert_eq!(trailers.unwrap()["done"], "yes");
}

#[tokio::test]
async fn whole_bodies_are_refused_past_their_limit_or_deadline() {
    let (mut client, _closing) = connect().await;
    let (status, headers, _, _) = call(&mut client, "/small", b"0123456789abc").await.unwrap();
    assert_eq!(
        (status, &headers["refused"]),
        (200, &"TooLarge".parse::<http::HeaderValue>().unwrap())
    );
    // A body that never ends is refused at its deadline.
    let request = Request::post("http://test/deadline").body(()).unwrap();
    let (response, mut send) = open(&client, request, false).await;
    send.send_data(Bytes::from_static(b"part"), false).unwrap();
    let response = tokio::time::timeout(Duration::from_secs(10), response)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response.headers()["refused"], "Deadline");
    // The connection goes on.
    assert_eq!(
        call(&mut client, "/echo", b"after").await.unwrap().2,
        &b"after"[..]
    );
}

#[tokio::test]
async fn a_reset_stream_cancels_its_call() {
    let (mut client, _closing) = connect().await;
    let request = Request::post("http://test/hang").body(()).unwrap();
    let (_response, mut send) = open(&client, request, true).await;
    // Let the call start, then reset its stream.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!HANG_DROPPED.load(Ordering::SeqCst));
    send.send_reset(h2::Reason::CANCEL);
    assert!(turns_true(&HANG_DROPPED).await, "the call was not dropped");
    assert_eq!(
        call(&mut client, "/echo", b"still").await.unwrap().2,
        &b"still"[..]
    );
}

#[tokio::test]
async fn panicking_calls_reset_their_stream_only() {
    let (mut client, _closing) = connect().await;
    for path in ["/panic", "/panic-later"] {
        let err = call(&mut client, path, b"x").await.unwrap_err();
        assert_eq!(
            err.reason(),
            Some(h2::Reason::INTERNAL_ERROR),
            "{path}: {err}"
        );
    }
    assert_eq!(
        call(&mut client, "/echo", b"alive").await.unwrap().2,
        &b"alive"[..]
    );
}

#[tokio::test]
async fn streaming_answers_carry_their_frames_and_trailers() {
    let (mut client, _closing) = connect().await;
    let (status, _, body, trailers) = call(&mut client, "/chunks", b"").await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(body.len(), 4 + 100_000);
    assert_eq!(&body[..4], b"one ");
    assert_eq!(trailers.unwrap()["end"], "1");
}

#[tokio::test]
async fn graceful_shutdown_finishes_calls_in_flight() {
    let (client, closing) = connect().await;
    let request = Request::post("http://test/slow").body(()).unwrap();
    let (response, mut send) = open(&client, request, false).await;
    send.send_data(Bytes::from_static(b"in flight"), true)
        .unwrap();
    // The call is under way (it takes 300 ms) when the shutdown starts.
    for _ in 0..500 {
        if SLOW_STARTED.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        SLOW_STARTED.load(Ordering::SeqCst),
        "the call never started"
    );
    closing.send(true).unwrap();
    let (status, _, body, _) = read_response(response).await.unwrap();
    assert_eq!((status, &body[..]), (200, &b"in flight"[..]));
}
