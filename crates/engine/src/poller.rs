//! Background tasks that drive the manager: the file-system poller (every
//! `file_system_poll_wait_seconds`) and the config-file poller (every
//! `model_config_file_poll_wait_seconds`). Both hold only a weak reference between rounds, so
//! they end when the last [`Manager`] handle is dropped; otherwise they never exit, logging
//! errors and carrying on.

use std::path::PathBuf;
use std::sync::Weak;
use std::time::Duration;

use crate::config::ModelServerConfig;
use crate::manager::{Inner, Manager};

/// Rescans every configured model's base path every `interval`. A model whose previous sync is
/// still running (a slow load, or retries) is skipped for this round rather than queued.
pub(crate) fn spawn_file_system_poller(weak: Weak<Inner>, interval: Duration) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            let Some(manager) = Manager::upgrade(&weak) else {
                return;
            };
            for name in manager.model_names() {
                let Ok(guard) = manager.model_lock(&name).try_lock_owned() else {
                    continue;
                };
                let manager = manager.clone();
                tokio::spawn(async move {
                    let _guard = guard;
                    manager.sync_locked(&name).await;
                });
            }
        }
    });
}

/// Re-reads the model config file every `interval` (a zero interval does nothing: the file was
/// read once at startup) and reloads when the parsed config differs from the last one applied
/// in full — so a reload refused for its labels is retried on the next round, as TF Serving
/// retries it.
pub(crate) fn spawn_config_file_poller(weak: Weak<Inner>, path: PathBuf, interval: Duration) {
    if interval.is_zero() {
        return;
    }
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            let Some(manager) = Manager::upgrade(&weak) else {
                return;
            };
            let text = match tokio::fs::read_to_string(&path).await {
                Ok(text) => text,
                Err(e) => {
                    tracing::error!("Failed to read model config file {}: {e}", path.display());
                    continue;
                }
            };
            let config = match ModelServerConfig::parse(&text) {
                Ok(config) => config,
                Err(e) => {
                    tracing::error!(
                        "{}\nInvalid protobuf file: '{}'",
                        e.message(),
                        path.display()
                    );
                    continue;
                }
            };
            if manager.applied_config().as_ref() == Some(&config) {
                continue;
            }
            tracing::info!("Reloading model config from {}", path.display());
            match manager.reload_config(config).await {
                Ok(()) => tracing::info!("Reloaded model config from {}", path.display()),
                Err(e) => {
                    tracing::error!("Model config reload from {} failed: {e}", path.display())
                }
            }
        }
    });
}
