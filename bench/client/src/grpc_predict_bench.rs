//! gRPC Predict load for `bench/serving.sh` (no `ghz` in this machine's apt): `C` HTTP/2
//! connections, each with one call in flight (closed loop, like `wrk -c C`), for `D` seconds.
//! Sends `half_plus_two`'s request (`x` = [1, 2, 5] as DT_FLOAT) and checks every answer.
//! Prints one line: `requests=N errors=E rps=R p50_us=A p99_us=B`.
//!
//! ```sh
//! grpc_predict_bench http://127.0.0.1:8500 half_plus_two 32 10
//! ```

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tensorserve_core::{Tensor, TensorData};
use tensorserve_proto::tensor::{TensorEncoding, tensor_from_proto_owned, tensor_into_proto};
use tensorserve_proto::tensorflow::serving::prediction_service_client::PredictionServiceClient;
use tensorserve_proto::tensorflow::serving::{ModelSpec, PredictRequest};
use tonic::transport::{Channel, Endpoint};

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
async fn client(channel: Channel, model: String, until: Instant) -> (Histogram<u64>, u64) {
    let mut client = PredictionServiceClient::new(channel);
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
    let mut channels = Vec::with_capacity(connections);
    for _ in 0..connections {
        // One channel per client: each is its own TCP connection, as wrk's connections are.
        channels.push(
            Endpoint::from_shared(url.clone())?
                .tcp_nodelay(true)
                .connect()
                .await?,
        );
    }
    let until = Instant::now() + duration;
    let started = Instant::now();
    let tasks: Vec<_> = channels
        .into_iter()
        .map(|c| tokio::spawn(client(c, model.clone(), until)))
        .collect();
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
