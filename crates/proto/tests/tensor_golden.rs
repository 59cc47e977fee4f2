//! Bytes produced by real TensorFlow 2.21 (`tf.io.serialize_tensor`, which runs C++
//! `Tensor::AsProtoTensorContent`, or `AsProtoField` for strings), regenerated with
//! `tools/protos/tf_semantics.py`. Our encoder must produce the same bytes, and our decoder
//! must read them back to the same tensor.

use prost::Message;
use tensorserve_core::{Tensor, TensorData};
use tensorserve_proto::tensor::{TensorEncoding, tensor_from_proto, tensor_to_proto};
use tensorserve_proto::tensorflow::TensorProto;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn check(golden: &str, tensor: Tensor, encoding: TensorEncoding) {
    let golden = hex(golden);
    let ours = tensor_to_proto(&tensor, encoding).encode_to_vec();
    assert_eq!(ours, golden, "encoding of {tensor:?}");
    let decoded = tensor_from_proto(&TensorProto::decode(golden.as_slice()).unwrap()).unwrap();
    assert_eq!(decoded, tensor);
}

fn t(shape: &[usize], data: TensorData) -> Tensor {
    Tensor::new(shape.to_vec(), data).unwrap()
}

#[test]
fn tensor_content_matches_tensorflow_for_every_numeric_dtype() {
    use TensorEncoding::TensorContent as C;
    check(
        "08011208120208021202080222100000c03f000000c00000404000008040",
        t(&[2, 2], TensorData::F32(vec![1.5, -2.0, 3.0, 4.0])),
        C,
    );
    check(
        "08021204120208022210000000000000d03f9c7500883ce437fe",
        t(&[2], TensorData::F64(vec![0.25, -1e300])),
        C,
    );
    check(
        "08061204120208022202807f",
        t(&[2], TensorData::I8(vec![-128, 127])),
        C,
    );
    check(
        "0804120412020802220200ff",
        t(&[2], TensorData::U8(vec![0, 255])),
        C,
    );
    check(
        "080512041202080222040080ff7f",
        t(&[2], TensorData::I16(vec![i16::MIN, i16::MAX])),
        C,
    );
    check(
        "081112041202080222040000ffff",
        t(&[2], TensorData::U16(vec![0, u16::MAX])),
        C,
    );
    check(
        "0803120412020802220800000080ffffff7f",
        t(&[2], TensorData::I32(vec![i32::MIN, i32::MAX])),
        C,
    );
    check(
        "0816120412020802220800000000ffffffff",
        t(&[2], TensorData::U32(vec![0, u32::MAX])),
        C,
    );
    check(
        "080912041202080222100000000000000080ffffffffffffff7f",
        t(&[2], TensorData::I64(vec![i64::MIN, i64::MAX])),
        C,
    );
    check(
        "081712041202080222100000000000000000ffffffffffffffff",
        t(&[2], TensorData::U64(vec![0, u64::MAX])),
        C,
    );
    // 1.0 and -2.5 as IEEE half bit patterns.
    check(
        "08131204120208022204003c00c1",
        t(&[2], TensorData::F16(vec![0x3c00, 0xc100])),
        C,
    );
    check(
        "080a1204120208032203010001",
        t(&[3], TensorData::Bool(vec![true, false, true])),
        C,
    );
    check(
        "08011200220400004040",
        t(&[], TensorData::F32(vec![3.0])),
        C,
    );
    check(
        "08011206120012020803",
        t(&[0, 3], TensorData::F32(vec![])),
        C,
    );
}

#[test]
fn string_fields_match_tensorflow() {
    let z = "7a".repeat(300);
    check(
        &format!("08071204120208034200420361626342ac02{z}"),
        t(
            &[3],
            TensorData::String(vec![b"".to_vec(), b"abc".to_vec(), vec![b'z'; 300]]),
        ),
        TensorEncoding::TypedFields,
    );
}
