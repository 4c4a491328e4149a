//! The witness's HTTP API: `POST /add-checkpoint` of C2SP tlog-witness,
//! with the status codes the spec gives each refusal.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use trail_core::witness::{Witness, WitnessError};

use crate::Limits;
use crate::routes::plain;

/// Largest request: 63 proof lines and a checkpoint with its signatures.
const MAX_BODY: usize = 64 * 1024;

pub(crate) fn router(witness: Arc<Witness>, limits: Limits) -> Router {
    let limits = Limits {
        max_body_bytes: MAX_BODY,
        ..limits
    };
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .fallback(|| async {
            plain(
                StatusCode::NOT_FOUND,
                "this witness serves POST /add-checkpoint",
            )
        })
        .layer(axum::Extension(limits))
        .with_state(witness)
}

async fn add_checkpoint(
    State(witness): State<Arc<Witness>>,
    axum::Extension(limits): axum::Extension<Limits>,
    request: Request,
) -> Response {
    // The body within the read timeout, as the log server reads its bodies:
    // a client trickling bytes does not keep a connection slot for long.
    let body = match crate::routes::read_body(request.into_body(), limits).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let answer =
        tokio::task::spawn_blocking(move || witness.add_checkpoint(&body, timestamp)).await;
    match answer {
        Ok(Ok(lines)) => {
            ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], lines).into_response()
        }
        Ok(Err(WitnessError::WrongOldSize { latest })) => (
            StatusCode::CONFLICT,
            [(header::CONTENT_TYPE, "text/x.tlog.size")],
            format!("{latest}\n"),
        )
            .into_response(),
        Ok(Err(e)) => {
            let status = match &e {
                WitnessError::Malformed(_) => StatusCode::BAD_REQUEST,
                WitnessError::UnknownOrigin(_) => StatusCode::NOT_FOUND,
                WitnessError::NotSigned(_) => StatusCode::FORBIDDEN,
                WitnessError::SameSizeFork { .. } => StatusCode::CONFLICT,
                WitnessError::BadProof { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            if status.is_server_error() {
                tracing::error!(error = %e, "witness state");
            }
            plain(status, e)
        }
        Err(_) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the request failed inside the witness",
        ),
    }
}
