//! The floor for `bench/serving.sh`: a minimal hyper server that does what any server must do to
//! answer `half_plus_two`'s REST predict — read the body, parse the JSON, compute `0.5·x + 2` in
//! f32, write the JSON answer — and nothing else (no routing table, no model, no metrics).
//! tensorserve is measured against it in the same run.
//!
//! ```sh
//! cargo run --release -p tensorserve-bench-floor -- 127.0.0.1:18600
//! ```

use std::convert::Infallible;
use std::fmt::Write;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// `{"instances": [numbers]}` (or `"inputs"`) → the predictions, or an error sentence.
fn predict(body: &[u8]) -> Result<String, String> {
    let request: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let values = request
        .get("instances")
        .or_else(|| request.get("inputs"))
        .and_then(serde_json::Value::as_array)
        .ok_or("expected {\"instances\": [numbers]}")?;
    // The layout tensorserve (and TF Serving) writes for a row request.
    let mut out = String::with_capacity(32 + values.len() * 8);
    out.push_str("{\n    \"predictions\": [");
    for (i, v) in values.iter().enumerate() {
        let x = v.as_f64().ok_or("instances must be numbers")? as f32;
        if i > 0 {
            out.push_str(", ");
        }
        let y = 0.5f32 * x + 2.0;
        let _ = write!(out, "{y:?}");
    }
    out.push_str("\n    ]\n}");
    Ok(out)
}

async fn answer(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return Ok(reply(StatusCode::BAD_REQUEST, e.to_string())),
    };
    Ok(match predict(&body) {
        Ok(json) => reply(StatusCode::OK, json),
        Err(e) => reply(
            StatusCode::BAD_REQUEST,
            format!("{{ \"error\": {} }}", serde_json::Value::String(e)),
        ),
    })
}

fn reply(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18600".into());
    let listener = TcpListener::bind(&addr).await?;
    eprintln!("floor listening on http://{}", listener.local_addr()?);
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

#[cfg(test)]
mod tests {
    use super::predict;

    #[test]
    fn computes_half_plus_two() {
        assert_eq!(
            predict(br#"{"instances": [1.0, 2.0, 5.0]}"#).unwrap(),
            "{\n    \"predictions\": [2.5, 3.0, 4.5\n    ]\n}"
        );
        assert!(predict(b"{").is_err());
        assert!(predict(br#"{"instances": ["a"]}"#).is_err());
    }
}
