// Browser test: the builder page shows the builder's plots (drawn by the server, loaded
// when scrolled to), its badge and feed links, and every page advertises the feeds to
// feed readers. A screenshot goes to CASCADE_SCREENSHOTS (default: a temporary folder).
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  assertBinary,
  makeTempDir,
  removeDir,
  startMaster,
  waitFor,
  writeConfig,
} from "../lib/master.mjs";
import { launchBrowser, openPage } from "../lib/browser.mjs";

const config = `title = "Plots browser test"
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
name = "app"
workers = ["local"]
steps = [
  { name = "compile", command = ["sh", "-c", "echo compiling"] },
  { name = "test", command = ["sh", "-c", "test $CASCADE_BUILD_NUMBER != 2"] },
]
[[schedulers]]
name = "force"
kind = "force"
builders = ["app"]
`;

const SHOTS =
  process.env.CASCADE_SCREENSHOTS ?? join(tmpdir(), "cascade-screenshots");

let dir;
let server;
let browser;

before(async () => {
  assertBinary();
  dir = await makeTempDir("cascade-browser-plots-");
  server = await startMaster(await writeConfig(dir, config));
  for (const [number, results] of [
    [1, "success"],
    [2, "failure"],
    [3, "success"],
  ]) {
    const r = await server.postJson("/api/v1/builders/app/force", {
      reason: "plots test",
    });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    await waitFor(
      async () =>
        (await server.getJson(`/api/v1/builders/app/builds/${number}`))
          .results === results,
      { timeoutMs: 60_000, intervalMs: 100, what: `build ${number}` },
    );
  }
  browser = await launchBrowser();
  await mkdir(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await server?.stop();
  await removeDir(dir);
});

test("the builder page shows its plots, badge and feeds", async (t) => {
  const { page, errors } = await openPage(
    browser,
    server.url,
    t,
    "/builders/app",
    { viewport: { width: 1280, height: 1100 } },
  );
  const feeds = await page.$$eval('head link[rel="alternate"]', (links) =>
    links.map((l) => [l.type, new URL(l.href).pathname]),
  );
  assert.deepEqual(feeds, [
    ["application/rss+xml", "/rss"],
    ["application/atom+xml", "/atom"],
  ]);
  const plots = page.getByTestId("builder-plots");
  await plots.scrollIntoViewIfNeeded();
  await waitFor(
    async () =>
      (
        await plots
          .locator("img")
          .evaluateAll((imgs) =>
            imgs.map((i) => i.complete && i.naturalWidth === 480),
          )
      ).join() === "true,true,true",
    { timeoutMs: 20_000, what: "the three plots to load" },
  );
  const badge = page.locator(".builder-links img");
  await waitFor(
    () => badge.evaluate((i) => i.complete && i.naturalWidth > 40),
    { timeoutMs: 10_000, what: "the badge to load" },
  );
  const rss = await page.locator(".builder-links a", { hasText: "RSS" });
  assert.equal(await rss.getAttribute("href"), "/rss?builder=app");
  await page.screenshot({
    path: join(SHOTS, "builder-plots.png"),
    fullPage: true,
  });
  console.log(`# screenshot: ${join(SHOTS, "builder-plots.png")}`);
  assert.deepEqual(errors, []);
});
