//! Logs: human-readable by default, one JSON object per line with `--log_format=json`, always
//! on stderr.
//!
//! Filtering (docs/operations.md): `RUST_LOG` takes `tracing` directives (`info`,
//! `tensorserve=debug,tower=warn`, ...). Without it, TensorFlow's own variables are honoured so
//! that existing TF Serving deployments keep their verbosity: `TF_CPP_MIN_LOG_LEVEL` 0/1/2/3
//! keeps info/warnings/errors/nothing, and `TF_CPP_MAX_VLOG_LEVEL` >= 1 turns on debug (the
//! per-request lines). The default is `info`: model lifecycle and startup, no per-request lines.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// The filter directives for an environment (`var` looks a variable up).
pub fn directives(var: impl Fn(&str) -> Option<String>) -> String {
    if let Some(rust_log) = var("RUST_LOG").filter(|v| !v.trim().is_empty()) {
        return rust_log;
    }
    let vlog = var("TF_CPP_MAX_VLOG_LEVEL")
        .and_then(|v| v.trim().parse::<i32>().ok())
        .unwrap_or(0);
    if vlog >= 2 {
        return "trace".into();
    }
    if vlog == 1 {
        return "debug".into();
    }
    match var("TF_CPP_MIN_LOG_LEVEL")
        .and_then(|v| v.trim().parse::<i32>().ok())
        .unwrap_or(0)
    {
        i32::MIN..=0 => "info",
        1 => "warn",
        2 => "error",
        _ => "off",
    }
    .into()
}

/// Installs the global subscriber (once; later calls are ignored, which tests rely on).
pub fn init(json: bool) {
    let wanted = directives(|name| std::env::var(name).ok());
    let filter = EnvFilter::try_new(&wanted).unwrap_or_else(|e| {
        eprintln!("ignoring bad log filter {wanted:?} ({e}); logging at info");
        EnvFilter::new("info")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colour codes only on a terminal, never into log collectors or files.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().with_current_span(false).try_init()
    } else {
        builder.try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::directives;

    fn with(vars: &[(&str, &str)]) -> String {
        directives(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn rust_log_wins_then_tensorflow_variables() {
        assert_eq!(with(&[]), "info");
        assert_eq!(
            with(&[
                ("RUST_LOG", "tensorserve=debug"),
                ("TF_CPP_MIN_LOG_LEVEL", "3")
            ]),
            "tensorserve=debug"
        );
        assert_eq!(with(&[("TF_CPP_MIN_LOG_LEVEL", "1")]), "warn");
        assert_eq!(with(&[("TF_CPP_MIN_LOG_LEVEL", "2")]), "error");
        assert_eq!(with(&[("TF_CPP_MIN_LOG_LEVEL", "3")]), "off");
        assert_eq!(with(&[("TF_CPP_MAX_VLOG_LEVEL", "1")]), "debug");
    }
}
