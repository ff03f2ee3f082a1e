// Drives shinrai's console as a person would, in headless Chromium: sign in, open the
// demo incident, acknowledge it, see the timeline change, open a schedule, create an
// override. Every page visited is checked with axe-core and saved for the Nu HTML
// checker; console errors fail the run. Screenshots go to the artifacts directory.
//
//   node browser/console.mjs BASE_URL ARTIFACTS_DIR
import { chromium } from "playwright-core";
import { mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";

const require = createRequire(import.meta.url);
const axePath = require.resolve("axe-core/axe.min.js");
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
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ["violations"] }));
  for (const v of result.violations) {
    problems.push(`axe on ${name}: ${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  }
}

// Signed out, a page sends us to sign in, and back.
await page.goto(`${base}/oncall`);
if (!page.url().includes("/login?next=")) problems.push(`not sent to sign in: ${page.url()}`);
await check("login");
await page.fill("#email", "demo@shinrai.example");
await page.fill("#password", "shinrai-demo-password");
await page.click("button[type=submit]");
await page.waitForURL(`${base}/oncall`);
await check("oncall");

// The demo incident.
await page.goto(`${base}/incidents?status=all`);
await page.waitForSelector("table a[href^='/incidents/']", { timeout: 60000 });
await check("incidents");
await page.click("table a[href^='/incidents/']");
await page.waitForSelector("h1");
await check("incident");
const ack = page.locator("button", { hasText: "Acknowledge" });
if ((await ack.count()) > 0) {
  await ack.first().click();
  await page.waitForSelector("#live .badge.acknowledged");
  const timeline = await page.textContent(".timeline");
  if (!timeline.includes("incident.acknowledged")) problems.push("the timeline does not show the acknowledgement");
  await check("incident-acknowledged");
} else {
  problems.push("no Acknowledge button on the demo incident");
}

// A schedule and an override.
await page.goto(`${base}/schedules/shop-primary`);
await check("schedule");
await page.selectOption("#who", "kenji");
await page.fill("#start", "2030-01-01T08:00");
await page.fill("#hours", "4");
await page.click("text=Create override");
await page.waitForURL(`${base}/schedules/shop-primary`);
const body = await page.textContent("main");
if (!body.includes("override")) problems.push("the override does not show on the schedule");

for (const path of ["/services", "/services/checkout", "/teams/shop", "/policies/shop", "/me", "/inbox", "/audit", "/tokens"]) {
  await page.goto(`${base}${path}`);
  await check(path.slice(1).replaceAll("/", "-"));
}

await context.close();
if (problems.length > 0) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log(`ok: ${shot} pages checked`);
