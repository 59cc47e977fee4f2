//! The servable table: every model's versions with their lifecycle state, as a plain value that
//! the manager mutates under its lock and publishes whole for lock-free lookups.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use tensorserve_core::{Model, Status};

use crate::config::ModelConfig;

/// A version's place in its lifecycle (`ServableState::ManagerState`, numbered as in the model
/// status proto).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelState {
    /// Not known.
    Unknown = 0,
    /// Found, about to load.
    Start = 10,
    /// Loading.
    Loading = 20,
    /// Serving.
    Available = 30,
    /// Being unloaded.
    Unloading = 40,
    /// Unloaded, or failed to load (then with an error status).
    End = 50,
}

impl ModelState {
    /// The enum name TF Serving prints.
    pub fn name(self) -> &'static str {
        match self {
            ModelState::Unknown => "UNKNOWN",
            ModelState::Start => "START",
            ModelState::Loading => "LOADING",
            ModelState::Available => "AVAILABLE",
            ModelState::Unloading => "UNLOADING",
            ModelState::End => "END",
        }
    }
}

/// One version as status reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionStatus {
    /// The version number.
    pub version: i64,
    /// Its state.
    pub state: ModelState,
    /// OK, or why it failed.
    pub status: Result<(), Status>,
}

/// A version's entry in the table.
#[derive(Clone)]
pub struct Version {
    /// Lifecycle state.
    pub state: ModelState,
    /// Error of a failed load.
    pub status: Result<(), Status>,
    /// The loaded model, while AVAILABLE (and UNLOADING).
    pub model: Option<Arc<dyn Model>>,
    /// Where it was loaded from.
    pub path: PathBuf,
}

/// A model's entry.
#[derive(Clone, Default)]
pub struct ModelEntry {
    /// Its configuration; `None` once removed from the config (history stays for status).
    pub config: Option<ModelConfig>,
    /// Versions seen, by number.
    pub versions: BTreeMap<i64, Version>,
}

impl ModelEntry {
    /// The highest AVAILABLE version.
    pub fn latest_available(&self) -> Option<(i64, &Arc<dyn Model>)> {
        self.versions
            .iter()
            .rev()
            .find(|(_, v)| v.state == ModelState::Available)
            .and_then(|(n, v)| v.model.as_ref().map(|m| (*n, m)))
    }

    /// Whether `version` is AVAILABLE.
    pub fn is_available(&self, version: i64) -> bool {
        self.versions
            .get(&version)
            .is_some_and(|v| v.state == ModelState::Available)
    }
}

/// Every model, by name.
#[derive(Clone, Default)]
pub struct Table {
    /// The models.
    pub models: BTreeMap<String, ModelEntry>,
}
