//! trail-server: one process owns a trail log and serves it over HTTP.
//!
//! Writers sign on their own machines against their verified copy of the
//! log and send the canonical bytes of their entries (`POST /add-entries`);
//! the server checks each as `trail append` would and appends the batch
//! durably, or answers 409 when the log moved on meanwhile. Readers fetch
//! the checkpoint and entries and verify them themselves: nothing the
//! server computes is to be trusted. docs/SERVER.md specifies every
//! endpoint.
//!
//! Layers: [`routes`] parses requests, checks tokens and quotas and picks
//! status codes ([`status`]); the library decides what is true; [`listen`]
//! owns sockets, TLS, connection limits, timeouts and shutdown.

#![forbid(unsafe_code)]
// Handlers return `Result<_, Response>`: the error is the answer itself,
// made once per request, so its size costs nothing worth boxing for.
#![allow(clippy::result_large_err)]

mod access;
mod cosigner;
mod listen;
mod pages;
mod queries;
mod routes;
mod status;
mod witness;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use access::Tokens;
pub use cosigner::Witnessing;
pub use pages::{inert, invisible, money, report_document};
use trail_core::{Log, SecretKey};

/// Limits that keep one client from taking the server from the others.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest request body, in bytes (413 beyond it).
    pub max_body_bytes: usize,
    /// Most entries in one `POST /add-entries` batch (413 beyond it).
    pub max_batch: usize,
    /// Most connections served at once; further ones wait to be accepted.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers, and its body.
    pub read_timeout: Duration,
    /// How long in-flight requests may run after a shutdown signal.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_body_bytes: 8 << 20,
            max_batch: 10_000,
            max_connections: 512,
            read_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// A certificate chain and its private key, both PEM files.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
}

/// Everything a server needs.
pub struct Config {
    /// The log it owns; nothing else may write to it while it is served.
    pub log: Log,
    /// Signs the checkpoints that receipts are proven against; must hold the
    /// operator role in the log.
    pub operator_key: SecretKey,
    /// Where to listen.
    pub listen: SocketAddr,
    /// Serve HTTPS with these files instead of plain HTTP.
    pub tls: Option<TlsFiles>,
    /// If set, writes need one of these bearer tokens.
    pub tokens: Option<Tokens>,
    /// Entries each signing key may append per UTC day.
    pub quota_per_day: Option<u64>,
    /// Refuse every write (503), serve reads.
    pub read_only: bool,
    /// Connection and request limits.
    pub limits: Limits,
    /// Witnesses to ask for cosignatures after accepted batches (none: no witnessing).
    pub witnessing: Witnessing,
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// Reading a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The address could not be listened on.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A setting that cannot work.
    #[error("{0}")]
    Config(String),
    /// The log refused something at start or shutdown.
    #[error("{0}")]
    Log(#[from] trail_core::Error),
}

/// A socket bound, with the runtime that will serve it.
struct Bound {
    runtime: tokio::runtime::Runtime,
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    limits: Limits,
}

impl Bound {
    fn new(
        listen: SocketAddr,
        tls: Option<&TlsFiles>,
        limits: Limits,
    ) -> Result<Bound, ServeError> {
        let tls = tls.map(listen::tls_acceptor).transpose()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("trail-serve")
            .build()
            .map_err(|e| ServeError::Config(format!("cannot start the server's threads: {e}")))?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(listen))
            .map_err(|source| ServeError::Listen {
                addr: listen,
                source,
            })?;
        Ok(Bound {
            runtime,
            listener,
            tls,
            limits,
        })
    }

    fn local_addr(&self) -> Result<SocketAddr, ServeError> {
        self.listener
            .local_addr()
            .map_err(|e| ServeError::Config(format!("no local address: {e}")))
    }

    /// Serves `app` until SIGTERM or SIGINT; `stopping` is set when one arrives.
    fn run(
        self,
        app: axum::Router,
        stopping: Arc<std::sync::atomic::AtomicBool>,
    ) -> Result<(), ServeError> {
        let Bound {
            runtime,
            listener,
            tls,
            limits,
        } = self;
        runtime.block_on(listen::serve(listener, tls, app, stopping, limits))
    }
}

/// A server bound to its address, not yet serving.
pub struct Server {
    bound: Bound,
    shared: Arc<routes::Shared>,
}

impl Server {
    /// Checks the configuration and binds the address.
    pub fn bind(config: Config) -> Result<Server, ServeError> {
        let bound = Bound::new(config.listen, config.tls.as_ref(), config.limits)?;
        let witnessing = config.witnessing.clone();
        if !witnessing.urls.is_empty()
            && (witnessing.quorum == 0 || witnessing.quorum > witnessing.urls.len())
        {
            return Err(ServeError::Config(format!(
                "--quorum {} with {} witnesses: ask for between 1 and {} cosignatures",
                witnessing.quorum,
                witnessing.urls.len(),
                witnessing.urls.len()
            )));
        }
        let shared = Arc::new(routes::Shared::new(config)?);
        if !witnessing.urls.is_empty() {
            let for_thread = shared.clone();
            std::thread::Builder::new()
                .name("trail-cosign".into())
                .spawn(move || cosigner::run(for_thread, witnessing))
                .map_err(|e| {
                    ServeError::Config(format!("cannot start the cosigning thread: {e}"))
                })?;
            // The log as it is now gets its cosignatures too.
            shared.wake.poke();
        }
        Ok(Server { bound, shared })
    }

    /// The address actually bound (the port chosen, if 0 was asked for).
    pub fn local_addr(&self) -> Result<SocketAddr, ServeError> {
        self.bound.local_addr()
    }

    /// Whether it serves HTTPS.
    pub fn is_tls(&self) -> bool {
        self.bound.tls.is_some()
    }

    /// Serves until SIGTERM or SIGINT, then refuses new writes, lets the
    /// requests in flight finish (up to the grace period), keeps the latest
    /// checkpoint with the log and returns. Every acknowledged entry was on
    /// disk before it was acknowledged, so a SIGKILL loses none of them.
    pub fn run_until_signal(self) -> Result<(), ServeError> {
        let Server { bound, shared } = self;
        let app = routes::router(shared.clone(), bound.limits);
        // The runtime is dropped inside `run`: the blocking store calls of
        // the last requests are done before the checkpoint is kept.
        bound.run(app, shared.shutting_down.clone())?;
        shared.shut_down()?;
        Ok(())
    }
}

/// What a witness server needs.
pub struct WitnessConfig {
    /// The witness: its key, the logs it watches and its state.
    pub witness: trail_core::witness::Witness,
    /// Where to listen.
    pub listen: SocketAddr,
    /// Serve HTTPS with these files instead of plain HTTP.
    pub tls: Option<TlsFiles>,
    /// Connection and request limits.
    pub limits: Limits,
}

/// A C2SP tlog-witness server bound to its address, not yet serving.
pub struct WitnessServer {
    bound: Bound,
    witness: Arc<trail_core::witness::Witness>,
}

impl WitnessServer {
    /// Binds the address.
    pub fn bind(config: WitnessConfig) -> Result<WitnessServer, ServeError> {
        let bound = Bound::new(config.listen, config.tls.as_ref(), config.limits)?;
        Ok(WitnessServer {
            bound,
            witness: Arc::new(config.witness),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> Result<SocketAddr, ServeError> {
        self.bound.local_addr()
    }

    /// Serves `POST /add-checkpoint` until SIGTERM or SIGINT. Each
    /// cosignature is returned only after the state it implies is on disk.
    pub fn run_until_signal(self) -> Result<(), ServeError> {
        let app = witness::router(self.witness, self.bound.limits);
        self.bound
            .run(app, Arc::new(std::sync::atomic::AtomicBool::new(false)))
    }
}
