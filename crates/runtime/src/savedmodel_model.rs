//! [`SavedModelModel`]: a SavedModel version whose signatures run on tract.
//!
//! Each runnable signature is frozen by `tensorserve-savedmodel`, checked against the op
//! registry (every unsupported op reported at once), parsed by tract and planned at load.
//! Signatures whose frozen graphs are the same (Keras' `serve` and `serving_default`) share one
//! runner, so the weights are held once (see [`crate::fingerprint`]).

use std::collections::HashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use tensorserve_core::signature::INIT_OP_SIGNATURE;
use tensorserve_core::{Model, ModelFormat, SignatureDef, Status, Tensor};
use tensorserve_savedmodel::example_spec::ParseExampleSpec;
use tensorserve_savedmodel::{FrozenSignature, InputSource, SavedModelDir, freeze_signature};
use tract_hir::internal::*;

use crate::fingerprint::fingerprint;
use crate::ops;
use crate::plan::{InputDecl, SignaturePlan};

/// A loaded SavedModel.
pub struct SavedModelModel {
    signatures: BTreeMap<String, SignatureDef>,
    runners: BTreeMap<String, Arc<SignatureRunner>>,
}

struct SignatureRunner {
    plan: SignaturePlan,
    /// What feeds each graph input, in plan input order.
    feeds: Vec<InputSource>,
    /// Output aliases in plan output order.
    outputs: Vec<String>,
    parse_examples: Vec<ParseExampleSpec>,
}

impl SavedModelModel {
    /// Loads the SavedModel in `dir` with the MetaGraph tagged `tags`.
    pub fn load(dir: &Path, tags: &[&str]) -> Result<SavedModelModel, Status> {
        // Decoded once for all signatures, freed when the load is over.
        let _op_defs = tensorserve_savedmodel::opdefs::registry();
        let saved =
            SavedModelDir::open(dir, tags).map_err(|e| Status::invalid_argument(e.to_string()))?;
        let tf = ops::tensorflow();
        let mut runners = BTreeMap::new();
        let mut by_fingerprint = HashMap::new();
        let mut unsupported: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut errors = Vec::new();
        for name in saved.signatures.keys() {
            if name == INIT_OP_SIGNATURE {
                continue;
            }
            let frozen = match freeze_signature(&saved, name) {
                Ok(f) => f,
                Err(e) => {
                    errors.push(format!("signature {name}: {e}"));
                    continue;
                }
            };
            let missing: Vec<_> = frozen
                .graph
                .node
                .iter()
                .filter(|n| !ops::is_supported(&tf.op_register, &n.op))
                .collect();
            if !missing.is_empty() {
                for node in missing {
                    unsupported
                        .entry(node.op.clone())
                        .or_default()
                        .insert(format!("{name}: {}", node.name));
                }
                continue;
            }
            let print = fingerprint(&frozen);
            if let Some(runner) = by_fingerprint.get(&print) {
                runners.insert(name.clone(), Arc::clone(runner));
                continue;
            }
            match build_runner(&tf, frozen) {
                Ok(runner) => {
                    let runner = Arc::new(runner);
                    by_fingerprint.insert(print, Arc::clone(&runner));
                    runners.insert(name.clone(), runner);
                }
                Err(e) => errors.push(format!("signature {name}: {e}")),
            }
        }
        if !unsupported.is_empty() {
            let list: Vec<String> = unsupported
                .iter()
                .map(|(op, uses)| {
                    let uses: Vec<&str> = uses.iter().map(String::as_str).take(3).collect();
                    format!("{op} (used by {})", uses.join(", "))
                })
                .collect();
            errors.insert(
                0,
                format!("unsupported TensorFlow ops: {}", list.join("; ")),
            );
        }
        if !errors.is_empty() {
            return Err(Status::invalid_argument(format!(
                "cannot load SavedModel {}: {}",
                dir.display(),
                errors.join(" | ")
            )));
        }
        Ok(SavedModelModel {
            signatures: saved.signatures,
            runners,
        })
    }

    /// The plans of signature `name` (for diagnostics: `examples/profile_plan.rs`).
    pub fn signature_plan(&self, name: &str) -> Option<&SignaturePlan> {
        self.runners.get(name).map(|r| &r.plan)
    }
}

fn build_runner(
    tf: &tract_tensorflow::Tensorflow,
    frozen: FrozenSignature,
) -> Result<SignatureRunner, String> {
    let parsed = tf
        .parse_graph(&frozen.graph)
        .map_err(|e| format!("{e:#}"))?;
    let mut model = parsed.0;
    let outlet = |model: &InferenceModel, node: &str, port: usize| -> Result<OutletId, String> {
        model
            .node_id_by_name(node)
            .map(|id| OutletId::new(id, port))
            .map_err(|e| format!("{e:#}"))
    };
    let inputs = frozen
        .inputs
        .iter()
        .map(|i| outlet(&model, &i.placeholder, 0))
        .collect::<Result<Vec<_>, _>>()?;
    let outputs = frozen
        .outputs
        .iter()
        .map(|(_, node, port)| outlet(&model, node, *port))
        .collect::<Result<Vec<_>, _>>()?;
    model
        .set_input_outlets(&inputs)
        .map_err(|e| format!("{e:#}"))?;
    model
        .select_output_outlets(&outputs)
        .map_err(|e| format!("{e:#}"))?;
    let decls = frozen
        .inputs
        .iter()
        .map(|i| InputDecl {
            dtype: i.dtype,
            shape: i.shape.clone(),
        })
        .collect();
    let plan = SignaturePlan::new(model, decls)?;
    plan.check()?;
    Ok(SignatureRunner {
        plan,
        feeds: frozen.inputs.into_iter().map(|i| i.source).collect(),
        outputs: frozen
            .outputs
            .into_iter()
            .map(|(alias, _, _)| alias)
            .collect(),
        parse_examples: frozen.parse_examples,
    })
}

impl Model for SavedModelModel {
    fn signatures(&self) -> &BTreeMap<String, SignatureDef> {
        &self.signatures
    }

    fn format(&self) -> ModelFormat {
        ModelFormat::SavedModel
    }

    fn run(
        &self,
        signature: &str,
        mut inputs: BTreeMap<String, Tensor>,
        output_filter: &[String],
    ) -> Result<BTreeMap<String, Tensor>, Status> {
        let runner = self.runners.get(signature).ok_or_else(|| {
            Status::invalid_argument(format!(
                "Serving signature name: \"{signature}\" not found in signature def"
            ))
        })?;
        let sig = &self.signatures[signature];
        for alias in sig.inputs.keys() {
            if !inputs.contains_key(alias) {
                return Err(Status::invalid_argument(format!(
                    "input '{alias}' is missing"
                )));
            }
        }
        for alias in output_filter {
            if !sig.outputs.contains_key(alias) {
                return Err(Status::invalid_argument(format!(
                    "output tensor alias not found in signature: {alias} Outputs expected to be in the set {{{}}}.",
                    sig.outputs.keys().cloned().collect::<Vec<_>>().join(",")
                )));
            }
        }
        let parsed = runner
            .parse_examples
            .iter()
            .map(|spec| spec.run(&inputs[&spec.input_alias]))
            .collect::<Result<Vec<_>, _>>()?;
        let mut feeds = Vec::new();
        for source in &runner.feeds {
            let tensor = match source {
                InputSource::Alias(alias) => inputs.remove(alias).ok_or_else(|| {
                    Status::invalid_argument(format!(
                        "input '{alias}' feeds the graph twice, which is not supported"
                    ))
                })?,
                InputSource::ParsedFeature { spec, dense } => parsed[*spec][*dense].clone(),
            };
            feeds.push(tensor);
        }
        for (alias, tensor) in feeds
            .iter()
            .zip(&runner.feeds)
            .filter_map(|(t, s)| match s {
                InputSource::Alias(a) => Some((a, t)),
                _ => None,
            })
        {
            let want = sig.inputs[alias].dtype;
            if tensor.dtype() != want {
                return Err(Status::invalid_argument(format!(
                    "Expects arg[{alias}] to be {} but {} is provided",
                    want,
                    tensor.dtype()
                )));
            }
        }
        runner.plan.run(feeds, &runner.outputs, output_filter)
    }
}
