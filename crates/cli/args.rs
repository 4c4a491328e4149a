//! Command-line arguments: every command, flag and its help text.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use clap::{Args, Parser, Subcommand};
use trail_core::{Day, Id, PublicKey, Role, Severity, Timestamp};
use trail_server::Limits;

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
        filter: EntryFilter,
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
    /// Rebuild what a log derives from its entries, after verifying them all
    ///
    /// Every entry is checked from the genesis; then the head record, the
    /// Merkle tree, the registry rows and the indexes are rewritten from
    /// them, and the replay snapshots and the search text are dropped, to be
    /// rebuilt when next needed. sled's files, when damaged, are replaced
    /// (they hold only what derives from the entries), and a damaged marker
    /// file is rewritten. A repair cannot mend an entry: one that does not
    /// verify is named (exit 1), and `trail export --partial` saves the
    /// entries before it.
    Repair {
        /// The log directory.
        #[arg(long, env = "TRAIL_LOG", value_name = "DIR")]
        log: PathBuf,
        /// Print the result as JSON Lines.
        #[arg(long)]
        json: bool,
    },
    /// Sign a checkpoint (C2SP tlog-checkpoint) of the whole log with an operator key.
    Checkpoint(CheckpointArgs),
    /// As a witness, cosign a checkpoint after checking it against the log and the last one cosigned.
    Cosign(CosignArgs),
    /// Write an inclusion or consistency proof that others can check without the log.
    Prove {
        #[command(subcommand)]
        what: Prove,
    },
    /// Check an inclusion or consistency proof file without the log, against trusted keys.
    VerifyProof(VerifyProofArgs),
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
        filter: RecFilter,
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
        filter: FindingFilter,
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
        format: ReportFormat,
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
    Serve(ServeArgs),
    /// Write the log as C2SP tlog-tiles (checkpoint, hash tiles, entry
    /// bundles) into a directory any web server or CDN can serve.
    ///
    /// Incremental and crash-safe: only new tiles are written, each renamed
    /// into place before the checkpoint that covers them. docs/FORMAT.md, "Tiles".
    Publish(PublishArgs),
    /// Keep a verified local copy of a log from its tiles (a URL or a
    /// directory), fetching only what it lacks.
    ///
    /// Every entry is verified before it is kept: the hash tiles of what the
    /// copy lacks must make the source's signed checkpoint, extending the
    /// copy's tree, and each entry must be the leaf they pin and pass its
    /// link, signature and role checks. On a
    /// fork it stops, keeps the copy as it was and writes both checkpoints
    /// as evidence (exit 1). The copy is an ordinary log for every read command.
    Mirror(MirrorArgs),
    /// Run an independent witness (C2SP tlog-witness) that cosigns checkpoints.
    Witness {
        #[command(subcommand)]
        command: WitnessCommand,
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
    pub at: Option<When>,
    /// Recorded time: count only entries recorded up to this date or timestamp (default: now).
    #[arg(long, value_name = "DATE")]
    pub known_at: Option<When>,
}

/// A date or a full timestamp given on the command line.
#[derive(Clone, Copy, Debug)]
pub enum When {
    /// A calendar day (for `--known-at`, the whole day counts).
    Day(Day),
    /// An exact instant.
    Instant(Timestamp),
}

impl FromStr for When {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(day) = s.parse::<Day>() {
            return Ok(When::Day(day));
        }
        s.parse::<Timestamp>().map(When::Instant).map_err(|_| {
            format!(
                "{s:?} is neither a date (YYYY-MM-DD) nor a timestamp (e.g. 2022-01-17T09:00:00Z)"
            )
        })
    }
}

impl When {
    /// The effective day this stands for.
    pub fn day(self) -> Day {
        match self {
            When::Day(d) => d,
            When::Instant(t) => Day::of_timestamp(t),
        }
    }

    /// The last instant this stands for: a day includes everything recorded on it.
    pub fn instant(self) -> Timestamp {
        match self {
            When::Day(d) => Timestamp::end_of_day(d),
            When::Instant(t) => t,
        }
    }
}

/// `trail checkpoint`.
#[derive(Args, Debug)]
pub struct CheckpointArgs {
    #[command(flatten)]
    pub log: LogArg,
    /// The operator's secret key file (its key must hold the operator role).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// Where to write the signed checkpoint (C2SP signed note).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// A witness (C2SP tlog-witness URL) to ask for a cosignature. Repeat
    /// for more; only cosignatures by keys holding the witness role in the
    /// log are kept.
    #[arg(long, value_name = "URL")]
    pub witness: Vec<String>,
    /// How many witnesses must cosign, or the command fails (exit 1).
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub quorum: usize,
    /// Print the result as JSON Lines.
    #[arg(long)]
    pub json: bool,
}

/// `trail cosign`.
#[derive(Args, Debug)]
pub struct CosignArgs {
    #[command(flatten)]
    pub log: LogArg,
    /// The witness's secret key file (its key must hold the witness role).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// The signed checkpoint to cosign; the cosignature is added to this file.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: PathBuf,
    /// The last checkpoint this witness cosigned: refuse unless the new one extends it.
    #[arg(long, value_name = "FILE")]
    pub since: Option<PathBuf>,
    /// Print the result as JSON Lines.
    #[arg(long)]
    pub json: bool,
}

/// `trail prove ...`.
#[derive(Subcommand, Debug)]
pub enum Prove {
    /// Write a C2SP tlog-proof that entry SEQ is in a signed checkpoint.
    Inclusion {
        #[command(flatten)]
        log: LogArg,
        /// The entry's seq.
        #[arg(long, value_name = "N")]
        seq: u64,
        /// The signed checkpoint to prove against (default: the latest one kept with the log).
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
        /// Where to write the proof.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Also write the entry's canonical bytes to this file.
        #[arg(long, value_name = "FILE")]
        entry_out: Option<PathBuf>,
        /// Print the result as JSON Lines.
        #[arg(long)]
        json: bool,
    },
    /// Write one recommendation's record: its entries, the key entries they
    /// rest on, and an inclusion proof of each against one signed checkpoint,
    /// checkable with `trail verify-proof` and no log.
    Recommendation {
        #[command(flatten)]
        log: LogArg,
        /// The recommendation id, e.g. LINDEN-R1.
        rec: String,
        /// The signed checkpoint to prove against (default: the latest one kept with the log).
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
        /// Where to write the record.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Print the result as JSON Lines.
        #[arg(long)]
        json: bool,
    },
    /// Write a proof that the tree of checkpoint OLD is a prefix of that of NEW.
    Consistency {
        #[command(flatten)]
        log: LogArg,
        /// The older signed checkpoint.
        #[arg(long, value_name = "OLD")]
        from: PathBuf,
        /// The newer signed checkpoint.
        #[arg(long, value_name = "NEW")]
        to: PathBuf,
        /// Where to write the proof.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Print the result as JSON Lines.
        #[arg(long)]
        json: bool,
    },
}

/// `trail verify-proof`.
#[derive(Args, Debug)]
pub struct VerifyProofArgs {
    /// The proof file (inclusion: c2sp.org/tlog-proof@v1; consistency:
    /// trail.consistency-proof@v1; a recommendation's record:
    /// trail.recommendation-record@v1).
    #[arg(long, value_name = "FILE")]
    pub proof: PathBuf,
    /// The entry's canonical bytes (default: the copy inside the proof).
    #[arg(long, value_name = "FILE", conflicts_with = "bundle")]
    pub entry: Option<PathBuf>,
    /// A bundle holding the entry; it is verified and must be of the same log.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    /// A checkpoint you already trust: the proof's checkpoint must agree with it.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// A trusted operator verifier key (`trail/<hash>+<id>+<base64>`), or a file of them. Repeat for more.
    #[arg(long = "operator-key", value_name = "VKEY|FILE", required = true)]
    pub operator_keys: Vec<String>,
    /// A trusted witness verifier key, or a file of them. Repeat for more.
    #[arg(long = "witness-key", value_name = "VKEY|FILE")]
    pub witness_keys: Vec<String>,
    /// How many trusted witnesses must have cosigned the (newer) checkpoint.
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub witnesses: usize,
    /// For a recommendation record: the effective date its state is shown on (default: today).
    #[arg(long, value_name = "DATE")]
    pub at: Option<trail_core::Day>,
    /// Print the result as JSON Lines.
    #[arg(long)]
    pub json: bool,
}

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

/// Flags of `trail publish`.
#[derive(Args, Debug)]
pub struct PublishArgs {
    #[command(flatten)]
    pub log: LogArg,
    /// The tile directory to write (made if missing); publishing again
    /// writes only what the log added since.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Sign a checkpoint of the whole log with this operator key first;
    /// without it, the latest checkpoint kept with the log (`trail checkpoint`) is published.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Print the result as JSON Lines.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `trail mirror`.
#[derive(Args, Debug)]
pub struct MirrorArgs {
    /// Where the log's C2SP tlog-tiles are: a URL (`trail serve`, or any web
    /// server or CDN holding a `trail publish` directory) or a directory.
    #[arg(long, value_name = "URL|DIR")]
    pub from: String,
    /// The local copy: made if missing, else brought up to date.
    #[arg(long, env = "TRAIL_LOG", value_name = "DIR")]
    pub log: PathBuf,
    /// Where to write both signed checkpoints if the source shows a fork
    /// (default: beside the copy, DIR.fork-evidence.txt).
    #[arg(long, value_name = "FILE")]
    pub evidence: Option<PathBuf>,
    /// Trust an HTTPS source whose certificate chains to this PEM file.
    #[arg(long, env = "TRAIL_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Print the result as JSON Lines.
    #[arg(long)]
    pub json: bool,
}

/// `trail witness ...`.
#[derive(Subcommand, Debug)]
pub enum WitnessCommand {
    /// Serve C2SP tlog-witness `POST /add-checkpoint`: cosign each checkpoint
    /// of a known log that extends the last one cosigned for it.
    ///
    /// Works for any C2SP log whose key is given, not only trail logs. The
    /// last size and root cosigned per log are kept in --state and synced
    /// before each cosignature is returned, so the witness never cosigns two
    /// sizes inconsistently, across restarts and crashes.
    Serve(WitnessServeArgs),
}

/// Flags of `trail witness serve`.
#[derive(Args, Debug)]
pub struct WitnessServeArgs {
    /// The witness's secret key file.
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// The witness's name in its cosignatures; for a trail log, the actor id
    /// its key is granted the witness role under.
    #[arg(long, value_name = "NAME")]
    pub name: Id,
    /// The directory holding the witness's state (made if missing).
    #[arg(long, value_name = "DIR")]
    pub state: PathBuf,
    /// The address to listen on (port 0 picks a free one).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
    /// A log's verifier key (`<origin>+<id>+<base64>`, as `trail checkpoint`
    /// prints it); its name is the log's origin. Repeat for more logs.
    #[arg(long, value_name = "VKEY", required = true)]
    pub log_key: Vec<String>,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Most connections served at once.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_connections)]
    pub max_connections: usize,
    /// Seconds a client may take to send a request's headers, and its body.
    #[arg(long, value_name = "SECONDS", default_value_t = Limits::default().read_timeout.as_secs())]
    pub read_timeout: u64,
    /// Print the start as a JSON Lines record (the access log stays on standard error).
    #[arg(long)]
    pub json: bool,
}

/// `replay --rec --report --addressee --open`.
#[derive(Args, Debug, Clone, Default)]
pub struct RecFilter {
    /// Only this recommendation (repeat for more).
    #[arg(long = "rec", value_name = "ID")]
    pub recs: Vec<String>,
    /// Only the recommendations of this report (repeat for more).
    #[arg(long = "report", value_name = "ID")]
    pub reports: Vec<String>,
    /// Only recommendations addressed to this actor (repeat for more).
    #[arg(long = "addressee", value_name = "ACTOR")]
    pub addressees: Vec<String>,
    /// Only recommendations not yet closed.
    #[arg(long)]
    pub open: bool,
}

/// `show --rec --actor --type --since --until`.
#[derive(Args, Debug, Clone, Default)]
pub struct EntryFilter {
    /// Only entries about this recommendation (repeat for more).
    #[arg(long = "rec", value_name = "ID")]
    pub recs: Vec<String>,
    /// Only entries signed for this actor (repeat for more).
    #[arg(long = "actor", value_name = "ID")]
    pub actors: Vec<String>,
    /// Only entries of this event type, e.g. progress_claim (repeat for more).
    #[arg(long = "type", value_name = "EVENT")]
    pub types: Vec<String>,
    /// Only entries whose effective date is on or after this day.
    #[arg(long, value_name = "DATE")]
    pub since: Option<Day>,
    /// Only entries whose effective date is on or before this day.
    #[arg(long, value_name = "DATE")]
    pub until: Option<Day>,
}

/// `check --rule --severity --rec`.
#[derive(Args, Debug, Clone, Default)]
pub struct FindingFilter {
    /// Only findings of this rule (repeat for more; `trail check --help` lists them).
    #[arg(long = "rule", value_name = "ID")]
    pub rules: Vec<String>,
    /// Only findings of this severity: info, warning or error (repeat for more).
    #[arg(long = "severity", value_name = "LEVEL")]
    pub severities: Vec<Severity>,
    /// Only findings about this recommendation (repeat for more).
    #[arg(long = "rec", value_name = "ID")]
    pub recs: Vec<String>,
}

/// The output formats of `trail report`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// Markdown: a table per report, then findings by recommendation.
    #[value(name = "md")]
    Markdown,
    /// One self-contained HTML page with a timeline per recommendation.
    #[value(name = "html")]
    Html,
    /// `{"view": ..., "findings": [...]}`, pretty-printed.
    #[value(name = "json")]
    Json,
}
