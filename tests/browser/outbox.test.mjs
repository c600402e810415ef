// Browser test: /outbox, the reporters' messages, against the real `cascade` binary with
// Debian's chromium. A mail reporter points at a port nothing listens on, so each finished
// build leaves a message that waits with its last error and its next attempt.
//
// Checks that anonymous users are told to log in, that an admin sees the messages with what
// they are about, their attempts and error, filters them by state, and that Retry and Drop
// act on the stored message. Screenshots go to CASCADE_SCREENSHOTS (default: a temporary
// folder).
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
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
import {
  hashPassword,
  launchBrowser,
  logInAs,
  openPage,
} from "../lib/browser.mjs";

const PASSWORD = "correct horse battery staple";
const SHOTS =
  process.env.CASCADE_SCREENSHOTS ?? join(tmpdir(), "cascade-screenshots");

/** A loopback port that nothing listens on (taken, then freed). */
async function closedPort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const config = (hash, port) => `title = "Outbox browser test"
[db]
url = "sqlite://cascade.sqlite"
[web]
listen = ["127.0.0.1:0"]
[auth]
users = [{ username = "admin", password_hash = "${hash}" }]
[authz]
force_build = true
roles = { admins = ["admin"] }
[[workers]]
name = "local"
embedded = true
[[builders]]
name = "broken"
workers = ["local"]
steps = [ { name = "fail", command = ["sh", "-c", "echo oops; exit 1"] } ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["broken"]
[[reporters]]
kind = "mail"
from = "ci@example.org"
extra_recipients = ["team@example.org"]
relay_host = "127.0.0.1"
smtp_port = ${port}
`;

let dir;
let server;
let base;
let browser;

before(async () => {
  assertBinary();
  const hash = await hashPassword(PASSWORD);
  dir = await makeTempDir("cascade-browser-outbox-");
  server = await startMaster(
    await writeConfig(dir, config(hash, await closedPort())),
  );
  base = server.url;
  browser = await launchBrowser();
  await mkdir(SHOTS, { recursive: true });
  console.log(`# screenshots in ${SHOTS}`);
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await server?.stop();
  await removeDir(dir);
});

async function failBuild() {
  const r = await server.postJson(`/api/v1/builders/broken/force`, {
    reason: "outbox test",
  });
  assert.equal(r.status, 202, JSON.stringify(r.body));
}

const row = (page, id) => page.locator(`.outbox-table tr[data-id="${id}"]`);

test("anonymous users are asked to log in", async (t) => {
  const { page, errors } = await openPage(browser, base, t, "/outbox");
  await page
    .getByText(/log in/i)
    .first()
    .waitFor();
  assert.equal(await page.locator(".outbox-table").count(), 0);
  assert.deepEqual(errors, []);
});

/** The outbox as the logged-in `page` sees it through the API. */
const outbox = (page) =>
  page.evaluate(async () => (await fetch("/api/v1/outbox?limit=100")).json());

test("an admin sees the waiting mails, retries one and drops another", async (t) => {
  await failBuild();
  await failBuild();
  const { page, errors } = await openPage(browser, base, t);
  await logInAs(page, base, "admin", PASSWORD, "/outbox");
  // The first mail was tried and waits for its next attempt; the second waits behind it,
  // so that mails leave in order.
  await waitFor(
    async () => {
      const { messages } = await outbox(page);
      return messages.length === 2 && messages[1].attempts >= 1;
    },
    { what: "the first mail tried once", timeoutMs: 60_000 },
  );
  await page.reload();
  const table = page.locator(".outbox-table");
  await table.waitFor();
  const ids = await table
    .locator("tbody tr")
    .evaluateAll((trs) => trs.map((tr) => Number(tr.dataset.id)));
  assert.equal(ids.length, 2);
  assert.ok(ids[0] > ids[1], "newest first");
  const [newest, oldest] = ids;
  const first = row(page, oldest);
  assert.equal(
    (await first.locator(".outbox-about").textContent()).trim(),
    "broken #1 (failure)",
  );
  assert.equal(
    await first.locator(".outbox-about a").getAttribute("href"),
    "/builders/broken/builds/1",
  );
  assert.equal(await first.locator(".outbox-pending").textContent(), "pending");
  assert.match(await first.textContent(), /refused|connect/i);
  assert.equal(await row(page, newest).locator("td").nth(5).textContent(), "0");
  await page.screenshot({ path: join(SHOTS, "outbox.png"), fullPage: true });

  // The state filter.
  await page.getByRole("link", { name: "sent", exact: true }).click();
  await page.getByText("No messages sent.").waitFor();
  await page.getByRole("link", { name: "pending", exact: true }).click();
  await table.waitFor();
  assert.equal(await table.locator("tbody tr").count(), 2);

  // Retry: tried again now, so its attempts grow.
  const attempts = async (id) =>
    (await outbox(page)).messages.find((m) => m.id === id)?.attempts;
  const before = await attempts(oldest);
  await row(page, oldest).getByRole("button", { name: "Retry" }).click();
  await waitFor(async () => (await attempts(oldest)) > before, {
    what: "the retried mail tried again",
    timeoutMs: 30_000,
  });

  // Drop: the message is gone for good.
  await row(page, newest).getByRole("button", { name: "Drop" }).click();
  await row(page, newest).waitFor({ state: "detached" });
  assert.deepEqual(
    (await outbox(page)).messages.map((m) => m.id),
    [oldest],
  );

  // A build finishing while the page is open shows its mail without a reload.
  await page.evaluate(() => (window.__sameDocument = true));
  await failBuild();
  await table.locator("tbody tr").nth(1).waitFor({ timeout: 30_000 });
  assert.equal(
    (
      await table
        .locator("tbody tr")
        .first()
        .locator(".outbox-about")
        .textContent()
    ).trim(),
    "broken #3 (failure)",
  );
  assert.ok(
    await page.evaluate(() => window.__sameDocument === true),
    "the page was reloaded",
  );
  assert.deepEqual(errors, []);
});
