//! `trail serve`: the flags, the served-log marker file and the access log;
//! the server itself is trail-server.

use std::io::Write;
use std::path::Path;

use trail_core::Log;
use trail_server::{Config, Limits, Server, TlsFiles, Tokens};

use crate::Failure;
use crate::args::ServeArgs;

/// A file in a served log's directory naming the server's URL, so that a
/// local command that finds the log busy can say where it is served.
pub const SERVED_AT_FILE: &str = "SERVED_AT";

fn serve_failure(e: trail_server::ServeError) -> Failure {
    match e {
        trail_server::ServeError::Log(e) => e.into(),
        other => Failure::input(other.to_string()),
    }
}

pub fn run(args: &ServeArgs) -> Result<(), Failure> {
    init_access_log();
    let operator_key = crate::keyfile::load(&args.operator_key)?;
    let tokens = args
        .tokens
        .as_deref()
        .map(Tokens::read)
        .transpose()
        .map_err(serve_failure)?;
    let log = Log::open(&args.log)?;
    // The whole log is verified before anything is served: queries read
    // from the verified prefix, and the pages' banner says when this was.
    log.verify_with(|_| Ok(()))?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    };
    let limits = Limits {
        max_body_bytes: args.max_body,
        max_connections: args.max_connections,
        read_timeout: std::time::Duration::from_secs(args.read_timeout.max(1)),
        ..Limits::default()
    };
    let server = Server::bind(Config {
        log,
        operator_key,
        listen: args.listen,
        tls,
        tokens,
        quota_per_day: args.quota,
        read_only: args.read_only,
        limits,
        witnessing: trail_server::Witnessing {
            urls: args.witness.clone(),
            quorum: args.quorum,
        },
    })
    .map_err(serve_failure)?;
    let scheme = if server.is_tls() { "https" } else { "http" };
    let url = format!("{scheme}://{}", server.local_addr().map_err(serve_failure)?);
    let marker = args.log.join(SERVED_AT_FILE);
    // Best effort: the marker only improves a message.
    let _ = std::fs::write(&marker, format!("{url}\n"));
    if args.json {
        crate::output::json_line(
            "serving",
            serde_json::json!({ "log": args.log.display().to_string(), "url": url }),
        )?;
    } else {
        let mut out = std::io::stdout().lock();
        writeln!(out, "serving {} at {url}", args.log.display())?;
        out.flush()?;
    }
    let result = server.run_until_signal().map_err(serve_failure);
    let _ = std::fs::remove_file(&marker);
    result?;
    match args.json {
        true => crate::output::json_line("stopped", serde_json::json!({ "url": url }))?,
        false => crate::output::line("stopped; every acknowledged entry is on disk")?,
    }
    Ok(())
}

/// The URL a busy log is served at, if a server said so.
pub fn served_at(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(SERVED_AT_FILE)).ok()?;
    let url = text.trim();
    (url.starts_with("http://") || url.starts_with("https://")).then(|| url.to_owned())
}

/// The access log and the server's own events, on standard error, one
/// line each; RUST_LOG picks what is shown (default: info).
pub fn init_access_log() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}
