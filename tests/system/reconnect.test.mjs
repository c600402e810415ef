// System test: a remote worker whose master goes away keeps trying, with backoff, and is
// back at work once a master listens at the same address again.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, test } from "node:test";
import {
  assertBinary,
  makeTempDir,
  removeDir,
  startMaster,
  waitFor,
  writeConfig,
} from "../lib/master.mjs";
import { startWorker } from "../lib/worker.mjs";

const dirs = [];
const processes = [];

after(async () => {
  for (const p of processes) await p.stop?.().catch(() => undefined);
  for (const d of dirs) await removeDir(d);
});

/** A port that was free a moment ago (the master binds it next). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const config = (port) => `title = "Reconnect test"
[db]
url = "sqlite://cascade.sqlite"
[web]
listen = ["127.0.0.1:${port}"]
[authz]
force_build = true
[[workers]]
name = "far"
password = "pw"
[[builders]]
name = "app"
workers = ["far"]
steps = [ { name = "hello", command = ["echo", "hello"] } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["app"]
`;

async function json(url, init) {
  const res = await fetch(url, init);
  assert.ok(res.ok, `${url}: ${res.status}`);
  return res.json();
}

test("a worker reconnects when its master comes back and builds again", async () => {
  assertBinary();
  const dir = await makeTempDir("cascade-reconnect-");
  dirs.push(dir);
  const port = await freePort();
  const configPath = await writeConfig(dir, config(port));
  await writeConfig(dir, "pw\n", "far.pass");
  let master = await startMaster(configPath);
  processes.push(master);
  const worker = await startWorker({
    url: master.url,
    name: "far",
    passwordFile: `${dir}/far.pass`,
    basedir: `${dir}/far`,
  });
  processes.push(worker);

  await master.signal("SIGTERM");
  await waitFor(
    () => /reconnecting in|cannot reach the master/.test(worker.stderr),
    {
      timeoutMs: 15_000,
      what: "the worker noticing the master is gone",
    },
  );
  assert.ok(worker.running, "the worker keeps running without its master");

  master = await startMaster(configPath);
  processes.push(master);
  await waitFor(
    async () => {
      const w = await json(`${master.url}/api/v1/workers/far`);
      return w.connected;
    },
    { timeoutMs: 40_000, what: "the worker reconnecting" },
  );
  await json(`${master.url}/api/v1/builders/app/force`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  const build = await waitFor(
    async () => {
      const { builds } = await json(`${master.url}/api/v1/builds?builder=app`);
      return builds.find((b) => b.complete) ?? false;
    },
    { timeoutMs: 30_000, what: "a build on the reconnected worker" },
  );
  assert.equal(build.results, "success");
  assert.equal(build.worker, "far");
});
