//! Starting and stopping the server: load the initial models (TF Serving opens no port before
//! they are AVAILABLE), bind the ports, serve, and drain on request.
//!
//! Shutdown sequence (docs/operations.md): readiness turns false at once; serving continues for
//! the drain delay so load balancers stop sending; then listeners close, in-flight requests get
//! the grace period to finish, and [`Server::wait`] returns.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{ModelSource, ServerConfig};
use crate::loader::RuntimeLoader;
use crate::state::AppState;
use crate::{grpc, rest};
use tensorserve_engine::{Manager, ManagerOptions, ModelServerConfig};

/// A running server.
pub struct Server {
    /// Where REST listens, if enabled (the real port when 0 was asked for).
    pub rest_addr: Option<SocketAddr>,
    /// Where gRPC listens on TCP, if enabled (the real port when 0 was asked for).
    pub grpc_addr: Option<SocketAddr>,
    state: AppState,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// The engine configuration for the configured model source.
pub fn model_config(source: &ModelSource) -> anyhow::Result<ModelServerConfig> {
    match source {
        ModelSource::Single { name, base_path } => Ok(ModelServerConfig::single(name, base_path)),
        ModelSource::ConfigFile { path, .. } => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            ModelServerConfig::parse(&text).map_err(|e| {
                anyhow::anyhow!(
                    "{}\nInvalid protobuf file: '{}'",
                    e.message(),
                    path.display()
                )
            })
        }
    }
}

impl Server {
    /// Loads the models and starts serving.
    pub async fn start(config: ServerConfig) -> anyhow::Result<Server> {
        let models = model_config(&config.models)?;
        let options = ManagerOptions {
            max_num_load_retries: config.max_num_load_retries,
            load_retry_interval: config.load_retry_interval,
            allow_version_labels_for_unavailable_models: config
                .allow_version_labels_for_unavailable_models,
            ..ManagerOptions::default()
        }
        .with_file_system_poll_wait_seconds(config.file_system_poll_wait_seconds);
        let loader = Arc::new(
            RuntimeLoader::new(config.saved_model_tags.clone())
                .with_batching(
                    config.batching.as_ref(),
                    config.per_model_batching,
                    Some(Arc::new(crate::metrics::BatchSizeMetrics)),
                )
                .map_err(|e| anyhow::anyhow!("{}", e.message()))?
                .with_warmup(config.warmup),
        );
        let manager = Manager::start(models, loader, options)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        if let ModelSource::ConfigFile {
            path,
            poll: Some(interval),
        } = &config.models
        {
            manager.poll_config_file(path.clone(), *interval);
        }
        let state = AppState::new(manager, config.clone());
        let (shutdown, _) = watch::channel(false);
        let mut server = Server {
            rest_addr: None,
            grpc_addr: None,
            state: state.clone(),
            shutdown,
            tasks: Vec::new(),
        };
        if let Some(addr) = config.grpc_addr {
            let listener = TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot bind the gRPC port {addr}"))?;
            let local = listener.local_addr()?;
            tracing::info!(
                "Running gRPC ModelServer at {}:{} ...",
                local.ip(),
                local.port()
            );
            server.grpc_addr = Some(local);
            // tonic sets TCP_NODELAY only on listeners it binds itself: without it, a response
            // written in more than one segment waits for the client's delayed ACK.
            let incoming = tokio_stream::StreamExt::map(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                |stream| {
                    if let Ok(s) = &stream {
                        let _ = s.set_nodelay(true);
                    }
                    stream
                },
            );
            server.tasks.push(tokio::spawn(serve_grpc(
                incoming,
                state.clone(),
                server.shutdown.subscribe(),
            )));
        }
        #[cfg(unix)]
        if let Some(path) = &config.grpc_socket_path {
            let _ = std::fs::remove_file(path);
            let listener = tokio::net::UnixListener::bind(path)
                .with_context(|| format!("cannot bind the gRPC socket {}", path.display()))?;
            tracing::info!("Running gRPC ModelServer at unix:{} ...", path.display());
            let incoming = tokio_stream::wrappers::UnixListenerStream::new(listener);
            server.tasks.push(tokio::spawn(serve_grpc(
                incoming,
                state.clone(),
                server.shutdown.subscribe(),
            )));
        }
        if let Some(addr) = config.rest_addr {
            match TcpListener::bind(addr).await {
                Ok(listener) => {
                    let local = listener.local_addr()?;
                    tracing::info!("Exporting HTTP/REST API at:localhost:{} ...", local.port());
                    server.rest_addr = Some(local);
                    server.tasks.push(tokio::spawn(serve_rest(
                        listener,
                        state.clone(),
                        server.shutdown.subscribe(),
                    )));
                }
                // TF Serving keeps running with gRPC only when REST cannot bind.
                Err(e) => tracing::error!(
                    "Failed to start HTTP Server at localhost:{}: {e}",
                    addr.port()
                ),
            }
        }
        Ok(server)
    }

    /// The shared state (for tests and the admin endpoints).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Starts the shutdown sequence.
    pub fn shutdown(&self) {
        self.state.start_draining();
        let _ = self.shutdown.send(true);
    }

    /// Waits until every listener has stopped and in-flight requests are done (or timed out).
    pub async fn wait(self) {
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

async fn serve_grpc<I, IO, IE>(incoming: I, state: AppState, mut shutdown: watch::Receiver<bool>)
where
    I: tokio_stream::Stream<Item = Result<IO, IE>> + Send + 'static,
    IO: tokio::io::AsyncRead
        + tokio::io::AsyncWrite
        + tonic::transport::server::Connected
        + Unpin
        + Send
        + 'static,
    IE: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
{
    let config = state.config().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serve = grpc::serve(incoming, state, async move {
        let _ = stopped.await;
    });
    let mut serving = tokio::spawn(async move {
        if let Err(e) = serve.await {
            tracing::error!("gRPC server failed: {e:#}");
        }
    });
    tokio::select! {
        _ = &mut serving => return,
        _ = shutdown.wait_for(|s| *s) => {}
    }
    // As for REST: keep serving through the drain delay, then stop accepting and give
    // in-flight calls the grace period.
    tokio::time::sleep(config.drain_delay).await;
    let _ = stop.send(());
    if tokio::time::timeout(config.shutdown_grace, &mut serving)
        .await
        .is_err()
    {
        tracing::warn!("shutdown grace period elapsed with gRPC calls still in flight");
        serving.abort();
    }
}

async fn serve_rest(listener: TcpListener, state: AppState, mut shutdown: watch::Receiver<bool>) {
    let config = state.config().clone();
    let app = rest::RestService::new(state);
    let limits = rest::serve::ConnectionLimits {
        max_connections: config.rest_max_connections,
        idle_timeout: config.rest_idle_timeout,
    };
    // Keep serving while endpoints are removed from load balancers, then stop accepting and
    // give in-flight requests the grace period.
    let drain_delay = config.drain_delay;
    let stop = async move {
        let _ = shutdown.wait_for(|s| *s).await;
        tokio::time::sleep(drain_delay).await;
    };
    rest::serve::serve(listener, app, limits, stop, config.shutdown_grace).await;
}
