//! `trail witness serve` (a C2SP tlog-witness), and collecting witness
//! cosignatures for a new checkpoint (`trail checkpoint --witness`).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use trail_core::merkle::{Note, NoteSignature, NoteVerifier, VerifierSet};
use trail_core::transparency::{
    Policy, log_operators, log_witnesses, parse_checkpoint_note, verify_checkpoint,
};
use trail_core::witness::{Witness, add_checkpoint_body};
use trail_core::{Id, Log};
use trail_server::{Limits, WitnessConfig, WitnessServer};

use crate::Failure;
use crate::remote::Server;

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
}

pub fn run(command: &WitnessCommand) -> Result<(), Failure> {
    let WitnessCommand::Serve(args) = command;
    crate::serve::init_access_log();
    let key = crate::keyfile::load(&args.key)?;
    let signer = trail_core::transparency::witness_signer(&args.name, &key)?;
    let vkey = signer.verifier().vkey();
    let logs = args
        .log_key
        .iter()
        .map(|k| {
            NoteVerifier::from_vkey(k.trim())
                .map_err(|e| Failure::input(format!("--log-key {k:?}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let witness =
        Witness::new(signer, logs, &args.state).map_err(|e| Failure::input(e.to_string()))?;
    let server = WitnessServer::bind(WitnessConfig {
        witness,
        listen: args.listen,
        tls: None,
        limits: Limits::default(),
    })
    .map_err(|e| Failure::input(e.to_string()))?;
    let addr = server
        .local_addr()
        .map_err(|e| Failure::input(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "witness {} at http://{addr}", args.name)?;
    writeln!(out, "witness key: {vkey}")?;
    out.flush()?;
    drop(out);
    server
        .run_until_signal()
        .map_err(|e| Failure::input(e.to_string()))
}

/// Asks each witness to cosign `note` (a checkpoint of `log` just signed),
/// answering a 409 with the consistency proof from the size it has, and
/// returns the note with every cosignature that verifies against a witness
/// key of the log. Fails unless at least `quorum` witnesses cosigned.
pub fn collect(log: &Log, note: &[u8], urls: &[String], quorum: usize) -> Result<Note, Failure> {
    let (mut cosigned, checkpoint) = parse_checkpoint_note(note)?;
    let size = checkpoint.size().0;
    let witnesses = log_witnesses(log)?;
    let mut problems = Vec::new();
    for url in urls {
        match cosignatures(log, note, url, size) {
            Ok(lines) => {
                for line in lines {
                    // Kept only if it is a valid cosignature of a witness of
                    // this log: an unknown or bad line is ignored.
                    let Ok(signature) = NoteSignature::parse_line(&line) else {
                        continue;
                    };
                    let mut one = cosigned.clone();
                    if one.add_signature(signature.clone()).is_err() {
                        continue;
                    }
                    let mut set = VerifierSet::new();
                    for w in &witnesses {
                        let _ = set.add(w.clone());
                    }
                    let verified = one
                        .verify(&set)
                        .is_ok_and(|v| v.is_signed_by(signature.name(), signature.key_id()));
                    if verified {
                        cosigned = one;
                    }
                }
            }
            Err(f) => problems.push(f.message),
        }
    }
    let policy = Policy::new(log_operators(log)?, witnesses, quorum)?;
    verify_checkpoint(&cosigned, &policy).map_err(|e| Failure {
        code: 1,
        broken_pipe: false,
        message: format!(
            "{e}{}",
            if problems.is_empty() {
                String::new()
            } else {
                format!(" ({})", problems.join("; "))
            }
        ),
    })?;
    Ok(cosigned)
}

/// The cosignature lines one witness returns for a checkpoint of `size`.
fn cosignatures(log: &Log, note: &[u8], url: &str, size: u64) -> Result<Vec<String>, Failure> {
    let witness = Server::new(url, None, None)?;
    let mut old = 0;
    for _ in 0..2 {
        let proof = match old {
            0 => Vec::new(),
            _ => log.consistency_proof(old, size)?,
        };
        let (status, answer) =
            witness.post_text("add-checkpoint", &add_checkpoint_body(old, &proof, note))?;
        let text = String::from_utf8_lossy(&answer).to_string();
        match status {
            200 => return Ok(text.lines().map(str::to_owned).collect()),
            409 => match text.trim().parse::<u64>() {
                Ok(theirs) if theirs <= size && theirs != old => old = theirs,
                Ok(theirs) if theirs > size => {
                    return Err(Failure::input(format!(
                        "{url}: the witness has cosigned {theirs} entries, more than this checkpoint's {size}"
                    )));
                }
                _ => return Err(Failure::input(format!("{url}: 409: {}", text.trim()))),
            },
            _ => return Err(Failure::input(format!("{url}: {status}: {}", text.trim()))),
        }
    }
    Err(Failure::input(format!(
        "{url}: the witness kept answering 409"
    )))
}
