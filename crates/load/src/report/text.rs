//! The human-readable summary printed at the end of a run.

use std::fmt::Write;

use super::{Report, StopReason};

/// Renders the summary: what ran, counts, throughput, latency percentiles and errors.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let c = &report.counts;
    let stopped = match report.stopped_by {
        StopReason::Duration => "duration",
        StopReason::Requests => "request count",
        StopReason::Interrupted => "interrupt (Ctrl-C)",
    };
    // Writing to a String cannot fail.
    let _ = writeln!(out, "Target      {}", report.target);
    let _ = writeln!(out, "Load        {}", report.mode);
    let _ = writeln!(
        out,
        "Stopped by  {stopped} after {:.2} s",
        report.duration_s
    );
    let _ = writeln!(out);
    if report.open_loop {
        let _ = write!(
            out,
            "Requests    {} offered: {} ok, {} errors",
            c.offered, c.ok, c.errors
        );
        if c.dropped > 0 {
            let _ = write!(out, " ({} dropped, never sent)", c.dropped);
        }
    } else {
        let _ = write!(
            out,
            "Requests    {} sent: {} ok, {} errors",
            c.sent, c.ok, c.errors
        );
    }
    let _ = writeln!(out);
    if c.unfinished + c.unsent > 0 {
        let _ = writeln!(
            out,
            "            cut short: {} in flight, {} never sent",
            c.unfinished, c.unsent
        );
    }
    let _ = writeln!(
        out,
        "Throughput  {:.1} req/s (successful)",
        report.throughput_rps
    );
    match &report.latency_ms {
        Some(l) => {
            let origin = if report.open_loop {
                "from the scheduled send time"
            } else {
                "from the send time"
            };
            let _ = writeln!(out, "Latency     ms, successful requests, {origin}");
            let _ = writeln!(
                out,
                "            {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
                "p50", "p90", "p99", "p99.9", "max", "mean", "stdev"
            );
            let _ = writeln!(
                out,
                "            {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
                fmt_ms(l.p50),
                fmt_ms(l.p90),
                fmt_ms(l.p99),
                fmt_ms(l.p99_9),
                fmt_ms(l.max),
                fmt_ms(l.mean),
                fmt_ms(l.stdev)
            );
        }
        None => {
            let _ = writeln!(out, "Latency     no successful request");
        }
    }
    if report.errors.is_empty() {
        let _ = writeln!(out, "Errors      none");
    } else {
        let width = report
            .errors
            .iter()
            .map(|e| e.kind.len())
            .max()
            .unwrap_or(0);
        for (i, e) in report.errors.iter().enumerate() {
            let label = if i == 0 { "Errors" } else { "" };
            let _ = writeln!(out, "{label:<12}{:<width$}  {}", e.kind, e.count);
        }
    }
    out
}

/// A latency in ms with 3 significant-ish digits: `0.412`, `12.3`, `1534`.
pub fn fmt_ms(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.3}")
    } else if ms < 100.0 {
        format!("{ms:.2}")
    } else if ms < 1000.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Counts, ErrorCount, Latency};

    #[test]
    fn summary_lists_counts_percentiles_and_errors() {
        let report = Report {
            target: "POST http://x/v1/models/m:predict".into(),
            mode: "open loop".into(),
            open_loop: true,
            stopped_by: StopReason::Interrupted,
            duration_s: 2.0,
            throughput_rps: 99.5,
            counts: Counts {
                offered: 200,
                sent: 199,
                ok: 190,
                errors: 10,
                dropped: 1,
                unfinished: 0,
                unsent: 0,
            },
            latency_ms: Some(Latency {
                count: 190,
                min: 0.1,
                mean: 1.0,
                stdev: 0.5,
                p50: 0.9,
                p90: 1.5,
                p99: 12.25,
                p99_9: 150.0,
                max: 2000.4,
            }),
            errors: vec![
                ErrorCount {
                    kind: "HTTP 503".into(),
                    count: 9,
                },
                ErrorCount {
                    kind: "dropped (over --max-outstanding)".into(),
                    count: 1,
                },
            ],
            series: vec![],
        };
        let text = render(&report);
        assert!(
            text.contains("Stopped by  interrupt (Ctrl-C) after 2.00 s"),
            "{text}"
        );
        assert!(
            text.contains("Requests    200 offered: 190 ok, 10 errors (1 dropped, never sent)"),
            "{text}"
        );
        assert!(text.contains("from the scheduled send time"), "{text}");
        assert!(
            text.contains("0.900     1.500     12.25     150.0      2000"),
            "{text}"
        );
        assert!(
            text.contains("Errors      HTTP 503                          9"),
            "{text}"
        );
    }
}
