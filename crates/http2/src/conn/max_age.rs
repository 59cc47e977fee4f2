//! Maximum connection age, as gRPC servers have it (`grpc.max_connection_age_ms` and
//! `grpc.max_connection_age_grace_ms`): a connection older than the age is closed gracefully
//! (GOAWAY, streams in progress finish, the client reconnects for new calls), and one whose
//! streams outlast the grace after that is closed anyway.
//!
//! Why a server wants this: gRPC clients keep one connection for as long as it lives, so after
//! an autoscaler adds pods, existing clients keep sending every call to the old ones. Ageing
//! connections out makes clients reconnect, and the reconnection is balanced across all pods.
//! Each connection's age is spread by ±10 % (gRPC's jitter) so that connections opened together
//! do not all reconnect at once.

use std::collections::hash_map::RandomState;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Sleep;

/// What the age timer says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Aged {
    /// The connection reached its age: close it gracefully.
    Reached,
    /// The grace after the age is over too: close it now.
    GraceOver,
}

pub(super) struct MaxAge {
    /// The next deadline: the age, then (if any) the end of the grace.
    timer: Option<Pin<Box<Sleep>>>,
    grace: Option<Duration>,
    reached: bool,
}

impl MaxAge {
    /// No limit when `age` is `None`; no forced close after it when `grace` is `None`.
    pub fn new(age: Option<Duration>, grace: Option<Duration>) -> MaxAge {
        MaxAge {
            timer: age.map(|age| Box::pin(tokio::time::sleep(jittered(age)))),
            grace,
            reached: false,
        }
    }

    /// Polled once per wake-up of the connection (registers the waker for the next deadline).
    pub fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Aged> {
        let Some(timer) = self.timer.as_mut() else {
            return Poll::Pending;
        };
        if timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        if self.reached {
            self.timer = None;
            return Poll::Ready(Aged::GraceOver);
        }
        self.reached = true;
        self.timer = self.grace.map(|grace| Box::pin(tokio::time::sleep(grace)));
        if let Some(timer) = self.timer.as_mut() {
            // Registers the wake-up for the end of the grace.
            let _ = timer.as_mut().poll(cx);
        }
        Poll::Ready(Aged::Reached)
    }
}

/// `age` spread uniformly over ±10 %.
fn jittered(age: Duration) -> Duration {
    let random = RandomState::new().build_hasher().finish();
    let unit = (random >> 11) as f64 / (1u64 << 53) as f64;
    age.mul_f64(0.9 + 0.2 * unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One poll of `age`, as the connection's wake-up does.
    async fn poll(age: &mut MaxAge) -> Poll<Aged> {
        std::future::poll_fn(|cx| Poll::Ready(age.poll(cx))).await
    }

    #[test]
    fn jitter_stays_within_ten_percent_and_varies() {
        let age = Duration::from_secs(100);
        let ages: Vec<Duration> = (0..200).map(|_| jittered(age)).collect();
        assert!(
            ages.iter()
                .all(|a| *a >= age.mul_f64(0.9) && *a <= age.mul_f64(1.1))
        );
        let distinct: std::collections::BTreeSet<Duration> = ages.into_iter().collect();
        assert!(distinct.len() > 100, "{} distinct ages", distinct.len());
    }

    #[tokio::test(start_paused = true)]
    async fn the_age_then_the_grace() {
        let mut age = MaxAge::new(Some(Duration::from_secs(10)), Some(Duration::from_secs(5)));
        assert_eq!(poll(&mut age).await, Poll::Pending);
        tokio::time::sleep(Duration::from_secs(12)).await;
        assert_eq!(poll(&mut age).await, Poll::Ready(Aged::Reached));
        assert_eq!(poll(&mut age).await, Poll::Pending);
        tokio::time::sleep(Duration::from_secs(6)).await;
        assert_eq!(poll(&mut age).await, Poll::Ready(Aged::GraceOver));
        assert_eq!(poll(&mut age).await, Poll::Pending, "then nothing more");
    }

    #[tokio::test(start_paused = true)]
    async fn no_age_never_fires_and_no_grace_never_forces() {
        let mut none = MaxAge::new(None, Some(Duration::from_secs(1)));
        let mut graceless = MaxAge::new(Some(Duration::from_secs(1)), None);
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(poll(&mut none).await, Poll::Pending);
        assert_eq!(poll(&mut graceless).await, Poll::Ready(Aged::Reached));
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(poll(&mut graceless).await, Poll::Pending);
    }
}
