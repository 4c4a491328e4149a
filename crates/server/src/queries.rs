//! JSON answers computed by the server, for web pages: the state on a date,
//! one recommendation's history, the auditors' findings. They are
//! conveniences, not verification: whoever must be sure fetches the entries
//! and replays them itself (`trail replay --remote`). Each is computed from
//! verified entries only, as the CLI's replay is.

use std::str::FromStr;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use trail_core::{CheckConfig, Day, Id, RecSelection, Timestamp, View, check};
use trail_core::{Cut, SnapshotOptions};

use crate::routes::{Shared, blocking, plain};

/// The two time axes, as the CLI's `--at` and `--known-at` take them.
#[derive(Deserialize, Default)]
pub(crate) struct When {
    pub(crate) at: Option<String>,
    pub(crate) known_at: Option<String>,
}

/// A day, or the end of the day for `known_at`; or an exact instant.
fn parse_time(text: &str, what: &str) -> Result<Timestamp, Response> {
    if let Ok(day) = Day::from_str(text) {
        return Ok(Timestamp::end_of_day(day));
    }
    Timestamp::from_str(text).map_err(|_| {
        plain(
            StatusCode::BAD_REQUEST,
            format!("{what}={text:?} is neither a date (YYYY-MM-DD) nor an RFC 3339 timestamp"),
        )
    })
}

fn view(shared: &Shared, when: &When) -> Result<View, Response> {
    view_of(shared, when, None)
}

/// The view on the requested dates, of `selection` only (folded from its
/// own entries) when one is given.
pub(crate) fn view_of(
    shared: &Shared,
    when: &When,
    selection: Option<&RecSelection>,
) -> Result<View, Response> {
    let now = Timestamp::now();
    let at = match &when.at {
        Some(text) => Day::of_timestamp(parse_time(text, "at")?),
        None => Day::of_timestamp(now),
    };
    let known = match &when.known_at {
        Some(text) => parse_time(text, "known_at")?,
        None => now,
    };
    let log = shared.log();
    log.view_at(
        selection,
        Cut::KnownAt(known),
        at,
        SnapshotOptions::default(),
    )
    .map_err(|e| plain(StatusCode::INTERNAL_SERVER_ERROR, e))
}

fn query(when: Result<Query<When>, QueryRejection>) -> Result<When, Response> {
    when.map(|q| q.0).map_err(|_| {
        plain(
            StatusCode::BAD_REQUEST,
            "the query parameters are at=DATE and known_at=DATE or TIMESTAMP",
        )
    })
}

fn answer(result: Result<serde_json::Value, Response>) -> Response {
    match result {
        Ok(body) => Json(body).into_response(),
        Err(response) => response,
    }
}

/// Answers a query over the view on the requested dates.
async fn over_view(
    shared: Arc<Shared>,
    when: Result<Query<When>, QueryRejection>,
    answer_for: impl FnOnce(View) -> serde_json::Value + Send + 'static,
) -> Response {
    let when = match query(when) {
        Ok(when) => when,
        Err(response) => return response,
    };
    answer(blocking(&shared, move |s| Ok(answer_for(view(s, &when)?))).await)
}

/// `GET /api/state?at=&known_at=`: every recommendation's state.
pub(crate) async fn state(
    State(shared): State<Arc<Shared>>,
    when: Result<Query<When>, QueryRejection>,
) -> Response {
    over_view(
        shared,
        when,
        |view| json!({ "computed_by_server": true, "state": view }),
    )
    .await
}

/// `GET /api/history/{rec}`: one recommendation's statements, in log order.
pub(crate) async fn history(
    State(shared): State<Arc<Shared>>,
    Path(rec): Path<String>,
) -> Response {
    answer(
        blocking(&shared, move |s| {
            let when = When {
                at: Some("9999-12-31".into()),
                known_at: None,
            };
            let selection = RecSelection {
                recs: Id::new(&rec).into_iter().collect(),
                reports: Vec::new(),
            };
            let view = view_of(s, &when, Some(&selection))?;
            let found = view
                .recs
                .iter()
                .find(|(id, _)| id.as_str() == rec)
                .map(|(_, r)| r)
                .ok_or_else(|| {
                    plain(
                        StatusCode::NOT_FOUND,
                        format!("unknown recommendation {}", crate::routes::printable(&rec)),
                    )
                })?;
            Ok(json!({ "computed_by_server": true, "rec": rec, "history": found.history }))
        })
        .await,
    )
}

/// `GET /api/check?at=&known_at=`: the findings of the auditors' rules,
/// with the default thresholds.
pub(crate) async fn findings(
    State(shared): State<Arc<Shared>>,
    when: Result<Query<When>, QueryRejection>,
) -> Response {
    over_view(shared, when, |view| {
        let findings = check(&view, &CheckConfig::default());
        json!({ "computed_by_server": true, "findings": findings })
    })
    .await
}
