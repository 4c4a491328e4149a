//! The `trail` command: a thin layer over trail-core that parses arguments,
//! prints results and chooses exit codes (0 ok, 1 verification failed,
//! 2 usage, input or I/O error).

#![forbid(unsafe_code)]

mod args;
mod commands;
mod demo;
mod filters;
mod keyfile;
mod mirror;
mod output;
mod progress;
mod proofs;
mod publish;
mod read;
mod record;
mod remote;
mod replay;
mod report;
mod search;
mod serve;
mod witness;

use std::process::ExitCode;

use args::{Cli, Command};

/// A failure to report: its message and the exit code it maps to.
pub struct Failure {
    /// 1 for verification failures, 2 for everything else.
    pub code: u8,
    /// One plain line saying what is wrong.
    pub message: String,
    /// Standard output was closed by its reader (`trail show | head`): not an error.
    pub broken_pipe: bool,
}

impl From<trail_core::Error> for Failure {
    fn from(e: trail_core::Error) -> Self {
        use trail_core::Error as E;
        if let E::Busy { path } = &e
            && let Some(url) = serve::served_at(path)
        {
            return Failure::input(format!(
                "{}: the log is being served at {url}; use --remote {url}",
                path.display()
            ));
        }
        let code = if e.is_verification_failure() { 1 } else { 2 };
        // The library says what is wrong; what to do about it is ours.
        let advice = match &e {
            E::NotALog { .. } => " (run trail init to create one)",
            // Derived data: rebuilt from the entries, which it never holds.
            E::Damaged(
                trail_core::Damage::Sled { .. }
                | trail_core::Damage::Marker { .. }
                | trail_core::Damage::Record { .. }
                | trail_core::Damage::Tree(_)
                | trail_core::Damage::HeadMismatch
                | trail_core::Damage::RegistryMismatch,
            ) => "; run trail repair --log on the log to rebuild it from its entries",
            E::KeyFileTooOpen { .. } => "; run chmod 600 on it",
            E::Publish(trail_core::PublishError::AheadOfLog { .. }) => {
                "; sign a newer checkpoint first"
            }
            _ => "",
        };
        Failure {
            broken_pipe: false,
            code,
            message: format!("{e}{advice}"),
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure {
            code: 2,
            broken_pipe: e.kind() == std::io::ErrorKind::BrokenPipe,
            message: e.to_string(),
        }
    }
}

impl Failure {
    /// An input or usage problem (exit 2).
    pub fn input(message: impl std::fmt::Display) -> Failure {
        Failure {
            broken_pipe: false,
            code: 2,
            message: message.to_string(),
        }
    }
}

/// Writes bytes to standard output.
fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    Ok(out.flush()?)
}

/// The command line, with the check rules listed in `trail check --help`
/// and `trail report --help` from the library's own table of rules.
fn parse_args() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let rules: String = trail_core::Rule::ALL
        .iter()
        .map(|r| {
            format!(
                "  {} ({})\n      {}\n",
                r.id(),
                r.severity().name(),
                r.summary()
            )
        })
        .collect();
    let listed = format!("The rules, with the severity of their findings:\n{rules}");
    let command = Cli::command()
        .mut_subcommand("check", |c| c.after_help(listed.clone()))
        .mut_subcommand("report", |c| c.after_help(listed.clone()));
    let matches = command.get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

fn main() -> ExitCode {
    let cli = parse_args();
    let result = match cli.command {
        Command::Keygen {
            out,
            unencrypted,
            json,
        } => commands::keygen(&out, unencrypted, json),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut command = Cli::command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut command, "trail", &mut out);
            write_stdout(&out)
        }
        Command::Man => {
            use clap::CommandFactory;
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut out)
                .map_err(Failure::from)
                .and_then(|()| write_stdout(&out))
        }
        Command::Key {
            command: args::KeyCommand::Public { file, json },
        } => keyfile::load(&file).and_then(|key| {
            let public = key.public_key().to_string();
            match json {
                true => output::json_line(
                    "key",
                    serde_json::json!({ "public_key": public, "file": file.display().to_string() }),
                )?,
                false => output::line(public)?,
            }
            Ok(())
        }),
        Command::Key {
            command: args::KeyCommand::Passphrase { file, json },
        } => keyfile::change_passphrase(&file).and_then(|()| {
            match json {
                true => output::json_line(
                    "passphrase_changed",
                    serde_json::json!({ "file": file.display().to_string() }),
                )?,
                false => output::line(format!(
                    "{}: encrypted under the new passphrase",
                    file.display()
                ))?,
            }
            Ok(())
        }),
        Command::Init {
            log,
            name,
            key,
            actor,
            body,
            origin,
        } => commands::init(&log, &name, &key, actor, &body, origin),
        Command::Grant {
            write,
            actor,
            body,
            public_key,
            role,
            date,
        } => commands::grant(&write, actor, body, public_key, role, date),
        Command::Revoke {
            write,
            public_key,
            reason,
            date,
        } => commands::revoke(&write, public_key, reason, date),
        Command::Rotate {
            write,
            new_public_key,
            date,
        } => commands::rotate(&write, new_public_key, date),
        Command::Append {
            write,
            event,
            allow_future_dates,
        } => commands::append(&write, &event, allow_future_dates),
        Command::Verify {
            source,
            json,
            since: None,
        } => read::verify(&source, json),
        Command::Verify {
            source,
            json,
            since: Some(since),
        } => proofs::verify_since(&source, &since, json),
        Command::Checkpoint(args) => proofs::checkpoint(&args),
        Command::Cosign(args) => proofs::cosign(&args),
        Command::Prove { what } => proofs::prove(&what),
        Command::VerifyProof(args) => proofs::verify_proof(&args),
        Command::Show {
            log,
            from,
            to,
            filter,
            json,
        } => filter
            .check()
            .and_then(|()| log.dir())
            .and_then(|dir| read::show(&dir, from, to, &filter, json)),
        Command::Export {
            log,
            out,
            partial,
            json,
        } => log
            .dir()
            .and_then(|dir| read::export(&dir, &out, partial, json)),
        Command::Import { bundle, log, json } => read::import(&bundle, &log, json),
        Command::Repair { log, json } => read::repair(&log, json),
        Command::Evidence { file, json } => commands::evidence(&file, json),
        Command::Demo { dir, json } => demo::run(dir, json),
        Command::Serve(args) => serve::run(&args),
        Command::Publish(args) => publish::run(&args),
        Command::Mirror(args) => mirror::run(&args),
        Command::Witness { command } => witness::run(&command),
        Command::Replay {
            log,
            when,
            at_seq,
            filter,
            json,
        } => log
            .dir()
            .and_then(|dir| replay::replay(&dir, when.at, when.known_at, at_seq, &filter, json)),
        Command::History { log, rec, json } => {
            log.dir().and_then(|dir| replay::history(&dir, &rec, json))
        }
        Command::Search {
            log,
            terms,
            limit,
            json,
        } => log
            .dir()
            .and_then(|dir| search::search(&dir, &terms, limit, json)),
        Command::Report {
            log,
            when,
            format,
            out,
            thresholds,
        } => replay::check_config(&thresholds).and_then(|config| {
            let dir = log.dir()?;
            replay::report(&dir, when.at, when.known_at, &config, format, &out)
        }),
        Command::Check {
            log,
            when,
            json,
            fail_on,
            filter,
            thresholds,
        } => replay::check_config(&thresholds).and_then(|config| {
            filter.check()?;
            replay::run_check(
                &log.dir()?,
                replay::CheckArgs {
                    at: when.at,
                    known_at: when.known_at,
                    json,
                    fail_on,
                    config,
                    filter,
                },
            )
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) if f.broken_pipe => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("trail: {}", output::safe(&f.message));
            ExitCode::from(f.code)
        }
    }
}
