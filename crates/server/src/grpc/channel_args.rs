//! `--grpc_channel_arguments`: gRPC core's channel arguments, `name=value` pairs separated by
//! commas (`grpc.max_connection_age_ms=60000,grpc.keepalive_time_ms=30000`), as TF Serving
//! passes them to its gRPC server.
//!
//! The gRPC port runs on our own HTTP/2 server, so only the arguments that mean something to a
//! connection are applied ([`APPLIED`]); others are logged and ignored, as gRPC core ignores
//! arguments it does not know. An applied argument must be a whole number of milliseconds; a
//! malformed list is a startup error.

use std::time::Duration;

use super::connection::Settings;
use crate::flags::FlagError;

/// The arguments applied (named in the warning about the others; [`settings`] matches them).
pub const APPLIED: [&str; 4] = [
    "grpc.max_connection_age_ms",
    "grpc.max_connection_age_grace_ms",
    "grpc.keepalive_time_ms",
    "grpc.keepalive_timeout_ms",
];

/// gRPC core's "infinite" for these arguments (`INT_MAX`).
const INFINITE_MS: u64 = i32::MAX as u64;

/// The connection settings `arguments` ask for, over the defaults. Returns them with the
/// names of the arguments ignored.
pub fn settings(arguments: &str) -> Result<(Settings, Vec<String>), FlagError> {
    let mut settings = Settings::default();
    let mut ignored = Vec::new();
    for pair in arguments
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let Some((name, value)) = pair.split_once('=') else {
            return Err(FlagError(format!(
                "--grpc_channel_arguments: '{pair}' is not name=value"
            )));
        };
        let (name, value) = (name.trim(), value.trim());
        let ms = || -> Result<u64, FlagError> {
            value.parse().map_err(|_| {
                FlagError(format!(
                    "--grpc_channel_arguments: {name} must be a number of milliseconds, not '{value}'"
                ))
            })
        };
        // gRPC core's INT_MAX: no limit.
        let limit = |ms: u64| (ms < INFINITE_MS).then(|| Duration::from_millis(ms));
        match name {
            "grpc.max_connection_age_ms" => settings.max_connection_age = limit(ms()?),
            "grpc.max_connection_age_grace_ms" => settings.max_connection_age_grace = limit(ms()?),
            "grpc.keepalive_time_ms" => settings.keep_alive_interval = Duration::from_millis(ms()?),
            "grpc.keepalive_timeout_ms" => {
                settings.keep_alive_timeout = Duration::from_millis(ms()?)
            }
            _ => ignored.push(name.to_string()),
        }
    }
    Ok((settings, ignored))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applied_arguments_set_the_connection_settings() {
        let (s, ignored) = settings(
            "grpc.max_connection_age_ms=60000, grpc.max_connection_age_grace_ms=5000,\
             grpc.keepalive_time_ms=30000,grpc.keepalive_timeout_ms=10000,grpc.so_reuseport=0",
        )
        .unwrap();
        assert_eq!(s.max_connection_age, Some(Duration::from_secs(60)));
        assert_eq!(s.max_connection_age_grace, Some(Duration::from_secs(5)));
        assert_eq!(s.keep_alive_interval, Duration::from_secs(30));
        assert_eq!(s.keep_alive_timeout, Duration::from_secs(10));
        assert_eq!(ignored, ["grpc.so_reuseport"]);
    }

    #[test]
    fn every_name_the_warning_lists_is_applied() {
        for name in APPLIED {
            let (_, ignored) = settings(&format!("{name}=1000")).unwrap();
            assert!(ignored.is_empty(), "{name} is listed but ignored");
        }
    }

    #[test]
    fn empty_and_infinite_mean_no_limit() {
        let (s, ignored) = settings("").unwrap();
        assert_eq!(s.max_connection_age, None);
        assert!(ignored.is_empty());
        let (s, _) = settings("grpc.max_connection_age_ms=2147483647").unwrap();
        assert_eq!(s.max_connection_age, None);
    }

    #[test]
    fn malformed_lists_are_errors() {
        for bad in [
            "grpc.max_connection_age_ms",
            "grpc.max_connection_age_ms=soon",
            "grpc.keepalive_time_ms=-1",
        ] {
            assert!(settings(bad).is_err(), "{bad}");
        }
    }
}
