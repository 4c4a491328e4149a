//! `trail mirror`: a verified local copy of a log, from its tiles.

use std::path::PathBuf;

use clap::Args;

use crate::Failure;
use crate::output;
use crate::remote::mirror::{Source, pull};

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

pub fn run(args: &MirrorArgs) -> Result<(), Failure> {
    let source = Source::new(&args.from, args.ca_cert.as_deref())?;
    let log = crate::remote::open_copy(&args.log)?;
    let evidence = args.evidence.clone().unwrap_or_else(|| {
        let mut name = args.log.as_os_str().to_owned();
        name.push(".fork-evidence.txt");
        PathBuf::from(name)
    });
    let pulled = pull(&source, &log, &evidence, args.json)?;
    if args.json {
        output::json_line(
            "mirrored",
            serde_json::json!({
                "source": source.name(),
                "before": pulled.before,
                "entries": pulled.after,
            }),
        )?;
        return Ok(());
    }
    let text = match pulled.after - pulled.before {
        0 => format!(
            "{} is up to date with {} ({} entries)",
            args.log.display(),
            source.name(),
            pulled.after
        ),
        added => format!(
            "mirrored {added} new entries from {} into {}: {} entries, verified against its signed checkpoint",
            source.name(),
            args.log.display(),
            pulled.after
        ),
    };
    output::line(text)?;
    Ok(())
}
