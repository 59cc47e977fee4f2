//! Reading `saved_model.pbtxt`: a SavedModel written in protobuf's text format.
//!
//! Text format names fields rather than numbering them, so decoding it needs the schema. The
//! schema is TensorFlow's own: the descriptors of `tensorflow.SavedModel` and its imports,
//! exported once from the tensorflow wheel by `tools/descriptors/export_saved_model_descriptors.py`
//! into `data/saved_model_descriptors.pb`. `prost-reflect` parses the text into a dynamic message
//! with those descriptors; re-encoding it gives the binary form, which then decodes into the same
//! [`SavedModel`] struct as `saved_model.pb` does — one code path after this point.

use std::path::Path;
use std::sync::OnceLock;

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage};
use tract_tensorflow::tfpb::tensorflow::SavedModel;

use crate::SavedModelError;

/// TensorFlow 2.21's descriptors for `saved_model.proto` and its import closure.
static DESCRIPTORS: &[u8] = include_bytes!("../data/saved_model_descriptors.pb");

fn pool() -> Result<&'static DescriptorPool, String> {
    static POOL: OnceLock<Result<DescriptorPool, String>> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(DESCRIPTORS).map_err(|e| format!("bundled descriptors: {e}"))
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// Parses the text of a `saved_model.pbtxt` (read from `path`, named in errors).
pub fn parse_saved_model_text(path: &Path, text: &str) -> Result<SavedModel, SavedModelError> {
    let decode_error = |message: String| SavedModelError::Decode {
        path: path.to_path_buf(),
        message,
    };
    let pool = pool().map_err(decode_error)?;
    let descriptor = pool
        .get_message_by_name("tensorflow.SavedModel")
        .ok_or_else(|| decode_error("bundled descriptors lack tensorflow.SavedModel".into()))?;
    let message = DynamicMessage::parse_text_format(descriptor, text).map_err(|e| {
        decode_error(format!(
            "not a valid text-format SavedModel: {e}{}",
            error_context(text, &e.to_string())
        ))
    })?;
    let bytes = message.encode_to_vec();
    SavedModel::decode(bytes.as_slice()).map_err(|e| decode_error(e.to_string()))
}

/// prost-reflect's errors carry no position without its `miette` feature; when the message
/// quotes the offending token, say on which line it first appears so the user can find it.
fn error_context(text: &str, message: &str) -> String {
    let quoted = message.split('\'').nth(1).filter(|q| q.len() > 1);
    let Some(token) = quoted else {
        return String::new();
    };
    text.lines()
        .position(|line| line.contains(token))
        .map(|n| format!(" (first '{token}' at line {})", n + 1))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"
saved_model_schema_version: 1
meta_graphs {
  meta_info_def { tags: "serve" tensorflow_version: "2.21.0" }
  graph_def {
    node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } }
    node {
      name: "c" op: "Const"
      attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape {} float_val: 2.5 } } }
      attr { key: "dtype" value { type: DT_FLOAT } }
    }
  }
  signature_def {
    key: "serving_default"
    value {
      inputs { key: "x" value { name: "x:0" dtype: DT_FLOAT tensor_shape { dim { size: -1 } } } }
      method_name: "tensorflow/serving/predict"
    }
  }
}
"#;

    #[test]
    fn text_gives_the_same_message_as_binary() {
        let sm = parse_saved_model_text(Path::new("t.pbtxt"), SMALL).unwrap();
        assert_eq!(sm.saved_model_schema_version, 1);
        let mg = &sm.meta_graphs[0];
        assert_eq!(mg.meta_info_def.as_ref().unwrap().tags, vec!["serve"]);
        let graph = mg.graph_def.as_ref().unwrap();
        assert_eq!(graph.node.len(), 2);
        let value = &graph.node[1].attr["value"];
        let Some(tract_tensorflow::tfpb::tensorflow::attr_value::Value::Tensor(t)) = &value.value
        else {
            panic!("no tensor attr: {value:?}");
        };
        assert_eq!(t.float_val, vec![2.5]);
        let sig = &mg.signature_def["serving_default"];
        assert_eq!(
            sig.inputs["x"].tensor_shape.as_ref().unwrap().dim[0].size,
            -1
        );
    }

    #[test]
    fn unknown_field_is_a_clear_error() {
        let err = parse_saved_model_text(Path::new("t.pbtxt"), "meta_graphs {\n bogus_field: 1 }")
            .unwrap_err()
            .to_string();
        assert!(err.contains("t.pbtxt"), "{err}");
        assert!(err.contains("bogus_field"), "{err}");
    }
}
