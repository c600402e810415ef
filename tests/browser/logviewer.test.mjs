// Browser test: the log viewer against the real `cascade` binary, with Debian's chromium.
//
// One builder's step prints terminal colours, sections in all three folding syntaxes
// (GitHub Actions, GitLab, Buildkite) and 100,000 numbered lines; another's prints while the
// test watches. Checks the colours, folding (and that a folded section leaves the scroll
// height), a bounded DOM at the end of the long log, line anchors, search, following a
// running log without a reload, the raw download and 0.8.9's plain-text URL. Screenshots in
// both themes and on a phone go to CASCADE_SCREENSHOTS (default: a temporary folder); the
// run prints where, with the figures it measured.
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
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
import { launchBrowser } from "../lib/browser.mjs";

const LINES = 100_000;

// printf's \033 is ESC; GitLab's markers are wrapped in ESC[0K and a carriage return.
const BIG_LOG = String.raw`printf '\033[31mred error\033[0m plain \033[1;92mbold green\033[0m \033[38;5;208morange\033[0m \033[38;2;10;20;200mtruecolour\033[0m \033[4munderlined\033[0m\n'
echo '::group::GitHub group'
echo 'inside the github group'
echo '::endgroup::'
printf '\033[0Ksection_start:1700000000:gitlab_sec[collapsed=true]\r\033[0KGitLab section\n'
echo 'inside the gitlab section'
printf '\033[0Ksection_end:1700000001:gitlab_sec\r\033[0K\n'
echo '--- Buildkite folded'
echo 'inside buildkite folded'
echo '+++ Buildkite open'
echo 'inside buildkite open'
echo '~~~ Buildkite tilde'
echo 'inside buildkite tilde'
echo '+++ Numbers'
seq 1 ${LINES / 2} | sed 's/^/number /'
echo 'Needle in a haystack'
seq ${LINES / 2 + 1} ${LINES} | sed 's/^/number /'
echo 'the very end'
`;

const config = (dir) => `title = "Log viewer test"
[db]
url = "sqlite://cascade.sqlite"
[web]
listen = ["127.0.0.1:0"]
[authz]
force_build = true
[[workers]]
name = "local"
embedded = true
max_builds = 2
[[builders]]
name = "big"
workers = ["local"]
steps = [ { name = "output", command = ["sh", "${join(dir, "big.sh")}"] } ]
[[builders]]
name = "live"
workers = ["local"]
steps = [ { name = "watch", command = ["sh", "-c", "echo waiting for go; while [ ! -f '${join(dir, "go")}' ]; do sleep 0.1; done; for i in $(seq 1 20); do echo released $i; done"] } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["big", "live"]
`;

const SHOTS =
  process.env.CASCADE_SCREENSHOTS ?? join(tmpdir(), "cascade-screenshots");
const LOG = "/builders/big/builds/1/steps/output/logs/stdio";

let dir;
let server;
let base;
let browser;
/** Line numbers (from 0) of the lines the checks look for. */
const at = {};

async function force(builder) {
  const r = await server.postJson(`/api/v1/builders/${builder}/force`, {
    reason: "log viewer test",
  });
  assert.equal(r.status, 202, JSON.stringify(r.body));
}

before(async () => {
  assertBinary();
  dir = await makeTempDir("cascade-browser-log-");
  await writeFile(join(dir, "big.sh"), BIG_LOG);
  server = await startMaster(await writeConfig(dir, config(dir)));
  base = server.url;
  await force("big");
  await waitFor(
    async () =>
      (await server.getJson("/api/v1/builders/big/builds/1")).results ===
      "success",
    { timeoutMs: 120_000, intervalMs: 250, what: "the big build to succeed" },
  );
  const head = await server.getJson(`/api/v1${LOG}/lines?offset=0&limit=100`);
  const find = (text) => head.lines.find((l) => l.text.includes(text)).number;
  at.red = find("red error");
  at.github = find("::group::GitHub group");
  at.numbers = find("+++ Numbers");
  const needle = await server.getJson(`/api/v1${LOG}/search?q=needle%20in%20a`);
  at.needle = needle.lines[0];
  browser = await launchBrowser();
  await mkdir(SHOTS, { recursive: true });
  console.log(`# screenshots in ${SHOTS}`);
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await server?.stop();
  await removeDir(dir);
});

/** A page that records uncaught errors. */
async function open(t, path, options = {}) {
  const context = await browser.newContext({
    acceptDownloads: true,
    ...options,
  });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  t.after(() => context.close());
  if (path) await page.goto(base + path);
  return { page, errors };
}

const row = (page, n) =>
  page.locator(`[data-testid="log-lines"] .line[data-line="${n + 1}"]`);
const lineCount = (page) =>
  page.locator('[data-testid="log-lines"] .line').count();
const innerHeight = (page) =>
  page
    .locator('[data-testid="log-lines"] .log-inner')
    .evaluate((e) => e.getBoundingClientRect().height);
const colorOf = (locator) =>
  locator.evaluate((e) => {
    const s = getComputedStyle(e);
    return { color: s.color, weight: s.fontWeight, deco: s.textDecorationLine };
  });

test("a 100,000-line log opens at its end with only the rows on screen in the DOM", async (t) => {
  const { page, errors } = await open(t);
  const started = Date.now();
  await page.goto(base + LOG);
  await page
    .getByTestId("log-lines")
    .getByText("the very end", { exact: true })
    .waitFor({ timeout: 30_000 });
  const openMs = Date.now() - started;
  await page
    .getByTestId("log-total")
    .filter({ hasText: /100,0\d\d lines/ })
    .waitFor();
  const atEnd = await lineCount(page);
  console.log(
    `# opened the ${LINES}-line log at its end in ${openMs} ms with ${atEnd} line elements`,
  );
  assert.ok(atEnd > 20 && atEnd <= 120, `${atEnd} line elements at the end`);
  assert.ok(
    (await innerHeight(page)) > LINES * 18,
    "the scroll height holds every line",
  );

  // Jump to the middle: the rows there are fetched, and the DOM stays as small.
  await page.getByTestId("log-lines").evaluate((e) => {
    e.scrollTop = e.scrollHeight / 2;
  });
  await page
    .getByTestId("log-lines")
    .getByText(/^number (4[5-9]|5[0-4])\d{3}$/)
    .first()
    .waitFor();
  const middle = await lineCount(page);
  console.log(`# ${middle} line elements in the middle`);
  assert.ok(middle <= 120, `${middle} line elements in the middle`);
  assert.deepEqual(errors, []);
});

test("colours render, and an anchor URL scrolls to its line and highlights it", async (t) => {
  const { page, errors } = await open(t, `${LOG}#L${at.red + 1}`);
  const line = row(page, at.red);
  await line.locator(".tx").getByText("red error").waitFor();
  assert.match(await line.getAttribute("class"), /\bselected\b/);
  const box = await page.getByTestId("log-lines").boundingBox();
  const rowBox = await line.boundingBox();
  assert.ok(
    rowBox.y >= box.y && rowBox.y + rowBox.height <= box.y + box.height,
    "the anchored line is on screen",
  );

  const span = (text) => line.locator("span", { hasText: text }).last();
  assert.deepEqual(await colorOf(span("red error")), {
    color: "rgb(207, 34, 46)",
    weight: "400",
    deco: "none",
  });
  assert.deepEqual(await colorOf(span("bold green")), {
    color: "rgb(26, 127, 55)",
    weight: "700",
    deco: "none",
  });
  assert.equal((await colorOf(span("orange"))).color, "rgb(255, 135, 0)");
  assert.equal((await colorOf(span("truecolour"))).color, "rgb(10, 20, 200)");
  assert.equal((await colorOf(span("underlined"))).deco, "underline");
  const text = await line.locator(".tx").textContent();
  assert.equal(text, "red error plain bold green orange truecolour underlined");

  // Clicking a line number puts its anchor in the URL.
  await row(page, at.red + 1)
    .locator("a.no")
    .click();
  assert.match(page.url(), new RegExp(`#L${at.red + 2}$`));
  assert.match(
    await row(page, at.red + 1).getAttribute("class"),
    /\bselected\b/,
  );

  // An anchor inside a section folded by default unfolds it.
  await page.goto(`${base}${LOG}#L${at.github + 2}`);
  const inside = row(page, at.github + 1);
  await inside.getByText("inside the github group").waitFor();
  assert.match(await inside.getAttribute("class"), /\bselected\b/);
  assert.deepEqual(errors, []);
});

test("sections of all three syntaxes fold and unfold, by mouse and keyboard", async (t) => {
  const { page, errors } = await open(t, `${LOG}#L1`);
  const log = page.getByTestId("log-lines");
  const toggle = (title) =>
    log.getByRole("button", {
      name: new RegExp(`^(Fold|Unfold) section ${title}$`),
    });
  for (const title of [
    "GitHub group",
    "GitLab section",
    "Buildkite folded",
    "Buildkite open",
    "Buildkite tilde",
    "Numbers",
  ])
    await toggle(title).waitFor();
  // Folded by default: GitHub groups, GitLab's collapsed=true, Buildkite's --- and ~~~.
  const expanded = async (title) =>
    (await toggle(title).getAttribute("aria-expanded")) === "true";
  assert.deepEqual(
    await Promise.all(
      [
        "GitHub group",
        "GitLab section",
        "Buildkite folded",
        "Buildkite open",
        "Buildkite tilde",
        "Numbers",
      ].map(expanded),
    ),
    [false, false, false, true, false, true],
  );
  assert.equal(await log.getByText("inside the github group").count(), 0);
  assert.equal(await log.getByText("inside buildkite open").count(), 1);

  await toggle("GitHub group").click();
  await log.getByText("inside the github group").waitFor();
  await toggle("GitLab section").click();
  await log.getByText("inside the gitlab section").waitFor();
  // The keyboard: a focused toggle answers Enter and Space.
  await toggle("Buildkite folded").focus();
  await page.keyboard.press("Enter");
  await log.getByText("inside buildkite folded").waitFor();
  await toggle("Buildkite folded").focus();
  await page.keyboard.press(" ");
  await log.getByText("inside buildkite folded").waitFor({ state: "detached" });

  // Folding the long section takes its lines out of the scroll height.
  const before = await innerHeight(page);
  await toggle("Numbers").click();
  await waitFor(async () => (await innerHeight(page)) < 60 * 18, {
    what: "the scroll height to shrink",
  });
  console.log(
    `# folding ${LINES} lines took the scroll height from ${before} px to ${await innerHeight(page)} px`,
  );
  await log.getByText("the very end").waitFor({ state: "detached" });
  await toggle("Numbers").click();
  await waitFor(async () => (await innerHeight(page)) > LINES * 18, {
    what: "the scroll height to grow back",
  });

  await page.getByRole("button", { name: "Unfold all", exact: true }).click();
  await log.getByText("inside buildkite tilde").waitFor();
  await page.getByRole("button", { name: "Fold all", exact: true }).click();
  await log.getByText("inside buildkite open").waitFor({ state: "detached" });
  assert.deepEqual(errors, []);
});

test("search finds lines across the whole log and steps through the matches", async (t) => {
  const { page, errors } = await open(t, LOG);
  const log = page.getByTestId("log-lines");
  await log.getByText("the very end").waitFor();
  const search = page.getByTestId("log-search");
  const count = page.getByTestId("log-search-count");
  await search.fill("NEEDLE IN A");
  await count.filter({ hasText: "1 of 1" }).waitFor();
  const hit = row(page, at.needle);
  await hit.waitFor();
  assert.match(await hit.getAttribute("class"), /\bcurrent\b/);
  assert.equal(await hit.locator("mark").textContent(), "Needle in a");

  await search.fill("number 9999");
  // number 9999 and number 99990 to 99999.
  await count.filter({ hasText: "1 of 11" }).waitFor();
  await search.press("Enter");
  await count.filter({ hasText: "2 of 11" }).waitFor();
  await log.locator(".line.current", { hasText: "number 99990" }).waitFor();
  await search.press("Shift+Enter");
  await search.press("Shift+Enter");
  await count.filter({ hasText: "11 of 11" }).waitFor();
  await log.locator(".line.current", { hasText: "number 99999" }).waitFor();
  // A match inside a folded section unfolds it.
  await search.fill("inside the gitlab");
  await count.filter({ hasText: "1 of 1" }).waitFor();
  await log
    .locator(".line.current", { hasText: "inside the gitlab section" })
    .waitFor();
  assert.equal(
    await log
      .getByRole("button", { name: "Fold section GitLab section" })
      .getAttribute("aria-expanded"),
    "true",
  );
  await search.fill("no such text anywhere");
  await count.filter({ hasText: "No matches" }).waitFor();
  assert.deepEqual(errors, []);
});

test("a running log shows new lines as they come, without a reload", async (t) => {
  await force("live");
  const { page, errors } = await open(
    t,
    "/builders/live/builds/1/steps/1/logs/stdio",
  );
  const log = page.getByTestId("log-lines");
  await log
    .getByText("waiting for go", { exact: true })
    .waitFor({ timeout: 30_000 });
  await page.getByTestId("log-total").filter({ hasText: "running" }).waitFor();
  await page.evaluate(() => {
    window.__noReload = true;
  });
  await writeFile(join(dir, "go"), "");
  await log
    .getByText("released 20", { exact: true })
    .waitFor({ timeout: 30_000 });
  await page
    .getByTestId("log-total")
    .filter({ hasNotText: "running" })
    .waitFor({ timeout: 30_000 });
  assert.equal(
    await page.evaluate(() => window.__noReload),
    true,
    "the page was reloaded",
  );
  assert.deepEqual(errors, []);
});

test("the raw link downloads the log and the text URL serves it as plain text", async (t) => {
  const { page } = await open(t, LOG);
  const raw = page.getByRole("link", { name: "raw", exact: true });
  await raw.waitFor();
  assert.equal(await raw.getAttribute("download"), "big-1-output-stdio.txt");
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    raw.click(),
  ]);
  const body = await readFile(await download.path(), "utf8");
  const lines = body.split("\n");
  assert.equal(lines.at(-2), "the very end");
  assert.ok(
    lines.length > LINES && !body.includes("argv"),
    "the whole log, header lines left out",
  );

  const text = await page.request.get(`${base}${LOG}/text`);
  assert.equal(text.status(), 200);
  assert.equal(text.headers()["content-type"], "text/plain; charset=utf-8");
  assert.equal(await text.text(), body);
  const missing = await page.request.get(
    `${base}/builders/big/builds/1/steps/nope/logs/stdio/text`,
  );
  assert.equal(missing.status(), 404);
  assert.equal(
    await missing.text(),
    "build 1 of builder `big` has no step `nope`\n",
  );
});

test("screenshots in both themes and on a phone", async (t) => {
  for (const [name, options] of [
    ["light", { colorScheme: "light", viewport: { width: 1280, height: 800 } }],
    ["dark", { colorScheme: "dark", viewport: { width: 1280, height: 800 } }],
    [
      "phone",
      {
        colorScheme: "light",
        viewport: { width: 390, height: 844 },
        isMobile: true,
        hasTouch: true,
      },
    ],
  ]) {
    const { page, errors } = await open(t, `${LOG}#L${at.red + 1}`, options);
    const log = page.getByTestId("log-lines");
    await log
      .getByRole("button", { name: "Unfold section GitHub group" })
      .click();
    await log.getByText("inside the github group").waitFor();
    await page.getByTestId("log-search").fill("inside");
    await page
      .getByTestId("log-search-count")
      .filter({ hasText: /of \d/ })
      .waitFor();
    await row(page, at.red)
      .locator(".tx")
      .getByText("red error")
      .waitFor({ state: "attached" });
    await page.screenshot({ path: join(SHOTS, `log-${name}.png`) });
    // Horizontal overflow belongs inside the log box, not on the page.
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - innerWidth,
    );
    assert.ok(
      overflow <= 0,
      `the ${name} page scrolls sideways by ${overflow} px`,
    );
    assert.deepEqual(errors, []);
  }
});
