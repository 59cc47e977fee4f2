//! One gRPC connection, served by our HTTP/2 server ([`tensorserve_http2`], see
//! docs/http2.md) with [`Dispatch`] as its service: the HTTP/2 handshake with our SETTINGS,
//! streams run inline in the connection's task first, keep-alive pings, and graceful shutdown
//! when `closing` turns true (GOAWAY, then the connection ends once its streams are done).

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use super::stream::Dispatch;

/// Connection settings of the gRPC listener.
#[derive(Debug, Clone)]
pub struct Settings {
    /// A PING after this long with nothing read (dead peers are found by pings; idle live
    /// channels are normal in gRPC).
    pub keep_alive_interval: Duration,
    /// How long the peer has to answer that PING before the connection is closed.
    pub keep_alive_timeout: Duration,
    /// Connections older than this are closed gracefully, so that clients reconnect (and
    /// spread over pods added since); `None`: never.
    pub max_connection_age: Option<Duration>,
    /// How long calls in progress may still take after that; `None`: as long as they need.
    pub max_connection_age_grace: Option<Duration>,
}

impl Default for Settings {
    fn default() -> Settings {
        let config = tensorserve_http2::Config::default();
        Settings {
            keep_alive_interval: config.keep_alive_interval,
            keep_alive_timeout: config.keep_alive_timeout,
            max_connection_age: config.max_connection_age,
            max_connection_age_grace: config.max_connection_age_grace,
        }
    }
}

/// Serves gRPC on one connection until the peer closes it, it fails, or `closing` turns true
/// and its streams are done.
pub async fn serve_connection<IO>(
    io: IO,
    dispatch: Dispatch,
    closing: watch::Receiver<bool>,
    settings: Settings,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let config = tensorserve_http2::Config {
        keep_alive_interval: settings.keep_alive_interval,
        keep_alive_timeout: settings.keep_alive_timeout,
        max_connection_age: settings.max_connection_age,
        max_connection_age_grace: settings.max_connection_age_grace,
        // 1 MB windows, 16 kB header lists, up to 1024 calls in flight per connection; the
        // work itself is bounded by admission control (`--max_concurrent_requests_per_model`).
        ..tensorserve_http2::Config::default()
    };
    tensorserve_http2::serve(io, dispatch, closing, config).await;
}
