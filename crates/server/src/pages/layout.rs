//! The frame every page shares: the head, the style, the verification
//! banner (which checkpoint the page stands on, and who cosigned it) and
//! the search box.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use trail_core::Id;
use trail_core::View;
use trail_core::transparency::parse_checkpoint_note;

use super::text::{inert, percent};
use crate::queries::When;
use crate::routes::Shared;

/// Inline, so a page needs nothing else; print-friendly (no banner colours,
/// no forms, links shown as text). Shared with `trail report --format html`.
pub(crate) const STYLE: &str = include_str!("style.css");

/// A whole page: `title`, the banner, and `body`.
pub(super) fn page(shared: &Shared, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // An empty icon, so the browser asks the server for no favicon.
                link rel="icon" href="data:,";
                title { (title) " · trail" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    a.home href="/" { "trail: the public record" }
                    (banner(shared))
                    form role="search" action="/search" method="get" {
                        label { "Search" input type="search" name="q"; }
                    }
                }
                main { (body) }
            }
        }
    };
    Html(markup.into_string()).into_response()
}

/// Which checkpoint the page stands on: its size, root and signers.
fn banner(shared: &Shared) -> Markup {
    let checkpoint = shared
        .durable_size()
        .and_then(|size| shared.published_checkpoint(size));
    let parsed = checkpoint
        .ok()
        .and_then(|note| parse_checkpoint_note(&note).ok());
    match parsed {
        Some((note, cp)) => {
            let signers: Vec<&str> = note.signatures().iter().map(|s| s.name()).collect();
            let whole = shared.log().last_whole_verification().ok().flatten();
            html! {
                p.banner {
                    "Verified log of " (cp.size()) " entries, checkpoint root "
                    code { (cp.root().to_base64()) }
                    ", signed by " (signers.join(", "))
                    " (" a href="/checkpoint" { "the checkpoint" } "). "
                    @match whole {
                        Some((at, seq)) => {
                            "The whole log was last verified from its first entry on "
                            (at.0.strftime("%Y-%m-%d %H:%M UTC")) ", up to seq " (seq)
                            "; every entry since was verified as it was appended."
                        }
                        None => { "The whole log has not been verified from its first entry yet." }
                    }
                }
            }
        }
        None => html! { p.banner { "No signed checkpoint yet." } },
    }
}

/// The two time axes as a page's form sends them (empty means "now").
#[derive(serde::Deserialize, Default)]
pub(super) struct Axes {
    pub(super) at: Option<String>,
    pub(super) known_at: Option<String>,
}

impl Axes {
    /// The same, as the JSON answers take them.
    pub(super) fn when(&self) -> When {
        let given = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
        When {
            at: given(&self.at),
            known_at: given(&self.known_at),
        }
    }

    /// `known_at` as typed, for the form.
    pub(super) fn known(&self) -> String {
        self.known_at.clone().unwrap_or_default()
    }
}

/// A plain page for a request the server cannot answer.
pub(super) fn problem(status: StatusCode, text: &str) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; link rel="icon" href="data:,"; title { "trail" } }
            body { p { (text) } p { a href="/" { "Back to the overview" } } }
        }
    };
    (status, Html(markup.into_string())).into_response()
}

/// The name of an actor's body, for people; the id if it has none.
pub(crate) fn body_name(view: &View, actor: Option<&Id>) -> String {
    match actor {
        Some(id) => view
            .actors
            .get(id)
            .map_or_else(|| id.to_string(), |a| inert(&a.body)),
        None => "an unregistered key".into(),
    }
}

/// Where a page's links go: to the server's other pages, or, in a report
/// written to a file, to its own sections (a file has no server behind it).
pub(crate) enum Links {
    /// Served pages, at the view's effective date.
    Served { at: String },
    /// One self-contained document.
    File,
}

impl Links {
    /// A recommendation's page, or its section of the document.
    pub(crate) fn rec(&self, rec: &Id) -> String {
        match self {
            Links::Served { at } => format!("/rec/{}?at={at}", percent(rec.as_str())),
            Links::File => format!("#rec-{rec}"),
        }
    }

    /// A seq, linked to the entry's canonical bytes and its inclusion
    /// proof where a server can give them.
    pub(crate) fn seq(&self, seq: u64) -> Markup {
        match self {
            Links::Served { .. } => html! {
                a href=(format!("/entries?start={seq}&limit=1")) title="the entry's canonical bytes" { (seq) }
                " " small { a href=(format!("/proof/{seq}")) title="its inclusion proof in the signed checkpoint" { "proof" } }
            },
            Links::File => html! { (seq) },
        }
    }
}

/// An actor's body name, linked to its page when served.
pub(crate) fn body_link(view: &View, actor: Option<&Id>, links: &Links) -> Markup {
    match (actor, links) {
        (Some(id), Links::Served { .. }) => {
            html! { a href=(format!("/body/{}", percent(id.as_str()))) { (body_name(view, Some(id))) } }
        }
        _ => html! { (body_name(view, actor)) },
    }
}

/// The form for both time axes, keeping `extra` query fields.
pub(super) fn when_form(action: &str, at: &str, known_at: &str, extra: Markup) -> Markup {
    html! {
        form.when action=(action) method="get" {
            label { "As on (effective date)" input type="date" name="at" value=(at); }
            label { "As known at (recorded)" input type="date" name="known_at" value=(known_at); }
            (extra)
            button type="submit" { "Show" }
        }
    }
}

pub(crate) use trail_core::words;
