//! HTTP requests to a served log, and what their answers mean.

use std::time::Duration;

use std::path::Path;

use serde::Deserialize;
use ureq::tls::{PemItem, RootCerts};

use crate::Failure;

/// Largest answer read from a server: a full entry bundle of maximum-size
/// entries, and some.
const MAX_ANSWER: u64 = 256 * 65_537 + 4096;

/// A served log at a base URL.
#[derive(Clone)]
pub struct Server {
    base: String,
    agent: ureq::Agent,
    token: Option<String>,
}

/// One accepted entry of `POST /add-entries`.
#[derive(Deserialize)]
pub struct Accepted {
    /// Its seq.
    pub seq: u64,
    /// Its hash, in hex.
    pub hash: String,
    /// A tlog-proof of it against a signed checkpoint.
    pub receipt: String,
}

#[derive(Deserialize)]
struct AddAnswer {
    entries: Vec<Accepted>,
}

/// Why a batch was not accepted.
pub enum Refusal {
    /// The log moved on: fetch, check and sign again.
    HeadMoved,
    /// No answer arrived (connection refused or dropped, a timeout): the
    /// server may or may not have appended the batch.
    Transport(Failure),
    /// Anything else, with the status and the server's reason.
    Other(Failure),
}

/// A server's reason for a refusal, fit for one line of ours: its first
/// line, with control characters escaped, cut at 200 characters.
pub fn reason(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let mut line: String = crate::output::safe(first).chars().take(200).collect();
    if line.len() < crate::output::safe(first).len() {
        line.push('…');
    }
    line
}

/// Largest answer to `POST /add-entries`: receipts carry each entry, its
/// path and the checkpoint, about three times the largest body.
const MAX_RECEIPTS: u64 = 64 << 20;

impl Server {
    /// A client for the log served at `url` (`http://` or `https://`); an
    /// HTTPS server's certificate must chain to the usual web roots, or to
    /// the PEM certificates of `ca_cert` if given.
    pub fn new(
        url: &str,
        token: Option<String>,
        ca_cert: Option<&Path>,
    ) -> Result<Server, Failure> {
        let base = url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Failure::input(format!(
                "--remote {url:?}: give the server's URL, e.g. http://127.0.0.1:8080"
            )));
        }
        let mut config = ureq::Agent::config_builder();
        if let Some(path) = ca_cert {
            config = config.tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(RootCerts::new_with_certs(&read_certificates(path)?))
                    .build(),
            );
        }
        let agent = config
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        Ok(Server { base, agent, token })
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    fn unreachable(&self, e: ureq::Error) -> Failure {
        Failure::input(format!("{}: {e}", self.base))
    }

    /// `GET path` for a static file: its bytes, or `None` if there is none (404).
    pub fn file(&self, path: &str) -> Result<Option<Vec<u8>>, Failure> {
        let url = format!("{}/{path}", self.base);
        let mut response = self
            .agent
            .get(&url)
            .call()
            .map_err(|e| self.unreachable(e))?;
        let status = response.status();
        if status.as_u16() == 404 {
            return Ok(None);
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_vec()
            .map_err(|e| self.unreachable(e))?;
        if !status.is_success() {
            return Err(Failure::input(format!(
                "{url}: the server answered {status}: {}",
                reason(&body)
            )));
        }
        Ok(Some(body))
    }

    /// `POST path` with a text body: the status and the answer's bytes.
    pub fn post_text(&self, path: &str, body: &[u8]) -> Result<(u16, Vec<u8>), Failure> {
        let url = format!("{}/{path}", self.base);
        let mut response = self
            .agent
            .post(&url)
            .header("Content-Type", "text/plain; charset=utf-8")
            .send(body)
            .map_err(|e| self.unreachable(e))?;
        let status = response.status().as_u16();
        let answer = response
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_vec()
            .map_err(|e| self.unreachable(e))?;
        Ok((status, answer))
    }

    /// `POST /add-entries` with one batch.
    pub fn add_entries(
        &self,
        entries: &[Vec<u8>],
        allow_future_dates: bool,
    ) -> Result<Vec<Accepted>, Refusal> {
        let body = trail_core::tiles::entry_bundle::encode(entries.iter().map(Vec::as_slice))
            .map_err(|e| Refusal::Other(e.into()))?;
        let mut url = format!("{}/add-entries", self.base);
        if allow_future_dates {
            url.push_str("?allow_future_dates=true");
        }
        let mut request = self
            .agent
            .post(&url)
            .header("Content-Type", "application/octet-stream");
        if let Some(token) = &self.token {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        let mut response = request
            .send(&body[..])
            .map_err(|e| Refusal::Transport(self.unreachable(e)))?;
        let status = response.status();
        let answer = response
            .body_mut()
            .with_config()
            .limit(MAX_RECEIPTS)
            .read_to_vec()
            .map_err(|e| Refusal::Transport(self.unreachable(e)))?;
        if status.as_u16() == 409 {
            return Err(Refusal::HeadMoved);
        }
        if !status.is_success() {
            let reason = reason(&answer);
            return Err(Refusal::Other(Failure::input(format!(
                "{}: the server refused the entries ({status}): {reason}",
                self.base
            ))));
        }
        let answer: AddAnswer = serde_json::from_slice(&answer).map_err(|e| {
            Refusal::Other(Failure::input(format!(
                "{url}: not an add-entries answer: {e}"
            )))
        })?;
        Ok(answer.entries)
    }
}

/// The certificates of a PEM file, to trust as roots.
fn read_certificates(path: &Path) -> Result<Vec<ureq::tls::Certificate<'static>>, Failure> {
    let bad = |what: String| Failure::input(format!("{}: {what}", path.display()));
    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        if let PemItem::Certificate(cert) = item.map_err(|e| bad(e.to_string()))? {
            certs.push(cert);
        }
    }
    if certs.is_empty() {
        return Err(bad("no PEM certificate in the file".into()));
    }
    Ok(certs)
}
