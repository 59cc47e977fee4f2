//! TF Serving's REST JSON, reproduced exactly: request decoding for predict, classify and
//! regress, and response / error encoding (reference §1.3, §1.6–§1.8).
//!
//! TF Serving reads with rapidjson and writes with rapidjson's `PrettyWriter`, and clients see
//! both: parse errors quote rapidjson's messages and offsets, type errors quote the offending
//! value, and responses have rapidjson's layout and TF Serving's float formatting. So this
//! module carries its own small JSON reader ([`Document`]) and writer rather than `serde_json`,
//! which would differ in number kinds (`1` vs `1.0`), accepted tokens (`NaN`), error texts and
//! whitespace.
//!
//! Everything here is pure: bytes in, tensors or examples out, and back.
//!
//! Layout: `parse` (the iterative reader) builds a `value` arena; `envelope` and `fill` hold
//! the rules shared by the request decoders `predict` and `classify`; `response` and the
//! classify encoders write through `writer` using `float`'s number formatting; `b64` is
//! absl-compatible base64.

pub mod b64;
mod classify;
mod envelope;
pub mod error;
mod fill;
pub mod float;
mod parse;
mod predict;
mod response;
pub mod value;
pub mod writer;

pub use classify::{
    Class, ExamplesRequest, classify_response, parse_classify_request, parse_regress_request,
    regress_response,
};
pub use error::{ParseError, ParseErrorKind};
pub use predict::{PredictBody, PredictRequest, RequestFormat, parse_predict_request};
pub use response::{error_body, predict_response};
pub use value::{Document, Number, Value};

#[cfg(test)]
mod tests;
