//! The pages `trail serve` renders for readers (issue 14, first part), on a
//! live server over loopback: the overview lists every recommendation and
//! links to each one's page, which shows where a claim and a later
//! assessment part ways and offers the recommendation's record, which
//! `trail verify-proof` then checks with no log; search finds entries; text
//! from the log stays text; nothing is loaded from elsewhere; and headless
//! Chromium builds the same page from what the server sends.

mod common;

use common::browser::{chromium, run_chromium};
use common::served::{Served, grant_operator};
use common::{Site, arg, copy_tree, trail_run};

const HOSTILE: &str = "<script>alert(1)</script><img src=x onerror=alert(2)>";

/// A served log: REC-1 claimed implemented by syp and assessed not
/// implemented, with hostile text in the claim; REC-2 untouched. Returns
/// the site, the server and the operator's verifier key.
fn served() -> (Site, Served, String) {
    let site = Site::new();
    let operator = grant_operator(&site);
    site.accept_and_claim_rec1(HOSTILE);
    site.grant_key(&site.log, "inspectorate", 41, "assessor");
    site.append(
        "inspectorate",
        &serde_json::json!({"type": "assessment", "rec": "REC-1", "verdict": "not_implemented",
            "coverage": "full", "narrative": "No training records", "date": "2022-09-01"}),
    )
    .ok();
    // The operator's verifier key, from a copy (the served log is busy).
    let copy = site.path("copy");
    copy_tree(&site.log, &copy);
    let vkey = site.checkpoint(&copy, &operator, &site.path("cp"));
    let server = Served::start(&site.log, &operator, &[]);
    (site, server, vkey)
}

fn page(server: &Served, path: &str) -> String {
    let (status, body) = server.get(path);
    assert_eq!(
        status,
        200,
        "GET {path}: {}",
        String::from_utf8_lossy(&body)
    );
    String::from_utf8(body).expect("a page is UTF-8")
}

/// The `href`s of a page, in order.
fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|l| l.replace("&amp;", "&"))
        .collect()
}

#[test]
fn a_reader_goes_from_the_overview_to_a_recommendation_and_checks_its_record() {
    let (site, server, vkey) = served();
    let overview = page(&server, "/?at=2023-06-30");
    assert!(overview.contains("Verified log of "), "the banner is shown");
    assert!(
        overview.contains("The whole log was last verified from its first entry on "),
        "the banner says when the server verified the log: {overview}"
    );
    let recs: Vec<String> = links(&overview)
        .into_iter()
        .filter(|l| l.starts_with("/rec/"))
        .collect();
    assert_eq!(recs.len(), 2, "one link per recommendation: {recs:?}");
    assert!(recs[0].starts_with("/rec/REC-1?") && recs[1].starts_with("/rec/REC-2?"));
    // Body names, not actor ids, each linked to its page; findings named by rule.
    assert!(
        overview.contains(r#"<a href="/body/syp">Body of syp</a>"#),
        "{overview}"
    );
    assert!(overview.contains("claim_contradicted"), "{overview}");

    let rec = page(&server, &recs[0]);
    assert!(rec.contains("Where the record parts ways"), "{rec}");
    assert!(rec.contains("claim contradicted"));
    for kind in [
        "issued: ",
        "accepted",
        "claim: implemented",
        "assessment: not implemented",
    ] {
        assert!(rec.contains(kind), "{kind} missing from the page");
    }
    // Hostile text from the log stays text.
    assert!(!rec.contains("<script>") && !rec.contains("<img"));
    assert!(rec.contains("&lt;script&gt;"), "shown escaped");
    // Every statement links to its canonical bytes.
    let entry_links: Vec<String> = links(&rec)
        .into_iter()
        .filter(|l| l.starts_with("/entries?start="))
        .collect();
    assert_eq!(entry_links.len(), 4, "{entry_links:?}");
    let (status, bytes) = server.get(&entry_links[0]);
    assert_eq!(status, 200);
    assert!(!bytes.is_empty());
    // And to its inclusion proof, which checks offline.
    let proof_links: Vec<String> = links(&rec)
        .into_iter()
        .filter(|l| l.starts_with("/proof/"))
        .collect();
    assert_eq!(proof_links.len(), 4, "{proof_links:?}");
    let (status, proof) = server.get(&proof_links[1]);
    assert_eq!(status, 200);
    let proof_file = site.path("entry.proof");
    std::fs::write(&proof_file, &proof).unwrap();
    let checked = trail_run(&[
        "verify-proof",
        "--proof",
        arg(&proof_file),
        "--operator-key",
        &vkey,
    ]);
    let out = checked.ok();
    assert!(out.starts_with("ok: "), "{out}");
    assert_eq!(server.get("/proof/999").0, 404);
    assert_eq!(server.get("/proof/x").0, 404);

    // The record offered for download checks with no log at hand.
    let download = links(&rec)
        .into_iter()
        .find(|l| l.ends_with("/record"))
        .expect("a download link");
    let (status, record) = server.get(&download);
    assert_eq!(status, 200);
    let file = site.path("REC-1.record");
    std::fs::write(&file, &record).unwrap();
    let checked = trail_run(&[
        "verify-proof",
        "--proof",
        arg(&file),
        "--operator-key",
        &vkey,
        "--at",
        "2023-06-30",
    ]);
    let out = checked.ok();
    assert!(out.starts_with("ok: the record of REC-1"), "{out}");
    assert!(
        out.contains("claimed implemented; assessed not_implemented"),
        "{out}"
    );
    // The same file from the command line, through a verified copy of the served log.
    let remote = site.path("REC-1.remote.record");
    trail_run(&[
        "prove",
        "recommendation",
        "--remote",
        &server.url,
        "--cache",
        arg(&site.path("cache")),
        "REC-1",
        "--out",
        arg(&remote),
    ])
    .ok();
    assert_eq!(std::fs::read(&remote).unwrap(), record);
}

#[test]
fn the_overview_filters_and_pages() {
    let (_site, server, _) = served();
    let rec_links = |html: &str| -> Vec<String> {
        links(html)
            .into_iter()
            .filter(|l| l.starts_with("/rec/"))
            .map(|l| l.split('?').next().unwrap_or_default().to_owned())
            .collect()
    };
    // A filter reads the whole log; without one, only the page is folded.
    let college = page(&server, "/?at=2023-06-30&addressee=college");
    assert_eq!(rec_links(&college), ["/rec/REC-2"]);
    assert!(college.contains("1 recommendations.") && !college.contains("named in the log"));
    let all = page(&server, "/?at=2023-06-30");
    assert!(all.contains("2 recommendations named in the log"), "{all}");
    assert!(all.contains("Findings on this page"));
    // A page past the last is the last.
    assert_eq!(rec_links(&page(&server, "/?page=99")), rec_links(&all));
}

#[test]
fn a_body_page_shows_what_it_was_asked_and_how_its_claims_fared() {
    let (_site, server, _) = served();
    let syp = page(&server, "/body/syp?at=2023-06-30");
    assert!(syp.contains("<h1>Body of syp</h1>"), "{syp}");
    assert!(
        syp.contains("Asked 1 recommendations; answered 1; made 1 progress claims, of which 1"),
        "{syp}"
    );
    assert!(
        syp.contains("class=\"parts\""),
        "the contradicted claim is marked"
    );
    assert!(links(&syp).iter().any(|l| l.starts_with("/rec/REC-1")));
    let college = page(&server, "/body/college?at=2023-06-30");
    assert!(college.contains("Asked 1 recommendations; answered 0; made 0 progress claims"));
    let (status, _) = server.get("/body/nobody");
    assert_eq!(status, 404);
}

#[test]
fn search_finds_entries_and_links_their_recommendations() {
    let (_site, server, _) = served();
    let found = page(&server, "/search?q=training+records");
    assert!(found.contains("1 entries match"), "{found}");
    assert!(links(&found).iter().any(|l| l == "/rec/REC-1"));
    let none = page(&server, "/search?q=nowhere+at+all");
    assert!(none.contains("0 entries match"));
    let (status, _) = server.get("/rec/NOPE");
    assert_eq!(status, 404);
}

#[test]
fn pages_need_nothing_from_elsewhere_and_no_script() {
    let (_site, server, _) = served();
    for path in ["/", "/rec/REC-1", "/body/syp", "/search?q=training"] {
        let html = page(&server, path);
        assert!(!html.contains("<script"), "{path} has a script");
        for attr in ["src=\"", "href=\"http", "url("] {
            assert!(!html.contains(attr), "{path} loads {attr} from elsewhere");
        }
    }
}

#[test]
fn chromium_builds_the_overview_the_server_sent() {
    let Some(chromium) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is not installed, and CI is set: .ci/run should have installed it"
        );
        eprintln!("SKIPPED: chromium is not installed (apt-get install chromium)");
        return;
    };
    let (site, server, _) = served();
    let dom = run_chromium(
        &chromium,
        &site.path("profile"),
        &format!("{}/?at=2023-06-30", server.url),
        &["--dump-dom".to_string()],
    );
    assert!(dom.contains("<table"), "no table in the DOM: {dom}");
    for rec in ["REC-1", "REC-2"] {
        assert!(
            dom.contains(&format!("href=\"/rec/{rec}?")),
            "{rec} is not linked"
        );
    }
    let rec = run_chromium(
        &chromium,
        &site.path("profile-rec"),
        &format!("{}/rec/REC-1", server.url),
        &["--dump-dom".to_string()],
    );
    assert!(
        rec.contains("class=\"parts\""),
        "the parting of ways is drawn"
    );
    assert!(!rec.contains("<script>alert") && rec.contains("&lt;script&gt;"));
}

/// The folder of the DevTools driver (tests/browser), if node and its npm
/// packages are there; under CI their absence fails the test.
fn journey_driver() -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let node = std::process::Command::new("node").arg("--version").output();
    let ready = node.is_ok_and(|o| o.status.success())
        && dir.join("node_modules/puppeteer-core").is_dir()
        && dir.join("node_modules/axe-core").is_dir();
    if ready {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "node or the npm packages of tests/browser are missing, and CI is set: .ci/run should have run npm ci there"
    );
    eprintln!("SKIPPED: run `npm ci --prefix tests/browser` (needs node) to drive Chromium");
    None
}

#[test]
fn a_reader_uses_every_kind_of_page_in_chromium_with_no_errors_outside_requests_or_serious_axe_violations()
 {
    let Some(chromium) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is not installed, and CI is set: .ci/run should have installed it"
        );
        eprintln!("SKIPPED: chromium is not installed (apt-get install chromium)");
        return;
    };
    let Some(driver) = journey_driver() else {
        return;
    };
    let (site, server, _) = served();
    let report = site.path("report.html");
    trail_run(&[
        "report",
        "--log",
        arg(&site.path("copy")),
        "--format",
        "html",
        "--out",
        arg(&report),
    ])
    .ok();
    let run = std::process::Command::new("node")
        .arg(driver.join("journey.mjs"))
        .arg(&server.url)
        .arg(&report)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("run node");
    assert!(
        run.status.success(),
        "the journey failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let out: serde_json::Value =
        serde_json::from_slice(&run.stdout).expect("the journey prints JSON");

    // Every kind of page, each clean.
    let kinds: Vec<&str> = out["pages"]
        .as_array()
        .expect("pages")
        .iter()
        .map(|p| p["kind"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        kinds,
        [
            "overview",
            "overview filtered",
            "search",
            "recommendation",
            "body",
            "report"
        ]
    );
    for p in out["pages"].as_array().expect("pages") {
        let what = format!("{} ({})", p["kind"], p["url"]);
        for list in ["console", "errors", "outside"] {
            assert_eq!(p[list], serde_json::json!([]), "{what}: {list}");
        }
        let serious: Vec<&serde_json::Value> = p["violations"]
            .as_array()
            .expect("violations")
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .collect();
        assert!(serious.is_empty(), "{what}: axe-core finds {serious:#?}");
        let passed = p["axe_rules_passed"].as_u64().unwrap_or(0);
        assert!(
            passed >= 10,
            "{what}: axe-core passed only {passed} rules: did it run?"
        );
        eprintln!(
            "{what}: axe-core passed {passed} rules; also reports {}",
            p["violations"]
        );
    }

    // The links, the forms and search took the reader where they should.
    let j = &out["journey"];
    let strings = |key: &str| -> Vec<String> {
        j[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key} in {j}"))
            .iter()
            .map(|v| v.as_str().unwrap_or("").to_owned())
            .collect()
    };
    let recs = strings("overview_recs");
    assert_eq!(recs.len(), 2, "{recs:?}");
    assert!(recs[0].starts_with("/rec/REC-1?") && recs[1].starts_with("/rec/REC-2?"));
    let dated = j["dated_url"].as_str().expect("dated_url");
    assert!(
        dated.contains("at=2022-06-30") && dated.contains("known_at=2022-06-30"),
        "{dated}"
    );
    let text = j["dated_text"].as_str().expect("dated_text");
    assert!(
        text.contains("As on 2022-06-30, as known at 2022-06-30"),
        "{text}"
    );
    // The last addressee in the list is syp, to whom only REC-1 is addressed.
    assert_eq!(strings("addressees"), ["college", "syp"]);
    let filtered = strings("filtered_recs");
    assert!(
        filtered.len() == 1 && filtered[0].starts_with("/rec/REC-1"),
        "{filtered:?} for {}",
        j["filtered_url"]
    );
    assert!(
        j["search_url"]
            .as_str()
            .expect("search_url")
            .contains("q=training+records")
    );
    assert_eq!(strings("search_recs"), ["/rec/REC-1"]);
    assert!(
        j["rec_url"]
            .as_str()
            .expect("rec_url")
            .ends_with("/rec/REC-1")
    );
    assert_eq!(j["rec_timelines"], 1);
    let parts = strings("rec_parts");
    assert!(
        parts.iter().any(|p| p.starts_with("claim contradicted")),
        "{parts:?}"
    );
    assert_eq!(j["rec_record_link"], "/rec/REC-1/record");
    // Every finding the server's check names for REC-1 is listed on its page.
    let (_, check) = server.get("/api/check");
    let check: serde_json::Value = serde_json::from_slice(&check).expect("findings JSON");
    let mut expected: Vec<String> = check["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rec"] == "REC-1")
        .filter(|f| {
            !matches!(
                f["rule"].as_str(),
                Some("list_mismatch" | "funding_unlinked")
            )
        })
        .map(|f| format!("{} REC-1", f["rule"].as_str().unwrap_or("")))
        .collect();
    let mut shown = strings("rec_findings");
    expected.sort();
    shown.sort();
    assert!(!expected.is_empty());
    assert_eq!(shown, expected);
    assert!(j["body_url"].as_str().expect("body_url").contains("/body/"));
    assert!(
        j["body_title"]
            .as_str()
            .is_some_and(|t| t.starts_with("Body of "))
    );
    assert_eq!(j["home_url"], format!("{}/", server.url));
    assert_eq!(j["report_timelines"], 2);
}
