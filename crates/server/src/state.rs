//! The state every request handler shares: a cheap `Clone` handle passed with
//! `Router::with_state`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tensorserve_engine::Manager;

use crate::admission::Admission;
use crate::config::ServerConfig;

/// Shared server state.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    manager: Manager,
    config: ServerConfig,
    draining: AtomicBool,
    admission: Admission,
}

impl AppState {
    /// State over a started model manager.
    pub fn new(manager: Manager, config: ServerConfig) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                admission: Admission::new(
                    config.max_concurrent_per_model,
                    config.max_queued_per_model,
                ),
                manager,
                config,
                draining: AtomicBool::new(false),
            }),
        }
    }

    /// The model manager.
    pub fn manager(&self) -> &Manager {
        &self.inner.manager
    }

    /// Per-model admission control.
    pub fn admission(&self) -> &Admission {
        &self.inner.admission
    }

    /// Whether models are served with batching: their runs are awaited through
    /// [`tensorserve_core::Model::start`] and never run inline on a worker.
    pub fn batching(&self) -> bool {
        self.inner.config.batching.is_some()
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// Ready: every configured model has an available version, and no drain has started.
    pub fn is_ready(&self) -> bool {
        !self.inner.draining.load(Ordering::Acquire) && self.inner.manager.all_ready()
    }

    /// Marks the server as draining: readiness turns false at once.
    pub fn start_draining(&self) {
        self.inner.draining.store(true, Ordering::Release);
    }
}
