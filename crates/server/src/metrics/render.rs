//! The Prometheus text exposition format (version 0.0.4) of the registry.
//!
//! TF Serving's series come first, as TF Serving prints them (a `# TYPE` line, no `# HELP`,
//! a `# TYPE` even when a metric has no series yet); tensorserve's follow with `# HELP`.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use super::{APIS, CODES, ModelMetrics, PROTOCOLS, series, snapshot};

/// Chooses one of a model's histograms.
type PickHistogram = fn(&ModelMetrics) -> &super::Histogram;

/// Escapes a label value: `\`, `"` and newlines.
pub(super) fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Renders every metric. `versions_available` lists each served model with the number of its
/// versions that are AVAILABLE (read from the manager at scrape time).
pub fn render(versions_available: &[(String, usize)]) -> String {
    let models = snapshot();
    let mut out = String::with_capacity(16 * 1024);
    render_tf(&mut out, &models);

    header(
        &mut out,
        "tensorserve_requests_total",
        "counter",
        "Requests finished, by model, API, protocol and canonical status code.",
    );
    for m in &models {
        let model = escape(m.name());
        for protocol in PROTOCOLS {
            for api in APIS {
                let row = &m.requests[series(protocol, api)];
                for (code, count) in CODES.iter().zip(row.iter()) {
                    let count = count.load(Ordering::Relaxed);
                    if count > 0 {
                        let _ = writeln!(
                            out,
                            "tensorserve_requests_total{{model=\"{model}\",api=\"{}\",protocol=\"{}\",status=\"{}\"}} {count}",
                            api.name(),
                            protocol.name(),
                            code.name()
                        );
                    }
                }
            }
        }
    }
    // Per-model series exist only for models the server loaded, not the unknown-model block.
    let served: Vec<&ModelMetrics> = models
        .iter()
        .map(AsRef::as_ref)
        .filter(|m| !m.name().is_empty())
        .collect();
    let gauges = [
        (
            "tensorserve_requests_in_flight",
            "Requests holding an in-flight slot (admitted and running).",
        ),
        (
            "tensorserve_requests_queued",
            "Requests admitted and waiting for an in-flight slot.",
        ),
    ];
    for (i, (name, help)) in gauges.into_iter().enumerate() {
        header(&mut out, name, "gauge", help);
        for m in &served {
            let value = if i == 0 { &m.in_flight } else { &m.queued };
            let _ = writeln!(
                out,
                "{name}{{model=\"{}\"}} {}",
                escape(m.name()),
                value.load(Ordering::Relaxed).max(0)
            );
        }
    }
    let histograms: [(&str, &str, PickHistogram); 4] = [
        (
            "tensorserve_request_queue_duration_seconds",
            "Time requests waited for an in-flight slot.",
            |m| &m.queue_seconds,
        ),
        (
            "tensorserve_inference_duration_seconds",
            "Time requests held an in-flight slot: decoding, running the model, encoding.",
            |m| &m.inference_seconds,
        ),
        (
            "tensorserve_batch_size",
            "Sizes of the batches the batching layer ran.",
            |m| &m.batch_size,
        ),
        (
            "tensorserve_model_load_duration_seconds",
            "Time taken by successful model version loads.",
            |m| &m.load_seconds,
        ),
    ];
    for (name, help, pick) in histograms {
        header(&mut out, name, "histogram", help);
        for m in &served {
            pick(m).render(&mut out, name, &format!("model=\"{}\"", escape(m.name())));
        }
    }
    header(
        &mut out,
        "tensorserve_model_load_failures_total",
        "counter",
        "Model version load attempts that failed (each retry counts).",
    );
    for m in &served {
        let _ = writeln!(
            out,
            "tensorserve_model_load_failures_total{{model=\"{}\"}} {}",
            escape(m.name()),
            m.load_failures.load(Ordering::Relaxed)
        );
    }
    header(
        &mut out,
        "tensorserve_model_versions_available",
        "gauge",
        "Versions of each configured model in the AVAILABLE state.",
    );
    for (name, count) in versions_available {
        let _ = writeln!(
            out,
            "tensorserve_model_versions_available{{model=\"{}\"}} {count}",
            escape(name)
        );
    }
    out
}

/// `:tensorflow:serving:model_warmup_latency`, `:tensorflow:serving:request_count` and
/// `:tensorflow:serving:request_latency`, in the order of their TF names as TF Serving sorts them.
fn render_tf(out: &mut String, models: &[std::sync::Arc<ModelMetrics>]) {
    super::warmup::render(out);
    let _ = writeln!(out, "# TYPE :tensorflow:serving:request_count counter");
    for m in models {
        let model = escape(m.name());
        for (c, code) in CODES.iter().enumerate() {
            let total: u64 = m
                .requests
                .iter()
                .map(|row| row[c].load(Ordering::Relaxed))
                .sum();
            if total > 0 {
                let _ = writeln!(
                    out,
                    ":tensorflow:serving:request_count{{model_name=\"{model}\",status=\"{}\"}} {total}",
                    code.name()
                );
            }
        }
    }
    let _ = writeln!(out, "# TYPE :tensorflow:serving:request_latency histogram");
    for m in models {
        let model = escape(m.name());
        for protocol in PROTOCOLS {
            for api in APIS {
                let Some(tf_api) = api.tf_name(protocol) else {
                    continue;
                };
                let h = &m.tf_latency[series(protocol, api)];
                if h.count() == 0 {
                    continue;
                }
                let labels = format!(
                    "model_name=\"{model}\",API=\"{tf_api}\",entrypoint=\"{}\"",
                    protocol.entrypoint()
                );
                h.render(out, ":tensorflow:serving:request_latency", &labels);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Api, Protocol, model};
    use std::time::Duration;
    use tensorserve_core::Code;

    #[test]
    fn renders_tf_and_own_series() {
        let m = model("render-test-\"q\"");
        m.record_request(
            Protocol::Rest,
            Api::Predict,
            Code::Ok,
            Duration::from_micros(15),
        );
        m.record_request(
            Protocol::Grpc,
            Api::Predict,
            Code::NotFound,
            Duration::from_micros(15),
        );
        let text = render(&[("render-test-\"q\"".into(), 1)]);
        let name = "render-test-\\\"q\\\"";
        for line in [
            format!(":tensorflow:serving:request_count{{model_name=\"{name}\",status=\"OK\"}} 1"),
            format!(
                ":tensorflow:serving:request_latency_bucket{{model_name=\"{name}\",API=\"predict\",entrypoint=\"REST\",le=\"18\"}} 1"
            ),
            format!(
                "tensorserve_requests_total{{model=\"{name}\",api=\"predict\",protocol=\"grpc\",status=\"NOT_FOUND\"}} 1"
            ),
            format!("tensorserve_requests_in_flight{{model=\"{name}\"}} 0"),
            format!("tensorserve_model_versions_available{{model=\"{name}\"}} 1"),
        ] {
            assert!(
                text.contains(&format!("{line}\n")),
                "missing {line} in\n{text}"
            );
        }
        // Failed calls are not in TF Serving's latency histogram.
        assert!(!text.contains("entrypoint=\"GRPC\""), "{text}");
    }
}
