//! `tensorflow.serving.PredictionLog` as far as model warmup reads it: the record type of a
//! SavedModel's `assets.extra/tf_serving_warmup_requests` file (reference §3.8).
//!
//! Written with prost's derive instead of compiled from `prediction_log.proto`, because the full
//! file reaches `SessionRunRequest` and through it TensorFlow's `config.proto` (RunOptions,
//! RunMetadata, GPU options, ...), none of which the server uses: warmup only has to recognise a
//! session-run or streamed-predict record to refuse it. Those two are kept as raw bytes; the
//! logged responses and `log_metadata` are not read (prost skips fields it does not declare).
//! Field numbers are upstream's: PredictionLog `classify_log = 2, regress_log = 3,
//! multi_inference_log = 4, session_run_log = 5, predict_log = 6, predict_streamed_log = 7`;
//! each `*Log` has `request = 1, response = 2`.

use crate::tensorflow::serving::{
    ClassificationRequest, MultiInferenceRequest, PredictRequest, RegressionRequest,
};

/// One logged request.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct PredictionLog {
    /// Which API was called, with its request.
    #[prost(oneof = "LogType", tags = "2, 3, 4, 5, 6, 7")]
    pub log_type: Option<LogType>,
}

/// The logged call.
#[derive(Clone, PartialEq, ::prost::Oneof)]
pub enum LogType {
    /// A Classify call.
    #[prost(message, tag = "2")]
    ClassifyLog(RequestLog<ClassificationRequest>),
    /// A Regress call.
    #[prost(message, tag = "3")]
    RegressLog(RequestLog<RegressionRequest>),
    /// A MultiInference call.
    #[prost(message, tag = "4")]
    MultiInferenceLog(RequestLog<MultiInferenceRequest>),
    /// A `SessionService.SessionRun` call, not parsed.
    #[prost(bytes = "vec", tag = "5")]
    SessionRunLog(Vec<u8>),
    /// A Predict call.
    #[prost(message, tag = "6")]
    PredictLog(RequestLog<PredictRequest>),
    /// A streamed Predict call, not parsed.
    #[prost(bytes = "vec", tag = "7")]
    PredictStreamedLog(Vec<u8>),
}

impl LogType {
    /// The oneof's field number, which TF Serving prints in its "Unsupported log_type" error.
    pub fn field_number(&self) -> u32 {
        match self {
            LogType::ClassifyLog(_) => 2,
            LogType::RegressLog(_) => 3,
            LogType::MultiInferenceLog(_) => 4,
            LogType::SessionRunLog(_) => 5,
            LogType::PredictLog(_) => 6,
            LogType::PredictStreamedLog(_) => 7,
        }
    }
}

/// `ClassifyLog`, `RegressLog`, `MultiInferenceLog` and `PredictLog`: the request (field 1);
/// the response (field 2) is not read.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct RequestLog<R: ::prost::Message + Default + PartialEq + Clone + std::fmt::Debug> {
    /// The logged request.
    #[prost(message, optional, tag = "1")]
    pub request: Option<R>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn a_predict_log_round_trips_and_keeps_its_request() {
        let request = PredictRequest {
            output_filter: vec!["y".into()],
            ..Default::default()
        };
        let log = PredictionLog {
            log_type: Some(LogType::PredictLog(RequestLog {
                request: Some(request.clone()),
            })),
        };
        let bytes = log.encode_to_vec();
        // Field 6, length-delimited.
        assert_eq!(bytes[0], 6 << 3 | 2);
        let back = PredictionLog::decode(bytes.as_slice()).unwrap();
        assert_eq!(back, log);
    }

    #[test]
    fn field_numbers_match_the_tags() {
        let logs = [
            LogType::ClassifyLog(RequestLog { request: None }),
            LogType::RegressLog(RequestLog { request: None }),
            LogType::MultiInferenceLog(RequestLog { request: None }),
            LogType::SessionRunLog(vec![]),
            LogType::PredictLog(RequestLog { request: None }),
            LogType::PredictStreamedLog(vec![]),
        ];
        for log in logs {
            let number = log.field_number();
            let bytes = PredictionLog {
                log_type: Some(log),
            }
            .encode_to_vec();
            assert_eq!(u32::from(bytes[0] >> 3), number);
        }
    }
}
