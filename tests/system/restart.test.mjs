// System test: builds interrupted by a crashed or stopped master end `retry` and run again
// when it comes back, on the same configuration and database.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  STOP_DEADLINE_MS,
  assertBinary,
  makeTempDir,
  removeDir,
  startMaster,
  waitFor,
  writeConfig,
} from "../lib/master.mjs";

const WAIT_MS = 30_000;

let dir;
let configPath;
let pidFile;
const masters = [];

const config = (pids) => `title = "Restart test"
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
name = "slow"
workers = ["local"]
steps = [ { name = "wait", command = "echo $$ >> ${pids}; echo start; exec sleep 60" } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["slow"]
`;

async function start() {
  const master = await startMaster(configPath);
  masters.push(master);
  return master;
}

/** PIDs (= process groups) of the step commands started so far. */
function stepPids() {
  try {
    return readFileSync(pidFile, "utf8")
      .split("\n")
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills what a SIGKILLed master leaves behind: its step commands' process groups. */
function killSteps() {
  for (const pgid of stepPids()) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** Waits until build NUMBER of slow runs its step and has printed "start". */
async function waitRunning(master, number) {
  return waitFor(
    async () => {
      const { builds } = await master.getJson("/api/v1/builds?builder=slow");
      if (!builds.some((b) => b.number === number)) return false;
      const build = await master.getJson(
        `/api/v1/builders/slow/builds/${number}`,
      );
      assert.equal(
        build.complete,
        false,
        `build ${number} ended early: ${JSON.stringify(build)}`,
      );
      assert.equal(
        build.results ?? null,
        null,
        "a running build has no results",
      );
      const step = build.steps[0];
      if (!step?.started_at || step.complete) return false;
      const lines = await master.getJson(
        `/api/v1/builders/slow/builds/${number}/steps/1/logs/stdio/lines`,
      );
      return lines.lines.some((l) => l.text === "start") ? build : false;
    },
    {
      timeoutMs: WAIT_MS,
      intervalMs: 100,
      what: `build ${number} of slow to be running`,
    },
  );
}

async function buildOf(master, number) {
  return master.getJson(`/api/v1/builders/slow/builds/${number}`);
}

before(async () => {
  assertBinary();
  dir = await makeTempDir("cascade-restart-");
  pidFile = join(dir, "step-pids");
  configPath = await writeConfig(dir, config(pidFile));
});

after(async () => {
  for (const m of masters) await m.stop();
  killSteps();
  await removeDir(dir);
});

test("a build interrupted by a crash or a stop ends retry and runs again", async () => {
  // First run: force a build and kill the master while it runs.
  const first = await start();
  const forced = await first.postJson("/api/v1/builders/slow/force", {
    reason: "restart test",
  });
  assert.equal(forced.status, 202, JSON.stringify(forced.body));
  assert.equal(forced.body.buildrequest_ids.length, 1);
  await waitRunning(first, 1);
  const killed = await first.kill();
  assert.equal(killed.signal, "SIGKILL");
  // A SIGKILLed master cannot reap its steps; clean up the orphaned `sleep`.
  killSteps();

  // Second run: build 1 is retry, and its request runs again as build 2.
  const second = await start();
  const b1 = await waitFor(
    async () => {
      const b = await buildOf(second, 1);
      return b.complete ? b : false;
    },
    { timeoutMs: WAIT_MS, what: "build 1 to be complete after the restart" },
  );
  assert.equal(b1.results, "retry", JSON.stringify(b1));
  assert.ok(b1.finished_at, "a retried build has an end time");
  const b2 = await waitRunning(second, 2);
  assert.equal(b2.builder, "slow");
  const { builds } = await second.getJson("/api/v1/builds?builder=slow");
  assert.deepEqual(
    builds.map((b) => b.number),
    [2, 1],
    "exactly one new build",
  );
  const [build2Pgid] = stepPids().slice(-1);
  assert.ok(groupAlive(build2Pgid), "build 2's step is running");

  // A clean stop: exit code 0 within the deadline, and the step's processes are gone.
  const started = Date.now();
  const stopped = await second.signal("SIGTERM", STOP_DEADLINE_MS);
  assert.deepEqual(stopped, { code: 0, signal: null }, second.output);
  assert.ok(Date.now() - started < STOP_DEADLINE_MS);
  assert.equal(
    groupAlive(build2Pgid),
    false,
    "a clean stop kills the running step's processes",
  );
  assert.match(second.output, /Cascade master stopped\./);

  // The clean stop itself marked build 2 retry: look at the database while no master runs
  // (results 5 = retry), when the sqlite3 CLI is there.
  const sqlite = spawnSync(
    "sqlite3",
    [
      "-readonly",
      join(dir, "cascade.sqlite"),
      "select number, results, finished_at is not null from builds order by number",
    ],
    { encoding: "utf8", timeout: 10_000 },
  );
  if (!sqlite.error) {
    assert.equal(sqlite.status, 0, sqlite.stderr);
    assert.equal(
      sqlite.stdout.trim(),
      "1|5|1\n2|5|1",
      "builds 1 and 2 are finished with results retry (5)",
    );
  }

  // Third run: the API says the same.
  const third = await start();
  const b2After = await buildOf(third, 2);
  assert.equal(b2After.complete, true, JSON.stringify(b2After));
  assert.equal(b2After.results, "retry", JSON.stringify(b2After));
  // ... and its request is queued again: build 3.
  await waitRunning(third, 3);
  const done = await third.signal("SIGTERM", STOP_DEADLINE_MS);
  assert.equal(done.code, 0, third.output);
});
