//! Pages for people who will never run a CLI (issue 14, first part): the
//! overview, one recommendation's record, and search, rendered on the
//! server. maud escapes every value by construction; the pages need no
//! script and load nothing from anywhere else (the style is inline).
//!
//! Each page is computed from verified entries only, as the JSON answers
//! are (`queries.rs`), and says which checkpoint it stands on.

mod body;
mod layout;
mod overview;
mod parts;
mod rec;
mod report;
mod search;
mod text;
mod timeline;

pub use report::document as report_document;
pub use text::{inert, invisible, money};

use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use trail_core::check::Rule;

use crate::routes::Shared;

/// Rules that compare several recommendations: a view of a few cannot
/// judge them, so only pages built on the whole log show them.
pub(super) const ACROSS_RECOMMENDATIONS: [Rule; 2] = [Rule::ListMismatch, Rule::FundingUnlinked];

/// The page routes, merged into the server's router.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/", get(overview::handler))
        .route("/rec/{rec}", get(rec::handler))
        .route("/rec/{rec}/record", get(rec::record))
        .route("/proof/{seq}", get(rec::proof))
        .route("/search", get(search::handler))
        .route("/body/{actor}", get(body::handler))
}
