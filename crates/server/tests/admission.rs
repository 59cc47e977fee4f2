//! Admission control with the real server: with the queue full, requests are refused at once
//! (REST 429 with TF Serving's JSON error, gRPC RESOURCE_EXHAUSTED), and the server serves
//! normally once the load is gone. A request is held "in flight" deterministically by sending
//! only half of its body: the server admits a request before it reads the body.
//!
//! Metrics are process-wide, so each test serves the bundled model under its own name.

mod common;

use std::net::SocketAddr;

use common::http::{self, HeldRequest};
use tensorserve::app::Server;
use tensorserve::config::ServerConfig;
use tensorserve::flags::Flags;
use tensorserve_proto::tensorflow::serving::prediction_service_client::PredictionServiceClient;
use tonic::Code;

const BODY: &[u8] = br#"{"instances": [1.0, 2.0, 5.0]}"#;

struct Both {
    server: Server,
    rest: SocketAddr,
    grpc: SocketAddr,
}

impl Drop for Both {
    fn drop(&mut self) {
        self.server.shutdown();
    }
}

/// REST and gRPC on ephemeral ports, the bundled model served as `name`.
async fn start_both(name: &str, extra: &[&str]) -> Both {
    let base = common::bundled_base().display().to_string();
    let mut args = vec![
        "--drain_delay_seconds=0".to_string(),
        format!("--model_name={name}"),
        format!("--model_base_path={base}"),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let flags = Flags::parse(args).expect("flags");
    let mut config = ServerConfig::from_flags(&flags, |_| None).expect("config");
    config.rest_addr = Some("127.0.0.1:0".parse().unwrap());
    config.grpc_addr = Some("127.0.0.1:0".parse().unwrap());
    let server = Server::start(config).await.expect("server starts");
    let rest = server.rest_addr.expect("REST");
    let grpc = server.grpc_addr.expect("gRPC");
    Both { server, rest, grpc }
}

async fn metric(addr: SocketAddr, series: &str) -> Option<f64> {
    let page = http::get(addr, "/monitoring/prometheus/metrics")
        .await
        .text();
    http::sample(&page, series)
}

/// Waits until a gauge of `model` reads `value`.
async fn wait_gauge(addr: SocketAddr, gauge: &str, model: &str, value: f64) {
    let series = format!("{gauge}{{model=\"{model}\"}}");
    common::wait_for(
        &format!("{series} == {value}"),
        std::time::Duration::from_secs(20),
        || {
            let series = series.clone();
            async move { (metric(addr, &series).await == Some(value)).then_some(()) }
        },
    )
    .await;
}

async fn hold(addr: SocketAddr, model: &str) -> HeldRequest {
    let held = http::hold(addr, &format!("/v1/models/{model}:predict"), BODY).await;
    wait_gauge(addr, "tensorserve_requests_in_flight", model, 1.0).await;
    held
}

fn assert_predictions(r: &http::Response) {
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["predictions"], serde_json::json!([2.5, 3.0, 4.5]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_queue_full_gets_429_at_once_then_serves_normally() {
    let model = "adm_rest";
    let s = start_both(
        model,
        &[
            "--max_concurrent_requests_per_model=1",
            "--max_queued_requests_per_model=1",
        ],
    )
    .await;
    let target = format!("/v1/models/{model}:predict");
    let held = hold(s.rest, model).await;
    // The second request waits for the slot...
    let queued = tokio::spawn({
        let (addr, target) = (s.rest, target.clone());
        async move { http::post(addr, &target, BODY).await }
    });
    wait_gauge(s.rest, "tensorserve_requests_queued", model, 1.0).await;
    // ...and the third is refused while both are still pending.
    let refused = http::post(s.rest, &target, BODY).await;
    assert_eq!(refused.status, 429, "{}", refused.text());
    assert_eq!(refused.header("content-type"), Some("application/json"));
    let message = refused.error();
    assert!(
        message.contains("Too many requests for model adm_rest")
            && message.contains("--max_concurrent_requests_per_model"),
        "{message}"
    );
    assert!(!queued.is_finished(), "the queued request must still wait");

    // Load drops: the held and the queued requests complete, and new ones are served.
    assert_predictions(&held.finish().await.expect("held request answered"));
    assert_predictions(&queued.await.unwrap());
    for _ in 0..3 {
        assert_predictions(&http::post(s.rest, &target, BODY).await);
    }
    wait_gauge(s.rest, "tensorserve_requests_in_flight", model, 0.0).await;
    wait_gauge(s.rest, "tensorserve_requests_queued", model, 0.0).await;
    let refusals = format!(
        "tensorserve_requests_total{{model=\"{model}\",api=\"predict\",protocol=\"rest\",status=\"RESOURCE_EXHAUSTED\"}}"
    );
    assert_eq!(metric(s.rest, &refusals).await, Some(1.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_shares_the_gate_and_gets_resource_exhausted() {
    let model = "adm_grpc";
    let s = start_both(
        model,
        &[
            "--max_concurrent_requests_per_model=1",
            "--max_queued_requests_per_model=0",
        ],
    )
    .await;
    let held = hold(s.rest, model).await;
    let mut client = PredictionServiceClient::connect(format!("http://{}", s.grpc))
        .await
        .expect("connect");
    let request = || common::grpc::predict(model, common::grpc::floats(&[1.0], &[1]));
    let err = client.predict(request()).await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(
        err.message()
            .contains("Too many requests for model adm_grpc"),
        "{}",
        err.message()
    );
    assert_predictions(&held.finish().await.expect("held request answered"));
    let ok = client.predict(request()).await.expect("served again");
    assert_eq!(ok.into_inner().outputs["y"].float_val, vec![2.5]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_deadline_while_queued_is_deadline_exceeded() {
    let model = "adm_deadline";
    let s = start_both(
        model,
        &[
            "--max_concurrent_requests_per_model=1",
            "--max_queued_requests_per_model=1",
        ],
    )
    .await;
    let held = hold(s.rest, model).await;
    let mut client = PredictionServiceClient::connect(format!("http://{}", s.grpc))
        .await
        .expect("connect");
    let mut request = tonic::Request::new(common::grpc::predict(
        model,
        common::grpc::floats(&[1.0], &[1]),
    ));
    request.set_timeout(std::time::Duration::from_millis(300));
    let err = client.predict(request).await.unwrap_err();
    // The server answers 1 ms before the deadline, but tonic's client races the same timer, so
    // on a loaded machine the client's own "Timeout expired" can win; either way the server must
    // give the queue place back, which the gauge check below proves.
    if err.code() == Code::DeadlineExceeded {
        assert!(err.message().contains("grpc-timeout"), "{}", err.message());
    } else {
        assert_eq!(err.code(), Code::Cancelled, "{err:?}");
        assert!(err.message().contains("Timeout expired"), "{err:?}");
    }
    // The expired call gave its queue place back.
    wait_gauge(s.rest, "tensorserve_requests_queued", model, 0.0).await;
    assert_predictions(&held.finish().await.expect("held request answered"));
}
