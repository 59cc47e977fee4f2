//! Graceful shutdown of the gRPC listener (`tensorserve::grpc::serve`): calls running when the
//! shutdown starts are answered, open connections get GOAWAY and close, `Server::wait` returns
//! long before the grace period, and the port stops accepting.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::grpc::*;
use tensorserve::app::Server;
use tensorserve::config::ServerConfig;
use tensorserve::flags::Flags;
use tensorserve_proto::tensorflow::serving::prediction_service_client::PredictionServiceClient;
use tonic::transport::Channel;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_grpc_connections_and_closes_the_port() {
    let base = common::bundled_base().display().to_string();
    let flags = Flags::parse(vec![
        "--port=8500".to_string(),
        "--rest_api_port=0".to_string(),
        "--drain_delay_seconds=0".to_string(),
        "--shutdown_grace_seconds=30".to_string(),
        "--model_name=half_plus_two".to_string(),
        format!("--model_base_path={base}"),
    ])
    .unwrap();
    let mut config = ServerConfig::from_flags(&flags, |_| None).unwrap();
    config.rest_addr = None;
    config.grpc_addr = Some("127.0.0.1:0".parse().unwrap());
    let server = Server::start(config).await.unwrap();
    let addr = server.grpc_addr.unwrap();
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();

    // Clients calling in a loop on one shared connection until the server refuses.
    let ok = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let mut client = PredictionServiceClient::new(channel.clone());
        let ok = ok.clone();
        clients.push(tokio::spawn(async move {
            loop {
                match client
                    .predict(predict("half_plus_two", floats(&[1.0], &[1])))
                    .await
                {
                    Ok(r) => {
                        assert_eq!(r.into_inner().outputs["y"].float_val, vec![2.5]);
                        ok.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(status) => return status,
                }
            }
        }));
    }
    while ok.load(Ordering::SeqCst) < 50 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let started = Instant::now();
    server.shutdown();
    tokio::time::timeout(Duration::from_secs(10), server.wait())
        .await
        .expect("the gRPC listener drains well within the 30 s grace period");
    assert!(started.elapsed() < Duration::from_secs(10));

    // Every client stops with an error once the connection is gone, none hangs.
    for client in clients {
        let status = tokio::time::timeout(Duration::from_secs(10), client)
            .await
            .expect("the client is answered")
            .unwrap();
        assert_ne!(status.code(), tonic::Code::Ok);
    }
    // The port no longer accepts.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
