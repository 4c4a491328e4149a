//! What each refusal of the library means over HTTP. The library decides
//! what is true; this module only picks the status code.

use axum::http::StatusCode;
use trail_core::Rejection;
use trail_core::{Error, Problem};

/// The status for an append the library refused.
pub(crate) fn of_append_error(e: &Error) -> StatusCode {
    match e {
        Error::HeadMoved { .. } => StatusCode::CONFLICT,
        Error::EntryTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        Error::Decode(_) => StatusCode::BAD_REQUEST,
        Error::Verify(v) => match &v.problem {
            Problem::BadSignature { .. } => StatusCode::FORBIDDEN,
            Problem::Unauthorized(r) if is_signer_refused(r) => StatusCode::FORBIDDEN,
            Problem::Unauthorized(_) | Problem::InvalidEvent(_) | Problem::TimeWentBack { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            _ => StatusCode::BAD_REQUEST,
        },
        Error::Rejected(r) if is_signer_refused(r) => StatusCode::FORBIDDEN,
        Error::Rejected(_)
        | Error::InvalidEvent(_)
        | Error::FutureDate { .. }
        | Error::ClockSkew { .. }
        | Error::ClockBehind { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        Error::InBatch { source, .. } => of_append_error(source),
        // A write that failed: the log refuses appends until it is reopened.
        Error::Store { .. } | Error::Io { .. } => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Whether a rejection is about who signed (403) rather than what was said (422).
fn is_signer_refused(r: &Rejection) -> bool {
    matches!(
        r,
        Rejection::UnknownKey(_)
            | Rejection::RevokedKey { .. }
            | Rejection::MissingRole { .. }
            | Rejection::NotAddressee { .. }
            | Rejection::GenesisSigner
    )
}
