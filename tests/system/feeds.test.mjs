// System test: the real binary's /rss and /atom as a feed reader sees them. A build fails
// with markup in its log, and Python's feedparser (from PyPI, in the virtual environment
// `make test-venv` makes under target/) reads both feeds without complaint, with the
// failed builds as entries linking to their pages.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  REPO,
  assertBinary,
  makeTempDir,
  removeDir,
  startMaster,
  waitFor,
  writeConfig,
} from "../lib/master.mjs";

const PYTHON =
  process.env.CASCADE_TEST_PYTHON ??
  join(REPO, "target", "test-venv", "bin", "python3");

const config = `title = "Feeds <test>"
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
name = "app"
tags = ["app"]
workers = ["local"]
steps = [
  { name = "test", command = ["sh", "-c", "echo 'error: <b>&amp; \\"boom\\"' >&2; printf '\\\\033[31mred\\\\033[0m\\\\n'; exit 1"] },
]
[[schedulers]]
name = "force"
kind = "force"
builders = ["app"]
`;

/** Reads both feeds with feedparser; what it made of each, as JSON. */
const READER = `
import json, sys, urllib.request
import feedparser
out = {}
for kind in ("rss", "atom"):
    with urllib.request.urlopen(sys.argv[1] + "/" + kind, timeout=30) as r:
        body = r.read()
        content_type = r.headers.get("content-type")
    d = feedparser.parse(body)
    out[kind] = {
        "content_type": content_type,
        "bozo": bool(d.bozo),
        "error": str(d.get("bozo_exception", "")),
        "version": d.version,
        "title": d.feed.get("title"),
        "titles": [e.get("title") for e in d.entries],
        "links": [e.get("link") for e in d.entries],
        "summaries": [e.get("summary", "") for e in d.entries],
    }
print(json.dumps(out))
`;

function readFeeds(url) {
  return new Promise((resolve, reject) => {
    execFile(
      PYTHON,
      ["-c", READER, url],
      { timeout: 60_000 },
      (error, stdout, stderr) =>
        error
          ? reject(new Error(`feedparser failed: ${error.message}\n${stderr}`))
          : resolve(JSON.parse(stdout)),
    );
  });
}

let dir;
let server;

before(async () => {
  assertBinary();
  assert.ok(
    existsSync(PYTHON),
    `no Python with feedparser at ${PYTHON}: run \`make test-venv\``,
  );
  dir = await makeTempDir("cascade-system-feeds-");
  server = await startMaster(await writeConfig(dir, config));
  for (const number of [1, 2]) {
    const r = await server.postJson("/api/v1/builders/app/force", {
      reason: "feeds test",
    });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    await waitFor(
      async () =>
        (await server.getJson(`/api/v1/builders/app/builds/${number}`))
          .results === "failure",
      { timeoutMs: 60_000, intervalMs: 100, what: `build ${number} to fail` },
    );
  }
});

after(async () => {
  await server?.stop();
  await removeDir(dir);
});

test("feedparser reads the RSS and Atom feeds of failed builds without errors", async () => {
  const feeds = await readFeeds(server.url);
  for (const [kind, version, type] of [
    ["rss", "rss20", "application/rss+xml; charset=utf-8"],
    ["atom", "atom10", "application/atom+xml; charset=utf-8"],
  ]) {
    const f = feeds[kind];
    assert.equal(f.bozo, false, `${kind}: ${f.error}`);
    assert.equal(f.version, version);
    assert.equal(f.content_type, type);
    assert.equal(f.title, "Feeds <test>: failed builds");
    assert.deepEqual(f.titles, ["app #2 failed", "app #1 failed"], kind);
    assert.deepEqual(
      f.links.map((l) => new URL(l).pathname),
      ["/builders/app/builds/2", "/builders/app/builds/1"],
      kind,
    );
    const summary = f.summaries[0];
    assert.match(
      summary,
      /error: &lt;b&gt;&amp;amp; (&quot;|")boom/,
      `${kind}: ${summary}`,
    );
    assert.match(summary, /red/, kind);
    assert.doesNotMatch(summary, /<b>|\u001b/, kind);
  }
});
