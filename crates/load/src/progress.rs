//! The live progress line printed once a second on stderr while a run goes.

use crate::report::Sample;
use crate::report::text::fmt_ms;

/// One progress line for the last second, e.g.
/// `[  12s]   1999 req/s  p50 0.412 ms  p99 1.530 ms  errors 0  conns 10`; in an open loop the
/// offered rate, and the arrivals waiting for a connection if any, come first.
pub fn line(sample: &Sample, open_loop: bool) -> String {
    let mut out = format!("[{:>5.0}s]", sample.t);
    if open_loop {
        out.push_str(&format!("  offered {:>7.0}/s", sample.offered_per_second()));
    }
    out.push_str(&format!("  {:>7.0} req/s", sample.rps));
    match (sample.p50_ms, sample.p99_ms) {
        (Some(p50), Some(p99)) => out.push_str(&format!(
            "  p50 {:>7} ms  p99 {:>7} ms",
            fmt_ms(p50),
            fmt_ms(p99)
        )),
        _ => out.push_str(&format!("  {:>27}", "no successes")),
    }
    out.push_str(&format!("  errors {:>5}", sample.errors));
    if sample.dropped > 0 {
        out.push_str(&format!(" (dropped {})", sample.dropped));
    }
    out.push_str(&format!("  conns {}", sample.connections));
    if open_loop && sample.queued > 0 {
        out.push_str(&format!("  queued {}", sample.queued));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_rate_percentiles_and_errors() {
        let sample = Sample {
            t: 12.0,
            window: 1.0,
            ok: 1999,
            errors: 3,
            dropped: 1,
            offered: 2000,
            rps: 1999.0,
            p50_ms: Some(0.412),
            p90_ms: Some(1.0),
            p99_ms: Some(1.53),
            max_ms: Some(4.0),
            connections: 10,
            queued: 2,
        };
        assert_eq!(
            line(&sample, true),
            "[   12s]  offered    2000/s     1999 req/s  p50   0.412 ms  p99   1.530 ms  errors     3 (dropped 1)  conns 10  queued 2"
        );
        assert!(!line(&sample, false).contains("offered"));
    }
}
