//! `Split` and `SplitV`: equal parts, or parts of given sizes (one may be -1), along an axis
//! that may be negative; dimensions stay `TDim` so the symbolic batch still plans.

use super::support::{axis, ints, konst};
use tract_core::ops::array::Slice as CoreSlice;
use tract_hir::internal::*;
use tract_tensorflow::model::{ParsingContext, TfOpRegister};
use tract_tensorflow::tfpb::tensorflow::NodeDef;

pub fn register(reg: &mut TfOpRegister) {
    reg.insert("Split", split);
    reg.insert("SplitV", split_v);
}

fn split(_: &ParsingContext, node: &NodeDef) -> TractResult<Box<dyn InferenceOp>> {
    Ok(expand(Split {
        num: node.get_attr_int("num_split")?,
        sizes: false,
    }))
}

fn split_v(_: &ParsingContext, node: &NodeDef) -> TractResult<Box<dyn InferenceOp>> {
    Ok(expand(Split {
        num: node.get_attr_int("num_split")?,
        sizes: true,
    }))
}

/// `Split(axis, value)` into `num` equal parts, or `SplitV(value, size_splits, axis)` with
/// explicit sizes (one may be -1: the rest).
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Split {
    num: usize,
    sizes: bool,
}

impl Split {
    /// (value, axis) input positions.
    fn slots(&self) -> (usize, usize) {
        if self.sizes { (0, 2) } else { (1, 0) }
    }

    fn bounds(&self, dim: &TDim, sizes: Option<&[i64]>) -> TractResult<Vec<(TDim, TDim)>> {
        let lens: Vec<TDim> = match sizes {
            None => {
                if let Some(d) = dim.as_i64() {
                    ensure!(
                        d % self.num as i64 == 0,
                        "Split: {d} is not divisible by {}",
                        self.num
                    );
                }
                vec![dim.clone() / self.num; self.num]
            }
            Some(sizes) => {
                ensure!(
                    sizes.len() == self.num,
                    "SplitV: {} sizes for {} outputs",
                    sizes.len(),
                    self.num
                );
                let known: i64 = sizes.iter().filter(|&&s| s >= 0).sum();
                sizes
                    .iter()
                    .map(|&s| {
                        if s < 0 {
                            dim.clone() - known
                        } else {
                            s.to_dim()
                        }
                    })
                    .collect()
            }
        };
        let mut start = 0.to_dim();
        Ok(lens
            .into_iter()
            .map(|len| {
                let stop = start.clone() + len;
                let bounds = (start.clone(), stop.clone());
                start = stop;
                bounds
            })
            .collect())
    }
}

impl Expansion for Split {
    fn name(&self) -> StaticName {
        if self.sizes { "SplitV" } else { "Split" }.into()
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(self.num)
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, if self.sizes { 3 } else { 2 })?;
        check_output_arity(outputs, self.num)?;
        let (value, _) = self.slots();
        for output in outputs {
            s.equals(&inputs[value].datum_type, &output.datum_type)?;
        }
        let rule = move |s: &mut Solver<'r>,
                         shape: TVec<TDim>,
                         ax: Arc<Tensor>,
                         sizes: Option<Arc<Tensor>>| {
            let ax = axis(ax.cast_to_scalar::<i64>()?, shape.len(), "Split")?;
            let sizes = sizes.map(|t| ints(&t)).transpose()?;
            for (output, (start, stop)) in outputs
                .iter()
                .zip(self.bounds(&shape[ax], sizes.as_deref())?)
            {
                let mut out = shape.clone();
                out[ax] = stop - start;
                s.equals(&output.shape, out)?;
            }
            Ok(())
        };
        if self.sizes {
            s.given_3(
                &inputs[0].shape,
                &inputs[2].value,
                &inputs[1].value,
                move |s, shape, ax, sizes| rule(s, shape, ax, Some(sizes)),
            )
        } else {
            s.given_2(&inputs[1].shape, &inputs[0].value, move |s, shape, ax| {
                rule(s, shape, ax, None)
            })
        }
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let (value, ax) = self.slots();
        let shape = model.outlet_fact(inputs[value])?.shape.to_tvec();
        let ax = konst(model, inputs[ax], "Split", "axis")?.cast_to_scalar::<i64>()?;
        let ax = axis(ax, shape.len(), "Split")?;
        let sizes = if self.sizes {
            Some(ints(&*konst(model, inputs[1], "SplitV", "size_splits")?)?)
        } else {
            None
        };
        self.bounds(&shape[ax], sizes.as_deref())?
            .into_iter()
            .enumerate()
            .map(|(i, (start, stop))| {
                Ok(model.wire_node(
                    format!("{prefix}.{i}"),
                    CoreSlice::new(ax, start, stop),
                    &[inputs[value]],
                )?[0])
            })
            .collect()
    }
}
