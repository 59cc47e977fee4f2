//! A lock-free histogram for the hot path: one atomic add per bucket hit, plus the sum.
//!
//! Buckets are stored non-cumulative (one `fetch_add` per observation) and made cumulative
//! when rendered; the count is the total of the buckets, so `_count` always equals the `+Inf`
//! bucket in a scrape even while requests are being recorded.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Histogram bounds and the unit of observations.
pub struct Layout {
    /// Upper bounds, ascending, in the exported unit (the `+Inf` bucket is implicit).
    pub bounds: &'static [f64],
    /// Exported value of one observation unit (1e-9 for nanoseconds exported as seconds).
    pub scale: f64,
    /// Whether `_sum` is printed as an integer (TF Serving's microsecond histograms).
    pub integer_sum: bool,
}

/// Seconds, from 100 µs to 60 s: request queueing and inference.
pub const SECONDS: Layout = Layout {
    bounds: &[
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        5.0, 10.0, 30.0, 60.0,
    ],
    scale: 1e-9,
    integer_sum: false,
};

/// Seconds, from 10 ms to 10 min: model loads.
pub const LOAD_SECONDS: Layout = Layout {
    bounds: &[
        0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
    ],
    scale: 1e-9,
    integer_sum: false,
};

/// Batch sizes: powers of two up to 1024.
pub const BATCH_SIZE: Layout = Layout {
    bounds: &[
        1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
    ],
    scale: 1.0,
    integer_sum: true,
};

/// TF Serving's `request_latency` buckets: microseconds, `Exponential(10, 1.8, 33)`.
pub const TF_LATENCY_MICROS: Layout = Layout {
    bounds: &TF_LATENCY_BOUNDS,
    scale: 1.0,
    integer_sum: true,
};

const TF_LATENCY_BOUNDS: [f64; 33] = {
    let mut out = [0.0; 33];
    let mut value = 10.0;
    let mut i = 0;
    while i < 33 {
        out[i] = value;
        value *= 1.8;
        i += 1;
    }
    out
};

/// One histogram series.
pub struct Histogram {
    layout: &'static Layout,
    /// Non-cumulative counts; the last one is the `+Inf` bucket.
    buckets: Box<[AtomicU64]>,
    /// Sum of observations, in observation units.
    sum: AtomicU64,
}

impl Histogram {
    /// An empty histogram.
    pub fn new(layout: &'static Layout) -> Histogram {
        Histogram {
            layout,
            buckets: (0..=layout.bounds.len())
                .map(|_| AtomicU64::new(0))
                .collect(),
            sum: AtomicU64::new(0),
        }
    }

    /// Records one observation, in observation units (nanoseconds, microseconds, items).
    pub fn observe(&self, units: u64) {
        let value = units as f64 * self.layout.scale;
        // Bounds are upper-inclusive (`le`); partition_point finds the first bound >= value.
        let index = self.layout.bounds.partition_point(|&b| b < value);
        self.buckets[index].fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(units, Ordering::Relaxed);
    }

    /// The number of observations.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    /// Appends the `_bucket`, `_sum` and `_count` lines. `labels` is the rendered label list
    /// without braces (may be empty).
    pub fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0u64;
        for (i, bucket) in self.buckets.iter().enumerate() {
            cumulative += bucket.load(Ordering::Relaxed);
            let bound = match self.layout.bounds.get(i) {
                Some(&b) => format_g(b),
                None => "+Inf".to_string(),
            };
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}"
            );
        }
        let sum = self.sum.load(Ordering::Relaxed);
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        if self.layout.integer_sum {
            let _ = writeln!(
                out,
                "{name}_sum{braces} {}",
                (sum as f64 * self.layout.scale).round() as u64
            );
        } else {
            let _ = writeln!(out, "{name}_sum{braces} {}", sum as f64 * self.layout.scale);
        }
        let _ = writeln!(out, "{name}_count{braces} {cumulative}");
    }
}

/// `%.6g`, as TF Serving prints bucket bounds (`absl::StrCat(double)`): six significant digits,
/// trailing zeros dropped, exponent form outside 1e-5..1e6.
pub fn format_g(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let exponent = value.abs().log10().floor() as i32;
    // Rounding to six digits can carry into the next power of ten (999999.5 -> 1e+06).
    let rounded: f64 = format!("{value:.5e}").parse().unwrap_or(value);
    let exponent = if rounded.abs() >= 10f64.powi(exponent + 1) {
        exponent + 1
    } else {
        exponent
    };
    if !(-5..6).contains(&exponent) {
        let text = format!("{value:.5e}");
        let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
        let mantissa = trim_zeros(mantissa);
        let exp: i32 = exp.parse().unwrap_or(0);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (5 - exponent).max(0) as usize;
        trim_zeros(&format!("{value:.decimals$}")).to_string()
    }
}

fn trim_zeros(text: &str) -> &str {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tf_bounds_print_like_tf_serving() {
        let printed: Vec<String> = TF_LATENCY_BOUNDS.iter().map(|&b| format_g(b)).collect();
        assert_eq!(
            &printed[..12],
            &[
                "10", "18", "32.4", "58.32", "104.976", "188.957", "340.122", "612.22", "1102",
                "1983.59", "3570.47", "6426.84"
            ]
        );
        assert_eq!(printed[20], "1.27482e+06");
        assert_eq!(printed[32], "1.47476e+09");
        assert_eq!(format_g(0.0001), "0.0001");
        assert_eq!(format_g(2.5), "2.5");
    }

    #[test]
    fn buckets_are_cumulative_and_upper_inclusive() {
        let h = Histogram::new(&BATCH_SIZE);
        for n in [1, 2, 3, 2000] {
            h.observe(n);
        }
        let mut out = String::new();
        h.render(&mut out, "b", "model=\"m\"");
        assert!(out.contains("b_bucket{model=\"m\",le=\"1\"} 1\n"), "{out}");
        assert!(out.contains("b_bucket{model=\"m\",le=\"2\"} 2\n"), "{out}");
        assert!(out.contains("b_bucket{model=\"m\",le=\"4\"} 3\n"), "{out}");
        assert!(
            out.contains("b_bucket{model=\"m\",le=\"+Inf\"} 4\n"),
            "{out}"
        );
        assert!(out.contains("b_sum{model=\"m\"} 2006\n"), "{out}");
        assert!(out.contains("b_count{model=\"m\"} 4\n"), "{out}");
        assert_eq!(h.count(), 4);
    }

    #[test]
    fn seconds_are_scaled_from_nanoseconds() {
        let h = Histogram::new(&SECONDS);
        h.observe(3_000_000); // 3 ms
        let mut out = String::new();
        h.render(&mut out, "t", "");
        assert!(out.contains("t_bucket{le=\"0.0025\"} 0\n"), "{out}");
        assert!(out.contains("t_bucket{le=\"0.005\"} 1\n"), "{out}");
        assert!(out.contains("t_sum 0.003\n"), "{out}");
    }
}
