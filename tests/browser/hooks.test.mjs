// Browser test: the change hook delivery log (/hooks) and a replay, against the real `cascade`
// binary with Debian's chromium.
//
// Needs the SPA built (`npm run build` in frontend/) and the binary built (`cargo build`);
// CASCADE_BIN overrides the binary, CHROMIUM_PATH the browser. Never downloads a browser.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  assertBinary,
  makeTempDir,
  removeDir,
  startMaster,
  writeConfig,
} from "../lib/master.mjs";
import { hashPassword, launchBrowser } from "../lib/browser.mjs";

const PASSWORD = "correct horse battery staple";

const config = (hash) => `title = "Hooks browser test"
[db]
url = "sqlite://cascade.sqlite"
[web]
listen = ["127.0.0.1:0"]
[auth]
users = [{ username = "admin", password_hash = "${hash}" }]
[authz]
hook_deliveries = "auth"
[change_hook]
dialects = { base = {} }
[[workers]]
name = "local"
embedded = true
[[builders]]
name = "quick"
workers = ["local"]
steps = [ { name = "hello", command = ["sh", "-c", "echo hello from cascade"] } ]
[[schedulers]]
name = "all"
kind = "any_branch"
builders = ["quick"]
`;

let dir;
let server;
let baseUrl;
let browser;

before(async () => {
  assertBinary();
  const hash = await hashPassword(PASSWORD);
  dir = await makeTempDir("cascade-browser-hooks-");
  server = await startMaster(await writeConfig(dir, config(hash)));
  baseUrl = server.url;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await server?.stop();
  await removeDir(dir);
});

/** POST `body` to the base change hook; resolves with the HTTP status. */
async function postHook(body, contentType) {
  const res = await fetch(`${baseUrl}/change_hook/base`, {
    method: "POST",
    headers: { "content-type": contentType },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

test("the delivery log: login prompt, both deliveries, a body and a replay", async (t) => {
  const accepted = await postHook(
    "author=ann&branch=main&comments=x",
    "application/x-www-form-urlencoded",
  );
  assert.equal(accepted, 202, "the valid form was not accepted");
  const refused = await postHook('{"author": "ann", ', "application/json");
  assert.equal(refused, 400, "the broken JSON was not refused");

  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  t.after(() => page.close());
  const topbar = page.locator("header.topbar");
  const hooksLink = topbar.getByRole("link", { name: "Hooks", exact: true });

  // Anonymous: no "Hooks" link, and /hooks asks for a login.
  await page.goto(`${baseUrl}/hooks`);
  await page
    .getByRole("heading", { name: "You need to log in to see hook deliveries" })
    .waitFor({ timeout: 15_000 });
  assert.equal(await hooksLink.count(), 0, "Hooks linked for anonymous");
  await page.getByRole("main").getByRole("link", { name: "Log in" }).click();
  await page.waitForURL("**/login?next=%2Fhooks");
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in", exact: true }).click();
  await page.waitForURL((u) => u.pathname === "/hooks");
  await hooksLink.waitFor({ timeout: 15_000 });

  // Both deliveries, newest first: the refused JSON, then the accepted form.
  const rows = page.getByTestId("deliveries").locator("tbody tr");
  await rows.nth(1).waitFor({ timeout: 15_000 });
  assert.deepEqual(
    await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.status)),
    ["400", "202"],
  );
  const ok = rows.filter({ has: page.locator('[data-status-class="2xx"]') });
  assert.match(await ok.textContent(), /base/);
  const firstId = Number(await ok.getAttribute("data-id"));
  assert.ok(Number.isInteger(firstId), `delivery id ${firstId}`);

  // The dialect filter is kept in the URL.
  await page.getByLabel("Dialect").fill("github");
  await page.getByRole("button", { name: "Filter" }).click();
  await page.waitForURL((u) => u.search === "?dialect=github");
  await page
    .getByText("No change hook requests have arrived yet.")
    .waitFor({ timeout: 15_000 });
  await page.getByRole("link", { name: "All dialects" }).click();
  await page.waitForURL((u) => u.pathname === "/hooks" && u.search === "");
  await ok.waitFor({ timeout: 15_000 });

  // The accepted one: its body as received.
  await ok.getByRole("link", { name: String(firstId), exact: true }).click();
  await page.waitForURL((u) => u.pathname === `/hooks/${firstId}`);
  const body = page.getByTestId("delivery-body");
  await body.waitFor({ timeout: 15_000 });
  assert.equal(
    (await body.textContent()).trim(),
    "author=ann&branch=main&comments=x",
  );
  await page
    .getByTestId("delivery-headers")
    .getByText("application/x-www-form-urlencoded")
    .waitFor();

  // Replay it: a new delivery, accepted again, that says what it replays.
  await page.getByRole("button", { name: "Replay", exact: true }).click();
  await page.waitForURL(
    (u) =>
      /^\/hooks\/\d+$/.test(u.pathname) && u.pathname !== `/hooks/${firstId}`,
    { timeout: 15_000 },
  );
  const replayId = Number(new URL(page.url()).pathname.split("/").pop());
  assert.ok(replayId > firstId, `replay id ${replayId} after ${firstId}`);
  await page
    .getByRole("heading", { name: `Hook delivery #${replayId}` })
    .waitFor({ timeout: 15_000 });
  assert.equal(
    await page.locator(".http-status").first().getAttribute("data-status"),
    "202",
  );
  const replays = page.locator(".replay-of");
  assert.match(await replays.textContent(), new RegExp(`#${firstId}\\b`));
  await replays.getByRole("link", { name: `delivery #${firstId}` }).waitFor();

  // Back in the log, it is the newest and points at the first.
  await page.getByRole("link", { name: "Hooks", exact: true }).first().click();
  await page.waitForURL((u) => u.pathname === "/hooks");
  await rows.nth(2).waitFor({ timeout: 15_000 });
  const newest = rows.first();
  assert.equal(await newest.getAttribute("data-id"), String(replayId));
  assert.equal(await newest.getAttribute("data-status"), "202");
  assert.match(await newest.textContent(), new RegExp(`replay of #${firstId}`));

  assert.deepEqual(errors, [], "no uncaught page errors");
});
