//! `Slice` and `StridedSlice` (`Split`/`SplitV` are in [`super::split`]).
//!
//! tract-tensorflow maps `Slice(begin, size)` onto a strided slice reading `size` as the end
//! (wrong whenever begin != 0) and ignores `StridedSlice`'s `ellipsis_mask` and
//! `new_axis_mask` (`x[..., 1]`, `x[:, tf.newaxis]`), giving wrong shapes. Both are rebuilt here
//! on tract-core's `Slice`/`Downsample`/`AxisOp`, with TensorFlow's clamping rules. Dimensions
//! stay `TDim`, so slicing the symbolic batch axis (or a `tf.shape` vector) still plans.

use tract_core::ops::array::Slice as CoreSlice;
use tract_core::ops::downsample::Downsample;
use tract_hir::internal::*;
use tract_tensorflow::model::{ParsingContext, TfOpRegister};
use tract_tensorflow::tfpb::tensorflow::NodeDef;

use super::support::{ints, konst};

pub fn register(reg: &mut TfOpRegister) {
    reg.insert("Slice", |_, _| Ok(expand(Slice)));
    reg.insert("StridedSlice", strided_slice);
}

/// What one input axis becomes: elements `start, start + stride, ...` before `stop`
/// (`stride < 0` walks down from `start`), or only `start` with the axis removed (`shrink`).
#[derive(Debug, Clone, PartialEq)]
struct AxisSlice {
    start: TDim,
    stop: TDim,
    stride: i64,
    shrink: bool,
}

impl AxisSlice {
    fn len(&self) -> TDim {
        if self.shrink {
            return 1.to_dim();
        }
        let (span, step) = if self.stride > 0 {
            (self.stop.clone() - &self.start, self.stride)
        } else {
            (self.start.clone() - &self.stop, -self.stride)
        };
        match span.as_i64() {
            Some(s) if s <= 0 => 0.to_dim(),
            Some(s) => ((s + step - 1) / step).to_dim(),
            None => span.divceil(step as usize),
        }
    }

    fn is_full(&self, dim: &TDim) -> bool {
        !self.shrink && self.stride == 1 && self.start.as_i64() == Some(0) && &self.stop == dim
    }

    /// Wires the slice of `axis` (without removing it for `shrink`).
    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        axis: usize,
        wire: OutletId,
    ) -> TractResult<OutletId> {
        let dim = model.outlet_fact(wire)?.shape[axis].clone();
        if self.is_full(&dim) {
            return Ok(wire);
        }
        let len = self.len();
        if len.as_i64() == Some(0) {
            return Ok(model.wire_node(
                format!("{prefix}.empty-{axis}"),
                CoreSlice::new(axis, 0, 0),
                &[wire],
            )?[0]);
        }
        // the covered interval, then every |stride|-th element from the right end
        let (left, right) = if self.stride > 0 {
            (
                self.start.clone(),
                self.start.clone() + (len.clone() - 1) * self.stride + 1,
            )
        } else {
            (
                self.start.clone() - (len.clone() - 1) * -self.stride,
                self.start.clone() + 1,
            )
        };
        let mut wire = wire;
        if !(left.as_i64() == Some(0) && right == dim) {
            wire = model.wire_node(
                format!("{prefix}.slice-{axis}"),
                CoreSlice::new(axis, left, right),
                &[wire],
            )?[0];
        }
        if self.stride != 1 {
            wire = model.wire_node(
                format!("{prefix}.stride-{axis}"),
                Downsample::new(axis, self.stride as isize, 0),
                &[wire],
            )?[0];
        }
        Ok(wire)
    }
}

/// `index` (negative counts from the end) clamped into `lo..=hi` relative to `dim`. With a
/// symbolic `dim` the index is assumed to fall inside it, as it does for any real batch.
fn clamp(index: i64, dim: &TDim, lo: i64, hi_offset: i64) -> TDim {
    match dim.as_i64() {
        Some(d) => {
            let i = if index < 0 { index + d } else { index };
            i.clamp(lo, d + hi_offset).to_dim()
        }
        None if index < 0 => dim.clone() + index,
        None => index.to_dim(),
    }
}

/// `StridedSlice`'s masks, bit `i` for entry `i` of begin/end/strides.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct StridedSlice {
    begin_mask: i64,
    end_mask: i64,
    ellipsis_mask: i64,
    new_axis_mask: i64,
    shrink_axis_mask: i64,
}

/// The output layout: an input axis kept (or reduced by shrink), or a new unit axis.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    Axis(usize, AxisSlice),
    NewAxis,
}

fn strided_slice(_: &ParsingContext, node: &NodeDef) -> TractResult<Box<dyn InferenceOp>> {
    let mask = |name: &str| -> TractResult<i64> { Ok(node.get_attr_opt_int(name)?.unwrap_or(0)) };
    Ok(expand(StridedSlice {
        begin_mask: mask("begin_mask")?,
        end_mask: mask("end_mask")?,
        ellipsis_mask: mask("ellipsis_mask")?,
        new_axis_mask: mask("new_axis_mask")?,
        shrink_axis_mask: mask("shrink_axis_mask")?,
    }))
}

impl StridedSlice {
    /// Expands the sparse spec (with ellipsis and new axes) against an input of `shape`, the
    /// way TensorFlow's `ValidateStridedSliceOp` does.
    fn plan(
        &self,
        shape: &[TDim],
        begin: &[i64],
        end: &[i64],
        strides: &[i64],
    ) -> TractResult<Vec<Item>> {
        let n = begin.len();
        ensure!(
            end.len() == n && strides.len() == n,
            "StridedSlice: begin/end/strides lengths differ"
        );
        let bit = |mask: i64, i: usize| mask & (1 << i) != 0;
        let mut ellipsis_seen = false;
        let consuming = (0..n)
            .filter(|&i| !bit(self.ellipsis_mask, i) && !bit(self.new_axis_mask, i))
            .count();
        ensure!(
            consuming <= shape.len(),
            "StridedSlice: {n} indices for rank {}",
            shape.len()
        );
        let full = |d: &TDim| AxisSlice {
            start: 0.to_dim(),
            stop: d.clone(),
            stride: 1,
            shrink: false,
        };
        let mut items = Vec::new();
        let mut ax = 0;
        for i in 0..n {
            if bit(self.ellipsis_mask, i) && !ellipsis_seen {
                ellipsis_seen = true;
                for _ in 0..shape.len() - consuming {
                    items.push(Item::Axis(ax, full(&shape[ax])));
                    ax += 1;
                }
            } else if bit(self.new_axis_mask, i) {
                items.push(Item::NewAxis);
            } else {
                let d = &shape[ax];
                let stride = strides[i];
                ensure!(stride != 0, "StridedSlice: stride 0");
                let slice = if bit(self.shrink_axis_mask, i) {
                    // TF: the begin index alone (masks ignored), which must be in range
                    let start = if begin[i] < 0 {
                        d.clone() + begin[i]
                    } else {
                        begin[i].to_dim()
                    };
                    if let (Some(s), Some(dim)) = (start.as_i64(), d.as_i64()) {
                        ensure!(
                            (0..dim).contains(&s),
                            "StridedSlice: index {} out of range for {dim}",
                            begin[i]
                        );
                    }
                    AxisSlice {
                        stop: start.clone() + 1,
                        start,
                        stride: 1,
                        shrink: true,
                    }
                } else if stride > 0 {
                    AxisSlice {
                        start: if bit(self.begin_mask, i) {
                            0.to_dim()
                        } else {
                            clamp(begin[i], d, 0, 0)
                        },
                        stop: if bit(self.end_mask, i) {
                            d.clone()
                        } else {
                            clamp(end[i], d, 0, 0)
                        },
                        stride,
                        shrink: false,
                    }
                } else {
                    // walking down: from at most dim-1, to at least -1 (exclusive)
                    AxisSlice {
                        start: if bit(self.begin_mask, i) {
                            d.clone() - 1
                        } else {
                            clamp(begin[i], d, -1, -1)
                        },
                        stop: if bit(self.end_mask, i) {
                            (-1).to_dim()
                        } else {
                            clamp(end[i], d, -1, -1)
                        },
                        stride,
                        shrink: false,
                    }
                };
                items.push(Item::Axis(ax, slice));
                ax += 1;
            }
        }
        // implicit trailing ellipsis
        while ax < shape.len() {
            items.push(Item::Axis(ax, full(&shape[ax])));
            ax += 1;
        }
        Ok(items)
    }

    fn output_shape(items: &[Item]) -> TVec<TDim> {
        items
            .iter()
            .filter_map(|item| match item {
                Item::NewAxis => Some(1.to_dim()),
                Item::Axis(_, s) if s.shrink => None,
                Item::Axis(_, s) => Some(s.len()),
            })
            .collect()
    }
}

fn spec(
    begin: &Tensor,
    end: &Tensor,
    strides: &Tensor,
) -> TractResult<(Vec<i64>, Vec<i64>, Vec<i64>)> {
    let values =
        |t: &Tensor| ints(t).context("StridedSlice: begin/end/strides must be known integers");
    Ok((values(begin)?, values(end)?, values(strides)?))
}

impl Expansion for StridedSlice {
    fn name(&self) -> StaticName {
        "StridedSlice".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 4)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, &outputs[0].datum_type)?;
        s.given_4(
            &inputs[0].shape,
            &inputs[1].value,
            &inputs[2].value,
            &inputs[3].value,
            move |s, shape, begin, end, strides| {
                let (b, e, st) = spec(&begin, &end, &strides)?;
                let items = self.plan(&shape, &b, &e, &st)?;
                s.equals(&outputs[0].shape, Self::output_shape(&items))
            },
        )
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let op = "StridedSlice";
        let (b, e, st) = spec(
            &*konst(model, inputs[1], op, "begin")?,
            &*konst(model, inputs[2], op, "end")?,
            &*konst(model, inputs[3], op, "strides")?,
        )?;
        let shape = model.outlet_fact(inputs[0])?.shape.to_tvec();
        let items = self.plan(&shape, &b, &e, &st)?;
        let mut wire = inputs[0];
        for item in &items {
            if let Item::Axis(ax, slice) = item {
                wire = slice.wire(prefix, model, *ax, wire)?;
            }
        }
        // drop shrunk axes (from the last), then insert new ones at their output positions
        let shrunk: Vec<usize> = items
            .iter()
            .filter_map(|item| match item {
                Item::Axis(ax, s) if s.shrink => Some(*ax),
                _ => None,
            })
            .collect();
        for &ax in shrunk.iter().rev() {
            wire = model.wire_node(format!("{prefix}.shrink-{ax}"), AxisOp::Rm(ax), &[wire])?[0];
        }
        let mut position = 0;
        for item in &items {
            match item {
                Item::NewAxis => {
                    wire = model.wire_node(
                        format!("{prefix}.new-axis-{position}"),
                        AxisOp::Add(position),
                        &[wire],
                    )?[0];
                    position += 1;
                }
                Item::Axis(_, s) if s.shrink => {}
                Item::Axis(..) => position += 1,
            }
        }
        if wire == inputs[0] {
            // a no-op slice: keep a node under this name
            wire = model.wire_node(prefix, tract_core::ops::identity::Identity, &[wire])?[0];
        }
        Ok(tvec!(wire))
    }
}

/// `Slice(input, begin, size)`: `size[i] == -1` means "to the end".
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Slice;

impl Slice {
    fn plan(shape: &[TDim], begin: &[TDim], size: &[i64]) -> TractResult<Vec<(TDim, TDim)>> {
        ensure!(
            begin.len() == shape.len() && size.len() == shape.len(),
            "Slice: begin/size rank"
        );
        Ok((0..shape.len())
            .map(|i| {
                let stop = if size[i] < 0 {
                    shape[i].clone()
                } else {
                    begin[i].clone() + size[i]
                };
                (begin[i].clone(), stop)
            })
            .collect())
    }
}

impl Expansion for Slice {
    fn name(&self) -> StaticName {
        "Slice".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 3)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, &outputs[0].datum_type)?;
        s.equals(&inputs[0].rank, &outputs[0].rank)?;
        s.given_3(
            &inputs[0].shape,
            &inputs[1].value,
            &inputs[2].value,
            move |s, shape, begin, size| {
                let plan = Self::plan(&shape, &super::support::dims(&begin)?, &ints(&size)?)?;
                let out: TVec<TDim> = plan.into_iter().map(|(a, b)| b - a).collect();
                s.equals(&outputs[0].shape, out)
            },
        )
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let begin = super::support::dims(&*konst(model, inputs[1], "Slice", "begin")?)?;
        let size = ints(&*konst(model, inputs[2], "Slice", "size")?)?;
        let shape = model.outlet_fact(inputs[0])?.shape.to_tvec();
        let mut wire = inputs[0];
        for (ax, (start, stop)) in Self::plan(&shape, &begin, &size)?.into_iter().enumerate() {
            if !(start.as_i64() == Some(0) && stop == shape[ax]) {
                wire = model.wire_node(
                    format!("{prefix}.axis-{ax}"),
                    CoreSlice::new(ax, start, stop),
                    &[wire],
                )?[0];
            }
        }
        if wire == inputs[0] {
            wire = model.wire_node(prefix, tract_core::ops::identity::Identity, &[wire])?[0];
        }
        Ok(tvec!(wire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape_of(op: &StridedSlice, shape: &[i64], b: &[i64], e: &[i64], s: &[i64]) -> Vec<i64> {
        let shape: TVec<TDim> = shape.iter().map(|d| d.to_dim()).collect();
        let items = op.plan(&shape, b, e, s).unwrap();
        StridedSlice::output_shape(&items)
            .iter()
            .map(|d| d.as_i64().unwrap())
            .collect()
    }

    fn masks(begin: i64, end: i64, ellipsis: i64, new_axis: i64, shrink: i64) -> StridedSlice {
        StridedSlice {
            begin_mask: begin,
            end_mask: end,
            ellipsis_mask: ellipsis,
            new_axis_mask: new_axis,
            shrink_axis_mask: shrink,
        }
    }

    #[test]
    fn ellipsis_then_shrink() {
        // x[..., 1] on [2, 4, 5]
        let op = masks(0, 0, 1, 0, 2);
        assert_eq!(
            shape_of(&op, &[2, 4, 5], &[0, 1], &[0, 2], &[1, 1]),
            vec![2, 4]
        );
    }

    #[test]
    fn new_axis_in_the_middle() {
        // x[:, tf.newaxis, 1:] on [2, 4, 5]
        let op = masks(0b001, 0b101, 0, 0b010, 0);
        assert_eq!(
            shape_of(&op, &[2, 4, 5], &[0, 0, 1], &[0, 0, 0], &[1, 1, 1]),
            vec![2, 1, 3, 5]
        );
    }

    #[test]
    fn reversed_with_clamping() {
        // x[:, 3:0:-1] and x[:, 10:-10] on [2, 4]
        let op = masks(1, 1, 0, 0, 0);
        assert_eq!(
            shape_of(&op, &[2, 4], &[0, 3], &[0, 0], &[1, -1]),
            vec![2, 3]
        );
        assert_eq!(
            shape_of(&op, &[2, 4], &[0, 10], &[0, -10], &[1, 1]),
            vec![2, 0]
        );
        assert_eq!(
            shape_of(&op, &[2, 4], &[0, -1], &[0, -10], &[1, -1]),
            vec![2, 4]
        );
    }
}
