//! `tensorflow.serving.PredictionService`: Predict, Classify, Regress, MultiInference and
//! GetModelMetadata, with the checks and messages of TF Serving's `predict_util.cc`,
//! `classifier.cc`, `regressor.cc`, `multi_inference.cc` and `get_model_metadata_impl.cc`.

use std::collections::BTreeSet;
use std::time::Instant;

use prost::Message;
use tensorserve_core::signature::{CLASSIFY_METHOD, REGRESS_METHOD};
use tensorserve_core::{Status, Tensor, TensorData};
use tensorserve_proto::predict_wire::PredictRequestEntries;
use tensorserve_proto::prediction_log::LogType;
use tensorserve_proto::tensor::TensorEncoding;
use tensorserve_proto::tensorflow::Example;
use tensorserve_proto::tensorflow::serving::inference_result::Result as InferenceOutcome;
use tensorserve_proto::tensorflow::serving::input::Kind;
use tensorserve_proto::tensorflow::serving::prediction_service_server::PredictionService;
use tensorserve_proto::tensorflow::serving::{
    Class, ClassificationRequest, ClassificationResponse, ClassificationResult, Classifications,
    GetModelMetadataRequest, GetModelMetadataResponse, InferenceResult, Input, ModelSpec,
    MultiInferenceRequest, MultiInferenceResponse, PredictRequest, PredictResponse, Regression,
    RegressionRequest, RegressionResponse, RegressionResult,
};
use tonic::{Request, Response};

use super::{
    SharedModel, finish, predict, resolve_spec, response_spec, signature_name, spec_name,
    tensor_encoding,
};
use crate::execution;
use crate::metrics::Api;
use crate::rest::results;
use crate::state::AppState;

/// The PredictionService implementation.
pub struct PredictionServiceImpl {
    state: AppState,
}

impl PredictionServiceImpl {
    /// A service over the shared server state.
    pub fn new(state: AppState) -> PredictionServiceImpl {
        PredictionServiceImpl { state }
    }

    fn encoding(&self) -> TensorEncoding {
        tensor_encoding(&self.state)
    }
}

/// Classification or regression, as a task asks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Task {
    Classify,
    Regress,
}

/// The `[batch]` string tensor of serialized examples; with a context, each element is the
/// context's bytes followed by the example's (a wire-level merge: the example's features win).
fn serialized_examples(input: Option<&Input>) -> Result<(Tensor, usize), Status> {
    let empty = || Status::invalid_argument("Input is empty.");
    let (examples, context): (&[Example], Option<&Example>) =
        match input.and_then(|i| i.kind.as_ref()) {
            Some(Kind::ExampleList(list)) => (&list.examples, None),
            Some(Kind::ExampleListWithContext(list)) => (&list.examples, list.context.as_ref()),
            None => return Err(empty()),
        };
    if examples.is_empty() {
        return Err(empty());
    }
    let prefix = context.map(Message::encode_to_vec).unwrap_or_default();
    let records: Vec<Vec<u8>> = examples
        .iter()
        .map(|e| {
            let mut bytes = prefix.clone();
            e.encode(&mut bytes).expect("a Vec grows as needed");
            bytes
        })
        .collect();
    let batch = records.len();
    Ok((
        Tensor::new(vec![batch], TensorData::String(records))?,
        batch,
    ))
}

/// One classify or regress run over already serialized examples.
fn run_task(
    model: &SharedModel,
    sig_name: &str,
    task: Task,
    examples: Tensor,
    batch: usize,
    check_methods: bool,
) -> Result<InferenceOutcome, Status> {
    let sig = model.signatures().get(sig_name).ok_or_else(|| {
        Status::invalid_argument(format!("No signature was found with the name: {sig_name}"))
    })?;
    let (method, what) = match task {
        Task::Classify => (CLASSIFY_METHOD, "classification"),
        Task::Regress => (REGRESS_METHOD, "regression"),
    };
    if check_methods && sig.method_name != method {
        return Err(Status::invalid_argument(format!(
            "Expected {what} signature method_name to be {method}. Was: {}",
            sig.method_name
        )));
    }
    if sig.inputs.len() != 1 {
        return Err(Status::invalid_argument("Expected one input Tensor."));
    }
    let input = sig.inputs.keys().next().expect("one input").clone();
    let outputs = model.run(sig_name, [(input, examples)].into(), &[])?;
    Ok(match task {
        Task::Classify => {
            let classifications = results::classifications(&outputs, batch)?
                .into_iter()
                .map(|row| Classifications {
                    classes: row
                        .into_iter()
                        .map(|(label, score)| Class {
                            label: String::from_utf8_lossy(&label).into_owned(),
                            score,
                        })
                        .collect(),
                })
                .collect();
            InferenceOutcome::ClassificationResult(ClassificationResult { classifications })
        }
        Task::Regress => InferenceOutcome::RegressionResult(RegressionResult {
            regressions: results::regressions(&outputs, batch)?
                .into_iter()
                .map(|value| Regression { value })
                .collect(),
        }),
    })
}

/// Classify or Regress on `input`'s examples.
fn run_single(
    model: &SharedModel,
    sig_name: &str,
    input: Option<&Input>,
    task: Task,
    check: bool,
) -> Result<InferenceOutcome, Status> {
    let (examples, batch) = serialized_examples(input)?;
    run_task(model, sig_name, task, examples, batch, check)
}

/// MultiInference's tasks (`multi_inference.cc`): every task checked before any runs, then
/// each run on the same serialized examples. `model_name` is the servable's, from the first
/// task's spec.
fn run_multi(
    model: &SharedModel,
    model_name: &str,
    request: &MultiInferenceRequest,
    check: bool,
) -> Result<Vec<(String, InferenceOutcome)>, Status> {
    let mut tasks = Vec::with_capacity(request.tasks.len());
    let mut signatures = BTreeSet::new();
    let mut input_tensor: Option<String> = None;
    for t in &request.tasks {
        let task_model = t.model_spec.as_ref().map_or("", |s| s.name.as_str());
        if task_model.is_empty() {
            return Err(Status::invalid_argument(
                "Found ModelSpec with an empty model name.",
            ));
        }
        if task_model != model_name {
            return Err(Status::invalid_argument(
                "All ModelSpecs in a MultiInferenceRequest must access the same model name.",
            ));
        }
        let sig_name = signature_name(t.model_spec.as_ref());
        if !signatures.insert(sig_name.clone()) {
            return Err(Status::invalid_argument(format!(
                "Duplicate evaluation of signature: {sig_name}"
            )));
        }
        let sig = model.signatures().get(&sig_name).ok_or_else(|| {
            Status::invalid_argument(format!(
                "Requested signature not found in model graph: {sig_name}"
            ))
        })?;
        let task = match t.method_name.as_str() {
            CLASSIFY_METHOD => Task::Classify,
            REGRESS_METHOD => Task::Regress,
            other => {
                return Err(Status::unimplemented(format!(
                    "Unsupported signature method_name: {other}"
                )));
            }
        };
        if sig.inputs.len() != 1 {
            return Err(Status::invalid_argument("Expected one input Tensor."));
        }
        let tensor = &sig.inputs.values().next().expect("one input").name;
        match &input_tensor {
            None => input_tensor = Some(tensor.clone()),
            Some(first) if first != tensor => {
                return Err(Status::invalid_argument(
                    "Input tensor must be the same for all Signatures.",
                ));
            }
            Some(_) => {}
        }
        tasks.push((sig_name, task));
    }
    let (examples, batch) = serialized_examples(request.input.as_ref())?;
    tasks
        .into_iter()
        .map(|(sig, task)| {
            let outcome = run_task(model, &sig, task, examples.clone(), batch, check)?;
            Ok((sig, outcome))
        })
        .collect::<Result<Vec<_>, Status>>()
}

/// Runs a request logged in a warmup file ([`crate::warmup`]) as its gRPC method would, on
/// `model` itself: no lookup, no admission, no response (`saved_model_warmup.cc`). Session-run
/// and streamed-predict records are refused with TF Serving's error, which names the field.
pub(crate) fn run_logged(model: &SharedModel, log: &LogType, check: bool) -> Result<(), Status> {
    let single = |spec: Option<&ModelSpec>, input: Option<&Input>, task| {
        run_single(model, &signature_name(spec), input, task, check).map(drop)
    };
    match log {
        LogType::PredictLog(logged) => {
            predict::run_logged(model, logged.request.clone().unwrap_or_default(), check)
        }
        LogType::ClassifyLog(logged) => {
            let request = logged.request.clone().unwrap_or_default();
            single(
                request.model_spec.as_ref(),
                request.input.as_ref(),
                Task::Classify,
            )
        }
        LogType::RegressLog(logged) => {
            let request = logged.request.clone().unwrap_or_default();
            single(
                request.model_spec.as_ref(),
                request.input.as_ref(),
                Task::Regress,
            )
        }
        LogType::MultiInferenceLog(logged) => {
            let request = logged.request.clone().unwrap_or_default();
            let name = request
                .tasks
                .first()
                .and_then(|t| t.model_spec.as_ref())
                .map_or(String::new(), |s| s.name.clone());
            run_multi(model, &name, &request, check).map(drop)
        }
        LogType::SessionRunLog(_) | LogType::PredictStreamedLog(_) => Err(Status::unimplemented(
            format!("Unsupported log_type for warmup: {}", log.field_number()),
        )),
    }
}

impl PredictionServiceImpl {
    /// Classify or Regress: resolve, serialize the examples, run, read the results.
    async fn single_task(
        &self,
        spec: Option<tensorserve_proto::tensorflow::serving::ModelSpec>,
        input: Option<Input>,
        task: Task,
    ) -> Result<
        (
            tensorserve_proto::tensorflow::serving::ModelSpec,
            InferenceOutcome,
        ),
        Status,
    > {
        let (name, choice) = resolve_spec(spec.as_ref())?;
        let handle = self.state.manager().lookup(&name, &choice)?;
        let permit = self.state.admission().admit(&name).await?;
        let sig_name = signature_name(spec.as_ref());
        let check = self.state.config().method_name_check;
        let version = handle.version;
        let model = handle.model;
        let sig = sig_name.clone();
        let size = input.as_ref().map_or(0, Message::encoded_len);
        // Batched models block in `run` until their batch thread answers: never on a worker.
        let inline = !self.state.batching();
        let outcome = execution::run(permit, size, inline, move || {
            run_single(&model, &sig, input.as_ref(), task, check)
        })
        .await?;
        Ok((response_spec(&name, version, &sig_name), outcome))
    }

    /// MultiInference (`multi_inference.cc`): the servable comes from the first task's spec, then
    /// every task is checked before anything runs.
    async fn multi(
        &self,
        request: MultiInferenceRequest,
    ) -> Result<MultiInferenceResponse, Status> {
        let first = request
            .tasks
            .first()
            .and_then(|t| t.model_spec.clone())
            .unwrap_or_default();
        let (name, choice) = resolve_spec(Some(&first))?;
        let handle = self.state.manager().lookup(&name, &choice)?;
        let permit = self.state.admission().admit(&name).await?;
        let check = self.state.config().method_name_check;
        let version = handle.version;
        let model = handle.model;
        let model_name = name.clone();
        let size = request.input.as_ref().map_or(0, Message::encoded_len);
        let inline = !self.state.batching();
        let outcomes = execution::run(permit, size, inline, move || {
            run_multi(&model, &model_name, &request, check)
        })
        .await?;
        Ok(MultiInferenceResponse {
            results: outcomes
                .into_iter()
                .map(|(sig, outcome)| InferenceResult {
                    model_spec: Some(response_spec(&name, version, &sig)),
                    result: Some(outcome),
                })
                .collect(),
        })
    }

    fn metadata(
        &self,
        request: &GetModelMetadataRequest,
    ) -> Result<GetModelMetadataResponse, Status> {
        let (name, choice) = resolve_spec(request.model_spec.as_ref())?;
        if request.metadata_field.is_empty() {
            return Err(Status::invalid_argument(
                "GetModelMetadataRequest must specify at least one metadata_field",
            ));
        }
        for field in &request.metadata_field {
            if field != tensorserve_proto::signature::SIGNATURE_DEF_FIELD {
                return Err(Status::invalid_argument(format!(
                    "Metadata field {field} is not supported"
                )));
            }
        }
        let handle = self.state.manager().lookup(&name, &choice)?;
        let any = tensorserve_proto::signature_def_map_any(handle.model.signatures());
        Ok(GetModelMetadataResponse {
            model_spec: Some(response_spec(&handle.name, handle.version, "")),
            metadata: [(
                tensorserve_proto::signature::SIGNATURE_DEF_FIELD.to_string(),
                any,
            )]
            .into(),
        })
    }
}

#[tonic::async_trait]
impl PredictionService for PredictionServiceImpl {
    async fn predict(
        &self,
        request: Request<PredictRequest>,
    ) -> Result<Response<PredictResponse>, tonic::Status> {
        let started = Instant::now();
        let request = request.into_inner();
        let name = spec_name(request.model_spec.as_ref());
        let request = PredictRequestEntries::from_request(request);
        let result = predict::predict(&self.state, self.encoding(), request).await;
        finish(
            Api::Predict,
            &name,
            started,
            result.map(|outputs| outputs.into_entries().into_response()),
        )
    }

    async fn classify(
        &self,
        request: Request<ClassificationRequest>,
    ) -> Result<Response<ClassificationResponse>, tonic::Status> {
        let started = Instant::now();
        let request = request.into_inner();
        let name = spec_name(request.model_spec.as_ref());
        let result = self
            .single_task(request.model_spec, request.input, Task::Classify)
            .await
            .and_then(|(spec, outcome)| match outcome {
                InferenceOutcome::ClassificationResult(result) => Ok(ClassificationResponse {
                    model_spec: Some(spec),
                    result: Some(result),
                }),
                _ => Err(Status::internal("classification gave no classes")),
            });
        finish(Api::Classify, &name, started, result)
    }

    async fn regress(
        &self,
        request: Request<RegressionRequest>,
    ) -> Result<Response<RegressionResponse>, tonic::Status> {
        let started = Instant::now();
        let request = request.into_inner();
        let name = spec_name(request.model_spec.as_ref());
        let result = self
            .single_task(request.model_spec, request.input, Task::Regress)
            .await
            .and_then(|(spec, outcome)| match outcome {
                InferenceOutcome::RegressionResult(result) => Ok(RegressionResponse {
                    model_spec: Some(spec),
                    result: Some(result),
                }),
                _ => Err(Status::internal("regression gave no values")),
            });
        finish(Api::Regress, &name, started, result)
    }

    async fn multi_inference(
        &self,
        request: Request<MultiInferenceRequest>,
    ) -> Result<Response<MultiInferenceResponse>, tonic::Status> {
        let started = Instant::now();
        let request = request.into_inner();
        let name = request
            .tasks
            .first()
            .map(|t| spec_name(t.model_spec.as_ref()))
            .unwrap_or_default();
        finish(
            Api::MultiInference,
            &name,
            started,
            self.multi(request).await,
        )
    }

    async fn get_model_metadata(
        &self,
        request: Request<GetModelMetadataRequest>,
    ) -> Result<Response<GetModelMetadataResponse>, tonic::Status> {
        let started = Instant::now();
        let name = spec_name(request.get_ref().model_spec.as_ref());
        finish(
            Api::Metadata,
            &name,
            started,
            self.metadata(request.get_ref()),
        )
    }
}
