//! `--grpc_channel_arguments=grpc.max_connection_age_ms=N` on the real gRPC port: a connection
//! older than N ms (±10 %) gets a graceful GOAWAY (NO_ERROR) and is closed, so that clients
//! reconnect and spread over pods added since; without the argument it stays open. The
//! connection-level behaviour (calls in progress finish, the grace cuts them) is tested in
//! `crates/http2/tests/max_age.rs`.

mod common;

use std::time::Duration;

use common::grpc::start;
use common::h2raw::{Conn, NO_ERROR};

#[tokio::test]
async fn an_aged_connection_is_closed_gracefully() {
    let server = start(&["--grpc_channel_arguments=grpc.max_connection_age_ms=200"]).await;
    let mut conn = Conn::open_roomy(server.addr).await;
    tokio::time::timeout(Duration::from_secs(10), conn.expect_goaway(NO_ERROR))
        .await
        .expect("GOAWAY once the connection is 200 ms old");
}

#[tokio::test]
async fn without_the_argument_the_connection_stays_open() {
    let server = start(&["--grpc_channel_arguments=grpc.so_reuseport=1"]).await;
    let mut conn = Conn::open_roomy(server.addr).await;
    let goaway = tokio::time::timeout(Duration::from_millis(800), conn.read_goaway()).await;
    assert!(goaway.is_err(), "no GOAWAY without a maximum age");
}
