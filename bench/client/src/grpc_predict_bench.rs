//! gRPC Predict load for `bench/serving.sh` (no `ghz` in this machine's apt): `C` HTTP/2
//! connections, each with one call in flight (closed loop, like `wrk -c C`), for `D` seconds.
//! Sends `half_plus_two`'s request (`x` = [1, 2, 5] as DT_FLOAT) and checks every answer.
//! Prints one line: `requests=N errors=E rps=R p50_us=A p99_us=B`.
//!
//! The load generator shares the machine's cores with the server, so it must cost as little
//! as it can: by default each client drives its own hyper HTTP/2 connection directly. With
//! `GRPC_BENCH_CHANNEL=1` it goes through tonic's `Channel` instead, whose request buffer adds
//! a task hand-off per call (for comparing the client's own cost).
//!
//! ```sh
//! grpc_predict_bench http://127.0.0.1:8500 half_plus_two 32 10
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use hyper::client::conn::http2::{self, SendRequest};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tensorserve_core::{Tensor, TensorData};
use tensorserve_proto::tensor::{TensorEncoding, tensor_from_proto_owned, tensor_into_proto};
use tensorserve_proto::tensorflow::serving::prediction_service_client::PredictionServiceClient;
use tensorserve_proto::tensorflow::serving::{ModelSpec, PredictRequest};
use tonic::client::GrpcService;
use tonic::codegen::http::Uri;
use tonic::transport::{Channel, Endpoint};

/// One HTTP/2 connection, as a tower service for tonic's generated client.
#[derive(Clone)]
struct Direct(SendRequest<tonic::body::Body>);

type Reply = hyper::Response<hyper::body::Incoming>;

impl tower_service::Service<hyper::Request<tonic::body::Body>> for Direct {
    type Response = Reply;
    type Error = hyper::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Reply, hyper::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), hyper::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: hyper::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(self.0.send_request(request))
    }
}

async fn direct(url: &str) -> Result<Direct, Box<dyn std::error::Error>> {
    let uri: Uri = url.parse()?;
    let authority = uri.authority().ok_or("the URL needs host:port")?.as_str();
    let stream = tokio::net::TcpStream::connect(authority).await?;
    stream.set_nodelay(true)?;
    let (send, connection) = http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(Direct(send))
}

fn request(model: &str) -> PredictRequest {
    let x = Tensor::new(vec![3], TensorData::F32(vec![1.0, 2.0, 5.0])).expect("3 values");
    PredictRequest {
        model_spec: Some(ModelSpec {
            name: model.to_string(),
            ..ModelSpec::default()
        }),
        inputs: [(
            "x".to_string(),
            tensor_into_proto(x, TensorEncoding::TypedFields),
        )]
        .into(),
        ..PredictRequest::default()
    }
}

/// Calls until `until`; returns the latencies (µs) and the number of failed or wrong answers.
async fn client<T>(
    mut client: PredictionServiceClient<T>,
    model: String,
    until: Instant,
) -> (Histogram<u64>, u64)
where
    T: GrpcService<tonic::body::Body>,
    T::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    T::ResponseBody: hyper::body::Body<Data = bytes::Bytes> + Send + 'static,
    <T::ResponseBody as hyper::body::Body>::Error:
        Into<Box<dyn std::error::Error + Send + Sync>> + Send,
{
    let mut latencies = Histogram::<u64>::new(3).expect("histogram");
    let mut errors = 0;
    let want = TensorData::F32(vec![2.5, 3.0, 4.5]);
    while Instant::now() < until {
        let started = Instant::now();
        let answer = client.predict(request(&model)).await;
        let micros = started.elapsed().as_micros() as u64;
        let ok = answer
            .ok()
            .and_then(|r| r.into_inner().outputs.remove("y"))
            .and_then(|y| tensor_from_proto_owned(y).ok());
        match ok {
            Some(y) if *y.data() == want => latencies.record(micros.max(1)).expect("record"),
            _ => errors += 1,
        }
    }
    (latencies, errors)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, model, connections, seconds] = args.as_slice() else {
        eprintln!("usage: grpc_predict_bench URL MODEL CONNECTIONS SECONDS");
        std::process::exit(2);
    };
    let connections: usize = connections.parse()?;
    let duration = Duration::from_secs_f64(seconds.parse()?);
    let use_channel = std::env::var("GRPC_BENCH_CHANNEL").is_ok_and(|v| v == "1");
    let origin: Uri = url.parse()?;
    // One connection per client, as wrk's connections are; all connect before the clock starts.
    let mut channels = Vec::new();
    let mut directs = Vec::new();
    for _ in 0..connections {
        if use_channel {
            let channel: Channel = Endpoint::from_shared(url.clone())?
                .tcp_nodelay(true)
                .connect()
                .await?;
            channels.push(PredictionServiceClient::new(channel));
        } else {
            let service = direct(url).await?;
            directs.push(PredictionServiceClient::with_origin(
                service,
                origin.clone(),
            ));
        }
    }
    let started = Instant::now();
    let until = started + duration;
    let mut tasks: Vec<_> = channels
        .into_iter()
        .map(|c| tokio::spawn(client(c, model.clone(), until)))
        .collect();
    tasks.extend(
        directs
            .into_iter()
            .map(|c| tokio::spawn(client(c, model.clone(), until))),
    );
    let mut all = Histogram::<u64>::new(3)?;
    let mut errors = 0;
    for task in tasks {
        let (latencies, failed) = task.await?;
        all.add(&latencies)?;
        errors += failed;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "requests={} errors={errors} rps={:.0} p50_us={} p99_us={}",
        all.len(),
        all.len() as f64 / elapsed,
        all.value_at_quantile(0.5),
        all.value_at_quantile(0.99)
    );
    Ok(())
}
