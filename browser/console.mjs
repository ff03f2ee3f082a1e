// Drives shinrai's console as a person would, in headless Chromium: sign in and
// acknowledge the demo incident with the keyboard alone, see the timeline change,
// reassign it, open a schedule's week and month calendars, create an override, then
// look at the main pages at a phone's width. Every page visited is checked with
// axe-core and saved for the Nu HTML checker; console errors fail the run. Screenshots
// go to the artifacts directory.
//
//   node browser/console.mjs BASE_URL ARTIFACTS_DIR
import { chromium } from "playwright-core";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const [base, artifacts] = process.argv.slice(2);
mkdirSync(artifacts, { recursive: true });

const userDataDir = mkdtempSync(join(tmpdir(), "shinrai-chromium-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
  viewport: { width: 1280, height: 900 },
});
const page = context.pages()[0] ?? (await context.newPage());
const problems = [];
page.on("console", (m) => {
  if (m.type() === "error") problems.push(`console error on ${page.url()}: ${m.text()}`);
});
page.on("pageerror", (e) => problems.push(`page error on ${page.url()}: ${e.message}`));

let shot = 0;
async function check(name) {
  shot += 1;
  const file = `${String(shot).padStart(2, "0")}-${name}`;
  // The page as served, before axe is injected, for the HTML checker.
  const response = await page.request.get(page.url());
  writeFileSync(join(artifacts, `${file}.html`), await response.text());
  await page.screenshot({ path: join(artifacts, `${file}.png`), fullPage: true });
  // Through the DevTools protocol, which the console's Content Security Policy does not
  // govern: a script tag added to the page would be inline script, which it forbids.
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ["violations"] }));
  for (const v of result.violations) {
    problems.push(`axe on ${name}: ${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  }
}

// Moves focus with the Tab key until `test` holds for the focused element; false when
// it never does within `most` presses.
async function tabTo(test, most = 40) {
  for (let i = 0; i < most; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate(test)) return true;
  }
  return false;
}

// The incidents list and the open-incident form: search the demo incidents (the tab's
// title counts the triggered ones), open an incident by hand through the form, find it
// by searching, tick it and acknowledge it with the bulk button; a blank summary is named.
// Pages shown after a POST are checked as the browser holds them (a GET of their address
// would be another page).
async function checkShown(name) {
  shot += 1;
  const file = `${String(shot).padStart(2, "0")}-${name}`;
  writeFileSync(join(artifacts, `${file}.html`), await page.content());
  await page.screenshot({ path: join(artifacts, `${file}.png`), fullPage: true });
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ["violations"] }));
  for (const v of result.violations) {
    problems.push(`axe on ${name}: ${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  }
}
async function incidentsSearchBulkAndOpenForm() {
  await page.goto(`${base}/incidents?status=all&q=checkout`);
  await page.waitForSelector("table a[href^='/incidents/']", { timeout: 60000 });
  const title = await page.title();
  if (!/^(\(\d+\) )?Incidents · shinrai$/.test(title)) problems.push(`the incidents page's title is "${title}"`);
  if (!/Showing 1–\d+ of \d+/.test(await page.textContent(".pager"))) problems.push("the incidents list does not say how many it shows");
  await check("incidents-search");

  await page.click("a:has-text('Open an incident')");
  await page.waitForSelector("form[action='/incidents']");
  await check("incident-new");
  const logged = problems.length;
  await page.fill("#summary", "   ");
  await page.click("button:has-text('Open incident')");
  await page.waitForSelector("#summary-error");
  // The 422 is the answer asked for; Chromium logs every 4xx answer as a console error.
  for (let i = problems.length - 1; i >= logged; i--) if (problems[i].includes("status of 422")) problems.splice(i, 1);
  if (!(await page.textContent("#summary-error")).includes("Summary:")) problems.push("a blank summary is not named");
  await checkShown("incident-new-invalid");
  await page.selectOption("#service", "checkout");
  await page.fill("#summary", "Customers report failed card payments");
  await page.selectOption("#urgency", "high");
  await page.fill("#details", "Seen in the support queue since 09:10.");
  await page.click("button:has-text('Open incident')");
  await page.waitForURL(/\/incidents\/\d+$/);
  const opened = new URL(page.url()).pathname.split("/").pop();
  if (!(await page.textContent("h1")).includes("Customers report failed card payments")) problems.push("the opened incident does not show its summary");
  if (!(await page.textContent("main")).includes("Seen in the support queue")) problems.push("the opened incident does not show its details");
  await check("incident-opened");

  await page.goto(`${base}/incidents?q=${encodeURIComponent("failed card")}`);
  await page.waitForSelector(`#pick-${opened}`);
  if (!(await page.title()).startsWith("(")) problems.push(`the title does not count the triggered incident: ${await page.title()}`);
  await page.check(`#pick-${opened}`);
  await page.click("button:has-text('Acknowledge selected')");
  await page.waitForSelector("h1:has-text('Acknowledged 1 incident')");
  if (!(await page.textContent("main")).includes(`#${opened}`)) problems.push("the bulk answer does not name the incident");
  await checkShown("incidents-bulk");

  const shots = process.argv[4];
  if (shots) {
    mkdirSync(shots, { recursive: true });
    await page.setViewportSize({ width: 390, height: 844 });
    for (const path of ["/incidents?q=checkout&status=all", "/incidents/new"]) {
      await page.goto(`${base}${path}`);
      await page.screenshot({ path: join(shots, `phone-${path.slice(1).replaceAll(/[/?=&]/g, "-")}.png`), fullPage: true });
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  }
}

// Signed out, a page sends us to sign in, and back. Signing in uses the keyboard only.
await page.goto(`${base}/oncall`);
if (!page.url().includes("/login?next=")) problems.push(`not sent to sign in: ${page.url()}`);
await check("login");
if (await tabTo(() => document.activeElement?.id === "email", 10)) {
  await page.keyboard.type("demo@shinrai.example");
  await page.keyboard.press("Tab");
  if (await page.evaluate(() => document.activeElement?.id) !== "password") problems.push("Tab from the email field does not reach the password");
  await page.keyboard.type("shinrai-demo-password");
  await page.keyboard.press("Enter");
} else {
  problems.push("the email field cannot be reached with Tab");
  await page.fill("#email", "demo@shinrai.example");
  await page.fill("#password", "shinrai-demo-password");
  await page.click("button[type=submit]");
}
await page.waitForURL(`${base}/oncall`);
await check("oncall");

// The incident timeline: sentences rather than event names, each with its exact time as
// the title of a relative one, and a step's notifications nested under it.
async function checkTimelineSentences() {
  const raw = await page.evaluate(() => {
    const text = document.querySelector(".timeline")?.textContent ?? "";
    return ["alert.triggered", "escalation.level", "incident.acknowledged", "notification."].filter((k) => text.includes(k));
  });
  if (raw.length > 0) problems.push(`the timeline shows event names: ${raw.join(", ")}`);
  const times = await page.evaluate(() =>
    [...document.querySelectorAll(".timeline time")].filter((t) => t.getAttribute("datetime") && t.title).length,
  );
  if (times === 0) problems.push("the timeline's entries have no <time> with the exact time as title");
  const step = await page.evaluate(() =>
    [...document.querySelectorAll(".timeline > li")].some((li) => /^Escalation level 1 paged /.test(li.querySelector(".sentence")?.textContent ?? "")),
  );
  if (!step) problems.push("the timeline does not say whom escalation level 1 paged");
}

// The demo incident.
await page.goto(`${base}/incidents?status=all`);
await page.waitForSelector("table a[href^='/incidents/']", { timeout: 60000 });
await check("incidents");
await page.click("table a[href^='/incidents/']");
await page.waitForSelector("h1");
const incidentUrl = page.url();
await check("incident");
const ack = page.locator("button", { hasText: "Acknowledge" });
if ((await ack.count()) > 0) {
  // With the keyboard: Tab to the button, press Enter.
  if (await tabTo(() => document.activeElement?.textContent === "Acknowledge")) {
    await page.keyboard.press("Enter");
  } else {
    problems.push("the Acknowledge button cannot be reached with Tab");
    await ack.first().click();
  }
  await page.waitForSelector("#live .badge.acknowledged");
  const timeline = await page.textContent(".timeline");
  if (!timeline.includes("demo acknowledged the incident.")) problems.push("the timeline does not say who acknowledged");
  await checkTimelineSentences();
  await check("incident-acknowledged");
} else {
  problems.push("no Acknowledge button on the demo incident");
}

// Reassign it to someone else.
await page.click("summary:has-text('Reassign or merge')");
await page.selectOption("#to", "kenji");
await page.click("button:has-text('Reassign')");
await page.waitForSelector(".timeline >> text=reassigned the incident to");
await check("incident-reassigned");

// A schedule: its week, its month, and an override.
await page.goto(`${base}/schedules/shop-primary`);
if ((await page.locator("table.calendar.week tr.final .piece").count()) === 0) problems.push("the week calendar shows nobody on call");
await check("schedule-week");
await page.click("a:has-text('Month')");
await page.waitForSelector("table.calendar.month");
if ((await page.locator("table.calendar.month td[aria-current=date]").count()) !== 1) problems.push("the month calendar does not mark today");
await check("schedule-month");
await page.selectOption("#who", "kenji");
await page.fill("#start", "2030-01-01T08:00");
await page.fill("#hours", "4");
await page.click("text=Create override");
await page.waitForURL(/\/schedules\/shop-primary\?view=week&date=2030-01-01/);
const covered = await page.locator("table.calendar.week tr.overrides .piece.override").allTextContents();
if (!covered.some((t) => t.includes("kenji") && t.includes("08:00–12:00"))) problems.push(`the override does not show on the week: ${covered}`);
await check("schedule-override");

await incidentsSearchBulkAndOpenForm();

for (const path of ["/services", "/services/checkout", "/schedules", "/teams", "/teams/shop", "/policies", "/policies/shop", "/users", "/users/kenji", "/me", "/inbox", "/audit", "/tokens"]) {
  await page.goto(`${base}${path}`);
  await check(path.slice(1).replaceAll("/", "-"));
}

// The demo's inbox: open an email about an incident that is still triggered (the list
// refreshes itself until one arrives), follow its Acknowledge link, confirm, and see the
// incident acknowledged, as its recipient would from the message.
async function actFromAnEmail() {
  await page.goto(`${base}/inbox`);
  const email = "#inbox-live tbody tr:has(.badge.triggered) a[href^='/inbox/']";
  await page.waitForSelector(email, { timeout: 90000 });
  await page.click(email);
  await page.waitForSelector("pre.email");
  await check("inbox-email");
  const incident = await page.getAttribute("dl.facts a[href^='/incidents/']", "href");
  await page.click("pre.email a[href^='/l/ack/']");
  await page.waitForSelector("form button[type=submit]:has-text('Acknowledge as')");
  await check("link-confirm");
  await page.click("form button[type=submit]:has-text('Acknowledge as')");
  await page.waitForSelector("h1:has-text('is acknowledged')");
  await check("link-acknowledged");
  await page.goto(`${base}${incident}`);
  if ((await page.locator("#live .badge.acknowledged").count()) === 0) problems.push(`acknowledging from the email did not acknowledge ${incident}`);
}
await actFromAnEmail();

// The reports page: per service (the default, last 30 days) and per person over 90 days.
for (const path of ["/reports", "/reports?range=90&by=person"]) {
  await page.goto(`${base}${path}`);
  await check(path.slice(1).replaceAll(/[/?=&]/g, "-"));
}

// At a phone's width every page fits and nothing is cut: the document does not scroll
// sideways (only the calendars do, inside their own region), no table column is hidden,
// no word is broken across two lines, no badge wraps, and no element is clipped or runs
// past the screen's edge. Each page's screenshot at this width is kept.
const shots = process.argv[4];
if (shots) mkdirSync(shots, { recursive: true });
await page.setViewportSize({ width: 390, height: 844 });
for (const path of ["/incidents?status=all", new URL(incidentUrl).pathname, "/oncall", "/services", "/services/checkout", "/schedules", "/schedules/shop-primary", "/schedules/shop-primary?view=month", "/teams", "/policies", "/policies/shop", "/users", "/me", "/inbox", "/incidents/new", "/reports"]) {
  await page.goto(`${base}${path}`);
  const name = `phone-${path.slice(1).replaceAll(/[/?=&]/g, "-")}`;
  if (shots) await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  const found = await page.evaluate(() => {
    const out = [];
    const width = window.innerWidth;
    const wide = document.documentElement.scrollWidth - width;
    if (wide > 1) out.push(`the page is ${wide} px too wide`);
    // Hidden from sight on purpose: for screen readers only, or in a closed <details>.
    const hidden = (el) => {
      if (el.closest(".visually-hidden, .skip, details:not([open]) > :not(summary)")) return true;
      for (let a = el; a; a = a.parentElement) if (getComputedStyle(a).clipPath === "inset(50%)") return true;
      return false;
    };
    // Inside a region that scrolls sideways on purpose.
    const scrolls = (el) => {
      for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        const o = getComputedStyle(a).overflowX;
        if (o === "auto" || o === "scroll") return true;
      }
      return false;
    };
    const where = (el) => `${el.tagName.toLowerCase()}${el.className ? "." + String(el.className).replaceAll(" ", ".") : ""} "${el.textContent.trim().slice(0, 40)}"`;
    for (const cell of document.querySelectorAll("table:not(.calendar) th, table:not(.calendar) td")) {
      if (getComputedStyle(cell).display === "none" && cell.textContent.trim() !== "") out.push(`a column is hidden: ${where(cell)}`);
    }
    for (const badge of document.querySelectorAll(".badge")) {
      if (badge.getClientRects().length > 1 || badge.getBoundingClientRect().height > 1.6 * parseFloat(getComputedStyle(badge).lineHeight || "20")) {
        out.push(`a badge wraps: ${where(badge)}`);
      }
    }
    for (const el of document.body.querySelectorAll("*")) {
      if (hidden(el) || el.getClientRects().length === 0) continue;
      const style = getComputedStyle(el);
      if (["hidden", "clip"].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1) out.push(`clipped: ${where(el)}`);
      const r = el.getBoundingClientRect();
      if ((r.right > width + 1 || r.left < -1) && !scrolls(el)) out.push(`runs past the screen (${Math.round(r.left)}..${Math.round(r.right)}): ${where(el)}`);
    }
    // Every word on one line: a word laid out in two boxes was broken mid-word. A line
    // may end after a hyphen or dash ("shop-" / "primary"), as in print.
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
      if (!t.parentElement || hidden(t.parentElement) || t.parentElement.closest("script, style, pre")) continue;
      for (const m of t.data.matchAll(/[^\s\-–—]+/g)) {
        range.setStart(t, m.index);
        range.setEnd(t, m.index + m[0].length);
        const lines = new Set([...range.getClientRects()].filter((b) => b.width > 0).map((b) => Math.round(b.top)));
        if (lines.size > 1) out.push(`"${m[0]}" is broken across lines in ${where(t.parentElement)}`);
      }
    }
    return out;
  });
  for (const f of found) problems.push(`at 390 px ${path}: ${f}`);
  await check(name);
}

await context.close();
if (problems.length > 0) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log(`ok: ${shot} pages checked`);
