//! The frame every page shares: the head, the style, the verification
//! banner (which checkpoint the page stands on, and who cosigned it) and
//! the search box.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use trail_core::View;
use trail_core::transparency::parse_checkpoint_note;
use trail_core::types::Id;

use crate::queries::When;
use crate::routes::Shared;

/// Inline, so a page needs nothing else; print-friendly (no banner colours,
/// links shown as text).
const STYLE: &str = r#"
body { font: 16px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 70rem; padding: 0 1rem 3rem; color: #1a1a1a; }
header { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; justify-content: space-between; border-bottom: 1px solid #ccc; padding: .6rem 0; }
header a.home { font-weight: 700; text-decoration: none; color: inherit; }
.banner { font-size: .9rem; color: #333; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1.5rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #e3e3e3; vertical-align: top; }
th { font-size: .85rem; color: #444; }
.error { color: #8b0000; } .warning { color: #7a4b00; } .info { color: #2b4a7a; }
.parts { border-left: 4px solid #b00020; padding: .3rem .7rem; margin: .6rem 0; background: #fff5f5; }
.retracted, .replaced { color: #666; text-decoration: line-through; }
form.when, form.filters { display: flex; flex-wrap: wrap; gap: .8rem; align-items: end; margin: .8rem 0; }
label { display: flex; flex-direction: column; font-size: .85rem; }
nav.pages { display: flex; gap: 1rem; }
@media print { header form, form.when, form.filters, nav.pages { display: none; } a { color: inherit; text-decoration: none; } .parts { background: none; } }
"#;

/// A whole page: `title`, the banner, and `body`.
pub(super) fn page(shared: &Shared, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
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
            html! {
                p.banner {
                    "Verified log of " (cp.size()) " entries, checkpoint root "
                    code { (cp.root().to_base64()) }
                    ", signed by " (signers.join(", "))
                    " (" a href="/checkpoint" { "the checkpoint" } ")"
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
            head { meta charset="utf-8"; title { "trail" } }
            body { p { (text) } p { a href="/" { "Back to the overview" } } }
        }
    };
    (status, Html(markup.into_string())).into_response()
}

/// The name of an actor's body, for people; the id if it has none.
pub(super) fn body_name(view: &View, actor: Option<&Id>) -> String {
    match actor {
        Some(id) => view
            .actors
            .get(id)
            .map_or_else(|| id.to_string(), |a| a.body.clone()),
        None => "an unregistered key".into(),
    }
}

/// An actor's body name, linked to its page.
pub(super) fn body_link(view: &View, actor: Option<&Id>) -> Markup {
    match actor {
        Some(id) => html! { a href=(format!("/body/{id}")) { (body_name(view, Some(id))) } },
        None => html! { (body_name(view, None)) },
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

/// A value of an enum as words: its JSON name with spaces.
pub(super) fn words<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s.replace('_', " "),
        _ => String::new(),
    }
}
