//! The model manager: loads the versions each model's policy asks for, loading a new version
//! before unloading the old one, retries failures, resolves labels, and answers lookups from a
//! published snapshot so requests never wait on a lock (architecture habit 8).
//!
//! All mutation goes through one async lock (`sync`), so polls, config reloads and startup
//! never interleave their transitions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use tensorserve_core::{Model, Status};

use crate::config::{ModelConfig, ModelServerConfig};
use crate::discovery;
use crate::state::{ModelEntry, ModelState, Table, Version, VersionStatus};

/// Turns a version directory into a model. Implemented over the runtime by the server, and by
/// fakes in tests.
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

/// Which version a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionChoice {
    /// The highest available.
    Latest,
    /// This version.
    Specific(i64),
    /// The version this label names.
    Label(String),
}

/// A model version resolved for one request. Holding it keeps the model alive even if the
/// version is unloaded meanwhile.
#[derive(Clone)]
pub struct ServableHandle {
    /// Model name.
    pub name: String,
    /// Version number.
    pub version: i64,
    /// The model.
    pub model: Arc<dyn Model>,
}

impl std::fmt::Debug for ServableHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServableHandle")
            .field("name", &self.name)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// Manager settings (the TF Serving flags of the same names).
#[derive(Debug, Clone)]
pub struct ManagerOptions {
    /// Re-scan base paths this often; `None` scans once.
    pub file_system_poll_wait: Option<Duration>,
    /// Retries after a failed load.
    pub max_num_load_retries: u32,
    /// Pause between retries.
    pub load_retry_interval: Duration,
    /// Labels may point at versions not yet available.
    pub allow_version_labels_for_unavailable_models: bool,
    /// Give up waiting for initial versions after this long (`None`: wait as TF Serving does,
    /// forever, while a base path has no versions).
    pub initial_load_timeout: Option<Duration>,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        ManagerOptions {
            file_system_poll_wait: Some(Duration::from_secs(1)),
            max_num_load_retries: 5,
            load_retry_interval: Duration::from_secs(60),
            allow_version_labels_for_unavailable_models: false,
            initial_load_timeout: None,
        }
    }
}

struct Inner {
    loader: Arc<dyn Loader>,
    options: ManagerOptions,
    table: Mutex<Table>,
    published: ArcSwap<Table>,
    sync: tokio::sync::Mutex<()>,
}

/// The model manager: a cheap `Clone` handle.
#[derive(Clone)]
pub struct Manager {
    inner: Arc<Inner>,
}

impl Manager {
    /// Loads `config`'s models and returns once every model has its aspired versions settled and
    /// at least one AVAILABLE (TF Serving opens no port before that). Starts polling.
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
                sync: tokio::sync::Mutex::new(()),
            }),
        };
        manager.reload_config(config).await?;
        if let Some(interval) = manager.inner.options.file_system_poll_wait {
            let weak = Arc::downgrade(&manager.inner);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(interval).await;
                    let Some(inner) = weak.upgrade() else { return };
                    Manager { inner }.poll_once().await;
                }
            });
        }
        Ok(manager)
    }

    /// Resolves a request's model and version.
    pub fn lookup(&self, name: &str, choice: &VersionChoice) -> Result<ServableHandle, Status> {
        let table = self.inner.published.load();
        let entry = table.models.get(name).filter(|e| e.config.is_some());
        let not_found =
            |what: String| Status::not_found(format!("Servable not found for request: {what}"));
        let specific = |version: i64| -> Result<ServableHandle, Status> {
            entry
                .and_then(|e| e.versions.get(&version))
                .filter(|v| v.state == ModelState::Available)
                .and_then(|v| v.model.clone())
                .map(|model| ServableHandle {
                    name: name.to_string(),
                    version,
                    model,
                })
                .ok_or_else(|| not_found(format!("Specific({name}, {version})")))
        };
        match choice {
            VersionChoice::Latest => entry
                .and_then(ModelEntry::latest_available)
                .map(|(version, model)| ServableHandle {
                    name: name.to_string(),
                    version,
                    model: model.clone(),
                })
                .ok_or_else(|| not_found(format!("Latest({name})"))),
            VersionChoice::Specific(v) => specific(*v),
            VersionChoice::Label(label) => {
                let version = entry
                    .and_then(|e| e.config.as_ref())
                    .and_then(|c| c.labels.get(label))
                    .ok_or_else(|| {
                        Status::invalid_argument(format!(
                            "Unrecognized servable version label: {label}"
                        ))
                    })?;
                specific(*version)
            }
        }
    }

    /// Version states of a model, highest version first; one version when asked.
    pub fn status(&self, name: &str, version: Option<i64>) -> Result<Vec<VersionStatus>, Status> {
        let table = self.inner.published.load();
        let versions = table
            .models
            .get(name)
            .map(|e| &e.versions)
            .filter(|v| !v.is_empty());
        let Some(versions) = versions else {
            return Err(Status::not_found(format!(
                "Could not find any versions of model {name}"
            )));
        };
        let to_status = |(n, v): (&i64, &Version)| VersionStatus {
            version: *n,
            state: v.state,
            status: v.status.clone(),
        };
        match version {
            Some(wanted) => versions
                .get_key_value(&wanted)
                .map(|kv| vec![to_status(kv)])
                .ok_or_else(|| {
                    Status::not_found(format!("Could not find version {wanted} of model {name}"))
                }),
            None => Ok(versions.iter().rev().map(to_status).collect()),
        }
    }

    /// Names of the configured models.
    pub fn model_names(&self) -> Vec<String> {
        let table = self.inner.published.load();
        table
            .models
            .iter()
            .filter(|(_, e)| e.config.is_some())
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// Whether every configured model has an AVAILABLE version.
    pub fn all_ready(&self) -> bool {
        let table = self.inner.published.load();
        table
            .models
            .values()
            .filter(|e| e.config.is_some())
            .all(|e| e.latest_available().is_some())
    }

    /// Replaces the served model list: absent models are unloaded, new ones loaded (waiting
    /// until they are available), and labels checked.
    pub async fn reload_config(&self, config: ModelServerConfig) -> Result<(), Status> {
        config.validate()?;
        let _guard = self.inner.sync.lock().await;
        let wanted: BTreeMap<String, ModelConfig> = config
            .models
            .into_iter()
            .map(|m| (m.name.clone(), m))
            .collect();
        let removed: Vec<String> = self.edit(|t| {
            t.models
                .iter()
                .filter(|(n, e)| e.config.is_some() && !wanted.contains_key(*n))
                .map(|(n, _)| n.clone())
                .collect()
        });
        for name in removed {
            tracing::info!(model = %name, "model removed from the config: unloading");
            self.edit(|t| t.models.get_mut(&name).map(|e| e.config = None));
            self.unload_versions(&name, |_| true);
        }
        let mut new_models = Vec::new();
        for (name, model) in &wanted {
            let is_new = self.edit(|t| {
                let entry = t.models.entry(name.clone()).or_default();
                let is_new = entry.config.is_none();
                entry.config = Some(model.clone());
                is_new
            });
            if is_new {
                new_models.push(name.clone());
            }
        }
        for name in wanted.keys() {
            self.sync_model(name).await;
        }
        self.wait_available(&new_models).await?;
        self.check_labels(&wanted)
    }

    /// Re-reads `path` every `interval` and applies it when it changed; errors are logged and
    /// polling goes on.
    pub fn poll_config_file(&self, path: PathBuf, interval: Duration) {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut last = std::fs::read_to_string(&path).ok();
            loop {
                tokio::time::sleep(interval).await;
                let Some(inner) = weak.upgrade() else { return };
                let manager = Manager { inner };
                let text = match std::fs::read_to_string(&path) {
                    Ok(t) => t,
                    Err(e) => {
                        tracing::error!("cannot read model config {}: {e}", path.display());
                        continue;
                    }
                };
                if last.as_deref() == Some(text.as_str()) {
                    continue;
                }
                last = Some(text.clone());
                match ModelServerConfig::parse(&text) {
                    Ok(config) => match manager.reload_config(config).await {
                        Ok(()) => tracing::info!("reloaded model config {}", path.display()),
                        Err(e) => tracing::error!("model config reload failed: {}", e.message()),
                    },
                    Err(e) => tracing::error!("{}", e.message()),
                }
            }
        });
    }

    async fn poll_once(&self) {
        let _guard = self.inner.sync.lock().await;
        for name in self.model_names() {
            self.sync_model(&name).await;
        }
    }

    fn edit<R>(&self, change: impl FnOnce(&mut Table) -> R) -> R {
        let mut table = self.inner.table.lock().expect("table lock");
        let result = change(&mut table);
        self.inner.published.store(Arc::new(table.clone()));
        result
    }

    fn set_state(
        &self,
        name: &str,
        version: i64,
        state: ModelState,
        status: Result<(), Status>,
        model: Option<Arc<dyn Model>>,
        path: &Path,
    ) {
        self.edit(|t| {
            let entry = t.models.entry(name.to_string()).or_default();
            entry.versions.insert(
                version,
                Version {
                    state,
                    status,
                    model,
                    path: path.to_path_buf(),
                },
            );
        });
    }

    /// Brings one model's versions in line with its policy and the filesystem.
    async fn sync_model(&self, name: &str) {
        let Some(config) = self.edit(|t| t.models.get(name).and_then(|e| e.config.clone())) else {
            return;
        };
        let present = match discovery::list_versions(name, &config.base_path) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(
                    "FileSystemStoragePathSource encountered a filesystem access error: Could not find base path {} for servable {name} with error {e}",
                    config.base_path.display()
                );
                return;
            }
        };
        if present.is_empty() {
            tracing::warn!(
                "No versions of servable {name} found under base path {}. Did you forget to name your leaf directory as a number (eg. '/1/')?",
                config.base_path.display()
            );
        }
        let aspired = discovery::aspired(name, &config.policy, &present);
        // Highest new version first, so the freshest model serves soonest.
        for (version, path) in aspired.iter().rev() {
            let needs_load =
                self.edit(
                    |t| match t.models.get(name).and_then(|e| e.versions.get(version)) {
                        None => true,
                        // Unloaded earlier and aspired again (the directory came back).
                        Some(v) => v.state == ModelState::End && v.status.is_ok(),
                    },
                );
            if needs_load {
                self.load_version(name, &config.platform, *version, path)
                    .await;
            }
        }
        // Unload what is no longer aspired, but only once an aspired version serves (or none is
        // aspired at all): availability is preserved across version swaps.
        let aspired_serving = aspired.is_empty()
            || self.edit(|t| {
                t.models
                    .get(name)
                    .is_some_and(|e| aspired.keys().any(|v| e.is_available(*v)))
            });
        if aspired_serving {
            self.unload_versions(name, |v| !aspired.contains_key(&v));
        }
    }

    async fn load_version(&self, name: &str, platform: &str, version: i64, path: &Path) {
        tracing::info!(model = name, version, "loading {}", path.display());
        self.set_state(name, version, ModelState::Loading, Ok(()), None, path);
        let attempts = self.inner.options.max_num_load_retries + 1;
        for attempt in 1..=attempts {
            let (loader, n, p, plat) = (
                self.inner.loader.clone(),
                name.to_string(),
                path.to_path_buf(),
                platform.to_string(),
            );
            let result = tokio::task::spawn_blocking(move || loader.load(&n, version, &p, &plat))
                .await
                .unwrap_or_else(|e| Err(Status::internal(format!("model load panicked: {e}"))));
            match result {
                Ok(model) => {
                    self.set_state(
                        name,
                        version,
                        ModelState::Available,
                        Ok(()),
                        Some(model),
                        path,
                    );
                    tracing::info!(model = name, version, "version is AVAILABLE");
                    return;
                }
                Err(e) if attempt < attempts => {
                    tracing::warn!(
                        model = name,
                        version,
                        attempt,
                        "load failed, retrying: {}",
                        e.message()
                    );
                    tokio::time::sleep(self.inner.options.load_retry_interval).await;
                }
                Err(e) => {
                    tracing::error!(model = name, version, "load failed: {}", e.message());
                    self.set_state(name, version, ModelState::End, Err(e), None, path);
                }
            }
        }
    }

    fn unload_versions(&self, name: &str, unload: impl Fn(i64) -> bool) {
        let targets: Vec<(i64, PathBuf)> = self.edit(|t| {
            t.models
                .get(name)
                .map(|e| {
                    e.versions
                        .iter()
                        .filter(|(n, v)| v.state == ModelState::Available && unload(**n))
                        .map(|(n, v)| (*n, v.path.clone()))
                        .collect()
                })
                .unwrap_or_default()
        });
        for (version, path) in targets {
            tracing::info!(model = name, version, "unloading");
            self.edit(|t| {
                if let Some(v) = t
                    .models
                    .get_mut(name)
                    .and_then(|e| e.versions.get_mut(&version))
                {
                    v.state = ModelState::Unloading;
                }
            });
            // Requests still holding the model keep it alive; dropping our reference is the unload.
            self.set_state(name, version, ModelState::End, Ok(()), None, &path);
        }
    }

    async fn wait_available(&self, models: &[String]) -> Result<(), Status> {
        let started = Instant::now();
        loop {
            let mut pending = Vec::new();
            let mut failed = Vec::new();
            self.edit(|t| {
                for name in models {
                    let Some(entry) = t.models.get(name) else {
                        continue;
                    };
                    if entry.latest_available().is_some() {
                        continue;
                    }
                    let errors: Vec<String> = entry
                        .versions
                        .iter()
                        .filter_map(|(v, ver)| {
                            ver.status
                                .as_ref()
                                .err()
                                .map(|e| format!("{{name: {name} version: {v}}} due to error: {e}"))
                        })
                        .collect();
                    let loading = entry
                        .versions
                        .values()
                        .any(|v| v.state == ModelState::Loading);
                    if !errors.is_empty() && !loading {
                        failed.extend(errors);
                    } else {
                        pending.push(name.clone());
                    }
                }
            });
            if !failed.is_empty() {
                return Err(Status::unknown(format!(
                    "{} model(s) did not become available: {{{}, }}",
                    failed.len(),
                    failed.join(", ")
                )));
            }
            if pending.is_empty() {
                return Ok(());
            }
            if self
                .inner
                .options
                .initial_load_timeout
                .is_some_and(|limit| started.elapsed() >= limit)
            {
                return Err(Status::unavailable(format!(
                    "{} model(s) did not become available in time: {}",
                    pending.len(),
                    pending.join(", ")
                )));
            }
            // Versions may appear later (TF Serving waits for them): rescan while waiting.
            tokio::time::sleep(
                self.inner
                    .options
                    .file_system_poll_wait
                    .unwrap_or(Duration::from_secs(1)),
            )
            .await;
            for name in &pending {
                self.sync_model(name).await;
            }
        }
    }

    fn check_labels(&self, models: &BTreeMap<String, ModelConfig>) -> Result<(), Status> {
        if self
            .inner
            .options
            .allow_version_labels_for_unavailable_models
        {
            return Ok(());
        }
        let table = self.inner.published.load();
        for (name, config) in models {
            for version in config.labels.values() {
                if !table
                    .models
                    .get(name)
                    .is_some_and(|e| e.is_available(*version))
                {
                    return Err(Status::failed_precondition(format!(
                        "Request to assign label to version {version} of model {name}, which is not currently available for inference"
                    )));
                }
            }
        }
        Ok(())
    }
}
