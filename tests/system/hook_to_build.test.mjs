// System test: a commit in a real git repository, posted to /change_hook/base, becomes a
// build that checks that commit out and runs on the embedded worker.
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
import { openEvents } from "../lib/sse.mjs";

const BUILD_DEADLINE_MS = 60_000;
const FILE_CONTENT = `cascade hook test payload ${process.pid}-${Date.now()}`;

let dir;
let repoDir;
let sha;
let master;

function git(...args) {
  return execFileSync(
    "git",
    [
      "-c",
      "user.name=Hook Tester",
      "-c",
      "user.email=hook@example.invalid",
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

const config = (repo) => `title = "Hook test"
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
steps = [
  { name = "checkout", git = { repo_url = ${JSON.stringify(repo)} } },
  { name = "show", command = "cat payload.txt" },
]
[[schedulers]]
name = "main"
kind = "single_branch"
branch = "main"
tree_stable_timer = 0
builders = ["app"]
[change_hook]
dialects = { base = {} }
`;

/** POSTs a form to the base hook; resolves with `{ status, body }`. */
async function postForm(fields) {
  const res = await fetch(`${master.url}/change_hook/base`, {
    method: "POST",
    body: new URLSearchParams(fields),
  });
  return { status: res.status, body: await res.json().catch(() => undefined) };
}

async function builds() {
  return (await master.getJson("/api/v1/builds?builder=app")).builds;
}

async function changes() {
  return (await master.getJson("/api/v1/changes")).changes;
}

async function logText(number, step) {
  const res = await fetch(
    `${master.url}/api/v1/builders/app/builds/${number}/steps/${step}/logs/stdio/raw`,
  );
  assert.equal(res.status, 200, `raw log of step ${step}`);
  return res.text();
}

before(async () => {
  assertBinary();
  dir = await makeTempDir("cascade-hook-");
  repoDir = join(dir, "repo");
  mkdirSync(repoDir);
  git("init", "-q", "-b", "main");
  writeFileSync(join(repoDir, "payload.txt"), `${FILE_CONTENT}\n`);
  git("add", "payload.txt");
  git("commit", "-q", "-m", "Add the payload");
  sha = git("rev-parse", "HEAD");
  assert.match(sha, /^[0-9a-f]{40}$/);
  master = await startMaster(await writeConfig(dir, config(repoDir)));
});

after(async () => {
  await master?.stop();
  await removeDir(dir);
});

test("a change posted to the base hook is built at its revision", async () => {
  const posted = await postForm({
    author: "Hook Tester <hook@example.invalid>",
    comments: "Add the payload",
    revision: sha,
    branch: "main",
    repository: repoDir,
    project: "app",
    files: JSON.stringify(["payload.txt"]),
  });
  assert.equal(posted.status, 202, JSON.stringify(posted.body));
  assert.ok(
    Array.isArray(posted.body?.change_ids),
    JSON.stringify(posted.body),
  );
  assert.equal(posted.body.change_ids.length, 1);
  const [changeId] = posted.body.change_ids;

  const build = await waitFor(
    async () => {
      const list = await builds();
      return list.find((b) => b.complete) ?? false;
    },
    {
      timeoutMs: BUILD_DEADLINE_MS,
      intervalMs: 200,
      what: "a complete build of app",
    },
  );
  const detail = await master.getJson(
    `/api/v1/builders/app/builds/${build.number}`,
  );
  assert.equal(
    detail.results,
    "success",
    `build ${build.number}: ${detail.state_text}\n${JSON.stringify(detail.steps, null, 1)}\n` +
      `${await logText(build.number, 1).catch((e) => e.message)}\n${master.output}`,
  );
  assert.equal(detail.revision, sha);
  assert.equal(detail.branch, "main");
  assert.deepEqual(
    detail.steps.map((s) => [s.number, s.name, s.results]),
    [
      [1, "checkout", "success"],
      [2, "show", "success"],
    ],
  );

  const checkoutLog = await logText(build.number, 1);
  assert.ok(
    checkoutLog.includes(sha),
    `checkout log mentions ${sha}:\n${checkoutLog}`,
  );

  // The lines endpoint carries the same content, with channels.
  const lines = await master.getJson(
    `/api/v1/builders/app/builds/${build.number}/steps/2/logs/stdio/lines`,
  );
  assert.ok(
    lines.lines.some((l) => l.channel === "o" && l.text === FILE_CONTENT),
    `cat step's stdout has the file content:\n${JSON.stringify(lines.lines)}`,
  );
  assert.ok((await logText(build.number, 2)).includes(FILE_CONTENT));

  const change = await master.getJson(`/api/v1/changes/${changeId}`);
  assert.equal(change.id, changeId);
  assert.equal(change.revision, sha);
  assert.equal(change.branch, "main");
  assert.equal(change.author, "Hook Tester <hook@example.invalid>");
  assert.equal(change.comments, "Add the payload");
  assert.deepEqual(change.files, ["payload.txt"]);

  assert.equal((await builds()).length, 1, "exactly one build for one change");
});

test("a hook request without an author is refused with 400 and creates nothing", async () => {
  const before = await changes();
  const res = await fetch(`${master.url}/change_hook/base`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      comments: "no author",
      revision: sha,
      branch: "main",
    }),
  });
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.equal(typeof body.error, "string");
  assert.match(body.message, /author/);
  assert.deepEqual(await changes(), before);
  assert.equal(before.length, 1);
});

test("a change on another branch is recorded but not built", async () => {
  const events = await openEvents(`${master.url}/api/v1/events`);
  try {
    assert.equal(events.status, 200);
    const buildsBefore = (await builds()).length;
    const posted = await postForm({
      author: "someone",
      comments: "elsewhere",
      revision: sha,
      branch: "feature",
      files: "[]",
    });
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    const [changeId] = posted.body.change_ids;
    await events.waitFor(
      (e) => e.event === "change.new" && e.json?.change?.id === changeId,
      {
        what: `change.new for change ${changeId}`,
      },
    );
    // Schedulers decide in the transaction that stores a change, and its buildset's events
    // follow its change.new on the stream: once a second change's change.new is here, any
    // buildset for the first would have been too.
    const second = await postForm({
      author: "someone",
      comments: "elsewhere again",
      revision: sha,
      branch: "feature",
      files: "[]",
    });
    assert.equal(second.status, 202, JSON.stringify(second.body));
    await events.waitFor(
      (e) =>
        e.event === "change.new" &&
        e.json?.change?.id === second.body.change_ids[0],
      { what: "change.new for the second change on feature" },
    );
    const unexpected = events.events.filter((e) =>
      /^(buildset|buildrequest|build)\./.test(e.event),
    );
    assert.deepEqual(
      unexpected.map((e) => e.event),
      [],
      "no buildset, request or build for a change on feature",
    );
    assert.equal((await builds()).length, buildsBefore);
    assert.equal((await changes()).length, 3, "both changes on feature are recorded");
    const builder = await master.getJson("/api/v1/builders/app");
    assert.equal(builder.pending, 0);
    assert.equal(builder.running, 0);
  } finally {
    events.close();
  }
});
