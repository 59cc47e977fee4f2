//! A run's validated configuration: what to send ([`HttpSpec`]), how ([`Plan`]) and where the
//! results go ([`Output`]); plus the parsers for durations (`1m30s`) and stages (`30s@100`).
//!
//! The command line ([`crate::cli`]) is turned into a [`Config`] once, before anything runs;
//! library users and tests build a [`Plan`] directly.

use std::path::PathBuf;
use std::time::Duration;

use crate::schedule::{Arrivals, Stage};
use crate::target::grpc::{GrpcSpec, GrpcTargetError};
use crate::target::http::{HttpSpec, HttpTargetError};

/// Everything a run needs, validated.
#[derive(Clone, Debug)]
pub struct Config {
    /// The request to send.
    pub target: TargetSpec,
    /// How to send it.
    pub plan: Plan,
    /// Where results go.
    pub output: Output,
}

/// The request to send, over REST (or any HTTP URL) or gRPC.
#[derive(Clone, Debug, PartialEq)]
pub enum TargetSpec {
    /// An HTTP/1.1 request.
    Http(HttpSpec),
    /// TF Serving's gRPC Predict.
    Grpc(GrpcSpec),
}

/// Where a run's results go besides the summary on stdout.
#[derive(Clone, Debug, Default)]
pub struct Output {
    /// `--json FILE`: the summary and the per-second series.
    pub json: Option<PathBuf>,
    /// `--report FILE.svg`: throughput and latency over time.
    pub report: Option<PathBuf>,
    /// Whether to print a progress line every second on stderr.
    pub progress: bool,
}

/// How load is offered and when the run stops.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Closed or open loop.
    pub load: Load,
    /// Stop starting requests after this long; `None`: no time limit (the run then ends with
    /// the stages, the request count, or Ctrl-C).
    pub duration: Option<Duration>,
    /// Stop after this many requests (open loop: arrivals, dropped ones included).
    pub requests: Option<u64>,
    /// Longest wait for one answer, connecting included. Also the longest the run waits for
    /// the answers still outstanding once it stops starting requests.
    pub timeout: Duration,
    /// Open a new connection after this many requests on one (spreads load over the pods behind
    /// a Kubernetes Service, which balances connections, not requests).
    pub reconnect_every: Option<u64>,
    /// Threads sending requests, each with its own connections (like wrk's `-t`).
    pub threads: usize,
}

/// The two ways of offering load.
#[derive(Clone, Debug, PartialEq)]
pub enum Load {
    /// Each of `connections` sends its next request when the previous one is answered.
    Closed {
        /// Number of connections (and concurrent requests).
        connections: usize,
    },
    /// Requests arrive on a schedule, whatever the server does.
    Open(OpenLoop),
}

/// An open-loop load: a schedule of arrivals and the connections serving it.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenLoop {
    /// The rates over time.
    pub stages: Vec<Stage>,
    /// Fixed or Poisson spacing.
    pub arrivals: Arrivals,
    /// Connections opened at the start (they take turns, so load spreads over all of them).
    pub connections: usize,
    /// More connections are opened while arrivals wait for one, up to this many.
    pub max_connections: usize,
    /// At most this many requests queued or in flight; arrivals beyond are dropped.
    pub max_outstanding: u64,
}

impl OpenLoop {
    /// A fixed `rate` for ever (bound the run with [`Plan::duration`] or [`Plan::requests`]).
    pub fn rate(rate: f64) -> Self {
        Self::stages(vec![Stage::hold(None, rate)])
    }

    /// The given stages with the default connection and outstanding limits.
    pub fn stages(stages: Vec<Stage>) -> Self {
        Self {
            stages,
            arrivals: Arrivals::Fixed,
            connections: 10,
            max_connections: 100,
            max_outstanding: 1000,
        }
    }
}

impl Plan {
    /// A closed loop over `connections` for 10 seconds.
    pub fn closed(connections: usize) -> Self {
        Self::with_load(Load::Closed { connections })
    }

    /// An open loop for 10 seconds, or for its stages if they are shorter.
    pub fn open(open: OpenLoop) -> Self {
        Self::with_load(Load::Open(open))
    }

    fn with_load(load: Load) -> Self {
        Self {
            load,
            duration: Some(Duration::from_secs(10)),
            requests: None,
            timeout: Duration::from_secs(10),
            reconnect_every: None,
            threads: default_threads(),
        }
    }

    /// When the run stops starting requests, from its start: the duration or the end of the
    /// stages, whichever comes first; `None` if neither bounds it.
    pub fn deadline(&self) -> Option<Duration> {
        let stages = match &self.load {
            Load::Open(open) => open
                .stages
                .iter()
                .map(|s| s.duration)
                .sum::<Option<Duration>>(),
            Load::Closed { .. } => None,
        };
        match (self.duration, stages) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Checks the limits make sense.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |msg: &str| Err(ConfigError::Invalid(msg.into()));
        if self.requests == Some(0) {
            return invalid("--requests must be at least 1");
        }
        if self.reconnect_every == Some(0) {
            return invalid("--reconnect-every must be at least 1");
        }
        if self.threads == 0 {
            return invalid("--threads must be at least 1");
        }
        if self.timeout.is_zero() {
            return invalid("--timeout must be more than 0");
        }
        match &self.load {
            Load::Closed { connections: 0 } => invalid("--connections must be at least 1"),
            Load::Closed { .. } => Ok(()),
            Load::Open(open) => {
                if open.stages.is_empty() {
                    return invalid("an open loop needs a rate or stages");
                }
                if open.stages.iter().any(|s| {
                    !(s.from >= 0.0 && s.to >= 0.0 && s.from.is_finite() && s.to.is_finite())
                }) {
                    return invalid("rates must be finite and not negative");
                }
                if open.stages.iter().all(|s| s.from == 0.0 && s.to == 0.0) {
                    return invalid("every rate is 0: nothing would be sent");
                }
                if open.max_connections == 0 || open.max_connections < open.connections {
                    return invalid(
                        "--max-connections must be at least 1 and at least --connections",
                    );
                }
                if open.max_outstanding == 0 {
                    return invalid("--max-outstanding must be at least 1");
                }
                Ok(())
            }
        }
    }

    /// One line for reports, e.g. `closed loop, 10 connections`.
    pub fn describe(&self) -> String {
        match &self.load {
            Load::Closed { connections } => format!("closed loop, {connections} connections"),
            Load::Open(open) => {
                let spacing = match open.arrivals {
                    Arrivals::Fixed => "fixed",
                    Arrivals::Poisson { .. } => "Poisson",
                };
                let rates = match open.stages.as_slice() {
                    [only] if only.from == only.to => format!("{} req/s", only.from),
                    stages => stages
                        .iter()
                        .map(format_stage)
                        .collect::<Vec<_>>()
                        .join(" "),
                };
                format!(
                    "open loop, {rates} ({spacing}), {}..{} connections, at most {} outstanding",
                    open.connections, open.max_connections, open.max_outstanding
                )
            }
        }
    }
}

/// One sending thread per CPU.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// A stage as `--stage` takes it.
fn format_stage(stage: &Stage) -> String {
    let duration = stage
        .duration
        .map_or("∞".to_owned(), |d| format!("{}s", d.as_secs_f64()));
    if stage.from == stage.to {
        format!("{duration}@{}", stage.from)
    } else {
        format!("{duration}@{}..{}", stage.from, stage.to)
    }
}

/// A configuration that cannot run.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A duration such as `--duration 1m30s` does not parse.
    #[error("invalid duration {0:?}: expected e.g. 500ms, 30s, 2m, 1h30m, or a number of seconds")]
    Duration(String),
    /// A `--stage` does not parse.
    #[error(
        "invalid stage {0:?}: expected DURATION@RATE or DURATION@FROM..TO, e.g. 30s@100 or 2m@100..800"
    )]
    Stage(String),
    /// Options that contradict each other or values out of range.
    #[error("{0}")]
    Invalid(String),
    /// `--body-file` cannot be read.
    #[error("cannot read body file {path}: {source}")]
    BodyFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The URL, method or a header is not usable.
    #[error(transparent)]
    Target(#[from] HttpTargetError),
    /// The gRPC address or request is not usable.
    #[error(transparent)]
    Grpc(#[from] GrpcTargetError),
}

/// Parses `500ms`, `30s`, `2m`, `1h`, combinations like `1m30s`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, ConfigError> {
    let error = || ConfigError::Duration(text.to_owned());
    let text = text.trim();
    if text.is_empty() {
        return Err(error());
    }
    if let Ok(secs) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).map_err(|_| error());
    }
    let mut total = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(error)?;
        let number: f64 = rest[..digits].parse().map_err(|_| error())?;
        let unit_len = rest[digits..]
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len() - digits);
        let scale = match &rest[digits..digits + unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(error()),
        };
        total += number * scale;
        rest = &rest[digits + unit_len..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| error())
}

/// Parses a stage: `30s@100` holds 100 req/s for 30 s; `2m@100..800` ramps from 100 to 800.
pub fn parse_stage(text: &str) -> Result<Stage, ConfigError> {
    let error = || ConfigError::Stage(text.to_owned());
    let (duration, rate) = text.split_once('@').ok_or_else(error)?;
    let duration = parse_duration(duration).map_err(|_| error())?;
    if duration.is_zero() {
        return Err(error());
    }
    let rate_of = |r: &str| {
        r.trim()
            .parse::<f64>()
            .ok()
            .filter(|r| r.is_finite() && *r >= 0.0)
            .ok_or_else(error)
    };
    let (from, to) = match rate.split_once("..") {
        Some((from, to)) => (rate_of(from)?, rate_of(to)?),
        None => (rate_of(rate)?, rate_of(rate)?),
    };
    Ok(Stage {
        duration: Some(duration),
        from,
        to,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ms = Duration::from_millis;
        assert_eq!(parse_duration("500ms").unwrap(), ms(500));
        assert_eq!(parse_duration("30s").unwrap(), ms(30_000));
        assert_eq!(parse_duration("2m").unwrap(), ms(120_000));
        assert_eq!(parse_duration("1h30m").unwrap(), ms(5_400_000));
        assert_eq!(parse_duration("1m30s").unwrap(), ms(90_000));
        assert_eq!(parse_duration("2.5").unwrap(), ms(2_500));
        assert_eq!(parse_duration("0").unwrap(), ms(0));
        for bad in ["", "s", "10x", "-1", "1m-3s", "ms5"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stages() {
        let s = parse_stage("30s@100").unwrap();
        assert_eq!(
            (s.duration, s.from, s.to),
            (Some(Duration::from_secs(30)), 100.0, 100.0)
        );
        let s = parse_stage("2m@100..800").unwrap();
        assert_eq!(
            (s.duration, s.from, s.to),
            (Some(Duration::from_secs(120)), 100.0, 800.0)
        );
        assert_eq!(parse_stage("1m@0").unwrap().to, 0.0);
        for bad in ["30s", "@100", "0s@5", "1m@-1", "1m@x", "1m@1..", "1m@NaN"] {
            assert!(parse_stage(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn deadline_is_the_earlier_of_duration_and_stages() {
        let stages = vec![
            parse_stage("30s@100").unwrap(),
            parse_stage("1m@0").unwrap(),
        ];
        let mut plan = Plan::open(OpenLoop::stages(stages));
        plan.duration = None;
        assert_eq!(plan.deadline(), Some(Duration::from_secs(90)));
        plan.duration = Some(Duration::from_secs(5));
        assert_eq!(plan.deadline(), Some(Duration::from_secs(5)));
        let mut endless = Plan::open(OpenLoop::rate(10.0));
        endless.duration = None;
        assert_eq!(endless.deadline(), None);
        assert_eq!(Plan::closed(3).deadline(), Some(Duration::from_secs(10)));
    }

    #[test]
    fn validation() {
        assert!(Plan::closed(1).validate().is_ok());
        assert!(Plan::closed(0).validate().is_err());
        assert!(Plan::open(OpenLoop::rate(0.0)).validate().is_err());
        let mut open = OpenLoop::rate(5.0);
        open.max_connections = 2;
        assert!(Plan::open(open).validate().is_err());
        let mut plan = Plan::open(OpenLoop::rate(5.0));
        plan.requests = Some(0);
        assert!(plan.validate().is_err());
    }

    #[test]
    fn describe() {
        assert_eq!(Plan::closed(4).describe(), "closed loop, 4 connections");
        let open = OpenLoop::stages(vec![
            parse_stage("30s@100").unwrap(),
            parse_stage("1m@0..5").unwrap(),
        ]);
        assert_eq!(
            Plan::open(open).describe(),
            "open loop, 30s@100 60s@0..5 (fixed), 10..100 connections, at most 1000 outstanding"
        );
    }
}
