//! `trail mirror`: a verified local copy of a log, from its tiles.

use std::path::PathBuf;

use crate::Failure;
use crate::args::MirrorArgs;
use crate::output;
use crate::remote::mirror::{Source, pull};

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
