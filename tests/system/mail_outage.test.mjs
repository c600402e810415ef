// System test: mail while the mail server is down, across a master killed with SIGKILL.
//
// The master's mail reporter points at a port where no server listens yet. Builds finish and
// their mails wait in the outbox, retried again and again; the master is killed with SIGKILL
// and started again, and more builds finish. Then the mail server (Debian's aiosmtpd, the
// fixture the backend's mail tests use) starts: every mail arrives, in the order of the
// builds, once each. A last build after that makes a duplicate observable: the server must
// have received exactly one mail per build, nothing more.
//
// CASCADE_MAIL_OUTAGE_SECONDS (default 20) is how long the server stays down at least;
// longer outages (minutes) exercise the same path with more retries.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, readFile, readdir } from "node:fs/promises";
import { createServer } from "node:net";
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

const SMTP_FIXTURE = join(REPO, "backend/tests/fixtures/smtp_server.py");
// Debian's aiosmtpd is seen by Debian's interpreter only.
const PYTHON = "/usr/bin/python3";
const OUTAGE_MS = 1000 * Number(process.env.CASCADE_MAIL_OUTAGE_SECONDS ?? 20);

/** A loopback port nothing listens on (taken, then freed). */
async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const config = (port) => `title = "Mail outage test"
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
kind = "mail"
from = "ci@example.org"
extra_recipients = ["team@example.org"]
mode = "all"
subject = "{{ builder }} #{{ number }} {{ result }}"
relay_host = "127.0.0.1"
smtp_port = ${port}
max_retry_delay = 2
`;

let dir;
let mailDir;
let port;
let configPath;
let smtp;
const masters = [];

before(async () => {
  assertBinary();
  dir = await makeTempDir("cascade-mail-outage-");
  mailDir = join(dir, "mails");
  await mkdir(mailDir);
  port = await freePort();
  configPath = await writeConfig(dir, config(port));
});

after(async () => {
  for (const m of masters) await m.stop();
  if (smtp && smtp.exitCode == null) smtp.kill("SIGKILL");
  await removeDir(dir);
});

async function start() {
  const master = await startMaster(configPath);
  masters.push(master);
  return master;
}

/** Forces one build of `app` and waits until it finished; returns its number. */
async function build(master) {
  const r = await master.postJson("/api/v1/builders/app/force", {
    reason: "outage test",
  });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const [request] = r.body.buildrequest_ids;
  let number;
  await waitFor(
    async () => {
      const { builds } = await master.getJson(
        "/api/v1/builds?builder=app&limit=50",
      );
      const b = builds.find((x) => x.buildrequest_id === request && x.complete);
      number = b?.number;
      return b !== undefined;
    },
    { what: `the build of request ${request}` },
  );
  return number;
}

const outbox = async (master) =>
  (await master.getJson("/api/v1/outbox?limit=100")).messages.sort(
    (a, b) => a.id - b.id,
  );

/** The mails received so far, in order of arrival. */
async function received() {
  const files = (await readdir(mailDir))
    .filter((f) => f.endsWith(".json"))
    .sort();
  return Promise.all(
    files.map(async (f) =>
      JSON.parse(await readFile(join(mailDir, f), "utf8")),
    ),
  );
}

async function startSmtp() {
  smtp = spawn(
    PYTHON,
    [
      SMTP_FIXTURE,
      "--port",
      String(port),
      "--dir",
      mailDir,
      "--lifetime",
      "300",
    ],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  await withDeadline(
    new Promise((resolve, reject) => {
      smtp.stdout.on("data", (d) => {
        if (String(d).includes("ready")) resolve();
      });
      smtp.on("exit", (code) =>
        reject(new Error(`the SMTP server exited (${code})`)),
      );
    }),
    20_000,
    "the SMTP server did not start",
  );
}

test("mails wait out a mail server outage and a SIGKILL, then arrive once each, in order", async () => {
  // The server is down: the first master's builds leave mails that are retried.
  const first = await start();
  const downSince = Date.now();
  const numbers = [await build(first), await build(first), await build(first)];
  await waitFor(
    async () => {
      const messages = await outbox(first);
      return messages.length === 3 && messages[0].attempts >= 2;
    },
    { what: "the first mail retried while the server is down" },
  );
  const [head] = await outbox(first);
  assert.equal(head.state, "pending");
  assert.match(head.last_error, /connect|refused/i);

  await first.kill();
  const second = await start();
  numbers.push(await build(second), await build(second));
  // The restarted master goes on trying, from the same first mail.
  const triedBefore = head.attempts;
  await waitFor(
    async () => {
      const messages = await outbox(second);
      return messages.length === 5 && messages[0].attempts > triedBefore + 1;
    },
    { what: "the restarted master retrying the first mail" },
  );
  // The outage lasts its full length; the master keeps trying meanwhile.
  await new Promise((r) =>
    setTimeout(r, Math.max(0, downSince + OUTAGE_MS - Date.now())),
  );
  const waited = await outbox(second);
  assert.ok(
    waited.every((m) => m.state === "pending"),
    JSON.stringify(waited),
  );
  assert.equal((await received()).length, 0);

  // The server comes back: the five mails arrive, oldest first.
  await startSmtp();
  await waitFor(async () => (await received()).length >= 5, {
    what: "five mails",
    timeoutMs: 30_000,
  });
  // One more build after the backlog: had anything been sent twice, it would show here.
  numbers.push(await build(second));
  await waitFor(async () => (await received()).length >= 6, {
    what: "the sixth mail",
    timeoutMs: 30_000,
  });
  await waitFor(
    async () => (await outbox(second)).every((m) => m.state === "sent"),
    {
      what: "every message marked sent",
    },
  );
  const mails = await received();
  assert.deepEqual(
    mails.map((m) => m.subject),
    numbers.map((n) => `app #${n} success`),
  );
  for (const m of mails) {
    assert.deepEqual(m.rcpt_tos, ["team@example.org"]);
    assert.equal(m.mail_from, "ci@example.org");
  }
  assert.equal(mails.length, 6, "a mail was sent twice");
});
