//! Hostile clients of `trail serve`, over raw HTTP/1.1 on loopback:
//! malformed and mutated bodies, wrong media types, oversized, stalled and
//! slow requests, stale heads, replays, refused signers, bearer tokens,
//! quotas and read-only mode. Every refusal must carry its documented
//! status and one plain-text line, write nothing (GET /head answers the
//! same size and head afterwards) and leave the server answering. Each
//! refusal is paired with a control request that is accepted, so a test
//! cannot pass because the server refuses everything.

mod common;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::served::{Served, grant_operator};
use common::{Site, arg, event, seed};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use serde_json::{Value, json};
use trail_core::{EntryHash, SecretKey, Timestamp, UnsignedEntry};

/// Seed bytes of the site's keys (tests/common/mod.rs, `SIGNERS`).
const IOPC: u8 = 2;
const SYP: u8 = 3;
const COLLEGE: u8 = 6;

/// The media type of `POST /add-entries` bodies.
const OCTET: &str = "application/octet-stream";

/// How long the client waits on a socket before calling the server hung.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(15);

/// The `--read-timeout` of the tests about stalled and slow clients.
const READ_TIMEOUT_SECS: u64 = 2;

/// How late after `--read-timeout` the server may cut a stalled client off:
/// its timers are not exact, and a loaded test machine is slow.
const TIMEOUT_SLACK: Duration = Duration::from_secs(3);

/// Largest answer the client reads: bounds every read loop.
const MAX_ANSWER_BYTES: usize = 1 << 20;

// ---- Raw HTTP/1.1 ----

/// One HTTP answer.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?} {:?}", self.status, self.headers, self.text())
    }
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("answer is not JSON ({e}): {self:?}"))
    }

    /// Whether the server said it closes the connection after this answer.
    fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// A client connection, with the bytes read past the last answer.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn broken(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

impl Conn {
    #[track_caller]
    fn open(served: &Served) -> Conn {
        let addr = served
            .url
            .strip_prefix("http://")
            .expect("the server speaks plain HTTP");
        let stream = TcpStream::connect(addr).expect("connect to the server");
        stream.set_read_timeout(Some(CLIENT_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(CLIENT_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    /// Reads more bytes into the buffer; false at end of stream.
    fn fill(&mut self) -> io::Result<bool> {
        if self.buf.len() > MAX_ANSWER_BYTES {
            return Err(broken("answer too long"));
        }
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    /// Makes sure `n` bytes are buffered.
    fn want(&mut self, n: usize) -> io::Result<()> {
        while self.buf.len() < n {
            if n > MAX_ANSWER_BYTES || !self.fill()? {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        Ok(())
    }

    /// Takes one CRLF-terminated line off the buffer.
    fn line(&mut self) -> io::Result<String> {
        let end = loop {
            if let Some(at) = find(&self.buf, b"\r\n") {
                break at;
            }
            if !self.fill()? {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        };
        let line = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        self.buf.drain(..end + 2);
        Ok(line)
    }

    /// Reads one answer; `None` if the server closed the connection before
    /// sending any of it.
    fn answer(&mut self) -> io::Result<Option<Answer>> {
        let head_end = loop {
            if let Some(at) = find(&self.buf, b"\r\n\r\n") {
                break at + 4;
            }
            if !self.fill()? {
                return match self.buf.is_empty() {
                    true => Ok(None),
                    false => Err(broken("connection closed inside an answer's headers")),
                };
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        self.buf.drain(..head_end);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status = status_line
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| broken(&format!("bad status line {status_line:?}")))?;
        let headers: Vec<(String, String)> = lines
            .filter(|l| !l.is_empty())
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let mut answer = Answer {
            status,
            headers,
            body: Vec::new(),
        };
        if let Some(len) = answer.header("content-length") {
            let len: usize = len.parse().map_err(|_| broken("bad content-length"))?;
            self.want(len)?;
            answer.body = self.buf.drain(..len).collect();
        } else if answer
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            loop {
                let size = self.line()?;
                let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
                    .map_err(|_| broken("bad chunk size"))?;
                if size == 0 {
                    // Trailers, up to the empty line.
                    while !self.line()?.is_empty() {}
                    break;
                }
                self.want(size + 2)?;
                answer.body.extend(self.buf.drain(..size));
                self.buf.drain(..2);
            }
        } else {
            while self.fill()? {}
            answer.body = std::mem::take(&mut self.buf);
        }
        Ok(Some(answer))
    }
}

/// The bytes of a request.
fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    if method == "POST" {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// Sends `bytes` on a fresh connection and reads the answer. A failed write
/// is not the end: a server may answer and close before reading a whole
/// body it refuses, and the answer is what counts.
#[track_caller]
fn exchange(served: &Served, bytes: &[u8]) -> Answer {
    let mut conn = Conn::open(served);
    let _ = conn.stream.write_all(bytes);
    match conn.answer() {
        Ok(Some(answer)) => answer,
        Ok(None) => panic!("the server closed the connection without an answer"),
        Err(e) => panic!("no answer from the server: {e}"),
    }
}

#[track_caller]
fn get(served: &Served, path: &str) -> Answer {
    exchange(served, &request("GET", path, &[], &[]))
}

/// `POST /add-entries` with `body` as application/octet-stream.
#[track_caller]
fn add(served: &Served, body: &[u8]) -> Answer {
    add_with(served, &[("Content-Type", OCTET)], body)
}

#[track_caller]
fn add_with(served: &Served, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    exchange(served, &request("POST", "/add-entries", headers, body))
}

// ---- The log ----

/// The log's size and head hash, from `GET /head`, which must answer 200.
#[track_caller]
fn head(served: &Served) -> (u64, EntryHash) {
    let answer = get(served, "/head");
    assert_eq!(answer.status, 200, "GET /head: {answer:?}");
    let body = answer.json();
    let size = body["size"].as_u64().expect("size in GET /head");
    let hash = body["head"]
        .as_str()
        .expect("head in GET /head")
        .parse()
        .expect("head is a hash");
    (size, hash)
}

/// The canonical bytes of an entry.
fn signed(
    key: &SecretKey,
    seq: u64,
    prev_hash: EntryHash,
    recorded_at: Timestamp,
    ev: &Value,
) -> Vec<u8> {
    UnsignedEntry {
        seq,
        prev_hash,
        recorded_at,
        signer: key.public_key(),
        event: event(ev),
    }
    .sign(key)
    .to_bytes()
}

/// An entry signed by the key of seed `signer` against the server's head, recorded now.
#[track_caller]
fn next(served: &Served, signer: u8, ev: &Value) -> Vec<u8> {
    let (size, hash) = head(served);
    signed(&seed(signer), size, hash, Timestamp::now(), ev)
}

/// A batch body: each entry after its big-endian u16 length.
fn bundle(entries: &[&[u8]]) -> Vec<u8> {
    trail_core::tiles::entry_bundle::encode(entries.iter().copied()).expect("entries fit a frame")
}

/// One frame around arbitrary bytes.
fn frame(bytes: &[u8]) -> Vec<u8> {
    let mut out = u16::try_from(bytes.len()).unwrap().to_be_bytes().to_vec();
    out.extend_from_slice(bytes);
    out
}

/// Deterministic bytes that are no entry.
fn garbage(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 151 + 7) as u8).collect()
}

/// A response syp may sign (REC-1 is addressed to syp); `n` keeps entries apart.
fn syp_response(n: u32) -> Value {
    json!({"type": "response_recorded", "rec": "REC-1", "position": "accepted",
        "actions": format!("Step {n}"), "date": "2021-12-10"})
}

/// A response college may sign (REC-2 is addressed to college).
fn college_response(n: u32) -> Value {
    json!({"type": "response_recorded", "rec": "REC-2", "position": "accepted",
        "actions": format!("Step {n}"), "date": "2021-12-10"})
}

// ---- Assertions ----

/// Asserts a refusal: `status` and one plain-text line that mentions `needle`.
#[track_caller]
fn assert_refused(answer: &Answer, status: u16, needle: &str) {
    let text = answer.text();
    assert_eq!(answer.status, status, "wrong status: {answer:?}");
    assert!(
        answer
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain")),
        "a refusal is plain text: {answer:?}"
    );
    assert!(
        text.ends_with('\n') && text.lines().count() == 1,
        "a refusal is one line: {text:?}"
    );
    assert!(
        text.contains(needle),
        "the reason {text:?} should mention {needle:?}"
    );
}

/// Asserts that nothing was written and that the server still answers.
#[track_caller]
fn assert_unchanged(served: &Served, before: (u64, EntryHash)) {
    assert_eq!(head(served), before, "the log changed");
}

/// Asserts that `body` is accepted and appends exactly its entries; returns the answer's JSON.
#[track_caller]
fn assert_accepted(served: &Served, body: &[u8]) -> Value {
    let (size, _) = head(served);
    let answer = add(served, body);
    assert_eq!(answer.status, 200, "refused: {answer:?}");
    let receipts = answer.json();
    let appended = receipts["entries"].as_array().expect("entries").len() as u64;
    let count = trail_core::tiles::entry_bundle::decode(body, usize::MAX)
        .unwrap()
        .len() as u64;
    assert_eq!(appended, count, "one receipt per entry: {receipts}");
    assert_eq!(
        head(served).0,
        size + count,
        "the entries were not appended"
    );
    receipts
}

// ---- Servers ----

/// A served copy of the standard site. The server is dropped (killed) before
/// the directory it serves.
struct Fixture {
    served: Served,
    site: Site,
}

fn serve(flags: &[&str]) -> Fixture {
    let site = Site::new();
    serve_site(site, flags)
}

fn serve_site(site: Site, flags: &[&str]) -> Fixture {
    let operator = grant_operator(&site);
    let served = Served::start(&site.log, &operator, flags);
    Fixture { served, site }
}

// ---- Malformed bodies ----

#[test]
fn malformed_bodies_are_refused_with_400_and_write_nothing() {
    let f = serve(&[]);
    let before = head(&f.served);
    let entry = next(&f.served, SYP, &syp_response(1));
    let valid = bundle(&[&entry]);
    let with = |tail: &[u8]| [valid.as_slice(), tail].concat();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated inside the entry",
            valid[..valid.len() - 1].to_vec(),
            "ends inside entry 1",
        ),
        (
            "truncated inside the length",
            valid[..1].to_vec(),
            "ends inside entry 1",
        ),
        (
            "a length and nothing else",
            valid[..2].to_vec(),
            "ends inside entry 1",
        ),
        (
            "zero-length frame",
            vec![0, 0],
            "entry 1 of the entry bundle has length zero",
        ),
        (
            "zero-length frame after a good one",
            with(&[0, 0]),
            "entry 2 of the entry bundle has length zero",
        ),
        (
            "a second frame cut short",
            with(&[0, 9, 1, 2]),
            "ends inside entry 2",
        ),
        (
            "garbage framed correctly",
            frame(&garbage(120)),
            "cannot be decoded",
        ),
        (
            "garbage framed correctly after a good entry",
            with(&frame(&garbage(300))),
            "cannot be decoded",
        ),
        (
            "the entry with a byte cut from its end, reframed",
            frame(&entry[..entry.len() - 1]),
            "cannot be decoded",
        ),
        (
            "the entry with a byte added, reframed",
            frame(&[entry.as_slice(), &[0]].concat()),
            "cannot be decoded",
        ),
        ("empty body", Vec::new(), "no entries"),
    ];
    for (what, body, needle) in &cases {
        eprintln!("case: {what}");
        assert_refused(&add(&f.served, body), 400, needle);
        assert_unchanged(&f.served, before);
    }
    // One more frame than a batch may hold (10,000) is refused before any is decoded.
    let too_many: Vec<u8> = std::iter::repeat_n([0u8, 1, 0], 10_001).flatten().collect();
    assert_refused(&add(&f.served, &too_many), 413, "more than 10000 entries");
    assert_unchanged(&f.served, before);
    // The same entry, framed as it should be, is accepted.
    assert_accepted(&f.served, &valid);
}

#[test]
fn a_body_that_is_not_octet_stream_is_refused_with_415() {
    let f = serve(&[]);
    let before = head(&f.served);
    let valid = bundle(&[&next(&f.served, SYP, &syp_response(1))]);
    let cases: [&[(&str, &str)]; 5] = [
        &[],
        &[("Content-Type", "text/plain")],
        &[("Content-Type", "application/json")],
        &[("Content-Type", "application/octet-streams")],
        &[("Content-Type", "multipart/form-data; boundary=x")],
    ];
    for headers in cases {
        let answer = add_with(&f.served, headers, &valid);
        assert_refused(&answer, 415, "application/octet-stream");
        assert_unchanged(&f.served, before);
    }
    // A parameter on the right type is fine.
    let answer = add_with(
        &f.served,
        &[("Content-Type", "application/octet-stream; x=1")],
        &valid,
    );
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(head(&f.served).0, before.0 + 1);
}

#[test]
fn a_body_beyond_max_body_is_refused_with_413() {
    let f = serve(&["--max-body", "1024"]);
    let before = head(&f.served);
    let entry = next(&f.served, SYP, &syp_response(1));
    assert!(entry.len() + 2 < 1024, "the entry alone must fit");
    let mut big = bundle(&[&entry]);
    while big.len() <= 1024 {
        big.extend(frame(&garbage(200)));
    }
    assert_refused(&add(&f.served, &big), 413, "larger than 1024 bytes");
    assert_unchanged(&f.served, before);

    // A body announced as a megabyte is refused once 1024 bytes are in,
    // without waiting for the rest (the read timeout is the default 10 s).
    let mut lying = format!(
        "POST /add-entries HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {OCTET}\r\nContent-Length: 1048576\r\n\r\n"
    )
    .into_bytes();
    lying.extend_from_slice(&big);
    let started = Instant::now();
    let mut conn = Conn::open(&f.served);
    let _ = conn.stream.write_all(&lying);
    let answer = conn.answer().expect("an answer").expect("an answer");
    assert_refused(&answer, 413, "larger than 1024 bytes");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "413 took {:?}",
        started.elapsed()
    );
    assert_unchanged(&f.served, before);
    assert_accepted(&f.served, &bundle(&[&entry]));
}

// ---- Stalled and slow clients ----

/// What became of a connection the client kept starving.
#[derive(Debug, PartialEq)]
enum CutOff {
    /// The server answered with this status.
    Answered(u16),
    /// The server closed or reset the connection without an answer.
    Dropped,
}

/// Reads whatever the server does with a starved connection, within the client timeout.
#[track_caller]
fn cut_off(conn: &mut Conn) -> CutOff {
    match conn.answer() {
        Ok(Some(answer)) => CutOff::Answered(answer.status),
        Ok(None) => CutOff::Dropped,
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => CutOff::Dropped,
        Err(e) => panic!("the server kept a starved connection open: {e}"),
    }
}

/// Sends `prefix`, then `drip` one byte every 300 ms, until the server
/// answers or closes the connection; returns what it did and when.
#[track_caller]
fn drip_until_cut_off(served: &Served, prefix: &[u8], drip: u8) -> (CutOff, Duration) {
    let mut conn = Conn::open(served);
    conn.stream.write_all(prefix).expect("send the start");
    conn.stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let started = Instant::now();
    // 60 bytes is 18 s: far past the read timeout.
    for _ in 0..60 {
        if conn.stream.write_all(&[drip]).is_err() {
            return (CutOff::Dropped, started.elapsed());
        }
        match conn.fill() {
            Ok(false) => return (CutOff::Dropped, started.elapsed()),
            Ok(true) => {
                conn.stream.set_read_timeout(Some(CLIENT_TIMEOUT)).unwrap();
                return (cut_off(&mut conn), started.elapsed());
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return (CutOff::Dropped, started.elapsed()),
        }
    }
    panic!(
        "the server still listened to a byte every 300 ms after {:?}",
        started.elapsed()
    );
}

#[track_caller]
fn assert_in_time(elapsed: Duration) {
    let limit = Duration::from_secs(READ_TIMEOUT_SECS) + TIMEOUT_SLACK;
    assert!(
        elapsed < limit,
        "cut off after {elapsed:?}, later than the read timeout allows"
    );
}

#[test]
fn a_body_shorter_than_its_content_length_gets_408_within_the_read_timeout() {
    let f = serve(&["--read-timeout", "2"]);
    let before = head(&f.served);
    let valid = bundle(&[&next(&f.served, SYP, &syp_response(1))]);
    let mut conn = Conn::open(&f.served);
    let mut start = format!(
        "POST /add-entries HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {OCTET}\r\nContent-Length: {}\r\n\r\n",
        valid.len() + 100
    )
    .into_bytes();
    start.extend_from_slice(&valid);
    let started = Instant::now();
    conn.stream.write_all(&start).unwrap();
    // Then the client stalls.
    let outcome = cut_off(&mut conn);
    let elapsed = started.elapsed();
    assert_eq!(outcome, CutOff::Answered(408), "after {elapsed:?}");
    assert_in_time(elapsed);
    assert_unchanged(&f.served, before);
    assert_accepted(&f.served, &valid);
}

#[test]
fn a_body_sent_a_byte_at_a_time_gets_408_within_the_read_timeout() {
    let f = serve(&["--read-timeout", "2"]);
    let before = head(&f.served);
    let start = format!(
        "POST /add-entries HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {OCTET}\r\nContent-Length: 5000\r\n\r\n"
    );
    let (outcome, elapsed) = drip_until_cut_off(&f.served, start.as_bytes(), 0);
    assert_eq!(outcome, CutOff::Answered(408), "after {elapsed:?}");
    assert_in_time(elapsed);
    assert_unchanged(&f.served, before);
}

#[test]
fn slow_loris_headers_are_dropped_within_the_read_timeout() {
    let f = serve(&["--read-timeout", "2"]);
    let before = head(&f.served);
    let start = format!(
        "POST /add-entries HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {OCTET}\r\nX-Slow: "
    );
    let (outcome, elapsed) = drip_until_cut_off(&f.served, start.as_bytes(), b'a');
    assert!(
        matches!(outcome, CutOff::Dropped | CutOff::Answered(408)),
        "{outcome:?} after {elapsed:?}"
    );
    assert_in_time(elapsed);
    // Headers dribbled from the very first byte fare no better.
    let (outcome, elapsed) = drip_until_cut_off(&f.served, b"P", b'O');
    assert!(
        matches!(outcome, CutOff::Dropped | CutOff::Answered(408 | 400)),
        "{outcome:?} after {elapsed:?}"
    );
    assert_in_time(elapsed);
    assert_unchanged(&f.served, before);
}

#[test]
fn idle_connections_are_dropped_within_the_read_timeout() {
    // Each open connection holds one of --max-connections' slots, so one
    // that never sends a request, or never sends the next, must not keep it.
    let f = serve(&["--read-timeout", "2"]);
    let mut silent = Conn::open(&f.served);
    let started = Instant::now();
    assert_eq!(cut_off(&mut silent), CutOff::Dropped);
    assert_in_time(started.elapsed());
    let mut kept = Conn::open(&f.served);
    kept.stream
        .write_all(&request("GET", "/head", &[], &[]))
        .unwrap();
    let answer = kept.answer().unwrap().expect("an answer");
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(!answer.closes(), "the connection is kept alive: {answer:?}");
    let started = Instant::now();
    assert_eq!(cut_off(&mut kept), CutOff::Dropped);
    assert_in_time(started.elapsed());
    head(&f.served);
}

#[test]
fn oversized_headers_get_431_and_the_server_goes_on() {
    let f = serve(&[]);
    let before = head(&f.served);
    // One header far beyond the server's 64 KiB request buffer.
    let mut long = format!(
        "POST /add-entries HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {OCTET}\r\nX-Long: "
    )
    .into_bytes();
    long.extend(std::iter::repeat_n(b'a', 256 * 1024));
    long.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(exchange(&f.served, &long).status, 431);
    // More header lines than the server parses.
    let mut many = String::from("GET /head HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for i in 0..200 {
        many.push_str(&format!("X-{i}: y\r\n"));
    }
    many.push_str("\r\n");
    assert_eq!(exchange(&f.served, many.as_bytes()).status, 431);
    assert_unchanged(&f.served, before);
}

// ---- Stale heads and replays ----

#[test]
fn an_entry_signed_against_a_stale_head_gets_409_with_the_new_head() {
    let f = serve(&[]);
    let first = next(&f.served, SYP, &syp_response(1));
    let second = next(&f.served, SYP, &syp_response(2));
    assert_accepted(&f.served, &bundle(&[&first]));
    let moved = head(&f.served);
    let answer = add(&f.served, &bundle(&[&second]));
    assert_refused(&answer, 409, "moved on");
    assert_eq!(
        answer.header("trail-size"),
        Some(moved.0.to_string().as_str()),
        "{answer:?}"
    );
    assert_eq!(
        answer.header("trail-head"),
        Some(moved.1.to_string().as_str()),
        "{answer:?}"
    );
    assert_unchanged(&f.served, moved);
    // An entry for a seq long taken, with a link that was never the log's.
    let old = signed(
        &seed(SYP),
        3,
        EntryHash([9; 32]),
        Timestamp::now(),
        &syp_response(3),
    );
    let answer = add(&f.served, &bundle(&[&old]));
    assert_refused(&answer, 409, "moved on");
    assert_eq!(
        answer.header("trail-size"),
        Some(moved.0.to_string().as_str())
    );
    assert_unchanged(&f.served, moved);
    // Signed again against the new head, the second entry goes in.
    assert_accepted(
        &f.served,
        &bundle(&[&next(&f.served, SYP, &syp_response(2))]),
    );
}

#[test]
fn a_replayed_batch_gets_the_same_receipts_and_writes_nothing() {
    let f = serve(&[]);
    let (size, hash) = head(&f.served);
    let now = Timestamp::now();
    let one = signed(&seed(SYP), size, hash, now, &syp_response(1));
    let one_hash = trail_core::entry_hash(&one);
    let two = signed(&seed(SYP), size + 1, one_hash, now, &syp_response(2));
    let batch = bundle(&[&one, &two]);
    let first = assert_accepted(&f.served, &batch);
    let after = head(&f.served);
    assert_eq!(after.0, size + 2);
    for _ in 0..3 {
        let again = add(&f.served, &batch);
        assert_eq!(again.status, 200, "{again:?}");
        assert_eq!(again.json(), first, "a replay gets the same receipts");
        assert_unchanged(&f.served, after);
    }
    // Its last entry alone is stored as sent, so it is accepted again too.
    let tail = add(&f.served, &bundle(&[&two]));
    assert_eq!(tail.status, 200, "{tail:?}");
    assert_eq!(tail.json()["entries"][0]["seq"], first["entries"][1]["seq"]);
    assert_eq!(
        tail.json()["entries"][0]["hash"],
        first["entries"][1]["hash"]
    );
    assert_unchanged(&f.served, after);
    // The batch with its entries swapped was never one: refused, nothing written.
    assert_refused(&add(&f.served, &bundle(&[&two, &one])), 409, "moved on");
    assert_unchanged(&f.served, after);
}

// ---- Signers the log refuses ----

#[test]
fn an_entry_signed_by_a_revoked_key_gets_403() {
    let f = serve(&[]);
    let college = f.site.public("college");
    let revoked = f.served.client(
        &f.site,
        "admin",
        &[
            "revoke",
            "--key",
            arg(&f.site.key("admin")),
            "--public-key",
            &college,
            "--reason",
            "key left on a train",
        ],
    );
    revoked.ok();
    let before = head(&f.served);
    let answer = add(
        &f.served,
        &bundle(&[&next(&f.served, COLLEGE, &college_response(1))]),
    );
    assert_refused(&answer, 403, "revoked");
    assert_unchanged(&f.served, before);
    assert_accepted(
        &f.served,
        &bundle(&[&next(&f.served, SYP, &syp_response(1))]),
    );
}

#[test]
fn an_entry_signed_by_a_key_without_the_role_gets_403() {
    let f = serve(&[]);
    let before = head(&f.served);
    let issue = json!({"type": "recommendation_issued", "rec": "REC-3", "report": "REP-1",
        "addressees": ["syp"], "subject": "Vetting", "date": "2021-11-23"});
    let answer = add(&f.served, &bundle(&[&next(&f.served, SYP, &issue)]));
    assert_refused(&answer, 403, "needs the issuer role");
    assert_unchanged(&f.served, before);
    // A respondent answering a recommendation not addressed to it is refused as well.
    let answer = add(
        &f.served,
        &bundle(&[&next(&f.served, COLLEGE, &syp_response(1))]),
    );
    assert_refused(&answer, 403, "not addressed to college");
    assert_unchanged(&f.served, before);
    // An unregistered key.
    let answer = add(
        &f.served,
        &bundle(&[&next(&f.served, 13, &syp_response(1))]),
    );
    assert_refused(&answer, 403, "not registered");
    assert_unchanged(&f.served, before);
    assert_accepted(&f.served, &bundle(&[&next(&f.served, IOPC, &issue)]));
}

#[test]
fn an_entry_recorded_an_hour_ahead_gets_422() {
    let f = serve(&[]);
    let before = head(&f.served);
    let (size, hash) = before;
    let hour_ahead = Timestamp::from_micros(Timestamp::now().micros() + 3_600_000_000).unwrap();
    let ahead = signed(&seed(SYP), size, hash, hour_ahead, &syp_response(1));
    let answer = add(&f.served, &bundle(&[&ahead]));
    assert_refused(&answer, 422, "within 300 s");
    assert_unchanged(&f.served, before);
    assert_accepted(
        &f.served,
        &bundle(&[&next(&f.served, SYP, &syp_response(1))]),
    );
}

#[test]
fn an_entry_with_a_bad_signature_gets_403() {
    let f = serve(&[]);
    let before = head(&f.served);
    let entry = next(&f.served, SYP, &syp_response(1));
    // The signature is the last 64 bytes: flip a bit of R and a bit of S.
    for at in [entry.len() - 64, entry.len() - 1] {
        let mut bad = entry.clone();
        bad[at] ^= 0x01;
        assert_refused(&add(&f.served, &bundle(&[&bad])), 403, "signature");
        assert_unchanged(&f.served, before);
    }
    // Signed by college's key, claiming syp's.
    let (size, hash) = before;
    let forged = UnsignedEntry {
        seq: size,
        prev_hash: hash,
        recorded_at: Timestamp::now(),
        signer: seed(SYP).public_key(),
        event: event(&syp_response(1)),
    }
    .sign(&seed(COLLEGE))
    .to_bytes();
    assert_refused(&add(&f.served, &bundle(&[&forged])), 403, "signature");
    assert_unchanged(&f.served, before);
    assert_accepted(&f.served, &bundle(&[&entry]));
}

#[test]
fn a_response_to_an_unknown_recommendation_gets_422() {
    let f = serve(&[]);
    let before = head(&f.served);
    let mut unknown = syp_response(1);
    unknown["rec"] = json!("REC-99");
    let answer = add(&f.served, &bundle(&[&next(&f.served, SYP, &unknown)]));
    assert_refused(&answer, 422, "unknown recommendation REC-99");
    assert_unchanged(&f.served, before);
    assert_accepted(
        &f.served,
        &bundle(&[&next(&f.served, SYP, &syp_response(1))]),
    );
}

// ---- Tokens, quotas, read-only ----

#[test]
fn with_tokens_writes_need_a_known_bearer_token_and_reads_stay_open() {
    let site = Site::new();
    let tokens = site.path("tokens");
    std::fs::write(
        &tokens,
        "# writers\nsyp 0123456789abcdef0123\niopc fedcba9876543210fedc\n",
    )
    .unwrap();
    let f = serve_site(site, &["--tokens", arg(&tokens)]);
    let before = head(&f.served);
    let valid = bundle(&[&next(&f.served, SYP, &syp_response(1))]);
    let refused: [&[(&str, &str)]; 6] = [
        &[("Content-Type", OCTET)],
        &[
            ("Content-Type", OCTET),
            ("Authorization", "Bearer 0123456789abcdef0124"),
        ],
        &[
            ("Content-Type", OCTET),
            ("Authorization", "Bearer 0123456789abcdef012"),
        ],
        &[("Content-Type", OCTET), ("Authorization", "Bearer ")],
        &[
            ("Content-Type", OCTET),
            ("Authorization", "Basic 0123456789abcdef0123"),
        ],
        &[
            ("Content-Type", OCTET),
            ("Authorization", "0123456789abcdef0123"),
        ],
    ];
    for headers in refused {
        let answer = add_with(&f.served, headers, &valid);
        assert_refused(&answer, 401, "bearer token");
        assert_eq!(
            answer.header("www-authenticate"),
            Some("Bearer"),
            "{answer:?}"
        );
        assert_unchanged(&f.served, before);
    }
    // The token is checked before the body is looked at.
    let answer = add_with(&f.served, &[("Content-Type", "text/plain")], &garbage(50));
    assert_refused(&answer, 401, "bearer token");
    // Reads need no token.
    for path in ["/head", "/checkpoint", "/entries?start=0"] {
        let answer = get(&f.served, path);
        assert_eq!(answer.status, 200, "GET {path}: {answer:?}");
    }
    assert_unchanged(&f.served, before);
    // Either organisation's token lets a write in; the token does not decide who signs.
    let answer = add_with(
        &f.served,
        &[
            ("Content-Type", OCTET),
            ("Authorization", "Bearer fedcba9876543210fedc"),
        ],
        &valid,
    );
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(head(&f.served).0, before.0 + 1);
}

#[test]
fn past_its_quota_a_key_gets_429_with_retry_after() {
    let f = serve(&["--quota", "2"]);
    for n in 1..=2 {
        assert_accepted(
            &f.served,
            &bundle(&[&next(&f.served, SYP, &syp_response(n))]),
        );
    }
    let before = head(&f.served);
    let answer = add(
        &f.served,
        &bundle(&[&next(&f.served, SYP, &syp_response(3))]),
    );
    assert_refused(&answer, 429, "quota");
    let retry: u64 = answer
        .header("retry-after")
        .expect("a Retry-After header")
        .parse()
        .expect("Retry-After in seconds");
    let now = Timestamp::now().micros() / 1_000_000;
    let to_midnight = (86_400 - now.rem_euclid(86_400)) as u64;
    assert!(
        retry >= 1 && retry.abs_diff(to_midnight) <= 5,
        "Retry-After {retry} should be the {to_midnight} s until 00:00 UTC"
    );
    assert_unchanged(&f.served, before);
    // A batch over the quota on its own is refused whole.
    let (size, hash) = before;
    let now = Timestamp::now();
    let mut entries = Vec::new();
    let mut prev = hash;
    for n in 0..3 {
        let e = signed(
            &seed(COLLEGE),
            size + n,
            prev,
            now,
            &college_response(n as u32),
        );
        prev = trail_core::entry_hash(&e);
        entries.push(e);
    }
    let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
    assert_refused(&add(&f.served, &bundle(&refs)), 429, "quota");
    assert_unchanged(&f.served, before);
    // The quota is per key: college has used none of its own.
    assert_accepted(&f.served, &bundle(&refs[..2]));
}

#[test]
fn a_replayed_batch_does_not_use_the_quota() {
    let f = serve(&["--quota", "2"]);
    let first = bundle(&[&next(&f.served, SYP, &syp_response(1))]);
    assert_accepted(&f.served, &first);
    // The client lost the answer and resends, as docs/SERVER.md says it may.
    let again = add(&f.served, &first);
    assert_eq!(again.status, 200, "{again:?}");
    // syp has written one entry of its two.
    assert_accepted(
        &f.served,
        &bundle(&[&next(&f.served, SYP, &syp_response(2))]),
    );
}

#[test]
fn read_only_refuses_writes_with_503_and_serves_reads() {
    let f = serve(&["--read-only"]);
    let before = head(&f.served);
    let valid = bundle(&[&next(&f.served, SYP, &syp_response(1))]);
    assert_refused(&add(&f.served, &valid), 503, "read-only");
    assert_refused(&add(&f.served, &garbage(10)), 503, "read-only");
    assert_unchanged(&f.served, before);
    let entries = get(&f.served, "/entries?start=0");
    assert_eq!(entries.status, 200, "{entries:?}");
    assert_eq!(
        entries.header("trail-size"),
        Some(before.0.to_string().as_str())
    );
    let listed = trail_core::tiles::entry_bundle::decode(&entries.body, usize::MAX).unwrap();
    assert_eq!(listed.len() as u64, before.0);
    let checkpoint = get(&f.served, "/checkpoint");
    assert_eq!(checkpoint.status, 200, "{checkpoint:?}");
    assert_unchanged(&f.served, before);
}

// ---- Mutated bodies ----

/// One change to a body.
#[derive(Clone, Debug)]
enum Mutation {
    /// XOR a byte with a nonzero mask.
    Flip(Index, u8),
    /// Keep only the first bytes.
    Truncate(Index),
    /// Insert bytes.
    Insert(Index, Vec<u8>),
    /// Remove up to n bytes.
    Remove(Index, usize),
    /// Overwrite the first frame's length.
    Length(u16),
    /// Append a frame of arbitrary bytes with a length that may lie.
    Tail(u16, Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<Index>(), 1..=255u8).prop_map(|(at, mask)| Mutation::Flip(at, mask)),
        2 => any::<Index>().prop_map(Mutation::Truncate),
        2 => (any::<Index>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        1 => (any::<Index>(), 1..32usize).prop_map(|(at, n)| Mutation::Remove(at, n)),
        1 => any::<u16>().prop_map(Mutation::Length),
        1 => (any::<u16>(), prop::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(len, bytes)| Mutation::Tail(len, bytes)),
    ]
}

fn mutate(body: &mut Vec<u8>, m: &Mutation) {
    match m {
        Mutation::Flip(at, mask) if !body.is_empty() => {
            let i = at.index(body.len());
            body[i] ^= mask;
        }
        Mutation::Truncate(at) => body.truncate(at.index(body.len() + 1)),
        Mutation::Insert(at, bytes) => {
            let i = at.index(body.len() + 1);
            body.splice(i..i, bytes.iter().copied());
        }
        Mutation::Remove(at, n) if !body.is_empty() => {
            let i = at.index(body.len());
            body.drain(i..(i + n).min(body.len()));
        }
        Mutation::Length(len) if body.len() >= 2 => body[..2].copy_from_slice(&len.to_be_bytes()),
        Mutation::Tail(len, bytes) => {
            body.extend_from_slice(&len.to_be_bytes());
            body.extend_from_slice(bytes);
        }
        _ => {}
    }
}

/// A hostile body: the valid one mutated, or frames of arbitrary bytes.
fn hostile_body(valid: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let frames = prop::collection::vec(
        (
            any::<bool>(),
            any::<u16>(),
            prop::collection::vec(any::<u8>(), 0..400),
        ),
        0..4,
    )
    .prop_map(|frames| {
        let mut out = Vec::new();
        for (honest, len, bytes) in frames {
            let len = if honest { bytes.len() as u16 } else { len };
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&bytes);
        }
        out
    });
    prop_oneof![
        8 => prop::collection::vec(mutation(), 1..4).prop_map(move |ms| {
            let mut body = valid.clone();
            for m in &ms {
                mutate(&mut body, m);
            }
            body
        }),
        1 => frames,
        1 => prop::collection::vec(any::<u8>(), 0..600),
    ]
}

/// Sends 10,000 hostile bodies, over one keep-alive connection while the
/// server keeps it open, to a server started with `flags`; each must get a
/// status in `statuses` and one plain-text line, the log must be unchanged
/// afterwards and the body they were made from must still be accepted.
fn hostile_bodies_get_4xx_and_write_nothing(flags: &[&str], statuses: &[u16]) {
    let f = serve(flags);
    let before = head(&f.served);
    let entry = next(&f.served, SYP, &syp_response(1));
    let valid = bundle(&[&entry]);
    let started = Instant::now();
    let conn = RefCell::new(Conn::open(&f.served));
    let seen = RefCell::new(BTreeMap::<u16, u64>::new());
    let connections = RefCell::new(1u64);
    let config = ProptestConfig {
        cases: 10_000,
        failure_persistence: None,
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    };
    let mut runner = TestRunner::new(config);
    // One body in twenty goes on a fresh connection.
    let cases = (hostile_body(valid.clone()), prop::bool::weighted(0.05));
    let result = runner.run(&cases, |(body, fresh)| {
        prop_assume!(body != valid);
        let mut conn = conn.borrow_mut();
        if fresh {
            *conn = Conn::open(&f.served);
            *connections.borrow_mut() += 1;
        }
        let bytes = request("POST", "/add-entries", &[("Content-Type", OCTET)], &body);
        conn.stream
            .write_all(&bytes)
            .map_err(|e| TestCaseError::fail(format!("write failed: {e}")))?;
        let answer = conn
            .answer()
            .map_err(|e| TestCaseError::fail(format!("no answer: {e}")))?
            .ok_or_else(|| TestCaseError::fail("connection closed without an answer"))?;
        *seen.borrow_mut().entry(answer.status).or_default() += 1;
        let text = answer.text();
        prop_assert!(
            statuses.contains(&answer.status),
            "status {} for {} bytes: {text}",
            answer.status,
            body.len(),
        );
        prop_assert!(
            text.ends_with('\n') && text.lines().count() == 1,
            "{text:?}"
        );
        if answer.closes() {
            *conn = Conn::open(&f.served);
            *connections.borrow_mut() += 1;
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let elapsed = started.elapsed();
    let seen = seen.into_inner();
    let sent: u64 = seen.values().sum();
    eprintln!(
        "{sent} hostile bodies in {elapsed:?} on {} connections; statuses {seen:?}",
        connections.borrow()
    );
    assert!(sent >= 10_000, "only {sent} bodies sent");
    // The mutations reach past the framing: to decoding, and to signatures.
    assert!(seen.get(&400).is_some_and(|n| *n > 100), "{seen:?}");
    assert!(seen.get(&403).is_some_and(|n| *n > 100), "{seen:?}");
    assert_unchanged(&f.served, before);
    // The body they were made from still goes in (its time is still within the skew).
    assert_accepted(&f.served, &valid);
}

#[test]
fn ten_thousand_mutated_bodies_get_4xx_and_write_nothing() {
    hostile_bodies_get_4xx_and_write_nothing(&[], &[400, 403, 409, 413, 422]);
}

/// With a quota, every body that decodes reserves its signers' entries before
/// the append; each refusal must give them back, or the valid entry at the
/// end would be over syp's quota of one. A body with two of syp's entries is
/// over the quota on its own (429).
#[test]
fn ten_thousand_mutated_bodies_under_a_quota_of_one_give_their_reservations_back() {
    hostile_bodies_get_4xx_and_write_nothing(&["--quota", "1"], &[400, 403, 409, 413, 422, 429]);
}
