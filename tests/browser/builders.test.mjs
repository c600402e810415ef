// Browser test: the builders pages (/builders, /builders/{b}, a build, a step) and the
// actions they carry, against the real `cascade` binary with Debian's chromium.
//
// Checks what each page shows, that its arguments filter it, that every control does its
// action and the page shows the result without a reload, and that the controls are hidden
// from anonymous users. Screenshots of each page in both themes and on a phone go to
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
  startMaster,
  writeConfig,
} from "../lib/master.mjs";
import {
  hashPassword,
  launchBrowser,
  logInAs,
  openPage,
} from "../lib/browser.mjs";

const PASSWORD = "builders page password";

const config = (hash) => String.raw`title = "Builders browser test"
[db]
url = "sqlite://cascade.sqlite"
[web]
listen = ["127.0.0.1:0"]
num_builds = 3
[auth]
users = [{ username = "admin", password_hash = "${hash}" }]
[authz]
force_build = "auth"
force_all_builds = "auth"
ping_builder = "auth"
stop_build = "auth"
stop_all_builds = "auth"
cancel_pending_build = "auth"
cancel_all_pending_builds = "auth"
[[workers]]
name = "local"
embedded = true
max_builds = 1
[[builders]]
name = "quick"
description = "Quick <checks>"
tags = ["fast"]
workers = ["local"]
steps = [
  { name = "compile", command = ["sh", "-c", "echo compiling"] },
  { name = "unit tests", command = ["sh", "-c", "echo tests pass"] },
]
[[builders]]
name = "slow"
workers = ["local"]
steps = [ { name = "wait", command = ["sh", "-c", "echo waiting; sleep 120"] } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["quick", "slow"]
`;

const SHOTS =
  process.env.CASCADE_SCREENSHOTS ?? join(tmpdir(), "cascade-screenshots");

let dir;
let server;
let base;
let browser;

before(async () => {
  assertBinary();
  const hash = await hashPassword(PASSWORD);
  dir = await makeTempDir("cascade-browser-builders-");
  server = await startMaster(await writeConfig(dir, config(hash)));
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

const open = (t, path, options) => openPage(browser, base, t, path, options);

const logIn = (page, next) => logInAs(page, base, "admin", PASSWORD, next);

/** Clicks an action's button; when it asks for a reason, gives one and submits. */
async function act(scope, action, reason) {
  const control = scope.locator(`[data-action="${action}"]`).first();
  await control.locator("button").first().click();
  const form = control.locator("form.action-form");
  if (await form.count()) {
    if (reason != null) await form.getByLabel("Reason").fill(reason);
    await form.locator("button[type=submit]").click();
  }
  return control;
}

const buildRows = (page) =>
  page.$$eval('[data-testid="build-lines"] tbody tr', (rows) =>
    rows.map((r) => Number(r.dataset.build)),
  );

/** A row of the build page's properties table: name, value, source. */
async function property(page, name) {
  const row = page.locator(
    `[data-testid="properties"] tr[data-property="${name}"]`,
  );
  await row.waitFor();
  return (await row.locator("td").allTextContents()).map((s) => s.trim());
}

async function waitForBuilds(page, want) {
  await page.waitForFunction(
    (want) =>
      JSON.stringify(
        [
          ...document.querySelectorAll('[data-testid="build-lines"] tbody tr'),
        ].map((r) => Number(r.dataset.build)),
      ) === JSON.stringify(want),
    want,
    { timeout: 30_000 },
  );
}

async function waitForResult(page, number, results) {
  await page.waitForFunction(
    ({ number, results }) =>
      document.querySelector(
        `[data-testid="build-lines"] tr[data-build="${number}"] .status-box`,
      )?.dataset.results === results,
    { number, results },
    { timeout: 60_000 },
  );
}

test("anonymous users see the builders without their controls", async (t) => {
  const { page, errors } = await open(t, "/builders");
  const rows = page.locator('[data-testid="builders"] tbody tr');
  await rows.first().waitFor();
  assert.deepEqual(
    await rows.evaluateAll((els) => els.map((e) => e.dataset.builder)),
    ["quick", "slow"],
  );
  assert.equal(await page.getByTestId("global-controls").count(), 0);
  await page.getByText("Quick <checks>").first().waitFor();

  await page.goto(`${base}/builders?builder=slow`);
  await page.waitForFunction(
    () =>
      [...document.querySelectorAll('[data-testid="builders"] tbody tr')]
        .map((e) => e.dataset.builder)
        .join() === "slow",
  );

  await page.goto(`${base}/builders/quick`);
  await page.getByRole("heading", { name: "quick", exact: true }).waitFor();
  await page.getByText("Quick <checks>").waitFor();
  await page.locator(".tags .chip", { hasText: "fast" }).waitFor();
  await page
    .locator('[data-testid="builder-workers"] [data-worker="local"]')
    .waitFor();
  assert.equal(
    await page.getByTestId("force-form").count(),
    0,
    "force form shown",
  );
  assert.equal(
    await page.locator("[data-action]").count(),
    0,
    "controls shown",
  );

  await page.goto(`${base}/builders/nope`);
  await page.getByRole("heading", { name: "No such builder" }).waitFor();
  assert.deepEqual(errors, []);
});

test("the builder page forces, filters its builds, pings, and a build rebuilds", async (t) => {
  const { page, errors } = await open(t, null);
  await logIn(page, "/builders/quick");
  await page.evaluate(() => {
    window.__noReload = true;
  });
  const form = page.getByTestId("force-form");
  await form.waitFor();

  // Force with the full form: the build shows up live and turns green.
  await form.getByLabel("Reason").fill("first");
  await form.getByLabel("Branch").fill("feature");
  await form.getByLabel("Revision").fill("abc1234");
  await form.getByLabel("Property 1 name").fill("color");
  await form.getByLabel("Property 1 value").fill("blue");
  await form.getByRole("button", { name: "Force build" }).click();
  await form.getByRole("status").waitFor();
  await waitForBuilds(page, [1]);
  await waitForResult(page, 1, "success");
  await form.getByLabel("Property 1 value").fill("red");
  await form.getByLabel("Reason").fill("second");
  await form.getByRole("button", { name: "Force build" }).click();
  await waitForBuilds(page, [2, 1]);
  await waitForResult(page, 2, "success");

  // property.NAME=VALUE filters the list and lands in the URL; numbuilds limits it.
  const filter = page.getByTestId("property-filter");
  await filter.getByLabel("Property name").fill("color");
  await filter.getByLabel("Property value").fill("blue");
  await filter.getByRole("button", { name: "Filter" }).click();
  await page.waitForURL((u) => u.searchParams.get("property.color") === "blue");
  await waitForBuilds(page, [1]);
  await filter
    .getByRole("button", { name: "Remove the filter on color" })
    .click();
  await waitForBuilds(page, [2, 1]);
  await page.goto(`${base}/builders/quick?numbuilds=1`);
  await waitForBuilds(page, [2]);
  await page.getByRole("heading", { name: "Last 1 builds" }).waitFor();

  // Ping: every worker's answer.
  const ping = await act(page, "ping");
  await ping
    .getByRole("status")
    .filter({ hasText: "local answered" })
    .waitFor();

  // The build page: source stamp, owner, properties with their sources, steps.
  await page.goto(`${base}/builders/quick/builds/1`);
  await page
    .locator('[data-testid="sourcestamps"] td', { hasText: "feature" })
    .waitFor();
  const owner = page
    .locator("dl.props div", { hasText: "Owner" })
    .locator("dd");
  assert.equal((await owner.textContent()).trim(), "admin");
  assert.deepEqual(await property(page, "color"), [
    "color",
    "blue",
    "Force Build Form",
  ]);
  assert.deepEqual(await property(page, "workername"), [
    "workername",
    "local",
    "Worker",
  ]);
  await page.locator("ol.steps li", { hasText: "unit tests" }).waitFor();

  // Rebuild: the same source stamp and properties again, as build 3.
  const rebuild = await act(page, "rebuild", "once more");
  await rebuild
    .getByRole("status")
    .filter({ hasText: "Rebuild requested" })
    .waitFor();
  await page.goto(`${base}/builders/quick`);
  await waitForBuilds(page, [3, 2, 1]);
  await page.goto(`${base}/builders/quick/builds/3`);
  await page
    .locator('[data-testid="sourcestamps"] td', { hasText: "feature" })
    .waitFor();
  assert.deepEqual(await property(page, "color"), [
    "color",
    "blue",
    "Force Build Form",
  ]);
  assert.deepEqual(await property(page, "reason"), [
    "reason",
    "once more",
    "Rebuild",
  ]);

  // A step by name (0.8.9's URLs) and by number: its timing and its logs.
  await page
    .locator("ol.steps li a.step-title", { hasText: "unit tests" })
    .click();
  await page.waitForURL("**/builders/quick/builds/3/steps/2");
  await page.getByRole("heading", { name: /unit tests/ }).waitFor();
  await page.goto(`${base}/builders/quick/builds/1/steps/compile`);
  await page.getByRole("heading", { name: /compile/ }).waitFor();
  const log = page.locator('[data-testid="step-logs"] tr[data-log="stdio"]');
  await log.waitFor();
  assert.equal(
    await log.locator("a", { hasText: "text" }).getAttribute("href"),
    "/builders/quick/builds/1/steps/1/logs/stdio/text",
  );
  await page.goto(`${base}/builders/quick/builds/1/steps/nope`);
  await page.getByRole("heading", { name: "No such step" }).waitFor();
  assert.deepEqual(errors, []);
});

test("pending requests are cancelled one by one or all, running builds stopped", async (t) => {
  const { page, errors } = await open(t, null);
  await logIn(page, "/builders/slow");
  await page.evaluate(() => {
    window.__noReload = true;
  });
  const form = page.getByTestId("force-form");
  const pendingRows = page.locator('[data-testid="pending"] tbody tr');
  // One slow build runs (the worker takes one at a time); the next two wait.
  for (let i = 0; i < 3; i++) {
    await form.getByRole("button", { name: "Force build" }).click();
    await form.getByRole("status").waitFor();
  }
  await page.waitForFunction(
    () =>
      document.querySelectorAll('[data-testid="pending"] tbody tr').length ===
      2,
    null,
    { timeout: 30_000 },
  );
  const first = pendingRows.first();
  const cancel = await act(first, "cancel");
  await cancel
    .getByRole("status")
    .waitFor()
    .catch(() => undefined);
  await page.waitForFunction(
    () =>
      document.querySelectorAll('[data-testid="pending"] tbody tr').length ===
      1,
    null,
    { timeout: 30_000 },
  );
  await form.getByRole("button", { name: "Force build" }).click();
  await page.waitForFunction(
    () =>
      document.querySelectorAll('[data-testid="pending"] tbody tr').length ===
      2,
    null,
    { timeout: 30_000 },
  );
  await act(page, "cancel-all", "too many");
  await page.getByText("Nothing waits.").waitFor({ timeout: 30_000 });

  // Stop the running build: it ends cancelled, shown without a reload.
  await act(page, "stop-all", "enough");
  await waitForResult(page, 1, "cancelled");
  assert.equal(await page.evaluate(() => window.__noReload), true, "reloaded");

  // The builders page: force all, then stop all.
  await page.goto(`${base}/builders`);
  const forceAll = await act(
    page.getByTestId("global-controls"),
    "force-all",
    "all of them",
  );
  await forceAll
    .getByRole("status")
    .filter({ hasText: "forced 2 builder(s)" })
    .waitFor();
  await page.waitForFunction(
    () =>
      document.querySelector(
        'tr[data-builder="slow"] [data-testid="builder-state"] .status-box',
      )?.dataset.results === "running",
    null,
    { timeout: 30_000 },
  );
  const stopAll = await act(
    page.getByTestId("global-controls"),
    "stop-all",
    "stop it",
  );
  await stopAll
    .getByRole("status")
    .filter({ hasText: /stopping \d build/ })
    .waitFor();
  await page.waitForFunction(
    () =>
      document.querySelector(
        'tr[data-builder="slow"] [data-testid="last-build"] .status-box',
      )?.dataset.results === "cancelled",
    null,
    { timeout: 30_000 },
  );
  assert.deepEqual(errors, []);
});

test("the builders pages in both themes and on a phone", async (t) => {
  const pages = [
    ["/builders", "builders"],
    ["/builders/quick", "builder"],
    ["/builders/quick/builds/1", "build"],
    ["/builders/quick/builds/1/steps/1", "step"],
  ];
  for (const colorScheme of ["light", "dark"]) {
    const { page, errors } = await open(t, null, {
      colorScheme,
      viewport: { width: 1400, height: 900 },
    });
    await logIn(page, "/builders");
    for (const [path, name] of pages) {
      await page.goto(base + path);
      await page.waitForLoadState("networkidle");
      await page.screenshot({
        path: join(SHOTS, `${name}-${colorScheme}.png`),
        fullPage: true,
      });
    }
    assert.deepEqual(errors, []);
  }
  const phone = await open(t, null, {
    viewport: { width: 390, height: 844 },
    isMobile: true,
  });
  for (const [path, name] of pages) {
    await phone.page.goto(base + path);
    await phone.page.waitForLoadState("networkidle");
    const overflow = await phone.page.evaluate(
      () => document.documentElement.scrollWidth - window.innerWidth,
    );
    assert.ok(overflow <= 1, `${path} overflows the phone by ${overflow}px`);
    await phone.page.screenshot({ path: join(SHOTS, `${name}-phone.png`) });
  }
});
