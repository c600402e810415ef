// System test: /api/v1/events streams a forced build's life as Server-Sent Events, in order,
// and its builder and type filters hold back what was not asked for.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  STOP_DEADLINE_MS,
  assertBinary,
  makeTempDir,
  removeDir,
  startMaster,
  writeConfig,
} from "../lib/master.mjs";
import { openEvents } from "../lib/sse.mjs";

const BUILD_DEADLINE_MS = 30_000;

const CONFIG = `title = "SSE test"
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
name = "app"
workers = ["local"]
steps = [
  { name = "first", command = "echo one; echo two" },
  { name = "second", command = ["echo", "three"] },
]
[[builders]]
name = "other"
workers = ["local"]
steps = [ { name = "only", command = "echo other" } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["app", "other"]
`;

let dir;
let master;
const streams = [];

async function open(query = "") {
  const stream = await openEvents(`${master.url}/api/v1/events${query}`);
  streams.push(stream);
  assert.equal(stream.status, 200);
  assert.match(stream.contentType, /^text\/event-stream/);
  return stream;
}

async function force(builder) {
  const res = await master.postJson(`/api/v1/builders/${builder}/force`, {
    reason: "sse test",
  });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return res.body;
}

/** Whether event E concerns build NUMBER of BUILDER or the buildset FORCED made. */
function about(e, builder, number, forced) {
  const j = e.json ?? {};
  switch (e.event) {
    case "buildset.new":
      return j.id === forced.buildset_id;
    case "buildrequest.new":
      return forced.buildrequest_ids.includes(j.id);
    case "build.started":
    case "build.finished":
      return j.build?.builder === builder && j.build?.number === number;
    default:
      return j.builder === builder && j.build_number === number;
  }
}

before(async () => {
  assertBinary();
  dir = await makeTempDir("cascade-sse-");
  master = await startMaster(await writeConfig(dir, CONFIG));
});

after(async () => {
  for (const s of streams) s.close();
  await master?.stop();
  await removeDir(dir);
});

test("a forced build streams its events in order, each named by its type", async () => {
  const all = await open();
  const forced = await force("app");
  const finished = await all.waitFor(
    (e) => e.event === "build.finished" && e.json?.build?.builder === "app",
    {
      timeoutMs: BUILD_DEADLINE_MS,
      what: "build.finished for app",
    },
  );
  const number = finished.json.build.number;
  assert.equal(finished.json.build.results, "success");
  assert.equal(finished.json.build.complete, true);

  for (const e of all.events) {
    assert.ok(e.json, `data is JSON: ${e.data}`);
    assert.equal(
      e.json.type,
      e.event,
      `the SSE event name is the payload's type: ${e.data}`,
    );
    assert.ok(!Number.isNaN(Date.parse(e.json.at)), `at is a date: ${e.data}`);
  }

  const mine = all.events.filter((e) => about(e, "app", number, forced));
  const names = mine.map((e) => e.event);
  const index = (name, pred = () => true) => {
    const i = mine.findIndex((e) => e.event === name && pred(e.json));
    assert.ok(i >= 0, `${name} in ${JSON.stringify(names)}`);
    return i;
  };
  const step = (n) => (j) => (j.step?.number ?? j.step_number) === n;
  const order = [
    index("buildset.new"),
    index("buildrequest.new"),
    index("build.started"),
    index("step.started", step(1)),
    index("log.appended", step(1)),
    index("step.finished", step(1)),
    index("step.started", step(2)),
    index("log.appended", step(2)),
    index("step.finished", step(2)),
    index("build.finished"),
  ];
  assert.deepEqual(
    [...order].sort((a, b) => a - b),
    order,
    `events in order: ${JSON.stringify(names)}`,
  );
  assert.equal(
    names.at(-1),
    "build.finished",
    "nothing about the build after build.finished",
  );
  assert.equal(names.filter((n) => n === "build.started").length, 1);
  assert.equal(names.filter((n) => n === "build.finished").length, 1);

  // Payloads carry what the schema promises.
  const started = mine[index("build.started")].json;
  assert.equal(started.build.complete, false);
  assert.equal(
    started.build.results ?? null,
    null,
    "a started build has no results",
  );
  const stepDone = mine[index("step.finished", step(1))].json;
  assert.equal(stepDone.step.name, "first");
  assert.equal(stepDone.step.results, "success");
  const logs = mine.filter(
    (e) => e.event === "log.appended" && e.json.step_number === 1,
  );
  assert.equal(logs.at(-1).json.log.slug, "stdio");
  assert.ok(
    logs.at(-1).json.log.num_lines >= 2,
    JSON.stringify(logs.at(-1).json),
  );
});

test("?builder= and ?type= filter the stream", async () => {
  const others = await open("?builder=other");
  const apps = await open("?builder=app");
  const steps = await open("?type=step");
  const all = await open();

  const forcedApp = await force("app");
  await all.waitFor(
    (e) => e.event === "build.finished" && e.json?.build?.builder === "app",
    {
      timeoutMs: BUILD_DEADLINE_MS,
      what: "build.finished for app",
    },
  );
  const forcedOther = await force("other");
  await others.waitFor((e) => e.event === "build.finished", {
    timeoutMs: BUILD_DEADLINE_MS,
    what: "build.finished on the ?builder=other stream",
  });
  await all.waitFor(
    (e) => e.event === "build.finished" && e.json?.build?.builder === "other",
    {
      what: "build.finished for other on the unfiltered stream",
    },
  );
  // Each stream receives the bus's events in order: once a last build of app has started on
  // the app and step streams (and other's end is on the other stream), whatever they were
  // sent about the builds before has arrived.
  const last = await force("app");
  const lastRequest = last.buildrequest_ids[0];
  const ofLast = (e) => e.json?.build?.buildrequest_id === lastRequest;
  await apps.waitFor((e) => e.event === "build.started" && ofLast(e), {
    timeoutMs: BUILD_DEADLINE_MS,
    what: "the last app build on the ?builder=app stream",
  });
  await steps.waitFor((e) => e.event === "step.started" && ofLast(e), {
    timeoutMs: BUILD_DEADLINE_MS,
    what: "the last app build's first step on the ?type=step stream",
  });
  await all.waitFor((e) => e.event === "build.finished" && ofLast(e), {
    timeoutMs: BUILD_DEADLINE_MS,
    what: "the last app build to finish",
  });

  const builderOf = (e) => e.json?.builder ?? e.json?.build?.builder;
  assert.deepEqual(
    others.events.filter((e) => builderOf(e) !== "other").map((e) => e.data),
    [],
    "?builder=other carries nothing about app",
  );
  assert.ok(
    !others.events.some(
      (e) => e.event === "buildset.new" && e.json.id === forcedApp.buildset_id,
    ),
    "?builder=other does not carry app's buildset",
  );
  for (const name of [
    "build.started",
    "step.started",
    "log.appended",
    "step.finished",
    "build.finished",
  ]) {
    assert.ok(
      others.events.some((e) => e.event === name),
      `?builder=other carries other's ${name}`,
    );
    assert.ok(
      apps.events.some((e) => e.event === name),
      `?builder=app carries app's ${name}`,
    );
  }
  assert.deepEqual(
    apps.events.filter((e) => builderOf(e) !== "app").map((e) => e.data),
    [],
  );
  assert.ok(
    !apps.events.some(
      (e) =>
        e.event === "buildset.new" && e.json.id === forcedOther.buildset_id,
    ),
  );

  assert.ok(
    steps.events.length >= 6,
    `three steps started and finished: ${steps.events.length}`,
  );
  assert.deepEqual([...new Set(steps.events.map((e) => e.event))].sort(), [
    "step.finished",
    "step.started",
  ]);

  // The unfiltered stream has both builders' builds.
  const finishedBuilders = all.events
    .filter((e) => e.event === "build.finished")
    .map(builderOf)
    .sort();
  assert.deepEqual(finishedBuilders, ["app", "app", "other"]);
});

test("a master with open event streams still stops within 10 s with exit code 0", async () => {
  const stream = await open();
  const started = Date.now();
  const exit = await master.signal("SIGTERM", STOP_DEADLINE_MS);
  assert.deepEqual(exit, { code: 0, signal: null }, master.output);
  assert.ok(Date.now() - started < STOP_DEADLINE_MS);
  assert.ok(stream.ended, "the stream ended with the master");
});

test("event streams see master.stopping and end at once when the master stops", async () => {
  const sub = await makeTempDir("cascade-sse-stop-");
  const own = await startMaster(await writeConfig(sub, CONFIG));
  try {
    const stream = await openEvents(`${own.url}/api/v1/events`);
    assert.equal(stream.status, 200);
    const started = Date.now();
    const exit = await own.signal("SIGTERM", STOP_DEADLINE_MS);
    const took = Date.now() - started;
    assert.equal(exit.code, 0, own.output);
    assert.ok(stream.ended, "the stream ended with the master");
    assert.deepEqual(
      stream.events.map((e) => e.event),
      ["master.stopping"],
      "the stream says the master is stopping before it ends",
    );
    assert.ok(
      took < 2000,
      `stopped in ${took} ms; an open stream should not hold the shutdown`,
    );
  } finally {
    await own.stop();
    await removeDir(sub);
  }
});
