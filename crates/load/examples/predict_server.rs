//! A minimal stand-in for a TF Serving predict endpoint, for benchmarking the load generator:
//! answers every request with `half_plus_two`'s prediction for the lab's body, over HTTP/1.1
//! keep-alive. It does no work, so the benchmark measures the clients, not the model.
//!
//! ```sh
//! cargo run --release -p tensorserve-load --example predict_server -- 127.0.0.1:18501
//! ```

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const PREDICTION: &[u8] = b"{\n    \"predictions\": [2.5, 3.0, 4.5\n    ]\n}";

async fn answer(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    // Read the whole request, as a real server would.
    let _ = req.into_body().collect().await;
    let mut response = Response::new(Full::new(Bytes::from_static(PREDICTION)));
    response.headers_mut().insert(
        "content-type",
        "application/json".parse().expect("static header"),
    );
    Ok(response)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18501".into());
    let listener = TcpListener::bind(&addr).await?;
    eprintln!(
        "predict_server listening on http://{}",
        listener.local_addr()?
    );
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(answer))
                .await;
        });
    }
}
