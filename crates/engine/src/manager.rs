//! The model manager: the actor around the plain [`ModelEntry`] state machine.
//!
//! Writers (polls, reloads) change a private copy of the [`Table`] under a short mutex and
//! publish a clone through `ArcSwap`; requests read the published snapshot without a lock
//! (architecture habit 8). Each model has its own async lock, held while its versions are being
//! brought in line with a poll, so one model's slow or failing load never holds up another; the
//! loads themselves run on blocking threads. Reloads are serialized by one more lock.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use tensorserve_core::{Model, Status};
use tokio::sync::watch;

use crate::config::ModelServerConfig;
use crate::discovery;
use crate::poller;
use crate::state::VersionStatus;
use crate::state::{Action, ModelEntry};
use crate::table::Table;
pub use crate::table::{ServableHandle, VersionChoice};

/// Turns a version directory into a model. Implemented over the runtime by the server, and by
/// fakes in tests. Called on a blocking thread.
pub trait Loader: Send + Sync {
    /// Loads version `version` of `model_name` from `path`.
    fn load(
        &self,
        model_name: &str,
        version: i64,
        path: &Path,
        platform: &str,
    ) -> Result<Arc<dyn Model>, Status>;
}

/// Manager settings (the TF Serving flags of the same names).
#[derive(Debug, Clone)]
pub struct ManagerOptions {
    /// Re-scan base paths this often; `None` scans once per (re)configuration.
    pub file_system_poll_wait: Option<Duration>,
    /// Never scan base paths (`--file_system_poll_wait_seconds` < 0); TF Serving then waits
    /// forever for versions, so pair it with `initial_load_timeout`.
    pub file_system_poll_disabled: bool,
    /// Retries after a failed load.
    pub max_num_load_retries: u32,
    /// Pause between retries.
    pub load_retry_interval: Duration,
    /// Labels may point at versions not yet available (reference §3.5).
    pub allow_version_labels_for_unavailable_models: bool,
    /// Bounds every wait for models to become available, at startup and on reload (`None`:
    /// wait as TF Serving does, forever, while a base path has no versions).
    pub initial_load_timeout: Option<Duration>,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        ManagerOptions {
            file_system_poll_wait: Some(Duration::from_secs(1)),
            file_system_poll_disabled: false,
            max_num_load_retries: 5,
            load_retry_interval: Duration::from_secs(60),
            allow_version_labels_for_unavailable_models: false,
            initial_load_timeout: None,
        }
    }
}

impl ManagerOptions {
    /// Applies `--file_system_poll_wait_seconds`: > 0 polls every N seconds, 0 scans once,
    /// < 0 never scans.
    pub fn with_file_system_poll_wait_seconds(mut self, seconds: i64) -> Self {
        self.file_system_poll_wait =
            (seconds > 0).then(|| Duration::from_secs(seconds.unsigned_abs()));
        self.file_system_poll_disabled = seconds < 0;
        self
    }
}

pub(crate) struct Inner {
    loader: Arc<dyn Loader>,
    options: ManagerOptions,
    /// The writers' copy; always equal to `published` outside `edit`.
    table: Mutex<Table>,
    published: ArcSwap<Table>,
    /// Bumped on every publish, so waiters need not poll.
    changed: watch::Sender<u64>,
    model_locks: Mutex<BTreeMap<String, Arc<tokio::sync::Mutex<()>>>>,
    reload_lock: tokio::sync::Mutex<()>,
    /// The last config applied in full (labels included).
    applied: Mutex<Option<ModelServerConfig>>,
}

/// The model manager: a cheap `Clone` handle.
#[derive(Clone)]
pub struct Manager {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Manager {
    /// Starts polling, loads `config`'s models and returns once each model's highest aspired
    /// version is AVAILABLE (TF Serving opens no port before that). Fails with TF Serving's
    /// `N model(s) did not become available` when one failed after its retries, with
    /// FAILED_PRECONDITION when a label names an unavailable version, and with
    /// DEADLINE_EXCEEDED after `initial_load_timeout`.
    pub async fn start(
        config: ModelServerConfig,
        loader: Arc<dyn Loader>,
        options: ManagerOptions,
    ) -> Result<Manager, Status> {
        let manager = Manager {
            inner: Arc::new(Inner {
                loader,
                options,
                table: Mutex::new(Table::default()),
                published: ArcSwap::from_pointee(Table::default()),
                changed: watch::channel(0).0,
                model_locks: Mutex::default(),
                reload_lock: tokio::sync::Mutex::new(()),
                applied: Mutex::new(None),
            }),
        };
        let options = &manager.inner.options;
        if let (Some(interval), false) = (
            options.file_system_poll_wait,
            options.file_system_poll_disabled,
        ) {
            poller::spawn_file_system_poller(manager.downgrade(), interval);
        }
        manager.reload_config(config).await?;
        Ok(manager)
    }

    /// Resolves a request's model and version from the current snapshot, without locking.
    /// Errors: NOT_FOUND `Servable not found for request: Latest(<name>)` or
    /// `... Specific(<name>, <v>)`; INVALID_ARGUMENT `Unrecognized servable version label: <l>`.
    pub fn lookup(&self, name: &str, choice: &VersionChoice) -> Result<ServableHandle, Status> {
        self.inner.published.load().lookup(name, choice)
    }

    /// Version states of a model, highest version first, ended versions included.
    pub fn status(&self, name: &str, version: Option<i64>) -> Result<Vec<VersionStatus>, Status> {
        self.inner.published.load().status(name, version)
    }

    /// Names of the configured models.
    pub fn model_names(&self) -> Vec<String> {
        self.inner.published.load().model_names()
    }

    /// Whether every configured model has an AVAILABLE version.
    pub fn all_ready(&self) -> bool {
        self.inner.published.load().all_ready()
    }

    /// Replaces the served model list (reference §3.6): new models are added, absent ones
    /// unloaded, every model rescanned; then waits until the new models are available and
    /// installs the labels. A label error leaves the new model list in place and the old labels.
    /// The work runs in its own task, so it completes even if the caller stops waiting.
    pub async fn reload_config(&self, config: ModelServerConfig) -> Result<(), Status> {
        config.validate()?;
        let manager = self.clone();
        tokio::spawn(async move { manager.apply(config).await })
            .await
            .unwrap_or_else(|e| Err(Status::internal(format!("config reload failed: {e}"))))
    }

    /// Re-reads the config file at `path` every `interval` and applies it when it differs from
    /// the config last applied; errors are logged and polling goes on.
    pub fn poll_config_file(&self, path: PathBuf, interval: Duration) {
        poller::spawn_config_file_poller(self.downgrade(), path, interval);
    }

    pub(crate) fn downgrade(&self) -> Weak<Inner> {
        Arc::downgrade(&self.inner)
    }

    pub(crate) fn upgrade(weak: &Weak<Inner>) -> Option<Manager> {
        weak.upgrade().map(|inner| Manager { inner })
    }

    pub(crate) fn applied_config(&self) -> Option<ModelServerConfig> {
        lock(&self.inner.applied).clone()
    }

    async fn apply(&self, config: ModelServerConfig) -> Result<(), Status> {
        let _reload = self.inner.reload_lock.lock().await;
        let current = self.inner.published.load_full();
        for m in &config.models {
            if let Some(old) = current.models.get(&m.name).and_then(|e| e.config.as_ref())
                && old.platform != m.platform
            {
                return Err(Status::invalid_argument(format!(
                    "Illegal to change a model's platform. For model {} platform was {} and new platform requested is {}",
                    m.name, old.platform, m.platform
                )));
            }
        }
        let (added, touched) = self.edit(|t| {
            let mut touched = Vec::new();
            for (name, entry) in &mut t.models {
                if entry.config.is_some() && !config.models.iter().any(|m| &m.name == name) {
                    tracing::info!(model = %name, "model removed from the config: unloading");
                    Arc::make_mut(entry).config = None;
                    touched.push(name.clone());
                }
            }
            let mut added = Vec::new();
            for m in &config.models {
                let entry = t.entry_mut(&m.name);
                if entry.config.is_none() {
                    tracing::info!(model = %m.name, "adding model");
                    added.push(m.name.clone());
                }
                entry.config = Some(m.clone());
                touched.push(m.name.clone());
            }
            (added, touched)
        });
        let syncs: Vec<_> = touched
            .into_iter()
            .map(|name| {
                let manager = self.clone();
                tokio::spawn(async move { manager.sync_model(&name).await })
            })
            .collect();
        for sync in syncs {
            if let Err(e) = sync.await {
                tracing::error!("model sync task failed: {e}");
            }
        }
        self.wait_available(&added).await?;
        let allow = self
            .inner
            .options
            .allow_version_labels_for_unavailable_models;
        let labels = self.inner.published.load().check_labels(&config, allow)?;
        self.edit(|t| t.labels = Arc::new(labels));
        *lock(&self.inner.applied) = Some(config);
        Ok(())
    }

    /// Changes the table and publishes the result.
    fn edit<R>(&self, change: impl FnOnce(&mut Table) -> R) -> R {
        let mut table = lock(&self.inner.table);
        let result = change(&mut table);
        self.inner.published.store(Arc::new(table.clone()));
        self.inner.changed.send_modify(|n| *n = n.wrapping_add(1));
        result
    }

    fn edit_entry<R>(&self, name: &str, change: impl FnOnce(&mut ModelEntry) -> R) -> R {
        self.edit(|t| change(t.entry_mut(name)))
    }

    pub(crate) fn model_lock(&self, name: &str) -> Arc<tokio::sync::Mutex<()>> {
        lock(&self.inner.model_locks)
            .entry(name.to_string())
            .or_default()
            .clone()
    }

    async fn sync_model(&self, name: &str) {
        let model_lock = self.model_lock(name);
        let _guard = model_lock.lock().await;
        self.sync_locked(name).await;
    }

    /// Brings one model in line with its config and the file system; the caller holds the
    /// model's lock.
    pub(crate) async fn sync_locked(&self, name: &str) {
        let config = self
            .inner
            .published
            .load()
            .models
            .get(name)
            .and_then(|e| e.config.clone());
        let aspired = match &config {
            None => Some(BTreeMap::new()),
            Some(_) if self.inner.options.file_system_poll_disabled => None,
            Some(c) => {
                let (model, base, policy) =
                    (name.to_string(), c.base_path.clone(), c.policy.clone());
                tokio::task::spawn_blocking(move || discovery::scan(&model, &base, &policy))
                    .await
                    .unwrap_or(None)
            }
        };
        if let Some(aspired) = aspired {
            self.edit_entry(name, |e| e.set_aspired(&aspired));
        }
        let platform = config.map(|c| c.platform).unwrap_or_default();
        loop {
            let next = self
                .inner
                .published
                .load()
                .models
                .get(name)
                .and_then(|e| e.next_action());
            let progressed = match next {
                None => return,
                Some(Action::Load { version, path }) => {
                    self.load(name, version, path, &platform).await
                }
                Some(Action::Unload { version }) => self.unload(name, version).await,
            };
            if !progressed {
                tracing::error!(
                    model = name,
                    "version transition refused; stopping this sync"
                );
                return;
            }
        }
    }

    async fn load(&self, name: &str, version: i64, path: PathBuf, platform: &str) -> bool {
        if !self.edit_entry(name, |e| e.start_loading(version)) {
            return false;
        }
        tracing::info!("Loading servable version {{name: {name} version: {version}}}");
        let mut retries_left = self.inner.options.max_num_load_retries;
        let result = loop {
            let (loader, model, dir, plat) = (
                self.inner.loader.clone(),
                name.to_string(),
                path.clone(),
                platform.to_string(),
            );
            let outcome =
                tokio::task::spawn_blocking(move || loader.load(&model, version, &dir, &plat))
                    .await
                    .unwrap_or_else(|e| Err(Status::internal(format!("model load panicked: {e}"))));
            let error = match outcome {
                Ok(model) => break Ok(model),
                Err(e) => e,
            };
            let still_wanted = self
                .inner
                .published
                .load()
                .models
                .get(name)
                .is_some_and(|e| e.config.is_some());
            if retries_left == 0 || !still_wanted {
                break Err(error);
            }
            retries_left -= 1;
            tracing::warn!(
                "Loading servable {{name: {name} version: {version}}} failed: {error}; retrying ({retries_left} retries left)"
            );
            tokio::time::sleep(self.inner.options.load_retry_interval).await;
        };
        match &result {
            Ok(_) => tracing::info!(
                "Successfully loaded servable version {{name: {name} version: {version}}}"
            ),
            Err(e) => {
                tracing::error!("Loading servable: {{name: {name} version: {version}}} failed: {e}")
            }
        }
        self.edit_entry(name, |e| e.finish_loading(version, result))
    }

    async fn unload(&self, name: &str, version: i64) -> bool {
        let Some(model) = self.edit_entry(name, |e| e.start_unloading(version)) else {
            return false;
        };
        tracing::info!("Unloading servable version {{name: {name} version: {version}}}");
        // Requests holding the model keep it alive; if none does, its memory is freed here, on a
        // blocking thread rather than the executor.
        let _ = tokio::task::spawn_blocking(move || drop(model)).await;
        let done = self.edit_entry(name, |e| e.finish_unloading(version));
        tracing::info!("Done unloading servable version {{name: {name} version: {version}}}");
        done
    }

    /// Waits until each of `names` serves its highest aspired version, or one failed, or the
    /// configured bound passes.
    async fn wait_available(&self, names: &[String]) -> Result<(), Status> {
        let deadline = self
            .inner
            .options
            .initial_load_timeout
            .map(|t| tokio::time::Instant::now() + t);
        let mut changes = self.inner.changed.subscribe();
        loop {
            changes.borrow_and_update();
            if let Some(outcome) = self.inner.published.load().availability(names) {
                return outcome;
            }
            let changed = match deadline {
                Some(deadline) => tokio::time::timeout_at(deadline, changes.changed()).await,
                None => Ok(changes.changed().await),
            };
            match changed {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(Status::internal("model manager shut down")),
                Err(_) => {
                    let pending = self.inner.published.load().pending(names);
                    return Err(Status::deadline_exceeded(format!(
                        "{} model(s) did not become available within {:?}: {}",
                        pending.len(),
                        self.inner.options.initial_load_timeout.unwrap_or_default(),
                        pending.join(", ")
                    )));
                }
            }
        }
    }
}
