//! Running the `trail` binary as a child process: its output, wall time and
//! peak RSS, for the sections that measure whole processes (9 and 10).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::measure::{BoxError, vmhwm_kib_of};

/// GNU time, which reports a child's peak RSS from the kernel's own count.
const GNU_TIME: &str = "/usr/bin/time";
/// How often the peak RSS is polled when GNU time is missing.
const POLL: Duration = Duration::from_millis(5);

/// The release `trail` binary beside this one, if it was built.
pub(crate) fn trail_binary() -> Result<Option<PathBuf>, BoxError> {
    let trail = std::env::current_exe()?.with_file_name("trail");
    Ok(trail.is_file().then_some(trail))
}

/// How a child's peak RSS is read.
#[derive(Clone, Copy)]
pub(crate) enum Peak {
    /// Run under GNU time, which reports the kernel's count at exit.
    GnuTime,
    /// VmHWM polled while it runs; may miss a rise in its last moments.
    Poll,
    /// Not read.
    None,
}

impl Peak {
    pub(crate) fn available() -> Peak {
        if Path::new(GNU_TIME).is_file() {
            Peak::GnuTime
        } else {
            Peak::Poll
        }
    }

    pub(crate) fn how(self) -> String {
        match self {
            Peak::GnuTime => format!("{GNU_TIME} -v"),
            Peak::Poll => format!("VmHWM polled every {} ms", POLL.as_millis()),
            Peak::None => "not read".into(),
        }
    }
}

/// A finished child: its output, wall time and peak RSS.
pub(crate) struct Ran {
    pub(crate) output: Output,
    pub(crate) wall: Duration,
    pub(crate) peak_kib: Option<u64>,
}

/// Runs `program args` to completion, its standard output piped.
pub(crate) fn run(program: &Path, args: &[&OsStr], peak: Peak) -> Result<Ran, BoxError> {
    run_allowing(program, args, peak, &[0])
}

/// [`run`], accepting any of the exit codes `ok`.
pub(crate) fn run_allowing(
    program: &Path,
    args: &[&OsStr],
    peak: Peak,
    ok: &[i32],
) -> Result<Ran, BoxError> {
    let mut command = match peak {
        Peak::GnuTime => {
            let mut c = Command::new(GNU_TIME);
            c.arg("-v").arg(program);
            c
        }
        Peak::Poll | Peak::None => Command::new(program),
    };
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn()?;
    let mut polled = 0;
    if let Peak::Poll = peak {
        let status = format!("/proc/{}/status", child.id());
        while child.try_wait()?.is_none() {
            polled = polled.max(vmhwm_kib_of(&status));
            std::thread::sleep(POLL);
        }
    }
    let output = child.wait_with_output()?;
    let wall = started.elapsed();
    if !output.status.code().is_some_and(|c| ok.contains(&c)) {
        return Err(format!(
            "{} exited with {}: {}",
            program.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into());
    }
    let peak_kib = match peak {
        Peak::GnuTime => String::from_utf8_lossy(&output.stderr)
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("Maximum resident set size (kbytes):")?
                    .trim()
                    .parse()
                    .ok()
            }),
        Peak::Poll => Some(polled).filter(|k| *k > 0),
        Peak::None => None,
    };
    Ok(Ran {
        output,
        wall,
        peak_kib,
    })
}
