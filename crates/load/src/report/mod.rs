//! A finished run's results and their renderings: the text summary ([`text`]), the JSON file
//! (this module's types, serialized as they are) and the SVG picture ([`svg`]).

pub mod svg;
pub mod text;

use std::path::Path;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Why a run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// `--duration` elapsed, or the stages ended.
    Duration,
    /// `--requests` were sent.
    Requests,
    /// Ctrl-C (or the caller's interrupt token).
    Interrupted,
}

/// How many requests did what. Every open-loop arrival is exactly one of: ok, an error (dropped
/// included), unfinished or unsent; every request sent is ok, a non-dropped error or unfinished.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Open loop: arrivals the schedule produced (0 for a closed loop).
    pub offered: u64,
    /// Requests started (a failed connect counts: the request was attempted).
    pub sent: u64,
    /// Answered with success.
    pub ok: u64,
    /// Failed, by any kind, dropped included.
    pub errors: u64,
    /// Open loop: not sent, since `--max-outstanding` were already outstanding.
    pub dropped: u64,
    /// In flight when the run was cut short (Ctrl-C, or `--timeout` after the end); not errors.
    pub unfinished: u64,
    /// Open loop: still waiting for a connection when the run was cut short.
    pub unsent: u64,
}

/// Latency percentiles of the successful requests, in milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Latency {
    /// Number of values.
    pub count: u64,
    /// Smallest.
    pub min: f64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Standard deviation.
    pub stdev: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p99_9: f64,
    /// Largest.
    pub max: f64,
}

impl Latency {
    /// Percentiles of a histogram in microseconds; `None` if it is empty.
    pub fn of(h: &Histogram<u64>) -> Option<Self> {
        let ms = |micros: u64| micros as f64 / 1000.0;
        (!h.is_empty()).then(|| Self {
            count: h.len(),
            min: ms(h.min()),
            mean: h.mean() / 1000.0,
            stdev: h.stdev() / 1000.0,
            p50: ms(h.value_at_quantile(0.5)),
            p90: ms(h.value_at_quantile(0.9)),
            p99: ms(h.value_at_quantile(0.99)),
            p99_9: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        })
    }
}

/// One point of the time series: what happened during one window (about a second).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sample {
    /// End of the window, seconds from the start.
    pub t: f64,
    /// Length of the window, seconds.
    pub window: f64,
    /// Successful answers.
    pub ok: u64,
    /// Failures, dropped included.
    pub errors: u64,
    /// Open loop: arrivals dropped.
    pub dropped: u64,
    /// Open loop: arrivals.
    pub offered: u64,
    /// Successful answers per second.
    pub rps: f64,
    /// Median latency, ms (`None` without successes).
    pub p50_ms: Option<f64>,
    /// 90th percentile, ms.
    pub p90_ms: Option<f64>,
    /// 99th percentile, ms.
    pub p99_ms: Option<f64>,
    /// Largest latency, ms.
    pub max_ms: Option<f64>,
    /// Connections open at the end of the window.
    pub connections: u64,
    /// Open loop: arrivals waiting for a connection at the end of the window.
    pub queued: u64,
}

impl Sample {
    /// Folds a short trailing window into this one: counts add up and the rate is over both;
    /// the percentiles stay this window's, the maximum is the larger.
    pub fn absorb(&mut self, tail: &Sample) {
        self.ok += tail.ok;
        self.errors += tail.errors;
        self.dropped += tail.dropped;
        self.offered += tail.offered;
        self.window += tail.window;
        self.t = tail.t;
        self.rps = self.ok as f64 / self.window.max(1e-9);
        self.max_ms = match (self.max_ms, tail.max_ms) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        if self.p50_ms.is_none() {
            (self.p50_ms, self.p90_ms, self.p99_ms) = (tail.p50_ms, tail.p90_ms, tail.p99_ms);
        }
        self.connections = tail.connections;
        self.queued = tail.queued;
    }

    /// Failures per second (dropped included).
    pub fn errors_per_second(&self) -> f64 {
        self.errors as f64 / self.window.max(1e-9)
    }

    /// Open-loop arrivals per second.
    pub fn offered_per_second(&self) -> f64 {
        self.offered as f64 / self.window.max(1e-9)
    }
}

/// One line of the error table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ErrorCount {
    /// What went wrong, e.g. `HTTP 503` or `timeout`.
    pub kind: String,
    /// How many times.
    pub count: u64,
}

/// Everything a run measured. Serialized as is for `--json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// What was loaded, e.g. `POST http://…:predict`.
    pub target: String,
    /// How, e.g. `closed loop, 10 connections`.
    pub mode: String,
    /// Open loop: latency counts from each request's scheduled send time (closed loop: from
    /// when it was sent).
    pub open_loop: bool,
    /// Why it stopped.
    pub stopped_by: StopReason,
    /// From the first request to the last answer, seconds.
    pub duration_s: f64,
    /// Successful answers per second over the whole run.
    pub throughput_rps: f64,
    /// Request counts.
    pub counts: Counts,
    /// Latency of the successful requests (from the scheduled send time in an open loop).
    pub latency_ms: Option<Latency>,
    /// Errors by kind.
    pub errors: Vec<ErrorCount>,
    /// Per-second samples.
    pub series: Vec<Sample>,
}

impl Report {
    /// Writes the report as pretty JSON.
    pub fn write_json(&self, path: &Path) -> std::io::Result<()> {
        let mut text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        text.push('\n');
        std::fs::write(path, text)
    }

    /// Writes the SVG picture of the run.
    pub fn write_svg(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, svg::render(self))
    }
}
