// System test: two `cascade start` processes on one PostgreSQL database, each with a remote
// worker. A build run by master A is seen live on master B's event stream; both list each
// other at /api/v1/masters; A killed with SIGKILL mid-build is declared lost by B, its build
// ends `retry` and runs again on B's worker. Needs the local PostgreSQL server (PG_ADMIN_URL,
// default postgres://postgres@127.0.0.1:5432/test); a fresh database is made and dropped.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
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
import { openEvents } from "../lib/sse.mjs";
import { startWorker } from "../lib/worker.mjs";

const ADMIN =
  process.env.PG_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const DB = `cascade_mm_${process.pid}_${Date.now() % 100000}`;
const WAIT_MS = 30_000;

function psql(sql) {
  return execFileSync("psql", [ADMIN, "-Atc", sql], {
    encoding: "utf8",
    timeout: 30_000,
    stdio: ["ignore", "pipe", "pipe"],
  });
}

let available = true;
try {
  psql("select 1");
} catch {
  available = false;
}

let dir;
let a;
let b;
let streamB;
let browser;
const workers = [];

const config = (title) => `title = "${title}"
base_url = "http://127.0.0.1:8010/"
[db]
url = "${ADMIN.replace(/\/[^/?]*(\?|$)/, `/${DB}$1`)}"
heartbeat = 1
lost_after = 3
[web]
listen = ["127.0.0.1:0"]
[authz]
force_build = true
pause_worker = true
[[workers]]
name = "wa"
password = { file = "wa.pass" }
[[workers]]
name = "wb"
password = { file = "wb.pass" }
[[builders]]
name = "on-a"
workers = ["wa"]
steps = [ { name = "hello", command = "echo hello from A" } ]
[[builders]]
name = "slow"
workers = ["wa", "wb"]
steps = [ { name = "wait", command = "sleep 6; echo done" } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["on-a", "slow"]
`;

async function post(master, path, body = {}) {
  const res = await master.postJson(path, body);
  assert.ok(res.status < 300, `POST ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

before(async () => {
  if (!available) return;
  assertBinary();
  psql(`create database ${DB}`);
  dir = await makeTempDir("cascade-multimaster-");
  for (const name of ["a", "b"]) {
    const home = join(dir, name);
    mkdirSync(home);
    await writeConfig(home, config(`Master ${name.toUpperCase()}`));
    writeFileSync(join(home, "wa.pass"), "wa-password\n");
    writeFileSync(join(home, "wb.pass"), "wb-password\n");
  }
  a = await startMaster(join(dir, "a", "cascade.toml"));
  b = await startMaster(join(dir, "b", "cascade.toml"));
  for (const [name, master] of [
    ["wa", a],
    ["wb", b],
  ]) {
    workers.push(
      await startWorker({
        url: master.url,
        name,
        passwordFile: join(dir, name === "wa" ? "a" : "b", `${name}.pass`),
        basedir: join(dir, `${name}-base`),
        cwd: dir,
      }),
    );
  }
  streamB = await openEvents(`${b.url}/api/v1/events`);
});

after(async () => {
  streamB?.close();
  await browser?.close();
  for (const w of workers) await w.kill?.();
  await a?.stop();
  await b?.stop();
  if (dir) await removeDir(dir);
  if (available) {
    try {
      psql(`drop database if exists ${DB} with (force)`);
    } catch {
      // left for the server's next cleanup
    }
  }
});

test("a build run by one master is seen live on the other's event stream and waterfall", { skip: !available && "PostgreSQL does not answer" }, async (t) => {
    // B's waterfall is open before the build: it must appear there without a reload.
    browser = await launchBrowser();
    const { page, errors } = await openPage(browser, b.url, t, "/waterfall");
    await page
      .locator('[data-testid="builder-header"][data-builder="on-a"]')
      .waitFor({ timeout: WAIT_MS });
    // Forced through A; only A's worker can run it.
    await post(a, "/api/v1/builders/on-a/force", { reason: "multimaster test" });
  const started = await streamB.waitFor(
    (e) => e.event === "build.started" && e.json?.build?.builder === "on-a",
    { timeoutMs: WAIT_MS, what: "build.started of on-a on B's stream" },
  );
  assert.equal(started.json.build.worker, "wa");
  const finished = await streamB.waitFor(
    (e) => e.event === "build.finished" && e.json?.build?.builder === "on-a",
    { timeoutMs: WAIT_MS, what: "build.finished of on-a on B's stream" },
  );
  assert.equal(finished.json.build.results, "success");
    await page
      .locator(
        '[data-testid="build-box"][data-builder="on-a"][data-build="1"][data-results="success"]',
      )
      .waitFor({ timeout: WAIT_MS });
    if (process.env.CASCADE_SCREENSHOTS) {
      await page.screenshot({ path: join(process.env.CASCADE_SCREENSHOTS, "multimaster-b-waterfall.png") });
    }
    assert.deepEqual(errors, []);
  const kinds = streamB.events
    .filter((e) => e.json?.build?.builder === "on-a")
    .map((e) => e.event);
  assert.deepEqual(
    kinds.filter((k) => k.startsWith("build.") || k.startsWith("step.")),
    ["build.started", "step.started", "step.finished", "build.finished"],
    "each event once, in order",
  );
  const masters = await b.getJson("/api/v1/masters");
  assert.equal(masters.length, 2, JSON.stringify(masters));
  assert.ok(masters.every((m) => m.state === "running"));
  assert.deepEqual(
    masters.map((m) => m.address).sort(),
    [`${a.url}/`, `${b.url}/`].sort(),
  );
});

test("a master killed mid-build is declared lost and its build runs again on the other", { skip: !available && "PostgreSQL does not answer" }, async () => {
  // Only A's worker may take the build.
  await post(b, "/api/v1/workers/wb/pause");
  await post(a, "/api/v1/builders/slow/force", { reason: "multimaster test" });
  await streamB.waitFor(
    (e) =>
      e.event === "build.started" &&
      e.json?.build?.builder === "slow" &&
      e.json.build.worker === "wa",
    { timeoutMs: WAIT_MS, what: "slow started on A's worker" },
  );
  await post(b, "/api/v1/workers/wb/unpause");
  await a.kill();
  const lost = await streamB.waitFor((e) => e.event === "master.lost", {
    timeoutMs: WAIT_MS,
    what: "master.lost on B's stream",
  });
  assert.match(lost.json.name, /\/a$/);
  const retried = await streamB.waitFor(
    (e) =>
      e.event === "build.finished" &&
      e.json?.build?.builder === "slow" &&
      e.json.build.number === 1,
    { timeoutMs: WAIT_MS, what: "slow #1 ended" },
  );
  assert.equal(retried.json.build.results, "retry");
  const rerun = await streamB.waitFor(
    (e) =>
      e.event === "build.finished" &&
      e.json?.build?.builder === "slow" &&
      e.json.build.number === 2,
    { timeoutMs: WAIT_MS, what: "slow #2 finished on B" },
  );
  assert.equal(rerun.json.build.results, "success");
  assert.equal(rerun.json.build.worker, "wb");
  const masters = await b.getJson("/api/v1/masters");
  const states = Object.fromEntries(masters.map((m) => [m.address, m.state]));
  assert.equal(states[`${a.url}/`], "lost");
  assert.equal(states[`${b.url}/`], "running");
  await waitFor(async () => (await b.getJson("/api/v1/builds?builder=slow")).builds.length === 2, {
    timeoutMs: WAIT_MS,
    what: "two builds of slow",
  });
});
