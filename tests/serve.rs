//! The served log end to end: two organisations append with their own keys
//! through `trail serve`, and an auditor verifies with `--remote` alone.

mod common;

use common::served::{Served, grant_operator};
use common::{Site, arg, trail_run};

#[test]
fn two_organisations_append_to_one_served_log_and_an_auditor_verifies_it_remotely() {
    let site = Site::new();
    let operator = grant_operator(&site);
    let served = Served::start(&site.log, &operator, &[]);
    let issue = site.path("issue.json");
    std::fs::write(
        &issue,
        r#"{"type":"recommendation_issued","rec":"REC-3","report":"REP-1","addressees":["syp"],"subject":"Vetting","date":"2021-11-23"}"#,
    )
    .unwrap();
    let issued = served.client(
        &site,
        "iopc",
        &[
            "append",
            "--key",
            arg(&site.key("iopc")),
            "--event",
            arg(&issue),
        ],
    );
    assert!(issued.ok().starts_with("seq 10 "), "{}", issued.stdout);
    let answer = site.path("answer.json");
    std::fs::write(
        &answer,
        r#"{"type":"response_recorded","rec":"REC-3","position":"accepted","actions":"Vetting reviewed","target":"2022-12-31","date":"2021-12-01"}"#,
    )
    .unwrap();
    let receipt = site.path("syp.proof");
    let answered = served.client(
        &site,
        "syp",
        &[
            "append",
            "--key",
            arg(&site.key("syp")),
            "--event",
            arg(&answer),
            "--receipt",
            arg(&receipt),
        ],
    );
    assert!(answered.ok().starts_with("seq 11 "), "{}", answered.stdout);
    // The auditor has nothing but the URL.
    let verified = served.client(&site, "auditor", &["verify"]);
    assert!(
        verified.ok().contains("intact: 12 entries"),
        "{}",
        verified.stdout
    );
    let history = served.client(&site, "auditor", &["history", "REC-3"]);
    assert!(history.ok().contains("REC-3"), "{}", history.stdout);
    // The server's own answers, for web pages, agree with the replay.
    let (status, body) = served.get("/api/history/REC-3");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer["computed_by_server"], true);
    let statements = answer["history"].as_array().unwrap();
    let seqs: Vec<u64> = statements
        .iter()
        .map(|s| s["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [10, 11], "{answer}");
    let (status, body) = served.get("/api/history/NOPE");
    assert_eq!(
        (status, String::from_utf8_lossy(&body).trim()),
        (404, "unknown recommendation NOPE")
    );
    let (status, body) = served.get("/api/state?at=2021-12-31");
    assert_eq!(status, 200);
    let state: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(state["state"]["recs"]["REC-3"].is_object(), "{state}");
    let (status, _) = served.get("/api/check?at=not-a-date");
    assert_eq!(status, 400);
    // A local reader of the served directory is not kept out, and a local
    // writer is told where the log is served.
    let shown = trail_run(&["show", "--log", arg(&site.log)])
        .ok()
        .to_owned();
    assert!(shown.contains("REC-3 accepted"), "{shown}");
    std::fs::write(
        site.path("late.json"),
        r#"{"type": "report_published", "report": "R", "title": "T", "date": "2021-11-23"}"#,
    )
    .unwrap();
    let local = trail_run(&[
        "append",
        "--log",
        arg(&site.log),
        "--key",
        arg(&site.key("iopc")),
        "--event",
        arg(&site.path("late.json")),
    ]);
    local.fails(2, &["is being served at", &served.url, "--remote"]);
    // The receipt is a tlog-proof that verify-proof accepts with the operator's key.
    let vkey = common::seed(common::served::OPERATOR_SEED);
    let _ = vkey;
    assert!(
        std::fs::read_to_string(&receipt)
            .unwrap()
            .starts_with("c2sp.org/tlog-proof@v1")
    );
}

/// Runs openssl with `args`, failing the test if it fails or is missing.
fn openssl(args: &[&str]) {
    let made = std::process::Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is installed (.ci/run installs it)");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
}

/// A private CA and a server certificate for 127.0.0.1 that it signed:
/// (CA certificate, server certificate, server key), made with openssl.
fn private_ca(site: &Site) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let p = |name: &str| site.path(name).display().to_string();
    let (ca_key, ca, key, csr, ext, cert) = (
        p("ca.key"),
        p("ca.pem"),
        p("key.pem"),
        p("server.csr"),
        p("ext.cnf"),
        p("cert.pem"),
    );
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut make_ca = vec!["req", "-x509", "-days", "1", "-subj", "/CN=trail test CA"];
    make_ca.extend(ec);
    make_ca.extend(["-keyout", &ca_key, "-out", &ca]);
    openssl(&make_ca);
    let mut request = vec!["req", "-subj", "/CN=127.0.0.1"];
    request.extend(ec);
    request.extend(["-keyout", &key, "-out", &csr]);
    openssl(&request);
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-days",
        "1",
        "-in",
        &csr,
        "-CA",
        &ca,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-extfile",
        &ext,
        "-out",
        &cert,
    ]);
    (ca.into(), cert.into(), key.into())
}

#[test]
fn the_log_is_served_over_tls_to_clients_that_trust_its_certificate() {
    let site = Site::new();
    let operator = grant_operator(&site);
    let (ca, cert, key) = private_ca(&site);
    let served = Served::start(
        &site.log,
        &operator,
        &["--tls-cert", arg(&cert), "--tls-key", arg(&key)],
    );
    assert!(
        served.url.starts_with("https://127.0.0.1:"),
        "{}",
        served.url
    );
    let trusted = served.client(&site, "auditor", &["verify", "--ca-cert", arg(&ca)]);
    assert!(
        trusted.ok().contains("intact: 10 entries"),
        "{}",
        trusted.stdout
    );
    // Without the certificate, the client refuses the server in one line.
    let untrusted = served.client(&site, "stranger", &["verify"]);
    let message = untrusted.fails(2, &[&served.url]);
    assert!(message.to_lowercase().contains("certificate"), "{message}");
    let curl = std::process::Command::new("curl")
        .args([
            "-sS",
            "--cacert",
            arg(&cert),
            &format!("{}/head", served.url),
        ])
        .output()
        .expect("curl is installed (.ci/run installs it)");
    assert!(
        curl.status.success(),
        "{}",
        String::from_utf8_lossy(&curl.stderr)
    );
    let head: serde_json::Value = serde_json::from_slice(&curl.stdout).unwrap();
    assert_eq!(head["size"], 10);
}

#[test]
fn a_batch_that_would_take_the_serving_operator_key_away_is_refused() {
    let site = Site::new();
    let operator = grant_operator(&site);
    let served = Served::start(&site.log, &operator, &[]);
    let public = common::seed(common::served::OPERATOR_SEED)
        .public_key()
        .to_string();
    let revoke = served.client(
        &site,
        "admin",
        &[
            "revoke",
            "--key",
            arg(&site.key("admin")),
            "--public-key",
            &public,
            "--reason",
            "leaving",
        ],
    );
    let message = revoke.fails(2, &["422", "operator role from the key serving this log"]);
    assert!(message.contains("stop the server"), "{message}");
    // Nothing was written, and the server goes on serving and signing.
    let (status, body) = served.get("/head");
    assert_eq!(status, 200);
    let head: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(head["size"], 10);
    let verified = served.client(&site, "auditor", &["verify"]);
    assert!(
        verified.ok().contains("intact: 10 entries"),
        "{}",
        verified.stdout
    );
}
