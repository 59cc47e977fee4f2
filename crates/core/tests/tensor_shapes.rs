//! Regression test from fuzzing the SavedModel loader (docs/fuzzing.md): shapes read from
//! untrusted bytes reach `Tensor::new`, whose element count once overflowed with a panic.

use tensorserve_core::{Code, Tensor, TensorData};

#[test]
fn a_shape_whose_element_count_overflows_is_an_error_not_a_panic() {
    let err = Tensor::new(vec![1 << 40, 1 << 40], TensorData::F32(vec![1.0])).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("has too many elements"), "{err:?}");
}

#[test]
fn a_zero_dimension_makes_an_empty_tensor_whatever_the_others() {
    let t = Tensor::new(vec![1 << 40, 1 << 40, 0], TensorData::F32(vec![])).unwrap();
    assert!(t.is_empty());
    assert!(Tensor::new(vec![usize::MAX, 0], TensorData::I64(vec![1])).is_err());
    assert_eq!(
        Tensor::new(vec![2, 3], TensorData::I32(vec![0; 6]))
            .unwrap()
            .len(),
        6
    );
}
