//! gRPC Predict: TF Serving's checks (`PreProcessPrediction`), tensor conversion, and where the
//! run happens ([`crate::execution`]: inline for fast models, the blocking pool otherwise, an
//! awaited batch for batched models).

use std::collections::{BTreeMap, BTreeSet};

use prost::Message;
use tensorserve_core::signature::{CLASSIFY_METHOD, PREDICT_METHOD, REGRESS_METHOD};
use tensorserve_core::{SignatureDef, Started, Status, Tensor};
use tensorserve_proto::predict_wire::{Inputs, PredictOutputs, PredictRequestEntries};
use tensorserve_proto::tensor::{TensorEncoding, tensor_from_proto_owned};
use tensorserve_proto::tensorflow::serving::ModelSpec;
use tensorserve_proto::tensorflow::serving::model_spec::VersionChoice as ProtoChoice;

use super::{SharedModel, resolve_spec_owned};
use crate::admission::Permit;
use crate::execution;
use crate::state::AppState;

/// `{a,b}` as TF Serving prints alias sets.
pub(super) fn set_text<'a>(items: impl IntoIterator<Item = &'a String>) -> String {
    let items: Vec<&str> = items.into_iter().map(String::as_str).collect();
    format!("{{{}}}", items.join(","))
}

/// Predict's input and output checks (`PreProcessPrediction`).
fn check_predict(
    sig: &SignatureDef,
    inputs: &Inputs,
    output_filter: &[String],
) -> Result<(), Status> {
    if inputs.len() != sig.inputs.len() {
        let sent: BTreeSet<&String> = inputs.iter().map(|(alias, _)| alias).collect();
        let want: BTreeSet<&String> = sig.inputs.keys().collect();
        return Err(Status::invalid_argument(format!(
            "input size does not match signature: {}!={} len({}) != len({}). Sent extra: {}. Missing but required: {}.",
            inputs.len(),
            sig.inputs.len(),
            set_text(sent.iter().copied()),
            set_text(want.iter().copied()),
            set_text(sent.difference(&want).copied()),
            set_text(want.difference(&sent).copied()),
        )));
    }
    for (alias, _) in inputs {
        if !sig.inputs.contains_key(alias) {
            return Err(Status::invalid_argument(format!(
                "input tensor alias not found in signature: {alias}. Inputs expected to be in the set {}.",
                set_text(sig.inputs.keys())
            )));
        }
    }
    let mut seen = BTreeSet::new();
    for alias in output_filter {
        if !sig.outputs.contains_key(alias) {
            return Err(Status::invalid_argument(format!(
                "output tensor alias not found in signature: {alias} Outputs expected to be in the set {}.",
                set_text(sig.outputs.keys())
            )));
        }
        if !seen.insert(alias) {
            return Err(Status::invalid_argument(format!(
                "duplicate output tensor alias: {alias}"
            )));
        }
    }
    Ok(())
}

/// Predict's checks, then the request's input tensors by alias.
fn predict_inputs(
    model: &SharedModel,
    sig_name: &str,
    inputs: Inputs,
    output_filter: &[String],
    check_methods: bool,
) -> Result<BTreeMap<String, Tensor>, Status> {
    let sig = model.signatures().get(sig_name).ok_or_else(|| {
        Status::failed_precondition(format!("Serving signature key \"{sig_name}\" not found."))
    })?;
    if check_methods
        && ![PREDICT_METHOD, CLASSIFY_METHOD, REGRESS_METHOD].contains(&sig.method_name.as_str())
    {
        return Err(Status::internal(format!(
            "Expected prediction signature method_name to be one of {{{PREDICT_METHOD}, {CLASSIFY_METHOD}, {REGRESS_METHOD}}}. Was: {}",
            sig.method_name
        )));
    }
    check_predict(sig, &inputs, output_filter)?;
    let mut tensors = BTreeMap::new();
    for (alias, proto) in inputs {
        let tensor = tensor_from_proto_owned(*proto).map_err(|e| {
            Status::new(
                e.code(),
                format!("tensor parsing error: {alias}: {}", e.message()),
            )
        })?;
        tensors.insert(alias, tensor);
    }
    Ok(tensors)
}

/// The outputs as the response will write them, in alias order (the map's); the model spec
/// is set by [`response`].
fn predict_outputs(outputs: BTreeMap<String, Tensor>, encoding: TensorEncoding) -> PredictOutputs {
    PredictOutputs::new(outputs, encoding, None)
}

/// Predict (`predict_util.cc`): resolve, admit, check and convert the inputs, run, convert the
/// outputs.
///
/// The request's model name and signature strings are moved into the response rather than
/// copied (the signature goes into the run and comes back with its outputs).
pub(super) async fn predict(
    state: &AppState,
    encoding: TensorEncoding,
    mut request: PredictRequestEntries,
) -> Result<PredictOutputs, Status> {
    let (name, choice, sig) = resolve_spec_owned(request.model_spec.take())?;
    let handle = state.manager().lookup(&name, &choice)?;
    let permit = state.admission().admit(&name).await?;
    let sig = if sig.is_empty() {
        tensorserve_core::signature::DEFAULT_SIGNATURE.to_string()
    } else {
        sig
    };
    let check = state.config().method_name_check;
    let model = handle.model;
    let size = request.inputs.iter().map(Message::encoded_len).sum();
    let PredictRequestEntries {
        inputs,
        output_filter,
        ..
    } = request;
    let inputs = PredictRequestEntries::into_inputs(inputs);
    let (outputs, sig) = if state.batching() {
        // Boxed: its future is several times the size of the rest of this one, and every
        // unbatched call would otherwise carry (and copy) that space.
        let outputs = Box::pin(predict_batched(
            model,
            sig.clone(),
            inputs,
            output_filter,
            check,
            encoding,
            permit,
            size,
        ))
        .await?;
        (outputs, sig)
    } else {
        spread_if_heavy(&permit).await;
        execution::run(permit, size, true, move || {
            run_unbatched(&model, sig, inputs, &output_filter, check, encoding)
        })
        .await?
    };
    Ok(response(name, sig, handle.version, outputs))
}

/// [`predict`] when it can finish without waiting: the model served without batching, measured
/// fast, the input small, not heavy enough to be spread, and a slot free now. Then it runs here
/// and now, with no future at all (a unary call's future, boxed and moved between the
/// connection and its task, costs more than the fast model's run; see docs/http2.md).
/// Otherwise the request comes back untouched (`Err`) for [`predict`].
#[allow(clippy::result_large_err)] // as `fast_predict::answer_now`, whose `Err` this is
pub(super) fn predict_now(
    state: &AppState,
    encoding: TensorEncoding,
    mut request: PredictRequestEntries,
) -> Result<Result<PredictOutputs, Status>, PredictRequestEntries> {
    if state.batching() {
        return Err(request);
    }
    // Failures here are left to `predict`, which reports them the same way. The spec is only
    // borrowed: its strings move into the response once the call is taken.
    let Ok(spec) = super::check_spec(request.model_spec.as_ref()) else {
        return Err(request);
    };
    let Ok(handle) = state
        .manager()
        .lookup(&spec.name, &super::version_choice(spec))
    else {
        return Err(request);
    };
    let gate = state.admission().gate(&spec.name);
    let size = request.inputs.iter().map(Message::encoded_len).sum();
    if !execution::runs_inline(gate.work_cost(), size) || is_heavy(gate.work_cost()) {
        return Err(request);
    }
    let permit = match state.admission().admit_now(&gate, &spec.name) {
        None => return Err(request),
        Some(Err(status)) => return Ok(Err(status)),
        Some(Ok(permit)) => permit,
    };
    let (name, _, sig) = match resolve_spec_owned(request.model_spec.take()) {
        Ok(spec) => spec,
        Err(status) => return Ok(Err(status)),
    };
    let sig = if sig.is_empty() {
        tensorserve_core::signature::DEFAULT_SIGNATURE.to_string()
    } else {
        sig
    };
    let check = state.config().method_name_check;
    let PredictRequestEntries {
        inputs,
        output_filter,
        ..
    } = request;
    let inputs = PredictRequestEntries::into_inputs(inputs);
    let model = handle.model;
    let ran = execution::timed(&permit, || {
        run_unbatched(&model, sig, inputs, &output_filter, check, encoding)
    });
    drop(permit);
    Ok(ran.map(|(outputs, sig)| response(name, sig, handle.version, outputs)))
}

/// An unbatched run: the inputs checked and converted, the model run, the outputs converted;
/// the signature name comes back for the response.
fn run_unbatched(
    model: &SharedModel,
    sig: String,
    inputs: Inputs,
    output_filter: &[String],
    check: bool,
    encoding: TensorEncoding,
) -> Result<(PredictOutputs, String), Status> {
    let inputs = predict_inputs(model, &sig, inputs, output_filter, check)?;
    let outputs = model.run(&sig, inputs, output_filter)?;
    Ok((predict_outputs(outputs, encoding), sig))
}

/// A Predict request from a warmup file ([`crate::warmup`]): the same checks and run as a
/// call's, on the loaded model itself; the outputs are dropped.
pub(super) fn run_logged(
    model: &SharedModel,
    request: tensorserve_proto::tensorflow::serving::PredictRequest,
    check: bool,
) -> Result<(), Status> {
    let request = PredictRequestEntries::from_request(request);
    let sig = super::signature_name(request.model_spec.as_ref());
    let inputs = PredictRequestEntries::into_inputs(request.inputs);
    let inputs = predict_inputs(model, &sig, inputs, &request.output_filter, check)?;
    model.run(&sig, inputs, &request.output_filter).map(drop)
}

/// The response naming the model, signature and version that answered.
fn response(
    name: String,
    sig: String,
    version: i64,
    mut outputs: PredictOutputs,
) -> PredictOutputs {
    outputs.model_spec = Some(ModelSpec {
        name,
        signature_name: sig,
        version_choice: Some(ProtoChoice::Version(version)),
    });
    outputs
}

/// Model work above this, though fast enough to run on an async worker, is not run inside the
/// connection's task (see [`spread_if_heavy`]). Raised with `measure-inline`, as
/// [`execution::INLINE_LIMIT`] is.
const SPREAD_ABOVE: std::time::Duration = if cfg!(feature = "measure-inline") {
    std::time::Duration::from_millis(100)
} else {
    std::time::Duration::from_micros(20)
};

/// Whether the model's measured work is above [`SPREAD_ABOVE`].
fn is_heavy(cost: &execution::WorkCost) -> bool {
    cost.estimate().is_some_and(|work| work > SPREAD_ABOVE)
}

/// Gives up the first poll when the model's measured work is above [`SPREAD_ABOVE`].
///
/// A stream's first poll happens inside its HTTP/2 connection's task
/// (`tensorserve_http2`'s calls module), so calls multiplexed on one connection that finish in that
/// poll run one after the other on one worker. For cheap models that is the point (no task per
/// call); for heavier ones it would cap a busy connection at one core. Returning `Pending` once
/// makes the executor give the call its own task, which any worker can run, as before.
async fn spread_if_heavy(permit: &Permit) {
    if is_heavy(permit.work_cost()) {
        tokio::task::yield_now().await;
    }
}

/// Predict on a batched model: convert, queue the run for a batch thread and await it (no
/// thread waits), convert back.
#[allow(clippy::too_many_arguments)]
async fn predict_batched(
    model: SharedModel,
    sig: String,
    inputs: Inputs,
    output_filter: Vec<String>,
    check: bool,
    encoding: TensorEncoding,
    permit: Permit,
    size: usize,
) -> Result<PredictOutputs, Status> {
    let decoder = model.clone();
    let (sig, output_filter, tensors) = execution::cpu(size, move || {
        let tensors = predict_inputs(&decoder, &sig, inputs, &output_filter, check)?;
        Ok((sig, output_filter, tensors))
    })
    .await?;
    let outputs = match model.start(&sig, tensors, &output_filter) {
        Started::Queued(queued) => execution::wait_for_queued(permit, queued).await?,
        Started::RunHere(tensors) => {
            execution::run(permit, size, false, move || {
                model.run(&sig, tensors, &output_filter)
            })
            .await?
        }
    };
    let out_bytes = outputs
        .values()
        .map(Tensor::len)
        .sum::<usize>()
        .saturating_mul(4);
    execution::cpu(out_bytes, move || Ok(predict_outputs(outputs, encoding))).await
}
