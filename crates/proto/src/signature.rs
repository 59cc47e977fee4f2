//! Core signatures as the `tensorflow.SignatureDef` messages that GetModelMetadata returns,
//! packed the way TF Serving packs them: a `SignatureDefMap` inside a `google.protobuf.Any`.

use std::collections::BTreeMap;

use prost::Message;
use tensorserve_core::signature::Dim;
use tensorserve_core::{DType, SignatureDef, Status, TensorInfo};

use crate::tensorflow;
use crate::tensorflow::serving::SignatureDefMap;
use crate::tensorflow::tensor_info::Encoding;
use crate::tensorflow::tensor_shape_proto;

/// The type URL of the Any under the `signature_def` metadata key.
pub const SIGNATURE_DEF_MAP_TYPE_URL: &str =
    "type.googleapis.com/tensorflow.serving.SignatureDefMap";

/// The metadata field that holds the signatures (the only one TF Serving supports).
pub const SIGNATURE_DEF_FIELD: &str = "signature_def";

/// A declared shape as a `TensorShapeProto`; an unknown rank becomes `unknown_rank: true`.
pub fn shape_to_proto(shape: Option<&[Dim]>) -> tensorflow::TensorShapeProto {
    match shape {
        None => tensorflow::TensorShapeProto {
            dim: Vec::new(),
            unknown_rank: true,
        },
        Some(dims) => tensorflow::TensorShapeProto {
            dim: dims
                .iter()
                .map(|d| tensor_shape_proto::Dim {
                    size: d.size,
                    name: d.name.clone(),
                })
                .collect(),
            unknown_rank: false,
        },
    }
}

/// A signature tensor as a `TensorInfo` bound by graph tensor name.
pub fn tensor_info_to_proto(info: &TensorInfo) -> tensorflow::TensorInfo {
    tensorflow::TensorInfo {
        dtype: info.dtype.tf_enum(),
        tensor_shape: Some(shape_to_proto(info.shape.as_deref())),
        encoding: Some(Encoding::Name(info.name.clone())),
    }
}

/// A core signature as a `SignatureDef` (no `defaults`: core signatures carry none).
pub fn signature_def_to_proto(sig: &SignatureDef) -> tensorflow::SignatureDef {
    let map = |m: &BTreeMap<String, TensorInfo>| {
        m.iter()
            .map(|(alias, info)| (alias.clone(), tensor_info_to_proto(info)))
            .collect()
    };
    tensorflow::SignatureDef {
        inputs: map(&sig.inputs),
        outputs: map(&sig.outputs),
        method_name: sig.method_name.clone(),
        defaults: BTreeMap::new(),
    }
}

/// All signatures of a model as a `SignatureDefMap`.
pub fn signature_def_map(sigs: &BTreeMap<String, SignatureDef>) -> SignatureDefMap {
    SignatureDefMap {
        signature_def: sigs
            .iter()
            .map(|(name, sig)| (name.clone(), signature_def_to_proto(sig)))
            .collect(),
    }
}

/// All signatures packed as the value of the `signature_def` metadata entry.
pub fn signature_def_map_any(sigs: &BTreeMap<String, SignatureDef>) -> prost_types::Any {
    prost_types::Any {
        type_url: SIGNATURE_DEF_MAP_TYPE_URL.to_string(),
        value: signature_def_map(sigs).encode_to_vec(),
    }
}

/// A `TensorInfo` back as a core one (for clients and tests). Only name-bound tensors with a
/// dtype tensorserve supports are accepted.
pub fn tensor_info_from_proto(info: &tensorflow::TensorInfo) -> Result<TensorInfo, Status> {
    let name = match &info.encoding {
        Some(Encoding::Name(name)) => name.clone(),
        Some(Encoding::CooSparse(_)) | Some(Encoding::CompositeTensor(_)) => {
            return Err(Status::unimplemented(
                "sparse and composite tensors are not supported",
            ));
        }
        None => String::new(),
    };
    let dtype = DType::from_tf_enum(info.dtype).ok_or_else(|| {
        Status::unimplemented(format!("unsupported dtype {} in signature", info.dtype))
    })?;
    let shape = match &info.tensor_shape {
        Some(s) if s.unknown_rank => None,
        Some(s) => Some(
            s.dim
                .iter()
                .map(|d| Dim {
                    size: d.size,
                    name: d.name.clone(),
                })
                .collect(),
        ),
        None => None,
    };
    Ok(TensorInfo { name, dtype, shape })
}

/// A `SignatureDef` back as a core one; `defaults` are dropped.
pub fn signature_def_from_proto(sig: &tensorflow::SignatureDef) -> Result<SignatureDef, Status> {
    let map = |m: &BTreeMap<String, tensorflow::TensorInfo>| {
        m.iter()
            .map(|(alias, info)| Ok((alias.clone(), tensor_info_from_proto(info)?)))
            .collect::<Result<BTreeMap<_, _>, Status>>()
    };
    Ok(SignatureDef {
        method_name: sig.method_name.clone(),
        inputs: map(&sig.inputs)?,
        outputs: map(&sig.outputs)?,
    })
}

#[cfg(test)]
mod tests {
    use tensorserve_core::signature::PREDICT_METHOD;

    use super::*;

    fn half_plus_two() -> BTreeMap<String, SignatureDef> {
        let x = TensorInfo {
            name: "x:0".into(),
            dtype: DType::F32,
            shape: Some(vec![
                Dim {
                    size: -1,
                    name: String::new(),
                },
                Dim {
                    size: 1,
                    name: "feature".into(),
                },
            ]),
        };
        let y = TensorInfo {
            name: "y:0".into(),
            dtype: DType::F32,
            shape: None,
        };
        let sig = SignatureDef {
            method_name: PREDICT_METHOD.into(),
            inputs: [("x".to_string(), x)].into(),
            outputs: [("y".to_string(), y)].into(),
        };
        [("serving_default".to_string(), sig)].into()
    }

    #[test]
    fn metadata_any_decodes_as_signature_def_map() {
        let sigs = half_plus_two();
        let any = signature_def_map_any(&sigs);
        assert_eq!(any.type_url, SIGNATURE_DEF_MAP_TYPE_URL);
        let map = SignatureDefMap::decode(any.value.as_slice()).unwrap();
        let sig = &map.signature_def["serving_default"];
        assert_eq!(sig.method_name, PREDICT_METHOD);
        let x = &sig.inputs["x"];
        assert_eq!(x.dtype, tensorflow::DataType::DtFloat as i32);
        assert_eq!(x.encoding, Some(Encoding::Name("x:0".into())));
        let shape = x.tensor_shape.as_ref().unwrap();
        assert!(!shape.unknown_rank);
        assert_eq!(shape.dim[0].size, -1);
        assert_eq!(shape.dim[1].name, "feature");
        let y_shape = sig.outputs["y"].tensor_shape.as_ref().unwrap();
        assert!(y_shape.unknown_rank && y_shape.dim.is_empty());

        let back = signature_def_from_proto(sig).unwrap();
        assert_eq!(back, sigs["serving_default"]);
    }

    #[test]
    fn unsupported_signature_tensors_are_errors() {
        let info = tensorflow::TensorInfo {
            dtype: tensorflow::DataType::DtComplex64 as i32,
            tensor_shape: None,
            encoding: Some(Encoding::Name("c:0".into())),
        };
        assert!(tensor_info_from_proto(&info).is_err());
    }
}
