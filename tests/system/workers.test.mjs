// System test: a master with two remote `cascade worker` processes — connection and refusal,
// ping, builds spread over both, a killed worker's build retried on the other, stop and cancel,
// pause, a worker's graceful shutdown, a git poller's commit built on a worker, and a clean
// master shutdown. Every step is checked through the API and on one event stream opened at the
// start.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
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
import { openEvents } from "../lib/sse.mjs";
import { spawnWorker, startWorker } from "../lib/worker.mjs";

const WAIT_MS = 20_000;
const PASSWORDS = { w1: "w1-secret-password", w2: "w2-literal-password" };

let dir;
let repoDir;
let pidFile;
let master;
let events;
/** The current `cascade worker` process of each worker, by name. */
const procs = {};
/** Every worker process started, for `after`. */
const allProcs = [];

const config = () => `title = "Workers test"
[db]
url = "sqlite://cascade.sqlite"
[web]
listen = ["127.0.0.1:0"]
[authz]
force_build = true
force_all_builds = true
ping_builder = true
graceful_shutdown = true
pause_worker = true
stop_build = true
stop_all_builds = true
cancel_pending_build = true
cancel_all_pending_builds = true
stop_change = true
clean_shutdown = true
[[workers]]
name = "w1"
password = { file = "w1.pass" }
max_builds = 1
[[workers]]
name = "w2"
password = ${JSON.stringify(PASSWORDS.w2)}
max_builds = 1
[[builders]]
name = "slow"
workers = ["w1", "w2"]
steps = [ { name = "wait", command = "echo $$ >> ${pidFile}; echo pid $$; sleep 3; echo done" } ]
[[builders]]
name = "quick"
workers = ["w1", "w2"]
steps = [ { name = "echo", command = "echo $$ >> ${pidFile}; echo quick" } ]
[[builders]]
name = "poll"
workers = ["w1", "w2"]
steps = [
  { name = "checkout", git = { repo_url = ${JSON.stringify(repoDir)} } },
  { name = "head", command = "git rev-parse HEAD" },
]
[[change_sources]]
name = "repo"
kind = "git_poller"
repo_url = ${JSON.stringify(repoDir)}
branches = ["main"]
poll_interval = 1
poll_at_launch = true
[[schedulers]]
name = "force"
kind = "force"
builders = ["slow", "quick"]
[[schedulers]]
name = "main"
kind = "single_branch"
branch = "main"
tree_stable_timer = 0
builders = ["poll"]
`;

function git(...args) {
  return execFileSync(
    "git",
    [
      "-c",
      "user.name=Poll Tester",
      "-c",
      "user.email=poll@example.invalid",
      "-c",
      "init.defaultBranch=main",
      ...args,
    ],
    {
      cwd: repoDir,
      encoding: "utf8",
      timeout: 30_000,
      stdio: ["ignore", "pipe", "pipe"],
    },
  ).trim();
}

function workerOpts(name, passwordFile = join(dir, `${name}.pass`)) {
  return {
    url: master.url,
    name,
    passwordFile,
    basedir: join(dir, `${name}-base`),
    maxBuilds: 1,
    cwd: dir,
  };
}

async function launchWorker(name) {
  const proc = await startWorker(workerOpts(name));
  allProcs.push(proc);
  procs[name] = proc;
  return proc;
}

/** Kills the process groups of every step command started so far (a killed worker's orphans). */
function killSteps() {
  let pids = [];
  try {
    pids = readFileSync(pidFile, "utf8").split("\n").filter(Boolean);
  } catch {
    return;
  }
  for (const pgid of pids.map(Number)) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

async function post(path, body = {}, status = 200) {
  const res = await master.postJson(path, body);
  assert.equal(res.status, status, `POST ${path}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Forces a build of BUILDER and returns its build request id. */
async function force(builder) {
  const body = await post(
    `/api/v1/builders/${builder}/force`,
    { reason: "workers test" },
    202,
  );
  assert.equal(body.buildrequest_ids.length, 1, JSON.stringify(body));
  return body.buildrequest_ids[0];
}

async function builds(builder) {
  return (await master.getJson(`/api/v1/builds?builder=${builder}`)).builds;
}

async function buildDetail(builder, number) {
  return master.getJson(`/api/v1/builders/${builder}/builds/${number}`);
}

async function pending(builder) {
  const { buildrequests } = await master.getJson(
    `/api/v1/buildrequests?builder=${builder}`,
  );
  return buildrequests.map((r) => r.id);
}

async function workers() {
  const { workers: list } = await master.getJson("/api/v1/workers");
  return Object.fromEntries(list.map((w) => [w.name, w]));
}

/** Waits until the build of request REQ has started its first step and not finished. */
async function waitRunning(builder, req) {
  return waitFor(
    async () => {
      const build = (await builds(builder)).find(
        (b) => b.buildrequest_id === req && !b.complete,
      );
      if (!build) return false;
      const detail = await buildDetail(builder, build.number);
      return detail.steps[0]?.started_at && !detail.complete ? detail : false;
    },
    { timeoutMs: WAIT_MS, what: `a running build of request ${req}` },
  );
}

/** Waits until build NUMBER of BUILDER is complete and returns it with its steps. */
async function waitComplete(builder, number) {
  return waitFor(
    async () => {
      const detail = await buildDetail(builder, number);
      return detail.complete ? detail : false;
    },
    { timeoutMs: WAIT_MS, what: `build ${number} of ${builder} to finish` },
  );
}

/** The PID (= process group) a slow build's step printed. */
async function stepPid(number) {
  const { lines } = await master.getJson(
    `/api/v1/builders/slow/builds/${number}/steps/1/logs/stdio/lines`,
  );
  const line = lines.find((l) => /^pid \d+$/.test(l.text));
  return line ? Number(line.text.slice(4)) : undefined;
}

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until no build runs and no request is pending. */
async function waitIdle() {
  await waitFor(
    async () => {
      const state = await master.getJson("/api/v1/master");
      const queued = await master.getJson("/api/v1/buildrequests");
      return state.running_builds === 0 && queued.buildrequests.length === 0;
    },
    { timeoutMs: WAIT_MS, what: "the master to be idle" },
  );
}

/** Events of the stream of type TYPE (matching PRED), so far. */
function seen(type, pred = () => true) {
  return events.events.filter((e) => e.event === type && pred(e.json ?? {}));
}

/** Waits for the action event NAME on TARGET and returns its payload. */
async function sawAction(name, target) {
  const e = await events.waitFor(
    (ev) =>
      ev.event === "action" &&
      ev.json?.name === name &&
      ev.json?.target === target,
    { timeoutMs: 5000, what: `action ${name} on ${target}` },
  );
  assert.equal(e.json.actor, "anonymous");
  return e.json;
}

before(async () => {
  assertBinary();
  dir = await makeTempDir("cascade-workers-");
  pidFile = join(dir, "step-pids");
  repoDir = join(dir, "repo");
  mkdirSync(repoDir);
  git("init", "-q", "-b", "main");
  writeFileSync(join(repoDir, "README"), "first\n");
  git("add", "README");
  git("commit", "-q", "-m", "First commit");
  writeFileSync(join(dir, "w1.pass"), PASSWORDS.w1);
  writeFileSync(join(dir, "w2.pass"), PASSWORDS.w2);
  writeFileSync(join(dir, "wrong.pass"), "not-the-password");
  master = await startMaster(await writeConfig(dir, config()));
  events = await openEvents(`${master.url}/api/v1/events`);
  assert.equal(events.status, 200);
  await Promise.all([launchWorker("w1"), launchWorker("w2")]);
});

after(async () => {
  events?.close();
  await Promise.all(allProcs.map((p) => p.stop()));
  await master?.stop();
  killSteps();
  await removeDir(dir);
});

test("both workers connect with their host info, a wrong password is refused, a ping reaches both", async () => {
  const connected = await waitFor(
    async () => {
      const ws = await workers();
      return ws.w1?.connected && ws.w2?.connected ? ws : false;
    },
    { timeoutMs: WAIT_MS, what: "w1 and w2 connected" },
  );
  for (const name of ["w1", "w2"]) {
    const w = connected[name];
    assert.equal(w.embedded, false);
    assert.equal(w.paused, false);
    assert.equal(w.graceful, false);
    assert.equal(w.running_builds, 0);
    assert.equal(w.max_builds, 1);
    assert.deepEqual(w.builders, ["slow", "quick", "poll"]);
    assert.match(w.peer, /^127\.0\.0\.1:\d+$/);
    assert.equal(w.info.hostname, hostname());
    assert.equal(w.info.os, process.platform);
    assert.ok(w.info.arch, JSON.stringify(w.info));
    assert.match(w.info.cpus, /^\d+$/);
    assert.ok(w.version, JSON.stringify(w));
    assert.ok(!Number.isNaN(Date.parse(w.last_seen)), w.last_seen);
    const banner = `Cascade worker "${name}" running builds in ${workerOpts(name).basedir}; connecting to ${master.url}/`;
    assert.ok(
      procs[name].stdout.startsWith(banner),
      `stdout starts with ${banner}:\n${procs[name].stdout}`,
    );
    await events.waitFor(
      (e) => e.event === "worker.connected" && e.json?.name === name,
      { timeoutMs: 5000, what: `worker.connected for ${name}` },
    );
  }

  // A third process claims to be w2 with a wrong password: refused, exit 1.
  const intruder = await spawnWorker(workerOpts("w2", join(dir, "wrong.pass")));
  allProcs.push(intruder);
  const exit = await intruder.waitExit(WAIT_MS);
  assert.deepEqual(exit, { code: 1, signal: null }, intruder.output);
  assert.match(intruder.output, /refused/);
  const now = await workers();
  assert.equal(now.w2.connected, true, "the real w2 stays connected");
  assert.equal(now.w2.peer, connected.w2.peer);
  assert.deepEqual(
    seen("worker.disconnected").map((e) => e.data),
    [],
    "nobody was disconnected",
  );

  const ping = await post("/api/v1/builders/slow/ping");
  const answers = [...ping.workers].sort((a, b) =>
    a.worker.localeCompare(b.worker),
  );
  assert.deepEqual(
    answers.map((a) => [a.worker, a.replied, a.error ?? null]),
    [
      ["w1", true, null],
      ["w2", true, null],
    ],
    JSON.stringify(ping),
  );
  for (const a of answers) assert.ok(a.rtt_ms >= 0, JSON.stringify(a));
  await sawAction("ping_builder", "slow");
});

test("two forced builds run at once, one on each worker", async () => {
  const reqs = [await force("slow"), await force("slow")];
  const both = await waitFor(
    async () => {
      const running = (await builds("slow")).filter(
        (b) => reqs.includes(b.buildrequest_id) && !b.complete,
      );
      return running.length === 2 ? running : false;
    },
    { timeoutMs: WAIT_MS, what: "both slow builds running at the same time" },
  );
  assert.deepEqual(both.map((b) => b.worker).sort(), ["w1", "w2"]);
  const ws = await workers();
  assert.equal(ws.w1.running_builds, 1);
  assert.equal(ws.w2.running_builds, 1);
  for (const b of both) {
    const done = await waitComplete("slow", b.number);
    assert.equal(done.results, "success", JSON.stringify(done));
    assert.equal(done.worker, b.worker);
  }
  for (const b of both) {
    assert.equal(
      seen(
        "build.started",
        (j) => j.build?.builder === "slow" && j.build.number === b.number,
      )[0]?.json.build.worker,
      b.worker,
    );
  }
});

test("a build on a SIGKILLed worker ends retry and runs again on the other; the restarted worker takes new work", async () => {
  await waitIdle();
  const req = await force("slow");
  const first = await waitRunning("slow", req);
  const victim = first.worker;
  const survivor = victim === "w1" ? "w2" : "w1";
  const killed = await procs[victim].kill();
  assert.equal(killed.signal, "SIGKILL");

  const retried = await waitComplete("slow", first.number);
  assert.equal(retried.results, "retry", JSON.stringify(retried));
  assert.ok(retried.finished_at);
  const again = await waitFor(
    async () =>
      (await builds("slow")).find(
        (b) => b.buildrequest_id === req && b.number !== first.number,
      ),
    { timeoutMs: WAIT_MS, what: `request ${req} to run again` },
  );
  assert.ok(again.number > first.number);
  assert.equal(again.worker, survivor, JSON.stringify(again));
  const gone = (await workers())[victim];
  assert.equal(gone.connected, false);
  assert.equal(gone.running_builds, 0);
  await events.waitFor(
    (e) => e.event === "worker.disconnected" && e.json?.name === victim,
    { timeoutMs: 5000, what: `worker.disconnected for ${victim}` },
  );
  const done = await waitComplete("slow", again.number);
  assert.equal(done.results, "success", JSON.stringify(done));
  assert.deepEqual(
    (await builds("slow"))
      .filter((b) => b.buildrequest_id === req)
      .map((b) => [b.number, b.worker, b.results]),
    [
      [again.number, survivor, "success"],
      [first.number, victim, "retry"],
    ],
    "the request ran twice: retry on the killed worker, success on the other",
  );
  assert.equal(
    seen("build.finished", (j) => j.build?.number === first.number)[0]?.json
      .build.results,
    "retry",
  );

  // Restarted, the worker reconnects and takes builds again.
  await launchWorker(victim);
  await waitFor(async () => (await workers())[victim].connected, {
    timeoutMs: WAIT_MS,
    what: `${victim} connected again`,
  });
  await waitFor(
    () => seen("worker.connected", (j) => j.name === victim).length === 2,
    { timeoutMs: 5000, what: `a second worker.connected for ${victim}` },
  );
  const reqs = [await force("slow"), await force("slow")];
  const running = await Promise.all(reqs.map((r) => waitRunning("slow", r)));
  assert.deepEqual(running.map((b) => b.worker).sort(), ["w1", "w2"]);
  for (const b of running) {
    assert.equal((await waitComplete("slow", b.number)).results, "success");
  }
});

test("a build on a frozen (SIGSTOP) worker ends retry once its heartbeat stops and runs on the other; thawed, the worker reconnects and leaves the old build alone", async () => {
  await waitIdle();
  const req = await force("slow");
  const first = await waitRunning("slow", req);
  const victim = first.worker;
  const survivor = victim === "w1" ? "w2" : "w1";
  const frozen = procs[victim];
  process.kill(frozen.pid, "SIGSTOP");
  let retried;
  let again;
  try {
    // The worker's socket stays open: only the missing heartbeat answers can tell (≤ 30 s).
    retried = await waitFor(
      async () => {
        const detail = await buildDetail("slow", first.number);
        return detail.complete ? detail : false;
      },
      {
        timeoutMs: 45_000,
        what: `build ${first.number} to end once ${victim} is dropped`,
      },
    );
    assert.equal(retried.results, "retry", JSON.stringify(retried));
    again = await waitFor(
      async () =>
        (await builds("slow")).find(
          (b) => b.buildrequest_id === req && b.number !== first.number,
        ),
      { timeoutMs: WAIT_MS, what: `request ${req} to run again` },
    );
    assert.equal(again.worker, survivor, JSON.stringify(again));
    assert.equal((await waitComplete("slow", again.number)).results, "success");
    assert.equal((await workers())[victim].connected, false);
  } finally {
    process.kill(frozen.pid, "SIGCONT");
  }

  // Thawed, the same process finds its connection gone and connects again.
  await waitFor(async () => (await workers())[victim].connected, {
    timeoutMs: 45_000,
    what: `${victim} connected again after SIGCONT`,
  });
  assert.ok(frozen.running, "the thawed worker process is still running");
  // Work it runs now comes after anything it could still have said about the old build.
  await post(`/api/v1/workers/${survivor}/pause`, {
    reason: "leave the next build to the thawed worker",
  });
  try {
    const next = await force("slow");
    const run = await waitRunning("slow", next);
    assert.equal(run.worker, victim);
    assert.equal((await waitComplete("slow", run.number)).results, "success");
  } finally {
    await post(`/api/v1/workers/${survivor}/unpause`, { reason: "done" });
  }
  const old = await buildDetail("slow", first.number);
  assert.deepEqual(
    [old.results, old.finished_at, old.state_text, JSON.stringify(old.steps)],
    [
      retried.results,
      retried.finished_at,
      retried.state_text,
      JSON.stringify(retried.steps),
    ],
    "the build the frozen worker was running is unchanged after it came back",
  );
});

test("a stopped build ends cancelled with its reason and its step killed; cancelled pending requests never run", async () => {
  await waitIdle();
  const busy = [await force("slow"), await force("slow")];
  const running = await Promise.all(busy.map((r) => waitRunning("slow", r)));
  const extra = [await force("slow"), await force("slow"), await force("slow")];
  assert.deepEqual(
    (await pending("slow")).sort((a, b) => a - b),
    [...extra].sort((a, b) => a - b),
    "with both workers busy the extra requests are pending",
  );

  const one = await fetch(
    `${master.url}/api/v1/buildrequests/${extra[0]}?reason=not%20needed`,
    { method: "DELETE" },
  );
  assert.equal(one.status, 200, await one.text());
  const byId = await post("/api/v1/buildrequests/cancel", { ids: [extra[1]] });
  assert.equal(byId.count, 1, JSON.stringify(byId));
  assert.deepEqual(await pending("slow"), [extra[2]]);
  const rest = await post("/api/v1/buildrequests/cancel", { builder: "slow" });
  assert.equal(rest.count, 1, JSON.stringify(rest));
  assert.deepEqual(await pending("slow"), []);

  const [victim, other] = running;
  const pgid = await waitFor(() => stepPid(victim.number), {
    timeoutMs: WAIT_MS,
    what: `the step PID of build ${victim.number}`,
  });
  assert.ok(groupAlive(pgid), `the step's process group ${pgid} runs`);
  await post(`/api/v1/builders/slow/builds/${victim.number}/stop`, {
    reason: "enough of this",
  });
  const stopped = await waitComplete("slow", victim.number);
  assert.equal(stopped.results, "cancelled", JSON.stringify(stopped));
  assert.equal(stopped.state_text, "stopped by anonymous: enough of this");
  assert.equal(stopped.steps[0].results, "cancelled");
  await waitFor(() => !groupAlive(pgid), {
    timeoutMs: 5000,
    what: `the worker to kill the stopped step's process group ${pgid}`,
  });
  assert.equal(
    (await waitComplete("slow", other.number)).results,
    "success",
    "the other build is not affected",
  );

  // A worker was free for ~3 s (since the stop); no cancelled request ran.
  await waitIdle();
  assert.deepEqual(
    (await builds("slow"))
      .filter((b) => extra.includes(b.buildrequest_id))
      .map((b) => b.number),
    [],
  );
  assert.deepEqual(
    seen("buildrequest.cancelled")
      .map((e) => e.json.id)
      .sort((a, b) => a - b),
    [...extra].sort((a, b) => a - b),
  );
  for (const e of seen("buildrequest.cancelled"))
    assert.equal(e.json.builder, "slow");
  assert.deepEqual(
    seen("build.started", (j) => extra.includes(j.build?.buildrequest_id)),
    [],
  );
  assert.equal(
    (await sawAction("cancel_pending_build", String(extra[0]))).reason,
    "not needed",
  );
  await sawAction("cancel_all_pending_builds", "*");
  await sawAction("cancel_all_pending_builds", "slow");
  assert.equal(
    (await sawAction("stop_build", `slow/${victim.number}`)).reason,
    "enough of this",
  );
});

test("a paused worker gets no builds until it is unpaused", async () => {
  await waitIdle();
  await post("/api/v1/workers/w1/pause");
  assert.equal((await workers()).w1.paused, true);
  const slowReq = await force("slow");
  const slow = await waitRunning("slow", slowReq);
  assert.equal(slow.worker, "w2", "the only unpaused worker runs it");
  // w2 is busy and w1 paused: a second build waits for w2, however long slow takes; had
  // the paused w1 been given it, it would have run there at once.
  const quickReq = await force("quick");
  const slowDone = await waitComplete("slow", slow.number);
  assert.equal(slowDone.results, "success");
  const waited = await waitFor(
    async () =>
      (await builds("quick")).find(
        (b) => b.buildrequest_id === quickReq && b.complete,
      ),
    { timeoutMs: WAIT_MS, what: "the quick build to run once w2 is free" },
  );
  assert.equal(waited.worker, "w2", "the paused worker never took it");
  assert.equal(waited.results, "success");
  const ws = await workers();
  assert.equal(ws.w1.running_builds, 0);
  assert.equal(ws.w1.connected, true);

  // Unpaused, w1 takes builds again: with w2 paused in turn, the next one runs on w1.
  await post("/api/v1/workers/w1/unpause");
  await post("/api/v1/workers/w2/pause");
  try {
    const againReq = await force("quick");
    const quick = await waitFor(
      async () =>
        (await builds("quick")).find(
          (b) => b.buildrequest_id === againReq && b.complete,
        ),
      { timeoutMs: WAIT_MS, what: "the quick build to run after the unpause" },
    );
    assert.equal(quick.worker, "w1");
    assert.equal(quick.results, "success");
    assert.equal((await workers()).w1.paused, false);
  } finally {
    await post("/api/v1/workers/w2/unpause");
  }

  const paused = seen("worker.paused", (j) => j.name === "w1");
  const unpaused = seen("worker.unpaused", (j) => j.name === "w1");
  assert.equal(paused.length, 1);
  assert.equal(unpaused.length, 1);
  assert.ok(
    events.events.indexOf(paused[0]) < events.events.indexOf(unpaused[0]),
  );
  await sawAction("pause_worker", "w1");
  await sawAction("unpause_worker", "w1");
});

test("a worker shut down gracefully finishes its build, exits 0 and gets no new build", async () => {
  await waitIdle();
  const reqs = [await force("slow"), await force("slow")];
  const running = await Promise.all(reqs.map((r) => waitRunning("slow", r)));
  const onW2 = running.find((b) => b.worker === "w2");
  assert.ok(onW2, JSON.stringify(running));

  await post("/api/v1/workers/w2/shutdown");
  const stopping = (await workers()).w2;
  assert.equal(stopping.graceful, true);
  assert.equal(stopping.connected, true, "connected while its build runs");
  assert.equal(stopping.running_builds, 1);
  // Queued while both are busy; only w1 may take it.
  const quickReq = await force("quick");

  const finished = await waitComplete("slow", onW2.number);
  assert.equal(finished.results, "success", JSON.stringify(finished));
  const exit = await procs.w2.waitExit(WAIT_MS);
  assert.deepEqual(exit, { code: 0, signal: null }, procs.w2.output);
  await waitFor(async () => !(await workers()).w2.connected, {
    timeoutMs: WAIT_MS,
    what: "w2 shown disconnected",
  });
  const quick = await waitFor(
    async () =>
      (await builds("quick")).find(
        (b) => b.buildrequest_id === quickReq && b.complete,
      ),
    { timeoutMs: WAIT_MS, what: "the quick build" },
  );
  assert.equal(quick.worker, "w1");
  assert.equal(quick.results, "success");

  await sawAction("graceful_shutdown", "w2");
  const stoppingAt = events.events.findIndex(
    (e) => e.event === "worker.stopping" && e.json?.name === "w2",
  );
  assert.ok(stoppingAt >= 0, "worker.stopping for w2");
  const later = events.events.slice(stoppingAt);
  assert.ok(
    later.some(
      (e) => e.event === "worker.disconnected" && e.json?.name === "w2",
    ),
    "worker.disconnected for w2 after worker.stopping",
  );
  assert.deepEqual(
    later
      .filter(
        (e) => e.event === "build.started" && e.json.build.worker === "w2",
      )
      .map((e) => e.data),
    [],
    "no build started on w2 once it was stopping",
  );
});

test("a commit on main found by the git poller is built on a worker at that revision", async () => {
  await waitIdle();
  assert.deepEqual(
    (await master.getJson("/api/v1/changes")).changes,
    [],
    "the first poll only records the branch head",
  );
  writeFileSync(join(repoDir, "README"), "second\n");
  git("commit", "-q", "-a", "-m", "Second commit");
  const sha = git("rev-parse", "HEAD");

  const change = await waitFor(
    async () =>
      (await master.getJson("/api/v1/changes")).changes.find(
        (c) => c.revision === sha,
      ),
    { timeoutMs: WAIT_MS, what: `a change for ${sha}` },
  );
  assert.equal(change.branch, "main");
  assert.equal(change.comments, "Second commit");
  assert.equal(change.author, "Poll Tester <poll@example.invalid>");
  assert.deepEqual(change.files, ["README"]);

  const build = await waitFor(
    async () => (await builds("poll")).find((b) => b.complete),
    { timeoutMs: WAIT_MS, what: "a complete build of poll" },
  );
  const detail = await buildDetail("poll", build.number);
  assert.equal(detail.results, "success", JSON.stringify(detail));
  assert.equal(detail.revision, sha);
  assert.equal(detail.branch, "main");
  assert.equal(detail.worker, "w1", "w2 has shut down");
  assert.deepEqual(
    detail.changes?.map((c) => c.id),
    [change.id],
  );
  const res = await fetch(
    `${master.url}/api/v1/builders/poll/builds/${build.number}/steps/2/logs/stdio/raw`,
  );
  assert.equal(res.status, 200);
  assert.ok(
    (await res.text()).includes(sha),
    "the worker checked out the commit",
  );

  assert.equal((await master.getJson("/api/v1/changes")).changes.length, 1);
  assert.equal((await builds("poll")).length, 1);
  assert.equal(seen("change.new", (j) => j.change?.revision === sha).length, 1);
});

test("a clean master shutdown waits for the running build, leaves new requests pending and exits 0", async () => {
  await waitIdle();
  const req = await force("slow");
  const build = await waitRunning("slow", req);

  await post("/api/v1/master/shutdown", {
    mode: "start",
    reason: "maintenance",
  });
  const state = await master.getJson("/api/v1/master");
  assert.equal(state.shutting_down, true);
  assert.equal(state.running_builds, 1);
  // Judged once the master has exited, from the whole event stream: it never starts.
  const quickReq = await force("quick");

  const exit = await withDeadline(
    master.exited,
    WAIT_MS,
    `the master did not exit by itself:\n${master.output}`,
  );
  assert.deepEqual(exit, { code: 0, signal: null }, master.output);
  assert.match(master.output, /Cascade master stopped\./);

  const action = await sawAction("clean_shutdown", "master");
  assert.equal(action.reason, "maintenance");
  const actionAt = events.events.findIndex(
    (e) => e.event === "action" && e.json?.name === "clean_shutdown",
  );
  const stoppingAt = events.events.findIndex(
    (e) => e.event === "master.stopping",
  );
  assert.ok(stoppingAt > actionAt, "master.stopping follows the action");
  const finished = seen(
    "build.finished",
    (j) => j.build?.builder === "slow" && j.build.number === build.number,
  );
  assert.equal(finished.length, 1);
  assert.equal(finished[0].json.build.results, "success");
  assert.ok(
    events.events.indexOf(finished[0]) > stoppingAt,
    "the build finished during the shutdown",
  );
  await waitFor(() => events.ended, {
    timeoutMs: 5000,
    what: "the event stream to end with the master",
  });
  assert.deepEqual(
    seen("build.started", (j) => j.build?.buildrequest_id === quickReq),
    [],
    "a request made while shutting down does not start",
  );
});
