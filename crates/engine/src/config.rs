//! `ModelServerConfig` (reference §3.6): the models to serve, read from TF Serving's text format
//! or built for a single `--model_name`/`--model_base_path`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tensorserve_core::Status;

use crate::textproto::{self, Field, Node, Scalar};

/// Which versions of a model to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionPolicy {
    /// The N highest versions (N ≥ 1).
    Latest(usize),
    /// Every version found.
    All,
    /// Exactly these versions.
    Specific(Vec<i64>),
}

/// One served model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelConfig {
    /// Name used in requests.
    pub name: String,
    /// Directory of numbered versions.
    pub base_path: PathBuf,
    /// `tensorflow` (SavedModel) or `onnx`; both load through the same loader, which looks at
    /// the files present.
    pub platform: String,
    /// Version policy.
    pub policy: VersionPolicy,
    /// Version labels.
    pub labels: BTreeMap<String, i64>,
}

/// The list of models to serve.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ModelServerConfig {
    /// The models.
    pub models: Vec<ModelConfig>,
}

const PARSE_PREFIX: &str = "Error parsing text-format tensorflow.serving.ModelServerConfig";
/// Platforms a config may name.
pub const PLATFORMS: [&str; 2] = ["tensorflow", "onnx"];

fn at(field: &Field, message: impl std::fmt::Display) -> Status {
    Status::invalid_argument(format!(
        "{PARSE_PREFIX}: {}:{}: {message}",
        field.line, field.column
    ))
}

fn message(field: &Field) -> Result<&[Field], Status> {
    match &field.value {
        Node::Message(m) => Ok(m),
        Node::Scalar(_) => Err(at(
            field,
            format!("Expected \"{{\" for field \"{}\".", field.name),
        )),
    }
}

fn string(field: &Field) -> Result<String, Status> {
    match &field.value {
        Node::Scalar(Scalar::Str(s)) => Ok(s.clone()),
        _ => Err(at(
            field,
            format!("Expected string for field \"{}\".", field.name),
        )),
    }
}

fn token(field: &Field) -> Result<String, Status> {
    match &field.value {
        Node::Scalar(Scalar::Token(s) | Scalar::Str(s)) => Ok(s.clone()),
        Node::Message(_) => Err(at(
            field,
            format!("Expected value for field \"{}\".", field.name),
        )),
    }
}

fn int(field: &Field) -> Result<i64, Status> {
    let t = token(field)?;
    t.parse()
        .map_err(|_| at(field, format!("Expected integer, got: {t}")))
}

fn unknown(field: &Field, message_type: &str) -> Status {
    at(
        field,
        format!(
            "Message type \"{message_type}\" has no field named \"{}\".",
            field.name
        ),
    )
}

impl ModelServerConfig {
    /// A single model with the default policy (latest version), as `--model_name` and
    /// `--model_base_path` give.
    pub fn single(name: &str, base_path: &Path) -> ModelServerConfig {
        ModelServerConfig {
            models: vec![ModelConfig {
                name: name.to_string(),
                base_path: base_path.to_path_buf(),
                platform: "tensorflow".into(),
                policy: VersionPolicy::Latest(1),
                labels: BTreeMap::new(),
            }],
        }
    }

    /// Parses and validates a config file's text.
    pub fn parse(text: &str) -> Result<ModelServerConfig, Status> {
        let fields = textproto::parse(text)
            .map_err(|e| Status::invalid_argument(format!("{PARSE_PREFIX}: {e}")))?;
        let mut config = ModelServerConfig::default();
        for field in &fields {
            match field.name.as_str() {
                "model_config_list" => {
                    for entry in message(field)? {
                        match entry.name.as_str() {
                            "config" => config.models.push(model_config(entry)?),
                            _ => return Err(unknown(entry, "tensorflow.serving.ModelConfigList")),
                        }
                    }
                }
                "custom_model_config" => {
                    return Err(Status::invalid_argument(
                        "custom_model_config is not supported",
                    ));
                }
                _ => return Err(unknown(field, "tensorflow.serving.ModelServerConfig")),
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// TF Serving's checks (reference §3.6).
    pub fn validate(&self) -> Result<(), Status> {
        let mut seen = std::collections::BTreeSet::new();
        for m in &self.models {
            if !seen.insert(&m.name) {
                return Err(Status::invalid_argument(format!(
                    "Illegal to list model {} multiple times in config list",
                    m.name
                )));
            }
            if !m.base_path.is_absolute() {
                return Err(Status::invalid_argument(format!(
                    "Expected model {} to have an absolute path or URI; got base_path()={}",
                    m.name,
                    m.base_path.display()
                )));
            }
            if !PLATFORMS.contains(&m.platform.as_str()) {
                return Err(Status::invalid_argument(format!(
                    "Model {} requests unsupported platform {}",
                    m.name, m.platform
                )));
            }
        }
        Ok(())
    }
}

fn model_config(field: &Field) -> Result<ModelConfig, Status> {
    let (mut name, mut base_path, mut platform, mut model_type) = (None, None, None, None);
    let mut policy = VersionPolicy::Latest(1);
    let mut labels = BTreeMap::new();
    for f in message(field)? {
        match f.name.as_str() {
            "name" => name = Some(string(f)?),
            "base_path" => base_path = Some(string(f)?),
            "model_platform" => platform = Some(string(f)?),
            "model_type" => model_type = Some(token(f)?),
            "model_version_policy" => policy = version_policy(f)?,
            "version_labels" => {
                let (mut key, mut value) = (None, None);
                for kv in message(f)? {
                    match kv.name.as_str() {
                        "key" => key = Some(string(kv)?),
                        "value" => value = Some(int(kv)?),
                        _ => {
                            return Err(unknown(
                                kv,
                                "tensorflow.serving.ModelConfig.VersionLabelsEntry",
                            ));
                        }
                    }
                }
                labels.insert(key.unwrap_or_default(), value.unwrap_or_default());
            }
            // Parsed for compatibility; request logging is not implemented.
            "logging_config" => {
                message(f)?;
            }
            _ => return Err(unknown(f, "tensorflow.serving.ModelConfig")),
        }
    }
    let name = name.unwrap_or_default();
    let platform = match (platform, model_type) {
        (Some(_), Some(_)) => {
            return Err(Status::invalid_argument(format!(
                "Illegal setting both ModelServerConfig::model_type (deprecated) and ModelServerConfig::model_platform, model name is {name}"
            )));
        }
        (Some(p), None) => p,
        (None, Some(t)) if t == "TENSORFLOW" => "tensorflow".to_string(),
        (None, Some(t)) => {
            return Err(Status::invalid_argument(format!(
                "Model {name} requests unsupported model_type {t}"
            )));
        }
        (None, None) => {
            return Err(Status::invalid_argument(format!(
                "Illegal setting neither ModelServerConfig::model_type (deprecated) nor ModelServerConfig::model_platform, model name is {name}"
            )));
        }
    };
    Ok(ModelConfig {
        name,
        base_path: PathBuf::from(base_path.unwrap_or_default()),
        platform,
        policy,
        labels,
    })
}

fn version_policy(field: &Field) -> Result<VersionPolicy, Status> {
    let mut policy = VersionPolicy::Latest(1);
    for f in message(field)? {
        policy = match f.name.as_str() {
            "latest" => {
                let mut n = 1;
                for g in message(f)? {
                    match g.name.as_str() {
                        "num_versions" => n = usize::try_from(int(g)?).unwrap_or(0).max(1),
                        _ => {
                            return Err(unknown(
                                g,
                                "tensorflow.serving.FileSystemStoragePathSourceConfig.ServableVersionPolicy.Latest",
                            ));
                        }
                    }
                }
                VersionPolicy::Latest(n)
            }
            "all" => {
                message(f)?;
                VersionPolicy::All
            }
            "specific" => {
                let mut versions = Vec::new();
                for g in message(f)? {
                    match g.name.as_str() {
                        "versions" => versions.push(int(g)?),
                        _ => {
                            return Err(unknown(
                                g,
                                "tensorflow.serving.FileSystemStoragePathSourceConfig.ServableVersionPolicy.Specific",
                            ));
                        }
                    }
                }
                VersionPolicy::Specific(versions)
            }
            _ => {
                return Err(unknown(
                    f,
                    "tensorflow.serving.FileSystemStoragePathSourceConfig.ServableVersionPolicy",
                ));
            }
        };
    }
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_config_parses() {
        let text = r#"
            model_config_list {
              config {
                name: 'm'
                base_path: '/abs/path'
                model_platform: 'tensorflow'
                model_version_policy { specific { versions: 42 versions: 43 } }
                version_labels { key: 'stable' value: 42 }
                version_labels { key: 'canary' value: 43 }
                logging_config { sampling_config { sampling_rate: 0.1 } }
              }
              config: { name: "n", base_path: "/x", model_type: TENSORFLOW, model_version_policy: { all: {} } }
            }"#;
        let c = ModelServerConfig::parse(text).unwrap();
        assert_eq!(c.models.len(), 2);
        assert_eq!(c.models[0].policy, VersionPolicy::Specific(vec![42, 43]));
        assert_eq!(c.models[0].labels["canary"], 43);
        assert_eq!(c.models[1].policy, VersionPolicy::All);
        assert_eq!(c.models[1].platform, "tensorflow");
    }

    #[test]
    fn validation_errors_match_tf_serving() {
        let err = |t: &str| {
            ModelServerConfig::parse(t)
                .unwrap_err()
                .message()
                .to_string()
        };
        let dup = "model_config_list { config { name: 'a' base_path: '/a' model_platform: 'tensorflow' } config { name: 'a' base_path: '/b' model_platform: 'tensorflow' } }";
        assert_eq!(
            err(dup),
            "Illegal to list model a multiple times in config list"
        );
        let rel = "model_config_list { config { name: 'a' base_path: 'rel' model_platform: 'tensorflow' } }";
        assert!(err(rel).contains("absolute path"));
        let plat =
            "model_config_list { config { name: 'a' base_path: '/a' model_platform: 'pytorch' } }";
        assert_eq!(err(plat), "Model a requests unsupported platform pytorch");
        let none = "model_config_list { config { name: 'a' base_path: '/a' } }";
        assert!(err(none).starts_with("Illegal setting neither"));
        assert!(err("improperly formatted file").starts_with(PARSE_PREFIX));
        assert!(err("model_config_list { bogus: 1 }").contains("has no field named \"bogus\""));
    }

    #[test]
    fn latest_zero_means_one() {
        let t = "model_config_list { config { name: 'a' base_path: '/a' model_platform: 'onnx' model_version_policy { latest { num_versions: 0 } } } }";
        assert_eq!(
            ModelServerConfig::parse(t).unwrap().models[0].policy,
            VersionPolicy::Latest(1)
        );
    }
}
