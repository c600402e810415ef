// Browser test: the overview pages (/, /waterfall, /grid, /tgrid, /console) on a seeded
// history (`cascade bench seed`) plus live builds, with Debian's chromium.
//
// Checks what each page shows, that each query argument filters it (and that the filter
// form writes those arguments into the URL), that builds and changes arriving elsewhere
// appear without a reload, that stored markup is shown as text on every page, both themes,
// a phone-sized screen and the keyboard. Screenshots of every page in both themes go to
// CASCADE_SCREENSHOTS (default: a temporary folder); the run prints where.
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  assertBinary,
  makeTempDir,
  removeDir,
  runCli,
  startMaster,
  waitFor,
  writeConfig,
} from "../lib/master.mjs";
import { launchBrowser, openPage } from "../lib/browser.mjs";

const CONFIG = String.raw`title = "Overview <test>"
title_url = "https://example.org/ci"
[db]
url = "sqlite://cascade.sqlite"
[web]
listen = ["127.0.0.1:0"]
revlink = "https://git.example.org/commit/%s"
changecommentlink = { regex = '#(\d+)', url = 'https://bugs.example.org/\1', title = 'Ticket \g<0>' }
[authz]
force_build = true
[change_hook]
dialects = { base = {} }
[[workers]]
name = "local"
embedded = true
max_builds = 4
[[builders]]
name = "linux"
tags = ["app|linux"]
workers = ["local"]
steps = [ { name = "compile", command = ["sh", "-c", "echo compiling; sleep 1"] }, { name = "test", command = ["sh", "-c", "echo testing; sleep 1"] } ]
[[builders]]
name = "mac"
tags = ["app|mac"]
workers = ["local"]
steps = [ { name = "compile", command = ["sh", "-c", "echo compiling; sleep 1"] } ]
[[builders]]
name = "lint"
tags = ["app|lint"]
workers = ["local"]
steps = [ { name = "lint", command = ["sh", "-c", "echo lint"] } ]
[[builders]]
name = "docs"
tags = ["docs"]
workers = ["local"]
steps = [ { name = "build", command = ["sh", "-c", "echo docs"] } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["linux", "mac", "lint", "docs"]
[[schedulers]]
name = "main"
kind = "single_branch"
branch = "main"
builders = ["linux", "mac"]
`;

const SHOTS =
  process.env.CASCADE_SCREENSHOTS ?? join(tmpdir(), "cascade-screenshots");
const ANN = "Ann Lee <ann@example.org>";

let dir;
let server;
let base;
let browser;

before(async () => {
  assertBinary();
  dir = await makeTempDir("cascade-browser-overview-");
  const config = await writeConfig(dir, CONFIG);
  const seeded = await runCli(
    [
      "bench",
      "seed",
      "--config",
      config,
      "--builds",
      "300",
      "--changes",
      "150",
      "--seed",
      "7",
    ],
    { cwd: dir, timeoutMs: 120_000 },
  );
  assert.equal(seeded.code, 0, seeded.stderr + seeded.stdout);
  assert.match(seeded.stdout, /seeded 300 builds/);
  server = await startMaster(config);
  base = server.url;
  browser = await launchBrowser();
  await mkdir(SHOTS, { recursive: true });
  console.log(`# screenshots in ${SHOTS}`);
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await server?.stop();
  await removeDir(dir);
});

/** A page that records uncaught errors and any script a stored text managed to run. */
const open = (t, path, options) => openPage(browser, base, t, path, options);

const texts = (page, sel) =>
  page.$$eval(sel, (els) => els.map((e) => e.textContent.trim()));
const attrs = (page, sel, name) =>
  page.$$eval(sel, (els, n) => els.map((e) => e.getAttribute(n)), name);

async function force(builder, body = {}) {
  const r = await server.postJson(`/api/v1/builders/${builder}/force`, {
    reason: "browser test",
    ...body,
  });
  assert.equal(r.status, 202, JSON.stringify(r.body));
}

async function postChange(fields) {
  const res = await fetch(`${base}/change_hook/base`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
  });
  assert.equal(res.status, 202, await res.text());
}

test("the waterfall shows builders, builds with steps and logs, and changes", async (t) => {
  const { page, errors } = await open(t, "/waterfall");
  const headers = '[data-testid="builder-header"]';
  await page.locator(headers).first().waitFor();
  assert.deepEqual(await attrs(page, headers, "data-builder"), [
    "linux",
    "mac",
    "lint",
    "docs",
  ]);
  await page.locator('[data-testid="build-box"]').first().waitFor();
  await page.locator('[data-testid="change-box"]').first().waitFor();
  assert.ok(
    (await page.locator('[data-testid="build-box"] a[data-log]').count()) > 0,
  );
  // The changes column links revisions through revlink and tickets through changecommentlink.
  const rev = page.locator('[data-testid="change-box"] a.rev').first();
  assert.match(
    await rev.getAttribute("href"),
    /^https:\/\/git\.example\.org\/commit\/[0-9a-f]{40}$/,
  );
  const ticket = page
    .locator('[data-testid="change-box"] a[title^="Ticket #"]')
    .first();
  assert.match(
    await ticket.getAttribute("href"),
    /^https:\/\/bugs\.example\.org\/\d+$/,
  );
  assert.deepEqual(errors, []);
});

test("every waterfall argument filters the page", async (t) => {
  const { page } = await open(t);
  const headers = '[data-testid="builder-header"]';
  const boxes = '[data-testid="build-box"]';
  const load = async (query) => {
    await page.goto(`${base}/waterfall?${query}`);
    await page
      .locator('[data-testid="waterfall"], .waterfall-page p.muted')
      .first()
      .waitFor();
  };

  await load("builder=linux&builder=mac");
  assert.deepEqual(await attrs(page, headers, "data-builder"), [
    "linux",
    "mac",
  ]);
  assert.ok(
    (await attrs(page, boxes, "data-builder")).every(
      (b) => b === "linux" || b === "mac",
    ),
  );

  await load("category=docs");
  assert.deepEqual(await attrs(page, headers, "data-builder"), ["docs"]);

  await load("failures_only=true");
  for (const r of await attrs(
    page,
    `${headers} [data-testid="last-build"] [data-results]`,
    "data-results",
  ))
    assert.notEqual(r, "success");

  await load("branch=release/1.x");
  const branches = await attrs(page, boxes, "data-branch");
  assert.ok(branches.length > 0, "the seeded history has release builds");
  assert.ok(
    branches.every((b) => b === "release/1.x"),
    branches.join(),
  );
  assert.ok(
    (await attrs(page, '[data-testid="change-box"]', "data-branch")).every(
      (b) => b === "release/1.x",
    ),
  );

  await load(`committer=${encodeURIComponent(ANN)}`);
  const authors = await attrs(
    page,
    '[data-testid="change-box"]',
    "data-author",
  );
  assert.ok(
    authors.length > 0 && authors.every((a) => a === ANN),
    authors.join(),
  );

  await load("project=docs");
  assert.ok(
    (await attrs(page, boxes, "data-project")).every((p) => p === "docs"),
  );

  await load("show_events=true");
  await page
    .locator('[data-testid="event-box"][data-event="worker.connected"]')
    .first()
    .waitFor();

  await load("num_events=5");
  const first = await attrs(page, boxes, "data-build");
  assert.ok(first.length <= 5 && first.length > 0, `${first.length} builds`);
  const firstKeys = await page.$$eval(boxes, (els) =>
    els.map((e) => `${e.dataset.builder}#${e.dataset.build}`),
  );
  await page.getByTestId("next-page").click();
  await page.waitForURL(/last_time=\d+/);
  await page.waitForFunction(
    ({ sel, before }) =>
      [...document.querySelectorAll(sel)].length > 0 &&
      [...document.querySelectorAll(sel)].every(
        (e) => !before.includes(`${e.dataset.builder}#${e.dataset.build}`),
      ),
    { sel: boxes, before: firstKeys },
  );
  assert.ok(
    new URL(page.url()).searchParams.get("num_events") === "5",
    "the arguments carry over",
  );

  // The filter form writes the page's own arguments.
  await load("");
  await page.locator('[data-testid="filters"] summary').click();
  await page.locator('select[name="builder"]').selectOption(["docs"]);
  await page.locator('input[name="show_events"]').check();
  await page.getByRole("button", { name: "Apply" }).click();
  await page.waitForURL(/\/waterfall\?builder=docs&show_events=true$/);
  await page.waitForFunction(
    (sel) =>
      [...document.querySelectorAll(sel)]
        .map((e) => e.dataset.builder)
        .join() === "docs",
    headers,
  );
});

test("a build started elsewhere appears on the waterfall without a reload", async (t) => {
  const { page, errors } = await open(t, "/waterfall?builder=linux");
  const boxes = '[data-testid="build-box"][data-builder="linux"]';
  await page.locator(boxes).first().waitFor();
  const known = await attrs(page, boxes, "data-build");
  await page.evaluate(() => (window.__noReload = true));
  await force("linux");
  const number = await (
    await page.waitForFunction(
      ({ sel, known }) =>
        [...document.querySelectorAll(sel)]
          .map((e) => e.dataset.build)
          .find((n) => !known.includes(n)),
      { sel: boxes, known },
      { timeout: 30_000 },
    )
  ).jsonValue();
  await page.waitForFunction(
    (sel) => document.querySelector(sel)?.dataset.results === "success",
    `${boxes}[data-build="${number}"]`,
    { timeout: 30_000 },
  );
  assert.equal(
    await page.evaluate(() => window.__noReload),
    true,
    "the page reloaded",
  );
  assert.deepEqual(errors, []);
});

test("a live update does not move what the reader is looking at", async (t) => {
  const { page } = await open(t, null, {
    viewport: { width: 1200, height: 700 },
  });
  await page.goto(`${base}/waterfall?builder=mac&builder=lint`);
  const boxes = '[data-testid="build-box"]';
  await page.locator(boxes).nth(6).waitFor();
  // Scroll the waterfall down to a build well below its top, and remember where it is.
  const target = page.locator(boxes).nth(6);
  await target.scrollIntoViewIfNeeded();
  const key = `${await target.getAttribute("data-builder")}#${await target.getAttribute("data-build")}`;
  const before = (await target.boundingBox()).y;
  const count = await page.locator(boxes).count();
  await force("lint");
  await page.waitForFunction(
    ({ sel, count }) => document.querySelectorAll(sel).length > count,
    { sel: boxes, count },
    { timeout: 30_000 },
  );
  const [builder, number] = key.split("#");
  const after = (
    await page
      .locator(`${boxes}[data-builder="${builder}"][data-build="${number}"]`)
      .boundingBox()
  ).y;
  assert.ok(
    Math.abs(after - before) < 2,
    `the build the reader looked at moved from ${before} to ${after}`,
  );
});

test("the grid and the transposed grid: stamps × builders, filtered and live", async (t) => {
  const { page, errors } = await open(t, "/grid");
  const rows = '[data-testid="builder-row"]';
  await page.locator(rows).first().waitFor();
  assert.deepEqual(await attrs(page, rows, "data-builder"), [
    "docs",
    "lint",
    "linux",
    "mac",
  ]);
  assert.equal(await page.locator("th.stamp").count(), 5);
  assert.ok(
    (await page.locator('td[data-testid="grid-cell"][data-build]').count()) > 0,
  );

  await page.goto(`${base}/grid?width=2&category=app`);
  await page.locator(rows).first().waitFor();
  assert.equal(await page.locator("th.stamp").count(), 2);
  assert.deepEqual(await attrs(page, rows, "data-builder"), [
    "lint",
    "linux",
    "mac",
  ]);

  await page.goto(`${base}/grid?branch=main`);
  await page.locator(rows).first().waitFor();
  for (const label of await texts(page, "th.stamp"))
    assert.match(label, / in main( \(|$)/);

  await page.goto(`${base}/tgrid?length=3`);
  const stampRows = '[data-testid="stamp-row"]';
  await page.locator(stampRows).first().waitFor();
  const asc = await texts(page, `${stampRows} th.stamp`);
  assert.equal(asc.length, 3);
  await page.goto(`${base}/tgrid?length=3&rev_order=desc`);
  await page.locator(stampRows).first().waitFor();
  assert.deepEqual(
    await texts(page, `${stampRows} th.stamp`),
    asc.slice().reverse(),
  );

  // A build of a new source stamp opens a new column, live.
  await page.goto(`${base}/grid`);
  await page.locator(rows).first().waitFor();
  await force("mac", { revision: "feedfacecafe" });
  await page
    .locator("th.stamp", { hasText: "feedfacecafe" })
    .waitFor({ timeout: 30_000 });
  await page.waitForFunction(
    () => {
      const cells = [
        ...document.querySelectorAll(
          '[data-testid="builder-row"][data-builder="mac"] td',
        ),
      ];
      return cells.at(-1)?.dataset.results === "success";
    },
    undefined,
    { timeout: 30_000 },
  );
  assert.deepEqual(errors, []);
});

test("the console: boxes by category, filters, failed steps and a change arriving live", async (t) => {
  const { page, errors } = await open(t, "/console");
  const rowSel = '[data-testid="console-row"]';
  await page.locator(rowSel).first().waitFor();
  assert.deepEqual(await texts(page, "th.category"), ["app", "docs"]);
  assert.deepEqual(await attrs(page, "th.console-builder", "data-builder"), [
    "linux",
    "mac",
    "lint",
    "docs",
  ]);
  assert.equal(await page.locator(rowSel).count(), 40);
  const classes = new Set(
    await attrs(page, '[data-testid="console-box"]', "data-class"),
  );
  for (const c of ["success", "notinbuilder"])
    assert.ok(classes.has(c), [...classes].join());
  if (classes.has("failure"))
    await page
      .locator('[data-testid="failed-steps"] a.log-link')
      .first()
      .waitFor();

  await page.goto(`${base}/console?name=${encodeURIComponent(ANN)}&revs=5`);
  await page.locator(rowSel).first().waitFor();
  const authors = await texts(page, `${rowSel} .change-author`);
  assert.ok(authors.length > 0 && authors.length <= 5);
  assert.ok(
    authors.every((a) => a === ANN),
    authors.join(),
  );

  await page.goto(`${base}/console?builder=linux&revs=3`);
  await page.locator(rowSel).first().waitFor();
  assert.equal(await page.locator(rowSel).count(), 3);
  assert.equal(
    await page
      .locator(`${rowSel}:first-child [data-testid="console-box"]`)
      .count(),
    1,
  );

  await page.goto(`${base}/console?branch=nosuchbranch`);
  await page.getByText("No changes yet.").waitFor();

  // A change posted to the hook becomes the top row; its builds colour it.
  await page.goto(`${base}/console`);
  await page.locator(rowSel).first().waitFor();
  await page.evaluate(() => (window.__noReload = true));
  await postChange({
    author: "Zed <zed@example.org>",
    branch: "main",
    revision: "0123456789abcdef0123456789abcdef01234567",
    repository: "https://git.example.org/app.git",
    project: "app",
    comments: "Live change for #77",
  });
  const top = page.locator(rowSel).first();
  await top
    .locator(".change-author", { hasText: "Zed" })
    .waitFor({ timeout: 15_000 });
  assert.equal(
    await top.locator('a[title="Ticket #77"]').getAttribute("href"),
    "https://bugs.example.org/77",
  );
  assert.equal(
    await top.locator('[data-builder="docs"]').getAttribute("data-class"),
    "notinbuilder",
  );
  await page.waitForFunction(
    (sel) =>
      ["linux", "mac"].every(
        (b) =>
          document.querySelector(`${sel} [data-builder="${b}"]`)?.dataset
            .class === "success",
      ),
    `${rowSel}:first-child`,
    { timeout: 60_000 },
  );
  assert.equal(await page.evaluate(() => window.__noReload), true);
  assert.deepEqual(errors, []);
});

test("the welcome page: title, every page, what is red and what builds", async (t) => {
  const { page, errors } = await open(t, "/");
  const title = page.getByTestId("title");
  // The heading says "Cascade" until the master's own title has arrived.
  await title.getByText("Overview <test>", { exact: true }).waitFor();
  assert.equal(
    await title.locator("a").getAttribute("href"),
    "https://example.org/ci",
  );
  for (const name of [
    "Waterfall",
    "Grid",
    "Transposed grid",
    "Console",
    "Builders",
  ])
    await page
      .locator("nav.page-links")
      .getByRole("link", { name, exact: true })
      .waitFor();
  const board = page.getByTestId("board-red");
  await board.waitFor();
  const red = await page.$$eval('[data-testid="board-red"] li', (els) =>
    els.map((e) => e.dataset.builder),
  );
  const builders = await server.getJson("/api/v1/builders");
  const expected = builders.builders
    .filter(
      (b) =>
        b.last_build && !["success", "warnings"].includes(b.last_build.results),
    )
    .map((b) => b.name);
  assert.deepEqual(red, expected);
  assert.deepEqual(errors, []);
});

test("markup stored in changes and builds is shown as text on every page", async (t) => {
  const payload = `<img src=x onerror="window.__xss=1">`;
  await postChange({
    author: `<script>window.__xss=2</script> Mallory <m@example.org>`,
    branch: "main",
    revision: `<i>rev</i>`,
    project: "app",
    repository: "https://git.example.org/app.git",
    comments: `evil ${payload} #5`,
    revlink: "javascript:window.__xss=3",
  });
  await force("docs", {
    reason: `<b onmouseover="window.__xss=4">why</b>`,
    revision: "<u>x</u>",
  });
  const builds = await waitFor(async () => {
    const r = await server.getJson("/api/v1/builds?builder=docs&limit=5");
    return r.builds.find((b) => b.complete && b.reason.includes("why"));
  });
  const { page, errors } = await open(t);
  for (const path of [
    "/waterfall",
    "/console",
    "/grid",
    "/tgrid",
    "/",
    "/builders",
    "/builders/docs",
    `/builders/docs/builds/${builds.number}`,
    `/builders/docs/builds/${builds.number}/steps/1`,
  ]) {
    await page.goto(base + path);
    await page.waitForLoadState("networkidle");
    assert.equal(
      await page.evaluate(() => window.__xss),
      undefined,
      `script ran on ${path}`,
    );
    assert.equal(
      await page
        // The builder page's own plots and badge are the only images a page draws.
        .locator(
          "main img:not(.builder-plots img, .builder-links img), main script, main b[onmouseover], main i, main u",
        )
        .count(),
      0,
      path,
    );
  }
  await page.goto(`${base}/console`);
  const row = page
    .locator('[data-testid="console-row"]', { hasText: "Mallory" })
    .first();
  await row.waitFor();
  assert.match(
    await row.textContent(),
    /evil <img src=x onerror="window.__xss=1">/,
  );
  assert.equal(await row.locator("a.rev").count(), 1);
  assert.equal(
    await row.locator("a.rev").getAttribute("href"),
    `https://git.example.org/commit/${encodeURIComponent("<i>rev</i>")}`,
    "the hook's javascript: revlink is dropped",
  );
  await page.goto(`${base}/builders/docs/builds/${builds.number}`);
  await page
    .getByText(`<b onmouseover="window.__xss=4">why</b>`, { exact: false })
    .first()
    .waitFor();
  // The build page also shows the reason among its properties, as text.
  await page
    .locator('[data-testid="properties"] tr[data-property="reason"] td', {
      hasText: `<b onmouseover="window.__xss=4">why</b>`,
    })
    .waitFor();
  assert.deepEqual(errors, []);
});

test("both themes, a phone screen and the keyboard", async (t) => {
  const pages = ["/", "/waterfall", "/grid", "/tgrid", "/console"];
  for (const colorScheme of ["light", "dark"]) {
    const { page, errors } = await open(t, null, {
      colorScheme,
      viewport: { width: 1400, height: 900 },
    });
    for (const path of pages) {
      await page.goto(base + path);
      await page.waitForLoadState("networkidle");
      const name = path === "/" ? "welcome" : path.slice(1);
      await page.screenshot({
        path: join(SHOTS, `${name}-${colorScheme}.png`),
      });
    }
    const bg = await page.evaluate(
      () => getComputedStyle(document.documentElement).backgroundColor,
    );
    const [r, g, b] = bg.match(/\d+/g).map(Number);
    assert.ok(
      colorScheme === "dark" ? r + g + b < 150 : r + g + b > 600,
      `${colorScheme}: ${bg}`,
    );
    assert.deepEqual(errors, []);
  }

  // The toggle overrides the system and is remembered.
  const { page } = await open(t, "/waterfall", { colorScheme: "light" });
  const toggle = page.getByTestId("theme-toggle");
  await toggle.waitFor();
  while ((await toggle.getAttribute("data-theme-choice")) !== "dark")
    await toggle.click();
  await page.reload();
  await page.getByTestId("theme-toggle").waitFor();
  assert.equal(
    await page.evaluate(() => document.documentElement.dataset.theme),
    "dark",
  );

  // A phone: the pages scroll inside their own boxes, never the whole body sideways.
  const phone = await open(t, null, {
    viewport: { width: 390, height: 844 },
    isMobile: true,
  });
  for (const path of pages) {
    await phone.page.goto(base + path);
    await phone.page.waitForLoadState("networkidle");
    const overflow = await phone.page.evaluate(
      () => document.documentElement.scrollWidth - window.innerWidth,
    );
    assert.ok(overflow <= 1, `${path} overflows the phone by ${overflow}px`);
    const name = path === "/" ? "welcome" : path.slice(1);
    await phone.page.screenshot({ path: join(SHOTS, `${name}-phone.png`) });
  }

  // The keyboard reaches the filters and opens them.
  await page.goto(`${base}/console`);
  await page.locator('[data-testid="console-row"]').first().waitFor();
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press("Tab");
    if (
      await page.evaluate(() => document.activeElement?.tagName === "SUMMARY")
    )
      break;
  }
  assert.equal(
    await page.evaluate(() => document.activeElement?.tagName),
    "SUMMARY",
  );
  await page.keyboard.press("Enter");
  await page.locator('select[name="builder"]').waitFor();
  assert.equal(
    await page.evaluate(() => document.querySelector("details.filters").open),
    true,
  );
});
