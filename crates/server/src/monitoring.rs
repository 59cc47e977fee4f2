//! `--monitoring_config_file`: TF Serving's text-format `MonitoringConfig`
//! (`prometheus_config { enable: true path: "/monitoring/prometheus/metrics" }`), which decides
//! whether and where the REST port serves Prometheus metrics (reference §3.10).

use tensorserve_engine::textproto::{self, Field, Node, Scalar};

/// TF Serving's default metrics path (used when the config leaves `path` empty).
pub const DEFAULT_PATH: &str = "/monitoring/prometheus/metrics";

/// Where metrics are served, from a `MonitoringConfig` text; `None` when disabled.
pub fn parse(text: &str) -> Result<Option<String>, String> {
    let fields = textproto::parse(text).map_err(|e| e.to_string())?;
    let mut enable = false;
    let mut path = String::new();
    for field in &fields {
        match (field.name.as_str(), &field.value) {
            ("prometheus_config", Node::Message(inner)) => {
                for f in inner {
                    match f.name.as_str() {
                        "enable" => enable = scalar(f)? == "true",
                        "path" => path = scalar(f)?,
                        other => return Err(unknown(f, other, "PrometheusConfig")),
                    }
                }
            }
            (other, _) => return Err(unknown(field, other, "MonitoringConfig")),
        }
    }
    if !enable {
        return Ok(None);
    }
    if path.is_empty() {
        path = DEFAULT_PATH.to_string();
    }
    check_path(&path)?;
    Ok(Some(path))
}

/// A metrics path must be a plain absolute path (it becomes a router route).
pub fn check_path(path: &str) -> Result<(), String> {
    let plain = path.starts_with('/')
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_-.~".contains(&b));
    if plain {
        Ok(())
    } else {
        Err(format!(
            "metrics path {path:?} must start with '/' and use only letters, digits and /_-.~"
        ))
    }
}

fn scalar(f: &Field) -> Result<String, String> {
    match &f.value {
        Node::Scalar(Scalar::Str(s) | Scalar::Token(s)) => Ok(s.clone()),
        Node::Message(_) => Err(format!(
            "{}:{}: field {} is not a message",
            f.pos.line, f.pos.column, f.name
        )),
    }
}

fn unknown(f: &Field, name: &str, message: &str) -> String {
    format!(
        "{}:{}: Message type \"tensorflow.serving.{message}\" has no field named \"{name}\".",
        f.after_name.line, f.after_name.column
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tf_serving_monitoring_configs() {
        assert_eq!(
            parse("prometheus_config { enable: true, path: \"/m\" }"),
            Ok(Some("/m".to_string()))
        );
        assert_eq!(
            parse("prometheus_config { enable: true }"),
            Ok(Some(DEFAULT_PATH.to_string()))
        );
        assert_eq!(parse("prometheus_config { enable: false }"), Ok(None));
        assert_eq!(parse(""), Ok(None));
        assert!(parse("prometheus_config { enabled: true }").is_err());
        assert!(parse("prometheus_config { enable: true path: \"m{x}\" }").is_err());
    }
}
