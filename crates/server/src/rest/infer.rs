//! `POST /v1/models/...:predict|classify|regress`: decode, run, encode.
//!
//! The JSON codecs live in `tensorserve_core::json`; this module only looks up the servable and
//! signature, picks where the work runs ([`crate::execution`]: inline for fast models, else the
//! blocking pool; batched runs are awaited) and picks the response.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use tensorserve_core::example::Example;
use tensorserve_core::json::{self, Class, ExamplesRequest};
use tensorserve_core::signature::{CLASSIFY_METHOD, PREDICT_METHOD, REGRESS_METHOD};
use tensorserve_core::{Model, SignatureDef, Started, Status, Tensor, TensorData};

use super::results;
use super::route::Api;
use crate::admission::Permit;
use crate::execution;

fn signature<'m>(model: &'m dyn Model, name: &str) -> Result<&'m SignatureDef, Status> {
    model.signatures().get(name).ok_or_else(|| {
        Status::invalid_argument(format!(
            "Serving signature name: \"{name}\" not found in signature def"
        ))
    })
}

fn check_method(sig: &SignatureDef, name: &str, want: &str, enforce: bool) -> Result<(), Status> {
    if enforce && sig.method_name != want {
        return Err(Status::invalid_argument(format!(
            "Expected {want} signature method_name but got: {} (signature {name})",
            sig.method_name
        )));
    }
    Ok(())
}

/// Handles one inference request; returns the JSON body. The admission `permit` moves with
/// the work, so the slot stays taken until the work is really over. `batching`: the model is
/// served with batching (see [`crate::execution`]).
pub async fn infer(
    model: Arc<dyn Model>,
    api: Api,
    body: Bytes,
    check_methods: bool,
    permit: Permit,
    batching: bool,
) -> Result<Vec<u8>, Status> {
    match api {
        Api::Predict if batching => predict_batched(model, body, check_methods, permit).await,
        Api::Predict => predict(model, body, check_methods, permit).await,
        Api::Classify | Api::Regress => {
            examples(model, api, body, check_methods, permit, batching).await
        }
    }
}

fn decode_predict(
    model: &dyn Model,
    body: &[u8],
    check_methods: bool,
) -> Result<json::PredictRequest, Status> {
    json::parse_predict_request(body, |name| {
        let sig = signature(model, name)?;
        check_method(sig, name, PREDICT_METHOD, check_methods)?;
        Ok(&sig.inputs)
    })
}

async fn predict(
    model: Arc<dyn Model>,
    body: Bytes,
    check_methods: bool,
    permit: Permit,
) -> Result<Vec<u8>, Status> {
    execution::run(permit, body.len(), true, move || {
        let request = decode_predict(model.as_ref(), &body, check_methods)?;
        let outputs = model.run(&request.signature_name, request.inputs, &[])?;
        json::predict_response(&outputs, request.format)
    })
    .await
}

/// Predict on a batched model: decode, queue the run for a batch thread and await it (no
/// thread waits), encode.
async fn predict_batched(
    model: Arc<dyn Model>,
    body: Bytes,
    check_methods: bool,
    permit: Permit,
) -> Result<Vec<u8>, Status> {
    let size = body.len();
    let decoder = Arc::clone(&model);
    let request = execution::cpu(size, move || {
        decode_predict(decoder.as_ref(), &body, check_methods)
    })
    .await?;
    let json::PredictRequest {
        signature_name,
        inputs,
        format,
    } = request;
    let outputs = match model.start(&signature_name, inputs, &[]) {
        Started::Queued(queued) => execution::wait_for_queued(permit, queued).await?,
        Started::RunHere(inputs) => {
            execution::run(permit, size, false, move || {
                model.run(&signature_name, inputs, &[])
            })
            .await?
        }
    };
    // About 8 bytes of JSON per value.
    let out_bytes = outputs
        .values()
        .map(Tensor::len)
        .sum::<usize>()
        .saturating_mul(8);
    execution::cpu(out_bytes, move || json::predict_response(&outputs, format)).await
}

/// The single string input of a classify/regress signature, fed serialized Examples.
fn example_input(sig: &SignatureDef) -> Result<String, Status> {
    if sig.inputs.len() != 1 {
        return Err(Status::invalid_argument("Expected one input Tensor."));
    }
    Ok(sig.inputs.keys().next().expect("one input").clone())
}

/// Serializes examples into the `[batch]` string tensor classify/regress signatures take.
pub fn serialize_examples(examples: &[Example]) -> Result<Tensor, Status> {
    let records = examples.iter().map(Example::encode).collect();
    Tensor::new(vec![examples.len()], TensorData::String(records))
}

async fn examples(
    model: Arc<dyn Model>,
    api: Api,
    body: Bytes,
    check_methods: bool,
    permit: Permit,
    batching: bool,
) -> Result<Vec<u8>, Status> {
    // Batched models block in `run` until their batch thread answers: never on a worker.
    execution::run(permit, body.len(), !batching, move || {
        let request: ExamplesRequest = match api {
            Api::Classify => json::parse_classify_request(&body)?,
            _ => json::parse_regress_request(&body)?,
        };
        let name = if request.signature_name.is_empty() {
            tensorserve_core::signature::DEFAULT_SIGNATURE
        } else {
            request.signature_name.as_str()
        };
        // TF Serving's Get{Classification,Regression}SignatureDef word this differently from
        // the predict path.
        let sig = model.signatures().get(name).ok_or_else(|| {
            Status::invalid_argument(format!("No signature was found with the name: {name}"))
        })?;
        let method = if api == Api::Classify {
            CLASSIFY_METHOD
        } else {
            REGRESS_METHOD
        };
        check_method(sig, name, method, check_methods)?;
        let input = example_input(sig)?;
        let examples = request.merged_examples();
        let batch = examples.len();
        let inputs: BTreeMap<String, Tensor> = [(input, serialize_examples(&examples)?)].into();
        let outputs = model.run(name, inputs, &[])?;
        if api == Api::Classify {
            let results: Vec<Vec<Class>> = results::classifications(&outputs, batch)?
                .into_iter()
                .map(|row| {
                    row.into_iter()
                        .map(|(label, score)| Class { label, score })
                        .collect()
                })
                .collect();
            json::classify_response(&results)
        } else {
            json::regress_response(&results::regressions(&outputs, batch)?)
        }
    })
    .await
}
