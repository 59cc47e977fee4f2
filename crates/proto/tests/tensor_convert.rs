//! TensorProto ↔ Tensor: round trips for every dtype in both encodings, TensorFlow's
//! typed-field broadcast rule, and malformed protos (errors, never panics or aborts).
//! Expectations marked "TF:" were observed with `tf.io.parse_tensor` (C++ `Tensor::FromProto`)
//! in TensorFlow 2.21 via `tools/protos/tf_semantics.py`.

use prost::Message;
use tensorserve_core::{Code, DType, Tensor, TensorData};
use tensorserve_proto::tensor::{
    DEFAULT_MAX_TENSOR_BYTES, MAX_RANK, TensorEncoding, tensor_from_proto, tensor_from_proto_owned,
    tensor_from_proto_with_limit, tensor_into_proto, tensor_to_proto,
};
use tensorserve_proto::tensorflow::{DataType, TensorProto, TensorShapeProto, tensor_shape_proto};

fn shape(dims: &[i64]) -> Option<TensorShapeProto> {
    Some(TensorShapeProto {
        dim: dims
            .iter()
            .map(|&size| tensor_shape_proto::Dim {
                size,
                name: String::new(),
            })
            .collect(),
        unknown_rank: false,
    })
}

fn proto(dtype: DataType, dims: &[i64]) -> TensorProto {
    TensorProto {
        dtype: dtype as i32,
        tensor_shape: shape(dims),
        ..TensorProto::default()
    }
}

fn err_code(p: &TensorProto) -> Code {
    match tensor_from_proto(p) {
        Ok(t) => panic!("expected an error, got {t:?}"),
        Err(e) => {
            assert!(!e.message().is_empty());
            e.code()
        }
    }
}

/// Sample data with interesting values for every dtype core supports.
fn samples() -> Vec<TensorData> {
    let v = vec![
        TensorData::F32(vec![
            1.5,
            -0.0,
            f32::MAX,
            f32::MIN_POSITIVE,
            f32::INFINITY,
            -7.25,
        ]),
        TensorData::F64(vec![1e300, -2.5, 0.1, f64::NEG_INFINITY, 3.0, 4.0]),
        TensorData::I8(vec![i8::MIN, -1, 0, 1, 2, i8::MAX]),
        TensorData::I16(vec![i16::MIN, -1, 0, 1, 2, i16::MAX]),
        TensorData::I32(vec![i32::MIN, -1, 0, 1, 2, i32::MAX]),
        TensorData::I64(vec![i64::MIN, -1, 0, 1, 2, i64::MAX]),
        TensorData::U8(vec![0, 1, 2, 127, 128, u8::MAX]),
        TensorData::U16(vec![0, 1, 2, 0x7fff, 0x8000, u16::MAX]),
        TensorData::U32(vec![0, 1, 2, 0x7fff_ffff, 0x8000_0000, u32::MAX]),
        TensorData::U64(vec![0, 1, 2, 1 << 63, u64::MAX - 1, u64::MAX]),
        TensorData::Bool(vec![true, false, true, true, false, false]),
        // 1.0, -2.0, +inf, a NaN, the smallest subnormal, 65504.
        TensorData::F16(vec![0x3c00, 0xc000, 0x7c00, 0x7e01, 0x0001, 0x7bff]),
        TensorData::String(vec![
            b"".to_vec(),
            b"a".to_vec(),
            "héllo".as_bytes().to_vec(),
            vec![0, 255, 10],
            vec![b'x'; 200],
            b"last".to_vec(),
        ]),
    ];
    let covered: Vec<DType> = v.iter().map(TensorData::dtype).collect();
    for d in DType::ALL {
        assert!(covered.contains(&d), "no sample for {d:?}");
    }
    v
}

#[test]
fn every_dtype_round_trips_in_both_encodings() {
    for data in samples() {
        for encoding in [TensorEncoding::TypedFields, TensorEncoding::TensorContent] {
            for dims in [vec![2, 3], vec![6], vec![1, 2, 3, 1]] {
                let tensor = Tensor::new(dims, data.clone()).unwrap();
                let p = tensor_to_proto(&tensor, encoding);
                assert_eq!(p.dtype, tensor.dtype().tf_enum());
                assert_eq!(
                    p.tensor_content.is_empty(),
                    encoding == TensorEncoding::TypedFields
                );
                // Through the wire and back.
                let wire = TensorProto::decode(p.encode_to_vec().as_slice()).unwrap();
                assert_eq!(wire, p);
                assert_eq!(tensor_from_proto(&wire).unwrap(), tensor, "{encoding:?}");
                assert_eq!(tensor_from_proto_owned(wire).unwrap(), tensor);
                assert_eq!(tensor_into_proto(tensor.clone(), encoding), p);
            }
            // Scalars and empty tensors too.
            let scalar = Tensor::scalar(data.slice(0..1)).unwrap();
            let p = tensor_to_proto(&scalar, encoding);
            assert_eq!(p.tensor_shape, shape(&[]));
            assert_eq!(tensor_from_proto(&p).unwrap(), scalar);
            let empty = Tensor::new(vec![0, 4], data.slice(0..0)).unwrap();
            let p = tensor_to_proto(&empty, encoding);
            // dtype (2 bytes) + shape [0, 4] (8 bytes), no values.
            assert_eq!(p.encode_to_vec().len(), 10, "{p:?}");
            assert_eq!(tensor_from_proto(&p).unwrap(), empty);
        }
    }
}

#[test]
fn typed_fields_use_tensorflows_field_for_each_dtype() {
    let one =
        |d: TensorData| tensor_to_proto(&Tensor::scalar(d).unwrap(), TensorEncoding::TypedFields);
    assert_eq!(one(TensorData::F32(vec![1.0])).float_val, [1.0]);
    assert_eq!(one(TensorData::F64(vec![1.0])).double_val, [1.0]);
    assert_eq!(one(TensorData::I8(vec![-3])).int_val, [-3]);
    assert_eq!(one(TensorData::I16(vec![-3])).int_val, [-3]);
    assert_eq!(one(TensorData::U8(vec![200])).int_val, [200]);
    assert_eq!(one(TensorData::U16(vec![60000])).int_val, [60000]);
    assert_eq!(one(TensorData::I32(vec![-3])).int_val, [-3]);
    assert_eq!(one(TensorData::I64(vec![-3])).int64_val, [-3]);
    assert_eq!(one(TensorData::U32(vec![u32::MAX])).uint32_val, [u32::MAX]);
    assert_eq!(one(TensorData::U64(vec![u64::MAX])).uint64_val, [u64::MAX]);
    assert_eq!(one(TensorData::Bool(vec![true])).bool_val, [true]);
    // DT_HALF: the bit pattern, zero-extended into an int32.
    let h = one(TensorData::F16(vec![0xc000]));
    assert_eq!(h.half_val, [0xc000]);
    assert_eq!(h.dtype, DataType::DtHalf as i32);
    assert_eq!(
        one(TensorData::String(vec![b"s".to_vec()])).string_val,
        [b"s".to_vec()]
    );
}

#[test]
fn typed_fields_broadcast_the_last_value() {
    // TF: float [2,3] float_val=[1,2] -> [1,2,2,2,2,2]
    let mut p = proto(DataType::DtFloat, &[2, 3]);
    p.float_val = vec![1.0, 2.0];
    let t = tensor_from_proto(&p).unwrap();
    assert_eq!(t.shape(), [2, 3]);
    assert_eq!(
        t.data(),
        &TensorData::F32(vec![1.0, 2.0, 2.0, 2.0, 2.0, 2.0])
    );

    // The classic single value filling a whole shape.
    let mut p = proto(DataType::DtInt64, &[2, 2]);
    p.int64_val = vec![7];
    assert_eq!(
        tensor_from_proto(&p).unwrap().data(),
        &TensorData::I64(vec![7; 4])
    );

    // TF: string [3] string_val=[a,b] -> [a,b,b]
    let mut p = proto(DataType::DtString, &[3]);
    p.string_val = vec![b"a".to_vec(), b"b".to_vec()];
    let want = TensorData::String(vec![b"a".to_vec(), b"b".to_vec(), b"b".to_vec()]);
    assert_eq!(tensor_from_proto(&p).unwrap().data(), &want);
    assert_eq!(tensor_from_proto_owned(p).unwrap().data(), &want);

    // TF: half [3] half_val=[0x3c00, 0x13c00] -> [1.0, 1.0, 1.0] (int32 narrowed to 16 bits).
    let mut p = proto(DataType::DtHalf, &[3]);
    p.half_val = vec![0x3c00, 0x1_3c00];
    assert_eq!(
        tensor_from_proto(&p).unwrap().data(),
        &TensorData::F16(vec![0x3c00; 3])
    );

    let mut p = proto(DataType::DtBool, &[3]);
    p.bool_val = vec![false, true];
    assert_eq!(
        tensor_from_proto(&p).unwrap().data(),
        &TensorData::Bool(vec![false, true, true])
    );
}

#[test]
fn typed_fields_fill_zeros_truncate_extras_and_wrap_narrow_ints() {
    // TF: int32 [3] with no values -> [0,0,0]
    let p = proto(DataType::DtInt32, &[3]);
    assert_eq!(
        tensor_from_proto(&p).unwrap().data(),
        &TensorData::I32(vec![0; 3])
    );
    let p = proto(DataType::DtString, &[2]);
    assert_eq!(
        tensor_from_proto(&p).unwrap().data(),
        &TensorData::String(vec![vec![], vec![]])
    );

    // TF: float [2] float_val=[1,2,3] -> [1,2]
    let mut p = proto(DataType::DtFloat, &[2]);
    p.float_val = vec![1.0, 2.0, 3.0];
    assert_eq!(
        tensor_from_proto(&p).unwrap().data(),
        &TensorData::F32(vec![1.0, 2.0])
    );
    let mut p = proto(DataType::DtString, &[1]);
    p.string_val = vec![b"a".to_vec(), b"b".to_vec()];
    assert_eq!(
        tensor_from_proto(&p).unwrap().data(),
        &TensorData::String(vec![b"a".to_vec()])
    );

    // TF: uint8 [3] int_val=[300,-1] -> [44,255,255]
    let mut p = proto(DataType::DtUint8, &[3]);
    p.int_val = vec![300, -1];
    assert_eq!(
        tensor_from_proto(&p).unwrap().data(),
        &TensorData::U8(vec![44, 255, 255])
    );
    let mut p = proto(DataType::DtInt8, &[1]);
    p.int_val = vec![200];
    assert_eq!(
        tensor_from_proto(&p).unwrap().data(),
        &TensorData::I8(vec![-56])
    );

    // Values of another dtype's field are not looked at.
    let mut p = proto(DataType::DtFloat, &[2]);
    p.double_val = vec![5.0];
    assert_eq!(
        tensor_from_proto(&p).unwrap().data(),
        &TensorData::F32(vec![0.0, 0.0])
    );
}

#[test]
fn shape_edge_cases_follow_tensorflow() {
    // TF: no shape is a scalar.
    let mut p = proto(DataType::DtFloat, &[]);
    p.tensor_shape = None;
    p.float_val = vec![7.0];
    let t = tensor_from_proto(&p).unwrap();
    assert_eq!(t.shape(), [] as [usize; 0]);
    assert_eq!(t.data(), &TensorData::F32(vec![7.0]));

    // TF: an empty tensor ignores its values, even malformed content.
    let mut p = proto(DataType::DtFloat, &[0]);
    p.float_val = vec![1.0];
    p.tensor_content = vec![1, 2, 3];
    let t = tensor_from_proto(&p).unwrap();
    assert_eq!((t.shape(), t.len()), (&[0usize][..], 0));

    // unknown_rank is ignored for a concrete tensor, as TensorShape(proto) ignores it.
    let mut p = proto(DataType::DtInt32, &[2]);
    p.tensor_shape.as_mut().unwrap().unknown_rank = true;
    p.int_val = vec![4];
    assert_eq!(tensor_from_proto(&p).unwrap().shape(), [2]);

    // The largest rank TensorFlow allows is accepted.
    let p = proto(DataType::DtFloat, &vec![1; MAX_RANK]);
    assert_eq!(tensor_from_proto(&p).unwrap().shape().len(), MAX_RANK);
}

#[test]
fn tensor_content_wins_over_typed_fields() {
    // TF: float [2] with content [5,6] and float_val [1] -> [5,6]
    let mut p = proto(DataType::DtFloat, &[2]);
    p.tensor_content = [5.0f32, 6.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    p.float_val = vec![1.0];
    assert_eq!(
        tensor_from_proto(&p).unwrap().data(),
        &TensorData::F32(vec![5.0, 6.0])
    );

    // TF: string [2] content 01 02 'abc' -> [a, bc]
    let mut p = proto(DataType::DtString, &[2]);
    p.tensor_content = b"\x01\x02abc".to_vec();
    p.string_val = vec![b"ignored".to_vec()];
    let want = TensorData::String(vec![b"a".to_vec(), b"bc".to_vec()]);
    assert_eq!(tensor_from_proto(&p).unwrap().data(), &want);
}

#[test]
fn malformed_content_is_invalid_argument() {
    // TF: float [2] with 7 content bytes is refused.
    let mut p = proto(DataType::DtFloat, &[2]);
    p.tensor_content = vec![0; 7];
    assert_eq!(err_code(&p), Code::InvalidArgument);
    // A multiple of the width but the wrong count, both ways.
    p.tensor_content = vec![0; 4];
    assert_eq!(err_code(&p), Code::InvalidArgument);
    p.tensor_content = vec![0; 12];
    assert_eq!(err_code(&p), Code::InvalidArgument);
    let mut p = proto(DataType::DtInt64, &[3]);
    p.tensor_content = vec![0; 16];
    let e = tensor_from_proto(&p).unwrap_err();
    assert!(e.message().contains("16 bytes"), "{e}");
    assert!(e.message().contains("24"), "{e}");

    // TF: bool content holding a byte other than 0 or 1 is refused.
    let mut p = proto(DataType::DtBool, &[2]);
    p.tensor_content = vec![1, 2];
    assert_eq!(err_code(&p), Code::InvalidArgument);

    // String lists: short payload, trailing bytes, truncated varint.
    for content in [&b"\x01\x02ab"[..], b"\x01\x01abc", b"\x01\x80"] {
        let mut p = proto(DataType::DtString, &[2]);
        p.tensor_content = content.to_vec();
        assert_eq!(err_code(&p), Code::InvalidArgument, "{content:?}");
    }
}

#[test]
fn bad_shapes_are_invalid_argument() {
    // TF: a negative dimension is refused.
    let mut p = proto(DataType::DtFloat, &[2, -1]);
    p.float_val = vec![1.0];
    assert_eq!(err_code(&p), Code::InvalidArgument);

    // TF: [2^62, 4] overflows int64 and is refused.
    let mut p = proto(DataType::DtFloat, &[1 << 62, 4]);
    p.float_val = vec![1.0];
    assert_eq!(err_code(&p), Code::InvalidArgument);
    let mut p = proto(DataType::DtFloat, &[i64::MAX, i64::MAX, 0]);
    p.float_val = vec![1.0];
    assert_eq!(err_code(&p), Code::InvalidArgument);

    // Too many dimensions.
    let p = proto(DataType::DtFloat, &vec![1; MAX_RANK + 1]);
    assert_eq!(err_code(&p), Code::InvalidArgument);
}

#[test]
fn huge_shapes_are_refused_before_allocating() {
    // Fits in i64, but broadcasting one value would need 4 TiB: refused, not an abort.
    let mut p = proto(DataType::DtFloat, &[1 << 40]);
    p.float_val = vec![1.0];
    let e = tensor_from_proto(&p).unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("limit"), "{e}");

    // The content path checks the byte count first, so n * width may even overflow usize.
    let mut p = proto(DataType::DtDouble, &[1 << 62]);
    p.tensor_content = vec![0; 8];
    assert_eq!(err_code(&p), Code::InvalidArgument);
    let mut p = proto(DataType::DtString, &[1 << 50]);
    p.tensor_content = vec![0; 8];
    assert_eq!(err_code(&p), Code::InvalidArgument);

    // A broadcast string counts its repeated bytes.
    let mut p = proto(DataType::DtString, &[1 << 20]);
    p.string_val = vec![vec![b'x'; 1 << 12]];
    assert_eq!(err_code(&p), Code::InvalidArgument); // 4 GiB of copies
    let mut p = proto(DataType::DtString, &[1 << 10]);
    p.string_val = vec![vec![b'x'; 1 << 12]];
    assert!(tensor_from_proto_with_limit(&p, 1 << 22).is_err()); // 4 MiB + per-element overhead
    assert!(tensor_from_proto_with_limit(&p, 1 << 23).is_ok_and(|t| t.len() == 1 << 10));

    // The limit is configurable and exact.
    let mut p = proto(DataType::DtFloat, &[4]);
    p.float_val = vec![1.0];
    assert!(tensor_from_proto_with_limit(&p, 16).is_ok());
    assert!(tensor_from_proto_with_limit(&p, 15).is_err());
    assert_eq!(DEFAULT_MAX_TENSOR_BYTES, 1 << 31);
}

#[test]
fn dtype_errors_distinguish_invalid_from_unsupported() {
    let with_value = |dtype: i32| {
        let mut p = proto(DataType::DtFloat, &[1]);
        p.dtype = dtype;
        p.float_val = vec![1.0];
        p.int_val = vec![1];
        p
    };
    // Not a tensor type at all.
    assert_eq!(
        err_code(&with_value(DataType::DtInvalid as i32)),
        Code::InvalidArgument
    );
    assert_eq!(err_code(&with_value(999)), Code::InvalidArgument);
    assert_eq!(err_code(&with_value(-1)), Code::InvalidArgument);
    // TF: DT_FLOAT_REF is refused.
    assert_eq!(
        err_code(&with_value(DataType::DtFloatRef as i32)),
        Code::InvalidArgument
    );
    // Real TensorFlow types that tensorserve cannot hold.
    for dt in [
        DataType::DtComplex64,
        DataType::DtComplex128,
        DataType::DtBfloat16,
        DataType::DtQint8,
        DataType::DtResource,
        DataType::DtVariant,
        DataType::DtFloat8E4m3fn,
        DataType::DtInt4,
    ] {
        let e = tensor_from_proto(&with_value(dt as i32)).unwrap_err();
        assert_eq!(e.code(), Code::Unimplemented, "{dt:?}");
        assert!(e.message().contains(dt.as_str_name()), "{e}");
    }
    // Even with no elements: the dtype is still checked.
    let mut p = proto(DataType::DtComplex64, &[0]);
    assert_eq!(err_code(&p), Code::Unimplemented);
    p.dtype = 0;
    assert_eq!(err_code(&p), Code::InvalidArgument);
}

#[test]
fn trait_conversions_match_the_functions() {
    let t = Tensor::new(vec![2], TensorData::I32(vec![1, 2])).unwrap();
    let p = TensorProto::from(&t);
    assert_eq!(p, tensor_to_proto(&t, TensorEncoding::default()));
    assert_eq!(Tensor::try_from(&p).unwrap(), t);
    assert_eq!(Tensor::try_from(p).unwrap(), t);
}

/// The owned decode moves a typed field that holds exactly the tensor's values; every proto,
/// moved or not, must decode to what the borrowing decode gives (errors included).
#[test]
fn owned_decode_matches_borrowed_decode() {
    let mut cases = Vec::new();
    for data in samples() {
        for dims in [&[6][..], &[2, 3], &[3], &[8], &[0], &[]] {
            for encoding in [TensorEncoding::TypedFields, TensorEncoding::TensorContent] {
                let six = Tensor::new(vec![6], data.clone()).unwrap();
                let mut p = tensor_to_proto(&six, encoding);
                p.tensor_shape = shape(dims);
                cases.push(p);
            }
        }
    }
    // Exact length but content present (content wins), a bad dtype, a negative dimension.
    let mut content_wins = proto(DataType::DtFloat, &[2]);
    content_wins.float_val = vec![1.0, 2.0];
    content_wins.tensor_content = [3.0f32, 4.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    cases.push(content_wins);
    let mut bad_dtype = proto(DataType::DtInvalid, &[2]);
    bad_dtype.float_val = vec![1.0, 2.0];
    cases.push(bad_dtype);
    let mut bad_dim = proto(DataType::DtFloat, &[-2]);
    bad_dim.float_val = vec![1.0, 2.0];
    cases.push(bad_dim);
    for p in cases {
        let borrowed = tensor_from_proto(&p);
        let owned = tensor_from_proto_owned(p.clone());
        match (&borrowed, &owned) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{p:?}"),
            (Err(a), Err(b)) => {
                assert_eq!((a.code(), a.message()), (b.code(), b.message()), "{p:?}")
            }
            _ => panic!("{p:?}: borrowed {borrowed:?}, owned {owned:?}"),
        }
    }
}
