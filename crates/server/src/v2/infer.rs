//! An inference call of the Open Inference Protocol, whatever carried it: the model and
//! version resolved, the named input tensors checked against the signature, the model run where
//! [`crate::execution`] puts it, the outputs picked and ordered.
//!
//! The protocol has no signatures. A SavedModel is served through `serving_default` unless the
//! request's `signature_name` parameter names another; an ONNX model's one signature has that
//! name already. Unlike TF Serving's JSON, a V2 input states its datatype, so a datatype the
//! signature does not declare is refused here with a message naming both, instead of failing
//! inside the model.

use std::collections::{BTreeMap, BTreeSet};

use tensorserve_core::signature::DEFAULT_SIGNATURE;
use tensorserve_core::{SignatureDef, Started, Status, Tensor};
use tensorserve_engine::VersionChoice;

use super::datatype;
use crate::execution;
use crate::state::AppState;

/// A decoded inference request.
#[derive(Debug, Default)]
pub struct InferRequest {
    /// The model.
    pub model_name: String,
    /// The version, as text; empty for the latest available.
    pub model_version: String,
    /// The request's id, echoed in the response.
    pub id: String,
    /// The `signature_name` parameter, if given.
    pub signature: Option<String>,
    /// Input tensors by name, in request order.
    pub inputs: Vec<(String, Tensor)>,
    /// The outputs asked for, in order; empty for all of the signature's.
    pub outputs: Vec<String>,
    /// The encoded request's size, which decides where the model runs.
    pub input_bytes: usize,
}

/// An inference answer.
#[derive(Debug)]
pub struct InferResponse {
    /// The model's name.
    pub model_name: String,
    /// The version that answered.
    pub model_version: String,
    /// The request's id.
    pub id: String,
    /// Output tensors by name: in the order asked for, else in name order.
    pub outputs: Vec<(String, Tensor)>,
}

/// The version a V2 path or field names: empty for the latest, otherwise a version number.
pub fn version_choice(version: &str) -> Result<VersionChoice, Status> {
    if version.is_empty() {
        return Ok(VersionChoice::Latest);
    }
    version
        .parse::<i64>()
        .map(VersionChoice::Specific)
        .map_err(|_| {
            Status::invalid_argument(format!(
                "Invalid model version '{version}': versions are numbers"
            ))
        })
}

/// Runs `request`.
pub async fn infer(state: &AppState, request: InferRequest) -> Result<InferResponse, Status> {
    let choice = version_choice(&request.model_version)?;
    let handle = state.manager().lookup(&request.model_name, &choice)?;
    let permit = state.admission().admit(&request.model_name).await?;
    let sig_name = request
        .signature
        .unwrap_or_else(|| DEFAULT_SIGNATURE.to_string());
    let sig = handle.model.signatures().get(&sig_name).ok_or_else(|| {
        Status::failed_precondition(format!("Serving signature key \"{sig_name}\" not found."))
    })?;
    check_inputs(sig, &request.model_name, &request.inputs)?;
    check_outputs(sig, &request.model_name, &request.outputs)?;
    let model = handle.model.clone();
    let inputs: BTreeMap<String, Tensor> = request.inputs.into_iter().collect();
    let asked = request.outputs;
    let bytes = request.input_bytes;
    let outputs = if state.batching() {
        // Queued for a batch thread and awaited, as TF Serving's predict is: no thread is
        // parked on the wait.
        match model.start(&sig_name, inputs, &asked) {
            Started::Queued(queued) => execution::wait_for_queued(permit, queued).await?,
            Started::RunHere(inputs) => {
                let asked = asked.clone();
                execution::run(permit, bytes, false, move || {
                    model.run(&sig_name, inputs, &asked)
                })
                .await?
            }
        }
    } else {
        let asked = asked.clone();
        execution::run(permit, bytes, true, move || {
            model.run(&sig_name, inputs, &asked)
        })
        .await?
    };
    Ok(InferResponse {
        model_name: handle.name,
        model_version: handle.version.to_string(),
        id: request.id,
        outputs: ordered(outputs, asked)?,
    })
}

/// The outputs in the order asked for, or in name order when none were named.
fn ordered(
    mut outputs: BTreeMap<String, Tensor>,
    asked: Vec<String>,
) -> Result<Vec<(String, Tensor)>, Status> {
    if asked.is_empty() {
        return Ok(outputs.into_iter().collect());
    }
    asked
        .into_iter()
        .map(|name| {
            let tensor = outputs.remove(&name).ok_or_else(|| {
                Status::internal(format!("the model did not produce output '{name}'"))
            })?;
            Ok((name, tensor))
        })
        .collect()
}

/// Every signature input given once, nothing else, each with the declared datatype.
fn check_inputs(
    sig: &SignatureDef,
    model: &str,
    inputs: &[(String, Tensor)],
) -> Result<(), Status> {
    let mut seen = BTreeSet::new();
    for (name, tensor) in inputs {
        if !seen.insert(name.as_str()) {
            return Err(Status::invalid_argument(format!(
                "input '{name}' appears more than once"
            )));
        }
        let Some(info) = sig.inputs.get(name) else {
            return Err(Status::invalid_argument(format!(
                "unexpected inference input '{name}' for model '{model}'; its inputs are {}",
                names(sig.inputs.keys())
            )));
        };
        if tensor.dtype() != info.dtype {
            return Err(Status::invalid_argument(format!(
                "inference input '{name}' data-type is '{}', but model '{model}' expects '{}'",
                datatype::name(tensor.dtype()),
                datatype::name(info.dtype)
            )));
        }
    }
    let missing: Vec<&String> = sig
        .inputs
        .keys()
        .filter(|name| !seen.contains(name.as_str()))
        .collect();
    if !missing.is_empty() {
        return Err(Status::invalid_argument(format!(
            "expected {} inputs but got {}; missing {}",
            sig.inputs.len(),
            inputs.len(),
            names(missing)
        )));
    }
    Ok(())
}

/// Outputs asked for exist and are asked for once.
fn check_outputs(sig: &SignatureDef, model: &str, outputs: &[String]) -> Result<(), Status> {
    let mut seen = BTreeSet::new();
    for name in outputs {
        if !sig.outputs.contains_key(name) {
            return Err(Status::invalid_argument(format!(
                "unexpected inference output '{name}' for model '{model}'; its outputs are {}",
                names(sig.outputs.keys())
            )));
        }
        if !seen.insert(name) {
            return Err(Status::invalid_argument(format!(
                "output '{name}' is asked for more than once"
            )));
        }
    }
    Ok(())
}

/// `'a', 'b'`.
fn names<'a>(items: impl IntoIterator<Item = &'a String>) -> String {
    items
        .into_iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ")
}
