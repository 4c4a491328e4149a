//! The HTTP API (docs/SERVER.md): parsing, tokens, quotas, status codes and
//! wording. What is true is the library's to decide; every store call runs
//! on the blocking pool so that a slow disk does not stall other requests.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use trail_core::transparency::{
    inclusion_proof_file, parse_checkpoint_note, sign_checkpoint, sign_checkpoint_at,
};
use trail_core::{AppendOptions, Arrival, Entry, Log, PublicKey, SecretKey, Timestamp};

use crate::access::{Quotas, Tokens};
use crate::{Config, Limits, ServeError};

/// Most entries one `GET /entries` answer holds.
pub(crate) const MAX_ENTRIES_PER_READ: u64 = 4096;
/// The size past which a `GET /entries` answer takes no more entries.
const MAX_ENTRIES_BODY: usize = 8 << 20;

/// What every request handler shares.
pub(crate) struct Shared {
    log: Log,
    operator_key: SecretKey,
    tokens: Option<Tokens>,
    quotas: Quotas,
    read_only: bool,
    /// Set once a shutdown signal arrives: writes are refused from then on.
    pub(crate) shutting_down: Arc<AtomicBool>,
    /// The newest checkpoint signed, with its size.
    checkpoint: Mutex<Option<(u64, Arc<[u8]>)>>,
    /// The newest checkpoint the witnesses cosigned to a quorum, with its size.
    cosigned: Mutex<Option<(u64, Arc<[u8]>)>>,
    /// Wakes the cosigning thread after a batch (`trail serve --witness`).
    pub(crate) wake: crate::cosigner::Wake,
    /// Whether witnesses are asked at all.
    witnessed: bool,
}

impl Shared {
    pub(crate) fn new(config: Config) -> Result<Shared, ServeError> {
        let shared = Shared {
            log: config.log,
            operator_key: config.operator_key,
            tokens: config.tokens,
            quotas: Quotas::new(config.quota_per_day),
            read_only: config.read_only,
            shutting_down: Arc::new(AtomicBool::new(false)),
            checkpoint: Mutex::new(None),
            cosigned: Mutex::new(None),
            wake: crate::cosigner::Wake::default(),
            witnessed: !config.witnessing.urls.is_empty(),
        };
        // Refuses an operator key without the operator role before serving anything.
        shared.checkpoint_at(shared.log.tree_size())?;
        Ok(shared)
    }

    /// The checkpoint of the first `size` entries, signed by the operator.
    /// Signing is deterministic, so the same size always gives the same note.
    fn checkpoint_at(&self, size: u64) -> Result<Arc<[u8]>, trail_core::Error> {
        {
            let cached = self.checkpoint.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((cached_size, note)) = cached.as_ref()
                && *cached_size == size
            {
                return Ok(note.clone());
            }
        }
        let note: Arc<[u8]> = sign_checkpoint_at(&self.log, &self.operator_key, size)?
            .to_bytes()
            .into();
        let mut cached = self.checkpoint.lock().unwrap_or_else(|p| p.into_inner());
        if cached.as_ref().is_none_or(|(s, _)| *s < size) {
            *cached = Some((size, note.clone()));
        }
        Ok(note)
    }

    /// The log served.
    pub(crate) fn log(&self) -> &Log {
        &self.log
    }

    /// The operator's key.
    pub(crate) fn operator_key(&self) -> &SecretKey {
        &self.operator_key
    }

    /// Serves `note` (cosigned to a quorum) as the checkpoint of `size`,
    /// unless a newer one is served; says whether it is now the newest.
    pub(crate) fn set_cosigned(&self, size: u64, note: Arc<[u8]>) -> bool {
        let mut cosigned = self.cosigned.lock().unwrap_or_else(|p| p.into_inner());
        let newest = cosigned.as_ref().is_none_or(|(s, _)| *s < size);
        if newest {
            *cosigned = Some((size, note));
        }
        newest
    }

    /// The newest checkpoint cosigned to a quorum, with its size.
    fn cosigned(&self) -> Option<(u64, Arc<[u8]>)> {
        self.cosigned
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The checkpoint to publish for `size`: the witnesses' cosigned one if
    /// they have cosigned this size, else the operator's alone.
    pub(crate) fn published_checkpoint(&self, size: u64) -> Result<Arc<[u8]>, trail_core::Error> {
        let cosigned = self.cosigned();
        match cosigned {
            Some((cosigned_size, note)) if cosigned_size == size => Ok(note),
            _ => self.checkpoint_at(size),
        }
    }

    /// The size of the log's durable prefix: entries past it may still be
    /// waiting for their flush and are not served.
    pub(crate) fn durable_size(&self) -> Result<u64, trail_core::Error> {
        let size = self.log.tree_size();
        self.log.settle()?;
        Ok(size)
    }

    /// Keeps the newest checkpoint with the log, for the local commands that
    /// read it after the server stops.
    pub(crate) fn shut_down(&self) -> Result<(), ServeError> {
        let size = self.log.tree_size();
        let cosigned = self.cosigned();
        match cosigned {
            // The cosigned checkpoint of the whole log is already kept.
            Some((cosigned_size, _)) if cosigned_size == size => {}
            _ => {
                sign_checkpoint(&self.log, &self.operator_key)?;
            }
        }
        Ok(())
    }
}

pub(crate) fn router(shared: Arc<Shared>, limits: Limits) -> Router {
    Router::new()
        .route("/head", get(head))
        .route("/checkpoint", get(checkpoint))
        .route("/entries", get(entries))
        .route("/add-entries", post(add_entries))
        .route("/tile/{*path}", get(tile))
        .route("/api/state", get(crate::queries::state))
        .route("/api/history/{rec}", get(crate::queries::history))
        .route("/api/check", get(crate::queries::findings))
        .merge(crate::pages::routes())
        .fallback(|| async {
            plain(
                StatusCode::NOT_FOUND,
                "no such endpoint; see docs/SERVER.md",
            )
        })
        .layer(axum::Extension(limits))
        // Reads are public: any web page may fetch them, as from a CDN.
        .layer(
            tower_http::cors::CorsLayer::new()
                .allow_origin(tower_http::cors::Any)
                .allow_methods([axum::http::Method::GET, axum::http::Method::HEAD]),
        )
        .with_state(shared)
}

/// A one-line plain-text answer.
pub(crate) fn plain(status: StatusCode, reason: impl std::fmt::Display) -> Response {
    let mut line = reason.to_string().replace(['\n', '\r'], " ");
    line.push('\n');
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        line,
    )
        .into_response()
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Runs a store call on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    shared: &Arc<Shared>,
    f: impl FnOnce(&Shared) -> Result<T, Response> + Send + 'static,
) -> Result<T, Response> {
    let shared = shared.clone();
    tokio::task::spawn_blocking(move || f(&shared))
        .await
        .unwrap_or_else(|_| {
            Err(plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the request failed inside the server",
            ))
        })
}

pub(crate) fn internal(e: trail_core::Error) -> Response {
    tracing::error!(error = %e, "store read failed");
    plain(StatusCode::INTERNAL_SERVER_ERROR, e)
}

async fn head(State(shared): State<Arc<Shared>>) -> Response {
    let answer = blocking(&shared, |s| {
        let size = s.durable_size().map_err(internal)?;
        let last = s
            .log
            .entry_bytes(size.saturating_sub(1), size.saturating_sub(1))
            .next()
            .transpose()
            .map_err(internal)?;
        let hash = last
            .filter(|_| size > 0)
            .map(|b| trail_core::entry_hash(&b))
            .unwrap_or_default();
        let note = s.published_checkpoint(size).map_err(internal)?;
        Ok(json!({
            "size": size,
            "head": hash.to_string(),
            "checkpoint": String::from_utf8_lossy(&note),
        }))
    })
    .await;
    no_store(match answer {
        Ok(body) => Json(body).into_response(),
        Err(response) => response,
    })
}

async fn checkpoint(State(shared): State<Arc<Shared>>) -> Response {
    let answer = blocking(&shared, |s| {
        let size = s.durable_size().map_err(internal)?;
        s.published_checkpoint(size).map_err(internal)
    })
    .await;
    no_store(match answer {
        Ok(note) => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            note.to_vec(),
        )
            .into_response(),
        Err(response) => response,
    })
}

/// `GET /tile/...`: a hash tile or entry bundle (C2SP tlog-tiles). Full
/// tiles never change and may be cached for a year; partial ones may not.
async fn tile(State(shared): State<Arc<Shared>>, uri: axum::http::Uri) -> Response {
    let path = uri.path().trim_start_matches('/').to_owned();
    let Ok(tile) = trail_core::tiles::Tile::parse(&path) else {
        return plain(
            StatusCode::NOT_FOUND,
            "no such tile (c2sp.org/tlog-tiles paths only)",
        );
    };
    let answer = blocking(&shared, move |s| s.log.tile_bytes(&tile).map_err(internal)).await;
    let cache = if tile.is_full() {
        "public, max-age=31536000, immutable"
    } else {
        "no-store"
    };
    match answer {
        Ok(Some(bytes)) => (
            [
                (header::CONTENT_TYPE, "application/octet-stream"),
                (header::CACHE_CONTROL, cache),
            ],
            bytes,
        )
            .into_response(),
        Ok(None) => no_store(plain(
            StatusCode::NOT_FOUND,
            "the log does not have this tile yet",
        )),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
struct Range {
    start: u64,
    limit: Option<u64>,
}

async fn entries(
    State(shared): State<Arc<Shared>>,
    query: Result<Query<Range>, QueryRejection>,
) -> Response {
    let Ok(Query(range)) = query else {
        return plain(
            StatusCode::BAD_REQUEST,
            "give ?start=SEQ (and optionally &limit=N)",
        );
    };
    let answer = blocking(&shared, move |s| {
        let size = s.durable_size().map_err(internal)?;
        let limit = range
            .limit
            .unwrap_or(MAX_ENTRIES_PER_READ)
            .clamp(1, MAX_ENTRIES_PER_READ);
        let end = range.start.saturating_add(limit).min(size);
        let mut body = Vec::new();
        if range.start < end {
            for bytes in s.log.entry_bytes(range.start, end - 1) {
                let bytes = bytes.map_err(internal)?;
                trail_core::tiles::entry_bundle::push(&mut body, &bytes).map_err(internal)?;
                // Big entries: stop at a few MiB; the client asks again from there.
                if body.len() >= MAX_ENTRIES_BODY {
                    break;
                }
            }
        }
        Ok((size, body))
    })
    .await;
    no_store(match answer {
        Ok((size, body)) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                ),
                (
                    header::HeaderName::from_static("trail-size"),
                    HeaderValue::from(size),
                ),
            ],
            body,
        )
            .into_response(),
        Err(response) => response,
    })
}

#[derive(Deserialize, Default)]
struct AddOptions {
    allow_future_dates: Option<bool>,
}

async fn add_entries(
    State(shared): State<Arc<Shared>>,
    axum::Extension(limits): axum::Extension<Limits>,
    query: Result<Query<AddOptions>, QueryRejection>,
    request: Request,
) -> Response {
    let Ok(Query(options)) = query else {
        return plain(
            StatusCode::BAD_REQUEST,
            "the only query parameter is allow_future_dates=true",
        );
    };
    match add_entries_checked(shared, limits, options, request).await {
        Ok(response) | Err(response) => response,
    }
}

async fn add_entries_checked(
    shared: Arc<Shared>,
    limits: Limits,
    options: AddOptions,
    request: Request,
) -> Result<Response, Response> {
    if shared.read_only {
        return Err(plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "this log is served read-only",
        ));
    }
    if shared.shutting_down.load(Ordering::SeqCst) {
        return Err(plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down; try again shortly",
        ));
    }
    let (parts, body) = request.into_parts();
    if let Some(tokens) = &shared.tokens {
        authorize(tokens, &parts.headers)?;
    }
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if content_type.map(|t| t.split(';').next().unwrap_or("").trim())
        != Some("application/octet-stream")
    {
        return Err(plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be application/octet-stream: entries, each after its length as a big-endian u16",
        ));
    }
    let bytes = read_body(body, limits).await?;
    let batch = trail_core::tiles::entry_bundle::decode(&bytes, limits.max_batch).map_err(|e| {
        let status = match e {
            trail_core::tiles::entry_bundle::BundleFramingError::TooMany { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            _ => StatusCode::BAD_REQUEST,
        };
        plain(status, e)
    })?;
    if batch.is_empty() {
        return Err(plain(StatusCode::BAD_REQUEST, "the body holds no entries"));
    }
    let append_options = if options.allow_future_dates == Some(true) {
        AppendOptions::allowing_future_dates()
    } else {
        AppendOptions::default()
    };
    let witnessed = shared.witnessed;
    let receipts = blocking(&shared, move |s| {
        // Reserved before the append, so concurrent batches cannot together
        // pass a quota; given back if the batch is refused.
        let now = Timestamp::now();
        refuse_operator_change(&batch, &s.operator_key.public_key())?;
        let counts = match s.quotas.is_on() {
            true => signers(&s.log, &batch)?,
            false => HashMap::new(),
        };
        s.quotas.reserve(&counts, now).map_err(over_quota)?;
        let signed = s
            .log
            .append_signed_batch(batch, Arrival::Submitted(append_options))
            .map_err(|e| {
                s.quotas.release(&counts, now);
                refused(e)
            })?;
        // A resent batch wrote nothing: it does not count.
        if !signed.written {
            s.quotas.release(&counts, now);
        }
        let appended = signed.appended;
        let size = appended.last().map_or(0, |a| a.seq + 1);
        let note = s.checkpoint_at(size).map_err(internal)?;
        let (note, _) = parse_checkpoint_note(&note).map_err(|e| internal(e.into()))?;
        let mut out = Vec::with_capacity(appended.len());
        for a in &appended {
            let receipt =
                inclusion_proof_file(&s.log, a.seq, size, note.clone()).map_err(internal)?;
            out.push(json!({
                "seq": a.seq,
                "hash": a.hash.to_string(),
                "receipt": String::from_utf8_lossy(&receipt),
            }));
        }
        Ok(out)
    })
    .await?;
    if witnessed {
        shared.wake.poke();
    }
    Ok(Json(json!({ "entries": receipts })).into_response())
}

/// Refuses a batch that would revoke or rotate away the key this server
/// signs checkpoints with: it could sign no receipt for it, nor anything
/// after. The operator changes keys with the server stopped, then serves
/// with the new one.
fn refuse_operator_change(batch: &[Vec<u8>], operator: &PublicKey) -> Result<(), Response> {
    for bytes in batch {
        let Ok(entry) = Entry::from_bytes(bytes) else {
            continue;
        };
        let takes_it = match entry.event() {
            trail_core::Event::KeyRevoked(r) => r.public_key == *operator,
            trail_core::Event::KeyRotated(_) => entry.unsigned.signer == *operator,
            _ => false,
        };
        if takes_it {
            return Err(plain(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "seq {}: the entry would take the operator role from the key serving this log; \
                     stop the server, change the key with trail revoke or trail rotate on the log, \
                     and serve it with the new operator key",
                    entry.unsigned.seq
                ),
            ));
        }
    }
    Ok(())
}

/// The answer to a batch over a signing key's daily quota.
fn over_quota(retry_after: u64) -> Response {
    let mut response = plain(
        StatusCode::TOO_MANY_REQUESTS,
        "a signing key of this batch has used its quota of entries for today (UTC)",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

/// The answer to a batch the library refused.
fn refused(e: trail_core::Error) -> Response {
    let status = crate::status::of_append_error(&e);
    if status.is_server_error() {
        tracing::error!(error = %e, "append failed");
    }
    let mut response = plain(status, &e);
    if let trail_core::Error::HeadMoved { size, head } = e {
        let headers = response.headers_mut();
        headers.insert("trail-size", HeaderValue::from(size));
        if let Ok(value) = HeaderValue::from_str(&head.to_string()) {
            headers.insert("trail-head", value);
        }
    }
    response
}

fn authorize(tokens: &Tokens, headers: &HeaderMap) -> Result<(), Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match token.and_then(|t| tokens.organisation(t.trim())) {
        Some(_) => Ok(()),
        None => {
            let mut response = plain(
                StatusCode::UNAUTHORIZED,
                "writing to this log needs a bearer token (Authorization: Bearer TOKEN)",
            );
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            Err(response)
        }
    }
}

/// Reads the whole body within the read timeout and the size limit.
pub(crate) async fn read_body(body: Body, limits: Limits) -> Result<Bytes, Response> {
    match tokio::time::timeout(
        limits.read_timeout,
        axum::body::to_bytes(body, limits.max_body_bytes),
    )
    .await
    {
        Err(_) => Err(plain(
            StatusCode::REQUEST_TIMEOUT,
            "the body took too long to arrive",
        )),
        Ok(Err(e)) => {
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            let mut too_big = false;
            while let Some(c) = cause {
                too_big |= c.is::<http_body_util::LengthLimitError>();
                cause = c.source();
            }
            if too_big {
                Err(plain(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the body is larger than {} bytes", limits.max_body_bytes),
                ))
            } else {
                Err(plain(StatusCode::BAD_REQUEST, "the body could not be read"))
            }
        }
        Ok(Ok(bytes)) => Ok(bytes),
    }
}

/// How many entries of the batch each registered key signed; refuses
/// bytes that are not entries. Keys the log does not know are not counted
/// (their entries are refused anyway), so made-up keys cannot grow the
/// quota table.
fn signers(log: &Log, batch: &[Vec<u8>]) -> Result<HashMap<PublicKey, u64>, Response> {
    let mut counts = HashMap::new();
    for (index, bytes) in batch.iter().enumerate() {
        let entry = Entry::from_bytes(bytes).map_err(|e| {
            plain(
                StatusCode::BAD_REQUEST,
                format!("entry {} of the batch cannot be decoded: {e}", index + 1),
            )
        })?;
        *counts.entry(entry.unsigned.signer).or_insert(0) += 1;
    }
    log.with_authority(|a| counts.retain(|key, _| a.keys.contains_key(key)))
        .map_err(|e| plain(crate::status::of_append_error(&e), e))?;
    Ok(counts)
}

/// A request path fit for one log line: control characters escaped, cut at 200 characters.
pub(crate) fn printable(path: &str) -> String {
    path.chars()
        .take(200)
        .flat_map(char::escape_default)
        .collect()
}
