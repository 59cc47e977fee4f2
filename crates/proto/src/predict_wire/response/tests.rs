//! [`PredictOutputs`] against the entries of protos it replaces, byte for byte.

use prost::Message;
use tensorserve_core::{Tensor, TensorData};

use super::*;
use crate::tensorflow::serving::model_spec::VersionChoice;

/// Six values of every element type, with the extremes varints and floats have.
fn samples() -> Vec<TensorData> {
    vec![
        TensorData::F32(vec![
            1.5,
            -0.0,
            f32::MAX,
            f32::MIN_POSITIVE,
            f32::NAN,
            -7.25,
        ]),
        TensorData::F64(vec![1e300, -2.5, 0.1, f64::NEG_INFINITY, 3.0, 0.0]),
        TensorData::I8(vec![i8::MIN, -1, 0, 1, 2, i8::MAX]),
        TensorData::I16(vec![i16::MIN, -1, 0, 1, 2, i16::MAX]),
        TensorData::I32(vec![i32::MIN, -1, 0, 1, 300, i32::MAX]),
        TensorData::I64(vec![i64::MIN, -1, 0, 1, 1 << 40, i64::MAX]),
        TensorData::U8(vec![0, 1, 127, 128, 200, u8::MAX]),
        TensorData::U16(vec![0, 1, 127, 128, 300, u16::MAX]),
        TensorData::U32(vec![0, 1, 127, 128, 1 << 31, u32::MAX]),
        TensorData::U64(vec![0, 1, 127, 128, 1 << 63, u64::MAX]),
        TensorData::Bool(vec![true, false, true, true, false, false]),
        TensorData::F16(vec![0, 0x3c00, 0x7bff, 0x8000, 0xffff, 1]),
        TensorData::String(vec![
            b"a".to_vec(),
            vec![],
            vec![0xff; 200],
            b"d".to_vec(),
            b"e".to_vec(),
            b"f".to_vec(),
        ]),
    ]
}

/// `data` (six values) as a tensor of `shape`, or with no values when the shape holds none.
fn tensor(data: &TensorData, shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let mut data = data.clone();
    tensorserve_core::with_tensor_data!(&mut data, v => v.truncate(n));
    Tensor::new(shape.to_vec(), data).unwrap()
}

fn spec() -> Option<ModelSpec> {
    Some(ModelSpec {
        name: "half_plus_two".into(),
        signature_name: "serving_default".into(),
        version_choice: Some(VersionChoice::Version(123)),
    })
}

/// What the proto path writes for the same outputs.
fn via_protos(
    outputs: &BTreeMap<String, Tensor>,
    encoding: TensorEncoding,
    spec: Option<ModelSpec>,
) -> Vec<u8> {
    PredictResponseEntries {
        outputs: outputs
            .iter()
            .map(|(k, t)| {
                PredictResponseEntries::entry(k.clone(), tensor_into_proto(t.clone(), encoding))
            })
            .collect(),
        model_spec: spec,
    }
    .encode_to_vec()
}

fn check(outputs: BTreeMap<String, Tensor>, encoding: TensorEncoding, spec: Option<ModelSpec>) {
    let want = via_protos(&outputs, encoding, spec.clone());
    let direct = PredictOutputs::new(outputs.clone(), encoding, spec.clone());
    assert_eq!(direct.encoded_len(), want.len(), "{outputs:?} {encoding:?}");
    assert_eq!(direct.encode_to_vec(), want, "{outputs:?} {encoding:?}");
    // And the entries it turns into are the proto path's.
    let entries = PredictOutputs::new(outputs, encoding, spec).into_entries();
    assert_eq!(entries.encode_to_vec(), want);
}

#[test]
fn every_dtype_shape_and_encoding_writes_the_proto_paths_bytes() {
    for data in samples() {
        for shape in [&[6][..], &[2, 3], &[3, 2, 1], &[1], &[0], &[2, 0, 3], &[]] {
            for encoding in [TensorEncoding::TypedFields, TensorEncoding::TensorContent] {
                let outputs = BTreeMap::from([("y".to_string(), tensor(&data, shape))]);
                check(outputs, encoding, spec());
            }
        }
    }
}

#[test]
fn several_outputs_empty_aliases_and_no_spec() {
    let data = samples();
    let outputs: BTreeMap<String, Tensor> = [
        ("", &data[0]),
        ("b", &data[4]),
        ("c", &data[12]),
        ("z".repeat(300).as_str(), &data[9]),
    ]
    .into_iter()
    .map(|(k, d)| (k.to_string(), tensor(d, &[2, 3])))
    .collect();
    for encoding in [TensorEncoding::TypedFields, TensorEncoding::TensorContent] {
        check(outputs.clone(), encoding, spec());
        check(outputs.clone(), encoding, None);
    }
    check(BTreeMap::new(), TensorEncoding::TypedFields, spec());
    // A large tensor: lengths past one varint byte at every level.
    let big = BTreeMap::from([(
        "x".to_string(),
        Tensor::new(vec![100, 1000], TensorData::F32(vec![0.25; 100_000])).unwrap(),
    )]);
    check(big, TensorEncoding::TypedFields, spec());
}

#[test]
fn decoding_reads_nothing() {
    let outputs = BTreeMap::from([("y".to_string(), tensor(&samples()[0], &[6]))]);
    let bytes = PredictOutputs::new(outputs, TensorEncoding::TypedFields, spec()).encode_to_vec();
    assert_eq!(
        PredictOutputs::decode(bytes.as_slice()).unwrap(),
        PredictOutputs::default()
    );
}
