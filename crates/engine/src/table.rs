//! The servable table: every model's [`ModelEntry`] plus the label map, as one immutable value the
//! manager publishes whole (through `ArcSwap`) after each change. Everything a request asks —
//! lookups, status, readiness — is answered here from a snapshot, without a lock.

use std::collections::BTreeMap;
use std::sync::Arc;

use tensorserve_core::{Model, Status};

use crate::config::ModelServerConfig;
use crate::state::{ModelEntry, ModelState, Readiness, Version, VersionStatus};

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

/// Labels per model: model → label → version.
pub type LabelMap = BTreeMap<String, BTreeMap<String, i64>>;

/// Every model, by name, and the labels in force.
#[derive(Clone, Default)]
pub struct Table {
    /// The models, including removed ones (for their status history).
    pub models: BTreeMap<String, Arc<ModelEntry>>,
    /// Labels, replaced whole by a successful (re)configuration.
    pub labels: Arc<LabelMap>,
}

impl Table {
    /// A model's entry for changing, created if new.
    pub fn entry_mut(&mut self, name: &str) -> &mut ModelEntry {
        Arc::make_mut(self.models.entry(name.to_string()).or_default())
    }

    fn configured(&self, name: &str) -> Option<&ModelEntry> {
        self.models
            .get(name)
            .map(|e| &**e)
            .filter(|e| e.config.is_some())
    }

    /// Resolves a request's model and version.
    pub fn lookup(&self, name: &str, choice: &VersionChoice) -> Result<ServableHandle, Status> {
        let entry = self.configured(name);
        let handle = |(version, model): (i64, &Arc<dyn Model>)| ServableHandle {
            name: name.to_string(),
            version,
            model: model.clone(),
        };
        let specific = |version: i64| {
            entry
                .and_then(|e| e.versions.get(&version))
                .filter(|v| v.state == ModelState::Available)
                .and_then(|v| v.model.as_ref())
                .map(|m| handle((version, m)))
                .ok_or_else(|| {
                    Status::not_found(format!(
                        "Servable not found for request: Specific({name}, {version})"
                    ))
                })
        };
        match choice {
            VersionChoice::Latest => entry
                .and_then(ModelEntry::latest_available)
                .map(handle)
                .ok_or_else(|| {
                    Status::not_found(format!("Servable not found for request: Latest({name})"))
                }),
            VersionChoice::Specific(v) => specific(*v),
            VersionChoice::Label(label) => {
                let version = self
                    .labels
                    .get(name)
                    .and_then(|labels| labels.get(label))
                    .ok_or_else(|| {
                        Status::invalid_argument(format!(
                            "Unrecognized servable version label: {label}"
                        ))
                    })?;
                specific(*version)
            }
        }
    }

    /// Version states of a model, highest version first, history included; one version when
    /// asked. Labels play no part (as in TF Serving).
    pub fn status(&self, name: &str, version: Option<i64>) -> Result<Vec<VersionStatus>, Status> {
        let versions = self
            .models
            .get(name)
            .map(|e| &e.versions)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                Status::not_found(format!("Could not find any versions of model {name}"))
            })?;
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
        self.models
            .iter()
            .filter(|(_, e)| e.config.is_some())
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// Whether every configured model has an AVAILABLE version.
    pub fn all_ready(&self) -> bool {
        self.models
            .values()
            .filter(|e| e.config.is_some())
            .all(|e| e.latest_available().is_some())
    }

    /// The label map `config` asks for, if TF Serving would accept it now (reference §3.5):
    /// each label must name an AVAILABLE version, except that with `allow_unavailable` a new
    /// label, or one keeping its version, may name any version.
    pub fn check_labels(
        &self,
        config: &ModelServerConfig,
        allow_unavailable: bool,
    ) -> Result<LabelMap, Status> {
        let mut labels = LabelMap::new();
        for model in &config.models {
            for (label, version) in &model.labels {
                let previous = self.labels.get(&model.name).and_then(|l| l.get(label));
                let must_be_available =
                    !allow_unavailable || previous.is_some_and(|p| p != version);
                let available = self
                    .models
                    .get(&model.name)
                    .is_some_and(|e| e.is_available(*version));
                if must_be_available && !available {
                    return Err(Status::failed_precondition(format!(
                        "Request to assign label to version {version} of model {}, which is not currently available for inference",
                        model.name
                    )));
                }
                labels
                    .entry(model.name.clone())
                    .or_default()
                    .insert(label.clone(), *version);
            }
        }
        Ok(labels)
    }

    /// The outcome of waiting for `names` to serve their newest aspired version: `None` while
    /// any is still pending; then `Ok`, or TF Serving's UNKNOWN
    /// `N model(s) did not become available: {{{name: m version: 3} due to error: <status>}, }`
    /// listing each failed model (the braces are `server_core.cc`'s, one more than reference
    /// §3.2 shows).
    pub fn availability(&self, names: &[String]) -> Option<Result<(), Status>> {
        let mut failed = Vec::new();
        for name in names {
            let Some(entry) = self.configured(name) else {
                continue;
            };
            match entry.readiness() {
                Readiness::Ready => {}
                Readiness::Pending => return None,
                Readiness::Failed { version, error } => failed.push(format!(
                    "{{{{name: {name} version: {version}}} due to error: {error}}}, "
                )),
            }
        }
        if failed.is_empty() {
            return Some(Ok(()));
        }
        Some(Err(Status::unknown(format!(
            "{} model(s) did not become available: {{{}}}",
            failed.len(),
            failed.concat()
        ))))
    }

    /// Those of `names` still waiting for their newest aspired version.
    pub fn pending(&self, names: &[String]) -> Vec<String> {
        names
            .iter()
            .filter(|n| {
                self.configured(n)
                    .is_some_and(|e| e.readiness() == Readiness::Pending)
            })
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::config::{ModelConfig, VersionPolicy};
    use crate::state::fake::Dummy;
    use tensorserve_core::Code;

    fn config(name: &str, labels: &[(&str, i64)]) -> ModelConfig {
        ModelConfig {
            name: name.into(),
            base_path: PathBuf::from("/m"),
            platform: "tensorflow".into(),
            policy: VersionPolicy::All,
            labels: labels.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    /// Model `m` with versions 1 and 2 AVAILABLE, 3 failed, 4 still START.
    fn table() -> Table {
        let mut t = Table::default();
        let e = t.entry_mut("m");
        e.config = Some(config("m", &[]));
        e.set_aspired(&(1..=4).map(|v| (v, PathBuf::from(v.to_string()))).collect());
        for v in 1..=3 {
            e.start_loading(v);
            let result: Result<Arc<dyn Model>, Status> = if v == 3 {
                Err(Status::internal("broken"))
            } else {
                Ok(Arc::new(Dummy))
            };
            e.finish_loading(v, result);
        }
        t.labels = Arc::new(LabelMap::from([(
            "m".to_string(),
            BTreeMap::from([("stable".to_string(), 1), ("gone".to_string(), 3)]),
        )]));
        t
    }

    #[test]
    fn lookups_and_their_errors() {
        let t = table();
        let version = |c: VersionChoice| t.lookup("m", &c).map(|h| h.version);
        let message = |c: VersionChoice| t.lookup("m", &c).unwrap_err().message().to_string();
        assert_eq!(version(VersionChoice::Latest), Ok(2));
        assert_eq!(version(VersionChoice::Specific(1)), Ok(1));
        assert_eq!(version(VersionChoice::Label("stable".into())), Ok(1));
        assert_eq!(
            message(VersionChoice::Specific(3)),
            "Servable not found for request: Specific(m, 3)"
        );
        assert_eq!(
            message(VersionChoice::Label("gone".into())),
            "Servable not found for request: Specific(m, 3)"
        );
        let err = t
            .lookup("m", &VersionChoice::Label("x".into()))
            .unwrap_err();
        assert_eq!(
            (err.code(), err.message()),
            (
                Code::InvalidArgument,
                "Unrecognized servable version label: x"
            )
        );
        let err = t.lookup("nope", &VersionChoice::Latest).unwrap_err();
        assert_eq!(
            (err.code(), err.message()),
            (
                Code::NotFound,
                "Servable not found for request: Latest(nope)"
            )
        );
    }

    #[test]
    fn status_lists_history_highest_first() {
        let t = table();
        let all = t.status("m", None).unwrap();
        let states: Vec<_> = all.iter().map(|s| (s.version, s.state)).collect();
        use ModelState::{Available, End, Start};
        assert_eq!(
            states,
            [(4, Start), (3, End), (2, Available), (1, Available)]
        );
        assert_eq!(all[1].status, Err(Status::internal("broken")));
        assert_eq!(t.status("m", Some(2)).unwrap().len(), 1);
        assert_eq!(
            t.status("m", Some(9)).unwrap_err().message(),
            "Could not find version 9 of model m"
        );
        assert_eq!(
            t.status("x", None).unwrap_err().message(),
            "Could not find any versions of model x"
        );
        assert_eq!(t.model_names(), ["m"]);
        assert!(t.all_ready());
    }

    #[test]
    fn labels_follow_the_availability_rules() {
        let t = table();
        let cfg = |labels: &[(&str, i64)]| ModelServerConfig {
            models: vec![config("m", labels)],
        };
        let check = |labels: &[(&str, i64)], allow| t.check_labels(&cfg(labels), allow);
        assert_eq!(check(&[("a", 2)], false).unwrap()["m"]["a"], 2);
        let err = check(&[("a", 4)], false).unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        assert_eq!(
            err.message(),
            "Request to assign label to version 4 of model m, which is not currently available for inference"
        );
        // Allowed: a new label, or one keeping its version, may name an unavailable version...
        assert!(check(&[("new", 4)], true).is_ok());
        assert!(check(&[("gone", 3)], true).is_ok());
        // ...but moving a label to an unavailable version is not.
        assert!(check(&[("stable", 4)], true).is_err());
        assert!(check(&[("stable", 2)], true).is_ok());
    }

    #[test]
    fn availability_reports_failures_like_tf_serving() {
        let mut t = table();
        let names = ["m".to_string()];
        assert_eq!(t.availability(&names), None, "version 4 still START");
        assert_eq!(t.pending(&names), names);
        let e = t.entry_mut("m");
        e.start_loading(4);
        e.finish_loading(4, Err(Status::invalid_argument("no")));
        assert_eq!(
            t.availability(&names).unwrap().unwrap_err().to_string(),
            "UNKNOWN: 1 model(s) did not become available: {{{name: m version: 4} due to error: INVALID_ARGUMENT: no}, }"
        );
        assert_eq!(t.availability(&[]), Some(Ok(())));
    }
}
