//! Helpers shared by the op builders: reading attributes, normalising TensorFlow's negative axes,
//! and fetching the constant inputs that most TF ops need to be known when the graph is wired
//! (axes, shapes, paddings, sizes).

use tract_hir::internal::*;
use tract_tensorflow::tfpb::tensorflow::NodeDef;

/// `axis` (possibly negative, Python style) as a position among `rank` axes.
pub fn axis(axis: i64, rank: usize, op: &str) -> TractResult<usize> {
    let resolved = if axis < 0 { axis + rank as i64 } else { axis };
    if resolved < 0 || resolved >= rank as i64 {
        bail!("{op}: axis {axis} is out of range for rank {rank}");
    }
    Ok(resolved as usize)
}

/// The constant value of a wire at wiring time. TF graphs compute axes, shapes and paddings with
/// small constant subgraphs (often from `Shape`, so the values may hold the symbolic batch);
/// tract has folded them by now, and anything still unknown is data-dependent, which tract
/// cannot plan.
pub fn konst(
    model: &TypedModel,
    outlet: OutletId,
    op: &str,
    what: &str,
) -> TractResult<Arc<Tensor>> {
    model
        .outlet_fact(outlet)?
        .konst
        .clone()
        .with_context(|| format!("{op}: the {what} must be a constant"))
}

/// The elements of an integer (or concrete TDim) tensor as `i64`.
pub fn ints(t: &Tensor) -> TractResult<Vec<i64>> {
    Ok(t.cast_to::<i64>()?
        .try_as_plain_ram()?
        .as_slice::<i64>()?
        .to_vec())
}

/// The elements of an integer or TDim tensor as dimensions (keeping symbols).
pub fn dims(t: &Tensor) -> TractResult<TVec<TDim>> {
    Ok(t.cast_to::<TDim>()?
        .try_as_plain_ram()?
        .as_slice::<TDim>()?
        .iter()
        .cloned()
        .collect())
}

/// A string attribute, if present.
pub fn attr_str(node: &NodeDef, name: &str) -> TractResult<Option<String>> {
    node.get_attr_opt_str(name)
}

/// The `data_format` attribute: whether the channels come last (NHWC, TF's default).
pub fn channels_last(node: &NodeDef) -> TractResult<bool> {
    Ok(match attr_str(node, "data_format")?.as_deref() {
        None | Some("NHWC") | Some("NDHWC") | Some("NWC") => true,
        Some("NCHW") | Some("NCDHW") | Some("NCW") => false,
        Some(other) => bail!(
            "{} ({}): unsupported data_format {other}",
            node.name,
            node.op
        ),
    })
}

/// Adds leading unit axes until `wire` has rank `rank` (numpy-style broadcasting alignment).
pub fn to_rank(
    model: &mut TypedModel,
    prefix: &str,
    mut wire: OutletId,
    rank: usize,
) -> TractResult<OutletId> {
    while model.outlet_fact(wire)?.rank() < rank {
        let name = model.unique_name(format!("{prefix}.add_axis"));
        wire = model.wire_node(name, AxisOp::Add(0), &[wire])?[0];
    }
    Ok(wire)
}

/// Wires a binary op with numpy broadcasting, both operands cast to `a`'s type.
pub fn binary(
    model: &mut TypedModel,
    name: &str,
    op: tract_core::ops::binary::TypedBinOp,
    a: OutletId,
    b: OutletId,
) -> TractResult<OutletId> {
    let dt = model.outlet_fact(a)?.datum_type;
    let b = tract_core::ops::cast::wire_cast(name, model, &[b], dt)?[0];
    let rank = model
        .outlet_fact(a)?
        .rank()
        .max(model.outlet_fact(b)?.rank());
    let a = to_rank(model, name, a, rank)?;
    let b = to_rank(model, name, b, rank)?;
    let name = model.unique_name(name);
    Ok(model.wire_node(name, op, &[a, b])?[0])
}

/// A scalar constant of type `dt`.
pub fn scalar(
    model: &mut TypedModel,
    name: &str,
    value: f64,
    dt: DatumType,
) -> TractResult<OutletId> {
    let t = tensor0(value).cast_to_dt(dt)?.into_owned();
    let name = model.unique_name(name);
    model.add_const(name, t)
}
