//! The REST listener's idle watchdog (`--rest_api_idle_timeout_seconds`): one periodic check
//! per HTTP/1 connection instead of hyper's header read timeout, which arms and cancels a timer
//! for every request (a boxed sleep, a timer-wheel insert and removal, and a kernel timer when a
//! worker parks with timers pending).
//!
//! The service marks each request's start and end ([`Activity::begin`]); [`idle_for`] resolves
//! once a connection has had nothing in flight and no start or end for the whole period. The
//! listener then closes it (see [`super::serve`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// What the idle watchdog sees of one connection's requests.
#[derive(Default)]
pub(super) struct Activity {
    /// Requests started plus requests finished: any change means the connection did something.
    events: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    /// Marks a request as started; the guard marks it finished when dropped.
    pub(super) fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.events.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }
}

/// A request in flight on a watched connection.
pub(super) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.events.fetch_add(1, Ordering::Relaxed);
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Resolves once the connection has had no request in flight, and no request start or end, for
/// `limit` (between `limit` and 1.25 × `limit` after its last activity).
pub(super) async fn idle_for(activity: &Activity, limit: Duration) {
    let tick = (limit / 4).max(Duration::from_millis(1));
    let mut seen = activity.events.load(Ordering::Relaxed);
    let mut quiet = Duration::ZERO;
    loop {
        tokio::time::sleep(tick).await;
        let now = activity.events.load(Ordering::Relaxed);
        if now != seen || activity.in_flight.load(Ordering::Relaxed) > 0 {
            seen = now;
            quiet = Duration::ZERO;
            continue;
        }
        quiet += tick;
        if quiet >= limit {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;

    use tokio::time::{Instant, advance};

    const LIMIT: Duration = Duration::from_secs(8);

    /// How long `idle_for` takes to resolve on a paused clock, with `during` running beside it.
    async fn time_to_idle(activity: Arc<Activity>, during: impl Future<Output = ()>) -> Duration {
        let started = Instant::now();
        let watch = idle_for(&activity, LIMIT);
        tokio::pin!(watch);
        tokio::pin!(during);
        let mut during_done = false;
        loop {
            tokio::select! {
                _ = &mut watch => return started.elapsed(),
                _ = &mut during, if !during_done => during_done = true,
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_connection_is_idle_after_the_limit() {
        let waited = time_to_idle(Arc::new(Activity::default()), async {}).await;
        assert!(waited >= LIMIT && waited <= LIMIT + LIMIT / 4, "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_flight_is_never_idle() {
        let activity = Arc::new(Activity::default());
        let request = activity.begin();
        let waited = time_to_idle(activity, async move {
            // A slow model: ten periods with the request running.
            tokio::time::sleep(LIMIT * 10).await;
            drop(request);
        })
        .await;
        assert!(
            waited >= LIMIT * 11 && waited <= LIMIT * 11 + LIMIT / 4,
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn requests_within_each_period_keep_the_connection() {
        let activity = Arc::new(Activity::default());
        let busy = activity.clone();
        let waited = time_to_idle(activity, async move {
            // A request every 0.9 periods, five times.
            for _ in 0..5 {
                advance(LIMIT * 9 / 10).await;
                drop(busy.begin());
            }
        })
        .await;
        let last = LIMIT * 9 / 10 * 5;
        assert!(
            waited >= last + LIMIT && waited <= last + LIMIT + LIMIT / 4,
            "{waited:?}"
        );
    }
}
