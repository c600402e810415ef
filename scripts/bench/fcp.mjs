// First contentful paint of a page of a running master, in Debian's chromium (never a
// downloaded browser): prints {"fcp_ms": [...], "shown_ms": [...]} for RUNS fresh contexts,
// where shown_ms is when the page's content (WAIT_FOR, a CSS selector) was on screen.
//
//   node scripts/bench/fcp.mjs URL WAIT_FOR [RUNS]
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const require = createRequire(join(root, "frontend", "package.json"));
const { chromium } = require("playwright-core");

const [url, waitFor, runs = "3"] = process.argv.slice(2);
if (!url || !waitFor) {
  console.error("usage: fcp.mjs URL WAIT_FOR [RUNS]");
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const fcp = [];
const shown = [];
try {
  for (let i = 0; i < Number(runs); i++) {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    const t0 = Date.now();
    await page.goto(url, { timeout: 30_000 });
    await page.locator(waitFor).first().waitFor({ timeout: 30_000 });
    shown.push(Date.now() - t0);
    const paint = await page.evaluate(
      () => performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? null,
    );
    fcp.push(paint == null ? null : Math.round(paint));
    await context.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify({ fcp_ms: fcp, shown_ms: shown }));
