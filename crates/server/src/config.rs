//! The validated server configuration, built once from the command line and the environment
//! before any port is bound.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tensorserve_batching::BatchingParameters;

use crate::flags::{FlagError, Flags};
use crate::warmup::WarmupOptions;

/// Where the served models come from.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSource {
    /// One model: `--model_name`/`--model_base_path`, or `MODEL_NAME`/`MODEL_BASE_PATH`.
    Single {
        /// The model's name in URLs.
        name: String,
        /// The directory holding its numbered versions.
        base_path: PathBuf,
    },
    /// A `--model_config_file` in TF Serving's text format.
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// Re-read interval; `None` reads it once.
        poll: Option<Duration>,
    },
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The models.
    pub models: ModelSource,
    /// REST listen address; `None` when REST is off.
    pub rest_addr: Option<SocketAddr>,
    /// gRPC listen address; `None` when TCP gRPC is off.
    pub grpc_addr: Option<SocketAddr>,
    /// gRPC on a Unix socket too.
    pub grpc_socket_path: Option<PathBuf>,
    /// The gRPC port's connection settings, with `--grpc_channel_arguments` applied.
    pub grpc_settings: crate::grpc::connection::Settings,
    /// MetaGraph tags to load.
    pub saved_model_tags: Vec<String>,
    /// `--file_system_poll_wait_seconds`: rescan every N s; 0 scans once; < 0 never scans
    /// (TF Serving then waits forever at startup).
    pub file_system_poll_wait_seconds: i64,
    /// Load retries after the first failure.
    pub max_num_load_retries: u32,
    /// Pause between load retries.
    pub load_retry_interval: Duration,
    /// Labels may name versions not yet loaded.
    pub allow_version_labels_for_unavailable_models: bool,
    /// Per-request deadline for REST.
    pub rest_timeout: Option<Duration>,
    /// Answer CORS preflights and add CORS headers.
    pub cors: bool,
    /// Largest accepted request body.
    pub max_request_body_bytes: usize,
    /// Requests running at once per model.
    pub max_concurrent_per_model: usize,
    /// Requests waiting per model beyond those running.
    pub max_queued_per_model: usize,
    /// After SIGTERM, how long to keep serving while endpoints are removed.
    pub drain_delay: Duration,
    /// After the drain delay, how long in-flight requests may take.
    pub shutdown_grace: Duration,
    /// Where the REST port serves Prometheus metrics; `None` when off.
    pub metrics_path: Option<String>,
    /// HTTP/1 header read and keep-alive idle timeout on the REST port.
    pub rest_idle_timeout: Duration,
    /// Open REST connections at most.
    pub rest_max_connections: usize,
    /// Check signature method names against the API called.
    pub method_name_check: bool,
    /// gRPC Predict outputs in `tensor_content` form.
    pub tensor_content_outputs: bool,
    /// Dynamic batching (`--enable_batching`): the parameters file's settings, or TF Serving's
    /// defaults without a file.
    pub batching: Option<BatchingParameters>,
    /// `--enable_per_model_batching_parameters`: a version's own `batching_params.pbtxt`
    /// replaces the batching settings for it (with `--enable_batching` only).
    pub per_model_batching: bool,
    /// Model warmup (`--enable_model_warmup`); `None` when off.
    pub warmup: Option<WarmupOptions>,
    /// JSON logs instead of text.
    pub json_logs: bool,
}

/// The bundled model, served when no model is named anywhere.
pub fn bundled_model_dir() -> PathBuf {
    let beside_sources = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../models"));
    if beside_sources.is_dir() {
        beside_sources
    } else {
        PathBuf::from("/models")
    }
}

fn port_addr(host: &str, port: i64, what: &str) -> Result<Option<SocketAddr>, FlagError> {
    if port == 0 {
        return Ok(None);
    }
    let port =
        u16::try_from(port).map_err(|_| FlagError(format!("{what} {port} is out of range")))?;
    format!("{host}:{port}")
        .parse()
        .map(Some)
        .or_else(|_| format!("[{host}]:{port}").parse().map(Some))
        .map_err(|_| FlagError(format!("bad listen address {host}")))
}

fn poll(seconds: i64) -> Option<Duration> {
    (seconds > 0).then(|| Duration::from_secs(seconds as u64))
}

/// Metrics: on at TF Serving's path unless `--enable_metrics=false`; a
/// `--monitoring_config_file` decides both whether and where, as in TF Serving.
fn metrics_path(flags: &Flags) -> Result<Option<String>, FlagError> {
    if !flags.bool("enable_metrics") {
        return Ok(None);
    }
    let file = flags.str("monitoring_config_file");
    if file.is_empty() {
        return Ok(Some(crate::monitoring::DEFAULT_PATH.to_string()));
    }
    let text = std::fs::read_to_string(file)
        .map_err(|e| FlagError(format!("cannot read --monitoring_config_file {file}: {e}")))?;
    crate::monitoring::parse(&text)
        .map_err(|e| FlagError(format!("Invalid monitoring config file '{file}': {e}")))
}

fn read_batching_parameters(path: &std::path::Path) -> Result<BatchingParameters, FlagError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| FlagError(format!("cannot read {}: {e}", path.display())))?;
    BatchingParameters::parse(&text).map_err(|e| FlagError(e.message().to_string()))
}

impl ServerConfig {
    /// Validates flags and environment into a configuration.
    /// `env` looks up environment variables (injected for tests).
    pub fn from_flags(
        flags: &Flags,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<ServerConfig, FlagError> {
        let models = if !flags.str("model_config_file").is_empty() {
            ModelSource::ConfigFile {
                path: PathBuf::from(flags.str("model_config_file")),
                poll: poll(flags.int("model_config_file_poll_wait_seconds")),
            }
        } else if flags.given("model_base_path") {
            let base_path = PathBuf::from(flags.str("model_base_path"));
            if !base_path.is_absolute() {
                let name = if flags.given("model_name") {
                    flags.str("model_name")
                } else {
                    "default"
                };
                return Err(FlagError(format!(
                    "Expected model {name} to have an absolute path or URI; got base_path()={}",
                    base_path.display()
                )));
            }
            let name = if flags.given("model_name") {
                flags.str("model_name").to_string()
            } else {
                "default".into()
            };
            ModelSource::Single { name, base_path }
        } else {
            // Like the tensorflow/serving image's entrypoint: ${MODEL_BASE_PATH}/${MODEL_NAME}.
            // With neither set, serve the bundled half_plus_two.
            let env_name = env("MODEL_NAME").filter(|s| !s.is_empty());
            let env_base = env("MODEL_BASE_PATH").filter(|s| !s.is_empty());
            let (name, base) = match (env_name, env_base) {
                (None, None) => ("half_plus_two".to_string(), bundled_model_dir()),
                (name, base) => (
                    name.unwrap_or_else(|| "model".into()),
                    base.map(PathBuf::from)
                        .unwrap_or_else(|| PathBuf::from("/models")),
                ),
            };
            let name = if flags.given("model_name") {
                flags.str("model_name").to_string()
            } else {
                name
            };
            ModelSource::Single {
                base_path: base.join(&name),
                name,
            }
        };
        let rest_port = flags.int("rest_api_port");
        let grpc_port = flags.int("port");
        let mut rest_addr = port_addr(flags.str("rest_api_address"), rest_port, "--rest_api_port")?;
        if rest_port != 0 && rest_port == grpc_port {
            // TF Serving logs this and starts without REST rather than failing.
            tracing::error!(
                "server_options.http_port cannot be same as grpc_port. Please use a different port for HTTP/REST API. Skipped exporting HTTP/REST API."
            );
            rest_addr = None;
        }
        let grpc_addr = port_addr(flags.str("grpc_address"), grpc_port, "--port")?;
        let grpc_socket_path = Some(flags.str("grpc_socket_path"))
            .filter(|s| !s.is_empty())
            .map(PathBuf::from);
        if grpc_addr.is_none() && grpc_socket_path.is_none() && rest_addr.is_none() {
            return Err(FlagError(
                "At least one of --port, --grpc_socket_path or --rest_api_port must be set".into(),
            ));
        }
        let (grpc_settings, ignored_channel_args) =
            crate::grpc::channel_args::settings(flags.str("grpc_channel_arguments"))?;
        if !ignored_channel_args.is_empty() {
            tracing::warn!(
                "--grpc_channel_arguments: not applied (tensorserve applies {}): {}",
                crate::grpc::channel_args::APPLIED.join(", "),
                ignored_channel_args.join(", ")
            );
        }
        let batching_file = Some(flags.str("batching_parameters_file"))
            .filter(|s| !s.is_empty())
            .map(PathBuf::from);
        if batching_file.is_some() && !flags.bool("enable_batching") {
            return Err(FlagError(
                "server_options.batching_parameters_file is set without setting server_options.enable_batching to true."
                    .into(),
            ));
        }
        let nonneg = |name: &str| {
            usize::try_from(flags.int(name))
                .map_err(|_| FlagError(format!("--{name} must be >= 0")))
        };
        let seconds = |name: &str| {
            let s = flags.float(name);
            if s.is_finite() && s >= 0.0 {
                Ok(Duration::from_secs_f64(s))
            } else {
                Err(FlagError(format!("--{name} must be >= 0")))
            }
        };
        Ok(ServerConfig {
            models,
            rest_addr,
            grpc_addr,
            grpc_socket_path,
            grpc_settings,
            saved_model_tags: flags
                .str("saved_model_tags")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            file_system_poll_wait_seconds: flags.int("file_system_poll_wait_seconds"),
            max_num_load_retries: u32::try_from(flags.int("max_num_load_retries")).unwrap_or(0),
            load_retry_interval: Duration::from_micros(
                u64::try_from(flags.int("load_retry_interval_micros")).unwrap_or(0),
            ),
            allow_version_labels_for_unavailable_models: flags
                .bool("allow_version_labels_for_unavailable_models"),
            rest_timeout: u64::try_from(flags.int("rest_api_timeout_in_ms"))
                .ok()
                .filter(|&ms| ms > 0)
                .map(Duration::from_millis),
            cors: flags.bool("rest_api_enable_cors_support"),
            max_request_body_bytes: nonneg("max_request_body_bytes")?,
            max_concurrent_per_model: nonneg("max_concurrent_requests_per_model")?.max(1),
            max_queued_per_model: nonneg("max_queued_requests_per_model")?,
            drain_delay: seconds("drain_delay_seconds")?,
            shutdown_grace: seconds("shutdown_grace_seconds")?,
            metrics_path: metrics_path(flags)?,
            rest_idle_timeout: seconds("rest_api_idle_timeout_seconds")?,
            rest_max_connections: nonneg("rest_api_max_connections")?.max(1),
            method_name_check: flags.bool("enable_signature_method_name_check"),
            tensor_content_outputs: flags.bool("enable_serialization_as_tensor_content"),
            batching: match (flags.bool("enable_batching"), batching_file) {
                (false, _) => None,
                (true, None) => Some(BatchingParameters::default()),
                (true, Some(path)) => Some(read_batching_parameters(&path)?),
            },
            per_model_batching: flags.bool("enable_per_model_batching_parameters"),
            warmup: flags.bool("enable_model_warmup").then(|| WarmupOptions {
                // TF Serving uses the flag only when it is positive; otherwise one run a record.
                iterations: u32::try_from(flags.int("num_request_iterations_for_warmup"))
                    .unwrap_or(0)
                    .max(1),
                check_methods: flags.bool("enable_signature_method_name_check"),
            }),
            json_logs: match flags.str("log_format") {
                "json" => true,
                "text" => false,
                other => {
                    return Err(FlagError(format!(
                        "--log_format must be text or json, not {other:?}"
                    )));
                }
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(args: &[&str], env: &[(&str, &str)]) -> Result<ServerConfig, FlagError> {
        let flags = Flags::parse(args.iter().map(|s| s.to_string())).unwrap();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ServerConfig::from_flags(&flags, move |k| {
            env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn no_arguments_serve_the_bundled_model_on_8501() {
        let c = cfg(&[], &[]).unwrap();
        let ModelSource::Single { name, base_path } = c.models else {
            panic!()
        };
        assert_eq!(name, "half_plus_two");
        assert!(base_path.ends_with("half_plus_two"));
        assert_eq!(c.rest_addr.unwrap().port(), 8501);
        assert_eq!(c.grpc_addr.unwrap().port(), 8500);
    }

    #[test]
    fn image_environment_is_honoured() {
        let c = cfg(&[], &[("MODEL_NAME", "m"), ("MODEL_BASE_PATH", "/srv")]).unwrap();
        assert_eq!(
            c.models,
            ModelSource::Single {
                name: "m".into(),
                base_path: "/srv/m".into()
            }
        );
        let c = cfg(&[], &[("MODEL_NAME", "m")]).unwrap();
        assert_eq!(
            c.models,
            ModelSource::Single {
                name: "m".into(),
                base_path: "/models/m".into()
            }
        );
    }

    #[test]
    fn flags_override_environment_and_default_name_is_default() {
        let c = cfg(&["--model_base_path=/x/y"], &[("MODEL_NAME", "m")]).unwrap();
        assert_eq!(
            c.models,
            ModelSource::Single {
                name: "default".into(),
                base_path: "/x/y".into()
            }
        );
    }

    #[test]
    fn relative_base_path_and_clashing_ports_are_errors() {
        let e = cfg(&["--model_base_path=rel"], &[]).unwrap_err();
        assert!(e.0.contains("absolute path"), "{e}");
        assert!(
            cfg(&["--port=9000", "--rest_api_port=9000"], &[])
                .unwrap()
                .rest_addr
                .is_none()
        );
        assert!(cfg(&["--batching_parameters_file=/b"], &[]).is_err());
    }

    #[test]
    fn batching_reads_its_parameters_file() {
        assert!(cfg(&[], &[]).unwrap().batching.is_none());
        let defaults = cfg(&["--enable_batching"], &[]).unwrap().batching.unwrap();
        assert_eq!(defaults.max_batch_size, 1000);
        let dir = std::env::temp_dir().join(format!("ts-batching-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("batching.txt");
        std::fs::write(
            &file,
            "max_batch_size { value: 16 }\nbatch_timeout_micros { value: 500 }",
        )
        .unwrap();
        let arg = format!("--batching_parameters_file={}", file.display());
        let p = cfg(&["--enable_batching", &arg], &[])
            .unwrap()
            .batching
            .unwrap();
        assert_eq!(
            (p.max_batch_size, p.batch_timeout),
            (16, Duration::from_micros(500))
        );
        std::fs::write(&file, "max_batch_size { value: -1 }").unwrap();
        let e = cfg(&["--enable_batching", &arg], &[]).unwrap_err();
        assert!(e.0.contains("max_batch_size must be >= 0"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
