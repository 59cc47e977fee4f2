//! The `ModelServerConfig` of a HandleReloadConfigRequest as the engine's configuration, with the
//! checks TF Serving applies to a config file (the engine validates the rest).

use std::path::PathBuf;

use tensorserve_core::Status;
use tensorserve_engine::{ModelConfig, ModelServerConfig, VersionPolicy};
use tensorserve_proto::tensorflow::serving as proto;
use tensorserve_proto::tensorflow::serving::file_system_storage_path_source_config::servable_version_policy::PolicyChoice;
use tensorserve_proto::tensorflow::serving::model_server_config::Config;

fn model(m: &proto::ModelConfig) -> Result<ModelConfig, Status> {
    let name = m.name.clone();
    let platform = match (m.model_platform.is_empty(), m.model_type) {
        (false, 0) => m.model_platform.clone(),
        (false, _) => {
            return Err(Status::invalid_argument(format!(
                "Illegal setting both ModelServerConfig::model_type (deprecated) and ModelServerConfig::model_platform, model name is {name}"
            )));
        }
        (true, t) if t == proto::ModelType::Tensorflow as i32 => "tensorflow".to_string(),
        (true, 0) => {
            return Err(Status::invalid_argument(format!(
                "Illegal setting neither ModelServerConfig::model_type (deprecated) nor ModelServerConfig::model_platform, model name is {name}"
            )));
        }
        (true, t) => {
            let t = proto::ModelType::try_from(t)
                .map_or_else(|_| t.to_string(), |t| t.as_str_name().to_string());
            return Err(Status::invalid_argument(format!(
                "Model {name} requests unsupported model_type {t}"
            )));
        }
    };
    let policy = match m
        .model_version_policy
        .as_ref()
        .and_then(|p| p.policy_choice.as_ref())
    {
        None => VersionPolicy::Latest(1),
        Some(PolicyChoice::Latest(l)) => VersionPolicy::Latest((l.num_versions as usize).max(1)),
        Some(PolicyChoice::All(_)) => VersionPolicy::All,
        Some(PolicyChoice::Specific(s)) => VersionPolicy::Specific(s.versions.clone()),
    };
    Ok(ModelConfig {
        name,
        base_path: PathBuf::from(&m.base_path),
        platform,
        policy,
        labels: m.version_labels.clone(),
    })
}

/// Converts and validates a reload request's config. Only `model_config_list` is accepted.
pub fn model_server_config_from_proto(
    config: Option<&proto::ModelServerConfig>,
) -> Result<ModelServerConfig, Status> {
    let Some(Config::ModelConfigList(list)) = config.and_then(|c| c.config.as_ref()) else {
        return Err(Status::invalid_argument(
            "ServerModelConfig type not supported by HandleReloadConfigRequest. Only ModelConfigList is currently supported",
        ));
    };
    let config = ModelServerConfig {
        models: list.config.iter().map(model).collect::<Result<_, _>>()?,
    };
    config.validate()?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tensorserve_proto::tensorflow::serving::file_system_storage_path_source_config::ServableVersionPolicy;
    use tensorserve_proto::tensorflow::serving::file_system_storage_path_source_config::servable_version_policy::Specific;

    fn list(models: Vec<proto::ModelConfig>) -> proto::ModelServerConfig {
        proto::ModelServerConfig {
            config: Some(Config::ModelConfigList(proto::ModelConfigList {
                config: models,
            })),
        }
    }

    #[test]
    fn converts_policy_labels_and_platform() {
        let m = proto::ModelConfig {
            name: "m".into(),
            base_path: "/abs/m".into(),
            model_type: proto::ModelType::Tensorflow as i32,
            model_version_policy: Some(ServableVersionPolicy {
                policy_choice: Some(PolicyChoice::Specific(Specific {
                    versions: vec![1, 2],
                })),
            }),
            version_labels: [("stable".to_string(), 1)].into(),
            ..Default::default()
        };
        let c = model_server_config_from_proto(Some(&list(vec![m]))).unwrap();
        let m = &c.models[0];
        assert_eq!(m.platform, "tensorflow");
        assert_eq!(m.policy, VersionPolicy::Specific(vec![1, 2]));
        assert_eq!(m.labels["stable"], 1);
    }

    #[test]
    fn rejects_what_tf_serving_rejects() {
        let err = model_server_config_from_proto(None).unwrap_err();
        assert!(err.message().contains("Only ModelConfigList"));
        let m = proto::ModelConfig {
            name: "m".into(),
            base_path: "/abs/m".into(),
            ..Default::default()
        };
        let err = model_server_config_from_proto(Some(&list(vec![m.clone()]))).unwrap_err();
        assert!(
            err.message().starts_with("Illegal setting neither"),
            "{err:?}"
        );
        let rel = proto::ModelConfig {
            base_path: "rel".into(),
            model_platform: "tensorflow".into(),
            ..m
        };
        let err = model_server_config_from_proto(Some(&list(vec![rel]))).unwrap_err();
        assert!(err.message().contains("absolute path"), "{err:?}");
    }
}
