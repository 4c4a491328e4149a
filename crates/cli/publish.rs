//! `trail publish`: the log as C2SP tlog-tiles in a plain directory.

use trail_core::Log;
use trail_core::transparency::sign_checkpoint;

use crate::Failure;
use crate::args::PublishArgs;
use crate::output;
use crate::progress::Progress;

pub fn run(args: &PublishArgs) -> Result<(), Failure> {
    let log = Log::open(&args.log.dir()?)?;
    if let Some(key) = &args.key {
        sign_checkpoint(&log, &crate::keyfile::load(key)?)?;
    }
    let bar = Progress::entries("publishing", None, args.json);
    let published = trail_core::publish(&log, &args.out, &mut |done, _| {
        bar.set(done as u64);
    })
    .map_err(|e| match e {
        trail_core::Error::NoCheckpoint => Failure::input(
            "no checkpoint is kept with this log: run trail checkpoint, or give --key",
        ),
        other => other.into(),
    })?;
    drop(bar);
    output::result(
        &args.out,
        args.json,
        "published",
        serde_json::json!({ "size": published.size, "dir": args.out.display().to_string(),
                            "files": published.files, "from_size": published.from_size }),
        &[format!(
            "published the checkpoint of {} entries to {} ({} new tiles and entry bundles; it held {} entries before)",
            published.size,
            args.out.display(),
            published.files,
            published.from_size
        )],
    )
}
