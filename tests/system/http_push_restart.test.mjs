// System test: an http_push reporter across a master killed with SIGKILL.
//
// A receiver in the test (127.0.0.1) checks the signature of every body and its shape against
// the committed OpenAPI document's webhook, and answers 200 or 500 as the test says. First it
// accepts: the events of the first builds arrive. Then it refuses with 500: the events of more
// builds wait, retried, and the master is killed while they do. The master starts again on the
// same database and the receiver accepts again: every event of every build has been
// acknowledged exactly once across both lives of the master, each build's start before its
// end, all in the order of the outbox.
import assert from "node:assert/strict";
import { createHmac, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  REPO,
  assertBinary,
  makeTempDir,
  removeDir,
  startMaster,
  waitFor,
  withDeadline,
  writeConfig,
} from "../lib/master.mjs";

const SECRET = `push-test-secret-${process.pid}`;
const WAIT_MS = 30_000;
const SPEC = JSON.parse(
  readFileSync(join(REPO, "openapi/openapi.json"), "utf8"),
);

const config = (url) => `title = "HTTP push restart test"
[db]
url = "sqlite://cascade.sqlite"
[web]
listen = ["127.0.0.1:0"]
[authz]
force_build = true
manage_outbox = true
[[workers]]
name = "local"
embedded = true
[[builders]]
name = "app"
workers = ["local"]
steps = [ { name = "say", command = ["sh", "-c", "echo built"] } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["app"]
[[reporters]]
kind = "http_push"
name = "push"
server_url = "${url}"
secret = "${SECRET}"
retry_delay = 1
max_retry_delay = 2
`;

let dir;
let configPath;
let receiver;
const masters = [];

/**
 * Every request received, in order of arrival: `{ status, body, problems }`, where `problems`
 * lists what is wrong with it (signature, shape).
 */
const requests = [];
/** The status the receiver answers with. */
let answer = 200;

before(async () => {
  assertBinary();
  dir = await makeTempDir("cascade-http-push-restart-");
  receiver = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const problems = [];
      checkSignature(req.headers["x-cascade-signature"], raw, problems);
      const { content } = webhook("http_push_event").requestBody;
      const type = req.headers["content-type"];
      if (!(type in content)) problems.push(`Content-Type ${type}`);
      let body;
      try {
        body = JSON.parse(raw.toString("utf8"));
        checkShape(body, content[type]?.schema ?? {}, "body", problems);
      } catch (e) {
        problems.push(`not JSON: ${e.message}`);
      }
      requests.push({ status: answer, body, problems });
      res.writeHead(answer, { "content-type": "text/plain" });
      res.end(answer === 200 ? "ok" : "down");
    });
  });
  await new Promise((resolve) =>
    receiver.listen(0, "127.0.0.1", () => resolve()),
  );
  const { port } = receiver.address();
  configPath = await writeConfig(dir, config(`http://127.0.0.1:${port}/hook`));
});

after(async () => {
  for (const m of masters) await m.stop();
  if (receiver) {
    receiver.closeAllConnections();
    await withDeadline(
      new Promise((resolve) => receiver.close(resolve)),
      5_000,
      "the receiver did not close",
    );
  }
  await removeDir(dir);
});

function checkSignature(header, raw, problems) {
  const expected = `sha256=${createHmac("sha256", SECRET).update(raw).digest("hex")}`;
  const got = Buffer.from(String(header ?? ""));
  if (
    got.length !== expected.length ||
    !timingSafeEqual(got, Buffer.from(expected))
  )
    problems.push(`bad signature ${header}`);
}

/** The POST of webhook `name` in the committed document. */
function webhook(name) {
  const hook = SPEC.webhooks?.[name]?.post;
  assert.ok(hook, `no webhook ${name} in openapi/openapi.json`);
  return hook;
}

function resolve(schema) {
  if (schema.$ref)
    return resolve(
      SPEC.components.schemas[schema.$ref.replace("#/components/schemas/", "")],
    );
  if (schema.allOf) {
    const [first, ...rest] = schema.allOf.map(resolve);
    return Object.assign({}, first, ...rest, schema, { allOf: undefined });
  }
  return schema;
}

/** Records in `problems` where `value` differs from `schema` (the subset the document uses). */
function checkShape(value, schema, at, problems) {
  const s = resolve(schema);
  if (value === null) {
    if (!s.nullable) problems.push(`${at} is null`);
    return;
  }
  if (s.enum && !s.enum.includes(value))
    problems.push(`${at} = ${JSON.stringify(value)} is not one of ${s.enum}`);
  switch (s.type) {
    case "object": {
      if (typeof value !== "object" || Array.isArray(value)) {
        problems.push(`${at} is not an object`);
        return;
      }
      if (s.properties) {
        const documented = Object.keys(s.properties).sort();
        const sent = Object.keys(value).sort();
        if (JSON.stringify(documented) !== JSON.stringify(sent))
          problems.push(`${at} has ${sent}, the document ${documented}`);
        for (const [k, v] of Object.entries(s.properties))
          if (k in value) checkShape(value[k], v, `${at}.${k}`, problems);
      }
      return;
    }
    case "array":
      if (!Array.isArray(value)) problems.push(`${at} is not an array`);
      else
        value.forEach((v, i) =>
          checkShape(v, s.items, `${at}[${i}]`, problems),
        );
      return;
    case "integer":
      if (!Number.isInteger(value)) problems.push(`${at} is not an integer`);
      return;
    case "string":
      if (typeof value !== "string") problems.push(`${at} is not a string`);
      return;
    default:
      return;
  }
}

async function start() {
  const master = await startMaster(configPath);
  masters.push(master);
  return master;
}

/** Forces one build of `app` and waits until it finished; returns its id. */
async function build(master) {
  const r = await master.postJson("/api/v1/builders/app/force", {
    reason: "push restart test",
  });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const [request] = r.body.buildrequest_ids;
  return waitFor(
    async () => {
      const { builds } = await master.getJson(
        "/api/v1/builds?builder=app&limit=50",
      );
      return builds.find((b) => b.buildrequest_id === request && b.complete)
        ?.id;
    },
    { what: `the build of request ${request}`, timeoutMs: WAIT_MS },
  );
}

/** The ids of the events acknowledged with a 2xx so far, in order. */
const acknowledged = () =>
  requests.filter((r) => r.status === 200).map((r) => r.body?.id);

/** Waits until both events of each build in `ids` have been acknowledged. */
function waitAcknowledged(ids) {
  const wanted = ids.flatMap((id) => [
    `build:${id}:started`,
    `build:${id}:finished`,
  ]);
  return waitFor(
    () => {
      const got = new Set(acknowledged());
      return wanted.every((k) => got.has(k));
    },
    {
      what: `the events of builds ${ids} acknowledged`,
      timeoutMs: WAIT_MS,
    },
  );
}

const outbox = async (master) =>
  (await master.getJson("/api/v1/outbox?limit=100")).messages
    .filter((m) => m.reporter === "push")
    .sort((a, b) => a.id - b.id);

test(
  "pushed events survive a SIGKILL: each acknowledged once, in order, signed and as documented",
  { timeout: 180_000 },
  async () => {
    // The receiver accepts: the first builds' events arrive.
    const first = await start();
    const early = [await build(first), await build(first), await build(first)];
    await waitAcknowledged(early);

    // The receiver refuses: the next builds' events wait, retried, until the master dies.
    answer = 500;
    const seen = new Set(acknowledged());
    const late = [await build(first), await build(first)];
    await waitFor(
      () =>
        requests.some(
          (r) => r.status === 500 && r.body && !seen.has(r.body.id),
        ),
      { what: "a refused attempt at a new event", timeoutMs: WAIT_MS },
    );
    const waiting = await outbox(first);
    // Sent one by one in order: the attempt at a new event means every older one is marked
    // sent, and no newer one has been acknowledged.
    assert.deepEqual(
      waiting.map((m) => m.state),
      [...Array(6).fill("sent"), ...Array(4).fill("pending")],
      JSON.stringify(waiting),
    );
    const { signal } = await first.kill();
    assert.equal(signal, "SIGKILL");

    // The same database, a new master; the receiver accepts again.
    const second = await start();
    answer = 200;
    const ids = [...early, ...late];
    await waitAcknowledged(ids);
    // Once every row is sent nothing is left to send, so no duplicate can still be coming.
    const rows = await waitFor(
      async () => {
        const messages = await outbox(second);
        return messages.length === 10 &&
          messages.every((m) => m.state === "sent")
          ? messages
          : false;
      },
      { what: "every event marked sent", timeoutMs: WAIT_MS },
    );

    // Each event acknowledged exactly once, in the order of the outbox: each build's start
    // before its end, and the builds in the order they ran.
    const acked = acknowledged();
    assert.deepEqual(
      acked,
      rows.map((m) => m.key),
    );
    assert.equal(new Set(acked).size, acked.length, `twice: ${acked}`);
    for (const id of ids)
      assert.ok(
        acked.indexOf(`build:${id}:started`) <
          acked.indexOf(`build:${id}:finished`),
        `build ${id}: ${acked}`,
      );
    const buildIds = acked.map((k) => Number(k.split(":")[1]));
    assert.ok(
      buildIds.every((id, i) => i === 0 || buildIds[i - 1] <= id),
      `${acked}`,
    );
    assert.deepEqual(
      acked,
      ids.flatMap((id) => [`build:${id}:started`, `build:${id}:finished`]),
    );
    const refused = requests.filter((r) => r.status === 500);
    assert.ok(refused.length >= 1);
    assert.ok(refused.every((r) => !seen.has(r.body?.id)));

    // Every request, accepted or refused, was signed and had the documented shape.
    for (const r of requests)
      assert.deepEqual(r.problems, [], JSON.stringify(r.body));
    for (const r of requests.filter((r) => r.status === 200)) {
      const { id, event, build } = r.body;
      const [, buildId, which] = id.split(":");
      assert.equal(build.id, Number(buildId));
      assert.equal(event, `build.${which}`);
      assert.equal(build.builder, "app");
      assert.ok(build.url.endsWith(`/builders/app/builds/${build.number}`));
    }
    const finished = requests
      .filter((r) => r.status === 200 && r.body.event === "build.finished")
      .map((r) => r.body.build);
    assert.ok(
      finished.every((b) => b.results === "success" && b.finished_at !== null),
      JSON.stringify(finished),
    );
  },
);
