//! A `trail serve` process on a [`Site`]'s log, on a loopback port the
//! server picks, for tests of the served log and its clients.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::{Run, Site, arg, run, trail};

/// Seed byte of the operator key that [`grant_operator`] registers.
pub const OPERATOR_SEED: u8 = 7;

/// Registers an `operator` actor with the operator role in the site's log
/// (a local append, before serving) and writes its key file.
pub fn grant_operator(site: &Site) -> PathBuf {
    site.grant_key(&site.log, "operator", OPERATOR_SEED, "operator")
}

/// A running server. Dropping it kills it.
pub struct Served {
    /// The process.
    pub child: Child,
    /// Its base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    /// The log it serves.
    pub log: PathBuf,
    /// The flags it was started with, to restart it the same way.
    extra: Vec<String>,
    operator_key: PathBuf,
}

/// Starts `trail serve` and waits for the line that names its URL.
fn spawn(log: &Path, operator_key: &Path, extra: &[String]) -> (Child, String) {
    let bin = assert_cmd::cargo::cargo_bin("trail");
    let mut child = StdCommand::new(bin)
        .args(["serve", "--log", arg(log), "--listen", "127.0.0.1:0"])
        .args(["--operator-key", arg(operator_key)])
        .args(extra)
        .env_remove("TRAIL_LOG")
        .env_remove("TRAIL_PASSPHRASE")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start trail serve");
    let stdout = child.stdout.take().expect("server stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(first)) = lines.next() {
            let _ = tx.send(first);
        }
        // Keep draining so the server never blocks on a full pipe.
        for _ in lines {}
    });
    let Ok(first) = rx.recv_timeout(Duration::from_secs(60)) else {
        let _ = child.kill();
        let status = child.wait().expect("wait for server");
        panic!("trail serve did not start: {status}");
    };
    let url = first
        .rsplit(" at ")
        .next()
        .filter(|u| u.starts_with("http"))
        .unwrap_or_else(|| panic!("unexpected first line from trail serve: {first}"))
        .to_owned();
    (child, url)
}

impl Served {
    /// Serves `log` with `operator_key` and `extra` flags; waits until it listens.
    pub fn start(log: &Path, operator_key: &Path, extra: &[&str]) -> Served {
        let extra: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
        let (child, url) = spawn(log, operator_key, &extra);
        Served {
            child,
            url,
            log: log.to_owned(),
            extra,
            operator_key: operator_key.to_owned(),
        }
    }

    /// Kills the server with SIGKILL and waits for it to be gone.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for the server to exit; returns its exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        let sent = StdCommand::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        self.child.wait().expect("wait for server").code()
    }

    /// Kills the server and starts it again on the same log with the same
    /// flags (on a new port).
    pub fn restart(&mut self) {
        self.kill9();
        let (child, url) = spawn(&self.log, &self.operator_key, &self.extra);
        self.child = child;
        self.url = url;
    }

    /// A `trail` command against this server with `actor`'s own verified
    /// copy (each actor stands for another machine).
    pub fn client(&self, site: &Site, actor: &str, args: &[&str]) -> Run {
        let cache = site.path(&format!("cache-{actor}"));
        let mut cmd = trail();
        cmd.args(args)
            .args(["--remote", &self.url, "--cache", arg(&cache)]);
        run(cmd, None)
    }
}

impl Served {
    /// `GET path` over a fresh connection: the status and the body.
    pub fn get(&self, path: &str) -> (u16, Vec<u8>) {
        let (status, _, body) = self.get_full(path);
        (status, body)
    }

    /// `GET path`: the status and the response headers, lowercased, one a line.
    pub fn get_headers(&self, path: &str) -> (u16, String) {
        let (status, headers, _) = self.get_full(path);
        (status, headers)
    }

    fn get_full(&self, path: &str) -> (u16, String, Vec<u8>) {
        use std::io::{Read, Write};
        let addr = self.url.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr).expect("connect to the server");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("read timeout");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .expect("send request");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).expect("read answer");
        let split = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("an HTTP answer");
        let head = String::from_utf8_lossy(&answer[..split]).to_string();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status code");
        let mut body = answer[split + 4..].to_vec();
        let headers = head.to_ascii_lowercase();
        if headers.contains("transfer-encoding: chunked") {
            body = unchunk(&body);
        }
        (status, headers, body)
    }
}

/// The payload of a chunked HTTP body.
fn unchunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(line_end) = body.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = usize::from_str_radix(String::from_utf8_lossy(&body[..line_end]).trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = line_end + 2;
        out.extend_from_slice(&body[start..start + size]);
        body = &body[start + size + 2..];
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
