//! Command-line arguments: every command, flag and its help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use trail_core::{Day, Id, PublicKey, Role};

/// `trail --version`: the program's version and the formats it writes and
/// reads (tests/cli_help.rs checks the numbers against the library's).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (entry format 1, and 2 for a genesis that names its origin; bundle format 1; \
     C2SP checkpoints, tlog-proof, tlog-tiles, tlog-witness)"
);

/// trail: a tamper-evident ledger of recommendations and what became of them.
///
/// Every statement (a recommendation issued, a response, a funding decision, a
/// progress claim, an assessment) is a signed entry chained to the one before,
/// so nobody can change or remove one without every auditor noticing.
///
/// Exit codes: 0 ok; 1 verification failed; 2 usage, input or I/O error;
/// 3 `trail check` findings reached --fail-on.
#[derive(Parser, Debug)]
#[command(name = "trail", version = VERSION, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The log: a directory (--log or TRAIL_LOG), or a served log (--remote),
/// read through a verified copy on this machine.
#[derive(Args, Debug, Clone)]
pub struct LogArg {
    /// The log directory.
    #[arg(long, env = "TRAIL_LOG", value_name = "DIR")]
    pub log: Option<PathBuf>,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// A served log, and where its verified copy is kept.
#[derive(Args, Debug, Clone)]
pub struct RemoteArgs {
    /// A log served by `trail serve`, e.g. https://trail.example.org: its
    /// entries are fetched and verified here, never taken on trust. Wins
    /// over --log and TRAIL_LOG.
    #[arg(long, value_name = "URL")]
    pub remote: Option<String>,
    /// Where verified copies of served logs are kept (default: the user's
    /// cache directory, e.g. ~/.cache/trail).
    #[arg(long, env = "TRAIL_CACHE", value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Trust the HTTPS certificate of --remote if it chains to a
    /// certificate in this PEM file (a private CA), not only to the web's roots.
    #[arg(long, env = "TRAIL_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
}

impl LogArg {
    /// The directory to read: the log itself, or the verified copy of the
    /// served log brought up to date.
    pub fn dir(&self) -> Result<PathBuf, crate::Failure> {
        match (&self.remote.remote, &self.log) {
            (Some(url), _) => {
                let server = crate::remote::Server::new(url, None, self.remote.ca_cert.as_deref())?;
                crate::remote::sync(&server, self.remote.cache.as_deref(), false)
            }
            (None, Some(dir)) => Ok(dir.clone()),
            (None, None) => Err(crate::Failure::input(
                "give --log DIR (or set TRAIL_LOG) or --remote URL",
            )),
        }
    }
}

/// Flags for commands that write to a log.
#[derive(Args, Debug, Clone)]
pub struct WriteArgs {
    #[command(flatten)]
    pub log: LogArg,
    /// With --remote: the bearer token the server gave your organisation.
    #[arg(
        long,
        env = "TRAIL_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// With --remote: write the server's receipt (a C2SP tlog-proof, for
    /// `trail verify-proof`) to FILE, or to FILE.SEQ for each of several entries.
    #[arg(long, value_name = "FILE")]
    pub receipt: Option<PathBuf>,
    /// The signer's secret key file (made by `trail keygen`); if it is
    /// encrypted, the passphrase comes from TRAIL_PASSPHRASE or a prompt.
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// If another process is writing, wait up to this many seconds instead of failing.
    #[arg(long, value_name = "SECONDS")]
    pub wait: Option<u64>,
    /// Print the result as JSON Lines.
    #[arg(long)]
    pub json: bool,
    /// Print nothing on success (a 100,000-entry append prints 100,000 lines otherwise).
    #[arg(long, conflicts_with = "json")]
    pub quiet: bool,
}

/// All commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Make a new signing key: writes the secret key file (mode 0600) and prints the public key.
    ///
    /// The file is encrypted with a passphrase (age, scrypt), taken from
    /// TRAIL_PASSPHRASE or asked for twice on the terminal. Commands that use
    /// the key take the passphrase the same way.
    Keygen {
        /// Where to write the secret key; an existing file is never overwritten.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Write the key unencrypted, for automation. This gives up the
        /// passphrase: anyone who can read the file (a backup, a copied disk,
        /// an administrator) can sign as this key until it is revoked; the
        /// file's 0600 mode is its only protection.
        #[arg(long)]
        unencrypted: bool,
        /// Print the result as JSON Lines.
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script: bash, zsh, fish, elvish or powershell.
    ///
    /// For bash: `trail completions bash > ~/.local/share/bash-completion/completions/trail`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (troff), e.g. `trail man > trail.1 && man ./trail.1`.
    Man,
    /// Read or change a secret key file: its public key, its passphrase.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Create a new log whose first entry names it and makes KEY its admin.
    Init {
        /// The directory to create the log in.
        #[arg(long, env = "TRAIL_LOG", value_name = "DIR")]
        log: PathBuf,
        /// The log's name, e.g. "Operation Linden recommendations".
        #[arg(long)]
        name: String,
        /// The administrator's secret key file.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The administrator's actor id.
        #[arg(long, default_value = "admin")]
        actor: Id,
        /// The administrator's organisation.
        #[arg(long, default_value = "Log administrator")]
        body: String,
        /// The log's checkpoint origin, as C2SP expects: the URL prefix it
        /// will be published at, without the scheme, e.g.
        /// watchdog.example.org/linden (default: trail/ and the genesis hash).
        /// It is part of the genesis entry and never changes.
        #[arg(long, value_name = "ORIGIN")]
        origin: Option<String>,
    },
    /// Register a public key for an actor with one or more roles (admin only).
    Grant {
        #[command(flatten)]
        write: WriteArgs,
        /// The actor id the key signs for, e.g. syp.
        #[arg(long)]
        actor: Id,
        /// The organisation's name, e.g. "South Yorkshire Police".
        #[arg(long)]
        body: String,
        /// The key to register, as 64 hex digits (what `trail keygen` printed).
        #[arg(long, value_name = "HEX")]
        public_key: PublicKey,
        /// A role: admin, issuer, respondent, funder, assessor, operator or witness. Repeat for more.
        #[arg(long, required = true)]
        role: Vec<Role>,
        /// The day the key becomes valid (default: today, UTC). `trail check` flags
        /// statements dated before it, so date grants before the events a log backfills.
        #[arg(long)]
        date: Option<Day>,
    },
    /// Revoke a key: it can sign nothing after this entry (admin only).
    Revoke {
        #[command(flatten)]
        write: WriteArgs,
        /// The key to revoke, as 64 hex digits.
        #[arg(long, value_name = "HEX")]
        public_key: PublicKey,
        /// Why, in plain words.
        #[arg(long)]
        reason: String,
        /// The effective date (default: today, UTC).
        #[arg(long)]
        date: Option<Day>,
    },
    /// Move your actor and roles to a new key, signed with the old one (no admin needed).
    ///
    /// --key is the old key; it can sign nothing after this entry. Make the new
    /// key with `trail keygen` first. For routine key changes: if the old key
    /// may be in the wrong hands, have an admin revoke it instead, since
    /// whoever holds a key can rotate it.
    Rotate {
        #[command(flatten)]
        write: WriteArgs,
        /// The new key, as 64 hex digits (what `trail keygen` printed); it must not be registered yet.
        #[arg(long, value_name = "HEX")]
        new_public_key: PublicKey,
        /// The effective date (default: today, UTC).
        #[arg(long)]
        date: Option<Day>,
    },
    /// Append signed events from a JSON file (one event, or JSON Lines: all or nothing).
    Append {
        #[command(flatten)]
        write: WriteArgs,
        /// The event file; `-` reads standard input. docs/EVENTS.md lists the event types.
        #[arg(long, value_name = "FILE")]
        event: PathBuf,
        /// Accept effective dates more than 366 days after today, which are
        /// otherwise refused as likely typos.
        #[arg(long)]
        allow_future_dates: bool,
    },
    /// Check every link, hash, signature, seq, time and permission in a log or bundle.
    Verify {
        #[command(flatten)]
        source: Source,
        /// Print the result as JSON Lines.
        #[arg(long)]
        json: bool,
        /// Also confirm the log extends this signed checkpoint; a fork is reported as one.
        #[arg(long, value_name = "CHECKPOINT")]
        since: Option<PathBuf>,
    },
    /// Print entries of a log.
    Show {
        #[command(flatten)]
        log: LogArg,
        /// First seq to show.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// Last seq to show.
        #[arg(long)]
        to: Option<u64>,
        #[command(flatten)]
        filter: crate::filters::EntryFilter,
        /// Print JSON Lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Verify a log and write it to a portable bundle file.
    Export {
        #[command(flatten)]
        log: LogArg,
        /// The bundle file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// For a damaged log: save the entries that verify, up to the first bad
        /// one, and say where it stopped (exit 1 if it stopped early).
        #[arg(long)]
        partial: bool,
        /// Print the result as JSON Lines.
        #[arg(long)]
        json: bool,
    },
    /// Rebuild a log directory from a bundle, or bring an existing copy up to
    /// date from a bundle that extends it; refuses a bundle that does not verify.
    Import {
        /// The bundle file.
        #[arg(long, value_name = "FILE")]
        bundle: PathBuf,
        /// The log directory: a new one (it must not exist or be empty), or a
        /// log whose entries the bundle begins with.
        #[arg(long, env = "TRAIL_LOG", value_name = "DIR")]
        log: PathBuf,
        /// Print the result as JSON Lines.
        #[arg(long)]
        json: bool,
    },
    /// Sign a checkpoint (C2SP tlog-checkpoint) of the whole log with an operator key.
    Checkpoint(crate::proofs::CheckpointArgs),
    /// As a witness, cosign a checkpoint after checking it against the log and the last one cosigned.
    Cosign(crate::proofs::CosignArgs),
    /// Write an inclusion or consistency proof that others can check without the log.
    Prove {
        #[command(subcommand)]
        what: crate::proofs::Prove,
    },
    /// Check an inclusion or consistency proof file without the log, against trusted keys.
    VerifyProof(crate::proofs::VerifyProofArgs),
    /// Print the BLAKE3 digest of a document, to cite it as evidence.
    Evidence {
        /// The document; `-` reads standard input.
        file: PathBuf,
        /// Print the result as JSON Lines.
        #[arg(long)]
        json: bool,
    },
    /// Replay the state of every recommendation on a date, as known at a time.
    ///
    /// --at is the effective date (what was true on D); --known-at keeps only
    /// entries recorded by then (what the log said). `--at D` alone answers
    /// "what was true on D as we know it today"; `--at D --known-at D` answers
    /// "what did the log say on D".
    Replay {
        #[command(flatten)]
        log: LogArg,
        #[command(flatten)]
        when: WhenArgs,
        /// Replay only entries up to and including this seq (instead of --known-at).
        #[arg(long, value_name = "N", conflicts_with = "known_at")]
        at_seq: Option<u64>,
        #[command(flatten)]
        filter: crate::filters::RecFilter,
        /// Print the state as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print one recommendation's timeline: seq, recorded time, effective date, signer, event.
    History {
        #[command(flatten)]
        log: LogArg,
        /// The recommendation id, e.g. LINDEN-R1.
        rec: String,
        /// Print JSON Lines.
        #[arg(long)]
        json: bool,
    },
    /// Find entries whose titles, subjects, narratives, reasons or evidence names hold every word given.
    Search {
        #[command(flatten)]
        log: LogArg,
        /// What to look for, case-insensitively; an entry must hold every term
        /// (quote a phrase to keep it together).
        #[arg(required = true, value_name = "TEXT")]
        terms: Vec<String>,
        /// Show at most this many entries (all are counted).
        #[arg(long, default_value_t = 50, value_name = "N")]
        limit: usize,
        /// Print JSON Lines.
        #[arg(long)]
        json: bool,
    },
    /// Check the record against the rules auditors apply; exit 3 if a finding shown reaches --fail-on.
    Check {
        #[command(flatten)]
        log: LogArg,
        #[command(flatten)]
        when: WhenArgs,
        /// Print JSON Lines.
        #[arg(long)]
        json: bool,
        /// Lowest severity that makes the command exit 3: info, warning or error.
        /// It applies to the findings shown (after --rule, --severity, --rec).
        #[arg(long, default_value = "error", value_name = "SEVERITY")]
        fail_on: trail_core::Severity,
        #[command(flatten)]
        filter: crate::filters::FindingFilter,
        #[command(flatten)]
        thresholds: Thresholds,
    },
    /// Write the state and the findings as a report for people who read rather than query.
    Report {
        #[command(flatten)]
        log: LogArg,
        #[command(flatten)]
        when: WhenArgs,
        /// md (Markdown), html (one self-contained page with timelines) or json.
        #[arg(long, value_name = "FORMAT")]
        format: crate::report::ReportFormat,
        /// The file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        thresholds: Thresholds,
    },
    /// Serve a log over HTTP: other organisations append entries signed on
    /// their own machines, and anyone reads and verifies it (docs/SERVER.md).
    ///
    /// Runs until SIGTERM or SIGINT, then finishes the requests in flight.
    /// Every entry is on disk before it is acknowledged. Access is logged on
    /// standard error (RUST_LOG=debug for more).
    Serve(crate::serve::ServeArgs),
    /// Write the log as C2SP tlog-tiles (checkpoint, hash tiles, entry
    /// bundles) into a directory any web server or CDN can serve.
    ///
    /// Incremental and crash-safe: only new tiles are written, each renamed
    /// into place before the checkpoint that covers them. docs/FORMAT.md, "Tiles".
    Publish(crate::publish::PublishArgs),
    /// Keep a verified local copy of a log from its tiles (a URL or a
    /// directory), fetching only what it lacks.
    ///
    /// Every entry is verified before it is kept: the hash tiles of what the
    /// copy lacks must make the source's signed checkpoint, extending the
    /// copy's tree, and each entry must be the leaf they pin and pass its
    /// link, signature and role checks. On a
    /// fork it stops, keeps the copy as it was and writes both checkpoints
    /// as evidence (exit 1). The copy is an ordinary log for every read command.
    Mirror(crate::mirror::MirrorArgs),
    /// Run an independent witness (C2SP tlog-witness) that cosigns checkpoints.
    Witness {
        #[command(subcommand)]
        command: crate::witness::WitnessCommand,
    },
    /// Build a demonstration log from the Operation Linden case, verify it, export and re-verify it.
    Demo {
        /// Where to build it (default: a new directory under the system temp directory).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Print each line of the demo as a JSON Lines record.
        #[arg(long)]
        json: bool,
    },
}

/// `trail key ...`.
#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Print the public key of a secret key file (64 hex digits), as keygen did.
    Public {
        /// The secret key file.
        file: PathBuf,
        /// Print the result as JSON Lines.
        #[arg(long)]
        json: bool,
    },
    /// Encrypt a secret key file under a new passphrase (TRAIL_NEW_PASSPHRASE,
    /// or asked for twice); the current one comes from TRAIL_PASSPHRASE or a prompt.
    Passphrase {
        /// The secret key file.
        file: PathBuf,
        /// Print the result as JSON Lines.
        #[arg(long)]
        json: bool,
    },
}

/// Where to read entries from for `verify`: a bundle, a served log or a
/// directory, in that order when several are given (TRAIL_LOG counts only
/// when neither of the others is).
#[derive(Args, Debug, Clone)]
pub struct Source {
    /// A log directory.
    #[arg(long, env = "TRAIL_LOG", value_name = "DIR")]
    pub log: Option<PathBuf>,
    /// A bundle file made by `trail export`.
    #[arg(long, value_name = "FILE", conflicts_with = "remote")]
    pub bundle: Option<PathBuf>,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

impl Source {
    /// The log directory to read when no bundle is given, as [`LogArg::dir`].
    pub fn dir(&self) -> Result<PathBuf, crate::Failure> {
        LogArg {
            log: self.log.clone(),
            remote: self.remote.clone(),
        }
        .dir()
    }

    /// The bundle to read, if one is given: standard input (`-`) is saved to
    /// a temporary file first, which lives as long as the first value.
    pub fn bundle_file(
        &self,
    ) -> Result<(Option<tempfile::NamedTempFile>, Option<PathBuf>), crate::Failure> {
        let stdin = match self.bundle.as_deref() {
            Some(path) => crate::output::stdin_if_dash(path)?,
            None => None,
        };
        let path = stdin
            .as_ref()
            .map(|f| f.path().to_owned())
            .or(self.bundle.clone());
        Ok((stdin, path))
    }

    /// How to name what was read: the served log's URL, or the directory.
    pub fn describe(&self, dir: &std::path::Path) -> String {
        match &self.remote.remote {
            Some(url) => url.clone(),
            None => dir.display().to_string(),
        }
    }
}

/// The thresholds of the check rules, for `check` and `report`.
#[derive(Args, Debug, Clone)]
pub struct Thresholds {
    /// A JSON file of thresholds, e.g. {"stale_months": 3}; flags below override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Days after acceptance by which a target date is expected (default 28).
    #[arg(long, value_name = "DAYS")]
    pub timetable_days: Option<u32>,
    /// Days after acceptance after which open work is late, whatever its target (default 365).
    #[arg(long, value_name = "DAYS")]
    pub late_implementation_days: Option<u32>,
    /// Months without a claim or session after which an accepted recommendation is stale (default 6).
    #[arg(long, value_name = "MONTHS")]
    pub stale_months: Option<u32>,
    /// Months after approval within which a claim should cite the funding (default 6).
    #[arg(long, value_name = "MONTHS")]
    pub funding_unlinked_months: Option<u32>,
}

/// The two time axes of a replay.
#[derive(Args, Debug, Clone)]
pub struct WhenArgs {
    /// Effective date: count events whose date is up to this day (default: today).
    #[arg(long, value_name = "DATE")]
    pub at: Option<crate::replay::When>,
    /// Recorded time: count only entries recorded up to this date or timestamp (default: now).
    #[arg(long, value_name = "DATE")]
    pub known_at: Option<crate::replay::When>,
}
