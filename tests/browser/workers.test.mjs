// Browser test: the workers pages (/workers, its old name /buildslaves, /workers/{name}) and
// /about, against the real `cascade` binary with a remote `cascade worker` and Debian's
// chromium.
//
// Checks what each page shows, that `no_builders=1` hides the builders, that a worker
// connecting, being paused, unpaused or shut down shows without a reload, that the pause,
// unpause, graceful shutdown and clean master shutdown controls do their action and are
// hidden from anonymous users when authz wants a login, a worker's recent builds, and the
// about page's facts. Screenshots of every page in both themes and on a phone go to
// CASCADE_SCREENSHOTS (default: a temporary folder); the run prints where.
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  assertBinary,
  makeTempDir,
  removeDir,
  startMaster,
  waitFor,
  withDeadline,
  writeConfig,
} from "../lib/master.mjs";
import {
  hashPassword,
  launchBrowser,
  logInAs,
  openPage,
} from "../lib/browser.mjs";
import { startWorker } from "../lib/worker.mjs";

const PASSWORD = "correct horse battery staple";
const WORKER_PASSWORD = "remote-worker-secret";
const SHOTS =
  process.env.CASCADE_SCREENSHOTS ?? join(tmpdir(), "cascade-screenshots");

const config = (hash) => `title = "Workers browser test"
[db]
url = "sqlite://cascade.sqlite"
[web]
listen = ["127.0.0.1:0"]
[auth]
users = [{ username = "admin", password_hash = "${hash}" }]
[authz]
force_build = true
pause_worker = "auth"
graceful_shutdown = "auth"
clean_shutdown = "auth"
[[workers]]
name = "local"
embedded = true
max_builds = 2
[[workers]]
name = "remote-1"
password = { file = "remote.pass" }
[[builders]]
name = "quick"
description = "says hello"
workers = ["local"]
steps = [ { name = "hello", command = ["sh", "-c", "echo hello"] } ]
[[builders]]
name = "slow"
workers = ["local"]
steps = [ { name = "wait", command = ["sh", "-c", "echo waiting; sleep 600"] } ]
[[builders]]
name = "remote-app"
workers = ["remote-1"]
steps = [ { name = "hello", command = ["sh", "-c", "echo remote"] } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["quick", "slow", "remote-app"]
`;

let dir;
let server;
let base;
let browser;
let remote;

before(async () => {
  assertBinary();
  const hash = await hashPassword(PASSWORD);
  dir = await makeTempDir("cascade-browser-workers-");
  await writeFile(join(dir, "remote.pass"), `${WORKER_PASSWORD}\n`);
  server = await startMaster(await writeConfig(dir, config(hash)));
  base = server.url;
  browser = await launchBrowser();
  await mkdir(SHOTS, { recursive: true });
  console.log(`# screenshots in ${SHOTS}`);
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await remote?.stop();
  await server?.stop();
  await removeDir(dir);
});

const open = (t, path, options) => openPage(browser, base, t, path, options);

const logIn = (page, next) => logInAs(page, base, "admin", PASSWORD, next);

/** Marks the document; `stillSameDocument` tells whether no reload happened since. */
async function markDocument(page) {
  await page.evaluate(() => (window.__sameDocument = true));
}
async function stillSameDocument(page) {
  return page.evaluate(() => window.__sameDocument === true);
}

const row = (page, worker) =>
  page.locator(`[data-testid="workers"] tr[data-worker="${worker}"]`);
const stateOf = (page, worker) =>
  row(page, worker).locator("[data-state]").getAttribute("data-state");

/** Waits until `worker`'s state on the page reads `state`. */
async function waitState(page, worker, state) {
  await row(page, worker)
    .locator(`[data-state="${state}"]`)
    .waitFor({ timeout: 20_000 });
}

async function startRemote() {
  const passwordFile = join(dir, "remote.pass");
  remote = await startWorker({
    url: base,
    name: "remote-1",
    passwordFile,
    basedir: join(dir, "remote-1"),
    cwd: dir,
  });
}

async function force(builder) {
  const r = await server.postJson(`/api/v1/builders/${builder}/force`, {
    reason: "browser test",
  });
  assert.equal(r.status, 202, JSON.stringify(r.body));
}

/** Waits until `builder` has `n` finished builds. */
async function finished(builder, n) {
  await waitFor(
    async () => {
      const { builds } = await server.getJson(
        `/api/v1/builds?builder=${builder}&limit=100`,
      );
      return builds.filter((b) => b.complete).length >= n;
    },
    { what: `${n} finished builds of ${builder}` },
  );
}

test("anonymous: every worker, no_builders=1, a worker connecting live, no controls", async (t) => {
  const { page, errors } = await open(t, "/workers");
  const table = page.getByTestId("workers");
  await table.waitFor();
  assert.deepEqual(
    await table
      .locator("tbody tr")
      .evaluateAll((trs) => trs.map((tr) => tr.dataset.worker)),
    ["local", "remote-1"],
  );
  await waitState(page, "local", "idle");
  assert.equal(await stateOf(page, "remote-1"), "offline");
  const local = row(page, "local");
  assert.match(await local.textContent(), /embedded/);
  assert.match(
    await local.locator(".worker-host").textContent(),
    new RegExp(hostname()),
  );
  const master = await server.getJson("/api/v1/master");
  assert.equal(
    (await local.locator(".worker-master").textContent()).trim(),
    master.name,
  );
  assert.deepEqual(
    await local
      .locator(".worker-builders a")
      .evaluateAll((as) => as.map((a) => a.textContent)),
    ["quick", "slow"],
  );
  // Authz wants a login: no actions column, no buttons.
  assert.equal(
    await page.getByRole("columnheader", { name: "Actions" }).count(),
    0,
  );
  assert.equal(await page.locator("main button").count(), 0);

  // A worker connecting shows without a reload, with its host info and version.
  await markDocument(page);
  await startRemote();
  await waitState(page, "remote-1", "idle");
  assert.ok(await stillSameDocument(page), "the page was reloaded");
  const remoteRow = row(page, "remote-1");
  assert.match(await remoteRow.textContent(), /\d+\.\d+\.\d+/);
  assert.match(await remoteRow.locator(".worker-host").textContent(), /CPU/);

  // no_builders=1 hides the builders column; the link toggles it.
  await page.getByRole("link", { name: "Hide builders" }).click();
  await page.waitForURL((u) => u.search === "?no_builders=1");
  await page.getByRole("link", { name: "Show builders" }).waitFor();
  assert.equal(await page.locator(".worker-builders").count(), 0);
  assert.equal(
    await page.getByRole("columnheader", { name: "Builders" }).count(),
    0,
  );

  // 0.8.9's /buildslaves is the same page, arguments kept.
  await page.goto(`${base}/buildslaves?no_builders=1`);
  await page.waitForURL((u) => u.pathname === "/workers");
  assert.equal(new URL(page.url()).search, "?no_builders=1");
  await row(page, "remote-1").waitFor();
  assert.equal(await page.locator(".worker-builders").count(), 0);

  // The worker page hides the controls too.
  await page.goto(`${base}/workers/remote-1`);
  await page.getByTestId("worker-details").waitFor();
  assert.equal(await page.locator("main button").count(), 0);
  assert.deepEqual(errors, []);
});

test("an admin pauses, unpauses and shuts a worker down, each shown without a reload", async (t) => {
  if (!remote?.running) await startRemote();
  const { page, errors } = await open(t);
  await logIn(page, "/workers");
  await waitState(page, "remote-1", "idle");
  await page.getByRole("columnheader", { name: "Actions" }).waitFor();
  await markDocument(page);
  const actions = row(page, "remote-1").locator(".worker-actions");

  // Pause asks for a reason first.
  await actions.getByRole("button", { name: "Pause", exact: true }).click();
  await actions.getByLabel("Reason").fill("disk almost full");
  await page.screenshot({ path: join(SHOTS, "workers-pause-form.png") });
  await actions.getByRole("button", { name: "Pause remote-1" }).click();
  await waitState(page, "remote-1", "paused");
  const paused = await server.getJson("/api/v1/workers/remote-1");
  assert.equal(paused.paused, true);
  await actions.getByRole("button", { name: "Unpause", exact: true }).waitFor();

  await actions.getByRole("button", { name: "Unpause", exact: true }).click();
  await actions.getByRole("button", { name: "Unpause remote-1" }).click();
  await waitState(page, "remote-1", "idle");
  assert.equal(
    (await server.getJson("/api/v1/workers/remote-1")).paused,
    false,
  );

  // A graceful shutdown of an idle worker: it says goodbye and goes offline.
  await actions.getByRole("button", { name: "Graceful shutdown" }).click();
  await actions.getByLabel("Reason").fill("maintenance");
  await actions.getByRole("button", { name: "Shut remote-1 down" }).click();
  await waitState(page, "remote-1", "offline");
  await remote.waitExit(20_000);
  assert.equal(
    await actions.getByRole("button", { name: "Graceful shutdown" }).count(),
    0,
  );
  assert.ok(await stillSameDocument(page), "the page was reloaded");
  assert.deepEqual(errors, []);
});

test("a worker's page: its details and its recent builds, live", async (t) => {
  await force("quick");
  await finished("quick", 1);
  await force("quick");
  await finished("quick", 2);
  const { page, errors } = await open(t, "/workers/local");
  await page.getByRole("heading", { name: "Worker local" }).waitFor();
  const details = page.getByTestId("worker-details");
  assert.match(await details.textContent(), /inside the master \(embedded\)/);
  assert.match(await details.textContent(), /quick, slow/);
  assert.match(
    await page.getByTestId("worker-host").textContent(),
    new RegExp(hostname()),
  );
  const builds = page.getByTestId("recent-builds").locator("tbody tr");
  await builds.nth(1).waitFor();
  assert.deepEqual(
    await builds.evaluateAll((trs) =>
      trs.map((tr) => `${tr.dataset.builder}#${tr.dataset.number}`),
    ),
    ["quick#2", "quick#1"],
  );
  assert.equal(
    await builds.first().locator("[data-results]").getAttribute("data-results"),
    "success",
  );

  // A new build on this worker shows without a reload.
  await markDocument(page);
  await force("quick");
  await page
    .getByTestId("recent-builds")
    .locator('tr[data-builder="quick"][data-number="3"]')
    .waitFor({ timeout: 20_000 });
  assert.ok(await stillSameDocument(page), "the page was reloaded");

  // Paging: one build a page.
  await page.goto(`${base}/workers/local?numbuilds=1`);
  await builds.first().waitFor();
  assert.equal(await builds.count(), 1);
  await page.getByRole("link", { name: "older »" }).click();
  await page.waitForURL((u) => u.search === "?numbuilds=1&offset=1");
  await page
    .getByTestId("recent-builds")
    .locator('tr[data-number="2"]')
    .waitFor();

  await page.goto(`${base}/workers/nobody`);
  await page.getByRole("heading", { name: "No such worker" }).waitFor();
  assert.deepEqual(errors, []);
});

test("the about page: versions, uptime, database, masters; shutdown started and cancelled", async (t) => {
  const anon = await open(t, "/about");
  const facts = anon.page.getByTestId("master");
  await facts.waitFor();
  const master = await server.getJson("/api/v1/master");
  assert.equal(
    await anon.page.getByTestId("version").textContent(),
    master.version,
  );
  assert.match(
    await facts.textContent(),
    new RegExp(master.name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")),
  );
  assert.match(
    await anon.page.getByTestId("database").textContent(),
    /^SQLite \d+\.\d+\.\d+, \d+(\.\d)? (B|KiB|MiB)$/,
  );
  assert.match(
    await anon.page.getByTestId("uptime").textContent(),
    /second|minute/,
  );
  for (const name of ["poem", "poem-openapi", "sqlx", "tokio", "preact"]) {
    const lib = anon.page.locator(
      `[data-testid="libraries"] tr[data-library="${name}"]`,
    );
    assert.match(await lib.textContent(), /\d+\.\d+\.\d+/, name);
  }
  const masters = anon.page.getByTestId("masters").locator("tbody tr");
  assert.equal(await masters.count(), 1);
  assert.match(await masters.first().textContent(), /this master.*running/);
  assert.equal(await anon.page.getByTestId("shutdown-controls").count(), 0);
  assert.deepEqual(anon.errors, []);

  // A build keeps a clean shutdown waiting, so it can be seen and cancelled.
  await force("slow");
  await waitFor(
    async () => (await server.getJson("/api/v1/master")).running_builds === 1,
    {
      what: "the slow build to run",
    },
  );
  const { page, errors } = await open(t);
  await logIn(page, "/about");
  const controls = page.getByTestId("shutdown-controls");
  await controls.waitFor();
  await markDocument(page);
  await controls.getByRole("button", { name: "Clean shutdown" }).click();
  await controls.getByLabel("Reason").fill("upgrade");
  await controls
    .getByRole("button", { name: "Start a clean shutdown" })
    .click();
  await page
    .getByTestId("master-state")
    .getByText("shutting down: waiting for 1 running build")
    .waitFor({ timeout: 20_000 });
  assert.equal((await server.getJson("/api/v1/master")).shutting_down, true);
  await page.screenshot({
    path: join(SHOTS, "about-shutting-down.png"),
    fullPage: true,
  });

  await controls.getByRole("button", { name: "Cancel shutdown" }).click();
  await controls
    .getByRole("button", { name: "Cancel the clean shutdown" })
    .click();
  await page
    .getByTestId("master-state")
    .getByText("running", { exact: true })
    .waitFor({ timeout: 20_000 });
  assert.equal((await server.getJson("/api/v1/master")).shutting_down, false);
  assert.ok(server.running, "the master exited");
  assert.ok(await stillSameDocument(page), "the page was reloaded");
  assert.deepEqual(errors, []);
});

test("screenshots in both themes and on a phone, which never scrolls sideways", async (t) => {
  if (!remote?.running) await startRemote();
  const pages = [
    ["/workers", "workers"],
    ["/workers?no_builders=1", "workers-no-builders"],
    ["/workers/local", "worker"],
    ["/about", "about"],
  ];
  const ready = async (page) => {
    await page
      .locator(
        '[data-testid="workers"], [data-testid="recent-builds"], [data-testid="masters"]',
      )
      .first()
      .waitFor();
    await page.waitForLoadState("networkidle");
  };
  for (const colorScheme of ["light", "dark"]) {
    const { page, errors } = await open(t, null, {
      colorScheme,
      viewport: { width: 1400, height: 900 },
    });
    await logIn(page, "/workers");
    for (const [path, name] of pages) {
      await page.goto(base + path);
      await ready(page);
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
  await logIn(phone.page, "/workers");
  for (const [path, name] of pages) {
    await phone.page.goto(base + path);
    await ready(phone.page);
    const overflow = await phone.page.evaluate(
      () => document.documentElement.scrollWidth - window.innerWidth,
    );
    assert.ok(overflow <= 1, `${path} overflows the phone by ${overflow}px`);
    await phone.page.screenshot({
      path: join(SHOTS, `${name}-phone.png`),
      fullPage: true,
    });
  }
});

test("shut down now: the master exits", async (t) => {
  const { page } = await open(t);
  await logIn(page, "/about");
  const controls = page.getByTestId("shutdown-controls");
  await controls.getByRole("button", { name: "Shut down now" }).click();
  await controls.getByLabel("Reason").fill("end of the test");
  await controls.getByRole("button", { name: "Exit now" }).click();
  const { code } = await withDeadline(
    server.exited,
    20_000,
    `the master did not exit:\n${server.output}`,
  );
  assert.equal(code, 0, server.output);
});
