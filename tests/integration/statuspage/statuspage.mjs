// Opens a node's GET /status in Debian's headless Chromium, waits until the
// page shows `node` UP, kills that node (SIGKILL to `pid`), and waits until
// the same page, without reloading, shows it DOWN. Also checks that the page
// loads nothing but its own origin (no external assets). Prints one JSON
// line with what it saw; exit 0 only if everything held.
//
// usage: node statuspage.mjs <status url> <node> <pid> [screenshot.png]
import { chromium } from "playwright-core";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const [url, node, pidText, screenshot] = process.argv.slice(2);
if (!url || !node || !pidText) {
  console.error("usage: node statuspage.mjs <status url> <node> <pid> [screenshot.png]");
  process.exit(64);
}
const pid = Number(pidText);
const origin = new URL(url).origin;
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mt-statuspage-"));
const result = { url, node, requests: [], foreign: [], seen: [] };
let context;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.MT_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = context.pages()[0] || await context.newPage();
  page.on("request", (request) => {
    const u = request.url();
    if (!result.requests.includes(u)) result.requests.push(u);
    if (!u.startsWith(origin + "/") && !u.startsWith("data:")) result.foreign.push(u);
  });
  const rows = () => page.$$eval("#nodes tbody tr", (trs) => trs.map((tr) => tr.dataset.node + "=" + tr.dataset.status).join(","));
  await page.goto(url, { waitUntil: "load" });
  await page.waitForSelector(`#nodes tr[data-node="${node}"][data-status="UP"]`, { timeout: 20000 });
  result.seen.push(await rows());
  result.title = await page.title();
  process.kill(pid, "SIGKILL");
  result.killedAt = Date.now();
  await page.waitForSelector(`#nodes tr[data-node="${node}"][data-status="DOWN"]`, { timeout: 30000 });
  result.downAfterMs = Date.now() - result.killedAt;
  result.seen.push(await rows());
  // One more poll so the events list holds the DOWN transition too.
  await page.waitForTimeout(1200);
  result.events = await page.$$eval("#events li", (lis) => lis.map((li) => li.textContent));
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  result.ok = result.foreign.length === 0;
} catch (e) {
  result.ok = false;
  result.error = String(e && e.stack || e);
} finally {
  if (context) await context.close().catch(() => {});
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
