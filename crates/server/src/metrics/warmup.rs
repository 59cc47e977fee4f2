//! TF Serving's `/tensorflow/serving/model_warmup_latency{model_path,status}`: how long each
//! version's warmup took, in microseconds, with the buckets of `request_latency`. `status` is
//! the outcome as TF Serving prints a status: `OK`, or `CODE: message`.
//!
//! Warmups happen at version loads, not per request, so a mutex-guarded map is enough. A
//! server that loads ever new versions would add series forever; past [`MAX_SERIES`] new
//! (path, status) pairs are not recorded.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::Duration;

use super::histogram::{Histogram, TF_LATENCY_MICROS};
use super::render::escape;

/// Series kept at most.
const MAX_SERIES: usize = 1024;

const NAME: &str = ":tensorflow:serving:model_warmup_latency";

static SERIES: LazyLock<Mutex<BTreeMap<(String, String), Histogram>>> =
    LazyLock::new(|| Mutex::new(BTreeMap::new()));

/// Records one warmup of the version at `model_path` that ended with `status`.
pub fn observe_warmup(model_path: &str, status: &str, elapsed: Duration) {
    let mut series = SERIES.lock().unwrap_or_else(PoisonError::into_inner);
    let key = (model_path.to_string(), status.to_string());
    if !series.contains_key(&key) && series.len() >= MAX_SERIES {
        return;
    }
    series
        .entry(key)
        .or_insert_with(|| Histogram::new(&TF_LATENCY_MICROS))
        .observe(elapsed.as_micros() as u64);
}

/// The metric's `# TYPE` line and series.
pub(super) fn render(out: &mut String) {
    let _ = writeln!(out, "# TYPE {NAME} histogram");
    let series = SERIES.lock().unwrap_or_else(PoisonError::into_inner);
    for ((path, status), histogram) in series.iter() {
        let labels = format!(
            "model_path=\"{}\",status=\"{}\"",
            escape(path),
            escape(status)
        );
        histogram.render(out, NAME, &labels);
    }
}
