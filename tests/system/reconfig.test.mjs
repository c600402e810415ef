// System test: a running master re-reads its configuration. `cascade reconfig` (SIGHUP
// through the pid file) adds a builder and renews the TLS certificate while a build runs and
// an event stream is open: the build finishes, the stream carries on and sees the `reconfig`
// event, the new builder is there, new TLS connections get the new certificate, and the
// waterfall shows who reconfigured. A broken file is refused by `cascade reconfig` and, when
// signalled directly, by the master, which logs each error with its line and keeps running.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import tls from "node:tls";
import {
  assertBinary,
  makeTempDir,
  removeDir,
  runCli,
  startMaster,
  waitFor,
  writeConfig,
} from "../lib/master.mjs";
import { launchBrowser, openPage } from "../lib/browser.mjs";
import { openEvents } from "../lib/sse.mjs";

const WAIT_MS = 30_000;

let dir;
let master;
let stream;
let browser;

/** A self-signed certificate for 127.0.0.1 as server.pem and server.key in `dir`. */
function certificate() {
  execFileSync(
    "openssl",
    [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-days", "2", "-subj", "/CN=localhost",
      "-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:FALSE",
      "-keyout", join(dir, "server.key"), "-out", join(dir, "server.pem"),
    ],
    { stdio: "ignore", timeout: 30_000 },
  );
  const pem = execFileSync("openssl", ["x509", "-in", join(dir, "server.pem"), "-noout", "-fingerprint", "-sha256"], {
    encoding: "utf8",
  });
  return pem.trim().split("=")[1];
}

/** The SHA-256 fingerprint of the certificate a new TLS connection to `port` is served. */
function servedCertificate(port) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fingerprint);
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error("no TLS handshake within 10 s")));
    socket.on("error", reject);
  });
}

const config = ({ title, docs }) => `title = "${title}"
[web]
listen = ["127.0.0.1:0", { addr = "127.0.0.1:0", tls = { cert = "server.pem", key = "server.key" } }]
[authz]
force_build = true
[[workers]]
name = "local"
embedded = true
max_builds = 2
[[builders]]
name = "app"
workers = ["local"]
steps = [ { name = "wait", command = "while [ ! -e ${join(dir, "release")} ]; do sleep 0.05; done; echo released" } ]
${docs ? `[[builders]]
name = "docs"
workers = ["local"]
steps = [ { name = "make", command = "echo docs" } ]
` : ""}[[schedulers]]
name = "force"
kind = "force"
builders = ["app"${docs ? ', "docs"' : ""}]
`;

before(async () => {
  assertBinary();
  dir = await makeTempDir("cascade-reconfig-");
  certificate();
  await writeConfig(dir, config({ title: "Before", docs: false }));
  master = await startMaster(join(dir, "cascade.toml"));
  stream = await openEvents(`${master.url}/api/v1/events`);
});

after(async () => {
  stream?.close();
  await browser?.close();
  await master?.stop();
  if (dir) await removeDir(dir);
});

function tlsPort() {
  const m = master.output.match(/listening on https:\/\/127\.0\.0\.1:(\d+)/);
  assert.ok(m, master.output);
  return Number(m[1]);
}

test("a new configuration takes effect while a build runs and a stream stays open", async (t) => {
  assert.ok(existsSync(join(dir, "cascade.pid")), "the master writes its pid file");
  const before = await servedCertificate(tlsPort());
  const forced = await master.postJson("/api/v1/builders/app/force", { reason: "reconfig test" });
  assert.equal(forced.status, 202, JSON.stringify(forced.body));
  await stream.waitFor((e) => e.event === "build.started" && e.json?.build?.builder === "app", {
    timeoutMs: WAIT_MS,
    what: "app started",
  });

  const renewed = certificate();
  assert.notEqual(renewed, before);
  await writeConfig(dir, config({ title: "After", docs: true }));
  const run = await runCli(["reconfig", "--config", join(dir, "cascade.toml")], { cwd: dir });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /OK; asked the master \(pid \d+\) to re-read it/);

  const event = await stream.waitFor((e) => e.event === "reconfig", { timeoutMs: WAIT_MS, what: "reconfig" });
  assert.equal(event.json.actor, "SIGHUP");
  assert.equal(event.json.reason, "builders +docs; schedulers ~force; title");
  const builders = await master.getJson("/api/v1/builders");
  assert.deepEqual(builders.builders.map((b) => b.name), ["app", "docs"]);
  assert.equal((await master.getJson("/api/v1/master")).title, "After");
  assert.equal(await servedCertificate(tlsPort()), renewed, "new connections get the new certificate");

  // The build that was running finishes, on the same stream, which never closed.
  writeFileSync(join(dir, "release"), "");
  const finished = await stream.waitFor(
    (e) => e.event === "build.finished" && e.json?.build?.builder === "app",
    { timeoutMs: WAIT_MS, what: "app finished" },
  );
  assert.equal(finished.json.build.results, "success");
  assert.equal(stream.ended, false);
  const docs = await master.postJson("/api/v1/builders/docs/force", { reason: "the new builder" });
  assert.equal(docs.status, 202, JSON.stringify(docs.body));
  await stream.waitFor(
    (e) => e.event === "build.finished" && e.json?.build?.builder === "docs" && e.json.build.results === "success",
    { timeoutMs: WAIT_MS, what: "docs finished" },
  );

  // The waterfall shows the reconfiguration and who asked.
  browser = await launchBrowser();
  const { page, errors } = await openPage(browser, master.url, t, "/waterfall?show_events=true");
  const box = page.locator('[data-testid="event-box"][data-event="reconfig"]').first();
  await box.waitFor({ timeout: WAIT_MS });
  assert.match(await box.innerText(), /reconfigured by SIGHUP/);
  assert.match(await box.getAttribute("title"), /^\S+: builders \+docs; schedulers ~force; title$/);
  await page.locator('[data-testid="builder-header"][data-builder="docs"]').waitFor({ timeout: WAIT_MS });
  if (process.env.CASCADE_SCREENSHOTS) {
    await page.screenshot({ path: join(process.env.CASCADE_SCREENSHOTS, "reconfig-waterfall.png") });
  }
  assert.deepEqual(errors, []);
});

test("a broken configuration is refused and the master runs on with the old one", async () => {
  const good = config({ title: "After", docs: true });
  await writeConfig(dir, good.replace('name = "docs"', 'name = "docs"\ncolour = "red"'));
  const run = await runCli(["reconfig", "--config", join(dir, "cascade.toml")], { cwd: dir });
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.match(run.stderr, /cascade\.toml:\d+: builders\[1\]\.colour: unknown key `colour`/);
  assert.match(run.stderr, /the running master was left as it is/);

  // Signalled directly, the master refuses it itself and logs why, with the line.
  const logged = master.output.length;
  process.kill(master.pid, "SIGHUP");
  await waitFor(() => /reconfiguration refused/.test(master.output.slice(logged)) || undefined, {
    timeoutMs: WAIT_MS,
    what: "the refusal in the master's log",
  });
  assert.match(master.output.slice(logged), /cascade\.toml:\d+: builders\[1\]\.colour/);
  assert.ok(master.running);
  const builders = await master.getJson("/api/v1/builders");
  assert.deepEqual(builders.builders.map((b) => b.name), ["app", "docs"]);
  const events = stream.events.filter((e) => e.event === "reconfig");
  assert.equal(events.length, 1, "a refused file is no reconfiguration");

  // A second master of the same directory is refused before it touches anything.
  await writeConfig(dir, good);
  const second = await runCli(["start", "--config", join(dir, "cascade.toml")], { cwd: dir });
  assert.equal(second.code, 1, second.stdout + second.stderr);
  assert.match(second.stderr, /a master already runs from .* \(pid \d+, per .*cascade\.pid\)/);
  assert.ok(master.running);

  await master.stop();
  assert.equal(existsSync(join(dir, "cascade.pid")), false, "the pid file goes with the master");
});
