//! What the team-owned 2-D f32 ops ([`super::conv`], [`super::maxpool`]) share: checking an
//! input against the op's `PoolSpec` and reading the geometry both walk (shapes, element
//! strides, tract's computed padding), so that both ops validate and lay out inputs alike.

use tract_core::ops::cnn::PoolSpec;
use tract_core::ops::nn::{BaseDataShape, DataShape};
use tract_hir::internal::*;

/// An input's shape, its output's shape and the padding per spatial axis.
pub struct Spatial {
    /// The input, read through the spec's data format.
    pub input: DataShape,
    /// The output.
    pub output: DataShape,
    /// Per spatial axis (h, w): padding before the first element, as tract computes it for
    /// the spec's padding (VALID, SAME, explicit).
    pub pad_before: [usize; 2],
    /// Per spatial axis (h, w): the output's length.
    pub output_hw: [usize; 2],
}

impl Spatial {
    /// Checks that `input` is an f32 tensor of the spec's rank and reads its geometry; `op`
    /// names the op in errors.
    pub fn of(op: &str, spec: &PoolSpec, input: &Tensor) -> TractResult<Spatial> {
        ensure!(input.datum_type() == f32::datum_type(), "{op} takes f32");
        ensure!(
            input.rank() == 3 + spec.data_format.has_n() as usize,
            "{op}: input {:?} is not a {:?} tensor",
            input.shape(),
            spec.data_format
        );
        let input_shape = spec.data_format.shape(input.shape().into())?;
        let output = spec.output_shape(input.shape())?;
        let padding = spec.computed_padding(input_shape.hw_dims());
        Ok(Spatial {
            input: input_shape,
            output,
            pad_before: [padding[0].pad_before, padding[1].pad_before],
            output_hw: [padding[0].convoluted, padding[1].convoluted],
        })
    }

    /// Images in the batch (1 without a batch axis).
    pub fn batch(&self) -> usize {
        self.input.n().copied().unwrap_or(1)
    }
}

/// Element strides of n (0 without a batch axis), h, w and c.
pub fn strides<S: AsRef<[usize]> + std::fmt::Debug>(s: &BaseDataShape<usize, S>) -> [usize; 4] {
    [
        s.n_stride().copied().unwrap_or(0),
        s.hw_strides()[0],
        s.hw_strides()[1],
        *s.c_stride(),
    ]
}
