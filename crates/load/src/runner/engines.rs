//! The threads that send requests, each with its own single-threaded tokio runtime.
//!
//! This is wrk's shape: a worker, its connection, its timers and every wake-up between them stay
//! on one thread, with no work stealing and no cross-thread synchronisation on the way of a
//! request. Workers are spread over the threads round robin. The runtimes live as long as the
//! run; whatever is left on them when the run ends is dropped with them.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;
use tokio::task::{AbortHandle, JoinSet};
use tokio_util::sync::CancellationToken;

/// A run's sending threads; see the module docs.
#[derive(Debug)]
pub(super) struct Engines {
    handles: Vec<Handle>,
    /// Dropping these lets the threads finish.
    _shutdown: Vec<oneshot::Sender<()>>,
}

impl Engines {
    /// Starts `threads` threads (at least one).
    pub(super) fn start(threads: usize) -> std::io::Result<Self> {
        let mut handles = Vec::new();
        let mut shutdown = Vec::new();
        for i in 0..threads.max(1) {
            let runtime = Builder::new_current_thread().enable_all().build()?;
            handles.push(runtime.handle().clone());
            let (stop, stopped) = oneshot::channel::<()>();
            shutdown.push(stop);
            std::thread::Builder::new()
                .name(format!("load-engine-{i}"))
                .spawn(move || {
                    // Ends when `Engines` is dropped; remaining tasks are dropped with the runtime.
                    let _ = runtime.block_on(stopped);
                })?;
        }
        Ok(Self {
            handles,
            _shutdown: shutdown,
        })
    }

    /// Number of threads.
    pub(super) fn len(&self) -> usize {
        self.handles.len()
    }

    /// Spawns `task` on thread `index` (modulo the number of threads) into `set`.
    pub(super) fn spawn<F>(&self, set: &mut JoinSet<()>, index: usize, task: F) -> AbortHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        set.spawn_on(task, &self.handles[index % self.handles.len()])
    }
}

/// A flag raised once, cheap to test from every request (unlike a `CancellationToken`, whose
/// `is_cancelled` takes a lock), and awaitable by the control loop.
#[derive(Debug, Default)]
pub(super) struct Flag {
    raised: AtomicBool,
    token: CancellationToken,
}

impl Flag {
    /// Raises the flag; returns whether this call raised it.
    pub(super) fn raise(&self) -> bool {
        let first = !self.raised.swap(true, Ordering::AcqRel);
        self.token.cancel();
        first
    }

    /// Whether the flag is up.
    pub(super) fn is_raised(&self) -> bool {
        self.raised.load(Ordering::Acquire)
    }

    /// Completes once the flag is up.
    pub(super) async fn raised(&self) {
        self.token.cancelled().await;
    }
}
