// Browser test: the waterfall against the real `cascade` binary, with Debian's chromium.
//
// Needs the SPA built (`npm run build` in frontend/) and the binary built (`cargo build`);
// CASCADE_BIN overrides the binary, CHROMIUM_PATH the browser. Never downloads a browser.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  assertBinary,
  makeTempDir,
  removeDir,
  startMaster,
  writeConfig,
} from "../lib/master.mjs";
import { launchBrowser } from "../lib/browser.mjs";

const CONFIG = `title = "Browser test"
[db]
url = "sqlite://cascade.sqlite"
[web]
listen = ["127.0.0.1:0"]
[authz]
force_build = true
[[workers]]
name = "local"
embedded = true
[[builders]]
name = "quick"
workers = ["local"]
steps = [ { name = "hello", command = ["sh", "-c", "echo hello from cascade; sleep 1; echo done"] } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["quick"]
`;

let dir;
let server;
let baseUrl;
let browser;

before(async () => {
  assertBinary();
  dir = await makeTempDir("cascade-browser-");
  server = await startMaster(await writeConfig(dir, CONFIG));
  baseUrl = server.url;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await server?.stop();
  await removeDir(dir);
});

test("force a build from the waterfall and follow it to its log", async (t) => {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  t.after(() => page.close());

  await page.goto(`${baseUrl}/waterfall`);
  const header = page.locator(
    '[data-testid="builder-header"][data-builder="quick"]',
  );
  await header.waitFor({ timeout: 15_000 });

  const boxes = '[data-testid="build-box"][data-builder="quick"]';
  const before = await page.$$eval(boxes, (els) =>
    els.map((e) => Number(e.dataset.build)),
  );
  // A marker that a page reload would wipe: the new build must arrive live.
  await page.evaluate(() => {
    window.__noReload = true;
  });

  await header.getByRole("button", { name: "Force", exact: true }).click();

  const handle = await page.waitForFunction(
    ({ sel, known }) =>
      [...document.querySelectorAll(sel)]
        .map((e) => Number(e.dataset.build))
        .find((n) => !known.includes(n)),
    { sel: boxes, known: before },
    { timeout: 30_000 },
  );
  const number = await handle.jsonValue();
  assert.ok(Number.isInteger(number), `new build number: ${number}`);

  const box = page.locator(`${boxes}[data-build="${number}"]`);
  await page.waitForFunction(
    (sel) => document.querySelector(sel)?.dataset.results === "success",
    `${boxes}[data-build="${number}"]`,
    { timeout: 60_000 },
  );
  assert.equal(await box.getAttribute("data-results"), "success");
  // The success colour from lib/results.ts (#8d4) on the build's header cell.
  const bg = await box
    .locator(".build-head")
    .evaluate((e) => getComputedStyle(e).backgroundColor);
  assert.equal(bg, "rgb(136, 221, 68)");
  await box
    .locator("[data-step]")
    .filter({ hasText: "hello" })
    .first()
    .waitFor();
  assert.equal(
    await page.evaluate(() => window.__noReload),
    true,
    "the page was reloaded",
  );

  // The build page.
  await box.locator(".build-head").click();
  await page.waitForURL(`**/builders/quick/builds/${number}`);
  const state = page.getByTestId("build-state-text");
  await state.waitFor();
  const step = page.locator("ol.steps li").filter({ hasText: "hello" });
  await step.waitFor();
  assert.equal(await step.getAttribute("data-results"), "success");

  // The step's log.
  await step.locator("a[data-log]").first().click();
  await page.waitForURL(`**/builders/quick/builds/${number}/steps/*/logs/*`);
  const log = page.getByTestId("log-lines");
  await log
    .getByText("hello from cascade", { exact: true })
    .waitFor({ timeout: 15_000 });
  await log.getByText("done", { exact: true }).waitFor({ timeout: 15_000 });

  // The raw link serves the text.
  const rawHref = await page
    .getByRole("link", { name: "raw" })
    .getAttribute("href");
  const raw = await page.request.get(`${baseUrl}${rawHref}`);
  assert.equal(raw.status(), 200);
  assert.match(await raw.text(), /hello from cascade/);

  assert.deepEqual(errors, [], "no uncaught page errors");
});

test("unknown routes render inside the layout", async (t) => {
  const page = await browser.newPage();
  t.after(() => page.close());
  await page.goto(`${baseUrl}/waterfall`);
  await page.locator("header.topbar").waitFor();
  // The server may answer 404 for unknown paths, so reach one by client-side navigation.
  await page.evaluate(() => {
    history.pushState(null, "", "/no/such/page");
    dispatchEvent(new PopStateEvent("popstate"));
  });
  await page.getByRole("heading", { name: "Page not found" }).waitFor();
});
