//! One model's versions and their lifecycle, as a plain value with unit-tested transitions
//! (reference §1.4, §3.4). The manager is the actor around it: it feeds in the aspired set from
//! each poll, asks [`ModelEntry::next_action`] what to do, does it (loading on a blocking
//! thread), and reports back.
//!
//! ```text
//! START ──▶ LOADING ──▶ AVAILABLE ──▶ UNLOADING ──▶ END
//!              └───────── (load failed after retries) ──▶ END + error
//! ```
//! Ended versions stay in the table, so status keeps their history. The next action follows TF
//! Serving's `AvailabilityPreservingPolicy`: unload a non-aspired version only when no version is
//! aspired, an aspired one is already AVAILABLE, or more than one non-aspired version is
//! AVAILABLE (lowest first); otherwise load the highest aspired version not yet tried.

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
    /// Aspired, waiting for its load.
    Start = 10,
    /// Loading (retries included).
    Loading = 20,
    /// Serving.
    Available = 30,
    /// Being unloaded.
    Unloading = 40,
    /// Unloaded, never loaded, or failed to load (then with an error status).
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

/// A version's entry.
#[derive(Clone)]
pub struct Version {
    /// Lifecycle state.
    pub state: ModelState,
    /// Error of a failed load.
    pub status: Result<(), Status>,
    /// The loaded model, while AVAILABLE.
    pub model: Option<Arc<dyn Model>>,
    /// Where it loads from.
    pub path: PathBuf,
    /// Whether the latest poll asked for it.
    pub aspired: bool,
}

impl Version {
    fn start(path: PathBuf) -> Version {
        Version {
            state: ModelState::Start,
            status: Ok(()),
            model: None,
            path,
            aspired: true,
        }
    }
}

/// What the manager should do next for a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Load this version from this path.
    Load {
        /// Version.
        version: i64,
        /// Its directory.
        path: PathBuf,
    },
    /// Unload this version.
    Unload {
        /// Version.
        version: i64,
    },
}

/// Whether a model has settled on serving its newest aspired version.
#[derive(Debug, Clone, PartialEq)]
pub enum Readiness {
    /// The highest aspired version is AVAILABLE.
    Ready,
    /// Nothing aspired yet, or the highest aspired version has not finished loading.
    Pending,
    /// The highest aspired version failed to load.
    Failed {
        /// The version.
        version: i64,
        /// Its error.
        error: Status,
    },
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
    /// Takes a poll's aspired set. New versions enter START; versions that left the set stop
    /// being aspired (one still in START ends without loading). An ended version that comes back
    /// starts again, unless it failed while staying aspired: TF Serving retries a failed version
    /// only after it disappears from the file system and reappears.
    pub fn set_aspired(&mut self, aspired: &BTreeMap<i64, PathBuf>) {
        for (n, v) in &mut self.versions {
            let now = aspired.contains_key(n);
            if !now && v.state == ModelState::Start {
                v.state = ModelState::End;
            }
            if now && v.state == ModelState::End && (!v.aspired || v.status.is_ok()) {
                *v = Version::start(aspired[n].clone());
            }
            v.aspired = now;
        }
        for (n, path) in aspired {
            self.versions
                .entry(*n)
                .or_insert_with(|| Version::start(path.clone()));
        }
    }

    /// The next transition, one at a time (see the module docs).
    pub fn next_action(&self) -> Option<Action> {
        let mut has_aspired = false;
        let mut aspired_serving = false;
        let mut unaspired_serving = Vec::new();
        for (n, v) in &self.versions {
            if v.aspired {
                has_aspired = true;
                aspired_serving |= v.state == ModelState::Available;
            } else if v.state == ModelState::Available {
                unaspired_serving.push(*n);
            }
        }
        if (!has_aspired || aspired_serving || unaspired_serving.len() > 1)
            && let Some(lowest) = unaspired_serving.first()
        {
            return Some(Action::Unload { version: *lowest });
        }
        self.versions
            .iter()
            .rev()
            .find(|(_, v)| v.aspired && v.state == ModelState::Start)
            .map(|(n, v)| Action::Load {
                version: *n,
                path: v.path.clone(),
            })
    }

    fn transition(&mut self, version: i64, from: ModelState) -> Option<&mut Version> {
        self.versions.get_mut(&version).filter(|v| v.state == from)
    }

    /// START → LOADING. False (and no change) from any other state.
    pub fn start_loading(&mut self, version: i64) -> bool {
        self.transition(version, ModelState::Start)
            .map(|v| v.state = ModelState::Loading)
            .is_some()
    }

    /// LOADING → AVAILABLE with the model, or → END with the error.
    pub fn finish_loading(&mut self, version: i64, result: Result<Arc<dyn Model>, Status>) -> bool {
        let Some(v) = self.transition(version, ModelState::Loading) else {
            return false;
        };
        match result {
            Ok(model) => {
                v.state = ModelState::Available;
                v.model = Some(model);
            }
            Err(e) => {
                v.state = ModelState::End;
                v.status = Err(e);
            }
        }
        true
    }

    /// AVAILABLE → UNLOADING; hands back the manager's reference to the model, which requests
    /// can no longer find.
    pub fn start_unloading(&mut self, version: i64) -> Option<Arc<dyn Model>> {
        let v = self.transition(version, ModelState::Available)?;
        v.state = ModelState::Unloading;
        v.model.take()
    }

    /// UNLOADING → END.
    pub fn finish_unloading(&mut self, version: i64) -> bool {
        self.transition(version, ModelState::Unloading)
            .map(|v| v.state = ModelState::End)
            .is_some()
    }

    /// The highest AVAILABLE version.
    pub fn latest_available(&self) -> Option<(i64, &Arc<dyn Model>)> {
        self.versions
            .iter()
            .rev()
            .filter(|(_, v)| v.state == ModelState::Available)
            .find_map(|(n, v)| v.model.as_ref().map(|m| (*n, m)))
    }

    /// Whether `version` is AVAILABLE.
    pub fn is_available(&self, version: i64) -> bool {
        self.versions
            .get(&version)
            .is_some_and(|v| v.state == ModelState::Available)
    }

    /// Judged on the highest aspired version, as TF Serving's wait for a model's latest version
    /// is: a failure there fails the model even if an older version serves.
    pub fn readiness(&self) -> Readiness {
        let Some((n, v)) = self.versions.iter().rev().find(|(_, v)| v.aspired) else {
            return Readiness::Pending;
        };
        match (&v.state, &v.status) {
            (ModelState::Available, _) => Readiness::Ready,
            (ModelState::End, Err(e)) => Readiness::Failed {
                version: *n,
                error: e.clone(),
            },
            _ => Readiness::Pending,
        }
    }
}

/// A model that cannot run, for the unit tests of this crate.
#[cfg(test)]
pub(crate) mod fake {
    use std::collections::BTreeMap;

    use tensorserve_core::{Model, ModelFormat, SignatureDef, Status, Tensor};

    /// Stands in for a loaded model.
    pub struct Dummy;

    impl Model for Dummy {
        fn signatures(&self) -> &BTreeMap<String, SignatureDef> {
            unimplemented!()
        }
        fn run(
            &self,
            _: &str,
            _: BTreeMap<String, Tensor>,
            _: &[String],
        ) -> Result<BTreeMap<String, Tensor>, Status> {
            unimplemented!()
        }
        fn format(&self) -> ModelFormat {
            ModelFormat::SavedModel
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fake::Dummy;

    fn set(versions: &[i64]) -> BTreeMap<i64, PathBuf> {
        versions
            .iter()
            .map(|v| (*v, PathBuf::from(format!("/m/{v}"))))
            .collect()
    }

    /// Runs actions to completion; `broken` versions fail to load. Returns the actions taken.
    fn drive(e: &mut ModelEntry, broken: &[i64]) -> Vec<Action> {
        let mut taken = Vec::new();
        while let Some(action) = e.next_action() {
            match &action {
                Action::Load { version, .. } => {
                    assert!(e.start_loading(*version));
                    let result: Result<Arc<dyn Model>, Status> = if broken.contains(version) {
                        Err(Status::internal(format!("bad {version}")))
                    } else {
                        Ok(Arc::new(Dummy))
                    };
                    assert!(e.finish_loading(*version, result));
                }
                Action::Unload { version } => {
                    assert!(e.start_unloading(*version).is_some());
                    assert!(e.finish_unloading(*version));
                }
            }
            taken.push(action);
            assert!(taken.len() < 100, "no progress");
        }
        taken
    }

    fn states(e: &ModelEntry) -> Vec<(i64, ModelState)> {
        e.versions.iter().map(|(n, v)| (*n, v.state)).collect()
    }

    fn load(v: i64) -> Action {
        Action::Load {
            version: v,
            path: PathBuf::from(format!("/m/{v}")),
        }
    }

    fn unload(v: i64) -> Action {
        Action::Unload { version: v }
    }

    use ModelState::{Available, End, Start};

    #[test]
    fn lifecycle_and_refused_transitions() {
        let mut e = ModelEntry::default();
        e.set_aspired(&set(&[1]));
        assert_eq!(states(&e), [(1, Start)]);
        assert_eq!(e.readiness(), Readiness::Pending);
        assert!(!e.finish_loading(1, Ok(Arc::new(Dummy))), "not loading yet");
        assert!(e.start_unloading(1).is_none());
        assert!(e.start_loading(1));
        assert!(!e.start_loading(1));
        assert_eq!(e.versions[&1].state, ModelState::Loading);
        assert!(e.finish_loading(1, Ok(Arc::new(Dummy))));
        assert_eq!(e.readiness(), Readiness::Ready);
        assert_eq!(e.latest_available().map(|(n, _)| n), Some(1));
        assert!(!e.finish_unloading(1));
        assert!(e.start_unloading(1).is_some());
        assert_eq!(e.versions[&1].state, ModelState::Unloading);
        assert!(e.latest_available().is_none());
        assert!(e.finish_unloading(1));
        assert_eq!(states(&e), [(1, End)]);
        assert!(!e.start_loading(7), "unknown version");
    }

    #[test]
    fn new_version_loads_before_the_old_one_unloads() {
        let mut e = ModelEntry::default();
        e.set_aspired(&set(&[1]));
        assert_eq!(drive(&mut e, &[]), [load(1)]);
        e.set_aspired(&set(&[2]));
        assert_eq!(e.next_action(), Some(load(2)), "load first, keep 1 serving");
        assert_eq!(drive(&mut e, &[]), [load(2), unload(1)]);
        assert_eq!(states(&e), [(1, End), (2, Available)]);
        // The directory of 2 goes away: 1 is aspired again and reloads before 2 unloads.
        e.set_aspired(&set(&[1]));
        assert_eq!(drive(&mut e, &[]), [load(1), unload(2)]);
        assert_eq!(states(&e), [(1, Available), (2, End)]);
    }

    #[test]
    fn highest_first_and_lowest_unloaded_first() {
        let mut e = ModelEntry::default();
        e.set_aspired(&set(&[1, 2, 3]));
        assert_eq!(drive(&mut e, &[]), [load(3), load(2), load(1)]);
        e.set_aspired(&set(&[3]));
        assert_eq!(drive(&mut e, &[]), [unload(1), unload(2)]);
        // Two unaspired versions serving: one may go before the new one loads.
        let mut e = ModelEntry::default();
        e.set_aspired(&set(&[1, 2]));
        drive(&mut e, &[]);
        e.set_aspired(&set(&[3]));
        assert_eq!(drive(&mut e, &[]), [unload(1), load(3), unload(2)]);
    }

    #[test]
    fn failed_new_version_keeps_the_old_one_serving() {
        let mut e = ModelEntry::default();
        e.set_aspired(&set(&[1]));
        drive(&mut e, &[]);
        e.set_aspired(&set(&[2]));
        assert_eq!(drive(&mut e, &[2]), [load(2)]);
        assert_eq!(states(&e), [(1, Available), (2, End)]);
        assert_eq!(
            e.readiness(),
            Readiness::Failed {
                version: 2,
                error: Status::internal("bad 2")
            }
        );
        // Still aspired on the next poll: not retried.
        e.set_aspired(&set(&[2]));
        assert_eq!(e.next_action(), None);
        // Gone and back: tried again.
        e.set_aspired(&set(&[]));
        assert_eq!(drive(&mut e, &[]), [unload(1)]);
        e.set_aspired(&set(&[2]));
        assert_eq!(e.versions[&2].status, Ok(()));
        assert_eq!(drive(&mut e, &[]), [load(2)]);
        assert_eq!(e.readiness(), Readiness::Ready);
    }

    #[test]
    fn failed_highest_version_fails_readiness_even_with_an_older_one_serving() {
        let mut e = ModelEntry::default();
        e.set_aspired(&set(&[1, 2]));
        assert_eq!(drive(&mut e, &[2]), [load(2), load(1)]);
        assert!(e.is_available(1));
        assert!(matches!(
            e.readiness(),
            Readiness::Failed { version: 2, .. }
        ));
        let mut e = ModelEntry::default();
        e.set_aspired(&set(&[1, 2]));
        drive(&mut e, &[1]);
        assert_eq!(e.readiness(), Readiness::Ready);
    }

    #[test]
    fn unaspired_before_loading_ends_and_empty_set_unloads_all() {
        let mut e = ModelEntry::default();
        e.set_aspired(&set(&[1]));
        drive(&mut e, &[]);
        e.set_aspired(&set(&[2]));
        e.set_aspired(&set(&[1]));
        assert_eq!(states(&e), [(1, Available), (2, End)]);
        assert_eq!(e.versions[&2].status, Ok(()));
        assert_eq!(drive(&mut e, &[]), []);
        e.set_aspired(&set(&[]));
        assert_eq!(drive(&mut e, &[]), [unload(1)]);
        assert_eq!(e.readiness(), Readiness::Pending);
    }
}
