// Browser test: the changes list and change pages, the one-line-per-build list and the
// compact build status box, against the real `cascade` binary with Debian's chromium.
//
// Changes come in through the base change hook (some with markup in their author, comment,
// files and properties, which must show as text); schedulers build some of them. Checks what
// each page shows, that each query argument filters it and the filter form writes it, paging
// by cursor, changes and builds arriving without a reload, and that "Stop builds of this
// change" is offered only to the role allowed to use it, works from the keyboard and shows
// the server's answer. Screenshots of every page in both themes and on a phone go to
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
  waitFor,
  writeConfig,
} from "../lib/master.mjs";
import {
  hashPassword,
  launchBrowser,
  logInAs,
  openPage,
  takeCspViolations,
} from "../lib/browser.mjs";

const PASSWORD = "correct horse battery staple";

const config = (hash) => String.raw`title = "Changes <test>"
[db]
url = "sqlite://cascade.sqlite"
[web]
listen = ["127.0.0.1:0"]
num_builds = 4
revlink = "https://git.example.org/commit/%s"
changecommentlink = { regex = '#(\d+)', url = 'https://bugs.example.org/\1', title = 'Ticket \g<0>' }
projects = { app = "https://example.org/app" }
repositories = { "https://git.example.org/app.git" = "https://git.example.org/app" }
[auth]
users = [{ username = "admin", password_hash = "${hash}" }, { username = "viewer", password_hash = "${hash}" }]
[authz]
force_build = true
pause_worker = true
stop_change = { roles = ["admins"] }
roles = { admins = ["admin"] }
[change_hook]
dialects = { base = {} }
[[workers]]
name = "local"
embedded = true
max_builds = 4
[[workers]]
name = "gate"
embedded = true
[[builders]]
name = "unit"
workers = ["local"]
steps = [ { name = "compile", command = ["sh", "-c", "echo compiling"] }, { name = "test", command = ["sh", "-c", "echo testing"] } ]
[[builders]]
name = "lint"
workers = ["local"]
steps = [ { name = "lint", command = ["sh", "-c", "echo 'style error'; exit 1"] } ]
[[builders]]
name = "slow"
workers = ["local"]
steps = [ { name = "prepare", command = ["sh", "-c", "echo ready"] }, { name = "wait", command = ["sh", "-c", "echo waiting; sleep 120"] } ]
[[builders]]
name = "gated"
workers = ["gate"]
steps = [ { name = "check", command = ["sh", "-c", "echo checked"] } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["unit", "lint", "slow"]
[[schedulers]]
name = "main"
kind = "single_branch"
branch = "main"
builders = ["unit", "lint"]
[[schedulers]]
name = "slow"
kind = "single_branch"
branch = "slow"
builders = ["slow"]
[[schedulers]]
name = "gated"
kind = "single_branch"
branch = "gated"
builders = ["gated"]
`;

const SHOTS =
  process.env.CASCADE_SCREENSHOTS ?? join(tmpdir(), "cascade-screenshots");
const ANN = "Ann Lee <ann@example.org>";
const BOB = "Bob Ray <bob@example.org>";
const APP = "https://git.example.org/app.git";
const DOCS = "https://git.example.org/docs.git";
const MALLORY = `<script>window.__xss=2</script> Mallory <m@example.org>`;
const EVIL_COMMENT = `evil <img src=x onerror="window.__xss=1"> see #5`;

let dir;
let server;
let base;
let browser;
/** The ids of the changes posted in `before`, by name. */
const ids = {};

async function postChange(fields) {
  const body = { ...fields };
  for (const k of ["files", "properties"])
    if (body[k] !== undefined) body[k] = JSON.stringify(body[k]);
  const res = await fetch(`${base}/change_hook/base`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(body).toString(),
  });
  const text = await res.text();
  assert.equal(res.status, 202, text);
  const [id] = JSON.parse(text).change_ids;
  assert.ok(Number.isInteger(id), text);
  return id;
}

async function force(builder, body = {}) {
  const r = await server.postJson(`/api/v1/builders/${builder}/force`, {
    reason: "browser test",
    ...body,
  });
  assert.equal(r.status, 202, JSON.stringify(r.body));
}

/** The builds the API lists for `query`, once `done` says they are there. */
function buildsWhen(query, done, what) {
  return waitFor(
    async () => {
      const r = await server.getJson(`/api/v1/builds?${query}`);
      return done(r.builds) && r.builds;
    },
    { what },
  );
}

before(async () => {
  assertBinary();
  const hash = await hashPassword(PASSWORD);
  dir = await makeTempDir("cascade-browser-changes-");
  server = await startMaster(await writeConfig(dir, config(hash)));
  base = server.url;
  const rev = (n) => String(n).repeat(40).slice(0, 40);
  ids.ann = await postChange({
    author: ANN,
    committer: "Gatekeeper <gate@example.org>",
    branch: "main",
    revision: rev(1),
    repository: APP,
    project: "app",
    category: "bugfix",
    comments: "Fix the crash of #12\n\nSecond paragraph.",
    files: ["src/main.rs", "README.md"],
    properties: { reviewed: true, ticket: 12 },
  });
  ids.bob = await postChange({
    author: BOB,
    branch: "feature/x",
    revision: rev(2),
    repository: APP,
    project: "app",
    comments: "Start feature x",
  });
  ids.docs = await postChange({
    author: ANN,
    branch: "release",
    revision: rev(3),
    repository: DOCS,
    project: "docs",
    comments: "Document the release",
  });
  ids.mallory = await postChange({
    author: MALLORY,
    branch: "feature/x",
    revision: "<i>rev</i>",
    repository: APP,
    project: "app",
    comments: EVIL_COMMENT,
    revlink: "javascript:window.__xss=3",
    files: ["<u>f</u>.c"],
    properties: { note: "<b>bold</b>" },
  });
  for (let i = 0; i < 4; i++)
    ids[`more${i}`] = await postChange({
      author: i % 2 ? BOB : ANN,
      branch: "feature/y",
      revision: rev(5 + i),
      repository: DOCS,
      project: "docs",
      comments: `More work, part ${i}`,
    });
  // The main change's builds: unit passes, lint fails.
  await buildsWhen(
    `change=${ids.ann}`,
    (b) => b.length === 2 && b.every((x) => x.complete),
    "the builds of the main change",
  );
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

const attrs = (page, sel, name) =>
  page.$$eval(sel, (els, n) => els.map((e) => e.getAttribute(n)), name);
const ROW = '[data-testid="change-row"]';
const LINE = '[data-testid="build-line"]';

/** Opens a list page and waits until it shows its rows or says it has none. */
async function load(page, path, rows, empty) {
  await page.goto(base + path);
  await page.locator(`${rows}, ${empty}`).first().waitFor();
}

async function logIn(page, user, next) {
  await logInAs(page, base, user, PASSWORD, next);
  await page
    .locator("header.topbar")
    .getByRole("button", { name: "Log out" })
    .waitFor();
}

test("/changes lists each change with its links, markup as text", async (t) => {
  const { page, errors } = await open(t, "/changes");
  await page.locator(ROW).first().waitFor();
  const shown = (await attrs(page, ROW, "data-change")).map(Number);
  assert.deepEqual(
    shown,
    shown.slice().sort((a, b) => b - a),
    "newest first",
  );
  for (const id of Object.values(ids)) assert.ok(shown.includes(id), `${id}`);

  const ann = page.locator(`${ROW}[data-change="${ids.ann}"]`);
  assert.equal(
    await ann
      .getByRole("link", { name: `Change ${ids.ann}` })
      .getAttribute("href"),
    `/changes/${ids.ann}`,
  );
  assert.equal(
    await ann.locator(".change-author").textContent(),
    ANN,
    "the author",
  );
  assert.equal(
    await ann.locator("a.rev").getAttribute("href"),
    `https://git.example.org/commit/${"1".repeat(40)}`,
  );
  assert.equal(await ann.locator(".line-branch").textContent(), "main");
  assert.equal(
    await ann.locator(".line-project a").getAttribute("href"),
    "https://example.org/app",
  );
  assert.match(
    await ann.locator(".line-time").textContent(),
    /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/,
  );
  assert.equal(
    await ann.locator('a[title="Ticket #12"]').getAttribute("href"),
    "https://bugs.example.org/12",
  );

  // Stored markup is text: nothing ran, no element was made from it, the javascript:
  // revlink of the hook was not used.
  const evil = page.locator(`${ROW}[data-change="${ids.mallory}"]`);
  assert.equal(await evil.locator(".change-author").textContent(), MALLORY);
  assert.match(
    await evil.textContent(),
    /evil <img src=x onerror="window.__xss=1"> see #5/,
  );
  assert.equal(
    await evil.locator("a.rev").getAttribute("href"),
    `https://git.example.org/commit/${encodeURIComponent("<i>rev</i>")}`,
  );
  assert.equal(
    await page.locator("main img, main script, main i, main u").count(),
    0,
  );
  assert.equal(await page.evaluate(() => window.__xss), undefined);

  // The change's link leads to its page inside the SPA.
  await page.evaluate(() => (window.__noReload = true));
  await ann.getByRole("link", { name: `Change ${ids.ann}` }).click();
  await page.waitForURL(`**/changes/${ids.ann}`);
  await page.getByTestId("change-props").waitFor();
  assert.equal(await page.evaluate(() => window.__noReload), true);
  assert.deepEqual(errors, []);
});

test("every /changes argument filters the list, and the form writes them", async (t) => {
  const { page } = await open(t);
  const none = '[data-testid="no-changes"]';
  const rowsOf = async (query) => {
    await load(page, `/changes?${query}`, ROW, none);
    return page.$$eval(ROW, (els) => els.map((e) => ({ ...e.dataset })));
  };
  const only = (rows, key, allowed) =>
    assert.ok(
      rows.length > 0 && rows.every((r) => allowed.includes(r[key])),
      `${key}: ${rows.map((r) => r[key]).join(" | ")}`,
    );

  only(await rowsOf(`author=${encodeURIComponent(ANN)}`), "author", [ANN]);
  only(
    await rowsOf(
      `author=${encodeURIComponent(ANN)}&author=${encodeURIComponent(BOB)}`,
    ),
    "author",
    [ANN, BOB],
  );
  only(await rowsOf("branch=feature/x"), "branch", ["feature/x"]);
  only(await rowsOf("branch=main&branch=release"), "branch", [
    "main",
    "release",
  ]);
  only(await rowsOf(`repository=${encodeURIComponent(DOCS)}`), "repository", [
    DOCS,
  ]);
  only(await rowsOf("project=docs"), "project", ["docs"]);
  const both = await rowsOf(`project=docs&author=${encodeURIComponent(BOB)}`);
  only(both, "project", ["docs"]);
  only(both, "author", [BOB]);
  assert.deepEqual(await rowsOf("branch=nosuchbranch"), []);
  assert.equal(
    await page.locator(none).textContent(),
    "No change matches these filters.",
  );

  // An author's name narrows the list to theirs.
  await load(page, "/changes", ROW, none);
  await page.locator(`${ROW}[data-change="${ids.bob}"] .change-author`).click();
  await page.waitForURL(
    (u) => u.pathname === "/changes" && u.searchParams.get("author") === BOB,
  );
  await page.waitForFunction(
    ({ sel, bob }) =>
      [...document.querySelectorAll(sel)].every(
        (e) => e.dataset.author === bob,
      ),
    { sel: ROW, bob: BOB },
  );

  // The filter form writes the page's own arguments: a shareable link.
  await load(page, "/changes", ROW, none);
  await page.locator('[data-testid="filters"] summary').click();
  await page.locator('input[name="branch"]').fill("feature/x, release");
  await page.locator('input[name="project"]').fill("docs");
  await page.getByRole("button", { name: "Apply" }).click();
  await page.waitForURL(
    /\/changes\?branch=feature%2Fx&branch=release&project=docs$/,
  );
  await page.waitForFunction((sel) => {
    const rows = [...document.querySelectorAll(sel)];
    return (
      rows.length > 0 &&
      rows.every(
        (e) => e.dataset.branch === "release" && e.dataset.project === "docs",
      )
    );
  }, ROW);
});

test("/changes pages back by cursor, the filters carried along", async (t) => {
  const { page } = await open(t);
  const all = (await server.getJson("/api/v1/changes?limit=1000")).changes.map(
    (c) => c.id,
  );
  assert.ok(all.length >= 8, `${all.length} changes`);
  await load(page, "/changes?limit=3", ROW, '[data-testid="no-changes"]');
  const seen = [];
  for (;;) {
    const page_ids = (await attrs(page, ROW, "data-change")).map(Number);
    assert.ok(page_ids.length <= 3, `${page_ids.length} rows on a page`);
    seen.push(...page_ids);
    const older = page.getByTestId("older");
    if ((await older.count()) === 0) break;
    const last = page_ids.at(-1);
    await older.click();
    await page.waitForURL((u) => u.searchParams.get("before") === String(last));
    assert.equal(new URL(page.url()).searchParams.get("limit"), "3");
    await page.waitForFunction(
      ({ sel, last }) => {
        const rows = [...document.querySelectorAll(sel)];
        return (
          rows.length > 0 && rows.every((e) => Number(e.dataset.change) < last)
        );
      },
      { sel: ROW, last },
    );
  }
  assert.deepEqual(seen, all, "every change once, newest first");
  await page.getByRole("link", { name: "« Newest changes" }).click();
  await page.waitForURL((u) => u.search === "?limit=3");
  await page.waitForFunction(
    ({ sel, first }) =>
      document.querySelector(sel)?.dataset.change === String(first),
    { sel: ROW, first: all[0] },
  );

  // Filtered, the pages keep the filter.
  const anns = (
    await server.getJson(
      `/api/v1/changes?limit=1000&author=${encodeURIComponent(ANN)}`,
    )
  ).changes.map((c) => c.id);
  await load(
    page,
    `/changes?author=${encodeURIComponent(ANN)}&limit=2`,
    ROW,
    '[data-testid="no-changes"]',
  );
  await page.getByTestId("older").click();
  await page.waitForURL((u) => u.searchParams.has("before"));
  await page.waitForFunction(
    ({ sel, want }) =>
      [...document.querySelectorAll(sel)]
        .map((e) => Number(e.dataset.change))
        .join() === want.join(),
    { sel: ROW, want: anns.slice(2, 4) },
  );
});

test("a change posted elsewhere appears on the first page without a reload", async (t) => {
  const { page, errors } = await open(
    t,
    `/changes?author=${encodeURIComponent(BOB)}`,
  );
  await page.locator(ROW).first().waitFor();
  await page.evaluate(() => (window.__noReload = true));
  const other = await postChange({
    author: "Zed <zed@example.org>",
    branch: "x",
    comments: "not Bob's",
  });
  const mine = await postChange({
    author: BOB,
    branch: "feature/live",
    repository: APP,
    project: "app",
    comments: "Live change for #77",
  });
  const top = page.locator(ROW).first();
  await page.waitForFunction(
    ({ sel, id }) => document.querySelector(sel)?.dataset.change === String(id),
    { sel: ROW, id: mine },
    { timeout: 15_000 },
  );
  assert.equal(
    await top.locator('a[title="Ticket #77"]').getAttribute("href"),
    "https://bugs.example.org/77",
  );
  assert.equal(
    await page.locator(`${ROW}[data-change="${other}"]`).count(),
    0,
    "a change the filter excludes stayed out",
  );
  assert.equal(await page.evaluate(() => window.__noReload), true);

  // An older page is history: it does not grow.
  const { page: older } = await open(t, `/changes?before=${ids.docs}`);
  await older.locator(ROW).first().waitFor();
  const before = await attrs(older, ROW, "data-change");
  const later = await postChange({ author: BOB, comments: "after" });
  await page.waitForFunction(
    ({ sel, id }) => document.querySelector(sel)?.dataset.change === String(id),
    { sel: ROW, id: later },
  );
  assert.deepEqual(await attrs(older, ROW, "data-change"), before);
  assert.deepEqual(errors, []);
});

test("/changes/{n}: the change's facts, comments, files, properties and builds", async (t) => {
  const { page, errors } = await open(t, `/changes/${ids.ann}`);
  const fact = (name) =>
    page.locator(`[data-testid="change-props"] [data-fact="${name}"] dd`);
  await fact("author").waitFor();
  assert.equal(await fact("author").textContent(), ANN);
  assert.equal(
    await fact("author").locator("a").getAttribute("href"),
    `/changes?author=${encodeURIComponent(ANN).replace(/%20/g, "+")}`,
  );
  assert.equal(
    await fact("committer").textContent(),
    "Gatekeeper <gate@example.org>",
  );
  assert.equal(await fact("revision").textContent(), "1".repeat(40));
  assert.equal(
    await fact("revision").locator("a").getAttribute("href"),
    `https://git.example.org/commit/${"1".repeat(40)}`,
  );
  assert.equal(
    await fact("repository").locator("a").getAttribute("href"),
    "https://git.example.org/app",
  );
  assert.equal(
    await fact("project").locator("a").getAttribute("href"),
    "https://example.org/app",
  );
  assert.equal(await fact("branch").textContent(), "main");
  assert.equal(await fact("category").textContent(), "bugfix");
  assert.match(
    await fact("when").textContent(),
    /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/,
  );
  const comments = page.getByTestId("change-comments");
  assert.equal(
    await comments.textContent(),
    "Fix the crash of #12\n\nSecond paragraph.",
  );
  assert.equal(
    await comments.locator("a").getAttribute("href"),
    "https://bugs.example.org/12",
  );
  assert.deepEqual(
    await page.$$eval('[data-testid="change-files"] li', (els) =>
      els.map((e) => e.textContent),
    ),
    ["README.md", "src/main.rs"],
  );
  assert.deepEqual(
    await page.$$eval('[data-testid="change-properties"] tr', (els) =>
      els.map((e) => e.textContent),
    ),
    ["reviewedtrue", "ticket12"],
  );

  // Both builds of the change, each with its result, linked to its page.
  const lines = await page.$$eval(LINE, (els) =>
    els.map((e) => [e.dataset.builder, e.dataset.results]),
  );
  assert.deepEqual(lines.sort(), [
    ["lint", "failure"],
    ["unit", "success"],
  ]);
  const lint = page.locator(`${LINE}[data-builder="lint"]`);
  const number = await lint.getAttribute("data-build");
  assert.equal(
    await lint.locator('[data-testid="build-result"]').getAttribute("href"),
    `/builders/lint/builds/${number}`,
  );
  assert.equal(
    await lint.locator('[data-testid="build-result"]').textContent(),
    "failed lint",
  );
  // Anonymous callers are not offered the stop control.
  assert.equal(await page.getByTestId("stop-change").count(), 0);

  // Markup stored in a change is text here too.
  await page.goto(`${base}/changes/${ids.mallory}`);
  await fact("author").waitFor();
  assert.equal(await fact("author").textContent(), MALLORY);
  assert.equal(
    await page.getByTestId("change-comments").textContent(),
    EVIL_COMMENT,
  );
  assert.equal(
    await page.locator('[data-testid="change-files"] li').textContent(),
    "<u>f</u>.c",
  );
  assert.equal(
    await page.locator('[data-testid="change-properties"] td').textContent(),
    "<b>bold</b>",
  );
  assert.equal(
    await page.locator("main img, main script, main b, main u, main i").count(),
    0,
  );
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  await page.getByTestId("no-builds").waitFor();

  await page.goto(`${base}/changes/999999`);
  await page.getByRole("heading", { name: "No such change" }).waitFor();
  assert.deepEqual(errors, []);
});

test("a change's build appears on its page when it starts and shows its result live", async (t) => {
  // The gated builder's only worker is paused: the change's build waits for it.
  const paused = await server.postJson("/api/v1/workers/gate/pause", {
    reason: "test",
  });
  assert.equal(paused.status, 200, JSON.stringify(paused.body));
  const id = await postChange({
    author: ANN,
    branch: "gated",
    comments: "Wait for the gate",
  });
  const { page, errors } = await open(t, `/changes/${id}`);
  await page.getByTestId("no-builds").waitFor();
  await page.evaluate(() => (window.__noReload = true));
  const unpaused = await server.postJson("/api/v1/workers/gate/unpause", {
    reason: "test",
  });
  assert.equal(unpaused.status, 200, JSON.stringify(unpaused.body));
  const line = page.locator(`${LINE}[data-builder="gated"]`);
  await line.waitFor({ timeout: 30_000 });
  await page.waitForFunction(
    (sel) => document.querySelector(sel)?.dataset.results === "success",
    `${LINE}[data-builder="gated"]`,
    { timeout: 30_000 },
  );
  assert.equal(await page.evaluate(() => window.__noReload), true);
  assert.deepEqual(errors, []);
});

test("stopping a change's builds: only for the allowed role, by keyboard, with the answer", async (t) => {
  const id = await postChange({
    author: BOB,
    branch: "slow",
    comments: "Takes a while",
  });
  const [slow] = await buildsWhen(
    `change=${id}`,
    (b) => b.length === 1 && !b[0].complete,
    "the slow build to start",
  );

  // A logged-in user outside the role sees no control.
  const viewer = await open(t);
  await logIn(viewer.page, "viewer", `/changes/${id}`);
  await viewer.page.locator(`${LINE}[data-builder="slow"]`).waitFor();
  assert.equal(await viewer.page.getByTestId("stop-change").count(), 0);

  // The build's compact box, open elsewhere, follows it.
  const box = await open(t, `/buildstatus?builder=slow&number=${slow.number}`);
  const status = box.page.getByTestId("buildstatus");
  await status.waitFor();
  assert.equal(await status.getAttribute("data-results"), "running");
  await box.page.locator('[data-step="2"][data-results="running"]').waitFor();
  await box.page.screenshot({ path: join(SHOTS, "buildstatus-running.png") });

  const { page, errors } = await open(t);
  await logIn(page, "admin", `/changes/${id}`);
  const control = page.getByTestId("stop-change");
  await control.waitFor();
  await page
    .locator(`${LINE}[data-builder="slow"][data-results="running"]`)
    .waitFor();
  await page.evaluate(() => (window.__noReload = true));

  // From the keyboard: Tab to the button, Enter opens the form, the reason has the focus.
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press("Tab");
    if (
      await page.evaluate(
        () =>
          document.activeElement?.textContent === "Stop builds of this change",
      )
    )
      break;
  }
  await page.keyboard.press("Enter");
  const reason = control.getByLabel("Why stop them?");
  await reason.waitFor();
  // The form puts the focus on the reason once it is drawn.
  await page.waitForFunction(
    () => document.activeElement?.name === "reason",
    null,
    {
      timeout: 5_000,
    },
  );
  // A reason is required: an empty form is not sent.
  await page.keyboard.press("Enter");
  assert.equal(await control.getByRole("status").count(), 0);
  await page.keyboard.type("superseded by a newer change");
  await page.keyboard.press("Enter");
  const answer = control.getByRole("status");
  await answer.waitFor({ timeout: 15_000 });
  assert.match(await answer.textContent(), /stopping 1 build/);
  await page.screenshot({
    path: join(SHOTS, "change-stopped-light.png"),
    fullPage: true,
  });
  await page.waitForFunction(
    (sel) => document.querySelector(sel)?.dataset.results === "cancelled",
    `${LINE}[data-builder="slow"]`,
    { timeout: 30_000 },
  );
  await box.page.waitForFunction(
    () =>
      document.querySelector('[data-testid="buildstatus"]')?.dataset.results ===
      "cancelled",
    undefined,
    { timeout: 30_000 },
  );
  assert.equal(await page.evaluate(() => window.__noReload), true);
  const [stopped] = (await server.getJson(`/api/v1/builds?change=${id}`))
    .builds;
  assert.equal(stopped.results, "cancelled");
  assert.deepEqual(errors, []);
});

test("/one_line_per_build: a line per build, each argument filtering it", async (t) => {
  await force("unit", { branch: "release", reason: "release check" });
  await force("unit", {
    reason: `<b onmouseover="window.__xss=4">why</b>`,
    properties: { flavour: "blue" },
  });
  await buildsWhen(
    "builder=unit&limit=2",
    (b) => b.length === 2 && b.every((x) => x.complete),
    "the forced builds",
  );
  const { page, errors } = await open(t);
  const none = '[data-testid="no-builds"]';
  const linesOf = async (query) => {
    await load(page, `/one_line_per_build?${query}`, LINE, none);
    return page.$$eval(LINE, (els) => els.map((e) => ({ ...e.dataset })));
  };

  // num_builds = 4 in the config: the default, shown in the form.
  const newest = await linesOf("");
  assert.equal(newest.length, 4);
  const api = (await server.getJson("/api/v1/builds?limit=4")).builds;
  assert.deepEqual(
    newest.map((l) => `${l.builder}#${l.build}`),
    api.map((b) => `${b.builder}#${b.number}`),
  );
  assert.equal(
    await page.locator('input[name="numbuilds"]').getAttribute("placeholder"),
    "4",
  );
  const first = page.locator(LINE).first();
  const b = api[0];
  assert.equal(
    await first.locator(".line-builder a").getAttribute("href"),
    `/builders/${b.builder}`,
  );
  assert.equal(
    await first.locator(".line-number a").getAttribute("href"),
    `/builders/${b.builder}/builds/${b.number}`,
  );
  assert.equal(
    await first.locator('[data-testid="build-result"]').textContent(),
    b.state_text,
  );
  assert.match(
    await first.locator(".line-time").first().textContent(),
    /^\d{4}-/,
  );
  assert.match(
    await first.locator(".line-time").nth(1).textContent(),
    /^\d+s$/,
  );
  // The forced reason with markup is text (after the force scheduler's own words).
  assert.match(
    await page
      .locator(LINE, { hasText: "why" })
      .locator(".line-reason")
      .textContent(),
    /: <b onmouseover="window\.__xss=4">why<\/b>$/,
  );
  assert.equal(await page.locator("main b").count(), 0);

  assert.equal((await linesOf("numbuilds=2")).length, 2);
  const lint = await linesOf("builder=lint");
  assert.ok(
    lint.length > 0 &&
      lint.every((l) => l.builder === "lint" && l.results === "failure"),
  );
  const two = await linesOf("builder=lint&builder=slow&numbuilds=20");
  assert.deepEqual([...new Set(two.map((l) => l.builder))].sort(), [
    "lint",
    "slow",
  ]);
  const release = await linesOf("branch=release");
  assert.ok(
    release.length === 1 && release[0].branch === "release",
    JSON.stringify(release),
  );
  const blue = await linesOf("property.flavour=blue");
  assert.equal(blue.length, 1);
  assert.equal(blue[0].builder, "unit");
  assert.equal(await linesOf("property.flavour=red").then((l) => l.length), 0);
  await page.getByTestId("no-builds").waitFor();

  // A property filter shows, and its × takes it off; the form keeps it.
  await load(page, "/one_line_per_build?property.flavour=blue", LINE, none);
  await page.getByTestId("property-filters").waitFor();
  await page.locator('[data-testid="filters"] summary').click();
  await page.locator('select[name="builder"]').selectOption(["unit"]);
  await page.getByRole("button", { name: "Apply" }).click();
  await page.waitForURL(/\?property\.flavour=blue&builder=unit$/);
  await page
    .getByRole("link", { name: "Remove the filter flavour = blue" })
    .click();
  await page.waitForURL(/\/one_line_per_build\?builder=unit$/);
  await page.getByTestId("property-filters").waitFor({ state: "detached" });
  const units = (await server.getJson("/api/v1/builds?builder=unit&limit=4"))
    .builds;
  await page.waitForFunction(
    ({ sel, n }) => document.querySelectorAll(sel).length === n,
    { sel: LINE, n: units.length },
  );

  await load(
    page,
    "/one_line_per_build?builder=nosuch",
    LINE,
    '[role="alert"]',
  );
  assert.match(
    await page.getByRole("alert").textContent(),
    /no builder named `nosuch`/,
  );
  assert.deepEqual(errors, []);
});

test("a build started elsewhere joins the one-line list and finishes there live", async (t) => {
  const { page, errors } = await open(t, "/one_line_per_build?builder=unit");
  await page.locator(LINE).first().waitFor();
  const known = await attrs(page, LINE, "data-build");
  await page.evaluate(() => (window.__noReload = true));
  await force("unit");
  const number = await (
    await page.waitForFunction(
      ({ sel, known }) => {
        const n = document.querySelector(sel)?.dataset.build;
        return n && !known.includes(n) && n;
      },
      { sel: LINE, known },
      { timeout: 30_000 },
    )
  ).jsonValue();
  await page.waitForFunction(
    (sel) => document.querySelector(sel)?.dataset.results === "success",
    `${LINE}[data-build="${number}"]`,
    { timeout: 30_000 },
  );
  assert.equal(await page.locator(LINE).count(), 4, "still num_builds lines");
  assert.equal(await page.evaluate(() => window.__noReload), true);
  assert.deepEqual(errors, []);
});

test("/buildstatus: one build's box and its steps, without the page around it", async (t) => {
  const [lint] = (await server.getJson("/api/v1/builds?builder=lint&limit=1"))
    .builds;
  const [unit] = (
    await server.getJson("/api/v1/builds?builder=unit&results=success&limit=1")
  ).builds;
  const { page, errors } = await open(
    t,
    `/buildstatus?builder=lint&number=${lint.number}`,
  );
  const box = page.getByTestId("buildstatus");
  await box.waitFor();
  assert.equal(await page.locator("header.topbar").count(), 0, "no top bar");
  assert.equal(await box.getAttribute("data-results"), "failure");
  assert.equal(
    await box.getByTestId("build-state-text").textContent(),
    "failed lint",
  );
  assert.equal(
    await box.locator("a.build-head").getAttribute("href"),
    `/builders/lint/builds/${lint.number}`,
  );
  const step = box.locator('[data-step="1"]');
  assert.equal(await step.getAttribute("data-results"), "failure");
  assert.equal(await step.locator(".step-name").textContent(), "lint");
  assert.ok((await step.locator(".step-state").textContent()).length > 0);
  assert.match(
    await step.locator("a[data-log]").first().getAttribute("href"),
    new RegExp(`^/builders/lint/builds/${lint.number}/steps/1/logs/`),
  );
  // The step box carries 0.8.9's colours.
  assert.equal(
    await step.evaluate((e) => getComputedStyle(e).backgroundColor),
    "rgb(238, 136, 136)",
  );

  await page.goto(`${base}/buildstatus?builder=unit&number=${unit.number}`);
  await box.waitFor();
  assert.deepEqual(await attrs(page, "[data-step]", "data-results"), [
    "success",
    "success",
  ]);
  assert.deepEqual(
    await page.$$eval(".step-name", (els) => els.map((e) => e.textContent)),
    ["compile", "test"],
  );

  // No page may frame it, not even the master's own (clickjacking): the browser refuses
  // and says why.
  await page.goto(`${base}/changes`);
  await page.evaluate((src) => {
    const f = document.createElement("iframe");
    f.src = src;
    f.id = "status-frame";
    document.body.append(f);
  }, `/buildstatus?builder=unit&number=${unit.number}`);
  const refused = await waitFor(
    () => {
      const seen = takeCspViolations(/frame-ancestors 'none'/);
      return seen.length > 0 && seen;
    },
    { what: "the browser refusing the frame for frame-ancestors 'none'" },
  );
  assert.equal(refused.length, 1, refused.join("\n"));
  assert.equal(
    await page.frameLocator("#status-frame").getByTestId("buildstatus").count(),
    0,
  );

  await page.goto(`${base}/buildstatus?builder=unit&number=99999`);
  await page.getByText(`unit has no build #99999.`).waitFor();
  await page.goto(`${base}/buildstatus`);
  await page.getByRole("alert").waitFor();
  assert.deepEqual(errors, []);
});

test("both themes, a phone screen, and links from the other pages", async (t) => {
  const [lint] = (await server.getJson("/api/v1/builds?builder=lint&limit=1"))
    .builds;
  const pages = [
    ["changes", "/changes"],
    ["change", `/changes/${ids.ann}`],
    ["one_line_per_build", "/one_line_per_build"],
    ["buildstatus", `/buildstatus?builder=lint&number=${lint.number}`],
  ];
  const ready = async (page) => {
    await page.waitForLoadState("networkidle");
    await page
      .locator(
        `${ROW}, ${LINE}, [data-testid="buildstatus"], [data-testid="change-props"]`,
      )
      .first()
      .waitFor();
  };
  for (const colorScheme of ["light", "dark"]) {
    const { page, errors } = await open(t, null, {
      colorScheme,
      viewport: { width: 1400, height: 900 },
    });
    for (const [name, path] of pages) {
      await page.goto(base + path);
      await ready(page);
      await page.screenshot({
        path: join(SHOTS, `${name}-${colorScheme}.png`),
        fullPage: true,
      });
      const bg = await page.evaluate(
        () => getComputedStyle(document.documentElement).backgroundColor,
      );
      const [r, g, b] = bg.match(/\d+/g).map(Number);
      assert.ok(
        colorScheme === "dark" ? r + g + b < 150 : r + g + b > 600,
        `${name} ${colorScheme}: ${bg}`,
      );
    }
    assert.deepEqual(errors, []);
  }

  const phone = await open(t, null, {
    viewport: { width: 390, height: 844 },
    isMobile: true,
  });
  for (const [name, path] of pages) {
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

  // The top bar leads to both lists; the console's changes lead to their pages.
  const { page } = await open(t, "/");
  const nav = page.locator("header.topbar nav");
  await nav.getByRole("link", { name: "Changes", exact: true }).click();
  await page.waitForURL("**/changes");
  await page.locator(ROW).first().waitFor();
  await nav.getByRole("link", { name: "Recent builds", exact: true }).click();
  await page.waitForURL("**/one_line_per_build");
  await page.locator(LINE).first().waitFor();
  await page.goto(`${base}/console`);
  const link = page.locator(`[data-change="${ids.ann}"] a.change-link`);
  await link.click();
  await page.waitForURL(`**/changes/${ids.ann}`);
  await page.getByTestId("change-props").waitFor();
});
