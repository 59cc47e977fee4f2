//! TensorFlow Serving's command line, parsed the way `tensorflow_model_server` parses it, so our
//! binary can replace it in any entrypoint or script.
//!
//! The rules (reference §3.1): values come as `--name=value` (a space-separated value is not
//! understood); booleans also accept a bare `--name`; later flags win; an unknown flag is
//! reported and ignored, not fatal; a malformed value is fatal. Kebab-case spellings
//! (`--rest-api-port=8501`) are accepted as aliases.

use std::collections::BTreeMap;

/// What kind of value a flag takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Bool,
    Str,
    Float,
}

/// Whether tensorserve acts on a flag or only accepts it for compatibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// Implemented.
    Implemented,
    /// Accepted and ignored with a warning: it means nothing without TensorFlow, or is not
    /// implemented yet (listed in docs/flags.md).
    Ignored,
}

/// Every flag of `tensorflow_model_server` (reference §3.1) plus tensorserve's own, with its kind,
/// default and support.
const FLAGS: &[(&str, Kind, &str, Support)] = {
    use Kind::*;
    use Support::*;
    &[
        ("port", Int, "8500", Implemented),
        ("grpc_socket_path", Str, "", Implemented),
        ("rest_api_port", Int, "8501", Implemented),
        ("rest_api_num_threads", Int, "0", Ignored),
        ("rest_api_timeout_in_ms", Int, "30000", Implemented),
        ("rest_api_enable_cors_support", Bool, "false", Implemented),
        ("grpc_channel_arguments", Str, "", Implemented),
        ("grpc_max_threads", Int, "0", Ignored),
        ("ssl_config_file", Str, "", Ignored),
        ("use_alts_credentials", Bool, "false", Ignored),
        ("enable_grpc_healthcheck_service", Bool, "true", Ignored),
        ("enable_profiler", Bool, "true", Ignored),
        ("model_name", Str, "", Implemented),
        ("model_base_path", Str, "", Implemented),
        ("model_config_file", Str, "", Implemented),
        ("model_config_file_poll_wait_seconds", Int, "0", Implemented),
        ("file_system_poll_wait_seconds", Int, "1", Implemented),
        (
            "allow_version_labels_for_unavailable_models",
            Bool,
            "false",
            Implemented,
        ),
        ("saved_model_tags", Str, "serve", Implemented),
        ("platform_config_file", Str, "", Ignored),
        ("prefer_tflite_model", Bool, "false", Ignored),
        ("num_tflite_pools", Int, "0", Ignored),
        ("num_tflite_interpreters_per_pool", Int, "1", Ignored),
        (
            "enable_signature_method_name_check",
            Bool,
            "false",
            Implemented,
        ),
        (
            "remove_unused_fields_from_bundle_metagraph",
            Bool,
            "true",
            Ignored,
        ),
        (
            "enable_serialization_as_tensor_content",
            Bool,
            "false",
            Implemented,
        ),
        ("num_load_threads", Int, "0", Ignored),
        ("num_unload_threads", Int, "0", Ignored),
        ("max_num_load_retries", Int, "5", Implemented),
        ("load_retry_interval_micros", Int, "60000000", Implemented),
        ("flush_filesystem_caches", Bool, "true", Ignored),
        ("enable_batching", Bool, "false", Implemented),
        ("batching_parameters_file", Str, "", Implemented),
        (
            "enable_per_model_batching_parameters",
            Bool,
            "false",
            Implemented,
        ),
        ("tensorflow_session_parallelism", Int, "0", Ignored),
        ("tensorflow_intra_op_parallelism", Int, "0", Ignored),
        ("tensorflow_inter_op_parallelism", Int, "0", Ignored),
        ("tensorflow_session_config_file", Str, "", Ignored),
        ("per_process_gpu_memory_fraction", Float, "0", Ignored),
        ("xla_cpu_compilation_enabled", Bool, "false", Ignored),
        ("xla_gpu_compilation_enabled", Bool, "false", Ignored),
        ("mixed_precision", Str, "", Ignored),
        ("thread_pool_factory_config_file", Str, "", Ignored),
        ("skip_initialize_tpu", Bool, "false", Ignored),
        ("enable_model_warmup", Bool, "true", Implemented),
        ("num_request_iterations_for_warmup", Int, "0", Implemented),
        ("monitoring_config_file", Str, "", Implemented),
        ("version", Bool, "false", Implemented),
        ("help", Bool, "false", Implemented),
        // tensorserve's own.
        ("rest_api_address", Str, "0.0.0.0", Implemented),
        ("grpc_address", Str, "0.0.0.0", Implemented),
        ("max_request_body_bytes", Int, "67108864", Implemented),
        ("max_concurrent_requests_per_model", Int, "64", Implemented),
        ("max_queued_requests_per_model", Int, "256", Implemented),
        ("drain_delay_seconds", Float, "5", Implemented),
        ("shutdown_grace_seconds", Float, "20", Implemented),
        ("enable_metrics", Bool, "true", Implemented),
        ("rest_api_idle_timeout_seconds", Float, "75", Implemented),
        ("rest_api_max_connections", Int, "4096", Implemented),
        ("log_format", Str, "text", Implemented),
    ]
};

/// The parsed command line: every known flag with its value (defaults filled in).
#[derive(Debug, Clone)]
pub struct Flags {
    values: BTreeMap<&'static str, String>,
    explicit: Vec<&'static str>,
    /// Arguments that were not recognised (already reported as warnings).
    pub unknown: Vec<String>,
    /// Flags given that tensorserve accepts but ignores.
    pub ignored: Vec<&'static str>,
}

/// A fatal command-line error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FlagError(pub String);

fn lookup(name: &str) -> Option<&'static (&'static str, Kind, &'static str, Support)> {
    let snake = name.replace('-', "_");
    FLAGS.iter().find(|f| f.0 == snake)
}

impl Flags {
    /// Parses `args` (without the program name).
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Flags, FlagError> {
        let mut values: BTreeMap<&'static str, String> =
            FLAGS.iter().map(|f| (f.0, f.2.to_string())).collect();
        let mut explicit = Vec::new();
        let mut unknown = Vec::new();
        let mut ignored = Vec::new();
        for arg in args {
            let Some(body) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
                unknown.push(arg);
                continue;
            };
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            let Some(&(flag, kind, _, support)) = lookup(name) else {
                unknown.push(arg);
                continue;
            };
            let value = match (kind, value) {
                (Kind::Bool, None) => "true".to_string(),
                (Kind::Bool, Some(v)) if v == "true" || v == "false" => v.to_string(),
                (Kind::Bool, Some(v)) => {
                    return Err(FlagError(format!(
                        "Illegal value '{v}' specified for bool flag '{flag}'"
                    )));
                }
                (_, None) => {
                    return Err(FlagError(format!(
                        "Flag '{flag}' needs a value, given as --{flag}=VALUE (a value after a space is not read)"
                    )));
                }
                (Kind::Int, Some(v)) if v.parse::<i64>().is_err() => {
                    return Err(FlagError(format!(
                        "Illegal value '{v}' specified for integer flag '{flag}'"
                    )));
                }
                (Kind::Float, Some(v)) if v.parse::<f64>().is_err() => {
                    return Err(FlagError(format!(
                        "Illegal value '{v}' specified for float flag '{flag}'"
                    )));
                }
                (_, Some(v)) => v.to_string(),
            };
            if support == Support::Ignored && !ignored.contains(&flag) {
                ignored.push(flag);
            }
            explicit.push(flag);
            values.insert(flag, value);
        }
        Ok(Flags {
            values,
            explicit,
            unknown,
            ignored,
        })
    }

    /// Whether the flag appeared on the command line.
    pub fn given(&self, name: &str) -> bool {
        self.explicit.contains(&name)
    }

    /// A string flag's value.
    pub fn str(&self, name: &str) -> &str {
        self.values
            .get(name)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("unknown flag {name}"))
    }

    /// An integer flag's value (validated at parse time).
    pub fn int(&self, name: &str) -> i64 {
        self.str(name).parse().unwrap_or_default()
    }

    /// A float flag's value (validated at parse time).
    pub fn float(&self, name: &str) -> f64 {
        self.str(name).parse().unwrap_or_default()
    }

    /// A bool flag's value.
    pub fn bool(&self, name: &str) -> bool {
        self.str(name) == "true"
    }

    /// The usage text: every flag with its default.
    pub fn usage() -> String {
        let mut out = String::from(
            "usage: tensorserve [--flag=value ...]\n       tensorserve model show|run ...\nFlags:\n",
        );
        for (name, kind, default, support) in FLAGS {
            let kind = match kind {
                Kind::Int => "int64",
                Kind::Bool => "bool",
                Kind::Str => "string",
                Kind::Float => "float",
            };
            let note = if *support == Support::Ignored {
                "  (accepted, ignored)"
            } else {
                ""
            };
            out.push_str(&format!("\t--{name}={default}\t{kind}{note}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Flags, FlagError> {
        Flags::parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn tf_serving_entrypoint_line_parses() {
        let f = parse(&[
            "--port=8500",
            "--rest_api_port=8501",
            "--model_name=half_plus_two",
            "--model_base_path=/models/half_plus_two",
        ])
        .unwrap();
        assert_eq!(f.int("port"), 8500);
        assert_eq!(f.int("rest_api_port"), 8501);
        assert_eq!(f.str("model_name"), "half_plus_two");
        assert!(f.given("model_base_path"));
        assert!(!f.given("model_config_file"));
    }

    #[test]
    fn bools_kebab_case_and_last_wins() {
        let f = parse(&["--rest-api-enable-cors-support", "--port=1", "--port=2"]).unwrap();
        assert!(f.bool("rest_api_enable_cors_support"));
        assert_eq!(f.int("port"), 2);
        let f = parse(&["--enable_batching=false"]).unwrap();
        assert!(!f.bool("enable_batching"));
    }

    #[test]
    fn unknown_flags_are_kept_not_fatal() {
        let f = parse(&["--no_such_flag=1", "positional", "--port=9"]).unwrap();
        assert_eq!(f.unknown, vec!["--no_such_flag=1", "positional"]);
        assert_eq!(f.int("port"), 9);
    }

    #[test]
    fn bad_values_are_fatal() {
        assert!(parse(&["--port=abc"]).is_err());
        assert!(parse(&["--enable_batching=yes"]).is_err());
        assert!(parse(&["--port"]).is_err());
    }

    #[test]
    fn ignored_flags_are_listed() {
        let f = parse(&[
            "--tensorflow_intra_op_parallelism=2",
            "--xla_cpu_compilation_enabled=true",
        ])
        .unwrap();
        assert_eq!(
            f.ignored,
            vec![
                "tensorflow_intra_op_parallelism",
                "xla_cpu_compilation_enabled"
            ]
        );
    }
}

#[cfg(test)]
mod doc_tests {
    use super::FLAGS;

    /// docs/flags.md lists every flag, so the documentation cannot fall behind the parser.
    #[test]
    fn every_flag_is_documented() {
        let doc = include_str!("../../../docs/flags.md");
        for (name, ..) in FLAGS {
            assert!(
                doc.contains(&format!("`--{name}`")),
                "docs/flags.md does not list --{name}"
            );
        }
    }
}
