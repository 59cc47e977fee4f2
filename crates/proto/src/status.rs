//! Status translation: [`tensorserve_core::Status`] to and from `tonic::Status`, and to the
//! `StatusProto` that GetModelStatus and HandleReloadConfigRequest carry in their bodies.
//!
//! Canonical codes are the same numbers in absl, TensorFlow and gRPC, so each table is a
//! one-to-one `match`; they are written out (no `_` arm) so that the compiler checks them.

use tensorserve_core::{Code, Status};

use crate::tensorflow::error::Code as ProtoCode;
use crate::tensorflow::serving::StatusProto;

/// Longest status message, in bytes, that TF Serving puts on the wire
/// (`kErrorMessageLimit` in its `ToGRPCStatus`); longer ones are cut and get [`TRUNCATED_SUFFIX`].
pub const MAX_GRPC_MESSAGE_BYTES: usize = 1024;

/// What follows a message cut at [`MAX_GRPC_MESSAGE_BYTES`].
pub const TRUNCATED_SUFFIX: &str = "...TRUNCATED";

/// The gRPC code for a canonical code.
pub fn code_to_tonic(code: Code) -> tonic::Code {
    match code {
        Code::Ok => tonic::Code::Ok,
        Code::Cancelled => tonic::Code::Cancelled,
        Code::Unknown => tonic::Code::Unknown,
        Code::InvalidArgument => tonic::Code::InvalidArgument,
        Code::DeadlineExceeded => tonic::Code::DeadlineExceeded,
        Code::NotFound => tonic::Code::NotFound,
        Code::AlreadyExists => tonic::Code::AlreadyExists,
        Code::PermissionDenied => tonic::Code::PermissionDenied,
        Code::ResourceExhausted => tonic::Code::ResourceExhausted,
        Code::FailedPrecondition => tonic::Code::FailedPrecondition,
        Code::Aborted => tonic::Code::Aborted,
        Code::OutOfRange => tonic::Code::OutOfRange,
        Code::Unimplemented => tonic::Code::Unimplemented,
        Code::Internal => tonic::Code::Internal,
        Code::Unavailable => tonic::Code::Unavailable,
        Code::DataLoss => tonic::Code::DataLoss,
        Code::Unauthenticated => tonic::Code::Unauthenticated,
    }
}

/// The canonical code for a gRPC code.
pub fn code_from_tonic(code: tonic::Code) -> Code {
    match code {
        tonic::Code::Ok => Code::Ok,
        tonic::Code::Cancelled => Code::Cancelled,
        tonic::Code::Unknown => Code::Unknown,
        tonic::Code::InvalidArgument => Code::InvalidArgument,
        tonic::Code::DeadlineExceeded => Code::DeadlineExceeded,
        tonic::Code::NotFound => Code::NotFound,
        tonic::Code::AlreadyExists => Code::AlreadyExists,
        tonic::Code::PermissionDenied => Code::PermissionDenied,
        tonic::Code::ResourceExhausted => Code::ResourceExhausted,
        tonic::Code::FailedPrecondition => Code::FailedPrecondition,
        tonic::Code::Aborted => Code::Aborted,
        tonic::Code::OutOfRange => Code::OutOfRange,
        tonic::Code::Unimplemented => Code::Unimplemented,
        tonic::Code::Internal => Code::Internal,
        tonic::Code::Unavailable => Code::Unavailable,
        tonic::Code::DataLoss => Code::DataLoss,
        tonic::Code::Unauthenticated => Code::Unauthenticated,
    }
}

/// The `tensorflow.error.Code` for a canonical code.
pub fn code_to_proto(code: Code) -> ProtoCode {
    match code {
        Code::Ok => ProtoCode::Ok,
        Code::Cancelled => ProtoCode::Cancelled,
        Code::Unknown => ProtoCode::Unknown,
        Code::InvalidArgument => ProtoCode::InvalidArgument,
        Code::DeadlineExceeded => ProtoCode::DeadlineExceeded,
        Code::NotFound => ProtoCode::NotFound,
        Code::AlreadyExists => ProtoCode::AlreadyExists,
        Code::PermissionDenied => ProtoCode::PermissionDenied,
        Code::ResourceExhausted => ProtoCode::ResourceExhausted,
        Code::FailedPrecondition => ProtoCode::FailedPrecondition,
        Code::Aborted => ProtoCode::Aborted,
        Code::OutOfRange => ProtoCode::OutOfRange,
        Code::Unimplemented => ProtoCode::Unimplemented,
        Code::Internal => ProtoCode::Internal,
        Code::Unavailable => ProtoCode::Unavailable,
        Code::DataLoss => ProtoCode::DataLoss,
        Code::Unauthenticated => ProtoCode::Unauthenticated,
    }
}

/// The canonical code for a `tensorflow.error.Code`. The "do not use" sentinel reads as
/// UNKNOWN, as absl treats any code it does not know.
pub fn code_from_proto(code: ProtoCode) -> Code {
    match code {
        ProtoCode::Ok => Code::Ok,
        ProtoCode::Cancelled => Code::Cancelled,
        ProtoCode::Unknown => Code::Unknown,
        ProtoCode::InvalidArgument => Code::InvalidArgument,
        ProtoCode::DeadlineExceeded => Code::DeadlineExceeded,
        ProtoCode::NotFound => Code::NotFound,
        ProtoCode::AlreadyExists => Code::AlreadyExists,
        ProtoCode::PermissionDenied => Code::PermissionDenied,
        ProtoCode::ResourceExhausted => Code::ResourceExhausted,
        ProtoCode::FailedPrecondition => Code::FailedPrecondition,
        ProtoCode::Aborted => Code::Aborted,
        ProtoCode::OutOfRange => Code::OutOfRange,
        ProtoCode::Unimplemented => Code::Unimplemented,
        ProtoCode::Internal => Code::Internal,
        ProtoCode::Unavailable => Code::Unavailable,
        ProtoCode::DataLoss => Code::DataLoss,
        ProtoCode::Unauthenticated => Code::Unauthenticated,
        ProtoCode::DoNotUseReservedForFutureExpansionUseDefaultInSwitchInstead => Code::Unknown,
    }
}

/// The message as TF Serving sends it over gRPC: at most [`MAX_GRPC_MESSAGE_BYTES`] bytes of
/// the original followed by [`TRUNCATED_SUFFIX`] when it was longer. The cut moves back to a
/// character boundary so the result stays valid UTF-8 (TF Serving cuts at the byte).
pub fn truncate_message(message: &str) -> std::borrow::Cow<'_, str> {
    if message.len() <= MAX_GRPC_MESSAGE_BYTES {
        return message.into();
    }
    let mut end = MAX_GRPC_MESSAGE_BYTES;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{TRUNCATED_SUFFIX}", &message[..end]).into()
}

/// The gRPC status TF Serving would send for `status` (code mapped, message truncated).
pub fn status_to_tonic(status: &Status) -> tonic::Status {
    tonic::Status::new(
        code_to_tonic(status.code()),
        truncate_message(status.message()),
    )
}

/// A core status from a gRPC one (for clients of a TF Serving compatible server).
pub fn status_from_tonic(status: &tonic::Status) -> Status {
    Status::new(code_from_tonic(status.code()), status.message())
}

/// The `StatusProto` of a response body. Not truncated: TF Serving only cuts the gRPC status.
pub fn status_to_proto(status: &Status) -> StatusProto {
    StatusProto {
        error_code: code_to_proto(status.code()) as i32,
        error_message: status.message().to_string(),
    }
}

/// OK for an absent status; an unrecognised code number reads as UNKNOWN.
pub fn status_from_proto(proto: Option<&StatusProto>) -> Status {
    match proto {
        None => Status::new(Code::Ok, ""),
        Some(p) => {
            let code = ProtoCode::try_from(p.error_code).map_or(Code::Unknown, code_from_proto);
            Status::new(code, p.error_message.clone())
        }
    }
}

impl From<&Status> for StatusProto {
    fn from(status: &Status) -> StatusProto {
        status_to_proto(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every canonical code with its number: absl, TensorFlow and gRPC agree on all of them.
    const ALL: [(Code, i32); 17] = [
        (Code::Ok, 0),
        (Code::Cancelled, 1),
        (Code::Unknown, 2),
        (Code::InvalidArgument, 3),
        (Code::DeadlineExceeded, 4),
        (Code::NotFound, 5),
        (Code::AlreadyExists, 6),
        (Code::PermissionDenied, 7),
        (Code::ResourceExhausted, 8),
        (Code::FailedPrecondition, 9),
        (Code::Aborted, 10),
        (Code::OutOfRange, 11),
        (Code::Unimplemented, 12),
        (Code::Internal, 13),
        (Code::Unavailable, 14),
        (Code::DataLoss, 15),
        (Code::Unauthenticated, 16),
    ];

    #[test]
    fn mapping_table_keeps_the_canonical_numbers() {
        for (code, number) in ALL {
            let grpc = code_to_tonic(code);
            assert_eq!(grpc as i32, number, "{code:?}");
            assert_eq!(tonic::Code::from_i32(number), grpc);
            assert_eq!(code_from_tonic(grpc), code);
            let proto = code_to_proto(code);
            assert_eq!(proto as i32, number, "{code:?}");
            assert_eq!(code_from_proto(proto), code);
            assert_eq!(proto.as_str_name(), code.name());
        }
        assert_eq!(
            code_from_proto(ProtoCode::DoNotUseReservedForFutureExpansionUseDefaultInSwitchInstead),
            Code::Unknown
        );
    }

    #[test]
    fn tonic_status_carries_code_and_message() {
        let s = status_to_tonic(&Status::not_found(
            "Servable not found for request: Latest(x)",
        ));
        assert_eq!(s.code(), tonic::Code::NotFound);
        assert_eq!(s.message(), "Servable not found for request: Latest(x)");
        let back = status_from_tonic(&s);
        assert_eq!(back.code(), Code::NotFound);
        assert_eq!(back.message(), s.message());
    }

    #[test]
    fn long_messages_are_truncated_like_tf_serving() {
        let exact = "a".repeat(MAX_GRPC_MESSAGE_BYTES);
        assert_eq!(truncate_message(&exact), exact.as_str());

        let long = "b".repeat(MAX_GRPC_MESSAGE_BYTES + 1);
        let s = status_to_tonic(&Status::invalid_argument(long.clone()));
        assert_eq!(
            s.message().len(),
            MAX_GRPC_MESSAGE_BYTES + TRUNCATED_SUFFIX.len()
        );
        assert!(s.message().ends_with("b...TRUNCATED"));
        assert!(long.starts_with(&s.message()[..MAX_GRPC_MESSAGE_BYTES]));

        // A multi-byte character straddling the limit is dropped whole.
        let mut mixed = "c".repeat(MAX_GRPC_MESSAGE_BYTES - 1);
        mixed.push('é');
        let cut = truncate_message(&mixed);
        assert_eq!(
            cut.len(),
            MAX_GRPC_MESSAGE_BYTES - 1 + TRUNCATED_SUFFIX.len()
        );

        // The body's StatusProto keeps the whole message.
        assert_eq!(
            status_to_proto(&Status::internal(long.clone())).error_message,
            long
        );
    }

    #[test]
    fn status_proto_round_trips() {
        for (code, _) in ALL {
            let s = Status::new(code, "m");
            let p = StatusProto::from(&s);
            assert_eq!(status_from_proto(Some(&p)), s);
        }
        assert_eq!(status_from_proto(None).code(), Code::Ok);
        let odd = StatusProto {
            error_code: 99,
            error_message: "?".into(),
        };
        assert_eq!(status_from_proto(Some(&odd)).code(), Code::Unknown);
    }
}
