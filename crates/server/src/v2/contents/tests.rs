//! The gRPC tensor conversion on its own: typed and raw round trips for every datatype, BYTES
//! framing, and what is refused (and that it is refused before anything is sized by a shape).

use tensorserve_core::Code;

use super::*;

/// One tensor of every datatype, with edge values.
fn samples() -> Vec<Tensor> {
    let t = |shape: Vec<usize>, data| Tensor::new(shape, data).unwrap();
    vec![
        t(vec![3], TensorData::Bool(vec![true, false, true])),
        t(vec![2], TensorData::I8(vec![i8::MIN, i8::MAX])),
        t(vec![2], TensorData::I16(vec![i16::MIN, i16::MAX])),
        t(vec![2, 1], TensorData::I32(vec![i32::MIN, i32::MAX])),
        t(vec![2], TensorData::I64(vec![i64::MIN, i64::MAX])),
        t(vec![3], TensorData::U8(vec![0, 1, u8::MAX])),
        t(vec![2], TensorData::U16(vec![0, u16::MAX])),
        t(vec![2], TensorData::U32(vec![0, u32::MAX])),
        t(vec![2], TensorData::U64(vec![0, u64::MAX])),
        t(vec![2], TensorData::F16(vec![0x3c00, 0xfbff])),
        t(vec![1, 3], TensorData::F32(vec![1.5, -0.0, f32::INFINITY])),
        t(vec![2], TensorData::F64(vec![f64::MIN_POSITIVE, -2.25])),
        t(
            vec![3],
            TensorData::String(vec![b"a".to_vec(), Vec::new(), vec![0, 255, 10]]),
        ),
        // Empty tensors, and a scalar.
        t(vec![0, 4], TensorData::F32(Vec::new())),
        t(vec![0], TensorData::String(Vec::new())),
        t(Vec::new(), TensorData::I64(vec![7])),
    ]
}

fn layout_of(tensor: &Tensor) -> Layout {
    layout(
        "x",
        datatype::name(tensor.dtype()),
        &shape_to_proto(tensor.shape()),
    )
    .unwrap()
}

fn refused(result: Result<impl std::fmt::Debug, Status>) -> String {
    let err = result.expect_err("must be refused");
    assert_eq!(err.code(), Code::InvalidArgument, "{}", err.message());
    assert!(
        err.message().starts_with("input 'x': "),
        "{}",
        err.message()
    );
    err.message().to_string()
}

fn f32_layout(shape: &[i64]) -> Layout {
    layout("x", "FP32", shape).unwrap()
}

#[test]
fn typed_contents_round_trip_every_datatype_but_fp16() {
    for tensor in samples() {
        let contents = to_contents(tensor.data().clone());
        if tensor.dtype() == DType::F16 {
            assert!(contents.is_none());
            continue;
        }
        let back = from_contents("x", layout_of(&tensor), contents).unwrap();
        assert_eq!(back, tensor);
    }
}

#[test]
fn raw_contents_round_trip_every_datatype() {
    for tensor in samples() {
        let raw = to_raw(tensor.data()).unwrap();
        let back = from_raw("x", layout_of(&tensor), &raw).unwrap();
        assert_eq!(back, tensor, "{raw:?}");
    }
}

#[test]
fn raw_layout_is_little_endian_and_bytes_are_length_prefixed() {
    assert_eq!(
        to_raw(&TensorData::F32(vec![1.0, -2.0])).unwrap(),
        [0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]
    );
    assert_eq!(
        to_raw(&TensorData::I16(vec![0x0102, -1])).unwrap(),
        [2, 1, 0xff, 0xff]
    );
    assert_eq!(
        to_raw(&TensorData::Bool(vec![true, false])).unwrap(),
        [1, 0]
    );
    assert_eq!(
        to_raw(&TensorData::String(vec![b"ab".to_vec(), Vec::new()])).unwrap(),
        [2, 0, 0, 0, b'a', b'b', 0, 0, 0, 0]
    );
}

#[test]
fn typed_contents_use_the_shared_integer_fields() {
    let c = to_contents(TensorData::I8(vec![-1])).unwrap();
    assert_eq!(c.int_contents, [-1]);
    let c = to_contents(TensorData::U16(vec![65535])).unwrap();
    assert_eq!(c.uint_contents, [65535]);
    let c = to_contents(TensorData::String(vec![b"s".to_vec()])).unwrap();
    assert_eq!(c.bytes_contents, [b"s".to_vec()]);
}

#[test]
fn layout_checks_datatype_and_dims() {
    assert_eq!(
        layout("x", "INT32", &[2, 3]).unwrap(),
        Layout {
            dtype: DType::I32,
            shape: vec![2, 3],
            count: 6
        }
    );
    assert_eq!(layout("x", "FP32", &[0, i64::MAX]).unwrap().count, 0);
    let msg = refused(layout("x", "FLOAT32", &[1]));
    assert!(msg.contains("unknown datatype 'FLOAT32'"), "{msg}");
    let msg = refused(layout("x", "fp32", &[1]));
    assert!(msg.contains("unknown datatype"), "{msg}");
    let msg = refused(layout("x", "FP32", &[2, -1]));
    assert!(msg.contains("non-negative"), "{msg}");
    let msg = refused(layout("x", "FP32", &[i64::MAX, i64::MAX]));
    assert!(msg.contains("too many elements"), "{msg}");
}

#[test]
fn typed_contents_must_match_the_shape_and_the_field() {
    let contents = |v: Vec<f32>| {
        Some(InferTensorContents {
            fp32_contents: v,
            ..Default::default()
        })
    };
    let msg = refused(from_contents(
        "x",
        f32_layout(&[3]),
        contents(vec![1.0, 2.0]),
    ));
    assert_eq!(
        msg,
        "input 'x': shape [3] holds 3 elements but fp32_contents has 2"
    );
    // No last-value broadcast (that is TensorProto's rule, not this protocol's).
    refused(from_contents("x", f32_layout(&[2]), contents(vec![1.0])));
    // Absent contents are no elements: right for an empty shape only.
    assert!(
        from_contents("x", f32_layout(&[0]), None)
            .unwrap()
            .is_empty()
    );
    refused(from_contents("x", f32_layout(&[1]), None));
    // A shape claiming a huge count is refused by the count, allocating nothing.
    let msg = refused(from_contents(
        "x",
        f32_layout(&[1 << 40]),
        contents(vec![1.0]),
    ));
    assert!(msg.contains("1099511627776 elements"), "{msg}");

    let wrong_field = Some(InferTensorContents {
        int_contents: vec![1],
        ..Default::default()
    });
    let msg = refused(from_contents("x", f32_layout(&[1]), wrong_field));
    assert_eq!(
        msg,
        "input 'x': datatype FP32 takes its elements in fp32_contents, but int_contents holds 1"
    );
}

#[test]
fn narrow_integer_types_refuse_values_out_of_range() {
    let ints = |v: Vec<i32>| {
        Some(InferTensorContents {
            int_contents: v,
            ..Default::default()
        })
    };
    let i8_layout = layout("x", "INT8", &[1]).unwrap();
    let msg = refused(from_contents("x", i8_layout.clone(), ints(vec![128])));
    assert_eq!(msg, "input 'x': 128 is out of range for INT8");
    assert!(from_contents("x", i8_layout, ints(vec![-128])).is_ok());
    let uints = Some(InferTensorContents {
        uint_contents: vec![70000],
        ..Default::default()
    });
    let msg = refused(from_contents(
        "x",
        layout("x", "UINT16", &[1]).unwrap(),
        uints,
    ));
    assert!(msg.contains("70000 is out of range for UINT16"), "{msg}");
}

#[test]
fn fp16_is_raw_only() {
    let layout16 = layout("x", "FP16", &[1]).unwrap();
    let msg = refused(from_contents("x", layout16.clone(), None));
    assert!(msg.contains("raw_input_contents"), "{msg}");
    let given = Some(InferTensorContents {
        fp32_contents: vec![1.0],
        ..Default::default()
    });
    refused(from_contents("x", layout16.clone(), given));
    assert_eq!(
        from_raw("x", layout16, &[0x00, 0x3c]).unwrap().data(),
        &TensorData::F16(vec![0x3c00])
    );
    // An empty FP16 tensor needs no contents at all.
    let empty = layout("x", "FP16", &[0]).unwrap();
    assert!(from_contents("x", empty, None).unwrap().is_empty());
}

#[test]
fn raw_fixed_size_buffers_must_have_the_exact_length() {
    let msg = refused(from_raw("x", f32_layout(&[3]), &[0; 11]));
    assert_eq!(
        msg,
        "input 'x': raw contents hold 11 bytes but shape [3] of FP32 needs 12"
    );
    refused(from_raw("x", f32_layout(&[3]), &[0; 16]));
    // count * size overflows: refused without sizing anything.
    let msg = refused(from_raw("x", f32_layout(&[1 << 62]), &[0; 4]));
    assert!(msg.contains("needs more"), "{msg}");
    let msg = refused(from_raw("x", layout("x", "BOOL", &[2]).unwrap(), &[1, 2]));
    assert!(msg.contains("0 or 1"), "{msg}");
}

#[test]
fn raw_bytes_framing_errors() {
    let bytes = |shape: &[i64]| layout("x", "BYTES", shape).unwrap();
    // A truncated length prefix.
    let msg = refused(from_raw("x", bytes(&[2]), &[1, 0, 0, 0, b'a', 1, 0]));
    assert_eq!(
        msg,
        "input 'x': raw BYTES element 1 is truncated: 2 bytes left, a 4-byte length expected"
    );
    // A length past the end.
    let msg = refused(from_raw("x", bytes(&[1]), &[5, 0, 0, 0, b'a', b'b']));
    assert_eq!(
        msg,
        "input 'x': raw BYTES element 0 is truncated: its length is 5 but 2 bytes are left"
    );
    // A length of 4 GiB - 1 on a short buffer is refused, not allocated.
    refused(from_raw("x", bytes(&[1]), &[0xff, 0xff, 0xff, 0xff, 0]));
    // Fewer or more elements than the shape.
    let msg = refused(from_raw("x", bytes(&[3]), &[0, 0, 0, 0, 0, 0, 0, 0]));
    assert_eq!(
        msg,
        "input 'x': raw BYTES contents hold 2 elements but the shape needs 3"
    );
    let msg = refused(from_raw("x", bytes(&[1]), &[0, 0, 0, 0, 0, 0, 0, 0]));
    assert!(msg.contains("more than the shape's 1 elements"), "{msg}");
    // A huge claimed count with a tiny buffer.
    refused(from_raw("x", bytes(&[1 << 60]), &[0, 0, 0, 0]));
    // Empty: no elements, no bytes.
    assert!(from_raw("x", bytes(&[0]), &[]).unwrap().is_empty());
    refused(from_raw("x", bytes(&[1]), &[]));
}

#[test]
fn has_elements_ignores_empty_messages() {
    assert!(!has_elements(None));
    assert!(!has_elements(Some(&InferTensorContents::default())));
    assert!(has_elements(Some(&InferTensorContents {
        bytes_contents: vec![Vec::new()],
        ..Default::default()
    })));
}
