// System test: the command line — version, init, checkconfig, start's failures and signals.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  REPO,
  STOP_DEADLINE_MS,
  assertBinary,
  makeTempDir,
  removeDir,
  runCli,
  spawnMaster,
  startMaster,
  waitFor,
  withDeadline,
  writeConfig,
} from "../lib/master.mjs";

let dir;
const masters = [];

const GOOD = `title = "CLI test"
[db]
url = "sqlite://cascade.sqlite"
[web]
listen = ["127.0.0.1:0"]
[[workers]]
name = "local"
embedded = true
[[builders]]
name = "app"
workers = ["local"]
steps = [ { name = "s", command = "true" } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["app"]
`;

// Three independent mistakes, on lines 3, 6 and 17.
const BAD = `title = "CLI test"
[db]
url = "mysql://localhost/cascade"
[web]
listen = ["127.0.0.1:0"]
colour = "blue"
[[workers]]
name = "local"
embedded = true
[[builders]]
name = "app"
workers = ["local"]
steps = [ { name = "s", command = "true" } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["nosuch"]
`;

/** Asserts that OUTPUT reports each of BAD's mistakes as `FILE:LINE: KEY: message`. */
function assertThreeErrors(output, file) {
  const lines = output.split("\n");
  const find = (prefix, re) => {
    const line = lines.find((l) => l.includes(prefix));
    assert.ok(line, `an error starting ${prefix} in:\n${output}`);
    assert.match(line, re);
  };
  find(`${file}:3: db.url: `, /mysql/);
  find(`${file}:6: web.colour: `, /unknown key/);
  find(`${file}:17: schedulers[0].builders[0]: `, /unknown builder `nosuch`/);
}

/** Starts a master that should fail; resolves with its exit and output. */
async function startFailing(configPath, deadlineMs) {
  const master = await spawnMaster(configPath);
  masters.push(master);
  const exit = await withDeadline(
    master.exited,
    deadlineMs,
    `cascade start on ${configPath} kept running`,
  );
  return { ...exit, output: master.output };
}

before(async () => {
  assertBinary();
  dir = await makeTempDir("cascade-cli-");
});

after(async () => {
  for (const m of masters) await m.stop();
  await removeDir(dir);
});

test("--version prints the crate version", async () => {
  const version = readFileSync(
    join(REPO, "backend", "Cargo.toml"),
    "utf8",
  ).match(/^version = "(.+)"/m)[1];
  const { code, stdout } = await runCli(["--version"]);
  assert.equal(code, 0);
  assert.equal(stdout.trim(), `cascade ${version}`);
});

test("init writes a config that checkconfig accepts, and refuses to overwrite it", async () => {
  const target = join(dir, "fresh", "master");
  const init = await runCli(["init", target]);
  assert.equal(init.code, 0, init.stderr);
  const file = join(target, "cascade.toml");
  assert.ok(existsSync(file), init.stdout);
  assert.match(init.stdout, /cascade start/);

  const check = await runCli(["checkconfig", file]);
  assert.equal(check.code, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /OK/);

  const again = await runCli(["init", target]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exists/);
});

test("reconfig with no master running says how to start one", async () => {
  const target = join(dir, "idle");
  assert.equal((await runCli(["init", target])).code, 0);
  const run = await runCli(["reconfig", "--config", join(target, "cascade.toml")]);
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.match(run.stderr, /no master runs from .*cascade\.pid is missing.*cascade start/);
});

test("checkconfig reports every mistake with its line and key", async () => {
  const file = await writeConfig(dir, BAD, "bad.toml");
  const { code, stdout, stderr } = await runCli(["checkconfig", file]);
  assert.equal(code, 1);
  assertThreeErrors(stdout + stderr, file);
  assert.doesNotMatch(stdout + stderr, /OK/);
});

test("start with a broken config exits 1 with the errors and never listens", async () => {
  const file = await writeConfig(dir, BAD, "bad-start.toml");
  const { code, output } = await startFailing(file, 20_000);
  assert.equal(code, 1, output);
  assertThreeErrors(output, file);
  assert.doesNotMatch(output, /listening on/);
  assert.equal(
    existsSync(join(dir, "cascade.sqlite")),
    false,
    "no database was created",
  );
});

test("start on an unreachable PostgreSQL exits 1 saying it cannot connect", async () => {
  const sub = await makeTempDir("cascade-cli-pg-");
  try {
    const file = await writeConfig(
      sub,
      GOOD.replace(
        "sqlite://cascade.sqlite",
        "postgres://postgres@127.0.0.1:1/nope",
      ),
    );
    const { code, output } = await startFailing(file, 60_000);
    assert.equal(code, 1, output);
    assert.match(
      output,
      /cannot (open|connect)[^\n]*postgres:\/\/postgres@127\.0\.0\.1:1\/nope/,
    );
    assert.match(output, /cannot connect/);
    assert.doesNotMatch(output, /listening on/);
  } finally {
    await removeDir(sub);
  }
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  test(`${signal} stops a running master with exit code 0`, async () => {
    const sub = await makeTempDir(`cascade-cli-${signal}-`);
    try {
      const master = await startMaster(await writeConfig(sub, GOOD));
      masters.push(master);
      const health = await fetch(`${master.url}/healthz`);
      assert.equal(health.status, 200);
      const started = Date.now();
      const exit = await master.signal(signal, STOP_DEADLINE_MS);
      assert.deepEqual(exit, { code: 0, signal: null }, master.output);
      assert.ok(Date.now() - started < STOP_DEADLINE_MS);
      assert.match(master.output, /Cascade master stopped\./);
      await assert.rejects(
        fetch(`${master.url}/healthz`),
        "nothing listens any more",
      );
    } finally {
      await removeDir(sub);
    }
  });
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  test(`${signal} sent as soon as "listening on" is printed stops the master cleanly`, async () => {
    const sub = await makeTempDir(`cascade-cli-early-${signal}-`);
    try {
      const master = await spawnMaster(await writeConfig(sub, GOOD));
      masters.push(master);
      await waitFor(() => /listening on/.test(master.output), {
        timeoutMs: 30_000,
        intervalMs: 5,
        what: '"listening on"',
      });
      const exit = await master.signal(signal, STOP_DEADLINE_MS);
      assert.deepEqual(exit, { code: 0, signal: null }, master.output);
      assert.match(master.output, /Cascade master stopped\./);
    } finally {
      await removeDir(sub);
    }
  });
}
