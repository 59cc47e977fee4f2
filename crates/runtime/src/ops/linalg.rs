//! Matrix products and bias: `BatchMatMul*`, `Einsum`, `BiasAdd`.
//!
//! `BatchMatMulV2` reuses tract's numpy-style matmul (broadcast batch dims; TF's `adj_x/adj_y`
//! are plain transposes for real types). `Einsum` parses TF's equation into tract's einsum,
//! resolving `...` itself (tract's parser asserts there is none). tract maps `BiasAdd` to a
//! broadcasting `Add`, which is wrong for `data_format=NCHW`, where the bias runs along axis 1.

use tract_hir::internal::*;
use tract_hir::ops::matmul::MatMulInference;
use tract_tensorflow::model::{ParsingContext, TfOpRegister};
use tract_tensorflow::tfpb::tensorflow::NodeDef;

use super::support::{binary, channels_last};

pub fn register(reg: &mut TfOpRegister) {
    reg.insert("BatchMatMul", batch_mat_mul);
    reg.insert("BatchMatMulV2", batch_mat_mul);
    reg.insert("BatchMatMulV3", batch_mat_mul);
    reg.insert("Einsum", einsum);
    reg.insert("BiasAdd", bias_add);
}

fn batch_mat_mul(_: &ParsingContext, node: &NodeDef) -> TractResult<Box<dyn InferenceOp>> {
    let adj_x = node.get_attr_opt_bool("adj_x")?.unwrap_or(false);
    let adj_y = node.get_attr_opt_bool("adj_y")?.unwrap_or(false);
    if let (Some(a), Some(b)) = (
        node.get_attr_opt_datum_type("Ta")?,
        node.get_attr_opt_datum_type("Tb")?,
    ) && a != b
    {
        bail!(
            "{}: BatchMatMulV3 with mixed types {a:?} x {b:?} is not supported",
            node.name
        );
    }
    Ok(expand(
        MatMulInference::default()
            .with_a_trans(adj_x)
            .with_b_trans(adj_y),
    ))
}

fn bias_add(_: &ParsingContext, node: &NodeDef) -> TractResult<Box<dyn InferenceOp>> {
    Ok(expand(BiasAdd {
        channels_last: channels_last(node)?,
    }))
}

/// `value + bias`, the bias along the channel axis: last for NHWC, 1 for NCHW.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct BiasAdd {
    channels_last: bool,
}

impl Expansion for BiasAdd {
    fn name(&self) -> StaticName {
        "BiasAdd".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 2)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, &outputs[0].datum_type)?;
        s.equals(&inputs[1].datum_type, &outputs[0].datum_type)?;
        s.equals(&inputs[0].shape, &outputs[0].shape)?;
        s.equals(&inputs[1].rank, 1)?;
        s.given(&inputs[0].rank, move |s, rank| {
            let c = if self.channels_last || rank < 3 {
                rank - 1
            } else {
                1
            };
            s.equals(&inputs[1].shape[0], &inputs[0].shape[c as usize])
        })
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let rank = model.outlet_fact(inputs[0])?.rank();
        let mut bias = inputs[1];
        if !self.channels_last && rank >= 3 {
            // [C] -> [C, 1, ..., 1] so it broadcasts against [N, C, spatial...]
            for axis in 1..rank - 1 {
                bias = model.wire_node(
                    format!("{prefix}.bias-axis-{axis}"),
                    AxisOp::Add(axis),
                    &[bias],
                )?[0];
            }
        }
        Ok(tvec!(binary(
            model,
            prefix,
            tract_core::ops::math::add(),
            inputs[0],
            bias
        )?))
    }
}

fn einsum(_: &ParsingContext, node: &NodeDef) -> TractResult<Box<dyn InferenceOp>> {
    let equation = node.get_attr_str("equation")?.replace(' ', "");
    let inputs = node.input.iter().filter(|i| !i.starts_with('^')).count();
    let (lhs, rhs) = match equation.split_once("->") {
        Some((l, r)) => (l.to_string(), Some(r.to_string())),
        None => (equation.clone(), None),
    };
    let terms: Vec<String> = lhs.split(',').map(str::to_string).collect();
    if terms.len() != inputs {
        bail!(
            "{}: equation {equation} has {} operands, the node {inputs}",
            node.name,
            terms.len()
        );
    }
    Ok(expand(Einsum { terms, output: rhs }))
}

/// TF `Einsum`. `output` is `None` for the implicit form (`"ij,jk"`), which sums the letters
/// that appear twice and keeps the others in alphabetical order.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Einsum {
    terms: Vec<String>,
    output: Option<String>,
}

impl Einsum {
    /// The mapping for inputs of these ranks, with each `...` replaced by fresh letters
    /// (right-aligned, numpy broadcasting style).
    fn mapping(&self, ranks: &[usize]) -> TractResult<AxesMapping> {
        let used: Vec<char> = self.terms.iter().flat_map(|t| t.chars()).collect();
        let fresh: Vec<char> = ('A'..='Z')
            .chain('a'..='z')
            .filter(|c| !used.contains(c))
            .collect();
        let mut widest = 0;
        let mut inputs = Vec::new();
        for (term, &rank) in self.terms.iter().zip(ranks) {
            if let Some((before, after)) = term.split_once("...") {
                let explicit = before.len() + after.len();
                let n = rank
                    .checked_sub(explicit)
                    .with_context(|| format!("Einsum term {term} for rank {rank}"))?;
                widest = widest.max(n);
                inputs.push((before.to_string(), n, after.to_string()));
            } else {
                ensure!(term.len() == rank, "Einsum term {term} for rank {rank}");
                inputs.push((term.clone(), 0, String::new()));
            }
        }
        let ellipsis = |n: usize| -> String { fresh[widest - n..widest].iter().collect() };
        let inputs: Vec<String> = inputs
            .iter()
            .map(|(b, n, a)| format!("{b}{}{a}", ellipsis(*n)))
            .collect();
        let output = match &self.output {
            Some(out) => out.replace("...", &ellipsis(widest)),
            None => {
                let mut once: Vec<char> = used
                    .iter()
                    .filter(|c| c.is_alphabetic() && used.iter().filter(|d| d == c).count() == 1)
                    .copied()
                    .collect();
                once.sort();
                format!("{}{}", ellipsis(widest), once.iter().collect::<String>())
            }
        };
        // from_strs, not parse(): parse() reads "ij->" (a scalar result) as the implicit form.
        AxesMapping::from_strs(&inputs, &[output])
    }
}

impl Expansion for Einsum {
    fn name(&self) -> StaticName {
        "Einsum".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, self.terms.len())?;
        check_output_arity(outputs, 1)?;
        for input in inputs {
            s.equals(&input.datum_type, &outputs[0].datum_type)?;
        }
        s.given_all(inputs.iter().map(|i| &i.shape), move |s, shapes| {
            let ranks: Vec<usize> = shapes.iter().map(|s| s.len()).collect();
            let mapping = self.mapping(&ranks)?;
            let mut out: TVec<TDim> = tvec!(1.to_dim(); mapping.rank(InOut::Out(0)));
            for axis in mapping.iter_all_axes() {
                let Some(&pos) = axis.outputs[0].first() else {
                    continue;
                };
                // the largest of the sizes the inputs give (size 1 broadcasts)
                for (ix, positions) in axis.inputs.iter().enumerate() {
                    for &p in positions {
                        if !shapes[ix][p].is_one() {
                            out[pos] = shapes[ix][p].clone();
                        }
                    }
                }
            }
            s.equals(&outputs[0].shape, out)
        })
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let ranks = inputs
            .iter()
            .map(|&i| Ok(model.outlet_fact(i)?.rank()))
            .collect::<TractResult<Vec<_>>>()?;
        let axes = self.mapping(&ranks)?;
        let operating_dt = model.outlet_fact(inputs[0])?.datum_type;
        model.wire_node(
            prefix,
            tract_core::ops::einsum::EinSum {
                axes,
                operating_dt,
                q_params: None,
            },
            inputs,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(terms: &[&str], output: Option<&str>, ranks: &[usize]) -> String {
        Einsum {
            terms: terms.iter().map(|t| t.to_string()).collect(),
            output: output.map(str::to_string),
        }
        .mapping(ranks)
        .unwrap()
        .to_string()
    }

    #[test]
    fn ellipsis_is_right_aligned() {
        assert_eq!(
            mapping(&["...ij", "...jk"], Some("...ik"), &[4, 3]),
            "ABij,Bjk->ABik"
        );
    }

    #[test]
    fn implicit_output_keeps_single_letters_sorted() {
        assert_eq!(mapping(&["ij", "jk"], None, &[2, 2]), "ij,jk->ik");
    }

    #[test]
    fn explicit_scalar_output() {
        assert_eq!(mapping(&["ij"], Some(""), &[2]), "ij->");
    }
}
