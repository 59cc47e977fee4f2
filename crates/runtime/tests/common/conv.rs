//! Helpers for the convolution tests (`tests/conv.rs`, `tests/conv_per_image.rs`): random
//! inputs, and comparing ours with tract's.

use tract_core::internal::*;

/// Deterministic pseudo-random values in [-3.5, 3.5) with repeats and zeros.
pub fn random(shape: &[usize], seed: u64) -> Tensor {
    let mut next = super::lcg(seed);
    let n: usize = shape.iter().product();
    let values: Vec<f32> = (0..n)
        .map(|_| (next() % 997) as f32 / 142.0 - 3.5)
        .collect();
    tract_ndarray::ArrayD::from_shape_vec(shape, values)
        .unwrap()
        .into_tensor()
}

/// Same shape, and every value within 1e-5 of tract's relative to the output's magnitude
/// (summation order differs).
pub fn assert_close(ours: &Tensor, theirs: &Tensor, what: &str) {
    assert_eq!(ours.shape(), theirs.shape(), "{what}");
    let (a, b) = (values(ours), values(theirs));
    let scale = b.iter().fold(1f32, |m, v| m.max(v.abs()));
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-5 * scale,
            "{what}: element {i}: ours {x}, tract {y}"
        );
    }
}

pub fn values(t: &Tensor) -> Vec<f32> {
    t.to_plain_array_view::<f32>()
        .unwrap()
        .iter()
        .copied()
        .collect()
}

pub fn op_names(model: &TypedModel) -> Vec<String> {
    model
        .nodes()
        .iter()
        .map(|n| n.op.name().to_string())
        .collect()
}
