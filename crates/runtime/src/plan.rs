//! Execution plans for one signature: a symbolic-batch plan built at load, plus plans for
//! concrete input shapes built on demand and cached (bounded).
//!
//! TF Serving never validates request shapes against the signature (reference §1.6), and some
//! graphs cannot be optimised with a symbolic dimension (runtime-notes §1.5.4), so a request whose
//! shapes the symbolic plan cannot take gets a plan for its exact shapes instead.
//!
//! Shapes the symbolic plan can take also get their own plan while the model is small: tract
//! picks better kernels for concrete shapes (lazy im2col for a single image, no per-call
//! re-derivation of convolution and pooling geometry), which for a small CNN is most of the time
//! of an inference (docs/performance.md). Each such plan holds its own packed copy of the
//! weights, so how many are kept is bounded by [`CONCRETE_WEIGHT_BUDGET`] bytes; a model whose
//! weights exceed it runs the symbolic plan, where per-call costs are a small share anyway.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tensorserve_core::{DType, Status, TensorData};
use tract_hir::internal::*;

use crate::convert::{datum_type, from_tract, to_tract};
use crate::scalar_chain::ScalarChain;
use crate::state_pool::PooledPlan;

/// Most concrete-shape plans kept per signature; beyond it the cache is cleared, so a client
/// cycling through shapes costs compile time, never unbounded memory.
const MAX_SHAPE_PLANS: usize = 32;

/// Bytes of weights that concrete plans for shapes the symbolic plan could also run may hold
/// in total (each plan packs its own copy): 32 plans of a 1 MiB model, none of a 40 MiB one.
pub const CONCRETE_WEIGHT_BUDGET: usize = 32 << 20;

type Plan = Arc<TypedSimplePlan>;

/// Which dims of each input the symbolic plan fixes (`None`: any size).
type ShapePattern = Vec<Vec<Option<usize>>>;

/// Declared type and shape of one graph input (`-1` for unknown dims, `None` for unknown rank).
#[derive(Debug, Clone)]
pub struct InputDecl {
    /// Element type.
    pub dtype: DType,
    /// Declared shape.
    pub shape: Option<Vec<i64>>,
}

/// The plans of one signature.
pub struct SignaturePlan {
    /// The translated graph, kept to build concrete plans; dropped once the symbolic plan is
    /// built for a model over the weight budget, so a big model holds its weights once in the
    /// graph plan rather than twice (the memory goal of issue 2, `bench/memory_check.sh`).
    model: Option<InferenceModel>,
    inputs: Vec<InputDecl>,
    /// Plans are kept with their idle run states ([`PooledPlan`]).
    symbolic: Option<(Arc<PooledPlan>, ShapePattern)>,
    /// Keyed by [`shape_key`] of the input shapes.
    by_shape: Mutex<HashMap<Vec<usize>, Arc<PooledPlan>>>,
    /// How many concrete plans may be built for shapes the symbolic plan also takes.
    concrete_for_symbolic: usize,
}

/// Types, declutters and optimises `model`, with our convolutions and max pool in place of
/// tract's ([`crate::ops::conv`], then [`crate::ops::conv_per_image`] for the wide ones over a
/// batch, [`crate::ops::maxpool`]) between the two steps: after
/// decluttering, so ONNX's explicit padding has been resolved, layouts are final, weights and
/// biases are constants folded into the convolution, and a Relu follows its convolution
/// directly (which lets ours fuse it); before codegen, which would lower tract's ops.
fn optimize(model: InferenceModel) -> TractResult<TypedModel> {
    let mut typed = model.into_typed()?.into_decluttered()?;
    crate::ops::conv::swap_convolutions(&mut typed)?;
    crate::ops::conv_per_image::swap_batched_convolutions(&mut typed)?;
    crate::ops::maxpool::swap_max_pools(&mut typed)?;
    crate::ops::scalar_binary::swap_scalar_binaries(&mut typed)?;
    typed.optimize()?;
    Ok(typed)
}

/// Bytes held by the graph's constants (the weights).
fn weight_bytes(model: &InferenceModel) -> usize {
    model
        .nodes()
        .iter()
        .filter_map(|n| n.op_as::<tract_core::ops::konst::Const>())
        .map(|k| k.val().len() * k.val().datum_type().size_of())
        .sum()
}

impl SignaturePlan {
    /// Prepares `model` (inputs and outputs already set, in `inputs` order). Builds the
    /// symbolic plan when every input has a known rank; if that fails, concrete plans will do.
    pub fn new(model: InferenceModel, inputs: Vec<InputDecl>) -> Result<SignaturePlan, String> {
        let concrete_for_symbolic =
            (CONCRETE_WEIGHT_BUDGET / weight_bytes(&model).max(1)).min(MAX_SHAPE_PLANS);
        let mut plan = SignaturePlan {
            model: Some(model),
            inputs,
            symbolic: None,
            by_shape: Mutex::new(HashMap::new()),
            concrete_for_symbolic,
        };
        if plan.inputs.iter().all(|i| i.shape.is_some()) {
            match plan.build_symbolic() {
                Ok((symbolic, pattern)) => {
                    plan.symbolic = Some((Arc::new(PooledPlan::new(symbolic)), pattern));
                }
                Err(e) => tracing::debug!("no symbolic plan, using per-shape plans: {e:#}"),
            }
        }
        if plan.symbolic.is_some() && plan.concrete_for_symbolic == 0 {
            // Requests of other shapes get a clear error instead of a second copy of the weights.
            plan.model = None;
        }
        Ok(plan)
    }

    /// Checks that the graph can be typed at all, by building the plan for a sample shape when
    /// there is no symbolic plan. Catches unsupported constructs at load rather than at request.
    pub fn check(&self) -> Result<(), String> {
        if self.symbolic.is_some() {
            return Ok(());
        }
        let sample: Vec<Vec<usize>> = self
            .inputs
            .iter()
            .map(|i| {
                i.shape.as_ref().map(|s| {
                    s.iter()
                        .map(|&d| if d < 0 { 1 } else { d as usize })
                        .collect()
                })
            })
            .collect::<Option<_>>()
            .unwrap_or_default();
        if sample.len() != self.inputs.len() {
            return Ok(()); // unknown ranks: nothing to try until a request shows its shapes
        }
        self.build_concrete(&sample)
            .map(|_| ())
            .map_err(|e| format!("{e:#}"))
    }

    fn build_symbolic(&self) -> TractResult<(Plan, Vec<Vec<Option<usize>>>)> {
        let mut model = self.model.clone().context("graph already dropped")?;
        let batch = model.symbols.sym("N");
        let mut pattern = Vec::new();
        for (ix, input) in self.inputs.iter().enumerate() {
            let dims = input.shape.as_ref().expect("checked by caller");
            let mut shape: TVec<TDim> = tvec!();
            let mut pat = Vec::new();
            for (d, &size) in dims.iter().enumerate() {
                if size >= 0 {
                    shape.push(TDim::from(size as usize));
                    pat.push(Some(size as usize));
                } else if d == 0 {
                    shape.push(batch.clone().into());
                    pat.push(None);
                } else {
                    shape.push(model.symbols.sym(&format!("d{ix}_{d}")).into());
                    pat.push(None);
                }
            }
            pattern.push(pat);
            let dt = datum_type(input.dtype).expect("every dtype maps");
            model.set_input_fact(ix, InferenceFact::dt_shape(dt, shape))?;
        }
        let typed = optimize(model)?;
        Ok((TypedSimplePlan::new(typed)?, pattern))
    }

    fn build_concrete(&self, shapes: &[Vec<usize>]) -> TractResult<Plan> {
        let Some(mut model) = self.model.clone() else {
            bail!(
                "the model's weights are over the {} MiB budget for extra plans, so only the \
                 signature's declared shapes can run",
                CONCRETE_WEIGHT_BUDGET >> 20
            );
        };
        for (ix, (input, shape)) in self.inputs.iter().zip(shapes).enumerate() {
            let dt = datum_type(input.dtype).expect("every dtype maps");
            model.set_input_fact(ix, InferenceFact::dt_shape(dt, shape.clone()))?;
        }
        let typed = optimize(model)?;
        TypedSimplePlan::new(typed)
    }

    /// The plan built at load for a symbolic batch, if the graph allowed one (for diagnostics:
    /// `examples/profile_plan.rs`).
    pub fn symbolic_plan(&self) -> Option<Plan> {
        self.symbolic.as_ref().map(|(plan, _)| plan.plan().clone())
    }

    /// The plan for inputs of these shapes.
    pub fn plan_for(&self, shapes: &[Vec<usize>]) -> Result<Plan, Status> {
        self.pooled_plan_for(shapes)
            .map(|pooled| pooled.plan().clone())
    }

    /// The plan for inputs of these shapes, with its idle run states.
    fn pooled_plan_for<S: AsRef<[usize]> + std::fmt::Debug>(
        &self,
        shapes: &[S],
    ) -> Result<Arc<PooledPlan>, Status> {
        let symbolic = self.symbolic.as_ref().and_then(|(plan, pattern)| {
            let fits = pattern.len() == shapes.len()
                && pattern.iter().zip(shapes).all(|(pat, shape)| {
                    let shape = shape.as_ref();
                    pat.len() == shape.len()
                        && pat
                            .iter()
                            .zip(shape)
                            .all(|(p, s)| p.is_none_or(|p| p == *s))
                });
            fits.then_some(plan)
        });
        if let Some(plan) = symbolic
            && self.concrete_for_symbolic == 0
        {
            return Ok(plan.clone());
        }
        let key = shape_key(shapes);
        {
            let cache = self.by_shape.lock().expect("plan cache lock");
            if let Some(plan) = cache.get(&key[..]) {
                return Ok(plan.clone());
            }
            if let Some(plan) = symbolic
                && cache.len() >= self.concrete_for_symbolic
            {
                return Ok(plan.clone());
            }
        }
        let owned: Vec<Vec<usize>> = shapes.iter().map(|s| s.as_ref().to_vec()).collect();
        let plan = match self.build_concrete(&owned) {
            Ok(plan) => Arc::new(PooledPlan::new(plan)),
            // The symbolic plan already runs these shapes: keep using it.
            Err(e) if symbolic.is_some() => {
                tracing::debug!("no plan for shapes {shapes:?}, using the symbolic one: {e:#}");
                return Ok(symbolic.expect("checked").clone());
            }
            Err(e) => {
                return Err(Status::invalid_argument(format!(
                    "cannot run the model on input shapes {shapes:?}: {e:#}"
                )));
            }
        };
        let mut cache = self.by_shape.lock().expect("plan cache lock");
        if cache.len() >= MAX_SHAPE_PLANS {
            // Only shapes the symbolic plan cannot run get here with a full cache.
            cache.clear();
        }
        cache.insert(key.to_vec(), plan.clone());
        Ok(plan)
    }

    /// Runs the plan for these inputs (in plan input order) and returns the outputs named
    /// `output_names` (in plan output order), keeping only those in `output_filter` when it is
    /// not empty.
    pub fn run(
        &self,
        feeds: Vec<tensorserve_core::Tensor>,
        output_names: &[String],
        output_filter: &[String],
    ) -> Result<std::collections::BTreeMap<String, tensorserve_core::Tensor>, Status> {
        let plan = {
            let shapes: TVec<&[usize]> = feeds.iter().map(|t| t.shape()).collect();
            self.pooled_plan_for(&shapes)?
        };
        let feeds = match (plan.scalar_chain(), output_names) {
            (Some(chain), [name]) => match run_chain(chain, feeds) {
                Ok(output) => {
                    let mut outputs = std::collections::BTreeMap::new();
                    if output_filter.is_empty() || output_filter.contains(name) {
                        outputs.insert(name.clone(), output);
                    }
                    return Ok(outputs);
                }
                Err(feeds) => feeds,
            },
            _ => feeds,
        };
        let values = feeds
            .into_iter()
            .map(|t| to_tract(t).map(TValue::from))
            .collect::<Result<TVec<_>, _>>()?;
        let results = plan
            .run(values)
            .map_err(|e| Status::invalid_argument(format!("{e:#}")))?;
        let mut outputs = std::collections::BTreeMap::new();
        for (name, value) in output_names.iter().zip(results.iter()) {
            if output_filter.is_empty() || output_filter.contains(name) {
                outputs.insert(name.clone(), from_tract(value)?);
            }
        }
        Ok(outputs)
    }
}

/// The plan cache's key for input shapes: each shape's rank, then its dims (the number of
/// inputs is fixed per signature, so this is unambiguous). Kept inline for a few small shapes,
/// so a request whose plan is cached allocates nothing to find it.
fn shape_key<S: AsRef<[usize]>>(shapes: &[S]) -> TVec<usize> {
    let mut key = TVec::new();
    for shape in shapes {
        let shape = shape.as_ref();
        key.push(shape.len());
        key.extend_from_slice(shape);
    }
    key
}

/// Runs `chain` on the one f32 feed in place, or gives the feeds back for tract's run when
/// they are anything else (tract then answers, or fails, as it would have).
fn run_chain(
    chain: &ScalarChain,
    mut feeds: Vec<tensorserve_core::Tensor>,
) -> Result<tensorserve_core::Tensor, Vec<tensorserve_core::Tensor>> {
    if feeds.len() != 1 || feeds[0].dtype() != DType::F32 {
        return Err(feeds);
    }
    let (shape, data) = feeds.pop().expect("one feed").into_parts();
    let TensorData::F32(mut values) = data else {
        unreachable!("dtype checked above");
    };
    chain.apply(&mut values);
    Ok(
        tensorserve_core::Tensor::new(shape, TensorData::F32(values))
            .expect("same shape and length as the feed"),
    )
}

#[cfg(test)]
mod tests {
    use super::shape_key;

    #[test]
    fn shape_keys_tell_apart_how_dims_split_between_inputs() {
        let a = shape_key(&[vec![1, 2], vec![3]]);
        let b = shape_key(&[vec![1], vec![2, 3]]);
        let c = shape_key(&[vec![1, 2, 3], vec![]]);
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_ne!(b, c);
        assert_eq!(a, shape_key(&[&[1usize, 2][..], &[3][..]]));
        // A rank-1 request fits inline: no allocation to look its plan up.
        assert!(!shape_key(&[[3usize]]).spilled());
    }
}
