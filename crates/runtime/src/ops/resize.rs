//! `ResizeBilinear` and `ResizeNearestNeighbor` (NHWC), with TensorFlow's coordinate rules.
//!
//! tract's resize follows ONNX's coordinate modes, which do not line up with TF's flags (TF's
//! nearest neighbour with `half_pixel_centers` floors `(i + 0.5) · scale` without the -0.5;
//! `align_corners` rounds half away from zero). Since the output size is a constant and the
//! input's spatial size is known, each axis is resized separately by gathering precomputed
//! source rows (and, for bilinear, blending two of them with precomputed weights), computed
//! in f32 exactly as TF's kernels do. The batch stays symbolic.

use tract_core::ops::math;
use tract_hir::internal::*;
use tract_tensorflow::model::{ParsingContext, TfOpRegister};
use tract_tensorflow::tfpb::tensorflow::NodeDef;

use super::support::{binary, ints, konst};

pub fn register(reg: &mut TfOpRegister) {
    reg.insert("ResizeBilinear", |ctx, node| resize(ctx, node, true));
    reg.insert("ResizeNearestNeighbor", |ctx, node| {
        resize(ctx, node, false)
    });
}

fn resize(_: &ParsingContext, node: &NodeDef, bilinear: bool) -> TractResult<Box<dyn InferenceOp>> {
    let flag =
        |name: &str| -> TractResult<bool> { Ok(node.get_attr_opt_bool(name)?.unwrap_or(false)) };
    let (align_corners, half_pixel_centers) = (flag("align_corners")?, flag("half_pixel_centers")?);
    if align_corners && half_pixel_centers {
        bail!(
            "{}: align_corners and half_pixel_centers cannot both be set",
            node.name
        );
    }
    Ok(expand(Resize {
        bilinear,
        align_corners,
        half_pixel_centers,
    }))
}

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Resize {
    bilinear: bool,
    align_corners: bool,
    half_pixel_centers: bool,
}

/// Source positions along one axis: for each output index, the rows to read and (bilinear) the
/// weight of the second one.
struct AxisPlan {
    low: Vec<i64>,
    high: Vec<i64>,
    weight: Vec<f32>,
}

impl Resize {
    fn scale(&self, input: usize, output: usize) -> f32 {
        if self.align_corners && output > 1 {
            (input - 1) as f32 / (output - 1) as f32
        } else {
            input as f32 / output as f32
        }
    }

    fn plan(&self, input: usize, output: usize) -> AxisPlan {
        let scale = self.scale(input, output);
        let last = input as i64 - 1;
        let mut plan = AxisPlan {
            low: vec![],
            high: vec![],
            weight: vec![],
        };
        for i in 0..output {
            if self.bilinear {
                let x = if self.half_pixel_centers {
                    (i as f32 + 0.5) * scale - 0.5
                } else {
                    i as f32 * scale
                };
                let floor = x.floor();
                plan.low.push((floor as i64).max(0));
                plan.high.push((x.ceil() as i64).min(last));
                plan.weight.push(x - floor);
            } else {
                let x = if self.half_pixel_centers {
                    (i as f32 + 0.5) * scale
                } else {
                    i as f32 * scale
                };
                // f32::round rounds half away from zero, like C's roundf
                let x = if self.align_corners {
                    x.round()
                } else {
                    x.floor()
                } as i64;
                plan.low.push(x.clamp(0, last));
            }
        }
        plan
    }
}

impl Expansion for Resize {
    fn name(&self) -> StaticName {
        if self.bilinear {
            "ResizeBilinear"
        } else {
            "ResizeNearestNeighbor"
        }
        .into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 2)?;
        check_output_arity(outputs, 1)?;
        if self.bilinear {
            s.equals(&outputs[0].datum_type, f32::datum_type())?;
        } else {
            s.equals(&outputs[0].datum_type, &inputs[0].datum_type)?;
        }
        s.equals(&inputs[0].rank, 4)?;
        s.equals(&outputs[0].rank, 4)?;
        s.equals(&inputs[0].shape[0], &outputs[0].shape[0])?;
        s.equals(&inputs[0].shape[3], &outputs[0].shape[3])?;
        s.given(&inputs[1].value, move |s, size| {
            let size = ints(&size)?;
            ensure!(
                size.len() == 2 && size.iter().all(|&s| s > 0),
                "resize: size must be 2 positive values, got {size:?}"
            );
            s.equals(&outputs[0].shape[1], size[0].to_dim())?;
            s.equals(&outputs[0].shape[2], size[1].to_dim())
        })
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let size = ints(&*konst(model, inputs[1], &self.name(), "size")?)?;
        ensure!(
            size.len() == 2 && size.iter().all(|&s| s > 0),
            "resize: size must be 2 positive values, got {size:?}"
        );
        let mut wire = inputs[0];
        if self.bilinear && model.outlet_fact(wire)?.datum_type != f32::datum_type() {
            wire = model.wire_node(
                format!("{prefix}.cast"),
                tract_core::ops::cast::cast(f32::datum_type()),
                &[wire],
            )?[0];
        }
        for (ax, &out) in [1usize, 2].iter().zip(&size) {
            let input = model.outlet_fact(wire)?.shape[*ax]
                .to_usize()
                .ok()
                .filter(|&d| d > 0)
                .with_context(|| format!("{}: the spatial size must be known", self.name()))?;
            let plan = self.plan(input, out as usize);
            let gather =
                |model: &mut TypedModel, rows: &[i64], what: &str| -> TractResult<OutletId> {
                    let rows = model.add_const(format!("{prefix}.{what}-{ax}"), tensor1(rows))?;
                    Ok(tract_hir::ops::array::Gather::new(*ax as i64).wire(
                        &format!("{prefix}.gather-{what}-{ax}"),
                        model,
                        &[wire, rows],
                    )?[0])
                };
            let low = gather(model, &plan.low, "low")?;
            if !self.bilinear {
                wire = low;
                continue;
            }
            // low + (high - low) * weight, as TF computes it; weights laid along `ax`
            let high = gather(model, &plan.high, "high")?;
            let mut shape = vec![out as usize];
            shape.extend(std::iter::repeat_n(1, 3 - ax));
            let weight = tensor1(&plan.weight).into_shape(&shape)?;
            let weight = model.add_const(format!("{prefix}.weight-{ax}"), weight)?;
            let delta = binary(
                model,
                &format!("{prefix}.delta-{ax}"),
                math::sub(),
                high,
                low,
            )?;
            let delta = binary(
                model,
                &format!("{prefix}.scaled-{ax}"),
                math::mul(),
                delta,
                weight,
            )?;
            wire = binary(
                model,
                &format!("{prefix}.lerp-{ax}"),
                math::add(),
                low,
                delta,
            )?;
        }
        Ok(tvec!(wire))
    }
}
