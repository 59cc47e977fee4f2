//! The picture of a run: a self-contained SVG (no scripts, no fonts or styles from the network)
//! with two charts over time: throughput (successes, errors and, in an open loop, the offered
//! rate) and latency (p50, p90, p99 and max).

use std::fmt::Write;

use super::text::fmt_ms;
use super::{Report, Sample};

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 640.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 930.0;

/// How values map to heights.
enum Scale {
    /// From 0 to `max`.
    Linear { max: f64 },
    /// From `10^low` to `10^high` (latency: sub-millisecond and queueing seconds on one chart).
    Log { low: i32, high: i32 },
}

impl Scale {
    /// A log scale covering the positive `min..max`, whole decades, at least one.
    fn log(min: f64, max: f64) -> Self {
        let low = min.max(1e-3).log10().floor() as i32;
        let high = (max.max(1e-3).log10().ceil() as i32).max(low + 1);
        Scale::Log { low, high }
    }

    /// Position of `v` from 0 (bottom) to 1 (top).
    fn fraction(&self, v: f64) -> f64 {
        match *self {
            Scale::Linear { max } => v / max,
            Scale::Log { low, high } => {
                let (low, high) = (f64::from(low), f64::from(high));
                (v.max(1e-9).log10() - low) / (high - low)
            }
        }
    }

    /// Grid values: round steps, or 1-2-5 in each decade (only 1 past four decades).
    fn ticks(&self) -> Vec<f64> {
        match *self {
            Scale::Linear { max } => {
                let step = nice_step(max);
                (0..)
                    .map(|i| f64::from(i) * step)
                    .take_while(|v| *v <= max * 1.0001)
                    .collect()
            }
            Scale::Log { low, high } => {
                let steps: &[f64] = if high - low > 4 {
                    &[1.0]
                } else {
                    &[1.0, 2.0, 5.0]
                };
                let mut ticks: Vec<f64> = (low..high)
                    .flat_map(|e| steps.iter().map(move |m| m * 10f64.powi(e)))
                    .collect();
                ticks.push(10f64.powi(high));
                ticks
            }
        }
    }
}

/// One chart's frame: where it is drawn and its value range.
struct Frame {
    top: f64,
    bottom: f64,
    t_max: f64,
    scale: Scale,
}

impl Frame {
    fn x(&self, t: f64) -> f64 {
        LEFT + (RIGHT - LEFT) * (t / self.t_max).clamp(0.0, 1.0)
    }

    fn y(&self, v: f64) -> f64 {
        self.bottom - (self.bottom - self.top) * self.scale.fraction(v).clamp(-0.02, 1.02)
    }
}

/// One line of a chart.
struct Line<'a> {
    label: &'a str,
    color: &'a str,
    /// Extra SVG attributes, e.g. a dash pattern.
    style: &'a str,
    value: &'a dyn Fn(&Sample) -> Option<f64>,
}

/// Renders the report as an SVG document.
pub fn render(report: &Report) -> String {
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="Helvetica, Arial, sans-serif" font-size="12">"##
    );
    let _ = writeln!(
        svg,
        r##"<rect width="100%" height="100%" fill="#ffffff"/>"##
    );
    let c = &report.counts;
    let _ = writeln!(
        svg,
        r##"<text x="{LEFT}" y="26" font-size="16" font-weight="bold">{}</text>"##,
        escape(&report.target)
    );
    let _ = writeln!(
        svg,
        r##"<text x="{LEFT}" y="46" fill="#555">{}</text>"##,
        escape(&report.mode)
    );
    let mut headline = format!(
        "{:.1} s · {} ok · {} errors · {:.1} req/s",
        report.duration_s, c.ok, c.errors, report.throughput_rps
    );
    if let Some(l) = &report.latency_ms {
        let _ = write!(
            headline,
            " · p50 {} ms · p99 {} ms · max {} ms",
            fmt_ms(l.p50),
            fmt_ms(l.p99),
            fmt_ms(l.max)
        );
    }
    let _ = writeln!(
        svg,
        r##"<text x="{LEFT}" y="66" fill="#555">{}</text>"##,
        escape(&headline)
    );

    let series = &report.series;
    if series.is_empty() {
        let _ = writeln!(
            svg,
            r##"<text x="{LEFT}" y="200">no data: the run lasted less than a second</text>"##
        );
        svg.push_str("</svg>\n");
        return svg;
    }
    let t_max = nice_ceil(series.iter().map(|s| s.t).fold(1.0, f64::max));

    let offered = |s: &Sample| Some(s.offered_per_second());
    let ok = |s: &Sample| Some(s.rps);
    let errors = |s: &Sample| Some(s.errors_per_second());
    let mut rate_lines = vec![
        Line {
            label: "successes/s",
            color: "#1f77b4",
            style: "",
            value: &ok,
        },
        Line {
            label: "errors/s",
            color: "#d62728",
            style: "",
            value: &errors,
        },
    ];
    if report.open_loop {
        let dash = r#"stroke-dasharray="6 4""#;
        rate_lines.insert(
            0,
            Line {
                label: "offered/s",
                color: "#7f7f7f",
                style: dash,
                value: &offered,
            },
        );
    }
    let rate_max = peak(series, &rate_lines);
    let rates = Frame {
        top: 100.0,
        bottom: 320.0,
        t_max,
        scale: Scale::Linear {
            max: nice_ceil(rate_max),
        },
    };
    chart(&mut svg, &rates, "requests per second", &rate_lines, series);

    let p50 = |s: &Sample| s.p50_ms;
    let p90 = |s: &Sample| s.p90_ms;
    let p99 = |s: &Sample| s.p99_ms;
    let max = |s: &Sample| s.max_ms;
    let latency_lines = [
        Line {
            label: "max",
            color: "#bbbbbb",
            style: r#"stroke-dasharray="2 3""#,
            value: &max,
        },
        Line {
            label: "p99",
            color: "#ff7f0e",
            style: "",
            value: &p99,
        },
        Line {
            label: "p90",
            color: "#9467bd",
            style: "",
            value: &p90,
        },
        Line {
            label: "p50",
            color: "#2ca02c",
            style: "",
            value: &p50,
        },
    ];
    // Log scale: a queue building up takes latency from a fraction of a millisecond to seconds,
    // and both ends matter. It ends at p99's peak, so one outlier (max) does not squash the rest.
    let latency_min = series
        .iter()
        .filter_map(|s| s.p50_ms)
        .fold(f64::INFINITY, f64::min);
    let latency = Frame {
        top: 380.0,
        bottom: 600.0,
        t_max,
        scale: Scale::log(latency_min, peak(series, &latency_lines[1..])),
    };
    chart(
        &mut svg,
        &latency,
        "latency, ms (log scale)",
        &latency_lines,
        series,
    );

    let _ = writeln!(
        svg,
        r##"<text x="{}" y="630" text-anchor="middle" fill="#555">seconds since start</text>"##,
        (LEFT + RIGHT) / 2.0
    );
    svg.push_str("</svg>\n");
    svg
}

/// The largest value of any of `lines` (at least a small positive number).
fn peak(series: &[Sample], lines: &[Line<'_>]) -> f64 {
    let values = series
        .iter()
        .flat_map(|s| lines.iter().filter_map(move |l| (l.value)(s)));
    values.fold(0.0, f64::max).max(1e-3)
}

/// Draws axes, grid, legend and lines of one chart.
fn chart(svg: &mut String, frame: &Frame, title: &str, lines: &[Line<'_>], series: &[Sample]) {
    let clip = format!("clip{}", frame.top as u32);
    let (top, bottom) = (frame.top, frame.bottom);
    let _ = writeln!(
        svg,
        r##"<clipPath id="{clip}"><rect x="{LEFT}" y="{}" width="{}" height="{}"/></clipPath>"##,
        top - 2.0,
        RIGHT - LEFT,
        bottom - top + 4.0
    );
    let _ = writeln!(
        svg,
        r##"<text x="{LEFT}" y="{}" font-weight="bold">{}</text>"##,
        top - 10.0,
        escape(title)
    );
    // Horizontal grid and value labels.
    for v in frame.scale.ticks() {
        let y = frame.y(v);
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{RIGHT}" y2="{y:.1}" stroke="#e5e5e5"/>"##
        );
        let _ = writeln!(
            svg,
            r##"<text x="{}" y="{:.1}" text-anchor="end" fill="#555">{}</text>"##,
            LEFT - 6.0,
            y + 4.0,
            number(v)
        );
    }
    // Time ticks.
    let step = nice_step(frame.t_max);
    let mut t = 0.0;
    while t <= frame.t_max * 1.0001 {
        let x = frame.x(t);
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{bottom}" x2="{x:.1}" y2="{}" stroke="#999"/>"##,
            bottom + 5.0
        );
        let _ = writeln!(
            svg,
            r##"<text x="{x:.1}" y="{}" text-anchor="middle" fill="#555">{}</text>"##,
            bottom + 18.0,
            number(t)
        );
        t += step;
    }
    let _ = writeln!(
        svg,
        r##"<line x1="{LEFT}" y1="{bottom}" x2="{RIGHT}" y2="{bottom}" stroke="#999"/>"##
    );
    // Lines, then the legend (right-aligned, in drawing order).
    for line in lines {
        let path = path(frame, series, line.value);
        let _ = writeln!(
            svg,
            r##"<path d="{path}" fill="none" stroke="{}" stroke-width="1.8" stroke-linejoin="round" {} clip-path="url(#{clip})"/>"##,
            line.color, line.style
        );
    }
    let mut x = RIGHT;
    for line in lines.iter().rev() {
        let width = 40.0 + 7.0 * line.label.len() as f64;
        x -= width;
        let y = top - 14.0;
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{y}" x2="{:.1}" y2="{y}" stroke="{}" stroke-width="2.5" {}/>"##,
            x + 20.0,
            line.color,
            line.style
        );
        let _ = writeln!(
            svg,
            r##"<text x="{:.1}" y="{}">{}</text>"##,
            x + 24.0,
            y + 4.0,
            escape(line.label)
        );
    }
}

/// An SVG path through the samples' values at the middle of each window; a sample without a
/// value breaks the line.
fn path(frame: &Frame, series: &[Sample], value: &dyn Fn(&Sample) -> Option<f64>) -> String {
    let mut d = String::new();
    let mut pen_down = false;
    for s in series {
        match value(s) {
            Some(v) => {
                let cmd = if pen_down { 'L' } else { 'M' };
                let _ = write!(
                    d,
                    "{cmd}{:.1},{:.1} ",
                    frame.x(s.t - s.window / 2.0),
                    frame.y(v)
                );
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    d.trim_end().to_owned()
}

/// A round step giving about five ticks from 0 to `max`: 1, 2 or 5 times a power of ten.
fn nice_step(max: f64) -> f64 {
    let raw = (max / 5.0).max(1e-9);
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw);
    step.unwrap_or(10.0 * magnitude)
}

/// `max` rounded up to a multiple of its tick step.
fn nice_ceil(max: f64) -> f64 {
    let step = nice_step(max);
    // A hair of tolerance, so 5.0004 s of run gives an axis to 5, not 6.
    (max / step - 1e-3).ceil().max(1.0) * step
}

/// A tick label without needless digits.
fn number(v: f64) -> String {
    let text = format!("{v:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Counts, StopReason};

    fn sample(t: f64, rps: f64, p50: Option<f64>) -> Sample {
        Sample {
            t,
            window: 1.0,
            ok: rps as u64,
            errors: 0,
            dropped: 0,
            offered: rps as u64,
            rps,
            p50_ms: p50,
            p90_ms: p50.map(|v| v * 2.0),
            p99_ms: p50.map(|v| v * 3.0),
            max_ms: p50.map(|v| v * 10.0),
            connections: 1,
            queued: 0,
        }
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(nice_step(10.0), 2.0);
        assert_eq!(nice_step(0.9), 0.2);
        assert_eq!(nice_step(2300.0), 500.0);
        assert_eq!(nice_ceil(2300.0), 2500.0);
        assert_eq!(number(0.2), "0.2");
        let ticks = Scale::log(0.3, 45.0).ticks();
        assert_eq!(
            ticks,
            [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]
        );
        assert_eq!(Scale::log(0.3, 0.4).ticks(), [0.1, 0.2, 0.5, 1.0]);
        assert!((Scale::log(0.3, 45.0).fraction(1.0) - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(number(1500.0), "1500");
    }

    #[test]
    fn renders_both_charts_and_breaks_lines_on_gaps() {
        let report = Report {
            target: "POST http://h/<x>".into(),
            mode: "open loop".into(),
            open_loop: true,
            stopped_by: StopReason::Duration,
            duration_s: 3.0,
            throughput_rps: 100.0,
            counts: Counts::default(),
            latency_ms: None,
            errors: vec![],
            series: vec![
                sample(1.0, 100.0, Some(1.0)),
                sample(2.0, 0.0, None),
                sample(3.0, 200.0, Some(2.0)),
            ],
        };
        let svg = render(&report);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert!(svg.contains("POST http://h/&lt;x&gt;"));
        for label in [
            "offered/s",
            "successes/s",
            "errors/s",
            "p50",
            "p99",
            "latency, ms",
        ] {
            assert!(svg.contains(label), "{label}");
        }
        // The p50 line restarts after the gap: two moves.
        let p50 = svg
            .lines()
            .find(|l| l.contains("#2ca02c") && l.starts_with("<path"))
            .unwrap();
        assert_eq!(p50.matches('M').count(), 2, "{p50}");
        assert!(!svg.contains("<script"));
    }
}
