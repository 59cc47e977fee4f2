//! The command line: clap arguments, their validation into a [`Config`], and [`main`], which
//! runs it with Ctrl-C handling, progress on a terminal and the report files.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use clap::{Parser, ValueEnum};
use tokio_util::sync::CancellationToken;

use crate::config::{
    Config, ConfigError, Load, OpenLoop, Output, Plan, TargetSpec, default_threads, parse_duration,
    parse_stage,
};
use crate::schedule::{Arrivals, Stage};
use crate::target::Target;
use crate::target::grpc::{GrpcSpec, GrpcTarget};
use crate::target::http::{HttpSpec, HttpTarget, predict_url};
use crate::{DEFAULT_BODY, DEFAULT_MODEL, DEFAULT_URL, progress, report};

/// Load generator for tensorserve and TF Serving: closed or open loop, stages, HDR latency
/// percentiles, JSON and SVG reports.
///
/// With no options: a closed loop of 10 connections for 10 s, POSTing the lab's
/// `{"instances": [1.0, 2.0, 5.0]}` to http://127.0.0.1:8501/v1/models/half_plus_two:predict.
#[derive(Debug, Parser)]
#[command(name = "tensorserve-load", version, args_override_self = true)]
pub struct Args {
    /// Where to send requests. Without a scheme, http:// is assumed; without a path, the predict
    /// endpoint of --model is used (so `$(minikube ip):30001` works as is).
    #[arg(default_value = DEFAULT_URL)]
    pub url: String,

    /// Model whose predict endpoint is used when URL has no path; with --grpc, the model to
    /// call [default: half_plus_two, or the one named in a gRPC --body-file].
    #[arg(long)]
    pub model: Option<String>,

    /// Call TF Serving's gRPC PredictionService/Predict on HOST:PORT (its --port, 8500) instead
    /// of REST. The request is the lab's (input `x` = [1.0, 2.0, 5.0]) unless --body-file gives
    /// a serialized PredictRequest.
    #[arg(long, value_name = "HOST:PORT", conflicts_with_all = ["url", "method", "headers", "body"])]
    pub grpc: Option<String>,

    /// With --grpc: the signature to call [default: serving_default].
    #[arg(long, requires = "grpc")]
    pub signature: Option<String>,

    /// HTTP method.
    #[arg(short = 'X', long, default_value = "POST")]
    pub method: String,

    /// Request body. Default for POST, PUT and PATCH: the lab's predict request; otherwise empty.
    #[arg(long, conflicts_with = "body_file")]
    pub body: Option<String>,

    /// Read the request body from a file (with --grpc: a serialized PredictRequest).
    #[arg(long, value_name = "FILE")]
    pub body_file: Option<PathBuf>,

    /// Extra header, `Name: value`; repeatable.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,

    /// Connections. Closed loop: the number of concurrent requests. Open loop: connections
    /// opened at the start, which take turns.
    #[arg(short, long, default_value_t = 10)]
    pub connections: usize,

    /// Open loop: fixed arrival rate, requests per second.
    #[arg(short, long, conflicts_with = "stages")]
    pub rate: Option<f64>,

    /// Open loop: a stage `DURATION@RATE` (hold) or `DURATION@FROM..TO` (linear ramp);
    /// repeatable, run in order. The run lasts as long as the stages.
    #[arg(long = "stage", value_name = "DUR@RATE")]
    pub stages: Vec<String>,

    /// Open loop: Poisson arrivals (exponential gaps) instead of evenly spaced ones.
    #[arg(long)]
    pub poisson: bool,

    /// Seed for --poisson (default: from the clock).
    #[arg(long, requires = "poisson")]
    pub seed: Option<u64>,

    /// Open loop: open more connections while arrivals wait for one, up to this many
    /// [default: 100, or --connections if larger].
    #[arg(long)]
    pub max_connections: Option<usize>,

    /// Open loop: at most this many requests queued or in flight; arrivals beyond are dropped
    /// and counted as errors.
    #[arg(long, default_value_t = 1000)]
    pub max_outstanding: u64,

    /// How long to send, e.g. 30s, 2m, 1h30m; 0 runs until Ctrl-C [default: 10s, unless
    /// --requests or --stage bound the run].
    #[arg(short, long, value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Stop after this many requests (open loop: arrivals).
    #[arg(short = 'n', long)]
    pub requests: Option<u64>,

    /// Longest wait for one answer, connecting included; also the longest wait for the answers
    /// still due when the run ends.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Open a new connection after this many requests on one. Behind a Kubernetes Service,
    /// which balances connections, this lets new pods get a share of the load.
    #[arg(long, value_name = "N")]
    pub reconnect_every: Option<u64>,

    /// Threads sending requests, each with its own connections [default: the number of CPUs].
    #[arg(short, long)]
    pub threads: Option<usize>,

    /// Write the summary and the per-second series as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Write an SVG picture of throughput and latency over time.
    #[arg(long, value_name = "FILE.svg")]
    pub report: Option<PathBuf>,

    /// Progress line every second on stderr.
    #[arg(long, value_enum, default_value_t = Progress::Auto)]
    pub progress: Progress,
}

/// When to print progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Progress {
    /// When stderr is a terminal.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

impl Args {
    /// Validates the arguments into a [`Config`] (reading `--body-file`).
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let invalid = |msg: &str| ConfigError::Invalid(msg.to_owned());
        let stages = self
            .stages
            .iter()
            .map(|s| parse_stage(s))
            .collect::<Result<Vec<_>, _>>()?;
        let open = !stages.is_empty() || self.rate.is_some();
        if !open && (self.poisson || self.max_connections.is_some()) {
            return Err(invalid(
                "--poisson and --max-connections need --rate or --stage",
            ));
        }
        let load = if open {
            let stages = match self.rate {
                Some(rate) => vec![Stage::hold(None, rate)],
                None => stages,
            };
            let arrivals = match (self.poisson, self.seed) {
                (false, _) => Arrivals::Fixed,
                (true, Some(seed)) => Arrivals::Poisson { seed },
                (true, None) => Arrivals::Poisson { seed: clock_seed() },
            };
            Load::Open(OpenLoop {
                stages,
                arrivals,
                connections: self.connections,
                max_connections: self.max_connections.unwrap_or(self.connections.max(100)),
                max_outstanding: self.max_outstanding,
            })
        } else {
            Load::Closed {
                connections: self.connections,
            }
        };
        // Bounded unless asked: 10 s by default, unless a request count or stages bound the run.
        let duration = match self.duration {
            Some(d) if d.is_zero() => None,
            Some(d) => Some(d),
            None if self.requests.is_some() || !self.stages.is_empty() => None,
            None => Some(Duration::from_secs(10)),
        };
        let plan = Plan {
            load,
            duration,
            requests: self.requests,
            timeout: self.timeout,
            reconnect_every: self.reconnect_every,
            threads: self.threads.unwrap_or_else(default_threads),
        };
        plan.validate()?;

        let target = match &self.grpc {
            Some(addr) => TargetSpec::Grpc(self.grpc_spec(addr)?),
            None => TargetSpec::Http(self.http_spec()?),
        };
        let progress = match self.progress {
            Progress::Auto => std::io::stderr().is_terminal(),
            Progress::Always => true,
            Progress::Never => false,
        };
        Ok(Config {
            target,
            plan,
            output: Output {
                json: self.json,
                report: self.report,
                progress,
            },
        })
    }

    /// The REST request: URL, method, headers and body.
    fn http_spec(&self) -> Result<HttpSpec, ConfigError> {
        let method = self.method.to_ascii_uppercase();
        let body =
            match (self.body.clone(), &self.body_file) {
                (Some(body), _) => Bytes::from(body),
                (None, Some(path)) => std::fs::read(path).map(Bytes::from).map_err(|source| {
                    ConfigError::BodyFile {
                        path: path.clone(),
                        source,
                    }
                })?,
                (None, None) if matches!(method.as_str(), "POST" | "PUT" | "PATCH") => {
                    Bytes::from_static(DEFAULT_BODY.as_bytes())
                }
                (None, None) => Bytes::new(),
            };
        let headers = self
            .headers
            .iter()
            .map(|h| {
                h.split_once(':')
                    .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                ConfigError::Invalid("a --header must look like `Name: value`".into())
            })?;
        let model = self.model.as_deref().unwrap_or(DEFAULT_MODEL);
        Ok(HttpSpec {
            url: predict_url(&self.url, model),
            method,
            headers,
            body,
        })
    }

    /// The gRPC Predict request: the lab's, or the one in --body-file.
    fn grpc_spec(&self, addr: &str) -> Result<GrpcSpec, ConfigError> {
        let model = self.model.as_deref();
        let signature = self.signature.as_deref();
        let Some(path) = &self.body_file else {
            return Ok(GrpcSpec::lab(
                addr,
                model.unwrap_or(DEFAULT_MODEL),
                signature,
            ));
        };
        let encoded = std::fs::read(path).map_err(|source| ConfigError::BodyFile {
            path: path.clone(),
            source,
        })?;
        Ok(GrpcSpec::from_encoded(addr, &encoded, model, signature)?)
    }
}

fn clock_seed() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    now.as_nanos() as u64
}

/// The binary's entry point: parses `std::env::args`, runs, prints the summary.
pub fn main() -> ExitCode {
    let args = Args::parse();
    match args
        .into_config()
        .map_err(anyhow::Error::from)
        .and_then(run_config)
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tensorserve-load: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a validated configuration: the load, then the summary on stdout and the files.
pub fn run_config(config: Config) -> anyhow::Result<()> {
    match &config.target {
        TargetSpec::Http(spec) => run_target(HttpTarget::new(spec)?, &config),
        TargetSpec::Grpc(spec) => run_target(GrpcTarget::new(spec)?, &config),
    }
}

fn run_target<T: Target>(target: T, config: &Config) -> anyhow::Result<()> {
    let target = Arc::new(target);
    // The control loop only; requests are sent from the run's own threads.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let open_loop = matches!(config.plan.load, Load::Open(_));
    let show = config.output.progress;
    let report = runtime
        .block_on(async {
            let interrupt = CancellationToken::new();
            let on_signal = interrupt.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    on_signal.cancel();
                    // A second Ctrl-C while the summary is on its way: leave at once.
                    if tokio::signal::ctrl_c().await.is_ok() {
                        std::process::exit(130);
                    }
                }
            });
            if show {
                eprintln!("{} — {}", target.describe(), config.plan.describe());
            }
            crate::run(target, &config.plan, &interrupt, |sample| {
                if show {
                    eprintln!("{}", progress::line(sample, open_loop));
                }
            })
            .await
        })
        .context("starting the sending threads")?;
    runtime.shutdown_timeout(Duration::from_millis(100));
    print!("{}", report::text::render(&report));
    if let Some(path) = &config.output.json {
        report
            .write_json(path)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &config.output.report {
        report
            .write_svg(path)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str]) -> Result<Config, ConfigError> {
        Args::try_parse_from(std::iter::once("tensorserve-load").chain(args.iter().copied()))
            .unwrap()
            .into_config()
    }

    fn http(c: &Config) -> &HttpSpec {
        match &c.target {
            TargetSpec::Http(spec) => spec,
            TargetSpec::Grpc(_) => panic!("a REST target expected"),
        }
    }

    #[test]
    fn grpc_target() {
        let c = config(&["--grpc", "192.0.2.1:8500", "--signature", "s", "-r", "5"]).unwrap();
        let TargetSpec::Grpc(spec) = &c.target else {
            panic!("a gRPC target expected")
        };
        assert_eq!(spec.addr, "192.0.2.1:8500");
        let model_spec = spec.request.model_spec.as_ref().unwrap();
        assert_eq!(
            (model_spec.name.as_str(), model_spec.signature_name.as_str()),
            (DEFAULT_MODEL, "s")
        );
        assert!(Args::try_parse_from(["x", "--grpc", "h:1", "--body", "{}"]).is_err());
        assert!(Args::try_parse_from(["x", "--grpc", "h:1", "http://h:2"]).is_err());
        assert!(Args::try_parse_from(["x", "--signature", "s"]).is_err());
        assert!(matches!(
            config(&["--grpc", "h:1", "--body-file", "/nonexistent/request.pb"]),
            Err(ConfigError::BodyFile { .. })
        ));
    }

    #[test]
    fn defaults_are_the_labs_request_for_ten_seconds() {
        let c = config(&[]).unwrap();
        assert_eq!(
            http(&c).url,
            "http://127.0.0.1:8501/v1/models/half_plus_two:predict"
        );
        assert_eq!(http(&c).method, "POST");
        assert_eq!(http(&c).body, DEFAULT_BODY);
        assert_eq!(c.plan.load, Load::Closed { connections: 10 });
        assert_eq!(c.plan.duration, Some(Duration::from_secs(10)));
    }

    #[test]
    fn open_loop_options() {
        let c = config(&[
            "192.0.2.1:30001",
            "--rate",
            "50",
            "-c",
            "4",
            "--poisson",
            "--seed",
            "3",
            "-d",
            "0",
        ])
        .unwrap();
        assert_eq!(
            http(&c).url,
            "http://192.0.2.1:30001/v1/models/half_plus_two:predict"
        );
        let Load::Open(open) = &c.plan.load else {
            panic!("open loop expected")
        };
        assert_eq!(open.stages, vec![Stage::hold(None, 50.0)]);
        assert_eq!(open.arrivals, Arrivals::Poisson { seed: 3 });
        assert_eq!((open.connections, open.max_connections), (4, 100));
        assert_eq!(c.plan.duration, None);

        let c = config(&["--stage", "30s@100", "--stage", "1m@100..0"]).unwrap();
        assert_eq!(c.plan.duration, None);
        assert_eq!(c.plan.deadline(), Some(Duration::from_secs(90)));
        assert!(config(&["-n", "100"]).unwrap().plan.duration.is_none());
        // A later option wins (so scripts can put defaults first); repeatable ones add up.
        let c = config(&[
            "-d", "0", "-c", "4", "--stage", "1s@1", "--stage", "2s@2", "-c", "6", "-d", "2s",
        ])
        .unwrap();
        assert_eq!(c.plan.duration, Some(Duration::from_secs(2)));
        let Load::Open(open) = &c.plan.load else {
            panic!("open loop expected")
        };
        assert_eq!((open.stages.len(), open.connections), (2, 6));
    }

    #[test]
    fn rejects_contradictions() {
        assert!(config(&["--poisson"]).is_err());
        assert!(config(&["--header", "no colon"]).is_err());
        assert!(config(&["--stage", "nope"]).is_err());
        assert!(config(&["--threads", "0"]).is_err());
        assert!(Args::try_parse_from(["x", "--rate", "5", "--stage", "1s@5"]).is_err());
    }

    #[test]
    fn body_and_headers() {
        let c = config(&["-X", "get", "http://h:1/v1/models/m"]).unwrap();
        assert_eq!(
            (http(&c).method.as_str(), http(&c).body.is_empty()),
            ("GET", true)
        );
        let c = config(&["--body", "{}", "-H", "X-A: b: c"]).unwrap();
        assert_eq!(http(&c).body, "{}");
        assert_eq!(
            http(&c).headers,
            vec![("X-A".to_owned(), "b: c".to_owned())]
        );
        assert!(matches!(
            config(&["--body-file", "/nonexistent/body"]),
            Err(ConfigError::BodyFile { .. })
        ));
    }
}
