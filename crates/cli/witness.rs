//! `trail witness serve` (a C2SP tlog-witness), and collecting witness
//! cosignatures for a new checkpoint (`trail checkpoint --witness`).

use std::io::Write;

use trail_core::Log;
use trail_core::merkle::{Note, NoteVerifier};
use trail_core::transparency::{Policy, log_operators, log_witnesses, verify_checkpoint};
use trail_core::witness::{Witness, collect_cosignatures};
use trail_server::{Limits, WitnessConfig, WitnessServer};

use crate::Failure;
use crate::args::WitnessCommand;
use crate::remote::Server;

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
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(trail_server::TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let server = WitnessServer::bind(WitnessConfig {
        witness,
        listen: args.listen,
        tls,
        limits: Limits {
            max_connections: args.max_connections,
            read_timeout: std::time::Duration::from_secs(args.read_timeout.max(1)),
            ..Limits::default()
        },
    })
    .map_err(|e| Failure::input(e.to_string()))?;
    let addr = server
        .local_addr()
        .map_err(|e| Failure::input(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let record = serde_json::json!({ "type": "witness", "data": {
            "name": args.name.to_string(), "url": format!("{scheme}://{addr}"), "witness_key": vkey } });
        writeln!(out, "{record}")?;
    } else {
        writeln!(out, "witness {} at {scheme}://{addr}", args.name)?;
        writeln!(out, "witness key: {vkey}")?;
    }
    out.flush()?;
    drop(out);
    server
        .run_until_signal()
        .map_err(|e| Failure::input(e.to_string()))
}

/// Asks each witness to cosign `note` (a checkpoint of `log` just signed)
/// and returns the note with every cosignature that verifies against a
/// witness key of the log; fails unless at least `quorum` witnesses cosigned.
pub fn collect(log: &Log, note: &[u8], urls: &[String], quorum: usize) -> Result<Note, Failure> {
    let mut post = |url: &str, body: &[u8]| -> Result<(u16, Vec<u8>), String> {
        let witness = Server::new(url, None, None).map_err(|f| f.message)?;
        witness
            .post_text("add-checkpoint", body)
            .map_err(|f| f.message)
    };
    let collected = collect_cosignatures(log, note, urls, &mut post)?;
    let policy = Policy::new(log_operators(log)?, log_witnesses(log)?, quorum)?;
    verify_checkpoint(&collected.note, &policy).map_err(|e| Failure {
        code: 1,
        broken_pipe: false,
        message: match collected.problems.is_empty() {
            true => e.to_string(),
            false => format!("{e} ({})", collected.problems.join("; ")),
        },
    })?;
    Ok(collected.note)
}
