//! Convolutions, batch norm and top-k.
//!
//! - `Conv2D`: tract-tensorflow's builder ignores `dilations` (silently wrong for dilated convs),
//!   rejects `padding=EXPLICIT` and reads NCHW strides at the NHWC positions.
//! - `Conv2DBackpropInput` (`tf.nn.conv2d_transpose`, Keras `Conv2DTranspose`): tract's
//!   deconvolution with TF's padding rule (SAME pads as the forward conv of the requested output
//!   size would) and the output size taken from the `input_sizes` operand.
//! - `FusedBatchNorm` V1/V2/V3 in inference mode, any data format.
//! - `TopKV2`: tract's top-k along the last axis, indices cast to TF's int32.

use tract_core::ops::cnn::{KernelFormat, PaddingSpec, PoolSpec};
use tract_core::ops::math;
use tract_hir::internal::*;
use tract_hir::ops::cnn::Conv;
use tract_hir::ops::nn::DataFormat;
use tract_tensorflow::model::{ParsingContext, TfOpRegister};
use tract_tensorflow::tfpb::tensorflow::NodeDef;

use super::support::{binary, channels_last, dims, konst, scalar};

pub fn register(reg: &mut TfOpRegister) {
    reg.insert("Conv2D", conv2d);
    reg.insert("Conv2DBackpropInput", conv2d_backprop_input);
    reg.insert("FusedBatchNorm", fused_batch_norm);
    reg.insert("FusedBatchNormV2", fused_batch_norm);
    reg.insert("FusedBatchNormV3", fused_batch_norm);
    reg.insert("TopKV2", top_k);
}

/// Strides, dilations and padding of a 2-D convolution node, in (h, w) order.
struct Geometry {
    data_format: DataFormat,
    strides: TVec<usize>,
    dilations: TVec<usize>,
    padding: Padding,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
enum Padding {
    Valid,
    Same,
    Explicit(TVec<usize>, TVec<usize>),
}

impl Geometry {
    fn of(node: &NodeDef) -> TractResult<Geometry> {
        let nhwc = channels_last(node)?;
        let hw = |attr: &str| -> TractResult<TVec<usize>> {
            let v: Vec<usize> = node
                .get_attr_opt_list_int(attr)?
                .unwrap_or_else(|| vec![1; 4]);
            ensure!(
                v.len() == 4,
                "{}: {attr} must have 4 values, got {v:?}",
                node.name
            );
            Ok(if nhwc {
                tvec!(v[1], v[2])
            } else {
                tvec!(v[2], v[3])
            })
        };
        let padding = match node.get_attr_raw_str("padding")? {
            b"VALID" => Padding::Valid,
            b"SAME" => Padding::Same,
            b"EXPLICIT" => {
                let p: Vec<usize> = node.get_attr_list_int("explicit_paddings")?;
                ensure!(p.len() == 8, "{}: explicit_paddings {p:?}", node.name);
                // pairs (before, after) per axis, in data_format order
                let (h, w) = if nhwc { (2, 4) } else { (4, 6) };
                Padding::Explicit(tvec!(p[h], p[w]), tvec!(p[h + 1], p[w + 1]))
            }
            other => bail!(
                "{}: unsupported padding {}",
                node.name,
                String::from_utf8_lossy(other)
            ),
        };
        Ok(Geometry {
            data_format: if nhwc {
                DataFormat::NHWC
            } else {
                DataFormat::NCHW
            },
            strides: hw("strides")?,
            dilations: hw("dilations")?,
            padding,
        })
    }
}

fn conv2d(_: &ParsingContext, node: &NodeDef) -> TractResult<Box<dyn InferenceOp>> {
    let g = Geometry::of(node)?;
    let padding = match g.padding {
        Padding::Valid => PaddingSpec::Valid,
        // TF puts the odd padding cell after: SAME_UPPER in ONNX/tract terms.
        Padding::Same => PaddingSpec::SameUpper,
        Padding::Explicit(before, after) => PaddingSpec::Explicit(before, after),
    };
    let mut conv = Conv::default()
        .hwio()
        .padding(padding)
        .strides(g.strides)
        .dilations(g.dilations);
    if g.data_format == DataFormat::NHWC {
        conv = conv.nhwc();
    }
    Ok(expand(conv))
}

fn conv2d_backprop_input(_: &ParsingContext, node: &NodeDef) -> TractResult<Box<dyn InferenceOp>> {
    let g = Geometry::of(node)?;
    Ok(expand(Conv2DBackpropInput {
        data_format: g.data_format,
        strides: g.strides,
        dilations: g.dilations,
        padding: g.padding,
    }))
}

/// `Conv2DBackpropInput(input_sizes, filter [kh, kw, in_c, out_c], out_backprop)`: the
/// transposed convolution whose output has shape `input_sizes`.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Conv2DBackpropInput {
    data_format: DataFormat,
    strides: TVec<usize>,
    dilations: TVec<usize>,
    padding: Padding,
}

impl Expansion for Conv2DBackpropInput {
    fn name(&self) -> StaticName {
        "Conv2DBackpropInput".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 3)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[2].datum_type, &outputs[0].datum_type)?;
        s.equals(&inputs[1].datum_type, &outputs[0].datum_type)?;
        s.equals(&outputs[0].rank, 4)?;
        s.given(&inputs[0].value, move |s, sizes| {
            s.equals(&outputs[0].shape, dims(&sizes)?)
        })
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let name = "Conv2DBackpropInput";
        let sizes = dims(&*konst(model, inputs[0], name, "input_sizes")?)?;
        let kernel = model
            .outlet_fact(inputs[1])?
            .shape
            .as_concrete()
            .map(|s| s.to_vec());
        let kernel = kernel.context("Conv2DBackpropInput: the filter shape must be known")?;
        let x = model.outlet_fact(inputs[2])?.shape.to_tvec();
        let x = self.data_format.shape(x)?;
        let y = self.data_format.shape(sizes)?;
        let concrete = |d: &[TDim]| -> TractResult<TVec<usize>> {
            d.iter()
                .map(|d| {
                    d.to_usize()
                        .context("Conv2DBackpropInput: spatial sizes must be known")
                })
                .collect()
        };
        let (x_hw, y_hw) = (concrete(x.hw_dims())?, concrete(y.hw_dims())?);
        let mut before = tvec!();
        let mut after = tvec!();
        for ax in 0..2 {
            let k = (kernel[ax] - 1) * self.dilations[ax] + 1;
            let (b, a) = match &self.padding {
                Padding::Valid => (0, 0),
                Padding::Explicit(b, a) => (b[ax], a[ax]),
                // the padding a SAME forward conv of the output would use
                Padding::Same => {
                    let total = ((x_hw[ax] - 1) * self.strides[ax] + k).saturating_sub(y_hw[ax]);
                    (total / 2, total - total / 2)
                }
            };
            before.push(b);
            after.push(a);
        }
        let pool_spec = PoolSpec {
            data_format: self.data_format,
            kernel_shape: kernel[..2].into(),
            padding: PaddingSpec::Explicit(before.clone(), after.clone()),
            dilations: Some(self.dilations.clone()),
            strides: Some(self.strides.clone()),
            input_channels: kernel[3],
            output_channels: kernel[2],
        };
        // the extra output rows past what the transposed conv covers (tract's helper does
        // this in usize and panics on a size no forward conv could have produced)
        let adjustments = (0..2)
            .map(|ax| {
                let covered = (x_hw[ax] as i64 - 1) * self.strides[ax] as i64
                    + (kernel[ax] as i64 - 1) * self.dilations[ax] as i64
                    + 1
                    - before[ax] as i64
                    - after[ax] as i64;
                let adj = y_hw[ax] as i64 - covered;
                ensure!(
                    (0..self.strides[ax] as i64).contains(&adj),
                    "Conv2DBackpropInput: output size {y_hw:?} does not match the input {x_hw:?}"
                );
                Ok(adj as usize)
            })
            .collect::<TractResult<TVec<usize>>>()?;
        let dt = model.outlet_fact(inputs[2])?.datum_type;
        let bias = model.add_const(format!("{prefix}.bias"), Tensor::zero_scalar_dt(dt)?)?;
        // TF's filter is the forward conv's [kh, kw, in, out]: the deconvolution reads `out`
        // channels and writes `in` ones, so swap the last two axes to get tract's HWIO.
        let filter = model.wire_node(
            format!("{prefix}.filter"),
            AxisOp::Move(3, 2),
            &inputs[1..2],
        )?;
        model.wire_node(
            prefix,
            tract_core::ops::cnn::Deconv::new(pool_spec, KernelFormat::HWIO, adjustments, 1),
            &[inputs[2], filter[0], bias],
        )
    }
}

fn fused_batch_norm(_: &ParsingContext, node: &NodeDef) -> TractResult<Box<dyn InferenceOp>> {
    if node.get_attr_opt_bool("is_training")?.unwrap_or(true) {
        bail!(
            "{}: FusedBatchNorm in training mode is not supported",
            node.name
        );
    }
    Ok(expand(FusedBatchNorm {
        epsilon: node.get_attr_opt_float("epsilon")?.unwrap_or(1e-4),
        channels_last: channels_last(node)?,
        outputs: if node.op == "FusedBatchNormV3" { 6 } else { 5 },
    }))
}

/// `y = (x - mean) · scale / √(variance + ε) + offset`, per channel. The other outputs
/// (batch statistics, reserve space) are the running mean and variance in inference mode.
#[derive(Debug, Clone)]
struct FusedBatchNorm {
    epsilon: f32,
    channels_last: bool,
    outputs: usize,
}

impl Expansion for FusedBatchNorm {
    fn name(&self) -> StaticName {
        "FusedBatchNorm".into()
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(self.outputs)
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 5)?;
        check_output_arity(outputs, self.outputs)?;
        s.equals(&inputs[0].datum_type, &outputs[0].datum_type)?;
        s.equals(&inputs[0].shape, &outputs[0].shape)?;
        for (ix, output) in outputs.iter().enumerate().skip(1) {
            let source = if ix % 2 == 1 { 3 } else { 4 };
            s.equals(&output.datum_type, &inputs[source].datum_type)?;
            s.equals(&output.shape, &inputs[source].shape)?;
        }
        Ok(())
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let rank = model.outlet_fact(inputs[0])?.rank();
        // per-channel vectors [C] -> [C, 1, 1] for NCHW; [C] already broadcasts for NHWC
        let channel =
            |model: &mut TypedModel, wire: OutletId, what: &str| -> TractResult<OutletId> {
                let mut wire = wire;
                if !self.channels_last {
                    for axis in 1..rank - 1 {
                        wire = model.wire_node(
                            format!("{prefix}.{what}-axis-{axis}"),
                            AxisOp::Add(axis),
                            &[wire],
                        )?[0];
                    }
                }
                Ok(wire)
            };
        let dt = model.outlet_fact(inputs[3])?.datum_type;
        let eps = scalar(model, &format!("{prefix}.epsilon"), self.epsilon as f64, dt)?;
        let var = binary(
            model,
            &format!("{prefix}.var_eps"),
            math::add(),
            inputs[4],
            eps,
        )?;
        let inv = model.wire_node(format!("{prefix}.rsqrt"), math::rsqrt(), &[var])?[0];
        let slope = binary(
            model,
            &format!("{prefix}.slope"),
            math::mul(),
            inputs[1],
            inv,
        )?;
        let shift = binary(
            model,
            &format!("{prefix}.mean_slope"),
            math::mul(),
            inputs[3],
            slope,
        )?;
        let intercept = binary(
            model,
            &format!("{prefix}.intercept"),
            math::sub(),
            inputs[2],
            shift,
        )?;
        let slope = channel(model, slope, "slope")?;
        let intercept = channel(model, intercept, "intercept")?;
        let y = binary(
            model,
            &format!("{prefix}.scale"),
            math::mul(),
            inputs[0],
            slope,
        )?;
        let y = binary(model, prefix, math::add(), y, intercept)?;
        let mut outputs = tvec!(y);
        for ix in 1..self.outputs {
            outputs.push(if ix % 2 == 1 { inputs[3] } else { inputs[4] });
        }
        Ok(outputs)
    }
}

fn top_k(_: &ParsingContext, node: &NodeDef) -> TractResult<Box<dyn InferenceOp>> {
    let index_type = node
        .get_attr_opt_datum_type("index_type")?
        .unwrap_or(i32::datum_type());
    Ok(expand(TopK { index_type }))
}

/// `TopKV2(input, k)` along the last axis, largest first (also when `sorted=false`, whose
/// order TF leaves unspecified).
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct TopK {
    index_type: DatumType,
}

impl Expansion for TopK {
    fn name(&self) -> StaticName {
        "TopKV2".into()
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(2)
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 2)?;
        check_output_arity(outputs, 2)?;
        s.equals(&inputs[0].datum_type, &outputs[0].datum_type)?;
        s.equals(&outputs[1].datum_type, self.index_type)?;
        s.equals(&inputs[1].rank, 0)?;
        s.given_2(&inputs[0].shape, &inputs[1].value, move |s, shape, k| {
            let mut shape = shape.clone();
            let last = shape.len().checked_sub(1).context("TopKV2 on a scalar")?;
            shape[last] = k.cast_to_scalar::<i64>()?.to_dim();
            s.equals(&outputs[0].shape, shape.clone())?;
            s.equals(&outputs[1].shape, shape)
        })
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let rank = model.outlet_fact(inputs[0])?.rank();
        let fallback_k = model.symbols.new_with_prefix("k").into();
        let k = tract_core::ops::cast::wire_cast(prefix, model, &[inputs[1]], i64::datum_type())?;
        let topk = tract_core::ops::array::Topk {
            axis: rank - 1,
            largest: true,
            fallback_k,
        };
        let outputs = model.wire_node(format!("{prefix}.topk"), topk, &[inputs[0], k[0]])?;
        let indices = model.wire_node(
            format!("{prefix}.indices"),
            tract_core::ops::cast::cast(self.index_type),
            &[outputs[1]],
        )?[0];
        Ok(tvec!(outputs[0], indices))
    }
}
