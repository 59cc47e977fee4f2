//! gRPC deadlines: a call whose `grpc-timeout` passes ends with DEADLINE_EXCEEDED.
//!
//! Every gRPC call's answer is produced under [`Deadline`] ([`super::stream`]): at its deadline
//! the call's future is dropped and the answer is DEADLINE_EXCEEDED, the status the gRPC spec
//! names (tonic's own transport timer, which we no longer use, answered CANCELLED). It fires
//! one millisecond early so that the answer reaches the client before the client's own timer
//! gives up. Inference already running keeps its admission slot until it ends (see
//! [`crate::admission`]). A streaming call's deadline covers producing its response head, not
//! the messages streamed after it, as before.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Sleep;

/// How much earlier than tonic's own timer this answers.
const AHEAD: Duration = Duration::from_millis(1);

/// A call's deadline, when its request has a `grpc-timeout`.
///
/// Polled beside the call's future rather than wrapping it, so that the (large) call future
/// is not moved into another future; the timer is boxed, and only exists for calls that have a
/// deadline.
pub struct Deadline {
    timeout: Duration,
    timer: Pin<Box<Sleep>>,
}

impl Deadline {
    /// Starts the clock for a call with this `grpc-timeout` (none: no deadline).
    pub fn start(timeout: Option<Duration>) -> Option<Deadline> {
        let timeout = timeout?;
        Some(Deadline {
            timeout,
            timer: Box::pin(tokio::time::sleep(Deadline::fire_after(timeout))),
        })
    }

    /// When a call with this `grpc-timeout` is given up.
    pub fn fire_after(timeout: Duration) -> Duration {
        timeout.saturating_sub(AHEAD)
    }

    /// The status of a call given up at its deadline.
    pub fn exceeded(timeout: Duration) -> tonic::Status {
        tonic::Status::deadline_exceeded(format!(
            "Deadline exceeded: the call did not complete within its {} ms grpc-timeout",
            timeout.as_millis()
        ))
    }

    /// Ready with DEADLINE_EXCEEDED once the deadline has passed.
    pub fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<tonic::Status> {
        self.timer
            .as_mut()
            .poll(cx)
            .map(|()| Deadline::exceeded(self.timeout))
    }
}

/// A `grpc-timeout` value: up to 8 digits and a unit (H, M, S, m, u, n).
pub fn parse_grpc_timeout(value: &[u8]) -> Option<Duration> {
    let value = std::str::from_utf8(value).ok()?;
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
        let parse = |v: &str| parse_grpc_timeout(v.as_bytes());
        assert_eq!(parse("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse("100u"), Some(Duration::from_micros(100)));
        assert_eq!(parse("123456789m"), None);
        assert_eq!(parse("5x"), None);
        assert_eq!(parse("m"), None);
    }
}
