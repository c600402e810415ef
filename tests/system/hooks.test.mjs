// System test: change hooks end to end. Commits of a real git repository reach the master
// through `cascade sendchange` (the base hook) and a signed GitHub push, and the schedulers'
// change filters route each to its builder: main → `app` (which checks the commit out),
// feature → `docs`. Unsigned pushes and refused sendchanges create nothing, and the delivery
// log lists every request with the status it got.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  assertBinary,
  makeTempDir,
  removeDir,
  runCli,
  startMaster,
  waitFor,
  writeConfig,
} from "../lib/master.mjs";
import { openEvents } from "../lib/sse.mjs";

const BUILD_DEADLINE_MS = 60_000;
const SECRET = `hook-test-secret-${process.pid}`;
const COMMITTER = { name: "Hook Tester", email: "hook@example.invalid" };
const ADA = { name: "Ada Lovelace", email: "ada@example.invalid" };
const GRACE = { name: "Grace Hopper", email: "grace@example.invalid" };
const HTML_URL = "https://github.example/acme/app";

let dir;
let repoDir;
let master;
let events;
/** The commits made in `before`: `{ sha, parent, subject, message, author, when, files }`. */
const commits = {};
/** What each test posted, for the delivery log test. */
const posted = {
  sendchange: undefined,
  refused: 0,
  unsigned: undefined,
  signed: undefined,
};

function git(args, { env } = {}) {
  return execFileSync(
    "git",
    [
      "-c",
      `user.name=${COMMITTER.name}`,
      "-c",
      `user.email=${COMMITTER.email}`,
      "-c",
      "init.defaultBranch=main",
      "-c",
      "commit.gpgsign=false",
      ...args,
    ],
    {
      cwd: repoDir,
      encoding: "utf8",
      timeout: 30_000,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    },
  ).trim();
}

/** Writes files (path → content, or null to delete), commits them at `when` and describes the commit. */
function commit(files, { message, author, when }) {
  for (const [path, content] of Object.entries(files)) {
    if (content === null) {
      git(["rm", "-q", path]);
    } else {
      mkdirSync(join(repoDir, path, ".."), { recursive: true });
      writeFileSync(join(repoDir, path), content);
      git(["add", path]);
    }
  }
  const date = `@${when} +0000`;
  git(
    [
      "commit",
      "-q",
      "-m",
      message,
      "--author",
      `${author.name} <${author.email}>`,
    ],
    { env: { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } },
  );
  const sha = git(["rev-parse", "HEAD"]);
  assert.match(sha, /^[0-9a-f]{40}$/);
  // What git itself says about the commit, rather than what was asked for.
  const [an, ae, at, iso, subject] = git([
    "show",
    "-s",
    "--format=%an%n%ae%n%at%n%aI%n%s",
    sha,
  ]).split("\n");
  const status = git(["show", "--name-status", "--format=", sha])
    .split("\n")
    .filter(Boolean)
    .map((line) => line.split("\t"));
  const byStatus = (s) => status.filter(([k]) => k === s).map(([, p]) => p);
  return {
    sha,
    // The root commit has none; GitHub sends forty zeros then.
    parent:
      git(["rev-list", "--parents", "-n", "1", sha]).split(" ")[1] ??
      "0".repeat(40),
    subject,
    message: git(["show", "-s", "--format=%B", sha]),
    author: { name: an, email: ae },
    when: Number(at),
    timestamp: iso,
    files: git(["show", "--name-only", "--format=", sha])
      .split("\n")
      .filter(Boolean),
    added: byStatus("A"),
    removed: byStatus("D"),
    modified: byStatus("M"),
  };
}

const config = (repo) => `title = "Hooks test"
[db]
url = "sqlite://cascade.sqlite"
[web]
listen = ["127.0.0.1:0"]
[authz]
hook_deliveries = true
[[workers]]
name = "local"
embedded = true
max_builds = 2
[[builders]]
name = "app"
workers = ["local"]
steps = [
  { name = "checkout", git = { repo_url = ${JSON.stringify(repo)} } },
  { name = "head", command = "git log -1 --format=%H" },
]
[[builders]]
name = "docs"
workers = ["local"]
steps = [
  { name = "render", command = "echo rendering docs at $CASCADE_BRANCH $CASCADE_REVISION" },
]
[[schedulers]]
name = "app-main"
kind = "single_branch"
branch = "main"
tree_stable_timer = 0
builders = ["app"]
[[schedulers]]
name = "docs-feature"
kind = "any_branch"
branches = ["feature"]
tree_stable_timer = 0
builders = ["docs"]
[change_hook]
dialects = { base = {}, github = { secret = ${JSON.stringify(SECRET)} } }
`;

/** A GitHub push event for `c` on `branch`, shaped like the payload GitHub sends. */
function pushPayload(c, branch) {
  const person = (p) => ({
    name: p.name,
    email: p.email,
    username: p.name.split(" ")[0].toLowerCase(),
  });
  const ghCommit = {
    id: c.sha,
    tree_id: "0".repeat(40),
    distinct: true,
    message: c.message,
    timestamp: c.timestamp,
    url: `${HTML_URL}/commit/${c.sha}`,
    author: person(c.author),
    committer: person(COMMITTER),
    added: c.added,
    removed: c.removed,
    modified: c.modified,
  };
  return {
    ref: `refs/heads/${branch}`,
    before: c.parent,
    after: c.sha,
    created: false,
    deleted: false,
    forced: false,
    base_ref: null,
    compare: `${HTML_URL}/compare/${c.parent.slice(0, 12)}...${c.sha.slice(0, 12)}`,
    commits: [ghCommit],
    head_commit: ghCommit,
    repository: {
      id: 4242,
      name: "app",
      full_name: "acme/app",
      private: false,
      html_url: HTML_URL,
      clone_url: `${HTML_URL}.git`,
      default_branch: "main",
    },
    pusher: { name: "grace", email: GRACE.email },
    sender: { login: "grace", id: 7 },
  };
}

const sign = (body, secret = SECRET) =>
  `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

/** POSTs a raw GitHub push body; resolves with `{ status, body }`. */
async function postGithub(body, { signature, query = "" } = {}) {
  const headers = {
    "content-type": "application/json",
    "x-github-event": "push",
    "x-github-delivery": `delivery-${Date.now()}`,
    "user-agent": "GitHub-Hookshot/cascade-test",
  };
  if (signature) headers["x-hub-signature-256"] = signature;
  const res = await fetch(`${master.url}/change_hook/github${query}`, {
    method: "POST",
    headers,
    body,
  });
  const text = await res.text();
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed };
}

const builds = async (builder) =>
  (await master.getJson(`/api/v1/builds?builder=${builder}`)).builds;
const changes = async () => (await master.getJson("/api/v1/changes")).changes;

async function rawLog(builder, number, step) {
  const res = await fetch(
    `${master.url}/api/v1/builders/${builder}/builds/${number}/steps/${step}/logs/stdio/raw`,
  );
  assert.equal(
    res.status,
    200,
    `raw log of ${builder} #${number} step ${step}`,
  );
  return res.text();
}

/** Waits for a complete build of `builder` at `revision`; resolves with its detail. */
async function finishedBuild(builder, revision) {
  const build = await waitFor(
    async () =>
      (await builds(builder)).find(
        (b) => b.complete && b.revision === revision,
      ),
    {
      timeoutMs: BUILD_DEADLINE_MS,
      intervalMs: 200,
      what: `a complete build of ${builder} at ${revision}`,
    },
  );
  return master.getJson(`/api/v1/builders/${builder}/builds/${build.number}`);
}

/** The scheduling events (buildsets, requests, builds) seen so far. */
const scheduling = () =>
  events.events.filter((e) => /^(buildset|buildrequest|build)\./.test(e.event));

/** A TCP port on 127.0.0.1 that nothing listens on (bound, then released). */
function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

before(async () => {
  assertBinary();
  dir = await makeTempDir("cascade-hooks-");
  repoDir = join(dir, "repo");
  mkdirSync(repoDir);
  git(["init", "-q", "-b", "main"]);
  commits.first = commit(
    { "README.md": "# app\n", "src/main.txt": "v1\n" },
    { message: "Start the app", author: ADA, when: 1_700_000_000 },
  );
  commits.main = commit(
    {
      "src/main.txt": "v2\n",
      "src/lib.txt": "helpers\n",
      "README.md": null,
    },
    {
      message: "Rework main and add helpers\n\nThe README moves to the docs.",
      author: ADA,
      when: 1_700_000_100,
    },
  );
  git(["checkout", "-q", "-b", "feature"]);
  commits.feature = commit(
    { "docs/guide.md": "# Guide\n", "src/main.txt": "v2 + docs link\n" },
    {
      message: "Write the user guide\n\nLinks it from main.",
      author: GRACE,
      when: 1_700_000_200,
    },
  );
  git(["checkout", "-q", "main"]);
  assert.equal(git(["rev-parse", "main"]), commits.main.sha);
  assert.notEqual(commits.feature.sha, commits.main.sha);

  master = await startMaster(await writeConfig(dir, config(repoDir)));
  events = await openEvents(`${master.url}/api/v1/events`);
  assert.equal(events.status, 200);
});

after(async () => {
  events?.close();
  await master?.stop();
  await removeDir(dir);
});

test("cascade sendchange of the main head builds app at that commit, and not docs", async () => {
  const c = commits.main;
  assert.deepEqual(c.files, ["README.md", "src/lib.txt", "src/main.txt"]);
  const args = [
    "sendchange",
    "--master",
    `${master.url}/`,
    "--author",
    `${c.author.name} <${c.author.email}>`,
    "--branch",
    "main",
    "--revision",
    c.sha,
    "-m",
    c.message,
    ...c.files.flatMap((f) => ["--file", f]),
    "--property",
    "origin=sendchange",
    "--repository",
    repoDir,
    "--project",
    "app",
    "--revlink",
    `${HTML_URL}/commit/${c.sha}`,
    "--when",
    String(c.when),
  ];
  const run = await runCli(args);
  assert.equal(run.code, 0, `sendchange failed:\n${run.stdout}${run.stderr}`);
  const m = run.stdout.match(/change sent: .*\[(\d+)\]/);
  assert.ok(m, `sendchange prints the new change id:\n${run.stdout}`);
  const changeId = Number(m[1]);
  posted.sendchange = changeId;

  const change = await master.getJson(`/api/v1/changes/${changeId}`);
  assert.equal(change.revision, c.sha);
  assert.equal(change.branch, "main");
  assert.equal(change.author, "Ada Lovelace <ada@example.invalid>");
  assert.equal(change.comments, c.message);
  assert.deepEqual(change.files, c.files);
  assert.equal(change.repository, repoDir);
  assert.equal(change.project, "app");
  assert.equal(change.revlink, `${HTML_URL}/commit/${c.sha}`);
  assert.equal(Date.parse(change.when) / 1000, c.when);
  assert.match(
    JSON.stringify(change.properties),
    /"origin".*"sendchange"/,
    JSON.stringify(change.properties),
  );

  const detail = await finishedBuild("app", c.sha);
  assert.equal(
    detail.results,
    "success",
    `app #${detail.number}: ${detail.state_text}\n` +
      `${await rawLog("app", detail.number, 1).catch((e) => e.message)}\n${master.output}`,
  );
  assert.equal(detail.branch, "main");
  assert.deepEqual(
    detail.steps.map((s) => [s.name, s.results]),
    [
      ["checkout", "success"],
      ["head", "success"],
    ],
  );
  const checkout = await rawLog("app", detail.number, 1);
  assert.ok(
    checkout.includes(`checked out ${c.sha}`),
    `checkout log:\n${checkout}`,
  );
  const head = await master.getJson(
    `/api/v1/builders/app/builds/${detail.number}/steps/2/logs/stdio/lines`,
  );
  assert.ok(
    head.lines.some((l) => l.channel === "o" && l.text === c.sha),
    `\`git log -1 --format=%H\` printed ${c.sha}:\n${JSON.stringify(head.lines)}`,
  );

  // The docs scheduler only takes feature: main's change made one request, for app.
  const requests = scheduling().filter((e) => e.event === "buildrequest.new");
  assert.deepEqual(
    requests.map((e) => e.json?.builder),
    ["app"],
    JSON.stringify(scheduling()),
  );
  assert.deepEqual(
    scheduling()
      .filter((e) => e.event === "buildset.new")
      .map((e) => e.json?.name),
    ["app-main"],
  );
  assert.deepEqual(await builds("docs"), []);
  assert.equal((await builds("app")).length, 1);
});

test("a refused sendchange exits 1 with the master's reason and creates nothing", async () => {
  const before = await changes();
  const run = await runCli([
    "sendchange",
    "--master",
    master.url,
    "--author",
    "",
    "--branch",
    "main",
    "--revision",
    commits.first.sha,
  ]);
  posted.refused += 1;
  assert.equal(run.code, 1, `${run.stdout}${run.stderr}`);
  assert.match(run.stderr, /refused the change \(400\)/);
  assert.match(run.stderr, /author/);
  assert.doesNotMatch(run.stdout, /change sent/);
  assert.deepEqual(await changes(), before);
});

test("a signed GitHub push of the feature commit builds docs; an unsigned one is refused", async () => {
  const c = commits.feature;
  assert.deepEqual(c.files, ["docs/guide.md", "src/main.txt"]);
  assert.deepEqual(c.added, ["docs/guide.md"]);
  assert.deepEqual(c.modified, ["src/main.txt"]);
  const body = JSON.stringify(pushPayload(c, "feature"));
  const changesBefore = await changes();
  const schedulingBefore = scheduling().length;

  // Unsigned, then signed with another secret, then signed over another body: all 403.
  const unsigned = await postGithub(body);
  assert.equal(unsigned.status, 403, JSON.stringify(unsigned.body));
  assert.match(unsigned.body.message, /X-Hub-Signature-256/);
  posted.unsigned = unsigned;
  const wrongSecret = await postGithub(body, {
    signature: sign(body, "not-the-secret"),
  });
  assert.equal(wrongSecret.status, 403, JSON.stringify(wrongSecret.body));
  const tampered = await postGithub(body.replace("Grace", "Mallory"), {
    signature: sign(body),
  });
  assert.equal(tampered.status, 403, JSON.stringify(tampered.body));
  // A refusal is decided before anything is stored, and a change is stored before its
  // request is answered: there is nothing later to wait for.
  assert.deepEqual(
    await changes(),
    changesBefore,
    "refused pushes store no change",
  );
  assert.equal(scheduling().length, schedulingBefore);

  const signed = await postGithub(body, {
    signature: sign(body),
    query: "?project=docs-site",
  });
  assert.equal(signed.status, 202, JSON.stringify(signed.body));
  assert.equal(signed.body.change_ids.length, 1, JSON.stringify(signed.body));
  const [changeId] = signed.body.change_ids;
  posted.signed = changeId;

  const change = await master.getJson(`/api/v1/changes/${changeId}`);
  assert.equal(change.revision, c.sha);
  assert.equal(change.branch, "feature");
  assert.equal(change.author, "Grace Hopper <grace@example.invalid>");
  assert.equal(change.committer, "Hook Tester <hook@example.invalid>");
  assert.equal(change.comments, c.message);
  assert.deepEqual(change.files, c.files);
  assert.equal(change.repository, HTML_URL);
  assert.equal(change.project, "docs-site", "?project= overrides full_name");
  assert.equal(change.revlink, `${HTML_URL}/commit/${c.sha}`);
  assert.equal(Date.parse(change.when) / 1000, c.when);

  const detail = await finishedBuild("docs", c.sha);
  assert.equal(detail.results, "success", detail.state_text);
  assert.equal(detail.branch, "feature");
  const log = await rawLog("docs", detail.number, 1);
  assert.ok(
    log.includes(`rendering docs at feature ${c.sha}`),
    `docs log:\n${log}`,
  );
  // Only docs was requested for the feature change.
  const requests = scheduling()
    .slice(schedulingBefore)
    .filter((e) => e.event === "buildrequest.new");
  assert.deepEqual(
    requests.map((e) => e.json?.builder),
    ["docs"],
  );
  assert.equal((await builds("app")).length, 1, "no new app build");
  assert.equal((await builds("docs")).length, 1);
  assert.equal((await changes()).length, changesBefore.length + 1);
});

test("cascade sendchange without a master exits 1 and says to run `cascade start`", async () => {
  const port = await freePort();
  const run = await runCli(
    [
      "sendchange",
      "--master",
      `http://127.0.0.1:${port}/`,
      "--author",
      "nobody",
      "--branch",
      "main",
    ],
    { timeoutMs: 20_000 },
  );
  assert.equal(run.code, 1, `${run.stdout}${run.stderr}`);
  assert.equal(run.stdout, "");
  assert.match(run.stderr, new RegExp(`127\\.0\\.0\\.1:${port}`));
  assert.match(run.stderr, /`cascade start`/);
});

test("the delivery log lists every hook request with its status", async () => {
  const { deliveries } = await master.getJson("/api/v1/hooks/deliveries");
  // Newest first: the signed push, three refused pushes, the refused and the accepted sendchange.
  const summary = deliveries.map((d) => [
    d.dialect,
    d.status,
    d.event ?? null,
    d.change_ids,
  ]);
  assert.deepEqual(
    summary,
    [
      ["github", 202, "push", [posted.signed]],
      ["github", 403, "push", []],
      ["github", 403, "push", []],
      ["github", 403, "push", []],
      ["base", 400, null, []],
      ["base", 202, null, [posted.sendchange]],
    ],
    JSON.stringify(deliveries, null, 1),
  );
  for (const d of deliveries) {
    assert.equal(d.source_addr, "127.0.0.1");
    assert.ok(d.outcome.length > 0, `delivery ${d.id} says what happened`);
    assert.ok(!Number.isNaN(Date.parse(d.received_at)));
  }
  assert.match(deliveries[3].outcome, /not signed/);
  assert.match(deliveries[4].outcome, /author/);

  // One delivery in full: the signed push, with its body and headers.
  const one = await master.getJson(
    `/api/v1/hooks/deliveries/${deliveries[0].id}`,
  );
  assert.equal(one.id, deliveries[0].id);
  assert.equal(JSON.parse(one.body).after, commits.feature.sha);
  assert.equal(one.headers["x-github-event"], "push");
  assert.equal(one.body_truncated, false);

  const onlyBase = await master.getJson(
    "/api/v1/hooks/deliveries?dialect=base",
  );
  assert.deepEqual(
    onlyBase.deliveries.map((d) => d.status),
    [400, 202],
  );
});
