// A reader's journey through the pages `trail serve` renders, in Debian's
// Chromium driven over the DevTools protocol (puppeteer-core). Used by
// tests/pages.rs, which starts the server and judges what this prints.
//
//   node journey.mjs BASE_URL REPORT_FILE
//
// It opens every kind of page by following links and using the forms (both
// date selectors, the filters, search), and on each page records console
// errors, uncaught exceptions, requests to anywhere but the server, and
// axe-core's accessibility violations. It prints one JSON object and
// exits 0; judging is the Rust test's job. It exits 2 when it cannot run.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import puppeteer from "puppeteer-core";

const [base, reportFile] = process.argv.slice(2);
if (!base || !reportFile) {
  console.error("usage: node journey.mjs BASE_URL REPORT_FILE");
  process.exit(2);
}
const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  // Without the background-networking flags Chromium tries Google's hosts,
  // which this machine's closed network refuses.
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

const pages = [];
const journey = {};

/// A tab that records what a page does besides rendering.
async function tab(local) {
  const page = await browser.newPage();
  // axe is injected by the test, so the page's own policy must not stop it.
  await page.setBypassCSP(true);
  const seen = { console: [], errors: [], outside: [] };
  page.on("console", (m) => {
    if (m.type() === "error") seen.console.push(m.text());
  });
  page.on("pageerror", (e) => seen.errors.push(String(e)));
  page.on("request", (r) => {
    const url = r.url();
    if (!local(url) && !url.startsWith("data:") && !url.startsWith("about:")) {
      seen.outside.push(url);
    }
  });
  page.on("requestfailed", (r) => seen.console.push(`request failed: ${r.url()}`));
  page.on("response", (r) => {
    if (r.status() >= 400) seen.console.push(`${r.status()} for ${r.url()}`);
  });
  return { page, seen };
}

/// Records the page as it is now, with axe-core's violations.
async function audit(kind, { page, seen }) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const r = await globalThis.axe.run(document, { resultTypes: ["violations"] });
    const violations = r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
    }));
    return { violations, passed: r.passes.length };
  });
  pages.push({
    kind,
    url: page.url(),
    console: [...seen.console],
    errors: [...seen.errors],
    outside: [...seen.outside],
    violations: result.violations,
    // How many of axe's rules ran and passed: shows it really checked.
    axe_rules_passed: result.passed,
  });
}

/// The hrefs of the links matching `selector`, as the page resolved them.
const hrefs = (page, selector) =>
  page.$$eval(selector, (as) => as.map((a) => a.getAttribute("href")));

/// Submits the form holding `selector` and waits for the next page.
async function submit(page, selector) {
  await Promise.all([
    page.waitForNavigation({ waitUntil: "load" }),
    page.$eval(selector, (el) => el.form.requestSubmit()),
  ]);
}

const served = (url) => url.startsWith(base);
const t = await tab(served);
const { page } = t;

// The overview, as it first opens.
await page.goto(`${base}/`, { waitUntil: "load" });
await audit("overview", t);
journey.overview_recs = await hrefs(page, "main table a[href^='/rec/']");

// Both time axes: an effective date and a recorded time.
await page.$eval("input[name=at]", (el) => (el.value = "2022-06-30"));
await page.$eval("input[name=known_at]", (el) => (el.value = "2022-06-30"));
await submit(page, "input[name=at]");
journey.dated_url = page.url();
journey.dated_text = await page.$eval("main", (m) => m.innerText);

// The filters: one addressee, open recommendations only.
await page.goto(`${base}/`, { waitUntil: "load" });
journey.addressees = await page.$$eval("select[name=addressee] option", (os) =>
  os.map((o) => o.value).filter((v) => v)
);
await page.select("select[name=addressee]", journey.addressees[journey.addressees.length - 1]);
await page.select("select[name=open]", "1");
await submit(page, "select[name=addressee]");
journey.filtered_url = page.url();
journey.filtered_recs = await hrefs(page, "main table a[href^='/rec/']");
await audit("overview filtered", t);

// The rule filter: only recommendations with a claim_contradicted finding.
await page.goto(`${base}/`, { waitUntil: "load" });
await page.select("select[name=rule]", "claim_contradicted");
await submit(page, "select[name=rule]");
journey.rule_url = page.url();
journey.rule_recs = await hrefs(page, "main table a[href^='/rec/']");

// Search, from the box every page carries.
await page.type("input[name=q]", "training records");
await submit(page, "input[name=q]");
journey.search_url = page.url();
journey.search_recs = await hrefs(page, "main a[href^='/rec/']");
await audit("search", t);

// A recommendation, by following the search result.
await Promise.all([
  page.waitForNavigation({ waitUntil: "load" }),
  page.click("main a[href^='/rec/']"),
]);
journey.rec_url = page.url();
journey.rec_timelines = await page.$$eval("svg.timeline", (s) => s.length);
journey.rec_parts = await page.$$eval(".parts", (s) => s.map((p) => p.innerText));
journey.rec_record_link = (await hrefs(page, "a[download]"))[0] || null;
journey.rec_findings = await page.$$eval("li.finding", (ls) =>
  ls.map((l) => `${l.dataset.rule} ${l.dataset.rec}`)
);
await audit("recommendation", t);

// The body that made the claim, by following its link.
const bodyLinks = await hrefs(page, "main a[href^='/body/']");
journey.body_links = bodyLinks;
await Promise.all([
  page.waitForNavigation({ waitUntil: "load" }),
  page.click("main a[href^='/body/']"),
]);
journey.body_url = page.url();
journey.body_title = await page.$eval("h1", (h) => h.innerText);
await audit("body", t);

// And back to the overview by the header's link.
await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.click("a.home")]);
journey.home_url = page.url();

// The report written to a file: nothing outside the file itself.
const report = await tab((url) => url.startsWith("file:"));
await report.page.goto(`file://${reportFile}`, { waitUntil: "load" });
journey.report_timelines = await report.page.$$eval("svg.timeline", (s) => s.length);
await audit("report", report);

await browser.close();
console.log(JSON.stringify({ pages, journey }, null, 1));
