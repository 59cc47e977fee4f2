//! The canonical status codes (absl / `tensorflow.error.Code`) and the [`Status`] error carried by
//! every fallible operation that a client can see. REST and gRPC each map a [`Code`] to their own
//! status in one exhaustive table, so the same failure reads the same way on both protocols.

use std::fmt;

/// Canonical error codes, numbered as gRPC and TensorFlow number them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // the names are the canonical ones
pub enum Code {
    Ok = 0,
    Cancelled = 1,
    Unknown = 2,
    InvalidArgument = 3,
    DeadlineExceeded = 4,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    FailedPrecondition = 9,
    Aborted = 10,
    OutOfRange = 11,
    Unimplemented = 12,
    Internal = 13,
    Unavailable = 14,
    DataLoss = 15,
    Unauthenticated = 16,
}

impl Code {
    /// The upper-case name TensorFlow prints (`INVALID_ARGUMENT`), as used in status messages,
    /// model status JSON and metrics labels.
    pub fn name(self) -> &'static str {
        match self {
            Code::Ok => "OK",
            Code::Cancelled => "CANCELLED",
            Code::Unknown => "UNKNOWN",
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Code::NotFound => "NOT_FOUND",
            Code::AlreadyExists => "ALREADY_EXISTS",
            Code::PermissionDenied => "PERMISSION_DENIED",
            Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Code::FailedPrecondition => "FAILED_PRECONDITION",
            Code::Aborted => "ABORTED",
            Code::OutOfRange => "OUT_OF_RANGE",
            Code::Unimplemented => "UNIMPLEMENTED",
            Code::Internal => "INTERNAL",
            Code::Unavailable => "UNAVAILABLE",
            Code::DataLoss => "DATA_LOSS",
            Code::Unauthenticated => "UNAUTHENTICATED",
        }
    }
}

/// An error a client may see: a canonical code and a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.name())]
pub struct Status {
    code: Code,
    message: String,
}

macro_rules! constructors {
    ($($fn_name:ident => $code:ident),* $(,)?) => {
        $(
            #[doc = concat!("A [`Code::", stringify!($code), "`] status.")]
            pub fn $fn_name(message: impl Into<String>) -> Status {
                Status::new(Code::$code, message)
            }
        )*
    };
}

impl Status {
    /// A status with the given code and message.
    pub fn new(code: Code, message: impl Into<String>) -> Status {
        Status {
            code,
            message: message.into(),
        }
    }

    constructors! {
        invalid_argument => InvalidArgument,
        not_found => NotFound,
        failed_precondition => FailedPrecondition,
        unimplemented => Unimplemented,
        internal => Internal,
        unavailable => Unavailable,
        resource_exhausted => ResourceExhausted,
        deadline_exceeded => DeadlineExceeded,
        data_loss => DataLoss,
        unknown => Unknown,
        cancelled => Cancelled,
    }

    /// The canonical code.
    pub fn code(&self) -> Code {
        self.code
    }

    /// The message alone, without the code name (what TF Serving's REST error body carries).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The same status with `context` prepended to the message.
    pub fn context(self, context: impl fmt::Display) -> Status {
        Status {
            code: self.code,
            message: format!("{context}{}", self.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_carries_code_name_like_tensorflow() {
        let s = Status::invalid_argument("bad");
        assert_eq!(s.to_string(), "INVALID_ARGUMENT: bad");
        assert_eq!(s.message(), "bad");
        assert_eq!(s.context("while x: ").message(), "while x: bad");
    }
}
