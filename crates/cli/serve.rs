//! `trail serve`: the flags, the served-log marker file and the access log;
//! the server itself is trail-server.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use trail_core::Log;
use trail_server::{Config, Limits, Server, TlsFiles, Tokens};

use crate::Failure;

/// A file in a served log's directory naming the server's URL, so that a
/// local command that finds the log busy can say where it is served.
pub const SERVED_AT_FILE: &str = "SERVED_AT";

/// Flags of `trail serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The log directory to serve; no other process may open it meanwhile.
    #[arg(long, env = "TRAIL_LOG", value_name = "DIR")]
    pub log: PathBuf,
    /// The address to listen on (port 0 picks a free one).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The operator's secret key file: signs the checkpoints that receipts
    /// prove entries against. It must hold the operator role in the log.
    #[arg(long, value_name = "FILE")]
    pub operator_key: PathBuf,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Writes need a bearer token from this file: one `ORGANISATION TOKEN`
    /// pair a line (tokens of at least 16 characters). Reads stay open.
    #[arg(long, value_name = "FILE")]
    pub tokens: Option<PathBuf>,
    /// Entries each signing key may append per UTC day (429 beyond it).
    #[arg(long, value_name = "N")]
    pub quota: Option<u64>,
    /// Refuse every write (503) and serve reads only.
    #[arg(long)]
    pub read_only: bool,
    /// Largest request body, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_body_bytes)]
    pub max_body: usize,
    /// Most connections served at once.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_connections)]
    pub max_connections: usize,
    /// A witness (C2SP tlog-witness URL) to ask for a cosignature of the
    /// checkpoint after accepted batches; repeat for more. The cosigned
    /// checkpoint is served once --quorum of them have cosigned it.
    #[arg(long, value_name = "URL")]
    pub witness: Vec<String>,
    /// How many witnesses must cosign a checkpoint before it is served as cosigned.
    #[arg(long, value_name = "K", default_value_t = 1, requires = "witness")]
    pub quorum: usize,
    /// Seconds a client may take to send a request's headers, and its body.
    #[arg(long, value_name = "SECONDS", default_value_t = Limits::default().read_timeout.as_secs())]
    pub read_timeout: u64,
    /// Print the start and the stop as JSON Lines (the access log stays on standard error).
    #[arg(long)]
    pub json: bool,
}

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
