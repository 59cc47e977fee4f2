//! gRPC deadlines: a call whose `grpc-timeout` passes ends with DEADLINE_EXCEEDED.
//!
//! Every gRPC call's answer is produced inside [`with_deadline`] ([`super::stream`]): at its
//! deadline the call's future is dropped and the answer is DEADLINE_EXCEEDED, the status the
//! gRPC spec names (tonic's own transport timer, which we no longer use, answered CANCELLED). It
//! fires one millisecond early so that the answer reaches the client before the client's own
//! timer gives up. Inference already running keeps its admission slot until it ends (see
//! [`crate::admission`]). A streaming call's deadline covers producing its response head, not
//! the messages streamed after it, as before.

use std::future::Future;
use std::time::Duration;

use axum::http::HeaderMap;

/// How much earlier than tonic's own timer this answers.
const AHEAD: Duration = Duration::from_millis(1);

/// Runs `call`, or gives up at `timeout` (when the request had one) with DEADLINE_EXCEEDED.
pub async fn with_deadline<F: Future>(
    call: F,
    timeout: Option<Duration>,
) -> Result<F::Output, tonic::Status> {
    let Some(timeout) = timeout else {
        return Ok(call.await);
    };
    tokio::time::timeout(timeout.saturating_sub(AHEAD), call)
        .await
        .map_err(|_| {
            tonic::Status::deadline_exceeded(format!(
                "Deadline exceeded: the call did not complete within its {} ms grpc-timeout",
                timeout.as_millis()
            ))
        })
}

/// The `grpc-timeout` header: up to 8 digits and a unit (H, M, S, m, u, n).
pub fn grpc_timeout(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("grpc-timeout")?.to_str().ok()?;
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.checked_mul(3600)?),
        "M" => Duration::from_secs(n.checked_mul(60)?),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_grpc_timeout_units() {
        let parse = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert("grpc-timeout", v.parse().unwrap());
            grpc_timeout(&h)
        };
        assert_eq!(parse("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse("100u"), Some(Duration::from_micros(100)));
        assert_eq!(parse("123456789m"), None);
        assert_eq!(parse("5x"), None);
        assert_eq!(parse("m"), None);
    }
}
