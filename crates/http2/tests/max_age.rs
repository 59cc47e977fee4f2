//! `Config::max_connection_age` and `max_connection_age_grace` against an independent client
//! (the `h2` crate's): an aged connection is closed gracefully (its call in progress finishes,
//! the client can open no more streams on it), a call that outlasts the grace is cut, and
//! without an age a connection stays open.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::combinators::BoxBody;
use tensorserve_http2::{
    BoxError, Config, Delivery, Fields, Refusal, RequestBody, RequestHead, Response, Service,
};
use tokio::sync::watch;

type TestBody = BoxBody<Bytes, BoxError>;

/// `/slow` answers after 300 ms, `/hang` never.
struct Test;

impl Service for Test {
    type Body = TestBody;
    type Call = Pin<Box<dyn Future<Output = Response<TestBody>> + Send>>;

    fn delivery(&self, _head: &RequestHead) -> Delivery {
        Delivery::Whole {
            limit: 1 << 20,
            deadline: None,
        }
    }

    fn call(&self, head: RequestHead, _body: RequestBody) -> Self::Call {
        let hang = head.path() == b"/hang";
        Box::pin(async move {
            if hang {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            Response::Complete {
                status: 200,
                headers: Fields::Static(&[]),
                data: Some(Bytes::from_static(b"done")),
                trailers: None,
            }
        })
    }

    fn refuse(&self, _head: &RequestHead, _why: Refusal) -> Response<TestBody> {
        unreachable!("nothing is refused here")
    }
}

/// A connection served with `config`; the client and a handle on the client's connection task,
/// which ends when the connection does.
async fn connect(
    config: Config,
) -> (
    h2::client::SendRequest<Bytes>,
    tokio::task::JoinHandle<Result<(), h2::Error>>,
    watch::Sender<bool>,
) {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let (closing_tx, closing) = watch::channel(false);
    tokio::spawn(tensorserve_http2::serve(server_io, Test, closing, config));
    let (client, connection) = h2::client::handshake(client_io).await.unwrap();
    (client, tokio::spawn(connection), closing_tx)
}

fn aged(age_ms: u64, grace_ms: Option<u64>) -> Config {
    Config {
        max_connection_age: Some(Duration::from_millis(age_ms)),
        max_connection_age_grace: grace_ms.map(Duration::from_millis),
        ..Config::default()
    }
}

async fn start_call(
    client: &h2::client::SendRequest<Bytes>,
    path: &str,
) -> Result<h2::client::ResponseFuture, h2::Error> {
    let request = Request::post(format!("http://test{path}"))
        .body(())
        .unwrap();
    let mut ready = client.clone().ready().await?;
    Ok(ready.send_request(request, true)?.0)
}

#[tokio::test]
async fn an_aged_connection_finishes_its_call_then_closes() {
    // 100 ms (±10 %) old when the 300 ms call is half way.
    let (client, connection, _closing) = connect(aged(100, None)).await;
    let response = start_call(&client, "/slow").await.unwrap();
    let response = tokio::time::timeout(Duration::from_secs(5), response)
        .await
        .expect("the call finishes")
        .expect("and is answered, not cut");
    assert_eq!(response.status(), 200);
    tokio::time::timeout(Duration::from_secs(5), connection)
        .await
        .expect("the connection closes once its call is done")
        .unwrap()
        .expect("cleanly");
    assert!(
        start_call(&client, "/slow").await.is_err(),
        "no new call on a closed connection"
    );
}

#[tokio::test]
async fn a_call_that_outlasts_the_grace_is_cut() {
    let (client, connection, _closing) = connect(aged(100, Some(100))).await;
    let response = start_call(&client, "/hang").await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), response)
        .await
        .expect("the grace ends the call");
    assert!(
        answer.is_err(),
        "the hanging call has no answer: {answer:?}"
    );
    let _ = tokio::time::timeout(Duration::from_secs(5), connection)
        .await
        .expect("the connection is closed");
}

#[tokio::test]
async fn without_an_age_the_connection_stays_open() {
    let (client, connection, _closing) = connect(Config::default()).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!connection.is_finished());
    let response = start_call(&client, "/slow").await.unwrap().await.unwrap();
    assert_eq!(response.status(), 200);
}
