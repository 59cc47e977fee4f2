//! `Pad`, `PadV2` and `MirrorPad`.
//!
//! tract-tensorflow's `Pad` insists on TDim paddings (a graph's int32/int64 constant fails to
//! type) and cannot be converted to a typed op; `PadV2` and `MirrorPad` are missing. Constant
//! padding maps onto tract-core's `Pad`. Mirror padding is a gather along each padded axis with
//! precomputed indices, which covers both TF modes (`REFLECT` excludes the edge element,
//! `SYMMETRIC` repeats it; tract has only the former) and keeps the batch axis symbolic.

use tract_core::ops::array::{Pad as CorePad, PadMode};
use tract_hir::internal::*;
use tract_tensorflow::model::{ParsingContext, TfOpRegister};
use tract_tensorflow::tfpb::tensorflow::NodeDef;

use super::support::{attr_str, ints, konst};

pub fn register(reg: &mut TfOpRegister) {
    reg.insert("Pad", |_, _| {
        Ok(expand(Pad {
            mode: Mode::Constant,
        }))
    });
    reg.insert("PadV2", |_, _| {
        Ok(expand(Pad {
            mode: Mode::Constant,
        }))
    });
    reg.insert("MirrorPad", mirror_pad);
}

fn mirror_pad(_: &ParsingContext, node: &NodeDef) -> TractResult<Box<dyn InferenceOp>> {
    let mode = match attr_str(node, "mode")?.as_deref() {
        Some("REFLECT") => Mode::Reflect,
        Some("SYMMETRIC") => Mode::Symmetric,
        other => bail!("{}: unsupported MirrorPad mode {other:?}", node.name),
    };
    Ok(expand(Pad { mode }))
}

#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
enum Mode {
    Constant,
    Reflect,
    Symmetric,
}

/// `Pad(input, paddings [rank, 2])`, `PadV2(input, paddings, constant_value)`,
/// `MirrorPad(input, paddings)`.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Pad {
    mode: Mode,
}

fn pads(paddings: &Tensor, rank: usize) -> TractResult<Vec<(usize, usize)>> {
    let v = ints(paddings)?;
    ensure!(
        v.len() == 2 * rank,
        "Pad: paddings {:?} for rank {rank}",
        paddings.shape()
    );
    v.chunks(2)
        .map(|p| {
            ensure!(p[0] >= 0 && p[1] >= 0, "Pad: negative padding {p:?}");
            Ok((p[0] as usize, p[1] as usize))
        })
        .collect()
}

/// Source index of each output position along an axis of length `n` mirrored by
/// (`before`, `after`).
fn mirror_indices(n: usize, before: usize, after: usize, mode: Mode) -> TractResult<Vec<i64>> {
    let n = n as i64;
    // REFLECT skips the edge element, so it can mirror at most n - 1; SYMMETRIC at most n
    let edge = if mode == Mode::Reflect { 1 } else { 0 };
    ensure!(
        before as i64 <= n - edge && after as i64 <= n - edge,
        "MirrorPad: padding ({before}, {after}) too large for a dimension of {n}"
    );
    Ok((-(before as i64)..n + after as i64)
        .map(|i| {
            if i < 0 {
                -i - 1 + edge
            } else if i >= n {
                2 * n - i - 1 - edge
            } else {
                i
            }
        })
        .collect())
}

impl Expansion for Pad {
    fn name(&self) -> StaticName {
        match self.mode {
            Mode::Constant => "Pad",
            _ => "MirrorPad",
        }
        .into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, &outputs[0].datum_type)?;
        s.equals(&inputs[0].rank, &outputs[0].rank)?;
        s.given_2(
            &inputs[0].shape,
            &inputs[1].value,
            move |s, shape, paddings| {
                let pads = pads(&paddings, shape.len())?;
                let out: TVec<TDim> = shape
                    .iter()
                    .zip(pads)
                    .map(|(d, (b, a))| d.clone() + b + a)
                    .collect();
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
        let fact = model.outlet_fact(inputs[0])?.clone();
        let pads = pads(&*konst(model, inputs[1], "Pad", "paddings")?, fact.rank())?;
        if self.mode == Mode::Constant {
            let value = match inputs.get(2) {
                Some(&v) => konst(model, v, "PadV2", "constant_values")?
                    .cast_to_dt(fact.datum_type)?
                    .into_owned(),
                None => Tensor::zero_scalar_dt(fact.datum_type)?,
            };
            let op = CorePad::new(pads, PadMode::Constant(value.into_arc_tensor()));
            return model.wire_node(prefix, op, &inputs[..1]);
        }
        let mut wire = inputs[0];
        for (ax, &(before, after)) in pads.iter().enumerate() {
            if before == 0 && after == 0 {
                continue;
            }
            let n = fact.shape[ax]
                .to_usize()
                .context("MirrorPad: a mirrored dimension must be known")?;
            let indices = tensor1(&mirror_indices(n, before, after, self.mode)?);
            let indices = model.add_const(format!("{prefix}.indices-{ax}"), indices)?;
            wire = tract_hir::ops::array::Gather::new(ax as i64).wire(
                &format!("{prefix}.gather-{ax}"),
                model,
                &[wire, indices],
            )?[0];
        }
        Ok(tvec!(wire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_modes() {
        // [a b c] padded (2, 2)
        assert_eq!(
            mirror_indices(3, 2, 2, Mode::Reflect).unwrap(),
            vec![2, 1, 0, 1, 2, 1, 0]
        );
        assert_eq!(
            mirror_indices(3, 2, 2, Mode::Symmetric).unwrap(),
            vec![1, 0, 0, 1, 2, 2, 1]
        );
        assert!(mirror_indices(3, 3, 0, Mode::Reflect).is_err());
        assert!(mirror_indices(3, 3, 0, Mode::Symmetric).is_ok());
    }
}
