//! Recording outcomes while a run goes, and turning them into per-second samples and totals.
//!
//! Workers call [`Recorder::record`] once per request: one short, uncontended critical section
//! (a histogram increment and a counter), cheap next to a network round trip. Once a second the
//! run's collector swaps the current windows out ([`Collector::tick`]), so the live numbers are
//! those of the last second, and folds them into the run's totals. Latencies are kept in microseconds in HDR
//! histograms (3 significant digits, up to an hour) and only for successful requests: a quick
//! `503` must not make the server look fast.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::report::{Counts, Latency, Sample};
use crate::target::ErrorKind;

/// Highest latency a histogram holds, in microseconds (an hour); longer ones are clamped.
const MAX_MICROS: u64 = 3_600_000_000;

/// A latency histogram in microseconds.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("constant histogram bounds are valid")
}

/// What one window (about a second) saw.
#[derive(Debug)]
struct Window {
    latency: Histogram<u64>,
    ok: u64,
    errors: BTreeMap<ErrorKind, u64>,
}

impl Window {
    fn new() -> Self {
        Self {
            latency: new_histogram(),
            ok: 0,
            errors: BTreeMap::new(),
        }
    }
}

/// Where workers put outcomes; shared by the whole run.
///
/// One window per shard: each sending thread records into its own, so the lock taken for each
/// request is uncontended (the collector takes it once a second).
#[derive(Debug)]
pub struct Recorder {
    shards: Vec<Mutex<Window>>,
    /// Open-loop arrivals so far (sent, queued or dropped).
    offered: AtomicU64,
    /// Requests abandoned in flight by a hard stop.
    unfinished: AtomicU64,
    /// Open-loop arrivals still queued at a hard stop.
    unsent: AtomicU64,
    /// Connections open now.
    pub connections: AtomicU64,
    /// Open-loop arrivals waiting for a connection now.
    pub queued: AtomicU64,
}

impl Recorder {
    /// A recorder with `shards` shards (at least one).
    pub fn new(shards: usize) -> Self {
        Self {
            shards: (0..shards.max(1))
                .map(|_| Mutex::new(Window::new()))
                .collect(),
            offered: AtomicU64::new(0),
            unfinished: AtomicU64::new(0),
            unsent: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            queued: AtomicU64::new(0),
        }
    }

    /// Records one request's outcome in `shard` (modulo the shard count); `latency` counts
    /// only for a success.
    pub fn record(&self, shard: usize, outcome: Result<(), ErrorKind>, latency: Duration) {
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .clamp(1, MAX_MICROS);
        let shard = &self.shards[shard % self.shards.len()];
        let mut window = shard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match outcome {
            Ok(()) => {
                window.ok += 1;
                // Within bounds by the clamp above.
                let _ = window.latency.record(micros);
            }
            Err(kind) => *window.errors.entry(kind).or_default() += 1,
        }
    }

    /// Counts an open-loop arrival.
    pub fn offer(&self) {
        self.offered.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts requests abandoned in flight by a hard stop.
    pub fn unfinished(&self, n: u64) {
        self.unfinished.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts open-loop arrivals left in the queue by a hard stop.
    pub fn unsent(&self, n: u64) {
        self.unsent.fetch_add(n, Ordering::Relaxed);
    }

    /// Takes every shard's window, leaving fresh ones, and returns their sum.
    fn take(&self) -> Window {
        let mut sum = Window::new();
        for shard in &self.shards {
            // Allocated outside the lock.
            let fresh = Window::new();
            let window = {
                let mut window = shard
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                std::mem::replace(&mut *window, fresh)
            };
            merge(&mut sum, &window);
        }
        sum
    }
}

/// Folds windows into samples and totals; owned by the run's control loop.
#[derive(Debug)]
pub struct Collector {
    start: Instant,
    last_tick: Instant,
    last_offered: u64,
    total: Window,
    series: Vec<Sample>,
}

/// A tail shorter than this is merged into the previous sample rather than plotted on its own
/// (a few requests over a few milliseconds would show as an absurd rate).
const MIN_TAIL: Duration = Duration::from_millis(250);

/// What a run adds up to, from [`Collector::finish`].
#[derive(Debug)]
pub struct Totals {
    /// One sample per second (the last one may be longer, up to 1.25 s).
    pub series: Vec<Sample>,
    /// Request counts.
    pub counts: Counts,
    /// Latency of the successful requests; `None` if there were none.
    pub latency: Option<Latency>,
    /// Errors by kind, in [`ErrorKind`] order.
    pub errors: Vec<(ErrorKind, u64)>,
}

impl Collector {
    /// A collector for a run that started at `start`.
    pub fn new(start: Instant) -> Self {
        Self {
            start,
            last_tick: start,
            last_offered: 0,
            total: Window::new(),
            series: Vec::new(),
        }
    }

    /// Closes the current window at `now` and returns its sample.
    pub fn tick(&mut self, recorder: &Recorder, now: Instant) -> &Sample {
        let (_, sample) = self.close_window(recorder, now);
        self.series.push(sample);
        self.series.last().expect("just pushed")
    }

    /// Takes the recorder's window, folds it into the totals and makes its sample.
    fn close_window(&mut self, recorder: &Recorder, now: Instant) -> (Window, Sample) {
        let window = recorder.take();
        let offered_total = recorder.offered.load(Ordering::Relaxed);
        let length = now.saturating_duration_since(self.last_tick);
        let mut sample = sample_of(
            &window,
            now - self.start,
            length,
            offered_total - self.last_offered,
        );
        sample.connections = recorder.connections.load(Ordering::Relaxed);
        sample.queued = recorder.queued.load(Ordering::Relaxed);
        self.last_offered = offered_total;
        self.last_tick = now;
        merge(&mut self.total, &window);
        (window, sample)
    }

    /// Closes the last window at `end` and adds everything up.
    pub fn finish(mut self, recorder: &Recorder, end: Instant) -> Totals {
        let (window, tail) = self.close_window(recorder, end);
        match self.series.last_mut() {
            Some(previous) if tail.window < MIN_TAIL.as_secs_f64() => previous.absorb(&tail),
            _ if window.ok == 0
                && window.errors.is_empty()
                && tail.window < MIN_TAIL.as_secs_f64() => {}
            _ => self.series.push(tail),
        }
        let errors: u64 = self.total.errors.values().sum();
        let dropped = self
            .total
            .errors
            .get(&ErrorKind::Dropped)
            .copied()
            .unwrap_or(0);
        let unfinished = recorder.unfinished.load(Ordering::Relaxed);
        let counts = Counts {
            offered: recorder.offered.load(Ordering::Relaxed),
            sent: self.total.ok + errors - dropped + unfinished,
            ok: self.total.ok,
            errors,
            dropped,
            unfinished,
            unsent: recorder.unsent.load(Ordering::Relaxed),
        };
        Totals {
            series: self.series,
            counts,
            latency: Latency::of(&self.total.latency),
            errors: self.total.errors.into_iter().collect(),
        }
    }
}

fn merge(into: &mut Window, from: &Window) {
    into.ok += from.ok;
    for (kind, n) in &from.errors {
        *into.errors.entry(*kind).or_default() += n;
    }
    into.latency
        .add(&from.latency)
        .expect("histograms share bounds");
}

fn sample_of(window: &Window, at: Duration, length: Duration, offered: u64) -> Sample {
    let secs = length.as_secs_f64().max(1e-9);
    let errors: u64 = window.errors.values().sum();
    let h = &window.latency;
    let ms = |micros: u64| micros as f64 / 1000.0;
    let quantile = |q: f64| (!h.is_empty()).then(|| ms(h.value_at_quantile(q)));
    Sample {
        t: at.as_secs_f64(),
        window: length.as_secs_f64(),
        ok: window.ok,
        errors,
        dropped: window.errors.get(&ErrorKind::Dropped).copied().unwrap_or(0),
        offered,
        rps: window.ok as f64 / secs,
        p50_ms: quantile(0.5),
        p90_ms: quantile(0.9),
        p99_ms: quantile(0.99),
        max_ms: (!h.is_empty()).then(|| ms(h.max())),
        connections: 0,
        queued: 0,
    }
}
