//! `ModelServerConfig` (reference §3.6): the models to serve, read from TF Serving's text format
//! ([`ModelServerConfig::parse`]) or built for a single `--model_name`/`--model_base_path`.
//!
//! Errors come in TF Serving's two kinds: text-format errors, which protobuf words as
//! `Error parsing text-format tensorflow.serving.ModelServerConfig: <line>:<col>: <msg>`, and the
//! server's validation errors ([`ModelServerConfig::validate`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use tensorserve_core::Status;

use crate::textproto::{self, Field, Seen, SyntaxError, unknown_field};

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
    /// `tensorflow` (SavedModel) or `onnx`.
    pub platform: String,
    /// Version policy.
    pub policy: VersionPolicy,
    /// Version labels: label → version.
    pub labels: BTreeMap<String, i64>,
}

/// The list of models to serve.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ModelServerConfig {
    /// The models.
    pub models: Vec<ModelConfig>,
}

/// What protobuf prefixes a text-format error with.
pub const PARSE_PREFIX: &str = "Error parsing text-format tensorflow.serving.ModelServerConfig";
/// Platforms a config may name.
pub const PLATFORMS: [&str; 2] = ["tensorflow", "onnx"];

const MODEL_TYPES: [(&str, i32); 3] = [
    ("MODEL_TYPE_UNSPECIFIED", 0),
    ("TENSORFLOW", 1),
    ("OTHER", 2),
];
const POLICY: &str = "tensorflow.serving.FileSystemStoragePathSourceConfig.ServableVersionPolicy";
const POLICY_CHOICES: [&str; 3] = ["latest", "all", "specific"];

/// A model entry as written, before the platform checks that TF Serving makes on the server side.
struct RawModel {
    name: String,
    base_path: String,
    platform: String,
    model_type: i32,
    policy: VersionPolicy,
    labels: BTreeMap<String, i64>,
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
        let syntax = |e: SyntaxError| Status::invalid_argument(format!("{PARSE_PREFIX}: {e}"));
        let fields = textproto::parse(text).map_err(syntax)?;
        let (raw, custom) = model_server_config(&fields).map_err(syntax)?;
        if custom {
            return Err(Status::invalid_argument(
                "custom_model_config is not supported: only model_config_list is",
            ));
        }
        let config = ModelServerConfig {
            models: raw
                .into_iter()
                .map(resolve_platform)
                .collect::<Result<_, _>>()?,
        };
        config.validate()?;
        Ok(config)
    }

    /// TF Serving's checks on a model list (reference §3.6), in its order.
    pub fn validate(&self) -> Result<(), Status> {
        let mut seen = BTreeSet::new();
        for m in &self.models {
            if !seen.insert(&m.name) {
                return Err(Status::invalid_argument(format!(
                    "Illegal to list model {} multiple times in config list",
                    m.name
                )));
            }
        }
        for m in &self.models {
            let text = m.base_path.to_string_lossy();
            if !m.base_path.is_absolute() && !text.contains("://") {
                return Err(Status::invalid_argument(format!(
                    "Expected model {} to have an absolute path or URI; got base_path()={text}",
                    m.name
                )));
            }
        }
        for m in &self.models {
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

/// `model_type` (deprecated) or `model_platform`, exactly one (TF Serving's `GetPlatform`).
fn resolve_platform(raw: RawModel) -> Result<ModelConfig, Status> {
    let name = raw.name;
    let platform = match (raw.platform.is_empty(), raw.model_type) {
        (false, 0) => raw.platform,
        (false, _) => {
            return Err(Status::invalid_argument(format!(
                "Illegal setting both ModelServerConfig::model_type (deprecated) and ModelServerConfig::model_platform, model name is {name}"
            )));
        }
        (true, 1) => "tensorflow".to_string(),
        (true, 0) => {
            return Err(Status::invalid_argument(format!(
                "Illegal setting neither ModelServerConfig::model_type (deprecated) nor ModelServerConfig::model_platform, model name is {name}"
            )));
        }
        (true, _) => {
            return Err(Status::invalid_argument(format!(
                "Model {name} requests unsupported model_type OTHER"
            )));
        }
    };
    Ok(ModelConfig {
        name,
        base_path: PathBuf::from(raw.base_path),
        platform,
        policy: raw.policy,
        labels: raw.labels,
    })
}

/// The models, and whether `custom_model_config` was given.
fn model_server_config(fields: &[Field]) -> Result<(Vec<RawModel>, bool), SyntaxError> {
    let mut models = Vec::new();
    let mut custom = false;
    let mut seen = Seen::default();
    let choices = ["model_config_list", "custom_model_config"];
    for field in fields {
        match field.name.as_str() {
            "model_config_list" => {
                seen.oneof(field, "config", &choices)?;
                for entry in field.fields()? {
                    match entry.name.as_str() {
                        "config" => models.push(model_config(entry)?),
                        _ => {
                            return Err(unknown_field(entry, "tensorflow.serving.ModelConfigList"));
                        }
                    }
                }
            }
            "custom_model_config" => {
                seen.oneof(field, "config", &choices)?;
                field.fields()?;
                custom = true;
            }
            _ => return Err(unknown_field(field, "tensorflow.serving.ModelServerConfig")),
        }
    }
    Ok((models, custom))
}

fn model_config(field: &Field) -> Result<RawModel, SyntaxError> {
    let mut model = RawModel {
        name: String::new(),
        base_path: String::new(),
        platform: String::new(),
        model_type: 0,
        policy: VersionPolicy::Latest(1),
        labels: BTreeMap::new(),
    };
    let mut seen = Seen::default();
    for f in field.fields()? {
        if f.name != "version_labels" {
            seen.once(f)?;
        }
        match f.name.as_str() {
            "name" => model.name = f.string()?.to_string(),
            "base_path" => model.base_path = f.string()?.to_string(),
            "model_platform" => model.platform = f.string()?.to_string(),
            "model_type" => model.model_type = f.enumeration(&MODEL_TYPES)?,
            "model_version_policy" => model.policy = version_policy(f)?,
            "version_labels" => {
                let (label, version) = label_entry(f)?;
                // A map: a later entry for the same key wins, as in protobuf.
                model.labels.insert(label, version);
            }
            // Parsed for compatibility; request logging is not implemented.
            "logging_config" => {
                f.fields()?;
            }
            _ => return Err(unknown_field(f, "tensorflow.serving.ModelConfig")),
        }
    }
    Ok(model)
}

fn label_entry(field: &Field) -> Result<(String, i64), SyntaxError> {
    let (mut key, mut value) = (String::new(), 0);
    let mut seen = Seen::default();
    for kv in field.fields()? {
        seen.once(kv)?;
        match kv.name.as_str() {
            "key" => key = kv.string()?.to_string(),
            "value" => value = kv.int()?,
            _ => {
                return Err(unknown_field(
                    kv,
                    "tensorflow.serving.ModelConfig.VersionLabelsEntry",
                ));
            }
        }
    }
    Ok((key, value))
}

fn version_policy(field: &Field) -> Result<VersionPolicy, SyntaxError> {
    let mut policy = VersionPolicy::Latest(1);
    let mut seen = Seen::default();
    for f in field.fields()? {
        match f.name.as_str() {
            "latest" => {
                seen.oneof(f, "policy_choice", &POLICY_CHOICES)?;
                let mut n: u32 = 1;
                let mut inner = Seen::default();
                for g in f.fields()? {
                    match g.name.as_str() {
                        "num_versions" => {
                            inner.once(g)?;
                            n = g.uint_as()?;
                        }
                        _ => return Err(unknown_field(g, &format!("{POLICY}.Latest"))),
                    }
                }
                // 0 (also proto3's unset) means 1.
                policy = VersionPolicy::Latest(n.max(1) as usize);
            }
            "all" => {
                seen.oneof(f, "policy_choice", &POLICY_CHOICES)?;
                if let Some(g) = f.fields()?.first() {
                    return Err(unknown_field(g, &format!("{POLICY}.All")));
                }
                policy = VersionPolicy::All;
            }
            "specific" => {
                seen.oneof(f, "policy_choice", &POLICY_CHOICES)?;
                let mut versions = Vec::new();
                for g in f.fields()? {
                    match g.name.as_str() {
                        "versions" => versions.push(g.int()?),
                        _ => return Err(unknown_field(g, &format!("{POLICY}.Specific"))),
                    }
                }
                policy = VersionPolicy::Specific(versions);
            }
            _ => return Err(unknown_field(f, POLICY)),
        }
    }
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        ModelServerConfig::parse(text)
            .unwrap_err()
            .message()
            .to_string()
    }

    fn one(body: &str) -> String {
        format!("model_config_list {{ config {{ {body} }} }}")
    }

    #[test]
    fn full_config_parses() {
        let text = r#"
            # The reference's example, plus the deprecated type and the list syntax.
            model_config_list {
              config {
                name: 'm'
                base_path: '/abs/path'
                model_platform: 'tensorflow'
                model_version_policy { specific { versions: 42 versions: 43 } }
                version_labels { key: 'stable' value: 42 }
                version_labels { key: 'canary' value: 43 }
                logging_config { sampling_config { sampling_rate: 0.1 } log_collector_config { type: 'x' filename_prefix: 'y' } }
              }
              config: { name: "n", base_path: "/x", model_type: TENSORFLOW, model_version_policy: < all: {} > },
              config { name: "o" base_path: "gs://bucket/o" model_platform: "onnx"
                       model_version_policy { latest { num_versions: 3 } } version_labels: [{key: 'a', value: 1}] }
            }"#;
        let c = ModelServerConfig::parse(text).unwrap();
        assert_eq!(c.models.len(), 3);
        let m = &c.models[0];
        assert_eq!(
            (m.name.as_str(), m.base_path.as_path()),
            ("m", Path::new("/abs/path"))
        );
        assert_eq!(m.policy, VersionPolicy::Specific(vec![42, 43]));
        assert_eq!(
            m.labels,
            BTreeMap::from([("canary".into(), 43), ("stable".into(), 42)])
        );
        assert_eq!(c.models[1].policy, VersionPolicy::All);
        assert_eq!(c.models[1].platform, "tensorflow");
        assert_eq!(c.models[2].policy, VersionPolicy::Latest(3));
        assert_eq!(c.models[2].labels["a"], 1);
        assert_eq!(
            ModelServerConfig::parse("").unwrap(),
            ModelServerConfig::default()
        );
    }

    #[test]
    fn validation_errors_match_tf_serving() {
        let dup = "model_config_list { config { name: 'a' base_path: '/a' model_platform: 'tensorflow' } config { name: 'a' base_path: '/b' model_platform: 'tensorflow' } }";
        assert_eq!(
            err(dup),
            "Illegal to list model a multiple times in config list"
        );
        assert_eq!(
            err(&one(
                "name: 'a' base_path: 'rel' model_platform: 'tensorflow'"
            )),
            "Expected model a to have an absolute path or URI; got base_path()=rel"
        );
        assert_eq!(
            err(&one("name: 'a' base_path: '/a' model_platform: 'pytorch'")),
            "Model a requests unsupported platform pytorch"
        );
        assert_eq!(
            err(&one("name: 'a' base_path: '/a'")),
            "Illegal setting neither ModelServerConfig::model_type (deprecated) nor ModelServerConfig::model_platform, model name is a"
        );
        assert_eq!(
            err(&one(
                "name: 'a' base_path: '/a' model_type: TENSORFLOW model_platform: 'tensorflow'"
            )),
            "Illegal setting both ModelServerConfig::model_type (deprecated) and ModelServerConfig::model_platform, model name is a"
        );
        assert!(err("custom_model_config { }").starts_with("custom_model_config is not supported"));
    }

    #[test]
    fn text_format_errors_carry_the_protobuf_prefix_and_position() {
        let p = |s: &str| format!("{PARSE_PREFIX}: {s}");
        assert_eq!(
            err("improperly formatted file"),
            p("1:12: Expected \":\", found \"formatted\".")
        );
        assert_eq!(
            err("model_config_list {\n  bogus: 1\n}"),
            p(
                "2:8: Message type \"tensorflow.serving.ModelConfigList\" has no field named \"bogus\"."
            )
        );
        assert_eq!(
            err(&one("name: 'a' name: 'b'")),
            p("1:44: Non-repeated field \"name\" is specified multiple times.")
        );
        assert_eq!(err(&one("name: a")), p("1:36: Expected string, got: a"));
        assert_eq!(
            err(&one("model_type: PYTORCH")),
            p("1:42: Unknown enumeration value of \"PYTORCH\" for field \"model_type\".")
        );
        assert!(
            err(&one("model_version_policy { all {} latest {} }"))
                .contains("another member of oneof \"policy_choice\"")
        );
        assert!(
            err(&one("model_version_policy { latest { num_versions: -1 } }"))
                .contains("Expected integer, got: -1")
        );
        assert!(
            err("model_config_list {} custom_model_config {}")
                .contains("another member of oneof \"config\"")
        );
    }

    #[test]
    fn latest_zero_means_one() {
        let t = one(
            "name: 'a' base_path: '/a' model_platform: 'onnx' model_version_policy { latest { num_versions: 0 } }",
        );
        assert_eq!(
            ModelServerConfig::parse(&t).unwrap().models[0].policy,
            VersionPolicy::Latest(1)
        );
        let t = one(
            "name: 'a' base_path: '/a' model_platform: 'onnx' model_version_policy { latest { } }",
        );
        assert_eq!(
            ModelServerConfig::parse(&t).unwrap().models[0].policy,
            VersionPolicy::Latest(1)
        );
    }
}
